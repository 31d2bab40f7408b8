"""Entry-point discovery with fake distributions: broken plugins, disabling, the CLI listing."""

from __future__ import annotations

import json
import sys

import pytest

from ..conftest import run_cli, write_fake_dist

GOOD = '''
from latentstack import hookimpl
from latentstack.interfaces import Embedder
import numpy as np

class Third(Embedder):
    name = "third"
    dim = 1
    def embed_batch(self, texts):
        return np.zeros((len(texts), 1), dtype=np.float32)

@hookimpl
def register_embedders(register):
    register(Third)
'''


def test_broken_plugin_is_listed_and_the_rest_work(fake_dist, fresh_registry) -> None:  # noqa: ANN001
    """A plugin whose import raises is reported with its error; the others register."""
    fake_dist("thirdparty", {"third": "good_plug", "broken": "broken_plug"},
              {"good_plug": GOOD, "broken_plug": "raise ImportError('needs libfoo')\n"})
    reg = fresh_registry()
    assert reg.infos["broken"].status == "failed"
    assert "needs libfoo" in reg.infos["broken"].error
    assert "third" in reg.names("embedder")
    assert "bert" in reg.names("embedder")


def test_disable_env_blocks_entry_point(fake_dist, fresh_registry, monkeypatch) -> None:  # noqa: ANN001
    """LATENTSTACK_DISABLE=name skips that plugin, built-ins included."""
    fake_dist("thirdparty", {"third": "good_plug"}, {"good_plug": GOOD})
    monkeypatch.setenv("LATENTSTACK_DISABLE", "third,bert")
    reg = fresh_registry()
    assert reg.infos["third"].status == "disabled"
    assert reg.infos["bert"].status == "disabled"
    assert "third" not in reg.names("embedder") and "bert" not in reg.names("embedder")


def test_cli_plugins_lists_failures_and_conflicts(tmp_path) -> None:  # noqa: ANN001
    """`latentstack plugins --json` shows a broken plugin's error and a name conflict naming both."""
    site = write_fake_dist(tmp_path, "thirdparty", {"third": "good_plug", "third2": "good_plug2",
                                                     "broken": "broken_plug"},
                           {"good_plug": GOOD, "good_plug2": GOOD, "broken_plug": "import nonexistent_lib\n"})
    out = run_cli("plugins", "--json", pythonpath=[site], check=True)
    rows = {p["name"]: p for p in json.loads(out.stdout)["plugins"]}
    assert rows["broken"]["status"] == "failed"
    assert "nonexistent_lib" in rows["broken"]["errors"][0]
    conflict = [e for e in rows["third2"]["errors"] if "more than one plugin" in e]
    assert conflict and "'third'" in conflict[0] and "'third2'" in conflict[0]
    assert rows["bert"]["registered"]["embedder"] == ["bert"]


def test_plugins_command_imports_no_heavy_library() -> None:
    """`latentstack plugins` imports neither torch, faiss, onnxruntime nor peft (-X importtime)."""
    out = run_cli("plugins", check=True)
    proc = __import__("subprocess").run([sys.executable, "-X", "importtime", "-m", "latentstack", "plugins"],
                                        capture_output=True, text=True, check=True)
    imported = {line.split("|")[-1].strip().split(".")[0] for line in proc.stderr.splitlines() if "|" in line}
    assert "bert" in out.stdout
    for heavy in ("torch", "faiss", "onnxruntime", "peft", "transformers", "sklearn"):
        assert heavy not in imported, heavy


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["models"]])
def test_cli_basics(args: list[str]) -> None:
    """--version, --help and models answer with exit code 0."""
    out = run_cli(*args)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip()
