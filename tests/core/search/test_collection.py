"""The search pipeline end to end on the real MiniLM model, FAISS, BM25 and SQLite."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from latentstack.errors import CorruptFileError, InputError, ModelMismatchError
from latentstack.search import Catalog, ChunkConfig, Collection, Document
from latentstack.storage import read_manifest, update_manifest

pytestmark = pytest.mark.slow

DOCS = [
    Document("paris", "Paris is the capital of France. The Eiffel Tower stands there.", "Paris", {"lang": "en", "year": 2020}),
    Document("berlin", "Berlin is the capital of Germany.\n\nIt has many museums and a famous wall.", "Berlin", {"lang": "en", "year": 2021}),
    Document("cats", "Cats are small domesticated mammals that purr.", "Cats", {"lang": "en", "year": 2020}),
    Document("hund", "Der Hund ist ein Haustier und bellt laut.", "Hund", {"lang": "de", "year": 2021}),
    Document("empty", "   ", "Empty"),
]


@pytest.fixture(scope="module")
def built(tmp_path_factory):  # noqa: ANN001, ANN201
    """A saved collection of the five documents (one empty) with a chunk per paragraph, however short."""
    path = tmp_path_factory.mktemp("col") / "idx"
    col = Collection.create(path, embedder_options={"model": "minilm"}, index="auto",
                            chunking=ChunkConfig(mode="paragraph", min_chars=0))
    counts = col.add_documents(DOCS)
    col.save()
    return path, counts


def test_build_counts_and_auto_index(built) -> None:  # noqa: ANN001
    """Empty documents are skipped and counted; auto picks Flat for a tiny corpus and records it."""
    path, counts = built
    assert counts == {"documents": 4, "chunks": 5, "replaced": 0, "repeated": 0, "skipped_empty": 1, "unchanged": 0,
                      "relabeled": 0}
    manifest = read_manifest(path, kind="collection", plugin="core", version=2).data
    assert manifest["index"] == {"name": "faiss", "options": manifest["index"]["options"]}
    assert manifest["index"]["options"]["factory"] == "Flat"
    assert manifest["lexical"]["name"] == "bm25"  # an empty index is falsy: the manifest must still record it
    assert Collection.load(path).lexical is not None
    assert manifest["embedder"]["dim"] == 384 and manifest["embedder"]["fingerprint"].startswith("bert:")


def test_adding_what_is_stored_already_leaves_it_as_it_is(built, tmp_path) -> None:  # noqa: ANN001
    """Adding a folder again embedded every document again (minutes for a few thousand notes): a document stored
    with the same text, title and metadata keeps its chunks and vectors; one whose title or metadata alone
    changed keeps them too and takes the new ones (relabeled), which filters, hits and a save follow; a changed
    text is replaced."""
    col = Collection.load(built[0])
    col.path = tmp_path / "copy"
    before = {d.id: col.store.chunk_ids([d.id]) for d in DOCS}
    moved = Document("cats", DOCS[2].text, "Cats, again", {"lang": "en", "year": 2022})
    rewritten = Document("hund", "Der Hund bellt.", "Hund", DOCS[3].metadata)
    counts = col.add_documents([*DOCS[:2], moved, rewritten])
    assert (counts["unchanged"], counts["relabeled"], counts["documents"], counts["replaced"]) == (2, 1, 1, 1)
    assert all(col.store.chunk_ids([i]) == before[i] for i in ("paris", "berlin", "cats"))
    assert [c.text for c in col.store.chunks(col.store.chunk_ids(["hund"])).values()] == [rewritten.text]
    col.save()
    again = Collection.load(col.path)
    for hybrid in (True, False):
        hit = again.search("kitten purring pets", k=1, where={"year": 2022}, hybrid=hybrid)[0]
        assert (hit.doc_id, hit.title, hit.metadata["year"]) == ("cats", "Cats, again", 2022)
        assert "cats" not in {h.doc_id for h in again.search("kitten purring pets", k=5, where={"year": 2020},
                                                              hybrid=hybrid)}
    assert next(again.documents(["cats"])) == moved


def test_an_index_that_cannot_set_metadata_has_the_document_added_again(built, tmp_path) -> None:  # noqa: ANN001
    """Where an index cannot change metadata alone (a plugin without ``set_metadata``), a document whose
    metadata changed is replaced, embedded again, as before."""
    col = Collection.load(built[0])
    col.path = tmp_path / "copy"
    col.lexical.sets_metadata = False  # type: ignore[union-attr, misc]  # as a plugin without set_metadata says
    before = col.store.chunk_ids(["cats"])
    counts = col.add_documents([Document("cats", DOCS[2].text, "Cats", {"lang": "en", "year": 2022})])
    assert (counts["relabeled"], counts["documents"], counts["replaced"]) == (0, 1, 1)
    assert col.store.chunk_ids(["cats"]) != before
    assert col.search("kitten purring pets", k=1, where={"year": 2022})[0].doc_id == "cats"


def test_semantic_and_hybrid_search(built) -> None:  # noqa: ANN001
    """A paraphrased query finds the right document, dense and hybrid alike."""
    col = Collection.load(built[0])
    assert col.search("Which city is home to the Eiffel Tower?", k=1)[0].doc_id == "paris"
    assert col.search("kitten purring pets", k=1, hybrid=True)[0].doc_id == "cats"
    docs = col.search("capital city", k=3, by_document=True)
    assert len({h.doc_id for h in docs}) == len(docs)


def test_where_filter(built) -> None:  # noqa: ANN001
    """--where filters before ranking, compares as strings, and refuses unknown keys."""
    col = Collection.load(built[0])
    hits = col.search("capital", k=5, where={"year": "2021"})
    assert hits and {h.doc_id for h in hits} <= {"berlin", "hund"}
    with pytest.raises(InputError, match="unknown metadata key"):
        col.search("capital", where={"yeer": "2021"})
    for hybrid in (False, True):  # a list matches any of its values; operators compare; an unknown one is refused
        assert {h.doc_id for h in col.search("capital", k=5, hybrid=hybrid, where={"lang": ["de", "fr"]})} == {"hund"}
        assert len(col.search("capital", k=5, hybrid=hybrid, where={"year": [2020, "2021"]})) == 5
        assert {h.doc_id for h in col.search("capital", k=5, hybrid=hybrid, where={"year": {"$gt": 2020}})} == {"berlin", "hund"}
        assert {h.doc_id for h in col.search("capital", k=5, hybrid=hybrid, where={"lang": {"$in": ["de"]}})} == {"hund"}
        with pytest.raises(InputError, match="'lang' has operator '\\$regex'; operators are"):
            col.search("capital", hybrid=hybrid, where={"lang": {"$regex": "d.*"}})


def test_documents_chosen_by_metadata(built) -> None:  # noqa: ANN001
    """What to export or remove by metadata: the filter reads as a search's does, in the order added."""
    col = Collection.load(built[0])
    assert col.document_ids() == ["paris", "berlin", "cats", "hund"]
    assert col.document_ids({"year": 2020}) == ["paris", "cats"]
    assert col.document_ids({"year": {"$gt": 2020}, "lang": {"$ne": "de"}}) == ["berlin"]
    assert col.document_ids({"lang": "fr"}) == []
    with pytest.raises(InputError, match="unknown metadata key"):
        col.document_ids({"yeer": 2020})


def test_delete_is_immediate_and_survives_reload(built, tmp_path) -> None:  # noqa: ANN001
    """A removed document vanishes from dense and hybrid results, before and after save/load."""
    col = Collection.load(built[0])
    col.path = tmp_path / "copy"
    assert col.remove_documents(["paris"]) == 1
    for hybrid in (False, True):
        assert "paris" not in {h.doc_id for h in col.search("Eiffel Tower France", k=10, hybrid=hybrid)}
    col.save()
    again = Collection.load(tmp_path / "copy")
    assert "paris" not in {h.doc_id for h in again.search("Eiffel Tower France", k=10, hybrid=True)}
    assert again.info()["live"]["documents"] == 3


def test_empty_query_and_other_embedder(built) -> None:  # noqa: ANN001
    """An empty query, a query that is not a str and a hybrid that is not a bool are refused; asking for another
    embedder config than the index's is an error."""
    col = Collection.load(built[0])
    with pytest.raises(InputError, match="empty"):
        col.search("  ")
    with pytest.raises(InputError, match="a query is a str, got list"):
        col.search(["Eiffel Tower"])  # was "the query is empty"
    with pytest.raises(InputError, match="hybrid takes True or False, got 'no'"):
        col.search("Eiffel Tower", hybrid="no")  # was a hybrid search: "no" is truthy
    with pytest.raises(InputError, match="got a single str"):
        col.search_many("Eiffel Tower")  # was one search per letter
    before = col.info()["live"]
    with pytest.raises(InputError, match="wrap one id in a list"):
        col.remove_documents("paris")  # was read as the ids p, a, r, i and s
    with pytest.raises(InputError, match="wrap one in a list"):
        col.add_documents(Document("x", "a text"))  # a TypeError: a Document is not iterable
    assert col.info()["live"] == before
    dense = [h.doc_id for h in col.search("???", k=2, hybrid=False)]
    assert dense and [h.doc_id for h in col.search("???", k=2)] == dense  # no word for BM25: its traceback before
    with pytest.raises(ModelMismatchError, match="pooling"):
        Collection.load(built[0], expect_embedder={"name": "bert", "config": {"pooling": "cls"}})


def test_changed_model_fingerprint_is_an_error(built, tmp_path) -> None:  # noqa: ANN001
    """If the index's model files changed, loading says so instead of answering wrongly."""
    import shutil

    copy = tmp_path / "tampered"
    shutil.copytree(built[0], copy)
    update_manifest(copy, lambda m: m["data"]["embedder"].update(fingerprint="bert:0000:mean:True:256:"))
    with pytest.raises(ModelMismatchError, match="index repair .* embeds its documents again"):
        Collection.load(copy)


def test_truncated_faiss_file_is_clear(built, tmp_path) -> None:  # noqa: ANN001
    """A truncated index file gives a CorruptFileError, not a crash."""
    import shutil

    copy = tmp_path / "trunc"
    shutil.copytree(built[0], copy)
    f = copy / "dense" / "index.faiss"
    f.write_bytes(f.read_bytes()[:100])
    with pytest.raises(CorruptFileError):
        Collection.load(copy)


def test_the_documents_are_read_without_the_indexes_or_the_embedder(built, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    """`index info` and `index export` loaded both indexes and the embedder to read the store (slow and memory-hungry
    for a large collection); Catalog reads the manifest and the store alone, so the documents also come out of a
    collection whose index files are damaged, the way to rebuild it."""
    import shutil

    import latentstack.registry

    copy = tmp_path / "damaged"
    shutil.copytree(built[0], copy)
    for f in ("dense/index.faiss", "lexical/items.jsonl"):
        (copy / f).write_bytes((copy / f).read_bytes()[:50])
    with pytest.raises(CorruptFileError):
        Collection.load(copy)
    monkeypatch.setattr(latentstack.registry, "get_registry", lambda: pytest.fail("a plugin was looked up"))
    catalog = Catalog.open(copy)
    assert [d.id for d in catalog.documents()] == ["paris", "berlin", "cats", "hund"]
    assert catalog.document_ids({"lang": "de"}) == ["hund"]
    monkeypatch.undo()
    info = Collection.load(built[0]).info()
    assert {**catalog.info(), "path": info["path"]} == info


def test_a_dense_search_reads_no_lexical_index(built, tmp_path, capsys) -> None:  # noqa: ANN001
    """lexical=False leaves the lexical index unread (the CLI's --dense-only and --like): searches rank as dense
    ones (a hybrid one says it searches dense), and a change or a save is refused, which would drop the index."""
    import shutil

    copy = tmp_path / "dense-only"
    shutil.copytree(built[0], copy)
    f = copy / "lexical" / "items.jsonl"
    f.write_bytes(f.read_bytes()[:50])  # never read
    col, whole = Collection.load(copy, lexical=False), Collection.load(built[0])
    assert col.lexical is None and col.lexical_unread
    assert [(h.chunk_id, h.score) for h in col.search("capital city", hybrid=False)] == [
        (h.chunk_id, h.score) for h in whole.search("capital city", hybrid=False)]
    assert [h.chunk_id for h in col.search("capital city")] == [h.chunk_id for h in whole.search("capital city", hybrid=False)]
    assert "loaded without its lexical index (lexical=False): searching dense only" in capsys.readouterr().err
    before = {p.name: p.stat().st_mtime_ns for p in copy.iterdir()}
    for change in (lambda: col.add_documents([Document("new", "A new text.")]), lambda: col.remove_documents(["cats"]),
                   col.save):
        with pytest.raises(InputError, match="loaded without its lexical index .*load it whole to"):
            change()
    assert {p.name: p.stat().st_mtime_ns for p in copy.iterdir()} == before and col.store.has_document("cats")
    with pytest.raises(InputError, match="lexical takes True or False"):
        Collection.load(built[0], lexical="no")


KILLER = """
import sys, time
from latentstack.search import Collection, Document
import latentstack.search.store as store
col = Collection.load(sys.argv[1])
col.add_documents([Document(f"new{i}", f"New document number {i} about rivers.") for i in range(20)])
slow = store.DocumentStore.save_to
def save_to(self, path):
    slow(self, path)
    print("WRITING", flush=True)
    time.sleep(60)
store.DocumentStore.save_to = save_to
col.save()
"""


def test_crash_during_save_keeps_previous_index(built, tmp_path) -> None:  # noqa: ANN001
    """Killing the process in the middle of a save leaves the previous index loadable and whole."""
    import shutil

    copy = tmp_path / "crash"
    shutil.copytree(built[0], copy)
    proc = subprocess.Popen([sys.executable, "-c", KILLER, str(copy)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "LATENTSTACK_QUIET": "1"})
    assert proc.stdout.readline().strip() == "WRITING"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(0.1)
    again = Collection.load(copy)
    assert again.info()["live"]["documents"] == 4
    assert again.search("rivers", k=1)[0].doc_id != "new0"


def test_huge_and_non_utf8_files(tmp_path) -> None:  # noqa: ANN001
    """A 1 MB document is chunked, not truncated; a Latin-1 file is refused naming the fix."""
    from latentstack.search.sources import read_documents

    big = tmp_path / "big.txt"
    big.write_text("The river flows to the sea. " * 40000 + "\n\nA unique zebracorn sentence ends it.")
    col = Collection.create(tmp_path / "i", embedder_options={"model": "minilm", "show_progress": False},
                            chunking=ChunkConfig(mode="paragraph", max_chars=20000))
    counts = col.add_documents(read_documents([big]))
    assert counts["chunks"] > 50
    assert "zebracorn" in col.search("zebracorn", k=1, hybrid=True)[0].text
    bad = tmp_path / "latin.txt"
    bad.write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8.*iconv"):
        list(read_documents([bad]))


def test_passages_longer_than_the_embedder_reads_are_counted(tmp_path, tiny_bert_dir, capsys,  # noqa: ANN001
                                                             monkeypatch) -> None:  # noqa: ANN001
    """A build says how many passages the embedder cuts (their ends are not in their vectors); none, no line."""
    monkeypatch.delenv("LATENTSTACK_QUIET", raising=False)
    col = Collection.create(tmp_path / "c", embedder_options={"model": str(tiny_bert_dir), "max_length": 16,
                                                              "show_progress": False})
    col.add_documents([Document("short", "a few words"), Document("long", " ".join(f"word{i}" for i in range(60)))])
    assert "1 of 2 passages are longer than the bert embedder reads" in capsys.readouterr().err
    col.add_documents([Document("other", "two words")])
    assert "longer than" not in capsys.readouterr().err


def test_mistakes_are_refused_when_the_collection_is_made(tmp_path) -> None:  # noqa: ANN001
    """A sparse embedder under a vector index and a folder of the user's files failed only at the first add or
    the save (after the embedding); a bad filter on an empty collection answered []."""
    from latentstack.errors import ConfigError

    with pytest.raises(ConfigError, match="the tfidf embedder gives sparse vectors, which the faiss index does not"):
        Collection.create(tmp_path / "sparse", embedder="tfidf")
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "todo.txt").write_text("mine")
    with pytest.raises(InputError, match="already holds files latentstack did not write"):
        Collection.create(notes, embedder="lsa")
    assert [p.name for p in notes.iterdir()] == ["todo.txt"]
    with pytest.raises(InputError, match="the filter is a str"):
        Collection.create(tmp_path / "empty", embedder="lsa").search("bread", where="lang=en")  # type: ignore[arg-type]


def test_a_heading_is_indexed_with_its_text_and_older_folders_keep_their_cut(tmp_path, tiny_bert_dir) -> None:  # noqa: ANN001
    """A heading was a passage of its own, so a search could answer with it and no text; a new collection joins
    it to its paragraph. A folder saved before min_chars existed goes on cutting at every blank line, so its
    documents and those added later are cut alike."""
    note = Document("note", "## Rising\n\nYeast gives off carbon dioxide, which the gluten traps as bubbles in the dough.")
    options = {"model": str(tiny_bert_dir), "show_progress": False}
    col = Collection.create(tmp_path / "new", embedder_options=options)
    col.add_documents([note])
    assert [c.text for c in col.store.all_chunks()] == [note.text]
    col.save()
    assert read_manifest(tmp_path / "new", kind="collection", plugin="core", version=2).data["chunking"]["min_chars"] == 100
    update_manifest(tmp_path / "new", lambda m: m["data"]["chunking"].pop("min_chars"))
    old = Collection.load(tmp_path / "new")
    old.add_documents([Document("other", note.text)])
    assert [c.text for c in old.store.all_chunks() if c.doc_id == "other"] == ["## Rising", note.text[11:]]


KEEPER = """
import json, sys
from latentstack.search import Collection, Document
from latentstack.storage import read_manifest
col = Collection.load(sys.argv[1])
col.remove_documents(["hund"])
col.add_documents([Document("cats", "Cats are small domesticated mammals that purr.", "Cats", {"year": 2022})])
col.save()
runtime = read_manifest(sys.argv[1], kind="collection", plugin="core", version=2).data["embedder"]["runtime"]
print(json.dumps(["transformers" in sys.modules, runtime]))
"""


def test_a_save_without_embedding_keeps_the_runtime_of_the_vectors(built, tmp_path) -> None:  # noqa: ANN001
    """A save recorded the runtime of the process saving as the one the vectors were embedded in, even when it
    embedded nothing: after an `index remove` on a CPU without bf16, an index embedded in bf16 said float32 (and
    queries were not told they ran in another dtype); it also loaded transformers to read the model's dimension.
    A save after embedding records the runtime that embedded."""
    import json
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(built[0], copy)
    elsewhere = {"dtype": "bfloat16", "reason": "embedded on another CPU"}
    update_manifest(copy, lambda m: m["data"]["embedder"].update(runtime=elsewhere))
    done = subprocess.run([sys.executable, "-c", KEEPER, str(copy)], capture_output=True, text=True, check=True,
                          env={**os.environ, "LATENTSTACK_QUIET": "1"})
    assert json.loads(done.stdout) == [False, elsewhere]
    col = Collection.load(copy)
    col.add_documents([Document("owls", "Owls hunt at night.", "Owls")])
    col.save()
    saved = read_manifest(copy, kind="collection", plugin="core", version=2).data["embedder"]
    assert saved["runtime"] == col.embedder.runtime_info() != elsewhere and saved["dim"] == 384
