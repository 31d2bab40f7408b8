"""Answers to many prompts at once through `Generator.generate_many` (offline batch generation, vLLM's
`LLM.generate` over a list): one at a time against up to four decoded together, in one process, the two in turn;
seconds in all and whether the answers are the same.

The prompts are SQuAD v1.1 dev questions, each with three paragraphs of its article in `ask`'s prompt (greedy, up to
48 new tokens), or the same questions alone (closed-book).

    python benchmarks/generate_many.py ../shared/data/squad-dev-v1.1.json OUT.json [QUESTIONS]
"""

from __future__ import annotations

import json
import sys
import time

from prompt_lookup import questions

from latentstack.bench.report import environment

NEW_TOKENS = 48
SETTINGS = (1, 4)


def main() -> None:
    from latentstack import get_generator
    from latentstack.interfaces import GenerationConfig
    from latentstack.rag.prompt import Passage, build_messages

    squad, out = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 24
    asked = questions(squad, n)
    workloads = {"rag": [build_messages(q, [Passage(i + 1, t) for i, t in enumerate(ps)]) for q, ps in asked],
                 "closed_book": [[{"role": "user", "content": q}] for q, _ in asked]}
    options = GenerationConfig(max_new_tokens=NEW_TOKENS)
    gens = {p: get_generator("llm", parallel=p, prefix_cache=0) for p in SETTINGS}
    for gen in gens.values():
        gen.generate_many(["Hello.", "Hi."], GenerationConfig(max_new_tokens=4))
    result: dict = {"what": __doc__.split("\n\n")[0], "command": " ".join(["python", *sys.argv]),
                    "model": "smollm2-135m-instruct", "questions": n, "new_tokens": NEW_TOKENS}
    for name, prompts in workloads.items():
        answers, seconds = {}, {}
        for p, gen in gens.items():
            start = time.perf_counter()
            answers[p] = gen.generate_many(prompts, options)
            seconds[p] = time.perf_counter() - start
        result[name] = {"seconds": {str(p): seconds[p] for p in SETTINGS},
                        "same_answers": sum(a == b for a, b in zip(answers[1], answers[4], strict=True))}
    result["environment"] = environment()
    json.dump(result, open(out, "w"), indent=1)
    print(json.dumps({k: result[k] for k in workloads}, indent=1))


if __name__ == "__main__":
    main()
