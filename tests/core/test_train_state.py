"""The training state kept beside a checkpoint: what identifies a run, and what pruning old checkpoints may touch."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import torch

from latentstack import storage
from latentstack.checkpoint_keeper import CheckpointKeeper
from latentstack.errors import CorruptFileError, InputError
from latentstack.train_state import keep_newest, load_state, run_digest, save_state, saved_position


def _optim(steps: int) -> tuple[dict[str, torch.nn.Parameter], tuple[object, object]]:
    weight = torch.nn.Parameter(torch.zeros(2))
    opt = torch.optim.AdamW([weight], lr=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 / (s + 1))
    for _ in range(steps):
        weight.grad = torch.ones(2)
        opt.step()
        sched.step()
    return {"w": weight}, (opt, sched)


def test_a_run_is_its_data_in_order_and_its_settings() -> None:
    base = run_digest([[1, 2], [3]], {"lr": 0.1})
    assert base == run_digest([[1, 2], [3]], {"lr": 0.1})
    assert len({base, run_digest([[3], [1, 2]], {"lr": 0.1}), run_digest([[1, 2], [3]], {"lr": 0.2}),
                run_digest([[1, 2, 3]], {"lr": 0.1})}) == 4


def test_the_state_comes_back_whole_and_only_to_its_own_run(tmp_path: Path) -> None:
    trained, optim = _optim(3)
    save_state(tmp_path, trained, optim, {"run": "r", "step": 3})
    fresh, again = _optim(0)
    assert load_state(tmp_path, fresh, again, "r")["step"] == 3
    assert torch.equal(fresh["w"], trained["w"])
    assert again[1].last_epoch == 3 and again[0].param_groups[0]["lr"] == pytest.approx(0.1 / 4)  # type: ignore[attr-defined]
    assert torch.equal(again[0].state[fresh["w"]]["exp_avg"], optim[0].state[trained["w"]]["exp_avg"])  # type: ignore[attr-defined]
    with pytest.raises(InputError, match="other data or with other settings"):
        load_state(tmp_path, *_optim(0), "another run")
    with pytest.raises(InputError, match="holds no training state"):
        load_state(tmp_path / "nowhere", *_optim(0), "r")


def test_a_state_loads_into_the_parameters_it_holds_and_no_others(tmp_path: Path) -> None:
    """A trainer that now keeps fewer tensors (an earlier version's checkpoint held more) reads only its own."""
    trained, optim = _optim(2)
    save_state(tmp_path, {**trained, "best/w": trained["w"] * 2}, optim, {"run": "r", "step": 2})
    fresh, again = _optim(0)
    assert load_state(tmp_path, fresh, again, "r")["step"] == 2 and torch.equal(fresh["w"], trained["w"])
    with pytest.raises(InputError, match="of other parameters than the model's trainable ones"):
        load_state(tmp_path, {**fresh, "v": torch.nn.Parameter(torch.zeros(1))}, again, "r")


def test_the_position_is_read_hashing_its_json_and_the_tensors_are_checked_when_loaded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    save_state(tmp_path, *_optim(2), {"run": "r", "step": 2})
    hashed: list[str] = []
    real = storage.sha256_file
    monkeypatch.setattr(storage, "sha256_file", lambda path: hashed.append(Path(path).name) or real(path))
    assert saved_position(tmp_path)["step"] == 2
    assert hashed == ["state.json"]
    tensors = tmp_path / "train-state" / "state.safetensors"
    tensors.write_bytes(tensors.read_bytes()[:-1] + b"!")
    assert saved_position(tmp_path)["step"] == 2
    with pytest.raises(CorruptFileError, match="state.safetensors is truncated or corrupt"):
        load_state(tmp_path, *_optim(0), "r")
    (tmp_path / "train-state" / "state.json").write_text('{"position": {"step": 9}}')
    with pytest.raises(CorruptFileError, match="state.json is truncated or corrupt"):
        saved_position(tmp_path)


def test_a_manifest_checks_the_files_named_and_refuses_a_name_it_does_not_list(tmp_path: Path) -> None:
    save_state(tmp_path, *_optim(1), {"run": "r", "step": 1})
    folder = tmp_path / "train-state"
    (folder / "state.safetensors").write_bytes(b"cut")
    assert storage.read_manifest(folder, kind="train-state", verify=["state.json"]).data["step"] == 1
    with pytest.raises(CorruptFileError, match="truncated or corrupt"):
        storage.read_manifest(folder, kind="train-state", verify=["state.safetensors"])
    with pytest.raises(CorruptFileError, match="does not list weights.bin; save the folder again"):
        storage.read_manifest(folder, kind="train-state", verify=["weights.bin"])


def test_pruning_old_checkpoints_leaves_anything_else_there(tmp_path: Path) -> None:
    kept = tmp_path / "ckpt"
    for name in ("step-1", "step-2"):
        save_state(kept / name, *_optim(1), {"run": "r", "step": 1})
        (kept / name / "manifest.json").write_text('{"kind": "adapter"}')  # as the adapter's own save writes one
    notes = kept / "step-notes"
    notes.mkdir()
    (notes / "todo.txt").write_text("mine")
    keep_newest(kept, "step-", kept / "step-2")
    assert sorted(p.name for p in kept.iterdir()) == ["step-2", "step-notes"]
    assert (notes / "todo.txt").read_text() == "mine"


def test_the_keeper_keeps_the_newest_periodic_checkpoint_and_a_stopped_runs(tmp_path: Path,
                                                                             capsys: pytest.CaptureFixture[str]) -> None:
    trained, optim = _optim(0)
    weights_saved: list[int] = []

    def save(where: Path, position: Mapping[str, Any]) -> None:
        where.mkdir(parents=True, exist_ok=True)
        (where / "manifest.json").write_text('{"kind": "adapter"}')
        weights_saved.append(position["step"])

    keeper = CheckpointKeeper(tmp_path / "out", save, "`go --resume {where}`", trained=lambda: trained, optim=optim,
                              save_every=2)
    assert keeper.interrupted({"run": "r", "step": 0}) is None  # nothing trained, nothing kept
    for step in range(1, 6):
        trained["w"].grad = torch.ones(2)
        optim[0].step()  # type: ignore[attr-defined]
        keeper.stepped({"run": "r", "step": step})
    assert weights_saved == [2, 4]
    assert [p.name for p in (tmp_path / "out-checkpoints").iterdir()] == ["step-4"]
    where = keeper.interrupted({"run": "r", "step": 5})
    assert where is not None and where.name == "interrupted-step-5"
    said = capsys.readouterr().err
    assert f"after 5 optimiser step(s): the model as trained so far is in {where}" in said
    assert f"`go --resume {where}`" in said
    fresh, again = _optim(0)
    position = CheckpointKeeper(tmp_path / "out", save, "", trained=lambda: fresh, optim=again).resume(where, "r")
    assert position["step"] == 5 and torch.equal(fresh["w"], trained["w"])
