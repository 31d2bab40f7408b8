"""A LoRA adapter for a tiny encoder, as the bert and onnx plugins' tests need one."""

from __future__ import annotations

from pathlib import Path


def save_encoder_lora(model_dir: Path, folder: Path, base_fingerprint: str, seed: int = 0) -> Path:
    """Save a rank-4 LoRA adapter for the encoder in ``model_dir``, its B matrices
    drawn from N(0, 0.5) with ``seed`` so that it changes the vectors (a fresh adapter's B is zero)."""
    import torch
    from transformers import AutoModel

    from latentstack_lora.adapter import LoraAdapter

    torch.manual_seed(seed)
    lora = LoraAdapter.from_options(rank=4)
    model = lora.attach(AutoModel.from_pretrained(model_dir))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5)
    lora.save(model, folder, base_fingerprint=base_fingerprint)
    return folder
