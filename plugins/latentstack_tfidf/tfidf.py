"""TF-IDF vectors (scikit-learn), saved as JSON vocabulary + npz weights, never pickled.

Word n-grams and, optionally, character n-grams side by side (the classic spam filter's
features). Transform is written out here (counts -> sublinear tf -> idf -> L2) so that a
fitted and a reloaded embedder give identical vectors.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from latentstack.errors import InputError
from latentstack.interfaces import Embedder, EmbedderConfig


def _pair(value: Any) -> tuple[int, int]:
    lo, hi = (int(v) for v in value)
    return (lo, hi)


@attrs.frozen(kw_only=True)
class TfidfConfig(EmbedderConfig):
    """Which n-grams, how many, and how to weight them."""

    word_ngrams: tuple[int, int] = attrs.field(default=(1, 2), converter=_pair)
    char_ngrams: tuple[int, int] = attrs.field(default=(0, 0), converter=_pair)
    min_df: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    max_features: int | None = None
    sublinear_tf: bool = True
    lowercase: bool = True
    stop_words: str | None = None


class TfidfEmbedder(Embedder):
    """Sparse TF-IDF rows (scipy CSR, float32), L2-normalised. Must be fitted first."""

    name = "tfidf"
    Config = TfidfConfig
    config: TfidfConfig
    sparse = True
    trainable = True

    def __init__(self, config: TfidfConfig | None = None) -> None:
        super().__init__(config)
        self.parts: list[dict[str, Any]] = []  # one per analyzer: params, vocabulary, idf

    def _vectorizer_params(self) -> list[dict[str, Any]]:
        c = self.config
        params = [{"analyzer": "word", "ngram_range": list(c.word_ngrams), "stop_words": c.stop_words}]
        if c.char_ngrams[0] > 0:
            params.append({"analyzer": "char_wb", "ngram_range": list(c.char_ngrams), "stop_words": None})
        for p in params:
            p.update(lowercase=c.lowercase, min_df=c.min_df, max_features=c.max_features,  # type: ignore[call-overload]
                     dtype="float32", token_pattern=r"(?u)\b\w+\b" if p["analyzer"] == "word" else None)
        return params

    def fit(self, texts: Sequence[str]) -> TfidfEmbedder:
        """Learn vocabulary and idf from a corpus."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        from latentstack.interfaces.embedder import check_texts

        texts = check_texts(texts)
        if not any(t.strip() for t in texts):
            msg = "tfidf needs at least one non-empty text to fit"
            raise InputError(msg)
        self.parts = []
        for params in self._vectorizer_params():
            kw = {k: (tuple(v) if k == "ngram_range" else v) for k, v in params.items() if k != "dtype"}
            vec = TfidfVectorizer(**kw, dtype=np.float32, sublinear_tf=self.config.sublinear_tf).fit(texts)
            vocab = {term: int(i) for term, i in vec.vocabulary_.items()}
            self.parts.append({"params": params, "vocabulary": vocab, "idf": vec.idf_.astype(np.float32)})
        return self

    @property
    def vocab_size(self) -> int:
        """Total vocabulary size over all analyzers (0 before fitting)."""
        return sum(len(p["vocabulary"]) for p in self.parts)

    @property
    def dim(self) -> int:
        """Width of a TF-IDF row: the vocabulary size."""
        return self.vocab_size

    def _check_fitted(self) -> None:
        if not self.parts:
            msg = "tfidf is not fitted: call fit(texts) on a corpus first (or load a saved one)"
            raise InputError(msg)

    def embed_batch(self, texts: Sequence[str]) -> Any:
        """Sparse CSR float32 rows, one per text."""
        import scipy.sparse as sp
        from sklearn.feature_extraction.text import CountVectorizer
        from sklearn.preprocessing import normalize

        self._check_fitted()
        if not texts:
            return sp.csr_matrix((0, self.vocab_size), dtype=np.float32)
        blocks = []
        for part in self.parts:
            p = part["params"]
            counts = CountVectorizer(
                analyzer=p["analyzer"], ngram_range=tuple(p["ngram_range"]), lowercase=p["lowercase"],
                stop_words=p["stop_words"], vocabulary=part["vocabulary"], dtype=np.float32,
                **({"token_pattern": p["token_pattern"]} if p["token_pattern"] else {}),
            ).transform(texts)
            if self.config.sublinear_tf:
                np.log(counts.data, out=counts.data)
                counts.data += 1.0
            blocks.append(normalize(counts @ sp.diags(part["idf"]), norm="l2"))
        out = sp.hstack(blocks, format="csr", dtype=np.float32)
        return normalize(out, norm="l2") if len(blocks) > 1 else out

    def fingerprint(self) -> str:
        """Changes with the learned vocabulary and weights, not just the options."""
        self._check_fitted()
        digest = hashlib.sha256(json.dumps(self.config.to_dict(), sort_keys=True).encode())
        for part in self.parts:
            digest.update(json.dumps(part["vocabulary"], sort_keys=True).encode())
            digest.update(part["idf"].tobytes())
        return f"tfidf:{digest.hexdigest()[:16]}"

    def write_state(self, folder: Path) -> dict[str, Any]:
        """vocab_N.json + idf.npz; the analyzers' parameters go into the manifest."""
        self._check_fitted()
        for i, part in enumerate(self.parts):
            (folder / f"vocab_{i}.json").write_text(json.dumps(part["vocabulary"]))
        np.savez(folder / "idf.npz", **{f"idf_{i}": p["idf"] for i, p in enumerate(self.parts)})
        return {"parts": [p["params"] for p in self.parts]}

    def read_state(self, folder: Path, data: dict[str, Any]) -> None:
        """Read back what ``write_state`` wrote."""
        with np.load(folder / "idf.npz", allow_pickle=False) as idf:
            self.parts = [
                {"params": p, "vocabulary": json.loads((folder / f"vocab_{i}.json").read_text()), "idf": idf[f"idf_{i}"]}
                for i, p in enumerate(data["parts"])
            ]
