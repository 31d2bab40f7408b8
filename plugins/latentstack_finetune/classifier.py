"""Fine-tuning an encoder for classification, all weights (``full``) or LoRA adapters only (``lora``)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from latentstack.errors import ConfigError, InputError, ModelMismatchError
from latentstack.hf import LocalModel
from latentstack.interfaces import Classifier, ClassifierConfig, Embedder
from latentstack.interfaces.base import names
from latentstack.interfaces.embedder import check_texts
from latentstack.progress import log
from latentstack.storage import component_dir, part, read_manifest, reading, write_manifest

if TYPE_CHECKING:
    from latentstack_finetune.checkpoints import Keeping

FORMAT = 1


#: The options of the LoRA adapter, which mode=full does not use.
LORA_ONLY = ("rank", "alpha", "targets")


@attrs.frozen(kw_only=True)
class FinetuneConfig(ClassifierConfig):
    """Model, mode and the training recipe.

    ``epochs`` is a cap: the epoch kept is the best on the validation split (see training.py).
    None means 6 for lora, whose adapter learns more slowly (with 3 the cap, not validation,
    chose its epoch: docs/classification.md), and 3 for full.
    ``group_by_length`` batches texts of similar token length together (as transformers'
    Trainer option of that name), so short texts are not padded to a long one's length.
    ``lr`` None means 5e-5 (full) or 1e-3 (lora). ``pooling`` None means ``mean`` for lora
    (a linear head on the masked mean, see mean_head.py) and ``cls`` for full (transformers'
    sequence-classification head: on [CLS] through BERT's pooler, which full training adapts; on
    the last token of a decoder), and ``mean`` for an encoder-decoder family (T5), whose head
    would read the decoder. ``targets`` (LoRA's layers) empty means the usual attention
    projections of the model's type (``query,value`` for BERT, ``q,v`` for MPNet and T5,
    ``q_proj,v_proj`` for Llama).
    ``head`` (the mean head's): ``probe`` reads the mean at unit length (the sentence
    encoder's own vectors) and starts as a logistic regression on the frozen encoder's
    vectors (probe.py), kept if no epoch of training beats it on validation; ``random``
    reads the raw mean and starts at random, as classifiers saved before ``head`` existed.
    """

    model: str = "minilm"
    mode: str = attrs.field(default="lora", validator=attrs.validators.in_(("full", "lora")))
    epochs: int | None = attrs.field(default=None, validator=attrs.validators.optional(attrs.validators.gt(0)))
    lr: float | None = attrs.field(default=None, validator=attrs.validators.optional(attrs.validators.gt(0.0)))
    batch_size: int = attrs.field(default=16, validator=attrs.validators.gt(0))
    max_length: int = attrs.field(default=128, validator=attrs.validators.gt(1))
    rank: int = attrs.field(default=8, validator=attrs.validators.gt(0))
    alpha: float = attrs.field(default=16.0, validator=attrs.validators.gt(0.0))
    targets: tuple[str, ...] = attrs.field(default=(), converter=names)
    pooling: str | None = attrs.field(default=None, validator=attrs.validators.optional(attrs.validators.in_(("cls", "mean"))))
    val_fraction: float = attrs.field(default=0.1, validator=[attrs.validators.ge(0.0), attrs.validators.lt(0.5)])
    patience: int = 1
    group_by_length: bool = False
    head: str = attrs.field(default="probe", validator=attrs.validators.in_(("probe", "random")))
    weight_decay: float = attrs.field(default=0.01, validator=attrs.validators.ge(0.0))
    warmup: float = attrs.field(default=0.1, validator=[attrs.validators.ge(0.0), attrs.validators.lt(1.0)])
    device: str = attrs.field(default="cpu", validator=attrs.validators.in_(("cpu", "cuda", "auto")))

    def __attrs_post_init__(self) -> None:
        lora = {f.name for f in attrs.fields(FinetuneConfig) if f.name in LORA_ONLY and getattr(self, f.name) != f.default}
        if self.mode == "full" and lora:
            verb, them = ("sets", "it") if len(lora) == 1 else ("set", "them")
            msg = (f"{', '.join(sorted(lora))} {verb} the LoRA adapter, and mode=full trains every weight with none: "
                   f"leave {them} out")
            raise ValueError(msg)


class FinetuneClassifier(LocalModel, Classifier):
    """BERT-style encoder + linear head trained end to end on the labels.

    Saved folders hold only what differs from the base model: the PEFT adapter and head
    for ``lora`` (a small share of the base's bytes), all encoder weights for ``full``.
    """

    name = "finetune"
    Config = FinetuneConfig
    config: FinetuneConfig
    checkpointed = True

    def __init__(self, config: FinetuneConfig | None = None) -> None:
        super().__init__(config)
        self.classes: list[str] = []
        self.multi_label = False
        self.net: Any = None
        self.report: dict[str, Any] = {}
        self._checkpoints: tuple[Path, str | None, int] | None = None  # (OUT, the checkpoint gone on from, every)

    def keep_checkpoints(self, out: str | Path, resume: str | Path | None = None, save_every: int = 0) -> None:
        """Have ``fit`` keep each epoch's checkpoint, a stopped run's and the newest of every ``save_every`` steps in
        ``OUT-checkpoints/`` (checkpoints.py), and go on exactly from ``resume``, one of them, given the same texts,
        labels and options."""
        self._checkpoints = (Path(out), None if resume is None else str(resume), save_every)

    @property
    def pooling(self) -> str:
        """The head's pooling: the configured one, else ``mean`` for lora or an encoder-decoder body and ``cls``
        for full."""
        from latentstack.hf import encoder_decoder_family

        if self.config.pooling:
            return self.config.pooling
        return "mean" if self.config.mode == "lora" or encoder_decoder_family(self.model_config.model_type) else "cls"

    @property
    def lr(self) -> float:
        """The configured learning rate, else 1e-3 for lora and 5e-5 for full."""
        return self.config.lr or (1e-3 if self.config.mode == "lora" else 5e-5)

    @property
    def epochs(self) -> int:
        """The configured epoch cap, else 6 for lora and 3 for full."""
        return self.config.epochs or (6 if self.config.mode == "lora" else 3)

    def _network(self, adapter: Path | None = None) -> Any:
        """The classification network in fp32 (a half checkpoint must not train in half).

        For lora, a fresh adapter is attached, or the saved one at ``adapter`` loaded.
        """
        import torch

        from latentstack.hf import encoder_loader, quiet_transformers

        quiet_transformers()
        _pad_with_eos(self.tokenizer)
        if self.pooling == "cls":
            return self._with_adapter(self._sequence_classifier(), adapter)
        from latentstack_finetune.mean_head import MeanPoolClassifier

        encoder = encoder_loader(self.model_config).from_pretrained(self.resolved.path, dtype=torch.float32)
        if getattr(encoder, "pooler", None) is not None:
            encoder.pooler = None  # BERT's and MPNet's pooler reads [CLS], which the mean head does not
        return MeanPoolClassifier(self._with_adapter(encoder, adapter), encoder.config.hidden_size,
                                  len(self.classes), unit=self.config.head == "probe")

    def _sequence_classifier(self) -> Any:
        """transformers' sequence-classification model of the base, with a random head of one output per class
        (several labels per text: transformers' own BCE-with-logits loss)."""
        import torch
        from transformers import AutoModelForSequenceClassification

        from latentstack.hf import encoder_decoder_family

        kind = self.model_config.model_type
        if encoder_decoder_family(kind):
            msg = (f"pooling=cls uses transformers' sequence-classification head, which for a {kind} model reads "
                   "its decoder; a text encoder is read by its mean: use pooling=mean")
            raise ConfigError(msg)
        problem = "multi_label_classification" if self.multi_label else "single_label_classification"
        return AutoModelForSequenceClassification.from_pretrained(
            self.resolved.path, dtype=torch.float32, num_labels=len(self.classes),
            id2label=dict(enumerate(self.classes)), label2id={c: i for i, c in enumerate(self.classes)},
            problem_type=problem, pad_token_id=self.tokenizer.pad_token_id)

    def _with_adapter(self, model: Any, adapter: Path | None) -> Any:
        """``model`` as it is (full), with a fresh LoRA adapter, or with the saved one."""
        if self.config.mode != "lora":
            return model
        if adapter is None:
            return self._adapter(_head_modules(model)).attach(model)
        return self._adapter().load(model, adapter, base_fingerprint=self.resolved.fingerprint())

    def _adapter(self, keep: Sequence[str] = ()) -> Any:
        """The LoRA adapter of the configured options, also training and saving the modules ``keep`` whole."""
        from latentstack import get_adapter

        c = self.config
        return get_adapter("lora", rank=c.rank, alpha=c.alpha, targets=c.targets, modules_to_save=keep)

    @cached_property
    def torch_device(self) -> str:
        """The torch device for ``config.device`` (see latentstack.hf.pick_device)."""
        from latentstack.hf import pick_device

        return pick_device(self.config.device)

    def encode(self, texts: Sequence[str]) -> dict[str, Any]:
        """Tokenised, padded, truncated batch on the training device."""
        batch = self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.config.max_length,
                               return_tensors="pt")
        return {k: v.to(self.torch_device) for k, v in batch.items()}

    def count_truncated(self, texts: Sequence[str]) -> int:
        """How many texts have more than ``max_length`` tokens (the tokenizer only)."""
        from latentstack.batching import count_cut, token_ids

        return count_cut(token_ids(self.tokenizer, texts, self.config.max_length + 1), self.config.max_length)

    def fit(self, texts: Sequence[str], labels: Sequence[Any]) -> FinetuneClassifier:
        """Train with early stopping on a stratified validation split of the training data (none when the data
        is too small to hold one example of each class out and keep one in). Lists of labels train a head of a
        yes/no output per label (binary cross-entropy), validated on a seeded random split."""
        import math

        import torch
        from sklearn.model_selection import train_test_split

        from latentstack.training import seed_everything

        texts = check_texts(texts)
        self.classes, y = self._targets(labels)
        if len(y) != len(texts):
            msg = f"got {len(texts)} texts and {len(y)} labels"
            raise InputError(msg)
        c = self.config
        seed_everything(c.seed)
        n_val, n_classes = math.ceil(c.val_fraction * len(y)), len(self.classes)
        if c.val_fraction > 0 and self.multi_label and 2 <= n_val <= len(y) - 2:
            tr_t, va_t, tr_y, va_y = train_test_split(texts, y, test_size=n_val, random_state=c.seed)
        elif c.val_fraction > 0 and not self.multi_label and np.bincount(y).min() >= 2 and n_classes <= n_val <= len(y) - n_classes:
            tr_t, va_t, tr_y, va_y = train_test_split(texts, y, test_size=n_val, stratify=y, random_state=c.seed)
        else:
            tr_t, va_t, tr_y, va_y = texts, [], y, y[:0]  # no validation rows, of the targets' shape
        model = self._network().to(self.torch_device)
        self.net = model
        self.report = {}
        if self._checkpoints is None:
            self._train(model, (tr_t, tr_y, va_t, va_y), None)
        else:
            from latentstack.locks import sole_writer

            out, resume, every = self._checkpoints
            with sole_writer(out, "another training run"):
                self._train(model, (tr_t, tr_y, va_t, va_y), self._keeping(texts, y, out, resume, every))
        torch.set_grad_enabled(True)
        return self

    def _keeping(self, texts: Sequence[str], y: np.ndarray, out: Path, resume: str | None, every: int) -> Keeping:
        """The checkpoints in ``out`` (and every ``every`` steps) of a run on ``texts`` and targets ``y`` with these
        options, going on from ``resume``."""
        from latentstack.train_state import run_digest
        from latentstack_finetune.checkpoints import keeping

        settings = {"config": self.config.to_dict(), "base": self.resolved.fingerprint(), "classes": self.classes}
        return keeping(self, out, resume, run_digest(zip(texts, y.tolist(), strict=True), settings), save_every=every)

    def _train(self, model: Any, split: tuple[Any, Any, Any, Any], kept: Keeping | None) -> None:
        """Fit the head on frozen features (a fresh run with the probe head), then train end to end."""
        import time

        from latentstack_finetune.training import train

        c, (tr_t, tr_y, va_t, va_y) = self.config, split
        probed = c.head == "probe" and self.pooling == "mean"
        if probed and (kept is None or kept.resume is None):  # a run gone on from has its head in the state
            from latentstack_finetune.probe import probe_head

            log(f"finetune: fitting the head on the frozen encoder's features of {len(tr_t):,} texts")
            probe_head(model, self.encode, list(tr_t), np.asarray(tr_y), c.seed)
        if c.mode == "lora":
            model._latentstack_trained = {n for n, p in model.named_parameters() if p.requires_grad}
        trainable, total = self.parameter_counts()
        log(f"finetune ({c.mode}): {trainable:,} of {total:,} parameters trainable ({100 * trainable / total:.2f}%)")
        t0 = time.perf_counter()
        lengths = None
        if c.group_by_length:
            ids = self.tokenizer(list(tr_t), truncation=True, max_length=c.max_length)["input_ids"]
            lengths = np.array([len(i) for i in ids])
        result = train(model, self.encode, list(tr_t), np.asarray(tr_y), list(va_t), np.asarray(va_y),
                       epochs=self.epochs, lr=self.lr, batch_size=c.batch_size, seed=c.seed,
                       weight_decay=c.weight_decay, warmup=c.warmup, patience=c.patience,
                       predict_proba=self.predict_proba, lengths=lengths, score_start=probed, keeping=kept)
        self.report = {**result, "train_s": time.perf_counter() - t0, "trainable": trainable, "total": total,
                       "lr": self.lr, "epochs": self.epochs}

    def _targets(self, labels: Any) -> tuple[list[Any], np.ndarray]:
        """The classes and the training targets: class numbers, or where each text has a list of labels (which
        sets ``multi_label``) a texts x classes 0/1 float array."""
        from latentstack.data.labeled import check_labels, label_indicators, normalize_labels, read_labels

        given, self.multi_label = read_labels(labels)
        if self.multi_label:
            classes, y = label_indicators(given)
            return classes, y.astype(np.float32)
        plain = normalize_labels(given)
        classes = check_labels(plain)
        return classes, np.array([classes.index(lab) for lab in plain])

    def parameter_counts(self) -> tuple[int, int]:
        """(trainable, total) parameters of the network."""
        trainable = sum(p.numel() for p in self.net.parameters() if p.requires_grad)
        total = sum(p.numel() for p in self.net.parameters())
        return trainable, total

    def training_report(self) -> dict[str, Any]:
        """The loss history per epoch and the base model's size on disk."""
        size = sum(p.stat().st_size for p in Path(self.resolved.path).rglob("*") if p.is_file())
        return {"history": self.report.get("history", []), "base_model_bytes": size}

    def trainable_parameters(self) -> int:
        """Parameters that training changed."""
        return self.parameter_counts()[0]

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities, columns in ``classes`` order (batched, length-sorted); each label's own (a
        sigmoid) where multi-label."""
        import torch

        if self.net is None:
            msg = "the classifier is not trained: call fit() or load() first"
            raise InputError(msg)
        texts = check_texts(texts)
        out = np.zeros((len(texts), len(self.classes)), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        was_training = self.net.training
        self.net.eval()
        with torch.inference_mode():
            for a in range(0, len(texts), 64):
                idx = order[a : a + 64]
                logits = self.net(**self.encode([texts[i] for i in idx])).logits
                scores = torch.sigmoid(logits.float()) if self.multi_label else torch.softmax(logits.float(), dim=-1)
                out[idx] = scores.cpu().numpy()
        self.net.train(was_training)
        return out

    def save(self, path: str | Path) -> None:
        """manifest.json + adapter/ (lora) or model.safetensors (full), atomically."""
        from safetensors.torch import save_file, save_model

        if self.net is None:
            msg = "nothing to save: train the classifier first"
            raise InputError(msg)
        with component_dir(path, "classifier") as tmp:
            if self.config.mode == "lora" and self.pooling == "cls":
                keep = _head_modules(self.net.get_base_model())
                self._adapter(keep).save(self.net, tmp / "adapter", base_fingerprint=self.resolved.fingerprint())
            elif self.config.mode == "lora":  # a plain encoder adapter, and the head beside it
                self._adapter().save(self.net.encoder, tmp / "adapter", base_fingerprint=self.resolved.fingerprint())
                save_file(self.net.head_state(), tmp / "head.safetensors")
            else:
                save_model(self.net, str(tmp / "model.safetensors"), force_contiguous=True)  # tied weights once
            data: dict[str, Any] = {"classes": self.classes, "base_fingerprint": self.resolved.fingerprint(),
                                    "report": {k: v for k, v in self.report.items() if k != "history"}}
            if self.multi_label:
                data["multi_label"] = True
            write_manifest(tmp, kind="classifier", plugin=self.name, version=FORMAT, config=self.config.to_dict(),
                           data=data)

    def load_full_weights(self, model: Any, path: str | Path) -> None:
        """Put the weights of the full fine-tune saved at ``path`` (its ``model.safetensors``, checksummed) into
        ``model``."""
        from safetensors.torch import load_model

        folder = read_manifest(path, kind="classifier", plugin=self.name, version=FORMAT,
                               verify=["model.safetensors"]).path
        with reading(folder, "finetune classifier"):
            load_model(model, str(folder / "model.safetensors"))

    @classmethod
    def load(cls, path: str | Path, *, embedder: Embedder | None = None) -> FinetuneClassifier:
        """Rebuild from the base model plus the saved difference; another base model is an error.

        A fine-tuned classifier computes its own features, so ``embedder`` must be None.
        """
        from safetensors.torch import load_file, load_model

        if embedder is not None:
            msg = "a finetune classifier embeds with its own fine-tuned encoder; it takes no other embedder"
            raise ConfigError(msg)
        manifest = read_manifest(path, kind="classifier", plugin=cls.name, version=FORMAT)
        path, data = manifest.path, manifest.data
        with reading(path, "finetune classifier"):
            clf = cls.from_options(**{"head": "random", **manifest.config})  # saved before heads were probed
            clf.classes, clf.multi_label = list(data["classes"]), bool(data.get("multi_label", False))
            base = str(data["base_fingerprint"])
        if clf.resolved.fingerprint() != base:
            msg = (f"{path} was fine-tuned from a base model with fingerprint {base}, but "
                   f"{clf.config.model!r} is now {clf.resolved.fingerprint()}; install the original base model")
            raise ModelMismatchError(msg)
        with reading(path, "finetune classifier"):
            model = clf._network(part(path, "adapter") if clf.config.mode == "lora" else None)
            if clf.config.mode == "lora" and clf.pooling == "mean":
                head = load_file(path / "head.safetensors")
                model.head.load_state_dict({k.removeprefix("head."): v for k, v in head.items()})
            elif clf.config.mode != "lora":
                load_model(model, str(path / "model.safetensors"))
        clf.net = model.eval().to(clf.torch_device)
        clf.report = data.get("report", {})
        return clf


def _head_modules(model: Any) -> tuple[str, ...]:
    """The modules of a sequence-classification model outside its base model that hold weights (its head:
    ``classifier`` for BERT, ``score`` for Llama), which LoRA trains and saves whole; none for the mean head's
    encoder, whose head lives outside it."""
    from latentstack.hf import head_children

    return tuple(n for n in head_children(model) if any(True for _ in model.get_submodule(n).parameters()))


def _pad_with_eos(tokenizer: Any) -> None:
    """Give a tokenizer without a padding token its end-of-text token as one (as decoders are batched), or a
    ConfigError where it has neither."""
    if tokenizer.pad_token is not None:
        return
    if tokenizer.eos_token is None:
        msg = (f"the tokenizer of {getattr(tokenizer, 'name_or_path', '?')} has no padding token and no end-of-text "
               "token to pad with, so texts cannot be batched: set its pad_token")
        raise ConfigError(msg)
    tokenizer.pad_token = tokenizer.eos_token
