"""``latentstack generate`` and ``latentstack ask`` (retrieval-augmented answers with sources)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

GEN_OPTIONS = [
    click.option("--generator", "gen_name", default="llm", show_default=True, help="Generator plugin name."),
    click.option("--model", default="smollm2-135m-instruct", show_default=True, help="Model name or folder."),
    click.option("--adapter", default="", help="A LoRA adapter folder to apply to the model."),
    click.option("--dtype", type=click.Choice(["float32", "bfloat16"]), default="float32", show_default=True),
    click.option("--stream", is_flag=True, help="Print the answer as it is written."),
]


def _with(options: list) -> object:
    def wrap(fn: object) -> object:
        for opt in reversed(options):
            fn = opt(fn)
        return fn
    return wrap


def _generator(gen_name: str, model: str, adapter: str, dtype: str) -> object:
    from latentstack import get_generator

    options = {"model": model, "adapter": adapter, "dtype": dtype} if gen_name == "llm" else {}
    return get_generator(gen_name, **options)


def _emit(pieces: object, stream: bool) -> str:
    """Print pieces as they come (stream) or all at once; return the whole text."""
    parts = []
    for piece in pieces:
        parts.append(piece)
        if stream:
            click.echo(piece, nl=False)
    text = "".join(parts)
    click.echo("" if stream else text)
    return text


@click.command()
@click.argument("prompt")
@_with(GEN_OPTIONS)
@click.option("--system", default="", help="A system message before the prompt.")
@click.option("--max-new-tokens", default=256, show_default=True, type=int)
@click.option("--temperature", default=0.0, show_default=True, type=float, help="0 = greedy.")
@click.option("--top-p", default=1.0, show_default=True, type=float)
@click.option("--seed", default=None, type=int, help="Seed for sampling (temperature > 0).")
@click.option("--stop", multiple=True, help="Stop string (repeatable); it is not printed.")
def generate(prompt: str, gen_name: str, model: str, adapter: str, dtype: str, stream: bool, system: str,
             max_new_tokens: int, temperature: float, top_p: float, seed: int | None, stop: tuple[str, ...]) -> None:
    """Answer PROMPT with the generator (chat template applied)."""
    from latentstack.interfaces import GenerationConfig

    gen = _generator(gen_name, model, adapter, dtype)
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
    options = GenerationConfig(max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p, seed=seed,
                               stop=stop)
    _emit(gen.stream(messages, options), stream)


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.argument("question", required=False)
@_with(GEN_OPTIONS)
@click.option("-k", default=4, show_default=True, help="Passages to retrieve.")
@click.option("--hybrid", is_flag=True, help="Retrieve with dense + BM25 fusion.")
@click.option("--min-score", default=0.2, show_default=True, type=float,
              help="Below this best dense score the answer is 'I don't know'.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (answer, citations, passages).")
def ask(directory: Path, question: str | None, gen_name: str, model: str, adapter: str, dtype: str, stream: bool,
        k: int, hybrid: bool, min_score: float, as_json: bool) -> None:
    """Answer QUESTION from the index in DIRECTORY, citing the passages used.

    Without QUESTION, questions are read from standard input, one per line, and answered
    in turn by the same loaded models (start-up is paid once; a blank line is skipped).
    """
    from latentstack.errors import InputError
    from latentstack.rag import RagConfig, RagPipeline
    from latentstack.search import Collection

    pipeline = RagPipeline(Collection.load(directory), _generator(gen_name, model, adapter, dtype),
                           RagConfig(k=k, hybrid=hybrid, min_score=min_score))
    if question is not None:
        _answer(pipeline, question, stream=stream, as_json=as_json)
        return
    interactive = sys.stdin.isatty()
    while True:
        try:
            line = click.prompt("question", prompt_suffix="> ", default="", show_default=False) if interactive \
                else sys.stdin.readline()
        except (EOFError, click.Abort):
            return
        if not interactive and not line:
            return
        if not line.strip():
            continue
        try:
            _answer(pipeline, line.strip(), stream=stream, as_json=as_json)
        except InputError as exc:  # one bad question does not end the session
            click.echo(f"Error: {exc}", err=True)


def _answer(pipeline: object, question: str, *, stream: bool, as_json: bool) -> None:
    """Answer one question and print it with its sources (or as one JSON line)."""
    prepared = pipeline.prepare(question)
    start = time.perf_counter()
    if as_json:
        reply = "".join(pipeline.stream(prepared))
    else:
        reply = _emit(pipeline.stream(prepared), stream)
    answer = pipeline.finish(prepared, reply, time.perf_counter() - start)
    if as_json:
        click.echo(json.dumps(answer.to_dict()))
        return
    if not answer.relevant:
        click.echo(f"(nothing in the index matches the question: best score {answer.top_score:.2f} "
                   f"< {pipeline.config.min_score})")
        return
    click.echo("\nSources:")
    for c in answer.citations:
        how = "" if c.how == "model" else " (answer found in this passage; the model cited none)"
        title = f" ({c.title})" if c.title else ""
        click.echo(f"  [{c.number}] {c.doc_id}{title} chars {c.start}-{c.end}{how}")
    if not answer.citations:
        click.echo("  (the answer cites no passage)")
    for p in answer.passages:
        click.echo(f"  passage [{p.number}] {p.doc_id} score {p.score:.3f}")
