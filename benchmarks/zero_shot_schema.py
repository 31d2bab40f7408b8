"""Zero-shot SMS labels from SmolLM2: a free answer parsed for its label, against answers held to a JSON schema.

Each test message is asked about once per method, greedy, with the same prompt. The free
answer is read with a parser written for this model's answers ("not spam" or "ham" is ham,
then "spam" is spam, else no label); the held answers are `{"label": ...}`, or
`{"reason": ..., "label": ...}` (a reason of at most 120 characters written before the
label), by construction; the last row adds the JSON form to the prompt (as Ollama's docs
advise). Reported: how many answers gave a label, accuracy and macro-F1
over all messages (an answer with no label counts as wrong), seconds, and new tokens per
answer:

    python benchmarks/zero_shot_schema.py benchmarks/data/sms-spam.tsv OUT.json [N]
"""

from __future__ import annotations

import json
import re
import sys
import time

from latentstack.bench.report import environment
from latentstack.data.labeled import load_labeled
from latentstack.interfaces import GenerationConfig
from latentstack_llm.generator import LlmGenerator

LABELS = ("spam", "ham")
SCHEMA = {"type": "object", "properties": {"label": {"enum": list(LABELS)}}, "required": ["label"],
          "additionalProperties": False}
REASONED = {"type": "object", "properties": {"reason": {"type": "string", "maxLength": 120},
                                             "label": {"enum": list(LABELS)}},
            "required": ["reason", "label"], "additionalProperties": False}
TOLD = '\n\nAnswer in JSON: {"label": "spam"} or {"label": "ham"}.'
METHODS = (("free answer, parsed", "", 12, ""), ("held to {label}", SCHEMA, 12, ""),
           ("held to {reason, label}", REASONED, 64, ""), ("held to {label}, the form in the prompt", SCHEMA, 12, TOLD))
PROMPT = ("Is this text message spam or ham (not spam)? Answer with one word: spam or ham.\n\n"
          "Message: {text}")


def free_label(answer: str) -> str | None:
    """The label a free answer gives: ham where it says "not spam" or "ham", else spam where it says "spam"."""
    said = answer.lower()
    if re.search(r"\bnot (a |an )?spam\b|\bham\b", said):
        return "ham"
    return "spam" if re.search(r"\bspam\b", said) else None


def held_label(answer: str) -> str | None:
    try:
        return str(json.loads(answer)["label"])
    except (ValueError, KeyError, TypeError):
        return None


def macro_f1(pred: list[str | None], truth: list[str]) -> float:
    scores = []
    for label in LABELS:
        tp = sum(p == label and t == label for p, t in zip(pred, truth, strict=True))
        given = sum(p == label for p in pred) + sum(t == label for t in truth)
        scores.append(2 * tp / given if given else 0.0)
    return sum(scores) / len(scores)


def run(gen: LlmGenerator, texts: list[str], truth: list[str], schema: object, budget: int,
        told: str) -> dict[str, float]:
    options = GenerationConfig(max_new_tokens=budget, json_schema=schema)  # type: ignore[arg-type]
    parse = held_label if schema else free_label
    pred, tokens = [], 0
    start = time.perf_counter()
    for text in texts:
        answer = gen.generate(PROMPT.format(text=text) + told, options)
        tokens += gen.count_tokens(answer)
        pred.append(parse(answer))
    seconds = time.perf_counter() - start
    return {"labelled": sum(p is not None for p in pred) / len(pred),
            "accuracy": sum(p == t for p, t in zip(pred, truth, strict=True)) / len(pred),
            "macro_f1": macro_f1(pred, truth), "seconds": seconds, "tokens_per_answer": tokens / len(pred)}


def main() -> None:
    data, out = sys.argv[1], sys.argv[2]
    limit = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    test = load_labeled(data)["test"]
    texts, truth = list(test.texts), [str(t) for t in test.labels]
    if limit:
        texts, truth = texts[:limit], truth[:limit]
    gen = LlmGenerator.from_options()
    gen.generate("warm up", GenerationConfig(max_new_tokens=2, json_schema=SCHEMA))  # model and llguidance loaded
    rows = {}
    for name, schema, budget, told in METHODS:
        rows[name] = {**run(gen, texts, truth, schema, budget, told), "max_new_tokens": budget, "prompt_ends": told}
        print(name, {k: round(v, 4) if isinstance(v, float) else v for k, v in rows[name].items()}, flush=True)
    result = {"data": data, "n": len(texts), "model": "smollm2-135m-instruct", "prompt": PROMPT,
              "schemas": [SCHEMA, REASONED], "rows": rows, "environment": environment(),
              "command": f"python benchmarks/zero_shot_schema.py {data} {out}" + (f" {limit}" if limit else "")}
    with open(out, "w") as fh:
        json.dump(result, fh, indent=2)


if __name__ == "__main__":
    main()
