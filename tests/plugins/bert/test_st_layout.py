"""A sentence-transformers folder is read as sentence-transformers reads it: pooling, length, case.

Each folder is written by sentence-transformers itself around the tiny random BERT, and the
vectors are compared with ``SentenceTransformer.encode`` on the same folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from latentstack.errors import InputError
from latentstack_bert.embedder import BertEmbedder

st = pytest.importorskip("sentence_transformers")
models = pytest.importorskip("sentence_transformers.models")

TEXTS = ["the cat sat on the mat", "win a free prize now call now", "stock market fell", "",
         "hello world " * 20]  # the last is cut at max_seq_length


def st_folder(tiny: Path, out: Path, pooling: str, max_seq_length: int = 16) -> Path:
    """A folder saved by sentence-transformers: the tiny BERT, ``pooling``, then Normalize."""
    body = models.Transformer(str(tiny), max_seq_length=max_seq_length)
    head = models.Pooling(body.get_word_embedding_dimension(), pooling_mode=pooling)
    st.SentenceTransformer(modules=[body, head, models.Normalize()], device="cpu").save(str(out))
    return out


@pytest.mark.parametrize(("mode", "ours"), [("cls", "cls"), ("max", "max"), ("lasttoken", "last"), ("mean", "mean")])
def test_vectors_match_sentence_transformers(tiny_bert_dir: Path, tmp_path: Path, mode: str, ours: str) -> None:
    """The default options give the folder's pooling and max_seq_length, and sentence-transformers' vectors."""
    folder = st_folder(tiny_bert_dir, tmp_path / mode, mode)
    emb = BertEmbedder.from_options(model=str(folder), dtype="float32", batch_size=2)
    reference = st.SentenceTransformer(str(folder), device="cpu").encode(TEXTS)
    assert (emb.pooling, emb.max_tokens) == (ours, 16)
    np.testing.assert_allclose(emb.embed_many(TEXTS), reference, atol=1e-5)
    assert f":{ours}:True:16:" in emb.fingerprint()


def test_a_chosen_pooling_wins_over_the_folders(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """-o pooling=mean on a [CLS] folder pools the mean, and says so in the fingerprint."""
    folder = st_folder(tiny_bert_dir, tmp_path / "cls", "cls")
    emb = BertEmbedder.from_options(model=str(folder), pooling="mean", max_length=32, dtype="float32")
    plain = BertEmbedder.from_options(model=str(tiny_bert_dir), pooling="mean", max_length=32, dtype="float32")
    assert emb.pooling == "mean" and emb.max_tokens == 32
    np.testing.assert_allclose(emb.embed_many(TEXTS), plain.embed_many(TEXTS), atol=1e-6)


def test_the_packaged_minilm_keeps_its_fingerprint() -> None:
    """MiniLM's folder says mean and 256, the old defaults: indexes and caches built before still match."""
    auto = BertEmbedder.from_options(model="minilm")
    explicit = BertEmbedder.from_options(model="minilm", pooling="mean", max_length=256)
    assert auto.fingerprint() == explicit.fingerprint() and ":mean:True:256:" in auto.fingerprint()


def test_a_plain_folder_pools_the_mean_of_256_tokens(tiny_bert_dir: Path) -> None:
    """Without modules.json nothing changes: mean pooling, 256 tokens (capped by the position embeddings)."""
    emb = BertEmbedder.from_options(model=str(tiny_bert_dir))
    assert emb.layout is None and emb.pooling == "mean" and emb.max_length == 256 and emb.max_tokens == 128


def test_do_lower_case_lowercases(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """A folder whose sentence_bert_config says do_lower_case reads texts lower-cased, as sentence-transformers does."""
    folder = st_folder(tiny_bert_dir, tmp_path / "lower", "mean")
    for name, key in (("tokenizer.json", "normalizer"), ("tokenizer_config.json", "do_lower_case")):
        data = json.loads((folder / name).read_text())  # a cased tokenizer: upper-case letters become [UNK]
        (folder / name).write_text(json.dumps({**data, key: None if key == "normalizer" else False}))
    config = folder / "sentence_bert_config.json"
    plain = BertEmbedder.from_options(model=str(folder), dtype="float32").embed("The CAT Sat")
    config.write_text(json.dumps({**json.loads(config.read_text()), "do_lower_case": True}))
    lower = BertEmbedder.from_options(model=str(folder), dtype="float32")
    assert lower.layout is not None and lower.layout.lowercase
    assert not np.allclose(plain, lower.embed("The CAT Sat"))
    np.testing.assert_allclose(lower.embed("The CAT Sat"), lower.embed("the cat sat"), atol=1e-6)
    reference = st.SentenceTransformer(str(folder), device="cpu").encode(["The CAT Sat"])[0]
    np.testing.assert_allclose(lower.embed("The CAT Sat"), reference, atol=1e-5)


def test_a_module_it_does_not_apply_is_refused(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """A Dense projection after the pooling would make the vectors other than the model's: refused, named."""
    folder = st_folder(tiny_bert_dir, tmp_path / "dense", "mean")
    modules = json.loads((folder / "modules.json").read_text())
    modules.insert(2, {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"})
    (folder / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(InputError, match=r"applies a Dense module \(2_Dense\), which the bert embedder does not"):
        BertEmbedder.from_options(model=str(folder)).embed("the cat")


def test_a_pooling_it_does_not_compute_is_refused_unless_one_is_chosen(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """weightedmean is named in the error with the way out; choosing a pooling goes on."""
    folder = st_folder(tiny_bert_dir, tmp_path / "weighted", "weightedmean")
    with pytest.raises(InputError, match=r"pools by weightedmean .*-o pooling=NAME"):
        BertEmbedder.from_options(model=str(folder)).fingerprint()
    assert BertEmbedder.from_options(model=str(folder), pooling="mean").embed("the cat").shape == (32,)


def test_a_damaged_pooling_config_is_one_line(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """A half-written 1_Pooling/config.json names the file instead of a JSON traceback."""
    folder = st_folder(tiny_bert_dir, tmp_path / "damaged", "cls")
    (folder / "1_Pooling" / "config.json").write_text('{"pooling_mode": "cl')
    with pytest.raises(InputError, match=r"1_Pooling/config.json is not valid JSON"):
        BertEmbedder.from_options(model=str(folder)).fingerprint()


def test_legacy_pooling_keys(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """Folders saved by sentence-transformers 2 name the pooling with booleans (MiniLM's own): read the same."""
    folder = st_folder(tiny_bert_dir, tmp_path / "legacy", "cls")
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(
        {"word_embedding_dimension": 32, "pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False}))
    assert BertEmbedder.from_options(model=str(folder)).pooling == "cls"
