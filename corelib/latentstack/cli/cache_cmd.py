"""``latentstack cache``: where the embedding cache is, what it holds against its cap, and clearing it."""

from __future__ import annotations

import json
import os

import click

MB = 2**20


@click.group()
def cache() -> None:
    """The embedding cache: a dense embedder's vectors of training and evaluation texts, kept on disk so that a
    second head on the same texts skips the encoder (safe to clear: they are computed again when needed)."""


@cache.command("info")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def info(as_json: bool) -> None:
    """Show the cache's folder, its files and size, and its cap."""
    from latentstack.cache import cache_dir, cache_stats, max_bytes

    folder = cache_dir()
    stats = cache_stats(folder)
    size, cap, enabled = sum(s for _, s, _ in stats), max_bytes(), os.environ.get("LATENTSTACK_NO_CACHE") != "1"
    if as_json:
        click.echo(json.dumps({"folder": str(folder), "files": len(stats), "bytes": size, "cap_bytes": cap,
                               "enabled": enabled}))
        return
    off = "" if enabled else " (not used: LATENTSTACK_NO_CACHE=1)"
    click.echo(f"{folder}: {len(stats)} files, {size / MB:.1f} MB of a {cap / MB:.0f} MB cap "
               f"(LATENTSTACK_CACHE_MAX_MB){off}")


@cache.command("clear")
@click.option("--yes", is_flag=True, help="Do not ask before removing.")
def clear(yes: bool) -> None:
    """Remove the cache's files (only those it wrote: other files in its folder stay)."""
    from latentstack.cache import cache_dir, cache_stats

    folder = cache_dir()
    stats = cache_stats(folder)
    size = sum(s for _, s, _ in stats) / MB
    if not stats:
        click.echo(f"{folder}: nothing to clear")
        return
    if not yes:
        click.confirm(f"remove {len(stats)} cached vector files ({size:.1f} MB) from {folder}?", abort=True)
    for _, _, path in stats:
        path.unlink(missing_ok=True)
    click.echo(f"removed {len(stats)} files ({size:.1f} MB) from {folder}")
