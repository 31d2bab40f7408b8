"""sentence-transformers folders with Dense projections (LaBSE, distiluse, sentence-T5) embed as the model does.

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
torch = pytest.importorskip("torch")

TEXTS = ["the cat sat on the mat", "win a free prize now call now", "stock market fell", "", "hello world " * 20]


def dense_folder(tiny: Path, out: Path, *dense: object, pooling: str = "mean", normalize: bool = True) -> Path:
    """A folder saved by sentence-transformers: the tiny BERT (hidden size 32), ``pooling``, ``dense``, Normalize."""
    torch.manual_seed(0)
    modules = [models.Transformer(str(tiny), max_seq_length=16), models.Pooling(32, pooling_mode=pooling), *dense]
    st.SentenceTransformer(modules=modules + ([models.Normalize()] if normalize else []), device="cpu").save(str(out))
    return out


def reference(folder: Path, texts: list[str] = TEXTS) -> np.ndarray:
    return np.asarray(st.SentenceTransformer(str(folder), device="cpu").encode(texts))


def test_labse_shape_cls_dense_tanh_normalize(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """[CLS] -> Dense(tanh) -> Normalize (LaBSE's modules): sentence-transformers' vectors, of the Dense's length."""
    folder = dense_folder(tiny_bert_dir, tmp_path / "labse", models.Dense(32, 32), pooling="cls")
    emb = BertEmbedder.from_options(model=str(folder), dtype="float32", batch_size=2)
    assert emb.dim == 32 and len(emb.projections) == 1
    np.testing.assert_allclose(emb.embed_many(TEXTS), reference(folder), atol=1e-5)


def test_distiluse_shape_projects_to_fewer_dimensions(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """mean -> Dense(32 -> 12, tanh), no Normalize (distiluse's): the length is 12, the vectors its own (unit
    length unless -o normalize=false, where they are sentence-transformers' as they are)."""
    folder = dense_folder(tiny_bert_dir, tmp_path / "distiluse", models.Dense(32, 12), normalize=False)
    emb = BertEmbedder.from_options(model=str(folder), dtype="float32", normalize=False)
    ref = reference(folder)
    assert emb.dim == 12 and emb.embed_many(TEXTS).shape == (5, 12)
    np.testing.assert_allclose(emb.embed_many(TEXTS), ref, atol=1e-5)
    unit = BertEmbedder.from_options(model=str(folder), dtype="float32").embed_many(TEXTS)
    np.testing.assert_allclose(unit, ref / np.linalg.norm(ref, axis=1, keepdims=True), atol=1e-5)


def test_sentence_t5_shape_and_chained_and_residual_projections(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """Dense without bias or activation (sentence-T5's), two in a row, and a residual one: as sentence-transformers."""
    dense = (models.Dense(32, 20, bias=False, activation_function=torch.nn.Identity()),
             models.Dense(20, 16, activation_function=torch.nn.GELU(), use_residual=True))
    folder = dense_folder(tiny_bert_dir, tmp_path / "t5", *dense)
    emb = BertEmbedder.from_options(model=str(folder), dtype="float32")
    assert emb.dim == 16 and [p.out_features for p in emb.projections] == [20, 16]
    np.testing.assert_allclose(emb.embed_many(TEXTS), reference(folder), atol=1e-5)


def test_bfloat16_runs_the_encoder_and_keeps_the_projection_exact(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """dtype bfloat16 changes the encoder only; the vectors stay close to float32's."""
    folder = dense_folder(tiny_bert_dir, tmp_path / "bf16", models.Dense(32, 12))
    bf16 = BertEmbedder.from_options(model=str(folder), dtype="bfloat16").embed_many(TEXTS)
    fp32 = BertEmbedder.from_options(model=str(folder), dtype="float32").embed_many(TEXTS)
    assert bf16.dtype == np.float32 and bf16.shape == (5, 12)
    assert float(np.min(np.sum(bf16 * fp32, axis=1))) > 0.99


def test_legacy_pytorch_bin_weights(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """Older releases saved the Dense weights as pytorch_model.bin: read as tensors only, the same vectors."""
    folder = dense_folder(tiny_bert_dir, tmp_path / "legacy", models.Dense(32, 12))
    ref = reference(folder)
    from safetensors.torch import load_file

    weights = folder / "2_Dense" / "model.safetensors"
    torch.save(load_file(str(weights)), folder / "2_Dense" / "pytorch_model.bin")
    weights.unlink()
    np.testing.assert_allclose(BertEmbedder.from_options(model=str(folder), dtype="float32").embed_many(TEXTS), ref,
                               atol=1e-5)


def test_the_projection_is_in_the_fingerprint(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """Other Dense weights are another model: an index built with one refuses the other's queries."""
    folder = dense_folder(tiny_bert_dir, tmp_path / "fp", models.Dense(32, 12))
    before = BertEmbedder.from_options(model=str(folder)).fingerprint()
    from safetensors.torch import load_file, save_file

    path = folder / "2_Dense" / "model.safetensors"
    tensors = load_file(str(path))
    save_file({k: v * 2 for k, v in tensors.items()}, str(path))
    assert BertEmbedder.from_options(model=str(folder)).fingerprint() != before


def edit_config(folder: Path, **changes: object) -> None:
    path = folder / "2_Dense" / "config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


@pytest.mark.parametrize(("changes", "message"), [
    ({"activation_function": "mypackage.Swish"}, r"activation_function 'mypackage.Swish' is not a torch.nn class"),
    ({"activation_function": "torch.nn.modules.activation.Nothing"}, r"names no torch.nn module"),
    ({"activation_function": "torch.nn.functional.gelu"}, r"names no torch.nn module"),
    ({"in_features": 16}, r"in_features is 16, but the vector before it has 32 values"),
    ({"out_features": "12"}, r"in_features and out_features are 32 and '12', not positive integers"),
    ({"out_features": 10}, r"linear.weight \(12, 32\) where config.json says \(10, 32\)"),
    ({"module_output_name": "token_embeddings"}, r"module_output_name is 'token_embeddings'"),
])
def test_a_dense_module_it_cannot_honour_is_one_line(tiny_bert_dir: Path, tmp_path: Path, changes: dict[str, object],
                                                    message: str) -> None:
    """An untrusted activation, sizes that do not chain or match the weights: one line naming the module's folder."""
    folder = dense_folder(tiny_bert_dir, tmp_path / "bad", models.Dense(32, 12))
    edit_config(folder, **changes)
    with pytest.raises(InputError, match=r"Dense module '.*2_Dense': .*" + message):
        BertEmbedder.from_options(model=str(folder)).embed("the cat")


def test_missing_or_damaged_weights_are_one_line(tiny_bert_dir: Path, tmp_path: Path) -> None:
    folder = dense_folder(tiny_bert_dir, tmp_path / "weights", models.Dense(32, 12))
    path = folder / "2_Dense" / "model.safetensors"
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(InputError, match=r"its weights cannot be read .*restore the folder"):
        BertEmbedder.from_options(model=str(folder)).embed("the cat")
    path.unlink()
    with pytest.raises(InputError, match=r"it has no model.safetensors or pytorch_model.bin"):
        BertEmbedder.from_options(model=str(folder)).embed("the cat")


def test_an_index_and_a_classifier_take_the_projected_vectors(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """An index of a Dense folder holds vectors of the Dense's length and finds a text by itself."""
    from latentstack.search import Collection, Document

    folder = dense_folder(tiny_bert_dir, tmp_path / "idx-model", models.Dense(32, 12))
    col = Collection.create(tmp_path / "idx", embedder="bert", embedder_options={"model": str(folder)})
    col.add_documents([Document(f"d{i}", t) for i, t in enumerate(TEXTS[:3])])
    col.save()
    loaded = Collection.load(tmp_path / "idx")
    assert loaded.embedder.dim == 12
    assert loaded.search(TEXTS[1], k=1, hybrid=False)[0].doc_id == "d1"


def test_verbose_names_the_projections(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """`-v` says the folder's Dense modules and their sizes; `embed` prints vectors of the last one's length."""
    from ...conftest import run_cli

    folder = dense_folder(tiny_bert_dir, tmp_path / "distiluse", models.Dense(32, 12))
    out = run_cli("-v", "embed", "the cat", "--model", str(folder), "-o", "dtype=float32", "--out",
                  str(tmp_path / "v.npy"), check=True)
    assert "pooling mean, max_seq_length 16, prompts none, Dense 32 -> 12" in out.stderr, out.stderr
    assert np.load(tmp_path / "v.npy").shape == (1, 12)


def decoder_folder(tiny_llama: Path, out: Path, chat: bool) -> Path:
    """EmbeddingGemma's shape on the tiny Llama: mean -> Dense(32 -> 48) -> Dense(48 -> 16), both without bias or
    activation -> Normalize; ``chat`` False takes the tokenizer's chat template away first."""
    import shutil

    body_dir = out.with_name(out.name + "-body")
    shutil.copytree(tiny_llama, body_dir)
    if not chat:
        (body_dir / "chat_template.jinja").unlink()
    identity = torch.nn.Identity()
    return dense_folder(body_dir, out, models.Dense(32, 48, bias=False, activation_function=identity),
                        models.Dense(48, 16, bias=False, activation_function=identity))


def test_a_decoder_body_with_two_projections(tiny_llama_dir: Path, tmp_path: Path) -> None:
    """A decoder pooled by mean and projected twice (EmbeddingGemma's modules) gives sentence-transformers' vectors."""
    folder = decoder_folder(tiny_llama_dir, tmp_path / "gemma-shape", chat=False)
    emb = BertEmbedder.from_options(model=str(folder), dtype="float32")
    assert emb.dim == 16
    np.testing.assert_allclose(emb.embed_many(TEXTS), reference(folder), atol=1e-5)


def test_a_folder_that_renders_texts_as_chat_messages_is_refused(tiny_llama_dir: Path, tmp_path: Path) -> None:
    """sentence-transformers 6 puts each text through the chat template where the folder says 'message': the
    embedder would read other tokens, so the folder is one line saying so and what to remove."""
    folder = decoder_folder(tiny_llama_dir, tmp_path / "chat-shape", chat=True)
    with pytest.raises(InputError, match=r"through the chat template \(modality_config 'message'\).*remove"):
        BertEmbedder.from_options(model=str(folder)).embed("the cat")
    config = folder / "sentence_bert_config.json"
    data = json.loads(config.read_text())
    del data["modality_config"]["message"]
    config.write_text(json.dumps(data))
    assert BertEmbedder.from_options(model=str(folder)).embed("the cat").shape == (16,)


def test_a_t5_encoder_with_its_projection(tiny_t5_dir: Path, tmp_path: Path) -> None:
    """sentence-T5's modules (a T5 encoder, mean, a Dense without bias or activation, Normalize): the encoder is
    loaded alone (AutoModel would load the decoder too, and want its inputs), and the vectors are
    sentence-transformers'."""
    folder = dense_folder(tiny_t5_dir, tmp_path / "sentence-t5",
                          models.Dense(32, 12, bias=False, activation_function=torch.nn.Identity()))
    emb = BertEmbedder.from_options(model=str(folder), dtype="float32")
    assert type(emb.model).__name__ == "T5EncoderModel" and emb.dim == 12
    np.testing.assert_allclose(emb.embed_many(TEXTS), reference(folder), atol=1e-5)
