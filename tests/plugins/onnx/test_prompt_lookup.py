"""Prompt lookup decoding in the onnx generator: the proposals read in one GenAI step, the refused ones rewound, and
the answer the greedy one, token for token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from latentstack.interfaces import GenerationConfig
from latentstack.testing.kept_prefix_checks import assert_same_answers, chat_turns, check_a_stream_closed_early
from latentstack_onnx.generator import GenaiGenerator

REPEATING = "the cat sat on the mat and the cat sat on the hat and the dog sat on the log " * 3
BREAKS = "a\n\n\nb c\n\n\nd e\n\n\n\n\nf"  # line breaks before other words: the first proposals are refused
JSONISH = '{"a": "", "b": ["the dog sat", "the cat"]} ' * 3
SCHEMA = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "array", "items": {
    "type": "string", "enum": ["the cat", "the dog sat"]}}}, "required": ["a", "b"]}


def _greedy(gen: GenaiGenerator, prompt: Any, new: int = 24, **options: Any) -> tuple[str, list[float], Any]:
    pieces = list(gen.stream_answer(prompt, GenerationConfig(max_new_tokens=new, **options), top_logprobs=0))
    return "".join(p.text for p in pieces), [t.logprob for p in pieces for t in p.tokens], pieces[-1].finish


@pytest.mark.parametrize("options", [{}, {"repetition_penalty": 1.3}, {"stop": ["sat"]}, {"json_schema": SCHEMA}])
def test_the_answer_is_the_greedy_one_in_fewer_steps(tiny_export: Path, options: dict[str, Any],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import latentstack.prompt_lookup as lookup_module

    passes: list[int] = []
    checked = lookup_module._checked
    monkeypatch.setattr(lookup_module, "_checked", lambda *a: passes.append(1) or checked(*a))
    lookup = GenaiGenerator.from_options(model=str(tiny_export), prompt_lookup=6, prefix_cache=0)
    plain = GenaiGenerator.from_options(model=str(tiny_export), prompt_lookup=0, prefix_cache=0)
    tokens = 0
    for prompt in (REPEATING, BREAKS, JSONISH):
        text, logprobs, finish = _greedy(lookup, prompt, 40, **options)
        text_plain, logprobs_plain, finish_plain = _greedy(plain, prompt, 40, **options)
        assert (text, finish.tokens, finish.reason) == (text_plain, finish_plain.tokens, finish_plain.reason)
        assert logprobs == pytest.approx(logprobs_plain, abs=1e-3)
        tokens += finish.tokens
    assert 3 < len(passes) < tokens - 10  # proposals taken: fewer steps than tokens


def test_a_kept_generator_stays_whole_through_chats_and_closed_streams(tiny_export: Path) -> None:
    """The refused proposals are rewound from the GenAI generator a later turn reads on from."""
    for opening in (REPEATING, BREAKS):
        kept = chat_turns(GenaiGenerator.from_options(model=str(tiny_export), prompt_lookup=6), opening)
        fresh = chat_turns(GenaiGenerator.from_options(model=str(tiny_export), prefix_cache=0, prompt_lookup=0),
                           opening)
        assert kept[1][2].cached > 20  # (a third turn may outgrow the first generator's room: a new one)
        assert_same_answers(kept, fresh)
    check_a_stream_closed_early(GenaiGenerator.from_options(model=str(tiny_export), prompt_lookup=6),
                                GenaiGenerator.from_options(model=str(tiny_export), prefix_cache=0, prompt_lookup=0))
