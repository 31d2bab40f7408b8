"""HTML pages (saved web pages, a Sphinx or MkDocs build) indexed as their visible text."""

from __future__ import annotations

from pathlib import Path

from latentstack.search.html_text import html_text
from latentstack.search.sources import read_documents

PAGE = """<!DOCTYPE html>
<html><head><title>Bread &amp; yeast</title><style>p { color: red }</style>
<script>var shown = "<p>never</p>";</script><meta charset="utf-8">
<body><nav><a href="/">Home</a></nav>
<h1>Why dough rises</h1>
<p>Yeast   ferments<br>sugars into gas.</p>
<ul><li>warmth</li><li>time &lt; 2 h</li></ul>
<svg><text>drawing</text></svg><noscript>enable scripts</noscript>
<table><tr><td>flour</td><td>500 g</td></tr></table>
"""


def test_a_page_is_its_visible_text_a_paragraph_per_block() -> None:
    """HTML files in a folder were passed over (and a page given by itself indexed with its markup as words)."""
    text, title = html_text(PAGE)
    assert title == "Bread & yeast"
    assert text.split("\n\n") == ["Home", "Why dough rises", "Yeast ferments sugars into gas.", "warmth", "time < 2 h",
                                  "flour 500 g"]
    assert html_text("<p>No title</p><h1>First heading</h1><h1>Second</h1>") == (
        "No title\n\nFirst heading\n\nSecond", "First heading")
    assert html_text("<p>unclosed <b>bold") == ("unclosed bold", "")


def test_a_page_that_marks_its_content_is_that_content() -> None:
    """A documentation site's menu and footer, the same on every page, made every page match their words."""
    sphinx = ('<title>Bread</title><nav><ul><li>Home</li><li>Tides</li><li>Volcanoes</li></ul></nav>'
              '<div class="body" role="main"><div class="section"><h1>Bread</h1><p>Yeast ferments.</p></div>'
              '<p>More.</p></div><footer>Copyright and tides</footer>')
    assert html_text(sphinx) == ("Bread\n\nYeast ferments.\n\nMore.", "Bread")
    blog = "<header>Menu</header><main><p>first</p></main><aside>ads</aside><article><p>second</p></article>"
    assert html_text(blog)[0] == "first\n\nsecond"


def test_a_folder_of_pages_is_read(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "guide").mkdir(parents=True)
    (site / "guide" / "bread.html").write_text(PAGE, encoding="utf-8")
    (site / "index.htm").write_text("<p>Welcome.</p>", encoding="utf-8")
    docs = sorted(read_documents([site]), key=lambda d: d.id)
    assert [(Path(d.id).name, d.title) for d in docs] == [("bread.html", "Bread & yeast"), ("index.htm", "index")]
    assert "<" not in docs[0].text.replace("< 2", "") and "never" not in docs[0].text


def test_a_page_that_is_not_utf8_is_read_in_the_charset_it_declares(tmp_path: Path) -> None:
    """Pages saved from older sites (windows-1252, Shift_JIS) stopped the build as "not UTF-8" although each says its
    charset: the <meta> prescan reads them; a page mislabelled (or declaring nothing) is still one line."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "cafe.html").write_bytes('<html><head><meta charset="ISO-8859-1"><title>Café</title></head>'
                                     '<body><p>Crème brûlée – 3 €</p></body></html>'.encode("cp1252"))
    (site / "tokyo.htm").write_bytes('<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">'
                                     '<h1>東京の天気</h1><p>晴れ</p>'.encode("shift_jis"))
    docs = {Path(d.id).name: d for d in read_documents([site])}
    assert (docs["cafe.html"].title, docs["cafe.html"].text) == ("Café", "Crème brûlée – 3 €")
    assert docs["tokyo.htm"].text == "東京の天気\n\n晴れ"
    import pytest

    from latentstack.errors import InputError

    (site / "tokyo.htm").write_bytes('<meta charset="utf-8"><p>晴れ</p>'.encode("shift_jis"))
    with pytest.raises(InputError, match="tokyo.htm is not UTF-8"):
        list(read_documents([site / "tokyo.htm"]))
    (site / "tokyo.htm").write_bytes('<meta charset="windows-1252"><p>\x81\x8d</p>'.encode("latin1"))
    with pytest.raises(InputError, match="declares charset cp1252 but is not cp1252: give --encoding"):
        list(read_documents([site / "tokyo.htm"]))
    assert next(read_documents([site / "cafe.html"], encoding="latin1")).title == "Café"
