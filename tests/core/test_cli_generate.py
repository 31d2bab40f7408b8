"""`latentstack generate` and `ask` reject out-of-range options in one line, before loading any model."""

from __future__ import annotations

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
