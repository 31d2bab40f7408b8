"""An answer's pieces from a decode loop, each with the scored tokens whose text it shows.

The answer's text reaches the caller later than its tokens: a character split over two
tokens waits for the second, and text that may begin a stop string waits until it is
known not to. Each token is kept with where its text ends in the decoded answer and handed
out with the piece that shows that far; the tokens of a stop string never are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from latentstack.interfaces.generator import Finish, ScoredPiece, TokenScore
from latentstack.stops import StopTrimmer
from latentstack.token_text import TokenText

if TYPE_CHECKING:
    from latentstack.json_schema import SchemaConstraint

#: (a row of logits, the token picked, how many alternatives) -> (its log-probability, the likeliest (id, logprob))
Scorer = Callable[[Any, int, int], tuple[float, list[tuple[int, float]]]]


class Scored:
    """The tokens decoded but not yet handed out; ``top`` None scores nothing (a plain stream)."""

    def __init__(self, tokenizer: Any, top: int | None, scorer: Scorer) -> None:
        self.text = TokenText(tokenizer) if top is not None else None
        self.top, self.scorer = top, scorer
        self.pending: list[tuple[int, TokenScore]] = []  # (where the token's text ends, its score)
        self.decoded = 0  # characters of the answer decoded
        self.shown = 0  # characters of it handed out

    def add(self, token: int, logits: Any, new_chars: int) -> None:
        """Keep ``token``, picked from ``logits``, whose decoding added ``new_chars`` characters (scored when asked)."""
        self.decoded += new_chars
        if self.text is not None and self.top is not None:
            logprob, best = self.scorer(logits, token, self.top)
            self.pending.append((self.decoded, self.text.score(token, logprob, best)))

    def upto(self, shown: int | None) -> tuple[TokenScore, ...]:
        """The tokens whose text ends within the answer once ``shown`` more characters are out (None: all)."""
        if shown is not None:
            self.shown += shown
        ready = [s for end, s in self.pending if shown is None or end <= self.shown]
        self.pending = self.pending[len(ready):]
        return tuple(ready)


def answer_pieces(steps: Iterable[tuple[int, Any]], feed: Callable[[int], str], flush: Callable[[], str],
                  stop: tuple[str, ...], scored: Scored, budget: int,
                  constraint: SchemaConstraint | None = None, cached: int = 0,
                  prompt: int | None = None) -> Iterator[ScoredPiece]:
    """The pieces of an answer from a decode loop's (token, logits) ``steps``: ``feed`` gives the text each token
    adds ('' while a character is incomplete), ``flush`` what is left at the end; a stop string ends the answer
    and is never shown. The last piece says how it ended: 'length' when the steps ran to the ``budget`` of
    tokens (unless an answer held to a schema's ``constraint`` finished on its last one); ``cached``: the prompt's
    tokens read from an earlier answer's KV cache, ``prompt`` its length (``Finish``)."""
    trimmer = StopTrimmer(stop)
    used = 0
    for token, logits in steps:
        used += 1
        new = feed(token)
        scored.add(token, logits, len(new))
        shown = trimmer.feed(new)
        if trimmer.stopped:
            yield ScoredPiece(shown, scored.upto(len(shown)), Finish("stop", used, cached, prompt))
            return
        if shown:
            yield ScoredPiece(shown, scored.upto(len(shown)))
    rest = trimmer.feed(flush()) + trimmer.flush()
    ended = "length" if used >= budget and not (constraint is not None and constraint.complete()) else "stop"
    yield ScoredPiece(rest, scored.upto(None), Finish(ended, used, cached, prompt))
