"""A chat template that refuses a system message (Gemma's): the system prompt goes at the head of the first user
message, in generation, SFT and the ONNX export, instead of stopping on the template's error."""

from __future__ import annotations

from pathlib import Path

import pytest

from latentstack.chat_template import fold_system, takes_system
from latentstack.interfaces import GenerationConfig
from latentstack.testing.tiny_models import NO_SYSTEM, save_tiny_llama
from latentstack_llm.generator import LlmGenerator
from latentstack_llm.sft import encode_example

SYSTEM = [{"role": "system", "content": "Answer in one word."}, {"role": "user", "content": "the cat sat on"}]
FOLDED = [{"role": "user", "content": "Answer in one word.\n\nthe cat sat on"}]


@pytest.fixture(scope="module")
def no_system_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_llama(tmp_path_factory.mktemp("no-system"), template=NO_SYSTEM)


def test_fold_system_puts_it_at_the_head_of_the_first_user_message() -> None:
    assert fold_system(SYSTEM) == FOLDED
    assert fold_system(SYSTEM[1:]) == SYSTEM[1:]
    assert fold_system([SYSTEM[0], {"role": "assistant", "content": "a"}]) == [
        {"role": "user", "content": "Answer in one word."}, {"role": "assistant", "content": "a"}]


def test_a_template_refusing_system_messages_is_found(no_system_dir: Path, tiny_llama_dir: Path) -> None:
    for folder, takes in ((no_system_dir, False), (tiny_llama_dir, True)):
        tok = LlmGenerator.from_options(model=str(folder)).tokenizer
        assert takes_system(lambda m, t=tok: t.apply_chat_template(m, tokenize=False)) is takes


def test_generation_with_a_system_prompt_reads_it_in_the_user_message(no_system_dir: Path) -> None:
    """It stopped with jinja's TemplateError 'System role not supported' (ask sends a system prompt)."""
    gen = LlmGenerator.from_options(model=str(no_system_dir))
    options = GenerationConfig(max_new_tokens=6)
    assert gen.prompt_ids(SYSTEM).tolist() == gen.prompt_ids(FOLDED).tolist()
    assert gen.generate(SYSTEM, options) == gen.generate(FOLDED, options)


def test_sft_examples_with_a_system_message_train_on_such_a_model(no_system_dir: Path) -> None:
    gen = LlmGenerator.from_options(model=str(no_system_dir))
    ids, labels = encode_example(gen.tokenizer, [*SYSTEM, {"role": "assistant", "content": "mat"}], 128)
    assert (ids, labels) == encode_example(gen.tokenizer, [*FOLDED, {"role": "assistant", "content": "mat"}], 128)
    assert gen.tokenizer.decode([t for t in labels if t != -100]) == "mat<|im_end|>"
