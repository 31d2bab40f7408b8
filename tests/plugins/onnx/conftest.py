"""Exports shared by the ONNX tests: the packaged MiniLM at int8, and a tiny random Llama for ONNX Runtime GenAI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from latentstack_onnx.decoder_export import DecoderExportConfig, export_decoder
from latentstack_onnx.export import ExportConfig, export_onnx

PROMPTS = ["What is the capital of France?", "Name a colour."]


@pytest.fixture(scope="session")
def minilm_int8(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """MiniLM exported with the default int8 recipe: its folder and the manifest data export_onnx returned."""
    out = tmp_path_factory.mktemp("minilm-onnx") / "minilm"
    return out, export_onnx(ExportConfig(model="minilm", int8=True), out)


@pytest.fixture(scope="session")
def tiny_export(tiny_llama_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny random Llama exported for ONNX Runtime GenAI in fp32."""
    out = tmp_path_factory.mktemp("genai") / "tiny-fp32"
    export_decoder(DecoderExportConfig(model=str(tiny_llama_dir), precision="fp32", probe_tokens=12), out, PROMPTS)
    return out
