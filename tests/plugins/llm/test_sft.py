"""LoRA SFT on a tiny Llama (and GPT-2, whose layers are named otherwise): prompt masking, the loss, saved adapters,
switching, merging, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from latentstack.data.sft import load_sft, load_sft_texts
from latentstack.errors import InputError, ModelMismatchError
from latentstack.interfaces import GenerationConfig
from latentstack.storage import read_manifest, update_manifest
from latentstack_llm.generator import LlmGenerator
from latentstack_llm.sft import SftConfig, collate, encode_example, encode_rows, reply_loss, train_sft

EXAMPLES = [[{"role": "user", "content": "what is the capital of france?"}, {"role": "assistant", "content": "paris [1]"}],
            [{"role": "user", "content": "the cat sat on"}, {"role": "assistant", "content": "the mat"}]] * 4


def test_prompt_tokens_are_masked_and_the_reply_ends_the_turn(tiny_llama_dir: Path) -> None:
    gen = LlmGenerator.from_options(model=str(tiny_llama_dir))
    ids, labels = encode_example(gen.tokenizer, EXAMPLES[0], 256)
    trained = [t for t in labels if t != -100]
    assert gen.tokenizer.decode(trained) == "paris [1]<|im_end|>"
    assert labels[: len(ids) - len(trained)] == [-100] * (len(ids) - len(trained))


@pytest.mark.parametrize("body", ["tiny_llama_dir", "tiny_gpt2_dir", "tiny_gemma2_dir"])
def test_reply_loss_equals_the_models_own_loss(body: str, request: pytest.FixtureRequest) -> None:
    """On Llama's body (``model``) and GPT-2's (``transformer``: it was an AttributeError)."""
    gen = LlmGenerator.from_options(model=str(request.getfixturevalue(body)))
    batch = collate([encode_example(gen.tokenizer, m, 256) for m in EXAMPLES[:2]], gen.tokenizer.pad_token_id)
    with torch.no_grad():
        assert abs(float(gen.model(**batch).loss) - float(reply_loss(gen.model, batch))) < 1e-5


def test_training_lowers_the_loss_and_saves_only_the_adapter(tiny_llama_dir: Path, tmp_path: Path) -> None:
    gen = LlmGenerator.from_options(model=str(tiny_llama_dir))
    config = SftConfig(rank=4, alpha=8, epochs=3, lr=1e-2, batch_size=2, grad_accum=1, seed=0)
    report = train_sft(gen, EXAMPLES, tmp_path / "adapter", config)
    losses = [h["loss"] for h in report["history"]]
    assert losses[-1] < losses[0]
    files = {p.name for p in (tmp_path / "adapter").iterdir()}
    assert {"adapter_config.json", "adapter_model.safetensors", "manifest.json", "training.json"} <= files
    assert (tmp_path / "adapter-checkpoints" / "epoch-3" / "adapter_model.safetensors").exists()
    assert 0 < report["trainable_params"] < report["total_params"]


def test_adapters_switch_at_run_time_and_merge(tiny_llama_dir: Path, tmp_path: Path) -> None:
    for seed in (0, 1):
        gen = LlmGenerator.from_options(model=str(tiny_llama_dir))
        train_sft(gen, EXAMPLES, tmp_path / f"a{seed}", SftConfig(rank=4, epochs=2, lr=2e-2, batch_size=2,
                                                                    grad_accum=1, seed=seed))
    gen = LlmGenerator.from_options(model=str(tiny_llama_dir))
    opts = GenerationConfig(max_new_tokens=8)
    base = gen.generate("what is the capital of france?", opts)
    gen.use_adapter(str(tmp_path / "a0"))
    first = gen.generate("what is the capital of france?", opts)
    gen.use_adapter(str(tmp_path / "a1"))
    second = gen.generate("what is the capital of france?", opts)
    gen.use_adapter("")
    assert gen.generate("what is the capital of france?", opts) == base
    gen.use_adapter(str(tmp_path / "a0"))
    assert gen.generate("what is the capital of france?", opts) == first
    assert first != base or second != base
    fresh = LlmGenerator.from_options(model=str(tiny_llama_dir), adapter=str(tmp_path / "a0"))
    assert fresh.generate("what is the capital of france?", opts) == first


def test_adapter_from_another_base_model_is_refused(tiny_llama_dir: Path, tmp_path: Path) -> None:
    gen = LlmGenerator.from_options(model=str(tiny_llama_dir))
    train_sft(gen, EXAMPLES[:2], tmp_path / "a", SftConfig(rank=2, epochs=1, batch_size=2, grad_accum=1))
    update_manifest(tmp_path / "a", lambda m: m["data"].update(base_fingerprint="0123456789abcdef"))
    with pytest.raises(ModelMismatchError, match="fingerprint"):
        LlmGenerator.from_options(model=str(tiny_llama_dir), adapter=str(tmp_path / "a")).generate("hi")


def test_sft_data_errors_name_the_line(tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps({"prompt": "q", "response": "a", "system": "s"}) + "\n\n"
                    + json.dumps({"messages": EXAMPLES[0]}) + "\n")
    rows = load_sft(good)
    assert [m["role"] for m in rows[0]] == ["system", "user", "assistant"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"prompt": "q", "response": "a"}) + "\n" + json.dumps({"prompt": "q"}) + "\n")
    with pytest.raises(InputError, match=r"bad.jsonl:2"):
        load_sft(bad)
    last_user = tmp_path / "user.jsonl"
    last_user.write_text(json.dumps({"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]}))
    with pytest.raises(InputError, match="assistant"):
        load_sft(last_user)
    latin = tmp_path / "latin1.jsonl"
    latin.write_bytes('{"prompt": "caf\xe9", "response": "x"}'.encode("latin-1"))
    with pytest.raises(InputError, match="UTF-8"):
        load_sft(latin)


def test_sft_reads_trls_prompt_completion_form(tmp_path: Path) -> None:
    rows = [{"prompt": "q", "completion": "a"},
            {"prompt": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"}],
             "completion": [{"role": "assistant", "content": "a"}]}]
    path = tmp_path / "trl.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    first, second = load_sft(path)
    assert first == [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    assert [m["role"] for m in second] == ["system", "user", "assistant"] and second[-1]["content"] == "a"


def test_sft_reads_text_parts_and_the_developer_role_as_the_server_does(tmp_path: Path) -> None:
    """Content as a list of text parts (newer OpenAI clients, LangChain, TRL datasets) was refused; the parts are
    joined by newlines and `developer` is a system message, as over HTTP; an image part is refused naming it."""
    rows = [{"messages": [{"role": "developer", "content": "be brief"},
                          {"role": "user", "content": [{"type": "text", "text": "q1"}, {"type": "text", "text": "q2"}]},
                          {"role": "assistant", "content": [{"type": "text", "text": "a"}]}]},
            {"prompt": "q", "completion": [{"role": "assistant", "content": [{"type": "text", "text": "a"}]}]}]
    path = tmp_path / "parts.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    first, second = load_sft(path)
    assert first == [{"role": "system", "content": "be brief"}, {"role": "user", "content": "q1\nq2"},
                     {"role": "assistant", "content": "a"}]
    assert second[-1] == {"role": "assistant", "content": "a"}
    path.write_text(json.dumps({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]},
                                             {"role": "assistant", "content": "a"}]}), encoding="utf-8")
    with pytest.raises(InputError, match=r"parts.jsonl:1: 'messages\[0\].content\[0\]' is a part of type image_url"):
        load_sft(path)


def test_sft_reads_alpaca_and_sharegpt_datasets_as_published(tmp_path: Path) -> None:
    """The two forms most instruction datasets come in were refused ("each line needs 'messages'..."), and so was
    alpaca_data.json itself, one JSON array: they are read as LLaMA-Factory reads them."""
    alpaca = tmp_path / "alpaca_data.json"
    alpaca.write_text(json.dumps([{"instruction": "Give a tip.", "input": "", "output": "Sleep."},
                                  {"instruction": "Translate.", "input": "Bonjour", "output": "Hello", "system": "s"}],
                                 indent=2), encoding="utf-8")
    first, second = load_sft(alpaca)
    assert first == [{"role": "user", "content": "Give a tip."}, {"role": "assistant", "content": "Sleep."}]
    assert second == [{"role": "system", "content": "s"}, {"role": "user", "content": "Translate.\nBonjour"},
                      {"role": "assistant", "content": "Hello"}]
    sharegpt = tmp_path / "sharegpt.jsonl"
    turns = [{"from": "system", "value": "be kind"}, {"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello!"},
             {"from": "human", "value": "Bye"}, {"from": "gpt", "value": "Bye!"}]
    sharegpt.write_text(json.dumps({"conversations": turns}) + "\n", encoding="utf-8")
    assert [(m["role"], m["content"]) for m in load_sft(sharegpt)[0]] == [
        ("system", "be kind"), ("user", "Hi"), ("assistant", "Hello!"), ("user", "Bye"), ("assistant", "Bye!")]
    for rows, said in (([{"conversations": [{"from": "human", "value": "Hi"}, {"from": "bot", "value": "x"}]}],
                        r"\[0\]: turn 2 of 'conversations' is from 'bot'; ShareGPT speakers read are human, gpt"),
                       ([{"instruction": "", "output": "x"}], r"\[0\]: Alpaca's 'instruction' must be a non-empty"),
                       ([{"instruction": "a", "output": ""}], r"\[0\]: 'output' must be a non-empty string")):
        alpaca.write_text(json.dumps(rows), encoding="utf-8")
        with pytest.raises(InputError, match=said):
            load_sft(alpaca)
    alpaca.write_text('[{"instruction": "a", "output": "b"},\n', encoding="utf-8")  # cut short
    with pytest.raises(InputError, match="not valid JSON .*; it starts with '\\[': give one JSON array, or JSON lines"):
        load_sft(alpaca)


def test_sft_refuses_a_misspelt_role_naming_the_message(tmp_path: Path) -> None:
    path = tmp_path / "role.jsonl"
    path.write_text(json.dumps({"messages": [{"role": "usr", "content": "q"}, {"role": "assistant", "content": "a"}]}),
                    encoding="utf-8")
    with pytest.raises(InputError, match=r"role.jsonl:1: message 1 of 'messages' has role 'usr'; roles are system"):
        load_sft(path)


@pytest.mark.parametrize(("body", "layers"), [("tiny_llama_dir", ["down_proj", "gate_proj", "k_proj", "o_proj", "q_proj",
                                                                   "up_proj", "v_proj"]),
                                             ("tiny_gpt2_dir", ["c_attn", "c_fc", "c_proj"])])
def test_adapt_cli_trains_merges_and_generates(body: str, layers: list[str], tmp_path: Path,
                                               request: pytest.FixtureRequest) -> None:
    """The default targets are every linear layer of the body, never the LM head: Llama's seven projections, GPT-2's
    Conv1D layers (its SFT stopped on having no 'q_proj')."""
    from click.testing import CliRunner

    from latentstack.cli import cli

    tiny_llama_dir = request.getfixturevalue(body)
    cli.load_plugin_commands()
    data = tmp_path / "sft.jsonl"
    data.write_text("".join(json.dumps({"messages": m}) + "\n" for m in EXAMPLES))
    runner = CliRunner()
    out = runner.invoke(cli, ["-q", "adapt", "sft", "--data", str(data), "--out", str(tmp_path / "ad"), "--model",
                              str(tiny_llama_dir), "--rank", "4", "--epochs", "2", "--lr", "0.02", "--batch-size", "2",
                              "--grad-accum", "1"])
    assert out.exit_code == 0, out.output
    assert "of the model's weights" in out.output
    assert read_manifest(tmp_path / "ad", kind="adapter").data["targets"] == layers
    out = runner.invoke(cli, ["-q", "adapt", "merge", str(tmp_path / "ad"), "--model", str(tiny_llama_dir), "--out",
                              str(tmp_path / "merged")])
    assert out.exit_code == 0, out.output
    prompt = ["-q", "generate", "what is the capital of france?", "--max-new-tokens", "8"]
    with_adapter = runner.invoke(cli, [*prompt, "--model", str(tiny_llama_dir), "--adapter", str(tmp_path / "ad")])
    merged = runner.invoke(cli, [*prompt, "--model", str(tmp_path / "merged")])
    assert with_adapter.exit_code == 0 and merged.exit_code == 0
    assert merged.output == with_adapter.output
    assert not any(p.name.startswith("adapter") for p in (tmp_path / "merged").iterdir())


@pytest.mark.parametrize(("option", "value"), [("--rank", "0"), ("--epochs", "0"), ("--lr", "-1"), ("--batch-size", "0"),
                                               ("--grad-accum", "0"), ("--dropout", "1"), ("--max-length", "4"),
                                               ("--limit", "0")])
def test_adapt_sft_bounds_its_options(tmp_path: Path, option: str, value: str) -> None:
    """An out-of-range option is a usage error naming it, before any model loads (they were tracebacks, and
    --limit 0 saved an adapter trained on nothing)."""
    from click.testing import CliRunner

    from latentstack.cli import cli

    cli.load_plugin_commands()
    data = tmp_path / "sft.jsonl"
    data.write_text("".join(json.dumps({"messages": m}) + "\n" for m in EXAMPLES))
    out = CliRunner().invoke(cli, ["-q", "adapt", "sft", "--data", str(data), "--out", str(tmp_path / "ad"), option, value])
    assert out.exit_code == 2 and f"Invalid value for '{option}'" in out.output
    assert not (tmp_path / "ad").exists()


def test_training_can_go_on_from_a_saved_adapter(tiny_llama_dir: Path, tmp_path: Path) -> None:
    config = SftConfig(rank=4, epochs=2, lr=1e-2, batch_size=2, grad_accum=1)
    first = train_sft(LlmGenerator.from_options(model=str(tiny_llama_dir)), EXAMPLES, tmp_path / "a", config)
    more = train_sft(LlmGenerator.from_options(model=str(tiny_llama_dir)), EXAMPLES, tmp_path / "b",
                     SftConfig(rank=16, epochs=1, lr=1e-2, batch_size=2, grad_accum=1, init_adapter=str(tmp_path / "a")))
    assert more["history"][0]["loss"] < first["history"][0]["loss"]
    assert more["trainable_params"] == first["trainable_params"]  # the saved rank 4, not the 16 asked for


def test_dropout_and_warmup_are_shares() -> None:
    """A dropout of 1.5 or a negative warmup were accepted (PyTorch's error later, or a schedule past its ends)."""
    from latentstack.errors import ConfigError

    for options, words in (({"dropout": 1.5}, "'dropout' must be < 1.0"), ({"warmup": -0.1}, "'warmup' must be >= 0.0")):
        with pytest.raises(ConfigError, match=words):
            SftConfig(**options)
    assert SftConfig(dropout=0.1, warmup=0.2).warmup == 0.2


def test_plain_text_lines_train_on_every_token(tiny_llama_dir: Path, tmp_path: Path) -> None:
    """TRL's language-modelling form, {"text": ...}, was refused: each text is trained on whole (no prompt masked),
    ends with the end-of-text token, and is cut into rows of max_length rather than truncated; the chat readers
    (pairs, export calibration) still refuse it, naming adapt sft."""
    path = tmp_path / "texts.jsonl"
    texts = ["the tide comes in twice a day " * 12, "bread rises as yeast ferments"]
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    assert load_sft_texts(path) == texts
    with pytest.raises(InputError, match="'text' lines train a model on plain text with adapt sft"):
        load_sft(path)
    gen = LlmGenerator.from_options(model=str(tiny_llama_dir))
    rows = encode_rows(gen.tokenizer, texts[0], 32)
    ids = gen.tokenizer(texts[0], add_special_tokens=False)["input_ids"] + [gen.tokenizer.eos_token_id]
    assert [t for row, _ in rows for t in row] == ids and all(len(row) <= 32 for row, _ in rows) and len(rows) > 1
    assert all(labels == row for row, labels in rows)  # nothing masked
    report = train_sft(gen, load_sft_texts(path), tmp_path / "lm", SftConfig(rank=2, lr=1e-2, batch_size=2, epochs=4, max_length=32))
    assert report["rows"] == len(rows) + 1 and report["examples"] == 2
    assert report["history"][-1]["loss"] < report["history"][0]["loss"]


def test_a_tokenizer_without_a_padding_token_trains(tiny_gpt2_dir: Path, tmp_path: Path) -> None:
    """GPT-2's tokenizer (and a base Llama 3's) has no padding token: batching stopped on a TypeError; padding is
    masked, so its id is any, and the loss is the one each row gives alone."""
    import shutil

    folder = shutil.copytree(tiny_gpt2_dir, tmp_path / "gpt2")
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config.pop("pad_token", None)
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    gen = LlmGenerator.from_options(model=str(folder))
    assert gen.tokenizer.pad_token_id is None
    rows = [encode_example(gen.tokenizer, m, 64) for m in EXAMPLES[:2]]
    batch = collate(rows, gen.tokenizer.pad_token_id)
    with torch.no_grad():
        alone = [float(reply_loss(gen.model, collate([r], None))) for r in rows]
        tokens = [sum(t != -100 for t in labels[1:]) for _, labels in rows]
        assert abs(float(reply_loss(gen.model, batch)) - sum(a * n for a, n in zip(alone, tokens, strict=True))
                   / sum(tokens)) < 1e-5
    report = train_sft(gen, EXAMPLES, tmp_path / "ad", SftConfig(rank=2, lr=1e-2, batch_size=2, epochs=2))
    assert report["history"][-1]["loss"] < report["history"][0]["loss"]


def test_held_out_prompts_are_not_trained_on_and_their_loss_is_measured_each_epoch(tiny_llama_dir: Path,
                                                                                   tmp_path: Path) -> None:
    """TRL's eval_dataset and LLaMA-Factory's val_size: SFT had no loss on unseen examples to tell overfitting by."""
    from latentstack.data.sft import split_examples
    from latentstack_llm.sft import eval_loss

    rows = [[{"role": "user", "content": f"question {i}"}, {"role": "assistant", "content": f"answer {i}"}]
            for i in range(8)] * 2
    train, held = split_examples(rows, 0.25, seed=0)
    assert len(held) == 4 and not {json.dumps(h) for h in held} & {json.dumps(t) for t in train}
    assert split_examples(rows, 0.25, seed=0) == (train, held) and split_examples(rows, 0.25, seed=1) != (train, held)
    with pytest.raises(InputError, match="leaves none held out"):
        split_examples(rows[:2], 0.1, seed=0)
    gen = LlmGenerator.from_options(model=str(tiny_llama_dir))
    config = SftConfig(rank=4, epochs=3, lr=1e-2, batch_size=2, holdout=0.25)
    report = train_sft(gen, rows, tmp_path / "a", config, eval_examples=[rows[0]])
    assert report["examples"] == 12 and report["eval_examples"] == 5
    held_losses = [h["eval_loss"] for h in report["history"]]
    assert len(held_losses) == 3 and report["best_epoch"] == 1 + held_losses.index(min(held_losses))
    one = collate([encode_example(gen.tokenizer, rows[0], 512)], gen.tokenizer.pad_token_id)
    with torch.no_grad():  # one row: the model's own mean loss over its reply tokens
        assert eval_loss(gen.model, [encode_example(gen.tokenizer, rows[0], 512)], 2, gen.tokenizer.pad_token_id) == \
            pytest.approx(float(gen.model(**one).loss), abs=1e-5)
    trained_on = train_sft(LlmGenerator.from_options(model=str(tiny_llama_dir)), rows, tmp_path / "b",
                           SftConfig(rank=4, epochs=3, lr=1e-2, batch_size=2), eval_examples=[rows[0]])
    seen = [h["eval_loss"] for h in trained_on["history"]]
    assert seen[-1] < seen[0]  # an example trained on: its loss falls as training goes on


def test_the_cli_names_the_epoch_with_the_lowest_held_out_loss(tiny_llama_dir: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from latentstack.cli import cli

    cli.load_plugin_commands()
    data = tmp_path / "sft.jsonl"
    data.write_text("".join(json.dumps({"messages": [{"role": "user", "content": f"q {i}"},
                                                     {"role": "assistant", "content": f"a {i}"}]}) + "\n"
                            for i in range(8)))
    out = CliRunner().invoke(cli, ["-q", "adapt", "sft", "--data", str(data), "--out", str(tmp_path / "ad"), "--model",
                                   str(tiny_llama_dir), "--rank", "2", "--epochs", "2", "--holdout", "0.25"])
    assert out.exit_code == 0, out.output
    line = next(x for x in out.output.splitlines() if x.startswith("held-out loss by epoch (2 examples"))
    best = line.rsplit("(", 1)[1].rstrip(")")
    assert Path(best).parent == tmp_path / "ad-checkpoints" and (Path(best) / "adapter_model.safetensors").exists()
    assert json.loads((tmp_path / "ad" / "training.json").read_text())["config"]["holdout"] == 0.25
