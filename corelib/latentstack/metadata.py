"""Metadata filters: ``where={"key": value}`` matches items whose metadata equals every pair.

A value may be a list, matching any of its values (``{"lang": ["en", "fr"]}``). Values
compare as strings, so ``--where year=2020`` matches an integer 2020 and ``--where
draft=true`` a JSON ``true``. A key that no item has is an error (a typo would otherwise
silently return nothing), and so is a value that is neither a str, number or bool nor a
list of them (an operator such as ``{"$in": ...}`` would otherwise match nothing).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from latentstack.errors import InputError

_SCALAR = (str, int, float, bool)


def check_where(where: object) -> None:
    """Raise InputError if a filter given (not None) is not a mapping of values or lists of values."""
    if where is None:
        return
    if not isinstance(where, Mapping):
        msg = f"the filter is a {type(where).__name__}; give a dict of metadata key -> value, e.g. {{'lang': 'en'}}"
        raise InputError(msg)
    for key, value in where.items():
        values = _values(value)
        if not values or not all(isinstance(v, _SCALAR) for v in values):
            msg = (f"the filter's value for {key!r} is {_shown(value)}; give a str, number or bool, or a list of them "
                   "to match any (operators such as $in are not read)")
            raise InputError(msg)


def _values(value: Any) -> list[Any]:
    """A filter value as the list of values it matches (NumPy's read as Python's)."""
    if isinstance(value, np.ndarray | np.generic):
        value = value.tolist()
    return list(value) if isinstance(value, list | tuple) else [value]


def _shown(value: object) -> str:
    if isinstance(value, (list, tuple)) and not value:
        return "an empty list"
    return f"a {type(value).__name__}" if not isinstance(value, (list, tuple)) else "a list holding a " + next(
        type(v).__name__ for v in value if not isinstance(v, _SCALAR))


def check_keys(metas: Sequence[Mapping[str, Any]], where: Mapping[str, Any]) -> None:
    """Raise InputError if ``where`` is not a mapping, or a key of it appears in no item's metadata."""
    check_where(where)
    known = set().union(*(m.keys() for m in metas)) if metas else set()
    unknown = sorted(set(where) - known)
    if unknown:
        msg = (f"unknown metadata key(s) {', '.join(map(repr, unknown))} in the filter; "
               f"known keys: {', '.join(sorted(known)) or 'none (no item has metadata)'}")
        raise InputError(msg)


def matches(meta: Mapping[str, Any], where: Mapping[str, Any]) -> bool:
    """True when the item's metadata equals (as strings) every value of ``where``, or one of a list's values."""
    return all(k in meta and _text(meta[k]) in _wanted(v) for k, v in where.items())


def _text(value: Any) -> str:
    """A value as the filter compares it: booleans as JSON writes them (``true``), the rest as ``str`` does."""
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _wanted(value: Any) -> set[str]:
    """The strings a filter value matches; ``True`` typed on the command line also matches a JSON ``true``."""
    texts = {_text(v) for v in _values(value)}
    return texts | {t.lower() for t in texts if t.lower() in ("true", "false")}


def matching_mask(metas: Sequence[Mapping[str, Any]], where: Mapping[str, Any]) -> np.ndarray:
    """Boolean mask of the items matching ``where``, after checking its keys exist."""
    check_keys(metas, where)
    return np.fromiter((matches(m, where) for m in metas), dtype=bool, count=len(metas))


def parse_where(pairs: Sequence[str]) -> dict[str, str | list[str]]:
    """``["k=v", ...]`` from the command line into a dict, a key given twice matching any of its values; a pair
    without '=' is an error."""
    out: dict[str, list[str]] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            msg = f"--where takes key=value, got {pair!r}"
            raise InputError(msg)
        out.setdefault(key.strip(), []).append(value.strip())
    return {k: v[0] if len(v) == 1 else v for k, v in out.items()}
