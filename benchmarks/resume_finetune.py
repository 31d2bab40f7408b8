"""What keeping checkpoints costs a classifier's fine-tuning, and whether a killed run resumed ends where a straight
one does, on the real MiniLM (`--method finetune`, LoRA with the probed mean head, or with MODE full every
weight) and SMS texts.

The first N texts of the SMS train split, EPOCHS epochs. Three fits, each in a process of its own: without
checkpoints and with them (the Python API, `fit` timed alone), then `latentstack classify train` killed by SIGTERM
a few seconds into its second epoch and run again with `--resume`. It prints the seconds of each, the bytes of the
last epoch's checkpoint and of the stop's (the classifier folder and its training state apart), and the largest difference between the killed
run's probabilities on the test split and the straight run's.

    python benchmarks/resume_finetune.py benchmarks/data/sms-spam.tsv OUT_DIR [N] [EPOCHS] [MODE]
"""

from __future__ import annotations

import csv
import signal
import subprocess
import sys
import time
from pathlib import Path

from resume_sft import CLI, checkpoint_bytes, keep_result  # this script's folder is on the path when it runs


def rows(tsv: str, split: str) -> list[tuple[str, str]]:
    with open(tsv, encoding="utf-8", newline="") as f:
        return [(r["label"], r["text"]) for r in csv.DictReader(f, delimiter="\t") if r["split"] == split]


def fit_alone(data: str, out: str, epochs: int, keep: bool, mode: str) -> None:
    """The child: fit on ``data`` (label, text TSV), with or without checkpoints; print the fit's seconds."""
    from latentstack import get_classifier

    labeled = rows(data, "train")
    clf = get_classifier("finetune", epochs=epochs, mode=mode)
    if keep:
        clf.keep_checkpoints(out)
    start = time.perf_counter()
    clf.fit([t for _, t in labeled], [lab for lab, _ in labeled])
    print(round(time.perf_counter() - start, 1))
    clf.save(out)


def child(data: Path, out: Path, epochs: int, keep: bool, mode: str) -> float:
    args = [sys.executable, __file__, "--child", str(data), str(out), str(epochs), str(int(keep)), mode]
    return float(subprocess.run(args, check=True, capture_output=True, text=True).stdout.split()[-1])


def killed_then_resumed(train: list[str], out: Path) -> tuple[float, float, str]:
    """Seconds until the kill (3 s into epoch 2), seconds of the resumed run, and the checkpoint it went on from."""
    start = time.perf_counter()
    proc = subprocess.Popen([*CLI, *train, "--out", str(out)])
    kept = out.with_name(out.name + "-checkpoints")
    while not (kept / "epoch-1").is_dir() and proc.poll() is None:
        time.sleep(0.2)
    time.sleep(3)
    proc.send_signal(signal.SIGTERM)
    proc.wait()
    killed = round(time.perf_counter() - start, 1)
    (where,) = kept.glob("interrupted-step-*")
    start = time.perf_counter()
    subprocess.run([*CLI, *train, "--out", str(out), "--resume"], check=True)
    return killed, round(time.perf_counter() - start, 1), where.name


def main(sms: str, out_dir: str, n: int = 800, epochs: int = 2, mode: str = "lora") -> None:
    import numpy as np

    from latentstack import load_classifier
    from latentstack.bench.report import environment

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = out / "train.tsv"
    data.write_text("split\tlabel\ttext\n" + "".join(f"train\t{lab}\t{t}\n" for lab, t in rows(sms, "train")[:n]),
                    encoding="utf-8")
    plain = child(data, out / "plain", epochs, False, mode)
    kept = child(data, out / "kept", epochs, True, mode)
    train = ["classify", "train", "--data", str(data), "--method", "finetune", "--epochs", str(epochs), "--mode", mode]
    killed, resumed, went_on_from = killed_then_resumed(train, out / "killed")
    test = [t for _, t in rows(sms, "test")]
    straight, again = (load_classifier(out / name).predict_proba(test) for name in ("kept", "killed"))
    checkpoint = out / "kept-checkpoints" / f"epoch-{epochs}"
    result = {"environment": environment(), "texts": n, "epochs": epochs, "mode": mode,
              "fit_seconds": {"no checkpoints": plain, "checkpoints kept": kept},
              "cli_seconds": {"killed run, until the kill": killed, "killed run, resumed": resumed},
              "resumed_from": went_on_from,
              "checkpoint_bytes": checkpoint_bytes(checkpoint, "classifier"),
              "stopped_checkpoint_bytes": checkpoint_bytes(out / "killed-checkpoints" / went_on_from, "classifier"),
              "test_texts": len(test),
              "killed_vs_straight_max_abs_proba_diff": float(np.abs(straight - again).max()),
              "killed_vs_straight_same_labels": int((straight.argmax(1) == again.argmax(1)).sum()),
              "command": " ".join(["python benchmarks/resume_finetune.py", sms, out_dir, str(n), str(epochs), mode])}
    keep_result(result, f"finetune-{n}" if mode == "lora" else f"finetune-{mode}-{n}")


if __name__ == "__main__":
    if sys.argv[1] == "--child":
        fit_alone(sys.argv[2], sys.argv[3], int(sys.argv[4]), bool(int(sys.argv[5])), sys.argv[6])
    else:
        main(sys.argv[1], sys.argv[2], *(int(a) for a in sys.argv[3:5]), *sys.argv[5:6])
