"""``latentstack bench rag``: closed-book vs retrieval-augmented vs gold-passage answers on SQuAD.

Every method answers the same seeded sample of questions with the same generator:
``closed-book`` (the question alone), ``rag`` (top-k passages from a Collection over every
paragraph, dense and BM25 fused, as ``ask`` retrieves by default), ``rag-dense`` (dense
alone) and ``oracle``
(the gold paragraph as the only passage). With ``--adapter DIR`` every method runs twice
in the same process, on the base model and as ``METHOD+adapter`` with the LoRA adapter
switched on, so the post-training gain is measured on the same questions and retrieval
(``--adapter-only`` skips the base rows). ``--generator NAME`` runs any Generator plugin
(``onnx`` runs the ONNX Runtime GenAI export, the adapter merged in), so runtimes are
compared on the same questions. Answers are scored with SQuAD's exact match
and token F1 after answer post-processing (``short``), and without it (``*_raw``).
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

import click

from latentstack.bench.options import bench_options, split_methods, suite
from latentstack.bench.report import BenchReport, MethodResult
from latentstack.bench.scratch import scratch_dir
from latentstack.data.squad import Question, Squad, load_squad
from latentstack.progress import log, progress
from latentstack.rag.metrics import exact_match, token_f1

METHODS = ["closed-book", "rag", "rag-dense", "oracle"]
DEFAULT = "closed-book,rag,rag-dense,oracle"


def build_collection(squad: Squad, folder: Path, model: str = "minilm") -> Any:
    """Every paragraph of the file in a Collection (bert mean pooling, exact FAISS, BM25, SQLite)."""
    from latentstack.search import ChunkConfig, Collection, Document

    col = Collection.create(folder, embedder="bert", embedder_options={"model": model}, index="Flat",
                            chunking=ChunkConfig(mode="whole"))
    col.add_documents(Document(p.id, p.text, p.title) for p in squad.paragraphs)
    return col


def oracle_prepared(pipeline: Any, squad_paragraphs: dict[str, Any], q: Question) -> Any:
    """A prompt holding exactly the gold paragraph as passage [1]."""
    from latentstack.rag.pipeline import Prepared
    from latentstack.rag.prompt import Passage, build_messages

    para = squad_paragraphs[q.paragraph]
    passages = [Passage(1, para.text, para.id, para.title, 0, len(para.text), 1.0)]
    return Prepared(q.text, build_messages(q.text, passages, pipeline.config.system), passages, True, 1.0, 0.0)


def closed_prepared(q: Question) -> Any:
    """A prompt with the question alone."""
    from latentstack.rag.pipeline import Prepared
    from latentstack.rag.prompt import build_messages

    return Prepared(q.text, build_messages(q.text, []), [], True, 0.0, 0.0)


def run_method(method: str, questions: list[Question], pipelines: dict[str, Any], paragraphs: dict[str, Any],
               answers: list[dict[str, Any]] | None = None, label: str = "",
               best_of: tuple[int, Any] | None = None) -> MethodResult:
    """Answer every question one way; score answers, citations and speed (each answer appended to ``answers``).

    ``label`` names the result (default: the method), e.g. ``rag+squad-lora``. ``best_of``
    (n, reward model) answers with the candidate the reward model prefers.
    """
    label = label or method
    pipeline = pipelines["rag-dense" if method == "rag-dense" else "rag"]
    gen = pipeline.generator
    rows: list[dict[str, float]] = []
    gen_s = ret_s = 0.0
    new_tokens = prompt_tokens = 0
    for q in progress(questions, desc=label, unit="q"):
        if method == "closed-book":
            prepared = closed_prepared(q)
        elif method == "oracle":
            prepared = oracle_prepared(pipeline, paragraphs, q)
        else:
            prepared = pipeline.prepare(q.text)
        if best_of is not None:
            answer = pipeline.best_of(prepared, *best_of)
            reply = answer.reply
            gen_s += answer.timing["generation_s"]
        else:
            stream = pipeline.answer_stream(prepared)
            reply = "".join(stream)
            answer = stream.finish()
            gen_s += stream.seconds
        ret_s += prepared.retrieval_s
        new_tokens += gen.count_tokens(reply) if reply else 0
        if prepared.messages:
            prompt_tokens += gen.count_prompt_tokens(prepared.messages)
        cited = {c.doc_id for c in answer.citations}
        rows.append({
            "exact_match": exact_match(answer.short, q.answers),
            "f1": token_f1(answer.short, q.answers),
            "exact_match_raw": exact_match(answer.answer, q.answers),
            "f1_raw": token_f1(answer.answer, q.answers),
            "hit": float(any(p.doc_id == q.paragraph for p in answer.passages)),
            "cites_gold": float(q.paragraph in cited),
            "cites_any": float(bool(answer.citations)),
            "model_cited": float(any(c.how == "model" for c in answer.citations)),
            "unknown": float(answer.short.lower().startswith("i don't know")),
            "answer_words": float(len(answer.short.split())),
        })
        if answers is not None:
            answers.append({"method": label, "question_id": q.id, "question": q.text, "gold": list(q.answers),
                            "reply": reply, "short": answer.short, **rows[-1]})
    n = len(questions)
    metrics = {k: statistics.fmean(r[k] for r in rows) for k in rows[0]}
    if method == "closed-book":
        for k in ("hit", "cites_gold", "cites_any", "model_cited"):
            metrics.pop(k)
    if method in ("rag", "rag-dense"):
        metrics[f"hit@{pipeline.config.k}"] = metrics.pop("hit")
    elif "hit" in metrics:
        metrics.pop("hit")
    timing = {"s_per_answer": (gen_s + ret_s) / n, "retrieval_s_per_q": ret_s / n,
              "tokens_per_s": new_tokens / gen_s if gen_s else 0.0, "prompt_tokens_mean": prompt_tokens / n,
              "new_tokens_mean": new_tokens / n}
    return MethodResult(label, {k: round(v, 4) for k, v in metrics.items()},
                        {k: round(v, 4) for k, v in timing.items()})


def rag_chart(report: BenchReport, path: Path) -> None:
    """Bars of exact match, F1 and gold citations per method."""
    from latentstack.bench.writers import bar_chart

    bar_chart(report, path, ["exact_match", "f1", "cites_gold"])


@click.command("rag")
@bench_options(DEFAULT)
@click.option("--generator", "gen_name", default="llm", show_default=True, help="Generator plugin name.")
@click.option("--model", default="smollm2-135m-instruct", show_default=True, help="Generator model.")
@click.option("--adapter", "adapters", multiple=True,
              help="A LoRA adapter folder (repeatable): each method runs on the base model and again as "
                   "METHOD+NAME with each adapter switched on.")
@click.option("--adapter-only", is_flag=True, help="With --adapter, skip the base-model rows.")
@click.option("--best-of", "best_of", default=1, show_default=True, type=click.IntRange(min=1),
              help="Also answer with the first adapter as METHOD+NAME+best-of-N: the greedy reply and N-1 samples, "
                   "the one --reward prefers.")
@click.option("--reward", "reward_dir", default=None, type=click.Path(exists=True, file_okay=False),
              help="The reward model (latentstack adapt reward) that picks among the --best-of candidates.")
@click.option("--retention", default=0, show_default=True, type=click.IntRange(min=0),
              help="Also report each model's LM loss on this many paragraphs of the other half's articles.")
@click.option("--dtype", type=click.Choice(["float32", "bfloat16"]), default=None,
              help="Weights' type, for generators that take one (default: the generator's own).")
@click.option("-g", "--gen-option", "gen_extra", multiple=True, metavar="KEY=VALUE",
              help="Any other option of the generator's config (repeatable), e.g. -g precision=int4.")
@click.option("--retriever-model", default="minilm", show_default=True, help="Encoder of the dense index.")
@click.option("-k", "k", default=3, show_default=True, type=click.IntRange(min=1),
              help="Passages retrieved for the rag methods.")
@click.option("--half", type=click.Choice(["all", "tune", "heldout"]), default="all", show_default=True,
              help="Questions of all articles, or of one half (even / odd articles).")
@click.option("--answers", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write every answer (question, gold, reply, scores) to this JSONL file.")
@click.option("--skip", default=0, show_default=True, type=click.IntRange(min=0),
              help="Leave out the first N questions of the seeded draw of N + --limit: fresh questions for an "
                   "adapter chosen on an earlier run's --limit N.")
@suite
def rag(data: str, methods: str, limit: int | None, seed: int, gen_name: str, model: str, adapters: tuple[str, ...],
        adapter_only: bool, best_of: int, reward_dir: str | None, retention: int, dtype: str | None,
        gen_extra: tuple[str, ...], retriever_model: str, k: int, half: str, answers: Path | None,
        skip: int) -> BenchReport:
    """Exact match and F1 of closed-book, RAG and gold-passage answers on a SQuAD file."""
    from latentstack import get_generator
    from latentstack.cli.options import given, parse_options, refuse_given
    from latentstack.rag import RagConfig, RagPipeline

    _check_arguments(data, adapters, adapter_only, best_of, reward_dir, answers)
    chosen = split_methods(methods, METHODS)
    if not {"rag", "rag-dense"} & set(chosen):
        refuse_given(("retriever_model", "k"), "the rag methods only, and --methods runs none: add one or leave {} out")
    squad = load_squad(data)
    questions = draw_questions(squad, limit, seed, half, skip)
    gen_options = given(model=model, dtype=dtype) | parse_options(gen_extra, "-g/--gen-option")
    gen = get_generator(gen_name, **gen_options)
    collection = None
    if {"rag", "rag-dense"} & set(chosen):
        log(f"indexing {len(squad.paragraphs)} paragraphs")
        collection = build_collection(squad, scratch_dir("rag") / "index",
                                      retriever_model)
    config = RagConfig(k=k, max_new_tokens=48)
    pipelines = {"rag": RagPipeline(collection, gen, config),  # hybrid, as the default
                 "rag-dense": RagPipeline(collection, gen, RagConfig(k=k, hybrid=False, max_new_tokens=48))}
    paragraphs = {p.id: p for p in squad.paragraphs}
    names = adapter_names(adapters)
    report = BenchReport("rag", Path(data).name, len(questions), chart=rag_chart,
                         params={"generator": gen_name, **gen.config.to_dict(), "adapters": names or "none",
                                 "k": k, "half": half, "seed": seed, "skip": skip, "retriever": f"{retriever_model} mean, exact",
                                 "max_new_tokens": 48, "best_of": best_of, "reward": reward_dir or "none"})
    rows: list[dict[str, Any]] = []
    uses = ([] if adapter_only else [""]) + list(adapters)  # "": the base model
    reward = None
    if reward_dir:
        from latentstack.rewards import RewardModel

        reward = RewardModel.load(reward_dir)
    for use in uses:
        gen.use_adapter(use)
        suffix = f"+{names[use]}" if use else ""
        report.results += [run_method(m, questions, pipelines, paragraphs, rows, m + suffix) for m in chosen]
        if reward is not None and use == adapters[0]:
            report.results += [run_method(m, questions, pipelines, paragraphs, rows, f"{m}{suffix}+best-of-{best_of}",
                                          (best_of, reward)) for m in chosen if m != "closed-book"]
        if retention:
            report.results.append(retention_row(gen, squad, half, retention, seed, "retention" + suffix))
    add_paired_gains(report, rows, [f"+{names[a]}" for a in adapters])
    if answers is not None:
        from latentstack.atomic import atomic_file

        with atomic_file(answers) as tmp:
            tmp.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return report


def draw_questions(squad: Squad, limit: int | None, seed: int, half: str, skip: int) -> list[Question]:
    """The seeded draw of ``skip + limit`` questions (limit 200 by default) without its first ``skip``, which must be
    the draw of ``skip`` (what an earlier run with ``--limit skip`` answered), or the rest would not be fresh."""
    total = skip + (200 if limit is None else limit)
    drawn = squad.sample(total, seed, half)
    if not drawn[skip:]:
        raise click.UsageError(f"--skip {skip} leaves no question of the {half} half; lower it")
    if skip and [q.id for q in squad.sample(skip, seed, half)] != [q.id for q in drawn[:skip]]:
        raise click.UsageError(f"the seeded draw of {total} of the {half} half's {len(squad.sample(None, seed, half))} "
                               f"questions does not begin with the draw of {skip}, so --skip {skip} would not leave "
                               "out an earlier --limit run's questions; ask for fewer (--skip plus --limit)")
    return drawn[skip:]


def adapter_names(adapters: tuple[str, ...]) -> dict[str, str]:
    """Each adapter's row label: its folder's name (a repeated name gets its position)."""
    names = [Path(a).name or f"adapter{i}" for i, a in enumerate(adapters)]
    return {a: n if names.count(n) == 1 else f"{n}{i}" for i, (a, n) in enumerate(zip(adapters, names, strict=True))}


def retention_row(gen: Any, squad: Squad, half: str, n: int, seed: int, label: str) -> MethodResult:
    """The model's LM loss on ``n`` paragraphs of the articles the questions do not come from."""
    import math
    import random

    other = {"heldout": 0, "tune": 1}.get(half)  # article parity of the other half ("all": every article)
    pool = [p.text for p in squad.paragraphs if other is None or p.article % 2 == other]
    texts = random.Random(seed).sample(pool, min(n, len(pool)))
    loss = gen.text_loss(texts)
    return MethodResult(label, {"lm_loss": round(loss, 4), "perplexity": round(math.exp(loss), 3)},
                        {"paragraphs": float(len(texts))})


def add_paired_gains(report: BenchReport, rows: list[dict[str, Any]], suffixes: list[str]) -> None:
    """On each row after the first adapter's, the F1 gain over the first adapter's same method, with a paired
    bootstrap 95% interval over the questions."""
    from latentstack.bench.stats import paired_gain_by_id

    if not suffixes:
        return
    f1: dict[str, dict[str, float]] = {}
    for r in rows:
        f1.setdefault(r["method"], {})[r["question_id"]] = r["f1"]
    for result in report.results:
        base = result.method.split("+")[0] + suffixes[0]
        if "+" not in result.method or result.method == base or base not in f1 or result.method not in f1:
            continue
        mean, lo, hi = paired_gain_by_id(f1[result.method], f1[base])
        result.metrics |= {"f1_gain": round(mean, 4), "f1_gain_lo": round(lo, 4), "f1_gain_hi": round(hi, 4)}


def _check_arguments(data: str, adapters: tuple[str, ...], adapter_only: bool, best_of: int, reward_dir: str | None,
                     answers: Path | None) -> None:
    """The options' rules, and the --answers file (written at the end of the run), checked before any work."""
    if adapter_only and not adapters:
        raise click.UsageError("--adapter-only skips the base-model rows, so it needs --adapter DIR (a LoRA adapter "
                               "folder from `latentstack adapt sft`); without it there would be nothing to run")
    if (best_of > 1) != (reward_dir is not None) or (reward_dir and not adapters):
        raise click.UsageError("--best-of N (N > 1) needs --reward DIR and an --adapter, whose rows it adds to")
    if answers is not None:
        from latentstack.outfile import check_out_file, jsonl_with

        check_out_file(answers, "bench rag's answers (JSONL with method and question_id)",
                       jsonl_with({"method", "question_id"}), inputs=[data])
