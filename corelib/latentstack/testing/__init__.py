"""Contract tests a plugin author subclasses (shipped as a pytest plugin).

    from latentstack.testing import EmbedderContract

    class TestMyEmbedder(EmbedderContract):
        @pytest.fixture
        def embedder(self):
            return MyEmbedder()

Each contract checks output shape and dtype, batch-equals-single, empty input, a
save/load round trip, and that bad input raises a clear error.
"""

from latentstack.testing.classifier_contract import ClassifierContract
from latentstack.testing.embedder_contract import EmbedderContract
from latentstack.testing.index_contract import IndexContract
from latentstack.testing.registry import registry_of, registry_with

__all__ = ["ClassifierContract", "EmbedderContract", "IndexContract", "registry_of", "registry_with"]
