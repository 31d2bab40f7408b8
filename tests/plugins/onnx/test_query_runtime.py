"""An index of MiniLM vectors searched (and asked) with MiniLM's ONNX export: the same hits, without importing torch;
an export of another model (or pooling) is refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from latentstack.errors import ModelMismatchError

from ...conftest import run_cli

DOCS = {
    "bread": "Bread dough rises because yeast ferments sugars and releases carbon dioxide.",
    "volcano": "A volcano erupts when magma rises through cracks in the crust.",
    "tides": "Tides follow the moon's pull on the oceans, twice a day.",
    "chess": "In chess, the knight moves in an L shape and can jump over pieces.",
}
QUERY = "why does a loaf of bread get bigger"

#: Loads the index with the export as its query embedder, searches, and says which heavy libraries it imported.
SEARCH_ONLY = """
import json, sys
from latentstack import get_embedder
from latentstack.search import Collection
col = Collection.load(sys.argv[1], query_embedder=get_embedder("onnx", model=sys.argv[2]))
hits = col.search(sys.argv[3], k=4, hybrid=False)
print(json.dumps({"ids": [h.doc_id for h in hits], "scores": [h.score for h in hits],
                  "torch": "torch" in sys.modules, "transformers": "transformers" in sys.modules}))
"""


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from latentstack.search import Collection, Document

    path = tmp_path_factory.mktemp("query-runtime") / "idx"
    col = Collection.create(path)
    col.add_documents(Document(doc_id, text) for doc_id, text in DOCS.items())
    col.save()
    return path


def test_the_export_finds_what_torch_finds_without_importing_torch(index: Path, minilm_int8: tuple[Path, Any]) -> None:
    """Dense ranking by the export's query vectors equals the index's own embedder's, in a process that never
    imported torch or transformers; the CLI's --onnx gives the same fused ranking as without it."""
    from latentstack.search import Collection

    export, _ = minilm_int8
    own = Collection.load(index).search(QUERY, k=4, hybrid=False)
    out = subprocess.run([sys.executable, "-c", SEARCH_ONLY, str(index), str(export), QUERY], capture_output=True,
                         text=True, check=True, timeout=300)
    found = json.loads(out.stdout.splitlines()[-1])
    assert found["ids"] == [h.doc_id for h in own]
    assert max(abs(a - h.score) for a, h in zip(found["scores"], own, strict=True)) < 0.02  # int8 queries
    assert not found["torch"] and not found["transformers"]
    plain, onnx = (run_cli("-q", "search", str(index), QUERY, "--json", *extra, check=True)
                   for extra in ([], ["--onnx", str(export)]))
    assert [h["doc_id"] for h in json.loads(onnx.stdout)["hits"]] == [h["doc_id"] for h in json.loads(plain.stdout)["hits"]]


def test_an_export_of_another_pooling_is_refused(index: Path, tmp_path: Path, minilm_int8: tuple[Path, Any]) -> None:
    """An index built with [CLS] pooling is not searched with a mean-pooling export: one clear error, in Python and
    at the command line."""
    from latentstack import get_embedder
    from latentstack.search import Collection, Document

    export, _ = minilm_int8
    other = tmp_path / "cls-idx"
    col = Collection.create(other, embedder_options={"pooling": "cls"})
    col.add_documents([Document(doc_id, text) for doc_id, text in DOCS.items()])
    col.save()
    with pytest.raises(ModelMismatchError, match="export the index's own model"):
        Collection.load(other, query_embedder=get_embedder("onnx", model=str(export)))
    refused = run_cli("search", str(other), QUERY, "--onnx", str(export))
    assert refused.returncode == 1 and "export the index's own model" in refused.stderr
    assert "Traceback" not in refused.stderr


def _ask(index: Path, generator: Path, *extra: str) -> tuple[dict[str, Any], set[str]]:
    """`ask --json` with the onnx generator: its answer, and the top-level modules the process imported."""
    done = run_cli("-q", "ask", str(index), QUERY, "-k", "2", "--min-score", "-1", "--json",
                   "--no-server", "--generator", "onnx", "--model", str(generator), *extra,
                   env={"PYTHONPROFILEIMPORTTIME": "1"}, check=True)
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in done.stderr.splitlines()
                if line.startswith("import time")}
    return json.loads(done.stdout.splitlines()[-1]), imported


def test_ask_with_the_export_retrieves_what_torch_retrieves_without_importing_torch(
        index: Path, minilm_int8: tuple[Path, Any], tiny_export: Path) -> None:
    """`ask --onnx` on a torch-built index: the same passages as the index's own embedder retrieves, and with the
    onnx generator the process imports neither torch nor transformers (without --onnx it imports both)."""
    plain, plain_imports = _ask(index, tiny_export)
    onnx, onnx_imports = _ask(index, tiny_export, "--onnx", str(minilm_int8[0]))
    assert [p["doc_id"] for p in onnx["passages"]] == [p["doc_id"] for p in plain["passages"]]
    assert onnx["passages"][0]["doc_id"] == "bread"
    assert {"torch", "transformers"} <= plain_imports
    assert not {"torch", "transformers"} & onnx_imports


def test_ask_refuses_an_export_of_another_pooling_before_loading_anything(
        tmp_path: Path, minilm_int8: tuple[Path, Any]) -> None:
    """The export is checked against the index first: one line, no generator loaded (none is named that exists)."""
    from latentstack.search import Collection, Document

    other = tmp_path / "cls-idx"
    col = Collection.create(other, embedder_options={"pooling": "cls"})
    col.add_documents([Document(doc_id, text) for doc_id, text in DOCS.items()])
    col.save()
    refused = run_cli("ask", str(other), QUERY, "--onnx", str(minilm_int8[0]), "--model", str(tmp_path / "none"))
    assert refused.returncode == 1 and "export the index's own model" in refused.stderr
    assert "Traceback" not in refused.stderr
