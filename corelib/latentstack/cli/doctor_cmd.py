"""``latentstack doctor``: this CPU, the runtime each installed embedder picks and why, and what would be faster."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

INT8_UNITS = ("amx_int8", "avx512_vnni", "avx_vnni")


def _embedders() -> list[tuple[str, dict[str, str] | str]]:
    """(name, runtime info or why there is none) for every registered embedder that runs a model by itself."""
    from latentstack.errors import LatentstackError
    from latentstack.registry import get_registry

    reg = get_registry()
    rows: list[tuple[str, dict[str, str] | str]] = []
    for name in reg.names("embedder"):
        cls = reg.get_class("embedder", name)
        if cls.trainable:
            continue
        try:
            info = cls.from_options(show_progress=False).runtime_info()
        except (LatentstackError, OSError) as exc:
            info = str(exc).splitlines()[0]
        if info:
            rows.append((name, info))
    return rows


def _exports() -> list[tuple[Path, dict[str, Any]]]:
    """ONNX exports under $LATENTSTACK_HOME (where bench embed keeps its own), with their recorded parity."""
    from latentstack.sources.base import latentstack_home

    found = []
    for manifest in sorted(latentstack_home().glob("**/manifest.json")):
        try:
            body = json.loads(manifest.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(body, dict) and body.get("kind") == "export":
            found.append((manifest.parent, body.get("data", {})))
    return found


def _parity_line(data: dict[str, Any]) -> str:
    """An export's recorded parity: cosines of an encoder's variants, or a decoder's greedy and loss figures."""
    if data.get("decoder"):
        p = data.get("parity", {})
        return (f"decoder {data.get('base', {}).get('model')} {data.get('precision')}: greedy answers identical "
                f"{p.get('identical_share', 0):.2f}, loss rise {p.get('nll_rise', 0):.3f} nats/token")
    return ", ".join(f"{v}: cosine mean {d.get('cosine_mean', 0):.4f}" for v, d in data.get("variants", {}).items())


@click.command()
def doctor() -> None:
    """Show the CPU's features, the runtime each embedder picks here and why, and what would make it faster."""
    from latentstack.runtime import bf16_units, cpu_key

    name, features = cpu_key()
    click.echo(f"CPU: {name}; SIMD: {', '.join(features) or 'none of avx2, avx-512, amx'}")
    units = bf16_units(features)
    click.echo(f"bf16 units: {', '.join(units) if units else 'none (bf16 would be emulated: float32 is faster)'}")
    for emb, info in _embedders():
        if isinstance(info, str):
            click.echo(f"embedder {emb}: not checked ({info})")
        else:
            click.echo(f"embedder {emb}: runs {info['dtype']} ({info['reason']})")
    exports = _exports()
    for folder, data in exports:
        click.echo(f"onnx export {folder}: {_parity_line(data)}")
    int8 = [u for u in INT8_UNITS if u in features]
    if int8 and not any("int8" in d.get("variants", {}) for _, d in exports):
        click.echo(f"faster, less exact: this CPU has {', '.join(int8)}: an int8 ONNX export embeds fastest here, "
                   "at a lower cosine to float32 than bf16 (its parity shows here once exported) "
                   "(latentstack export onnx --model minilm --int8 --out minilm-onnx, then --embedder onnx "
                   "--model minilm-onnx)")
    elif not units and not int8:
        click.echo("faster: nothing to switch on: float32 torch is the fastest exact runtime on this CPU")
