"""``latentstack plugins``: every plugin, its roles and names, its version, and its errors."""

from __future__ import annotations

import json
from typing import Any

import click


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def plugins(as_json: bool) -> None:
    """List installed plugins, what each registers, and any that failed or are disabled."""
    from latentstack.registry import get_registry

    reg = get_registry()
    rows: list[dict[str, Any]] = [
        {
            "name": i.name,
            "module": i.module,
            "dist": i.dist,
            "version": i.version,
            "status": i.status,
            "registered": i.registered,
            "errors": i.errors,
        }
        for i in sorted(reg.infos.values(), key=lambda i: i.name)
    ]
    if as_json:
        click.echo(json.dumps({"plugins": rows}, indent=2))
        return
    for row in rows:
        head = f"{row['name']:<10} {row['status']:<8} {row['dist']} {row['version']}".rstrip()
        click.echo(head)
        for role, names in sorted(row["registered"].items()):
            click.echo(f"    {role}: {', '.join(names)}")
        for err in row["errors"]:
            click.secho(f"    error: {err}", fg="red")
