"""lm-evaluation-harness against ``latentstack serve --http``: the SMS set's test split as a two-way choice ("ham" or
"spam") scored by log-likelihood, run by the harness through the server (``local-completions``, remote tokenizer),
and the same choice computed here from the llm generator's own scores, to check that the two agree.

    python benchmarks/lm_eval_sms.py write benchmarks/data/sms-spam.tsv TASKDIR N   # the task and its N rows
    latentstack serve --http --port 8000 &
    lm_eval --model local-completions --include_path TASKDIR --tasks sms_spam_choice --output_path OUT --log_samples \\
      --model_args model=smollm2-135m-instruct,base_url=http://127.0.0.1:8000/v1/completions,tokenizer_backend=remote
    python benchmarks/lm_eval_sms.py direct benchmarks/data/sms-spam.tsv N OUT.json OUT/*/samples_*.jsonl
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from latentstack.bench.report import environment

TEXT = "Message: {text}\nIs this message spam or ham? Answer:"
CHOICES = ("ham", "spam")
TASK = """task: sms_spam_choice
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: multiple_choice
doc_to_text: "Message: {{{{text}}}}\\nIs this message spam or ham? Answer:"
doc_to_target: "{{{{['ham', 'spam'].index(label)}}}}"
doc_to_choice: ["ham", "spam"]
metric_list:
  - metric: acc
"""


def rows(tsv: str, n: int) -> list[dict[str, str]]:
    with open(tsv, newline="", encoding="utf-8") as f:
        test = [r for r in csv.DictReader(f, delimiter="\t") if r["split"] == "test"]
    return [{"text": r["text"], "label": r["label"]} for r in test[:n]]


def write(tsv: str, folder: str, n: int) -> None:
    out = Path(folder).resolve()
    out.mkdir(parents=True, exist_ok=True)
    (out / "sms.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows(tsv, n)), encoding="utf-8")
    (out / "sms_spam.yaml").write_text(TASK.format(data=out / "sms.jsonl"), encoding="utf-8")


def direct(tsv: str, n: int) -> tuple[float, list[list[float]]]:
    """The harness's rule without the harness: context and " choice" tokenized whole, the continuation's tokens those
    after the context's, summed log-probabilities, the larger choice picked."""
    import latentstack

    gen = latentstack.get_generator("llm", model="smollm2-135m-instruct")
    right, every = 0, []
    for row in rows(tsv, n):
        context = TEXT.format(text=row["text"])
        scores = []
        for choice in CHOICES:
            whole, head = gen.raw_tokens(context + " " + choice), gen.raw_tokens(context)
            scored = gen.prompt_scores(whole)
            scores.append(sum(s.logprob for s in scored[len(head) - 1:]))
        right += CHOICES[scores.index(max(scores))] == row["label"]
        every.append(scores)
    return right / n, every


def agreement(direct_scores: list[list[float]], samples: str) -> dict[str, float]:
    """How far the harness's per-choice log-likelihoods (its ``--log_samples`` file) are from the direct ones."""
    logged = [json.loads(line) for line in Path(samples).read_text().splitlines()]
    logged.sort(key=lambda s: s["doc_id"])
    gaps = [abs(float(r[0][0]) - d) for s, ds in zip(logged, direct_scores, strict=True)
            for r, d in zip(s["resps"], ds, strict=True)]
    return {"choices_compared": len(gaps), "largest_difference": max(gaps)}


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        n = int(sys.argv[3])
        accuracy, scores = direct(sys.argv[2], n)
        report: dict[str, object] = {"n": n, "direct_accuracy": accuracy}
        if len(sys.argv) > 5:
            report["harness_agreement"] = agreement(scores, sys.argv[5])
        report["environment"] = environment()
        Path(sys.argv[4]).write_text(json.dumps(report, indent=2) + "\n")
        print(report["direct_accuracy"])
