"""The five roles: Embedder, Index, Classifier, Adapter, Generator.

Each role has one abstract batch method; single-item and chunking helpers live on the
base class. Options live on a frozen attrs ``Config`` class attached to each plugin class.
"""

from latentstack.interfaces.adapter import Adapter, AdapterConfig
from latentstack.interfaces.base import Component, Config
from latentstack.interfaces.classifier import Classifier, ClassifierConfig
from latentstack.interfaces.embedder import Embedder, EmbedderConfig
from latentstack.interfaces.generator import GenerationConfig, Generator, GeneratorConfig
from latentstack.interfaces.index import Hit, Index, IndexConfig

ROLES: dict[str, type[Component]] = {
    "embedder": Embedder,
    "index": Index,
    "classifier": Classifier,
    "adapter": Adapter,
    "generator": Generator,
}

__all__ = [
    "ROLES",
    "Adapter",
    "AdapterConfig",
    "Classifier",
    "ClassifierConfig",
    "Component",
    "Config",
    "Embedder",
    "EmbedderConfig",
    "GenerationConfig",
    "Generator",
    "GeneratorConfig",
    "Hit",
    "Index",
    "IndexConfig",
]
