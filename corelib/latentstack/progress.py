"""Progress bars that go to stderr and can be silenced (``--quiet`` or LATENTSTACK_QUIET=1)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


def quiet() -> bool:
    """True when progress output is silenced."""
    return os.environ.get("LATENTSTACK_QUIET", "") == "1"


def set_quiet(value: bool) -> None:
    """Silence (or restore) progress output for this process and its children."""
    os.environ["LATENTSTACK_QUIET"] = "1" if value else ""


def progress(items: Iterable[T], *, desc: str = "", total: int | None = None, enabled: bool = True, **kw: Any) -> Iterator[T]:
    """Wrap ``items`` in a tqdm bar on stderr unless quiet or disabled."""
    if quiet() or not enabled:
        yield from items
        return
    from tqdm.auto import tqdm

    yield from tqdm(items, desc=desc, total=total, leave=False, **kw)


def log(message: str) -> None:
    """A status line on stderr, unless quiet."""
    if not quiet():
        import click

        click.echo(message, err=True)
