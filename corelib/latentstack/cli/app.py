"""The click group that turns latentstack errors into one clean line and loads plugin commands."""

from __future__ import annotations

from typing import Any

import click

from latentstack.errors import LatentstackError


class LatentstackGroup(click.Group):
    """A group whose commands report LatentstackError as ``Error: ...`` with exit code 2."""

    plugin_errors: dict[str, str]

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a LatentstackError becomes a ClickException."""
        if ctx.params.get("quiet"):
            from latentstack.progress import set_quiet

            set_quiet(True)
        if ctx.params.get("verbose"):
            from latentstack.progress import set_verbose

            set_verbose(True)
        try:
            return super().invoke(ctx)
        except LatentstackError as exc:
            raise click.ClickException(str(exc)) from exc

    def load_plugin_commands(self) -> None:
        """Call each plugin's register_commands on its own; one that raises is recorded, not fatal."""
        from latentstack.registry import get_registry

        get_registry().call_each("register_commands", cli=self)
