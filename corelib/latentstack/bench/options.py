"""What every benchmark suite shares: its options, the --methods parser, and how a report is emitted.

Suites are click commands that plugins add through the ``register_bench_suites`` hook;
the ``bench`` plugin owns the ``latentstack bench`` group that lists them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from latentstack.bench.report import BenchReport
from latentstack.bench.scratch import scratch_scope

DEFAULT_OUT = Path("benchmarks/results")


def bench_options(default_methods: str, data_required: bool = True) -> Callable[[Callable[..., Any]], Any]:
    """The options every suite shares; the command receives them as keyword arguments."""

    def wrap(fn: Callable[..., Any]) -> Any:
        opts = [
            click.option("--data", type=click.Path(exists=True, dir_okay=False), required=data_required,
                         help="The data file (format depends on the suite)."),
            click.option("--methods", default=default_methods, show_default=True,
                         help="Comma-separated methods to run, in order."),
            click.option("--limit", type=click.IntRange(min=1), default=None, help="A seeded sample of this many items."),
            click.option("--seed", type=int, default=0, show_default=True, help="Seed for sampling and training."),
            click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object on stdout."),
            click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_OUT,
                         show_default=True, help="Folder for NAME.json, NAME.md and NAME.png."),
        ]
        for opt in reversed(opts):
            fn = opt(fn)
        return fn

    return wrap


class Counts(click.ParamType):
    """Comma-separated whole numbers of at least one (``1,8,32``), in the order given, repeats dropped."""

    name = "N,N,..."

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> list[int]:
        if isinstance(value, list):
            return value
        parts = [p.strip() for p in str(value).split(",") if p.strip()]
        if not parts or not all(p.isdigit() and int(p) > 0 for p in parts):
            self.fail(f"takes comma-separated whole numbers of at least 1, e.g. 1,8,32; got {value!r}", param, ctx)
        return list(dict.fromkeys(int(p) for p in parts))


def split_methods(methods: str, known: list[str]) -> list[str]:
    """Parse --methods; an unknown one is a usage error that lists the known ones."""
    chosen = [m.strip() for m in methods.split(",") if m.strip()]
    unknown = [m for m in chosen if m not in known]
    if unknown or not chosen:
        msg = f"unknown method(s) {', '.join(unknown) or '(none given)'}; known: {', '.join(known)}"
        raise click.BadParameter(msg, param_hint="--methods")
    return chosen


def emit(report: BenchReport, *, as_json: bool, out: Path) -> None:
    """Write the report files, then print JSON (stdout) or the Markdown table."""
    from latentstack.bench.writers import markdown, write_all

    if as_json:  # print first: figures that took an hour must not hinge on the chart
        click.echo(json.dumps(report.to_dict()))
    else:
        click.echo(markdown(report))
    paths = write_all(report, out)
    click.echo("Wrote " + ", ".join(map(str, paths)), err=True)


def suite(fn: Callable[..., BenchReport]) -> Callable[..., None]:
    """Decorate a suite body that returns a BenchReport; handles writing and printing."""

    @functools.wraps(fn)
    def run(**kwargs: Any) -> None:
        as_json, out = kwargs.pop("as_json"), kwargs.pop("out")
        with scratch_scope():
            report = fn(**kwargs)
        emit(report, as_json=as_json, out=out)

    return run
