"""Chats and repeated passages with a generator's prefix cache on and off, in one process, turn by turn in
turn: the seconds to the first piece of each answer and in all, the prompt tokens read again, and whether the
answers are the same.

Two workloads from SQuAD v1.1 dev: a chat about one article (its first paragraphs pasted in the first message, then
its questions one a turn, the whole conversation sent each time, as chat clients do), and RAG-style prompts (the
same paragraphs, then one question each, as `ask` sends them when the same passages are retrieved).

    python benchmarks/prefix_cache.py ../shared/data/squad-dev-v1.1.json OUT.json [TURNS] [PARAGRAPHS] [GENERATOR]

GENERATOR is llm (the default: torch, float32) or onnx (its default int8 export of the same model).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from typing import Any

from latentstack.bench.report import environment

PARAGRAPHS = 6  # the first article's first six: about 700 prompt tokens
NEW_TOKENS = 32


def article(squad: str, n: int) -> tuple[list[str], list[str]]:
    """The first article's first ``n`` paragraphs, and their questions."""
    data = json.load(open(squad, encoding="utf-8"))["data"][0]
    paragraphs = data["paragraphs"][:n]
    return [p["context"] for p in paragraphs], [q["question"] for p in paragraphs for q in p["qas"]]


def timed(gen: Any, messages: list[dict[str, str]]) -> dict[str, Any]:
    from latentstack.interfaces import GenerationConfig

    start, first, parts, finish = time.perf_counter(), None, [], None
    for piece in gen.stream_answer(messages, GenerationConfig(max_new_tokens=NEW_TOKENS)):
        first = time.perf_counter() - start if first is None else first
        parts.append(piece.text)
        finish = piece.finish or finish
    return {"first_s": first, "total_s": time.perf_counter() - start, "text": "".join(parts),
            "prompt_tokens": gen.count_prompt_tokens(messages), "cached": finish.cached}


def chat(gens: dict[str, Any], texts: list[str], questions: list[str]) -> dict[str, list[dict[str, Any]]]:
    """One conversation per generator, advanced a turn each in turn (the same answers, or the runs would part)."""
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in gens}
    text = "\n\n".join(texts)
    history = {k: [{"role": "user", "content": f"{text}\n\n{questions[0]}"}] for k in gens}
    for q in questions[1:] + [""]:
        for k, gen in gens.items():
            got = timed(gen, history[k])
            runs[k].append(got)
            history[k] += [{"role": "assistant", "content": got["text"]}, {"role": "user", "content": q}]
    return runs


def rag(gens: dict[str, Any], texts: list[str], questions: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Each question over the same passages, in `ask`'s prompt (``build_messages``)."""
    from latentstack.rag.prompt import Passage, build_messages

    passages = [Passage(i + 1, t) for i, t in enumerate(texts)]
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in gens}
    for q in questions:
        for k, gen in gens.items():
            runs[k].append(timed(gen, build_messages(q, passages)))
    return runs


def summary(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, rows in runs.items():
        later = rows[1:]  # the first turn reads everything either way
        out[k] = {"first_turn_first_s": rows[0]["first_s"],
                  "later_turns_first_s_median": statistics.median(r["first_s"] for r in later),
                  "later_turns_total_s_median": statistics.median(r["total_s"] for r in later),
                  "later_turns_prompt_tokens_median": statistics.median(r["prompt_tokens"] for r in later),
                  "later_turns_cached_median": statistics.median(r["cached"] for r in later)}
    on, off = runs["cache_on"], runs["cache_off"]
    out["same_answers"] = sum(a["text"] == b["text"] for a, b in zip(on, off, strict=True))
    out["turns"] = len(on)
    return out


def kv_bytes(gen: Any) -> int | None:
    """The bytes one token's keys and values take in the cache (what keeping the last answer's costs a token)."""
    if not hasattr(gen, "model"):
        return None  # an export: GenAI's KV buffer is allocated whole, for twice the prompt and answer
    config = gen.model.config
    heads = getattr(config, "num_key_value_heads", None) or config.num_attention_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    return int(config.num_hidden_layers * 2 * heads * head_dim * gen.model.dtype.itemsize)


def main() -> None:
    from latentstack import get_generator

    squad, out, turns = sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 8
    paragraphs = int(sys.argv[4]) if len(sys.argv) > 4 else PARAGRAPHS
    name = sys.argv[5] if len(sys.argv) > 5 else "llm"
    texts, questions = article(squad, paragraphs)
    gens = {"cache_on": get_generator(name, prefix_cache=1), "cache_off": get_generator(name, prefix_cache=0)}
    for gen in gens.values():  # loaded, and each path run once, before timing
        timed(gen, [{"role": "user", "content": "Hello."}])
    result = {"what": __doc__.split("\n\n")[0], "command": " ".join(["python", *sys.argv]),
              "generator": name, "new_tokens": NEW_TOKENS, "paragraphs": paragraphs,
              "kv_bytes_per_token": kv_bytes(gens["cache_on"]),
              "chat": summary(chat(gens, texts, questions[:turns])),
              "rag": summary(rag(gens, texts, questions[:turns])), "environment": environment()}
    json.dump(result, open(out, "w"), indent=1)
    print(json.dumps({k: result[k] for k in ("chat", "rag")}, indent=1))


if __name__ == "__main__":
    main()
