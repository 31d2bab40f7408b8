"""Two one-off costs, old way and new way in turn in one run, REPS times each; JSON lines, then a summary:

- converting the packaged SmolLM2 GGUF to a safetensors folder (the first use of the model), with
  transformers reading the file for the tokenizer, the config and the weights, and with the file
  read once (``latentstack.sources.gguf_once``); each conversion in a fresh process;
- ONNX Runtime GenAI's model builder on a tiny random Llama at fp32, in its own process (as
  decoder exports ran it before) and called in-process (as they do now).

    python benchmarks/first_use_costs.py 2 benchmarks/results/first-use/costs.json
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from latentstack.bench.report import environment

CONVERT = """
import sys, time
from pathlib import Path
from latentstack.sources.packaged import PACKAGED, convert_gguf, _installed_file
from latentstack.sources import gguf_once
model = next(m for m in PACKAGED if m.kind == "gguf")
if sys.argv[2] == "old":
    from contextlib import nullcontext
    gguf_once.gguf_read_once = nullcontext
started = time.perf_counter()
convert_gguf(_installed_file(model), Path(sys.argv[1]))
print(round(time.perf_counter() - started, 2))
"""


def _convert(way: str, scratch: Path) -> float:
    out = subprocess.run([sys.executable, "-c", CONVERT, str(scratch / f"smol-{way}-{time.time_ns()}"), way],
                         capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


def _build(way: str, source: Path, scratch: Path) -> float:
    from latentstack_onnx.decoder_export import _run_builder

    out = scratch / f"build-{way}-{time.time_ns()}"
    started = time.perf_counter()
    if way == "old":
        subprocess.run([sys.executable, "-m", "onnxruntime_genai.models.builder", "-i", str(source), "-o", str(out),
                        "-p", "fp32", "-e", "cpu", "-c", str(scratch / "cache")], capture_output=True, check=True)
    else:
        _run_builder(source, out, "fp32", scratch, [])
    return round(time.perf_counter() - started, 2)


def main(reps: int, save: Path) -> None:
    from latentstack.testing.tiny_models import save_tiny_llama

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        source = save_tiny_llama(scratch / "tiny-llama")
        _build("new", source, scratch)  # the builder's imports, once, before anything is timed
        for rep in range(reps):
            for way in ("old", "new"):
                rows.append({"cost": "gguf_convert_s", "way": way, "rep": rep, "seconds": _convert(way, scratch)})
                rows.append({"cost": "tiny_build_s", "way": way, "rep": rep, "seconds": _build(way, source, scratch)})
                sys.stdout.write(json.dumps(rows[-2]) + "\n" + json.dumps(rows[-1]) + "\n")
    summary = {f"{cost}_{way}": sorted(r["seconds"] for r in rows if r["cost"] == cost and r["way"] == way)
               for cost in ("gguf_convert_s", "tiny_build_s") for way in ("old", "new")}
    save.parent.mkdir(parents=True, exist_ok=True)
    save.write_text(json.dumps({"env": environment(), "rows": rows, "summary": summary}, indent=1) + "\n")
    sys.stdout.write(json.dumps(summary) + "\n")


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]))
