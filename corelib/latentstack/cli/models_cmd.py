"""``latentstack models``: known models and whether each is installed."""

from __future__ import annotations

import json

import attrs
import click


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def models(as_json: bool) -> None:
    """List the models latentstack knows and how to install the missing ones."""
    from latentstack.sources import list_models

    infos = list_models()
    if as_json:
        click.echo(json.dumps({"models": [attrs.asdict(m) for m in infos]}, indent=2))
        return
    for m in infos:
        mark = "installed" if m.installed else "missing  "
        click.echo(f"{m.name:<24} {mark} {m.description}")
        if not m.installed:
            click.echo(f"{'':<24} install: {m.install}")
    click.echo("A local model folder (config.json + weights) also works wherever a model name does.")
