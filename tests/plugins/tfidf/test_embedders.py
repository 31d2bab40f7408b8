"""The tfidf and lsa embedders meet the Embedder contract and save without pickle."""

from __future__ import annotations

import re

import pytest

from latentstack.errors import InputError
from latentstack.testing import EmbedderContract
from latentstack.testing.embedder_contract import TEXTS
from latentstack_tfidf.lsa import LsaEmbedder
from latentstack_tfidf.tfidf import TfidfEmbedder

CORPUS = TEXTS * 3 + ["another document about markets and prizes", "the mat was red"]


class TestTfidf(EmbedderContract):
    """Word and char n-gram TF-IDF, sparse."""

    @pytest.fixture
    def embedder(self) -> TfidfEmbedder:
        """Fitted on a small corpus with char 2-4-grams too."""
        return TfidfEmbedder.from_options(char_ngrams=(2, 4)).fit(CORPUS)


class TestLsa(EmbedderContract):
    """Dense LSA codes."""

    @pytest.fixture
    def embedder(self) -> LsaEmbedder:
        """Fitted with 4 components."""
        return LsaEmbedder.from_options(components=4).fit(CORPUS)


def test_unfitted_is_a_clear_error() -> None:
    """Using tfidf before fit says to fit first."""
    with pytest.raises(InputError, match="fit"):
        TfidfEmbedder().embed_many(["x"])


def test_saved_files_are_not_pickles(tmp_path) -> None:  # noqa: ANN001
    """The saved folder holds JSON and npz only."""
    TfidfEmbedder().fit(CORPUS).save(tmp_path / "t")
    assert sorted(p.suffix for p in (tmp_path / "t").iterdir()) == [".json", ".json", ".npz"]


@pytest.mark.parametrize(("given", "expected"), [("2,5", (2, 5)), ("2-5", (2, 5)), ([2, 5], (2, 5)), (3, (3, 3)),
                                                 ("3", (3, 3)), ("x", "two whole numbers"), ("5,2", "1 <= low <= high"),
                                                 ("1,2,3", "two whole numbers")])
def test_an_ngram_range_given_as_text_is_read(given: object, expected: object) -> None:
    """-o char_ngrams=2,5 gives the str "2,5", which was read as the characters '2', ',', '5' (an int() error)."""
    from latentstack import get_embedder
    from latentstack.errors import ConfigError

    if isinstance(expected, tuple):
        assert get_embedder("tfidf", char_ngrams=given).config.char_ngrams == expected
    else:
        with pytest.raises(ConfigError, match=f"char_ngrams.*{re.escape(str(expected))}"):
            get_embedder("tfidf", char_ngrams=given)


@pytest.mark.parametrize("value", [0, -5])
def test_max_features_below_one_is_refused(value: int) -> None:
    """0 was "found no word n-grams", -5 kept two features (a negative slice)."""
    from latentstack.errors import ConfigError

    with pytest.raises(ConfigError, match="'max_features' must be > 0"):
        TfidfEmbedder.from_options(max_features=value)


def test_a_word_typed_two_ways_is_one_term(tmp_path) -> None:  # noqa: ANN001
    """"café" as one character and as "e" plus a combining accent (macOS, some PDF text) were two terms, so a
    classifier trained on one spelling met unknown words in the other. An embedder fitted before texts were
    normalised reads them as given still, and its fingerprint is not a new one's (the embedding cache keeps them apart)."""
    import unicodedata

    typed = ["le café est ouvert", "la gare est fermée", "un café crème"]
    decomposed = [unicodedata.normalize("NFD", t) for t in typed]
    fitted = TfidfEmbedder.from_options(char_ngrams=(2, 4)).fit(typed)
    assert (fitted.embed_many(decomposed) != fitted.embed_many(typed)).nnz == 0
    assert TfidfEmbedder().fit(decomposed).vocab_size == TfidfEmbedder().fit(typed).vocab_size
    old = TfidfEmbedder.from_options(char_ngrams=(2, 4)).fit(typed)
    for part in old.parts:  # as an embedder fitted before this saved its parameters
        del part["params"]["unicode"]
    old.save(tmp_path / "t")
    before = TfidfEmbedder.load(tmp_path / "t")
    assert (before.embed_many(decomposed) != fitted.embed_many(typed)).nnz > 0
    assert (before.embed_many(typed) != fitted.embed_many(typed)).nnz == 0
    assert before.fingerprint() != fitted.fingerprint()


def test_a_word_keeps_its_combining_marks(tmp_path) -> None:  # noqa: ANN001
    """scikit-learn's word pattern (\\w runs) cut Hindi words at every vowel sign and virama: "दिल" (heart) and "दाल"
    (lentils) were both the tokens द, ल, so no classifier could tell them apart. A word now keeps its marks (Hebrew
    points too); an embedder fitted before keeps the pattern it was fitted with, and with it its vectors."""
    from latentstack_tfidf.ngrams import WORD_PATTERN

    texts = ["दिल बहुत है", "दाल पानी है", "שָׁלוֹם עוֹלָם"]
    emb = TfidfEmbedder().fit(texts)
    assert {"दिल", "दाल", "बहुत", "पानी", "שָׁלוֹם"} <= emb.parts[0]["vocabulary"].keys()
    heart, lentils = emb.embed_many(["दिल"]), emb.embed_many(["दाल"])
    assert heart.nnz == 1 and lentils.nnz == 1 and (heart != lentils).nnz > 0
    old = TfidfEmbedder().fit(texts)
    old.parts[0]["params"]["token_pattern"] = WORD_PATTERN  # as saved before marks were kept
    old.parts[0]["vocabulary"] = {"द": 0, "ल": 1}
    old.parts[0]["idf"] = old.parts[0]["idf"][:2]
    old.save(tmp_path / "old")
    again = TfidfEmbedder.load(tmp_path / "old")
    assert (again.embed_many(["दिल"]) != again.embed_many(["दाल"])).nnz == 0  # its own tokens, as before
    assert again.embed_many(["दिल"]).nnz == 2


def test_turkish_dotted_capital_i_is_the_small_letter(tmp_path) -> None:  # noqa: ANN001
    """Lower-cased, "İ" is "i" and a combining dot, so "İstanbul" (a word at the start of a sentence, a name) was not
    "istanbul": now it is, when lower-casing; an embedder fitted with the earlier word pattern reads it as before."""
    from latentstack_tfidf.ngrams import WORD_PATTERN

    texts = ["İstanbul trafiği", "istanbul boğazı", "Ankara"]
    emb = TfidfEmbedder().fit(texts)
    assert "istanbul" in emb.parts[0]["vocabulary"] and len(emb.parts[0]["vocabulary"]) == 6
    assert (emb.embed_many(["İSTANBUL"]) != emb.embed_many(["istanbul"])).nnz == 0
    kept = TfidfEmbedder.from_options(lowercase=False).fit(texts)
    assert "İstanbul" in kept.parts[0]["vocabulary"]  # case kept: Turkish İ stays its own letter
    emb.parts[0]["params"]["token_pattern"] = WORD_PATTERN  # as fitted before
    emb.save(tmp_path / "old")
    old = TfidfEmbedder.load(tmp_path / "old")
    assert (old.embed_many(["İstanbul"]) != old.embed_many(["istanbul"])).nnz > 0


@pytest.mark.parametrize("cls", [TfidfEmbedder, LsaEmbedder])
def test_a_loaded_embedder_takes_its_recorded_fingerprint(cls: type[TfidfEmbedder], tmp_path,  # noqa: ANN001
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Hashing a large vocabulary (and lsa's components) took seconds at every load of a big index: the fingerprint
    recorded at save is taken by a load (whose files were checked), equal to the one computed; a folder saved before
    it was recorded computes it; a refit or new components give a new one."""
    from latentstack.storage import update_manifest

    fitted = cls.from_options(components=4).fit(CORPUS) if cls is LsaEmbedder else cls().fit(CORPUS)
    fitted.save(tmp_path / "e")
    computed = fitted._fingerprint()
    update_manifest(tmp_path / "e", lambda body: body["data"].pop("fingerprint"))  # as a folder saved before
    older = cls.load(tmp_path / "e")
    fitted.save(tmp_path / "e")
    with monkeypatch.context() as m:
        m.setattr(cls, "_fingerprint", lambda self: pytest.fail("computed again"))
        assert cls.load(tmp_path / "e").fingerprint() == computed == fitted.fingerprint()
    assert older.fingerprint() == computed
    fitted.fit([*CORPUS, "a new text about volcanoes"])
    assert fitted.fingerprint() not in (computed, older.fingerprint())
    if isinstance(older, LsaEmbedder):
        older.components = older.components * 2
        assert older.fingerprint() != computed
