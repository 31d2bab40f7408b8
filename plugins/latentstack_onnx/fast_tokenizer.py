"""An export's tokenizer through the ``tokenizers`` library alone, so running an export never imports transformers.

It gives what latentstack.batching asks of a tokenizer: ``tokenizer(texts, truncation=True,
max_length=n)["input_ids"]`` with the special tokens, ``pad_token_id`` and ``padding_side``,
the same ids as transformers' fast tokenizer built from the same ``tokenizer.json`` (tested).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from latentstack.errors import CorruptFileError


class FastTokenizer:
    """``tokenizer.json`` and ``tokenizer_config.json`` of a saved folder."""

    def __init__(self, folder: Path) -> None:
        from tokenizers import Tokenizer

        try:
            self.backend = Tokenizer.from_file(str(Path(folder) / "tokenizer.json"))
            config = json.loads((Path(folder) / "tokenizer_config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError, Exception) as exc:  # tokenizers raises its own Exception type
            msg = f"cannot read the tokenizer in {folder}: {str(exc).splitlines()[0][:200]}; export the model again"
            raise CorruptFileError(msg) from exc
        self.backend.no_padding()
        self.padding_side = str(config.get("padding_side", "right"))
        pad = config.get("pad_token")
        self.pad_token_id = self.backend.token_to_id(pad) if isinstance(pad, str) else None

    def __call__(self, texts: Sequence[str], *, truncation: bool = True, max_length: int = 512) -> dict[str, Any]:
        """Token ids with special tokens, each cut to ``max_length`` (special tokens included)."""
        if truncation:
            self.backend.enable_truncation(max_length)
        else:
            self.backend.no_truncation()
        return {"input_ids": [e.ids for e in self.backend.encode_batch(list(texts))]}
