"""TF-IDF vectors (scikit-learn), saved as JSON vocabulary + npz weights, never pickled.

Word n-grams and, optionally, character n-grams side by side (the classic spam filter's
features). Transform is written out here (counts -> sublinear tf -> idf -> L2) so that a
fitted and a reloaded embedder give identical vectors. Texts are read in Unicode NFC, so a
word typed as one accented character and the same word as a letter plus a combining accent
(macOS, some PDF text) are one term; an embedder fitted before this keeps reading texts as
given (its saved parameters say which).
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from latentstack.errors import InputError
from latentstack.interfaces import Embedder, EmbedderConfig
from latentstack_tfidf.ngrams import MARKED_WORDS, NgramCounter, re_pattern


def _pair(value: Any, name: str) -> tuple[int, int]:
    """The n-gram range ``name``: (low, high) from a pair, "low,high" (as -o gives it) or one number n for (n, n)."""
    parts = value.replace("-", ",").split(",") if isinstance(value, str) else value
    parts = [parts] if isinstance(parts, int) else list(parts)
    try:
        lo, hi = (int(v) for v in (parts * 2 if len(parts) == 1 else parts))
    except (TypeError, ValueError) as exc:
        msg = f"{name} is two whole numbers, low and high (e.g. 1,2 or [2, 5]); got {value!r}"
        raise ValueError(msg) from exc
    if not 0 <= lo <= hi or (lo == 0 and hi != 0):
        msg = f"{name} needs 1 <= low <= high (or 0,0 for none); got {value!r}"
        raise ValueError(msg)
    return (lo, hi)


def _word_ngrams(value: Any) -> tuple[int, int]:
    return _pair(value, "word_ngrams")


def _char_ngrams(value: Any) -> tuple[int, int]:
    return _pair(value, "char_ngrams")


@attrs.frozen(kw_only=True)
class TfidfConfig(EmbedderConfig):
    """Which n-grams, how many, and how to weight them."""

    word_ngrams: tuple[int, int] = attrs.field(default=(1, 2), converter=_word_ngrams)
    char_ngrams: tuple[int, int] = attrs.field(default=(0, 0), converter=_char_ngrams)
    min_df: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    max_features: int | None = attrs.field(default=None, validator=attrs.validators.optional(attrs.validators.gt(0)))
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
        self._counters: list[NgramCounter] = []  # one per part, with its vocabulary's lookup table
        self._known: tuple[tuple[object, ...], str] | None = None  # the fitted state's objects, and its fingerprint

    def _vectorizer_params(self) -> list[dict[str, Any]]:
        c = self.config
        params = [{"analyzer": "word", "ngram_range": list(c.word_ngrams), "stop_words": c.stop_words}]
        if c.char_ngrams[0] > 0:
            params.append({"analyzer": "char_wb", "ngram_range": list(c.char_ngrams), "stop_words": None})
        for p in params:
            p.update(lowercase=c.lowercase, min_df=c.min_df, max_features=c.max_features,  # type: ignore[call-overload]
                     dtype="float32", token_pattern=MARKED_WORDS if p["analyzer"] == "word" else None, unicode="NFC")
        return params

    def fit(self, texts: Sequence[str]) -> TfidfEmbedder:
        """Learn vocabulary and idf from a corpus."""
        self.fit_transform(texts)
        return self

    def fit_transform(self, texts: Sequence[str]) -> Any:
        """Learn vocabulary and idf from a corpus, and return its rows: each text's n-grams are counted once."""
        from latentstack.interfaces.embedder import check_texts

        texts = _in_nfc(check_texts(texts), _reads_dotted_i(self._vectorizer_params()[0]))
        if not any(t.strip() for t in texts):
            msg = "tfidf needs at least one non-empty text to fit"
            raise InputError(msg)
        self.parts, self._counters, self._known, counts = [], [], None, []
        for params in self._vectorizer_params():
            counter = NgramCounter(params)
            block = counter.learn(texts)
            if block is None:  # not covered by the numpy counter: scikit-learn's, which gives the same counts
                learner = _counter(params)
                block = learner.fit_transform(texts)
                counter.vocabulary = {term: int(i) for term, i in learner.vocabulary_.items()}
            if not counter.vocabulary:
                msg = (f"tfidf found no {params['analyzer']} n-grams in the training texts (only punctuation or "
                       "stop words, or every term below min_df): give texts with words, or lower min_df")
                raise InputError(msg)
            counts.append(block)
            self._counters.append(counter)
            self.parts.append({"params": params, "vocabulary": counter.vocabulary, "idf": _smooth_idf(block)})
        return self._weigh(counts)

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

        self._check_fitted()
        if not texts:
            return sp.csr_matrix((0, self.vocab_size), dtype=np.float32)
        params = self.parts[0]["params"]
        if params.get("unicode") == "NFC":  # not so in an embedder fitted before: texts as given
            texts = _in_nfc(texts, _reads_dotted_i(params))
        return self._weigh([self._count(i, texts) for i in range(len(self.parts))])

    def _count(self, i: int, texts: Sequence[str]) -> Any:
        """Counts of analyzer ``i``'s terms in ``texts``: numpy's counter, or scikit-learn's where it is not covered."""
        if len(self._counters) != len(self.parts):
            self._counters = [NgramCounter(p["params"], p["vocabulary"]) for p in self.parts]
        block = self._counters[i].transform(texts)
        part = self.parts[i]
        return _counter(part["params"], part["vocabulary"]).transform(texts) if block is None else block

    def _weigh(self, counts: list[Any]) -> Any:
        """Counts -> (sublinear) tf x idf -> rows of unit length, per analyzer; the analyzers side by side."""
        import scipy.sparse as sp

        from latentstack.sparse import unit_rows

        blocks = []
        for part, block in zip(self.parts, counts, strict=True):
            block = block.astype(np.float32, copy=False)
            if self.config.sublinear_tf:
                np.log(block.data, out=block.data)
                block.data += 1.0
            block.data *= part["idf"][block.indices]  # x diag(idf), keeping the rows' order
            blocks.append(unit_rows(block, copy=False))
        out = sp.hstack(blocks, format="csr", dtype=np.float32)
        out = unit_rows(out) if len(blocks) > 1 else out
        out.sort_indices()  # once here, not in every copy a solver checks
        return out

    def fingerprint(self) -> str:
        """Changes with the learned vocabulary and weights, not just the options. Hashing a large vocabulary takes a
        while, so it is computed once per fitted state; a loaded embedder takes the one its folder recorded when
        saved (the folder's files were checked against their checksums as it was read)."""
        self._check_fitted()
        state = self._state()
        if self._known is None or len(self._known[0]) != len(state) or any(
                a is not b for a, b in zip(self._known[0], state, strict=True)):
            self._known = (state, self._fingerprint())
        return self._known[1]

    def _state(self) -> tuple[object, ...]:
        """The fitted state's objects (a refit or a load replaces them; the fingerprint is kept for these)."""
        return (self.parts, *(x for p in self.parts for x in (p["vocabulary"], p["idf"])))

    def _remember(self, data: dict[str, Any]) -> None:
        """Take the fingerprint ``write_state`` recorded (folders saved before it was recorded have none)."""
        known = data.get("fingerprint")
        if isinstance(known, str) and known.startswith(f"{self.name}:"):
            self._known = (self._state(), known)

    def _fingerprint(self) -> str:
        digest = hashlib.sha256(json.dumps(self.config.to_dict(), sort_keys=True).encode())
        for part in self.parts:
            if part["params"].get("unicode"):  # absent from embedders fitted before texts were normalised
                digest.update(f"unicode:{part['params']['unicode']}".encode())
            digest.update(json.dumps(part["vocabulary"], sort_keys=True).encode())
            digest.update(part["idf"].tobytes())
        return f"tfidf:{digest.hexdigest()[:16]}"

    def write_state(self, folder: Path) -> dict[str, Any]:
        """vocab_N.json + idf.npz; the analyzers' parameters go into the manifest."""
        self._check_fitted()
        for i, part in enumerate(self.parts):
            (folder / f"vocab_{i}.json").write_text(json.dumps(part["vocabulary"]))
        np.savez(folder / "idf.npz", **{f"idf_{i}": p["idf"] for i, p in enumerate(self.parts)})
        return {"parts": [p["params"] for p in self.parts], "fingerprint": self.fingerprint()}

    def read_state(self, folder: Path, data: dict[str, Any]) -> None:
        """Read back what ``write_state`` wrote."""
        self._counters = []
        with np.load(folder / "idf.npz", allow_pickle=False) as idf:
            self.parts = [
                {"params": p, "vocabulary": json.loads((folder / f"vocab_{i}.json").read_text()), "idf": idf[f"idf_{i}"]}
                for i, p in enumerate(data["parts"])
            ]
        self._remember(data)


def _counter(params: dict[str, Any], vocabulary: dict[str, int] | None = None) -> Any:
    """scikit-learn's n-gram counter for one analyzer: learning its vocabulary, or with a fitted one."""
    from sklearn.feature_extraction.text import CountVectorizer

    learn = {"min_df": params["min_df"], "max_features": params["max_features"]} if vocabulary is None else {}
    return CountVectorizer(
        analyzer=params["analyzer"], ngram_range=tuple(params["ngram_range"]), lowercase=params["lowercase"],
        stop_words=params["stop_words"], vocabulary=vocabulary, dtype=np.float32, **learn,
        **({"token_pattern": re_pattern(params["token_pattern"])} if params["token_pattern"] else {}),
    )


def _in_nfc(texts: Sequence[str], dotted_i: bool = False) -> list[str]:
    """``texts`` in Unicode NFC; ASCII texts are in every normal form already. With ``dotted_i`` (lower-cased text,
    an embedder fitted with MARKED_WORDS), Turkish "İ" is read as "I", which lower-cases to "i" rather than to "i" and
    a combining dot, so "İstanbul" is the word "istanbul"."""
    return [t if t.isascii() else _normal(t, dotted_i) for t in texts]


def _normal(text: str, dotted_i: bool) -> str:
    """A non-ASCII text in NFC, its "İ" read as "I" with ``dotted_i``."""
    nfc = unicodedata.normalize("NFC", text)
    return nfc.replace("İ", "I") if dotted_i else nfc


def _reads_dotted_i(params: dict[str, Any]) -> bool:
    """Whether the word analyzer ``params`` reads Turkish "İ" as "I": lower-casing, with MARKED_WORDS."""
    return params.get("token_pattern") == MARKED_WORDS and bool(params.get("lowercase", True))


def _smooth_idf(counts: Any) -> np.ndarray:
    """scikit-learn's smoothed idf, ln((1 + n) / (1 + df)) + 1, from a corpus's count matrix."""
    df = np.bincount(counts.indices, minlength=counts.shape[1]).astype(np.float64)
    return (np.log((1 + counts.shape[0]) / (1 + df)) + 1).astype(np.float32)
