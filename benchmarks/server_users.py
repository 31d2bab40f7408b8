"""Several users chatting with one `serve --http` server, taking turns, with 1 and with 4 kept KV caches: the seconds
to each answer's first piece and in all, the prompt tokens the server did not read again, and whether the answers
are the same.

Each user chats about another SQuAD v1.1 dev article (its first paragraphs pasted in the first message, then its
questions one a turn, the whole conversation sent each time, as chat clients do), through the openai client,
streamed with usage; the users take turns in order, as a server's users do when their requests interleave. A
server is started (uvicorn on a loopback port, in this process) for each setting in turn, the same requests sent.

    python benchmarks/server_users.py ../shared/data/squad-dev-v1.1.json OUT.json [USERS] [TURNS] [PARAGRAPHS] [GENERATOR]

GENERATOR is llm (the default: torch, float32) or onnx (its default int8 export of the same model).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from typing import Any

from latentstack.bench.report import environment

SETTINGS = (1, 4)  # kept caches: the generator's own default, and serve's
NEW_TOKENS = 32
MODEL = "smollm2-135m-instruct"


def articles(squad: str, users: int, paragraphs: int) -> list[tuple[str, list[str]]]:
    """The first ``users`` articles' first ``paragraphs`` paragraphs as one text, and their questions."""
    data = json.load(open(squad, encoding="utf-8"))["data"][:users]
    out = []
    for article in data:
        kept = article["paragraphs"][:paragraphs]
        out.append(("\n\n".join(p["context"] for p in kept), [q["question"] for p in kept for q in p["qas"]]))
    return out


def streamed(client: Any, messages: list[dict[str, str]]) -> dict[str, Any]:
    """One streamed answer: seconds to its first piece, in all and the longest between two pieces, its text, and its
    usage."""
    start, first, parts, usage, gap, last = time.perf_counter(), None, [], None, 0.0, 0.0
    stream = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=NEW_TOKENS, temperature=0,
                                            stream=True, stream_options={"include_usage": True})
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            now = time.perf_counter() - start
            gap = gap if first is None else max(gap, now - last)
            first, last = now if first is None else first, now
            parts.append(chunk.choices[0].delta.content)
        usage = chunk.usage or usage
    details = usage.prompt_tokens_details
    return {"first_s": first, "total_s": time.perf_counter() - start, "longest_gap_s": gap, "text": "".join(parts),
            "prompt_tokens": usage.prompt_tokens, "cached": details.cached_tokens if details else 0}


def users_taking_turns(generator: str, kept: int, chats: list[tuple[str, list[str]]],
                       turns: int) -> list[list[dict[str, Any]]]:
    """Each user's answers, the users taking turns, from a server keeping ``kept`` caches."""
    from openai import OpenAI

    from latentstack.http.app import build_app
    from latentstack.http.run import InThread
    from latentstack.http.state import Served

    served = Served(generator=generator, generator_options={"model": MODEL, "prefix_cache": kept})
    running = InThread(build_app(served), timeout_s=300)
    try:
        client = OpenAI(base_url=f"{running.url}/v1", api_key="unused", timeout=600)
        streamed(client, [{"role": "user", "content": "Hello."}])  # every path run once before timing
        history = [[{"role": "user", "content": f"{text}\n\n{questions[0]}"}] for text, questions in chats]
        runs: list[list[dict[str, Any]]] = [[] for _ in chats]
        for turn in range(turns):
            for user, (_, questions) in enumerate(chats):
                got = streamed(client, history[user])
                runs[user].append(got)
                following = questions[turn + 1] if turn + 1 < len(questions) else "Anything else?"
                history[user] += [{"role": "assistant", "content": got["text"]},
                                  {"role": "user", "content": following}]
        return runs
    finally:
        running.stop()


def summary(runs: list[list[dict[str, Any]]]) -> dict[str, Any]:
    later = [row for rows in runs for row in rows[1:]]  # a user's first turn reads everything either way
    return {"later_turns_first_s_median": statistics.median(r["first_s"] for r in later),
            "later_turns_total_s_median": statistics.median(r["total_s"] for r in later),
            "later_turns_prompt_tokens_median": statistics.median(r["prompt_tokens"] for r in later),
            "later_turns_cached_median": statistics.median(r["cached"] for r in later),
            "all_turns_total_s": sum(r["total_s"] for rows in runs for r in rows)}


def same_answers(texts: list[list[list[str]]]) -> int:
    """How many answers two settings' runs (each user's answers) have the same."""
    return sum(a == b for u, v in zip(*texts, strict=True) for a, b in zip(u, v, strict=True))


def saved(out: str, result: dict[str, Any], shown: tuple[str, ...]) -> None:
    """``result`` written to ``out`` as JSON, its ``shown`` keys printed."""
    json.dump(result, open(out, "w"), indent=1)
    print(json.dumps({k: result[k] for k in shown}, indent=1))


def main() -> None:
    squad, out = sys.argv[1], sys.argv[2]
    users, turns, paragraphs = (int(a) for a in (sys.argv[3:6] + ["3", "5", "6"][len(sys.argv[3:6]):]))
    generator = sys.argv[6] if len(sys.argv) > 6 else "llm"
    chats = articles(squad, users, paragraphs)
    runs = {kept: users_taking_turns(generator, kept, chats, turns) for kept in SETTINGS}
    texts = [[[r["text"] for r in rows] for rows in runs[kept]] for kept in SETTINGS]
    result = {"what": __doc__.split("\n\n")[0], "command": " ".join(["python", *sys.argv]), "model": MODEL,
              "generator": generator, "users": users, "turns": turns, "paragraphs": paragraphs, "new_tokens": NEW_TOKENS,
              "kept_caches": {str(kept): summary(runs[kept]) for kept in SETTINGS},
              "same_answers": same_answers(texts), "answers": users * turns, "environment": environment()}
    saved(out, result, ("kept_caches", "same_answers", "answers"))


if __name__ == "__main__":
    main()
