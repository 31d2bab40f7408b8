"""The README's Python API examples run as written, on the real packaged models, and print what they say."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT, run_cli_session


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
    assert json.loads(lines[5]) == {"city": "Paris"}  # the answer held to the JSON schema
    assert "Paris" in lines[6] and "(1, 'paris')" in lines[6]  # the RAG answer cites the passage
    assert (tmp_path / "my-index" / "manifest.json").exists()


def cli_examples() -> list[str]:
    """The ``latentstack ...`` lines of the ```bash blocks of the README's "The command line" section."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The command line", 1)[1].split("\n## ", 1)[0]
    lines = [ln for block in re.findall(r"```bash\n(.*?)```", section, flags=re.S) for ln in block.splitlines()]
    return [ln.split("  #")[0].strip() for ln in lines if ln.startswith("latentstack ")]


def test_the_cli_tour_covers_every_group() -> None:
    """The tour shows plugins, models, embed, index, search, classify, generate and ask."""
    firsts = {line.split()[1] for line in cli_examples()}
    assert {"plugins", "models", "embed", "index", "search", "classify", "generate", "ask"} <= firsts


@pytest.mark.slow
def test_cli_tour_runs_as_written(tmp_path: Path) -> None:
    """Every command of the tour, in order, in a fresh folder beside the repository's benchmarks/ data (one
    process runs them all, each parsed from its own command line, so the imports are paid once)."""
    (tmp_path / "benchmarks").symlink_to(ROOT / "benchmarks")
    (tmp_path / "texts.txt").write_text("A man is playing a guitar.\nSomeone plays an instrument.\n")
    lines = cli_examples()
    done = run_cli_session([["-q", *shlex.split(line)[1:]] for line in lines], cwd=tmp_path,
                           env={"LATENTSTACK_QUIET": "1"})
    outputs = {}
    for line, result in zip(lines, done, strict=True):
        assert result.returncode == 0, f"{line}\n{result.stderr[-2000:]}"
        outputs[line] = result.stdout
    by_start = {line.split(" --")[0]: out for line, out in outputs.items()}
    vectors = [json.loads(row) for row in by_start['latentstack embed "A man is playing a guitar." '
                                                  '"Someone plays an instrument."'].splitlines()]
    assert len(vectors) == 2 and len(vectors[0]) == 384
    assert (tmp_path / "vectors.npy").exists()
    assert (tmp_path / "my-minilm" / "modules.json").exists() and "tuned model saved" in by_start[
        "latentstack adapt embedder benchmarks/demo-docs/pairs.jsonl"]
    hits = json.loads(outputs['latentstack search docs-index "bread yeast" --dense-only --json'])["hits"]
    assert hits and "bread" in hits[0]["text"].lower()
    assert all(-1.0 <= hit["score"] <= 1.0 for hit in hits)  # cosines: the dense ranking, not a fused score
    assert by_start["latentstack index repair docs-index"].split() == ["embedder:", "ok", "dense:", "ok", "lexical:", "ok"]
    alike = outputs["latentstack search docs-index --like volcano -k 2"]
    assert alike.startswith(" 1. [") and "volcano" not in alike.split("\n")[0]  # the others, never itself
    predicted = outputs['latentstack classify predict spam-clf "WINNER! Claim your prize now" "see you at lunch"']
    assert [row.split("\t")[0] for row in predicted.splitlines()] == ["spam", "ham"]
    assert "macro_f1" in by_start["latentstack classify eval spam-clf"]
    assert "Sources:" in outputs['latentstack ask docs-index "Why does bread dough rise?" -k 2']
    assert "Sources:" in outputs['latentstack ask docs-index "Why does bread dough rise?" -k 2 --generator onnx']
