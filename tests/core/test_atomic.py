"""Atomic writes leave the old file or folder whole when a write fails midway."""

from __future__ import annotations

import pytest

from latentstack.atomic import atomic_dir, atomic_file, recover_dir, write_json


def test_failed_file_write_keeps_old(tmp_path) -> None:  # noqa: ANN001
    """An exception inside atomic_file leaves the old content and no temp file."""
    target = tmp_path / "a.json"
    write_json(target, {"v": 1})
    with pytest.raises(RuntimeError), atomic_file(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash")
    assert target.read_text().strip().startswith("{")
    assert list(tmp_path.iterdir()) == [target]


def test_failed_dir_write_keeps_old(tmp_path) -> None:  # noqa: ANN001
    """An exception inside atomic_dir leaves the old folder untouched."""
    target = tmp_path / "idx"
    with atomic_dir(target) as tmp:
        (tmp / "f").write_text("old")
    with pytest.raises(RuntimeError), atomic_dir(target) as tmp:
        (tmp / "f").write_text("new")
        raise RuntimeError("crash")
    assert (target / "f").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx"]


def test_recover_after_cut_swap(tmp_path) -> None:  # noqa: ANN001
    """If a swap stopped after moving the old folder aside, recover_dir puts it back."""
    old = tmp_path / ".idx.old"
    old.mkdir()
    (old / "f").write_text("old")
    assert (recover_dir(tmp_path / "idx") / "f").read_text() == "old"
