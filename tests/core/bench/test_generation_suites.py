"""bench rag, generate, embed and sft end to end on tiny models: the output contract and checks that can fail."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ...conftest import run_cli, run_cli_session
from .test_suites import SQUAD


def test_rag_suite_runs_every_method(tmp_path: Path, tiny_llama_dir: Path, tiny_bert_dir: Path) -> None:
    data = tmp_path / "squad.json"
    data.write_text(json.dumps(SQUAD))
    out = run_cli("-q", "bench", "rag", "--data", str(data), "--model", str(tiny_llama_dir), "--retriever-model",
                  str(tiny_bert_dir), "-k", "2", "--json", "--out", str(tmp_path), "--answers",
                  str(tmp_path / "answers.jsonl"), check=True)
    obj = json.loads(out.stdout)
    rows = {r["method"]: r for r in obj["results"]}
    assert list(rows) == ["closed-book", "rag", "rag-dense", "oracle"]
    assert rows["oracle"]["metrics"]["cites_gold"] >= 0.0 and "hit@2" in rows["rag"]["metrics"]
    assert "cites_gold" not in rows["closed-book"]["metrics"]
    assert all(0.0 <= v <= 1.0 for r in obj["results"] for v in r["metrics"].values())
    assert rows["oracle"]["timing"]["prompt_tokens_mean"] > rows["closed-book"]["timing"]["prompt_tokens_mean"]
    assert (tmp_path / "rag.png").exists() and (tmp_path / "rag.md").exists()
    answers = [json.loads(line) for line in (tmp_path / "answers.jsonl").read_text().splitlines()]
    assert len(answers) == 4 * obj["n"]
    oracle = [a for a in answers if a["method"] == "oracle"]
    assert abs(sum(a["f1"] for a in oracle) / len(oracle) - rows["oracle"]["metrics"]["f1"]) < 1e-4


def test_rag_answers_never_replace_an_input_or_a_foreign_file(tmp_path: Path) -> None:
    """--answers naming the SQuAD file itself (or any file that is not bench rag's answers) is refused before the
    run; the file was replaced at the end of it."""
    data = tmp_path / "squad.json"
    data.write_text(json.dumps(SQUAD))
    notes = tmp_path / "notes.jsonl"
    notes.write_text('{"text": "keep"}\n')
    before = {f: f.read_bytes() for f in (data, notes)}
    base = ["bench", "rag", "--data", str(data), "--out", str(tmp_path / "out"), "--answers"]
    same, foreign = run_cli_session([[*base, str(data)], [*base, str(notes)]])
    assert same.returncode != 0 and "own input" in same.stderr and "Traceback" not in same.stderr
    assert foreign.returncode != 0 and "does not hold bench rag's answers" in foreign.stderr
    assert {f: f.read_bytes() for f in before} == before and not (tmp_path / "out").exists()


def test_rag_adapter_only_without_adapter_is_a_usage_error(tmp_path: Path) -> None:
    data = tmp_path / "squad.json"
    data.write_text(json.dumps(SQUAD))
    out = run_cli("-q", "bench", "rag", "--data", str(data), "--adapter-only", "--json", "--out", str(tmp_path))
    assert out.returncode == 2 and "--adapter-only" in out.stderr and "--adapter DIR" in out.stderr
    assert out.stdout == "" and not (tmp_path / "rag.json").exists()


def test_rag_retrieval_options_without_a_rag_method_are_a_usage_error(tmp_path: Path) -> None:
    """-k and --retriever-model were ignored by a run of closed-book and oracle alone."""
    data = tmp_path / "squad.json"
    data.write_text(json.dumps(SQUAD))
    out = run_cli("-q", "bench", "rag", "--data", str(data), "--methods", "closed-book,oracle", "-k", "2",
                  "--out", str(tmp_path))
    assert out.returncode == 2 and "-k applies to the rag methods only" in out.stderr
    assert not (tmp_path / "rag.json").exists()


def test_rag_skip_answers_the_questions_after_an_earlier_runs_draw(tmp_path: Path, tiny_llama_dir: Path) -> None:
    paragraphs = [{"context": f"Item {i} of the list is a stone named s{i}.", "qas": [
        {"id": f"q{i}", "question": f"What is item {i}?", "answers": [{"text": f"s{i}", "answer_start": 36}]}]}
        for i in range(40)]
    data = tmp_path / "squad.json"
    data.write_text(json.dumps({"data": [{"title": "List", "paragraphs": paragraphs}]}))

    small = tmp_path / "small.json"  # 3 questions: a draw of all 3 is the file's order, not the draw of 1 extended
    small.write_text(json.dumps(SQUAD))

    def asked(run: str, *extra: str, source: Path = data) -> list[str]:
        """One bench rag run, writing its report and answers into its own folder."""
        (tmp_path / run).mkdir()
        return ["-q", "bench", "rag", "--data", str(source), "--model", str(tiny_llama_dir), "--methods", "oracle",
                "--json", "--out", str(tmp_path / run), "--answers", str(tmp_path / run / "answers.jsonl"), *extra]

    def ids(run: str) -> list[str]:
        return [json.loads(line)["question_id"] for line in (tmp_path / run / "answers.jsonl").read_text().splitlines()]

    done = run_cli_session([asked("earlier", "--limit", "2"), asked("fresh", "--skip", "2", "--limit", "3"),
                            asked("five", "--limit", "5"), asked("beyond", "--skip", "40", "--limit", "2"),
                            asked("refused", "--skip", "1", "--limit", "2", source=small)])
    for run in done[:3]:
        run.check_returncode()
    assert json.loads((tmp_path / "fresh" / "rag.json").read_text())["params"]["skip"] == 2
    earlier, fresh = ids("earlier"), ids("fresh")
    assert len(fresh) == 3 and not set(earlier) & set(fresh) and earlier + fresh == ids("five")
    assert done[3].returncode == 2
    assert done[4].returncode == 2 and "does not begin with the draw of 1" in done[4].stderr


def test_generate_suite_matches_plain_generate(tmp_path: Path, tiny_llama_dir: Path) -> None:
    out = run_cli("-q", "bench", "generate", "--model", str(tiny_llama_dir), "--methods",
                  "transformers-generate,llm,load-folder", "--repeats", "1", "--new-tokens", "8", "--json",
                  "--out", str(tmp_path), check=True)
    rows = {r["method"]: r for r in json.loads(out.stdout)["results"]}
    assert rows["llm"]["metrics"]["same_text"] == 1.0
    assert rows["llm"]["timing"]["decode_tokens_per_s"] > 0
    assert rows["load-folder"]["timing"]["load_s"] > 0


def test_embed_suite_compares_runtimes(tmp_path: Path, tiny_bert_dir: Path) -> None:
    data = tmp_path / "texts.tsv"
    data.write_text("split\tlabel\ttext\n" + "".join(f"train\ta\tthe cat sat on mat {i}\n" for i in range(12)))
    out = run_cli("-q", "bench", "embed", "--data", str(data), "--model", str(tiny_bert_dir), "--methods",
                  "torch-fp32,onnx-fp32,onnx-int8", "--batch-sizes", "1,4", "--json", "--out", str(tmp_path), check=True)
    obj = json.loads(out.stdout)
    rows = {r["method"]: r for r in obj["results"]}
    assert set(rows) == {f"{m} b{b}" for m in ("torch-fp32", "onnx-fp32", "onnx-int8") for b in (1, 4)}
    assert rows["onnx-fp32 b4"]["metrics"]["cosine_min"] >= 0.9999
    assert rows["torch-fp32 b4"]["timing"]["gflops_per_s"] > 0
    assert obj["params"]["peak_gflops_measured_fp32_matmul"] > 0


def test_embed_suite_repeats_report_the_median_pass(tmp_path: Path, tiny_bert_dir: Path) -> None:
    data = tmp_path / "texts.tsv"
    data.write_text("split\tlabel\ttext\n" + "".join(f"train\ta\tthe cat sat on mat {i}\n" for i in range(12)))
    out = run_cli("-q", "bench", "embed", "--data", str(data), "--model", str(tiny_bert_dir), "--methods",
                  "onnx-fp32,torch-fp32", "--batch-sizes", "4", "--repeats", "3", "--json", "--out", str(tmp_path),
                  check=True)
    obj = json.loads(out.stdout)
    rows = {r["method"]: r for r in obj["results"]}
    for row in rows.values():
        passes = row["extra"]["texts_per_s_passes"]
        assert len(passes) == 3 and row["timing"]["texts_per_s"] == pytest.approx(sorted(passes)[1], rel=0.01)
    # onnx-fp32 ran first, yet its cosine is against torch-fp32
    assert rows["onnx-fp32 b4"]["metrics"]["cosine_min"] >= 0.9999
    assert obj["params"]["repeats"] == 3
    assert obj["params"]["threads_asked"] is None
    no_torch = run_cli("-q", "bench", "embed", "--data", str(data), "--model", str(tiny_bert_dir), "--methods",
                       "onnx-fp32", "--batch-sizes", "4", "--threads", "1", "--json", "--out", str(tmp_path),
                       check=True)
    one = json.loads(no_torch.stdout)
    assert one["results"][0]["metrics"] == {}
    # --threads pins torch (what the report's environment reads) and onnxruntime alike
    assert one["params"]["threads_asked"] == 1 and one["env"]["threads"] == 1
    bad = run_cli("-q", "bench", "embed", "--data", str(data), "--repeats", "0")
    assert bad.returncode == 2 and "--repeats" in bad.stderr


def test_embed_suite_opens_each_onnx_session_once(tmp_path: Path, tiny_bert_dir: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The timed passes only embed, as torch's do: the file hash, graph load and weight packing happen once."""
    import latentstack_onnx.embedder as onnx_embedder
    from latentstack_onnx.bench_embed import Runner

    runner = Runner(str(tiny_bert_dir), 64, tmp_path, threads=1)
    runner._export()  # its parity check opens sessions of its own
    opened: list[str] = []
    real = onnx_embedder.session

    def counting(path: Path, *args: object, **kwargs: object) -> object:
        opened.append(Path(path).name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(onnx_embedder, "session", counting)
    fp32, int8 = runner.embed_fn("onnx-fp32"), runner.embed_fn("onnx-int8")
    texts = ["the cat sat on the mat", "free prize", "ok"]
    vectors = [fp32(texts, 2) for _ in range(3)] + [int8(texts, 2) for _ in range(2)] + [fp32(texts, 4)]
    assert opened == ["model.onnx", "model.int8.onnx", "model.onnx"]  # per variant and batch size
    np.testing.assert_allclose(vectors[0], vectors[2])


def test_embed_suite_profiles_onnx_at_batch_32(tmp_path: Path, tiny_bert_dir: Path) -> None:
    """At batch 32 each ONNX row says where onnxruntime's kernel time went, on the threads asked for."""
    data = tmp_path / "texts.tsv"
    data.write_text("split\tlabel\ttext\n" + "".join(f"train\ta\tthe cat sat on mat {i}\n" for i in range(8)))
    out = run_cli("-q", "bench", "embed", "--data", str(data), "--model", str(tiny_bert_dir), "--methods",
                  "onnx-fp32", "--batch-sizes", "32", "--threads", "1", "--json", "--out", str(tmp_path), check=True)
    share = json.loads(out.stdout)["results"][0]["extra"]["op_time_share"]
    assert share and all(0 < v <= 1 for v in share.values()) and sum(share.values()) <= 1.001


def test_embed_suite_runs_a_decoders_torch_rows(tmp_path: Path, tiny_llama_dir: Path) -> None:
    """--embedder llm: fp32, bf16 and auto rows of the llm embedder, tokens counted by its own tokenizer; the auto row
    is the dtype its probe chose; ONNX rows are refused for a decoder."""
    data = tmp_path / "texts.tsv"
    data.write_text("split\tlabel\ttext\n" + "".join(f"train\ta\tthe cat sat on mat {i}\n" for i in range(6)))
    base = ["-q", "bench", "embed", "--data", str(data), "--embedder", "llm", "--model", str(tiny_llama_dir)]
    ran, refused = run_cli_session([[*base, "--batch-sizes", "4", "--json", "--out", str(tmp_path)],
                                    [*base, "--methods", "torch-fp32,onnx-int8"]])
    assert ran.returncode == 0, ran.stderr[-2000:]
    obj = json.loads(ran.stdout)
    rows = {r["method"]: r for r in obj["results"]}
    assert set(rows) == {"torch-fp32 b4", "torch-bf16 b4", "torch-auto b4"} and obj["params"]["embedder"] == "llm"
    auto = obj["params"]["torch_auto"]["dtype"]
    twin = rows["torch-fp32 b4" if auto == "float32" else "torch-bf16 b4"]["metrics"]
    assert rows["torch-auto b4"]["metrics"] == twin and rows["torch-fp32 b4"]["metrics"]["cosine_min"] == 1.0
    assert obj["params"]["tokens"] > 6 and rows["torch-fp32 b4"]["timing"]["gflops_per_s"] > 0
    assert refused.returncode == 2 and "only the torch rows" in refused.stderr and "onnx-int8" in refused.stderr


def test_sft_suite_measures_both_modes(tmp_path: Path, tiny_llama_dir: Path) -> None:
    data = tmp_path / "sft.jsonl"
    data.write_text("".join(json.dumps({"prompt": f"q{i}", "response": f"a{i}"}) + "\n" for i in range(8)))
    out = run_cli("-q", "bench", "sft", "--data", str(data), "--model", str(tiny_llama_dir), "--steps", "2",
                  "--batch-size", "2", "--methods", "lora,full,lora+mmap", "--json", "--out", str(tmp_path),
                  check=True, env={"MALLOC_MMAP_THRESHOLD_": "999"})
    rows = {r["method"]: r["timing"] for r in json.loads(out.stdout)["results"]}
    assert rows["lora"]["trainable_share"] < rows["full"]["trainable_share"] == 1.0
    assert rows["full"]["peak_rss_mb"] > 0
    # each probe process saw glibc's default, or the fixed threshold, whatever the caller's environment held
    assert [rows[m]["malloc_mmap_threshold"] for m in ("lora", "full", "lora+mmap")] == [0, 0, 131072]


def test_rag_suite_with_adapter_runs_base_and_adapter_side_by_side(tmp_path: Path, tiny_llama_dir: Path) -> None:
    from latentstack_llm.generator import LlmGenerator
    from latentstack_llm.sft import SftConfig, train_sft

    examples = [[{"role": "user", "content": f"question {i}"}, {"role": "assistant", "content": "zebra zebra [1]"}]
                for i in range(8)]
    train_sft(LlmGenerator.from_options(model=str(tiny_llama_dir)), examples, tmp_path / "ad",
              SftConfig(rank=4, epochs=3, lr=5e-2, batch_size=2))
    train_sft(LlmGenerator.from_options(model=str(tiny_llama_dir)), examples, tmp_path / "ad2",
              SftConfig(rank=4, epochs=1, lr=1e-2, batch_size=2, seed=1))
    data = tmp_path / "squad.json"
    data.write_text(json.dumps(SQUAD))
    common = ["-q", "bench", "rag", "--data", str(data), "--model", str(tiny_llama_dir), "--methods", "oracle",
              "--adapter", str(tmp_path / "ad"), "--json", "--out", str(tmp_path)]
    out = run_cli(*common, "--adapter", str(tmp_path / "ad2"), "--retention", "2", "--answers",
                  str(tmp_path / "answers.jsonl"), check=True)
    obj = json.loads(out.stdout)
    methods = [r["method"] for r in obj["results"]]
    assert methods == ["oracle", "retention", "oracle+ad", "retention+ad", "oracle+ad2", "retention+ad2"]
    answers = [json.loads(line) for line in (tmp_path / "answers.jsonl").read_text().splitlines()]
    replies = {m: [a["reply"] for a in answers if a["method"] == m] for m in ("oracle", "oracle+ad")}
    assert replies["oracle"] != replies["oracle+ad"]  # the adapter really was switched on for its rows
    rows = dict(zip(methods, obj["results"], strict=True))
    gain = rows["oracle+ad2"]["metrics"]
    assert gain["f1_gain_lo"] <= gain["f1_gain"] <= gain["f1_gain_hi"]
    assert abs(gain["f1_gain"] - (gain["f1"] - rows["oracle+ad"]["metrics"]["f1"])) < 1e-3
    assert rows["retention"]["metrics"]["lm_loss"] != rows["retention+ad"]["metrics"]["lm_loss"]
    only = json.loads(run_cli(*common, "--adapter-only", check=True).stdout)
    assert [r["method"] for r in only["results"]] == ["oracle+ad"]
    assert only["results"][0]["metrics"] == rows["oracle+ad"]["metrics"]
