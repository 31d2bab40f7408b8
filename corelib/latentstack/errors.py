"""Errors that latentstack raises on purpose.

Every message says what was wrong and what to do about it. The CLI turns any
``LatentstackError`` into a one-line ``click.ClickException``.
"""

from __future__ import annotations


def a_or_an(noun: str) -> str:
    """``noun`` with its indefinite article, for messages: "an adapter", "a classifier"."""
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"


class LatentstackError(Exception):
    """Base class of every error latentstack raises on purpose."""


class UnknownNameError(LatentstackError, KeyError):
    """A plugin, role implementation or model name that nothing registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class PluginConflictError(LatentstackError):
    """Two plugins registered the same name for the same role."""


class PluginError(LatentstackError):
    """A plugin failed to import or to register; it was skipped."""


class ConfigError(LatentstackError, ValueError):
    """A configuration value is missing, unknown or out of range."""


class ModelNotInstalledError(LatentstackError):
    """A known model whose package is not installed; the message names the pip command."""


class ModelMismatchError(LatentstackError):
    """Vectors, an index or a saved head made by a different model or dimension."""


class CorruptFileError(LatentstackError):
    """A saved file is truncated, corrupt or of an unknown format version."""


class ConflictError(LatentstackError):
    """Another writer saved a folder after it was loaded here; saving now would undo its change."""


class InputError(LatentstackError, ValueError):
    """Bad user input: empty texts, wrong encodings, missing columns, and the like."""


class ParityError(LatentstackError):
    """An exported model's outputs differ from the original's by more than the stated tolerance."""
