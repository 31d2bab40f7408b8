"""The ``ray`` engine: chunking in Ray tasks, embedding in an actor pool, the index built in parts and merged.

Every actor builds the embedder itself, through the registry, from its registered name
and config (the plugin, its options and its adapter travel by name, never as a pickled
model), sets torch's threads to its CPUs, and embeds batch after batch; Ray retries a
task whose actor died. Rows carry their position, so the vectors come back in the order
of the texts whatever order the batches finish in, and a missing or repeated position
is an error rather than a silent gap. Without ``address`` a local Ray instance is
started with ``workers * cpus_per_worker`` CPUs, listening on loopback only
(loopback.py). One progress bar follows the job through its stages (documents chunked,
passages embedded, index parts filled), and ``summary`` gives the seconds of each.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from latentstack.cpu import usable_cores
from latentstack.engines import Engine
from latentstack.errors import ConfigError
from latentstack.interfaces import Index
from latentstack.interfaces.base import Config
from latentstack.search.chunking import Chunk, ChunkConfig


@attrs.frozen(kw_only=True)
class RayConfig(Config):
    """Which cluster, how many embedding actors, and how big their batches are."""

    address: str = ""
    workers: int = attrs.field(default=2, validator=attrs.validators.ge(1))
    cpus_per_worker: float = attrs.field(default=1.0, validator=attrs.validators.gt(0))
    gpus_per_worker: float = attrs.field(default=0.0, validator=attrs.validators.ge(0))
    batch_size: int = attrs.field(default=256, validator=attrs.validators.ge(1))
    #: Passages per shard: each finished shard is written to disk at once, and a rerun with ``resume`` reuses it.
    shard_size: int = attrs.field(default=4096, validator=attrs.validators.ge(1))
    resume: bool = False
    #: Cut documents in Ray tasks when they hold at least this many characters in all (0: always); below it
    #: the driver cuts them, as shipping the texts to tasks costs more than cutting them.
    chunk_in_tasks_from: int = attrs.field(default=64_000_000, validator=attrs.validators.ge(0))


def _check_local_cpus(needed: float, cpus: float, where: str) -> None:
    """A ConfigError when a local instance cannot hold the workers: each loads its own model, so workers beyond the
    CPUs only share them (and multiply the memory); on a running instance too small for them Ray starts fewer actors
    than asked, while the job's summary counts the workers asked for."""
    if needed > cpus:
        msg = (f"{needed:g} CPUs of workers (workers x cpus_per_worker) on {where}, which has {cpus:g}: each worker "
               "loads its own model, so give fewer --workers, or join a larger cluster with --address")
        raise ConfigError(msg)


class EmbedActor:
    """One worker: builds the embedder once, then embeds batches of rows ``{"i", "text"}``."""

    def __init__(self, embedder: str, options: Mapping[str, Any], threads: int) -> None:
        import torch

        from latentstack import get_embedder

        torch.set_num_threads(max(1, threads))
        self.embedder = get_embedder(embedder, **{**options, "show_progress": False})

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        vectors = np.asarray(self.embedder.embed_many(list(batch["text"]), None), dtype=np.float32)
        return {"i": batch["i"], "vector": vectors}  # a 2-d array: one tensor column, not an object per row


class RayEngine(Engine):
    """Embeds on a Ray cluster (a local one by default) with an actor pool of ``workers`` embedders."""

    name = "ray"
    Config = RayConfig
    config: RayConfig

    def __init__(self, config: RayConfig | None = None) -> None:
        super().__init__(config)
        c = self.config
        if not c.address:  # refused before any work, not when the first job starts its instance
            _check_local_cpus(c.workers * c.cpus_per_worker, usable_cores(), "this machine")
        self.last: dict[str, Any] = {}
        self.seconds: dict[str, float] = {}
        self.bar = JobBar()

    def _connect(self) -> Any:
        import ray

        from latentstack_ray.loopback import is_local, loopback_only

        c = self.config
        if not ray.is_initialized():
            if is_local(c.address):
                loopback_only()
            kwargs: dict[str, Any] = {"address": c.address} if c.address else {
                "num_cpus": max(1, int(round(c.workers * c.cpus_per_worker)))}
            if c.address:
                _check_reachable(c.address)
            try:
                ray.init(**kwargs, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
            except ConnectionError as exc:
                raise ConfigError(_unreachable(c.address, str(exc))) from exc
            ray.data.DataContext.get_current().enable_progress_bars = False
            logging.getLogger("ray.data").setLevel(logging.WARNING)  # its per-dataset INFO lines are not ours to show
        elif not c.address:  # an earlier job's instance may be smaller: fewer actors would run
            _check_local_cpus(c.workers * c.cpus_per_worker, ray.cluster_resources().get("CPU", 0),
                              "the local Ray instance this process started")
        return ray

    def chunk(self, texts: Sequence[str], config: ChunkConfig) -> list[list[Chunk]]:
        """Each document's chunks, cut by the core's chunker: in Ray tasks for a large corpus, else here."""
        from latentstack_ray.stages import chunk_documents

        start = time.perf_counter()
        self.seconds = {}
        in_tasks = sum(map(len, texts)) >= self.config.chunk_in_tasks_from
        if in_tasks:
            chunks = chunk_documents(self._connect(), texts, config, 2048,
                                     self.bar.stage("chunking (ray)", len(texts), "doc"))
        else:
            chunks = super().chunk(texts, config)
        self.seconds["chunk"] = round(time.perf_counter() - start, 2)
        self.last = {"documents": len(texts), "chunked_in_tasks": in_tasks}
        return chunks

    def build(self, index: Index, ids: Sequence[str | int], vectors: Any,
              metadata: Sequence[Mapping[str, Any]] | None = None) -> None:
        """Train on the driver, fill index parts in tasks and merge them; an index that cannot merge adds here."""
        from latentstack_ray.stages import build_in_parts

        start = time.perf_counter()
        c = self.config
        if index.can_build_in_parts(len(ids)):
            parts = max(c.workers, -(-len(ids) // c.shard_size))
            made = build_in_parts(self._connect(), index, ids, np.asarray(vectors, dtype=np.float32), metadata,
                                  parts, c.cpus_per_worker, self.bar.stage("index parts (ray)", parts, "part"))
            self.last["index_parts"] = made
        else:
            index.add(ids, vectors, metadata)
            self.last["index_parts"] = 0
        self.bar.close()
        self.seconds["index"] = round(time.perf_counter() - start, 2)

    def embed(self, texts: Sequence[str], embedder: str, options: Mapping[str, Any]) -> Any:
        """The vectors of ``texts`` in their order; every position must come back exactly once."""
        from latentstack_ray.shards import Shards

        c = self.config
        start = time.perf_counter()
        self.seconds.pop("embed", None)
        shards = Shards.for_job(texts, embedder, options, c.shard_size)
        todo = shards.missing() if c.resume else shards.all()
        reused = len(shards.names) - len(todo)
        if not c.resume:
            shards.clear()
        if todo:
            self._run(texts, embedder, options, shards, todo)
        out = shards.assemble()
        seconds = time.perf_counter() - start
        embedded = sum(len(shards.rows(n)) for n in todo)
        self.seconds["embed"] = round(seconds, 2)
        self.last |= {"passages": len(texts), "embedded": embedded, "shards": len(shards.names),
                     "shards_reused": reused, "workers": c.workers,
                     "passages_per_s": round(embedded / seconds, 1) if embedded else 0.0,
                     "per_worker_per_s": round(embedded / seconds / c.workers, 1) if embedded else 0.0}
        return out

    def _run(self, texts: Sequence[str], embedder: str, options: Mapping[str, Any], shards: Any, todo: list[str]) -> None:
        """Embed the rows of the shards in ``todo`` on the actor pool; each shard is saved as soon as it is whole."""
        ray = self._connect()
        c = self.config
        # Batches of similar lengths pad little (as the local path sorts by token count); rows keep their position.
        items = sorted(({"i": i, "text": texts[i]} for name in todo for i in shards.rows(name)),
                       key=lambda row: len(row["text"]))
        embedded = ray.data.from_items(items).map_batches(
            EmbedActor, batch_size=c.batch_size, compute=ray.data.ActorPoolStrategy(size=c.workers),
            num_cpus=c.cpus_per_worker,
            num_gpus=c.gpus_per_worker or None,
            fn_constructor_kwargs={"embedder": embedder, "options": dict(options), "threads": int(c.cpus_per_worker)})
        bar = self.bar.stage("embedding (ray)", len(items), "passage")
        for batch in embedded.iter_batches(batch_format="numpy", batch_size=None):
            shards.take(batch["i"], np.asarray(batch["vector"], dtype=np.float32))
            bar.update(len(batch["i"]))
        shards.check_complete(todo)

    def summary(self) -> dict[str, Any]:
        """Documents, passages, workers, seconds per stage and throughput of the last job."""
        return {**self.last, "seconds": dict(self.seconds)}


class JobBar:
    """One progress bar for the whole job, reset at each stage (silent under --quiet)."""

    def __init__(self) -> None:
        self.bar: Any = None

    def stage(self, desc: str, total: int, unit: str) -> Any:
        """The bar, now counting ``total`` ``unit`` of the stage ``desc``."""
        from tqdm.auto import tqdm

        from latentstack.progress import quiet

        if self.bar is None:
            self.bar = tqdm(total=total, desc=desc, unit=unit, disable=quiet(), leave=False)
        else:
            self.bar.reset(total=total)
            self.bar.set_description(desc)
            self.bar.unit = unit
        return self.bar

    def close(self) -> None:
        """End the job's bar."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _unreachable(address: str, why: str) -> str:
    """The one line for a cluster that does not answer at ``address``."""
    return (f"cannot reach the Ray cluster at {address} ({why}): check the address and that the cluster is up, "
            "or leave --address out to start a local one")


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """A TCP connection to ``host:port`` (``ray://host:port`` too) before Ray's own connect, which retries for
    minutes against a port nobody listens on; other forms ("auto") are left to Ray."""
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise ConfigError(_unreachable(address, exc.strerror or type(exc).__name__)) from exc
