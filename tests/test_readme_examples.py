"""The README's Python API examples run as written, on the real packaged models, and print what they say."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT


def api_examples() -> list[str]:
    """The ```python blocks of the README's "The Python API" section, in order."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The Python API", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_the_section_has_the_three_examples() -> None:
    blocks = api_examples()
    assert len(blocks) == 3 and "get_embedder" in blocks[0] and "Collection.create" in blocks[1]
    assert "latentstack.ask" in blocks[2]


@pytest.mark.slow
def test_python_api_examples_run(tmp_path: Path) -> None:
    """All three in one process, in a fresh folder: the search example builds the index the RAG one asks."""
    script = "\n".join(api_examples())
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.splitlines()
    assert lines[0] == "(2, 384) float32"
    assert 0.3 < float(lines[1]) < 1.0  # guitar vs instrument: related, not identical
    assert lines[2].startswith("paris ") and "capital of France" in lines[2]
    assert "Paris" in lines[3]  # the generator's answer
    assert lines[4].strip() == "1, 2, 3,"  # the stream ended at the stop string, which is not shown
    assert "Paris" in lines[5] and "(1, 'paris')" in lines[5]  # the RAG answer cites the passage
    assert (tmp_path / "my-index" / "manifest.json").exists()
