"""Answers with prompt lookup decoding on and off, in one process, answer by answer in turn: seconds to the
first piece and after it, tokens a forward pass, and whether the answers are the same.

Three workloads from SQuAD v1.1 dev: RAG (a question with three paragraphs of its article, the gold one among them,
in `ask`'s prompt: answers that copy from passages), the same held to a JSON schema ({"answer": string}), and
closed-book chat (the same questions alone).

    python benchmarks/prompt_lookup.py ../shared/data/squad-dev-v1.1.json OUT.json [QUESTIONS] [DRAFT,...] [GENERATOR] [TEMPERATURE]

GENERATOR is llm (the default: torch, float32) or onnx (its default int8 export of the same model). Answers are
greedy, or with TEMPERATURE sampled at it, each question's answers seeded with the question's number.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from typing import Any

from latentstack.bench.report import environment

NEW_TOKENS = 64


def questions(squad: str, n: int) -> list[tuple[str, list[str]]]:
    """``n`` questions, one a paragraph over the articles in turn, each with three paragraphs of its article."""
    out = []
    for article in json.load(open(squad, encoding="utf-8"))["data"]:
        paragraphs = article["paragraphs"]
        for i in range(0, len(paragraphs) - 2, 7):
            out.append((paragraphs[i + 1]["qas"][0]["question"], [p["context"] for p in paragraphs[i:i + 3]]))
            break
        if len(out) == n:
            return out
    return out


SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}


def timed(gen: Any, prompt: tuple[list[dict[str, str]], Any], passes: list[int], temperature: float,
          seed: int) -> dict[str, Any]:
    from latentstack.interfaces import GenerationConfig

    messages, schema = prompt
    options = GenerationConfig(max_new_tokens=NEW_TOKENS, json_schema=schema, temperature=temperature,
                               seed=seed if temperature else None)
    start, first, parts, finish, before = time.perf_counter(), None, [], None, len(passes)
    for piece in gen.stream_answer(messages, options):
        first = time.perf_counter() if first is None else first
        parts.append(piece.text)
        finish = piece.finish or finish
    end = time.perf_counter()
    return {"first_s": first - start, "after_first_s": end - first, "tokens": finish.tokens,
            "passes": len(passes) - before, "text": "".join(parts)}


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    after = sum(r["after_first_s"] for r in rows)
    return {"answers": len(rows), "tokens": sum(r["tokens"] for r in rows),
            "tokens_per_s_after_first": sum(r["tokens"] - 1 for r in rows) / after,
            "seconds_after_first": after, "seconds_in_all": sum(r["first_s"] + r["after_first_s"] for r in rows),
            "answer_s_median": statistics.median(r["first_s"] + r["after_first_s"] for r in rows),
            "decode_passes": sum(r["passes"] for r in rows) or None}


def main() -> None:
    import latentstack.prompt_lookup as lookup
    from latentstack import get_generator
    from latentstack.rag.prompt import Passage, build_messages

    squad, out = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    drafts = [int(d) for d in sys.argv[4].split(",")] if len(sys.argv) > 4 else [8]
    passes: list[int] = []
    checked = lookup._checked
    lookup._checked = lambda *a: passes.append(1) or checked(*a)  # counts the passes, the prompt's included
    name = sys.argv[5] if len(sys.argv) > 5 else "llm"
    temperature = float(sys.argv[6]) if len(sys.argv) > 6 else 0.0
    gens = {d: get_generator(name, prompt_lookup=d, prefix_cache=0) for d in [0, *drafts]}
    for gen in gens.values():
        gen.generate("Hello.", {"max_new_tokens": 4})
    asked = questions(squad, n)
    rag = [build_messages(q, [Passage(i + 1, t) for i, t in enumerate(ps)]) for q, ps in asked]
    workloads = {"rag": [(m, None) for m in rag], "rag_json": [(m, SCHEMA) for m in rag],
                 "closed_book": [([{"role": "user", "content": q}], None) for q, _ in asked]}
    result: dict[str, Any] = {"what": __doc__.split("\n\n")[0], "command": " ".join(["python", *sys.argv]),
                              "generator": name, "new_tokens": NEW_TOKENS, "ngrams": list(lookup.NGRAMS),
                              "temperature": temperature}
    for name, prompts in workloads.items():
        rows: dict[int, list[dict[str, Any]]] = {d: [] for d in gens}
        for seed, prompt in enumerate(prompts):
            for d, gen in gens.items():
                rows[d].append(timed(gen, prompt, passes, temperature, seed))
        result[name] = {f"prompt_lookup={d}": summary(r) for d, r in rows.items()}
        for d in drafts:
            result[name][f"prompt_lookup={d}"]["same_answers"] = sum(
                a["text"] == b["text"] for a, b in zip(rows[0], rows[d], strict=True))
    result["environment"] = environment()
    json.dump(result, open(out, "w"), indent=1)
    print(json.dumps({k: result[k] for k in workloads}, indent=1))


if __name__ == "__main__":
    main()
