"""The numpy n-gram counter gives scikit-learn's CountVectorizer's vocabulary, column order and counts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from latentstack.data.labeled import load_labeled
from latentstack.errors import InputError
from latentstack_tfidf.ngrams import MARKED_WORDS, WORD_PATTERN, NgramCounter
from latentstack_tfidf.tfidf import TfidfEmbedder, _counter

SMS = Path(__file__).parents[3] / "benchmarks" / "data" / "sms-spam.tsv"
TRICKY = ["", "   ", "Hello,  World!\tFoo\nbar", "ünïcödé ÄÖÜ straße İstanbul", "a", "a b c d", "x\u2003y  z",
          "lone \ud800 surrogate", "emoji 😀😀 ok", "__init__ 3.14 e-mail", "ΣΊΣΥΦΟΣ ﬁne Ǆemal",
          "हिन्दी भाषा काम कम", "שָׁלוֹם עוֹלָם", "\u0301leading mark a\u0301b"]
CASES = [
    ("char_wb", (2, 5), {}), ("char_wb", (1, 3), {}), ("char_wb", (3, 3), {"lowercase": False}),
    ("word", (1, 2), {}), ("word", (1, 3), {"stop_words": "english"}), ("word", (2, 2), {"min_df": 2}),
    ("word", (1, 2), {"max_features": 500}), ("char_wb", (2, 4), {"max_features": 300, "min_df": 2}),
    ("word", (1, 2), {"token_pattern": MARKED_WORDS}), ("word", (1, 3), {"token_pattern": MARKED_WORDS, "min_df": 2}),
]


def _params(analyzer: str, ngrams: tuple[int, int], extra: dict) -> dict:  # type: ignore[type-arg]
    params = {"analyzer": analyzer, "ngram_range": list(ngrams), "stop_words": None, "lowercase": True,
              "min_df": 1, "max_features": None, "token_pattern": WORD_PATTERN if analyzer == "word" else None}
    return {**params, **extra}


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    """The awkward texts, the first 600 SMS training texts, and empty ones again at the end."""
    return TRICKY + load_labeled(str(SMS))["train"].texts[:600] + ["", " \t ", ""]


@pytest.fixture(params=["numpy", "compiled"])
def counting(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Pairs counted by numpy's sort, or by the compiled radix sort (numba)."""
    monkeypatch.setattr("latentstack_tfidf.ngrams._compiled", lambda n: request.param == "compiled")
    return str(request.param)


@pytest.mark.parametrize(("analyzer", "ngrams", "extra"), CASES)
def test_counts_equal_scikit_learns(corpus: list[str], analyzer: str, ngrams: tuple[int, int], extra: dict,  # type: ignore[type-arg]
                                    counting: str) -> None:
    """Learning: the same vocabulary (so the same column order) and counts, whichever way the pairs are counted;
    then the same counts of unseen texts."""
    params = _params(analyzer, ngrams, extra)
    reference = _counter(params)
    expected = reference.fit_transform(corpus)
    counter = NgramCounter(params)
    counts = counter.learn(corpus)
    assert counter.vocabulary == {term: int(i) for term, i in reference.vocabulary_.items()}
    assert counts.dtype == np.float32 and (counts != expected).nnz == 0
    unseen = [*corpus[::-7], "zzqx never seen before", "Ωμέγα ≈ √2"]
    expected = _counter(params, counter.vocabulary).transform(unseen)
    assert (counter.transform(unseen) != expected).nnz == 0  # the table kept from learning
    assert (NgramCounter(params, counter.vocabulary).transform(unseen) != expected).nnz == 0  # one built from a saved vocabulary


@pytest.mark.parametrize(("analyzer", "ngrams", "extra"), [c for c in CASES if c[0] == "word"])
def test_few_texts_looked_up_count_as_the_table_does(corpus: list[str], analyzer: str, ngrams: tuple[int, int],
                                                     extra: dict, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[type-arg]
    """A saved vocabulary counting a batch small enough to look each n-gram up (every batch, with the share raised)
    gives scikit-learn's counts, and builds no key table; a larger batch then builds it."""
    params = _params(analyzer, ngrams, extra)
    vocabulary = NgramCounter(params)
    vocabulary.learn(corpus)
    unseen = [*corpus[::-7], "zzqx never seen before", "Ωμέγα ≈ √2", "", "free prize free prize now"]
    expected = _counter(params, vocabulary.vocabulary).transform(unseen)
    counter = NgramCounter(params, vocabulary.vocabulary)
    monkeypatch.setattr("latentstack_tfidf.ngrams.LOOKED_UP_BELOW", float("inf"))
    assert (counter.transform(unseen) != expected).nnz == 0
    for i, text in enumerate(unseen):
        assert (counter.transform([text]) != expected[i]).nnz == 0
    assert counter._table is None
    monkeypatch.setattr("latentstack_tfidf.ngrams.LOOKED_UP_BELOW", 0.0)
    assert (counter.transform(unseen) != expected).nnz == 0
    assert counter._table is not None


def test_what_it_does_not_cover_is_left_to_scikit_learn() -> None:
    """A NUL in a text, or a char analyzer starting above 3, gets None; TF-IDF then still fits, through scikit-learn."""
    assert NgramCounter(_params("char_wb", (2, 5), {})).learn(["a\x00b c"]) is None
    assert not NgramCounter(_params("char_wb", (4, 5), {})).covered
    texts = ["spam\x00 prize now", "ham at home", "prize draw"]
    rows = TfidfEmbedder.from_options(char_ngrams=(2, 5)).fit_transform(texts)
    assert rows.shape[0] == 3 and rows.nnz > 0


def test_fit_rows_equal_embedded_rows(corpus: list[str]) -> None:
    """fit_transform's rows (the numpy counter learning) equal embedding the same texts afterwards (it looking up).
    A lone surrogate is not text: the embedder refuses it, as every embedder does (the counter alone takes it)."""
    emb = TfidfEmbedder.from_options(char_ngrams=(2, 5))
    with pytest.raises(InputError, match="holds U\\+D800"):
        emb.fit_transform(corpus)
    corpus = [t for t in corpus if "\ud800" not in t]
    rows = emb.fit_transform(corpus)
    assert abs(rows - emb.embed_batch(corpus)).max() < 1e-6


def test_no_terms_is_a_clear_error() -> None:
    """Texts with no word at all cannot give a vocabulary: an InputError says what to give."""
    with pytest.raises(InputError, match="no word n-grams"):
        TfidfEmbedder().fit_transform(["!!!", "?? ..."])


def test_pairs_are_counted_alike_packed_or_not() -> None:
    """(row, key) occurrences counted by sorting them packed into one integer, or (keys too wide to pack with a
    row number) through np.unique: the same matrix, each row's columns ascending, and the same distinct keys."""
    from latentstack_tfidf.ngrams import _count_pairs

    rng = np.random.default_rng(0)
    keys = rng.choice(rng.integers(0, 2**30, 500), 20000)
    rows = np.sort(rng.integers(0, 300, 20000))
    packed, packed_keys = _count_pairs(keys, rows, 300, 30)
    unpacked, unpacked_keys = _count_pairs(keys, rows, 300, 60)  # 60 + 9 row bits > 63: not packed
    np.testing.assert_array_equal(packed_keys, unpacked_keys)
    assert packed.dtype == np.float32 and (packed != unpacked).nnz == 0 and packed.sum() == 20000
    assert all((np.diff(packed.indices[a:b]) > 0).all() for a, b in zip(packed.indptr[:-1], packed.indptr[1:], strict=True))
    empty, none = _count_pairs(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), 3, 30)
    assert empty.shape == (3, 0) and len(none) == 0


def test_the_compiled_count_is_numpys(monkeypatch: pytest.MonkeyPatch) -> None:
    """The radix sort and compiled passes give numpy's matrix (values, column order, row pointer) and keys, over
    keys as wide as packing allows, rows with nothing, and pairs repeated within a row."""
    from latentstack_tfidf import ngrams

    rng = np.random.default_rng(1)
    keys = rng.choice(rng.integers(0, 2**50, 3000), 60000)
    rows = np.sort(rng.integers(0, 2000, 60000)) * 2  # odd rows hold nothing
    made = {}
    for compiled in (False, True):
        monkeypatch.setattr(ngrams, "_compiled", lambda n, c=compiled: c)
        made[compiled] = ngrams._count_pairs(keys, rows, 4000, 50)
    (a, a_keys), (b, b_keys) = made[False], made[True]
    np.testing.assert_array_equal(a_keys, b_keys)
    for part in ("indptr", "indices", "data"):
        np.testing.assert_array_equal(getattr(a, part), getattr(b, part))
    assert b.dtype == np.float32 and b.shape == (4000, len(b_keys)) and b.sum() == 60000


#: In a fresh process: when the compiled counting would be chosen, and whether fitting TF-IDF alone loaded numba.
_FRESH = """
import json, sys
from latentstack import get_embedder
import latentstack_tfidf.ngrams as ng
small, large = ng._compiled(10), ng._compiled(ng.COMPILED_FROM)
get_embedder("tfidf", char_ngrams=(2, 5)).fit_transform(["free prize now", "see you at lunch"] * 50)
fitted = "numba" in sys.modules
import numba
print(json.dumps({"small": small, "large": large, "fitted_loaded_numba": fitted, "loaded": ng._compiled(10)}))
"""


def test_numba_is_loaded_only_where_it_pays() -> None:
    """A small TF-IDF fit in a fresh process counts with numpy and leaves numba unloaded (its import would cost more
    than it saves); a large one, or one where numba is loaded already, counts compiled."""
    import json
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _FRESH], capture_output=True, text=True, check=True, timeout=300)
    assert json.loads(out.stdout.splitlines()[-1]) == {"small": False, "large": True, "fitted_loaded_numba": False,
                                                        "loaded": True}
