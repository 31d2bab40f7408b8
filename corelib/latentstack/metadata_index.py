"""A payload index over items' metadata: each key's values mapped to the items holding them.

``MetadataIndex(metas).mask(where)`` equals ``matching_mask(metas, where)`` (same filters, same
errors) without testing every item: an equality or exclusion is a lookup of the filter's
values, a bound a binary search over the key's values in order. Keep one for items that do
not change between searches, as vector databases keep a payload index beside their vectors:
a key is indexed at the first filter on it (one pass over the items, cheaper than testing
them; over the distinct mappings when items share them, as a document's passages do), and
every later filter on it is lookups.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from latentstack.metadata import as_number, as_text, check_keys, check_where, glob_pattern, held_values, wanted_texts

_NONE = np.zeros(0, dtype=np.int64)
#: The distinct metadata objects, and for each the items that hold it.
Groups = tuple[list[Mapping[str, Any]], list[np.ndarray]]


class _Column:
    """One key: the items holding each distinct value; made when first needed, the values in text order, and the
    numbers among them in numeric order."""

    def __init__(self, metas: Sequence[Mapping[str, Any]], key: str, groups: Groups | None) -> None:
        self.holding = np.zeros(len(metas), dtype=bool)
        self.positions: dict[Any, np.ndarray] = {}  # (type, value) -> the items holding it, 8 bytes each
        if groups is None:  # a mapping per item: one pass
            held: dict[Any, array[int]] = {}
            holders = [pos for pos, meta in enumerate(metas) if key in meta]
            self.holding[holders] = True
            for pos in holders:
                for one in held_values(metas[pos][key]):
                    at = _slot(one)
                    kept = held.get(at)
                    if kept is None:
                        held[at] = array("q", (pos,))
                    else:
                        kept.append(pos)
            self.positions = {at: np.frombuffer(items, dtype=np.int64) for at, items in held.items()}
        else:  # a pass over the distinct mappings, each with the items that share it
            parts: dict[Any, list[np.ndarray]] = {}
            for meta, items in zip(*groups, strict=True):
                if key in meta:
                    self.holding[items] = True
                    for one in held_values(meta[key]):
                        parts.setdefault(_slot(one), []).append(items)
            self.positions = {at: _joined(items) for at, items in parts.items()}
        self._texts: dict[str, list[np.ndarray]] | None = None
        self._arrays: dict[str, np.ndarray] = {}
        self._text_order: tuple[list[str], np.ndarray, np.ndarray] | None = None
        self._number_order: tuple[np.ndarray, np.ndarray] | None = None

    def texts(self) -> dict[str, list[np.ndarray]]:
        """Each text a value compares as, and the items of the values with that text ("2020" and 2020)."""
        if self._texts is None:  # made whole, then kept: a search on another thread never sees it half made
            texts: dict[str, list[np.ndarray]] = {}
            for (_, value), held in self.positions.items():
                texts.setdefault(as_text(value), []).append(held)
            self._texts = texts
        return self._texts

    def holding_text(self, text: str) -> np.ndarray:
        """The items holding a value with this text (kept: the next filter asks again)."""
        if text not in self._arrays:
            self._arrays[text] = _joined(self.texts().get(text, []))
        return self._arrays[text]

    def text_order(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """The distinct texts sorted, where each one's items start in the third array, and those items."""
        if self._text_order is None:
            texts = self.texts()
            ordered = sorted(texts)
            sizes = [sum(len(part) for part in texts[t]) for t in ordered]
            starts = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)])
            self._text_order = ordered, starts, _joined([part for t in ordered for part in texts[t]])
        return self._text_order

    def number_order(self) -> tuple[np.ndarray, np.ndarray]:
        """Every number held, in order, and the item holding each."""
        if self._number_order is None:
            pairs = [(n, held) for (_, value), held in self.positions.items() if (n := as_number(value)) is not None]
            values = np.repeat(np.array([n for n, _ in pairs], dtype=np.float64), [len(held) for _, held in pairs])
            items = _joined([held for _, held in pairs])
            order = np.argsort(values, kind="stable")
            self._number_order = values[order], items[order]
        return self._number_order


class MetadataIndex:
    """Answers metadata filters over a fixed sequence of items by lookups (see the module's docstring). The items
    must not change while the index is used: make a new one when they do."""

    def __init__(self, metas: Sequence[Mapping[str, Any]]) -> None:
        self.metas, self.n = metas, len(metas)
        self.columns: dict[str, _Column] = {}
        self._groups: Groups | None = None
        self._grouped = False  # _groups found (at the first column)

    def _column(self, key: str) -> _Column:
        column = self.columns.get(key)
        if column is None:
            if not self._grouped:
                self._groups, self._grouped = _shared(self.metas), True
            column = self.columns.setdefault(key, _Column(self.metas, key, self._groups))
        return column

    def mask(self, where: Mapping[str, Any]) -> np.ndarray:
        """Boolean mask of the items matching ``where``, after checking its keys exist."""
        check_where(where)
        columns = {key: self._column(key) for key in where}
        if not all(column.holding.any() for column in columns.values()):  # a key no item holds: name the known
            check_keys(self.metas, where)
        out = np.ones(self.n, dtype=bool)
        for key, wanted in where.items():
            ops = wanted.items() if isinstance(wanted, Mapping) else [("$in", wanted)]
            for op, operand in ops:
                out &= self._meets(columns[key], op, operand)
        return out

    def _meets(self, column: _Column, op: str, operand: Any) -> np.ndarray:
        """Items of which some value meets ``op`` (an exclusion: items holding the key, none of it excluded)."""
        if op in ("$eq", "$in", "$ne", "$nin"):
            found = np.zeros(self.n, dtype=bool)
            for text in wanted_texts(operand):
                found[column.holding_text(text)] = True
            return found if op in ("$eq", "$in") else column.holding & ~found
        if op == "$glob":  # each matching value's items marked as they are kept, not joined and kept again
            pattern, found = glob_pattern(operand), np.zeros(self.n, dtype=bool)
            for text, parts in column.texts().items():
                if pattern.match(text) is not None:
                    for items in parts:
                        found[items] = True
            return found
        bound = as_number(operand)
        if bound is None:
            ordered, starts, items = column.text_order()
            lo, hi = _span(ordered, op, as_text(operand))
            chosen = items[starts[lo] : starts[hi]]
        else:
            values, items = column.number_order()
            lo, hi = _span(values, op, bound)
            chosen = items[lo:hi]
        out = np.zeros(self.n, dtype=bool)
        out[chosen] = True
        return out


def _slot(one: Any) -> tuple[type, Any]:
    """Where a value's items are kept: by type and value; an unhashable value (a dict) as its text."""
    try:
        hash(one)
    except TypeError:
        return (str, as_text(one))
    return (type(one), one)


def _shared(metas: Sequence[Mapping[str, Any]]) -> Groups | None:
    """The distinct mapping objects and the items holding each, when most items hold the same object as the item
    before them (a document's passages, added together)."""
    objects = np.fromiter(map(id, metas), dtype=np.uint64, count=len(metas))
    if np.count_nonzero(objects[1:] == objects[:-1]) * 2 < len(metas):
        return None
    distinct, first, inverse = np.unique(objects, return_index=True, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(distinct) + 1))
    return [metas[i] for i in first.tolist()], [order[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else _NONE


def _span(ordered: Any, op: str, bound: Any) -> tuple[int, int]:
    """Where the values of a sorted sequence (list or array) that meet ``value op bound`` start and end."""
    right = op in ("$gt", "$lte")  # past the values equal to the bound
    if isinstance(ordered, np.ndarray):
        at = int(np.searchsorted(ordered, bound, side="right" if right else "left"))
    else:
        at = (bisect.bisect_right if right else bisect.bisect_left)(ordered, bound)
    return (at, len(ordered)) if op in ("$gt", "$gte") else (0, at)
