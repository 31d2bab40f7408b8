"""The onnx generator's kept KV cache (``latentstack.kept_prefix``): the last answer's GenAI generator, rewound to
the tokens a new prompt shares with the last prompt and answer (``rewind_to``, GenAI's chat mode)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from latentstack.kept_prefix import KeptPrefix

#: A GenAI generator and the tokens its KV buffer (allocated whole) has room for.
Roomed = tuple[Any, int]


class KeptGenerator(KeptPrefix[Roomed]):
    """The last answers' GenAI generators, each with its room and the token ids it holds."""

    def take_generator(self, key: str, ids: Sequence[int], need: int, model: Any, window: int,
                       floor: int = 0) -> tuple[Roomed, int]:
        """A generator with room for ``need`` tokens holding the first ``n`` of ``ids``, and ``n``: the kept one
        rewound to the tokens it shares with ``ids`` where it has the room, else a new one and 0. A new one has
        room for twice ``need`` (within ``window``), so a chat's next turns fit it; a sliding-window model's
        (``floor``, its window) is made as before, and never kept."""
        from latentstack_onnx.genai_decode import new_generator

        kept = None if floor else self.take(key, ids, lambda roomed, _: roomed[1] >= need)
        if kept is not None:
            (generator, room), n = kept
            generator.rewind_to(n)
            return (generator, room), n
        room = max(need, floor) if floor else min(window, 2 * need)
        return (new_generator(model, room, floor), room), 0

    def keep_generator(self, key: str, ids: Sequence[int], roomed: Roomed, floor: int = 0) -> None:
        """Keep the generator for the next answer; ``ids`` are the tokens read so far (it holds as many of them as
        its token count)."""
        if not floor:
            self.keep(key, ids[:roomed[0].token_count()], roomed)
