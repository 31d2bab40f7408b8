"""A transformers causal LM as a Generator: chat template, greedy or sampled, streamed."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator, Sequence
from functools import cached_property
from typing import Any

import attrs

from latentstack.chat_template import for_template
from latentstack.errors import InputError
from latentstack.hf import LocalModel, check_chat_model
from latentstack.interfaces import GenerationConfig, GeneratorConfig
from latentstack.interfaces.generator import (
    Messages,
    ScoredPiece,
    ScoringGenerator,
    as_messages,
    checked_top,
)
from latentstack.json_schema import SchemaConstraint, schema_tokenizer
from latentstack.kept_prefix import budget_option, kept_after, read_into, slots_option
from latentstack.prompt_lookup import draft_option
from latentstack.scored import Scored, answer_pieces
from latentstack_llm.decoding import Forward, IncrementalText, decode_steps, eos_ids, log_probs
from latentstack_llm.loading import DTYPES, AdapterSwitch, load_causal_lm
from latentstack_llm.packed import make_packable, packable
from latentstack_llm.prefix_cache import PrefixCache
from latentstack_llm.raw import RawPrompts
from latentstack_llm.step_batcher import StepBatcher


def parallel_rows(_: object, attribute: attrs.Attribute[int], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        msg = f"parallel is how many answers are decoded together: a whole number, 1 or more, got {value!r:.40}"
        raise ValueError(msg)


@attrs.frozen(kw_only=True)
class LlmConfig(GeneratorConfig):
    """Which decoder, which adapter on it, and where it runs."""

    model: str = "smollm2-135m-instruct"
    adapter: str = ""
    dtype: str = attrs.field(default="float32", validator=attrs.validators.in_(DTYPES))
    device: str = attrs.field(default="cpu", validator=attrs.validators.in_(("cpu", "cuda", "auto")))
    prefix_cache: int = slots_option()
    prefix_cache_mb: int = budget_option()
    #: Up to this many tokens that followed the answer's last words earlier (in the prompt or the answer) checked a
    #: forward pass (prompt lookup decoding; the same tokens, greedy or seeded samples, fewer passes; the default
    #: measured faster on RAG and closed-book answers, benchmarks/results/prompt-lookup); 0: one token a pass.
    prompt_lookup: int = draft_option(4)
    #: Answers asked for on several threads at once (a server's users) decoded together, their next tokens read in one
    #: forward pass (``packed``; llama.cpp's ``--parallel``, Ollama's ``OLLAMA_NUM_PARALLEL``); 1: one answer at a
    #: time. Models with sliding-window or soft-capped attention decode one at a time whatever it says.
    parallel: int = attrs.field(default=1, validator=parallel_rows)


class LlmGenerator(RawPrompts, LocalModel, ScoringGenerator):
    """Chat messages through the model's chat template, decoded with the KV cache on.

    ``stream`` yields text as tokens are decoded (``decoding.decode_tokens``, in the
    caller's thread); stop strings end the answer and are never shown; a ``json_schema``
    holds it to that schema (``latentstack.json_schema``). The last answer's KV cache is kept (the last
    ``prefix_cache`` answers'), and a prompt that begins as a kept prompt and answer did (a chat's next turn) reads
    only what follows.
    ``use_adapter`` switches between LoRA adapters on the same loaded base model.
    """

    name = "llm"
    Config = LlmConfig
    config: LlmConfig

    @cached_property
    def adapters(self) -> AdapterSwitch:
        """The base model with whatever adapters have been loaded onto it."""
        from latentstack.hf import pick_device

        model = load_causal_lm(self.resolved.path, self.config.dtype, pick_device(self.config.device))
        switch = AdapterSwitch(model, self.resolved.fingerprint())
        if self.config.adapter:
            switch.use(self.config.adapter)
        return switch

    @property
    def model(self) -> Any:
        """The torch model as it runs now (a PeftModel once an adapter has been loaded)."""
        return self.adapters.model

    def use_adapter(self, path: str) -> None:
        """Make the LoRA adapter at ``path`` active ('' for the plain base model)."""
        self.adapters.use(path)

    @cached_property
    def context_window(self) -> int:
        """How many tokens (prompt + answer) the model can attend to."""
        return int(self.model.config.max_position_embeddings)

    def fingerprint(self) -> str:
        """Model files plus the active adapter."""
        return f"llm:{self.resolved.fingerprint()}:{self.adapters.active}"

    def count_tokens(self, text: str) -> int:
        """Tokens in a piece of text (no chat markup)."""
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def count_prompt_tokens(self, prompt: str | Messages) -> int:
        """Tokens of the chat-templated prompt."""
        return int(self.prompt_ids(prompt).shape[1])

    def prompt_ids(self, prompt: str | Messages) -> Any:
        """The chat-templated prompt as a (1, n) tensor of token ids, ready for the answer."""
        messages = as_messages(prompt)
        if not messages or not any(str(m.get("content", "")).strip() for m in messages):
            msg = "the prompt is empty: give the model something to answer"
            raise InputError(msg)
        check_chat_model(self.tokenizer)
        messages = for_template(self.tokenizer, messages)
        text = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        return self.tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]

    def text_loss(self, texts: Sequence[str]) -> float:
        """Mean next-token NLL per token of plain ``texts`` under the active adapter (or the base model)."""
        import torch

        total, count = 0.0, 0
        model = self.model
        with torch.inference_mode(), self.adapters.base_context():
            for text in texts:
                ids = self.tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
                ids = ids[:, : self.context_window].to(model.device)
                if ids.shape[1] < 2:
                    continue
                n = ids.shape[1] - 1
                total += float(model(input_ids=ids, labels=ids).loss) * n
                count += n
        if not count:
            msg = "no text to score: give texts of at least two tokens"
            raise InputError(msg)
        return total / count

    def check_fits(self, n_prompt: int, max_new_tokens: int) -> None:
        """An InputError when prompt + answer would not fit the context window."""
        if n_prompt + max_new_tokens > self.context_window:
            msg = (f"the prompt is {n_prompt} tokens; with max_new_tokens={max_new_tokens} that exceeds the "
                   f"model's context window of {self.context_window} tokens: shorten the prompt "
                   f"(fewer or shorter passages) or ask for fewer new tokens")
            raise InputError(msg)

    @cached_property
    def _schema_tokenizer(self) -> Any:
        """llguidance's view of the tokenizer, for answers held to a JSON schema (built on first use)."""
        vocab = int(self.model.config.get_text_config().vocab_size)
        return schema_tokenizer(self.tokenizer.backend_tokenizer, vocab, eos_ids(self.model, self.tokenizer))

    def _constraint(self, schema: str) -> SchemaConstraint | None:
        """The constraint of a JSON schema (None for free text)."""
        return SchemaConstraint(self._schema_tokenizer, schema) if schema else None

    def pieces(self, prompt: str | Messages, options: GenerationConfig, top: int | None) -> Iterator[ScoredPiece]:
        """The answer's pieces, stopped at EOS, max_new_tokens or a stop string; with ``top`` (not None) each with its
        tokens scored (``Scored``)."""
        return self.continued(self.prompt_ids(prompt), options, top)

    @property
    def parallel_rows(self) -> int:
        """How many answers this generator decodes together (``parallel``, where the model's attention allows)."""
        return self.config.parallel if self.batcher is not None else 1

    @cached_property
    def batcher(self) -> StepBatcher | None:
        """The forward passes of answers decoded together, or None (one at a time)."""
        if self.config.parallel == 1 or not packable(self.model):
            return None
        make_packable(self.model)
        return StepBatcher(lambda: self.model, self.config.parallel)

    def _passes(self) -> tuple[Forward | None, Any]:
        """The forward pass an answer's decoding runs (None: the model's own) and the context its decoding runs in."""
        if self.batcher is None:
            return None, contextlib.nullcontext()
        return self.batcher.forward, self.batcher.row()

    @cached_property
    def prefix(self) -> PrefixCache:
        """The last answers' KV caches (``prefix_cache`` of them), for prompts that begin the same way."""
        return PrefixCache(self.config.prefix_cache, self.config.prefix_cache_mb)

    def continued(self, ids: Any, options: GenerationConfig, top: int | None) -> Iterator[ScoredPiece]:
        """``pieces`` of the text that follows the (1, n) token ids ``ids``."""
        self.check_fits(ids.shape[1], options.max_new_tokens)
        cache, start = self._taken(ids)
        yield from self._decoded(ids, options, top, cache, start, cache is not None)

    def _taken(self, ids: Any) -> tuple[Any, int]:
        """The kept KV cache that holds the most of ``ids`` and how many it holds (None and 0: none to read on)."""
        if not self.config.prefix_cache:
            return None, 0
        return self.prefix.take_cache(self.adapters.active, ids[0].tolist(), self.model.config)

    def stream_answers(self, prompt: str | Messages, options: Sequence[GenerationConfig],
                       top_logprobs: int | None = None) -> list[Iterator[ScoredPiece]]:
        """``Generator.stream_answers``, the prompt read once for all where answers are decoded together, each
        going on from a copy of its KV cache (``generate_many``'s answers to one prompt, best-of candidates)."""
        if self.batcher is None or len(options) < 2:
            return super().stream_answers(prompt, options, top_logprobs)
        top = None if top_logprobs is None else checked_top(top_logprobs)
        return self._candidates(self.prompt_ids(prompt), list(options), top)

    def _candidates(self, ids: Any, options: list[GenerationConfig], top: int | None) -> list[Iterator[ScoredPiece]]:
        """The pieces of the answers after the token ids ``ids``, one a GenerationConfig, the prompt read once (here);
        each to be read on a thread of its own."""
        import torch
        from transformers import DynamicCache

        for each in options:
            self.check_fits(ids.shape[1], each.max_new_tokens)
        read = ids[0].tolist()
        cache, start = self._taken(ids)
        cache = DynamicCache(config=self.model.config) if cache is None else cache
        assert self.batcher is not None
        with torch.inference_mode(), self.adapters.base_context(), self.batcher.row():
            if start < len(read) - 1:  # the prompt but its last token, whose logits each answer reads itself
                self.batcher.forward(cache, read[start:-1], 1)
            caches = [cache] + [copy.deepcopy(cache) for _ in options[1:]]
        kept = bool(self.config.prefix_cache)
        return [self._decoded(ids, each, top, caches[i], len(read) - 1, kept and i == 0, cached=start)
                for i, each in enumerate(options)]

    def _decoded(self, ids: Any, options: GenerationConfig, top: int | None, cache: Any, start: int,
                 kept: bool, cached: int | None = None) -> Iterator[ScoredPiece]:
        """The pieces after ``ids``, read on from ``cache`` (holding the first ``start`` of them; None: a new one),
        the cache ``kept`` for the next prompts that begin the same way; ``cached``: the prompt's tokens an earlier
        answer had read (``start`` unless said)."""
        import torch

        model = self.model
        text = IncrementalText(self.tokenizer)
        scored = Scored(self.tokenizer.backend_tokenizer, top, log_probs)
        constraint = self._constraint(options.json_schema)
        key, read = self.adapters.active, ids[0].tolist()
        keep = (lambda: self.prefix.keep_cache(key, read, cache)) if kept else None
        forward, row = self._passes()
        with torch.inference_mode(), self.adapters.base_context(), row:
            steps = decode_steps(model, ids.to(model.device), options, stop_ids=eos_ids(model, self.tokenizer),
                                 constraint=constraint, cache=cache, start=start, lookup=self.config.prompt_lookup,
                                 forward=forward)
            yield from kept_after(answer_pieces(read_into(steps, read), text.feed, text.flush, options.stop, scored,
                                                options.max_new_tokens, constraint,
                                                cached=start if cached is None else cached, prompt=len(read)),
                              keep)
