"""The ``autoencoder`` embedder: non-linear latent codes of another embedder's vectors, learnt without labels.

Its input is any registered embedder: TF-IDF over a vocabulary learnt in ``fit`` (the
default, word counts of the 2000 most frequent words as in Hinton and Salakhutdinov's
documents) or a dense one (``input=bert`` compresses MiniLM's vectors to a small code).
Saved as the input embedder's own folder, the weights in safetensors and JSON; no pickle.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from latentstack.errors import InputError, ModelMismatchError
from latentstack.interfaces import Embedder, EmbedderConfig
from latentstack.interfaces.embedder import check_texts
from latentstack.storage import part
from latentstack_autoencoder.codec import Codec, CodecConfig, fit_codec

#: The 2006 paper's document input: the most frequent words, counted once per document and weighted.
TFIDF_INPUT = {"word_ngrams": (1, 1), "char_ngrams": (0, 0), "max_features": 2000}


@attrs.frozen(kw_only=True)
class AutoencoderConfig(EmbedderConfig, CodecConfig):
    """The input embedder, the autoencoder's shape and training (CodecConfig), and the embedding options."""

    input: str = "tfidf"
    input_options: dict[str, Any] = attrs.field(factory=dict, converter=dict)
    normalize: bool = False

    def codec(self) -> CodecConfig:
        """The autoencoder's own options."""
        return CodecConfig(**{f.name: getattr(self, f.name) for f in attrs.fields(CodecConfig)})


class AutoencoderEmbedder(Embedder):
    """An MLP autoencoder's codes of the input embedder's vectors. Must be fitted first."""

    name = "autoencoder"
    Config = AutoencoderConfig
    config: AutoencoderConfig
    trainable = True

    def __init__(self, config: AutoencoderConfig | None = None) -> None:
        super().__init__(config)
        self.input: Embedder | None = None
        self.codec: Codec | None = None

    def _new_input(self) -> Embedder:
        from latentstack import get_embedder

        defaults = TFIDF_INPUT if self.config.input == "tfidf" else {}
        options = {"show_progress": self.config.show_progress, **defaults, **self.config.input_options}
        return get_embedder(self.config.input, **options)

    def fit(self, texts: Sequence[str]) -> AutoencoderEmbedder:
        """Fit the input embedder (when it learns from a corpus), then the autoencoder on its vectors."""
        texts = check_texts(texts)
        if len(texts) < 4:
            msg = f"the autoencoder needs at least 4 texts to learn from, got {len(texts)}"
            raise InputError(msg)
        source = self._new_input()
        if source.trainable:
            source.fit(texts)
        x = source.embed_many(texts)
        self.codec = fit_codec(x, self.config.codec(), desc=f"autoencoder on {source.name}",
                               show=self.config.show_progress)
        self.input = source
        return self

    def _fitted(self) -> tuple[Embedder, Codec]:
        if self.input is None or self.codec is None:
            msg = "autoencoder is not fitted: call fit(texts) first (or load a saved one)"
            raise InputError(msg)
        return self.input, self.codec

    @property
    def dim(self) -> int:
        """Width of a code."""
        return self.config.code

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Codes, one row per text."""
        source, codec = self._fitted()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        z = codec.encode(source.embed_batch(list(texts)))
        if self.config.normalize:
            z /= np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)
        return z

    def training_report(self) -> dict[str, Any]:
        """Held-out reconstruction error beside PCA's at the same code size, and the epochs."""
        return dict(self._fitted()[1].report)

    def fingerprint(self) -> str:
        """The input's fingerprint, the options and the weights."""
        source, codec = self._fitted()
        digest = hashlib.sha256(source.fingerprint().encode())
        digest.update(repr(sorted(self.config.to_dict().items())).encode())
        for key in sorted(codec.weights):
            digest.update(codec.weights[key].tobytes())
        return f"autoencoder:{digest.hexdigest()[:16]}"

    def write_state(self, folder: Path) -> dict[str, Any]:
        """input/ (a trainable input's own folder), codec.safetensors; the report goes into the manifest."""
        source, codec = self._fitted()
        if source.trainable:
            source.save(folder / "input")
        codec.save(folder / "codec.safetensors")
        return {"input_fingerprint": source.fingerprint(), "report": codec.report}

    def read_state(self, folder: Path, data: dict[str, Any]) -> None:
        """Read back what ``write_state`` wrote; an input that now embeds differently is a ModelMismatchError."""
        cls = get_embedder_class(self.config.input)
        source = cls.load(part(folder, "input")) if cls.trainable else self._new_input()
        if source.fingerprint() != data["input_fingerprint"]:
            msg = (f"the autoencoder at {folder} was trained on {self.config.input} vectors with fingerprint "
                   f"{data['input_fingerprint']}, but that embedder now gives {source.fingerprint()}: "
                   "install the original model or fit again")
            raise ModelMismatchError(msg)
        codec = Codec.load(folder / "codec.safetensors", data["report"])
        if codec.code != self.config.code:
            msg = f"codec.safetensors holds {codec.code}-number codes, the manifest says {self.config.code}"
            raise ValueError(msg)
        self.input, self.codec = source, codec


def get_embedder_class(name: str) -> type[Embedder]:
    """The registered embedder class called ``name`` (an unknown name is the registry's one-line error)."""
    from latentstack.registry import get_registry

    return get_registry().get_class("embedder", name)
