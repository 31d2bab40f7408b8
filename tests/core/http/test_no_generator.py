"""`serve --http --no-generator`: an embeddings, search and classify server that loads no chat model."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx

from latentstack.http.app import build_app
from latentstack.http.run import InThread, warm
from latentstack.http.state import Served
from latentstack.testing.classifier_contract import TRAIN

from ...conftest import run_cli


def test_a_server_without_a_generator_classifies_and_refuses_chat(tmp_path: Path) -> None:
    """Warm-up loads no generator; classify and the model list work; chat and ask are a 404 that says why."""
    from latentstack import get_classifier
    from latentstack.search import Collection, Document

    get_classifier("linear", embedder="tfidf").fit([t for t, _ in TRAIN], [lab for _, lab in TRAIN]).save(tmp_path / "c")
    col = Collection.create(tmp_path / "kb", embedder_options={"show_progress": False})
    col.add_documents([Document("bread", "Bread dough rises because yeast ferments sugars.")])
    col.save()
    served = Served(generator=None, indexes={"kb": tmp_path / "kb"}, classifiers={"spam": tmp_path / "c"})
    warm(served)
    assert "generator" not in served.loaded
    running = InThread(build_app(served))
    try:
        with httpx.Client(base_url=running.url, timeout=60) as http:
            labels = [d["label"] for d in http.post("/v1/classify", json={"model": "spam", "input": [
                "WIN a free prize now", "see you at lunch"]}).json()["data"]]
            kinds = {m["kind"] for m in http.get("/v1/models").json()["data"]}
            chat = http.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "Hi"}]})
            text = http.post("/v1/completions", json={"prompt": "Hi"})
            ask = http.post("/v1/ask", json={"index": "kb", "question": "Why does bread rise?"})
    finally:
        running.stop()
    assert labels == ["spam", "ham"]
    assert "chat" not in kinds and {"classifier", "index"} <= kinds
    for refused in (chat, text, ask):
        assert refused.status_code == 404 and "--no-generator" in refused.json()["error"]["message"]
    assert "generator" not in served.loaded


def test_no_generator_is_refused_where_it_cannot_apply(tmp_path: Path) -> None:
    socket_mode = run_cli("serve", str(tmp_path), "--no-generator")
    assert socket_mode.returncode == 2 and "add --http" in socket_mode.stderr
    with_model = run_cli("serve", "--http", "--no-generator", "--model", "smollm2-135m-instruct")
    assert with_model.returncode == 2 and "drop the generator's options" in with_model.stderr


def test_an_index_and_a_classifier_of_the_default_model_share_its_embedder_with_v1_embeddings(tmp_path: Path) -> None:
    """A MiniLM index, a hybrid classifier on MiniLM and /v1/embeddings for MiniLM (the default ``bert``) hold one
    model between them, reached by either name; a TF-IDF classifier keeps its own features, and an index of another
    pooling its own embedder."""
    from latentstack import get_classifier
    from latentstack.search import Collection, Document

    for name, options in {"kb": {}, "cls": {"pooling": "cls"}}.items():
        col = Collection.create(tmp_path / name, embedder_options={"show_progress": False, **options})
        col.add_documents([Document("bread", "Bread dough rises because yeast ferments sugars."),
                           Document("tides", "Tides follow the pull of the moon.")])
        col.save()

    texts, labels = [t for t, _ in TRAIN], [lab for _, lab in TRAIN]
    get_classifier("linear", hybrid=True).fit(texts, labels).save(tmp_path / "hybrid")
    get_classifier("linear", embedder="tfidf").fit(texts, labels).save(tmp_path / "tfidf")
    served = Served(generator=None, classifiers={"hybrid": tmp_path / "hybrid", "tfidf": tmp_path / "tfidf"},
                    indexes={"kb": tmp_path / "kb", "cls": tmp_path / "cls"})
    warm(served)
    shared = served.classifier("hybrid").features.embedders[0]
    assert shared is served._embedder("bert") is served._embedder("minilm") and len(served.embedders) == 1
    assert served.collection("kb").embedder is shared and served.collection("cls").embedder is not shared
    assert served.collection("kb").search("why does bread rise", k=1, hybrid=False)[0].doc_id == "bread"
    assert served.classifier("hybrid").predict(["WIN a free prize now", "see you at lunch"]) == ["spam", "ham"]
    assert [e.name for e in served.classifier("tfidf").features.embedders] == ["tfidf"]


def test_a_served_index_saved_again_is_read_again(tmp_path: Path) -> None:
    """A server kept answering from the index as it was at start: a document removed with `index remove` (a
    confidential one, say) was still found, and one added was not, until a restart. The server reads a saved index
    again, its model kept, and a classifier trained again into its folder."""
    from latentstack import get_classifier
    from latentstack.search import Collection, Document

    texts, labels = [t for t, _ in TRAIN], [lab for _, lab in TRAIN]
    get_classifier("linear", embedder="tfidf").fit(texts, labels).save(tmp_path / "spam")

    col = Collection.create(tmp_path / "kb", embedder_options={"show_progress": False})
    col.add_documents([Document("bread", "Bread dough rises because yeast ferments sugars."),
                       Document("secret", "The launch code of the bread oven is 1234.")])
    col.save()
    served = Served(generator=None, indexes={"kb": tmp_path / "kb"}, classifiers={"spam": tmp_path / "spam"})
    warm(served)
    model = served.collection("kb").embedder
    running = InThread(build_app(served))
    try:
        with httpx.Client(base_url=running.url, timeout=60) as http:
            def found(query: str) -> list[str]:
                hits = http.post("/v1/search", json={"index": "kb", "query": query, "k": 3}).json()["data"]
                return [h["doc_id"] for h in hits]

            assert "secret" in found("launch code")
            run_cli("-q", "index", "remove", str(tmp_path / "kb"), "secret", check=True)
            more = tmp_path / "more.jsonl"
            more.write_text('{"id": "tides", "text": "Tides follow the pull of the moon."}\n', encoding="utf-8")
            run_cli("-q", "index", "add", str(tmp_path / "kb"), "--from", str(more), check=True)
            after = found("launch code") + found("moon tides")
            ask = {"model": "spam", "input": ["WIN a free prize now"]}
            before = http.post("/v1/classify", json=ask).json()["data"][0]["label"]
            flipped = ["ham" if lab == "spam" else "spam" for lab in labels]  # trained again, the labels swapped
            get_classifier("linear", embedder="tfidf").fit(texts, flipped).save(tmp_path / "spam")
            again = http.post("/v1/classify", json=ask).json()["data"][0]["label"]
    finally:
        running.stop()
    assert "secret" not in after and "tides" in after
    assert (before, again) == ("spam", "ham")
    assert served.collection("kb").embedder is model  # read again, the model not loaded again


def test_a_multi_label_classifier_answers_labels_lists(tmp_path: Path) -> None:
    """/v1/classify gives a multi-label classifier's texts a list of labels each (``labels``), every label's own
    probability beside it, as `classify predict --json` does."""
    from latentstack import get_classifier
    from latentstack.testing.multilabel_contract import TICKETS

    clf = get_classifier("linear", embedder="tfidf").fit([t for t, _ in TICKETS], [labels for _, labels in TICKETS])
    clf.save(tmp_path / "tags")
    running = InThread(build_app(Served(generator=None, classifiers={"tags": tmp_path / "tags"})))
    try:
        with httpx.Client(base_url=running.url, timeout=60) as http:
            data = http.post("/v1/classify", json={"input": ["the courier lost my parcel and I was charged for it",
                                                             "thanks, have a good day"]}).json()["data"]
    finally:
        running.stop()
    assert [d["labels"] for d in data] == [["billing", "delivery"], []] and "label" not in data[0]
    assert data[0]["probabilities"].keys() == {"account", "billing", "delivery"}


def test_other_requests_are_answered_while_a_saved_index_is_read_again(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    """An index saved again was read on the event loop's thread, so every request (a health probe too) waited while
    a large index loaded. The read now runs on a worker thread: held open here until /health and /v1/models have
    answered, the search then gets the index as saved."""
    from latentstack.search import Collection, Document

    col = Collection.create(tmp_path / "kb", embedder_options={"show_progress": False})
    col.add_documents([Document("bread", "Bread dough rises because yeast ferments sugars.")])
    col.save()
    served = Served(generator=None, indexes={"kb": tmp_path / "kb"})
    warm(served)
    again = Collection.load(tmp_path / "kb")
    again.add_documents([Document("tides", "Tides follow the pull of the moon.")])
    again.save()
    with reading_kb_again(served, monkeypatch, "moon tides") as (http, found):
        health, models = http.get("/health"), http.get("/v1/models")  # timed out before: the loop was reading
    assert health.status_code == 200 and models.status_code == 200
    assert found == ["tides"]


def test_another_index_and_a_classifier_answer_while_one_index_is_read_again(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    """One lock guards every read: a search of another index, or a classification, waited while a large index was
    read again. An unchanged one is now handed out without the lock; the changed one still waits for its read."""
    from latentstack import get_classifier
    from latentstack.search import Collection, Document

    for name, text in (("kb", "Bread dough rises because yeast ferments sugars."), ("other", "The moon pulls tides.")):
        col = Collection.create(tmp_path / name, embedder_options={"show_progress": False})
        col.add_documents([Document(name, text), Document(f"{name}-2", "Unrelated words about trains.")])
        col.save()
    texts, labels = zip(*TRAIN, strict=True)
    get_classifier("linear", embedder="tfidf").fit(list(texts), list(labels)).save(tmp_path / "spam")
    served = Served(generator=None, indexes={"kb": tmp_path / "kb", "other": tmp_path / "other"},
                    classifiers={"spam": tmp_path / "spam"})
    for name in ("kb", "other"):
        served.collection(name)
    served.classifier("spam")
    again = Collection.load(tmp_path / "kb")
    again.add_documents([Document("yeast", "Yeast is a fungus.")])
    again.save()
    with reading_kb_again(served, monkeypatch, "yeast fungus") as (http, found):
        other = http.post("/v1/search", json={"index": "other", "query": "moon tides", "k": 1}, timeout=10)
        label = http.post("/v1/classify", json={"model": "spam", "input": ["WIN a free prize now"]}, timeout=10)
    assert other.json()["data"][0]["doc_id"] == "other" and label.status_code == 200
    assert found == ["yeast"]


@contextlib.contextmanager
def reading_kb_again(served: Served, monkeypatch, query: str) -> Iterator[tuple[httpx.Client, list[str]]]:  # noqa: ANN001
    """A server over ``served`` whose index kb, saved again, is being read (held open) while a search of it for
    ``query`` waits; yields a client for other requests, and the ids that search found (filled once the read goes
    on, at the block's end)."""
    from latentstack.search import Collection

    reading, go_on, real_load = threading.Event(), threading.Event(), Collection.load

    def held_load(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - the real load, held until the others answered
        reading.set()
        assert go_on.wait(60), "the other requests were not answered while kb was read"
        return real_load(*args, **kwargs)

    monkeypatch.setattr(Collection, "load", held_load)
    running = InThread(build_app(served))
    found: list[str] = []
    try:
        with httpx.Client(base_url=running.url, timeout=30) as http:
            def search() -> None:
                hits = http.post("/v1/search", json={"index": "kb", "query": query, "k": 1}).json()["data"]
                found.extend(h["doc_id"] for h in hits)

            searching = threading.Thread(target=search)
            searching.start()
            assert reading.wait(30)
            yield http, found
            go_on.set()
            searching.join(60)
    finally:
        go_on.set()
        running.stop()
