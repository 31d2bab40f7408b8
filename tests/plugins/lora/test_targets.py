"""Given no targets, LoRA goes on the model type's usual attention projections, and says which in its folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from latentstack.errors import ConfigError
from latentstack.storage import read_manifest
from latentstack_lora.adapter import LoraAdapter


def adapted(model: torch.nn.Module, **options: object) -> set[str]:
    """The last parts of the names of the layers LoRA went on."""
    wrapped = LoraAdapter.from_options(rank=2, **options).attach(model)
    return {n.rsplit(".", 4)[-4] for n, _ in wrapped.named_parameters() if n.endswith("lora_A.default.weight")}


@pytest.mark.parametrize(("fixture", "usual"), [
    ("save_tiny_bert", {"query", "value"}),
    ("save_tiny_mpnet", {"q", "v"}),  # MPNet is missing from PEFT's table: it was 'no module named query'
    ("save_tiny_t5_encoder", {"q", "v"}),
    ("save_tiny_llama", {"q_proj", "v_proj"}),
])
def test_no_targets_means_the_usual_attention_projections(fixture: str, usual: set[str], tmp_path: Path) -> None:
    """Each body's query and value layers, under its own names; targets given still win."""
    from transformers import AutoModel, AutoModelForTextEncoding

    from latentstack.testing import tiny_models

    path = getattr(tiny_models, fixture)(tmp_path / "m")
    loader = AutoModelForTextEncoding if "t5" in fixture else AutoModel
    assert adapted(loader.from_pretrained(path)) == usual
    first = sorted(usual)[0]
    assert adapted(loader.from_pretrained(path), targets=first) == {first}


def test_a_type_without_usual_targets_lists_its_linear_layers() -> None:
    """A model no table knows asks for targets by name."""
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    with pytest.raises(ConfigError, match=r"no usual LoRA targets are known for a model of type 'Sequential': name "
                                          r"the layers to adapt with targets=\.\.\. \(its linear layers are: 0, 2\)"):
        LoraAdapter.from_options().attach(model)


def test_the_folder_records_the_layers_chosen(tmp_path: Path) -> None:
    """The manifest names the layers the adapter is on, as PEFT's config does; the options stay as given."""
    from transformers import AutoModel

    from latentstack.testing.tiny_models import save_tiny_mpnet

    adapter = LoraAdapter.from_options(rank=2)
    adapter.save(adapter.attach(AutoModel.from_pretrained(save_tiny_mpnet(tmp_path / "m"))), tmp_path / "ad")
    assert read_manifest(tmp_path / "ad", kind="adapter").data["targets"] == ["q", "v"]
    assert sorted(json.loads((tmp_path / "ad" / "adapter_config.json").read_text())["target_modules"]) == ["q", "v"]
    assert adapter.saved_options(tmp_path / "ad")["targets"] == []
