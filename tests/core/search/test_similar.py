"""Documents like a stored one (`search --like`, ``Collection.similar``), with the packaged MiniLM."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from latentstack.errors import InputError
from latentstack.search import ChunkConfig, Collection, Document

from ...conftest import run_cli

DOCS = [
    ("bread", "Yeast ferments the sugars in dough and releases carbon dioxide, so bread rises.", "food"),
    ("cake", "Baking powder releases gas in the oven and cake batter rises.", "food"),
    ("stocks", "Stock markets fell sharply after the central bank raised interest rates.", "money"),
    ("bonds", "Bond yields climbed as investors expected higher interest rates.", "money"),
    ("long", "Cats purr when they are content.\n\nDogs wag their tails when they are happy.", "pets"),
]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("similar") / "idx"
    col = Collection.create(path, embedder_options={"show_progress": False, "dtype": "float32"},
                            chunking=ChunkConfig(mode="paragraph", min_chars=0))  # "long" is two passages
    col.add_documents([Document(i, t, metadata={"topic": topic}) for i, t, topic in DOCS])
    col.save()
    return path


def test_the_most_alike_document_comes_first_and_itself_never(index: Path) -> None:
    """bread's nearest is cake, stocks' is bonds; each document is left out of its own list."""
    col = Collection.load(index)
    for doc, nearest in (("bread", "cake"), ("stocks", "bonds"), ("bonds", "stocks")):
        hits = col.similar(doc, k=10)
        assert hits[0].doc_id == nearest and doc not in {h.doc_id for h in hits}
        assert len(hits) == len({h.doc_id for h in hits}) == len(DOCS) - 1  # one hit per document


def test_the_query_is_the_documents_own_vector(index: Path) -> None:
    """A one-passage document's query is its stored vector: the score of another is their vectors' cosine."""
    col = Collection.load(index)
    vectors = col.embedder.embed_many([DOCS[0][1], DOCS[1][1]], "document")
    assert col.similar("bread", k=1)[0].score == pytest.approx(float(vectors[0] @ vectors[1]), abs=1e-4)
    passages = col.embedder.embed_many(["Cats purr when they are content.",
                                        "Dogs wag their tails when they are happy."], "document")
    mean = passages.mean(axis=0) / np.linalg.norm(passages.mean(axis=0))  # two passages: their mean, unit length
    scores = {h.doc_id: h.score for h in col.similar("long", k=10)}
    assert scores["bread"] == pytest.approx(float(mean @ vectors[0]), abs=1e-4)


def test_a_filter_and_the_errors(index: Path) -> None:
    """--where keeps its documents; an unknown id or key is one line naming what exists."""
    col = Collection.load(index)
    assert sorted(h.doc_id for h in col.similar("bread", k=5, where={"topic": "money"})) == ["bonds", "stocks"]
    with pytest.raises(InputError, match="no document 'nosuch' in .*index export"):
        col.similar("nosuch")
    with pytest.raises(InputError, match="unknown metadata key"):
        col.similar("bread", where={"lang": "en"})
    with pytest.raises(InputError, match="a document id is a str, got int"):
        col.similar(3)  # type: ignore[arg-type]


def test_search_like_on_the_command_line(index: Path) -> None:
    """`search DIR --like ID` prints the alike documents; with QUERY or --hybrid beside it, a usage error."""
    out = json.loads(run_cli("-q", "search", str(index), "--like", "stocks", "-k", "2", "--json", check=True).stdout)
    assert out["query"] == "like stocks" and out["hits"][0]["doc_id"] == "bonds" and len(out["hits"]) == 2
    both = run_cli("-q", "search", str(index), "rates", "--like", "stocks")
    assert both.returncode == 2 and "give it or QUERY, not both" in both.stderr
    fused = run_cli("-q", "search", str(index), "--like", "stocks", "--hybrid")
    assert fused.returncode == 2 and "--like ranks documents by the dense vectors alone" in fused.stderr
