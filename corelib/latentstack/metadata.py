"""Metadata filters: ``where={"key": value}`` matches items whose metadata equals every pair.

Values compare as strings, so ``--where year=2020`` matches an integer 2020. A key that no
item has is an error (a typo would otherwise silently return nothing).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from latentstack.errors import InputError


def check_where(where: object) -> None:
    """Raise InputError if a filter given (not None) is not a mapping."""
    if where is not None and not isinstance(where, Mapping):
        msg = f"the filter is a {type(where).__name__}; give a dict of metadata key -> value, e.g. {{'lang': 'en'}}"
        raise InputError(msg)


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
    """True when every pair of ``where`` equals (as strings) the item's metadata."""
    return all(k in meta and str(meta[k]) == str(v) for k, v in where.items())


def matching_mask(metas: Sequence[Mapping[str, Any]], where: Mapping[str, Any]) -> np.ndarray:
    """Boolean mask of the items matching ``where``, after checking its keys exist."""
    check_keys(metas, where)
    return np.fromiter((matches(m, where) for m in metas), dtype=bool, count=len(metas))


def parse_where(pairs: Sequence[str]) -> dict[str, str]:
    """``["k=v", ...]`` from the command line into a dict; a pair without '=' is an error."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            msg = f"--where takes key=value, got {pair!r}"
            raise InputError(msg)
        out[key.strip()] = value.strip()
    return out
