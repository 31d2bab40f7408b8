"""The dtype="auto" probe's first-use cost, every timed round (the old way) and stopping once the answer is clear
(the new way), in turn, REPS times per model; each probe in a fresh process with an empty runtime cache (on a
CPU without bf16 units there is no probe to time). JSON lines, then everything with the environment in SAVE.

    python benchmarks/probe_costs.py 2 benchmarks/results/first-use/probe.json
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from latentstack.bench.report import environment
from latentstack.sources.base import latentstack_home

PROBE = """
import sys, time
from latentstack import get_embedder, runtime
if sys.argv[2] == "old":
    runtime.settled = lambda fp32_s, bf16_s: False
started = time.perf_counter()
emb = get_embedder(sys.argv[1], show_progress=False)
choice = emb.runtime
print(round(time.perf_counter() - started, 2), choice.dtype, choice.bf16_speedup)
"""


def _probe(embedder: str, way: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as home:
        (Path(home) / "models").symlink_to(latentstack_home() / "models")  # converted models kept, probes not
        out = subprocess.run([sys.executable, "-c", PROBE, embedder, way], capture_output=True, text=True, check=True,
                             env={**os.environ, "LATENTSTACK_HOME": home})
    seconds, dtype, speedup = out.stdout.split()
    return {"embedder": embedder, "way": way, "seconds": float(seconds), "dtype": dtype,
            "bf16_speedup": None if speedup == "None" else float(speedup)}


def main(reps: int, save: Path) -> None:
    rows = []
    for embedder in ("bert", "llm"):
        for _ in range(reps):
            for way in ("old", "new"):
                rows.append(_probe(embedder, way))
                sys.stdout.write(json.dumps(rows[-1]) + "\n")
    save.parent.mkdir(parents=True, exist_ok=True)
    save.write_text(json.dumps({"command": f"python benchmarks/probe_costs.py {reps} {save}", "env": environment(),
                                "runs": rows}, indent=1))


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]))
