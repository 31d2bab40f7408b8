"""The RAG pipeline: question -> search -> numbered passages -> generator -> cited answer."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

import attrs

from latentstack.errors import InputError
from latentstack.interfaces import GenerationConfig, Generator
from latentstack.interfaces.base import Config
from latentstack.rag.answer import UNKNOWN, Citation, cite, clean_answer, says_unknown, short_answer
from latentstack.rag.prompt import SYSTEM, Passage, build_messages, select_passages
from latentstack.textfile import SURROGATE_HELP, lone_surrogate


@attrs.frozen(kw_only=True)
class RagConfig(Config):
    """How many passages, how they are found, and when to decline.

    ``hybrid`` (the default) retrieves with the dense and lexical rankings fused.
    ``min_score`` is compared with the best dense (cosine) score of the question
    against the index, fused or not: a cosine means the same on every index, while a
    fused score is relative to the other hits of the same query. Below it nothing
    relevant was found and the answer is "I don't know" without calling the model.
    """

    k: int = attrs.field(default=4, validator=[attrs.validators.instance_of(int), attrs.validators.gt(0),
                                               attrs.validators.le(50)])
    hybrid: bool = True
    min_score: float = 0.2
    passage_tokens: int = attrs.field(default=1024, validator=attrs.validators.gt(16))
    max_new_tokens: int = attrs.field(default=64, validator=attrs.validators.gt(0))
    system: str = SYSTEM


@attrs.frozen
class Prepared:
    """What goes to the model for one question: messages and the passages they number."""

    question: str
    messages: list[dict[str, str]]
    passages: list[Passage]
    relevant: bool
    top_score: float
    retrieval_s: float
    no_match: str | None = None  # why the filter matched no passage (no document meets a condition of it)


@attrs.frozen
class RagAnswer:
    """An answer, its short form, the passages it cites, and what produced it."""

    question: str
    answer: str
    short: str
    reply: str
    citations: list[Citation]
    passages: list[Passage]
    relevant: bool
    top_score: float
    timing: dict[str, float]
    no_match: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``ask --json`` (``no_match`` only when the filter is why no passage was found)."""
        return {"question": self.question, "answer": self.answer, "short": self.short, "reply": self.reply,
                "relevant": self.relevant, "top_score": self.top_score,
                "citations": [c.to_dict() for c in self.citations],
                "passages": [attrs.asdict(p) for p in self.passages], "timing": self.timing,
                **({"no_match": self.no_match} if self.no_match else {})}


class RagPipeline:
    """Answers questions from a Collection with a Generator, citing passages as [n]."""

    def __init__(self, collection: Any, generator: Generator, config: RagConfig | None = None) -> None:
        self.collection, self.generator = collection, generator
        self.config = config or RagConfig()

    def options(self) -> GenerationConfig:
        """Greedy decoding, one paragraph at most."""
        return GenerationConfig(max_new_tokens=self.config.max_new_tokens, stop=("\n\n",))

    def _check_question(self, question: str) -> str:
        if not isinstance(question, str):
            msg = f"the question is a str, got {type(question).__name__}: ask one question at a time"
            raise InputError(msg)
        if not question.strip():
            msg = "the question is empty: ask something"
            raise InputError(msg)
        found = lone_surrogate(question)
        if found:
            msg = f"the question holds {found}, {SURROGATE_HELP}"
            raise InputError(msg)
        window = self.generator.context_window
        n = self.generator.count_tokens(question) if window else 0
        if window and n + self.config.max_new_tokens + 64 > window:
            msg = (f"the question is {n} tokens, too long for the model's context window of "
                   f"{window} tokens with room for passages and an answer: shorten it")
            raise InputError(msg)
        return question.strip()

    def prepare(self, question: str, where: Mapping[str, Any] | None = None) -> Prepared:
        """Search (among the passages whose metadata matches ``where``, when given), then build the prompt (or
        decide that nothing relevant was found)."""
        question = self._check_question(question)
        start = time.perf_counter()
        col, c = self.collection, self.config
        vectors = col.embed_queries([question])
        dense = col.search_many([question], c.k, hybrid=False, where=where, vectors=vectors)[0]
        if c.hybrid:
            hits = col.search_many([question], c.k, hybrid=True, where=where, vectors=vectors)[0]
        else:
            hits = [h for h in dense if h.score >= c.min_score]
        top = max((h.score for h in dense), default=0.0)
        relevant = bool(hits) and top >= c.min_score
        passages = select_passages(hits, c.passage_tokens, self.generator.count_tokens) if relevant else []
        messages = build_messages(question, passages, c.system) if relevant else []
        no_match = col.no_match_reason(where) if where and not dense else None
        return Prepared(question, messages, passages, relevant, float(top), time.perf_counter() - start, no_match)

    def stream(self, prepared: Prepared) -> Iterator[str]:
        """The reply as it is written ("I don't know." at once when nothing relevant was found)."""
        if not prepared.relevant:
            yield UNKNOWN
            return
        yield from self.generator.stream(prepared.messages, self.options())

    def finish(self, prepared: Prepared, reply: str, generation_s: float = 0.0) -> RagAnswer:
        """Parse a finished reply into an answer with citations."""
        answer = clean_answer(reply) if prepared.relevant else UNKNOWN
        short = UNKNOWN if says_unknown(answer) else short_answer(answer, prepared.question)
        citations = cite(reply, short, prepared.passages) if prepared.relevant else []
        timing = {"retrieval_s": prepared.retrieval_s, "generation_s": generation_s}
        return RagAnswer(prepared.question, answer, short, reply, citations, prepared.passages,
                         prepared.relevant, prepared.top_score, timing, prepared.no_match)

    def best_of(self, prepared: Prepared, n: int, reward: Any, temperature: float = 0.7) -> RagAnswer:
        """The reply a reward model prefers among the greedy reply and ``n - 1`` samples (seeds 0, 1, ...), decoded
        together where the generator can (``Generator.generate_many``).

        ``reward`` has ``score(prompts, replies) -> array`` (``latentstack.rewards.RewardModel``).
        Keeping the greedy reply among the candidates means the reward model can only
        move away from it when it prefers another.
        """
        if n < 1:
            msg = f"best-of needs at least one candidate, got {n}"
            raise InputError(msg)
        if not prepared.relevant:
            return self.finish(prepared, UNKNOWN)
        start = time.perf_counter()
        greedy = self.options()
        options = [greedy] + [attrs.evolve(greedy, temperature=temperature, top_p=0.95, seed=s) for s in range(n - 1)]
        replies = self.generator.generate_many([prepared.messages] * n, options)
        scores = reward.score([prepared.messages] * n, replies)
        best = max(range(n), key=lambda i: float(scores[i]))
        return self.finish(prepared, replies[best], time.perf_counter() - start)

    def answer_stream(self, prepared: Prepared) -> AnswerStream:
        """The reply to ``prepared`` as it is written; its ``finish()`` then gives the cited answer."""
        return AnswerStream(self, prepared)

    def ask(self, question: str, where: Mapping[str, Any] | None = None) -> RagAnswer:
        """Search (``where``: a metadata filter, as ``Collection.search`` takes), prompt, generate and cite."""
        stream = self.answer_stream(self.prepare(question, where))
        for _ in stream:
            pass
        return stream.finish()


class AnswerStream:
    """Pieces of one reply as the generator writes them, kept so that ``finish()`` can parse the whole.

    Iterate it once (the pieces are what ``RagPipeline.stream`` yields); ``seconds`` is the time
    from the first piece asked for to the last one given.
    """

    def __init__(self, pipeline: RagPipeline, prepared: Prepared) -> None:
        self.pipeline, self.prepared = pipeline, prepared
        self.parts: list[str] = []
        self.seconds = 0.0

    def __iter__(self) -> Iterator[str]:
        start = time.perf_counter()
        for piece in self.pipeline.stream(self.prepared):
            self.parts.append(piece)
            yield piece
        self.seconds = time.perf_counter() - start

    def finish(self) -> RagAnswer:
        """The finished reply parsed into an answer with citations."""
        return self.pipeline.finish(self.prepared, "".join(self.parts), self.seconds)
