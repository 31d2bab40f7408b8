"""The bm25 plugin: lexical search over texts, filters, removal, persistence."""

from __future__ import annotations

import pytest

from latentstack.errors import CorruptFileError, InputError
from latentstack.testing import TextIndexContract
from latentstack_bm25.index import Bm25Index

DOCS = {
    "a": "The Eiffel Tower is in Paris, the capital of France.",
    "b": "Berlin is the capital of Germany and its largest city.",
    "c": "Cats are small domesticated carnivorous mammals.",
    "d": "Running shoes help runners run faster on long runs.",
}


@pytest.fixture
def index() -> Bm25Index:
    """The four documents, tagged by topic."""
    idx = Bm25Index()
    topics = [{"topic": "geo"}, {"topic": "geo"}, {"topic": "animals"}, {"topic": "sport"}]
    idx.add(list(DOCS), list(DOCS.values()), topics)
    return idx


def test_finds_lexical_match(index: Bm25Index) -> None:
    """The document sharing the rare words ranks first; stemming matches run/running."""
    assert index.search("capital of Germany", k=2)[0].id == "b"
    assert index.search("runner", k=1)[0].id == "d"


def test_no_match_gives_no_hits(index: Bm25Index) -> None:
    """A query sharing no term returns nothing rather than arbitrary documents."""
    assert index.search("zebra xylophone", k=3) == []


def test_where_and_remove(index: Bm25Index) -> None:
    """Filters apply before ranking; removed documents vanish at once."""
    assert [h.id for h in index.search("capital", k=5, where={"topic": "geo"})] == ["a", "b"] or \
        {h.id for h in index.search("capital", k=5, where={"topic": "geo"})} == {"a", "b"}
    assert index.search("capital", k=5, where={"topic": "animals"}) == []
    index.remove(["b"])
    assert "b" not in [h.id for h in index.search("capital of Germany", k=4)]


def test_save_load(index: Bm25Index, tmp_path) -> None:  # noqa: ANN001
    """A reloaded index ranks identically; a truncated file is a clear error."""
    index.remove(["c"])
    index.save(tmp_path / "b")
    again = Bm25Index.load(tmp_path / "b")
    assert len(again) == 3
    q = "capital city"
    assert [(h.id, round(h.score, 4)) for h in again.search(q)] == [(h.id, round(h.score, 4)) for h in index.search(q)]
    items = tmp_path / "b" / "items.jsonl"
    items.write_text(items.read_text().splitlines()[0] + "\n")
    with pytest.raises(CorruptFileError, match="truncated"):
        Bm25Index.load(tmp_path / "b")


def test_a_load_reads_the_saved_matrix_instead_of_tokenising_again(index: Bm25Index, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    """Every CLI search of a hybrid index rebuilt the BM25 matrix from all its texts (tokenised, stemmed, counted)
    at its first query; the save keeps the matrix, so a load scores at once, exactly as before the save."""
    index.save(tmp_path / "b")
    again = Bm25Index.load(tmp_path / "b")
    monkeypatch.setattr(again, "tokenize", lambda texts: pytest.fail(f"tokenised {len(texts)} texts again")
                        if len(texts) > 1 else Bm25Index.tokenize(again, texts))
    for q in ("capital city", "running fast", "cats"):
        assert [(h.id, h.score) for h in again.search(q, k=4)] == [(h.id, h.score) for h in index.search(q, k=4)]
    again.add(["e"], ["The capital of Italy is Rome."])  # a change still rebuilds it, with the new text
    monkeypatch.undo()
    assert again.search("capital of Italy", k=1)[0].id == "e"


def test_a_folder_saved_without_the_matrix_builds_it_on_first_search(index: Bm25Index, tmp_path) -> None:  # noqa: ANN001
    """Indexes saved before the matrix was kept still load, and rank as they did."""
    import shutil

    from latentstack.storage import update_manifest

    index.save(tmp_path / "b")
    shutil.rmtree(tmp_path / "b" / "matrix")

    def older(body: dict) -> None:
        body["files"] = {k: v for k, v in body["files"].items() if not k.startswith("matrix/")}
        del body["data"]["matrix"]

    update_manifest(tmp_path / "b", older)
    again = Bm25Index.load(tmp_path / "b")
    assert [h.id for h in again.search("capital city")] == [h.id for h in index.search("capital city")]


def test_a_matrix_another_bm25s_cannot_read_is_rebuilt_from_the_texts(index: Bm25Index, tmp_path, capsys) -> None:  # noqa: ANN001
    """The matrix is bm25s's format, the texts ours: a bm25s that reads the files (checksums intact) otherwise
    would leave the index unreadable until rebuilt."""
    from latentstack.storage import sha256_file, update_manifest

    index.save(tmp_path / "b")
    params = tmp_path / "b" / "matrix" / "params.index.json"
    params.write_text('{"k1": 1.5, "an_option_this_bm25s_lacks": 1}', encoding="utf-8")
    update_manifest(tmp_path / "b", lambda body: body["files"].update({"matrix/params.index.json": sha256_file(params)}))
    again = Bm25Index.load(tmp_path / "b")
    assert "cannot read the saved matrix" in capsys.readouterr().err
    assert [h.id for h in again.search("capital city")] == [h.id for h in index.search("capital city")]


def test_bad_input(index: Bm25Index) -> None:
    """Non-text items and mismatched ids are refused."""
    with pytest.raises(InputError):
        index.add(["x"], [b"bytes"])
    with pytest.raises(InputError, match="ids"):
        index.add(["x", "y"], ["one text"])


class TestBm25Contract(TextIndexContract):
    """bm25 meets the text-index contract."""

    @pytest.fixture
    def index(self) -> Bm25Index:
        """An empty bm25 index."""
        return Bm25Index.from_options()


def test_texts_without_words_match_nothing_and_break_nothing() -> None:
    """An index whose every text is punctuation or stop words (bm25s' empty vocabulary was a ValueError at the
    first search), and one where some are, rank what they can."""
    empty = Bm25Index()
    empty.add(["a", "b"], ["???", "the of"])
    assert empty.search("the question", k=2) == [] and empty.search("the question", k=2) == []
    mixed = Bm25Index()
    mixed.add(["a", "b"], ["???", "hello world"])
    assert [h.id for h in mixed.search("hello", k=2)] == ["b"]


def test_bad_options_are_refused_when_configured() -> None:
    """An unknown stemmer or stop-word list was PyStemmer's KeyError or bm25s' ValueError at the first add (bench
    retrieval --stemmer: a traceback); k1 -1 gave infinite scores."""
    from latentstack.errors import ConfigError

    with pytest.raises(ConfigError, match="'stemmer' is a Snowball stemmer .*french.* or '' for none, got 'klingon'"):
        Bm25Index.from_options(stemmer="klingon")
    with pytest.raises(ConfigError, match="'stopwords' 'klingon' is not a stop-word list bm25s has"):
        Bm25Index.from_options(stopwords="klingon")
    for bad, words in (({"k1": -1}, "'k1' must be >= 0.0"), ({"b": 2}, "'b' must be <= 1.0")):  # k1 -1: inf scores
        with pytest.raises(ConfigError, match=words):
            Bm25Index.from_options(**bad)
    french, english = Bm25Index.from_options(stemmer="french", stopwords="fr"), Bm25Index.from_options()
    for index in (french, english):
        index.add(["a", "b"], ["les chanteuses du port", "la rivière coule"])
    assert [h.id for h in french.search("chanteuse", 1)] == ["a"] and french.search("les", 1) == []  # a stop word
    assert [h.id for h in english.search("les", 1)] == ["a"]


def test_a_word_matches_however_unicode_spells_it() -> None:
    """"café" typed as one character found nothing in a text holding "cafe" and a combining accent (a macOS
    file, a PDF's extracted text), nor "file" in "ﬁle" or "full" in full-width letters; and a Hindi word was cut
    at each vowel sign into fragments (a word of one letter and a sign is not a word at all)."""
    import unicodedata

    index = Bm25Index()
    texts = [unicodedata.normalize("NFD", "Le café de la gare"), "The ﬁle is ＦＵＬＬ", "हिन्दी भाषा", "दिन"]
    index.add(["nfd", "ligature", "hindi", "day"], texts)
    assert [h.id for h in index.search("café", 4)] == ["nfd"]
    assert [h.id for h in index.search("CAFÉ", 4)] == ["nfd"]
    assert [h.id for h in index.search("full file", 4)] == ["ligature"]
    assert [h.id for h in index.search("हिन्दी", 4)] == ["hindi"]
    assert [h.id for h in index.search("दिन", 4)] == ["day"]  # not the fragment "दी" of "हिन्दी"
    assert index.tokenize(["हिन्दी शब्द"]) == [["हिन्दी", "शब्द"]]


def test_turkish_dotted_capital_i_matches_its_small_letter() -> None:
    """"İstanbul" folded to "i" + a combining dot, so neither "istanbul" nor "ISTANBUL" found it, nor it them."""
    index = Bm25Index()
    index.add(["dotted", "plain", "other"], ["İstanbul boğazı", "istanbul trafiği", "Ankara"])
    assert {h.id for h in index.search("istanbul", 3)} == {"dotted", "plain"}
    assert {h.id for h in index.search("İSTANBUL", 3)} == {"dotted", "plain"}
    assert index.tokenize(["İzmir"]) == [["izmir"]]


def test_arabic_and_hebrew_match_with_or_without_their_vowel_points() -> None:
    """A pointed word (a children's book, a dictionary, the Quran) shared no word with its usual unpointed spelling;
    the points are dropped, and Arabic's alef forms and teh marbuta are read as Lucene's Arabic analyzer reads
    them. Hindi's vowel signs are part of the word and still tell words apart."""
    index = Bm25Index()
    index.add(["school", "peace", "ahmad", "heart", "lentils"],
              ["مدرسه في المدينة", "שָׁלוֹם עֲלֵיכֶם", "أحمد يقرأ", "दिल की बात", "दाल चावल"])
    assert [h.id for h in index.search("مَدْرَسَة", 5)] == ["school"]
    assert [h.id for h in index.search("שלום", 5)] == ["peace"]
    assert [h.id for h in index.search("احمد", 5)] == ["ahmad"]
    assert [h.id for h in index.search("दिल", 5)] == ["heart"]


def test_chinese_and_japanese_are_read_as_character_pairs() -> None:
    """Written without spaces, a whole Chinese or Japanese sentence was one "word", so a query matched nothing
    unless it was the sentence itself; runs of ideographs and kana are read as overlapping pairs (Lucene's CJK
    analyzer), Latin letters beside them stay a word of their own."""
    index = Bm25Index()
    index.add(["beijing", "shanghai", "tokyo"], ["北京是中国的首都。", "上海是中国最大的城市。", "東京は日本の首都です。"])
    assert [h.id for h in index.search("中国最大的城市", 3)][0] == "shanghai"
    assert [h.id for h in index.search("中国首都", 3)][0] == "beijing"
    assert [h.id for h in index.search("日本の首都", 3)][0] == "tokyo"
    assert index.tokenize(["東京都のiPhone"]) == [["東京", "京都", "都の", "iphon"]]


def test_metadata_shared_by_items_is_kept_and_saved_once(tmp_path) -> None:  # noqa: ANN001
    """As FAISS: one copy of a mapping given for many items, in memory and on disk; version 1 folders still load."""
    import json

    from latentstack.storage import sha256_file, update_manifest

    geo = {"topic": "geo"}
    index = Bm25Index()
    index.add(list(DOCS), list(DOCS.values()), [geo, geo, {"topic": "animals"}, geo])
    assert index.meta[0] is index.meta[1] is index.meta[3]
    index.save(tmp_path / "b")
    assert json.loads((tmp_path / "b" / "metadata.json").read_text()) == {"values": [geo, {"topic": "animals"}]}
    again = Bm25Index.load(tmp_path / "b")
    assert again.meta == index.meta and again.meta[0] is again.meta[1] is again.meta[3]
    assert {h.id for h in again.search("capital city", where={"topic": "geo"})} == {"a", "b"}
    items = tmp_path / "b" / "items.jsonl"
    items.write_text("".join(json.dumps({"id": i, "text": t, "meta": m}) + "\n"
                             for i, t, m in zip(index.ids, index.texts, index.meta, strict=True)))
    update_manifest(tmp_path / "b", lambda body: body.update(version=1) or body["files"].update(
        {"items.jsonl": sha256_file(items)}))
    old = Bm25Index.load(tmp_path / "b")
    assert old.meta == index.meta and {h.id for h in old.search("cats", where={"topic": "animals"})} == {"c"}


@pytest.mark.parametrize("written", ["as saved", "not ascii", "crlf", "cr"])
def test_items_written_otherwise_are_read_alike(index: Bm25Index, tmp_path, written: str) -> None:  # noqa: ANN001
    """A load reads the saved ASCII rows in one pass; rows with characters unescaped, or with other line ends (a
    file saved again by an editor), are split at their line ends and read the same."""
    import json

    from latentstack.storage import sha256_file, update_manifest

    index.add(["u"], ["Ünïcode café\u2028naïve ✓"], [{"topic": "é"}])
    index.save(tmp_path / "b")
    items = tmp_path / "b" / "items.jsonl"
    rows = [json.loads(line) for line in items.read_text(encoding="utf-8").splitlines()]
    end = {"crlf": "\r\n", "cr": "\r"}.get(written, "\n")
    items.write_bytes("".join(json.dumps(r, ensure_ascii=written != "not ascii") + end for r in rows).encode())
    update_manifest(tmp_path / "b", lambda body: body["files"].update({"items.jsonl": sha256_file(items)}))
    again = Bm25Index.load(tmp_path / "b")
    assert (again.ids, again.texts, again.meta) == (index.ids, index.texts, index.meta)


@pytest.mark.parametrize(("rows", "message"), [
    (lambda lines: lines[:2] + lines[1:2] + lines[3:], "repeats 1 id"),
    (lambda lines: lines[:3] + ["null"], "bm25 index"),
    (lambda lines: lines[:3] + ['{"id": "d", "text": "x"}'], "bm25 index"),
])
def test_a_load_takes_the_saved_items_whole_but_checks_them(index: Bm25Index, tmp_path, rows, message) -> None:  # noqa: ANN001
    """A load takes the saved rows as one JSON array, without add's per-item checks; a folder whose rows (checksums
    intact) repeat an id or lack a field is still a CorruptFileError, not an index that answers wrongly."""
    from latentstack.storage import sha256_file, update_manifest

    index.save(tmp_path / "b")
    items = tmp_path / "b" / "items.jsonl"
    items.write_text("\n".join(rows(items.read_text().splitlines())) + "\n")
    update_manifest(tmp_path / "b", lambda body: body["files"].update({"items.jsonl": sha256_file(items)}))
    with pytest.raises(CorruptFileError, match=message):
        Bm25Index.load(tmp_path / "b")


def _counting_tokenize(index: Bm25Index, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record how many texts each call of ``index.tokenize`` got (queries are one text each)."""
    seen: list[int] = []

    def tokenize(texts):  # noqa: ANN001, ANN202
        seen.append(len(texts))
        return Bm25Index.tokenize(index, texts)

    monkeypatch.setattr(index, "tokenize", tokenize)
    return seen


@pytest.mark.parametrize("method", ["lucene", "bm25+"])
def test_a_rebuild_tokenises_only_new_texts_and_scores_as_a_fresh_index(method, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    """An add or a remove rebuilds the matrix over every text; the texts tokenised before (in this process or by the
    save a folder was loaded from) are not tokenised again, every score equals a fresh index's over the same texts
    (BM25+ also scores the texts without a query word), and a removed text's own words leave the vocabulary (kept
    and saved with the index, it would otherwise grow with every edit)."""
    import random

    rng = random.Random(0)
    words = ["capital", "city", "river", "tower", "cats", "runners", "bridge", "museum", "forest", "harbour"]
    texts = {f"t{i}": " ".join(rng.choices(words, k=rng.randint(1, 8))) for i in range(60)}
    texts["odd"] = "zeppelin capital"
    index = Bm25Index.from_options(method=method)
    index.add(list(texts), list(texts.values()))
    index.search("capital")
    index.save(tmp_path / "b")
    index = Bm25Index.load(tmp_path / "b")
    seen = _counting_tokenize(index, monkeypatch)
    live = dict(texts)
    for step in range(6):
        gone = rng.sample(sorted(live), 5) + (["odd"] if step == 0 else [])
        index.remove(gone)
        for i in gone:
            del live[i]
        new = {f"n{step}-{j}": " ".join(rng.choices(words, k=4)) for j in range(3)}
        new[sorted(live)[0]] = "forest harbour forest"  # an id replaced
        index.add(list(new), list(new.values()))
        live.update(new)
        fresh = Bm25Index.from_options(method=method)
        fresh.add(list(live), list(live.values()))
        for q in ("capital river", "zeppelin", "forest harbour cats"):
            assert {h.id: h.score for h in index.search(q, k=80)} == {h.id: h.score for h in fresh.search(q, k=80)}
        assert "zeppelin" not in index._tokens.vocab
        if step == 2:
            index.save(tmp_path / "b")
            index = Bm25Index.load(tmp_path / "b")
            seen = _counting_tokenize(index, monkeypatch)
    assert max(seen) == 4, seen  # each rebuild tokenised the four texts just added, queries one at a time


def test_a_folder_saved_without_token_ids_tokenises_once_then_keeps_them(index: Bm25Index, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    """Indexes saved before the word ids were kept load as before; their first rebuild tokenises every text, and
    the next save keeps the ids."""
    from latentstack.storage import update_manifest
    from latentstack_bm25.token_ids import IDS, LENGTHS, WORDS

    index.save(tmp_path / "b")
    for name in (WORDS, IDS, LENGTHS):
        (tmp_path / "b" / name).unlink()

    def older(body: dict) -> None:
        body["files"] = {k: v for k, v in body["files"].items() if k not in (WORDS, IDS, LENGTHS)}
        del body["data"]["tokens"]

    update_manifest(tmp_path / "b", older)
    again = Bm25Index.load(tmp_path / "b")
    seen = _counting_tokenize(again, monkeypatch)
    again.remove(["d"])
    assert [h.id for h in again.search("capital city")] == [h.id for h in index.search("capital city")]
    assert seen == [1, 3]  # the query, then the three texts left
    again.save(tmp_path / "b")
    assert (tmp_path / "b" / IDS).exists()
    assert Bm25Index.load(tmp_path / "b")._tokens.complete()


@pytest.mark.parametrize("damage", ["past the words", "checksum", "saved again"])
def test_saved_word_ids_that_cannot_be_used_are_made_again(damage, index: Bm25Index, tmp_path, monkeypatch, capsys) -> None:  # noqa: ANN001
    """The word ids are read at the first change, not at a load (a search never needs them). Ids past the word list
    (checksums intact), a damaged file, or a folder saved again since the load are not used: the texts are
    tokenised again, with a line saying why, and the index scores as a fresh one."""
    import numpy as np

    from latentstack.storage import sha256_file, update_manifest
    from latentstack_bm25.token_ids import IDS

    index.save(tmp_path / "b")
    ids = tmp_path / "b" / IDS
    if damage != "saved again":
        np.save(ids, np.load(ids) + 1000, allow_pickle=False)
    if damage == "past the words":
        update_manifest(tmp_path / "b", lambda body: body["files"].update({IDS: sha256_file(ids)}))
    again = Bm25Index.load(tmp_path / "b")
    if damage == "saved again":  # as many texts, one of them another
        index.add(["d"], ["Walking boots for hills."])
        index.save(tmp_path / "b")
    assert again.search("capital city")  # the saved matrix: the ids are not read
    seen = _counting_tokenize(again, monkeypatch)
    again.add(["e"], ["The capital of Italy is Rome."])
    fresh = Bm25Index()
    fresh.add(list(DOCS) + ["e"], [*DOCS.values(), "The capital of Italy is Rome."])
    assert {h.id: h.score for h in again.search("capital city")} == {h.id: h.score for h in fresh.search("capital city")}
    assert 5 in seen
    assert {"past the words": "point outside", "checksum": "checksum", "saved again": "saved again"}[damage] in \
        capsys.readouterr().err


@pytest.mark.parametrize("method", ["lucene", "robertson", "atire", "bm25l", "bm25+"])
def test_the_matrix_built_from_word_ids_scores_as_bm25s_own_build(method) -> None:  # noqa: ANN001
    """The matrix is built from flat word-id arrays with NumPy (bm25s counted each text's words in a Python loop,
    most of a rebuild); every score equals the one bm25s's own build from the same tokens gives, for each method,
    on texts of repeated words, one-word and wordless texts."""
    import random

    import bm25s
    import numpy as np

    rng = random.Random(1)
    words = ["capital", "city", "river", "tower", "cats", "runners", "bridge", "museum", "forest", "harbour"]
    texts = [" ".join(rng.choices(words, k=rng.randint(1, 30))) for _ in range(300)] + ["cats", "the and of", *DOCS.values()]
    index = Bm25Index.from_options(method=method)
    index.add(list(range(len(texts))), texts)
    theirs = bm25s.BM25(k1=1.5, b=0.75, method=method)
    theirs.index(index.tokenize(texts), show_progress=False)
    for query in ("capital city", "cats cats river", "harbour", "paris tower", "zebra"):
        known = [t for t in index.tokenize([query])[0] if t in theirs.vocab_dict]
        expected = theirs.get_scores(known) if known else np.zeros(len(texts))
        assert np.array_equal(index.scores(query), expected.astype(np.float32)), query
