"""The core runs without the heavy libraries: only pluggy, attrs, click, numpy (and tqdm) are needed.

A subprocess blocks torch, transformers, faiss, onnxruntime, matplotlib and the other
plugin libraries at import (as if they were not installed): the CLI starts, every
built-in that needs them is listed with the pip command that brings them, and a plugin
that needs none of them (the example's hashing embedder) still embeds.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from ..conftest import ROOT, write_fake_dist

HEAVY = ["torch", "transformers", "faiss", "onnxruntime", "onnx", "matplotlib", "sklearn", "scipy", "peft",
         "bm25s", "Stemmer", "gguf", "safetensors", "accelerate"]
BLOCKER = textwrap.dedent('''
    import sys
    from importlib.abc import MetaPathFinder

    class Absent(MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)")
            return None

    sys.meta_path.insert(0, Absent())
    sys.argv = ["latentstack", *ARGS]
    from latentstack.cli import main
    main()
''')


def run_blocked(*args: str, pythonpath: list[Path] | None = None) -> subprocess.CompletedProcess[str]:
    """``latentstack ARGS`` with the heavy libraries made unimportable."""
    code = f"BLOCKED = {set(HEAVY)!r}\nARGS = {list(args)!r}\n" + BLOCKER
    env = {"PYTHONPATH": ":".join(map(str, pythonpath or [])), "PATH": "/usr/bin:/bin", "HOME": str(ROOT)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)


def test_plugins_lists_what_is_missing_with_the_pip_command() -> None:
    """Each built-in that needs a blocked library says which, and the pip command; none is 'ok' by mistake."""
    out = run_blocked("plugins", "--json")
    assert out.returncode == 0, out.stderr
    rows = {p["name"]: p for p in json.loads(out.stdout)["plugins"]}
    for name in ("bert", "llm", "lora", "finetune", "faiss", "bm25", "tfidf", "linear", "onnx", "bench"):
        assert rows[name]["status"] == "missing", (name, rows[name])
        assert f"pip install 'latentstack[{name}]'" in rows[name]["errors"][0], rows[name]
    assert rows["sources"]["status"] == "ok"


def test_a_light_plugin_still_works(tmp_path: Path) -> None:
    """The example's hashing embedder needs only numpy: it embeds with every heavy library absent."""
    site = write_fake_dist(tmp_path, "latentstack-hello", {"hello": "latentstack_hello"})
    out = run_blocked("embed", "hello world", "--embedder", "hello-hash", "-o", "dim=8",
                      pythonpath=[site, ROOT / "examples" / "latentstack-hello"])
    assert out.returncode == 0, out.stderr
    assert len(json.loads(out.stdout)) == 8


def test_an_unknown_name_points_at_the_missing_plugin() -> None:
    """Asking for a plugin whose libraries are missing says so in one line."""
    out = run_blocked("embed", "hello", "--embedder", "bert")
    assert out.returncode != 0 and "bert" in out.stderr and "Traceback" not in out.stderr
