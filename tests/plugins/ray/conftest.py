"""Shared by the Ray tests: SMS texts, and one local embedding of the texts the fault tests send through Ray."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from ...conftest import ROOT

#: The fault tests' job: enough texts that it is still running when a node or an actor is taken away.
FAULT_TEXTS = (1200, 3200)
#: The fault tests' embedder options: the jobs and the local reference use the same ones.
FAULT_OPTIONS = {"dtype": "float32"}


def sms(n: int, skip: int = 0) -> list[str]:
    with open(ROOT / "benchmarks" / "data" / "sms-spam.tsv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return [r["text"] for r in rows[skip: skip + n]]


@pytest.fixture(scope="session")
def fault_reference() -> tuple[list[str], np.ndarray]:
    """The fault tests' texts and MiniLM's float32 vectors for them, embedded here without Ray."""
    from latentstack import get_embedder

    texts = sms(*FAULT_TEXTS)
    return texts, get_embedder("bert", show_progress=False, **FAULT_OPTIONS).embed_many(texts)
