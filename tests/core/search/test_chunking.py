"""Chunking: whole, paragraphs, sentence windows, and the cap on chunk length."""

from __future__ import annotations

import pytest

from latentstack.search.chunking import ChunkConfig, chunk_text

TEXT = "First para one. First para two.\n\nSecond para. It has three. Sentences here.\n\n\n   \n\nThird."


def test_whole_and_paragraph() -> None:
    """whole keeps one chunk; paragraph (min_chars=0) splits at every blank line with exact spans."""
    assert len(chunk_text(TEXT, ChunkConfig(mode="whole"))) == 1
    paras = chunk_text(TEXT, ChunkConfig(mode="paragraph", min_chars=0))
    assert [c.text for c in paras] == ["First para one. First para two.", "Second para. It has three. Sentences here.", "Third."]
    assert all(TEXT[c.start : c.end].strip() == c.text for c in paras)


NOTE = """# Bread

## Why dough rises, and what the baker does about it when the kitchen is cold (the heading is long)

Yeast eats the sugars in flour and gives off carbon dioxide, which the gluten network traps as bubbles.

Steps:

- mix the flour, water, salt and yeast

- knead for ten minutes

- prove for an hour

```python
def bake(loaf):

    return loaf.crust
```

Thanks."""


def test_short_paragraphs_join_the_next() -> None:
    """Headings (however long), list items and lead-in lines join what follows; a fenced block is one piece; the
    last short one joins the one before; spans stay exact."""
    chunks = chunk_text(NOTE, ChunkConfig(mode="paragraph", min_chars=40))
    texts = [c.text for c in chunks]
    assert texts[0] == NOTE[: NOTE.index(" bubbles.") + len(" bubbles.")]  # both headings with their paragraph
    assert texts[1:3] == ["Steps:\n\n- mix the flour, water, salt and yeast",  # joined until 40 characters
                          "- knead for ten minutes\n\n- prove for an hour"]
    assert texts[3].startswith("```python") and texts[3].endswith("```\n\nThanks.")  # blank line kept inside
    assert all(NOTE[c.start : c.end].strip() == c.text for c in chunks)
    assert [c.position for c in chunks] == [0, 1, 2, 3]


def test_no_joining_at_zero_and_a_lone_short_document() -> None:
    """min_chars=0 keeps every paragraph (the fence still whole); a document of one short line is one chunk."""
    apart = [c.text for c in chunk_text(NOTE, ChunkConfig(mode="paragraph", min_chars=0))]
    assert apart[0] == "# Bread" and apart[1].startswith("## Why dough rises") and len(apart) == 9
    assert any(t.startswith("```python") and "return loaf.crust\n```" in t for t in apart)
    assert [c.text for c in chunk_text("Hi.", ChunkConfig(mode="paragraph"))] == ["Hi."]


def test_an_unclosed_fence_runs_to_the_end() -> None:
    """A fence never closed keeps the rest of the document together, as Markdown renders it."""
    text = "Intro paragraph that is long enough to stand alone here.\n\n```\ncode\n\nmore code"
    assert [c.text for c in chunk_text(text, ChunkConfig(mode="paragraph", min_chars=0))][1] == "```\ncode\n\nmore code"


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
