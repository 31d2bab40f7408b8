"""The onnx generator's kept KV cache (``latentstack.kept_prefix``): the last answer's GenAI generator, rewound to
the tokens a new prompt shares with the last prompt and answer (``rewind_to``, GenAI's chat mode)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from latentstack.kept_prefix import KeptPrefix

#: A GenAI generator and the tokens its KV buffer (allocated whole) has room for.
Roomed = tuple[Any, int]


def kv_bytes_per_token(folder: Path) -> int:
    """The bytes a token takes in the export's KV buffer: layers x keys and values x KV heads x head size x the past
    inputs' element size (fp32 in a CPU export)."""
    import onnx
    from onnx.helper import tensor_dtype_to_np_dtype

    from latentstack_onnx.genai_tokens import genai_model

    decoder = genai_model(folder)["decoder"]
    heads = int(decoder["num_attention_heads"])
    head = int(decoder.get("head_size") or int(decoder["hidden_size"]) // heads)
    past = decoder.get("inputs", {}).get("past_key_names", "past_key_values.%d.key") % 0
    graph = onnx.load(str(Path(folder) / decoder.get("filename", "model.onnx")), load_external_data=False).graph
    element = next((i.type.tensor_type.elem_type for i in graph.input if i.name == past), onnx.TensorProto.FLOAT)
    per_layer = 2 * int(decoder.get("num_key_value_heads") or heads) * head * tensor_dtype_to_np_dtype(element).itemsize
    return int(decoder["num_hidden_layers"]) * per_layer


class KeptGenerator(KeptPrefix[Roomed]):
    """The last answers' GenAI generators, each with its room and the token ids it holds."""

    def __init__(self, slots: int, budget_mb: int, bytes_per_token: int) -> None:
        super().__init__(slots, budget_mb)
        self.bytes_per_token = bytes_per_token

    def size(self, state: Roomed) -> int:
        """The bytes of the generator's KV buffer, allocated whole for its room."""
        return state[1] * self.bytes_per_token

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
