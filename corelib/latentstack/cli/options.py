"""Option helpers shared by the commands: ``KEY=VALUE`` plugin options and stacked click options."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import click


def parse_options(pairs: Sequence[str], flag: str = "-o/--option") -> dict[str, Any]:
    """``KEY=VALUE`` pairs; a value that parses as JSON (128, false, 0.5) is taken as such, else as text."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            msg = f"takes KEY=VALUE, got {pair!r}"
            raise click.BadParameter(msg, param_hint=flag)
        try:
            options[key] = json.loads(value)
        except ValueError:
            options[key] = value
    return options


def given(**options: Any) -> dict[str, Any]:
    """The options the user gave (None means: leave it to the plugin's default)."""
    return {k: v for k, v in options.items() if v is not None}


def stacked(options: Sequence[Callable[[Any], Any]]) -> Callable[[Any], Any]:
    """Apply several click options at once, in the order listed."""
    def wrap(fn: Any) -> Any:
        for opt in reversed(options):
            fn = opt(fn)
        return fn
    return wrap
