"""``latentstack generate`` and ``latentstack ask`` (retrieval-augmented answers with sources)."""

from __future__ import annotations


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
@click.option("--repetition-penalty", default=1.0, show_default=True, type=float,
              help="Above 1, tokens already in the prompt or answer are less likely; 1.1-1.3 stops a "
                   "small model looping.")
def generate(prompt: str, gen_name: str, model: str, adapter: str, dtype: str, stream: bool, system: str,
             max_new_tokens: int, temperature: float, top_p: float, seed: int | None, stop: tuple[str, ...],
             repetition_penalty: float) -> None:
    """Answer PROMPT with the generator (chat template applied)."""
    from latentstack.interfaces import GenerationConfig
    from latentstack.interfaces.base import build_config

    options = build_config(GenerationConfig, {"max_new_tokens": max_new_tokens, "temperature": temperature,
                                              "top_p": top_p, "seed": seed, "stop": stop,
                                              "repetition_penalty": repetition_penalty}, owner="generate")
    gen = _generator(gen_name, model, adapter, dtype)
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
    _emit(gen.stream(messages, options), stream)
