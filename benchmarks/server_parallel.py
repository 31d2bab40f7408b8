"""Several users chatting with one `serve --http` server at the same time, its generator decoding one answer at a time
(parallel 1) and several together (parallel 4): the seconds to each answer's first piece and to its end, the
seconds until every user had all their answers, and whether the answers are the same.

Each user chats about another SQuAD v1.1 dev article (its first paragraphs pasted in the first message, then its
questions one a turn, the whole conversation sent each time), through the openai client, streamed, greedy, on a
thread of their own: every user sends their next message as soon as their last answer has ended. A server (uvicorn
on a loopback port, in this process, keeping four chats' KV caches) is started for each setting in turn.

    python benchmarks/server_parallel.py ../shared/data/squad-dev-v1.1.json OUT.json [USERS] [TURNS] [PARAGRAPHS]
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from typing import Any

from server_users import MODEL, articles, same_answers, saved, streamed

from latentstack.bench.report import environment

SETTINGS = (1, 4)  # answers decoded together: one at a time, and four


def user(client: Any, text: str, questions: list[str], turns: int, out: list[dict[str, Any]]) -> None:
    """One user's conversation, each message sent when the last answer ended."""
    history = [{"role": "user", "content": f"{text}\n\n{questions[0]}"}]
    for turn in range(turns):
        got = streamed(client, history)
        out.append(got)
        following = questions[turn + 1] if turn + 1 < len(questions) else "Anything else?"
        history += [{"role": "assistant", "content": got["text"]}, {"role": "user", "content": following}]


def users_at_once(parallel: int, chats: list[tuple[str, list[str]]], turns: int) -> tuple[list[list[dict[str, Any]]], float]:
    """Each user's answers, and the seconds until the last user had all theirs."""
    from openai import OpenAI

    from latentstack.http.app import build_app
    from latentstack.http.run import InThread
    from latentstack.http.state import Served

    served = Served(generator="llm", generator_options={"model": MODEL, "prefix_cache": 4, "parallel": parallel})
    running = InThread(build_app(served), timeout_s=300)
    try:
        client = OpenAI(base_url=f"{running.url}/v1", api_key="unused", timeout=900)
        streamed(client, [{"role": "user", "content": "Hello."}])  # every path run once before timing
        runs: list[list[dict[str, Any]]] = [[] for _ in chats]
        threads = [threading.Thread(target=user, args=(client, text, questions, turns, runs[i]))
                   for i, (text, questions) in enumerate(chats)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return runs, time.perf_counter() - start
    finally:
        running.stop()


def summary(runs: list[list[dict[str, Any]]], wall: float) -> dict[str, Any]:
    rows = [r for rows in runs for r in rows]
    return {"all_users_done_s": wall, "first_piece_s_median": statistics.median(r["first_s"] for r in rows),
            "first_piece_s_max": max(r["first_s"] for r in rows),
            "answer_s_median": statistics.median(r["total_s"] for r in rows),
            "longest_gap_s_median": statistics.median(r["longest_gap_s"] for r in rows),
            "longest_gap_s_max": max(r["longest_gap_s"] for r in rows)}


def main() -> None:
    squad, out = sys.argv[1], sys.argv[2]
    users, turns, paragraphs = (int(a) for a in (sys.argv[3:6] + ["4", "3", "3"][len(sys.argv[3:6]):]))
    chats = articles(squad, users, paragraphs)
    runs = {p: users_at_once(p, chats, turns) for p in SETTINGS}
    texts = [[[r["text"] for r in rows] for rows in runs[p][0]] for p in SETTINGS]
    result = {"what": __doc__.split("\n\n")[0], "command": " ".join(["python", *sys.argv]), "model": MODEL,
              "users": users, "turns": turns, "paragraphs": paragraphs,
              "parallel": {str(p): summary(*runs[p]) for p in SETTINGS},
              "same_answers": same_answers(texts), "answers": users * turns, "environment": environment()}
    saved(out, result, ("parallel", "same_answers", "answers"))


if __name__ == "__main__":
    main()
