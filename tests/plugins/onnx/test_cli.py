"""``export onnx``, ``classify predict --onnx`` and ``index build --embedder onnx`` on a tiny BERT."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from latentstack.cli import cli
from latentstack.storage import read_manifest
from latentstack.testing.classifier_contract import TRAIN


def test_export_then_use_everywhere(tiny_bert_dir: Path, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("LATENTSTACK_CACHE", str(tmp_path / "cache"))
    cli.load_plugin_commands()
    runner = CliRunner()
    data = tmp_path / "train.tsv"
    data.write_text("split\tlabel\ttext\n" + "".join(f"train\t{lab}\t{text}\n" for text, lab in TRAIN))
    out = runner.invoke(cli, ["-q", "classify", "train", "--data", str(data), "--model", str(tiny_bert_dir),
                              "--out", str(tmp_path / "clf")])
    assert out.exit_code == 0, out.output
    out = runner.invoke(cli, ["-q", "export", "onnx", "--model", str(tiny_bert_dir), "--int8", "--classifier",
                              str(tmp_path / "clf"), "--out", str(tmp_path / "onnx")])
    assert out.exit_code == 0, out.output
    assert "classifier agreement" in out.output
    manifest = read_manifest(tmp_path / "onnx", kind="export").data
    assert manifest["variants"]["fp32"]["classifier_agreement"] == 1.0
    texts = [t for t, _ in TRAIN[:4]]
    torch_out = runner.invoke(cli, ["-q", "classify", "predict", str(tmp_path / "clf"), *texts])
    onnx_out = runner.invoke(cli, ["-q", "classify", "predict", str(tmp_path / "clf"), "--onnx",
                                   str(tmp_path / "onnx"), *texts])
    assert onnx_out.exit_code == 0, onnx_out.output
    assert [line.split("\t")[0] for line in onnx_out.output.splitlines()] == \
        [line.split("\t")[0] for line in torch_out.output.splitlines()]
    docs = tmp_path / "docs.jsonl"
    docs.write_text("".join(json.dumps({"id": f"d{i}", "text": t}) + "\n" for i, (t, _) in enumerate(TRAIN)))
    out = runner.invoke(cli, ["-q", "index", "build", str(tmp_path / "idx"), "--from", str(docs), "--embedder", "onnx",
                              "--model", str(tmp_path / "onnx")])
    assert out.exit_code == 0, out.output
    out = runner.invoke(cli, ["-q", "search", str(tmp_path / "idx"), TRAIN[0][0], "-k", "1", "--json"])
    assert json.loads(out.output)["hits"][0]["doc_id"] == "d0"
    out = runner.invoke(cli, ["-q", "export", "onnx", "--model", "no-such-encoder", "--out", str(tmp_path / "x")])
    assert out.exit_code != 0 and "no-such-encoder" in out.output
    out = runner.invoke(cli, ["-q", "classify", "train", "--data", str(data), "--onnx", str(tmp_path / "onnx"),
                              "--hybrid", "--out", str(tmp_path / "onnx-clf")])  # trained on the export's features
    assert out.exit_code == 0, out.output
    features = read_manifest(tmp_path / "onnx-clf", kind="classifier").data["features"]
    assert [f["name"] for f in features] == ["onnx", "tfidf"] and features[0]["config"]["model"] == str(tmp_path / "onnx")
    out = runner.invoke(cli, ["-q", "classify", "predict", str(tmp_path / "onnx-clf"), *texts])
    assert out.exit_code == 0 and len(out.output.splitlines()) == len(texts), out.output
    out = runner.invoke(cli, ["classify", "train", "--data", str(data), "--onnx", str(tmp_path / "onnx"), "--embedder",
                              "bert", "--out", str(tmp_path / "x")])
    assert out.exit_code == 2 and "drop --embedder and --model" in out.output


def test_export_smoothing_options(tiny_bert_dir: Path, tmp_path: Path) -> None:
    cli.load_plugin_commands()
    runner = CliRunner()
    calib = tmp_path / "calib.txt"
    calib.write_text("the cat sat\n\nwin a prize now\n")
    out = runner.invoke(cli, ["-q", "export", "onnx", "--model", str(tiny_bert_dir), "--int8", "--smooth", "0.7",
                              "--calibrate", str(calib), "--out", str(tmp_path / "a")])
    assert out.exit_code == 0, out.output
    assert "int8 (smoothing 0.7 on 4 projections)" in out.output
    recipe = read_manifest(tmp_path / "a", kind="export").data["variants"]["int8"]["recipe"]
    assert recipe["smooth"] == 0.7 and recipe["calibration_texts"] == 2 and recipe["gelu"] == "tanh"
    out = runner.invoke(cli, ["-q", "export", "onnx", "--model", str(tiny_bert_dir), "--int8", "--int8-gelu", "erf",
                              "--out", str(tmp_path / "e")])
    assert out.exit_code == 0, out.output
    assert read_manifest(tmp_path / "e", kind="export").data["variants"]["int8"]["recipe"]["gelu"] == "erf"
    out = runner.invoke(cli, ["-q", "export", "onnx", "--model", str(tiny_bert_dir), "--int8", "--int8-gelu", "relu",
                              "--out", str(tmp_path / "f")])
    assert out.exit_code == 2 and "--int8-gelu" in out.output
    out = runner.invoke(cli, ["-q", "export", "onnx", "--model", str(tiny_bert_dir), "--int8", "--smooth", "1.5",
                              "--out", str(tmp_path / "b")])
    assert out.exit_code == 2 and "--smooth" in out.output
    out = runner.invoke(cli, ["-q", "export", "onnx", "--model", str(tiny_bert_dir), "--calibrate", str(calib),
                              "--out", str(tmp_path / "c")])
    assert out.exit_code == 2 and "add --int8" in out.output
    out = runner.invoke(cli, ["-q", "export", "onnx", "--model", str(tiny_bert_dir), "--smooth", "0.7", "--int8-gelu",
                              "erf", "--out", str(tmp_path / "g")])
    assert out.exit_code == 2 and "--smooth and --int8-gelu apply to the int8 variant only: add --int8" in out.output
    (tmp_path / "blank.txt").write_text("\n  \n")
    out = runner.invoke(cli, ["-q", "export", "onnx", "--model", str(tiny_bert_dir), "--int8", "--calibrate",
                              str(tmp_path / "blank.txt"), "--out", str(tmp_path / "d")])
    assert out.exit_code == 2 and "no non-blank lines" in out.output
    assert not any((tmp_path / name).exists() for name in "bcdfg")


def test_export_chooses_the_decoder_path_by_architecture(tiny_llama_dir: Path, tiny_bert_dir: Path,
                                                        tmp_path: Path) -> None:
    """A causal LM goes through ONNX Runtime GenAI and generates; int4 on an encoder is a usage error."""
    cli.load_plugin_commands()
    runner = CliRunner()
    out = runner.invoke(cli, ["-q", "export", "onnx", "--model", str(tiny_llama_dir), "--precision", "fp32",
                              "--out", str(tmp_path / "dec")])
    assert out.exit_code == 0, out.output
    assert "greedy answers identical to torch 1.00" in out.output
    assert read_manifest(tmp_path / "dec", kind="export").data["precision"] == "fp32"
    gen = runner.invoke(cli, ["generate", "hello", "--generator", "onnx", "--model", str(tmp_path / "dec"),
                              "--max-new-tokens", "5"])
    assert gen.exit_code == 0, gen.output
    emb = runner.invoke(cli, ["embed", "hello", "--embedder", "onnx", "--model", str(tmp_path / "dec")])
    assert emb.exit_code == 1 and "is an ONNX decoder export (a generator: --generator onnx)" in emb.output  # KeyError
    bad = runner.invoke(cli, ["export", "onnx", "--model", str(tiny_bert_dir), "--precision", "int4",
                              "--out", str(tmp_path / "enc")])
    assert bad.exit_code == 2 and "int4 is for decoders" in bad.output and not (tmp_path / "enc").exists()


def test_decoder_int4_calibration_options(tiny_llama_dir: Path, tmp_path: Path) -> None:
    """--calibrate sets the int4 weight scaling's prompts; the scaling options on other precisions are usage errors."""
    cli.load_plugin_commands()
    runner = CliRunner()
    calib = tmp_path / "calib.txt"
    calib.write_text("the cat sat on the mat\n\nwhat is the capital of france?\n")
    out = runner.invoke(cli, ["-q", "export", "onnx", "--model", str(tiny_llama_dir), "--precision", "int4",
                              "--calibrate", str(calib), "--out", str(tmp_path / "q4")])
    assert out.exit_code == 0, out.output
    assert "weights scaled for int4 (AWQ) on 2 calibration prompts" in out.output
    assert read_manifest(tmp_path / "q4", kind="export").data["awq"]["prompts"] == 2
    sft = tmp_path / "sft.jsonl"  # adapt sft's data: each conversation is a calibration prompt
    sft.write_text("".join(json.dumps({"prompt": p, "response": "paris [1]"}) + "\n" for p in ("capital?", "cat?", "sat?")))
    out = runner.invoke(cli, ["-q", "export", "onnx", "--model", str(tiny_llama_dir), "--precision", "int4",
                              "--calibrate", str(sft), "--out", str(tmp_path / "q4-sft")])
    assert out.exit_code == 0, out.output
    assert read_manifest(tmp_path / "q4-sft", kind="export").data["awq"]["prompts"] == 3
    for extra in (["--no-awq"], ["--no-grid"], ["--calibrate", str(calib)]):
        bad = runner.invoke(cli, ["export", "onnx", "--model", str(tiny_llama_dir), "--precision", "int8", *extra,
                                  "--out", str(tmp_path / "q8")])
        assert bad.exit_code == 2 and "set the int4 weights" in bad.output and not (tmp_path / "q8").exists()
    bad = runner.invoke(cli, ["export", "onnx", "--model", str(tiny_llama_dir), "--no-awq", "--out", str(tmp_path / "d")])
    assert bad.exit_code == 2 and not (tmp_path / "d").exists()
    bad = runner.invoke(cli, ["export", "onnx", "--model", str(tiny_llama_dir), "--pooling", "cls", "--max-length", "64",
                              "--classifier", str(tmp_path), "--out", str(tmp_path / "d")])
    assert bad.exit_code == 2 and not (tmp_path / "d").exists()
    assert "--pooling, --max-length and --classifier apply to an encoder's export only" in bad.output


def test_export_of_a_sentence_transformers_folder_pools_as_it_says(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """Without --pooling the export pools as the folder's 1_Pooling says ([CLS] here), and its vectors are
    sentence-transformers'; it keeps the folder's prompts, so an index built with the torch embedder takes the
    export's queries, prompted as encode_query prompts them."""
    import numpy as np
    import pytest

    from latentstack import get_embedder
    from latentstack.search import Collection, Document

    st = pytest.importorskip("sentence_transformers")
    models = pytest.importorskip("sentence_transformers.models")
    body = models.Transformer(str(tiny_bert_dir), max_seq_length=16)
    head = models.Pooling(32, pooling_mode="cls")  # the tiny BERT's hidden size
    folder = tmp_path / "st-cls"
    st.SentenceTransformer(modules=[body, head, models.Normalize()], device="cpu",
                           prompts={"query": "query: ", "document": "passage: "}).save(str(folder))
    cli.load_plugin_commands()
    out = CliRunner().invoke(cli, ["-q", "export", "onnx", "--model", str(folder), "--out", str(tmp_path / "onnx")])
    assert out.exit_code == 0, out.output
    assert ":cls:True:16:" in read_manifest(tmp_path / "onnx", kind="export").data["source"]["fingerprint"]
    texts = [t for t, _ in TRAIN[:6]]
    onnx = get_embedder("onnx", model=str(tmp_path / "onnx"), show_progress=False)
    np.testing.assert_allclose(onnx.embed_many(texts), st.SentenceTransformer(str(folder), device="cpu").encode(texts),
                               atol=1e-4)
    col = Collection.create(tmp_path / "idx", embedder="bert", embedder_options={"model": str(folder)})
    col.add_documents([Document(f"d{i}", t) for i, t in enumerate(texts)])
    col.save()
    assert onnx.prompt("query") == "query: " and onnx.prompt("document") == "passage: "
    loaded = Collection.load(tmp_path / "idx", query_embedder=onnx)
    model = st.SentenceTransformer(str(folder), device="cpu")
    np.testing.assert_allclose(loaded.embed_queries([texts[2]]), model.encode_query([texts[2]]), atol=1e-4)
    best = int(np.argmax(model.encode_document(texts) @ model.encode_query([texts[2]])[0]))
    assert loaded.search(texts[2], k=1, hybrid=False)[0].doc_id == f"d{best}"


def test_export_of_a_folder_with_dense_projections_holds_them(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """A folder projecting the pooled vector (distiluse's Dense 32 -> 12, tanh; pooled by position-weighted mean,
    SGPT's) exports the pooling and the projection into the graph: the export's vectors are sentence-transformers',
    12 long, fp32 and int8 within their parity floors."""
    import numpy as np
    import pytest
    import torch

    from latentstack import get_embedder

    st = pytest.importorskip("sentence_transformers")
    models = pytest.importorskip("sentence_transformers.models")
    torch.manual_seed(0)
    modules = [models.Transformer(str(tiny_bert_dir), max_seq_length=16), models.Pooling(32, pooling_mode="weightedmean"),
               models.Dense(32, 12), models.Normalize()]
    folder = tmp_path / "st-dense"
    st.SentenceTransformer(modules=modules, device="cpu").save(str(folder))
    cli.load_plugin_commands()
    out = CliRunner().invoke(cli, ["-q", "export", "onnx", "--model", str(folder), "--int8",
                                   "--out", str(tmp_path / "onnx")])
    assert out.exit_code == 0, out.output
    data = read_manifest(tmp_path / "onnx", kind="export").data
    assert data["dim"] == 12 and data["variants"]["int8"]["cosine_mean"] >= 0.99
    texts = [t for t, _ in TRAIN[:6]]
    onnx = get_embedder("onnx", model=str(tmp_path / "onnx"), variant="fp32", show_progress=False)
    np.testing.assert_allclose(onnx.embed_many(texts), st.SentenceTransformer(str(folder), device="cpu").encode(texts),
                               atol=1e-4)


@pytest.mark.parametrize("kind", ["llama", "t5"])
def test_export_of_a_body_the_bert_optimiser_cannot_fuse(tiny_llama_dir: Path, tiny_t5_dir: Path, tmp_path: Path,
                                                         kind: str) -> None:
    """A decoder pooled by mean and projected (EmbeddingGemma's modules), or a T5 encoder (sentence-T5's), exports
    as an embedder: unfused (the BERT optimiser does not apply, and says so), the llama's empty probe text a zero
    vector in both runtimes (an agreement, not a parity failure), its vectors sentence-transformers'."""
    import shutil

    import numpy as np
    import torch

    from latentstack import get_embedder

    st = pytest.importorskip("sentence_transformers")
    models = pytest.importorskip("sentence_transformers.models")
    body = tiny_t5_dir if kind == "t5" else tmp_path / "body"
    if kind != "t5":
        shutil.copytree(tiny_llama_dir, body)
        (body / "chat_template.jinja").unlink()  # sentence-transformers 6 would render texts as chat messages
    torch.manual_seed(0)
    folder = tmp_path / "gemma-shape"
    st.SentenceTransformer(modules=[models.Transformer(str(body), max_seq_length=32), models.Pooling(32),
                                    models.Dense(32, 16, bias=False, activation_function=torch.nn.Identity()),
                                    models.Normalize()], device="cpu").save(str(folder))
    cli.load_plugin_commands()
    out = CliRunner().invoke(cli, ["export", "onnx", "--model", str(folder), "--out", str(tmp_path / "onnx")])
    assert out.exit_code == 0, out.output
    assert f"a {kind} body: onnxruntime's BERT fusions do not apply" in out.output
    data = read_manifest(tmp_path / "onnx", kind="export").data
    assert data["optimized"] is False and data["variants"]["fp32"]["cosine_min"] >= 0.9999
    texts = [t for t, _ in TRAIN[:6]]
    onnx = get_embedder("onnx", model=str(tmp_path / "onnx"), show_progress=False)
    np.testing.assert_allclose(onnx.embed_many(texts), st.SentenceTransformer(str(folder), device="cpu").encode(texts),
                               atol=1e-4)
