"""`latentstack index build/add/remove/info` and `latentstack search` on real files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ..conftest import run_cli, run_cli_session

pytestmark = pytest.mark.slow


def test_build_search_remove_cycle(tmp_path) -> None:  # noqa: ANN001
    """Build from a folder and JSONL, search with --where and --json, remove, add, info."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "volcano.txt").write_text("Volcanoes erupt molten lava from deep inside the earth.")
    (docs / "empty.md").write_text("")
    (tmp_path / "more.jsonl").write_text(
        json.dumps({"id": "bake", "text": "Bread is baked in a hot oven.", "topic": "food"}) + "\n"
        + json.dumps({"id": "cake", "text": "A sponge cake needs eggs, flour and sugar.", "topic": "food"}) + "\n"
        + json.dumps({"id": "orbit", "text": "The moon orbits the earth every month.", "topic": "space"}) + "\n")
    i = str(tmp_path / "idx")
    out, dessert, space, bad, empty, unfused, removed, again, after, info, unspace, badop = run_cli_session([
        ["-q", "index", "build", i, "--from", str(docs), "--from", str(tmp_path / "more.jsonl")],
        ["search", i, "how do I make a dessert", "-k", "2", "--json"],
        ["search", i, "earth", "--where", "topic=space", "--hybrid", "--json"],
        ["search", i, "earth", "--where", "colour=red"],
        ["search", i, ""],
        ["search", i, "earth", "--dense-only", "--fusion", "rrf"],
        ["index", "remove", i, "cake"],
        ["index", "remove", i, "cake", "no-such-id"],
        ["search", i, "dessert cake", "--json"],
        ["index", "info", i],
        ["search", i, "earth", "--where", "topic!=space", "--json"],  # comparisons: the file without a topic is out
        ["search", i, "earth", "--where", "topic=>space"],
    ])
    assert "indexed 4 documents" in out.stdout and "skipped 1 empty" in out.stdout and "Flat" in out.stdout
    for ok in (out, dessert, space, removed, again, after, info):
        assert ok.returncode == 0, (ok.args, ok.stderr[-2000:])
    assert json.loads(dessert.stdout)["hits"][0]["doc_id"] == "cake"
    assert [h["doc_id"] for h in json.loads(space.stdout)["hits"]] == ["orbit"]

    assert bad.returncode != 0 and "unknown metadata key" in bad.stderr and "Traceback" not in bad.stderr
    assert empty.returncode != 0 and "empty" in empty.stderr
    assert unfused.returncode == 2 and "with --dense-only there is one ranking" in unfused.stderr  # it was ignored

    assert removed.stdout.strip() == "removed 1 of 1 documents"
    assert again.stdout.strip() == "removed 0 of 2 documents; not in the index: cake, no-such-id"
    assert "cake" not in [h["doc_id"] for h in json.loads(after.stdout)["hits"]]

    info_json = json.loads(info.stdout)
    assert info_json["live"]["documents"] == 3 and info_json["metadata_keys"] == ["file", "topic"]
    assert unspace.returncode == 0 and {h["doc_id"] for h in json.loads(unspace.stdout)["hits"]} == {"bake"}
    assert badop.returncode != 0 and "=> is not a comparison; write topic>=space" in badop.stderr  # no hits, before


def test_commands_read_only_the_parts_of_an_index_they_use(tmp_path, tiny_bert_dir) -> None:  # noqa: ANN001
    """`index info` and `index export` read the documents alone, and a dense search (`--dense-only`, `--like`) no
    lexical index: with both index files damaged, info and export still answer (export is how an index is rebuilt),
    a dense search with its vector index whole too; a hybrid search says the folder is corrupt."""
    i = str(tmp_path / "idx")
    docs = tmp_path / "docs.jsonl"
    docs.write_text("".join(json.dumps({"id": f"d{n}", "text": t}) + "\n" for n, t in enumerate(
        ["Volcanoes erupt lava.", "Bread is baked in an oven.", "The moon orbits the earth."])))
    run_cli("-q", "index", "build", i, "--from", str(docs), "--model", str(tiny_bert_dir), check=True)
    items = tmp_path / "idx" / "lexical" / "items.jsonl"
    items.write_bytes(items.read_bytes()[:20])
    dense, like, hybrid = run_cli_session([["search", i, "bread", "--dense-only", "--json"],
                                           ["search", i, "--like", "d1", "--json"], ["search", i, "bread"]])
    assert dense.returncode == like.returncode == 0, dense.stderr
    assert len(json.loads(dense.stdout)["hits"]) == 3 and len(json.loads(like.stdout)["hits"]) == 2
    assert hybrid.returncode == 1 and "truncated or corrupt" in hybrid.stderr
    vectors = tmp_path / "idx" / "dense" / "index.faiss"
    vectors.write_bytes(vectors.read_bytes()[:20])
    info, exported = run_cli_session([["index", "info", i], ["index", "export", i]])
    assert info.returncode == 0 and json.loads(info.stdout)["live"]["documents"] == 3
    assert [json.loads(line)["id"] for line in exported.stdout.splitlines()] == ["d0", "d1", "d2"]


def test_build_errors_are_one_line(tmp_path) -> None:  # noqa: ANN001
    """An empty corpus and a non-UTF-8 file are clear errors, and no index is left behind."""
    empty = tmp_path / "empty"
    empty.mkdir()
    out = run_cli("index", "build", str(tmp_path / "i"), "--from", str(empty))
    assert out.returncode != 0 and "no documents found" in out.stderr
    latin = tmp_path / "latin.txt"
    latin.write_bytes("na\xefve".encode("latin-1"))
    out = run_cli("index", "build", str(tmp_path / "i"), "--from", str(latin))
    assert out.returncode != 0 and "not UTF-8" in out.stderr
    assert not (tmp_path / "i").exists()
    out = run_cli("index", "build", str(tmp_path / "i"), "--from", str(latin), "--embedder", "nope")
    assert out.returncode != 0
    cut = tmp_path / "cut.jsonl"  # an emoji cut in two before it was written as JSON: SQLite's traceback before
    cut.write_text('{"id": "a", "text": "fine"}\n{"id": "b", "text": "broken \\ud83d here"}\n', encoding="utf-8")
    out = run_cli("index", "build", str(tmp_path / "i"), "--from", str(cut))
    assert out.returncode != 0 and "cut.jsonl:2: a string holds U+D83D" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "i").exists()


def test_search_without_a_query_reads_one_per_line(tmp_path: Path, tiny_bert_dir: Path) -> None:
    """`search DIR` without QUERY was "Missing argument"; it searches each line of standard input in turn, the index
    loaded once, a line that is not text said and skipped. `index build/add --from -` read JSONL piped in."""

    docs = tmp_path / "docs.jsonl"
    docs.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in
                            (("bake", "bread is baked in an oven"), ("orbit", "the moon orbits the earth"))))
    built = run_cli("-q", "index", "build", str(tmp_path / "i"), "--from", "-", "--model", str(tiny_bert_dir),
                    stdin=docs.read_bytes())  # JSONL piped in ("'-' does not exist" before)
    assert built.returncode == 0 and "indexed 2 documents" in built.stdout, built.stderr[-2000:]
    bad = run_cli("index", "add", str(tmp_path / "i"), "--from", "-", stdin=b'{"id": "x", "text": "fine"}\nnot json\n')
    assert bad.returncode == 1 and "standard input:2: not valid JSON" in bad.stderr
    out = run_cli("-q", "search", str(tmp_path / "i"), "--top-k", "1", "--json", stdin=b"bread oven\n\n\xff\nmoon earth\n")
    assert out.returncode == 0, out.stderr[-2000:]
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(r["query"], r["hits"][0]["doc_id"]) for r in rows] == [("bread oven", "bake"), ("moon earth", "orbit")]
    assert "that line is not UTF-8" in out.stderr
    assert all(len(r["hits"]) == 1 for r in rows)  # --top-k, the name other tools give -k ("No such option" before)


def test_export_gives_the_documents_back_to_rebuild_from(tmp_path: Path, tiny_bert_dir: Path) -> None:
    """An index's documents could not be got back out of it: `index export` writes them as JSONL that `index build
    --from` reads, so the rebuilt index holds the same documents."""
    from latentstack.search import Collection

    docs = tmp_path / "docs.jsonl"
    docs.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in (
        {"id": "b", "title": "Bread", "text": "Bread rises.\n\nYeast makes gas.", "lang": "en", "year": 2020},
        {"id": "a", "text": "Café au lait", "metadata": {"lang": "fr", "tags": ["x", "y"]}})), encoding="utf-8")
    mine = tmp_path / "notes.txt"
    mine.write_text("my own notes")
    first, second = str(tmp_path / "one"), str(tmp_path / "two")
    out = str(tmp_path / "export.jsonl")
    built, exported, refused, rebuilt, some = run_cli_session([
        ["-q", "index", "build", first, "--from", str(docs), "--model", str(tiny_bert_dir)],
        ["index", "export", first, "--out", out],
        ["index", "export", first, "--out", str(mine)],
        ["-q", "index", "build", second, "--from", out, "--model", str(tiny_bert_dir)],
        ["index", "export", second, "a", "missing"],
    ])
    for ok in (built, exported, rebuilt, some):
        assert ok.returncode == 0, ok.stderr[-2000:]
    assert exported.stdout.strip() == f"exported 2 documents to {out}"
    assert refused.returncode == 1 and "does not hold documents" in refused.stderr and mine.read_text() == "my own notes"
    assert list(Collection.load(first).documents()) == list(Collection.load(second).documents())
    assert [d.id for d in Collection.load(second).documents()] == ["b", "a"]
    assert [json.loads(line)["metadata"] for line in some.stdout.splitlines()] == [{"lang": "fr", "tags": ["x", "y"]}]


def test_files_in_another_encoding_are_indexed_embedded_and_labeled_with_encoding(tmp_path: Path,
                                                                                     tiny_bert_dir: Path) -> None:
    """A folder of latin1 notes (and a latin1 CSV) was 'not UTF-8' with only an iconv recipe per file: --encoding
    reads every file of index build/add, embed --from and classify predict --from that is not UTF-8 (a UTF-8 note
    beside them keeps its accents); the error names it."""
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "cafe.txt").write_bytes("Café crème brûlée".encode("latin1"))
    (notes / "utf8.txt").write_text("Déjà vu in UTF-8", encoding="utf-8")
    (tmp_path / "more.csv").write_bytes("id,text\nn1,Naïve résumé\n".encode("latin1"))
    model, idx = str(tiny_bert_dir), str(tmp_path / "idx")
    utf8 = tmp_path / "more-utf8.csv"
    utf8.write_text("id,text\nn1,Naïve résumé\n", encoding="utf-8")
    refused, built, added, exported, latin, plain, misplaced = run_cli_session([  # one process: the imports once
        ["-q", "index", "build", idx, "--from", str(notes), "--model", model],
        ["-q", "index", "build", idx, "--from", str(notes), "--model", model, "--encoding", "latin1"],
        ["-q", "index", "add", idx, "--from", str(tmp_path / "more.csv"), "--encoding", "cp1252"],
        ["-q", "index", "export", idx],
        ["-q", "embed", "--from", str(tmp_path / "more.csv"), "--encoding", "latin1", "--model", model],
        ["-q", "embed", "--from", str(utf8), "--model", model],
        ["-q", "embed", "some text", "--encoding", "latin1", "--model", model]])
    assert refused.returncode == 1 and "cafe.txt is not UTF-8" in refused.stderr
    assert "give --encoding latin1" in refused.stderr
    assert built.returncode == added.returncode == exported.returncode == latin.returncode == 0, added.stderr
    docs = [json.loads(line) for line in exported.stdout.splitlines()]
    assert sorted(d["text"].strip() for d in docs) == ["Café crème brûlée", "Déjà vu in UTF-8", "Naïve résumé"]
    assert latin.stdout == plain.stdout
    assert misplaced.returncode == 2 and "--encoding is about the file given with --from" in misplaced.stderr


def test_a_folder_of_notes_is_kept_in_step_with_its_index(tmp_path: Path) -> None:
    """`index add --from notes` again embeds only the changed and new notes (a note whose front matter alone
    changed takes its fields without being embedded again), and --prune removes the notes deleted from the folder
    (they were found by every search until the index was built again). A note's path is its `file`."""
    notes = tmp_path / "notes"
    notes.mkdir()
    for name, text in (("bread", "Bread dough rises in a warm kitchen."), ("tides", "The moon pulls the tides."),
                       ("lava", "Volcanoes erupt molten lava.")):
        (notes / f"{name}.md").write_text(text)
    i = str(tmp_path / "idx")
    build = run_cli("-q", "index", "build", i, "--from", str(notes))
    assert build.returncode == 0, build.stderr[-2000:]
    (notes / "tides.md").write_text("Tides follow the moon and the sun.")
    (notes / "bread.md").write_text("---\ntags: [baking]\n---\nBread dough rises in a warm kitchen.")
    (notes / "lava.md").unlink()
    (notes / "snow.md").write_text("Snow falls on the mountains in winter.")
    again, pruned, lava, info, refused, baking, one_file, pattern = run_cli_session([
        ["index", "add", i, "--from", str(notes)],
        ["index", "add", i, "--from", str(notes), "--prune"],
        ["search", i, "volcano eruption", "--json"],
        ["index", "info", i],
        ["index", "add", i, "--from", str(notes / "snow.md"), "--prune"],
        ["search", i, "kitchen", "--where", "tags=baking", "--json"],
        ["search", i, "winter weather", "--where", f"file={notes / 'tides.md'}", "--json"],
        ["search", i, "food and weather", "--where", f"file~{notes}/[bs]*", "--json"]])
    assert again.stdout.strip() == ("added 2 documents (2 chunks, 1 replaced; 0 unchanged, left as they were; 1 with "
                                    "a new title or metadata only, not embedded again)")
    assert [h["doc_id"] for h in json.loads(baking.stdout)["hits"]] == [str(notes / "bread.md")]
    assert [h["doc_id"] for h in json.loads(one_file.stdout)["hits"]] == [str(notes / "tides.md")]
    assert {h["doc_id"] for h in json.loads(pattern.stdout)["hits"]} == {str(notes / "bread.md"), str(notes / "snow.md")}
    assert pruned.stdout.strip() == ("added 0 documents (0 chunks, 0 replaced; 3 unchanged, left as they were; "
                                     "removed 1 whose files are gone)")
    assert "lava.md" not in lava.stdout and json.loads(info.stdout)["live"]["documents"] == 3
    assert refused.returncode == 2 and "snow.md is no folder" in refused.stderr


def test_prune_takes_only_ids_shaped_as_the_folders_files() -> None:
    """`--from . --prune` would have taken every relative id for a vanished file, a JSONL record's too."""
    from latentstack.cli.index_cmd import _gone

    stored = ["notes/a.md", "notes/b.md", "notes/sub/c.txt", "notes/r.pdf#page=2", "other/d.md", "doc-1", "e.md"]
    assert _gone(stored, ["notes"], {"notes/a.md"}) == ["notes/b.md", "notes/sub/c.txt", "notes/r.pdf#page=2"]
    assert _gone(stored, ["."], {"e.md"}) == ["notes/a.md", "notes/b.md", "notes/sub/c.txt", "notes/r.pdf#page=2",
                                              "other/d.md"]


def test_the_lexical_index_takes_its_options_from_the_command_line(tmp_path: Path) -> None:
    """French documents got BM25's English stemmer and stop words: only Python's lexical_options could change them."""
    docs = tmp_path / "fr"
    docs.mkdir()
    (docs / "a.txt").write_text("Les chanteuses du port chantent le soir.", encoding="utf-8")
    i = str(tmp_path / "idx")
    built, info, bad, clash = run_cli_session([
        ["-q", "index", "build", i, "--from", str(docs), "--lexical-option", "stemmer=french",
         "--lexical-option", "stopwords=fr"],
        ["index", "info", i],
        ["-q", "index", "build", str(tmp_path / "j"), "--from", str(docs), "--lexical-option", "stemmer=klingon"],
        ["-q", "index", "build", str(tmp_path / "k"), "--from", str(docs), "--no-lexical", "--lexical-option", "b=0.5"]])
    assert built.returncode == 0, built.stderr[-2000:]
    options = json.loads(info.stdout)["lexical"]["options"]
    assert (options["stemmer"], options["stopwords"]) == ("french", "fr")
    assert bad.returncode != 0 and "'stemmer' is a Snowball stemmer" in bad.stderr and "got 'klingon'" in bad.stderr
    assert clash.returncode == 2 and "--lexical-option applies to a lexical index" in clash.stderr


def test_sources_after_the_folder_as_a_shell_expands_a_glob(tmp_path, tiny_bert_dir) -> None:  # noqa: ANN001
    """`index build idx --from docs/*.md` reached the command as `--from docs/a.md docs/b.md` and failed on the
    second file ("unexpected extra argument"); `index build idx docs.csv` said only that --from was missing. Sources
    after the folder are read as --from's are."""
    for name, text in (("a.md", "cats purr softly"), ("b.md", "dogs bark loudly"), ("c.md", "fish swim silently")):
        (tmp_path / name).write_text(text, encoding="utf-8")
    i, model = str(tmp_path / "idx"), ["--model", str(tiny_bert_dir)]
    built, added, info, none = run_cli_session([
        ["-q", "index", "build", i, "--from", str(tmp_path / "a.md"), str(tmp_path / "b.md"), *model],
        ["-q", "index", "add", i, str(tmp_path / "c.md")],
        ["index", "info", i],
        ["index", "build", str(tmp_path / "other"), *model],
    ])
    assert built.returncode == added.returncode == 0, built.stderr + added.stderr
    assert "indexed 2 documents" in built.stdout and json.loads(info.stdout)["counts"]["documents"] == 3
    assert none.returncode == 2 and "give the documents to index after the folder, or with --from" in none.stderr


def test_export_and_remove_by_metadata(tmp_path, tiny_bert_dir) -> None:  # noqa: ANN001
    """`index remove --where source=old` and `index export --where`, as Chroma's delete(where=...) and get(where=...)
    are used: a folder's stale documents gone in one command, a subset exported."""
    rows = [{"id": f"d{i}", "text": f"passage number {i} about topic {i % 3}", "source": f"f{i % 3}.pdf", "n": i}
            for i in range(9)]
    (tmp_path / "docs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    i = str(tmp_path / "idx")
    _, unmatched, exported, removed, info, both, neither, typo = run_cli_session([
        ["-q", "index", "build", i, str(tmp_path / "docs.jsonl"), "--model", str(tiny_bert_dir)],
        ["-q", "search", i, "passage", "--where", "source=F1.pdf", "--json"],
        ["index", "export", i, "--where", "source=f1.pdf", "--where", "n>=4"],
        ["index", "remove", i, "--where", "source=f0.pdf"],
        ["index", "info", i],
        ["index", "remove", i, "d1", "--where", "source=f1.pdf"],
        ["index", "remove", i],
        ["index", "remove", i, "--where", "sorce=f1.pdf"],
    ])
    said = 'no document\'s source meets "F1.pdf"; its values: f0.pdf, f1.pdf, f2.pdf'
    assert said in unmatched.stderr and json.loads(unmatched.stdout) == {"query": "passage", "hits": [], "no_match": said}
    many = run_cli("-q", "search", i, "--where", "source=F1.pdf", stdin="passage one\npassage two\n")
    assert many.returncode == 0 and many.stderr.count(said[:40]) == 1 and many.stdout.count("no hits") == 2
    assert [json.loads(line)["id"] for line in exported.stdout.splitlines()] == ["d4", "d7"]
    assert removed.returncode == 0 and "removed 3 of 3 documents (matching source=f0.pdf)" in removed.stdout
    assert json.loads(info.stdout)["counts"]["documents"] == 6
    assert json.loads(info.stdout)["metadata"]["source"] == {"documents": 6, "distinct": 2,
                                                             "values": {"f1.pdf": 3, "f2.pdf": 3}}
    assert both.returncode == neither.returncode == 2 and "by id or by --where, not both" in both.stderr
    assert "their ids, or --where key=value" in neither.stderr
    assert typo.returncode != 0 and "unknown metadata key(s) 'sorce'" in typo.stderr


def test_short_paragraphs_join_the_next_and_min_chars_sets_it(tmp_path, tiny_bert_dir) -> None:  # noqa: ANN001
    """A Markdown heading and an HTML page's list items were each a passage; they now join what follows.
    `--min-chars 0` cuts at every paragraph as before; with `--chunk sentences` it is a usage error."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "bread.md").write_text("# Bread\n\n## Rising\n\nYeast gives off carbon dioxide, which the gluten traps "
                                   "as bubbles.\n\n```sh\nbake --slow\n\nbake --fast\n```\n", encoding="utf-8")
    (docs / "steps.html").write_text("<html><body><h1>Steps</h1><ul><li>mix</li><li>knead</li><li>prove</li></ul>"
                                     "<p>Then bake the loaf for forty minutes in a hot oven.</p></body></html>")
    model = ["--model", str(tiny_bert_dir)]
    joined, apart, wrong = run_cli_session([
        ["-q", "index", "build", str(tmp_path / "i"), str(docs), *model],
        ["-q", "index", "build", str(tmp_path / "j"), str(docs), "--min-chars", "0", *model],
        ["index", "build", str(tmp_path / "k"), str(docs), "--chunk", "sentences", "--min-chars", "5", *model]])
    assert joined.returncode == apart.returncode == 0, joined.stderr + apart.stderr
    assert "as 2 chunks" in joined.stdout and "as 9 chunks" in apart.stdout  # one a file; 3 + the code block, 5
    assert wrong.returncode == 2 and "--min-chars applies to --chunk paragraph only" in wrong.stderr
