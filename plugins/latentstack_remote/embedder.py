"""An embedding model served over OpenAI's embeddings API, as an Embedder (``openai``).

Ollama's embedding models (``nomic-embed-text``), vLLM, llama.cpp's server, another
latentstack server or OpenAI's own (``text-embedding-3-small``, with ``$OPENAI_API_KEY``)
embed the texts of an index or a classifier. The texts go in batches of ``batch_size``; the
vectors come back float32. The fingerprint is the model's name (and ``dimensions``), not
the address, so an index keeps answering when its server moves, and the name must identify
the model. The key is read from ``$OPENAI_API_KEY`` only, never stored in a saved index.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np

from latentstack.errors import ConfigError
from latentstack.interfaces import Embedder, EmbedderConfig
from latentstack.progress import progress
from latentstack_remote.client import OLLAMA, client, explained


@attrs.frozen(kw_only=True)
class RemoteEmbedderConfig(EmbedderConfig):
    """Which server and which of its embedding models."""

    model: str = ""
    base_url: str = OLLAMA
    #: Ask the server for vectors this long (OpenAI's text-embedding-3 models can shorten theirs); 0: the model's own.
    dimensions: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    batch_size: int = attrs.field(default=64, validator=attrs.validators.gt(0))
    timeout: float = attrs.field(default=600.0, validator=attrs.validators.gt(0))


class RemoteEmbedder(Embedder):
    """Vectors of ``config.model`` from the OpenAI-compatible server at ``config.base_url``."""

    name = "openai"
    Config = RemoteEmbedderConfig
    config: RemoteEmbedderConfig

    def __init__(self, config: RemoteEmbedderConfig | None = None) -> None:
        super().__init__(config)
        self._client: Any = None
        self._dim: int | None = None

    def _need_model(self) -> str:
        if not self.config.model:
            msg = (f"the openai embedder needs a model: the name of an embedding model the server at "
                   f"{self.config.base_url} serves (--model NAME, or -o model=NAME)")
            raise ConfigError(msg)
        return self.config.model

    def _connect(self) -> Any:
        self._need_model()
        if self._client is None:
            self._client = client(self.config.base_url, "", self.config.timeout)
        return self._client

    @property
    def dim(self) -> int:
        """The vectors' length, asked of the server once."""
        if self._dim is None:
            self._dim = int(self._request(["dimension probe"]).shape[1])
        return self._dim

    def fingerprint(self) -> str:
        """The model's name and the length asked for: the vectors do not depend on the server's address. Without a
        model there are no vectors to name: a ConfigError, as for ``embed``."""
        return f"openai:{self._need_model()}:{self.config.dimensions or 'native'}"

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """The texts' vectors, ``batch_size`` texts a request."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        size = self.config.batch_size
        starts = range(0, len(texts), size)
        parts = [self._request(texts[a:a + size]) for a in progress(
            starts, desc="embedding", enabled=self.config.show_progress and len(starts) > 1)]
        out = np.vstack(parts)
        self._dim = int(out.shape[1])
        return out

    def _request(self, texts: Sequence[str]) -> np.ndarray:
        api, c = self._connect(), self.config
        extra = {"dimensions": c.dimensions} if c.dimensions else {}
        with explained(c.base_url, c.model, "embedding"):
            got = api.embeddings.create(model=c.model, input=list(texts), encoding_format="float", **extra)
        rows = sorted(got.data, key=lambda d: d.index)
        return np.asarray([d.embedding for d in rows], dtype=np.float32)
