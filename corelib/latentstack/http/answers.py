"""A generator's answers as the routes read them: begun on their threads (``streaming.Pieces``), one prompt's
several choices decoded together, and what the routes make of the pieces: the whole answer, the pieces that
show something, the token usage."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from typing import Any

import attrs

from latentstack.http.streaming import FairLock, Pieces, first_begun
from latentstack.interfaces.generator import Finish, ScoredPiece, TokenScore


async def generating(gen: Any, adapter: str, prompt: Any, options: Any, lock: FairLock,
                     scored: int | None = None) -> Pieces[ScoredPiece]:
    """The ScoredPieces of ``gen``'s answer to ``prompt`` (``stream_answer``: the last says how it ended; a tuple of
    token ids is continued raw, ``stream_raw``) with ``adapter`` active ('' for none), generated on a thread in its
    turn under ``lock`` (with other answers with that adapter, where the generator decodes several together); started,
    so an error in the request is raised here. With ``scored`` (not None) each token
    is scored with that many alternatives."""
    pieces = answering(gen, adapter, prompt, options, lock, scored)
    await pieces.start()
    return pieces


def answering(gen: Any, adapter: str, prompt: Any, options: Any, lock: FairLock,
              scored: int | None = None) -> Pieces[ScoredPiece]:
    """``generating``'s pieces, not started yet."""

    def make() -> Iterator[ScoredPiece]:
        gen.use_adapter(adapter)
        if isinstance(prompt, tuple):
            return gen.stream_raw(prompt, options, scored)
        return gen.stream_answer(prompt, options, scored)

    return Pieces(make, lock, adapter)


async def generating_together(gen: Any, adapter: str, prompt: Any, options: list[Any], lock: FairLock,
                              scored: int | None = None) -> list[Pieces[ScoredPiece]]:
    """The ScoredPieces of several answers to one chat ``prompt`` (``n`` choices, ``answering_together``); all begun
    and the first started, so the request's error (every choice meets it) is raised here, while a generator that
    decodes one answer at a time streams the first before the others have begun."""
    choices = answering_together(gen, adapter, prompt, options, lock, scored)
    await first_begun(choices)
    return choices


def answering_together(gen: Any, adapter: str, prompt: Any, options: list[Any], lock: FairLock,
                       scored: int | None = None) -> list[Pieces[ScoredPiece]]:
    """The ScoredPieces of several answers to one chat ``prompt``, one of ``options`` each, each on a thread of its
    own in a turn shared with the others (``Generator.stream_answers``: decoded together where the generator can,
    the prompt read once, by whichever thread comes first); not begun yet."""
    made: list[Iterator[ScoredPiece]] = []
    making = threading.Lock()

    def answer(i: int) -> Callable[[], Iterator[ScoredPiece]]:
        def make() -> Iterator[ScoredPiece]:
            gen.use_adapter(adapter)
            with making:
                if not made:
                    made.extend(gen.stream_answers(prompt, options, scored))
            return made[i]
        return make

    return [Pieces(answer(i), lock, adapter) for i in range(len(options))]


def seeded(options: Any, n: int) -> list[Any]:
    """``n`` choices' options: each after the first seeded with the next seed after ``options.seed`` (reproducible),
    or drawn."""
    return [options] + [attrs.evolve(options, seed=None if options.seed is None else options.seed + i)
                        for i in range(1, n)]


@attrs.frozen
class Written:
    """A whole answer: its text, its scored tokens (none unless asked for) and how it ended."""

    text: str
    tokens: list[TokenScore]
    finish: Finish


CUT_SHORT = Finish("stop", 0)  # a stream the client left before its end: nobody reads its reply


class Shown:
    """The pieces of a streamed answer that show something (text, or scored tokens), read with ``async for``; once
    read, ``finish`` says how the answer ended (CUT_SHORT when the client left before its last piece)."""

    def __init__(self, pieces: AsyncIterable[ScoredPiece]) -> None:
        self.pieces, self.finish = pieces, CUT_SHORT

    async def __aiter__(self) -> AsyncIterator[ScoredPiece]:
        async for item in self.pieces:
            self.finish = item.finish or self.finish
            if item.text or item.tokens:
                yield item


def written(pieces: Iterable[ScoredPiece]) -> Written:
    """The answer ``stream_answer``'s pieces make."""
    text: list[str] = []
    tokens: list[TokenScore] = []
    finish = CUT_SHORT
    for piece in pieces:
        text.append(piece.text)
        tokens.extend(piece.tokens)
        finish = piece.finish or finish
    return Written("".join(text), tokens, finish)


def prompt_count(gen: Any, prompt: Any) -> Callable[[Finish], int]:
    """How many tokens ``prompt`` was, from an answer's Finish where the generator counted what it read, else
    counted with ``gen.count_prompt_tokens`` (the count is not made twice, nor on the event loop's turn ahead of the
    answer)."""
    return lambda finish: finish.prompt if finish.prompt is not None else int(gen.count_prompt_tokens(prompt))


def usage(finishes: Iterable[Finish], prompt_tokens: int, choices: int = 1) -> dict[str, Any]:
    """OpenAI's token usage of the prompts and their answers (the tokens each answer's generator says it used), with
    the prompt tokens whose keys and values an earlier answer had computed (``cached_tokens``; over several answers
    at most the prompts' tokens). The answers come ``choices`` to a prompt (``n``), and each prompt counts once:
    its first answer's cached tokens (the others went on from its reading, or from the cache it left)."""
    finishes = list(finishes)
    used = sum(f.tokens for f in finishes)
    cached = min(prompt_tokens, sum(f.cached for f in finishes[::choices]))
    return {"prompt_tokens": prompt_tokens, "completion_tokens": used, "total_tokens": prompt_tokens + used,
            "prompt_tokens_details": {"cached_tokens": cached}}
