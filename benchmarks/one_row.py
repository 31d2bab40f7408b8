"""One answer alone on a generator that decodes up to four together (`serve --http`'s `parallel=4`): what a single
user pays for the batcher, against `parallel=1`, with a long prompt read whole while no other answer decodes (now)
and in parts of 512 tokens always (before).

Each question is a SQuAD v1.1 dev question with three paragraphs of its article in `ask`'s prompt, answered greedy
(48 new tokens, no kept cache, prompt lookup on as by default) by each arm in turn, in one process, one thread:
seconds to the first piece (reading the prompt) and to the whole answer, and whether the answers are the same.

    python benchmarks/one_row.py ../shared/data/squad-dev-v1.1.json OUT.json [QUESTIONS]
"""

from __future__ import annotations

import statistics
import sys
import time
from typing import Any

from prompt_lookup import questions
from server_users import saved

from latentstack.bench.report import environment

NEW_TOKENS = 48
ARMS = ("parallel 1", "parallel 4", "parallel 4, prompts in parts always")


def in_parts_always(self: Any, cache: Any, tokens: Any, keep: int) -> Any:
    """``StepBatcher.forward`` as it was: a long prompt in parts whether or not others decode."""
    from latentstack_llm.step_batcher import PROMPT_PART

    while len(tokens) - PROMPT_PART >= max(keep, 1):
        self._pass(cache, tokens[:PROMPT_PART], 1)
        tokens = tokens[PROMPT_PART:]
    return self._pass(cache, tokens, keep)


def timed(gen: Any, messages: Any, options: Any) -> tuple[float, float, str]:
    """Seconds to the first piece and to the whole answer, and its text."""
    start = time.perf_counter()
    first, text = None, []
    for piece in gen.stream_answer(messages, options):
        first = time.perf_counter() - start if first is None else first
        text.append(piece.text)
    return first or 0.0, time.perf_counter() - start, "".join(text)


def main() -> None:
    from latentstack import get_generator
    from latentstack.interfaces import GenerationConfig
    from latentstack.rag.prompt import Passage, build_messages
    from latentstack_llm.step_batcher import StepBatcher

    squad, out = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 12
    options = GenerationConfig(max_new_tokens=NEW_TOKENS)
    gens = dict(zip(ARMS, (get_generator("llm", parallel=p, prefix_cache=0) for p in (1, 4, 4)), strict=True))
    for gen in gens.values():
        gen.generate("Hello.", GenerationConfig(max_new_tokens=4))
    runs: dict[str, list[tuple[float, float, str]]] = {arm: [] for arm in ARMS}
    now = StepBatcher.forward
    for question, paragraphs in questions(squad, n):
        messages = build_messages(question, [Passage(i + 1, t) for i, t in enumerate(paragraphs)])
        for arm, gen in gens.items():
            StepBatcher.forward = in_parts_always if arm == ARMS[2] else now  # type: ignore[method-assign]
            runs[arm].append(timed(gen, messages, options))
    result = {"what": __doc__.split("\n\n")[0], "command": " ".join(["python", *sys.argv]),
              "model": "smollm2-135m-instruct", "questions": n, "new_tokens": NEW_TOKENS,
              "arms": {arm: {"first_piece_s_median": statistics.median(r[0] for r in rows),
                             "answer_s_median": statistics.median(r[1] for r in rows),
                             "answer_s_in_all": sum(r[1] for r in rows)} for arm, rows in runs.items()},
              "same_answers": {arm: sum(a[2] == b[2] for a, b in zip(runs[ARMS[0]], rows, strict=True))
                               for arm, rows in runs.items()},
              "environment": environment()}
    saved(out, result, ("arms", "same_answers"))


if __name__ == "__main__":
    main()
