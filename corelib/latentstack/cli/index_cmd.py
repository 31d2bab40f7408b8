"""``latentstack index build/add/remove/info`` and ``latentstack search``."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from latentstack.cli.options import counted, given, parse_options, refuse_given, stacked
from latentstack.errors import InputError, UnknownNameError
from latentstack.locks import writer_lock
from latentstack.pooling import POOLINGS

if TYPE_CHECKING:
    from latentstack.engines import Engine
    from latentstack.search import Catalog

DIR = click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
WAIT = click.option("--wait", type=click.FloatRange(min=0), default=60.0, show_default=True,
                    help="Seconds to wait for another process writing the same index, then fail.")
#: Sources after the folder, as well as with --from: an unquoted glob (docs/*.md) arrives as many arguments.
MORE = click.argument("more", nargs=-1, type=click.Path(allow_dash=True), metavar="[SOURCES]...")


def _sources(given_with_from: tuple[str, ...], more: tuple[str, ...], command: str) -> tuple[str, ...]:
    """The sources named with --from and after the folder; none is a usage error saying how to name them."""
    if not given_with_from and not more:
        msg = f"give the documents to index after the folder, or with --from: latentstack index {command} DIR docs/"
        raise click.UsageError(msg)
    return given_with_from + more


WHERE = click.option("--where", multiple=True, help="Metadata filter key=value, or key>=, >, <=, <, != value, "
                                                    "or key~pattern (a shell pattern: file~notes/work/*; repeatable: "
                                                    "every one must hold; key=value or key~pattern given twice "
                                                    "matches either).")


def _chosen(col: Catalog, doc_ids: tuple[str, ...], where: tuple[str, ...], verb: str) -> list[str] | None:
    """The documents DOC_IDS or --where name (None: neither, so every one); both at once is a usage error."""
    from latentstack.metadata import parse_where

    if doc_ids and where:
        msg = f"give the documents to {verb} by id or by --where, not both"
        raise click.UsageError(msg)
    return col.document_ids(parse_where(where)) if where else list(doc_ids) or None


ENCODING = click.option("--encoding", default=None,
                        help="The encoding of the files that are not UTF-8 (e.g. latin1, cp1252); UTF-8 files "
                             "are still read as UTF-8.")


ENGINE_OPTIONS = [
    click.option("--engine", default="local", show_default=True,
                 help="Where the passages are embedded: local (this process) or a registered engine such as ray."),
    click.option("--workers", type=click.IntRange(min=1), default=None, help="Engine workers (embedding actors)."),
    click.option("--address", default=None, help="The engine's cluster to join (default: start a local one)."),
    click.option("--resume", is_flag=True, default=None, help="Reuse the engine's finished shards of this same job."),
    click.option("--engine-option", "engine_extra", multiple=True, metavar="KEY=VALUE",
                 help="Any other option of the engine's config, e.g. batch_size=128 (repeatable)."),
]


@click.group()
def index() -> None:
    """Build and maintain a search index folder (vector index + lexical index + SQLite + manifest)."""


@index.command()
@DIR
@MORE
@click.option("--from", "sources", multiple=True, type=click.Path(allow_dash=True),
              help="Files, folders, glob patterns (quoted) or JSONL to index (repeatable), as SOURCES are; - reads "
                   "JSONL from standard input.")
@click.option("--text-col", default="text", show_default=True,
              help="The field or column of the documents' text in JSONL, JSON, CSV or Parquet (e.g. page_content).")
@ENCODING
@click.option("--embedder", default="bert", show_default=True, help="Embedder plugin name.")
@click.option("--model", default=None, help="Model name or folder (default: the embedder's own).")
@click.option("--pooling", type=click.Choice(POOLINGS), default=None,
              help="For embedders that pool (default: the model folder's own, else mean).")
@click.option("-o", "--option", "emb_extra", multiple=True, metavar="KEY=VALUE",
              help="Any other option of the embedder's config (repeatable).")
@click.option("--chunk", type=click.Choice(["whole", "paragraph", "sentences"]), default="paragraph", show_default=True)
@click.option("--window", type=click.IntRange(min=1), default=3, show_default=True,
              help="Sentences per chunk (--chunk sentences).")
@click.option("--overlap", type=click.IntRange(min=0), default=1, show_default=True,
              help="Sentences shared by neighbouring windows (fewer than --window).")
@click.option("--min-chars", type=click.IntRange(min=0), default=100, show_default=True,
              help="A paragraph shorter than this (a heading, a list item) joins the next (--chunk paragraph); "
                   "0 keeps every paragraph apart.")
@click.option("--index", "index_spec", default="faiss", show_default=True,
              help="Index plugin name, or a shortcut one reads: a FAISS factory string (Flat, SQ8, "
                   "HNSW32, HNSW32,SQ8, IVF1024,Flat, IVF1024,PQ48,Refine(SQ8)) or auto.")
@click.option("--index-option", "index_extra", multiple=True, metavar="KEY=VALUE",
              help="Any option of the index's config (repeatable).")
@click.option("--lexical", default="bm25", show_default=True, help="Text index for --hybrid search.")
@click.option("--lexical-option", "lexical_extra", multiple=True, metavar="KEY=VALUE",
              help="Any option of the text index's config, e.g. stemmer=french stopwords=fr for French documents "
                   "(repeatable).")
@click.option("--no-lexical", is_flag=True, help="Build no lexical index (dense search only).")
@stacked(ENGINE_OPTIONS)
@WAIT
def build(directory: Path, more: tuple[str, ...], sources: tuple[str, ...], text_col: str, encoding: str | None,
          embedder: str, model: str | None, pooling: str | None,
          emb_extra: tuple[str, ...], chunk: str, window: int, overlap: int, min_chars: int, index_spec: str,
          index_extra: tuple[str, ...], lexical: str, lexical_extra: tuple[str, ...], no_lexical: bool, engine: str,
          workers: int | None,
          address: str | None, resume: bool | None, engine_extra: tuple[str, ...], wait: float) -> None:
    """Build a new index in DIRECTORY from documents, SOURCES or --from (replaces an existing one atomically)."""
    from latentstack.interfaces.base import build_config
    from latentstack.search import ChunkConfig, Collection
    from latentstack.search.sources import check_sources, read_documents

    sources = _sources(sources, more, "build")
    check_sources(sources)  # a mistyped path is said before the embedder loads
    if chunk != "sentences":
        refuse_given(("window", "overlap"), "--chunk sentences only: add it or leave {} out")
    if chunk != "paragraph":
        refuse_given(("min_chars",), "--chunk paragraph only: add it or leave {} out")
    if no_lexical:
        refuse_given(("lexical", "lexical_extra"), "a lexical index, which --no-lexical leaves out: give one of the two")
    runner = _engine(engine, workers, address, resume, engine_extra)
    # Made before the documents are read: it refuses a folder of the user's files and options that cannot work.
    col = Collection.create(directory, embedder=embedder,
                            embedder_options=given(model=model, pooling=pooling) | parse_options(emb_extra),
                            index=index_spec, index_options=parse_options(index_extra, "--index-option"),
                            lexical=None if no_lexical else lexical,
                            lexical_options=parse_options(lexical_extra, "--lexical-option"),
                            chunking=build_config(ChunkConfig, {"mode": chunk, "window": window, "overlap": overlap,
                                                               "min_chars": min_chars},
                                                  owner="chunking"))
    docs = list(read_documents(sources, text_col, encoding, "--encoding"))
    if not docs:
        msg = f"no documents found in {', '.join('standard input' if s == '-' else s for s in sources)}"
        raise InputError(msg)
    counts = col.add_documents(docs, engine=runner)
    if runner is not None and runner.summary():
        click.echo(f"engine {engine}: {runner.summary()}", err=True)
    if counts["chunks"] == 0:
        msg = "every document is empty: nothing to index"
        raise InputError(msg)
    with writer_lock(directory, wait):
        col.save()
    click.echo(f"indexed {counted(counts['documents'], 'document')} as {counted(counts['chunks'], 'chunk')} into {directory} "
               f"(index {col.dense.describe() if col.dense is not None else '-'}; skipped {counts['skipped_empty']} empty)")


def _engine(name: str, workers: int | None, address: str | None, resume: bool | None,
            extra: tuple[str, ...]) -> Engine | None:
    """None for local embedding, else the registered engine built with its options."""
    from latentstack.engines import Engine
    from latentstack.registry import get_registry

    if name == "local":
        refuse_given(("workers", "address", "resume", "engine_extra"), "an engine, and local embedding takes none: "
                     "add --engine ray (or another engine) or leave {} out")
        return None
    options = given(workers=workers, address=address, resume=resume) | parse_options(extra, "--engine-option")
    registry = get_registry()
    if name not in registry.names("engine") and ("engine", name) not in registry.conflicts:
        found = ", ".join(["local", *registry.names("engine")])  # local is no plugin, so the registry's error omits it
        msg = f"unknown engine {name!r}; available: {found}. `latentstack plugins` lists them all"
        raise UnknownNameError(msg + registry.hidden_note())
    return registry.build_as(Engine, name, **options)


@index.command()
@DIR
@MORE
@click.option("--from", "sources", multiple=True, type=click.Path(allow_dash=True),
              help="Files, folders, glob patterns (quoted) or JSONL to add (repeatable), as SOURCES are; - reads JSONL "
                   "from standard input.")
@click.option("--text-col", default="text", show_default=True,
              help="The field or column of the documents' text in JSONL, JSON, CSV or Parquet (e.g. page_content).")
@ENCODING
@stacked(ENGINE_OPTIONS)
@WAIT
@click.option("--prune", is_flag=True, help="Also remove the documents of files no longer in the --from folders "
                                            "(a folder of notes kept in step with the index).")
def add(directory: Path, more: tuple[str, ...], sources: tuple[str, ...], text_col: str, encoding: str | None,
        engine: str, workers: int | None, address: str | None,
        resume: bool | None, engine_extra: tuple[str, ...], wait: float, prune: bool) -> None:
    """Add (or replace, by id) documents, SOURCES or --from, in an existing index; those stored already as they
    are now are left alone (not embedded again); --prune also removes the documents of files gone from the --from
    folders. A second writer waits its turn."""
    from latentstack.search import Collection
    from latentstack.search.sources import read_documents

    sources = _sources(sources, more, "add")
    runner = _engine(engine, workers, address, resume, engine_extra)
    folders = _prune_folders(sources) if prune else []
    docs = list(read_documents(sources, text_col, encoding, "--encoding"))
    with writer_lock(directory, wait):
        col = Collection.load(directory)
        counts = col.add_documents(docs, engine=runner)
        gone = _gone(col.store.document_ids(), folders, {d.id for d in docs})
        col.remove_documents(gone)
        if counts["documents"] or counts["relabeled"] or gone:
            col.save()
    if runner is not None and runner.summary():
        click.echo(f"engine {engine}: {runner.summary()}", err=True)
    pruned = f"; removed {len(gone)} whose files are gone" if prune else ""
    relabeled = f"; {counts['relabeled']} with a new title or metadata only, not embedded again" if counts[
        "relabeled"] else ""
    click.echo(f"added {counted(counts['documents'], 'document')} ({counted(counts['chunks'], 'chunk')}, {counts['replaced']} replaced; "
               f"{counts['unchanged']} unchanged, left as they were{relabeled}{pruned})")


def _prune_folders(sources: tuple[str, ...]) -> list[str]:
    """The --from folders whose vanished files --prune removes; any other source is a usage error."""
    others = [s for s in sources if not Path(s).is_dir()]
    if others:
        raise click.UsageError(f"--prune removes the documents of files gone from --from folders; {others[0]} is no "
                               "folder: add it without --prune, or remove its documents with index remove")
    return [str(Path(s)) for s in sources]


def _gone(stored: list[str], folders: list[str], read: set[str]) -> list[str]:
    """The stored documents read from a file under one of ``folders`` (their id is its path, a PDF page's with
    ``#page=N``) that were not read now; ids of another shape (a JSONL record's) are never taken for one."""
    from latentstack.search.sources import readable_suffixes

    suffixes = readable_suffixes()

    def from_folder(doc_id: str) -> bool:
        path = doc_id.split("#page=")[0]
        under = any(path.startswith(f"{f}/") or (f == "." and not Path(path).is_absolute()) for f in folders)
        return under and Path(path).suffix.lower() in suffixes

    return [i for i in stored if i not in read and from_folder(i)]


@index.command()
@DIR
@click.argument("doc_ids", nargs=-1)
@WHERE
@WAIT
def remove(directory: Path, doc_ids: tuple[str, ...], where: tuple[str, ...], wait: float) -> None:
    """Remove documents by id, or those whose metadata matches --where; they vanish from results at once and
    after reload."""
    from latentstack.search import Collection

    if not doc_ids and not where:
        msg = "name the documents to remove: their ids, or --where key=value (e.g. --where file=papers/old.pdf)"
        raise click.UsageError(msg)
    with writer_lock(directory, wait):
        col = Collection.load(directory)
        chosen = _chosen(col, doc_ids, where, "remove") or []
        missing = [d for d in dict.fromkeys(chosen) if not col.store.has_document(d)]
        n = col.remove_documents(chosen)
        if n:
            col.save()
    click.echo(f"removed {n} of {len(chosen)} documents" + (f"; not in the index: {', '.join(missing)}"
                                                            if missing else "")
               + (f" (matching {' '.join(where)})" if where else ""))


@index.command()
@DIR
def info(directory: Path) -> None:
    """Show an index's manifest and counts as JSON."""
    from latentstack.search import Catalog

    click.echo(json.dumps(Catalog.open(directory).info(), indent=2))


@index.command()
@DIR
@click.option("--check", is_flag=True, help="Only check: say which parts are damaged (exit status 1 if one is), "
              "and write nothing.")
@WAIT
def repair(directory: Path, check: bool, wait: float) -> None:
    """Check each part an index built from its documents (vector index, lexical index, fitted embedder) and
    build the damaged ones again from the documents it stores, with the settings it was built with. A whole
    index is left as it is."""
    from latentstack.search.repair import repair as repair_collection

    states = repair_collection(directory, wait, check=check)
    for name, state in states.items():
        click.echo(f"{name}: {state}")
    if check and any(s != "ok" for s in states.values()):
        raise SystemExit(1)


@index.command("export")
@DIR
@click.argument("doc_ids", nargs=-1)
@WHERE
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the JSONL to this file (atomically) instead of printing it.")
def export_documents(directory: Path, doc_ids: tuple[str, ...], where: tuple[str, ...], out: Path | None) -> None:
    """Write an index's documents (or those of DOC_IDS, or those --where matches) as JSONL, one {id, title, text,
    metadata} a line, in the order added: what `index build --from` reads, so an index can be rebuilt with another
    embedder or index."""
    from latentstack.outfile import check_out_file, jsonl_with
    from latentstack.search import Catalog

    if out is not None:
        check_out_file(out, "documents (JSONL with id and text)", jsonl_with({"id", "text"}))
    col = Catalog.open(directory)  # the documents only: neither index nor the embedder
    rows = (json.dumps({"id": d.id, "title": d.title, "text": d.text, "metadata": dict(d.metadata)}, ensure_ascii=False)
            for d in col.documents(_chosen(col, doc_ids, where, "export")))
    if out is None:
        for row in rows:
            click.echo(row)
        return
    from latentstack.atomic import atomic_file

    n = 0
    with atomic_file(out) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(row + "\n")
            n += 1
    click.echo(f"exported {n} documents to {out}")


@click.command()
@DIR
@click.argument("query", required=False)
@click.option("-k", "--top-k", "k", default=10, show_default=True, type=click.IntRange(1, 1000), help="How many hits (1 to 1000).")
@click.option("--hybrid/--dense-only", default=True, show_default=True,
              help="Fuse the dense and lexical rankings (the default), or rank by the dense score alone.")
@click.option("--fusion", type=click.Choice(["zscore", "rrf"]), default="zscore", show_default=True,
              help="How --hybrid fuses the two rankings.")
@WHERE
@click.option("--documents", is_flag=True, help="Rank documents by their best chunk instead of chunks.")
@click.option("--like", "like", default=None, metavar="DOC_ID",
              help="Instead of a query: the documents most like the stored document DOC_ID (by the dense vectors; "
                   "itself left out).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--onnx", "onnx_dir", type=click.Path(exists=True, file_okay=False), default=None,
              help="Embed the query with this ONNX export of the index's model (latentstack export onnx): "
                   "no torch to import.")
def search(directory: Path, query: str | None, k: int, hybrid: bool, fusion: str, where: tuple[str, ...],
           documents: bool, like: str | None, as_json: bool, onnx_dir: str | None) -> None:
    """Search an index folder for QUERY; without QUERY, for each line of standard input in turn (the index loaded
    once; a query that fails is said and the next one searched). --like DOC_ID finds the documents like one."""
    from latentstack import get_embedder
    from latentstack.cli.lines import given_or_typed
    from latentstack.metadata import parse_where
    from latentstack.progress import notice
    from latentstack.search import Collection

    if like is not None:
        _check_like(query, hybrid)
    fusion_given = click.get_current_context().get_parameter_source("fusion") is click.core.ParameterSource.COMMANDLINE
    if fusion_given and not hybrid:
        raise click.UsageError("--fusion chooses how hybrid search fuses its two rankings; with --dense-only there is "
                               "one ranking: drop one of them")
    col = Collection.load(directory, query_embedder=get_embedder("onnx", model=onnx_dir) if onnx_dir else None,
                          lexical=hybrid and like is None)  # a dense search reads no lexical index
    filters = parse_where(where)
    if like is not None:
        _print_hits(f"like {like}", col.similar(like, k, where=filters), as_json, header=False)
        return

    reason = functools.cache(lambda: col.no_match_reason(filters))  # the filter is the same for every query
    tell = functools.cache(notice)  # once a run: a mistyped value would otherwise look like queries that found nothing

    def one(q: str) -> None:
        hits = col.search(q, k, hybrid=hybrid, where=filters, fusion=fusion if fusion_given else None,
                          by_document=documents)
        why = reason() if not hits and filters else None
        if why:
            tell(why)
        _print_hits(q, hits, as_json, header=query is None, no_match=why)

    given_or_typed(query, "query", one)


def _check_like(query: str | None, hybrid: bool) -> None:
    """--like is the query: a QUERY beside it, or --hybrid or --fusion (about text queries), is a usage error."""
    from latentstack.cli.options import refuse_given

    if query is not None:
        raise click.UsageError("--like DOC_ID is the query: give it or QUERY, not both")
    ctx = click.get_current_context()
    if hybrid and ctx.get_parameter_source("hybrid") is click.core.ParameterSource.COMMANDLINE:
        raise click.UsageError("--hybrid fuses a text query's two rankings; --like ranks documents by the dense vectors "
                               "alone: leave it out")
    refuse_given(("fusion",), "a text query's hybrid search; --like ranks documents by the dense vectors: leave {} out")


def _print_hits(query: str, hits: list[Any], as_json: bool, header: bool, no_match: str | None = None) -> None:
    """One JSON object (with ``no_match`` when the filter is why there are no hits, as /v1/search gives it), or the
    ranked hits (under the query, when several are searched)."""
    if as_json:
        click.echo(json.dumps({"query": query, "hits": [h.to_dict() for h in hits],
                               **({"no_match": no_match} if no_match else {})}))
        return
    if header:
        click.echo(f"== {query}")
    if not hits:
        click.echo("no hits")
    for rank, h in enumerate(hits, start=1):
        snippet = " ".join(h.text.split())[:160]
        click.echo(f"{rank:>2}. [{h.score:.3f}] {h.doc_id}{f' ({h.title})' if h.title else ''}\n    {snippet}")
