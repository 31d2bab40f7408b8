"""An MLP autoencoder on any matrix: trained in torch, encoded in numpy, saved as safetensors.

The encoder maps an input row through ``hidden`` layers (GELU, tanh form) to a linear code of
``code`` numbers; the decoder mirrors it. Inputs are centred and divided by one overall
scale, so reconstruction errors are in the input's own units and comparable with PCA's
at the same code size (``pca_error``). Training is seeded, holds out a share of the rows
and keeps the weights of the epoch with the lowest held-out reconstruction error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import numpy as np

from latentstack.errors import InputError
from latentstack.progress import progress


def layer_sizes(value: Any) -> tuple[int, ...]:
    """Hidden layer sizes from a list, "256,128" (as -o gives it) or one number (-o hidden=64 gives an int)."""
    parts = value.split(",") if isinstance(value, str) else [value] if isinstance(value, int) else value
    try:
        sizes = tuple(int(v) for v in parts)
    except (TypeError, ValueError) as exc:
        msg = f"hidden layer sizes are whole numbers, e.g. 256,128; got {value!r}"
        raise ValueError(msg) from exc
    if any(s < 1 for s in sizes):
        msg = f"hidden layer sizes must be positive whole numbers, got {value!r}"
        raise ValueError(msg)
    return sizes


@attrs.frozen(kw_only=True, slots=False)  # no slots: an embedder's config inherits these fields beside its own
class CodecConfig:
    """Shape and training of the autoencoder."""

    code: int = attrs.field(default=32, validator=attrs.validators.gt(0))
    hidden: tuple[int, ...] = attrs.field(default=(256, 128), converter=layer_sizes)
    epochs: int = attrs.field(default=400, validator=attrs.validators.gt(0))
    patience: int = attrs.field(default=30, validator=attrs.validators.gt(0))
    lr: float = attrs.field(default=1e-3, validator=attrs.validators.gt(0))
    train_batch_size: int = attrs.field(default=64, validator=attrs.validators.gt(0))
    heldout: float = attrs.field(default=0.1, validator=[attrs.validators.ge(0.0), attrs.validators.lt(0.9)])
    seed: int = 0


def dense_rows(x: Any, idx: np.ndarray) -> np.ndarray:
    """Rows ``idx`` of a dense array or sparse matrix, as float32."""
    rows = x[idx]
    return np.asarray(rows.toarray() if hasattr(rows, "toarray") else rows, dtype=np.float32)


def column_mean(x: Any) -> np.ndarray:
    """Mean of each column (dense or sparse)."""
    return np.asarray(x.mean(axis=0), dtype=np.float32).reshape(-1)


def overall_scale(x: Any, mean: np.ndarray) -> float:
    """Root-mean-square of the centred entries: one number, so errors keep the input's units."""
    sq = float(x.multiply(x).sum()) if hasattr(x, "multiply") else float(np.square(x, dtype=np.float64).sum())
    n, d = x.shape
    var = sq / (n * d) - float(np.square(mean, dtype=np.float64).sum()) / d
    return float(np.sqrt(max(var, 1e-12)))


def gelu(x: np.ndarray) -> np.ndarray:
    """GELU, tanh form (torch's ``GELU(approximate="tanh")``), in numpy."""
    return np.asarray(0.5 * x * (1.0 + np.tanh(0.7978845608 * (x + 0.044715 * x**3))), dtype=np.float32)


class Codec:
    """Trained weights plus the input's centring; encodes and decodes numpy rows."""

    def __init__(self, weights: dict[str, np.ndarray], report: dict[str, Any] | None = None) -> None:
        self.weights = weights
        self.report = report or {}

    @property
    def layers(self) -> int:
        """Linear layers on each side."""
        return sum(1 for k in self.weights if k.startswith("enc.") and k.endswith(".weight"))

    @property
    def code(self) -> int:
        """Width of a code."""
        return int(self.weights[f"enc.{self.layers - 1}.weight"].shape[0])

    @property
    def input_dim(self) -> int:
        """Width of an input row."""
        return int(self.weights["mean"].shape[0])

    def _run(self, h: np.ndarray, side: str) -> np.ndarray:
        for i in range(self.layers):
            h = h @ self.weights[f"{side}.{i}.weight"].T + self.weights[f"{side}.{i}.bias"]
            if i < self.layers - 1:
                h = gelu(h)
        return np.asarray(h, dtype=np.float32)

    def encode(self, x: Any) -> np.ndarray:
        """Codes of the rows of ``x`` (dense or sparse), shape (n, code)."""
        if x.shape[1] != self.input_dim:
            msg = f"the autoencoder reads rows of {self.input_dim} numbers, got {x.shape[1]}"
            raise InputError(msg)
        out = np.empty((x.shape[0], self.code), dtype=np.float32)
        for start in range(0, x.shape[0], 1024):
            idx = np.arange(start, min(start + 1024, x.shape[0]))
            z = (dense_rows(x, idx) - self.weights["mean"]) / self.weights["scale"]
            out[idx] = self._run(z, "enc")
        return out

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Reconstructed input rows from codes."""
        return self._run(np.asarray(codes, dtype=np.float32), "dec") * self.weights["scale"] + self.weights["mean"]

    def save(self, path: Path) -> None:
        """The weights as one safetensors file (no pickle)."""
        from safetensors.numpy import save_file

        save_file({k: np.ascontiguousarray(v) for k, v in self.weights.items()}, str(path))

    @classmethod
    def load(cls, path: Path, report: dict[str, Any] | None = None) -> Codec:
        """Read what ``save`` wrote."""
        from safetensors.numpy import load_file

        return cls(dict(load_file(str(path))), report)


def build_net(input_dim: int, config: CodecConfig) -> Any:
    """Encoder and decoder as two torch Sequentials inside a ModuleDict."""
    from torch import nn

    def mlp(sizes: list[int]) -> nn.Sequential:
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(sizes, sizes[1:], strict=False)):
            layers.append(nn.Linear(a, b))
            if i < len(sizes) - 2:
                layers.append(nn.GELU(approximate="tanh"))
        return nn.Sequential(*layers)

    sizes = [input_dim, *config.hidden, config.code]
    return nn.ModuleDict({"enc": mlp(sizes), "dec": mlp(sizes[::-1])})


def split_rows(n: int, heldout: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded train and held-out row numbers (at least one of each when heldout > 0)."""
    order = np.random.default_rng(seed).permutation(n)
    k = min(n - 1, max(1, round(n * heldout))) if heldout > 0 else 0
    return np.sort(order[k:]), np.sort(order[:k])


def fit_codec(x: Any, config: CodecConfig, *, desc: str = "autoencoder", show: bool = True) -> Codec:
    """Train on the rows of ``x`` (dense array or sparse matrix) and return the best weights.

    The report holds the held-out reconstruction error (mean squared error per input
    number, input units), PCA's at the same code size on the same rows, and the epochs.
    """
    import torch

    n = x.shape[0]
    if n < 4:
        msg = f"the autoencoder needs at least 4 rows to learn from, got {n}"
        raise InputError(msg)
    torch.manual_seed(config.seed)
    train, held = split_rows(n, config.heldout, config.seed)
    held = held if len(held) else train
    mean = column_mean(x[train])
    scale = overall_scale(x[train], mean)
    net = build_net(x.shape[1], config)
    opt = torch.optim.Adam(net.parameters(), lr=config.lr)
    rng = np.random.default_rng(config.seed)

    def batch(idx: np.ndarray) -> torch.Tensor:
        return torch.from_numpy((dense_rows(x, idx) - mean) / scale)

    def held_error() -> float:
        with torch.no_grad():
            total = sum(float(((net["dec"](net["enc"](b)) - b) ** 2).sum())
                        for b in (batch(held[i:i + 1024]) for i in range(0, len(held), 1024)))
        return total / (len(held) * x.shape[1]) * scale**2

    best, best_epoch, best_state = float("inf"), 0, None
    for epoch in progress(range(config.epochs), desc=desc, unit="epoch", enabled=show):
        net.train()
        order = train[rng.permutation(len(train))]
        for start in range(0, len(order), config.train_batch_size):
            b = batch(order[start:start + config.train_batch_size])
            loss = ((net["dec"](net["enc"](b)) - b) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        err = held_error()
        if err < best:
            best, best_epoch = err, epoch
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        elif epoch - best_epoch >= config.patience:
            break
    if best_state is None:
        msg = f"the autoencoder's held-out error is {err:.4g} from the first epoch on: lower lr or check the input for NaN"
        raise InputError(msg)
    weights = {k: v.numpy().astype(np.float32) for k, v in best_state.items()}
    weights.update(mean=mean, scale=np.float32(scale).reshape(1))
    report = {"reconstruction_mse": best, "pca_mse": pca_error(x, train, held, config.code),
              "best_epoch": best_epoch + 1, "epochs_run": epoch + 1, "rows": n, "heldout_rows": len(held)}
    return Codec(_renamed(weights), report)


def _renamed(weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``enc.0.weight, enc.2.weight`` (Sequential numbering around the activations) -> ``enc.0, enc.1``."""
    out = {k: v for k, v in weights.items() if "." not in k}
    for side in ("enc", "dec"):
        numbers = sorted({int(k.split(".")[1]) for k in weights if k.startswith(side + ".")})
        for new, old in enumerate(numbers):
            for part in ("weight", "bias"):
                out[f"{side}.{new}.{part}"] = weights[f"{side}.{old}.{part}"]
    return out


def pca_fit(x: Any, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and top-``k`` principal directions of ``x[rows]`` (k limited by the rank)."""
    sample = dense_rows(x, rows)
    mean = sample.mean(axis=0)
    _, _, vt = np.linalg.svd(sample - mean, full_matrices=False)
    return mean, vt[: min(k, vt.shape[0])]


def pca_error(x: Any, train: np.ndarray, held: np.ndarray, k: int) -> float:
    """Held-out mean squared reconstruction error of a k-component PCA fitted on the train rows."""
    mean, comps = pca_fit(x, train, k)
    h = dense_rows(x, held) - mean
    return float(np.mean((h - (h @ comps.T) @ comps) ** 2))
