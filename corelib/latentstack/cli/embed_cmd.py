"""``latentstack embed``: texts to vectors, printed as JSON lines or saved as a float32 .npy array."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from latentstack.cli.options import given, need_from, parse_options
from latentstack.errors import InputError
from latentstack.outfile import check_out_file, numpy_array
from latentstack.pooling import POOLINGS
from latentstack.progress import log

if TYPE_CHECKING:
    from latentstack.interfaces import Embedder


@click.command()
@click.argument("texts", nargs=-1)
@click.option("--from", "source", type=click.Path(exists=True, dir_okay=False, allow_dash=True),
              help="A UTF-8 file with one text per line (row i of the output is line i, blank lines included; - reads "
                   "standard input), or a CSV, TSV or JSONL file's text column (row i is its row i).")
@click.option("--text-col", default=None, help="The column of the texts in a CSV, TSV or JSONL --from.  [default: text]")
@click.option("--encoding", default=None, help="The --from file's encoding when it is not UTF-8 (e.g. latin1, cp1252): "
              "a UTF-8 file is still read as UTF-8.")
@click.option("--embedder", default="bert", show_default=True,
              help="Embedder plugin name (a pretrained one), or the folder of a fitted one saved from Python "
                   "(emb.save(DIR); ./NAME where a plugin has its name).")
@click.option("--model", default=None, help="Model name or folder (default: the embedder's own).")
@click.option("--pooling", type=click.Choice(POOLINGS), default=None,
              help="For embedders that pool (default: the model folder's own, else mean).")
@click.option("--as", "kind", type=click.Choice(["query", "document"]), default=None,
              help="Embed the texts as search queries or as documents, with the prompt the model names for them "
                   "(E5's 'query: '); by default with its default prompt, if any.")
@click.option("-o", "--option", "extra", multiple=True, metavar="KEY=VALUE",
              help="Any other option of the embedder's config, e.g. -o max_length=128 -o normalize=false.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Save the vectors to this .npy file (float32, one row per text) instead of printing them.")
def embed(texts: tuple[str, ...], source: str | None, text_col: str | None, encoding: str | None, embedder: str, model: str | None,
          pooling: str | None, kind: str | None, extra: tuple[str, ...], out: Path | None) -> None:
    """Embed TEXTS (or the lines, or a table's text column, of --from): one JSON array per text on stdout, or a .npy
    file with --out."""
    from latentstack.data.source_texts import source_texts
    from latentstack.interfaces.embedder import check_texts

    need_from(source, text_col, encoding)
    items = list(texts)
    if source:
        items += source_texts(source, text_col, encoding).texts
    if not items:
        msg = "no texts given: pass them as arguments or with --from FILE"
        raise InputError(msg)
    items = check_texts(items)  # before the model loads (a command line's bytes may not be UTF-8)
    if out is not None and out.suffix != ".npy":
        msg = f"--out {out}: the vectors are saved as a NumPy array, so the file name must end in .npy"
        raise InputError(msg)
    if out is not None:
        check_out_file(out, "a NumPy array", numpy_array, inputs=[source] if source and source != "-" else [])
    emb = _embedder(embedder, given(model=model, pooling=pooling) | parse_options(extra))
    cut = emb.count_truncated(emb.prompted(items, kind or ""))
    if cut:
        log(f"{cut} of {len(items)} texts are longer than the {embedder} embedder reads: only their beginnings are "
            "embedded (a larger -o max_length, where the embedder has one, reads more)")
    vectors = emb.embed_many(items, kind or "")
    if hasattr(vectors, "toarray"):  # a sparse embedder's rows (TF-IDF): printed and saved dense like any other
        vectors = vectors.toarray()
    if out is None:
        for row in vectors:
            click.echo(json.dumps(row.tolist()))
        return
    import numpy as np

    from latentstack.atomic import atomic_file

    with atomic_file(out) as tmp, open(tmp, "wb") as fh:
        np.save(fh, np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False)
    click.echo(f"saved {vectors.shape[0]} vectors of dimension {vectors.shape[1]} to {out} ({emb.fingerprint()})")


def _embedder(name: str, options: dict[str, Any]) -> Embedder:
    """The registered embedder ``name`` built with ``options``, or the fitted one saved in the folder ``name`` (a
    registered name wins over a folder of that name in the working directory: write ./NAME for the folder)."""
    from latentstack import get_embedder, get_registry, load_embedder

    if name not in get_registry().names("embedder") and Path(name).is_dir():
        if options:
            raise click.UsageError("--model, --pooling and -o build a new embedder; a saved one keeps the options it "
                                   "was fitted with: leave them out")
        return load_embedder(name)
    emb = get_embedder(name, **options)
    if emb.trainable:
        msg = (f"{name} learns its vectors from a corpus (fit), so it cannot embed texts on its own; use a "
               f"pretrained embedder (`latentstack plugins` lists them), or fit {name} in Python, save it "
               "(emb.save(DIR)) and give --embedder DIR")
        raise InputError(msg)
    return emb
