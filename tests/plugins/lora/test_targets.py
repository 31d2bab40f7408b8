"""Given no targets, LoRA goes on the model type's usual attention projections, and says which in its folder."""

from __future__ import annotations

import json
import warnings
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


@pytest.mark.parametrize(("fixture", "body"), [
    ("save_tiny_llama", {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}),
    ("save_tiny_gpt2", {"c_attn", "c_proj", "c_fc"}),  # Conv1D layers, not torch's Linear
])
def test_all_linear_is_every_linear_layer_of_the_body_not_the_head(fixture: str, body: set[str], tmp_path: Path) -> None:
    """PEFT's ``all-linear``: the LM head stays as it is."""
    from transformers import AutoModelForCausalLM

    from latentstack.testing import tiny_models

    model = AutoModelForCausalLM.from_pretrained(getattr(tiny_models, fixture)(tmp_path / "m"))
    assert adapted(model, targets="all-linear") == body


def test_all_linear_leaves_a_classifiers_head_out(tmp_path: Path) -> None:
    """The sequence classifier's head (``classifier``) is trained whole through modules_to_save, not adapted."""
    from transformers import AutoModelForSequenceClassification

    from latentstack.testing.tiny_models import save_tiny_bert

    model = AutoModelForSequenceClassification.from_pretrained(save_tiny_bert(tmp_path / "m"), num_labels=2)
    got = adapted(model, targets="all-linear")
    assert {"query", "key", "value", "dense"} <= got and "classifier" not in got


def test_gpt2s_conv1d_layers_are_adapted_as_transposed_weights(tmp_path: Path) -> None:
    """PEFT's ``fan_in_fan_out`` is set for Conv1D targets (else PEFT warns and flips it itself), and the saved
    adapter reloads onto a fresh model with the same outputs."""
    from transformers import AutoModelForCausalLM

    from latentstack.testing.tiny_models import save_tiny_gpt2

    path = save_tiny_gpt2(tmp_path / "m")
    lora = LoraAdapter.from_options(rank=2, targets="c_attn")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = lora.attach(AutoModelForCausalLM.from_pretrained(path)).eval()
    assert model.peft_config["default"].fan_in_fan_out
    assert not [w for w in caught if "fan_in_fan_out" in str(w.message)]
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_()
        ids = torch.tensor([[5, 6, 7, 8]])
        want = model(input_ids=ids).logits
        lora.save(model, tmp_path / "ad")
        again = lora.load(AutoModelForCausalLM.from_pretrained(path), tmp_path / "ad").eval()
        assert torch.allclose(again(input_ids=ids).logits, want, atol=1e-5)
        assert not torch.allclose(AutoModelForCausalLM.from_pretrained(path).eval()(input_ids=ids).logits, want)


def test_all_linear_stands_alone_and_an_unknown_types_error_lists_conv1d_layers(tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    from latentstack.testing.tiny_models import save_tiny_gpt2

    model = AutoModelForCausalLM.from_pretrained(save_tiny_gpt2(tmp_path / "m"))
    with pytest.raises(ConfigError, match="targets=all-linear stands alone .*drop c_attn"):
        LoraAdapter.from_options(targets="all-linear,c_attn").attach(model)
    with pytest.raises(ConfigError, match=r"its linear layers are: c_attn, c_fc, c_proj, lm_head"):
        LoraAdapter.from_options(targets="q_proj").attach(model)
