"""A content-addressed cache of dense embeddings on disk (npy files, never pickles).

The key hashes the embedder's fingerprint, the runtime asked of it and every text, so a
second classifier head on the same embedder and data reads the vectors back instead of
running the model again, and vectors computed in one dtype are never served for another.
The folder is kept under a size cap (``$LATENTSTACK_CACHE_MAX_MB``): after each write the
least recently used files go until it fits (a read counts as a use).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from latentstack.atomic import atomic_file
from latentstack.errors import ConfigError
from latentstack.progress import log
from latentstack.sources.base import latentstack_home


def cache_dir() -> Path:
    """``$LATENTSTACK_CACHE`` if set, else ``$LATENTSTACK_HOME/cache/embeddings``."""
    return Path(os.environ.get("LATENTSTACK_CACHE") or latentstack_home() / "cache" / "embeddings")


_KEY_NAME = re.compile(r"[0-9a-f]{64}\.npy")
#: The cache folder's default size cap, in MB.
DEFAULT_MAX_MB = 2048


def max_bytes() -> int:
    """The cache's size cap: ``$LATENTSTACK_CACHE_MAX_MB`` (a number of MB, ``inf`` for none) or ``DEFAULT_MAX_MB``."""
    raw = os.environ.get("LATENTSTACK_CACHE_MAX_MB", "").strip()
    if not raw:
        return DEFAULT_MAX_MB * 2**20
    try:
        mb = float(raw)
    except ValueError:
        mb = -1.0
    if not mb >= 0:  # also NaN
        msg = f"LATENTSTACK_CACHE_MAX_MB={raw!r} is not a size: give a number of MB such as {DEFAULT_MAX_MB}"
        raise ConfigError(msg)
    return int(mb * 2**20) if mb != float("inf") else 2**63  # "inf": no cap


def cache_files(folder: Path) -> list[Path]:
    """The cache's own files in ``folder``: named by a key (64 hex digits) and ``.npy``; any other file there (the
    folder may be one the user named by ``$LATENTSTACK_CACHE``) is not the cache's to remove."""
    return [p for p in folder.glob("*.npy") if _KEY_NAME.fullmatch(p.name)] if folder.is_dir() else []


def cache_stats(folder: Path) -> list[tuple[int, int, Path]]:
    """(last use in ns, bytes, path) of each of the cache's files in ``folder``; one another process removed
    meanwhile is left out."""
    found = []
    for path in cache_files(folder):
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        found.append((stat.st_mtime_ns, stat.st_size, path))
    return found


def evict(folder: Path, keep: Path, limit: int) -> None:
    """Remove the least recently used cache files of ``folder`` until they total at most ``limit`` bytes; ``keep``
    (the file just written) stays. Another process removing files meanwhile is harmless: a missing one is skipped."""
    files = cache_stats(folder)
    total = sum(size for _, size, _ in files)
    for _, size, path in sorted(files):
        if total <= limit:
            break
        if path != keep:
            path.unlink(missing_ok=True)
            total -= size


def cache_key(fingerprint: str, texts: Sequence[str]) -> str:
    """SHA-256 of the fingerprint and the texts (length-prefixed, so no two lists collide)."""
    digest = hashlib.sha256(fingerprint.encode())
    for t in texts:
        b = t.encode("utf-8", "surrogatepass")
        digest.update(len(b).to_bytes(8, "little") + b)
    return digest.hexdigest()


def runtime_tag(embedder: Any) -> str:
    """The runtime an embedder's vectors come from, as far as it is known without loading its model: the dtype and
    device asked for and, for dtype "auto", the CPU's bf16 units (with the probe cached per model and CPU, they
    decide it). "" for embedders without a dtype option."""
    config = getattr(embedder, "config", None)
    dtype = getattr(config, "dtype", None)
    if dtype is None:
        return ""
    from latentstack.cpu import cpu_features
    from latentstack.runtime import bf16_units

    units = ",".join(bf16_units(cpu_features())) if dtype == "auto" else ""
    return f"{dtype}:{getattr(config, 'device', '')}:{units}"


def embed_cached(embedder: Any, texts: Sequence[str], *, write: bool = True) -> Any:
    """``embedder.embed_many(texts)``, read from the cache (dense embedders only) and, with ``write``, written to it."""
    if embedder.sparse or os.environ.get("LATENTSTACK_NO_CACHE") == "1":
        return embedder.embed_many(texts)
    tag = runtime_tag(embedder)
    path = cache_dir() / f"{cache_key(embedder.fingerprint() + (f'|{tag}' if tag else ''), texts)}.npy"
    if path.exists():
        try:
            out = np.load(path, allow_pickle=False)
            if out.shape[0] == len(texts):
                log(f"embeddings: {len(texts)} read from cache")
                with contextlib.suppress(OSError):  # used now: the cap removes the least recently used first
                    os.utime(path)
                return out
        except (OSError, ValueError):
            pass  # a damaged cache file is recomputed and overwritten
    limit = max_bytes() if write else 0  # a wrong setting is said before the embedding, not after
    out = embedder.embed_many(texts)
    if not write:
        return out
    try:
        with atomic_file(path) as tmp, open(tmp, "wb") as fh:
            np.save(fh, out, allow_pickle=False)
    except OSError as exc:  # the vectors are computed: a cache that cannot be written costs only the next run
        log(f"embeddings: not cached, {path.parent} cannot be written ({exc.strerror or exc}); set LATENTSTACK_CACHE "
            "to a writable folder, or LATENTSTACK_NO_CACHE=1")
        return out
    evict(path.parent, keep=path, limit=limit)
    return out
