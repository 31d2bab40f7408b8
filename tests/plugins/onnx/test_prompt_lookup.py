"""Prompt lookup decoding in the onnx generator: the proposals read in one GenAI step, the refused ones rewound, and
the answer the greedy one (or a seeded sample the one a token a step draws), token for token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from latentstack.testing import prompt_lookup_checks as checks
from latentstack.testing.kept_prefix_checks import assert_same_answers, chat_turns, check_a_stream_closed_early
from latentstack_onnx.generator import GenaiGenerator


def _plain(folder: Path) -> GenaiGenerator:
    return GenaiGenerator.from_options(model=str(folder), prompt_lookup=0, prefix_cache=0)


@pytest.mark.parametrize("options", [{}, {"repetition_penalty": 1.3}, {"stop": ["sat"]}, {"json_schema": checks.SCHEMA},
                                     {"temperature": 0.05, "seed": 3},
                                     {"frequency_penalty": 0.6, "presence_penalty": 0.3, "logit_bias": {40: 3}}])
def test_the_answer_is_the_greedy_one_in_fewer_steps(tiny_export: Path, options: dict[str, Any],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    passes = checks.counted_passes(monkeypatch)
    lookup = GenaiGenerator.from_options(model=str(tiny_export), prompt_lookup=6, prefix_cache=0)
    prompts = (checks.REPEATING, checks.BREAKS, checks.JSONISH)
    tokens = checks.assert_answers_as_plain(lookup, _plain(tiny_export), prompts, 40, 1e-3, **options)
    if "frequency_penalty" not in options:  # (which keeps an answer from repeating itself, so little is taken)
        assert 3 < len(passes) < tokens - 10  # proposals taken: fewer steps than tokens


def test_a_kept_generator_stays_whole_through_chats_and_closed_streams(tiny_export: Path) -> None:
    """The refused proposals are rewound from the GenAI generator a later turn reads on from."""
    for opening in (checks.REPEATING, checks.BREAKS):
        kept = chat_turns(GenaiGenerator.from_options(model=str(tiny_export), prompt_lookup=6), opening)
        assert kept[1][2].cached > 20  # (a third turn may outgrow the first generator's room: a new one)
        assert_same_answers(kept, chat_turns(_plain(tiny_export), opening))
    check_a_stream_closed_early(GenaiGenerator.from_options(model=str(tiny_export), prompt_lookup=6),
                                _plain(tiny_export))
