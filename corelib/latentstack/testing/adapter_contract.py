"""The contract every Adapter meets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from latentstack.errors import LatentstackError, ModelMismatchError
from latentstack.interfaces import Adapter


class AdapterContract:
    """Subclass and provide ``adapter`` and ``base_model`` fixtures, and ``outputs(model)``.

    ``base_model`` returns a fresh base model each time it is called (a callable fixture);
    ``outputs(model)`` runs the model on fixed inputs and returns a float tensor or array.
    """

    atol = 1e-4

    @pytest.fixture
    def adapter(self) -> Adapter:
        """Override: return the adapter under test."""
        raise NotImplementedError

    @pytest.fixture
    def base_model(self) -> Any:
        """Override: return a function that builds a fresh base model."""
        raise NotImplementedError

    def outputs(self, model: Any) -> Any:
        """Override: the model's output on fixed inputs."""
        raise NotImplementedError

    def _trained(self, adapter: Adapter, base_model: Any) -> Any:
        import torch

        model = adapter.attach(base_model())
        with torch.no_grad():
            for p in model.parameters():
                if p.requires_grad:
                    p.add_(0.05 * torch.randn_like(p))  # as if trained: the adapter now changes outputs
        return model

    def test_attach_trains_few_parameters(self, adapter: Adapter, base_model: Any) -> None:
        """After attach only a small share of the parameters is trainable."""
        trainable, total = adapter.count_parameters(adapter.attach(base_model()))
        assert 0 < trainable < total / 2

    def test_save_load_into_a_fresh_model(self, adapter: Adapter, base_model: Any, tmp_path: Path) -> None:
        """A saved adapter loaded onto a fresh base model gives the adapted outputs; its options come back."""
        import numpy as np

        model = self._trained(adapter, base_model)
        adapter.save(model, tmp_path / "ad", base_fingerprint="base-a")
        again = adapter.load(base_model(), tmp_path / "ad", base_fingerprint="base-a")
        np.testing.assert_allclose(np.asarray(self.outputs(again)), np.asarray(self.outputs(model)), atol=self.atol)
        assert adapter.Config(**adapter.saved_options(tmp_path / "ad")) == adapter.config

    def test_merge_keeps_the_outputs(self, adapter: Adapter, base_model: Any) -> None:
        """Merging folds the adapter into plain weights without changing what the model computes."""
        import numpy as np

        model = self._trained(adapter, base_model)
        before = np.asarray(self.outputs(model))
        np.testing.assert_allclose(np.asarray(self.outputs(adapter.merge(model))), before, atol=self.atol)

    def test_another_base_is_refused(self, adapter: Adapter, base_model: Any, tmp_path: Path) -> None:
        """Loading onto a base model with another fingerprint is a ModelMismatchError."""
        adapter.save(self._trained(adapter, base_model), tmp_path / "ad", base_fingerprint="base-a")
        with pytest.raises(ModelMismatchError):
            adapter.load(base_model(), tmp_path / "ad", base_fingerprint="base-b")

    def test_a_folder_that_is_no_adapter_is_refused(self, adapter: Adapter, base_model: Any, tmp_path: Path) -> None:
        """An empty folder is a one-line LatentstackError."""
        (tmp_path / "empty").mkdir()
        with pytest.raises(LatentstackError) as err:
            adapter.load(base_model(), tmp_path / "empty")
        assert "\n" not in str(err.value)
