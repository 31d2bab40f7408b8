"""An extractive Generator: answers with the first sentence of the first numbered passage, cited."""

from __future__ import annotations

import re
from collections.abc import Iterator

from latentstack.errors import InputError
from latentstack.interfaces import GenerationConfig, Generator
from latentstack.interfaces.generator import Messages, as_messages, as_options, refuse_schema


class FirstSentenceGenerator(Generator):
    """Needs no model: a stand-in that shows the Generator contract (and makes RAG testable offline)."""

    name = "hello-extract"

    def stream(self, prompt: str | Messages, options: GenerationConfig | None = None) -> Iterator[str]:
        """Yield the answer word by word; stop strings end it, max_new_tokens bounds it (in words)."""
        options = as_options(options)
        refuse_schema(self.name, options)  # it cannot hold an answer to a JSON schema: refused, never free text
        messages = as_messages(prompt)
        text = messages[-1]["content"] if messages else ""
        if not text.strip():
            msg = "the prompt is empty: give the generator something to answer"
            raise InputError(msg)
        numbered = re.search(r"^\[(\d+)\] (.+)$", text, flags=re.M)
        if numbered:
            sentence = re.split(r"(?<=[.!?])\s", numbered.group(2))[0]
            answer = f"{sentence} [{numbered.group(1)}]"
        else:
            answer = text.strip().split("\n")[0]
        for stop in options.stop:
            answer = answer.split(stop)[0] if stop else answer
        for i, word in enumerate(answer.split(" ")[: options.max_new_tokens]):
            yield word if i == 0 else " " + word
