"""The ``latentstack`` command line. One module per command group; plugins add more."""

from __future__ import annotations

import click

from latentstack.cli.app import LatentstackGroup
from latentstack.cli.models_cmd import models
from latentstack.cli.plugins_cmd import plugins

cli = LatentstackGroup(
    name="latentstack",
    help=(
        "Pretrained language models beyond chat: embeddings, search, classifiers, "
        "LoRA, RAG and ONNX, as plugins.\n\n"
        "Start with `latentstack plugins` and `latentstack models`."
    ),
)
cli.params.append(
    click.Option(["-q", "--quiet"], is_flag=True, help="Silence progress bars and status lines.")
)
cli.params.append(
    click.Option(["-v", "--verbose"], is_flag=True,
                 help="Also show how each component runs (e.g. the dtype an embedder chose, and why).")
)
click.version_option(package_name="latentstack", prog_name="latentstack")(cli)
cli.add_command(plugins)
cli.add_command(models)


def _add_groups() -> None:
    """The core command groups (their heavy imports happen inside the commands; bench suites on first use)."""
    from latentstack.cli.ask_cmd import ask, serve
    from latentstack.cli.batch_cmd import batch
    from latentstack.cli.cache_cmd import cache
    from latentstack.cli.chat_cmd import chat
    from latentstack.cli.classify_cmd import classify
    from latentstack.cli.doctor_cmd import doctor
    from latentstack.cli.embed_cmd import embed
    from latentstack.cli.generate_cmd import generate
    from latentstack.cli.index_cmd import index, search

    cli.add_command(embed)
    cli.add_command(doctor)
    cli.add_command(index)
    cli.add_command(search)
    cli.add_command(classify)
    cli.add_command(generate)
    cli.add_command(chat)
    cli.add_command(ask)
    cli.add_command(serve)
    cli.add_command(batch)
    cli.add_command(cache)


_add_groups()


def main() -> None:
    """Console-script entry point."""
    cli.load_plugin_commands()
    cli.main(prog_name="latentstack")
