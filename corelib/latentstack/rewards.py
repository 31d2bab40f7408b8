"""A reward model: r(prompt, reply) = w . phi(prompt, reply), fitted to preference pairs (Bradley-Terry).

The loss is -log sigmoid(r(chosen) - r(rejected)) plus an L2 penalty whose strength is
chosen by cross-validation over the training pairs. phi is ten features of the kind a
reader checks, from any registered embedder's vectors and the words: whether the reply
cites a passage; the cited passage's cosine to the question, its margin over the best
other passage and whether it is the nearest; whether the answer's words all occur in
the cited passage (or, citing none, in the prompt); how many question words surround the
answer where it occurs there; the share of the answer's words taken from the question;
the answer's cosine to the question; the answer's length in words (logged); and the
share of question words the cited passage holds. A RAG prompt numbers its passages
``[n]``; the question is the last user turn after ``Question:``. Features are
standardised on the training pairs. Saved as a component folder: weights and scaling
in JSON, the embedder by name and options (checked by fingerprint on load); nothing
pickled.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from latentstack.data.prefs import Pair
from latentstack.data.sft import Messages
from latentstack.errors import InputError, ModelMismatchError
from latentstack.interfaces import Embedder
from latentstack.rag.prompt import parse_messages
from latentstack.storage import component_dir, read_manifest, reading, write_manifest

FORMAT = 1
PLUGIN = "core"
LAMBDAS = (0.01, 0.1, 1.0, 10.0, 100.0)
_CITE = re.compile(r"\[(\d+)\]")
_WORD = re.compile(r"\w+")


STOP = frozenset((
    "the", "a", "an", "of", "in", "on", "at", "to", "and", "or", "is", "was", "were", "be", "by", "for",
    "with", "as", "from", "that", "this", "what", "which", "who", "whom", "when", "where", "why", "how",
    "did", "does", "do",
))
N_FEATURES = 10


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _surrounding(answer: list[str], source: list[str], question: set[str], reach: int = 12) -> float:
    """The largest share of question words within ``reach`` words of an occurrence of the answer in ``source``."""
    best = 0.0
    for i in range(len(source) - len(answer) + 1):
        if answer and source[i: i + len(answer)] == answer:
            window = set(source[max(0, i - reach): i + len(answer) + reach])
            best = max(best, len(window & question) / max(1, len(question)))
    return best


def _row(question: str, passages: dict[int, str], reply: str, vec: dict[str, np.ndarray]) -> list[float]:
    """phi of one (prompt, reply), from the embedder's vectors ``vec`` of the texts involved."""
    cited = [int(n) for n in _CITE.findall(reply) if int(n) in passages]
    answer = _CITE.sub("", reply).strip() or reply
    numbers = sorted(passages)
    sims = np.array([float(vec[passages[n]] @ vec[question]) for n in numbers])
    at = numbers.index(cited[0]) if cited else -1
    others = np.delete(sims, at) if at >= 0 else sims
    source = _words(passages[cited[0]] if cited else " ".join([question, *passages.values()]))
    said, asked = _words(answer), set(_words(question)) - STOP
    inside = bool(said) and set(said) <= set(source)
    return [float(at >= 0), float(sims[at]) if at >= 0 else 0.0,
            float(sims[at] - others.max()) if at >= 0 and len(others) else 0.0,
            float(at >= 0 and at == int(sims.argmax())), float(inside),
            _surrounding(said, source, asked) if inside else 0.0,
            len(set(said) & asked) / max(1, len(set(said))), float(vec[answer] @ vec[question]),
            math.log1p(len(said)), len(asked & set(source)) / max(1, len(asked))]


def features(embedder: Embedder, prompts: Sequence[Messages], replies: Sequence[str]) -> np.ndarray:
    """phi(prompt, reply) for each row, (n, N_FEATURES)."""
    parsed = [parse_messages(p) for p in prompts]
    texts = sorted({t for (q, ps), r in zip(parsed, replies, strict=True)
                    for t in (q, *ps.values(), _CITE.sub("", r).strip() or r)})
    vectors = np.asarray(embedder.embed_many(texts), dtype=np.float64)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    vec = dict(zip(texts, vectors, strict=True))
    return np.array([_row(q, ps, r, vec) for (q, ps), r in zip(parsed, replies, strict=True)]).reshape(-1, N_FEATURES)


def _fit_bt(diff: np.ndarray, lam: float, iters: int = 50) -> np.ndarray:
    """w minimising mean(-log sigmoid(diff @ w)) + lam/2 |w|^2 / n, by Newton's method."""
    n, d = diff.shape
    w = np.zeros(d)
    for _ in range(iters):
        z = diff @ w
        p = 1.0 / (1.0 + np.exp(-z))
        grad = -(diff.T @ (1.0 - p)) / n + lam * w / n
        hess = (diff.T * (p * (1.0 - p))) @ diff / n + lam * np.eye(d) / n
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return w


def _cv_lambda(diff: np.ndarray, folds: int = 5, seed: int = 0) -> tuple[float, float]:
    """The L2 strength with the best cross-validated pair accuracy, and that accuracy."""
    order = np.random.default_rng(seed).permutation(len(diff))
    parts = np.array_split(order, min(folds, len(diff)))
    best = (LAMBDAS[-1], -1.0)
    for lam in LAMBDAS:
        hits = []
        for part in parts:
            rest = np.setdiff1d(order, part)
            w = _fit_bt(diff[rest], lam)
            hits += list((diff[part] @ w) > 0)
        accuracy = float(np.mean(hits))
        if accuracy > best[1]:
            best = (lam, accuracy)
    return best


#: Pairs a reward model is fitted on, at least: its L2 strength is chosen by 5-fold cross-validation.
MIN_PAIRS = 10


class RewardModel:
    """Bradley-Terry weights over phi(prompt, reply) from a registered embedder."""

    def __init__(self, embedder: Embedder, spec: Mapping[str, Any], weights: np.ndarray, mean: np.ndarray,
                 scale: np.ndarray, report: Mapping[str, Any] | None = None) -> None:
        self.embedder, self.spec = embedder, dict(spec)
        self.weights, self.mean, self.scale = weights, mean, scale
        self.report = dict(report or {})

    @classmethod
    def fit(cls, pairs: Sequence[Pair], *, embedder: str = "bert", embedder_options: Mapping[str, Any] | None = None,
            seed: int = 0) -> RewardModel:
        """Fit the weights to ``pairs``, the L2 strength chosen by 5-fold cross-validation."""
        from latentstack.registry import get_registry

        if len(pairs) < MIN_PAIRS:
            msg = f"a reward model needs at least {MIN_PAIRS} preference pairs to fit and check, got {len(pairs)}"
            raise InputError(msg)
        emb = get_registry().build_as(Embedder, embedder, **dict(embedder_options or {}))
        if emb.trainable:
            msg = (f"the {embedder} embedder learns its vectors from a corpus, and a reward model keeps only its name "
                   "and options: use a pretrained one (bert, llm, or onnx with an export)")
            raise InputError(msg)
        chosen = features(emb, [p.prompt for p in pairs], [p.chosen for p in pairs])
        rejected = features(emb, [p.prompt for p in pairs], [p.rejected for p in pairs])
        both = np.vstack([chosen, rejected])
        mean, scale = both.mean(0), both.std(0) + 1e-6
        diff = (chosen - rejected) / scale
        lam, cv_accuracy = _cv_lambda(diff, seed=seed)
        weights = _fit_bt(diff, lam)
        spec = {"name": embedder, "config": emb.config.to_dict(), "fingerprint": emb.fingerprint()}
        report = {"pairs": len(pairs), "l2": lam, "cv_pair_accuracy": round(cv_accuracy, 4),
                  "train_pair_accuracy": round(float(np.mean(diff @ weights > 0)), 4)}
        return cls(emb, spec, weights, mean, scale, report)

    def score(self, prompts: Sequence[Messages], replies: Sequence[str]) -> np.ndarray:
        """r(prompt, reply) for each row (higher is preferred)."""
        phi = features(self.embedder, prompts, replies)
        return ((phi - self.mean) / self.scale) @ self.weights

    def pair_accuracy(self, pairs: Sequence[Pair]) -> float:
        """Share of pairs whose chosen reply scores above the rejected one."""
        chosen = self.score([p.prompt for p in pairs], [p.chosen for p in pairs])
        rejected = self.score([p.prompt for p in pairs], [p.rejected for p in pairs])
        return float(np.mean(chosen > rejected))

    def save(self, path: str | Path) -> None:
        """weights.json under a checksummed manifest, atomically."""
        with component_dir(path, "reward") as tmp:
            body = {"weights": self.weights.tolist(), "mean": self.mean.tolist(), "scale": self.scale.tolist()}
            (tmp / "weights.json").write_text(json.dumps(body), encoding="utf-8")
            write_manifest(tmp, kind="reward", plugin=PLUGIN, version=FORMAT, data={"embedder": self.spec,
                                                                                    "report": self.report})

    @classmethod
    def load(cls, path: str | Path) -> RewardModel:
        """Read a saved reward model; its embedder must still give the fingerprint it was fitted with."""
        from latentstack.registry import get_registry

        manifest = read_manifest(path, kind="reward", plugin=PLUGIN, version=FORMAT)
        with reading(manifest.path, "reward model"):
            body = json.loads((manifest.path / "weights.json").read_text(encoding="utf-8"))
            spec = manifest.data["embedder"]
            weights, mean, scale = (np.asarray(body[k], dtype=np.float64) for k in ("weights", "mean", "scale"))
        emb = get_registry().build_as(Embedder, spec["name"], **spec["config"])
        if emb.fingerprint() != spec["fingerprint"]:
            msg = (f"the reward model at {path} was fitted on embedder fingerprint {spec['fingerprint']}, but "
                   f"{spec['name']} now gives {emb.fingerprint()}: fit it again")
            raise ModelMismatchError(msg)
        if weights.shape != (N_FEATURES,):
            msg = f"the reward model at {path} holds {weights.shape} weights, not the {N_FEATURES} features: fit it again"
            raise ModelMismatchError(msg)
        return cls(emb, spec, weights, mean, scale, report=manifest.data.get("report"))
