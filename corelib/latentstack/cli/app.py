"""The click group that turns latentstack errors into one clean line and loads plugin commands."""

from __future__ import annotations

from typing import Any

import click

from latentstack.errors import LatentstackError

#: The command groups several plugins add commands to (``LatentstackGroup.shared_group``), with their help.
SHARED_GROUPS = {"adapt": "Adapt models to your own data: post-training and fine-tuning, LoRA adapters merged into "
                          "plain models."}


def _set_output(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """-q/-v given after a command's name: the same as before it."""
    if value:
        from latentstack.progress import set_quiet, set_verbose

        (set_quiet if param.name == "quiet" else set_verbose)(True)


def _output_options() -> list[click.Option]:
    return [click.Option(["-q", "--quiet"], is_flag=True, expose_value=False, is_eager=True, callback=_set_output,
                         help="Silence progress bars and status lines."),
            click.Option(["-v", "--verbose"], is_flag=True, expose_value=False, is_eager=True, callback=_set_output,
                         help="Also show how each component runs.")]


def take_output_options(command: click.Command) -> None:
    """Give ``command`` (and a group's commands) -q and -v where it has no option of those names: a user types
    them after the command as often as before it."""
    if getattr(command, "_output_options", False):
        return
    taken = {opt for param in command.params for opt in getattr(param, "opts", [])}
    command.params.extend(o for o in _output_options() if not taken & set(o.opts))
    command._output_options = True  # type: ignore[attr-defined]
    if isinstance(command, click.Group):  # its commands as it finds them (a plugin's group may load them late)
        find = command.get_command

        def get_command(ctx: click.Context, cmd_name: str) -> click.Command | None:
            found = find(ctx, cmd_name)
            if found is not None:
                take_output_options(found)
            return found

        command.get_command = get_command  # type: ignore[method-assign]


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

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command, taking -q and -v (plugins' commands too: they are all registered by now)."""
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            take_output_options(command)
        return command

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
