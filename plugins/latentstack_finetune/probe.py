"""The mean head's starting weights: a logistic regression on the frozen encoder's features (LP-FT).

A head of random weights makes the first steps of fine-tuning follow noise, and with a few
labeled texts there are only a few steps: the encoder is changed before the head has learnt
anything. Fitting the head first on the sentence encoder's vectors as they are (the masked
mean at unit length; a linear probe, Kumar et al. 2022, "Fine-Tuning can Distort Pretrained
Features"), then training both, starts fine-tuning where a head on frozen features ends. A
fresh LoRA adapter changes nothing until trained (its B matrices start at zero), so the
features are the base model's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

#: The probe's inverse regularisation (scikit-learn's default), classes weighted by their inverse frequency.
C = 1.0


def features(model: Any, encode: Callable[[Sequence[str]], dict[str, Any]], texts: Sequence[str]) -> np.ndarray:
    """What the head of ``model`` (a MeanPoolClassifier) reads for ``texts`` (eval mode, no dropout), 64 a batch."""
    import torch

    rows = []
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        for a in range(0, len(texts), 64):
            rows.append(model.features(**encode(texts[a : a + 64])).float().cpu().numpy())
    model.train(was_training)
    return np.concatenate(rows)


def probe_head(model: Any, encode: Callable[[Sequence[str]], dict[str, Any]], texts: Sequence[str],
               y: np.ndarray, seed: int) -> None:
    """Set ``model.head`` (a torch Linear) to a class-balanced logistic regression on the frozen features: one
    multinomial model for class numbers ``y``, a yes/no model per label for a texts x labels 0/1 ``y``."""
    import torch

    x = features(model, encode, texts)
    weight, bias = _per_label(x, y, seed) if y.ndim == 2 else _multinomial(x, y, model.head.out_features, seed)
    with torch.no_grad():
        model.head.weight.copy_(torch.from_numpy(weight))
        model.head.bias.copy_(torch.from_numpy(bias))


def _regression(seed: int) -> Any:
    """The probe: a class-balanced logistic regression at ``C``."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, class_weight="balanced", max_iter=2000, random_state=seed)


def _multinomial(x: np.ndarray, y: np.ndarray, n_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Weights and biases whose softmax is the regression's probabilities (two classes: +-half the one logit)."""
    lr = _regression(seed).fit(x, y)
    weight = np.zeros((n_classes, x.shape[1]), dtype=np.float32)
    bias = np.zeros(n_classes, dtype=np.float32)
    if n_classes == 2:
        weight[0], weight[1] = -lr.coef_[0] / 2, lr.coef_[0] / 2
        bias[0], bias[1] = -lr.intercept_[0] / 2, lr.intercept_[0] / 2
    else:
        weight[lr.classes_], bias[lr.classes_] = lr.coef_, lr.intercept_
    return weight, bias


def _per_label(x: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A yes/no regression per label; a label on every text or none keeps a zero weight and its rate's logit."""
    weight = np.zeros((y.shape[1], x.shape[1]), dtype=np.float32)
    rate = np.clip(y.mean(axis=0), 1e-3, 1 - 1e-3)
    bias = np.log(rate / (1 - rate)).astype(np.float32)
    for j in range(y.shape[1]):
        if 0 < y[:, j].sum() < len(y):
            lr = _regression(seed).fit(x, y[:, j])
            weight[j], bias[j] = lr.coef_[0], lr.intercept_[0]
    return weight, bias
