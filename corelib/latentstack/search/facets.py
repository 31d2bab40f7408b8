"""What a metadata filter can ask for: the values each key holds, and, when a filter matched no document, the
condition none meets.

A typo in a value (``--where lang=EN`` for ``en``) otherwise answers with nothing, as if the
query had found nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from latentstack.metadata import as_text, held_values, matcher

SHOWN = 10


def no_match_reason(metas: Iterable[Mapping[str, Any]], where: Mapping[str, Any]) -> str | None:
    """A line saying which condition of ``where`` no item meets, with the values its key holds; None when some
    item meets them all (the filter is not why nothing was found)."""
    metas, meets = list(metas), matcher(where)
    if any(meets(m) for m in metas):
        return None
    for key, wanted in where.items():
        meets = matcher({key: wanted})
        if not any(meets(m) for m in metas):
            held = sorted({as_text(v) for m in metas if key in m for v in held_values(m[key])})
            shown = ", ".join(held[:SHOWN]) + (f" and {len(held) - SHOWN} more" if len(held) > SHOWN else "")
            return f"no document's {key} meets {json.dumps(wanted, default=str)}; its values: {shown}"
    return f"no document meets all of the filter's conditions at once: {json.dumps(where, default=str)}"


def metadata_values(metas: Iterable[Mapping[str, Any]], most: int = 20) -> dict[str, dict[str, Any]]:
    """Per metadata key: how many items hold it, how many distinct values (as a filter compares them), and each
    value's count where there are at most ``most`` (what ``--where`` can ask for, as ``index info`` shows it)."""
    counts: dict[str, dict[str, int]] = {}
    holders: dict[str, int] = {}
    for meta in metas:
        for key, value in meta.items():
            holders[key] = holders.get(key, 0) + 1
            seen = counts.setdefault(key, {})
            for text in {as_text(v) for v in held_values(value)}:
                seen[text] = seen.get(text, 0) + 1
    return {key: {"documents": holders[key], "distinct": len(seen),
                  **({"values": dict(sorted(seen.items()))} if len(seen) <= most else {})}
            for key, seen in sorted(counts.items())}
