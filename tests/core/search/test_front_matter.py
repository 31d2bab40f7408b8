"""Markdown notes' YAML front matter (Obsidian, Jekyll, Hugo) as their documents' metadata and title."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from latentstack.metadata import matches
from latentstack.search.front_matter import heading_title, split_front_matter
from latentstack.search.sources import read_documents

from ...conftest import run_cli_session

NOTE = """---
title: Sourdough starter
tags: [baking, bread]
date: 2024-03-01
draft: false
links: {wiki: x}
empty:
---
# Feeding

Feed the starter flour and water every day.
"""


def test_a_notes_fields_are_its_metadata_and_its_body_the_text(tmp_path: Path) -> None:
    """The front matter was indexed as words ("tags: [baking, bread]") and its fields could not be filtered on. The
    note's path is its ``file``, unless its front matter has a field of that name."""
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "starter.md").write_text(NOTE, encoding="utf-8")
    (tmp_path / "notes" / "plain.markdown").write_text("---\nA rule opens this note.\n---\nBody.", encoding="utf-8")
    (tmp_path / "notes" / "own.md").write_text("---\nfile: archive/7\n---\nBody.", encoding="utf-8")
    starter, plain, own = sorted(read_documents([tmp_path / "notes"]), key=lambda d: d.id, reverse=True)
    assert starter.title == "Sourdough starter" and starter.text.startswith("# Feeding")
    assert dict(starter.metadata) == {"tags": ["baking", "bread"], "date": "2024-03-01", "draft": False,
                                      "file": str(tmp_path / "notes" / "starter.md")}
    assert plain.text.startswith("---\nA rule") and plain.title == "plain"
    assert dict(plain.metadata) == {"file": str(tmp_path / "notes" / "plain.markdown")}
    assert dict(own.metadata) == {"file": "archive/7"}
    assert matches(starter.metadata, {"tags": "bread"}) and not matches(starter.metadata, {"tags": {"$ne": "bread"}})
    assert matches(starter.metadata, {"date": {"$gte": "2024-01-01"}}) and not matches(starter.metadata, {"tags": "cake"})


def test_a_note_without_a_title_field_is_titled_by_the_heading_it_opens_with(tmp_path: Path) -> None:
    """A note without front matter was titled by its file name ("b") in every hit and citation, although it opened
    with "# Garden"; the heading stays in the text. A title field still wins, and a first line that is no level-1
    heading leaves the file name."""
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "b.md").write_text("\n# Garden\n\nThe tomatoes need water.\n", encoding="utf-8")
    (notes / "c.md").write_text("---\ntitle: Kept\n---\n# Heading\n\nText.\n", encoding="utf-8")
    (notes / "d.md").write_text("#garden is a tag\n\n# Later heading\n", encoding="utf-8")
    (notes / "e.md").write_text("---\ntags: [x]\n---\nHome Repairs\n============\n\nFix the tap.\n", encoding="utf-8")
    docs = {Path(d.id).name: d for d in read_documents([notes])}
    assert {name: d.title for name, d in docs.items()} == {"b.md": "Garden", "c.md": "Kept", "d.md": "d",
                                                            "e.md": "Home Repairs"}
    assert docs["b.md"].text.lstrip().startswith("# Garden")


@pytest.mark.parametrize(("body", "title"), [
    ("# Title #", "Title"), ("#   Spaced  \nx", "Spaced"), ("## Second level", None), ("#", None), ("# ", None),
    ("\r\n# After a blank line", "After a blank line"), ("Plain\n---", None), ("", None), ("Over\n===\n", "Over"),
    (" \t\n  \n# After blank lines holding spaces", "After blank lines holding spaces"),
    ("Over\x0c\n===", "Over"),
])
def test_heading_title(body: str, title: str | None) -> None:
    assert heading_title(body) == title


@pytest.mark.parametrize(("text", "fields", "body"), [
    ("---\r\ntitle: crlf\r\n...\r\nbody", {"title": "crlf"}, "body"),
    ("---\n---\nbody", {}, "body"),
    ("---\ntitle: never closed\nbody", {}, "---\ntitle: never closed\nbody"),
    ("---\ntitle: [unclosed\n---\nbody", {}, "---\ntitle: [unclosed\n---\nbody"),
    ("no front matter\n---\n", {}, "no front matter\n---\n"),
    ("---\n- a list\n---\nbody", {}, "---\n- a list\n---\nbody"),
])
def test_what_is_not_a_front_matter_mapping_leaves_the_note_as_it_is(text: str, fields: dict[str, object], body: str) -> None:
    assert split_front_matter(text, "note.md") == (fields, body)


@pytest.mark.slow
def test_search_a_folder_of_notes_by_their_fields(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "starter.md").write_text(NOTE, encoding="utf-8")
    (notes / "rye.md").write_text("---\ntags: bread\ndate: 2023-05-02\n---\nRye bread needs a long, slow rise.\n")
    (notes / "ski.md").write_text("---\ntags: [travel]\ndate: 2024-02-10\n---\nSkiing in the Alps in February.\n")
    i = str(tmp_path / "idx")
    build, recent, tagged = run_cli_session([
        ["-q", "index", "build", i, "--from", str(notes)],
        ["search", i, "bread", "--where", "date>=2024-01-01", "--json"],
        ["search", i, "bread", "--where", "tags=bread", "--documents", "--json"]])
    assert build.returncode == 0, build.stderr[-2000:]
    assert {h["doc_id"].rsplit("/", 1)[-1] for h in json.loads(recent.stdout)["hits"]} == {"starter.md", "ski.md"}
    hits = json.loads(tagged.stdout)["hits"]
    assert {h["doc_id"].rsplit("/", 1)[-1] for h in hits} == {"starter.md", "rye.md"}
    assert "Sourdough starter" in {h["title"] for h in hits}
