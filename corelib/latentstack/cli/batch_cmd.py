"""``latentstack batch``: an OpenAI batch file answered offline, through the server's routes (vLLM's ``run-batch``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from latentstack.cli.ask_cmd import ONNX_QUERIES, RAG_OPTIONS, onnx_query_embedder
from latentstack.cli.generate_cmd import MODEL_OPTIONS, generator_options
from latentstack.cli.options import stacked
from latentstack.cli.served_options import SERVED_OPTIONS, check_no_generator, served_from


@click.command()
@click.argument("requests", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The results file to write (JSONL: one line per request, in the input's order).")
@click.option("--index", "directories", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="An index folder /v1/search and /v1/ask lines may name (repeatable; named by its folder's name).")
@click.option("--concurrency", default=8, show_default=True, type=click.IntRange(1, 64),
              help="Requests answered at a time (a generator that decodes several answers together takes them "
                   "together).")
@stacked(MODEL_OPTIONS)
@stacked(RAG_OPTIONS)
@stacked(SERVED_OPTIONS)
@ONNX_QUERIES
def batch(requests: str, out: Path, directories: tuple[Path, ...], concurrency: int, gen_name: str,
          model: str | None, adapter: str | None, dtype: str | None, gen_extra: tuple[str, ...], k: int, hybrid: bool,
          min_score: float, onnx_dir: str | None, **models: Any) -> None:
    """Answer the requests of an OpenAI batch file (JSONL lines of custom_id, method, url and body) as
    `serve --http` with the same options would, without a port, and write OpenAI's batch output lines to --out.

    Each line's url is /v1/chat/completions, /v1/responses, /v1/completions, /v1/embeddings, /v1/search,
    /v1/ask or /v1/classify; the file is checked whole before any model loads. A request the server refuses (a 4xx) is
    written with its status and error, and the others are answered.
    """
    from latentstack.http.batch import read_requests, write_lines
    from latentstack.http.batch_kept import KeptAnswers
    from latentstack.locks import sole_writer
    from latentstack.outfile import check_out_file, jsonl_with
    from latentstack.progress import log, notice
    from latentstack.rag import RagConfig

    options = generator_options(model, adapter, dtype, gen_extra)
    check_no_generator(models["no_generator"], options, models["chat_adapters"])
    check_out_file(out, "batch results (JSONL with custom_id and response)", jsonl_with({"custom_id", "response"}),
                   inputs=[requests])
    asked = read_requests(requests)
    settings = {"generator": gen_name, "options": options, "models": models, "indexes": directories,
                "ask": [k, hybrid, min_score], "query_export": onnx_dir}
    with sole_writer(out, "another batch run"):  # whose kept answers this one would add to, then remove
        kept = KeptAnswers(out, settings)
        todo = [r for r in asked if kept.answer(r) is None]
        if len(todo) < len(asked):
            log(f"going on from {kept.path}: {len(asked) - len(todo)} of {len(asked)} requests were answered before")
        served = served_from(directories, gen_name, options, onnx_query_embedder(directories, onnx_dir),
                             RagConfig(k=k, hybrid=hybrid, min_score=min_score), **models)
        _answer_all(served, todo, concurrency, kept, len(asked))
        lines = [line for r in asked if (line := kept.answer(r)) is not None]  # every one, answered now or before
        write_lines(out, lines)
        kept.remove()
    refused = sum(line["response"]["status_code"] != 200 for line in lines)
    if refused:  # said even when quiet: the user would otherwise find out from the results
        notice(f"answered {len(lines)} requests to {out}; {refused} refused (their lines hold the error)")
    else:
        log(f"answered {len(lines)} requests to {out}")


def _answer_all(served: Any, todo: list[Any], concurrency: int, kept: Any, total: int) -> None:
    """Answer ``todo``, each answer kept as it comes, with a progress bar over all ``total``; a stop (Ctrl-C) says
    where the answers so far are."""
    from tqdm.auto import tqdm

    from latentstack.http.batch import answer_batch
    from latentstack.http.streaming import answers_ended
    from latentstack.progress import notice, quiet

    def done(request: Any, line: dict[str, Any]) -> None:
        kept.add(request, line)
        bar.update(1)

    with tqdm(total=total, initial=total - len(todo), desc="requests", unit="request", disable=quiet(),
              leave=False) as bar:
        try:
            answer_batch(served, todo, concurrency, done)
        except KeyboardInterrupt:
            answers_ended(60)  # the answers under way stop at their next token; exiting inside the model aborts
            notice(f"stopped: the answers so far are kept in {kept.path}; run the same command again to go on")
            raise SystemExit(130) from None
