"""DPO's loss and metrics from sequence log-probabilities, and the per-token KL between two policies.

``sigmoid`` is DPO (Rafailov et al., 2023): -log sigmoid(beta * ((pi_c - pi_r) - (ref_c - ref_r)))
over the summed log-probs of the reply tokens. ``ipo`` (Azar et al., 2023) is the squared
distance of that log-ratio difference from 1 / (2 beta), on log-probs averaged over the
reply's tokens, as TRL computes it. The implicit rewards are beta * (pi - ref) of each
reply; metrics use TRL's names. ``sft_loss`` is TRL's ``"sft"`` loss type (the RPO term of
Pang et al., 2024): the negative log-likelihood of the chosen replies, per token over the
batch, added to the preference loss with a weight.
"""

from __future__ import annotations

from typing import Any

from latentstack.hf import lm_parts

LOSSES = ("sigmoid", "ipo")


def dpo_losses(chosen: Any, rejected: Any, ref_chosen: Any, ref_rejected: Any, beta: float,
               loss: str = "sigmoid") -> tuple[Any, Any, Any]:
    """Per-pair losses and the implicit rewards of the chosen and rejected replies."""
    import torch.nn.functional as F

    logits = (chosen - rejected) - (ref_chosen - ref_rejected)
    if loss == "sigmoid":
        losses = -F.logsigmoid(beta * logits)
    elif loss == "ipo":
        losses = (logits - 1 / (2 * beta)) ** 2
    else:
        msg = f"unknown DPO loss {loss!r}: choose one of {', '.join(LOSSES)}"
        raise ValueError(msg)
    return losses, beta * (chosen - ref_chosen).detach(), beta * (rejected - ref_rejected).detach()


def sft_loss(chosen_sums: Any, chosen_lengths: Any) -> Any:
    """Mean negative log-likelihood per chosen-reply token over the batch, from summed log-probs and lengths."""
    return -chosen_sums.sum() / chosen_lengths.sum()


def metrics(losses: Any, chosen_rewards: Any, rejected_rewards: Any) -> dict[str, float]:
    """TRL's logged DPO metrics of a batch."""
    return {"loss": float(losses.mean()), "rewards/chosen": float(chosen_rewards.mean()),
            "rewards/rejected": float(rejected_rewards.mean()),
            "rewards/accuracies": float((chosen_rewards > rejected_rewards).float().mean()),
            "rewards/margins": float((chosen_rewards - rejected_rewards).mean())}


def reply_token_logps(model: Any, prompt: Any, replies: list[Any]) -> list[Any]:
    """Log-softmax over the vocabulary at each token of each reply to ``prompt`` (1-d id tensors).

    The prompt runs once; its KV cache is repeated for the replies, which run as one
    right-padded batch (a reply never attends to the padding after it, so no mask is
    needed). The first reply token is predicted by the prompt's last position.
    """
    import torch
    from transformers import DynamicCache

    body, head = lm_parts(model)
    cache = DynamicCache(config=body.config)
    last = body(input_ids=prompt[None], cache=cache, use_cache=True).last_hidden_state[:, -1:]
    width = max(len(r) for r in replies)
    hidden = last.expand(len(replies), 1, -1)
    if width > 1:
        cache.batch_repeat_interleave(len(replies))
        ids = torch.stack([torch.cat([r, r.new_full((width - len(r),), int(r[-1]))]) for r in replies])
        rest = body(input_ids=ids[:, :-1], cache=cache, use_cache=True).last_hidden_state
        hidden = torch.cat([hidden, rest], dim=1)
    return [torch.log_softmax(head(hidden[i, : len(r)]).float(), dim=-1) for i, r in enumerate(replies)]


def gathered(logps: Any, reply: Any, average: bool) -> Any:
    """Summed (or mean) log-probability of ``reply``'s tokens from its log-softmax rows."""
    picked = logps.gather(-1, reply[:, None]).squeeze(-1)
    return picked.mean() if average else picked.sum()


def token_kl(policy_logp: Any, ref_logp: Any) -> Any:
    """KL(policy || reference) at each position, over the whole vocabulary (nats)."""
    return (policy_logp.exp() * (policy_logp - ref_logp)).sum(-1)
