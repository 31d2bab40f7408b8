"""One int8 export of the packaged MiniLM, shared by the tests that need the real model exported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from latentstack_onnx.export import ExportConfig, export_onnx


@pytest.fixture(scope="session")
def minilm_int8(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """MiniLM exported with the default int8 recipe: its folder and the manifest data export_onnx returned."""
    out = tmp_path_factory.mktemp("minilm-onnx") / "minilm"
    return out, export_onnx(ExportConfig(model="minilm", int8=True), out)
