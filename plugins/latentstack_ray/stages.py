"""The stages a Ray job runs besides embedding: chunking in parallel tasks, and the index built in parts.

Chunking maps the core's ``chunk_text`` over the documents in Ray Data tasks; every
document's chunks come back under its position, and a missing position is an error.
The index is trained once on the driver (its seeded sample), its empty copy goes to
the object store, tasks add one slice of the vectors each to their copy, and the
driver merges the filled copies (FAISS ``merge_from``), counting every vector.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from latentstack.interfaces import Index
from latentstack.search.chunking import Chunk, ChunkConfig


def _chunk_batch(batch: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """Ray task: the chunks of a batch of documents, one row per chunk, under the document's position."""
    from latentstack.search.chunking import ChunkConfig, chunk_text

    cfg = ChunkConfig(**config)
    rows: dict[str, list[Any]] = {"i": [], "position": [], "start": [], "end": [], "text": []}
    for i, text in zip(batch["i"], batch["text"], strict=True):
        for c in chunk_text(str(text), cfg):
            for key, value in (("i", int(i)), ("position", c.position), ("start", c.start), ("end", c.end),
                               ("text", c.text)):
                rows[key].append(value)
    return rows


def chunk_documents(ray: Any, texts: Sequence[str], config: ChunkConfig, batch_size: int,
                    bar: Any) -> list[list[Chunk]]:
    """Each text's chunks in order, cut in Ray tasks; a non-blank text without chunks is an error."""
    import pyarrow as pa

    table = pa.table({"i": np.arange(len(texts), dtype=np.int64), "text": pa.array(list(texts), pa.large_string())})
    chunked = ray.data.from_arrow(table).map_batches(
        _chunk_batch, batch_size=batch_size, fn_kwargs={"config": attrs.asdict(config)})
    out: list[list[Chunk]] = [[] for _ in texts]
    for batch in chunked.iter_batches(batch_format="numpy", batch_size=None):
        for i, pos, start, end, text in zip(batch["i"], batch["position"], batch["start"], batch["end"],
                                            batch["text"], strict=True):
            out[int(i)].append(Chunk(int(pos), int(start), int(end), str(text)))
        bar.update(len(set(batch["i"].tolist())))
    lost = [i for i, (t, chunks) in enumerate(zip(texts, out, strict=True)) if t.strip() and not chunks]
    if lost:
        msg = f"the chunking tasks returned nothing for {len(lost)} document(s) (first at position {lost[0]})"
        raise RuntimeError(msg)
    for chunks in out:
        chunks.sort(key=lambda c: c.position)
    return out


def _fill(index_name: str, part: bytes, positions: np.ndarray, vectors: np.ndarray) -> bytes:
    """Ray task: the index class (from the registry, by name) fills its empty part with one slice."""
    from latentstack.registry import get_registry

    return bytes(get_registry().get_class("index", index_name).fill_part(part, positions, vectors))


def build_in_parts(ray: Any, index: Index, ids: Sequence[str | int], vectors: np.ndarray,
                   metadata: Sequence[Mapping[str, Any]] | None, parts: int, cpus: float, bar: Any) -> int:
    """Train on the driver, fill ``parts`` copies in tasks, merge them into ``index``; returns the parts made."""
    empty = ray.put(index.start_parts(vectors))
    fill = ray.remote(num_cpus=cpus, max_retries=-1)(_fill)
    bounds = np.linspace(0, len(ids), num=max(1, min(parts, len(ids))) + 1, dtype=np.int64)
    futures = [fill.remote(index.name, empty, np.arange(a, b, dtype=np.int64), vectors[a:b])
               for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    filled = []
    for future in futures:
        filled.append(ray.get(future))
        bar.update(1)
    index.merge_parts(filled, ids, metadata)
    return len(futures)
