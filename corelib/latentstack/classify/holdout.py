"""Which rows of its file a classifier trained with ``--holdout`` never saw, kept beside it.

``classify train --holdout F`` writes ``holdout.json`` into the classifier's folder (the
data file's SHA-256, the share and the seed); ``classify eval`` on the same file then
checks that it is asked for the same split, so the held-out figures are on rows the
classifier did not train on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from latentstack.errors import InputError

NAME = "holdout.json"


def record(out: Path, data: str | Path, fraction: float, seed: int, rows: dict[str, int]) -> None:
    """Keep the split a classifier in ``out`` was trained with (listed in its manifest)."""
    from latentstack.data.holdout import RULE
    from latentstack.storage import attach_json, sha256_file

    attach_json(out, NAME, {"data_sha256": sha256_file(Path(data)), "holdout": fraction, "seed": seed, "rows": rows,
                            "rule": RULE})


def check(folder: Path, data: str | Path, fraction: float | None, seed: int, multi_label: bool = False) -> None:
    """Refuse an evaluation of a --holdout classifier on its own file that would read rows it trained on (a
    multi-label one trained on another version's draw too)."""
    kept = _kept(folder)
    if not kept:
        if fraction is not None:
            from latentstack.progress import notice

            notice(f"{folder} was not trained with --holdout, so it keeps no split: if it was trained on {data}, the "
                   "held-out rows were among its training rows and the scores overstate it")
        return
    from latentstack.storage import sha256_file

    if kept.get("data_sha256") != sha256_file(Path(data)):
        return
    same = f"--holdout {kept['holdout']} --seed {kept['seed']}"
    if fraction is None:
        msg = (f"{folder} was trained on {data} with {same}: give the same to evaluate it on the rows it did not "
               "see (the rest of the file is its training data)")
        raise InputError(msg)
    if (fraction, seed) != (kept["holdout"], kept["seed"]):
        msg = (f"{folder} was trained on {data} with {same}: another share or seed would mix rows it trained on "
               "into the test split; give the same")
        raise InputError(msg)
    _check_rule(folder, kept, multi_label)


def _check_rule(folder: Path, kept: dict[str, Any], multi_label: bool) -> None:
    """Refuse a multi-label classifier whose held-out rows were drawn by an earlier rule: today's draw differs."""
    from latentstack.data.holdout import RULE

    if multi_label and kept.get("rule", 1) != RULE:
        msg = (f"{folder} was trained with an earlier version's multi-label --holdout draw, which this version draws "
               "otherwise (by label, so that rare labels are held out too): its held-out rows would include rows it "
               "trained on; train it again with --holdout, or evaluate on a file it did not train on")
        raise InputError(msg)


def _kept(folder: Path) -> dict[str, Any] | None:
    path = folder / NAME
    if not path.is_file():
        return None
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return kept if isinstance(kept, dict) and {"data_sha256", "holdout", "seed"} <= kept.keys() else None
