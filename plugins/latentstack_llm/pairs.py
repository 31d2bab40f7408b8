"""Preference pairs from the policy's own samples: K answers per prompt, judged, best against worst.

A judge scores a prompt's answers (higher is better). The default for SQuAD-format data
stands in for human raters: token F1 of the answer (after the RAG pipeline's own
post-processing) against the gold answers, plus ``cite_weight`` when the reply cites the
gold passage. Any callable ``judge(item, replies) -> scores`` can replace it; a reward
model is one (``RewardJudge``). A prompt yields a pair when its best and worst answers
differ in score, chosen the best-scored reply and rejected the worst. With ``greedy`` the
policy's greedy answer is a candidate beside the samples, listed first so that it wins
ties: a wrong greedy answer, the one greedy decoding would give at use, becomes the
rejected reply.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from latentstack.data.squad_sft import RagItem
from latentstack.errors import InputError
from latentstack.interfaces.base import Config
from latentstack.progress import progress

if TYPE_CHECKING:
    from latentstack.interfaces import GenerationConfig

Judge = Callable[[RagItem, Sequence[str]], list[float]]


@attrs.frozen(kw_only=True)
class SampleConfig(Config):
    """How the policy's answers are sampled (``GenerationConfig``'s fields of the same names; ``greedy``: the
    greedy answer among them)."""

    samples: int = attrs.field(default=4, validator=attrs.validators.ge(2))
    temperature: float = attrs.field(default=1.0, validator=attrs.validators.gt(0))
    top_p: float = attrs.field(default=0.95, validator=[attrs.validators.gt(0), attrs.validators.le(1)])
    top_k: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    min_p: float = attrs.field(default=0.0, validator=[attrs.validators.ge(0), attrs.validators.le(1)])
    repetition_penalty: float = attrs.field(default=1.0, validator=attrs.validators.gt(0))
    max_new_tokens: int = attrs.field(default=32, validator=attrs.validators.ge(1))
    seed: int = 0
    greedy: bool = False

    def decoding(self, n: int) -> GenerationConfig:
        """How the answers to the ``n``-th prompt are decoded (seeded with ``seed + n``)."""
        from latentstack.interfaces import GenerationConfig

        return GenerationConfig(max_new_tokens=self.max_new_tokens, temperature=self.temperature, top_p=self.top_p,
                                top_k=self.top_k, min_p=self.min_p, repetition_penalty=self.repetition_penalty,
                                seed=self.seed + n)


def squad_judge(cite_weight: float = 0.5) -> Judge:
    """Answer F1 against the gold answers, plus ``cite_weight`` for citing the gold passage."""
    from latentstack.rag.answer import clean_answer, parse_citations, short_answer
    from latentstack.rag.metrics import token_f1

    def judge(item: RagItem, replies: Sequence[str]) -> list[float]:
        scores = []
        for reply in replies:
            short = short_answer(clean_answer(reply), item.question)
            cited = item.gold in parse_citations(reply, 99)
            scores.append(token_f1(short, item.answers) + (cite_weight if cited else 0.0))
        return scores

    return judge


def items_from_sft(rows: Sequence[list[dict[str, str]]]) -> list[RagItem]:
    """SFT examples (RAG prompt -> 'answer [n]') as judged items: the reply is the gold answer and passage."""
    from latentstack.rag.answer import clean_answer, parse_citations
    from latentstack.rag.prompt import parse_messages

    items = []
    for messages in rows:
        reply = messages[-1]["content"]
        cited = parse_citations(reply, 99)
        question, _ = parse_messages(messages[:-1])
        items.append(RagItem(question, messages[:-1], (clean_answer(reply),), cited[0] if cited else 0))
    return items


def load_items(data: str | Path, *, limit: int, seed: int) -> list[RagItem]:
    """Prompts to sample from: a SQuAD JSON file (its tune half, ``ask``-like prompts) or SFT JSONL."""
    from latentstack.data.sft import load_sft
    from latentstack.data.squad import load_squad
    from latentstack.data.squad_sft import squad_rag_items

    path = Path(data)
    if path.suffix == ".json":
        return squad_rag_items(load_squad(path), half="tune", limit=limit, seed=seed)
    return items_from_sft(load_sft(path)[:limit])


def build_pairs(generator: Any, items: Sequence[RagItem], judge: Judge, config: SampleConfig) -> dict[str, Any]:
    """Sample, judge and pair; returns the pairs (as JSON rows) and what it took."""
    import torch

    from latentstack_llm.decoding import eos_ids
    from latentstack_llm.sampling import sample_answers

    model, tok = generator.model, generator.tokenizer
    stops = eos_ids(model, tok)
    rows, spread, start = [], [], time.perf_counter()
    for n, item in enumerate(progress(items, desc="sampling answers", unit="prompt")):
        ids = generator.prompt_ids(item.messages).to(model.device)
        with torch.inference_mode(), generator.adapters.base_context():
            tokens = sample_answers(model, ids, config.samples + int(config.greedy), config.decoding(n),
                                    stop_ids=stops, greedy_rows=int(config.greedy))
        replies = [tok.decode(t, skip_special_tokens=True).strip() for t in tokens]
        scores = judge(item, replies)
        best, worst = max(range(len(replies)), key=scores.__getitem__), min(range(len(replies)), key=scores.__getitem__)
        spread.append(scores[best] - scores[worst])
        if scores[best] > scores[worst] and replies[best] != replies[worst] and replies[worst]:
            rows.append({"prompt": item.messages, "chosen": [{"role": "assistant", "content": replies[best]}],
                         "rejected": [{"role": "assistant", "content": replies[worst]}],
                         "score_chosen": round(scores[best], 4), "score_rejected": round(scores[worst], 4)})
    if not rows:
        msg = ("no prompt gave answers that the judge scored differently: sample more answers (--samples) "
               "or at a higher --temperature")
        raise InputError(msg)
    return {"rows": rows, "prompts": len(items), "seconds": round(time.perf_counter() - start, 1),
            "mean_spread": round(sum(spread) / len(spread), 4)}


def reward_judge(path: str | Path) -> Judge:
    """A saved reward model (``adapt reward``) as the judge."""
    from latentstack.rewards import RewardModel

    model = RewardModel.load(path)

    def judge(item: RagItem, replies: Sequence[str]) -> list[float]:
        return [float(s) for s in model.score([item.messages] * len(replies), list(replies))]

    return judge
