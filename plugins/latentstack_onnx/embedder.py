"""An exported encoder run by onnxruntime, as an Embedder (fp32 or int8)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from latentstack.errors import ConfigError, CorruptFileError
from latentstack.interfaces import Embedder, EmbedderConfig
from latentstack.storage import Manifest


@attrs.frozen(kw_only=True)
class OnnxConfig(EmbedderConfig):
    """Which export folder, which variant, and how many threads onnxruntime uses (0 = its default)."""

    model: str = ""
    variant: str = attrs.field(default="auto", validator=attrs.validators.in_(("auto", "fp32", "int8")))
    threads: int = attrs.field(default=0, validator=attrs.validators.ge(0))


def session(path: Path, threads: int = 0, profile_prefix: str = "") -> Any:
    """An onnxruntime CPU session (profiling into ``profile_prefix*.json`` when given); a file
    onnxruntime cannot read is a CorruptFileError.

    onnxruntime's own SkipLayerNorm fusion is turned off: the export leaves residual Add +
    LayerNormalization unfused on purpose, because they run faster on CPU (export._optimize).
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        options.intra_op_num_threads = threads
    if profile_prefix:
        options.enable_profiling = True
        options.profile_file_prefix = profile_prefix
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"],
                                    disabled_optimizers=["SkipLayerNormFusion"])
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph/... types
        msg = f"onnxruntime cannot load {path}: {str(exc).splitlines()[0][:300]}; re-export it with `latentstack export onnx`"
        raise CorruptFileError(msg) from exc


def run_session(sess: Any, tokenizer: Any, texts: Sequence[str], max_length: int, batch_size: int, dim: int,
                show: bool = False) -> np.ndarray:
    """Embed texts with a session in batches sorted by token count; rows in input order."""
    from latentstack.batching import embed_by_length, padded, token_ids

    wanted = {i.name for i in sess.get_inputs()}

    def encode(batch_ids: list[list[int]]) -> np.ndarray:
        return sess.run(None, padded(tokenizer, batch_ids, wanted))[0]

    ids = token_ids(tokenizer, texts, max_length)
    return embed_by_length(ids, batch_size, dim, encode, show=show, desc="embedding (onnx)")


def feed(tokenizer: Any, texts: Sequence[str], max_length: int, wanted: set[str]) -> dict[str, np.ndarray]:
    """The graph's int64 inputs for one padded batch of texts."""
    from latentstack.batching import padded, token_ids

    return padded(tokenizer, token_ids(tokenizer, texts, max_length), wanted)


class OnnxEmbedder(Embedder):
    """Vectors from an export made by ``latentstack export onnx``; pooling is inside the graph.

    The manifest records the torch embedder it was exported from, so a
    ``linear`` classifier trained on those ``bert`` features accepts this embedder.
    Loading checks each file's sha256: a changed or truncated file is a clear error.
    """

    name = "onnx"
    Config = OnnxConfig
    config: OnnxConfig

    @cached_property
    def folder(self) -> Path:
        """The export folder."""
        if not self.config.model:
            msg = "the onnx embedder needs model=DIR, a folder written by `latentstack export onnx`"
            raise ConfigError(msg)
        return Path(self.config.model)

    @cached_property
    def checked(self) -> Manifest:
        """The export's manifest, read after checking every file's checksum."""
        from latentstack.storage import read_manifest

        found = read_manifest(self.folder, kind="export", plugin=self.name)
        if found.data.get("decoder"):
            msg = (f"{self.folder} is an ONNX decoder export (a generator: --generator onnx); the onnx embedder needs "
                   "an encoder export (latentstack export onnx --model an encoder such as minilm)")
            raise ConfigError(msg)
        return found

    @property
    def manifest(self) -> dict[str, Any]:
        """What the export recorded: dim, variants and their parity, the source embedder."""
        return self.checked.data

    @cached_property
    def variant(self) -> str:
        """fp32 or int8 (``auto``: int8 when the export has it)."""
        variants = self.manifest["variants"]
        choice = self.config.variant
        if choice == "auto":
            choice = "int8" if "int8" in variants else "fp32"
        if choice not in variants:
            msg = f"{self.folder} has no {choice} variant (it has {', '.join(variants)}); export with --int8"
            raise ConfigError(msg)
        return choice

    @cached_property
    def session(self) -> Any:
        """The onnxruntime session (the file's checksum was checked with the manifest)."""
        return session(self.folder / self.manifest["variants"][self.variant]["file"], self.config.threads)

    @cached_property
    def tokenizer(self) -> Any:
        """The tokenizer saved with the export (the ``tokenizers`` library: no transformers, no torch)."""
        from latentstack_onnx.fast_tokenizer import FastTokenizer

        return FastTokenizer(self.folder)

    @property
    def dim(self) -> int:
        """Vector length."""
        return int(self.manifest["dim"])

    def source_fingerprint(self) -> str:
        """The fingerprint of the torch embedder this graph reproduces."""
        return str(self.manifest["source"]["fingerprint"])

    def prompt(self, kind: str) -> str:
        """The prompt the source embedder puts before a ``kind`` text, as the export recorded it."""
        return str(self.manifest.get("prompts", {}).get(kind, ""))

    def fingerprint(self) -> str:
        """The exported file's hash and the variant."""
        file = self.manifest["variants"][self.variant]["file"]
        return f"onnx:{self.checked.files[file][:16]}:{self.variant}"

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        """Each text's tokens, special tokens included, up to the export's ``max_length``."""
        from latentstack.batching import token_ids

        return [len(row) for row in token_ids(self.tokenizer, texts, int(self.manifest["max_length"]))]

    def count_truncated(self, texts: Sequence[str]) -> int:
        """How many texts have more tokens than the export reads (``max_length``)."""
        from latentstack.batching import count_cut, token_ids

        limit = int(self.manifest["max_length"])
        return count_cut(token_ids(self.tokenizer, texts, limit + 1), limit)

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts with onnxruntime."""
        return run_session(self.session, self.tokenizer, list(texts), int(self.manifest["max_length"]),
                           self.config.batch_size, self.dim, self.config.show_progress)
