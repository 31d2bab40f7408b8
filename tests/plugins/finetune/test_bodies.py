"""Fine-tuning bodies other than BERT's: MPNet, a T5 encoder (sentence-T5's) and a Llama decoder, each with LoRA on
its own attention layers; transformers' head where it reads the text, the mean where it would read a decoder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from latentstack.errors import ConfigError
from latentstack.storage import read_manifest
from latentstack.testing import ClassifierContract
from latentstack.testing.classifier_contract import TRAIN
from latentstack_finetune.classifier import FinetuneClassifier

FAST = {"epochs": 15, "lr": 1e-2, "batch_size": 4, "val_fraction": 0.0, "patience": 99}


class TestMpnetLora(ClassifierContract):
    """LoRA on MPNet's q and v (refused before: the default targets were BERT's query and value)."""

    @pytest.fixture
    def classifier(self, tiny_mpnet_dir: Path) -> FinetuneClassifier:
        """Untrained, LoRA with the mean head."""
        return FinetuneClassifier.from_options(model=str(tiny_mpnet_dir), **FAST)


class TestT5Lora(ClassifierContract):
    """LoRA on a T5 encoder alone (AutoModel loaded the encoder-decoder, which asked for decoder inputs)."""

    @pytest.fixture
    def classifier(self, tiny_t5_dir: Path) -> FinetuneClassifier:
        """Untrained, LoRA with the mean head."""
        return FinetuneClassifier.from_options(model=str(tiny_t5_dir), **FAST)


class TestT5Full(ClassifierContract):
    """All weights of a T5 encoder, whose tied embeddings are saved once; the default head is the mean."""

    @pytest.fixture
    def classifier(self, tiny_t5_dir: Path) -> FinetuneClassifier:
        """Untrained, all weights, default pooling."""
        return FinetuneClassifier.from_options(model=str(tiny_t5_dir), mode="full", **{**FAST, "lr": 1e-3})


class TestLlamaLora(ClassifierContract):
    """LoRA on a decoder's q_proj and v_proj with the mean head."""

    @pytest.fixture
    def classifier(self, tiny_llama_dir: Path) -> FinetuneClassifier:
        """Untrained, LoRA with the mean head."""
        return FinetuneClassifier.from_options(model=str(tiny_llama_dir), **FAST)


class TestLlamaLoraCls(ClassifierContract):
    """LoRA with transformers' head on the last token, which is named ``score``, not ``classifier``."""

    @pytest.fixture
    def classifier(self, tiny_llama_dir: Path) -> FinetuneClassifier:
        """Untrained, LoRA with transformers' head."""
        return FinetuneClassifier.from_options(model=str(tiny_llama_dir), pooling="cls", **FAST)


def test_each_body_adapts_its_own_attention_layers(tiny_mpnet_dir: Path, tiny_t5_dir: Path, tiny_llama_dir: Path,
                                                   tiny_bert_dir: Path, tmp_path: Path) -> None:
    """The saved adapter names the body's query and value layers; transformers' head of a decoder is saved whole."""
    texts, labels = map(list, zip(*TRAIN))
    cases = [(tiny_bert_dir, "mean", ["query", "value"], None), (tiny_mpnet_dir, "mean", ["q", "v"], None),
             (tiny_t5_dir, "mean", ["q", "v"], None), (tiny_llama_dir, "mean", ["q_proj", "v_proj"], None),
             (tiny_llama_dir, "cls", ["q_proj", "v_proj"], ["score"])]
    for i, (model, pooling, targets, whole) in enumerate(cases):
        clf = FinetuneClassifier.from_options(model=str(model), pooling=pooling, epochs=1, val_fraction=0.0)
        clf.fit(texts, labels).save(tmp_path / str(i))
        assert read_manifest(tmp_path / str(i) / "adapter", kind="adapter").data["targets"] == targets
        peft = json.loads((tmp_path / str(i) / "adapter" / "adapter_config.json").read_text())
        assert peft["modules_to_save"] == whole


def test_the_head_of_an_encoder_decoder_is_refused(tiny_t5_dir: Path) -> None:
    """transformers' sequence-classification head of T5 reads the decoder a sentence-T5 folder does not hold."""
    texts, labels = map(list, zip(*TRAIN))
    clf = FinetuneClassifier.from_options(model=str(tiny_t5_dir), pooling="cls", epochs=1)
    with pytest.raises(ConfigError, match="for a t5 model reads its decoder; .* use pooling=mean"):
        clf.fit(texts, labels)


def test_a_tokenizer_without_a_padding_token_pads_with_end_of_text(tiny_llama_dir: Path, tmp_path: Path) -> None:
    """A decoder whose tokenizer names no padding token (GPT-2's, Llama's) is batched with its end-of-text token
    (transformers refused to pad, and its head refused batches of more than one text)."""
    body = tmp_path / "nopad"
    shutil.copytree(tiny_llama_dir, body)
    for name, key in (("tokenizer_config.json", "pad_token"), ("config.json", "pad_token_id")):
        config = json.loads((body / name).read_text())
        config.pop(key)
        (body / name).write_text(json.dumps(config))
    texts, labels = map(list, zip(*TRAIN))
    for pooling in ("mean", "cls"):
        clf = FinetuneClassifier.from_options(model=str(body), pooling=pooling, batch_size=4, epochs=1,
                                              val_fraction=0.0)
        assert clf.tokenizer.pad_token is None
        proba = clf.fit(texts, labels).predict_proba(texts)
        alone = np.vstack([clf.predict_proba([t]) for t in texts])
        np.testing.assert_allclose(proba, alone, atol=1e-5)  # padding changed no text's probabilities
