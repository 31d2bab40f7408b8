"""A classifier's fine-tuning that goes on exactly where it stopped: each epoch's end and a stop (Ctrl-C, SIGTERM)
keep a checkpoint with the training state, and going on from one ends on the classifier an uninterrupted run gives."""

from __future__ import annotations

import contextlib
import json
import signal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from latentstack import get_classifier
from latentstack.checkpoint_keeper import CheckpointKeeper
from latentstack.errors import ConfigError, InputError
from latentstack.locks import LockedError
from latentstack.storage import component_dir, write_manifest
from latentstack.train_state import checkpoints_of, save_state
from latentstack_finetune.checkpoints import Keeping
from latentstack_finetune.classifier import FinetuneClassifier
from latentstack_finetune.training import train
from tests.conftest import another_writer, run_cli, signal_in_step, stop_in_progress
from tests.plugins.finetune.test_training import Net

TEXTS = [f"win a free prize now {i}" for i in range(12)] + [f"see you at lunch today {i}" for i in range(12)]
LABELS = ["spam"] * 12 + ["ham"] * 12
MODES = {"lora": {}, "full": {"mode": "full"}}  # lora: the probed mean head; full: BERT's own head, with dropout


def _stop_in(monkeypatch: pytest.MonkeyPatch, epoch: int, batches: int) -> None:
    """Make epoch ``epoch`` stop (Ctrl-C) once ``batches`` of its batches have trained."""
    import latentstack_finetune.training as training

    stop_in_progress(monkeypatch, training, batches, lambda desc: desc.startswith(f"epoch {epoch}/"))


def _fit(model: Path, out: Path, resume: Path | None = None, labels: list[str] = LABELS, every: int = 0,
         **options: Any) -> FinetuneClassifier:
    clf = FinetuneClassifier.from_options(model=str(model), epochs=3, lr=1e-2, batch_size=4, val_fraction=0.25,
                                          patience=5, **options)
    clf.keep_checkpoints(out, resume, every)
    return clf.fit(TEXTS, labels)


@pytest.fixture(scope="module", params=list(MODES))
def straight(request: pytest.FixtureRequest, tiny_bert_dir: Path,
             tmp_path_factory: pytest.TempPathFactory) -> tuple[str, FinetuneClassifier, Path]:
    """The run that never stopped, keeping its checkpoints and every 4 steps' (15 steps in all)."""
    out = tmp_path_factory.mktemp("straight") / "a"
    return request.param, _fit(tiny_bert_dir, out, every=4, **MODES[request.param]), out


def _held(checkpoint: Path) -> tuple[bool, bool]:
    """Whether ``checkpoint``'s training state holds the trained parameters, and a best epoch's copy of them."""
    from safetensors import safe_open

    with safe_open(str(checkpoint / "train-state" / "state.safetensors"), "pt") as f:
        names = [k.removeprefix("param/") for k in f.keys() if k.startswith("param/")]  # noqa: SIM118
    return any(not n.startswith("best/") for n in names), any(n.startswith("best/") for n in names)


def _same(a: FinetuneClassifier, b: FinetuneClassifier) -> None:
    assert np.allclose(a.predict_proba(TEXTS), b.predict_proba(TEXTS), atol=1e-6)
    assert [pytest.approx(row) for row in a.report["history"]] == b.report["history"]
    assert a.report["best_epoch"] == b.report["best_epoch"]


def test_the_newest_epochs_and_periodic_checkpoints_are_kept_and_each_goes_on(
        straight: tuple[str, FinetuneClassifier, Path], tiny_bert_dir: Path, tmp_path: Path) -> None:
    from latentstack import load_classifier

    mode, clf, out = straight
    assert sorted(p.name for p in checkpoints_of(out).iterdir()) == ["epoch-3", "step-12"]
    last = load_classifier(checkpoints_of(out) / "epoch-3")  # a classifier folder, as trained by then
    assert last.classes == clf.classes and last.predict_proba(TEXTS).shape == (len(TEXTS), 2)
    _same(clf, _fit(tiny_bert_dir, tmp_path / "b", resume=checkpoints_of(out) / "step-12", **MODES[mode]))


@pytest.mark.parametrize("inside", [False, True], ids=["between-steps", "inside-a-step"])
def test_a_stop_in_an_epoch_goes_on_to_the_uninterrupted_classifier(
        straight: tuple[str, FinetuneClassifier, Path], tiny_bert_dir: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], inside: bool) -> None:
    """Stopped before step 8, or by SIGTERM inside step 7 (the step kept with its position, not taken again)."""
    mode, whole, _ = straight
    if not inside:
        _stop_in(monkeypatch, 2, 2)  # 18 training texts: 5 batches an epoch, so step 7
    with signal_in_step(7, signal.SIGTERM) if inside else contextlib.nullcontext():
        stopped = _fit(tiny_bert_dir, tmp_path / "b", **MODES[mode])
    assert stopped.report["stopped_during_epoch"] == 2  # early stopping by hand, as without checkpoints
    kept = checkpoints_of(tmp_path / "b")
    assert sorted(p.name for p in kept.iterdir()) == ["epoch-1", "interrupted-step-7"]
    assert f"--resume {kept / 'interrupted-step-7'}" in capsys.readouterr().err
    # each tensor kept once: a full fine-tune's weights are the checkpoint's own, and at the best epoch's end the best
    assert _held(kept / "interrupted-step-7") == (mode == "lora", True)
    at_end = json.loads((kept / "epoch-1" / "train-state" / "state.json").read_text())["position"]
    assert _held(kept / "epoch-1") == (mode == "lora", at_end["best_epoch"] != 1)
    monkeypatch.undo()
    _same(whole, _fit(tiny_bert_dir, tmp_path / "c", resume=kept / "epoch-1", **MODES[mode]))
    _same(whole, _fit(tiny_bert_dir, tmp_path / "b", resume=kept / "interrupted-step-7", **MODES[mode]))
    assert "going on from" in capsys.readouterr().err
    assert sorted(p.name for p in kept.iterdir()) == ["epoch-3", "interrupted-step-7"]


def test_a_stop_in_the_first_epoch_keeps_its_steps(straight: tuple[str, FinetuneClassifier, Path],
                                                   tiny_bert_dir: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Full training has nothing to end on yet, so the stop stops everything; the probed head of lora is epoch 0,
    kept as the classifier. Either way the steps taken are kept to go on from."""
    mode, whole, _ = straight
    _stop_in(monkeypatch, 1, 3)
    if mode == "full":
        with pytest.raises(KeyboardInterrupt):
            _fit(tiny_bert_dir, tmp_path / "b", **MODES[mode])
    else:
        assert _fit(tiny_bert_dir, tmp_path / "b", **MODES[mode]).report["best_epoch"] == 0
    kept = checkpoints_of(tmp_path / "b") / "interrupted-step-3"
    monkeypatch.undo()
    _same(whole, _fit(tiny_bert_dir, tmp_path / "b", resume=kept, **MODES[mode]))


def test_a_checkpoint_goes_on_only_with_its_own_data_and_options(
        straight: tuple[str, FinetuneClassifier, Path], tiny_bert_dir: Path, tmp_path: Path) -> None:
    mode, _, out = straight
    checkpoint = checkpoints_of(out) / "epoch-3"
    with pytest.raises(InputError, match="other data or with other settings"):
        _fit(tiny_bert_dir, tmp_path / "d", resume=checkpoint, labels=LABELS[::-1], **MODES[mode])
    with pytest.raises(InputError, match="other data or with other settings"):
        _fit(tiny_bert_dir, tmp_path / "d", resume=checkpoint, seed=1, **MODES[mode])
    weight = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.AdamW([weight])
    save_state(tmp_path / "sft", {"w": weight}, (opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)),
               {"trainer": "sft", "run": "another", "step": 1})  # another trainer's position: no epochs in it
    with pytest.raises(InputError, match="holds the training state of a sft run, not finetune; resume it with its own"):
        _fit(tiny_bert_dir, tmp_path / "d", resume=tmp_path / "sft", **MODES[mode])
    assert not (tmp_path / "d").exists()


def test_a_second_run_into_one_out_is_refused_before_it_trains(tiny_bert_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "clf"
    with another_writer(out) as pid, pytest.raises(LockedError, match=rf"another training run \(pid {pid}\)"):
        _fit(tiny_bert_dir, out)
    assert not checkpoints_of(out).exists()


def _toy(out: Path, losses: list[float], resume: Path | None = None) -> tuple[dict[str, Any], Net, list[torch.Tensor]]:
    """The loop on a tiny net for 4 epochs, whose validation scores the losses in turn (a macro-F1 tie each time)."""
    torch.manual_seed(0)
    net, snapshots, calls = Net(), [], iter(losses)

    def predict_proba(_texts: list[str]) -> np.ndarray:
        snapshots.append(net.lin.weight.detach().clone())
        p = float(np.exp(-next(calls)))
        return np.array([[p, 1 - p], [p, 1 - p], [1 - p, p], [1 - p, p]])

    def save(where: Path, _position: Any) -> None:
        with component_dir(where, "classifier") as tmp:
            write_manifest(tmp, kind="classifier", plugin="toy")

    feats = {str(i): torch.tensor([float(i % 2), 1.0]) for i in range(8)}
    keeping = Keeping(CheckpointKeeper(out, save, "--resume {where}"), None if resume is None else str(resume), "toy")
    report = train(net, lambda texts: {"x": torch.stack([feats[t] for t in texts])}, list(feats),
                   np.array([i % 2 for i in range(8)]), ["a", "b", "c", "d"], np.array([0, 0, 1, 1]), epochs=4,
                   lr=0.1, batch_size=4, seed=0, weight_decay=0.0, warmup=0.0, patience=5,
                   predict_proba=predict_proba, keeping=keeping)
    return report, net, snapshots


def test_the_best_epochs_weights_come_back_with_the_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Epoch 2 is the best; a run stopped in epoch 4 and gone on from ends on epoch 2's weights, which only the
    checkpoint's state held (the weights it goes on with are epoch 3's and a batch)."""
    report, net, snaps = _toy(tmp_path / "a", [0.5, 0.2, 0.4, 0.3])
    assert report["best_epoch"] == 2 and torch.equal(net.lin.weight, snaps[1])
    _stop_in(monkeypatch, 4, 1)
    _toy(tmp_path / "b", [0.5, 0.2, 0.4])
    monkeypatch.undo()
    resumed, again, _ = _toy(tmp_path / "b", [0.3], checkpoints_of(tmp_path / "b") / "interrupted-step-7")
    assert resumed["best_epoch"] == 2 and [pytest.approx(row) for row in resumed["history"]] == report["history"]
    assert torch.equal(again.lin.weight, net.lin.weight)


def test_going_on_from_the_best_epochs_end_keeps_its_weights_as_the_best(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Saved at the best epoch's end, a checkpoint's state holds no best copy (the weights are it): a run gone on from
    it and stopped in the next epoch still ends on those weights."""
    _stop_in(monkeypatch, 2, 1)
    first, net, snaps = _toy(tmp_path / "a", [0.5])
    assert first["best_epoch"] == 1 and torch.equal(net.lin.weight, snaps[0])
    try:
        again, resumed, _ = _toy(tmp_path / "a", [], checkpoints_of(tmp_path / "a") / "epoch-1")
    except KeyboardInterrupt:  # a run with no best epoch stops everything
        pytest.fail("going on from the best epoch's end lost its weights as the best")
    assert again["best_epoch"] == 1 and again["stopped_during_epoch"] == 2
    assert torch.equal(resumed.lin.weight, net.lin.weight)


def test_resume_through_the_cli(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """classify train keeps finetune's checkpoints beside OUT and goes on with --resume; a classifier that trains in
    one go refuses --resume, and --resume alone with no checkpoint says to start without it."""
    data = tmp_path / "d.tsv"
    data.write_text("label\ttext\n" + "".join(f"{lab}\t{t}\n" for lab, t in zip(LABELS, TEXTS, strict=True)))
    out = tmp_path / "clf"
    base = ["classify", "train", "--data", str(data), "--model", str(tiny_bert_dir), "--out", str(out)]
    fresh = run_cli(*base, "--method", "finetune", "--resume")
    assert fresh.returncode == 1 and "holds no checkpoint" in fresh.stderr and "without --resume" in fresh.stderr
    run_cli("-q", *base, "--method", "finetune", "--epochs", "2", check=True)
    assert (checkpoints_of(out) / "epoch-2").is_dir()
    first = run_cli("classify", "predict", str(out), TEXTS[0], "--json", check=True).stdout
    again = run_cli(*base, "--method", "finetune", "--epochs", "2", "--resume", env={"LATENTSTACK_QUIET": ""})
    assert again.returncode == 0 and f"going on from {checkpoints_of(out) / 'epoch-2'}" in again.stderr
    assert run_cli("classify", "predict", str(out), TEXTS[0], "--json", check=True).stdout == first
    other = run_cli(*base, "--method", "finetune", "--epochs", "3", "--resume")
    assert other.returncode == 1 and "other data or with other settings" in other.stderr
    linear = run_cli(*base, "--embedder", "tfidf", "--resume")
    assert linear.returncode == 2 and "--resume applies to a classifier that keeps checkpoints" in linear.stderr
    assert "linear trains in one go" in linear.stderr
    every = run_cli(*base, "--embedder", "tfidf", "--save-every", "5")
    assert every.returncode == 2 and "--save-every applies to a classifier that keeps" in every.stderr
    with pytest.raises(ConfigError, match="the linear classifier trains in one go"):
        get_classifier("linear", embedder="tfidf").keep_checkpoints(out)
