"""``latentstack chat``: a conversation with the generator at the terminal (or over a pipe, one message a line)."""

from __future__ import annotations

from collections.abc import Iterator

import click

from latentstack.cli.generate_cmd import ANSWER_OPTIONS, MODEL_OPTIONS, decoding, generator_options, make_generator
from latentstack.cli.lines import typed_lines
from latentstack.cli.options import stacked
from latentstack.errors import InputError

_END, _RESET = ("/exit", "/quit", "/bye"), ("/reset", "/clear")


@click.command()
@stacked(MODEL_OPTIONS)  # no --stream: chat always streams
@stacked(ANSWER_OPTIONS)
def chat(gen_name: str, model: str | None, adapter: str | None, dtype: str | None, gen_extra: tuple[str, ...],
         system: str, max_new_tokens: int, temperature: float, top_p: float, seed: int | None,
         stop: tuple[str, ...], repetition_penalty: float) -> None:
    """Talk with the generator: each message is answered in the light of the conversation so far, the answer
    written as it is decoded. /reset forgets the conversation; /exit or the end of input (Ctrl-D) ends it.
    Piped, each line is one message."""
    from latentstack.chat import Conversation

    options = decoding("chat", max_new_tokens, temperature, top_p, seed, stop, repetition_penalty)
    talk = Conversation(make_generator(gen_name, generator_options(model, adapter, dtype, gen_extra)), options, system)
    for message in typed_lines(""):
        if message.lower() in _END:
            return
        if message.lower() in _RESET:
            talk.reset()
            click.echo("(the conversation is forgotten)", err=True)
        elif message.startswith("/") and " " not in message:
            click.echo(f"unknown command {message}: /reset forgets the conversation, /exit ends it", err=True)
        else:
            _answer(talk.turn(message))


def _answer(pieces: Iterator[str]) -> None:
    """Print an answer as it comes; a refused message or Ctrl-C ends this answer, not the chat."""
    try:
        for piece in pieces:
            click.echo(piece, nl=False)
    except InputError as exc:
        click.echo(f"Error: {exc}", err=True)
        return
    except KeyboardInterrupt:
        click.echo("\n(answer stopped)", err=True)
        return
    click.echo("")
