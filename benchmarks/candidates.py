"""Several answers to one prompt (`ask --best-of`'s candidates: the greedy answer and seeded samples), decoded one at
a time (the prompt's KV cache kept from one to the next) and together (the prompt read once, each answer going on
from a copy of its cache): seconds a question, and whether the candidates are the same.

Each question is a SQuAD v1.1 dev question with three paragraphs of its article in `ask`'s prompt, its candidates
the greedy answer and N-1 samples at temperature 0.7 (top_p 0.95, seeds 0, 1, ...), as `RagPipeline.best_of` asks
for them, through `Generator.generate_many`; the two generators answer each question in turn, in one process.

    python benchmarks/candidates.py ../shared/data/squad-dev-v1.1.json OUT.json [QUESTIONS] [CANDIDATES]
"""

from __future__ import annotations

import json
import statistics
import sys
import time

from prompt_lookup import questions

from latentstack.bench.report import environment

NEW_TOKENS = 48
SETTINGS = (1, 4)  # answers decoded together: one at a time, and four


def main() -> None:
    import attrs

    from latentstack import get_generator
    from latentstack.interfaces import GenerationConfig
    from latentstack.rag.prompt import Passage, build_messages

    squad, out = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 12
    candidates = int(sys.argv[4]) if len(sys.argv) > 4 else 4
    greedy = GenerationConfig(max_new_tokens=NEW_TOKENS)
    options = [greedy] + [attrs.evolve(greedy, temperature=0.7, top_p=0.95, seed=s) for s in range(candidates - 1)]
    gens = {p: get_generator("llm", parallel=p) for p in SETTINGS}
    for gen in gens.values():
        gen.generate_many(["Hello."] * 2, GenerationConfig(max_new_tokens=4))
    seconds: dict[int, list[float]] = {p: [] for p in SETTINGS}
    answers: dict[int, list[list[str]]] = {p: [] for p in SETTINGS}
    for question, paragraphs in questions(squad, n):
        messages = build_messages(question, [Passage(i + 1, t) for i, t in enumerate(paragraphs)])
        for p, gen in gens.items():
            start = time.perf_counter()
            answers[p].append(gen.generate_many([messages] * candidates, options))
            seconds[p].append(time.perf_counter() - start)
    result = {"what": __doc__.split("\n\n")[0], "command": " ".join(["python", *sys.argv]),
              "model": "smollm2-135m-instruct", "questions": n, "candidates": candidates, "new_tokens": NEW_TOKENS,
              "parallel": {str(p): {"seconds_a_question_mean": statistics.mean(seconds[p]),
                                    "seconds_a_question_median": statistics.median(seconds[p]),
                                    "seconds_in_all": sum(seconds[p])} for p in SETTINGS},
              "same_candidates": sum(a == b for qa, qb in zip(answers[1], answers[4], strict=True)
                                     for a, b in zip(qa, qb, strict=True)),
              "all_candidates": n * candidates, "environment": environment()}
    json.dump(result, open(out, "w"), indent=1)
    print(json.dumps({k: result[k] for k in ("parallel", "same_candidates", "all_candidates")}, indent=1))


if __name__ == "__main__":
    main()
