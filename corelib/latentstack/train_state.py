"""A training run's state kept beside a checkpoint, so a stopped run goes on exactly where it stopped.

A checkpoint (an adapter folder, a model folder) gets a ``train-state/`` component of its
own: the trained weights in full precision (the checkpoint itself may hold them in
bfloat16), the optimiser's moments and step counts, the learning-rate schedule, torch's
random state, and the caller's ``position`` (epoch, batch, data-order state, loss
history) as JSON. Going on from it gives the weights an uninterrupted run gives: what
HF Trainer's ``resume_from_checkpoint`` promises, with safetensors and JSON instead of
pickles. ``run_digest`` ties the state to the data and settings it was trained with.

torch and safetensors are imported inside the functions, so importing this module costs nothing.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from latentstack.errors import InputError

STATE = "train-state"  # the component's folder name inside a checkpoint
KIND = "train-state"
_TENSORS = "state.safetensors"
_JSON = "state.json"


LATEST = "latest"  # ``--resume`` alone: the newest checkpoint of OUT's run


def checkpoints_of(out: str | Path) -> Path:
    """The folder beside ``out`` that holds its run's checkpoints (``OUT-checkpoints``)."""
    return Path(out).with_name(Path(out).name + "-checkpoints")


def resume_point(value: str | None, out: str | Path) -> str | None:
    """The checkpoint ``--resume VALUE`` names: a folder, or with ``LATEST`` the one of ``OUT-checkpoints`` whose
    training state is furthest on (HF Trainer's ``resume_from_checkpoint=True``)."""
    from latentstack.storage import read_manifest

    if value is None:
        return None
    if value != LATEST or Path(value).is_dir():
        if not Path(value).is_dir():
            msg = f"--resume {value}: no such checkpoint folder; give one of OUT-checkpoints/, or --resume alone"
            raise InputError(msg)
        return value
    folder = checkpoints_of(out)
    found = []
    for checkpoint in sorted(folder.iterdir()) if folder.is_dir() else []:
        if (checkpoint / STATE / "manifest.json").is_file():
            step = read_manifest(checkpoint / STATE, kind=KIND, verify=False).data.get("step")
            saved_at = (checkpoint / STATE / "manifest.json").stat().st_mtime  # of two at one step, the later
            found.append((step if isinstance(step, int) else -1, saved_at, checkpoint))
    if not found:
        msg = f"{folder} holds no checkpoint with a training state to go on from: start the run without --resume"
        raise InputError(msg)
    return str(max(found)[2])


def run_digest(data: Iterable[Any], settings: Mapping[str, Any]) -> str:
    """A digest of what a run trains on (each item of ``data`` as JSON, hashed in turn) and how: a run goes on only
    from a state with the same one."""
    digest = hashlib.sha256(json.dumps(dict(settings), sort_keys=True, default=str).encode())
    for item in data:
        digest.update(b"\n" + json.dumps(item, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def save_state(checkpoint: str | Path, trained: Mapping[str, Any], optim: tuple[Any, Any], position: Mapping[str, Any],
               torch_rng: Any = None) -> None:
    """Write ``checkpoint/train-state`` atomically: the ``trained`` parameters (by name), the (optimizer, scheduler)
    state, torch's random state (``torch_rng``, or the current one) and ``position`` (JSON)."""
    import torch
    from safetensors.torch import save_file

    from latentstack.atomic import write_json
    from latentstack.storage import component_dir, write_manifest

    optimizer, scheduler = optim
    opt = optimizer.state_dict()
    tensors = {f"param/{name}": p.detach().to("cpu").contiguous().clone() for name, p in trained.items()}
    scalars: dict[str, dict[str, Any]] = {}
    for index, values in opt["state"].items():
        for key, value in values.items():
            if torch.is_tensor(value):
                tensors[f"opt/{index}/{key}"] = value.detach().to("cpu").contiguous().clone()
            else:
                scalars.setdefault(str(index), {})[key] = value
    tensors["rng/torch"] = (torch.get_rng_state() if torch_rng is None else torch_rng).clone()
    body = {"params": list(trained), "groups": opt["param_groups"], "scalars": scalars,
            "scheduler": {k: v for k, v in scheduler.state_dict().items() if k != "lr_lambdas"},
            "position": dict(position)}
    with component_dir(Path(checkpoint) / STATE, KIND) as tmp:
        save_file(tensors, str(tmp / _TENSORS))
        write_json(tmp / _JSON, body)
        write_manifest(tmp, kind=KIND, plugin="latentstack", data={"step": position.get("step")})


def saved_position(checkpoint: str | Path) -> dict[str, Any]:
    """The position saved in ``checkpoint``'s training state, before any model is loaded: the settings a run records
    there let it go on with them. Only the JSON holding it is checksummed here; ``load_state`` checks the tensors."""
    position: dict[str, Any] = _body(checkpoint, (_JSON,))[1]["position"]
    return position


def resumed_position(checkpoint: str | Path, trainer: str, options: Sequence[str]) -> dict[str, Any]:
    """For a command's ``--resume``: the position a ``trainer`` run saved in ``checkpoint``, whose settings the run
    goes on with; the command's ``options`` typed on its command line, which would change them, are refused."""
    import click

    from latentstack.cli.options import refuse_given

    refuse_given(options, "a fresh run; --resume goes on with the settings the checkpoint's run was started with: "
                          "leave {} out")
    saved = saved_position(checkpoint)
    if saved.get("trainer") != trainer:
        raise click.UsageError(_whose(checkpoint, saved, trainer))
    return saved


def resumable(checkpoint: str | Path, run: str, trainer: str | None = None) -> dict[str, Any]:
    """The position saved in ``checkpoint``, which must be of the run whose ``run_digest`` is ``run`` (and, given
    ``trainer``, of a run of that trainer, checked first to say whose it is)."""
    saved = saved_position(checkpoint)
    if trainer is not None and saved.get("trainer") != trainer:
        raise InputError(_whose(checkpoint, saved, trainer))
    return _of_run(checkpoint, saved, run)


def _whose(checkpoint: str | Path, saved: Mapping[str, Any], trainer: str) -> str:
    return (f"{checkpoint} holds the training state of a {saved.get('trainer')} run, not {trainer}; resume it with its "
            "own command")


def _of_run(checkpoint: str | Path, position: dict[str, Any], run: str) -> dict[str, Any]:
    if position.get("run") != run:
        msg = (f"{checkpoint} was trained on other data or with other settings than these; go on from it with the "
               "same data file and options, or start afresh from its weights")
        raise InputError(msg)
    return position


def _checked(checkpoint: str | Path, files: bool | tuple[str, ...]) -> Path:
    from latentstack.atomic import recover_dir
    from latentstack.storage import read_manifest

    folder = recover_dir(Path(checkpoint) / STATE)  # a save killed mid-swap left the state before it beside
    if not (folder / "manifest.json").is_file():
        msg = (f"{checkpoint} holds no training state to go on from (only a checkpoint saved every --save-every "
               f"steps, at an epoch's end or on a stop does); start from its weights instead")
        raise InputError(msg)
    read_manifest(folder, kind=KIND, plugin="latentstack", verify=files)  # the files' checksums
    return folder


def _body(checkpoint: str | Path, files: bool | tuple[str, ...] = True) -> tuple[Path, dict[str, Any]]:
    """``checkpoint``'s training state folder (``files`` checksummed: all, or those named) and its JSON: the position
    an object, the parameter names a list."""
    from latentstack.storage import reading

    folder = _checked(checkpoint, files)
    with reading(folder, "training state"):
        body = json.loads((folder / _JSON).read_text(encoding="utf-8"))
        if not isinstance(body["position"], dict):
            raise TypeError("the position is not an object")
        body["params"] = list(body["params"])
        return folder, body


def load_state(checkpoint: str | Path, trained: Mapping[str, Any], optim: tuple[Any, Any], run: str) -> dict[str, Any]:
    """Put the state saved in ``checkpoint`` into the ``trained`` parameters, the (optimizer, scheduler) and torch's
    random state; return the saved position. The state must be of the run whose ``run_digest`` is ``run`` and hold
    every one of ``trained`` (more, which an earlier version's checkpoint may hold, is left unread)."""
    from latentstack.storage import reading

    folder, body = _body(checkpoint)
    position = _of_run(checkpoint, body["position"], run)
    if not set(trained) <= set(body["params"]):
        msg = f"the training state at {folder} is of other parameters than the model's trainable ones"
        raise InputError(msg)
    with reading(folder, "training state"):
        _restore(folder, body, trained, optim)
        return position


def _restore(folder: Path, body: dict[str, Any], trained: Mapping[str, Any], optim: tuple[Any, Any]) -> None:
    import torch
    from safetensors.torch import load_file

    tensors = load_file(str(folder / _TENSORS))
    with torch.no_grad():
        for name, p in trained.items():
            p.copy_(tensors[f"param/{name}"])
    optimizer, scheduler = optim
    fresh = optimizer.state_dict()["param_groups"]
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("opt/"):
            _, index, name = key.split("/", 2)
            state.setdefault(int(index), {})[name] = value
    for index, values in body["scalars"].items():
        state.setdefault(int(index), {}).update(values)
    groups = [{k: tuple(v) if isinstance(old.get(k), tuple) else v for k, v in group.items()}
              for group, old in zip(body["groups"], fresh, strict=True)]
    optimizer.load_state_dict({"state": state, "param_groups": groups})
    scheduler.load_state_dict({**body["scheduler"], "lr_lambdas": [None] * len(groups)})
    torch.set_rng_state(tensors["rng/torch"])


def keep_newest(folder: Path, prefix: str, keep: Path) -> None:
    """Remove the checkpoints ``folder/PREFIX*`` other than ``keep`` (periodic ones replace each other); only saved
    folders holding a training state, never anything else found there."""
    from latentstack.storage import saved_kind

    if not folder.is_dir():
        return
    for old in folder.glob(f"{prefix}*"):
        if old.is_dir() and old.resolve() != keep.resolve() and saved_kind(old) and saved_kind(old / STATE) == KIND:
            shutil.rmtree(old, ignore_errors=True)
