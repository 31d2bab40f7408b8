"""The lora adapter on a tiny BERT: counts, save/load, merge, unload, wrong base model."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from latentstack.errors import ConfigError, CorruptFileError, InputError, ModelMismatchError
from latentstack.testing import AdapterContract
from latentstack_lora.adapter import LoraAdapter


def tiny(path: Path) -> torch.nn.Module:
    """The tiny BERT as a plain encoder."""
    from transformers import AutoModel

    return AutoModel.from_pretrained(path).eval()


def batch() -> dict[str, torch.Tensor]:
    """A fixed batch of token ids."""
    return {"input_ids": torch.tensor([[2, 40, 41, 42, 3]]), "attention_mask": torch.ones(1, 5, dtype=torch.long)}


def perturb(model: torch.nn.Module) -> None:
    """Give the (zero-initialised) B matrices values so the adapter changes the output."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5)


def test_attach_counts_only_adapters(tiny_bert_dir: Path) -> None:
    """After attach, only the LoRA matrices train: r*(in+out) per target per layer."""
    adapter = LoraAdapter.from_options(rank=4, targets=("query", "value"))
    model = adapter.attach(tiny(tiny_bert_dir))
    trainable, total = adapter.count_parameters(model)
    assert trainable == 2 * 2 * 4 * (32 + 32)  # 2 layers x 2 targets x r(in+out)
    assert trainable < 0.1 * total


def test_a_target_the_model_lacks_names_its_linear_layers(tiny_bert_dir: Path) -> None:
    """A misspelt target is a ConfigError listing the model's linear layers (it was PEFT's exception)."""
    adapter = LoraAdapter.from_options(rank=4, targets=("query", "q_proj"))
    with pytest.raises(ConfigError, match=r"no module named 'q_proj' to adapt; its linear layers are: .*query"):
        adapter.attach(tiny(tiny_bert_dir))


def test_misuse_is_one_line(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """A model that is not one, a second attach, and merging or saving a plain model were PEFT's or Python's errors
    (or a nested adapter, or a whole model saved as an adapter)."""
    adapter = LoraAdapter.from_options(rank=2)
    with pytest.raises(InputError, match="attaches to a torch model .* got str"):
        adapter.attach("bert")
    with pytest.raises(InputError, match="attaches to a torch model .* got str"):  # was an AttributeError
        LoraAdapter.from_options(targets="all-linear").attach("bert")
    wrapped = adapter.attach(tiny(tiny_bert_dir))
    with pytest.raises(InputError, match="already carries an adapter"):
        adapter.attach(wrapped)
    for action in (adapter.merge, adapter.unload):
        with pytest.raises(InputError, match="carries no adapter to"):
            action(tiny(tiny_bert_dir))
    with pytest.raises(InputError, match="carries no adapter to save"):
        adapter.save(tiny(tiny_bert_dir), tmp_path / "whole")
    assert not (tmp_path / "whole").exists()


def test_save_load_merge_unload(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """Save/load keeps outputs; merge gives the same outputs as the adapter; unload gives the base."""
    adapter = LoraAdapter.from_options(rank=4)
    base_out = tiny(tiny_bert_dir)(**batch()).last_hidden_state
    model = adapter.attach(tiny(tiny_bert_dir))
    perturb(model)
    model.eval()
    with torch.no_grad():
        adapted = model(**batch()).last_hidden_state
    assert not torch.allclose(adapted, base_out, atol=1e-4)
    adapter.save(model, tmp_path / "ad", base_fingerprint="fp-a")
    assert {p.name for p in (tmp_path / "ad").iterdir()} >= {"adapter_config.json", "adapter_model.safetensors"}
    again = adapter.load(tiny(tiny_bert_dir), tmp_path / "ad", base_fingerprint="fp-a").eval()
    with torch.no_grad():
        torch.testing.assert_close(again(**batch()).last_hidden_state, adapted, atol=1e-5, rtol=1e-4)
        merged = adapter.merge(again)
        assert not any("lora" in n for n, _ in merged.named_parameters())
        torch.testing.assert_close(merged(**batch()).last_hidden_state, adapted, atol=1e-4, rtol=1e-4)
    fresh = adapter.load(tiny(tiny_bert_dir), tmp_path / "ad")
    with torch.no_grad():
        torch.testing.assert_close(adapter.unload(fresh)(**batch()).last_hidden_state, base_out, atol=1e-5, rtol=1e-4)


def test_wrong_base_and_bad_folder(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """An adapter for another base model, or a folder that is no adapter, is a clear error."""
    adapter = LoraAdapter.from_options(rank=2)
    adapter.save(adapter.attach(tiny(tiny_bert_dir)), tmp_path / "ad", base_fingerprint="fp-a")
    with pytest.raises(ModelMismatchError, match="fp-a"):
        adapter.load(tiny(tiny_bert_dir), tmp_path / "ad", base_fingerprint="fp-b")
    with pytest.raises(CorruptFileError, match="not a saved adapter"):
        adapter.load(tiny(tiny_bert_dir), tmp_path)


def test_save_bf16_halves_bytes_and_loads(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """A bf16 save stores the adapter at about half the bytes and loads back to (nearly) the same outputs."""
    from safetensors import safe_open

    adapter = LoraAdapter.from_options(rank=8)
    model = adapter.attach(tiny(tiny_bert_dir))
    perturb(model)
    model.eval()
    with torch.no_grad():
        adapted = model(**batch()).last_hidden_state
    adapter.save(model, tmp_path / "fp32", base_fingerprint="fp-a")
    adapter.save(model, tmp_path / "bf16", base_fingerprint="fp-a", dtype="bfloat16")
    size = {d: (tmp_path / d / "adapter_model.safetensors").stat().st_size for d in ("fp32", "bf16")}
    assert size["bf16"] < 0.6 * size["fp32"]
    with safe_open(str(tmp_path / "bf16" / "adapter_model.safetensors"), framework="pt") as fh:
        assert {fh.get_tensor(k).dtype for k in fh.keys()} == {torch.bfloat16}  # noqa: SIM118
    again = adapter.load(tiny(tiny_bert_dir), tmp_path / "bf16", base_fingerprint="fp-a").eval()
    assert {p.dtype for n, p in again.named_parameters() if "lora_" in n} == {torch.float32}
    with torch.no_grad():
        out = again(**batch()).last_hidden_state
    assert not torch.equal(out, adapted)  # really rounded, yet close
    torch.testing.assert_close(out, adapted, atol=0.05, rtol=0.02)
    with pytest.raises(InputError, match="int8"):
        adapter.save(model, tmp_path / "bad", dtype="int8")
    assert not (tmp_path / "bad").exists()


class TestLoraContract(AdapterContract):
    """lora meets the Adapter contract on the tiny BERT."""

    @pytest.fixture
    def adapter(self) -> LoraAdapter:
        """Rank 2 on query and value."""
        return LoraAdapter.from_options(rank=2, dropout=0.0)

    @pytest.fixture
    def base_model(self, tiny_bert_dir: Path):  # noqa: ANN201
        """Fresh tiny BERTs."""
        return lambda: tiny(tiny_bert_dir)

    def outputs(self, model: torch.nn.Module) -> object:
        """The last hidden state on the fixed batch."""
        with torch.no_grad():
            return model(**batch()).last_hidden_state.numpy()


def test_a_peft_adapter_is_loaded_and_a_pickled_one_refused(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """An adapter PEFT saved elsewhere (no latentstack manifest) loads; one whose weights are adapter_model.bin (a
    pickle, as PEFT wrote before safetensors) is refused before PEFT would unpickle it."""
    adapter = LoraAdapter.from_options(rank=2)
    model = adapter.attach(tiny(tiny_bert_dir))
    perturb(model)
    model.save_pretrained(tmp_path / "peft")  # PEFT's own folder: adapter_config.json + adapter_model.safetensors
    assert adapter.load(tiny(tiny_bert_dir), tmp_path / "peft") is not None
    (tmp_path / "peft" / "adapter_model.safetensors").rename(tmp_path / "peft" / "adapter_model.bin")
    with pytest.raises(InputError, match=r"holds its weights as adapter_model.bin.*never unpickles"):
        adapter.load(tiny(tiny_bert_dir), tmp_path / "peft")
