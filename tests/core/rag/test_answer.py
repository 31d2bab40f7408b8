"""Citations, answer cleaning and the short-answer heuristic."""

from latentstack.rag.answer import cite, clean_answer, parse_citations, says_unknown, short_answer
from latentstack.rag.metrics import exact_match, normalize_answer, token_f1
from latentstack.rag.prompt import Passage


def test_parse_citations_keeps_valid_numbers_in_order():
    assert parse_citations("Paris [2], also [1, 2] and [7]", 3) == [2, 1]
    assert parse_citations("no citations here", 3) == []


def test_clean_answer_strips_citations_and_lead_in():
    assert clean_answer("Answer: Paris [1].\n\nQuestion: next") == "Paris."
    assert clean_answer("  The answer is Denver Broncos [2]") == "Denver Broncos"


def test_short_answer_takes_the_words_the_question_lacks():
    q = "Where was Super Bowl 50 played?"
    assert short_answer("Super Bowl 50 was played at Levi's Stadium in Santa Clara.", q) == "Levi's Stadium in Santa Clara"
    assert short_answer("Paris.", "What is the capital of France?") == "Paris"


def test_cite_maps_numbers_to_documents_or_matches_the_answer():
    passages = [Passage(1, "Tides follow the Moon.", "tides", "Tides", 0, 22),
                Passage(2, "Paris is the capital of France.", "paris", "Paris", 10, 41)]
    by_model = cite("Paris [2]", "Paris", passages)
    assert [(c.doc_id, c.how, c.start, c.end) for c in by_model] == [("paris", "model", 10, 41)]
    matched = cite("Paris", "Paris", passages)
    assert [(c.doc_id, c.how) for c in matched] == [("paris", "matched")]
    assert cite("I don't know.", "I don't know.", passages) == []
    assert says_unknown("I do not know")


def test_squad_metrics_follow_the_official_normalisation():
    assert normalize_answer("The  Denver Broncos!") == "denver broncos"
    assert exact_match("the Denver Broncos", ["Denver Broncos", "Broncos"]) == 1.0
    assert exact_match("Denver", ["Denver Broncos"]) == 0.0
    assert abs(token_f1("Denver", ["Denver Broncos"]) - 2 / 3) < 1e-9
    assert token_f1("", ["x"]) == 0.0
