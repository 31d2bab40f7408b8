"""The contract every Generator meets."""

from __future__ import annotations

import json

import pytest

from latentstack.errors import ConfigError, InputError
from latentstack.interfaces import GenerationConfig, Generator

PROMPTS: list[str | list[dict[str, str]]] = ["What is the capital of France?", [{"role": "user", "content": "Count from one to five."}]]


class GeneratorContract:
    """Subclass and provide a ``generator`` fixture (a small model is enough)."""

    prompts = PROMPTS
    max_new_tokens = 12

    @pytest.fixture
    def generator(self) -> Generator:
        """Override: return the generator under test."""
        raise NotImplementedError

    def greedy(self, **changes: object) -> GenerationConfig:
        """Greedy decoding of at most ``max_new_tokens``."""
        return GenerationConfig(max_new_tokens=self.max_new_tokens, **changes)  # type: ignore[arg-type]

    def test_is_generator(self, generator: Generator) -> None:
        """The object is a Generator with a name."""
        assert isinstance(generator, Generator) and generator.name

    def test_stream_and_generate_agree(self, generator: Generator) -> None:
        """Greedy ``generate`` is the stream's pieces joined, for a plain prompt and for chat messages."""
        for prompt in self.prompts:
            pieces = list(generator.stream(prompt, self.greedy()))
            assert all(isinstance(p, str) for p in pieces)
            assert "".join(pieces) == generator.generate(prompt, self.greedy())

    def test_stop_string_ends_and_is_not_shown(self, generator: Generator) -> None:
        """A stop string taken from the free answer cuts it there and never appears."""
        full = generator.generate(self.prompts[0], self.greedy())
        words = full.split()
        if len(words) < 2:
            pytest.skip("the answer is too short to cut")
        stop = words[1]
        cut = generator.generate(self.prompts[0], self.greedy(stop=(stop,)))
        assert stop not in cut
        assert full.startswith(cut.rstrip()) or cut.strip() in full

    def test_scored_stream_is_the_stream_or_a_config_error(self, generator: Generator) -> None:
        """``stream_scored`` either refuses with a ConfigError (a generator that cannot score) or gives the greedy
        answer's text with log-probabilities (at most 0) and at most ``top_logprobs`` alternatives per token."""
        try:
            pieces = list(generator.stream_scored(self.prompts[0], self.greedy(), 2))
        except ConfigError:
            return
        assert "".join(p.text for p in pieces) == generator.generate(self.prompts[0], self.greedy())
        tokens = [t for p in pieces for t in p.tokens]
        assert tokens and all(t.logprob <= 0 and len(t.top) <= 2 for t in tokens)

    def test_an_answer_says_how_it_ended(self, generator: Generator) -> None:
        """``stream_answer`` gives the stream's text, its last piece (only) says how the answer ended, within the
        budget; an answer of one token asked for a long one is cut by its budget ('length')."""
        pieces = list(generator.stream_answer(self.prompts[0], self.greedy()))
        assert "".join(p.text for p in pieces) == generator.generate(self.prompts[0], self.greedy())
        assert all(p.finish is None for p in pieces[:-1]) and pieces[-1].finish is not None
        assert pieces[-1].finish.reason in ("stop", "length") and 0 <= pieces[-1].finish.tokens <= self.max_new_tokens
        one = list(generator.stream_answer("Tell me a long story about a dragon.", GenerationConfig(max_new_tokens=1)))
        assert one[-1].finish is not None and one[-1].finish.reason == "length" and one[-1].finish.tokens == 1

    def test_a_json_schema_is_held_to_or_refused(self, generator: Generator) -> None:
        """An answer asked to follow a JSON schema parses and matches it, or the generator refuses with a
        ConfigError: never free text."""
        schema = {"type": "object", "properties": {"answer": {"enum": ["yes", "no"]}}, "required": ["answer"],
                  "additionalProperties": False}
        try:
            answer = generator.generate("Is Paris in France?", GenerationConfig(max_new_tokens=16, json_schema=schema))
        except ConfigError:
            return
        assert json.loads(answer)["answer"] in ("yes", "no") and set(json.loads(answer)) == {"answer"}

    def test_empty_prompt_is_an_input_error(self, generator: Generator) -> None:
        """An empty prompt is refused with an InputError, not answered or crashed on."""
        with pytest.raises(InputError):
            generator.generate("   ", self.greedy())

    @pytest.mark.parametrize("prompt", [None, 3, ["hi"], [{"role": "user", "content": None}], [{"role": "user"}],
                                        "cut \ud83d emoji"])
    def test_a_malformed_prompt_is_an_input_error(self, generator: Generator, prompt: object) -> None:
        """A prompt that is neither a str nor a list of {role, content} str messages (or is not valid Unicode) is
        an InputError naming what is wrong, not a template's or tokenizer's exception."""
        with pytest.raises(InputError, match="prompt is a str|message #0|holds U"):
            generator.generate(prompt, self.greedy())  # type: ignore[arg-type]

    def test_options_as_a_dict_and_one_stop_string(self, generator: Generator) -> None:
        """Options may be given as a dict of GenerationConfig's fields; a str ``stop`` is one stop string (it was
        split into characters, so every answer stopped at its first matching letter)."""
        prompt = self.prompts[0]
        assert generator.generate(prompt, {"max_new_tokens": self.max_new_tokens}) == generator.generate(prompt, self.greedy())
        full = generator.generate(prompt, self.greedy())
        words = full.split()
        if len(words) < 2 or len(words[1]) < 2:
            pytest.skip("the answer is too short to cut")
        assert generator.generate(prompt, self.greedy(stop=words[1])) == generator.generate(prompt, self.greedy(stop=(words[1],)))

    def test_token_accounting(self, generator: Generator) -> None:
        """count_tokens is a non-negative int that grows with the text; context_window is None or positive."""
        short, long = generator.count_tokens("one two"), generator.count_tokens("one two " * 20)
        assert isinstance(short, int) and 0 < short < long
        assert generator.count_prompt_tokens(self.prompts[0]) >= generator.count_tokens(str(self.prompts[0]))
        window = generator.context_window
        assert window is None or (isinstance(window, int) and window > 0)

    def test_raw_prompts_are_read_as_they_are_or_refused(self, generator: Generator) -> None:
        """Raw token prompts (legacy completions' token ids and echo) are refused by all five members with a
        ConfigError, or read as they are: the ids spell the text back, the prompt gets one score per token after
        the first, and a greedy continuation's first token scores as it does appended to the prompt."""
        text = "The capital of France is"
        try:
            ids = generator.raw_tokens(text)
        except ConfigError:
            for refused in (lambda: generator.raw_text([0]), generator.tokenizer_info,
                            lambda: generator.prompt_scores([0, 1]), lambda: list(generator.stream_raw([0]))):
                with pytest.raises(ConfigError):
                    refused()
            return
        assert generator.raw_text(ids) == text and {"bos_token", "eos_token"} <= set(generator.tokenizer_info())
        scores = generator.prompt_scores(ids, 2)
        assert len(scores) == len(ids) - 1 and all(s.logprob <= 0 and len(s.top) <= 2 for s in scores)
        pieces = list(generator.stream_raw(ids, self.greedy(), 1))
        assert pieces[-1].finish is not None and 0 < pieces[-1].finish.tokens <= self.max_new_tokens
        first = next(t for p in pieces for t in p.tokens)
        assert first.top and first.token == first.top[0].token  # greedy: the likeliest token
        appended = generator.raw_tokens(text + first.token)
        if appended[:len(ids)] == ids and len(appended) == len(ids) + 1:  # the token spells back as itself
            assert abs(generator.prompt_scores(appended)[-1].logprob - first.logprob) < 1e-3
