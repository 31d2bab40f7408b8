"""Several calls in one answer (OpenAI's ``parallel_tool_calls: true``): does SmolLM2 make as many calls as a
question asks for, and are they right, against one call per answer (the default)?

Questions from the Berkeley Function Calling Leaderboard (BFCL v4, Apache-2.0; its data ships
in the ``bfcl-eval`` wheel): "parallel" (one function, called two to four times: "play songs
from Taylor Swift and Maroon 5") and "simple_python" (one function, called once). Each is
answered greedy with ``tool_choice: "required"``, once per ``parallel_tool_calls`` value,
through the server's own path (``latentstack.http.tools``), 192 new tokens at most. Reported
per set and value: the share answered with as many calls as BFCL's answer holds, the share
whose calls are all right (each of BFCL's calls matched by its own call, right function and
BFCL-correct arguments), the mean number of calls, the share cut by the token budget, and
seconds:

    pip download --no-deps bfcl-eval==2026.3.23 -d /tmp/bfcl && unzip -q /tmp/bfcl/*.whl -d /tmp/bfcl
    python benchmarks/parallel_tool_calls.py /tmp/bfcl/bfcl_eval/data OUT.json [N [SKIP]]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from tool_choice_auto import read, right_arguments, tools_of

from latentstack.bench.report import environment
from latentstack.http.tools import tool_use
from latentstack.interfaces import GenerationConfig
from latentstack_llm.generator import LlmGenerator

MAX_NEW_TOKENS = 192


def calls_of(gen: LlmGenerator, item: dict[str, Any], parallel: bool) -> tuple[list[dict[str, Any]], bool]:
    """The calls an answer makes (name, arguments) and whether the budget cut it."""
    use = tool_use({"tools": tools_of(item["function"]), "tool_choice": "required", "parallel_tool_calls": parallel})
    assert use is not None
    text = gen.generate(use.prompt(item["question"][0]), GenerationConfig(max_new_tokens=MAX_NEW_TOKENS,
                                                                          json_schema=use.schema))
    try:
        json.loads(text)
    except ValueError:
        return [], True
    return [c["function"] for c in use.message(text)["tool_calls"]], False


def all_right(calls: list[dict[str, Any]], truth: list[dict[str, Any]]) -> bool:
    """Each of BFCL's calls matched by a call of its own (and no call left over)."""
    left = list(calls)
    for expected in truth:
        (name, args), = expected.items()
        match = next((c for c in left if c["name"] == name.replace(".", "_")
                      and right_arguments(json.loads(c["arguments"]), args)), None)
        if match is None:
            return False
        left.remove(match)
    return not left


def run(gen: LlmGenerator, items: list[dict[str, Any]], truths: dict[str, Any], parallel: bool) -> dict[str, Any]:
    start = time.perf_counter()
    counted = right = cut = made = 0
    for item in items:
        calls, was_cut = calls_of(gen, item, parallel)
        truth = truths[item["id"]]
        cut += was_cut
        made += len(calls)
        counted += len(calls) == len(truth)
        right += all_right(calls, truth)
    n = len(items)
    return {"as_many_calls_as_asked": counted / n, "all_calls_right": right / n, "mean_calls": made / n,
            "cut_by_budget": cut / n, "seconds": round(time.perf_counter() - start, 1)}


def main(data: str, out: str, n: int = 40, skip: int = 0) -> None:
    folder = Path(data)
    gen = LlmGenerator.from_options(model="smollm2-135m-instruct")
    rows = {}
    for category in ("parallel", "simple_python"):
        items = read(folder / f"BFCL_v4_{category}.json", n, skip)
        truths = {t["id"]: t["ground_truth"]
                  for t in read(folder / "possible_answer" / f"BFCL_v4_{category}.json", n, skip)}
        for parallel in (False, True):
            name = f"{category}, parallel_tool_calls {str(parallel).lower()}"
            rows[name] = run(gen, items, truths, parallel)
            print(name, rows[name], flush=True)
    report = {"data": "BFCL v4 (bfcl-eval 2026.3.23): parallel and simple_python, N of each after SKIP",
              "n": n, "skip": skip, "model": "smollm2-135m-instruct", "tool_choice": "required",
              "max_new_tokens": MAX_NEW_TOKENS, "rows": rows, "environment": environment()}
    Path(out).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], *(int(a) for a in sys.argv[3:5]))
