"""Contract tests a plugin author subclasses (shipped as a pytest plugin), and registry helpers.

    from latentstack.testing import EmbedderContract

    class TestMyEmbedder(EmbedderContract):
        @pytest.fixture
        def embedder(self):
            return MyEmbedder()

There is a contract for every role (Embedder, dense and text Index, Classifier,
Generator, Adapter), for a classifier of several labels per text (MultiLabelClassifierContract),
for ModelSource, and for a plugin as a whole (PluginContract).
``registry_of`` / ``registry_with`` build a registry from given plugins, without entry points.
"""

from latentstack.testing.adapter_contract import AdapterContract
from latentstack.testing.classifier_contract import ClassifierContract
from latentstack.testing.embedder_contract import EmbedderContract
from latentstack.testing.generator_contract import GeneratorContract
from latentstack.testing.index_contract import IndexContract, TextIndexContract
from latentstack.testing.multilabel_contract import MultiLabelClassifierContract
from latentstack.testing.plugin_contract import PluginContract
from latentstack.testing.registry import registry_of, registry_with
from latentstack.testing.source_contract import ModelSourceContract

__all__ = [
    "AdapterContract",
    "ClassifierContract",
    "EmbedderContract",
    "GeneratorContract",
    "IndexContract",
    "ModelSourceContract",
    "MultiLabelClassifierContract",
    "PluginContract",
    "TextIndexContract",
    "registry_of",
    "registry_with",
]
