"""``latentstack ask`` (answers with sources from an index) and ``latentstack serve`` (a resident ask process).

``ask`` first looks for a ``serve`` process started with the same index and settings and,
when one answers, asks it over its socket: no torch import, no model load. Otherwise it
loads the models itself.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from latentstack.cli.generate_cmd import GEN_OPTIONS, MODEL_OPTIONS, _emit, generator_options, make_generator
from latentstack.cli.lines import given_or_typed
from latentstack.cli.options import refuse_given, stacked
from latentstack.cli.served_options import SERVED_OPTIONS, check_no_generator, served_from
from latentstack.http.run import STOP_GRACE_S

if TYPE_CHECKING:
    from latentstack.rag import RagConfig

RAG_OPTIONS = [
    click.option("-k", "--top-k", "k", default=4, show_default=True, type=click.IntRange(1, 50), help="Passages to retrieve (1 to 50)."),
    click.option("--hybrid/--dense-only", default=True, show_default=True,
                 help="Retrieve with the dense and lexical rankings fused (the default), or dense alone."),
    click.option("--min-score", default=0.2, show_default=True, type=float,
                 help="Below this best dense score the answer is 'I don't know'."),
]


def _settings(gen_name: str, options: dict[str, Any], k: int, hybrid: bool, min_score: float) -> dict[str, Any]:
    """What a server must have been started with to answer for this command line."""
    adapter = options.get("adapter")
    options = {**options, "adapter": str(Path(adapter).resolve())} if adapter else options
    return {"generator": gen_name, "options": options, "k": k, "hybrid": hybrid, "min_score": min_score}


def _make_pipeline(directory: Path, gen_name: str, options: dict[str, Any], k: int, hybrid: bool,
                   min_score: float, query: Any = None) -> Callable[[Any], Any]:
    """A builder of the pipeline; given the previous one it reuses its generator (the index reloaded). ``query``
    embeds the questions instead of the index's embedder (another runtime of its model)."""
    def make(previous: Any) -> Any:
        from latentstack.rag import RagConfig, RagPipeline
        from latentstack.search import Collection

        gen = previous.generator if previous is not None else make_generator(gen_name, options)
        reuse = [previous.collection.embedder] if previous is not None else []  # the index reloaded, not its model
        return RagPipeline(Collection.load(directory, query_embedder=query, reuse=reuse, lexical=hybrid), gen,
                           RagConfig(k=k, hybrid=hybrid, min_score=min_score))
    return make


def onnx_query_embedder(directories: tuple[Path, ...], onnx_dir: str | None) -> Any:
    """The ONNX export ``onnx_dir`` as the indexes' query embedder, checked against each of them (None without
    it)."""
    if onnx_dir is None:
        return None
    from latentstack import get_embedder
    from latentstack.search import Collection

    query = get_embedder("onnx", model=onnx_dir)
    for directory in directories:
        Collection.check_query_embedder(directory, query)  # a wrong export is an error even where a server answers
    return query


ONNX_QUERIES = click.option(
    "--onnx", "onnx_dir", type=click.Path(exists=True, file_okay=False), default=None,
    help="Embed the served indexes' queries with this ONNX export of their model (latentstack export onnx), "
         "checked against each index at start; with --http, the classifiers trained on that model and /v1/embeddings "
         "requests for it embed with the export too.")


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.argument("question", required=False)
@stacked(GEN_OPTIONS)
@stacked(RAG_OPTIONS)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (answer, citations, passages).")
@click.option("--no-server", is_flag=True, help="Load the models here even if a `latentstack serve` is running.")
@click.option("--where", multiple=True, help="Answer from the passages whose metadata matches key=value, or key>=, >, "
                                             "<=, <, != value, or key~pattern (file~notes/work/*; repeatable: every "
                                             "one must hold; key=value or key~pattern given twice matches either).")
@click.option("--best-of", "best_of", default=1, show_default=True, type=click.IntRange(min=1),
              help="Candidates per question (the greedy reply and N-1 samples); --reward picks one.")
@click.option("--reward", "reward_dir", default=None, type=click.Path(file_okay=False),
              help="A reward model folder (latentstack adapt reward) that picks among --best-of candidates.")
@click.option("--onnx", "onnx_dir", type=click.Path(exists=True, file_okay=False), default=None,
              help="Embed the question with this ONNX export of the index's model (latentstack export onnx): "
                   "with --generator onnx, no torch to import. A running serve still answers with its own.")
def ask(directory: Path, question: str | None, gen_name: str, model: str | None, adapter: str | None,
        dtype: str | None, gen_extra: tuple[str, ...], stream: bool, k: int, hybrid: bool, min_score: float,
        as_json: bool, no_server: bool, where: tuple[str, ...], best_of: int, reward_dir: str | None,
        onnx_dir: str | None) -> None:
    """Answer QUESTION from the index in DIRECTORY, citing the passages used.

    Without QUESTION, questions are read from standard input, one per line, and answered
    in turn by the same loaded models (start-up is paid once; a blank line is skipped).
    If `latentstack serve DIRECTORY` runs with the same options, it answers instead.
    """
    if as_json:
        refuse_given(("stream",), "the printed answer only; --json prints one object once the answer is done: "
                     "leave {} out")
    if (best_of > 1) != (reward_dir is not None):
        raise click.UsageError("--best-of N (N > 1) and --reward DIR go together: the reward model picks among "
                               "the N candidates")
    from latentstack.metadata import parse_where

    options = generator_options(model, adapter, dtype, gen_extra)
    if best_of > 1:  # the candidates decoded together, where the generator can, their prompt read once
        from latentstack.interfaces.generator import PARALLEL_ROWS
        from latentstack.registry import told_or_default

        options = told_or_default("generator", gen_name, options, {"parallel": min(best_of, PARALLEL_ROWS)})
    query, metadata = onnx_query_embedder((directory,), onnx_dir), parse_where(where) or None
    local = no_server or reward_dir is not None  # the server answers greedily, one reply per question
    answerer = None if local else _server_answerer(directory, _settings(gen_name, options, k, hybrid, min_score))
    if answerer is None:
        pipeline = _make_pipeline(directory, gen_name, options, k, hybrid, min_score, query)(None)
        answerer = _local_answerer(pipeline) if reward_dir is None else _best_of_answerer(pipeline, best_of, reward_dir)
    given_or_typed(question, "question",
                   lambda q: _answer(answerer, q, metadata, stream=stream, as_json=as_json, min_score=min_score))


HTTP_OPTIONS = [
    click.option("--http", "http", is_flag=True,
                 help="Serve HTTP: OpenAI-compatible embeddings and chat, plus search, ask and classify."),
    click.option("--host", default="127.0.0.1", show_default=True,
                 help="HTTP address; any but loopback needs --api-key."),
    click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535)),
    click.option("--api-key", default="", envvar="LATENTSTACK_API_KEY",
                 help="Bearer token every HTTP request must send (or LATENTSTACK_API_KEY)."),
    *SERVED_OPTIONS,
    click.option("--cors", "cors", multiple=True, metavar="ORIGIN", help="Allow browser requests from ORIGIN."),
    click.option("--no-batching", is_flag=True, help="Embed each HTTP request on its own (no dynamic batching)."),
    click.option("--stop-grace", default=STOP_GRACE_S, show_default=True, type=click.IntRange(0, 3600),
                 metavar="SECONDS", help="On Ctrl-C or SIGTERM, the time answers under way get to finish before they "
                                         "are cut (a container's stop period, less a margin)."),
    click.option("--keep-responses", type=click.Path(path_type=Path), metavar="FILE",
                 help="Keep /v1/responses' stored responses in this SQLite file, so previous_response_id goes on "
                      "after a restart (made if missing; default: in memory until the server stops)."),
]


@click.command()
@click.argument("directories", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
@stacked(MODEL_OPTIONS)
@stacked(RAG_OPTIONS)
@stacked(HTTP_OPTIONS)
@ONNX_QUERIES
def serve(directories: tuple[Path, ...], gen_name: str, model: str | None, adapter: str | None, dtype: str | None,
          gen_extra: tuple[str, ...], k: int, hybrid: bool, min_score: float, onnx_dir: str | None,
          **http: Any) -> None:
    """Keep the models loaded and answer through them until interrupted (Ctrl-C).

    Without --http: for one index DIRECTORY, `latentstack ask DIRECTORY` with the same
    options answers through a private Unix socket; the index is reloaded when its files
    change. With --http: an HTTP server for any number of index DIRECTORIES (named by
    their folder names), on 127.0.0.1:8000 by default; its routes are listed at /docs.
    -k, --dense-only and --min-score are then the defaults of /v1/ask's fields (and
    --dense-only of /v1/search's), which a request may override.
    """
    options = generator_options(model, adapter, dtype, gen_extra)
    as_http = http.pop("http")
    if not as_http and len(directories) != 1:
        raise click.UsageError("the Unix-socket server serves one index DIRECTORY; add --http to serve several")
    if not as_http:
        refuse_given(tuple(http), "the HTTP server only: add --http or leave {} out")
    check_no_generator(http["no_generator"], options, http["chat_adapters"])
    query = onnx_query_embedder(directories, onnx_dir)  # before any model loads
    if as_http:
        from latentstack.rag import RagConfig

        _serve_http(directories, gen_name, options, query, RagConfig(k=k, hybrid=hybrid, min_score=min_score), **http)
        return
    _serve_socket(directories[0], gen_name, options, k, hybrid, min_score, query)


def _serve_http(directories: tuple[Path, ...], gen_name: str, options: dict[str, Any], query: Any,
                ask_defaults: RagConfig, *, host: str, port: int, api_key: str, cors: tuple[str, ...],
                no_batching: bool, stop_grace: int, keep_responses: Path | None, **models: Any) -> None:
    from latentstack.http.run import check_bind, check_port, serve_http

    check_bind(host, api_key)
    check_port(host, port)
    with _kept_responses(keep_responses) as responses:
        served = served_from(directories, gen_name, options, query, ask_defaults, **models,
                             window_s=None if no_batching else 0.005)
        if responses is not None:
            served.responses = responses
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        serve_http(served, host=host, port=port, api_key=api_key, cors_origins=cors, stop_grace=stop_grace)


@contextlib.contextmanager
def _kept_responses(path: Path | None) -> Iterator[Any]:
    """The responses kept in ``path`` (None: in memory), held by this server alone while it runs."""
    if path is None:
        yield None
        return
    from latentstack.http.responses_file import ResponsesFile
    from latentstack.http.responses_store import ResponseStore
    from latentstack.locks import sole_writer

    with sole_writer(path, "another server", "--keep-responses FILE"), ResponsesFile(path) as file:
        yield ResponseStore(file=file)


def _serve_socket(directory: Path, gen_name: str, options: dict[str, Any], k: int, hybrid: bool,
                  min_score: float, query: Any) -> None:
    from latentstack.rag.server import AskServer, connect, socket_path

    path = socket_path(directory, _settings(gen_name, options, k, hybrid, min_score))
    live = connect(path)
    if live is not None:
        live.close()
        msg = f"a server for {directory} with these options already runs (socket {path})"
        raise click.ClickException(msg)
    server = AskServer(path, directory, _make_pipeline(directory, gen_name, options, k, hybrid, min_score, query))
    click.echo(f"serving {directory} on {path}; `latentstack ask {directory} ...` with the same options answers "
               "through it. Ctrl-C stops it.", err=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # `kill` stops it as cleanly as Ctrl-C
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()  # removes the socket


#: (question, metadata filter or None) -> (pieces of the reply, then the answer's JSON form)
Answerer = Callable[[str, dict[str, Any] | None], tuple[Iterator[str], Callable[[], dict[str, Any]]]]


def _local_answerer(pipeline: Any) -> Answerer:
    """Answer with a pipeline in this process: (pieces of the reply, then the answer's JSON form)."""
    def answer(question: str, where: dict[str, Any] | None) -> tuple[Iterator[str], Callable[[], dict[str, Any]]]:
        stream = pipeline.answer_stream(pipeline.prepare(question, where))
        return iter(stream), lambda: stream.finish().to_dict()
    return answer


def _best_of_answerer(pipeline: Any, n: int, reward_dir: str) -> Answerer:
    """Answer with the candidate a reward model prefers (shown whole once chosen)."""
    from latentstack.rewards import RewardModel

    reward = RewardModel.load(reward_dir)

    def answer(question: str, where: dict[str, Any] | None) -> tuple[Iterator[str], Callable[[], dict[str, Any]]]:
        chosen = pipeline.best_of(pipeline.prepare(question, where), n, reward)
        return iter([chosen.reply]), chosen.to_dict
    return answer


def _server_answerer(directory: Path, settings: dict[str, Any]) -> Answerer | None:
    """Answer through a running `latentstack serve` for these settings, or None if none answers."""
    from latentstack.progress import log
    from latentstack.rag.server import UnsafeRunDirError, ask_server, connect, socket_path

    try:
        path = socket_path(directory, settings)
    except UnsafeRunDirError as exc:
        log(f"not asking a server: {exc}")
        return None
    probe = connect(path)
    if probe is None:
        return None
    probe.close()
    log(f"answering through the server on {path}")

    def answer(question: str, where: dict[str, Any] | None) -> tuple[Iterator[str], Callable[[], dict[str, Any]]]:
        sock = connect(path)
        if sock is None:
            msg = f"the server on {path} stopped; ask again (the models will load here) or restart it"
            raise click.ClickException(msg)
        final: dict[str, Any] = {}

        def pieces() -> Iterator[str]:
            for msg in ask_server(sock, question, where):
                if "token" in msg:
                    yield msg["token"]
                else:
                    final.update(msg["answer"])
        return pieces(), lambda: final
    return answer


def _answer(answerer: Answerer, question: str, where: dict[str, Any] | None, *, stream: bool, as_json: bool,
            min_score: float) -> None:
    """Answer one question and print it with its sources (or as one JSON line)."""
    pieces, finish = answerer(question, where)
    if as_json:
        for _ in pieces:
            pass
        click.echo(json.dumps(finish()))
        return
    _emit(pieces, stream)
    answer = finish()
    if answer.get("no_match"):  # a mistyped filter value, not a question the index cannot answer
        click.echo(f"(no passage to answer from: {answer['no_match']})")
        return
    if not answer["relevant"]:
        click.echo(f"(nothing in the index matches the question: best score {answer['top_score']:.2f} "
                   f"< {min_score})")
        return
    click.echo("\nSources:")
    for c in answer["citations"]:
        how = "" if c["how"] == "model" else " (answer found in this passage; the model cited none)"
        title = f" ({c['title']})" if c["title"] else ""
        click.echo(f"  [{c['number']}] {c['doc_id']}{title} chars {c['start']}-{c['end']}{how}")
    if not answer["citations"]:
        click.echo("  (the answer cites no passage)")
    for p in answer["passages"]:
        click.echo(f"  passage [{p['number']}] {p['doc_id']} score {p['score']:.3f}")
