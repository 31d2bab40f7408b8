"""Answers held to a JSON schema: a random model's answer still parses and matches (every token it could pick was
the schema's), sampling and the repetition penalty included; bad schemas are one line; SmolLM2 fills a schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from latentstack.errors import ConfigError, InputError
from latentstack.interfaces import GenerationConfig
from latentstack_llm.generator import LlmGenerator

LABEL = {"type": "object", "properties": {"label": {"enum": ["spam", "ham"]}, "sure": {"type": "boolean"}},
         "required": ["label", "sure"], "additionalProperties": False}


@pytest.fixture(scope="module")
def tiny(tiny_llama_dir: Path) -> LlmGenerator:
    return LlmGenerator.from_options(model=str(tiny_llama_dir))


@pytest.mark.parametrize("options", [{}, {"temperature": 1.0, "seed": 4}, {"temperature": 0.8, "top_p": 0.9, "seed": 2},
                                     {"repetition_penalty": 1.5}])
def test_a_random_models_answer_follows_the_schema(tiny: LlmGenerator, options: dict[str, object]) -> None:
    """Left free, the random model writes word salad; held to the schema, a parseable object of its fields, in
    the fixed layout (single spaces, no newlines)."""
    free = tiny.generate("classify this", GenerationConfig(max_new_tokens=30, **options))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        json.loads(free)
    answer = tiny.generate("classify this", GenerationConfig(max_new_tokens=30, json_schema=LABEL,
                                                             **options))  # type: ignore[arg-type]
    parsed = json.loads(answer)
    assert parsed["label"] in ("spam", "ham") and isinstance(parsed["sure"], bool) and set(parsed) == {"label", "sure"}
    assert answer == json.dumps(parsed)


def test_the_answer_ends_when_the_value_is_complete(tiny: LlmGenerator) -> None:
    """No end token is needed: the closing brace ends it, well inside the token budget, scored tokens included."""
    pieces = list(tiny.stream_scored("x", GenerationConfig(max_new_tokens=200, json_schema=LABEL), 1))
    text = "".join(p.text for p in pieces)
    assert text.endswith("}") and json.loads(text)
    assert len([t for p in pieces for t in p.tokens]) < 200


def test_a_schema_as_text_and_as_a_dict_answer_alike(tiny: LlmGenerator) -> None:
    as_dict = tiny.generate("x", GenerationConfig(max_new_tokens=40, json_schema=LABEL))
    assert tiny.generate("x", GenerationConfig(max_new_tokens=40, json_schema=json.dumps(LABEL))) == as_dict


def test_properties_are_written_in_the_schemas_order(tiny: LlmGenerator) -> None:
    """A reason asked for before the label comes first, as OpenAI writes it (the schema's keys were sorted, so
    "label" came before "reason" and the label was chosen before any reasoning)."""
    reasoned = {"type": "object", "properties": {"reason": {"type": "string", "maxLength": 8}, "label": LABEL},
                "required": ["reason", "label"], "additionalProperties": False}
    answer = tiny.generate("x", GenerationConfig(max_new_tokens=80, json_schema=reasoned))
    assert list(json.loads(answer)) == ["reason", "label"]
    assert list(json.loads(tiny.generate("x", GenerationConfig(max_new_tokens=80, json_schema=json.dumps(reasoned))))) \
        == ["reason", "label"]


def test_listed_properties_are_the_only_ones_unless_more_are_allowed(tiny: LlmGenerator) -> None:
    """An object that lists its properties and says nothing of others gets no others (llama.cpp's rule: the random
    model, free to, added keys of its own); a property may be named like a keyword; true keeps them open."""
    from latentstack.json_schema import closed

    def answers(schema: dict[str, object]) -> set[str]:
        return {tiny.generate("x", GenerationConfig(max_new_tokens=40, json_schema=schema, temperature=1.0, seed=seed))
                for seed in range(6)}

    assert answers({"type": "object", "properties": {}}) == {"{}"}
    assert answers({"type": "object", "properties": {}, "additionalProperties": True}) != {"{}"}
    open_ended = {"type": "object", "properties": {"label": {"enum": ["spam", "ham"]}, "properties": {"type": "boolean"}},
                  "required": ["label", "properties"]}
    assert all(list(json.loads(a)) == ["label", "properties"] for a in answers(open_ended))
    assert closed(open_ended)["additionalProperties"] is False
    assert "additionalProperties" not in closed(open_ended)["properties"]  # the map of properties is not a schema
    nested = closed({"anyOf": [{"properties": {"a": {"type": "object", "properties": {}}}}], "$defs": {
        "x": {"properties": {}}}, "items": {"properties": {}}})
    assert nested["anyOf"][0]["additionalProperties"] is False
    assert nested["anyOf"][0]["properties"]["a"]["additionalProperties"] is False
    assert nested["$defs"]["x"]["additionalProperties"] is False and nested["items"]["additionalProperties"] is False
    kept = {"type": "object", "properties": {}, "additionalProperties": True}
    assert closed(kept) == kept and closed({"type": "object"}) == {"type": "object"}  # any object stays any object


@pytest.mark.parametrize(("schema", "words"), [
    ("{not json", "json_schema is not JSON"),
    ("[1, 2]", "must be a JSON object"),
    ({"type": "no-such-type"}, "the JSON schema cannot be followed"),
])
def test_a_bad_schema_is_one_line(tiny: LlmGenerator, schema: object, words: str) -> None:
    with pytest.raises((ConfigError, InputError), match=words):
        tiny.generate("x", {"max_new_tokens": 4, "json_schema": schema})


def test_a_matcher_that_gives_up_is_one_line_not_a_token_from_nowhere(tiny: LlmGenerator) -> None:
    """A matcher in its error state allows no token: every logit would be minus infinity and argmax would pick
    token 0. It is an InputError naming the matcher's reason."""
    from latentstack.json_schema import SchemaConstraint

    constraint = SchemaConstraint(tiny._schema_tokenizer, json.dumps(LABEL))
    assert constraint.allowed(len(tiny.tokenizer)).any()
    refused = int(tiny.tokenizer.convert_tokens_to_ids("x") if "x" in tiny.tokenizer.get_vocab() else 0)
    assert not constraint.accept(refused) and constraint.matcher.is_error()  # '{' must come first
    with pytest.raises(InputError, match="the answer cannot go on within the JSON schema"):
        constraint.allowed(len(tiny.tokenizer))


@pytest.mark.slow
def test_smollm2_fills_a_schema() -> None:
    gen = LlmGenerator.from_options()
    schema = {"type": "object", "properties": {"city": {"type": "string"},
                                               "population": {"type": "integer", "minimum": 0, "maximum": 10**8}},
              "required": ["city", "population"], "additionalProperties": False}
    answer = json.loads(gen.generate("Give the capital of France and its population as JSON.",
                                     GenerationConfig(max_new_tokens=40, json_schema=schema)))
    assert answer["city"] == "Paris" and 0 <= answer["population"] <= 10**8
