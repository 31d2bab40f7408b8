"""``latentstack models``: known models, whether each is installed, and the runtime ``dtype=auto`` picks here."""

from __future__ import annotations

import json
from typing import Any

import attrs
import click


def _runtime(name: str) -> str:
    """What an embedder's ``dtype="auto"`` runs for this installed model on this CPU (the bare model, no adapter)."""
    from latentstack.runtime import describe_auto
    from latentstack.sources import resolve_model

    return describe_auto(f"{resolve_model(name).fingerprint()}:")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def models(as_json: bool) -> None:
    """List the models latentstack knows, how to install the missing ones and how the installed ones run here."""
    from latentstack.sources import list_models

    rows: list[dict[str, Any]] = [
        {**attrs.asdict(m), "runtime": _runtime(m.name) if m.installed else None} for m in list_models()
    ]
    if as_json:
        click.echo(json.dumps({"models": rows}, indent=2))
        return
    for m in rows:
        mark = "installed" if m["installed"] else "missing  "
        click.echo(f"{m['name']:<24} {mark} {m['description']}")
        if m["installed"]:
            click.echo(f"{'':<24} embedder runtime (dtype auto): {m['runtime']}")
        else:
            click.echo(f"{'':<24} install: {m['install']}")
    click.echo("A local model folder (config.json + weights) also works wherever a model name does.")
