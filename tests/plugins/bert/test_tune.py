"""Fine-tuning an embedder on text pairs (``adapt embedder``): batches, the loss, what is learnt and saved."""

from __future__ import annotations

import contextlib
import json
import string
from pathlib import Path

import numpy as np
import pytest

from latentstack.data.text_pairs import TextPair
from latentstack.errors import InputError
from latentstack.locks import LockedError
from latentstack_bert.embedder import BertEmbedder
from latentstack_bert.tune import TuneConfig, batches, ranking_loss, tune_embedder
from latentstack_bert.tune_eval import corpus_of, found, split_by_anchor
from tests.conftest import another_writer, run_cli, signal_in_step, stop_in_progress

#: Sixteen letters, each to be found by a word it has nothing in common with: only training puts them together.
WORDS = ["the", "cat", "dog", "sat", "on", "mat", "free", "prize", "win", "call", "now", "hello", "world", "stock",
         "market", "fell"]
LEARNT = [TextPair(letter, word) for letter, word in zip(string.ascii_lowercase, WORDS[5:] + WORDS[:5], strict=False)]


def _embedder(folder: Path) -> BertEmbedder:
    return BertEmbedder.from_options(model=str(folder), dtype="float32", show_progress=False)


def test_batches_hold_no_text_twice_and_every_pair_once() -> None:
    pairs = [TextPair(f"q{i}", f"p{i % 5}", (f"n{i % 3}",)) for i in range(20)]
    plan = batches(pairs, 4, seed=1)
    assert sorted(map(repr, (p for b in plan for p in b))) == sorted(map(repr, pairs))
    for batch in plan:
        texts = [t for p in batch for t in (p.anchor, p.positive, *p.negatives)]
        assert len(texts) == len(set(texts)) and len(batch) <= 4
    assert plan == batches(pairs, 4, seed=1) and plan != batches(pairs, 4, seed=2)
    assert batches([TextPair("same", "same")], 4, seed=0) == [[TextPair("same", "same")]]


def test_the_loss_is_cross_entropy_over_scaled_cosines() -> None:
    import torch

    rng = np.random.default_rng(0)
    anchors, candidates = rng.normal(size=(3, 5)), rng.normal(size=(4, 5))
    a = anchors / np.linalg.norm(anchors, axis=1, keepdims=True)
    c = candidates / np.linalg.norm(candidates, axis=1, keepdims=True)
    logits = 20 * a @ c.T
    by_hand = np.mean([np.log(np.exp(row).sum()) - row[i] for i, row in enumerate(logits)])
    loss = ranking_loss(torch.tensor(anchors), torch.tensor(candidates), 20.0)
    assert float(loss) == pytest.approx(by_hand, rel=1e-6)


def test_a_held_out_share_is_split_by_anchor() -> None:
    pairs = [TextPair(f"q{i // 2}", f"p{i}") for i in range(60)]
    train, held = split_by_anchor(pairs, 0.34, seed=0)
    assert len({p.anchor for p in held}) == 10 and not {p.anchor for p in train} & {p.anchor for p in held}
    assert len(train) + len(held) == 60
    assert split_by_anchor(pairs, 0.1, seed=0) == (pairs, [])  # 3 anchors say too little


def test_minilm_learns_the_pairs_and_both_readers_read_the_folder(tmp_path: Path) -> None:
    base, corpus = BertEmbedder.from_options(dtype="float32", show_progress=False), corpus_of(LEARNT)
    config = TuneConfig(epochs=12, batch_size=8, lr=1e-4)
    report = tune_embedder(LEARNT, tmp_path / "tuned", config, holdout=0.0)
    tuned = _embedder(tmp_path / "tuned")
    before, after = found(base, LEARNT, corpus), found(tuned, LEARNT, corpus)
    assert before.recall_at_1 < 0.3 and after.recall_at_1 > 0.9, (before, after)
    assert report["loss_last"] < report["loss_first"] and report["steps"] == 24 and "held_out" not in report
    assert tuned.fingerprint() != base.fingerprint() and tuned.pooling == "mean" and tuned.max_length == 256
    for name in ("modules.json", "1_Pooling/config.json", "sentence_bert_config.json", "tokenizer.json"):
        assert (tmp_path / "tuned" / name).read_bytes() == (base.resolved.path / name).read_bytes(), name
    st = pytest.importorskip("sentence_transformers")
    texts = ["a", "The cat sat on the mat.", "Win a prize now!"]
    theirs = st.SentenceTransformer(str(tmp_path / "tuned"), device="cpu").encode(texts)
    np.testing.assert_allclose(tuned.embed_many(texts), theirs, atol=1e-5)


def test_the_held_out_anchors_are_searched_before_and_after(tiny_bert_dir: Path, tmp_path: Path) -> None:
    pairs = [TextPair(f"{a} {b}", f"{b} {WORDS[i]}") for i, (a, b) in enumerate(zip(WORDS, WORDS[3:] + WORDS[:3]))]
    pairs += [TextPair(f"{a} {WORDS[0]}", f"{WORDS[1]} {a}") for a in string.ascii_lowercase]
    report = tune_embedder(pairs, tmp_path / "tuned", TuneConfig(model=str(tiny_bert_dir)), holdout=0.25)
    held = report["held_out"]
    assert held["anchors"] == 10 and held["texts"] == len(corpus_of(pairs)) and report["pairs"] == len(pairs) - 10
    assert set(held["before"]) == set(held["after"]) == {"recall@1", "recall@10", "mrr@10"}
    manifest = json.loads((tmp_path / "tuned" / "manifest.json").read_text())
    assert manifest["kind"] == "model" and manifest["data"]["held_out"] == held


def test_tuning_again_changes_the_fingerprint(tiny_bert_dir: Path, tmp_path: Path) -> None:
    first = TuneConfig(model=str(tiny_bert_dir), epochs=1, batch_size=8)
    tune_embedder(LEARNT, tmp_path / "tuned", first, holdout=0.0)
    was = _embedder(tmp_path / "tuned").fingerprint()
    tune_embedder(LEARNT, tmp_path / "tuned", TuneConfig(model=str(tiny_bert_dir), epochs=1, batch_size=8, seed=1),
                  holdout=0.0)
    assert _embedder(tmp_path / "tuned").fingerprint() != was


def test_the_command_refuses_a_folder_of_the_users_files_before_training(tiny_bert_dir: Path, tmp_path: Path) -> None:
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps({"anchor": p.anchor, "positive": p.positive}) + "\n" for p in LEARNT))
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    out = run_cli("-q", "adapt", "embedder", str(pairs), "--out", str(mine), "--model", str(tiny_bert_dir))
    assert out.returncode != 0 and "did not write (notes.txt" in out.stderr
    assert (mine / "notes.txt").read_text() == "keep me" and sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
    out = run_cli("-q", "adapt", "embedder", str(pairs), "--out", str(tmp_path / "t"), "--model", str(tiny_bert_dir),
                  "--batch-size", "8", "--holdout", "0")
    assert out.returncode == 0, out.stderr
    assert "2 steps on 16 pairs" in out.stdout and f"--model {tmp_path / 't'}" in out.stdout
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "q", "answer": "a"}\n')
    out = run_cli("-q", "adapt", "embedder", str(bad), "--out", str(tmp_path / "u"), "--model", str(tiny_bert_dir))
    assert out.returncode != 0 and "bad.jsonl:1: each row needs" in out.stderr and not (tmp_path / "u").exists()


def test_a_saved_model_folder_is_not_an_adapter_or_index(tiny_bert_dir: Path, tmp_path: Path) -> None:
    tune_embedder(LEARNT, tmp_path / "tuned", TuneConfig(model=str(tiny_bert_dir), epochs=1), holdout=0.0)
    from latentstack.storage import check_replaceable

    with pytest.raises(InputError, match="holds a saved model, not an adapter"):
        check_replaceable(tmp_path / "tuned", "adapter")


class _Fixed:
    """Vectors chosen by hand: the ranking mining reads is known in advance."""

    def __init__(self, vectors: dict[str, list[float]]) -> None:
        self.vectors = vectors

    def embed_many(self, texts: list[str], kind: str = "") -> np.ndarray:
        rows = np.array([self.vectors[t] for t in texts], dtype=np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_mined_negatives_skip_the_anchors_positives_and_near_ties() -> None:
    from latentstack_bert.tune_mining import with_mined_negatives

    fixed = _Fixed({"q": [1, 0, 0], "p": [0.8, 0.6, 0], "p2": [0.8, 0, 0.6], "tie": [0.79, 0.61, 0.0],
                    "close": [0.6, 0.8, 0], "far": [0, 1, 0], "named": [0, 0, 1], "r": [0, 0, 1]})
    pairs = [TextPair("q", "p"), TextPair("q", "p2", ("named",)), TextPair("r", "named")]
    corpus = ["p", "p2", "tie", "close", "far", "named", "q"]
    mined = with_mined_negatives(fixed, pairs, corpus, fixed.embed_many(corpus), 2)  # type: ignore[arg-type]
    assert mined[0] == TextPair("q", "p", ("close", "far"))  # "tie" scores within 5% of p; p2 is q's too
    assert mined[1] == TextPair("q", "p2", ("named", "close", "far"))
    assert mined[2] == TextPair("r", "named", ("p2", "p"))  # ties in corpus order


def test_ctrl_c_keeps_the_model_trained_so_far(tiny_bert_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Minutes of training were lost to Ctrl-C; the model so far is saved, named, and tuning goes on from it."""
    _stop_tuning_after(monkeypatch, 2)
    config = TuneConfig(model=str(tiny_bert_dir), batch_size=4, lr=1e-3)
    with pytest.raises(KeyboardInterrupt):
        tune_embedder(LEARNT, tmp_path / "tuned", config, holdout=0.0)
    kept = tmp_path / "tuned-checkpoints" / "interrupted-step-2"
    assert not (tmp_path / "tuned").exists() and f"--model {kept}" in capsys.readouterr().err
    trained, base = _embedder(kept).embed_many(["the cat"]), _embedder(tiny_bert_dir).embed_many(["the cat"])
    assert not np.allclose(trained, base, atol=1e-4)  # the weights as trained, not the starting ones
    monkeypatch.undo()
    report = tune_embedder(LEARNT, tmp_path / "tuned", TuneConfig(model=str(kept), batch_size=4), holdout=0.0)
    assert report["steps"] == 4 and _embedder(tmp_path / "tuned").embed_many(["a"]).shape == (1, 32)


def test_pairs_that_only_make_batches_of_one_are_refused(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """One pair, or questions all about one passage, have nothing in a batch to tell apart: the loss is 0 and a copy
    of the model was saved as tuned."""
    config = TuneConfig(model=str(tiny_bert_dir))
    for pairs in ([TextPair("q", "p")], [TextPair(f"q{i}", "the one passage") for i in range(20)]):
        with pytest.raises(InputError, match="only batches of one pair without a negative"):
            tune_embedder(pairs, tmp_path / "tuned", config, holdout=0.0)
    assert not (tmp_path / "tuned").exists()
    report = tune_embedder([TextPair("q", "p", ("n",))], tmp_path / "tuned", config, holdout=0.0)
    assert report["steps"] == 1 and report["loss_first"] > 0  # a negative gives the one pair something to learn


def test_the_folder_records_the_pooling_and_length_trained_with(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """A plain folder tuned with [CLS] pooling and 16 tokens reads back so, in both readers; tuned again from
    there with mean pooling, the folder's own Pooling module is rewritten."""
    config = TuneConfig(model=str(tiny_bert_dir), pooling="cls", max_length=16, epochs=1, batch_size=8)
    tune_embedder(LEARNT, tmp_path / "cls", config, holdout=0.0)
    tuned = _embedder(tmp_path / "cls")
    assert (tuned.pooling, tuned.max_length) == ("cls", 16)
    st = pytest.importorskip("sentence_transformers")
    texts = ["the cat sat on the mat " * 4, "win"]
    theirs = st.SentenceTransformer(str(tmp_path / "cls"), device="cpu").encode(texts)
    np.testing.assert_allclose(tuned.embed_many(texts), theirs, atol=1e-5)
    again = TuneConfig(model=str(tmp_path / "cls"), pooling="mean", epochs=1, batch_size=8)
    tune_embedder(LEARNT, tmp_path / "mean", again, holdout=0.0)
    assert (_embedder(tmp_path / "mean").pooling, _embedder(tmp_path / "mean").max_length) == ("mean", 16)


@pytest.mark.parametrize("inside", [False, True], ids=["between-steps", "inside-a-step"])
def test_a_stopped_tuning_resumes_to_the_weights_of_a_straight_run(tiny_bert_dir: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch, inside: bool) -> None:
    """Stopped in its second epoch (before step 5, or by Ctrl-C inside step 4): the weights, the schedule, the mined
    negatives and the held-out scores before training all come back (the starting model, which mined and scored them, is gone by then)."""
    import torch
    from safetensors.torch import load_file

    config = TuneConfig(model=str(tiny_bert_dir), batch_size=8, lr=1e-3, epochs=2, negatives=1)
    pairs = [TextPair(f"{letter}{i}", f"{WORDS[i]} {i}") for i in range(16) for letter in "ab"] + LEARNT
    straight = tune_embedder(pairs, tmp_path / "a", config, holdout=0.25)  # 12 of 48 anchors held out
    if not inside:
        _stop_tuning_after(monkeypatch, 4)
    with signal_in_step(4) if inside else contextlib.nullcontext(), pytest.raises(KeyboardInterrupt):
        tune_embedder(pairs, tmp_path / "b", config, holdout=0.25, save_every=3)
    kept = tmp_path / "b-checkpoints"
    assert sorted(p.name for p in kept.iterdir()) == ["interrupted-step-4", "step-3"]
    monkeypatch.undo()
    resumed = tune_embedder(pairs, tmp_path / "b", config, holdout=0.25, resume=kept / "interrupted-step-4")
    assert straight["held_out"]["anchors"] == 12 and straight["negatives"] > 0
    for key in ("steps", "negatives", "loss_first", "held_out"):
        assert resumed[key] == straight[key], key
    a, b = load_file(str(tmp_path / "a" / "model.safetensors")), load_file(str(tmp_path / "b" / "model.safetensors"))
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    assert not (tmp_path / "b" / "train-state").exists()  # the checkpoint's state is not copied into the result
    other = run_cli("adapt", "embedder", str(_pairs_file(tmp_path)), "--out", str(tmp_path / "c"), "--resume",
                    str(kept / "step-3"), "--lr", "0.1")
    assert other.returncode == 2 and "--lr applies to a fresh run" in other.stderr



def test_a_second_tuning_into_the_same_out_is_refused_before_it_loads(tiny_bert_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "m"
    with another_writer(out) as pid, pytest.raises(LockedError, match=rf"written by another training run \(pid {pid}\)"):
        tune_embedder(LEARNT, out, TuneConfig(model=str(tiny_bert_dir)), save_every=1)
    assert not out.exists() and not out.with_name("m-checkpoints").exists()

def _pairs_file(tmp_path: Path) -> Path:
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps({"anchor": p.anchor, "positive": p.positive}) + "\n" for p in LEARNT),
                    encoding="utf-8")
    return path


def _stop_tuning_after(monkeypatch: pytest.MonkeyPatch, steps: int) -> None:
    """Make the tuning loop stop (Ctrl-C) once ``steps`` more of its batches have run."""
    import latentstack_bert.tune as tune

    stop_in_progress(monkeypatch, tune, steps, lambda desc: desc == "tuning")
