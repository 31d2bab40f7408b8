"""The click group that turns latentstack errors into one clean line and loads plugin commands."""

from __future__ import annotations

from typing import Any

import click

from latentstack.errors import LatentstackError

#: The command groups several plugins add commands to (``LatentstackGroup.shared_group``), with their help.
SHARED_GROUPS = {"adapt": "Adapt models to your own data: post-training and fine-tuning, LoRA adapters merged into "
                          "plain models."}


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

    def shared_group(self, name: str) -> click.Group:
        """The group ``name`` that several plugins add their commands to, made by the first to ask for it."""
        group = self.commands.get(name)
        if isinstance(group, click.Group):
            return group
        group = click.Group(name, help=SHARED_GROUPS.get(name, ""))
        self.add_command(group)
        return group
