"""The ``latentstack bench`` group: its suites come from every plugin's ``register_bench_suites``."""

from __future__ import annotations

from typing import Any

import click


class BenchGroup(click.Group):
    """Collects the suites from the plugins the first time a suite is listed or looked up.

    So ``latentstack ask`` and the other commands pay nothing for the suites.
    """

    loaded = False

    def _collect(self) -> None:
        if self.loaded:
            return
        from latentstack.registry import get_registry

        self.loaded = True
        reg = get_registry()
        reg.call_each("register_bench_suites", register=self._register)

    def _register(self, command: Any) -> None:
        if not isinstance(command, click.Command) or not command.name:
            msg = f"register_bench_suites takes a named click.Command, got {command!r}"
            raise TypeError(msg)
        if command.name in self.commands:
            msg = f"a bench suite named {command.name!r} is already registered"
            raise ValueError(msg)
        self.add_command(command)

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every suite's name, from every plugin."""
        self._collect()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """One suite by name."""
        self._collect()
        return super().get_command(ctx, cmd_name)


@click.group(cls=BenchGroup)
def bench() -> None:
    """Benchmark suites: every method on the same data, in one run.

    Each suite takes --data, --methods, --limit, --seed, --json and --out. With --json
    exactly one JSON object goes to stdout; progress goes to stderr. NAME.json, NAME.md
    and NAME.png are written under --out (default benchmarks/results/). Plugins add
    suites through the ``register_bench_suites`` hook.
    """
