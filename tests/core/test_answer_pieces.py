"""How a decoded answer ended (``latentstack.scored.answer_pieces``): 'length' only when the decoder ran to its
budget, the tokens counted as decoded (not as the text takes them afresh), a stop string's tokens included."""

from __future__ import annotations

from collections.abc import Iterator

from latentstack.interfaces.generator import Finish, GenerationConfig, Generator, ScoredPiece
from latentstack.scored import Scored, answer_pieces

WORDS = {1: "one ", 2: "two ", 3: "END", 4: "three"}


def _pieces(tokens: list[int], budget: int, stop: tuple[str, ...] = (), complete: bool = False) -> list[ScoredPiece]:
    class Done:
        def complete(self) -> bool:
            return complete

    steps = ((t, None) for t in tokens)
    return list(answer_pieces(steps, WORDS.__getitem__, lambda: "", stop, Scored(None, None, lambda *_: (0.0, [])),
                              budget, Done() if complete else None))  # type: ignore[arg-type]


def test_the_last_piece_says_how_the_answer_ended() -> None:
    ran_out = _pieces([1, 2, 4], budget=3)
    assert "".join(p.text for p in ran_out) == "one two three" and ran_out[-1].finish == Finish("length", 3)
    assert all(p.finish is None for p in ran_out[:-1])
    assert _pieces([1, 2], budget=3)[-1].finish == Finish("stop", 2)  # an end token came first
    stopped = _pieces([1, 3, 4], budget=3, stop=("END",))
    assert "".join(p.text for p in stopped) == "one " and stopped[-1].finish == Finish("stop", 2)
    assert _pieces([1, 2, 4], budget=3, complete=True)[-1].finish == Finish("stop", 3)  # a schema's value closed


class Words(Generator):
    """A generator that knows nothing of tokens: the default ``stream_answer`` counts its text again."""

    name = "words"

    def stream(self, prompt: object, options: GenerationConfig | None = None) -> Iterator[str]:
        yield from ["a b ", "c d"]


def test_the_default_counts_the_text_again() -> None:
    pieces = list(Words().stream_answer("x", GenerationConfig(max_new_tokens=8)))
    assert [p.text for p in pieces] == ["a b ", "c d", ""] and pieces[-1].finish == Finish("length", 8)
    assert list(Words().stream_answer("x", GenerationConfig(max_new_tokens=9)))[-1].finish == Finish("stop", 8)
