"""OpenAI's presence and frequency penalties and logit_bias: the options checked, and what each row of logits gets."""

from __future__ import annotations

import pytest

from latentstack.errors import ConfigError, InputError
from latentstack.interfaces import GenerationConfig
from latentstack.logit_shifts import MAX_BIASED, Shifts


def test_the_shifts_of_an_answer_so_far() -> None:
    """frequency per time written, presence once, the bias added on top; nothing asked, no shifts."""
    options = GenerationConfig(frequency_penalty=0.5, presence_penalty=0.25, logit_bias={"7": -100, 3: 2})
    shifts = Shifts.of(options)
    assert shifts is not None and options.logit_bias == ((3, 2.0), (7, -100.0))
    ids, by = shifts.at([3, 9, 9, 9], vocab=10)
    assert dict(zip(ids, by, strict=True)) == {3: 2 - 0.5 - 0.25, 7: -100, 9: -1.5 - 0.25}
    assert Shifts.of(GenerationConfig()) is None
    assert Shifts.of(GenerationConfig(logit_bias={1: 0})) is not None  # named, even at 0
    with pytest.raises(InputError, match="names token 10, but the model's vocabulary has 10 tokens"):
        Shifts.of(GenerationConfig(logit_bias={10: 1})).at([], vocab=10)  # type: ignore[union-attr]


@pytest.mark.parametrize(("options", "said"), [
    ({"presence_penalty": 2.5}, "presence_penalty must be a number from -2 to 2"),
    ({"frequency_penalty": True}, "frequency_penalty"),
    ({"logit_bias": {"x": 1}}, "token ids (whole numbers from 0)"),
    ({"logit_bias": {-1: 1}}, "token ids (whole numbers from 0)"),
    ({"logit_bias": {5: 101}}, "logit_bias of token 5 must be a number from -100 to 100"),
    ({"logit_bias": {5: "up"}}, "logit_bias of token 5 must be a number"),
    ({"logit_bias": [1, 2]}, "(or its (id, bias) pairs), got the item 1"),
    ({"logit_bias": "5:1"}, "logit_bias is a dict of token id to bias, got str"),
    ({"logit_bias": {i: 1 for i in range(MAX_BIASED + 1)}}, f"at most {MAX_BIASED}"),
])
def test_a_bad_option_is_one_line_naming_it(options: dict[str, object], said: str) -> None:
    with pytest.raises(ConfigError, match=said.replace("(", r"\(").replace(")", r"\)")):
        GenerationConfig(**options)  # type: ignore[arg-type]
