"""Progress bars that go to stderr and can be silenced (``--quiet`` or LATENTSTACK_QUIET=1)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any, TypeVar

T = TypeVar("T")


def quiet() -> bool:
    """True when progress output is silenced."""
    return os.environ.get("LATENTSTACK_QUIET", "") == "1"


def verbose() -> bool:
    """True when detail lines (``-v``: the runtime each component chose, and why) are shown."""
    return os.environ.get("LATENTSTACK_VERBOSE", "") == "1" and not quiet()


def set_verbose(value: bool) -> None:
    """Show (or hide) detail lines for this process and its children."""
    os.environ["LATENTSTACK_VERBOSE"] = "1" if value else ""


def set_quiet(value: bool) -> None:
    """Silence (or restore) progress output for this process and its children."""
    os.environ["LATENTSTACK_QUIET"] = "1" if value else ""


def progress(items: Iterable[T], *, desc: str = "", total: int | None = None, enabled: bool = True, **kw: Any) -> Iterable[T]:
    """``items`` in a tqdm bar on stderr (the bar itself: a training loop shows its loss with ``set_postfix``), or
    as they are when quiet or disabled."""
    if quiet() or not enabled:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, total=total, leave=False, **kw)


def log(message: str) -> None:
    """A status line on stderr, unless quiet."""
    if not quiet():
        import click

        click.echo(message, err=True)


def notice(message: str) -> None:
    """A line on stderr shown even when quiet: where work went that the user would otherwise look for."""
    import click

    click.echo(message, err=True)


def detail(message: str) -> None:
    """A status line on stderr shown only with ``-v`` (LATENTSTACK_VERBOSE=1)."""
    if verbose():
        log(message)
