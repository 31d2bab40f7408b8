"""BM25 over texts with bm25s: Unicode-folded words, English stop words, Snowball stemming, Lucene scoring.

bm25s builds its matrix in one go, so adds and removes mark the index dirty and it is
rebuilt on the next search (or save), from each text's word ids (``token_ids``): only texts
not tokenised before are, and the matrix is built from the ids with NumPy (``matrix``).
Saved as JSON lines (ids, texts, and which of the distinct metadata mappings in
metadata.json each holds), the word ids, and the matrix as bm25s writes it (NumPy arrays
and JSON), never pickled: a load reads the matrix instead of tokenising every text again;
a folder saved without one rebuilds it on the first search, and one saved without word ids
tokenises its texts at the first rebuild.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from latentstack.errors import InputError
from latentstack.interfaces import Hit, Index, IndexConfig
from latentstack.interfaces.embedder import check_texts
from latentstack.interfaces.index import check_ids, check_metadata_update
from latentstack.metadata_index import MetadataIndex
from latentstack.metadata_rows import pack, shared_copies, unpack
from latentstack.progress import log
from latentstack.storage import component_dir, read_manifest, reading, write_manifest
from latentstack_bm25 import token_ids
from latentstack_bm25.token_ids import TokenIds
from latentstack_bm25.words import fold, word_pattern

MATRIX = "matrix"  # the folder bm25s saves its matrix, vocabulary and parameters in
FORMAT = 2  # 2: metadata.json keeps each distinct mapping once (version 1, a copy per item, is read too)


@attrs.frozen(kw_only=True)
class Bm25Config(IndexConfig):
    """BM25 parameters and text processing."""

    #: Term-frequency saturation (0 ignores how often a word occurs; a negative one divides by zero).
    k1: float = attrs.field(default=1.5, validator=attrs.validators.ge(0.0))
    #: Length normalisation, from 0 (none) to 1 (full).
    b: float = attrs.field(default=0.75, validator=[attrs.validators.ge(0.0), attrs.validators.le(1.0)])
    method: str = attrs.field(default="lucene", validator=attrs.validators.in_(("lucene", "robertson", "atire", "bm25l", "bm25+")))
    stemmer: str = attrs.field(default="english")
    stopwords: str = attrs.field(default="en")

    @stemmer.validator
    def _known_stemmer(self, _: attrs.Attribute[str], value: str) -> None:
        import Stemmer

        if value and value not in Stemmer.algorithms():
            msg = f"'stemmer' is a Snowball stemmer ({', '.join(Stemmer.algorithms())}) or '' for none, got {value!r}"
            raise ValueError(msg)

    @stopwords.validator
    def _known_stopwords(self, _: attrs.Attribute[str], value: str) -> None:
        if value in ("", "en", "english"):
            return
        import bm25s

        try:
            bm25s.tokenize(["a"], stopwords=value, show_progress=False)
        except ValueError as exc:  # bm25s names the languages it has
            msg = f"'stopwords' {value!r} is not a stop-word list bm25s has ('' for none): {str(exc).splitlines()[0]}"
            raise ValueError(msg) from exc


class Bm25Index(Index):
    """A lexical index: ``add(ids, texts)``, ``search(query_text)``. Scores are BM25 sums."""

    name = "bm25"
    Config = Bm25Config
    config: Bm25Config
    accepts_text = True
    sets_metadata = True

    def __init__(self, config: Bm25Config | None = None) -> None:
        super().__init__(config)
        self.ids: list[str | int] = []
        self.texts: list[str] = []
        self.meta: list[dict[str, Any]] = []
        self.pos: dict[str | int, int] = {}
        self._tokens = TokenIds()
        self._retriever: Any = None
        self._by_meta: MetadataIndex | None = None  # the metadata's index, kept until the items change

    @cached_property
    def _stem(self) -> Any:
        if not self.config.stemmer:
            return None
        import Stemmer

        return Stemmer.Stemmer(self.config.stemmer).stemWords

    def tokenize(self, texts: Sequence[str]) -> list[list[str]]:
        """Word tokens of the folded texts (``words.fold``), stop words dropped, stemmed."""
        import bm25s

        return bm25s.tokenize([fold(t) for t in texts], stopwords=self.config.stopwords or None, stemmer=self._stem,
                              token_pattern=word_pattern(), return_ids=False, show_progress=False)

    def add(self, ids: Sequence[str | int], items: Any, metadata: Sequence[Mapping[str, Any]] | None = None) -> None:
        """Add texts under ids; an id already present is replaced."""
        ids, texts = check_ids(ids), check_texts(items)
        if len(texts) != len(ids):
            msg = f"got {len(ids)} ids for {len(texts)} texts"
            raise InputError(msg)
        self.remove([i for i in ids if i in self.pos])
        for i, text in zip(ids, texts, strict=True):
            self.pos[i] = len(self.ids)
            self.ids.append(i)
            self.texts.append(text)
        self._tokens.extend(len(ids))
        self.meta += shared_copies(metadata) if metadata else [{} for _ in ids]
        self._retriever = self._by_meta = None

    def remove(self, ids: Sequence[str | int]) -> int:
        """Remove ids; the BM25 statistics are rebuilt without them on the next search."""
        gone = {self.pos[i] for i in check_ids(ids) if i in self.pos}
        if gone:
            keep = [p for p in range(len(self.ids)) if p not in gone]
            self.ids = [self.ids[p] for p in keep]
            self.texts = [self.texts[p] for p in keep]
            self.meta = [self.meta[p] for p in keep]
            self._tokens.keep(keep)
            self.pos = {i: p for p, i in enumerate(self.ids)}
            self._retriever = self._by_meta = None
        return len(gone)

    def set_metadata(self, ids: Sequence[str | int], metadata: Sequence[Mapping[str, Any]]) -> None:
        """Replace stored ids' metadata; their texts (and the BM25 matrix) stay as they are."""
        ids = check_metadata_update(ids, metadata, self.pos)
        for i, meta in zip(ids, shared_copies(metadata), strict=True):
            self.meta[self.pos[i]] = meta
        self._by_meta = None

    def __len__(self) -> int:
        return len(self.pos)

    def _build(self) -> Any:
        from bm25s.tokenization import Tokenized

        from latentstack_bm25.matrix import Bm25, WordIds

        if self._retriever is None:
            flat, lengths = self._tokens.fill(self.texts, self.tokenize)
            if not len(flat):  # no text holds a word BM25 indexes: bm25s cannot build a vocabulary
                return None
            c = self.config
            self._retriever = Bm25(k1=c.k1, b=c.b, method=c.method)  # bm25s adds "" to the vocabulary it gets
            self._retriever.index(Tokenized(ids=WordIds(flat, lengths), vocab=dict(self._tokens.vocab)),
                                  show_progress=False)
        return self._retriever

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every stored text for one query."""
        tokens = self.tokenize([query])[0]
        retriever = self._build() if self.texts and tokens else None
        if retriever is None:  # no word in the query, or in any text (punctuation, stop words): nothing matches
            return np.zeros(len(self.texts), dtype=np.float32)
        return retriever.get_scores(tokens).astype(np.float32)

    def _allowed(self, where: Mapping[str, Any] | None) -> np.ndarray:
        """Mask of the texts ``where`` allows (all without one)."""
        if not where:
            return np.ones(len(self.ids), dtype=bool)
        if self._by_meta is None:
            self._by_meta = MetadataIndex(self.meta)
        return self._by_meta.mask(where)

    def search_batch(self, queries: Any, k: int = 10, where: Mapping[str, Any] | None = None) -> list[list[Hit]]:
        """Top-k texts per query; texts filtered out by ``where`` are masked before ranking."""
        queries = check_texts(queries)
        allowed = self._allowed(where)
        out = []
        for q in queries:
            s = self.scores(q)
            s[~allowed] = -np.inf
            top = np.argsort(-s, kind="stable")[: min(k, int(allowed.sum()))]
            out.append([Hit(self.ids[t], float(s[t]), dict(self.meta[t])) for t in top if s[t] > 0])
        return out

    def save(self, path: str | Path) -> None:
        """items.jsonl (live items) and metadata.json under a checksummed manifest, atomically."""
        packed = pack(self.meta)
        with component_dir(path, "index") as tmp:
            with open(tmp / "items.jsonl", "w", encoding="utf-8") as fh:
                for p in range(len(self.ids)):
                    fh.write(json.dumps({"id": self.ids[p], "text": self.texts[p], "meta": packed["of"][p]}) + "\n")
            (tmp / "metadata.json").write_text(json.dumps({"values": packed["values"]}), encoding="utf-8")
            retriever = self._build()  # None when no text holds a word (or there is none)
            if retriever is not None:
                retriever.save(tmp / MATRIX, show_progress=False)
            tokens = retriever is not None and self._tokens.complete()  # a loaded matrix keeps a folder's lack of ids
            if tokens:
                self._tokens.save(tmp)
            write_manifest(tmp, kind="index", plugin=self.name, version=FORMAT, config=self.config.to_dict(),
                           data={"n": len(self), "matrix": retriever is not None, "tokens": tokens})

    def _restore(self, ids: list[str | int], texts: list[str], metas: list[dict[str, Any]]) -> None:
        """Take a saved folder's items as they are (``add`` checks and copies what a caller gives, item by item)."""
        self.ids, self.texts, self.meta = ids, texts, metas
        self.pos = dict(zip(ids, range(len(ids)), strict=True))
        if len(self.pos) != len(ids):
            msg = f"items.jsonl repeats {len(ids) - len(self.pos)} id(s)"
            raise ValueError(msg)
        self._tokens = TokenIds(len(ids))
        self._retriever = self._by_meta = None

    @classmethod
    def load(cls, path: str | Path) -> Bm25Index:
        """Read a saved index; the BM25 matrix is rebuilt on first search."""
        manifest = read_manifest(path, kind="index", plugin=cls.name, version=(1, FORMAT), defer=token_ids.FILES)
        with reading(manifest.path, "bm25 index"):
            index = cls.from_options(**manifest.config)
            rows = _rows(manifest.path / "items.jsonl")
            if len(rows) != manifest.data["n"]:
                msg = f"items.jsonl holds {len(rows)} items, the manifest {manifest.data['n']}"
                raise ValueError(msg)
            metas = [r["meta"] for r in rows]  # version 1: each item's own mapping; 2: its place among the values
            if manifest.version > 1:
                values = json.loads((manifest.path / "metadata.json").read_text(encoding="utf-8"))["values"]
                metas = unpack({"values": values, "of": metas}, len(rows))  # checked dicts, shared as saved
            else:
                metas = shared_copies(metas)  # each a mapping, or the folder is corrupt
            index._restore([r["id"] for r in rows], [r["text"] for r in rows], metas)
            if manifest.data.get("tokens"):  # read at the first change, not at every load
                index._tokens = TokenIds.saved(manifest.path, manifest.digest, len(rows))
        if manifest.data.get("matrix"):
            index._retriever = _read_matrix(manifest.path / MATRIX, len(rows))
        return index


def _read_matrix(folder: Path, n: int) -> Any:
    """The saved BM25 matrix (no pickle), checked to score the ``n`` saved texts; None (rebuilt from the texts at
    the first search) when another bm25s cannot read it: its files passed their checksums, the texts are whole."""
    import bm25s

    try:
        retriever = bm25s.BM25.load(folder, mmap=False, allow_pickle=False, show_progress=False)
        found = retriever.scores["num_docs"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log(f"bm25: cannot read the saved matrix ({type(exc).__name__}: {str(exc)[:120]}); rebuilding it from the "
            "texts at the first search")
        return None
    if found != n:
        log(f"bm25: the saved matrix scores {found} texts, not the {n} saved; rebuilding it at the first search")
        return None
    return retriever


def _rows(file: Path) -> list[Any]:
    """items.jsonl's rows, parsed as one JSON array (a parse per line cost more than the parsing). Read as text,
    every line end is a newline, and a row holds none (JSON escapes it): the newlines become commas in one pass."""
    return json.loads("[" + file.read_text(encoding="utf-8").rstrip("\n").replace("\n", ",") + "]")
