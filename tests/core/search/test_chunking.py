"""Chunking: whole, paragraphs, sentence windows, and the cap on chunk length."""

from __future__ import annotations

import pytest

from latentstack.search.chunking import ChunkConfig, chunk_text

TEXT = "First para one. First para two.\n\nSecond para. It has three. Sentences here.\n\n\n   \n\nThird."


def test_whole_and_paragraph() -> None:
    """whole keeps one chunk; paragraph splits at blank lines with exact spans."""
    assert len(chunk_text(TEXT, ChunkConfig(mode="whole"))) == 1
    paras = chunk_text(TEXT, ChunkConfig(mode="paragraph"))
    assert [c.text for c in paras] == ["First para one. First para two.", "Second para. It has three. Sentences here.", "Third."]
    assert all(TEXT[c.start : c.end].strip() == c.text for c in paras)


def test_sentence_windows_overlap() -> None:
    """Windows of 2 sentences overlapping by 1 step one sentence at a time."""
    chunks = chunk_text(TEXT, ChunkConfig(mode="sentences", window=2, overlap=1))
    assert chunks[0].text == "First para one. First para two."
    assert chunks[1].text.startswith("First para two.") and "Second para." in chunks[1].text
    assert [c.position for c in chunks] == list(range(len(chunks)))


def test_empty_document_gives_no_chunks() -> None:
    """A blank document has no chunks (the collection skips and reports it)."""
    assert chunk_text("  \n\n ") == []


def test_huge_document_is_capped() -> None:
    """A 1 MB single paragraph becomes many chunks of at most max_chars."""
    text = ("This is a sentence of moderate length. " * 30000)[:1_000_000]
    chunks = chunk_text(text, ChunkConfig(mode="paragraph", max_chars=2000))
    assert len(chunks) >= 500
    assert max(len(c.text) for c in chunks) <= 2000
    assert sum(len(c.text) for c in chunks) >= 0.95 * len(text.strip())


def test_overlap_must_be_smaller_than_window() -> None:
    """An overlap as large as the window is refused."""
    with pytest.raises(ValueError, match="overlap"):
        ChunkConfig(mode="sentences", window=2, overlap=2)
