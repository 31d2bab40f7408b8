"""`latentstack generate` and `ask` reject out-of-range options in one line, before loading any model."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ..conftest import run_cli, run_cli_session


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


def test_top_k_and_min_p_sample_from_the_likeliest(tiny_llama_dir: Path) -> None:
    """--top-k 1, or --min-p 1, leaves a sample at any temperature the greedy answer; at temperature 0 either is
    refused, as --top-p is."""
    base = ["generate", "the cat sat on", "--model", str(tiny_llama_dir), "--max-new-tokens", "12"]
    hot = ["--temperature", "1.5", "--seed", "1"]
    greedy, free, one, top, refused = run_cli_session([  # one process: the imports once
        base, [*base, *hot], [*base, *hot, "--top-k", "1"], [*base, *hot, "--min-p", "1"],
        ["generate", "hi", "--min-p", "0.1", "--model", "no-such-model-so-nothing-can-load"]])
    assert one.returncode == top.returncode == 0, one.stderr + top.stderr
    assert one.stdout == top.stdout == greedy.stdout != free.stdout
    assert refused.returncode == 2 and "--min-p applies to sampling only" in refused.stderr


def test_openai_penalties_from_the_command_line(tiny_llama_dir: Path) -> None:
    """--frequency-penalty and --presence-penalty give the answer the Python API gives with them; out of range is
    one line."""
    from latentstack import get_generator
    from latentstack.interfaces import GenerationConfig

    out = run_cli("generate", "the cat sat on", "--model", str(tiny_llama_dir), "--max-new-tokens", "12",
                  "--frequency-penalty", "1.5", "--presence-penalty", "0.5")
    options = GenerationConfig(max_new_tokens=12, frequency_penalty=1.5, presence_penalty=0.5)
    expected = get_generator("llm", model=str(tiny_llama_dir)).generate("the cat sat on", options)
    assert out.returncode == 0 and out.stdout.rstrip("\n") == expected != get_generator(
        "llm", model=str(tiny_llama_dir)).generate("the cat sat on", GenerationConfig(max_new_tokens=12))
    bad = run_cli("generate", "hi", "--frequency-penalty", "3", "--model", "no-such-model-so-nothing-can-load")
    assert bad.returncode == 2 and "--frequency-penalty" in bad.stderr and "Traceback" not in bad.stderr


def test_logit_bias_from_the_command_line(tiny_llama_dir: Path) -> None:
    """--logit-bias in llama.cpp's form gives the answer the Python API gives with that bias, and -100 bans the greedy
    answer's first token; a value in another form is one line."""
    import torch

    from latentstack.interfaces import GenerationConfig
    from latentstack_llm.generator import LlmGenerator

    gen = LlmGenerator.from_options(model=str(tiny_llama_dir))
    with torch.inference_mode():
        first_id = int(gen.model(input_ids=gen.prompt_ids("the cat sat on")).logits[0, -1].argmax())
    options = GenerationConfig(max_new_tokens=12, logit_bias={first_id: -100, 7: 2.5})
    expected = gen.generate("the cat sat on", options)
    out = run_cli("generate", "the cat sat on", "--model", str(tiny_llama_dir), "--max-new-tokens", "12",
                  "--logit-bias", f"{first_id}-100", "--logit-bias", "7+2.5")
    assert out.returncode == 0, out.stderr
    assert out.stdout.rstrip("\n") == expected != gen.generate("the cat sat on", GenerationConfig(max_new_tokens=12))
    bad = run_cli("generate", "hi", "--logit-bias", "7=2", "--model", "no-such-model-so-nothing-can-load")
    assert bad.returncode == 2 and "write e.g. 15043+1" in bad.stderr and "Traceback" not in bad.stderr


def test_ask_refuses_stream_beside_json(tmp_path: Path) -> None:
    """--json printed one object at the end whatever --stream said."""
    out = run_cli("ask", str(tmp_path), "why?", "--json", "--stream")
    assert out.returncode == 2 and "--stream applies to the printed answer only" in out.stderr


def _piped(data: bytes, *args: str) -> subprocess.CompletedProcess[str]:

    return run_cli(*args, stdin=data)


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


def test_from_puts_a_file_or_standard_input_before_the_prompt(tmp_path: Path, fresh_registry: object) -> None:
    """`cat notes | llm PROMPT` reads the notes; `generate PROMPT` ignored them without a word. --from FILE or - puts
    the text before the prompt (an echoing generator shows the message the model gets); piped text without
    --from is said to be unread."""
    from collections.abc import Iterator
    from types import SimpleNamespace

    from click.testing import CliRunner

    import latentstack
    from latentstack import hookimpl
    from latentstack.cli import cli
    from latentstack.interfaces import Generator
    from latentstack.interfaces.generator import as_messages

    class Echo(Generator):
        name = "echo-user"

        def stream(self, prompt, options=None) -> Iterator[str]:  # noqa: ANN001
            yield as_messages(prompt)[-1]["content"]

    latentstack.register_plugin(SimpleNamespace(register_generators=hookimpl(lambda register: register(Echo))), "echo")
    notes = tmp_path / "notes.txt"
    notes.write_text("Yeast makes the dough rise.\n", encoding="utf-8")
    runner = CliRunner()
    by_file = runner.invoke(cli, ["generate", "Why?", "--from", str(notes), "--generator", "echo-user"])
    assert by_file.exit_code == 0 and by_file.stdout == "Yeast makes the dough rise.\n\nWhy?\n", by_file.output
    piped = runner.invoke(cli, ["generate", "Why?", "--from", "-", "--generator", "echo-user"], input="From a pipe.\n")
    assert piped.stdout == "From a pipe.\n\nWhy?\n"
    both = runner.invoke(cli, ["generate", "-", "--from", "-", "--generator", "echo-user"], input="x")
    assert both.exit_code == 2 and "both read standard input" in both.output
    empty = tmp_path / "empty.txt"
    empty.write_text("\n", encoding="utf-8")
    assert "is empty" in runner.invoke(cli, ["generate", "Why?", "--from", str(empty), "--generator", "echo-user"]).output


def test_piped_text_without_from_is_said_to_be_unread(tiny_llama_dir: Path) -> None:
    out = run_cli("generate", "hi", "--model", str(tiny_llama_dir), "--max-new-tokens", "1", stdin=b"some notes\n",
                  env={"LATENTSTACK_QUIET": ""})
    assert out.returncode == 0 and "standard input is not read: add --from -" in out.stderr, out.stderr


def test_schema_holds_the_answer_to_a_json_schema(tiny_llama_dir: Path, tmp_path: Path) -> None:
    """--schema as a file, inline, or json: the random model's answer parses; a schema that is none is one line."""
    import json

    schema = {"type": "object", "properties": {"n": {"enum": [1, 2, 3]}}, "required": ["n"],
              "additionalProperties": False}
    (tmp_path / "s.json").write_text(json.dumps(schema))
    for given in (str(tmp_path / "s.json"), json.dumps(schema)):
        out = run_cli("generate", "count", "--model", str(tiny_llama_dir), "--schema", given, "--max-new-tokens", "20")
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["n"] in (1, 2, 3)
    for bad, said in (("yaml", "is no .json file, JSON schema or json"), ('{"type": 3}', "cannot be followed"),
                      (str(tmp_path / "none.json"), "cannot read")):
        out = run_cli("generate", "count", "--model", str(tiny_llama_dir), "--schema", bad)
        assert out.returncode in (1, 2) and said in out.stderr and "Traceback" not in out.stderr


def test_an_answer_cut_by_max_new_tokens_says_so(tiny_llama_dir: Path) -> None:
    """A cut answer is a line on stderr (silenced by --quiet); cut JSON does not parse, so it is an error (exit 1)
    rather than output a script reads as an answer."""
    quietless = {"LATENTSTACK_QUIET": ""}
    cut = run_cli("generate", "count", "--model", str(tiny_llama_dir), "--max-new-tokens", "3", env=quietless)
    assert cut.returncode == 0 and "cut at --max-new-tokens 3: raise it" in cut.stderr, cut.stderr
    hushed = run_cli("-q", "generate", "count", "--model", str(tiny_llama_dir), "--max-new-tokens", "3", env=quietless)
    assert hushed.returncode == 0 and hushed.stdout == cut.stdout and "cut at" not in hushed.stderr
    schema = '{"type": "object", "properties": {"n": {"enum": [1, 2, 3]}}, "required": ["n"]}'
    unclosed = run_cli("generate", "count", "--model", str(tiny_llama_dir), "--schema", schema,
                       "--max-new-tokens", "3", env=quietless)
    assert unclosed.returncode == 1 and unclosed.stdout.startswith("{") and "Traceback" not in unclosed.stderr
    assert unclosed.stderr.strip().splitlines()[-1].endswith("before its JSON value closed, so it does not parse: "
                                                             "raise --max-new-tokens")
