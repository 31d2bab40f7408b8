"""dtype "auto": bf16 only where the CPU has bf16 units and the probe finds it exact and faster; the choice is explained."""

from __future__ import annotations

import pytest

from latentstack.cli.doctor_cmd import INT8_UNITS
from latentstack.runtime import Probe, choose_dtype, cpu_key, parity

from ..conftest import run_cli_session
from .conftest_helpers import never_called


def test_no_bf16_units_means_float32_without_probing() -> None:
    """On a CPU with only AVX2 the probe is not even run: float32, with the reason."""
    choice = choose_dtype("model-x", never_called, features=["avx2", "fma", "avx512_vnni"])
    assert choice.dtype == "float32" and "no bf16 units" in choice.reason


def test_models_describes_the_choice_as_the_embedder_makes_it_without_bf16_units(monkeypatch) -> None:  # noqa: ANN001
    """`latentstack models` gives the reason the embedder gives, word for word, on a CPU without bf16 units."""
    from latentstack import runtime

    monkeypatch.setattr(runtime, "cpu_key", lambda: ("an AVX2 CPU", ["avx2", "fma"]))
    choice = choose_dtype("model-x", never_called)
    assert runtime.describe_auto("model-x") == f"{choice.dtype} ({choice.reason})"


@pytest.mark.parametrize(("probe", "want"), [
    (Probe(0.99995, 0.9996, 1.0, 0.5), "bfloat16"),
    (Probe(0.99985, 0.9990, 1.0, 0.5), "float32"),  # mean below the floor
    (Probe(0.99995, 0.9980, 1.0, 0.5), "float32"),  # one row below the floor
    (Probe(0.99995, 0.9996, 1.0, 1.5), "float32"),  # exact, but slower (bf16 units without AMX, on some models)
    (Probe(0.99995, 0.9996, 1.0, 0.95), "float32"),  # not faster by the margin
])
def test_bf16_units_and_the_probe_decide(probe: Probe, want: str) -> None:
    """With AMX or AVX-512 BF16, bf16 is chosen only when mean >= 0.9999, min >= 0.999 and it runs the probe in at
    most 0.9 of float32's time; the reason gives the cosines and the speed."""
    for units in (["amx_bf16"], ["avx512_bf16"]):
        choice = choose_dtype("model-x", lambda p=probe: p, features=["avx2", *units])
        assert choice.dtype == want and units[0] in choice.reason and choice.cosine_mean == probe.cosine_mean
        assert choice.bf16_speedup == pytest.approx(probe.fp32_s / probe.bf16_s, rel=1e-3)
        assert f"{choice.bf16_speedup:.2f}x" in choice.reason


def test_parity_is_mean_and_min_cosine() -> None:
    """parity() gives the mean and the worst row cosine."""
    import numpy as np

    a = np.array([[1.0, 0.0], [0.0, 1.0]])
    b = np.array([[1.0, 0.0], [1.0, 1.0]])
    mean, low = parity(a, b)
    assert low == pytest.approx(2 ** -0.5) and mean == pytest.approx((1 + 2 ** -0.5) / 2)


@pytest.mark.slow
def test_default_bert_explains_its_runtime_and_the_index_records_it(tmp_path, capsys, monkeypatch) -> None:  # noqa: ANN001
    """The default bert embedder says which dtype it runs and why; a collection's manifest records it;
    `latentstack doctor`, `latentstack models` and `-v` explain the same choice; queries that run in
    another dtype than the index's vectors get a notice."""
    from latentstack import get_embedder
    from latentstack.search import Collection, Document
    from latentstack.storage import read_manifest

    info = get_embedder("bert").runtime_info()
    assert info["dtype"] in ("float32", "bfloat16") and info["reason"]
    col = Collection.create(tmp_path / "i", embedder_options={"show_progress": False})
    col.add_documents([Document("a", "some text")])
    col.save()
    assert read_manifest(tmp_path / "i", kind="collection", version=None).data["embedder"]["runtime"] == info
    loud = {"LATENTSTACK_QUIET": ""}  # an earlier in-process `-q` may have set it for this process and its children
    monkeypatch.setenv("LATENTSTACK_QUIET", "")
    search = ["search", str(tmp_path / "i"), "text"]  # plain before -v: -v stays set for the session's later commands
    doctor, models, plain, verbose = run_cli_session([["doctor"], ["models"], search, ["-v", *search]], env=loud)
    assert all(done.returncode == 0 for done in (doctor, models, plain, verbose)), verbose.stderr
    assert doctor.stdout.startswith("CPU:") and f"embedder bert: runs {info['dtype']}" in doctor.stdout
    llm = get_embedder("llm").runtime_info()  # the decoder's features choose their dtype the same way
    assert f"embedder llm: runs {llm['dtype']} ({llm['reason']})" in doctor.stdout
    _, features = cpu_key()
    int8 = [u for u in INT8_UNITS if u in features]  # no export in this home yet
    faster = f"faster, less exact: this CPU has {', '.join(int8)}: an int8 ONNX export embeds fastest"
    assert (faster in doctor.stdout) == bool(int8), doctor.stdout
    assert f"embedder runtime (dtype auto): {info['dtype']} ({info['reason']})" in models.stdout
    assert f"bert: runs {info['dtype']} on cpu" in verbose.stderr
    assert f"queries embedded in {info['dtype']}; the index's vectors were embedded in {info['dtype']}" in verbose.stderr
    assert "faiss: Flat on cpu" in verbose.stderr  # how the vector index runs: a detail, as the embedder's dtype is
    assert "queries embedded" not in plain.stderr and "faiss:" not in plain.stderr

    col = Collection.load(tmp_path / "i")
    other = "float32" if info["dtype"] == "bfloat16" else "bfloat16"
    col.manifest["embedder"]["runtime"]["dtype"] = other  # as if built on a CPU that chose the other dtype
    capsys.readouterr()
    assert col.search("text", k=1)[0].doc_id == "a"
    assert f"holds {other} vectors and queries run in {info['dtype']}" in capsys.readouterr().err


def test_a_clear_round_settles_the_speed_question() -> None:
    """bf16 well under or well over 0.9 of float32's time answers after one round; close to 0.9 it does not."""
    from latentstack.runtime import settled

    assert settled(1.0, 0.5) and settled(1.0, 1.3)
    assert not settled(1.0, 0.85) and not settled(1.0, 0.95)


@pytest.mark.parametrize(("clear", "rounds"), [(True, 1), (False, 3)])
def test_the_probe_stops_timing_once_the_answer_is_clear(tiny_bert_dir, monkeypatch, clear: bool,  # noqa: ANN001
                                                         rounds: int) -> None:
    """Each dtype embeds the probe texts once untimed, then in timed rounds: one round when its timings settle
    the question, every round when they do not."""
    from latentstack import get_embedder, runtime

    monkeypatch.setattr(runtime, "settled", lambda fp32_s, bf16_s: clear)
    emb = get_embedder("bert", model=str(tiny_bert_dir), show_progress=False)
    calls: list[str] = []
    embed_many = type(emb).embed_many

    def counted(self, texts, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        calls.append(self.config.dtype)
        return embed_many(self, texts, *args, **kwargs)

    monkeypatch.setattr(type(emb), "embed_many", counted)
    probe = emb._probe()
    assert calls.count("float32") == calls.count("bfloat16") == 1 + rounds
    assert probe.cosine_mean > 0.99 and probe.fp32_s > 0 and probe.bf16_s > 0
