"""Tools left to the model (OpenAI's ``tool_choice: "auto"``): does SmolLM2 call a function when one fits the
question and reply in text when none does, and are its calls right?

Questions from the Berkeley Function Calling Leaderboard (BFCL v4, Apache-2.0; its data
ships in the ``bfcl-eval`` wheel): "simple" (one function that fits; its possible answers
say which arguments are right) and "irrelevance" (one function that does not fit: the
right answer is text). Each is answered once per hint wording, greedy, through the server's
own path (``latentstack.http.tools``: the system line, the answer held to the
``{"tool_call"} | {"response"}`` schema, the reply read back), 96 new tokens at most.
Reported: the share of each set decided right, the share of fitting questions called with
the right function and with BFCL-correct arguments (each argument one of the possible
answers; an optional one may be left out), and seconds:

    pip download --no-deps bfcl-eval==2026.3.23 -d /tmp/bfcl && unzip -q /tmp/bfcl/*.whl -d /tmp/bfcl
    python benchmarks/tool_choice_auto.py /tmp/bfcl/bfcl_eval/data OUT.json [N [SKIP]]
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import attrs

from latentstack.bench.report import environment
from latentstack.http.tools import tool_use
from latentstack.interfaces import GenerationConfig
from latentstack_llm.generator import LlmGenerator

TYPES = {"dict": "object", "float": "number", "tuple": "array"}
CALL = '{"tool_call": {"name": ..., "arguments": {...}}}'
HINTS = {
    "latentstack (either/or, functions listed)": None,  # the server's own line
    "first wording": ("Respond in JSON: " + CALL + ' to call one of these functions: {listed}; or {"response": "..."} '
                      "to reply to the user."),
    "llama.cpp's line, functions listed": (
        "You can call these functions: {listed}.\nRespond in JSON format, either with `tool_call` (a request to call "
        "tools) or with `response` reply to the user's request"),
}


def schema(node: Any) -> Any:
    """BFCL's parameter types as JSON schema's (dict, float, tuple, any)."""
    if isinstance(node, list):
        return [schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: schema(v) for k, v in node.items() if not (k == "type" and v == "any")}
    if isinstance(node.get("type"), str) and node["type"] in TYPES:
        out["type"] = TYPES[node["type"]]
    return out


def tools_of(functions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"type": "function", "function": {"name": f["name"].replace(".", "_"), "description": f["description"],
                                              "parameters": schema(f["parameters"])}} for f in functions]


def read(path: Path, n: int, skip: int) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()[skip:skip + n]]


def same(value: Any, allowed: Any) -> bool:
    if isinstance(value, (int, float)) and isinstance(allowed, (int, float)) and not isinstance(value, bool):
        return float(value) == float(allowed)
    if isinstance(value, str) and isinstance(allowed, str):
        plain = lambda s: re.sub(r"[\s.,'\"!?-]", "", s.lower())  # noqa: E731  BFCL's string check, roughly
        return plain(value) == plain(allowed)
    return value == allowed


def right_arguments(arguments: dict[str, Any], truth: dict[str, list[Any]]) -> bool:
    if set(arguments) - set(truth):
        return False
    for name, allowed in truth.items():
        if name not in arguments:
            if "" not in allowed:
                return False
        elif not any(same(arguments[name], a) for a in allowed):
            return False
    return True


def answer(gen: LlmGenerator, item: dict[str, Any], hint: str | None) -> dict[str, Any]:
    functions = item["function"] if isinstance(item["function"], list) else [item["function"]]
    use = tool_use({"tools": tools_of(functions)})
    assert use is not None
    if hint is not None:
        listed = "; ".join(f"{t['function']['name']} ({t['function']['description']})" for t in tools_of(functions))
        use = attrs.evolve(use, hint=hint.replace("{listed}", listed))
    messages = use.prompt(item["question"][0])
    text = gen.generate(messages, GenerationConfig(max_new_tokens=96, json_schema=use.schema))
    return use.message(text)


def run(gen: LlmGenerator, simple: list[dict[str, Any]], truths: dict[str, Any], irrelevant: list[dict[str, Any]],
        hint: str | None) -> dict[str, Any]:
    start = time.perf_counter()
    called = right_name = right_args = 0
    for item in simple:
        message = answer(gen, item, hint)
        if message.get("tool_calls"):
            called += 1
            call = message["tool_calls"][0]["function"]
            (name, args), = truths[item["id"]][0].items()
            if call["name"] == name.replace(".", "_"):
                right_name += 1
                right_args += right_arguments(json.loads(call["arguments"]), args)
    texted = sum(not answer(gen, item, hint).get("tool_calls") for item in irrelevant)
    n_s, n_i = len(simple), len(irrelevant)
    return {"fitting_called": called / n_s, "unfitting_replied_in_text": texted / n_i,
            "decided_right": (called + texted) / (n_s + n_i), "right_function": right_name / n_s,
            "right_arguments": right_args / n_s, "seconds": round(time.perf_counter() - start, 1)}


def main(data: str, out: str, n: int = 50, skip: int = 0) -> None:
    folder = Path(data)
    simple = read(folder / "BFCL_v4_simple_python.json", n, skip)
    truths = {t["id"]: t["ground_truth"]
              for t in read(folder / "possible_answer" / "BFCL_v4_simple_python.json", n, skip)}
    irrelevant = read(folder / "BFCL_v4_irrelevance.json", n, skip)
    gen = LlmGenerator.from_options(model="smollm2-135m-instruct")
    rows = {}
    for name, hint in HINTS.items():
        rows[name] = run(gen, simple, truths, irrelevant, hint)
        print(name, rows[name], flush=True)
    report = {"data": "BFCL v4 (bfcl-eval 2026.3.23): simple_python and irrelevance, N of each after SKIP",
              "n": n, "skip": skip,
              "model": "smollm2-135m-instruct", "max_new_tokens": 96, "hints": HINTS, "rows": rows,
              "environment": environment()}
    Path(out).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], *(int(a) for a in sys.argv[3:5]))
