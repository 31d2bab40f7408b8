"""Items' metadata kept once for all the items that share it, in memory and in a saved folder.

A collection gives every passage of a document the same metadata mapping. An index that copied it per item held
a document's metadata once per passage, wrote it so, and parsed every copy at each load. ``shared_copies`` copies
each distinct mapping once; ``pack`` writes the distinct mappings and, per item, which one it holds, and
``unpack`` reads them back as shared dicts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def _distinct(rows: Sequence[Mapping[str, Any]]) -> tuple[list[Mapping[str, Any]], list[int]]:
    """The distinct row objects, and each row's place among them."""
    where: dict[int, int] = {}
    values: list[Mapping[str, Any]] = []
    of = []
    for row in rows:
        at = where.get(id(row))
        if at is None:
            at = where[id(row)] = len(values)
            values.append(row)
        of.append(at)
    return values, of


def shared_copies(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A dict copy of each row, made once for the rows that are the same object (a document's passages)."""
    values, of = _distinct(rows)
    copies = [dict(value) for value in values]
    return [copies[i] for i in of]


def pack(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """The distinct rows (by object) as ``values``, and each row's place among them as ``of``: JSON."""
    values, of = _distinct(rows)
    return {"values": values, "of": of}


def unpack(packed: Mapping[str, Any], n: int) -> list[dict[str, Any]]:
    """The ``n`` rows ``pack`` wrote, those that shared one value sharing one dict; a ValueError if it does not
    hold ``n`` rows of its values."""
    values, of = packed.get("values"), packed.get("of")
    if not isinstance(values, list) or not isinstance(of, list) or len(of) != n:
        msg = f"the metadata holds {len(of) if isinstance(of, list) else 'no'} rows, not {n}"
        raise ValueError(msg)
    if set(map(type, values)) - {dict} or set(map(type, of)) - {int} or (of and not 0 <= min(of) <= max(of) < len(values)):
        msg = "the metadata's rows point outside its values"
        raise ValueError(msg)
    return [values[i] for i in of]
