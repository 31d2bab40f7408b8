"""The finetune training loop's epoch choice: macro-F1 first, validation loss on a tie, weights restored."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score, log_loss

from latentstack_finetune.training import batches_for_epoch, better, train, validation_score


def test_validation_score_is_macro_f1_and_cross_entropy() -> None:
    y = np.array([0, 0, 1, 1, 1])
    proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.3, 0.7], [0.6, 0.4]])
    f1, loss = validation_score(y, proba)
    assert f1 == pytest.approx(f1_score(y, proba.argmax(axis=1), average="macro"))
    assert loss == pytest.approx(log_loss(y, proba))


def test_tie_on_f1_goes_to_lower_loss() -> None:
    assert better((0.95, 0.10), (0.95, 0.20))
    assert not better((0.95, 0.30), (0.95, 0.20))
    assert better((0.96, 0.90), (0.95, 0.10))  # F1 first, however unsure
    assert not better((0.94, 0.01), (0.95, 0.10))
    assert better((0.5, 1.0), None)


class Net(torch.nn.Module):
    """A tiny trainable model in the shape train() expects: keyword inputs, labels -> .loss."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(2, 2)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> Any:
        return SimpleNamespace(loss=torch.nn.functional.cross_entropy(self.lin(x), labels))


def run(losses: list[float] | None, patience: int, epochs: int = 0,
        score_start: bool = False) -> tuple[dict[str, Any], Net, list[torch.Tensor]]:
    """Train Net for len(losses) epochs; validation is always right (a macro-F1 tie) with these losses in turn.

    ``losses`` None: no validation split, ``epochs`` epochs.
    """
    torch.manual_seed(0)
    net, snapshots, calls = Net(), [], iter(losses or [])
    val_texts, val_y = (["a", "b", "c", "d"], np.array([0, 0, 1, 1])) if losses else ([], np.array([], dtype=int))

    def predict_proba(_texts: list[str]) -> np.ndarray:
        snapshots.append(net.lin.weight.detach().clone())
        p = float(np.exp(-next(calls)))
        return np.array([[p, 1 - p], [p, 1 - p], [1 - p, p], [1 - p, p]])

    feats = {str(i): torch.tensor([float(i % 2), 1.0]) for i in range(8)}
    encode = lambda texts: {"x": torch.stack([feats[t] for t in texts])}  # noqa: E731
    report = train(net, encode, list(feats), np.array([i % 2 for i in range(8)]), val_texts, val_y,
                   epochs=len(losses) - score_start if losses else epochs, lr=0.1, batch_size=4, seed=0,
                   weight_decay=0.0, warmup=0.0, patience=patience, predict_proba=predict_proba,
                   score_start=score_start)
    return report, net, snapshots


def test_a_tie_with_lower_loss_is_kept_and_its_weights_restored() -> None:
    report, net, snaps = run([0.5, 0.2, 0.4], patience=5)
    assert report["best_epoch"] == 2
    assert [round(h["val_loss"], 3) for h in report["history"]] == [0.5, 0.2, 0.4]
    assert [h["val_macro_f1"] for h in report["history"]] == [1.0, 1.0, 1.0]
    assert torch.equal(net.lin.weight, snaps[1]) and not torch.equal(net.lin.weight, snaps[2])


def test_the_start_is_scored_and_kept_when_no_epoch_beats_it() -> None:
    """score_start: the weights before training (a probed head) are epoch 0; worse epochs are undone."""
    report, net, snaps = run([0.1, 0.3, 0.2], patience=5, score_start=True)
    assert report["best_epoch"] == 0 and [h["epoch"] for h in report["history"]] == [0, 1, 2]
    assert "loss" not in report["history"][0] and torch.equal(net.lin.weight, snaps[0])
    assert not torch.equal(snaps[0], snaps[1])
    report, net, snaps = run([0.3, 0.1, 0.2], patience=5, score_start=True)
    assert report["best_epoch"] == 1 and torch.equal(net.lin.weight, snaps[1])


def test_patience_counts_epochs_without_improvement() -> None:
    report, _, _ = run([0.2, 0.3, 0.4, 0.1], patience=1)
    assert len(report["history"]) == 3 and report["best_epoch"] == 1


def test_without_validation_the_last_epoch_stays() -> None:
    report, _, snaps = run(None, patience=0, epochs=3)
    assert report["best_epoch"] == 3 and len(report["history"]) == 3 and report["best_val_macro_f1"] is None
    assert snaps == []  # nothing was validated


@pytest.mark.parametrize("grouped", [False, True])
def test_batches_cover_every_index_once_and_repeat_with_the_seed(grouped: bool) -> None:
    lengths = np.random.default_rng(1).integers(1, 128, size=1003) if grouped else None
    batches = batches_for_epoch(np.random.default_rng(0), 1003, 16, lengths)
    assert sorted(np.concatenate(batches).tolist()) == list(range(1003))
    assert max(len(b) for b in batches) == 16
    again = batches_for_epoch(np.random.default_rng(0), 1003, 16, lengths)
    assert all(np.array_equal(a, b) for a, b in zip(batches, again, strict=True))


def test_length_grouping_cuts_padding_and_keeps_batches_shuffled() -> None:
    lengths = np.random.default_rng(1).integers(1, 128, size=4000)

    def padded(grouped: bool) -> int:
        batches = batches_for_epoch(np.random.default_rng(0), 4000, 16, lengths if grouped else None)
        return sum(len(b) * lengths[b].max() for b in batches)

    assert padded(True) < 0.7 * padded(False)
    first = [lengths[b].max() for b in batches_for_epoch(np.random.default_rng(0), 4000, 16, lengths)[:20]]
    assert first != sorted(first, reverse=True)  # batch order is shuffled, not long-to-short


def _stop_in_epoch(monkeypatch: pytest.MonkeyPatch, epoch: int) -> list[torch.Tensor]:
    """Make the ``epoch``-th epoch stop (Ctrl-C) once its batches have trained; the weights each epoch left."""
    import latentstack_finetune.training as training

    real, left = training._Step.epoch, []

    def stopping(self: Any, *args: Any) -> None:
        real(self, *args)
        left.append(self.model.lin.weight.detach().clone())
        if len(left) == epoch:
            raise KeyboardInterrupt

    monkeypatch.setattr(training._Step, "epoch", stopping)
    return left


def test_a_stop_after_an_epoch_keeps_the_best_so_far(monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Ctrl-C or SIGTERM in a long fine-tuning lost every finished epoch; it is early stopping by hand now."""
    _stop_in_epoch(monkeypatch, 3)
    report, net, snaps = run([0.5, 0.2, 0.4, 0.1], patience=5)
    assert report["stopped_during_epoch"] == 3 and report["best_epoch"] == 2 and len(report["history"]) == 2
    assert torch.equal(net.lin.weight, snaps[1])
    assert "stopped during epoch 3: training ends here, keeping epoch 2's weights" in capsys.readouterr().err


def test_without_validation_a_stop_keeps_the_last_whole_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    left = _stop_in_epoch(monkeypatch, 3)
    report, net, _ = run(None, patience=0, epochs=4)
    assert report["best_epoch"] == 2 and report["stopped_during_epoch"] == 3
    assert torch.equal(net.lin.weight, left[1]) and not torch.equal(net.lin.weight, left[2])


def test_a_stop_in_the_first_epoch_stops_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    _stop_in_epoch(monkeypatch, 1)
    with pytest.raises(KeyboardInterrupt):
        run([0.5, 0.2], patience=5)
