"""`latentstack generate` and `ask` reject out-of-range options in one line, before loading any model."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ..conftest import run_cli


@pytest.mark.parametrize(("option", "value", "named"), [("--top-p", "0", "top_p"), ("--max-new-tokens", "0",
                                                                                      "max_new_tokens"),
                                                         ("--repetition-penalty", "-1", "repetition_penalty"),
                                                         ("--temperature", "-0.5", "temperature")])
def test_generate_option_out_of_range(option: str, value: str, named: str) -> None:
    out = run_cli("generate", "hi", option, value, "--model", "no-such-model-so-nothing-can-load")
    assert out.returncode == 1 and f"Error: generate: invalid option: '{named}'" in out.stderr
    assert "Traceback" not in out.stderr


def test_ask_k_must_be_positive(tmp_path: Path) -> None:
    out = run_cli("ask", str(tmp_path), "why?", "-k", "0")
    assert out.returncode == 2 and "Invalid value for '-k'" in out.stderr and "Traceback" not in out.stderr


def test_sampling_options_without_a_temperature_are_refused() -> None:
    """--seed and --top-p do nothing to greedy decoding (the default): they were accepted and ignored."""
    out = run_cli("generate", "hi", "--seed", "3", "--top-p", "0.9", "--model", "no-such-model-so-nothing-can-load")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "--top-p and --seed apply to sampling only" in out.stderr.strip().splitlines()[-1]


def test_ask_refuses_stream_beside_json(tmp_path: Path) -> None:
    """--json printed one object at the end whatever --stream said."""
    out = run_cli("ask", str(tmp_path), "why?", "--json", "--stream")
    assert out.returncode == 2 and "--stream applies to the printed answer only" in out.stderr


def _piped(data: bytes, *args: str) -> subprocess.CompletedProcess[str]:
    import os
    import sys

    out = subprocess.run([sys.executable, "-m", "latentstack", *args], input=data, capture_output=True, timeout=600,
                         env=os.environ, check=False)
    return subprocess.CompletedProcess(out.args, out.returncode, out.stdout.decode(), out.stderr.decode())


def test_prompt_dash_reads_standard_input(tiny_llama_dir: Path) -> None:
    """`generate -` asked the model about a lone dash; it reads the prompt piped in, as `llm` does."""
    prompt = "Summarise this text:\nThe cat sat on the mat.\nThe dog barked."
    args = ("-q", "generate", "--model", str(tiny_llama_dir), "--max-new-tokens", "8")
    typed = run_cli(*args, prompt, check=True)
    piped = _piped(prompt.encode(), *args, "-")
    assert piped.returncode == 0 and piped.stdout == typed.stdout
    latin1 = _piped("café".encode("latin-1"), *args, "-")
    assert latin1.returncode == 1 and "the text on standard input is not UTF-8 (byte 3 is b'\\xe9')" in latin1.stderr
    assert "Traceback" not in latin1.stderr
    empty = _piped(b"\n", *args, "-")
    assert empty.returncode == 1 and "the prompt is empty" in empty.stderr
