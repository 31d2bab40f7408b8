"""Log-probabilities of an answer's tokens, asked for and answered in OpenAI's and Ollama's shapes.

Chat (OpenAI and Ollama) asks with ``logprobs: true`` and ``top_logprobs`` (0 to 20);
legacy completions with ``logprobs`` set to how many alternatives (0 to 5). Each token's
log-probability is under the model's own distribution, before temperature, top_p and the
repetition penalty (as vLLM reports them). A generator that cannot score its tokens is a
400 naming the one that can.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from latentstack.http import fields as f
from latentstack.http.errors import bad_request
from latentstack.interfaces.generator import MAX_TOP_LOGPROBS, TokenScore

MAX_COMPLETION_LOGPROBS = 5  # OpenAI's limit for legacy completions


def chat_scoring(body: dict[str, Any]) -> int | None:
    """How many alternatives a chat request wants per token (``top_logprobs``), or None when it asks for no
    log-probabilities."""
    wanted = f.field(body, "logprobs", bool, False)
    top = f.bounded(body, "top_logprobs", int, 0, MAX_TOP_LOGPROBS, None)
    if top is not None and not wanted:
        raise bad_request("'top_logprobs' needs 'logprobs': true", "top_logprobs")
    return (top or 0) if wanted else None


def completion_scoring(body: dict[str, Any]) -> int | None:
    """Legacy completions' ``logprobs``: how many alternatives per token (0 gives the chosen token's only), or None."""
    return f.bounded(body, "logprobs", int, 0, MAX_COMPLETION_LOGPROBS, None)


def _token(score: TokenScore) -> dict[str, Any]:
    return {"token": score.token, "logprob": score.logprob, "bytes": None if score.utf8 is None else list(score.utf8)}


def chat_content(tokens: Iterable[TokenScore]) -> list[dict[str, Any]]:
    """OpenAI chat's ``logprobs.content`` (Ollama's ``logprobs`` is the same list)."""
    return [{**_token(t), "top_logprobs": [_token(a) for a in t.top]} for t in tokens]


def completion_logprobs(tokens: list[TokenScore], start: int = 0) -> dict[str, Any]:
    """Legacy completions' ``logprobs``: tokens, their log-probabilities, the alternatives as {token: logprob},
    and where each token's text starts in the answer (``start`` for the first)."""
    offsets = []
    for t in tokens:
        offsets.append(start)
        start += len(t.token)
    return {"tokens": [t.token for t in tokens], "token_logprobs": [t.logprob for t in tokens],
            "top_logprobs": [{a.token: a.logprob for a in t.top} for t in tokens], "text_offset": offsets}
