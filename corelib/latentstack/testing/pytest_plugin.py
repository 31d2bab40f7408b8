"""The pytest plugin (entry point ``pytest11``): the ``slow`` marker and shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Declare the marker the contract suites and latentstack's own tests use."""
    config.addinivalue_line("markers", "slow: uses real packaged models or data")


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer random BERT with a tiny word-piece vocabulary, saved as a model folder."""
    from latentstack.testing.tiny_models import save_tiny_bert

    return save_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer random Llama causal LM with a byte-level BPE tokenizer and a ChatML template."""
    from latentstack.testing.tiny_models import save_tiny_llama

    return save_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def tiny_mpnet_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer random MPNet (attention layers named q, k, v, o) with the tiny word pieces."""
    from latentstack.testing.tiny_models import save_tiny_mpnet

    return save_tiny_mpnet(tmp_path_factory.mktemp("tiny-mpnet"))


@pytest.fixture(scope="session")
def tiny_t5_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer random T5 encoder alone, as a sentence-T5 folder holds it, with the tiny word pieces."""
    from latentstack.testing.tiny_models import save_tiny_t5_encoder

    return save_tiny_t5_encoder(tmp_path_factory.mktemp("tiny-t5"))


@pytest.fixture(scope="session")
def tiny_gpt2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer random GPT-2 causal LM (Conv1D layers) with the tiny ChatML tokenizer."""
    from latentstack.testing.tiny_models import save_tiny_gpt2

    return save_tiny_gpt2(tmp_path_factory.mktemp("tiny-gpt2"))


@pytest.fixture(scope="session")
def tiny_gemma2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer random Gemma 2 causal LM (sliding-window layers, logit soft-capping) with the tiny ChatML
    tokenizer."""
    from latentstack.testing.tiny_models import save_tiny_gemma2

    return save_tiny_gemma2(tmp_path_factory.mktemp("tiny-gemma2"))
