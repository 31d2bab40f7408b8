"""LSA: truncated SVD of TF-IDF, the oldest "latent code" for documents. Dense, float32."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from latentstack.errors import InputError
from latentstack_tfidf.tfidf import TfidfConfig, TfidfEmbedder


@attrs.frozen(kw_only=True)
class LsaConfig(TfidfConfig):
    """TF-IDF options plus the number of latent dimensions."""

    components: int = attrs.field(default=256, validator=attrs.validators.gt(0))
    normalize: bool = True


class LsaEmbedder(TfidfEmbedder):
    """TF-IDF projected onto its top singular vectors, L2-normalised."""

    name = "lsa"
    Config = LsaConfig
    config: LsaConfig
    sparse = False

    def __init__(self, config: LsaConfig | None = None) -> None:
        super().__init__(config)
        self.components: np.ndarray | None = None  # (k, vocab)

    def fit(self, texts: Sequence[str]) -> LsaEmbedder:
        """Fit TF-IDF, then the SVD on its matrix."""
        self.fit_transform(texts)
        return self

    def fit_transform(self, texts: Sequence[str]) -> np.ndarray:
        """Fit TF-IDF (each text counted once), then the SVD on its matrix; the corpus's latent codes."""
        from sklearn.decomposition import TruncatedSVD

        x = super().fit_transform(texts)
        k = min(self.config.components, x.shape[0] - 1, x.shape[1] - 1)
        if k < 1:
            msg = "lsa needs at least two distinct texts to fit"
            raise InputError(msg)
        svd = TruncatedSVD(n_components=k, random_state=0).fit(x)
        self.components = svd.components_.astype(np.float32)
        return self._project(x)

    @property
    def dim(self) -> int:
        """Number of latent dimensions (0 before fitting)."""
        return 0 if self.components is None else int(self.components.shape[0])

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Dense latent codes, one row per text."""
        return self._project(super().embed_batch(texts))

    def _project(self, x: Any) -> np.ndarray:
        """TF-IDF rows onto the components (L2-normalised when configured)."""
        z = np.asarray(x @ self._components().T, dtype=np.float32)
        if self.config.normalize:
            z /= np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)
        return z

    def _fingerprint(self) -> str:
        """TF-IDF fingerprint plus the components."""
        import hashlib

        components = self._components()
        return f"lsa:{super()._fingerprint()}:{hashlib.sha256(components.tobytes()).hexdigest()[:12]}"

    def _state(self) -> tuple[object, ...]:
        return (*super()._state(), self.components)

    def _components(self) -> np.ndarray:
        if self.components is None:
            msg = "lsa is not fitted: call fit(texts) first"
            raise InputError(msg)
        return self.components

    def write_state(self, folder: Path) -> dict[str, Any]:
        """TF-IDF state plus components.npy."""
        data = super().write_state(folder)
        np.save(folder / "components.npy", self._components())
        return data

    def read_state(self, folder: Path, data: dict[str, Any]) -> None:
        """Read back what ``write_state`` wrote."""
        super().read_state(folder, data)
        self.components = np.load(folder / "components.npy", allow_pickle=False)
        self._remember(data)
