"""Features for the linear head: one embedder's vectors, or TF-IDF beside them (hybrid)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from latentstack.cache import embed_cached

#: The TF-IDF of the classic linear spam filter: word 1-2-grams and char 2-5-grams.
CLASSIC_TFIDF = {"word_ngrams": (1, 2), "char_ngrams": (2, 5), "min_df": 1, "sublinear_tf": True}
#: Naive Bayes' classic features: word unigrams (n-grams break its independence assumption further).
NB_TFIDF = {"word_ngrams": (1, 1), "char_ngrams": (0, 0), "sublinear_tf": True}
#: Predictions on fewer texts than this are not written to the embedding cache: a server's or a terminal's
#: messages would each leave a file (and their vectors) behind, where evaluation sets are what is worth keeping.
CACHE_WRITE_MIN = 256
#: LSA projects word n-grams only, capped, so its components stay a few MB.
LSA_TFIDF = {"word_ngrams": (1, 2), "char_ngrams": (0, 0), "max_features": 20000}


class Features:
    """Builds, fits, saves and reloads the embedders behind a linear head."""

    def __init__(self, embedders: list[Any]) -> None:
        self.embedders = embedders

    @classmethod
    def create(cls, name: str, options: dict[str, Any], hybrid: bool, head: str = "logistic") -> Features:
        """The named embedder (TF-IDF defaults by head), plus the classic TF-IDF when ``hybrid``."""
        from latentstack import get_embedder

        opts = dict(options)
        if name == "tfidf":
            opts = {**(NB_TFIDF if head == "nb" else CLASSIC_TFIDF), **opts}
        elif name == "lsa":
            opts = {**LSA_TFIDF, **opts}
        embedders = [get_embedder(name, **opts)]
        if hybrid:
            embedders.append(get_embedder("tfidf", **CLASSIC_TFIDF))
        return cls(embedders)

    def fit_transform(self, texts: Sequence[str]) -> list[Any]:
        """Fit corpus-trained embedders (tfidf, lsa) on the training texts; one feature matrix per embedder of them."""
        return [emb.fit_transform(list(texts)) if emb.trainable else embed_cached(emb, list(texts))
                for emb in self.embedders]

    def transform(self, texts: Sequence[str]) -> list[Any]:
        """One feature matrix per embedder (dense arrays, or CSR for TF-IDF); cached vectors are read, and written
        only for batches of at least ``CACHE_WRITE_MIN`` texts."""
        write = len(texts) >= CACHE_WRITE_MIN
        return [embed_cached(emb, list(texts), write=write) for emb in self.embedders]

    @property
    def sparse(self) -> bool:
        """True when any block is sparse."""
        return any(e.sparse for e in self.embedders)

    def describe(self) -> list[dict[str, Any]]:
        """Name, config and fingerprint of each embedder, for the manifest."""
        return [{"name": e.name, "config": e.config.to_dict(), "fingerprint": e.fingerprint()} for e in self.embedders]

    def save(self, folder: Path) -> None:
        """Save the fitted state of trainable embedders as embedder_N/."""
        for i, emb in enumerate(self.embedders):
            if emb.trainable:
                emb.save(folder / f"embedder_{i}")

    @classmethod
    def load(cls, folder: Path, specs: list[dict[str, Any]], embedder: Any = None) -> Features:
        """Rebuild the embedders named in the manifest, checking each fingerprint.

        ``embedder`` replaces the first block's embedder when it computes the same features
        by another runtime: its ``source_fingerprint`` (an ONNX export of the same bert
        embedder) must equal the fingerprint the classifier was trained with.
        """
        from latentstack.errors import ModelMismatchError
        from latentstack.registry import get_registry
        from latentstack.storage import part

        reg = get_registry()
        embedders = []
        for i, spec in enumerate(specs):
            if i == 0 and embedder is not None:
                source = embedder.source_fingerprint()
                if source != spec["fingerprint"]:
                    msg = (f"the classifier at {folder} was trained on {spec['name']} features with fingerprint "
                           f"{spec['fingerprint']}; the {embedder.name} embedder given computes features of "
                           f"{source}: export the same model, pooling and adapter, or retrain")
                    raise ModelMismatchError(msg)
                embedders.append(embedder)
                continue
            emb_cls = reg.get_class("embedder", spec["name"])
            emb = emb_cls.load(part(folder, f"embedder_{i}")) if emb_cls.trainable else emb_cls.from_options(**spec["config"])
            if emb.fingerprint() != spec["fingerprint"]:
                msg = (f"the classifier at {folder} was trained on {spec['name']} features with fingerprint "
                       f"{spec['fingerprint']}, but that embedder now gives {emb.fingerprint()}: the base model "
                       "differs; install the original model or retrain")
                raise ModelMismatchError(msg)
            embedders.append(emb)
        return cls(embedders)

def as_array(x: Any) -> np.ndarray:
    """Dense float array from dense or sparse input."""
    return np.asarray(x.toarray() if hasattr(x, "toarray") else x)
