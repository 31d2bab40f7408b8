"""Small helpers around transformers, imported lazily by the plugins that need them."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from latentstack.errors import ConfigError

if TYPE_CHECKING:
    from latentstack.sources.base import ResolvedModel


def quiet_transformers() -> None:
    """Hide transformers' weight-loading bars and warnings; latentstack shows its own progress.

    Also the FutureWarning transformers raises each time PEFT reads its deprecated
    ``is_gradient_checkpointing`` (on every adapter attach or load): not the user's concern.
    """
    import warnings

    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)


def load_tokenizer(path: object) -> Any:
    """The tokenizer of a local model folder, loaded quietly (never with remote code)."""
    from transformers import AutoTokenizer

    quiet_transformers()
    return AutoTokenizer.from_pretrained(path)


def encoder_decoder_family(model_type: str) -> bool:
    """Whether transformers encodes text of ``model_type`` with an encoder-decoder's encoder alone (T5, mT5)."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_TEXT_ENCODING_MAPPING_NAMES

    return str(MODEL_FOR_TEXT_ENCODING_MAPPING_NAMES.get(model_type, "")).endswith("EncoderModel")


def encoder_loader(config: Any) -> Any:
    """The transformers class that loads the encoder of a folder whose config is ``config``: ``AutoModel``, or for
    an encoder-decoder family (sentence-T5, GTR) its encoder alone, where ``AutoModel`` would load a decoder
    needing inputs."""
    from transformers import AutoModel, AutoModelForTextEncoding

    return AutoModelForTextEncoding if encoder_decoder_family(config.model_type) else AutoModel


def check_chat_model(tokenizer: Any) -> None:
    """A ConfigError unless the tokenizer has a chat template (an instruct model): generation and SFT format
    every prompt with it, and transformers' own error is a paragraph."""
    if not getattr(tokenizer, "chat_template", None):
        msg = (f"the model at {getattr(tokenizer, 'name_or_path', '?')} has no chat template, so it is not a chat model: give an instruct model "
               "(e.g. smollm2-135m-instruct)")
        raise ConfigError(msg)


def pick_device(choice: str) -> str:
    """``cuda`` when asked for (or ``auto`` and a GPU is there), else ``cpu``; cuda without a GPU is an error."""
    import torch

    from latentstack.errors import ConfigError

    if choice == "cuda" and not torch.cuda.is_available():
        msg = "device='cuda' asked for, but torch sees no GPU; use device='cpu' or 'auto'"
        raise ConfigError(msg)
    return "cuda" if choice != "cpu" and torch.cuda.is_available() else "cpu"


class LocalModel:
    """Mixin for components whose ``config.model`` names a model: its resolved folder and tokenizer, loaded once."""

    config: Any

    @cached_property
    def resolved(self) -> ResolvedModel:
        """The local folder of ``config.model`` (through the model sources)."""
        from latentstack.sources import resolve_model

        return resolve_model(self.config.model)

    @cached_property
    def tokenizer(self) -> Any:
        """The model's tokenizer."""
        return load_tokenizer(self.resolved.path)

    @cached_property
    def model_config(self) -> Any:
        """The model's config.json (sizes and limits, read without loading the weights)."""
        from transformers import AutoConfig

        return AutoConfig.from_pretrained(self.resolved.path)


def head_children(model: Any) -> list[str]:
    """The names of a transformers model's children outside its base model (its heads: ``lm_head``, ``classifier``,
    ``score``, and a dropout before one); none for a base model itself."""
    prefix = getattr(model, "base_model_prefix", "")
    if not prefix or not hasattr(model, prefix):
        return []
    return [n for n, _ in model.named_children() if n != prefix]


def lm_parts(model: Any) -> tuple[Any, Any]:
    """A causal LM's body (the stack that gives hidden states: Llama's ``model``, GPT-2's ``transformer``) and its
    head from hidden states to logits, as the model's own forward computes them (Gemma 2 and 3 soft-cap them),
    through a PEFT wrapper or not."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    head, cap = base.get_output_embeddings(), getattr(base.config, "final_logit_softcapping", None)
    if not cap:
        return base.base_model, head

    def capped(hidden: Any) -> Any:
        import torch

        return torch.tanh(head(hidden) / cap) * cap

    return base.base_model, capped
