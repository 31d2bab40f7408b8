"""The responses the server keeps (``store``, OpenAI's default), so that ``previous_response_id`` goes on from one.

Each kept response holds the id it followed, its own input items, its output items and the
response object as answered; a conversation is the items of its chain of responses, oldest
first (the ``instructions`` of earlier responses are not carried over, as OpenAI does not).
Responses live in memory, the newest ``KEPT`` of them within ``KEPT_BYTES`` of JSON, until
the server stops, or, given a ``ResponsesFile``, in that file too, read back when a server
starts on it.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from latentstack.http.errors import HttpError, bad_request

if TYPE_CHECKING:
    from latentstack.http.responses_file import ResponsesFile, Row

#: Responses kept at most, and their JSON's bytes at most (the oldest go first).
KEPT = 1000
KEPT_BYTES = 64 << 20


@attrs.frozen
class Kept:
    previous: str | None
    items: list[dict[str, Any]]  # this turn's input items, then its output items
    response: dict[str, Any]
    size: int  # bytes of its JSON
    inputs: int  # how many of ``items`` are input items


class ResponseStore:
    """The newest ``limit`` responses, by id."""

    def __init__(self, limit: int = KEPT, limit_bytes: int = KEPT_BYTES, file: ResponsesFile | None = None) -> None:
        self.limit, self.limit_bytes, self.size, self.file = limit, limit_bytes, 0, file
        self.kept: OrderedDict[str, Kept] = OrderedDict()
        if file is not None:
            for row in file.rows():
                self._hold(row)
            file.drop(self._evict())

    def keep(self, response: dict[str, Any], previous: str | None, inputs: list[dict[str, Any]]) -> None:
        """Keep ``response`` (answered to ``inputs`` after ``previous``)."""
        row: Row = (previous, [*inputs, *response["output"]], response, len(inputs))
        texts = json.dumps(row[1]), json.dumps(response)  # serialised once: sized here, written to the file
        self._hold(row, texts)
        dropped = self._evict()
        if self.file is not None:
            self.file.add(row, texts, dropped)

    def _hold(self, row: Row, texts: tuple[str, str] | None = None) -> None:
        """Hold ``row``, sized by the JSON of its items and response (``texts``, made here when not given)."""
        previous, items, response, inputs = row
        items_text, response_text = texts or (json.dumps(items), json.dumps(response))
        size = len(items_text) + len(response_text) + len("[, ]")  # len(json.dumps([items, response]))
        self.size -= self.kept.pop(response["id"]).size if response["id"] in self.kept else 0
        kept = self.kept[response["id"]] = Kept(previous, items, response, size, inputs)
        self.size += kept.size

    def _evict(self) -> list[str]:
        """Forget the oldest responses while over either limit (never the newest); their ids."""
        dropped = []
        while len(self.kept) > self.limit or (self.size > self.limit_bytes and len(self.kept) > 1):
            response_id, kept = self.kept.popitem(last=False)
            self.size -= kept.size
            dropped.append(response_id)
        return dropped

    def get(self, response_id: str, param: str | None = None) -> Kept:
        """The kept response ``response_id``; a 404 naming it when it is not (or no longer) kept."""
        kept = self.kept.get(response_id)
        if kept is None:
            until = f"in {self.file.path}" if self.file is not None else "until it stops"
            msg = (f"no response with id {response_id!r:.80} is kept here (the server keeps the newest {self.limit} "
                   f"responses sent with store true, within {self.limit_bytes >> 20} MiB, {until}): send the "
                   "conversation so far in 'input'")
            raise HttpError(404, msg, param=param, code="response_not_found")
        return kept

    def conversation(self, response_id: str) -> list[dict[str, Any]]:
        """The input and output items of ``response_id``'s chain, oldest first."""
        chain = []
        at: str | None = response_id
        while at is not None:
            kept = self.get(at, "previous_response_id")
            chain.append(kept.items)
            at = kept.previous
        return [item for items in reversed(chain) for item in items]

    def delete(self, response_id: str) -> dict[str, Any]:
        """Forget ``response_id`` (a 404 when it is not kept); OpenAI's deletion object."""
        self.size -= self.get(response_id).size
        del self.kept[response_id]
        if self.file is not None:
            self.file.drop([response_id])
        return {"id": response_id, "object": "response", "deleted": True}

    def input_page(self, response_id: str, query: Mapping[str, str]) -> dict[str, Any]:
        """OpenAI's list of ``response_id``'s own input items (not its chain's), a page of ``limit`` (1-100, 20) in
        ``order`` (desc, the default, or asc), from ``after`` or up to ``before`` (an item id)."""
        kept = self.get(response_id)
        items = [_listed(item, f"{response_id}_input{i}") for i, item in enumerate(kept.items[:kept.inputs])]
        order, limit = query.get("order", "desc"), _limit(query.get("limit", "20"))
        if order not in ("asc", "desc"):
            raise bad_request(f"'order' must be asc or desc, got {order!r:.40}", "order")
        items = items[::-1] if order == "desc" else items
        for cursor in ("after", "before"):
            if cursor in query:
                ids = [item["id"] for item in items]
                if query[cursor] not in ids:
                    raise bad_request(f"'{cursor}' names no input item of {response_id}: give an id from a page of "
                                      "this list", cursor)
                at = ids.index(query[cursor])
                items = items[at + 1:] if cursor == "after" else items[:at]
        page = items[:limit]
        return {"object": "list", "data": page, "first_id": page[0]["id"] if page else None,
                "last_id": page[-1]["id"] if page else None, "has_more": len(items) > limit}


def _limit(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 100:
        raise bad_request(f"'limit' must be a whole number from 1 to 100, got {value!r:.40}", "limit")
    return int(value)


def _listed(item: dict[str, Any], item_id: str) -> dict[str, Any]:
    """An input item as OpenAI lists it: with an id (its own, if it came with one); a message's text as a part."""
    listed = {"id": item_id, **item}
    if listed.get("type", "message") == "message":
        listed["type"] = "message"
        if isinstance(listed.get("content"), str):
            part = "output_text" if listed.get("role") == "assistant" else "input_text"
            listed["content"] = [{"type": part, "text": listed["content"]}]
        listed.setdefault("status", "completed")
    return listed
