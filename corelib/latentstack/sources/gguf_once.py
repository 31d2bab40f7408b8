"""Read a GGUF file once while transformers converts it.

transformers opens the file anew for the tokenizer, the config and the weights (``gguf.GGUFReader``
builds a view of every metadata field each time: the vocabulary and merges are most of the work), and
builds gguf's tensor-name table again for every submodule of the model. Both are pure functions of their
arguments, so while :func:`gguf_read_once` is active each is computed once and shared. transformers
imports both names from ``gguf`` at call time, which is where they are replaced; if a later version
imports them otherwise, the conversion is merely as slow as before.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_ONE_AT_A_TIME = threading.Lock()  # two threads converting would each restore the other's replacement


@contextmanager
def gguf_read_once() -> Iterator[None]:
    """While active, ``gguf.GGUFReader(path)`` returns one reader per path and the tensor-name map is cached;
    one thread at a time."""
    import gguf

    with _ONE_AT_A_TIME:
        reader, name_map = gguf.GGUFReader, gguf.get_tensor_name_map
        readers: dict[tuple[str, str], Any] = {}

        def shared_reader(path: Any, mode: str = "r") -> Any:
            key = (str(path), mode)
            if key not in readers:
                readers[key] = reader(path, mode)  # type: ignore[arg-type]
            return readers[key]

        gguf.GGUFReader = shared_reader  # type: ignore[assignment,misc]
        gguf.get_tensor_name_map = functools.cache(name_map)
        try:
            yield
        finally:
            gguf.GGUFReader, gguf.get_tensor_name_map = reader, name_map  # type: ignore[misc]
