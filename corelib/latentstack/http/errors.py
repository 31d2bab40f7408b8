"""Errors in the OpenAI wire shape: ``{"error": {"message", "type", "param", "code"}}`` with a 4xx/5xx status."""

from __future__ import annotations

import logging
from typing import Any

from latentstack.errors import (
    ConfigError,
    CorruptFileError,
    InputError,
    LatentstackError,
    ModelMismatchError,
    UnknownNameError,
)


class HttpError(Exception):
    """A request the server refuses, with the status and OpenAI error type to answer with."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error", param: str | None = None,
                 code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.kind, self.param, self.code = status, message, kind, param, code

    def body(self) -> dict[str, Any]:
        """The JSON body OpenAI clients parse."""
        return {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}


def from_latentstack(exc: LatentstackError) -> HttpError:
    """The HTTP answer for a latentstack error: the user's input is a 4xx, a broken saved folder a 500."""
    if isinstance(exc, UnknownNameError):
        return HttpError(404, str(exc), code="model_not_found")
    if isinstance(exc, (InputError, ConfigError, ModelMismatchError)):
        return HttpError(400, str(exc))
    if isinstance(exc, CorruptFileError):
        return HttpError(500, str(exc), kind="server_error")
    return HttpError(400, str(exc))


def bad_request(message: str, param: str | None = None) -> HttpError:
    """A 400 for a malformed or out-of-bounds field."""
    return HttpError(400, message, param=param)


def too_large(limit: int) -> HttpError:
    """A 413 for a body over ``limit`` bytes (declared by Content-Length, or found while reading)."""
    return HttpError(413, f"the request body is over {limit} bytes", code="request_too_large")


def internal(exc: Exception) -> HttpError:
    """A 500 for an error nobody planned for, naming it."""
    return HttpError(500, f"internal error: {type(exc).__name__}: {str(exc)[:300]}", kind="server_error")


def answered(exc: Exception) -> HttpError:
    """The HTTP answer for any error a route meets: its own, a latentstack error's, or a 500."""
    if isinstance(exc, HttpError):
        return exc
    return from_latentstack(exc) if isinstance(exc, LatentstackError) else internal(exc)


def stream_failure(exc: Exception) -> HttpError:
    """``answered`` for an error met after a stream began (its last event says it); a fault of the server's (a 5xx)
    is also logged with its traceback, for the operator."""
    error = answered(exc)
    if error.status >= 500:
        logging.getLogger(__name__).error("a streamed answer failed", exc_info=exc)
    return error
