"""A list of prompts in one `/v1/completions` request (lm-evaluation-harness's and LangChain's batches) on a server
whose generator decodes four answers together (`serve --http`'s `parallel=4`): the prompts begun together (now)
against answered one after another (before), the seconds for the whole request and whether the answers are the
same.

The prompts are SQuAD v1.1 dev questions with a paragraph of their article before them (each read as the user's
message through the chat template), answered greedy (48 new tokens) through the openai client, not streamed. One
server (uvicorn on a loopback port, in this process) answers every arm; the arms take turns, each request sent
`REPEATS` times.

    python benchmarks/completion_lists.py ../shared/data/squad-dev-v1.1.json OUT.json [PROMPTS] [REPEATS]
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from typing import Any

from server_users import MODEL, saved

from latentstack.bench.report import environment

NEW_TOKENS = 48
ARMS = ("begun together (now)", "one after another (before)")


def prompts(squad: str, n: int) -> list[str]:
    """``n`` questions, each after the paragraph it asks about."""
    out = []
    for article in json.load(open(squad, encoding="utf-8"))["data"]:
        for paragraph in article["paragraphs"][:1]:
            out.append(f"{paragraph['context']}\n\n{paragraph['qas'][0]['question']}")
        if len(out) == n:
            break
    return out


async def one_after_another(runs: Any, gone: Any = None) -> list[list[Any]]:
    """``http.streaming.collected`` as it was: each prompt's answer after the one before it."""
    out = []
    for run in runs:
        await run.start()
        out.append(await run.collect(gone))
    return out


def main() -> None:
    from openai import OpenAI

    import latentstack.http.completions as completions
    from latentstack.http.app import build_app
    from latentstack.http.run import InThread
    from latentstack.http.state import Served

    squad, out = sys.argv[1], sys.argv[2]
    n, repeats = (int(a) for a in (sys.argv[3:5] + ["16", "3"][len(sys.argv[3:5]):]))
    asks = prompts(squad, n)
    served = Served(generator="llm", generator_options={"model": MODEL, "prefix_cache": 0, "parallel": 4})
    running = InThread(build_app(served), timeout_s=600)
    client = OpenAI(base_url=f"{running.url}/v1", api_key="unused", timeout=600)
    client.completions.create(model=MODEL, prompt="Hello.", max_tokens=4)
    now = completions.collected
    seconds: dict[str, list[float]] = {arm: [] for arm in ARMS}
    texts: dict[str, list[list[str]]] = {arm: [] for arm in ARMS}
    tokens: dict[str, int] = {}
    try:
        for _ in range(repeats):
            for arm in ARMS:
                completions.collected = now if arm == ARMS[0] else one_after_another  # type: ignore[assignment]
                start = time.perf_counter()
                done = client.completions.create(model=MODEL, prompt=asks, max_tokens=NEW_TOKENS, temperature=0)
                seconds[arm].append(time.perf_counter() - start)
                texts[arm].append([c.text for c in done.choices])
                tokens[arm] = done.usage.completion_tokens if done.usage else 0
    finally:
        completions.collected = now  # type: ignore[assignment]
        running.stop()
    result = {"what": __doc__.split("\n\n")[0], "command": " ".join(["python", *sys.argv]), "model": MODEL,
              "prompts": n, "repeats": repeats, "new_tokens": NEW_TOKENS, "parallel": 4,
              "arms": {arm: {"request_s": [round(s, 2) for s in seconds[arm]],
                             "request_s_median": round(statistics.median(seconds[arm]), 2),
                             "completion_tokens": tokens[arm],
                             "tokens_per_s": round(tokens[arm] / statistics.median(seconds[arm]), 1)}
                       for arm in ARMS},
              "same_answers": sum(a == b for a, b in zip(texts[ARMS[0]][0], texts[ARMS[1]][0], strict=True)),
              "same_across_repeats": all(t == texts[arm][0] for arm in ARMS for t in texts[arm]),
              "environment": environment()}
    saved(out, result, ("arms", "same_answers", "same_across_repeats"))


if __name__ == "__main__":
    main()
