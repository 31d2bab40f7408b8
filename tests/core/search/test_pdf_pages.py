"""PDF files indexed a page each (pypdf, the pdf extra), as LlamaIndex's PDF reader reads them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from latentstack.errors import InputError
from latentstack.search.sources import read_documents

from ...conftest import run_cli_session
from ..conftest_helpers import write_pdf

PAGES = ["Bread dough rises because yeast ferments sugars.", "", "Tides follow the pull of the moon."]


def test_a_pdf_is_a_document_per_page_with_text(tmp_path: Path) -> None:
    """A PDF in a folder was passed over ("convert PDFs to text first"), and given by itself refused."""
    (tmp_path / "docs").mkdir()
    write_pdf(tmp_path / "docs" / "science.pdf", PAGES, title="Kitchen science")
    docs = list(read_documents([tmp_path / "docs"]))
    assert [(Path(d.id).name, d.title, d.text) for d in docs] == [
        ("science.pdf#page=1", "Kitchen science, page 1", PAGES[0]), ("science.pdf#page=3", "Kitchen science, page 3", PAGES[2])]
    assert dict(docs[1].metadata) == {"file": str(tmp_path / "docs" / "science.pdf"), "page": 3}
    untitled = write_pdf(tmp_path / "untitled.pdf", ["one page"])
    assert [d.title for d in read_documents([untitled])] == ["untitled, page 1"]


def test_a_pdf_that_cannot_be_read_stops_only_when_named(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LATENTSTACK_QUIET", raising=False)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.md").write_text("bread rises", encoding="utf-8")
    (tmp_path / "docs" / "cut.pdf").write_bytes(write_pdf(tmp_path / "whole.pdf", PAGES).read_bytes()[:150])
    write_pdf(tmp_path / "docs" / "scan.pdf", ["", ""])
    assert [Path(d.id).name for d in read_documents([tmp_path / "docs"])] == ["notes.md"]
    said = capsys.readouterr().err
    assert "passed over " in said and "cut.pdf is not a readable PDF" in said
    assert "scan.pdf: no page holds text (a scan without a text layer?); OCR it first" in said
    with pytest.raises(InputError, match=r"cut.pdf is not a readable PDF \("):
        list(read_documents([tmp_path / "docs" / "cut.pdf"]))


@pytest.mark.slow
def test_search_finds_the_page(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    write_pdf(tmp_path / "docs" / "science.pdf", PAGES, title="Kitchen science")
    (tmp_path / "docs" / "other.md").write_text("Volcanoes erupt molten lava.", encoding="utf-8")
    i = str(tmp_path / "idx")
    build, hit, paged = run_cli_session([["-q", "index", "build", i, "--from", str(tmp_path / "docs")],
                                         ["search", i, "why does dough rise", "-k", "1", "--json"],
                                         ["search", i, "moon", "--where", "page>=2", "--json"]])
    assert build.returncode == 0, build.stderr[-2000:]
    first = json.loads(hit.stdout)["hits"][0]
    assert first["doc_id"].endswith("science.pdf#page=1") and first["title"] == "Kitchen science, page 1"
    assert [h["doc_id"].rsplit("/", 1)[-1] for h in json.loads(paged.stdout)["hits"]] == ["science.pdf#page=3"]
