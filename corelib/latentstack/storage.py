"""One way to save and read a component folder: manifest, checksums, atomic swap, recovery.

Every saved thing (a collection, an index, a fitted embedder, a classifier, an adapter,
an export) is a folder with one ``manifest.json``::

    {"format": 2, "kind": "index", "plugin": "faiss", "version": 1,
     "config": {...}, "data": {...}, "files": {"index.faiss": "<sha256>", ...},
     "digest": "<sha256 of the rest of the manifest>"}

``files`` lists every file the writer put in the folder, except those inside a subfolder
that holds a manifest of its own (a nested component checks its own files). ``digest``
covers the manifest itself, so an edited or garbled manifest is noticed too. A writer
fills a temporary folder inside ``component_dir`` and calls ``write_manifest`` last; the
folder is swapped in whole. ``read_manifest`` first restores a folder left mid-swap by a
crash, then checks everything, and raises ``CorruptFileError`` with one line for any
fault.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import zipfile
from collections.abc import Callable, Collection, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from latentstack.atomic import atomic_dir, clean_debris, recover_dir, write_json
from latentstack.errors import ConflictError, CorruptFileError, InputError, a_or_an
from latentstack.locks import real_path, writer_lock

MANIFEST = "manifest.json"
FORMAT = 2  # the layout of manifest.json itself; format 1 had a different file per kind

_FIELDS: dict[str, type] = {
    "format": int, "kind": str, "plugin": str, "version": int, "config": dict, "data": dict, "files": dict,
    "digest": str,
}


@attrs.frozen
class Manifest:
    """A component folder's manifest, read and checked."""

    path: Path
    kind: str
    plugin: str
    version: int
    config: dict[str, Any]
    data: dict[str, Any]
    files: dict[str, str]
    digest: str = ""


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _digest(body: Mapping[str, Any]) -> str:
    canonical = json.dumps({k: v for k, v in body.items() if k != "digest"}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _listed_files(folder: Path) -> dict[str, str]:
    """Every file below ``folder`` except manifests and the insides of nested components."""
    out: dict[str, str] = {}
    for item in sorted(folder.iterdir()):
        if item.is_dir():
            if not (item / MANIFEST).exists():
                out.update({f"{item.name}/{k}": v for k, v in _listed_files(item).items()})
        elif item.name != MANIFEST:
            out[item.name] = sha256_file(item)
    return out


def write_manifest(folder: Path, *, kind: str, plugin: str, version: int = 1,
                   config: Mapping[str, Any] | None = None, data: Mapping[str, Any] | None = None) -> str:
    """Write ``folder/manifest.json`` listing the checksums of every file already in ``folder``; returns its digest."""
    body: dict[str, Any] = {"format": FORMAT, "kind": kind, "plugin": plugin, "version": version,
                            "config": json.loads(json.dumps(dict(config or {}), default=str)),
                            "data": json.loads(json.dumps(dict(data or {}), default=str)),
                            "files": _listed_files(folder)}
    body["digest"] = _digest(body)
    (folder / MANIFEST).write_text(json.dumps(body, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return str(body["digest"])


@contextlib.contextmanager
def component_dir(path: str | Path, kind: str | None = None, *, expect_digest: str | None = None) -> Iterator[Path]:
    """Yield a temporary folder to fill; it replaces ``path`` whole once it holds a manifest.

    The writer lock of ``path`` is held throughout (a second writer waits, then fails),
    debris of killed writes is removed first, and ``path`` must be absent, empty, or a
    saved ``kind`` already (a folder of the user's own files is refused, never deleted).
    ``expect_digest``: the manifest digest the caller loaded; if another writer saved in
    between, the save is refused instead of silently undoing that writer's change.
    """
    with writer_lock(path):
        target = real_path(path)
        check_replaceable(target, kind)
        if expect_digest is not None:
            _check_unchanged(target, expect_digest)
        clean_debris(target)
        with atomic_dir(target) as tmp:
            yield tmp
            if not (tmp / MANIFEST).exists():
                msg = f"internal error: the writer of {path} wrote no {MANIFEST}; nothing was replaced"
                raise RuntimeError(msg)


def saved_kind(folder: str | Path) -> str | None:
    """The kind a latentstack manifest in ``folder`` names, unchecked; None when there is no readable one."""
    try:
        saved = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    kind = saved.get("kind") if isinstance(saved, dict) else None
    return kind if isinstance(kind, str) else None


def check_replaceable(path: str | Path, kind: str | None) -> None:
    """Refuse to replace anything but an absent or empty folder or a saved ``kind`` (any kind when None).

    A symlink is judged by the folder it points to, as a save would replace that one.
    """
    target = real_path(path)
    if target.exists() and not target.is_dir():
        msg = f"{target} is a file, not a folder: choose another path for the saved {kind or 'folder'}"
        raise InputError(msg)
    if not target.exists() or not any(target.iterdir()):
        return
    saved = saved_kind(target)
    if saved is not None and kind in (None, saved):
        return
    if saved is not None:
        msg = f"{target} holds a saved {saved}, not {a_or_an(str(kind))}: choose another path, it was left as it is"
        raise InputError(msg)
    names = ", ".join(sorted(p.name for p in target.iterdir())[:3])
    msg = (f"{target} already holds files latentstack did not write ({names}...): they were left as they are; "
           f"choose a new folder (e.g. {target.name}-{kind or 'out'}) or empty this one")
    raise InputError(msg)


def _check_unchanged(target: Path, expected: str) -> None:
    try:
        current = json.loads((target / MANIFEST).read_text(encoding="utf-8")).get("digest", "")
    except (OSError, ValueError, AttributeError):
        current = ""
    if current != expected:
        msg = (f"{target} was saved by another writer since it was loaded here; nothing was written: "
               "load it again and redo the change")
        raise ConflictError(msg)


def _load_json(folder: Path, what: str) -> dict[str, Any]:
    file = folder / MANIFEST
    if not folder.is_dir():
        msg = f"{folder} does not exist or is not a folder; give the path of a saved {what}"
        raise CorruptFileError(msg)
    try:
        body = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        msg = f"{folder} is not a saved {what} (it has no {MANIFEST}); check the path or save one there"
        raise CorruptFileError(msg) from exc
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        msg = f"{file} is unreadable or not JSON ({type(exc).__name__}); the {what} is damaged: save it again"
        raise CorruptFileError(msg) from exc
    return body


def part(folder: Path, name: str) -> Path:
    """``folder/name``, a saved component inside a saved folder; a missing one says the outer folder is incomplete."""
    inner = folder / name
    if not inner.is_dir():
        msg = f"{folder} is incomplete: its {name}/ folder is missing; save it again"
        raise CorruptFileError(msg)
    return inner


def without_advice(message: str) -> str:
    """A CorruptFileError's message without its closing advice to save the folder again, for a caller that knows
    better advice (a collection's built parts can be rebuilt from its documents)."""
    return _ADVICE.sub("", message)


_ADVICE = re.compile(r"; (save (the folder|it) again|rebuild (it|the index)|check the path or save one there)$")


def _check_shape(file: Path, body: Any) -> None:
    if not isinstance(body, dict):
        msg = f"{file} is JSON of the wrong shape (a {type(body).__name__}, not an object); save the folder again"
        raise CorruptFileError(msg)
    for key, kind in _FIELDS.items():
        if not isinstance(body.get(key), kind) or isinstance(body.get(key), bool):
            msg = f"{file} is JSON of the wrong shape (field {key!r} missing or of the wrong type); save it again"
            raise CorruptFileError(msg)
    if body["format"] != FORMAT:
        msg = (f"{file} has manifest format {body['format']}; this latentstack reads format {FORMAT}: "
               "rebuild the folder with this version")
        raise CorruptFileError(msg)
    if body["digest"] != _digest(body):
        msg = f"{file} was edited or damaged (its digest does not match its content); save the folder again"
        raise CorruptFileError(msg)


def _check_files(folder: Path, files: Mapping[str, Any]) -> None:
    for rel, expected in files.items():
        target = (folder / rel).resolve()
        if not isinstance(expected, str) or folder.resolve() not in target.parents:
            msg = f"{folder / MANIFEST} lists an invalid file entry {rel!r}; save the folder again"
            raise CorruptFileError(msg)
        if not target.is_file():
            msg = f"{folder} is incomplete: {rel} is missing; save the folder again"
            raise CorruptFileError(msg)
        if sha256_file(target) != expected:
            msg = f"{folder / rel} is truncated or corrupt (checksum mismatch); save the folder again"
            raise CorruptFileError(msg)


def _chosen(folder: Path, files: Mapping[str, Any], names: bool | Collection[str]) -> Mapping[str, Any]:
    """The manifest's ``files`` entries to check: all, or those of ``names``."""
    if isinstance(names, bool):
        return files
    missing = sorted(set(names) - set(files))
    if missing:
        msg = f"{folder / MANIFEST} does not list {', '.join(missing)}; save the folder again"
        raise CorruptFileError(msg)
    return {name: files[name] for name in names}


def read_manifest(path: str | Path, *, kind: str, plugin: str | None = None,
                  version: int | tuple[int, ...] | None = 1, verify: bool | Collection[str] = True,
                  defer: Collection[str] = ()) -> Manifest:
    """Read and check a component folder's manifest (restoring it first if a crash cut a swap short).

    ``plugin`` and ``version`` (one, or the versions a reader takes), when given, must match what wrote the
    folder; ``verify`` checks every listed file's checksum, or, given names, those files' only (each must be
    listed); ``defer`` names files left out of that check, which the caller checks if and when it reads them.
    """
    folder = recover_dir(path)
    body = _load_json(folder, kind)
    _check_shape(folder / MANIFEST, body)
    if body["kind"] != kind:
        msg = f"{folder} holds a saved {body['kind']} (plugin {body['plugin']!r}), not {a_or_an(kind)}"
        raise CorruptFileError(msg)
    if plugin is not None and body["plugin"] != plugin:
        msg = f"{folder} holds {a_or_an(kind)} written by plugin {body['plugin']!r}, not {plugin!r}; load it with that one"
        raise CorruptFileError(msg)
    versions = (version,) if isinstance(version, int) else version
    if versions is not None and body["version"] not in versions:
        read = " or ".join(map(str, versions))
        msg = (f"{folder} holds a {body['plugin']} {kind} of file version {body['version']}; this plugin reads "
               f"version {read}: save it again with this version")
        raise CorruptFileError(msg)
    if verify:
        chosen = _chosen(folder, body["files"], verify)
        _check_files(folder, {name: sha for name, sha in chosen.items() if name not in defer})
    return Manifest(folder, body["kind"], body["plugin"], body["version"], body["config"], body["data"],
                    body["files"], body["digest"])


def update_manifest(path: str | Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Apply ``change`` to a folder's manifest body and write it back with a fresh digest (tools, tests).

    The file checksums are kept as they are: this edits what the manifest says, not the files.
    """
    folder = Path(path)
    body = _load_json(folder, "component")
    change(body)
    body["digest"] = _digest(body)
    write_json(folder / MANIFEST, body)


def attach_json(path: str | Path, name: str, obj: Any) -> None:
    """Add a JSON file (a training report, say) to a saved folder, listed and checksummed in its manifest."""
    with writer_lock(path):
        folder = real_path(path)
        write_json(folder / name, obj)

        def listed(body: dict[str, Any]) -> None:
            body["files"][name] = sha256_file(folder / name)

        update_manifest(folder, listed)


@contextlib.contextmanager
def reading(path: str | Path, what: str) -> Iterator[None]:
    """Turn any error met while parsing a checked folder's files into one CorruptFileError line."""
    try:
        yield
    except CorruptFileError:
        raise
    except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError, RuntimeError,
            zipfile.BadZipFile) as exc:
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        msg = f"cannot read the {what} at {path}: {detail}; save it again"
        raise CorruptFileError(msg) from exc
