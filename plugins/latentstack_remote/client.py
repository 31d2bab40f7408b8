"""The openai client for a server's address, and its errors as one line that says what to do."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from latentstack.errors import ConfigError, InputError, UnknownNameError

OLLAMA = "http://127.0.0.1:11434/v1"


def client(base_url: str, api_key: str, timeout: float) -> Any:
    """An ``openai.OpenAI`` client for ``base_url``: the key given, else ``$OPENAI_API_KEY``, else none (local
    servers want none); no retries, so a server that is down is said at once."""
    from openai import OpenAI

    return OpenAI(base_url=base_url, api_key=api_key or os.environ.get("OPENAI_API_KEY") or "unused", timeout=timeout,
                  max_retries=0)


@contextmanager
def explained(url: str, model: str, what: str) -> Iterator[None]:
    """The openai client's errors as one line; ``what`` names the kind of server (chat, embedding)."""
    import openai

    try:
        yield
    except openai.APIConnectionError:
        msg = f"cannot reach the {what} server at {url}: start it (e.g. `ollama serve`), or give its address as base_url"
        raise ConfigError(msg) from None
    except (openai.AuthenticationError, openai.PermissionDeniedError):
        msg = f"the {what} server at {url} refused the API key: set OPENAI_API_KEY (or give api_key)"
        raise ConfigError(msg) from None
    except openai.NotFoundError as exc:
        msg = f"the {what} server at {url} has no model {model!r} ({_said(exc)}); GET {url}/models lists its models"
        raise UnknownNameError(msg) from None
    except openai.APIStatusError as exc:
        msg = f"the {what} server at {url} refused the request ({exc.status_code}): {_said(exc)}"
        raise InputError(msg) from None


def _said(exc: Any) -> str:
    """The server's own message, from OpenAI's error shape or Ollama's."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        text = inner.get("message") if isinstance(inner, dict) else inner
        if text:
            return str(text)[:300]
    return str(exc)[:300]
