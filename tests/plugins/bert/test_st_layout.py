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
    head = models.Pooling(32, pooling_mode=pooling)  # the tiny BERT's hidden size
    st.SentenceTransformer(modules=[body, head, models.Normalize()], device="cpu").save(str(out))
    return out


@pytest.mark.parametrize(("mode", "ours"), [("cls", "cls"), ("max", "max"), ("lasttoken", "last"), ("mean", "mean"),
                                           ("weightedmean", "weightedmean"), ("mean_sqrt_len_tokens", "mean_sqrt_len")])
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
    """A module after the pooling that it does not apply would make the vectors other than the model's: refused."""
    folder = st_folder(tiny_bert_dir, tmp_path / "cnn", "mean")
    modules = json.loads((folder / "modules.json").read_text())
    modules.insert(2, {"idx": 2, "name": "2", "path": "2_CNN", "type": "sentence_transformers.models.CNN"})
    (folder / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(InputError, match=r"applies a CNN module \(2_CNN\), which the bert embedder does not"):
        BertEmbedder.from_options(model=str(folder)).embed("the cat")


def test_modules_in_an_order_it_does_not_apply_are_refused(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """Normalize before a Dense projection (or a second pooling) is not what the embedder computes: refused."""
    folder = st_folder(tiny_bert_dir, tmp_path / "order", "mean")
    modules = json.loads((folder / "modules.json").read_text())
    modules.append({"idx": 3, "name": "3", "path": "3_Dense", "type": "sentence_transformers.models.Dense"})
    (folder / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(InputError, match=r"applies Transformer -> Pooling -> Normalize -> Dense, an order"):
        BertEmbedder.from_options(model=str(folder)).fingerprint()


def test_a_pooling_it_does_not_compute_is_refused_unless_one_is_chosen(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """Several poolings side by side are named in the error with the way out; choosing a pooling goes on."""
    folder = st_folder(tiny_bert_dir, tmp_path / "weighted", "mean")
    config = folder / "1_Pooling" / "config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "pooling_mode": ["cls", "weightedmean"]}))
    with pytest.raises(InputError, match=r"pools by cls \+ weightedmean .*-o pooling=NAME"):
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


def with_prompts(folder: Path, prompts: dict[str, str], default: str | None = None) -> Path:
    """``folder`` with config_sentence_transformers.json naming ``prompts`` (and a default prompt name)."""
    path = folder / "config_sentence_transformers.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "prompts": prompts, "default_prompt_name": default}))
    return folder


@pytest.mark.parametrize("default", [None, "sts"])
def test_prompts_are_put_as_sentence_transformers_puts_them(tiny_bert_dir: Path, tmp_path: Path,
                                                              default: str | None) -> None:
    """Queries as encode_query, documents as encode_document, anything else as encode (with the default prompt,
    when the folder names one)."""
    folder = with_prompts(st_folder(tiny_bert_dir, tmp_path / "nomic", "mean"),
                          {"query": "search_query: ", "document": "search_document: ", "sts": "the cat "}, default)
    emb = BertEmbedder.from_options(model=str(folder), dtype="float32")
    model = st.SentenceTransformer(str(folder), device="cpu")
    texts = TEXTS[:3]
    np.testing.assert_allclose(emb.embed_many(texts, "query"), model.encode_query(texts), atol=1e-5)
    np.testing.assert_allclose(emb.embed_many(texts, "document"), model.encode_document(texts), atol=1e-5)
    np.testing.assert_allclose(emb.embed_many(texts), model.encode(texts), atol=1e-5)
    assert not np.allclose(emb.embed_many(texts, "query"), emb.embed_many(texts, None))
    off = BertEmbedder.from_options(model=str(folder), dtype="float32", prompts=False)
    np.testing.assert_allclose(off.embed_many(texts, "query"), emb.embed_many(texts, None), atol=1e-6)
    assert ":prompts-" in emb.fingerprint() and ":prompts-" not in off.fingerprint()


def test_e5s_passage_prompt_is_the_documents(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """E5 names its document prompt "passage": documents get it, as encode_document's documented candidates say
    (sentence-transformers 6 fills in an empty "document" prompt first and puts none)."""
    folder = with_prompts(st_folder(tiny_bert_dir, tmp_path / "e5", "mean"),
                          {"query": "query: ", "passage": "passage: "})
    emb = BertEmbedder.from_options(model=str(folder), dtype="float32")
    model = st.SentenceTransformer(str(folder), device="cpu")
    texts = TEXTS[:3]
    np.testing.assert_allclose(emb.embed_many(texts, "document"), model.encode(texts, prompt="passage: "), atol=1e-5)
    np.testing.assert_allclose(emb.embed_many(texts, "query"), model.encode_query(texts), atol=1e-5)


def test_an_index_embeds_documents_and_queries_with_their_prompts(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """A collection on an E5-style folder: a dense hit's score is encode_query(q) . encode_document(d)."""
    from latentstack.search import Collection, Document

    folder = with_prompts(st_folder(tiny_bert_dir, tmp_path / "e5", "mean"),
                          {"query": "query: ", "document": "passage: "})
    col = Collection.create(tmp_path / "idx", embedder="bert", embedder_options={"model": str(folder), "dtype": "float32"})
    col.add_documents([Document(f"d{i}", text) for i, text in enumerate(TEXTS[:3])])
    col.save()
    hit = Collection.load(tmp_path / "idx").search("a cat on a mat", k=1, hybrid=False)[0]
    model = st.SentenceTransformer(str(folder), device="cpu")
    expected = model.encode_query(["a cat on a mat"])[0] @ model.encode_document([hit.text])[0]
    assert hit.score == pytest.approx(float(expected), abs=1e-4)


def test_a_default_prompt_it_does_not_have_is_refused(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """default_prompt_name naming no prompt is the file's fault, said in one line."""
    folder = with_prompts(st_folder(tiny_bert_dir, tmp_path / "bad", "mean"), {"query": "query: "}, "classification")
    with pytest.raises(InputError, match="default_prompt_name 'classification' names no prompt"):
        BertEmbedder.from_options(model=str(folder)).embed("the cat")


def test_prompts_left_out_of_the_pooling_are_refused(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """include_prompt false (INSTRUCTOR) with a prompt to put: refused, as the vectors would not be the model's."""
    folder = with_prompts(st_folder(tiny_bert_dir, tmp_path / "instructor", "mean"), {"query": "Represent: "})
    pooling = folder / "1_Pooling" / "config.json"
    pooling.write_text(json.dumps({**json.loads(pooling.read_text()), "include_prompt": False}))
    emb = BertEmbedder.from_options(model=str(folder))
    assert emb.embed_many(["the cat"]).shape == (1, 32)  # no prompt for plain texts: nothing left out
    with pytest.raises(InputError, match="include_prompt false"):
        emb.embed_many(["the cat"], "query")


def test_embed_as_query_or_document_on_the_command_line(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """`latentstack embed --as query` prints encode_query's vectors, `--as document` encode_document's."""
    from ...conftest import run_cli

    folder = with_prompts(st_folder(tiny_bert_dir, tmp_path / "nomic", "mean"),
                          {"query": "search_query: ", "document": "search_document: "})
    model = st.SentenceTransformer(str(folder), device="cpu")
    for kind, reference in (("query", model.encode_query), ("document", model.encode_document)):
        out = run_cli("-q", "embed", "the cat sat", "--model", str(folder), "-o", "dtype=float32", "--as", kind,
                      check=True)
        np.testing.assert_allclose(json.loads(out.stdout), reference(["the cat sat"])[0], atol=1e-5)


def test_an_engine_is_given_the_prompted_passages(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """An engine embeds texts as given (the Ray workers do): the collection puts the document prompt in them first,
    so an index built through an engine holds the vectors a local build holds."""
    from collections.abc import Mapping, Sequence
    from typing import Any

    from latentstack import get_embedder
    from latentstack.engines import Engine
    from latentstack.search import Collection, Document

    class Elsewhere(Engine):
        name = "elsewhere"

        def embed(self, texts: Sequence[str], embedder: str, options: Mapping[str, Any]) -> Any:
            return get_embedder(embedder, **options).embed_many(texts, None)

    folder = with_prompts(st_folder(tiny_bert_dir, tmp_path / "e5", "mean"), {"query": "query: ", "passage": "passage: "})
    scores = []
    for name, engine in (("local", None), ("engine", Elsewhere.from_options())):
        col = Collection.create(tmp_path / name, embedder="bert", embedder_options={"model": str(folder), "dtype": "float32"})
        col.add_documents([Document(f"d{i}", text) for i, text in enumerate(TEXTS[:3])], engine=engine)
        scores.append([(h.doc_id, round(h.score, 5)) for h in col.search("the cat", k=3, hybrid=False)])
    assert scores[0] == scores[1]


def test_verbose_says_how_the_folder_is_read(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """`-v` names the pooling, length and prompts read from the folder, once."""
    from ...conftest import run_cli

    folder = with_prompts(st_folder(tiny_bert_dir, tmp_path / "nomic", "cls"), {"query": "search_query: "})
    out = run_cli("-v", "embed", "the cat", "--model", str(folder), "-o", "dtype=float32", check=True)
    said = [line for line in out.stderr.splitlines() if "sentence-transformers folder" in line]
    assert said == ["bert: nomic is a sentence-transformers folder: pooling cls, max_seq_length 16, "
                    "prompts {'query': 'search_query: '}"], out.stderr
