"""The RAG pipeline and the generate/ask CLI on tiny random models (plumbing; quality is benchmarked)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from latentstack import get_generator
from latentstack.cli import cli
from latentstack.errors import InputError, ModelMismatchError
from latentstack.rag import RagConfig, RagPipeline
from latentstack.search import Collection, Document

DOCS = [Document("cat", "the cat sat on the mat", "Cats", {"kind": "pets"}),
        Document("dog", "the dog sat on the cat", "Dogs", {"kind": "pets"}),
        Document("market", "the stock market fell", "Markets", {"kind": "finance"})]


@pytest.fixture
def index_dir(tiny_bert_dir: Path, tmp_path: Path) -> Path:
    model = tmp_path / "bert"
    shutil.copytree(tiny_bert_dir, model)
    col = Collection.create(tmp_path / "index", embedder="bert", embedder_options={"model": str(model)})
    col.add_documents(DOCS)
    col.save()
    return tmp_path / "index"


def pipeline(index_dir: Path, llama: Path, **config: object) -> RagPipeline:
    return RagPipeline(Collection.load(index_dir), get_generator("llm", model=str(llama)),
                       RagConfig(max_new_tokens=12, **config))


def test_answer_numbers_passages_and_maps_citations(index_dir: Path, tiny_llama_dir: Path) -> None:
    answer = pipeline(index_dir, tiny_llama_dir, k=2, min_score=-1.0).ask("where did the cat sit?")
    assert answer.relevant
    assert [p.number for p in answer.passages] == [1, 2]
    assert {p.doc_id for p in answer.passages} <= {"cat", "dog", "market"}
    assert {c.doc_id for c in answer.citations} <= {p.doc_id for p in answer.passages}
    assert json.loads(json.dumps(answer.to_dict()))["passages"][0]["text"] in {d.text for d in DOCS}


def test_nothing_relevant_means_i_dont_know_without_generating(index_dir: Path, tiny_llama_dir: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    p = pipeline(index_dir, tiny_llama_dir, min_score=1.01)
    monkeypatch.setattr(p.generator, "stream", lambda *a, **k: pytest.fail("the model was called"))
    answer = p.ask("where did the cat sit?")
    assert not answer.relevant
    assert answer.answer == "I don't know."
    assert answer.citations == [] and answer.passages == []


@pytest.mark.parametrize("hybrid", [True, False])
def test_where_answers_from_the_passages_it_matches(index_dir: Path, tiny_llama_dir: Path, hybrid: bool) -> None:
    """A metadata filter keeps the passages (and the abstention's top score) to the documents it matches."""
    p = pipeline(index_dir, tiny_llama_dir, k=3, min_score=-1.0, hybrid=hybrid)
    assert "cat" in {x.doc_id for x in p.prepare("where did the cat sit?").passages}
    only = p.prepare("where did the cat sit?", {"kind": "finance"})
    assert [x.doc_id for x in only.passages] == ["market"]
    assert [x.doc_id for x in p.ask("where did the cat sit?", {"kind": "finance"}).passages] == ["market"]
    assert only.no_match is None and "no_match" not in p.ask("where did the cat sit?", {"kind": "finance"}).to_dict()
    typo = p.ask("where did the cat sit?", {"kind": "Finance"})  # abstains, and says it was the filter
    assert not typo.relevant and typo.no_match is not None and typo.no_match.startswith(
        'no document\'s kind meets "Finance"; its values: ') and typo.to_dict()["no_match"] == typo.no_match
    with pytest.raises(InputError, match="unknown metadata key"):
        p.prepare("where did the cat sit?", {"colour": "red"})


def test_bad_questions_are_clear_errors(index_dir: Path, tiny_llama_dir: Path) -> None:
    p = pipeline(index_dir, tiny_llama_dir)
    with pytest.raises(InputError, match="empty"):
        p.ask("  ")
    with pytest.raises(InputError, match="the question is a str, got list"):  # was "the question is empty"
        p.ask(["where did the cat sit?"])  # type: ignore[arg-type]
    with pytest.raises(InputError, match="context window"):
        p.ask("cat " * 2500)


def test_index_whose_embedder_model_changed_is_refused(index_dir: Path, tiny_llama_dir: Path) -> None:
    model = index_dir.parent / "bert"
    (model / "config.json").write_text((model / "config.json").read_text() + "\n")
    with pytest.raises(ModelMismatchError, match="index repair"):
        pipeline(index_dir, tiny_llama_dir)


def test_ask_cli_json_and_stream(index_dir: Path, tiny_llama_dir: Path) -> None:
    runner = CliRunner()
    out = runner.invoke(cli, ["-q", "ask", str(index_dir), "where did the cat sit?", "--model", str(tiny_llama_dir),
                              "--min-score", "-1", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["relevant"] and len(data["passages"]) >= 1
    out = runner.invoke(cli, ["-q", "ask", str(index_dir), "cat?", "--model", str(tiny_llama_dir), "--stream",
                              "--min-score", "1.01"])
    assert out.exit_code == 0 and "I don't know." in out.output and "nothing in the index" in out.output
    out = runner.invoke(cli, ["-q", "ask", str(index_dir), "cat?", "--model", str(tiny_llama_dir), "--where",
                              "kind=Finance", "--no-server"])
    assert out.exit_code == 0 and "(no passage to answer from: no document's kind meets \"Finance\"" in out.output
    out = runner.invoke(cli, ["-q", "ask", str(index_dir), " ", "--model", str(tiny_llama_dir)])
    assert out.exit_code != 0 and "question is empty" in out.output


def test_ask_cli_answers_questions_from_stdin_with_one_load(index_dir: Path, tiny_llama_dir: Path) -> None:
    runner = CliRunner()
    questions = b"where did the cat sit?\n\n" + b"cat " * 2500 + b"\n\xff\xfe not text\nwhat did the dog do?\n"
    out = runner.invoke(cli, ["-q", "ask", str(index_dir), "--model", str(tiny_llama_dir), "--min-score", "-1",
                              "--json"], input=questions)
    assert out.exit_code == 0, out.output
    answers = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert [a["question"] for a in answers] == ["where did the cat sit?", "what did the dog do?"]
    assert "context window" in out.stderr  # the over-long question is reported and skipped
    assert "that line is not UTF-8 (byte 0 is b'\\xff'); it was skipped" in out.stderr  # it was a TypeError traceback


def test_a_question_that_is_not_text_is_one_line(index_dir: Path, tiny_llama_dir: Path) -> None:
    """latentstack.ask with a lone surrogate in the question was a tokenizer's TypeError."""
    import latentstack
    from latentstack.errors import InputError

    with pytest.raises(InputError, match="the question holds U\\+DCFF at character 4, half of a UTF-16 surrogate"):
        latentstack.ask(index_dir, "cat \udcff?", model=str(tiny_llama_dir))


def test_a_dense_only_answer_reads_no_lexical_index(index_dir: Path, tiny_llama_dir: Path) -> None:
    """latentstack.ask(hybrid=False) retrieves by the dense score alone, so it leaves the lexical index unread: a
    damaged one stops a hybrid answer (a corrupt folder) but not a dense one."""
    import latentstack
    from latentstack.errors import CorruptFileError

    items = index_dir / "lexical" / "items.jsonl"
    items.write_bytes(items.read_bytes()[:20])
    dense = latentstack.ask(index_dir, "where did the cat sit?", hybrid=False, min_score=-1, max_new_tokens=4,
                            model=str(tiny_llama_dir))
    assert dense.citations or dense.passages
    with pytest.raises(CorruptFileError):
        latentstack.ask(index_dir, "where did the cat sit?", min_score=-1, model=str(tiny_llama_dir))


def test_generate_cli_streams_and_reports_missing_models(tiny_llama_dir: Path) -> None:
    runner = CliRunner()
    out = runner.invoke(cli, ["-q", "generate", "the cat", "--model", str(tiny_llama_dir), "--stream",
                              "--max-new-tokens", "5"])
    assert out.exit_code == 0, out.output
    out = runner.invoke(cli, ["-q", "generate", "hi", "--model", "no-such-llm"])
    assert out.exit_code != 0 and "no-such-llm" in out.output


def fitted_reward(tiny_bert_dir: Path, folder: Path) -> Path:
    """A reward model fitted on pairs whose chosen reply quotes its cited passage (tiny BERT features)."""
    from latentstack.data.prefs import Pair
    from latentstack.rewards import RewardModel

    pairs = [Pair([{"role": "user", "content": f"Passages:\n\n[1] the cat {i} sat on mat {i}\n\nQuestion: where {i}?"}],
                  f"mat {i} [1]", f"purple {i * 7} clouds") for i in range(12)]
    RewardModel.fit(pairs, embedder="bert", embedder_options={"model": str(tiny_bert_dir)}).save(folder)
    return folder


def test_best_of_returns_the_candidate_the_reward_model_prefers(index_dir: Path, tiny_llama_dir: Path,
                                                                tiny_bert_dir: Path, tmp_path: Path) -> None:
    from latentstack.interfaces import GenerationConfig
    from latentstack.rewards import RewardModel

    reward = RewardModel.load(fitted_reward(tiny_bert_dir, tmp_path / "rm"))
    p = pipeline(index_dir, tiny_llama_dir, k=2, min_score=-1.0)
    prepared = p.prepare("where did the cat sit?")
    chosen = p.best_of(prepared, 4, reward, temperature=1.5)
    greedy = p.options()
    candidates = [p.generator.generate(prepared.messages, o) for o in
                  [greedy] + [GenerationConfig(max_new_tokens=12, stop=("\n\n",), temperature=1.5, top_p=0.95, seed=s)
                              for s in range(3)]]
    scores = reward.score([prepared.messages] * 4, candidates)
    assert chosen.reply == candidates[int(scores.argmax())] and len(set(candidates)) > 1
    together = RagPipeline(p.collection, get_generator("llm", model=str(tiny_llama_dir), parallel=4), p.config)
    assert together.best_of(prepared, 4, reward, temperature=1.5).reply == chosen.reply  # decoded together
    with pytest.raises(InputError, match="at least one candidate"):
        p.best_of(prepared, 0, reward)
    runner = CliRunner()
    done = runner.invoke(cli, ["ask", str(index_dir), "where did the cat sit?", "--model", str(tiny_llama_dir),
                               "--best-of", "3", "--reward", str(tmp_path / "rm"), "--min-score", "-1", "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output.strip().splitlines()[-1])["reply"] in done.output
    bad = runner.invoke(cli, ["ask", str(index_dir), "q", "--best-of", "3"])
    assert bad.exit_code == 2 and "--reward" in bad.output

