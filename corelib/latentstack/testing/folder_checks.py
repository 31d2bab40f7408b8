"""Damage a saved folder file by file: what every contract's corruption test does."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from latentstack.errors import LatentstackError

DAMAGES = ("truncate", "empty", "garble", "wrong-shape-json", "delete")


def damaged_copies(folder: Path, scratch: Path) -> Iterator[tuple[str, Path]]:
    """Yield (what was done, a damaged copy of ``folder``) for every file in it and every damage."""
    files = sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())
    for rel in files:
        for damage in DAMAGES:
            copy = scratch / f"{str(rel).replace('/', '_')}-{damage}"
            shutil.copytree(folder, copy)
            target = copy / rel
            data = target.read_bytes()
            if damage == "truncate":
                target.write_bytes(data[: len(data) // 2])
            elif damage == "empty":
                target.write_bytes(b"")
            elif damage == "garble":
                target.write_bytes(bytes(b ^ 0x5A for b in data[:64]) + data[64:])
            elif damage == "wrong-shape-json":
                target.write_text('{"unexpected": [1, 2, 3]}')
            else:
                target.unlink()
            yield f"{rel} ({damage})", copy


def assert_damage_is_one_line(folder: Path, scratch: Path, load: Callable[[Path], Any]) -> None:
    """Every damaged copy either loads or raises a LatentstackError whose message is one line."""
    for what, copy in damaged_copies(folder, scratch):
        try:
            load(copy)
        except LatentstackError as exc:
            assert "\n" not in str(exc), f"{what}: a multi-line error: {exc}"
            assert str(exc), f"{what}: an empty error message"
        except Exception as exc:  # noqa: BLE001 - the point is to catch anything else
            pytest.fail(f"{what}: {type(exc).__name__} instead of a one-line LatentstackError: {exc}")


def assert_missing_parts_name_the_folder(folder: Path, scratch: Path, load: Callable[[Path], Any]) -> int:
    """Each saved component inside ``folder`` (a sub-folder with a manifest) deleted: the error says ``folder``
    is incomplete and names the part. Returns how many parts were checked."""
    parts = sorted(p.parent.relative_to(folder) for p in folder.rglob("manifest.json") if p.parent != folder)
    for rel in parts:
        copy = scratch / f"missing-{str(rel).replace('/', '_')}"
        shutil.copytree(folder, copy)
        shutil.rmtree(copy / rel)
        with pytest.raises(LatentstackError, match="is incomplete") as err:
            load(copy)
        assert f"{rel.name}/" in str(err.value), f"{rel} missing: the error does not name it: {err.value}"
    return len(parts)
