"""A plugin the core has never heard of supplies the Embedder, the Index and the Generator of a whole RAG flow.

The example plugin (examples/latentstack-hello) is installed only through a dist-info with
a ``latentstack`` entry point, and the built-in faiss, bert and llm plugins are disabled:
a collection built on the third-party roles saves, loads, searches dense and hybrid, and
answers ``latentstack.ask(..., generator=...)`` with citations, from Python and the CLI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ..conftest import ROOT, run_cli, write_fake_dist

EXAMPLE = ROOT / "examples" / "latentstack-hello"
DISABLE = {"LATENTSTACK_DISABLE": "faiss,bert,llm"}
DOCS = [
    {"id": "tides", "text": "Tides are caused by the gravity of the moon. The sun adds a smaller pull."},
    {"id": "bread", "text": "Bread dough rises because yeast makes carbon dioxide. Warmth speeds it up."},
    {"id": "rivers", "text": "The Nile and the Amazon are the longest rivers on Earth."},
]
SCRIPT = textwrap.dedent('''
    import json, sys
    import latentstack
    from latentstack.errors import UnknownNameError
    from latentstack.search import Collection, Document

    for role, name in (("index", "faiss"), ("embedder", "bert"), ("generator", "llm")):
        try:
            latentstack.get_registry().get_class(role, name)
            sys.exit(f"{name} should be disabled")
        except UnknownNameError:
            pass
    docs = [Document(d["id"], d["text"]) for d in json.loads(sys.argv[1])]
    col = Collection.create("idx", embedder="hello-hash", embedder_options={"dim": 256}, index="hello-flat")
    col.add_documents(docs)
    col.save()
    col = Collection.load("idx")
    out = {
        "dense": [h.doc_id for h in col.search("what causes the tides of the moon", k=2, hybrid=False)],
        "hybrid": [h.doc_id for h in col.search("yeast dough carbon dioxide", k=2, hybrid=True)],
        "index": type(col.dense).__module__,
        "lexical": type(col.lexical).__module__,
        "embedder": type(col.embedder).__module__,
    }
    answer = latentstack.ask("idx", "Why does bread dough rise?", k=2, generator="hello-extract")
    out["answer"], out["reply"] = answer.answer, answer.reply
    out["citations"] = [c.doc_id for c in answer.citations]
    declined = latentstack.ask("idx", "Why does bread dough rise?", k=2, min_score=1.01, generator="hello-extract")
    out["declined"] = [declined.relevant, declined.citations]
    print(json.dumps(out))
''')


@pytest.fixture
def site(tmp_path: Path) -> list[Path]:
    """The example package and a fake dist-info that declares its entry point."""
    return [write_fake_dist(tmp_path / "site", "latentstack-hello", {"hello": "latentstack_hello"}), EXAMPLE]


def test_python_api_runs_on_third_party_roles_alone(tmp_path: Path, site: list[Path]) -> None:
    """Save, load, dense and hybrid search, and a cited answer, with faiss, bert and llm disabled."""
    script = tmp_path / "flow.py"
    script.write_text(SCRIPT)
    env = {**os.environ, **DISABLE, "PYTHONPATH": os.pathsep.join(map(str, [*site, os.environ.get("PYTHONPATH", "")]))}
    done = subprocess.run([sys.executable, str(script), json.dumps(DOCS)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout)
    assert out["index"] == "latentstack_hello.index" and out["embedder"] == "latentstack_hello.embedder"
    assert out["lexical"] == "latentstack_bm25.index"  # hybrid really fused with the lexical index
    assert out["dense"][0] == "tides" and out["hybrid"][0] == "bread"
    assert out["citations"] == ["bread"] and "yeast" in out["answer"] and "[1]" in out["reply"]
    assert out["declined"] == [False, []]  # min_score above any cosine: "I don't know", the model not asked


def test_cli_builds_searches_and_asks_with_third_party_roles(tmp_path: Path, site: list[Path]) -> None:
    """The CLI reaches the same plugins by name: index build, search --hybrid, ask --generator."""
    docs = tmp_path / "docs.jsonl"
    docs.write_text("".join(json.dumps(d) + "\n" for d in DOCS))
    idx = str(tmp_path / "cli-idx")
    built = run_cli("-q", "index", "build", idx, "--from", str(docs), "--embedder", "hello-hash", "-o", "dim=256",
                    "--index", "hello-flat", env=DISABLE, pythonpath=site)
    assert built.returncode == 0, built.stderr
    assert "hello-flat" in built.stdout
    found = run_cli("-q", "search", idx, "longest rivers on Earth", "-k", "1", "--hybrid", "--json", env=DISABLE,
                    pythonpath=site)
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["hits"][0]["doc_id"] == "rivers"
    asked = run_cli("-q", "ask", idx, "Why does bread dough rise?", "--generator", "hello-extract", "--no-server",
                    "--min-score", "-1", "--json", env=DISABLE, pythonpath=site)
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert [c["doc_id"] for c in answer["citations"]] == ["bread"]


def test_a_disabled_builtin_is_named_in_the_error(tmp_path: Path, site: list[Path]) -> None:
    """Asking for the disabled faiss index says it is unknown and that plugins are disabled."""
    docs = tmp_path / "docs.jsonl"
    docs.write_text(json.dumps(DOCS[0]) + "\n")
    out = run_cli("-q", "index", "build", str(tmp_path / "i"), "--from", str(docs), "--embedder", "hello-hash",
                  env=DISABLE, pythonpath=site)
    assert out.returncode != 0 and "faiss" in out.stderr and "disabled" in out.stderr
    assert "Traceback" not in out.stderr
