"""A FAISS index with our own ids, metadata filters, removals, and safe persistence.

Labels are int64s we assign in order; any id (str or int) maps to one. Filters become
an IDSelector applied *during* the search (FAISS skips non-matching vectors), never an
over-fetch that drops rows. HNSW cannot delete, so a removal there is a tombstone,
filtered the same way and compacted away on save; a Refine index keeps its tombstones.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from latentstack.errors import ConfigError, InputError, ModelMismatchError
from latentstack.interfaces import Hit, Index, IndexConfig
from latentstack.interfaces.index import check_ids, check_metadata_update
from latentstack.metadata_index import MetadataIndex
from latentstack.metadata_rows import pack, shared_copies, unpack
from latentstack.progress import detail, log
from latentstack.storage import component_dir, read_manifest, reading, write_manifest
from latentstack_faiss.kinds import Kind, auto_factory, parse, search_params

FORMAT = 2  # 2: metadata.json keeps each distinct mapping once, ids.json two lists (version 1 is read too)
#: HNSW: a filter allowing at most SCAN_BELOW vectors is answered by scoring them all (the graph's walk finds
#: few of them among the rest); up to EXACT_BELOW, a walk that comes back short is scored that way after it.
SCAN_BELOW = 2_000
NO_METADATA: dict[str, Any] = {}  # one mapping for the items given none (read, never changed)
EXACT_BELOW = 20_000


@attrs.frozen(kw_only=True)
class FaissConfig(IndexConfig):
    """Which index and how hard to search it."""

    factory: str = "auto"  # a FAISS factory string, or "auto": chosen by the size of the first add
    nprobe: int = attrs.field(default=16, validator=attrs.validators.gt(0))
    ef_search: int = attrs.field(default=64, validator=attrs.validators.gt(0))
    k_factor: int = attrs.field(default=8, validator=attrs.validators.gt(0))
    device: str = attrs.field(default="auto", validator=attrs.validators.in_(("auto", "cpu", "gpu")))
    train_per_list: int = attrs.field(default=50, validator=attrs.validators.gt(0))


def _faiss() -> Any:
    import faiss

    return faiss


def _without_polysemous_training(faiss: Any, index: Any) -> None:
    """Turn off the polysemous training FAISS's factory asks of every PQ (IVF-PQ, HNSW over PQ, under IDMap2 or
    Refine): it orders the codes for a Hamming-distance filter no search here uses, and took most of the
    training's time (the codes, and so recall, are the same). ``index`` is the factory's, held by the caller."""
    for _ in range(4):  # the wrappers are at most IDMap2 > Refine or HNSW > the coded index
        index = faiss.downcast_index(index)
        if hasattr(index, "do_polysemous_training"):
            index.do_polysemous_training = False
        index = next((getattr(index, a) for a in ("base_index", "storage", "index") if hasattr(index, a)), None)
        if index is None:
            return


class FaissIndex(Index):
    """Dense float32 vectors; inner product (cosine on normalised vectors) or L2."""

    name = "faiss"
    Config = FaissConfig
    config: FaissConfig
    sets_metadata = True
    shortcuts = "a factory string such as Flat, SQ8, PQ48, HNSW32, HNSW32,SQ8, IVF1024,Flat or IVF1024,PQ48,Refine(SQ8)"

    def __init__(self, config: FaissConfig | None = None) -> None:
        super().__init__(config)
        self._kind: Kind | None = None if self.config.factory == "auto" else parse(self.config.factory)
        self.index: Any = None
        self.dim = 0
        self.device = "cpu"
        self.label_of: dict[str | int, int] = {}
        self.id_of: dict[int, str | int] = {}
        self.meta: dict[int, dict[str, Any]] = {}
        self.dead: set[int] = set()
        self.next_label = 0
        self._by_meta: tuple[np.ndarray, MetadataIndex] | None = None  # the live labels and their metadata's index

    @property
    def kind(self) -> Kind:
        """What the factory string implies (known once the first add chose it, for ``auto``)."""
        if self._kind is None:
            msg = "the faiss index has no vectors yet: add some first"
            raise InputError(msg)
        return self._kind

    @classmethod
    def options_from_shortcut(cls, spec: str) -> dict[str, Any] | None:
        """A FAISS factory string (``Flat``, ``HNSW32``, ``IVF1024,Flat``, ``auto``) as options."""
        try:
            if spec != "auto":
                parse(spec)
        except (InputError, ValueError):
            return None
        return {"factory": spec}

    def describe(self) -> str:
        """The factory string and the vector count."""
        return f"faiss {self.config.factory}, {len(self)} vector{'' if len(self) == 1 else 's'}"

    # -- building -------------------------------------------------------------------
    def check_dim(self, dim: int) -> None:
        """Make the chosen index kind (not "auto", which fits any) for ``dim`` once; a string FAISS cannot make is
        a ConfigError."""
        if self._kind is not None:
            self._factory(dim)

    def _factory(self, dim: int) -> Any:
        faiss = _faiss()
        metric = faiss.METRIC_INNER_PRODUCT if self.config.metric == "ip" else faiss.METRIC_L2
        spec = f"IDMap2,{self.kind.factory}" if self.kind.idmap else self.kind.factory
        try:
            index = faiss.index_factory(dim, spec, metric)
        except RuntimeError as exc:  # faiss' message is a C++ location, then the reason
            reason = str(exc).rsplit(": ", 1)[-1].strip()
            msg = (f"FAISS cannot make the index {self.kind.factory!r} for {dim}-dimensional vectors ({reason}): "
                   "give a factory string such as Flat, HNSW32, IVF1024,Flat or IVF1024,PQ48 (its PQ size must "
                   "divide the dimension), or auto")
            raise ConfigError(msg) from exc
        _without_polysemous_training(faiss, index)
        return index

    def _create(self, dim: int, n: int) -> None:
        if self._kind is None:
            self.config = attrs.evolve(self.config, factory=auto_factory(n))
            self._kind = parse(self.config.factory)
            log(f"faiss: index auto picked {self.config.factory} for {n} vectors")
        self.index = self._factory(dim)
        self.dim = dim
        self._maybe_gpu()

    def _maybe_gpu(self) -> None:
        faiss = _faiss()
        gpus = faiss.get_num_gpus() if hasattr(faiss, "get_num_gpus") else 0
        if self.config.device == "gpu" and gpus == 0:
            msg = "device='gpu' asked for, but faiss sees no GPU (install faiss-gpu on a CUDA machine)"
            raise InputError(msg)
        if gpus and self.config.device != "cpu" and not self.kind.hnsw:
            self.index = faiss.index_cpu_to_gpu(faiss.StandardGpuResources(), 0, self.index)
            self.device = "gpu"
        detail(f"faiss: {self.kind.factory} on {self.device}")

    def _as_matrix(self, vectors: Any) -> np.ndarray:
        if hasattr(vectors, "toarray"):
            msg = "faiss takes dense vectors; this embedder is sparse (tfidf): use lsa, or the bm25 index"
            raise InputError(msg)
        x = np.ascontiguousarray(vectors, dtype=np.float32)
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2:
            msg = f"expected a 2-d array of vectors, got shape {x.shape}"
            raise InputError(msg)
        if self.dim and x.shape[1] != self.dim:
            msg = f"vectors have dim {x.shape[1]} but this index holds dim {self.dim}: embed with the index's model"
            raise ModelMismatchError(msg)
        if not np.isfinite(x).all():
            msg = "vectors contain NaN or infinity"
            raise InputError(msg)
        return x

    def _train(self, x: np.ndarray) -> None:
        if self.index.is_trained:
            return
        if len(x) < self.kind.min_train:
            msg = (f"{self.kind.factory} must be trained on at least {self.kind.min_train} vectors, "
                   f"got {len(x)} in the first add: add more at once, or use an index that learns nothing (Flat, SQfp16, "
                   "HNSW32)")
            raise InputError(msg)
        lists = self.kind.nlist  # a coded storage without lists (SQ8, HNSW32,PQ16) trains on every vector given
        wanted = max(self.kind.min_train, self.config.train_per_list * lists, self.kind.pq_sample)
        sample = min(len(x), wanted if lists else len(x))
        if sample < len(x):  # k-means on a seeded sample: the lists barely change, training is far faster
            x = x[np.random.default_rng(0).choice(len(x), sample, replace=False)]
        log(f"faiss: training {self.kind.factory} on {len(x)} vectors")
        self.index.train(x)

    def add(self, ids: Sequence[str | int], items: Any, metadata: Sequence[Mapping[str, Any]] | None = None) -> None:
        """Add vectors under ids (trains an IVF index on its first add); an existing id is replaced."""
        ids, x = check_ids(ids), self._as_matrix(items)
        if len(ids) != len(x) or (metadata is not None and len(metadata) != len(x)):
            msg = f"got {len(ids)} ids and {len(metadata or ids)} metadata rows for {len(x)} vectors"
            raise InputError(msg)
        if len(set(ids)) != len(ids):
            msg = "ids must be unique within one add"
            raise InputError(msg)
        if self.index is None:
            self._create(x.shape[1], len(x))
        self._train(x)
        self.remove([i for i in ids if i in self.label_of])
        labels = np.arange(self.next_label, self.next_label + len(x), dtype=np.int64)
        if self.kind.refine:
            self.index.add(x)  # a Refine index numbers by position, which equals our label
        else:
            self.index.add_with_ids(x, labels)
        self.next_label += len(x)
        self._by_meta = None
        self._label(ids, labels.tolist(), metadata)

    def _label(self, ids: Sequence[str | int], labels: Sequence[int],
               metadata: Sequence[Mapping[str, Any]] | None) -> None:
        """Record each id's label and metadata (one copy for the items that share a mapping)."""
        metas = shared_copies(metadata) if metadata is not None else [{}] * len(ids)
        for ext, lab, meta in zip(ids, labels, metas, strict=True):
            self.label_of[ext] = lab
            self.id_of[lab] = ext
            if meta:
                self.meta[lab] = meta

    def set_metadata(self, ids: Sequence[str | int], metadata: Sequence[Mapping[str, Any]]) -> None:
        """Replace stored ids' metadata; their vectors stay as they are."""
        ids = check_metadata_update(ids, metadata, self.label_of)
        for i, meta in zip(ids, shared_copies(metadata), strict=True):
            if meta:
                self.meta[self.label_of[i]] = meta
            else:
                self.meta.pop(self.label_of[i], None)
        self._by_meta = None

    # -- building in parts: workers add to copies of the trained empty index, merged here --------
    def can_build_in_parts(self, n: int) -> bool:
        """Flat and IVF kinds on the CPU, when the index is still empty (HNSW and Refine cannot merge)."""
        faiss = _faiss()
        kind = self._kind or parse(auto_factory(n))
        gpu = self.config.device != "cpu" and hasattr(faiss, "get_num_gpus") and faiss.get_num_gpus() > 0
        return self.index is None and not (kind.hnsw or kind.refine or gpu)

    def start_parts(self, vectors: Any) -> bytes:
        """Create the index for these vectors and train it (IVF: on the same seeded sample as ``add``)."""
        x = self._as_matrix(vectors)
        self._create(x.shape[1], len(x))
        self._train(x)
        faiss = _faiss()
        part = faiss.serialize_index(self.index)
        self.index = faiss.deserialize_index(part)  # the parts' exact classes: merge_from wants the same types
        return bytes(part)

    @classmethod
    def fill_part(cls, part: bytes, positions: Any, vectors: Any) -> bytes:
        """The empty trained index with ``vectors`` added under their positions as labels."""
        faiss = _faiss()
        index = faiss.deserialize_index(np.frombuffer(part, dtype=np.uint8))
        index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(positions, dtype=np.int64))
        return bytes(faiss.serialize_index(index))

    def merge_parts(self, parts: Sequence[bytes], ids: Sequence[str | int],
                    metadata: Sequence[Mapping[str, Any]] | None = None) -> None:
        """Merge the parts' inverted lists (or flat storage) into this index; every position exactly once."""
        faiss = _faiss()
        if self.index is None or len(self):
            msg = "merge_parts needs the index start_parts made, still empty"
            raise InputError(msg)
        if len(set(ids)) != len(ids):
            msg = "ids must be unique within one add"
            raise InputError(msg)
        for part in parts:
            self.index.merge_from(faiss.deserialize_index(np.frombuffer(part, dtype=np.uint8)), 0)
        if self.index.ntotal != len(ids):
            msg = f"the merged parts hold {self.index.ntotal} vectors for {len(ids)} ids: a part was lost or repeated"
            raise InputError(msg)
        self.next_label, self._by_meta = len(ids), None
        self._label(ids, range(len(ids)), metadata)

    def remove(self, ids: Sequence[str | int]) -> int:
        """Remove ids; they are gone from results at once (tombstoned on HNSW/Refine)."""
        labels = [self.label_of.pop(i) for i in check_ids(ids) if i in self.label_of]
        for lab in labels:
            self.id_of.pop(lab, None)
            self.meta.pop(lab, None)
        if labels:
            self._by_meta = None
            if self.kind.tombstones:
                self.dead.update(labels)
            else:
                self.index.remove_ids(_faiss().IDSelectorBatch(np.array(labels, dtype=np.int64)))
        return len(labels)

    def __len__(self) -> int:
        return len(self.label_of)

    # -- searching ------------------------------------------------------------------
    def _selector(self, where: Mapping[str, Any] | None) -> tuple[Any, np.ndarray | None]:
        """An IDSelector for the labels allowed (or None for all), and those labels when a filter chose them."""
        faiss = _faiss()
        if where:
            if self._by_meta is None:  # kept until the items change: a filter is then lookups, not a pass
                labels = np.fromiter(self.id_of, dtype=np.int64, count=len(self))
                self._by_meta = labels, MetadataIndex([self.meta.get(lab, NO_METADATA) for lab in self.id_of])
            labels, by_meta = self._by_meta
            allowed = labels[by_meta.mask(where)]
            bits = np.zeros(self.next_label, dtype=bool)
            bits[allowed] = True
            packed = np.packbits(bits, bitorder="little")  # a bit per label: made at once, unlike a hash set
            sel = faiss.IDSelectorBitmap(len(packed), faiss.swig_ptr(packed))
            sel.bits = packed  # the selector reads this memory: it lives as long as the selector
            return sel, allowed
        if self.dead:
            dead = faiss.IDSelectorBatch(np.array(sorted(self.dead), dtype=np.int64))
            return faiss.IDSelectorNot(dead), None
        return None, None

    def _exactly(self, q: np.ndarray, allowed: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Scores and labels of ``q`` against every allowed vector, as FAISS gives them (-1 past the last): HNSW's
        walk can miss a few allowed nodes among many others. The vectors are the index's own (SQ8's decoded)."""
        vectors = self.index.reconstruct_batch(allowed) if len(allowed) else np.zeros((0, self.dim), np.float32)
        if self.config.metric == "ip":
            found = q @ vectors.T
            order = np.argsort(-found, axis=1, kind="stable")[:, :k]
        else:  # FAISS gives squared distances, nearest first (expanded: no queries x vectors x dim array)
            found = np.maximum((q**2).sum(axis=1)[:, None] - 2 * (q @ vectors.T) + (vectors**2).sum(axis=1), 0.0)
            order = np.argsort(found, axis=1, kind="stable")[:, :k]
        scores, labels = np.full((len(q), k), -np.inf, np.float32), np.full((len(q), k), -1, np.int64)
        scores[:, :order.shape[1]] = np.take_along_axis(found, order, axis=1)
        labels[:, :order.shape[1]] = allowed[order]
        return scores, labels

    def search_batch(self, queries: Any, k: int = 10, where: Mapping[str, Any] | None = None) -> list[list[Hit]]:
        """The k nearest live vectors per query, optionally only those whose metadata matches."""
        if k < 1:
            msg = f"k must be at least 1, got {k}"
            raise InputError(msg)
        q = self._as_matrix(queries)
        if self.index is None or len(self) == 0:
            return [[] for _ in range(len(q))]
        sel, chosen = self._selector(where)
        scores, labels = self._searched(q, k, sel, chosen)
        sign = -1.0 if self.config.metric == "l2" else 1.0
        return [
            [Hit(self.id_of[lab], sign * float(s), dict(self.meta.get(lab, NO_METADATA)))
             for s, lab in zip(srow, lrow, strict=True) if lab >= 0 and lab in self.id_of]
            for srow, lrow in zip(scores, labels, strict=True)
        ]

    def _searched(self, q: np.ndarray, k: int, sel: Any, chosen: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """FAISS's scores and labels for ``q`` among the vectors ``sel`` passes (``chosen``: their labels, when a
        filter chose them)."""
        if self.kind.hnsw and chosen is not None and len(chosen) <= SCAN_BELOW:
            return self._exactly(q, chosen, k)
        allowed = len(chosen) if chosen is not None else len(self)
        want = min(k, allowed)
        nprobe, ef, lists = self.config.nprobe, self.config.ef_search, max(self.kind.nlist, 1)
        while True:  # a selective filter can leave too few candidates in the probed lists: widen, not over-fetch
            params = search_params(_faiss(), self.kind, nprobe=nprobe, ef_search=max(ef, k),
                                   k_factor=self.config.k_factor, sel=sel)
            scores, labels = self.index.search(q, k, params=params)
            short = (labels[:, :want] < 0).any(axis=1)
            if not short.any() or sel is None:
                break
            if self.kind.hnsw and allowed <= EXACT_BELOW:  # the walk missed some: score every allowed vector
                pool = chosen if chosen is not None else np.fromiter(self.id_of, dtype=np.int64, count=len(self))
                scores[short], labels[short] = self._exactly(q[short], pool, k)
                break
            stored = self.index.ntotal
            if nprobe >= lists and (not self.kind.hnsw or ef >= stored):
                break
            nprobe, ef = min(nprobe * 4, lists), min(ef * 4, max(stored, k))
        return scores, labels

    def set_search(self, *, nprobe: int | None = None, ef_search: int | None = None, k_factor: int | None = None) -> None:
        """Change how hard searches look (benchmarks sweep this)."""
        changes = {k: v for k, v in {"nprobe": nprobe, "ef_search": ef_search, "k_factor": k_factor}.items() if v}
        self.config = attrs.evolve(self.config, **changes)  # type: ignore[arg-type]

    # -- persistence ----------------------------------------------------------------
    def _compacted(self) -> Any:
        """A copy of the index without tombstoned vectors (HNSW: rebuilt from exact vectors)."""
        faiss = _faiss()
        cpu = faiss.index_gpu_to_cpu(self.index) if self.device == "gpu" else self.index
        if not (self.dead and self.kind.hnsw):
            return cpu
        fresh = faiss.index_factory(self.dim, f"IDMap2,{self.kind.factory}", cpu.metric_type)
        if not fresh.is_trained:  # coded storage (HNSW32,SQ8): the trained codec re-encodes its own vectors alike
            fresh = faiss.clone_index(cpu)
            fresh.reset()
        labels = np.array(sorted(self.id_of), dtype=np.int64)
        if len(labels):
            fresh.add_with_ids(cpu.reconstruct_batch(labels), labels)
        return fresh

    def nbytes(self) -> int:
        """Size of the serialized FAISS index (its memory, near enough)."""
        return int(_faiss().serialize_index(self._compacted()).nbytes)

    def save(self, path: str | Path) -> None:
        """index.faiss + ids.json + metadata.json under a checksummed manifest, atomically."""
        if self.index is None:
            msg = "cannot save an empty faiss index: add vectors first"
            raise InputError(msg)
        compacted = self._compacted()
        if compacted is not self.index and self.device == "cpu":
            self.index, self.dead = compacted, set()
        with component_dir(path, "index") as tmp:
            _faiss().write_index(compacted, str(tmp / "index.faiss"))
            (tmp / "ids.json").write_text(json.dumps({"labels": list(self.id_of), "ids": list(self.id_of.values())}))
            metadata = {"labels": list(self.meta), **pack(list(self.meta.values()))}
            (tmp / "metadata.json").write_text(json.dumps(metadata))
            data = {"dim": self.dim, "next_label": self.next_label, "n": len(self),
                    "dead": sorted(self.dead) if self.kind.refine else []}
            write_manifest(tmp, kind="index", plugin=self.name, version=FORMAT, config=self.config.to_dict(),
                           data=data)

    @classmethod
    def load(cls, path: str | Path) -> FaissIndex:
        """Read a saved index; a truncated, corrupt or inconsistent folder is a CorruptFileError."""
        manifest = read_manifest(path, kind="index", plugin=cls.name, version=(1, FORMAT))
        path, head = manifest.path, manifest.data
        with reading(path, "faiss index"):
            saved = json.loads((path / "ids.json").read_text())  # version 1: a [label, id] pair per item
            labels, ids = (saved["labels"], saved["ids"]) if isinstance(saved, dict) else (
                [lab for lab, _ in saved], [ext for _, ext in saved])
            if len(labels) != head["n"]:
                msg = f"{path}: ids.json holds {len(labels)} ids, the manifest {head['n']}"
                raise ValueError(msg)
            meta = json.loads((path / "metadata.json").read_text())
            return cls._restore(manifest.config, head, path, dict(zip(labels, ids, strict=True)), meta)

    @classmethod
    def _restore(cls, config: dict[str, Any], head: dict[str, Any], path: Path, id_of: dict[int, Any],
                 meta: dict[str, Any]) -> FaissIndex:
        index = cls.from_options(**config)
        index.index = _faiss().read_index(str(path / "index.faiss"))
        index.dim, index.next_label, index.dead = head["dim"], head["next_label"], set(head["dead"])
        index.id_of = id_of
        index.label_of = dict(zip(index.id_of.values(), index.id_of, strict=True))
        if "labels" in meta:  # version 2; version 1 mapped each label (as text) to its own copy
            index.meta = dict(zip(meta["labels"], unpack(meta, len(meta["labels"])), strict=True))
        else:
            index.meta = {int(lab): m for lab, m in meta.items()}
        index._maybe_gpu()
        return index
