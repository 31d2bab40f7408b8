"""Metadata filters: ``where={"key": value}`` matches items whose metadata satisfies every pair.

A value may be a list, matching any of its values (``{"lang": ["en", "fr"]}``). Values
compare as strings, so ``--where year=2020`` matches an integer 2020 and ``--where
draft=true`` a JSON ``true``. A value may also be a dict of operators, as Chroma and
MongoDB write them, all of which must hold: ``$eq``, ``$ne``, ``$in``, ``$nin`` (as
strings, like a plain value) and ``$gt``, ``$gte``, ``$lt``, ``$lte``: a bound that is a
number compares numbers (a metadata value written as text, "2020", counts as the number;
one that is not a number does not match), any other bound compares strings, so ISO dates
order as dates (``{"year": {"$gte": 2020, "$lt": 2024}}``, ``{"date": {"$gte":
"2024-01-01"}}``); ``$glob`` matches a value's text against a shell pattern, or any of a
list of them (``*``, ``?``, ``[abc]``, case counted: ``{"file": {"$glob": "notes/work/*"}}``,
a folder's files). An item without the key matches nothing. An item whose value is a list
(a note's tags) matches when one of its values does, and an exclusion when none is excluded.
A key that no item has is an error (a typo would otherwise silently return nothing), and so
is an unknown operator or a value of another type.
"""

from __future__ import annotations

import fnmatch
import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

import numpy as np

from latentstack.errors import InputError

_SCALAR = (str, int, float, bool)
_ORDER: dict[str, Callable[[Any, Any], bool]] = {"$gt": operator.gt, "$gte": operator.ge, "$lt": operator.lt,
                                                 "$lte": operator.le}
OPERATORS = ("$eq", "$ne", "$in", "$nin", *_ORDER, "$glob")


def check_where(where: object) -> None:
    """Raise InputError if a filter given (not None) is not a mapping of values, lists of values or operators."""
    if where is None:
        return
    if not isinstance(where, Mapping):
        msg = f"the filter is a {type(where).__name__}; give a dict of metadata key -> value, e.g. {{'lang': 'en'}}"
        raise InputError(msg)
    for key, value in where.items():
        if isinstance(value, Mapping):
            _check_operators(key, value)
            continue
        values = _values(value)
        if not values or not all(isinstance(v, _SCALAR) for v in values):
            msg = (f"the filter's value for {key!r} is {_shown(value)}; give a str, number or bool, a list of them "
                   f"to match any, or a dict of operators ({', '.join(OPERATORS)})")
            raise InputError(msg)


def _check_operators(key: str, ops: Mapping[Any, Any]) -> None:
    if not ops:
        msg = f"the filter's value for {key!r} is an empty dict; give operators such as {{'$gte': 2020}}"
        raise InputError(msg)
    for op, operand in ops.items():
        if op not in OPERATORS:
            msg = f"the filter's {key!r} has operator {op!r}; operators are {', '.join(OPERATORS)}"
            raise InputError(msg)
        listed = op in ("$in", "$nin", "$glob")
        values = _values(operand) if listed else [operand]
        ordered = op in _ORDER
        if not values or not all(isinstance(v, _SCALAR) for v in values) or (not listed and isinstance(operand, list)) \
                or (ordered and isinstance(operand, bool)) or (op == "$glob" and not all(isinstance(v, str) for v in values)):
            wanted = ("a pattern (str) or a non-empty list of them" if op == "$glob" else
                      "a non-empty list of str, number or bool" if listed else
                      "one number or str (a date as YYYY-MM-DD)" if ordered else "one str, number or bool")
            msg = f"the filter's {key!r} {op} takes {wanted}, got {operand!r:.80}"
            raise InputError(msg)


def held_values(value: Any) -> tuple[Any, ...]:
    """The values an item's metadata value holds: each of a list's (a note's tags), or the value itself."""
    return tuple(value) if isinstance(value, list | tuple) else (value,)


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
    check_known(set().union(*(m.keys() for m in metas)) if metas else set(), where)


def check_known(known: AbstractSet[str], where: Mapping[str, Any]) -> None:
    """Raise InputError if a key of ``where`` is not among the ``known`` metadata keys."""
    unknown = sorted(set(where) - known)
    if unknown:
        msg = (f"unknown metadata key(s) {', '.join(map(repr, unknown))} in the filter; "
               f"known keys: {', '.join(sorted(known)) or 'none (no item has metadata)'}")
        raise InputError(msg)


def matches(meta: Mapping[str, Any], where: Mapping[str, Any]) -> bool:
    """True when the item's metadata satisfies every pair of ``where``: equals (as strings) its value or one of a
    list's values, or meets each of its operators."""
    return matcher(where)(meta)


def matcher(where: Mapping[str, Any]) -> Callable[[Mapping[str, Any]], bool]:
    """``matches`` with ``where`` read once (its sets of strings and its bounds made once): the test for many
    items."""
    tests = [(key, _meets(wanted)) for key, wanted in where.items()]
    return lambda meta: all(key in meta and test(meta[key]) for key, test in tests)


def _meets(wanted: Any) -> Callable[[Any], bool]:
    ops = wanted.items() if isinstance(wanted, Mapping) else [("$in", wanted)]
    checks = [_meets_one(op, operand) for op, operand in ops]
    return checks[0] if len(checks) == 1 else lambda value: all(check(value) for check in checks)


def _meets_one(op: str, operand: Any) -> Callable[[Any], bool]:
    """The test of one value against one operator; a list of values (a note's tags) meets it when one of them
    does, or (an exclusion) when none is excluded."""
    if op in ("$eq", "$in", "$ne", "$nin"):
        wanted, keep = wanted_texts(operand), op in ("$eq", "$in")
        one: Callable[[Any], bool] = lambda value: (as_text(value) in wanted) == keep  # noqa: E731
    elif op == "$glob":
        pattern = glob_pattern(operand)
        one = lambda value: pattern.match(as_text(value)) is not None  # noqa: E731
    elif (bound := as_number(operand)) is None:
        text, order = as_text(operand), _ORDER[op]
        one = lambda value: bool(order(as_text(value), text))  # noqa: E731
    else:
        order = _ORDER[op]
        one = lambda value: (number := as_number(value)) is not None and order(number, bound)  # noqa: E731
    across = all if op in ("$ne", "$nin") else any
    return lambda value: across(one(v) for v in value) if isinstance(value, list | tuple) else one(value)


def glob_pattern(operand: Any) -> re.Pattern[str]:
    """``$glob``'s pattern, or its list of patterns, as one regular expression matching a whole text."""
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in _values(operand)), re.DOTALL)


def as_number(value: Any) -> float | None:
    """A finite number from a number, or from text that is one ("2020", " 1.5 "); None otherwise (booleans too)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | np.generic):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def as_text(value: Any) -> str:
    """A value as the filter compares it: booleans as JSON writes them (``true``), the rest as ``str`` does."""
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def wanted_texts(value: Any) -> set[str]:
    """The strings a filter value matches; ``True`` typed on the command line also matches a JSON ``true``."""
    texts = {as_text(v) for v in _values(value)}
    return texts | {t.lower() for t in texts if t.lower() in ("true", "false")}


def matching_mask(metas: Sequence[Mapping[str, Any]], where: Mapping[str, Any]) -> np.ndarray:
    """Boolean mask of the items matching ``where``, after checking its keys exist."""
    check_keys(metas, where)
    test = matcher(where)
    return np.fromiter((test(m) for m in metas), dtype=bool, count=len(metas))


#: The comparisons --where reads, two-character ones first ("==" as Python writes equality); ~ a shell pattern.
_CLI_OPERATORS = {">=": "$gte", "<=": "$lte", "!=": "$ne", "==": "$eq", ">": "$gt", "<": "$lt", "=": "$eq",
                  "~": "$glob"}


def parse_where(pairs: Sequence[str]) -> dict[str, Any]:
    """``["k=v", "year>=2020", "file~notes/*", ...]`` from the command line into a filter: ``key=value`` given twice
    matches either value, ``key~pattern`` twice either pattern, ``key!=value`` twice neither, and the comparisons
    ``>=``, ``>``, ``<=``, ``<`` all hold; a pair without a comparison is an error. The first of ``=<>!~`` in a pair
    ends its key, so a value may hold them."""
    equal: dict[str, list[str]] = {}
    ops: dict[str, dict[str, Any]] = {}
    for pair in pairs:
        key, sign, value = _split(pair)
        op = _CLI_OPERATORS[sign]
        if op == "$eq":
            equal.setdefault(key, []).append(value)
        elif op in ("$ne", "$glob"):
            ops.setdefault(key, {}).setdefault("$nin" if op == "$ne" else op, []).append(value)
        elif op in ops.setdefault(key, {}):
            msg = f"--where gives {key}{sign} twice; give each bound once"
            raise InputError(msg)
        else:
            ops[key][op] = value
    out: dict[str, Any] = {k: v[0] if len(v) == 1 else v for k, v in equal.items()}
    for key, given in ops.items():
        if given:
            out[key] = {**given, **({"$in": equal[key]} if key in equal else {})}
    return out


def _split(pair: str) -> tuple[str, str, str]:
    """A --where pair as its key, its comparison sign and its value."""
    at = next((i for i, c in enumerate(pair) if c in "=<>!~"), -1)
    sign = pair[at : at + 2] if pair[at : at + 2] in _CLI_OPERATORS else pair[at : at + 1]
    key = pair[:at].strip() if at > 0 else ""
    if not key or sign not in _CLI_OPERATORS:
        msg = (f"--where takes key=value, a comparison such as year>=2020, date<2024-01-01 or lang!=en, or a "
               f"pattern such as file~notes/*; got {pair!r}")
        raise InputError(msg)
    if sign == "=" and pair[at + 1 : at + 2] in ("<", ">"):  # a typo that would match the text "<..." or ">..."
        turned = pair[at + 1] + "="
        msg = f"--where {pair!r}: {'=' + pair[at + 1]} is not a comparison; write {key}{turned}{pair[at + 2:]}"
        raise InputError(msg)
    return key, sign, pair[at + len(sign):].strip()
