"""What scoring tokens and holding an answer to a JSON schema add to each decoded token.

SmolLM2-135M through the `llm` generator (or `onnx`: its int8 export), greedy, the same prompt, exactly 64 new tokens a
run (the schema's string has a minimum length past them, and free runs that end early are
reported): plain streaming, `stream_scored` with 5 alternatives, and an answer held to
`{"story": string of at least 1000 characters}`. The three alternate, RUNS rounds, in one
process after a warm-up of each:

    python benchmarks/decode_extras_cost.py OUT.json [llm|onnx]
"""

from __future__ import annotations

import json
import sys
import time

from latentstack.bench.report import environment
from latentstack.interfaces import GenerationConfig
from latentstack import get_generator
from latentstack.interfaces import Generator

PROMPT = "Write a long story about a dragon who learns to bake bread."
LONG = {"type": "object", "properties": {"story": {"type": "string", "minLength": 1000}}, "required": ["story"]}
TOKENS, RUNS = 64, 5


def timed(gen: Generator, kind: str) -> tuple[float, int]:
    """Seconds for one answer of ``kind``, and the tokens it decoded."""
    plain = GenerationConfig(max_new_tokens=TOKENS)
    start = time.perf_counter()
    if kind == "scored":
        n = sum(len(p.tokens) for p in gen.stream_scored(PROMPT, plain, 5))
    else:
        options = GenerationConfig(max_new_tokens=TOKENS, json_schema=LONG) if kind == "schema" else plain
        n = gen.count_tokens("".join(gen.stream(PROMPT, options)))
    return time.perf_counter() - start, n


def main() -> None:
    name = sys.argv[2] if len(sys.argv) > 2 else "llm"
    gen = get_generator(name)
    kinds = ("plain", "scored", "schema")
    for kind in kinds:
        timed(gen, kind)  # model, tokenizer views and llguidance loaded
    rows: dict[str, list[tuple[float, int]]] = {k: [] for k in kinds}
    for _ in range(RUNS):
        for kind in kinds:
            rows[kind].append(timed(gen, kind))
    result = {kind: {"seconds": [round(s, 3) for s, _ in runs], "tokens": [n for _, n in runs],
                     "ms_per_token_median": round(1000 * sorted(s / n for s, n in runs)[RUNS // 2], 2)}
              for kind, runs in rows.items()}
    for kind, row in result.items():
        print(kind, row)
    with open(sys.argv[1], "w") as fh:
        json.dump({"generator": name, "rows": result, "prompt": PROMPT, "schema": LONG, "max_new_tokens": TOKENS, "runs": RUNS,
                   "environment": environment(),
                   "command": f"python benchmarks/decode_extras_cost.py {sys.argv[1]} {name}"}, fh, indent=2)


if __name__ == "__main__":
    main()
