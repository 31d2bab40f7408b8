"""Text in and out of an ONNX Runtime GenAI export: its chat template, tokenizer and stop tokens (no transformers)."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

from latentstack.chat_template import fold_system, takes_system
from latentstack.errors import InputError
from latentstack.interfaces.generator import Messages, as_messages


def genai_model(folder: Path) -> dict[str, Any]:
    """The ``model`` section of ``folder/genai_config.json``, which the functions below read."""
    return dict(json.loads((Path(folder) / "genai_config.json").read_text())["model"])


def stop_ids(model: dict[str, Any]) -> set[int]:
    """The token ids that end an answer: eos_token_id (one or a list)."""
    eos = model["eos_token_id"]
    return {int(e) for e in (eos if isinstance(eos, list) else [eos])}


def kv_floor(model: dict[str, Any]) -> int:
    """The fewest tokens a generator's KV cache may hold: a sliding-window model's window (Gemma 2 and 3, Mistral),
    which GenAI refuses to run below, up to the context length; 0 for another model."""
    window = int((model["decoder"].get("sliding_window") or {}).get("window_size") or 0)
    return min(window, int(model["context_length"]))


def load_model(folder: Path) -> Any:
    """The export's GenAI model, its CPU session on every core this process may use.

    GenAI's own default may run fewer threads than the process has cores, leaving some idle.
    """
    import onnxruntime_genai as og

    from latentstack.cpu import usable_cores

    config = og.Config(str(folder))
    config.overlay(json.dumps({"model": {"decoder": {"session_options": {"intra_op_num_threads": usable_cores()}}}}))
    return og.Model(config)


class GenaiText:
    """The export's chat template and tokenizer, through ONNX Runtime GenAI's own (Rust/C++) tokenizer."""

    def __init__(self, folder: Path, model: Any = None) -> None:
        import onnxruntime_genai as og

        self.folder = Path(folder)
        self.model = model if model is not None else load_model(folder)
        self.tokenizer = og.Tokenizer(self.model)
        config = genai_model(folder)
        self.stops = stop_ids(config)
        self.context = int(config["context_length"])  # tokens (prompt and answer) the model attends to
        self.floor = kv_floor(config)
        self.vocab_size = int(config["vocab_size"])  # rows of the model's logits

    def prompt_ids(self, prompt: str | Messages) -> list[int]:
        """The chat-templated prompt's token ids, ready for the answer."""
        messages = as_messages(prompt)
        if not messages or not any(str(m.get("content", "")).strip() for m in messages):
            msg = "the prompt is empty: give the model something to answer"
            raise InputError(msg)
        if not self.renders_system:
            messages = fold_system(messages)
        text = self.tokenizer.apply_chat_template(json.dumps(messages), add_generation_prompt=True)
        return [int(t) for t in self.tokenizer.encode(text)]

    @cached_property
    def renders_system(self) -> bool:
        """Whether the export's chat template renders a system message (Gemma's refuses one)."""
        return takes_system(lambda m: self.tokenizer.apply_chat_template(json.dumps(m), add_generation_prompt=True))

    def count(self, text: str) -> int:
        """Tokens in a piece of text, no chat markup."""
        return len(self.tokenizer.encode(text)) if text else 0

    @cached_property
    def backend(self) -> Any:
        """The export's tokenizer.json as a ``tokenizers.Tokenizer`` (token texts for log-probabilities, and
        llguidance's view of the vocabulary for JSON schemas)."""
        from tokenizers import Tokenizer

        return Tokenizer.from_file(str(self.folder / "tokenizer.json"))

    def feeder(self) -> Callable[[int], str]:
        """A fresh incremental decoder: a token id in, the text it adds out ('' while a character is incomplete)."""
        stream = self.tokenizer.create_stream()
        return lambda token: str(stream.decode(int(token)))
