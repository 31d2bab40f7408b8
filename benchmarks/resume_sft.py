"""What keeping a training state costs, and whether a killed SFT run resumed ends where a straight one does, on the
real SmolLM2-135M with the default rank-16 adapter.

Three runs of `latentstack adapt sft` on the same SQuAD examples (`adapt squad-data`, tune half), one epoch:
straight without periodic checkpoints (`--save-every 0`); straight saving every STEP steps; and a run killed by
SIGTERM once its first periodic checkpoint is written, then `--resume`d to the end. It prints the seconds of each,
the bytes of one checkpoint (adapter and training state apart), and the largest difference between the killed
run's final adapter and the straight run's.

    python benchmarks/resume_sft.py ../shared/data/squad-dev-v1.1.json OUT_DIR [EXAMPLES] [STEP]
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from latentstack.bench.report import environment

CLI = [sys.executable, "-m", "latentstack", "-q"]


def timed(*args: str) -> float:
    start = time.perf_counter()
    subprocess.run([*CLI, *args], check=True)
    return round(time.perf_counter() - start, 1)


def killed_then_resumed(sft: list[str], out: Path) -> tuple[float, float, str]:
    """Seconds until the kill, seconds of the resumed run, and the checkpoint it went on from."""
    start = time.perf_counter()
    proc = subprocess.Popen([*CLI, *sft, "--out", str(out)])
    kept = out.with_name(out.name + "-checkpoints")
    while not list(kept.glob("step-*")) and proc.poll() is None:
        time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    proc.wait()
    killed = round(time.perf_counter() - start, 1)
    (where,) = kept.glob("interrupted-step-*")
    return killed, timed(*sft, "--out", str(out), "--resume"), where.name


def largest_difference(a: Path, b: Path) -> float:
    from safetensors.torch import load_file

    wa, wb = load_file(str(a / "adapter_model.safetensors")), load_file(str(b / "adapter_model.safetensors"))
    return max(float((wa[k].float() - wb[k].float()).abs().max()) for k in wa)


def folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def checkpoint_bytes(checkpoint: Path, weights: str) -> dict[str, int]:
    """A checkpoint's bytes: its ``weights`` (the folder but its training state) and its training state apart."""
    state = folder_bytes(checkpoint / "train-state")
    return {weights: folder_bytes(checkpoint) - state, "train_state": state}


def keep_result(result: dict[str, object], name: str) -> None:
    """Print ``result`` and write it to benchmarks/results/resume/NAME.json."""
    print(json.dumps(result, indent=2))
    results = Path("benchmarks/results/resume")
    results.mkdir(parents=True, exist_ok=True)
    (results / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


def main(squad: str, out_dir: str, examples: int = 48, step: int = 4) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = out / "sft.jsonl"
    subprocess.run([*CLI, "adapt", "squad-data", "--data", squad, "--out", str(data), "--limit", str(examples)],
                   check=True)
    sft = ["adapt", "sft", "--data", str(data)]
    plain = timed(*sft, "--out", str(out / "plain"), "--save-every", "0")
    saving = timed(*sft, "--out", str(out / "saving"), "--save-every", str(step))
    killed, resumed, went_on_from = killed_then_resumed([*sft, "--save-every", str(step)], out / "killed")
    checkpoint = next((out / "saving-checkpoints").glob("step-*"))
    result = {"environment": environment(), "examples": examples, "save_every": step,
              "seconds": {"no periodic checkpoints": plain, f"a checkpoint every {step} steps": saving,
                          "killed run, until the kill": killed, "killed run, resumed": resumed},
              "resumed_from": went_on_from,
              "checkpoint_bytes": checkpoint_bytes(checkpoint, "adapter"),
              "killed_vs_straight_max_abs_diff": largest_difference(out / "killed", out / "saving"),
              "command": " ".join(["python benchmarks/resume_sft.py", squad, out_dir, str(examples), str(step)])}
    keep_result(result, f"sft-{examples}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], *(int(a) for a in sys.argv[3:]))
