"""Embedder: texts -> vectors, one row per text."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import attrs

from latentstack.errors import ConfigError, InputError
from latentstack.interfaces.base import Component, Config
from latentstack.textfile import SURROGATE_HELP, lone_surrogate


@attrs.frozen(kw_only=True)
class EmbedderConfig(Config):
    """Options every embedder understands."""

    batch_size: int = attrs.field(default=32, validator=attrs.validators.gt(0))
    show_progress: bool = True


def check_texts(texts: Iterable[str]) -> list[str]:
    """Return ``texts`` as a list of str, or raise an InputError naming the first bad item."""
    if isinstance(texts, str):
        msg = "expected a list of texts, got a single str: wrap it in a list"
        raise InputError(msg)
    if not isinstance(texts, Iterable):
        msg = f"expected a list of texts, got {type(texts).__name__}"
        raise InputError(msg)
    if type(texts).__name__ == "DataFrame":  # iterating one gives its column names
        msg = "expected a list of texts, got a DataFrame: give its text column (df['text'])"
        raise InputError(msg)
    out = list(texts)
    for i, text in enumerate(out):
        if not isinstance(text, str):
            msg = f"text #{i} is {type(text).__name__}, not str: decode bytes first"
            raise InputError(msg)
        found = lone_surrogate(text)
        if found:
            msg = f"text #{i} holds {found}, {SURROGATE_HELP}"
            raise InputError(msg)
    return out


@attrs.frozen
class EncoderSource:
    """A transformers encoder behind an embedder: enough to export it and check the export."""

    path: Path
    fingerprint: str
    max_tokens: int
    pooling: str
    normalize: bool
    adapter: str = ""
    #: A torch module applied to the pooled vectors before normalising (sentence-transformers' Dense
    #: projections), or None.
    head: Any = None


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
            todo = "decode it first" if isinstance(text, (bytes, bytearray)) else "use embed_many for lists"
            msg = f"embed() takes one str, got {type(text).__name__}: {todo}"
            raise InputError(msg)
        return self.embed_many([text])[0]

    def embed_many(self, texts: Iterable[str], kind: str | None = "") -> Any:
        """Embed any number of texts, checking them first: ``embed_batch`` of the texts with the ``kind`` prompt
        (see ``prompt``) before each; ``kind`` None embeds them as given (any prompt is in them already)."""
        return self.embed_batch(self.prompted(check_texts(texts), kind))

    def prompt(self, kind: str) -> str:
        """The text put before each text embedded as ``kind``: "query" (a search query), "document" (a passage
        indexed) or "" (any other use: features, ``latentstack embed``). "" (no prompt) by default; models
        trained with instructions name theirs (E5 is trained on "query: " and "passage: ")."""
        return ""

    def prompted(self, texts: Sequence[str], kind: str | None) -> list[str]:
        """``texts`` with the ``kind`` prompt before each (as given for ``kind`` None or an empty prompt)."""
        prompt = self.prompt(kind) if kind is not None else ""
        return [prompt + text for text in texts] if prompt else list(texts)

    def count_truncated(self, texts: Sequence[str]) -> int:
        """How many of ``texts`` are longer than the embedder reads, so that their ends do not reach their
        vectors (0, the default, for embedders that read texts of any length)."""
        return 0

    def token_counts(self, texts: Sequence[str]) -> list[int] | None:
        """How many tokens the model reads of each of ``texts`` (after any cut), the usage the HTTP server reports;
        None, the default, for embedders without tokens."""
        return None

    def fingerprint(self) -> str:
        """A string that changes whenever the vectors would: model identity plus options."""
        return f"{self.name}:{sorted(self.config.to_dict().items())}"

    def fit(self, texts: Sequence[str]) -> Embedder:  # pragma: no cover - trainable only
        """Learn from a corpus (trainable embedders only)."""
        msg = f"embedder {self.name!r} does not learn from a corpus"
        raise NotImplementedError(msg)

    def fit_transform(self, texts: Sequence[str]) -> Any:
        """``fit(texts)``, then the rows of ``texts``; trainable embedders may do both in one pass."""
        return self.fit(texts).embed_many(texts)

    def source_fingerprint(self) -> str:
        """The fingerprint of the embedder whose vectors this one reproduces (itself by default).

        An exported runtime (ONNX) of another embedder returns that embedder's
        fingerprint, so features saved with one can be computed by the other.
        """
        return self.fingerprint()

    def runtime_info(self) -> dict[str, str]:
        """How the embedder runs here when it chose that itself (e.g. the dtype ``auto`` picked); {} by default."""
        return {}

    def encoder_source(self) -> EncoderSource:
        """What an exporter needs to rebuild this embedder elsewhere (optional capability).

        Embedders that run a transformers encoder return its folder and pooling; the
        default raises ConfigError: this embedder cannot be exported.
        """
        msg = f"embedder {self.name!r} runs no exportable transformers encoder; export a `bert`-style embedder"
        raise ConfigError(msg)

    def write_state(self, folder: Path) -> dict[str, Any]:
        """Write fitted state into ``folder`` (trainable embedders); returns data for the manifest."""
        return {}

    def read_state(self, folder: Path, data: dict[str, Any]) -> None:
        """Read back what ``write_state`` wrote (``data`` is what it returned)."""

    def save(self, path: str | Path) -> None:
        """Save the config (and fitted state) as a component folder, atomically."""
        from latentstack.storage import component_dir, write_manifest

        with component_dir(path, "embedder") as tmp:
            data = self.write_state(tmp)
            write_manifest(tmp, kind="embedder", plugin=self.name, config=self.config.to_dict(), data=data)

    @classmethod
    def load(cls, path: str | Path) -> Embedder:
        """Rebuild an embedder saved by ``save``; a damaged folder is a one-line CorruptFileError."""
        from latentstack.storage import read_manifest, reading

        manifest = read_manifest(path, kind="embedder", plugin=cls.name)
        with reading(manifest.path, f"{cls.name} embedder"):
            emb = cls.from_options(**manifest.config)
            emb.read_state(manifest.path, manifest.data)
        return emb
