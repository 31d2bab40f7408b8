"""SFT and DPO that go on exactly where it stopped: checkpoints every N steps and on a stop (Ctrl-C, SIGTERM) keep the
training state, and ``--resume`` ends with the weights an uninterrupted run gives."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import attrs
import pytest
import torch
from safetensors.torch import load_file

from latentstack.data.prefs import Pair
from latentstack.errors import CorruptFileError, InputError
from latentstack.locks import LockedError
from latentstack.train_state import STATE, checkpoints_of
from latentstack_llm.dpo import DpoConfig, train_dpo
from latentstack_llm.generator import LlmGenerator
from latentstack_llm.sft import SftConfig, train_sft
from tests.conftest import another_writer, run_cli, signal_in_step, stop_in_progress

ROWS = [[{"role": "user", "content": f"question {i}"}, {"role": "assistant", "content": f"answer {i} " * (1 + i % 3)}]
        for i in range(8)]
# dropout draws from torch's random state; two batches per step put a stop between a step's batches
CONFIG = SftConfig(rank=2, lr=1e-2, batch_size=2, grad_accum=2, epochs=2, dropout=0.1, save_dtype="float32")


def _train(model_dir: Path, out: Path, **kw: Any) -> dict[str, Any]:
    return train_sft(LlmGenerator.from_options(model=str(model_dir)), ROWS, out, CONFIG, **kw)


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(str(folder / "adapter_model.safetensors"))


def _same(a: Path, b: Path) -> None:
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    for key in wa:
        assert torch.allclose(wa[key], wb[key], atol=1e-6), key


def _stop_in_epoch(monkeypatch: pytest.MonkeyPatch, epoch: int, batches: int, module: Any = None) -> None:
    """Make epoch ``epoch``'s batches stop (Ctrl-C) once ``batches`` more of them have run."""
    import latentstack_llm.sft as sft

    stop_in_progress(monkeypatch, module or sft, batches, lambda desc: f"epoch {epoch}" in desc)


@pytest.fixture(scope="module")
def straight(tiny_llama_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The run that never stopped, saving every step."""
    out = tmp_path_factory.mktemp("straight") / "a"
    return out, _train(tiny_llama_dir, out, save_every=1)


def test_a_stop_between_a_steps_batches_resumes_to_the_same_weights(
        tiny_llama_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, straight: tuple[Path, dict[str, Any]],
        capsys: pytest.CaptureFixture[str]) -> None:
    _stop_in_epoch(monkeypatch, 2, 3)  # epoch 2's third batch ran, its step not yet taken
    with pytest.raises(KeyboardInterrupt):
        _train(tiny_llama_dir, tmp_path / "b")
    kept = tmp_path / "b-checkpoints" / "interrupted-step-3"
    assert (kept / STATE / "state.safetensors").exists() and not (tmp_path / "b").exists()
    assert f"--resume {kept}" in capsys.readouterr().err
    monkeypatch.undo()
    report = _train(tiny_llama_dir, tmp_path / "b", resume=kept)
    _same(straight[0], tmp_path / "b")
    assert [h["loss"] for h in report["history"]] == pytest.approx([h["loss"] for h in straight[1]["history"]])
    assert report["history"][-1]["steps"] == straight[1]["history"][-1]["steps"] == 4


def test_a_stop_inside_an_optimiser_step_keeps_that_step_with_its_position(
        tiny_llama_dir: Path, tmp_path: Path, straight: tuple[Path, dict[str, Any]]) -> None:
    """SIGTERM after step 3 has moved the weights, before the step is counted: the step is kept as taken, so going
    on does not take it twice."""
    with signal_in_step(3, signal.SIGTERM), pytest.raises(KeyboardInterrupt):
        _train(tiny_llama_dir, tmp_path / "b")
    kept = tmp_path / "b-checkpoints" / "interrupted-step-3"
    report = _train(tiny_llama_dir, tmp_path / "b", resume=kept)
    _same(straight[0], tmp_path / "b")
    assert report["history"][-1]["steps"] == straight[1]["history"][-1]["steps"] == 4


def test_a_stop_during_the_held_out_loss_keeps_the_whole_epoch(tiny_llama_dir: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import latentstack_llm.sft as sft

    config = attrs.evolve(CONFIG, holdout=0.25)
    straight = train_sft(LlmGenerator.from_options(model=str(tiny_llama_dir)), ROWS, tmp_path / "a", config)
    real, calls = sft.eval_loss, []

    def eval_loss(*args: Any) -> float:
        calls.append(1)
        if len(calls) == 1:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(sft, "eval_loss", eval_loss)
    with pytest.raises(KeyboardInterrupt):
        train_sft(LlmGenerator.from_options(model=str(tiny_llama_dir)), ROWS, tmp_path / "b", config)
    monkeypatch.undo()
    resumed = train_sft(LlmGenerator.from_options(model=str(tiny_llama_dir)), ROWS, tmp_path / "b", config,
                        resume=tmp_path / "b-checkpoints" / "interrupted-step-2")  # epoch 1's two steps
    assert [h["eval_loss"] for h in resumed["history"]] == [h["eval_loss"] for h in straight["history"]]
    _same(tmp_path / "a", tmp_path / "b")


def test_periodic_checkpoints_keep_the_newest_and_each_resumes(tiny_llama_dir: Path, tmp_path: Path,
                                                               straight: tuple[Path, dict[str, Any]],
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    kept = straight[0].with_name("a-checkpoints")
    assert sorted(p.name for p in kept.iterdir()) == ["epoch-1", "epoch-2", "step-4"]
    _train(tiny_llama_dir, tmp_path / "c", resume=kept / "epoch-1")
    _same(straight[0], tmp_path / "c")
    err = capsys.readouterr().err
    assert "sft epoch 2/2" in err and "loss=" in err  # the bar shows the loss (it never did: a generator wrapped it)


def test_a_checkpoint_goes_on_only_with_its_own_data(tiny_llama_dir: Path, tmp_path: Path,
                                                     straight: tuple[Path, dict[str, Any]]) -> None:
    gen = LlmGenerator.from_options(model=str(tiny_llama_dir))
    with pytest.raises(InputError, match="other data or with other settings"):
        train_sft(gen, ROWS[:6], tmp_path / "d", CONFIG, resume=straight[0].with_name("a-checkpoints") / "epoch-1")
    assert not (tmp_path / "d").exists()


def test_resume_refuses_other_settings_a_stateless_folder_and_a_damaged_state(
        tiny_llama_dir: Path, tmp_path: Path, straight: tuple[Path, dict[str, Any]]) -> None:
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps({"messages": m}) + "\n" for m in ROWS), encoding="utf-8")
    checkpoint = straight[0].with_name("a-checkpoints") / "epoch-1"
    base = ["adapt", "sft", "--data", str(data), "--out", str(tmp_path / "e")]
    other = run_cli(*base, "--resume", str(checkpoint), "--lr", "0.5")
    assert other.returncode == 2 and "--lr applies to a fresh run" in other.stderr
    done = run_cli(*base, "--resume", str(straight[0]))  # the final adapter keeps no state
    assert done.returncode != 0 and "holds no training state" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    done = run_cli(*base, "--resume")  # nothing saved for OUT yet
    assert done.returncode != 0 and "e-checkpoints holds no checkpoint with a training state" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    broken = tmp_path / "broken"
    import shutil

    shutil.copytree(checkpoint, broken)
    with open(broken / STATE / "state.safetensors", "r+b") as fh:
        fh.seek(-64, 2)
        fh.write(bytes(255 - b for b in fh.read(8)))
    with pytest.raises(CorruptFileError, match="checksum"):
        _train(tiny_llama_dir, tmp_path / "f", resume=broken)
    done = run_cli(*base, "--resume", str(broken))
    assert done.returncode != 0 and "checksum mismatch" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "e").exists() and not (tmp_path / "f").exists()


def test_sigterm_keeps_the_run_and_the_cli_resumes_it(tiny_llama_dir: Path, tmp_path: Path) -> None:
    """`kill` (a scheduler taking the machine back) lost every step since the last epoch's end."""
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps({"messages": ROWS[i % 8]}) + "\n" for i in range(120)), encoding="utf-8")
    cmd = [sys.executable, "-m", "latentstack", "adapt", "sft", "--data", str(data), "--out", str(tmp_path / "g"),
           "--model", str(tiny_llama_dir), "--rank", "2", "--batch-size", "1", "--save-every", "5"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not list((tmp_path / "g-checkpoints").glob("step-*")) and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode != 0, err
    kept = sorted((tmp_path / "g-checkpoints").glob("interrupted-step-*"))
    assert len(kept) == 1 and (kept[0] / STATE / "manifest.json").exists(), err
    done = run_cli("adapt", "sft", "--data", str(data), "--out", str(tmp_path / "g"), "--resume")  # alone: the newest
    assert done.returncode == 0, done.stderr
    assert f"going on from {kept[0]}" in done.stderr
    report = json.loads((tmp_path / "g" / "training.json").read_text(encoding="utf-8"))
    assert report["history"][-1]["steps"] == 120 and report["config"]["rank"] == 2


PAIRS = [Pair([{"role": "user", "content": f"question {i}"}], f"good {i}", f"bad answer {i}") for i in range(10)]
DPO = DpoConfig(rank=2, lr=1e-2, batch_size=2, epochs=2, heldout=0.2, log_every=2)  # bfloat16 adapters: the state keeps float32


@pytest.mark.parametrize("inside", [False, True], ids=["between-steps", "inside-a-step"])
def test_dpo_stopped_and_resumed_ends_as_the_straight_run(tiny_llama_dir: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch, inside: bool) -> None:
    """Stopped in its second epoch (before step 6, or by Ctrl-C inside step 5), the reference log-probs computed
    again, the logs and held-out metrics kept."""
    import latentstack_llm.dpo as dpo

    straight = train_dpo(LlmGenerator.from_options(model=str(tiny_llama_dir)), PAIRS, tmp_path / "a", DPO)
    if not inside:
        _stop_in_epoch(monkeypatch, 2, 1, dpo)
    with signal_in_step(5) if inside else contextlib.nullcontext(), pytest.raises(KeyboardInterrupt):
        train_dpo(LlmGenerator.from_options(model=str(tiny_llama_dir)), PAIRS, tmp_path / "b", DPO, save_every=3)
    kept = sorted(p.name for p in (tmp_path / "b-checkpoints").iterdir())
    assert kept == ["epoch-1", "interrupted-step-5", "step-3"]
    monkeypatch.undo()
    resumed = train_dpo(LlmGenerator.from_options(model=str(tiny_llama_dir)), PAIRS, tmp_path / "b", DPO,
                        resume=tmp_path / "b-checkpoints" / "interrupted-step-5")
    _same(tmp_path / "a", tmp_path / "b")
    assert resumed["steps"] == straight["steps"] == 8
    assert resumed["history"] == straight["history"]


def test_dpo_stopped_while_logging_a_step_logs_it_on_resuming(tiny_llama_dir: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A stop during step 4's held-out evaluation (its weights already updated) keeps step 4 and its window; the
    resumed run logs it first, so its history is the straight run's."""
    import latentstack_llm.dpo as dpo

    straight = train_dpo(LlmGenerator.from_options(model=str(tiny_llama_dir)), PAIRS, tmp_path / "a", DPO)
    real = dpo.Loop.evaluate

    def evaluate(self: Any) -> Any:
        if self.step == 4 and not hasattr(self, "stopped"):
            self.stopped = True
            raise KeyboardInterrupt
        return real(self)

    monkeypatch.setattr(dpo.Loop, "evaluate", evaluate)
    with pytest.raises(KeyboardInterrupt):
        train_dpo(LlmGenerator.from_options(model=str(tiny_llama_dir)), PAIRS, tmp_path / "b", DPO)
    monkeypatch.undo()
    resumed = train_dpo(LlmGenerator.from_options(model=str(tiny_llama_dir)), PAIRS, tmp_path / "b", DPO,
                        resume=tmp_path / "b-checkpoints" / "interrupted-step-4")
    assert resumed["history"] == straight["history"] and [h["step"] for h in resumed["history"]] == [2, 4, 6, 8]
    _same(tmp_path / "a", tmp_path / "b")


def test_the_dpo_command_goes_on_from_the_newest_checkpoint(tiny_llama_dir: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """`adapt dpo --resume` rebuilds the run's settings from the checkpoint (its model too) and finishes it."""
    from click.testing import CliRunner

    import latentstack_llm.dpo as dpo
    from latentstack.cli import cli

    cli.load_plugin_commands()
    data = tmp_path / "pairs.jsonl"
    data.write_text("".join(json.dumps({"prompt": p.prompt, "chosen": p.chosen, "rejected": p.rejected}) + "\n"
                            for p in PAIRS), encoding="utf-8")
    base = ["-q", "adapt", "dpo", "--data", str(data), "--out", str(tmp_path / "d")]
    _stop_in_epoch(monkeypatch, 1, 3, dpo)
    stopped = CliRunner().invoke(cli, [*base, "--model", str(tiny_llama_dir), "--rank", "2", "--batch-size", "2",
                                       "--save-every", "2"])
    assert stopped.exit_code != 0 and (tmp_path / "d-checkpoints" / "interrupted-step-3").is_dir()
    monkeypatch.undo()
    done = CliRunner().invoke(cli, [*base, "--resume"])
    assert done.exit_code == 0, done.output
    report = json.loads((tmp_path / "d" / "training.json").read_text(encoding="utf-8"))
    assert report["steps"] == 5 and report["config"]["rank"] == 2 and report["config"]["batch_size"] == 2


def test_a_dpo_checkpoint_is_not_resumed_as_sft(tiny_llama_dir: Path, tmp_path: Path) -> None:
    train_dpo(LlmGenerator.from_options(model=str(tiny_llama_dir)), PAIRS[:4], tmp_path / "d",
              DpoConfig(rank=2, batch_size=2, heldout=0))
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps({"messages": m}) + "\n" for m in ROWS), encoding="utf-8")
    done = run_cli("adapt", "sft", "--data", str(data), "--out", str(tmp_path / "s"), "--resume",
                   str(tmp_path / "d-checkpoints" / "epoch-1"))
    assert done.returncode == 2 and "training state of a dpo run, not sft" in done.stderr


def test_a_second_run_into_the_same_out_is_refused_before_it_trains(tiny_llama_dir: Path, tmp_path: Path) -> None:
    """A second run into one OUT would prune the first one's periodic checkpoints and replace its adapter."""
    out = tmp_path / "g"
    with another_writer(out) as pid:
        with pytest.raises(LockedError, match=rf"being written by another training run \(pid {pid}\).*another --out"):
            _train(tiny_llama_dir, out, save_every=1)
        with pytest.raises(LockedError, match=rf"being written by another training run \(pid {pid}\)"):
            train_dpo(LlmGenerator.from_options(model=str(tiny_llama_dir)), PAIRS, out, DPO, save_every=1)
    assert not out.exists() and not checkpoints_of(out).exists()
    assert _train(tiny_llama_dir, out)["examples"] == len(ROWS)  # once that run has ended
