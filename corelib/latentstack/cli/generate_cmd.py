"""``latentstack generate`` and ``latentstack ask`` (retrieval-augmented answers with sources)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import click

from latentstack.answer_timing import TimedAnswer
from latentstack.cli.options import given, parse_options, refuse_given, stacked

if TYPE_CHECKING:
    from latentstack.interfaces import GenerationConfig, Generator
    from latentstack.interfaces.generator import Finish, Messages

#: Which generator, on which model: every command that generates.
MODEL_OPTIONS = [
    click.option("--generator", "gen_name", default="llm", show_default=True, help="Generator plugin name."),
    click.option("--model", default=None, help="Model name or folder (default: the generator's own)."),
    click.option("--adapter", default=None, help="An adapter folder to apply to the model."),
    click.option("--dtype", type=click.Choice(["float32", "bfloat16"]), default=None,
                 help="Weights' type, for generators that take one (default: the generator's own)."),
    click.option("-g", "--gen-option", "gen_extra", multiple=True, metavar="KEY=VALUE",
                 help="Any other option of the generator's config (repeatable)."),
]
#: MODEL_OPTIONS and --stream: the commands that print one answer.
GEN_OPTIONS = [*MODEL_OPTIONS, click.option("--stream", is_flag=True, help="Print the answer as it is written.")]


def generator_options(model: str | None, adapter: str | None, dtype: str | None,
                      extra: tuple[str, ...]) -> dict[str, Any]:
    """The generator's options from the command line: the named flags given, then ``-g KEY=VALUE``."""
    return given(model=model, adapter=adapter, dtype=dtype) | parse_options(extra, "-g/--gen-option")


def make_generator(gen_name: str, options: dict[str, Any]) -> Generator:
    """The chosen generator, built through the registry."""
    from latentstack import get_generator

    return get_generator(gen_name, **options)


def _emit(pieces: Iterable[str], stream: bool) -> str:
    """Print pieces as they come (stream) or all at once; return the whole text."""
    parts = []
    for piece in pieces:
        parts.append(piece)
        if stream:
            click.echo(piece, nl=False)
    text = "".join(parts)
    click.echo("" if stream else text)
    return text


def _loaded(gen: Generator) -> None:
    """With ``-v``, the model loaded before the answer is timed, and how long that took said."""
    import time

    from latentstack.progress import detail, verbose

    if verbose():
        start = time.perf_counter()
        _ = gen.context_window  # a generator with a model of its own loads it to know its window
        detail(f"loaded in {time.perf_counter() - start:.2f} s")


def said_timing(gen: Generator, prompt: Messages, answer: TimedAnswer) -> None:
    """With ``-v``, how the prompt was read and the answer written (ollama run --verbose's figures)."""
    from latentstack.answer_timing import exact_prompt_tokens
    from latentstack.progress import detail, verbose

    if verbose():
        counted = answer.finish.prompt if answer.finish is not None else None
        detail(answer.line(exact_prompt_tokens(gen, prompt) if counted is None else counted))


def cut_note(finish: Finish | None, options: GenerationConfig) -> str | None:
    """What to say of an answer that ran out of tokens (None: it did not)."""
    if finish is None or finish.reason != "length":
        return None
    if options.json_schema:
        return (f"the answer was cut at --max-new-tokens {options.max_new_tokens} before its JSON value closed, so "
                "it does not parse: raise --max-new-tokens")
    return f"the answer was cut at --max-new-tokens {options.max_new_tokens}: raise it for a longer one"


def _said_cut(finish: Finish | None, options: GenerationConfig) -> None:
    """A line when the answer ran out of tokens; an error (exit status 1) when that left JSON unclosed."""
    note = cut_note(finish, options)
    if note is not None and options.json_schema:
        raise click.ClickException(note)
    if note is not None:
        from latentstack.progress import log

        log(f"({note})")


def _prompt(prompt: str, source: str | None) -> str:
    """PROMPT (standard input's text for ``-``), after the text of ``source`` when given. Piped text that neither
    names is not read, and a line says so (``cat f | llm PROMPT`` reads it; here ``--from -`` does)."""
    from latentstack.textfile import read_source, read_stdin

    if prompt == "-" and source == "-":
        raise click.UsageError("PROMPT - and --from - both read standard input: give the prompt as an argument")
    if prompt == "-":
        prompt = read_stdin()
    elif source is None and _piped():
        from latentstack.progress import log

        log("standard input is not read: add --from - to put its text before the prompt")
    if source is None:
        return prompt
    text = read_source(source)
    if not text.strip():
        msg = f"{'standard input' if source == '-' else source} is empty: nothing to put before the prompt"
        raise click.ClickException(msg)
    return f"{text.rstrip()}\n\n{prompt}"


def schema_text(value: str) -> str:
    """--schema's JSON text, checked: ``json`` is any object, a path ending in .json is read, anything else is the
    schema."""
    from latentstack.json_schema import check_schema
    from latentstack.textfile import read_source

    if value == "json":
        return '{"type": "object"}'
    if value.endswith(".json"):
        return check_schema(read_source(value))
    if not value.lstrip().startswith("{"):
        msg = f"--schema {value!r:.60} is no .json file, JSON schema or json: give one of those"
        raise click.BadParameter(msg, param_hint="--schema")
    return check_schema(value)


def _piped() -> bool:
    """Whether standard input is a pipe or a file (never a terminal), checked without reading it."""
    import os
    import stat
    import sys

    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (AttributeError, OSError, ValueError):  # no real standard input (a test runner's)
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISREG(mode)


#: The system message and how to decode: shared by ``generate`` and ``chat``.
ANSWER_OPTIONS = [
    click.option("--system", default="", help="A system message before the prompt."),
    click.option("--max-new-tokens", default=256, show_default=True, type=int),
    click.option("--temperature", default=0.0, show_default=True, type=float, help="0 = greedy."),
    click.option("--top-p", default=1.0, show_default=True, type=float),
    click.option("--top-k", default=0, show_default=True, type=int, help="Sample from the K likeliest (0: all)."),
    click.option("--min-p", default=0.0, show_default=True, type=float,
                 help="Sample from tokens at least this share as likely as the likeliest (0: all)."),
    click.option("--seed", default=None, type=int, help="Seed for sampling (temperature > 0)."),
    click.option("--stop", multiple=True, help="Stop string (repeatable); it is not printed."),
    click.option("--repetition-penalty", default=1.0, show_default=True, type=float,
                 help="Above 1, tokens already in the prompt or answer are less likely; 1.1-1.3 stops a "
                      "small model looping."),
    click.option("--frequency-penalty", default=0.0, show_default=True, type=click.FloatRange(-2, 2),
                 help="OpenAI's: taken from a token's logit per time the answer wrote it."),
    click.option("--presence-penalty", default=0.0, show_default=True, type=click.FloatRange(-2, 2),
                 help="OpenAI's: taken from a token's logit once the answer wrote it."),
    click.option("--logit-bias", multiple=True, metavar="ID(+|-)BIAS", callback=lambda _c, _p, v: _biases(v),
                 help="Add BIAS (-100 to 100; -100 bans the token) to token ID's logit (repeatable; llama.cpp's "
                      "form, e.g. 15043+1 or 15043-100)."),
]


def _biases(given: tuple[str, ...]) -> tuple[tuple[int, float], ...]:
    """--logit-bias values (``15043+1``, ``15043-100``) as (token id, bias) pairs."""
    import re

    pairs = []
    for value in given:
        found = re.fullmatch(r"\s*(\d+)\s*([+-]\s*\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)\s*", value)
        if found is None:
            msg = f"{value!r:.40} is not a token id and a signed bias: write e.g. 15043+1 or 15043-100"
            raise click.BadParameter(msg, param_hint="--logit-bias")
        pairs.append((int(found[1]), float(found[2].replace(" ", ""))))
    return tuple(pairs)


def decoding(owner: str, decode: dict[str, Any]) -> GenerationConfig:
    """The GenerationConfig of the decoding options of ANSWER_OPTIONS (``decode``, by their names); sampling options
    at temperature 0 are refused."""
    from latentstack.interfaces import GenerationConfig
    from latentstack.interfaces.base import build_config

    options = build_config(GenerationConfig, decode, owner=owner)
    if decode["temperature"] == 0:
        refuse_given(("top_p", "top_k", "min_p", "seed"), "sampling only, and --temperature 0 decodes greedily: "
                     "add --temperature (e.g. 0.7) or leave {} out")
    assert isinstance(options, GenerationConfig)
    return options


#: --schema, for ``generate`` and ``chat``.
SCHEMA_OPTION = click.option("--schema", default=None, metavar="SCHEMA",
                             help="Hold the answer to a JSON schema: a .json file, the schema inline, or json (any "
                                  "JSON object).")


@click.command()
@click.argument("prompt")
@click.option("--from", "source", type=click.Path(exists=True, dir_okay=False, allow_dash=True), default=None,
              help="A text the prompt is about (a UTF-8 file, or - for standard input), put before PROMPT: "
                   "`cat notes.txt | latentstack generate 'Summarise this.' --from -`.")
@SCHEMA_OPTION
@stacked(GEN_OPTIONS)
@stacked(ANSWER_OPTIONS)
def generate(prompt: str, source: str | None, schema: str | None, gen_name: str, model: str | None,
             adapter: str | None, dtype: str | None, gen_extra: tuple[str, ...], stream: bool, system: str,
             **decode: Any) -> None:
    """Answer PROMPT with the generator (chat template applied); PROMPT - reads it from standard input, and
    --from puts a file's text (or standard input's) before it; --schema holds the answer to a JSON schema."""
    import attrs

    options = decoding("generate", decode)
    if schema is not None:
        options = attrs.evolve(options, json_schema=schema_text(schema))
    prompt = _prompt(prompt, source)
    gen = make_generator(gen_name, generator_options(model, adapter, dtype, gen_extra))
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
    _loaded(gen)
    answer = TimedAnswer(gen.stream_answer(messages, options))
    _emit(answer, stream)
    said_timing(gen, messages, answer)
    _said_cut(answer.finish, options)
