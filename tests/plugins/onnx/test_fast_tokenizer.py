"""The export's tokenizer without transformers gives transformers' ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from latentstack.errors import CorruptFileError
from latentstack.hf import load_tokenizer
from latentstack_onnx.fast_tokenizer import FastTokenizer
from latentstack_onnx.probe import PROBE

TEXTS = [*PROBE, "word " * 600, "", "Ünïcödé 日本語 text", "  spaces   everywhere  "]


@pytest.mark.parametrize("max_length", [8, 256])
def test_same_ids_padding_and_truncation_as_transformers(max_length: int) -> None:
    from latentstack.sources import resolve_model

    folder = resolve_model("minilm").path
    ours, theirs = FastTokenizer(folder), load_tokenizer(folder)
    assert ours(TEXTS, max_length=max_length)["input_ids"] == theirs(TEXTS, truncation=True,
                                                                      max_length=max_length)["input_ids"]
    assert (ours.pad_token_id, ours.padding_side) == (theirs.pad_token_id, theirs.padding_side)


def test_a_broken_tokenizer_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "tokenizer.json").write_text("{not json")
    (tmp_path / "tokenizer_config.json").write_text("{}")
    with pytest.raises(CorruptFileError, match="cannot read the tokenizer"):
        FastTokenizer(tmp_path)
