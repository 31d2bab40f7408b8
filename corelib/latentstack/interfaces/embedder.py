"""Embedder: texts -> vectors, one row per text."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import attrs

from latentstack.errors import InputError
from latentstack.interfaces.base import Component, Config


@attrs.frozen(kw_only=True)
class EmbedderConfig(Config):
    """Options every embedder understands."""

    batch_size: int = attrs.field(default=32, validator=attrs.validators.gt(0))
    show_progress: bool = True


def check_texts(texts: Iterable[str]) -> list[str]:
    """Return ``texts`` as a list of str, or raise an InputError naming the first bad item."""
    if isinstance(texts, str):
        msg = "expected a list of texts, got a single str: wrap it in a list or call embed()"
        raise InputError(msg)
    out = list(texts)
    for i, text in enumerate(out):
        if not isinstance(text, str):
            msg = f"text #{i} is {type(text).__name__}, not str: decode bytes first"
            raise InputError(msg)
    return out


class Embedder(Component):
    """Turns texts into vectors.

    Dense embedders return a float32 ``numpy.ndarray`` of shape ``(n, dim)``; sparse
    ones set ``sparse = True`` and return a ``scipy.sparse.csr_matrix``. Embedders that
    learn from a corpus set ``trainable = True`` and implement ``fit``, ``save`` and
    ``load`` without pickle. An empty list gives an array of shape ``(0, dim)``.
    """

    role: ClassVar[str] = "embedder"
    Config: ClassVar[type[EmbedderConfig]] = EmbedderConfig
    sparse: ClassVar[bool] = False
    trainable: ClassVar[bool] = False

    @property
    @abstractmethod
    def dim(self) -> int:
        """Length of one vector."""

    @abstractmethod
    def embed_batch(self, texts: Sequence[str]) -> Any:
        """Embed a list of texts; the only method a plugin must write."""

    def embed(self, text: str) -> Any:
        """Embed one text; returns a 1-d vector (or a 1-row sparse matrix)."""
        if not isinstance(text, str):
            msg = f"embed() takes one str, got {type(text).__name__}: use embed_many for lists"
            raise InputError(msg)
        return self.embed_many([text])[0]

    def embed_many(self, texts: Iterable[str]) -> Any:
        """Embed any number of texts, checking them first; same result as ``embed_batch``."""
        return self.embed_batch(check_texts(texts))

    def fingerprint(self) -> str:
        """A string that changes whenever the vectors would: model identity plus options."""
        return f"{self.name}:{sorted(self.config.to_dict().items())}"

    def fit(self, texts: Sequence[str]) -> Embedder:  # pragma: no cover - trainable only
        """Learn from a corpus (trainable embedders only)."""
        msg = f"embedder {self.name!r} does not learn from a corpus"
        raise NotImplementedError(msg)

    def save(self, path: str | Path) -> None:
        """Save what is needed to rebuild the embedder (config; fitted state if trainable)."""
        from latentstack.atomic import write_json

        Path(path).mkdir(parents=True, exist_ok=True)
        write_json(Path(path) / "embedder.json", {"name": self.name, "config": self.config.to_dict()})

    @classmethod
    def load(cls, path: str | Path) -> Embedder:
        """Rebuild an embedder saved by ``save``."""
        import json

        data = json.loads((Path(path) / "embedder.json").read_text(encoding="utf-8"))
        return cls.from_options(**data["config"])
