"""The contract every ModelSource meets."""

from __future__ import annotations

import pytest

from latentstack.sources.base import ModelInfo, ModelSource, ResolvedModel


class ModelSourceContract:
    """Subclass and provide a ``source`` fixture; set ``known_name`` to a name it resolves ('' for none)."""

    known_name = ""

    @pytest.fixture
    def source(self) -> ModelSource:
        """Override: return the model source under test."""
        raise NotImplementedError

    def test_is_model_source(self, source: ModelSource) -> None:
        """It is a ModelSource with a name and an int priority."""
        assert isinstance(source, ModelSource) and source.name and isinstance(source.priority, int)

    def test_unknown_name_is_none(self, source: ModelSource) -> None:
        """A name it does not know gives None, so the next source is asked."""
        assert source.resolve("no-such-model-anywhere-0123") is None

    def test_known_name_resolves_to_a_folder(self, source: ModelSource) -> None:
        """``known_name`` resolves to an existing folder with a stable fingerprint."""
        if not self.known_name:
            pytest.skip("this source knows no fixed name")
        found = source.resolve(self.known_name)
        assert isinstance(found, ResolvedModel) and found.path.is_dir()
        assert found.fingerprint() == found.fingerprint()

    def test_known_lists_model_infos(self, source: ModelSource) -> None:
        """``known()`` lists ModelInfo rows (possibly none)."""
        assert all(isinstance(m, ModelInfo) for m in source.known())
