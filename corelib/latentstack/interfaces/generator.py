"""Generator: a prompt or chat messages -> text, or a stream of text pieces."""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

import attrs

from latentstack.errors import ConfigError, InputError
from latentstack.interfaces.base import Component, Config, build_config
from latentstack.logit_shifts import logit_bias, penalty_field
from latentstack.textfile import SURROGATE_HELP, lone_surrogate

Messages = Sequence[dict[str, str]]


@attrs.frozen(kw_only=True)
class GeneratorConfig(Config):
    """Options every generator understands."""

    model: str = ""


def _stops(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """One stop string or several (None: none); a str is one (``tuple("END")`` would stop at any E, N or D)."""
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _schema_text(value: str | Mapping[str, Any] | None) -> str:
    """A JSON schema as its JSON text ('' for none): a dict is written out in its own order (an answer's properties
    are written in the schema's order, as OpenAI's are: a reason asked for before a label comes first), a str must
    hold a JSON object."""
    if value is None or value == "":
        return ""
    if isinstance(value, Mapping):
        return json.dumps(value)
    if not isinstance(value, str):
        msg = f"json_schema is a JSON schema (a dict, or its JSON text), got {type(value).__name__}"
        raise TypeError(msg)
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        msg = f"json_schema is not JSON ({exc}); give a JSON schema, e.g. {{\"type\": \"object\"}}"
        raise ValueError(msg) from None
    if not isinstance(parsed, dict):
        msg = f"json_schema must be a JSON object (a schema), got {type(parsed).__name__}"
        raise ValueError(msg)
    return value


@attrs.frozen(kw_only=True)
class GenerationConfig(Config):
    """How one answer is decoded. temperature 0 means greedy; sampled, the token is drawn after temperature
    from the ``top_k`` likeliest (0: all), within the nucleus ``top_p``, of those at least ``min_p`` times as
    likely as the likeliest (transformers' order; llama.cpp's and vLLM's options).

    ``repetition_penalty`` above 1 makes every token already in the prompt or the answer
    less likely (transformers' rule: positive logits divided by it, negative ones
    multiplied); 1 leaves the logits alone. Small models decoding greedily tend to loop,
    and 1.1 to 1.3 breaks the loop; it also discourages copying from the prompt, so
    retrieval answers leave it at 1.

    ``presence_penalty`` and ``frequency_penalty`` (-2 to 2) lower the logits of tokens the
    answer has already written, once and per time written; ``logit_bias`` (token id -> -100 to
    100) shifts the logits of the tokens it names: OpenAI's three (``latentstack.logit_shifts``).

    ``json_schema`` (a dict or its JSON text) holds the answer to that JSON schema: at each
    step only the tokens that keep the text a prefix of a matching JSON value can be picked,
    so a finished answer parses and matches (``{"type": "object"}``: any JSON object).
    Generators that cannot do that refuse it (``refuse_schema``).
    """

    max_new_tokens: int = attrs.field(default=256, validator=attrs.validators.gt(0))
    temperature: float = attrs.field(default=0.0, validator=attrs.validators.ge(0.0))
    top_p: float = attrs.field(default=1.0, validator=[attrs.validators.gt(0.0), attrs.validators.le(1.0)])
    top_k: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    min_p: float = attrs.field(default=0.0, validator=[attrs.validators.ge(0.0), attrs.validators.le(1.0)])
    seed: int | None = None
    stop: tuple[str, ...] = attrs.field(default=(), converter=_stops)
    repetition_penalty: float = attrs.field(default=1.0, validator=attrs.validators.gt(0.0))
    json_schema: str = attrs.field(default="", converter=_schema_text)
    presence_penalty: float = penalty_field()
    frequency_penalty: float = penalty_field()
    logit_bias: tuple[tuple[int, float], ...] = attrs.field(default=(), converter=logit_bias)

    @stop.validator
    def _written(self, _: attrs.Attribute[tuple[str, ...]], value: tuple[str, ...]) -> None:
        if not all(isinstance(s, str) and s for s in value):
            msg = f"every stop is a non-empty string (an empty one would match before the first token), got {value!r:.80}"
            raise ValueError(msg)


@attrs.frozen
class TokenScore:
    """One token of an answer: its text, its UTF-8 bytes (None where the tokenizer does not say them) and its
    log-probability under the model's own distribution (before temperature, top_p and the repetition penalty, as
    vLLM reports them); ``top`` holds the likeliest tokens at its place, best first."""

    token: str
    utf8: tuple[int, ...] | None
    logprob: float
    top: tuple[TokenScore, ...] = ()


@attrs.frozen
class Finish:
    """How an answer ended: ``reason`` is 'length' when it used its whole token budget, else 'stop' (an end token,
    a stop string, a finished JSON value); ``tokens`` is how many it used (a stop string's included); ``cached`` how
    many of the prompt's tokens were not read again, their keys and values kept from an earlier answer; ``prompt``
    how many tokens the prompt was, chat markup included, where the generator read them itself (None: not counted,
    ``count_prompt_tokens`` says)."""

    reason: str
    tokens: int
    cached: int = 0
    prompt: int | None = None


@attrs.frozen
class ScoredPiece:
    """A piece of a streamed answer with the tokens whose text it completes (none while a character is still
    incomplete; the tokens of a stop string are never reported); ``stream_answer``'s last piece also says how the
    answer ended (``finish``)."""

    text: str
    tokens: tuple[TokenScore, ...]
    finish: Finish | None = None


MAX_TOP_LOGPROBS = 20  # OpenAI's limit


def checked_top(top_logprobs: object) -> int:
    """``top_logprobs`` as a whole number from 0 to MAX_TOP_LOGPROBS, or an InputError."""
    if isinstance(top_logprobs, bool) or not isinstance(top_logprobs, int) or not 0 <= top_logprobs <= MAX_TOP_LOGPROBS:
        msg = f"top_logprobs is a whole number from 0 to {MAX_TOP_LOGPROBS}, got {top_logprobs!r:.40}"
        raise InputError(msg)
    return top_logprobs


def checked_ids(ids: Sequence[int], vocab: int, window: int) -> list[int]:
    """A raw prompt's token ids as a list, each in the vocabulary (``vocab`` tokens), 1 to ``window`` of them, or an
    InputError."""
    listed = [int(i) for i in ids]
    bad = next((i for i in listed if not 0 <= i < vocab), None)
    if bad is not None:
        msg = f"token id {bad} is not in the model's vocabulary (0 to {vocab - 1}): tokenize with its tokenizer"
        raise InputError(msg)
    if not 1 <= len(listed) <= window:
        msg = f"a raw prompt must hold 1 to {window} token ids (the context window), not {len(listed)}"
        raise InputError(msg)
    return listed


def refuse_schema(name: str, options: GenerationConfig) -> None:
    """A ConfigError when ``options`` ask for a JSON schema: for generators that cannot hold an answer to one, so
    the request is refused rather than answered in free text."""
    if options.json_schema:
        msg = f"generator {name!r} cannot hold its answer to a JSON schema; use one that can (llm)"
        raise ConfigError(msg)


def as_messages(prompt: str | Messages) -> list[dict[str, str]]:
    """A plain prompt becomes one user message; messages pass through, each checked to be a dict with a str
    ``role`` and ``content`` (an InputError naming the first that is not)."""
    messages: Any = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
    if not isinstance(messages, Sequence):
        msg = f"the prompt is a str or a list of {{'role', 'content'}} messages, got {type(messages).__name__}"
        raise InputError(msg)
    for i, m in enumerate(messages):
        if not isinstance(m, Mapping) or not isinstance(m.get("role"), str) or not isinstance(m.get("content"), str):
            msg = f"message #{i} must be a dict with a str 'role' and 'content', got {m!r:.80}"
            raise InputError(msg)
        found = lone_surrogate(m["content"])
        if found:
            msg = f"message #{i} holds {found}, {SURROGATE_HELP}"
            raise InputError(msg)
    return [dict(m) for m in messages]


def as_options(options: GenerationConfig | Mapping[str, Any] | None) -> GenerationConfig:
    """``options`` as a GenerationConfig: None is the defaults, a dict its options (checked)."""
    if options is None:
        return GenerationConfig()
    if isinstance(options, Mapping):
        return build_config(GenerationConfig, dict(options), owner="generation options")
    if not isinstance(options, GenerationConfig):
        msg = f"options must be a GenerationConfig or a dict of its options, got {type(options).__name__}"
        raise InputError(msg)
    return options


#: How many answers asked for at once a generator that decodes several together is given unless told (``parallel``):
#: a server's users, ``ask --best-of``'s candidates. Users asking at the same time get their first piece without
#: waiting for the others' whole answers, and the answers are read in shared passes (llama.cpp's server decodes four
#: slots together by default; benchmarks/results/server-parallel).
PARALLEL_ROWS = 4


def many_jobs(prompts: Sequence[str | Messages], options: GenerationConfig | Sequence[GenerationConfig] | None
              ) -> list[tuple[str | Messages, GenerationConfig]]:
    """Each prompt with its options (``generate_many``): one GenerationConfig for all, or one a prompt."""
    if options is None or isinstance(options, GenerationConfig):
        return [(prompt, options or GenerationConfig()) for prompt in prompts]
    listed = list(options)
    if len(listed) != len(prompts):
        msg = f"{len(prompts)} prompts and {len(listed)} GenerationConfigs: give one for all, or one a prompt"
        raise InputError(msg)
    return list(zip(prompts, listed, strict=True))


class Generator(Component):
    """Writes text. ``stream`` is the one abstract method; ``generate`` joins it."""

    role: ClassVar[str] = "generator"
    Config: ClassVar[type[GeneratorConfig]] = GeneratorConfig

    @abstractmethod
    def stream(self, prompt: str | Messages, options: GenerationConfig | None = None) -> Iterator[str]:
        """Yield the answer piece by piece as it is decoded."""

    @property
    def context_window(self) -> int | None:
        """How many tokens (prompt and answer) the model attends to; None when unknown (the default)."""
        return None

    @property
    def parallel_rows(self) -> int:
        """How many answers asked for on as many threads at once the generator decodes together (1, one at a time,
        by default: a caller must not ask from two threads at once)."""
        return 1

    def count_tokens(self, text: str) -> int:
        """Tokens in ``text`` without chat markup.

        The default estimates from whitespace words (two tokens a word, an upper bound for
        English subword tokenizers); generators with a tokenizer return the exact count.
        """
        return 2 * len(text.split())

    def count_prompt_tokens(self, prompt: str | Messages) -> int:
        """Tokens the model reads for ``prompt``, chat markup included where the generator knows it.

        The default counts the messages' contents with ``count_tokens``.
        """
        return sum(self.count_tokens(str(m.get("content", ""))) for m in as_messages(prompt))

    def use_adapter(self, path: str) -> None:
        """Make the adapter saved at ``path`` active ('' for the plain model), for generators that take adapters.

        The default takes none and raises ConfigError for any path but ''.
        """
        if path:
            msg = f"generator {self.name!r} takes no adapters; use one that does (llm)"
            raise ConfigError(msg)

    def stream_scored(self, prompt: str | Messages, options: GenerationConfig | None = None,
                      top_logprobs: int = 0) -> Iterator[ScoredPiece]:
        """``stream`` with each token's log-probability and the ``top_logprobs`` (0 to 20) likeliest tokens at its
        place. The default raises ConfigError: generators that can score their tokens override it."""
        msg = f"generator {self.name!r} gives no log-probabilities; use one that does (llm)"
        raise ConfigError(msg)

    def stream_answer(self, prompt: str | Messages, options: GenerationConfig | None = None,
                      top_logprobs: int | None = None) -> Iterator[ScoredPiece]:
        """The answer's pieces (scored as ``stream_scored`` scores them unless ``top_logprobs`` is None), the last
        one (its text may be empty) with how the answer ended (``Finish``), which servers report.

        The default counts the answer's text again (``count_tokens``, at most the budget): a
        decoded answer can take other tokens than its text does written afresh, so generators
        that know their count override it."""
        options = as_options(options)
        if top_logprobs is None:
            pieces: Iterator[ScoredPiece] = (ScoredPiece(text, ()) for text in self.stream(prompt, options))
        else:
            pieces = self.stream_scored(prompt, options, top_logprobs)
        text = []
        for piece in pieces:
            text.append(piece.text)
            yield piece
        used = min(self.count_tokens("".join(text)), options.max_new_tokens)  # no answer outgrows its budget
        yield ScoredPiece("", (), Finish("length" if used >= options.max_new_tokens else "stop", used))

    def text_loss(self, texts: Sequence[str]) -> float:
        """Mean negative log-likelihood per token of plain ``texts`` (no chat markup), in nats.

        How well the model still predicts ordinary text: post-training benchmarks report it
        to show what each step cost the pre-trained model. The default raises ConfigError.
        """
        msg = f"generator {self.name!r} cannot score text; use one that can (llm)"
        raise ConfigError(msg)

    def generate(self, prompt: str | Messages, options: GenerationConfig | Mapping[str, Any] | None = None) -> str:
        """The whole answer at once; ``options`` may also be a dict of GenerationConfig's fields."""
        return "".join(self.stream(prompt, as_options(options)))

    def stream_answers(self, prompt: str | Messages, options: Sequence[GenerationConfig],
                       top_logprobs: int | None = None) -> list[Iterator[ScoredPiece]]:
        """Several answers to one ``prompt`` (``n`` choices, best-of candidates), each ``stream_answer``'s pieces for
        one of ``options``. Read each on a thread of its own to have them decoded together where ``parallel_rows``
        allows (the llm generator reads the prompt once for all); read in turn on one thread, or one after another,
        each pass reads one of them."""
        return [self.stream_answer(prompt, each, top_logprobs) for each in options]

    def generate_many(self, prompts: Sequence[str | Messages],
                      options: GenerationConfig | Sequence[GenerationConfig] | None = None) -> list[str]:
        """Each prompt's whole answer, in order, as ``generate`` gives it (vLLM's ``LLM.generate`` over a list):
        ``options`` one for all or one a prompt. Up to ``parallel_rows`` are decoded together, each on a thread;
        answers to one prompt for all (candidates, samples) come from ``stream_answers``, which may read it once."""
        jobs = many_jobs(prompts, options)
        if self.parallel_rows == 1 or len(jobs) < 2:
            return [self.generate(prompt, each) for prompt, each in jobs]
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(self.parallel_rows) as pool:
            if any(prompt != jobs[0][0] for prompt, _ in jobs):
                return list(pool.map(lambda job: self.generate(*job), jobs))
            answers = self.stream_answers(jobs[0][0], [each for _, each in jobs])
            return list(pool.map(lambda pieces: "".join(piece.text for piece in pieces), answers))

    # Raw prompts: the model's own token ids, no chat template (OpenAI's legacy completions given token ids or
    # echo, as evaluation harnesses send them). The defaults refuse; a generator with a tokenizer overrides all five.

    def raw_tokens(self, text: str, special: bool = False) -> list[int]:
        """The model's token ids of ``text`` as it is (no chat markup); with ``special``, the special tokens its
        tokenizer adds to a text (a beginning token) added."""
        raise self._no_raw()

    def raw_text(self, ids: Sequence[int]) -> str:
        """The text of the token ids ``ids`` (special tokens written out)."""
        raise self._no_raw()

    def tokenizer_info(self) -> dict[str, str | None]:
        """The tokenizer's ``bos_token``, ``eos_token`` and ``pad_token``, and its ``chat_template`` (Jinja), each
        None where it has none."""
        raise self._no_raw()

    def prompt_scores(self, ids: Sequence[int], top_logprobs: int = 0) -> tuple[TokenScore, ...]:
        """Each token of ``ids`` after the first scored after those before it (``len(ids) - 1`` scores), with its
        ``top_logprobs`` likeliest alternatives, under the active adapter."""
        raise self._no_raw()

    def stream_raw(self, ids: Sequence[int], options: GenerationConfig | None = None,
                   top_logprobs: int | None = None) -> Iterator[ScoredPiece]:
        """The continuation of the token ids ``ids`` read as the model's own text, as ``stream_answer`` gives an
        answer: pieces (scored unless ``top_logprobs`` is None), the last with how it ended."""
        raise self._no_raw()

    def _no_raw(self) -> ConfigError:
        return ConfigError(f"generator {self.name!r} reads chat messages only, not raw token ids; use one that "
                           "reads them (llm, onnx)")


class ScoringGenerator(Generator):
    """A Generator whose decode loop can score its tokens and knows how its answer ended: ``stream``,
    ``stream_scored`` and ``stream_answer`` all read ``pieces``, the one abstract method."""

    @abstractmethod
    def pieces(self, prompt: str | Messages, options: GenerationConfig, top: int | None) -> Iterator[ScoredPiece]:
        """The answer's pieces; with ``top`` (not None) each with its tokens scored and ``top`` alternatives apiece,
        with None no token scored (a plain stream); the last one (its text may be empty) with its ``Finish``."""

    def stream(self, prompt: str | Messages, options: GenerationConfig | None = None) -> Iterator[str]:
        """Yield the answer as it is decoded (``pieces``' texts)."""
        for piece in self.pieces(prompt, as_options(options), None):
            if piece.text:
                yield piece.text

    def stream_scored(self, prompt: str | Messages, options: GenerationConfig | None = None,
                      top_logprobs: int = 0) -> Iterator[ScoredPiece]:
        """``stream`` with each token's log-probability and its ``top_logprobs`` likeliest alternatives (checked at
        the call)."""
        pieces = self.pieces(prompt, as_options(options), checked_top(top_logprobs))
        return (attrs.evolve(p, finish=None) for p in pieces if p.text or p.tokens)

    def stream_answer(self, prompt: str | Messages, options: GenerationConfig | None = None,
                      top_logprobs: int | None = None) -> Iterator[ScoredPiece]:
        """The answer's pieces, the last with how it ended, as the decode loop saw it."""
        top = None if top_logprobs is None else checked_top(top_logprobs)
        return self.pieces(prompt, as_options(options), top)
