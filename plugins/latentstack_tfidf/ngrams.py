"""N-gram counts equal to scikit-learn's CountVectorizer's, counted with numpy.

scikit-learn builds every n-gram of every text as a Python string and looks it up in a
dict; on a few thousand texts with character 2-5-grams that is most of a TF-IDF fit. Here
each n-gram becomes an integer key, computed for all texts at once: characters (or
tokens) are ranked in string order, and an n-gram's key is its ranks written as digits.
Left-aligned, the keys sort as the terms do as strings, which is scikit-learn's column
order, and the counts come from one sort of packed (key, text) pairs. The vocabulary, its
order and every count are the same as CountVectorizer's (the tests compare them); only
``char_wb`` and ``word`` analyzers with the word analyzer's default pattern are counted
here, and anything else (a text holding NUL, an alphabet too large for 63-bit keys) gets
``None``, for scikit-learn to count.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Sequence
from itertools import chain, repeat
from typing import Any

import numpy as np

#: scikit-learn's default word pattern: runs of word characters, which a combining mark cuts ("हिन्दी" is ह, न, द).
#: Embedders fitted before MARKED_WORDS keep it.
WORD_PATTERN = r"(?u)\b\w+\b"
#: A word with the combining marks inside it (Devanagari vowel signs and virama, Hebrew and Arabic points), in the
#: ``regex`` module's spelling; ``re_pattern`` writes ``\p{M}`` out for Python's re (and scikit-learn's).
MARKED_WORDS = r"(?u)\w[\w\p{M}]*"
WORD_PATTERNS = (WORD_PATTERN, MARKED_WORDS)
_KEY_BITS = 63
#: Pairs from which counting is compiled even where numba is not loaded yet: from about here the compiled
#: counting saves more than importing numba and loading the compiled functions costs.
COMPILED_FROM = 4_000_000
#: A batch of texts with fewer word n-grams than this share of the vocabulary (a query, a message to label) looks
#: each one up in the vocabulary; a larger one builds the vocabulary's key table once and looks up by keys.
LOOKED_UP_BELOW = 0.25


class NgramCounter:
    """One analyzer's n-gram counts: learning a vocabulary, or counting a fitted one's terms.

    ``learn`` and ``transform`` return None where the analyzer or the texts are not covered,
    for scikit-learn to count instead. The vocabulary's lookup table is built once.
    """

    def __init__(self, params: dict[str, Any], vocabulary: dict[str, int] | None = None) -> None:
        self.params = params
        self.vocabulary = vocabulary
        self._table: tuple[Any, np.ndarray, np.ndarray] | bool | None = None  # encoder, sorted keys, their columns
        lo, hi = params["ngram_range"]
        self.lo, self.hi = int(lo), int(hi)
        word = params["analyzer"] == "word" and params.get("token_pattern") in (None, *WORD_PATTERNS)
        self.covered = 1 <= self.lo <= self.hi and (word or (params["analyzer"] == "char_wb" and self.lo <= 3))

    def learn(self, texts: Sequence[str]) -> Any | None:
        """Count matrix (CSR, float32) of ``texts``, pruned by min_df and max_features; sets the vocabulary."""
        docs = self._docs(texts)
        if docs is None:
            return None
        learned = (_char_learn(docs, self.lo, self.hi) if self._chars
                   else _word_learn(docs, self.lo, self.hi, self._stop, self._words))
        if learned is None:
            return None
        counts, terms, keys, encoder = learned
        counts, terms, keys = _limit(counts, terms, keys, self.params.get("min_df") or 1, self.params.get("max_features"))
        order = np.argsort(keys)
        self.vocabulary, self._table = dict(zip(terms, range(len(terms)), strict=True)), (encoder, keys[order], order)
        return counts

    def transform(self, texts: Sequence[str]) -> Any | None:
        """Counts of the vocabulary's terms in ``texts`` (CSR, float32)."""
        docs = self._docs(texts)
        if docs is None or self.vocabulary is None or self._table is False:  # False: not covered (see _lookup_table)
            return None
        tokens = None if self._chars else _tokens(docs, self._stop, self._words)  # tokenised once, either way
        if tokens is not None and self._table is None and (
                len(tokens[0]) * (self.hi - self.lo + 1) < LOOKED_UP_BELOW * len(self.vocabulary)):
            return _looked_up(*tokens, self.vocabulary, self.lo, self.hi)
        lookup = self._lookup_table()
        if lookup is None:
            return None
        encoder, table, columns = lookup
        keys, rows = (_char_text_keys(docs, encoder, self.lo, self.hi) if tokens is None
                      else _word_text_keys(tokens, encoder, self.lo, self.hi))
        at = np.minimum(np.searchsorted(table, keys), max(len(table) - 1, 0))
        found = table[at] == keys if len(table) else np.zeros(len(keys), dtype=bool)
        return _matrix(rows[found], columns[at[found]], len(docs), len(self.vocabulary))

    @property
    def _chars(self) -> bool:
        return bool(self.params["analyzer"] == "char_wb")

    @property
    def _words(self) -> str:
        """The word pattern's matches as one ``re`` pattern without anchors (for findall)."""
        pattern = self.params.get("token_pattern")
        return r"\w+" if pattern in (None, WORD_PATTERN) else re_pattern(pattern)

    @property
    def _stop(self) -> frozenset[str]:
        return _stop_words(self.params.get("stop_words"))

    def _docs(self, texts: Sequence[str]) -> list[str] | None:
        if not self.covered or any("\x00" in t for t in texts):
            return None
        return [t.lower() for t in texts] if self.params.get("lowercase", True) else list(texts)

    def _lookup_table(self) -> Any:
        if self._table is None and self.vocabulary is not None:
            terms = list(self.vocabulary)
            built = _char_table(terms, self.hi) if self._chars else _word_table(terms, self.hi)
            if built is None:
                self._table = False  # not covered: scikit-learn counts, and this is not tried again
            else:
                encoder, keys = built
                order = np.argsort(keys)
                self._table = (encoder, keys[order], np.array([self.vocabulary[t] for t in terms])[order])
        return self._table or None


def _stop_words(stop_words: Any) -> frozenset[str]:
    if not stop_words:
        return frozenset()
    from sklearn.feature_extraction.text import CountVectorizer

    return frozenset(CountVectorizer(stop_words=stop_words).get_stop_words() or ())


def _matrix(rows: np.ndarray, cols: np.ndarray, n_rows: int, n_cols: int) -> Any:
    """CSR float32 counts from (row, column) pairs, one per occurrence; its indices sorted, no duplicates."""
    import scipy.sparse as sp

    cells, counts = np.unique(rows.astype(np.int64) * max(n_cols, 1) + cols, return_counts=True)
    indptr = np.searchsorted(cells, np.arange(n_rows + 1, dtype=np.int64) * max(n_cols, 1))
    out = sp.csr_matrix((counts.astype(np.float32), cells % max(n_cols, 1), indptr), shape=(n_rows, n_cols))
    out.has_canonical_format = True
    return out


def _count_pairs(keys: np.ndarray, rows: np.ndarray, n_rows: int, key_bits: int) -> tuple[Any, np.ndarray]:
    """Counts (CSR, float32; a column per distinct key, in ascending order) of each (row, key) occurrence, and
    the distinct keys.

    Where a key and a row number fit in 63 bits together, both are packed into one integer
    and sorted once (numpy sorts plain integers several times faster than it arg-sorts
    them): equal pairs are then adjacent, counted, and already grouped by key, which is a
    column-major matrix turned row-major in one linear pass; with numba at hand
    (``_compiled``) the sort is a radix sort and the passes compiled (``counting``), with
    the same result. Otherwise the keys are numbered by ``np.unique`` and the pairs counted
    by ``_matrix``.
    """
    import scipy.sparse as sp

    row_bits = max(int(n_rows - 1).bit_length(), 1)
    if key_bits + row_bits > _KEY_BITS:
        uniq, cols = np.unique(keys, return_inverse=True)
        return _matrix(rows, cols.ravel(), n_rows, len(uniq)), uniq
    if _compiled(len(keys)):
        from latentstack_tfidf.counting import count_packed

        return count_packed(keys, rows, n_rows, key_bits, row_bits)
    packed = np.sort((keys << row_bits) | rows)
    pairs, counts = _runs(packed)
    pair_keys = pairs >> row_bits
    columns, _ = _runs(np.arange(len(pairs)), pair_keys)
    indptr = np.append(columns, len(pairs))
    by_key = sp.csc_matrix((counts.astype(np.float32), (pairs & ((1 << row_bits) - 1)).astype(np.int32), indptr),
                           shape=(n_rows, len(columns)))
    out = by_key.tocsr()  # a transposition: each row's columns come out ascending, each pair once
    out.has_canonical_format = True
    return out, pair_keys[columns]


def _compiled(n_pairs: int) -> bool:
    """Whether to count with the compiled radix sort (``counting``): numba installed, and either loaded in this
    process already (the linear head's dual solver loads it) or the pairs many enough to pay for its import."""
    if "numba" in sys.modules:
        return True
    return n_pairs >= COMPILED_FROM and importlib.util.find_spec("numba") is not None


def _runs(values: np.ndarray, by: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The first of each run of equal ``by`` (``values`` themselves by default) in sorted order, and each run's
    length."""
    by = values if by is None else by
    first = np.empty(len(by), dtype=bool)
    first[:1] = True
    np.not_equal(by[1:], by[:-1], out=first[1:])
    at = np.flatnonzero(first)
    return values[at], np.diff(np.append(at, len(by)))


def _rows_of(starts: np.ndarray, length: int) -> np.ndarray:
    """The text each of ``length`` positions belongs to, from each text's first position (an empty text shares
    the next one's, which takes the position): the number of texts starting at or before it, less one."""
    return np.cumsum(np.bincount(starts, minlength=length + 1)[:length]) - 1


# --- character n-grams inside padded words (analyzer="char_wb") ---------------------------------------------


def _char_learn(docs: list[str], lo: int, hi: int) -> tuple[Any, list[str], np.ndarray, Any] | None:
    """Counts, terms, each term's key, and the encoder that keys texts the same way."""
    codes, starts = _padded_words(docs)
    alphabet = np.flatnonzero(np.bincount(codes)).astype(np.uint32)  # sorted; 0, the separator, first
    bits = int(len(alphabet)).bit_length()
    if bits * hi > _KEY_BITS:
        return None
    keys, pos = _char_keys(_ranks(alphabet, codes), lo, hi, bits)
    counts, uniq = _count_pairs(keys, _rows_of(starts, len(codes))[pos], len(docs), bits * hi)
    return counts, _decode(uniq, alphabet, bits, hi), uniq, (alphabet, bits)  # left-aligned keys sort as terms do


def _char_table(terms: list[str], hi: int) -> tuple[Any, np.ndarray] | None:
    """The vocabulary's alphabet (and key width), and its terms' keys."""
    if any("\x00" in t for t in terms):
        return None
    alphabet = np.array(sorted({0, *(ord(ch) for term in terms for ch in term)}), dtype=np.uint32)
    bits = int(len(alphabet)).bit_length()  # ranks up to len(alphabet), a character the vocabulary lacks
    if bits * hi > _KEY_BITS:
        return None
    points = np.array(terms, dtype=f"<U{hi}").view(np.uint32).reshape(len(terms), hi)
    ranks = _ranks(alphabet, points)
    keys = np.zeros(len(terms), dtype=np.int64)
    for j in range(hi):
        keys = (keys << bits) | ranks[:, j]
    return (alphabet, bits), keys


def _char_text_keys(docs: list[str], encoder: Any, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    alphabet, bits = encoder
    codes, starts = _padded_words(docs)
    keys, pos = _char_keys(_ranks(alphabet, codes), lo, hi, bits)
    return keys, _rows_of(starts, len(codes))[pos]


def _padded_words(docs: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """All texts as one array of code points, each word as " word " and followed by 0; each text's first position.

    Words are split text by text (scikit-learn first collapses runs of whitespace, which
    does not change how ``str.split`` cuts); an empty text starts where the next one does.
    """
    per_doc = [d.split() for d in docs]
    words = list(chain.from_iterable(per_doc))
    text = "\x00" + "".join([f" {w} \x00" for w in words])
    sizes = np.fromiter(map(len, words), dtype=np.int64, count=len(words)) + 3  # " word " and its 0
    before = np.concatenate([[0], np.cumsum(sizes)])  # code points before each word, after the leading 0
    first_word = np.concatenate([[0], np.cumsum(np.fromiter(map(len, per_doc), dtype=np.int64, count=len(docs)))[:-1]])
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32), before[first_word] + 1


def _ranks(alphabet: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Each code's place in the sorted alphabet (0 is the separator), len(alphabet) where it is not in it."""
    table = np.full(int(max(alphabet.max(initial=0), codes.max(initial=0))) + 1, len(alphabet), dtype=np.int64)
    table[alphabet] = np.arange(len(alphabet))
    return table[codes]


def _char_keys(ranks: np.ndarray, lo: int, hi: int, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Left-aligned keys of every n-gram (lo <= n <= hi) inside a padded word, with where each starts."""
    keys, pos = [], []
    key, inside = np.zeros(len(ranks), dtype=np.int64), np.ones(len(ranks), dtype=bool)
    for n in range(1, hi + 1):
        tail = ranks[n - 1:]
        key = (key[: len(tail)] << bits) | tail
        inside = inside[: len(tail)] & (tail != 0)
        if n >= lo:
            at = np.flatnonzero(inside)
            keys.append(key[at] << (bits * (hi - n)))
            pos.append(at)
    return np.concatenate(keys), np.concatenate(pos)


def _decode(keys: np.ndarray, alphabet: np.ndarray, bits: int, hi: int) -> list[str]:
    """The terms of left-aligned keys: digits back to code points, read as fixed-width numpy strings."""
    mask = (1 << bits) - 1
    digits = np.stack([(keys >> (bits * (hi - 1 - j))) & mask for j in range(hi)], axis=1)
    points = np.ascontiguousarray(alphabet[digits].astype(np.uint32))
    return list(points.view(f"<U{hi}").ravel().tolist())


# --- word n-grams (analyzer="word", the default token pattern) ----------------------------------------------


def re_pattern(pattern: str) -> str:
    r"""``pattern`` for Python's re, which lacks ``\p{M}``: the combining marks written out as ranges."""
    from latentstack.marks import combining_marks

    return pattern.replace(r"\p{M}", combining_marks())


def _tokens(docs: list[str], stop: frozenset[str], words: str) -> tuple[list[str], np.ndarray]:
    r"""Every text's tokens in one list (stop words out, as scikit-learn does before n-grams), and each text's first;
    ``words`` matches a token (the default pattern, (?u)\b\w+\b, matches the runs of \w+). An ASCII text holds no
    combining mark, so its tokens are the runs of \w+ by either pattern, found faster."""
    find, plain = re.compile(words).findall, re.compile(r"\w+").findall
    per_doc = [plain(d) if d.isascii() else find(d) for d in docs]
    if stop:
        per_doc = [[w for w in words if w not in stop] for words in per_doc]
    counts = np.fromiter(map(len, per_doc), dtype=np.int64, count=len(per_doc))
    return list(chain.from_iterable(per_doc)), np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)


def _word_learn(docs: list[str], lo: int, hi: int, stop: frozenset[str],
                words: str) -> tuple[Any, list[str], np.ndarray, Any] | None:
    """Counts, terms, each term's key, and the encoder that keys texts the same way.

    Tokens are numbered in string order (from 1), so a key's digits, left-aligned (a shorter
    n-gram's missing digits 0), sort as the terms do: tokens are runs of word characters,
    all above the space that joins them, so comparing two terms is comparing their tokens
    in turn. The counts then come from one sort of packed (key, row) pairs.
    """
    flat, starts = _tokens(docs, stop, words)
    unique = sorted(set(flat))
    token_ids = dict(zip(unique, range(1, len(unique) + 1), strict=True))
    base = len(token_ids) + 2  # as _word_table's: the last digit for a token the vocabulary lacks
    if float(base) ** hi >= 2.0**_KEY_BITS:
        return None
    ids = np.fromiter(map(token_ids.__getitem__, flat), dtype=np.int64, count=len(flat))
    rows = _rows_of(starts, len(ids))
    keys, pos, sizes = _word_keys(ids, rows, lo, hi, base)
    aligned = keys * base ** (hi - sizes)  # n-grams shorter than hi padded with 0 digits
    counts, uniq = _count_pairs(aligned, rows[pos], len(docs), int(base**hi - 1).bit_length())
    digits = np.stack([(uniq // base ** (hi - 1 - j)) % base for j in range(hi)], axis=1)
    n = (digits > 0).sum(axis=1)
    return counts, _spelled(unique, digits), uniq // base ** (hi - n), (token_ids, base)


def _spelled(tokens: list[str], digits: np.ndarray) -> list[str]:
    """The terms of keys' digits (token numbers from 1, 0 for none): their tokens joined by spaces."""
    words = np.array(["", *tokens], dtype=object)
    terms = words[digits[:, 0]]
    for j in range(1, digits.shape[1]):
        longer = np.flatnonzero(digits[:, j])
        terms[longer] = terms[longer] + " " + words[digits[longer, j]]
    return list(terms)


def _word_table(terms: list[str], hi: int) -> tuple[Any, np.ndarray] | None:
    """Digits of the vocabulary's tokens (from 1; the next one for a token it lacks), and its terms' keys."""
    token_ids: dict[str, int] = {}
    for term in terms:
        for w in term.split(" "):
            token_ids.setdefault(w, len(token_ids) + 1)
    base = len(token_ids) + 2
    if float(base) ** hi >= 2.0**_KEY_BITS:
        return None
    keys = np.zeros(len(terms), dtype=np.int64)
    for i, term in enumerate(terms):
        key = 0
        for w in term.split(" "):
            key = key * base + token_ids[w]
        keys[i] = key
    return (token_ids, base), keys


def _looked_up(flat: list[str], starts: np.ndarray, vocabulary: dict[str, int], lo: int, hi: int) -> Any:
    """Counts of the vocabulary's terms among each text's word n-grams, each n-gram looked up by its spelling (a
    term is its tokens joined by spaces): what the key table gives, without building it for a few texts."""
    rows, cols = [], []
    ends = [*starts[1:].tolist(), len(flat)]
    for row, (start, end) in enumerate(zip(starts.tolist(), ends, strict=True)):
        for n in range(lo, hi + 1):
            for i in range(start, end - n + 1):
                col = vocabulary.get(" ".join(flat[i:i + n]))
                if col is not None:
                    rows.append(row)
                    cols.append(col)
    return _matrix(np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64), len(starts), len(vocabulary))


def _word_text_keys(tokens: tuple[list[str], np.ndarray], encoder: Any, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    token_ids, base = encoder
    flat, starts = tokens
    ids = np.fromiter(map(token_ids.get, flat, repeat(base - 1)), dtype=np.int64, count=len(flat))
    rows = _rows_of(starts, len(ids))
    keys, pos, _ = _word_keys(ids, rows, lo, hi, base)
    return keys, rows[pos]


def _word_keys(ids: np.ndarray, rows: np.ndarray, lo: int, hi: int, base: int) -> tuple[np.ndarray, ...]:
    """Keys of every run of n tokens (lo <= n <= hi) inside one text, where each starts, and its n."""
    keys, pos, sizes = [], [], []
    key, inside = np.zeros(len(ids), dtype=np.int64), np.ones(len(ids), dtype=bool)
    for n in range(1, hi + 1):
        tail = ids[n - 1:]
        key = key[: len(tail)] * base + tail
        inside = inside[: len(tail)] & (rows[n - 1:] == rows[: len(tail)])
        if n >= lo:
            at = np.flatnonzero(inside)
            keys.append(key[at])
            pos.append(at)
            sizes.append(np.full(len(at), n))
    return np.concatenate(keys), np.concatenate(pos), np.concatenate(sizes)


# --- min_df and max_features, as scikit-learn prunes ----------------------------------------------------------


def _limit(counts: Any, terms: list[str], keys: np.ndarray, min_df: int,
           max_features: int | None) -> tuple[Any, list[str], np.ndarray]:
    """scikit-learn's ``_limit_features`` on sorted columns: rare terms out, then the most frequent kept."""
    mask = np.bincount(counts.indices, minlength=counts.shape[1]) >= min_df
    if max_features is not None and mask.sum() > max_features:
        tfs = np.asarray(counts.sum(axis=0)).ravel()
        keep = np.zeros(len(mask), dtype=bool)
        keep[np.flatnonzero(mask)[(-tfs[mask]).argsort()[:max_features]]] = True
        mask = keep
    if mask.all():
        return counts, terms, keys
    kept = np.flatnonzero(mask)
    return counts[:, kept], [terms[i] for i in kept], keys[kept]
