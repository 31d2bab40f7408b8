"""``latentstack chat``: a conversation with the generator at the terminal (or over a pipe, one message a line)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from latentstack.cli.generate_cmd import (
    ANSWER_OPTIONS,
    MODEL_OPTIONS,
    SCHEMA_OPTION,
    cut_note,
    decoding,
    generator_options,
    make_generator,
    said_timing,
    schema_text,
)
from latentstack.cli.lines import typed_lines
from latentstack.cli.options import stacked
from latentstack.errors import InputError

if TYPE_CHECKING:
    from latentstack.chat import Conversation
    from latentstack.chat_file import ChatFile
    from latentstack.interfaces import GenerationConfig

_END, _RESET = ("/exit", "/quit", "/bye"), ("/reset", "/clear")


@click.command()
@stacked(MODEL_OPTIONS)  # no --stream: chat always streams
@stacked(ANSWER_OPTIONS)
@click.option("--history", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="FILE",
              help="Keep the conversation in FILE (JSONL, one {\"messages\": [...]} per conversation, as adapt sft "
                   "reads it): go on with the last one it holds; each exchange is saved as it ends.")
@SCHEMA_OPTION
def chat(gen_name: str, model: str | None, adapter: str | None, dtype: str | None, gen_extra: tuple[str, ...],
         system: str, history: Path | None, schema: str | None, **decode: Any) -> None:
    """Talk with the generator: each message is answered in the light of the conversation so far, the answer
    written as it is decoded (--schema: each answer a JSON value it allows, `ollama run --format`). /reset forgets
    the conversation (--history: starts a new one below it); /exit or the end of input (Ctrl-D) ends it. Piped,
    each line is one message."""
    import attrs

    from latentstack.chat_file import ChatFile
    from latentstack.locks import unless_writing

    options = decoding("chat", decode)
    if schema is not None:
        options = attrs.evolve(options, json_schema=schema_text(schema))
    if history is None:
        _talk(_conversation(gen_name, generator_options(model, adapter, dtype, gen_extra), options, system), None)
        return
    with unless_writing(history) as free:
        if not free:
            msg = f"another chat keeps its conversation in {history}; nothing was changed: end it, or give another file"
            raise InputError(msg)
        kept = ChatFile(history)
        kept.system = _kept_system(kept, system, history)
        talk = _conversation(gen_name, generator_options(model, adapter, dtype, gen_extra), options, kept.system)
        talk.resume(kept.messages)
        _talk(talk, kept)


def _conversation(gen_name: str, gen_options: dict[str, Any], options: GenerationConfig, system: str) -> Conversation:
    from latentstack.chat import Conversation

    return Conversation(make_generator(gen_name, gen_options), options, system)


def _kept_system(kept: ChatFile, system: str, path: Path) -> str:
    """The system message of a kept conversation: its own when it goes on (--system may only repeat it)."""
    if not kept.messages:
        return system or kept.system
    if system and system != kept.system:
        had = "its own system message" if kept.system else "no system message"
        msg = (f"the last conversation in {path}, which chat goes on with, has {had}; --system would change what "
               "was said before: leave --system out, or give another --history file")
        raise InputError(msg)
    return kept.system


def _talk(talk: Conversation, kept: ChatFile | None) -> None:
    """Answer each message typed or piped; commands start with /."""
    for message in typed_lines(""):
        if message.lower() in _END:
            return
        if message.lower() in _RESET:
            talk.reset()
            if kept is not None:
                kept.new_conversation()
            click.echo("(the conversation is forgotten)" if kept is None else "(a new conversation begins)", err=True)
        elif message.startswith("/") and " " not in message:
            click.echo(f"unknown command {message}: /reset forgets the conversation, /exit ends it", err=True)
        else:
            _answer(talk.turn(message))
            if talk.timing is not None:
                said_timing(talk.generator, talk.prompt, talk.timing)
                _said_cut(talk)
            if kept is not None:
                kept.save(talk.transcript)


def _said_cut(talk: Conversation) -> None:
    """A line when the answer ran out of tokens (the chat goes on)."""
    from latentstack.progress import log

    assert talk.timing is not None
    note = cut_note(talk.timing.finish, talk.options)
    if note is not None:
        log(f"({note})")


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
