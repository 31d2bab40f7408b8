"""Lines typed at a terminal or piped in, one question or message each (``ask`` without a question, ``chat``)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator

import click

from latentstack.errors import InputError
from latentstack.textfile import bad_byte, lone_surrogate


def given_or_typed(given: str | None, label: str, handle: Callable[[str], None]) -> None:
    """``handle(given)``; without it, ``handle`` each typed line in turn, where an InputError is said on stderr and
    the next line read (one bad question or query ends nothing)."""
    if given is not None:
        handle(given)
        return
    for line in typed_lines(label):
        try:
            handle(line)
        except InputError as exc:
            click.echo(f"Error: {exc}", err=True)


def typed_lines(label: str) -> Iterator[str]:
    """The non-blank lines of standard input, stripped, until its end (after a ``LABEL> `` prompt at a terminal);
    a line that is not UTF-8 text is said on stderr and skipped, the lines after it still read."""
    interactive = sys.stdin.isatty()
    while True:
        try:
            line = click.prompt(label, prompt_suffix="> ", default="", show_default=False) if interactive \
                else _piped_line()
        except (EOFError, click.Abort):
            return
        except UnicodeDecodeError as exc:
            click.echo(f"Error: that line is not UTF-8 ({bad_byte(exc)}); it was skipped", err=True)
            continue
        found = lone_surrogate(line)
        if found:
            click.echo(f"Error: that line is not UTF-8 text (it holds {found}); it was skipped", err=True)
        elif line.strip():
            yield line.strip()


def _piped_line() -> str:
    """The next line of standard input, decoded as UTF-8; EOFError at its end."""
    raw = sys.stdin.buffer.readline()
    if not raw:
        raise EOFError
    return raw.decode("utf-8")
