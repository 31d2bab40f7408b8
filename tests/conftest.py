"""Shared test helpers: fake distributions (as pytest's own tests do) and a fresh registry."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from latentstack.registry import Registry, reset_registry

ROOT = Path(__file__).resolve().parents[1]


def write_fake_dist(
    where: Path, dist: str, entry_points: dict[str, str], modules: dict[str, str] | None = None
) -> Path:
    """Write a dist-info folder (METADATA + entry_points.txt) and module files under ``where``."""
    info = where / f"{dist.replace('-', '_')}-0.1.0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1.0\n")
    lines = "\n".join(f"{k} = {v}" for k, v in entry_points.items())
    (info / "entry_points.txt").write_text(f"[latentstack]\n{lines}\n")
    for name, source in (modules or {}).items():
        (where / f"{name}.py").write_text(source)
    return where


@pytest.fixture
def fake_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """Install a fake distribution on sys.path for this test only."""

    def make(dist: str, entry_points: dict[str, str], modules: dict[str, str] | None = None) -> Path:
        where = write_fake_dist(tmp_path / "site", dist, entry_points, modules)
        monkeypatch.syspath_prepend(str(where))
        importlib.invalidate_caches()
        return where

    return make


@pytest.fixture(autouse=True)
def _output_switches_restored() -> Iterator[None]:
    """``-q`` and ``-v`` set LATENTSTACK_QUIET / LATENTSTACK_VERBOSE for the process and its children
    (``progress.set_quiet``): a CLI command run in the test process must not silence the tests after it."""
    saved = {name: os.environ.get(name) for name in ("LATENTSTACK_QUIET", "LATENTSTACK_VERBOSE")}
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def fresh_registry(monkeypatch: pytest.MonkeyPatch) -> Callable[[], Registry]:
    """Build a registry from what is installed now; the global one is reset afterwards."""
    reset_registry()
    yield lambda: Registry.discover().build()
    reset_registry()


def run_cli(*args: str, env: dict[str, str] | None = None, pythonpath: list[Path] | None = None,
            check: bool = False, stdin: str | bytes | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m latentstack ARGS`` in a new process and capture its output (forked from a process with the
    heavy imports done, ``tests.cli_fork``; LATENTSTACK_TEST_FORKS=0 starts each afresh); ``stdin`` is piped in."""
    from tests.cli_fork import FORKS, text_of

    full_env = {**os.environ, **(env or {})}
    if pythonpath:
        full_env["PYTHONPATH"] = os.pathsep.join([*map(str, pythonpath), full_env.get("PYTHONPATH", "")])
    data = stdin.encode() if isinstance(stdin, str) else stdin
    done = FORKS.run(list(args), full_env, 600, stdin=data) if os.environ.get("LATENTSTACK_TEST_FORKS") != "0" else None
    if done is None:  # input None: the command reads the tests' own standard input, as before
        raw = subprocess.run([sys.executable, "-m", "latentstack", *args], capture_output=True, input=data,
                             env=full_env, timeout=600, check=False)
        done = subprocess.CompletedProcess(raw.args, raw.returncode, text_of(raw.stdout), text_of(raw.stderr))
    if check:
        done.check_returncode()
    return done


#: Runs each command of a JSON list (from stdin) through the CLI in this one process; prints their results.
_SESSION = """
import json, sys
from click.testing import CliRunner
from latentstack.cli import cli
cli.load_plugin_commands()
runner, done = CliRunner(), []
for args in json.load(sys.stdin):
    r = runner.invoke(cli, args, catch_exceptions=False)
    done.append([args, r.exit_code, r.stdout, r.stderr])
print(json.dumps(done))
"""


def run_cli_session(commands: list[list[str]], cwd: Path | None = None,
                    env: dict[str, str] | None = None) -> list[subprocess.CompletedProcess[str]]:
    """Run several ``latentstack ARGS`` commands one after another in one fresh process, each as its own
    command line (parsed, run, its exit code and output captured): the heavy imports are paid once."""
    from tests.cli_fork import FORKS

    full_env, asked = {**os.environ, **(env or {})}, json.dumps(commands)
    out = FORKS.run([], full_env, 1200, code=_SESSION, cwd=cwd, stdin=asked.encode()) \
        if os.environ.get("LATENTSTACK_TEST_FORKS") != "0" else None
    if out is None:
        out = subprocess.run([sys.executable, "-c", _SESSION], input=asked, capture_output=True, text=True, cwd=cwd,
                             env=full_env, timeout=1200, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    return [subprocess.CompletedProcess(args, code, stdout, stderr)
            for args, code, stdout, stderr in json.loads(out.stdout.splitlines()[-1])]


@contextlib.contextmanager
def another_writer(path: Path) -> Iterator[int]:
    """Another process holding ``path``'s writer lock (as a second command writing it would) until the block ends;
    its pid."""
    code = ("import sys\nfrom latentstack.locks import writer_lock\n"
            f"with writer_lock({str(path)!r}):\n    print('held', flush=True)\n    sys.stdin.read()\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "held\n"
        yield proc.pid
    finally:
        proc.communicate(timeout=60)


@contextlib.contextmanager
def signal_in_step(step: int, signum: int = signal.SIGINT) -> Iterator[None]:
    """Send ``signum`` (Ctrl-C's by default) to this process from inside the ``step``-th optimiser step of the block,
    once the weights have moved and before the trainer has counted the step: where a stop is hardest to keep."""
    from torch.optim.optimizer import register_optimizer_step_post_hook

    taken = 0

    def hook(*_: object) -> None:
        nonlocal taken
        taken += 1
        if taken == step:
            os.kill(os.getpid(), signum)

    handle = register_optimizer_step_post_hook(hook)
    try:
        yield
    finally:
        handle.remove()


def stop_in_progress(monkeypatch: pytest.MonkeyPatch, module: Any, batches: int, desc: Callable[[str], bool]) -> None:
    """Make a progress bar of ``module``'s, one whose description ``desc`` accepts, raise KeyboardInterrupt (Ctrl-C)
    once ``batches`` of its items have run."""
    real = module.progress

    def bar(items: Any, **kw: Any) -> Iterator[Any]:
        for i, item in enumerate(real(items, **kw)):
            if i == batches and desc(kw.get("desc") or ""):
                raise KeyboardInterrupt
            yield item

    monkeypatch.setattr(module, "progress", bar)
