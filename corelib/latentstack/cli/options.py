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


def need_from(source: str | None, text_col: str | None, encoding: str | None) -> None:
    """A usage error when --text-col or --encoding is given without the --from file it is about."""
    if (text_col is not None or encoding is not None) and not source:
        raise click.UsageError(f"{'--text-col' if text_col is not None else '--encoding'} is about the file given "
                               "with --from")


def refuse_given(names: Sequence[str], why: str) -> None:
    """A usage error naming the options of ``names`` typed on the command line, for options that do not apply.

    ``why`` completes "OPTION applies to ..." with ``{}`` for "it" or "them". Options left
    at their defaults or set from the environment are not counted.
    """
    ctx = click.get_current_context()
    typed = [p.opts[0] for p in ctx.command.params
             if p.name in names and ctx.get_parameter_source(p.name) is click.core.ParameterSource.COMMANDLINE]
    if typed:
        verb, pronoun = ("applies to", "it") if len(typed) == 1 else ("apply to", "them")
        named = " and ".join([", ".join(typed[:-1]), typed[-1]] if len(typed) > 1 else typed)
        raise click.UsageError(f"{named} {verb} {why.format(pronoun)}")


def stacked(options: Sequence[Callable[[Any], Any]]) -> Callable[[Any], Any]:
    """Apply several click options at once, in the order listed."""
    def wrap(fn: Any) -> Any:
        for opt in reversed(options):
            fn = opt(fn)
        return fn
    return wrap


def resume_option(what: str) -> Callable[[Any], Any]:
    """``--resume [CHECKPOINT]``: go on from a checkpoint with a training state; alone, from the newest in
    OUT-checkpoints (``latentstack.train_state.resume_point`` reads it)."""
    return click.option("--resume", default=None, is_flag=False, flag_value="latest", metavar="[CHECKPOINT]",
                        help=f"Go on exactly where the run that saved this checkpoint stopped (its settings, the same "
                             f"{what}); alone: from the newest checkpoint in OUT-checkpoints/.")


def counted(n: int, noun: str) -> str:
    """``"1 document"``, ``"3 documents"``: a count with its noun (a regular plural) for a status line."""
    return f"{n} {noun}{'' if n == 1 else 's'}"
