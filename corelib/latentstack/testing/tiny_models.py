"""Tiny random models for fast plumbing tests (never for quality claims)."""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any


def _save_word_pieces(path: Path, input_names: list[str] | None = None) -> int:
    """Save the tiny word-piece tokenizer (giving ``input_names``, its own by default) into ``path``; returns its
    vocabulary size."""
    from transformers import BertTokenizerFast  # type: ignore[attr-defined]

    words = ["the", "a", "cat", "dog", "sat", "on", "mat", "free", "prize", "win", "call", "now", "hello", "world", "stock", "market", "fell"]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *string.ascii_lowercase, *string.digits,
             *string.punctuation, *words, *(f"##{c}" for c in string.ascii_lowercase + string.digits)]
    path.mkdir(parents=True, exist_ok=True)
    ids = {tok: i for i, tok in enumerate(dict.fromkeys(vocab))}
    tokenizer = BertTokenizerFast(vocab=ids, do_lower_case=True)
    if input_names:
        tokenizer.model_input_names = input_names
    tokenizer.save_pretrained(path)
    return len(ids)


def save_tiny_bert(path: Path, seed: int = 0) -> Path:
    """Save a 2-layer, 32-d random BertModel and a word-piece tokenizer into ``path``."""
    import torch
    from transformers import BertConfig, BertModel

    vocab_size = _save_word_pieces(path)
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=128,
                        initializer_range=0.3)
    BertModel(config).save_pretrained(path)
    return path


def save_tiny_t5_encoder(path: Path, seed: int = 0) -> Path:
    """Save a 2-layer, 32-d random T5EncoderModel (sentence-T5's body) with ``save_tiny_bert``'s word pieces as its
    tokenizer, which, as T5's, gives no token type ids."""
    import torch
    from transformers import T5Config, T5EncoderModel

    vocab_size = _save_word_pieces(path, ["input_ids", "attention_mask"])
    torch.manual_seed(seed)
    config = T5Config(vocab_size=vocab_size, d_model=32, d_kv=8, num_heads=4, num_layers=2, d_ff=64,
                      pad_token_id=0)
    T5EncoderModel(config).save_pretrained(path)
    return path


def save_tiny_mpnet(path: Path, seed: int = 0) -> Path:
    """Save a 2-layer, 32-d random MPNetModel (all-mpnet-base-v2's body, whose attention layers are named ``q``,
    ``k``, ``v``, ``o``) with ``save_tiny_bert``'s word pieces, giving no token type ids as MPNet's tokenizer."""
    import torch
    from transformers import MPNetConfig, MPNetModel

    vocab_size = _save_word_pieces(path, ["input_ids", "attention_mask"])
    torch.manual_seed(seed)
    config = MPNetConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=130, pad_token_id=0)
    MPNetModel(config).save_pretrained(path)
    return path


CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
          "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
#: ChatML's markers under Gemma's rules: no system message, user and assistant ("model") in turn.
NO_SYSTEM = ("{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
             "{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
             "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
             "{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}"
             "{{ '<|im_start|>' + role + '\n' + message['content'] + '<|im_end|>\n' }}{% endfor %}"
             "{% if add_generation_prompt %}{{ '<|im_start|>model\n' }}{% endif %}")


def _save_chatml_bpe(path: Path, template: str = CHATML) -> Any:
    """Save a tiny byte-level BPE tokenizer with a ChatML template into ``path``; returns it."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    corpus = ["the cat sat on the mat", "what is the capital of france? paris [1]", "passages question answer",
              "yeast ferments sugars and releases carbon dioxide", "system user assistant"] * 4
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|im_start|>", eos_token="<|im_end|>",
                                   pad_token="<|im_end|>", unk_token="<|endoftext|>")
    fast.chat_template = template
    path.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(path)
    return fast


def save_tiny_llama(path: Path, seed: int = 0, template: str = CHATML) -> Path:
    """Save a 2-layer, 32-d random LlamaForCausalLM with a byte-level BPE tokenizer and a ChatML template (or
    ``template``: NO_SYSTEM for Gemma's rules)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    fast = _save_chatml_bpe(path, template)
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(fast), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=2048,
                         bos_token_id=fast.bos_token_id, eos_token_id=fast.eos_token_id,
                         pad_token_id=fast.pad_token_id, tie_word_embeddings=True)
    LlamaForCausalLM(config).save_pretrained(path)
    return path


def save_tiny_gpt2(path: Path, seed: int = 0) -> Path:
    """Save a 2-layer, 32-d random GPT2LMHeadModel (its attention and MLP are Conv1D layers named ``c_attn``,
    ``c_proj``, ``c_fc``) with the tiny ChatML tokenizer."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    fast = _save_chatml_bpe(path)
    torch.manual_seed(seed)
    config = GPT2Config(vocab_size=len(fast), n_embd=32, n_layer=2, n_head=2, n_positions=2048,
                        bos_token_id=fast.bos_token_id, eos_token_id=fast.eos_token_id,
                        pad_token_id=fast.pad_token_id)
    GPT2LMHeadModel(config).save_pretrained(path)
    return path


def save_tiny_gemma2(path: Path, seed: int = 0, sliding_window: int = 128, softcap: float = 0.05) -> Path:
    """Save a 2-layer, 32-d random Gemma2ForCausalLM (norms scaling by 1 + w, sandwich norms, every other layer
    attending within ``sliding_window`` tokens, logits soft-capped at ``softcap``: Gemma 2's 30 leaves a tiny
    random model's small logits as they are) with the tiny ChatML tokenizer."""
    import torch
    from transformers import Gemma2Config, Gemma2ForCausalLM

    fast = _save_chatml_bpe(path)
    torch.manual_seed(seed)
    config = Gemma2Config(vocab_size=len(fast), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                          num_attention_heads=2, num_key_value_heads=1, head_dim=16, max_position_embeddings=2048,
                          sliding_window=sliding_window, final_logit_softcapping=softcap,
                          bos_token_id=fast.bos_token_id,
                          eos_token_id=fast.eos_token_id, pad_token_id=fast.pad_token_id)
    Gemma2ForCausalLM(config).save_pretrained(path)
    return path
