"""The example plugin passes latentstack's Embedder contract."""

import pytest

from latentstack.testing import EmbedderContract
from latentstack_hello.embedder import HashEmbedder


class TestHashEmbedder(EmbedderContract):
    """HashEmbedder meets every point of the Embedder contract."""

    @pytest.fixture
    def embedder(self) -> HashEmbedder:
        """A 64-bucket hashing embedder."""
        return HashEmbedder.from_options(dim=64)
