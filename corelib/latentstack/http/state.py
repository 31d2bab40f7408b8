"""What one server holds: the models, indexes and classifiers it answers with, loaded once and kept."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import attrs

from latentstack.errors import UnknownNameError
from latentstack.http.batcher import DynamicBatcher
from latentstack.http.responses_store import ResponseStore
from latentstack.http.streaming import FairLock
from latentstack.rag.pipeline import RagConfig


@attrs.define
class Served:
    """The server's configuration and everything it has loaded.

    Embedding ``model`` names are a registered embedder (its default options) or a known
    model name (run by ``embedder``). Chat ``model`` names are the generator's model,
    optionally ``+ADAPTER`` for an adapter given at start. Models load on the event loop's
    thread the first time they are named (the server warms the generator at start), so two
    worker threads never import or load at once. An index or classifier saved again while the
    server runs is read again on a worker thread, one at a time (``load_lock``), its model
    kept: the other requests are answered meanwhile, those naming another index or classifier already
    read too (an unchanged one is handed out without the lock).
    """

    embedder: str = "bert"
    #: None: no chat model (``serve --http --no-generator``); chat and ask requests are refused.
    generator: str | None = "llm"
    generator_options: dict[str, Any] = attrs.Factory(dict)
    adapters: dict[str, str] = attrs.Factory(dict)
    indexes: dict[str, Path] = attrs.Factory(dict)
    classifiers: dict[str, Path] = attrs.Factory(dict)
    #: Model folders (or names) /v1/embeddings serves under names of their own (``serve --embedding-model``).
    embedding_models: dict[str, Path] = attrs.Factory(dict)
    window_s: float | None = 0.005
    #: /v1/ask's k, hybrid and min_score (and /v1/search's hybrid) when a request leaves them out: serve's own options.
    ask_defaults: RagConfig = attrs.Factory(RagConfig)
    #: Embeds the indexes' queries instead of their own embedders (an ONNX export of their model), if given.
    query_embedder: Any = None
    #: The served classifiers whose features ``query_embedder`` computes (``export_fits``): they embed with it.
    export_classifiers: frozenset[str] = frozenset()
    loaded: dict[str, Any] = attrs.Factory(dict)
    #: The embedders built for /v1/embeddings, one per fingerprint, the default one lent to indexes and classifiers.
    embedders: dict[str, Any] = attrs.Factory(dict)
    #: Requests generate in arrival order, one at a time or, where the generator decodes several together, as many
    #: with one adapter.
    gen_lock: FairLock = attrs.Factory(FairLock)
    index_lock: threading.Lock = attrs.Factory(threading.Lock)  # one search at a time over the shared stores
    load_lock: threading.Lock = attrs.Factory(threading.Lock)  # one index or classifier read (again) at a time
    #: Each loaded index's files' modification times when it was read (a change on disk: read again).
    stamps: dict[str, tuple[int, ...]] = attrs.Factory(dict)
    #: The responses /v1/responses kept (``store``), for ``previous_response_id``.
    responses: ResponseStore = attrs.Factory(ResponseStore)

    def batcher(self, model: str, kind: str = "") -> tuple[str, DynamicBatcher]:
        """The canonical name and batcher of an embedding model, for texts of ``kind`` (queries, documents or
        neither: the model's prompt for them is put); an unknown one is an UnknownNameError. A model whose vectors
        ``query_embedder`` computes (the ONNX export given at start) is embedded by the export."""
        key = f"embedder:{model}" + (f":{kind}" if kind else "")
        if key not in self.loaded:
            emb = self._embedder(model)
            if self.query_embedder is not None and emb.fingerprint() == self.query_embedder.source_fingerprint():
                emb = self.query_embedder  # the same vectors by another runtime: the torch model is never loaded
            # Loads the model here, never on two threads at once (imports are not thread-safe).
            warm = emb.embed_many(["warm up"])
            self.loaded[key] = DynamicBatcher(lambda texts: emb.embed_many(texts, kind), window_s=self.window_s,
                                              dim=int(warm.shape[1]),
                                              count=lambda texts: emb.token_counts(emb.prompted(texts, kind)))
        return model, self.loaded[key]

    def _embedder(self, model: str) -> Any:
        """The embedder an embedding ``model`` name stands for (not loaded yet): one per fingerprint, whichever
        name asked for it."""
        from latentstack import get_embedder
        from latentstack.registry import get_registry
        from latentstack.sources import list_models

        if self.query_embedder is not None and model == self.query_embedder.name:
            return self.query_embedder  # the export given at start, by its embedder's name
        reg = get_registry()
        if model in self.embedding_models:
            emb = get_embedder(self.embedder, model=str(self.embedding_models[model]), show_progress=False)
        elif model in reg.names("embedder") and not reg.get_class("embedder", model).trainable:
            emb = get_embedder(model, show_progress=False)
        elif model in {m.name for m in list_models() if m.installed}:
            emb = get_embedder(self.embedder, model=model, show_progress=False)
        else:
            msg = f"unknown embedding model {model!r}; GET /v1/models lists the ones served"
            raise UnknownNameError(msg)
        return self.embedders.setdefault(emb.fingerprint(), emb)

    def chat_model(self) -> str:
        """The name chat requests use for the plain generator."""
        self._check_generator()
        return str(self.generator_options.get("model") or self.generator_instance().config.to_dict().get("model")
                   or self.generator)

    def generator_instance(self) -> Any:
        """The generator, built once."""
        if "generator" not in self.loaded:
            from latentstack import get_generator
            from latentstack.interfaces import GenerationConfig

            name = self._check_generator()
            gen = get_generator(name, **_server_defaults(name, self.generator_options))
            gen.generate("Hi", GenerationConfig(max_new_tokens=1))  # loaded now, as the embedders are
            self.gen_lock.rows = gen.parallel_rows
            self.loaded["generator"] = gen
        return self.loaded["generator"]

    def _check_generator(self) -> str:
        """The generator's name; a server without one refuses chat and ask with an UnknownNameError."""
        if self.generator is None:
            msg = "this server has no chat model (started with --no-generator): chat and ask are off"
            raise UnknownNameError(msg)
        return self.generator

    def adapter_for(self, model: str | None) -> str:
        """The adapter path a chat ``model`` asks for ('' for none); an unknown name is an UnknownNameError."""
        base = self.chat_model()
        if not model or model == base:
            return ""
        name = model[len(base) + 1:] if model.startswith(base + "+") else None
        if name is None or name not in self.adapters:
            known = ", ".join([base, *(f"{base}+{a}" for a in self.adapters)])
            msg = f"unknown chat model {model!r}; served: {known}"
            raise UnknownNameError(msg)
        return self.adapters[name]

    def collection(self, name: str) -> Any:
        """A served index, loaded once (its embedder's model loaded with it, or ``embedder``'s default one when it
        is the same embedder: one copy in memory), and read again, its model kept, once its folder was saved
        again (``index add`` or ``remove`` while the server runs: a removed document must not be found)."""
        ready = self._unchanged("index", name, self.indexes)
        if ready is not None:
            return ready
        with self.load_lock:
            return self._collection(name)

    def _collection(self, name: str) -> Any:
        from latentstack.rag.server import index_stamp
        from latentstack.search import Collection

        previous = self._changed("index", name, self.indexes)

        def load(path: Path) -> Any:
            self.stamps[f"index:{name}"] = index_stamp(path)  # before reading: a save meanwhile is seen next time
            reuse = [*self._lendable(), *([previous.embedder] if previous is not None else [])]
            col = Collection.load(path, query_embedder=self.query_embedder, reuse=reuse)
            col.embed_queries(["warm up"])
            return col

        return self._once("index", name, self.indexes, load)

    def _unchanged(self, kind: str, name: str, table: dict[str, Path]) -> Any:
        """The loaded copy of ``kind`` ``name`` while its folder is as it was read, else None (to be read under
        ``load_lock``): a request for it does not wait while another index or classifier is read."""
        key = f"{kind}:{name}"
        loaded = self.loaded.get(key)
        if loaded is None or name not in table or self._stale(key, table[name]):
            return None
        return loaded

    def _changed(self, kind: str, name: str, table: dict[str, Path]) -> Any:
        """The loaded copy of ``kind`` ``name``, taken out, when its folder changed since it was read; else None."""
        from latentstack.progress import log

        key = f"{kind}:{name}"
        if key not in self.loaded or not self._stale(key, table[name]):
            return None
        log(f"{kind} {name} was saved again since it was read: reading it anew")
        return self.loaded.pop(key)

    def _stale(self, key: str, path: Path) -> bool:
        """Whether the folder at ``path`` changed since ``key`` was read from it; not while it is swapped in this
        instant, or removed (the loaded copy answers)."""
        from latentstack.rag.server import index_stamp

        try:
            return index_stamp(path) != self.stamps.get(key)
        except OSError:
            return False

    def classifier(self, name: str) -> Any:
        """A served classifier, loaded once: its features computed by the export (``export_classifiers``), else by
        ``embedder``'s default model when they are that model's (one copy in memory for both), else by its own;
        read again once its folder was saved again (trained again into it while the server runs)."""
        ready = self._unchanged("classifier", name, self.classifiers)
        if ready is not None:
            return ready
        with self.load_lock:
            return self._classifier(name)

    def _classifier(self, name: str) -> Any:
        from latentstack import load_classifier
        from latentstack.rag.server import index_stamp

        self._changed("classifier", name, self.classifiers)

        def load(path: Path) -> Any:
            self.stamps[f"classifier:{name}"] = index_stamp(path)
            lent = [self.query_embedder] if name in self.export_classifiers else self._lendable()
            clf = _with_lent(path, lent[0])[0] if lent else None
            clf = load_classifier(path) if clf is None else clf
            clf.predict_proba(["warm up"])
            return clf

        return self._once("classifier", name, self.classifiers, load)

    def _lendable(self) -> list[Any]:
        """``embedder``'s default embedder (the one /v1/embeddings warms), to lend to indexes and classifiers of
        the same model; none when it cannot be built."""
        from latentstack.errors import LatentstackError

        try:
            return [self._embedder(self.embedder)]
        except LatentstackError:
            return []

    def export_fits(self) -> dict[str, str]:
        """Set ``export_classifiers`` to the served classifiers whose features ``query_embedder`` computes (each
        read once to check, nothing embedded or kept); the others, each with why it keeps its own features."""
        if self.query_embedder is None:
            return {}
        why = {name: _with_lent(path, self.query_embedder)[1] for name, path in self.classifiers.items()}
        self.export_classifiers = frozenset(name for name, reason in why.items() if reason is None)
        return {name: reason for name, reason in why.items() if reason is not None}

    def _runs_alone(self, name: str) -> bool:
        """Whether a request can name embedder ``name`` alone: its default options name a model (an ``onnx``
        embedder needs its export's folder), or it is the export given at start."""
        from latentstack.errors import LatentstackError

        try:
            self._embedder(name)  # builds it and reads what names its model (its fingerprint), loads nothing
        except LatentstackError:
            return False
        return True

    def _once(self, kind: str, name: str, table: dict[str, Path], load: Any) -> Any:
        """``load(table[name])`` the first time, the same object after; a name not served is an UnknownNameError."""
        if name not in table:
            msg = f"unknown {kind} {name!r}; served: {', '.join(table) or 'none'}"
            raise UnknownNameError(msg)
        key = f"{kind}:{name}"
        if key not in self.loaded:
            self.loaded[key] = load(table[name])
        return self.loaded[key]

    def models(self) -> list[dict[str, Any]]:
        """What GET /v1/models lists: embedding models, chat models (with adapters), indexes and classifiers."""
        from latentstack.registry import get_registry
        from latentstack.sources import list_models

        reg = get_registry()
        rows = [(n, "embedder") for n in reg.names("embedder") if not reg.get_class("embedder", n).trainable
                and self._runs_alone(n)]
        base = self.chat_model() if self.generator is not None else None
        rows += [(m.name, "embedding model") for m in list_models() if m.installed and m.name != base]
        rows += [(n, "embedding model") for n in self.embedding_models]
        rows += [(base, "chat")] + [(f"{base}+{a}", "chat") for a in self.adapters] if base else []
        rows += [(n, "index") for n in self.indexes] + [(n, "classifier") for n in self.classifiers]
        return [{"id": n, "object": "model", "created": 0, "owned_by": "latentstack", "kind": k} for n, k in rows]


def _server_defaults(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """The generator's options, keeping ``SERVER_SLOTS`` chats' KV caches (``prefix_cache``) and decoding
    ``PARALLEL_ROWS`` answers together (``parallel``) where it takes those options and was not told."""
    from latentstack.interfaces.generator import PARALLEL_ROWS
    from latentstack.kept_prefix import SERVER_SLOTS
    from latentstack.registry import told_or_default

    return told_or_default("generator", name, options, {"prefix_cache": SERVER_SLOTS, "parallel": PARALLEL_ROWS})


def _with_lent(path: Path, lent: Any) -> tuple[Any, str | None]:
    """The classifier at ``path`` with ``lent`` computing its features (``load_classifier``'s fingerprint check), and
    None; or None and why not (its features are another model's, or it embeds nothing itself)."""
    from latentstack import load_classifier
    from latentstack.errors import ConfigError, ModelMismatchError

    try:
        return load_classifier(path, embedder=lent), None
    except (ModelMismatchError, ConfigError) as exc:
        return None, str(exc)
