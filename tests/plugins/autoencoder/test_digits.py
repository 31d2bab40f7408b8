"""bench latent on scikit-learn's digits: the autoencoder's 2-d codes beat PCA's on reconstruction and the probe."""

from __future__ import annotations

import json

import pytest

from ...conftest import run_cli


@pytest.mark.slow
def test_two_dimensional_codes(tmp_path) -> None:  # noqa: ANN001
    """Same split, same head: lower test reconstruction error and higher probe accuracy than PCA, and the picture."""
    out = run_cli("-q", "bench", "latent", "--methods", "pca,autoencoder", "--sizes", "2", "--json",
                  "--out", str(tmp_path), check=True)
    rows = {r["method"]: r for r in json.loads(out.stdout)["results"]}
    pca, ae = rows["pca-2"]["metrics"], rows["autoencoder-2"]["metrics"]
    assert ae["reconstruction_mse"] < pca["reconstruction_mse"]
    assert ae["accuracy"] > pca["accuracy"]
    assert rows["autoencoder-2"]["params"] == {"code_size": 2}
    assert (tmp_path / "latent.png").read_bytes()[:4] == b"\x89PNG"


def test_rejects_data_and_bad_sizes(tmp_path) -> None:  # noqa: ANN001
    """The suite reads the bundled digits only; sizes must be whole numbers from 1 to 64."""
    bad = run_cli("bench", "latent", "--sizes", "2,99", "--out", str(tmp_path))
    assert bad.returncode == 2 and "1 to 64" in bad.stderr
    bad = run_cli("bench", "latent", "--sizes", "two", "--out", str(tmp_path))
    assert bad.returncode == 2 and "whole numbers" in bad.stderr
