"""What a FAISS factory string implies: how ids, removals and search parameters work."""

from __future__ import annotations

import math
import re
from typing import Any

import attrs

from latentstack.errors import ConfigError


@attrs.frozen
class Kind:
    """How one factory string is handled.

    - ``idmap``: wrapped in IDMap2 (Flat, HNSW) so that our labels are kept;
    - ``tombstones``: removal marks a label dead, filtered by an IDSelector during
      search (HNSW cannot delete; a Refine index stores by position); HNSW is compacted on save;
    - ``nlist``: IVF lists to train (0 for none); ``min_train``: vectors needed to train;
      ``pq_sample``: vectors a PQ's k-means should see (FAISS warns below 39 a centroid), 0 without PQ.
    """

    factory: str
    idmap: bool
    tombstones: bool
    ivf: bool
    hnsw: bool
    refine: bool
    nlist: int
    min_train: int
    pq_sample: int = 0


#: Flat storage of scalar-quantised vectors: every vector scored, from 1 (SQ8), 2 (fp16) or a half byte a number.
SCALAR_CODES = re.compile(r"^SQ(4|6|8|fp16|bf16)$")
#: FAISS's flat PQ (``PQ16``, ``PQ16x6``) cannot filter during a search; one IVF list holding the same codes,
#: every one scored, can: it is built as ``IVF1,`` and the string.
FLAT_PQ = re.compile(r"^PQ\d+(x\d+)?$")
#: Vectors an integer scalar quantiser (SQ8, SQ4) learns each number's range from: a range learnt from a few
#: vectors clips the rest (docs/benchmarks.md, "Indexes that keep codes").
SQ_TRAIN = 1000


def parse(factory: str) -> Kind:
    """Classify a factory string; unsupported ones are a ConfigError."""
    f = factory.replace(" ", "")
    f = f"IVF1,{f}" if FLAT_PQ.match(f) else f
    ivf = re.match(r"^IVF(\d+)", f)
    hnsw = f.startswith("HNSW")
    refine = "Refine(" in f or f.endswith(",RFlat")
    if not (f == "Flat" or SCALAR_CODES.match(f) or hnsw or ivf):
        msg = (f"unsupported FAISS factory {factory!r}; use Flat, SQ8 (or SQfp16, SQ4), PQ{{m}}, HNSW32[,SQ8], "
               "IVF{n},Flat or IVF{n},PQ{m}[,Refine(SQ8)]")
        raise ConfigError(msg)
    nlist = int(ivf.group(1)) if ivf else 0
    pq = re.search(r"PQ\d+(?:x(\d+))?", f)
    centroids = 2 ** int(pq.group(1) or 8) if pq else 0
    pq_train = centroids  # k-means needs a vector a centroid
    sq_train = SQ_TRAIN if re.search(r"SQ[468](?!\d)", f) and not ivf else 0  # IVF's sample is larger
    return Kind(f, idmap=not ivf, tombstones=hnsw or refine, ivf=bool(ivf), hnsw=hnsw, refine=refine,
                nlist=nlist, min_train=max(nlist, pq_train, sq_train), pq_sample=39 * centroids)


def auto_factory(n: int) -> str:
    """Pick a factory for ``n`` vectors: exact below 50k, IVF-Flat to 2M, IVF-PQ with re-ranking above."""
    if n < 50_000:
        return "Flat"
    nlist = int(4 * math.sqrt(n))
    if n <= 2_000_000:
        return f"IVF{nlist},Flat"
    return f"IVF{nlist},PQ48,Refine(SQ8)"


def search_params(faiss: Any, kind: Kind, *, nprobe: int, ef_search: int, k_factor: int, sel: Any) -> Any:
    """Search parameters for this kind with the selector ``sel`` placed where FAISS reads it."""
    if kind.ivf:
        base = faiss.SearchParametersIVF(nprobe=nprobe)
    elif kind.hnsw:
        base = faiss.SearchParametersHNSW(efSearch=ef_search)
    else:
        base = faiss.SearchParameters()
    if kind.refine:
        base.sel = sel
        params = faiss.IndexRefineSearchParameters(k_factor=k_factor, base_index_params=base)
        return params
    base.sel = sel
    return base
