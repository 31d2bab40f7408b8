"""Preference post-training on a tiny Llama: sampling, pairs, the DPO loss and KL, training, the frozen reference."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import torch

from latentstack.data.prefs import Pair, load_pairs
from latentstack.errors import InputError
from latentstack.interfaces import GenerationConfig
from latentstack_llm.decoding import decode_tokens, eos_ids
from latentstack_llm.dpo import DpoConfig, encode_pairs, load_reference, pair_logps, train_dpo
from latentstack_llm.dpo_loss import dpo_losses, metrics, sft_loss, token_kl
from latentstack_llm.generator import LlmGenerator
from latentstack_llm.sampling import sample_answers
from latentstack_llm.sft import SftConfig, train_sft

from ...conftest import run_cli, stop_in_progress

PROMPT = [{"role": "user", "content": "Passages:\n\n[1] Paris is the capital of France.\n\n"
                                      "[2] Berlin is in Germany.\n\nQuestion: what is the capital of France?"}]
PAIRS = [Pair(PROMPT, "Paris [1]", "Berlin [2]"), Pair([{"role": "user", "content": "the cat sat on"}], "the mat", "a dog"),
         Pair([{"role": "user", "content": "two plus two"}], "four", "five apples"),
         Pair([{"role": "user", "content": "sky colour"}], "blue", "green grass")]


@pytest.mark.parametrize("body", ["tiny_llama_dir", "tiny_gpt2_dir", "tiny_gemma2_dir"])
def test_k_samples_share_one_prefill_and_match_single_decoding(body: str, request: pytest.FixtureRequest) -> None:
    """The repeated KV cache decodes as the prompt alone does, on GPT-2's and Gemma 2's caches too."""
    gen = LlmGenerator.from_options(model=str(request.getfixturevalue(body)))
    ids = gen.prompt_ids(PROMPT)
    stops = eos_ids(gen.model, gen.tokenizer)
    hot = GenerationConfig(max_new_tokens=6, temperature=1.5, seed=3)
    with torch.inference_mode():
        greedy = sample_answers(gen.model, ids, 3, GenerationConfig(max_new_tokens=6), stop_ids=stops)
        single = list(decode_tokens(gen.model, ids, GenerationConfig(max_new_tokens=6), stop_ids=stops))
        first = sample_answers(gen.model, ids, 4, hot, stop_ids=stops)
        again = sample_answers(gen.model, ids, 4, hot, stop_ids=stops)
        mixed = sample_answers(gen.model, ids, 4, hot, stop_ids=stops, greedy_rows=1)
    assert greedy == [single] * 3  # every row of the repeated cache decodes as the prompt alone does
    assert first == again and len({tuple(a) for a in first}) > 1  # seeded, and the rows differ
    assert mixed[0] == single and any(row != single for row in mixed[1:])  # the first row greedy, the others sampled


def test_k_samples_are_prepared_and_picked_as_the_generators_answers(tiny_llama_dir: Path) -> None:
    """Each row's logits get the generator's penalties and its picks' filters: greedy rows under a repetition
    penalty and a frequency penalty are the generator's greedy answer under them, and at temperature 1.5 top_k 1 or
    min_p 1 leave the greedy answer only."""
    gen = LlmGenerator.from_options(model=str(tiny_llama_dir))
    ids, stops = gen.prompt_ids(PROMPT), eos_ids(gen.model, gen.tokenizer)
    penalized = GenerationConfig(max_new_tokens=12, repetition_penalty=1.8, frequency_penalty=0.5)
    with torch.inference_mode():
        single = list(decode_tokens(gen.model, ids, penalized, stop_ids=stops))
        plain = list(decode_tokens(gen.model, ids, GenerationConfig(max_new_tokens=12), stop_ids=stops))
        rows = sample_answers(gen.model, ids, 2, penalized, stop_ids=stops)
        narrow = [sample_answers(gen.model, ids, 3, GenerationConfig(max_new_tokens=12, temperature=1.5, seed=1,
                                                                      **kept), stop_ids=stops)
                  for kept in ({"top_k": 1}, {"min_p": 1.0}, {})]
    assert rows == [single] * 2 and single != plain
    assert narrow[:2] == [[plain] * 3] * 2 and narrow[2] != [plain] * 3  # unfiltered, the samples differ


def test_the_sampling_config_is_each_prompts_generation_config() -> None:
    from latentstack_llm.pairs import SampleConfig

    config = SampleConfig(temperature=0.8, top_p=0.9, top_k=5, min_p=0.1, repetition_penalty=1.2, max_new_tokens=9,
                          seed=3)
    assert config.decoding(2) == GenerationConfig(max_new_tokens=9, temperature=0.8, top_p=0.9, top_k=5, min_p=0.1,
                                                  repetition_penalty=1.2, seed=5)


def test_a_wrong_greedy_answer_is_the_rejected_reply(tiny_llama_dir: Path) -> None:
    """With ``greedy`` the greedy answer is a candidate and wins ties: the judge scores one sampled reply 1 and every
    other reply 0, so the greedy one (tied with the other samples) is rejected."""
    from latentstack.data.squad_sft import RagItem
    from latentstack_llm.pairs import SampleConfig, build_pairs

    gen = LlmGenerator.from_options(model=str(tiny_llama_dir))
    prompt = PAIRS[2].prompt
    with torch.inference_mode():
        gen.model.lm_head.weight[201] = 0  # the random model's greedy reply is blank lines (token 201), never paired
        single = list(decode_tokens(gen.model, gen.prompt_ids(prompt), GenerationConfig(max_new_tokens=6),
                                    stop_ids=eos_ids(gen.model, gen.tokenizer)))
    greedy = gen.tokenizer.decode(single, skip_special_tokens=True).strip()
    seen: list[list[str]] = []

    def judge(item: RagItem, replies: Sequence[str]) -> list[float]:
        seen.append(list(replies))
        good = next(r for r in replies if r != greedy)
        return [1.0 if r == good else 0.0 for r in replies]

    item = RagItem("two plus two", prompt, ("four",), 1)
    config = SampleConfig(samples=4, temperature=1.5, max_new_tokens=6, seed=3, greedy=True)
    row = build_pairs(gen, [item], judge, config)["rows"][0]
    assert greedy and len(seen[0]) == 5 and seen[0][0] == greedy
    assert row["rejected"][0]["content"] == greedy and row["chosen"][0]["content"] != greedy


@pytest.mark.parametrize("body", ["tiny_llama_dir", "tiny_gpt2_dir", "tiny_gemma2_dir"])
def test_shared_prompt_log_probs_equal_the_full_sequences(body: str, request: pytest.FixtureRequest) -> None:
    """Each prompt runs once for both replies; the log-probs are those of each whole sequence run alone (on GPT-2's
    body too)."""
    from latentstack_llm.sft import encode_example

    gen = LlmGenerator.from_options(model=str(request.getfixturevalue(body)))
    rows = encode_pairs(gen.tokenizer, PAIRS[:2], 256)
    with torch.inference_mode():
        chosen, rejected = pair_logps(gen.model, rows, False)
        for i, pair in enumerate(PAIRS[:2]):
            for reply, got in ((pair.chosen, chosen[i]), (pair.rejected, rejected[i])):
                ids, labels = encode_example(gen.tokenizer, [*pair.prompt, {"role": "assistant", "content": reply}], 256)
                logits = gen.model(input_ids=torch.tensor([ids])).logits[0, :-1].float()
                lp = torch.log_softmax(logits, -1).gather(-1, torch.tensor(ids[1:])[:, None]).squeeze(-1)
                want = lp[torch.tensor(labels[1:]) != -100].sum()
                assert abs(float(got) - float(want)) < 1e-4, reply


def test_dpo_loss_and_rewards_agree_with_a_hand_computation() -> None:
    pc, pr, rc, rr = (torch.tensor(v) for v in ([-3.0, -5.0], [-4.0, -2.0], [-3.5, -4.0], [-3.5, -3.0]))
    losses, cr, rj = dpo_losses(pc, pr, rc, rr, beta=0.5)
    for i in range(2):
        z = (float(pc[i]) - float(pr[i])) - (float(rc[i]) - float(rr[i]))
        assert math.isclose(float(losses[i]), math.log1p(math.exp(-0.5 * z)), rel_tol=1e-6)
        assert math.isclose(float(cr[i]), 0.5 * (float(pc[i]) - float(rc[i])), rel_tol=1e-6)
    ipo, _, _ = dpo_losses(pc, pr, rc, rr, beta=0.5, loss="ipo")
    assert float(ipo[0]) == 0.0 and math.isclose(float(ipo[1]), (-2.0 - 1.0) ** 2, rel_tol=1e-6)  # (z - 1/(2 beta))^2
    m = metrics(losses, cr, rj)
    assert m["rewards/accuracies"] == 0.5 and math.isclose(m["rewards/margins"], float((cr - rj).mean()), rel_tol=1e-6)


def test_dpo_loss_matches_trls() -> None:
    """TRL's DPOTrainer._compute_loss on the same log-probs (a stand-in model hands it per-token log-probs whose
    sums are ours; the reference log-probs go in precomputed, as TRL's precompute_ref_log_probs does)."""
    pytest.importorskip("trl")
    g = torch.Generator().manual_seed(0)
    pc, pr, rc, rr = (torch.randn(8, generator=g) * 3 for _ in range(4))
    for name, beta in (("sigmoid", 0.1), ("ipo", 0.1), ("sigmoid", 0.5)):
        ours = metrics(*dpo_losses(pc / 2 if name == "ipo" else pc, pr / 2 if name == "ipo" else pr,
                                   rc / 2 if name == "ipo" else rc, rr / 2 if name == "ipo" else rr, beta, name))
        theirs = trl_metrics(pc, pr, rc, rr, beta, name)
        for key in ("loss", "rewards/accuracies"):
            assert math.isclose(ours[key], theirs[key], rel_tol=1e-5, abs_tol=1e-6), (name, key)
        if name == "sigmoid":  # TRL's IPO rewards are on summed log-probs, ours on the averaged ones IPO trains on
            for key in ("rewards/chosen", "rewards/rejected", "rewards/margins"):
                assert math.isclose(ours[key], theirs[key], rel_tol=1e-5, abs_tol=1e-6), (name, key)


def test_dpo_with_the_sft_term_matches_trls_sigmoid_plus_sft() -> None:
    """TRL's loss_type=["sigmoid", "sft"] with weights [1, w]: the preference loss plus w times the chosen replies'
    mean negative log-likelihood per token (replies of two tokens each in the stand-in)."""
    pytest.importorskip("trl")
    g = torch.Generator().manual_seed(2)
    pc, pr, rc, rr = (torch.randn(6, generator=g) * 3 for _ in range(4))
    ours = dpo_losses(pc, pr, rc, rr, 0.1)[0].mean() + 0.7 * sft_loss(pc, torch.full((6,), 2.0))
    theirs = trl_metrics(pc, pr, rc, rr, 0.1, "sigmoid", [("sft", 0.7)])["loss"]
    assert math.isclose(float(ours), theirs, rel_tol=1e-5) and math.isclose(float(sft_loss(pc, torch.full((6,), 2.0))),
                                                                            -float(pc.sum()) / 12, rel_tol=1e-6)


def trl_metrics(pc: torch.Tensor, pr: torch.Tensor, rc: torch.Tensor, rr: torch.Tensor, beta: float,
                loss_type: str, extra: Sequence[tuple[str, float]] = ()) -> dict[str, float]:
    """The loss and reward metrics TRL's DPO trainer computes for replies of two tokens each with these sums."""
    from collections import defaultdict
    from types import SimpleNamespace

    from trl import DPOTrainer

    n = len(pc)
    sums = torch.cat([pc, pr])
    per_token = torch.stack([torch.zeros(2 * n), sums / 2, sums / 2], dim=1)  # prompt token, then two reply tokens
    out = SimpleNamespace(log_probs=per_token[:, 1:], entropy=torch.zeros(2 * n, 2), mean_logits=torch.zeros(2 * n, 2),
                          is_top1=torch.zeros(2 * n, 2, dtype=torch.bool))
    trainer = DPOTrainer.__new__(DPOTrainer)
    same = lambda x: x  # noqa: E731 - one process: gathering is the identity
    types, weights = [loss_type, *(t for t, _ in extra)], [1.0, *(w for _, w in extra)]  # TRL sums weighted losses
    vars(trainer).update(model=SimpleNamespace(training=True), beta=beta, loss_types=types, loss_weights=weights,
                         accelerator=SimpleNamespace(device=torch.device("cpu"), gather_for_metrics=same, gather=same),
                         aux_loss_enabled=False, ld_alpha=None, precompute_ref_logps=True, use_weighting=False,
                         f_divergence_type="reverse_kl", _metrics={"train": defaultdict(list)}, _total_train_tokens=0,
                         _tp_size=1)
    inputs = {"input_ids": torch.zeros(2 * n, 3, dtype=torch.long), "attention_mask": torch.ones(2 * n, 3),
              "completion_mask": torch.tensor([[0, 1, 1]] * (2 * n)), "ref_chosen_logps": rc, "ref_rejected_logps": rr}
    loss = trainer._compute_loss(lambda **kw: out, inputs, False)
    logged = {k: v[-1] for k, v in trainer._metrics["train"].items() if k.startswith("rewards/")}
    return {"loss": float(loss), **logged}


def test_token_kl_is_the_full_vocabulary_kl() -> None:
    g = torch.Generator().manual_seed(1)
    p, q = torch.log_softmax(torch.randn(5, 50, generator=g), -1), torch.log_softmax(torch.randn(5, 50, generator=g), -1)
    want = torch.nn.functional.kl_div(q, p, log_target=True, reduction="none").sum(-1)
    assert torch.allclose(token_kl(p, p), torch.zeros(5), atol=1e-6) and torch.allclose(token_kl(p, q), want, atol=1e-5)


def digest(folder: Path) -> str:
    return hashlib.sha256(b"".join(f.read_bytes() for f in sorted(folder.iterdir()) if f.is_file())).hexdigest()


def test_dpo_steps_raise_accuracy_and_margin_and_leave_the_reference_frozen(tiny_llama_dir: Path,
                                                                             tmp_path: Path) -> None:
    sft_rows = [[*p.prompt, {"role": "assistant", "content": p.rejected}] for p in PAIRS]  # SFT favours the rejected
    train_sft(LlmGenerator.from_options(model=str(tiny_llama_dir)), sft_rows * 2, tmp_path / "sft",
              SftConfig(rank=4, epochs=2, lr=1e-2, batch_size=2))
    before = digest(tmp_path / "sft")
    config = DpoConfig(init_adapter=str(tmp_path / "sft"), rank=4, lr=5e-3, batch_size=2, epochs=4, heldout=0,
                       log_every=2, beta=0.5)
    gen = LlmGenerator.from_options(model=str(tiny_llama_dir))
    rows = encode_pairs(gen.tokenizer, PAIRS, 256)
    ref = load_reference(str(tiny_llama_dir), config, rows, [])
    report = train_dpo(gen, PAIRS, tmp_path / "dpo", config)
    with torch.inference_mode():
        chosen, rejected = pair_logps(gen.model, rows, False)
    after = metrics(*dpo_losses(chosen, rejected, ref["chosen"], ref["rejected"], 0.5))
    assert after["rewards/accuracies"] == 1.0 and after["rewards/margins"] > 0.2
    first, last = report["history"][0], report["history"][-1]
    assert last["rewards/margins"] > first["rewards/margins"] and last["loss"] < first["loss"]
    again = load_reference(str(tiny_llama_dir), config, rows, [])
    assert digest(tmp_path / "sft") == before and torch.equal(again["chosen"], ref["chosen"])
    saved = json.loads((tmp_path / "dpo" / "training.json").read_text())
    assert {"loss", "rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins"} <= saved["history"][0].keys()
    assert (tmp_path / "dpo-checkpoints" / "epoch-4" / "adapter_model.safetensors").exists()


def test_held_out_metrics_and_kl_are_logged(tiny_llama_dir: Path, tmp_path: Path) -> None:
    pairs = [Pair([{"role": "user", "content": f"question {i}"}], f"good {i}", f"bad answer {i}") for i in range(10)]
    report = train_dpo(LlmGenerator.from_options(model=str(tiny_llama_dir)), pairs, tmp_path / "d",
                       DpoConfig(rank=2, lr=1e-2, batch_size=4, steps=3, heldout=0.3, log_every=1))
    assert report["heldout_pairs"] == 3 and len(report["history"]) == 3
    assert report["history"][0]["kl"] >= 0 and report["final"]["kl"] > 0  # the policy moved away from the reference
    assert "eval_rewards/margins" in report["final"]


def test_the_sft_term_keeps_the_chosen_replies_likely(tiny_llama_dir: Path, tmp_path: Path) -> None:
    """Pure DPO may lower both replies' likelihood as long as the gap grows; with the SFT term the chosen replies
    end more likely than under the reference, and more likely than pure DPO leaves them."""
    gen = LlmGenerator.from_options(model=str(tiny_llama_dir))
    rows = encode_pairs(gen.tokenizer, PAIRS, 256)
    chosen = {}
    for weight in (0.0, 1.0):
        config = DpoConfig(rank=4, lr=5e-3, batch_size=2, epochs=3, heldout=0, log_every=2, sft_weight=weight)
        g = LlmGenerator.from_options(model=str(tiny_llama_dir))
        report = train_dpo(g, PAIRS, tmp_path / f"d{weight}", config, {"path": "pairs.jsonl"})
        with torch.inference_mode():
            chosen[weight] = pair_logps(g.model, rows, False)[0]
        assert report["config"]["sft_weight"] == weight and report["data"] == {"path": "pairs.jsonl"}
    ref = load_reference(str(tiny_llama_dir), DpoConfig(), rows, [])["chosen"]
    assert bool((chosen[1.0] > ref).all()) and float(chosen[1.0].sum()) > float(chosen[0.0].sum())


def test_min_chosen_score_keeps_the_pairs_the_judge_scored_well(tmp_path: Path) -> None:
    rows = [{**r, "score_chosen": s, "score_rejected": 0.0} for r, s in zip(synthetic_pairs(3), (1.5, 0.5, 1.0),
                                                                          strict=True)]
    data = tmp_path / "p.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert [p.chosen for p in load_pairs(data, 1.0)] == [rows[0]["chosen"], rows[2]["chosen"]]
    assert len(load_pairs(data)) == 3
    with pytest.raises(InputError, match="no preference pairs whose chosen reply scores at least 2.0"):
        load_pairs(data, 2.0)
    bare = tmp_path / "bare.jsonl"
    bare.write_text(json.dumps(synthetic_pairs(1)[0]) + "\n", encoding="utf-8")
    done = run_cli("adapt", "dpo", "--data", str(bare), "--min-chosen-score", "1", "--out", str(tmp_path / "out"))
    assert done.returncode != 0 and "no numeric 'score_chosen'" in done.stderr and not (tmp_path / "out").exists()
    assert len(done.stderr.strip().splitlines()) == 1


def test_pairs_reward_and_dpo_reject_bad_data_with_one_line_and_write_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"prompt": "q", "chosen": "a"}) + "\n", encoding="utf-8")
    same = tmp_path / "same.jsonl"
    same.write_text(json.dumps({"prompt": "q", "chosen": "a", "rejected": "a"}) + "\n", encoding="utf-8")
    role = tmp_path / "role.jsonl"
    role.write_text(json.dumps({"prompt": [{"role": "human", "content": "q"}], "chosen": "a", "rejected": "b"}) + "\n",
                    encoding="utf-8")
    for path, error in ((bad, "needs 'prompt', 'chosen' and 'rejected'"), (same, "the same reply"),
                        (role, "has role 'human'; roles are system, user, assistant, tool")):
        with pytest.raises(InputError, match=error):
            load_pairs(path)
        for cmd in (["adapt", "reward"], ["adapt", "dpo"]):
            done = run_cli(*cmd, "--data", str(path), "--out", str(tmp_path / "out"))
            assert done.returncode != 0 and error in done.stderr and len(done.stderr.strip().splitlines()) == 1
            assert not (tmp_path / "out").exists()
    notsft = tmp_path / "n.jsonl"
    notsft.write_text("{not json\n", encoding="utf-8")
    done = run_cli("adapt", "pairs", "--data", str(notsft), "--out", str(tmp_path / "p.jsonl"))
    assert done.returncode != 0 and "not valid JSON" in done.stderr and not (tmp_path / "p.jsonl").exists()
    weighted = run_cli("adapt", "pairs", "--data", str(notsft), "--out", str(tmp_path / "p.jsonl"), "--judge",
                       str(tmp_path), "--cite-weight", "1")  # the weight of the squad judge, ignored by a reward model
    assert weighted.returncode == 2 and "--cite-weight applies to the squad judge only" in weighted.stderr
    for cmd, data in ((["adapt", "sft", "--targets", "q_proj"], notsft), (["adapt", "dpo"], same)):  # were ignored
        resumed = run_cli(*cmd, "--data", str(data), "--out", str(tmp_path / "out"), "--init-adapter", str(tmp_path),
                          "--rank", "4")
        assert resumed.returncode == 2 and "apply to a fresh adapter only" in resumed.stderr.replace("applies", "apply")
        assert not (tmp_path / "out").exists()


def test_reward_refuses_a_corpus_trained_embedder_and_says_what_holding_out_left(tmp_path: Path) -> None:
    """--embedder tfidf was "tfidf is not fitted"; 12 pairs over two prompts said "got 6" (one prompt held out)."""
    two = tmp_path / "two.jsonl"
    two.write_text("".join(json.dumps({"prompt": f"q{i % 2}", "chosen": f"good {i}", "rejected": f"bad {i}"}) + "\n"
                           for i in range(12)), encoding="utf-8")
    tfidf = run_cli("adapt", "reward", "--data", str(two), "--out", str(tmp_path / "r"), "--embedder", "tfidf",
                    "--heldout", "0")
    assert tfidf.returncode == 1 and "the tfidf embedder learns its vectors from a corpus" in tfidf.stderr
    held = run_cli("adapt", "reward", "--data", str(two), "--out", str(tmp_path / "r"))
    assert held.returncode == 2 and "6 of the 12 pairs are left to fit" in held.stderr and "lower --heldout" in held.stderr
    assert not (tmp_path / "r").exists()


def synthetic_pairs(n: int) -> list[dict[str, object]]:
    """RAG prompts whose chosen reply quotes the passage it cites and whose rejected reply makes words up."""
    rows = []
    for i in range(n):
        facts = [f"the river {i} flows north into lake {i + 7}", f"mount {i} rises above valley {i + 3}"]
        user = "Passages:\n\n" + "\n\n".join(f"[{j + 1}] {t}" for j, t in enumerate(facts)) + f"\n\nQuestion: where {i}?"
        rows.append({"prompt": [{"role": "user", "content": user}], "chosen": f"lake {i + 7} [1]",
                     "rejected": f"somewhere purple beyond {i * 13}"})
    return rows


def test_reward_model_learns_the_pairs_and_judges_new_samples(tiny_llama_dir: Path, tiny_bert_dir: Path,
                                                              tmp_path: Path) -> None:
    data = tmp_path / "pairs.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in synthetic_pairs(40)), encoding="utf-8")
    done = run_cli("-q", "adapt", "reward", "--data", str(data), "--out", str(tmp_path / "rm"), "-e",
                   f"model={tiny_bert_dir}", check=True)
    report = json.loads(done.stdout.split(": ", 1)[1])
    assert report["heldout_pairs"] == 8 and report["heldout_pair_accuracy"] >= 0.9
    sft = tmp_path / "sft.jsonl"
    sft.write_text(json.dumps({"messages": [*PROMPT, {"role": "assistant", "content": "Paris [1]"}]}) + "\n",
                   encoding="utf-8")
    done = run_cli("-q", "adapt", "pairs", "--data", str(sft), "--out", str(tmp_path / "p.jsonl"), "--model",
                   str(tiny_llama_dir), "--samples", "4", "--max-new-tokens", "4", "--judge", str(tmp_path / "rm"),
                   "--top-k", "50", "--repetition-penalty", "1.2", check=True)
    assert "wrote 1 pairs from 1 prompts" in done.stdout
    line = json.loads((tmp_path / "p.jsonl").read_text().splitlines()[0])
    assert line["prompt"] == PROMPT and line["score_chosen"] > line["score_rejected"]
    assert line["sampling"]["samples"] == 4 and line["chosen"][0]["role"] == "assistant"
    assert (line["sampling"]["top_k"], line["sampling"]["repetition_penalty"]) == (50, 1.2)


def test_the_reference_is_the_starting_policy(tiny_llama_dir: Path, tmp_path: Path) -> None:
    """Before the policy moves (one step at a vanishing rate), its held-out rewards and KL against the separately
    loaded reference are zero: the reference pass sees exactly the policy training starts from."""
    rows = [[{"role": "user", "content": f"question {i}"}, {"role": "assistant", "content": f"answer {i} [1]"}]
            for i in range(6)]
    train_sft(LlmGenerator.from_options(model=str(tiny_llama_dir)), rows, tmp_path / "sft",
              SftConfig(rank=4, epochs=1, lr=1e-2, batch_size=2))
    pairs = [Pair([{"role": "user", "content": f"question {i}"}], f"answer {i} [1]", f"no {i}") for i in range(10)]
    report = train_dpo(LlmGenerator.from_options(model=str(tiny_llama_dir)), pairs, tmp_path / "d",
                       DpoConfig(init_adapter=str(tmp_path / "sft"), rank=4, lr=1e-12, batch_size=4, steps=1,
                                 heldout=0.3, log_every=1))
    final = report["final"]
    assert final["kl"] < 1e-4 and abs(final["eval_rewards/margins"]) < 1e-4 and abs(final["rewards/chosen"]) < 1e-4


def test_pairs_in_trls_implicit_prompt_form_share_their_prompt(tmp_path: Path) -> None:
    """Two whole conversations without 'prompt' (TRL's implicit-prompt form) were refused: the messages they share
    are the prompt, the last message of each the reply; conversations that part earlier are refused."""
    ask = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "capital of France?"}]
    rows = [{"chosen": [*ask, {"role": "assistant", "content": "Paris."}],
             "rejected": [*ask, {"role": "assistant", "content": "Lyon."}]}]
    path = tmp_path / "implicit.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert load_pairs(path) == [Pair(ask, "Paris.", "Lyon.")]
    rows[0]["rejected"] = [{"role": "user", "content": "another question"}, {"role": "assistant", "content": "Lyon."}]
    path.write_text(json.dumps(rows[0]) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="share every message but the last"):
        load_pairs(path)


def test_pairs_in_llama_factorys_sharegpt_and_alpaca_forms(tmp_path: Path) -> None:
    """Preference datasets published for LLaMA-Factory (one JSON array; the prompt as ShareGPT's conversations or
    Alpaca's instruction, the replies as ShareGPT turns or strings) were refused line by line."""
    rows = [{"conversations": [{"from": "system", "value": "be brief"}, {"from": "human", "value": "capital of France?"}],
             "chosen": {"from": "gpt", "value": "Paris."}, "rejected": {"from": "gpt", "value": "Lyon."}},
            {"instruction": "Name the capital.", "input": "France", "chosen": "Paris.", "rejected": "Lyon."}]
    path = tmp_path / "dpo_en_demo.json"
    path.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    ask = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "capital of France?"}]
    assert load_pairs(path) == [Pair(ask, "Paris.", "Lyon."),
                                Pair([{"role": "user", "content": "Name the capital.\nFrance"}], "Paris.", "Lyon.")]
    rows[0]["rejected"] = {"from": "human", "value": "Lyon."}
    path.write_text(json.dumps(rows), encoding="utf-8")
    with pytest.raises(InputError, match=r"dpo_en_demo.json\[0\]: 'rejected' is a turn from 'human'"):
        load_pairs(path)


def test_the_dpo_summary_keeps_training_and_held_out_figures_apart(tmp_path: Path) -> None:
    """With nothing held out the summary showed the last training step's figures under "held-out:"."""
    from latentstack_llm.prefs_cmd import _summary

    final = {"step": 1, "epoch": 1, "loss": 0.6931, "rewards/margins": 0.0}
    line = _summary({"steps": 1, "pairs": 4, "heldout_pairs": 0, "train_s": 2.5, "final": final})
    assert line.endswith("1 step on 4 pairs in 2.5 s; last training loss 0.6931, margin 0.0; held-out: none held out")
    line = _summary({"steps": 3, "pairs": 7, "heldout_pairs": 3, "train_s": 1.0,
                     "final": {**final, "eval_loss": 0.5, "kl": 0.01}})
    assert line.endswith("held-out: eval_loss 0.5, kl 0.01") and "3 steps" in line


def _interrupt_after(monkeypatch: pytest.MonkeyPatch, module: Any, batches: int) -> None:
    """Make ``module``'s training epochs raise KeyboardInterrupt (Ctrl-C) after ``batches`` batches."""
    stop_in_progress(monkeypatch, module, batches, lambda desc: " epoch " in desc)


def test_ctrl_c_keeps_the_sft_adapter_trained_so_far(tiny_llama_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """An interrupted run lost every step since the last epoch's end; the adapter so far is saved, and named."""
    import latentstack_llm.sft as sft

    rows = [[{"role": "user", "content": f"question {i}"}, {"role": "assistant", "content": f"answer {i}"}] for i in range(8)]
    _interrupt_after(monkeypatch, sft, 2)
    with pytest.raises(KeyboardInterrupt):
        train_sft(LlmGenerator.from_options(model=str(tiny_llama_dir)), rows, tmp_path / "sft",
                  SftConfig(rank=2, lr=1e-2, batch_size=2))
    kept = tmp_path / "sft-checkpoints" / "interrupted-step-2"
    assert (kept / "adapter_model.safetensors").exists() and not (tmp_path / "sft").exists()
    assert f"--resume {kept}" in capsys.readouterr().err
    monkeypatch.undo()
    report = train_sft(LlmGenerator.from_options(model=str(tiny_llama_dir)), rows, tmp_path / "on",
                       SftConfig(init_adapter=str(kept), lr=1e-2, batch_size=2))
    assert report["history"][0]["steps"] == 4  # went on from it


def test_ctrl_c_keeps_the_dpo_adapter_and_says_its_reference(tiny_llama_dir: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """A DPO run from a fresh adapter, interrupted, keeps its adapter (--resume goes on from it, test_resume.py);
    starting a new run from it needs the base model as the reference, which `--reference-adapter base` names (an
    empty one meant the starting adapter)."""
    import latentstack_llm.dpo as dpo

    pairs = [Pair([{"role": "user", "content": f"question {i}"}], f"good {i}", f"bad answer {i}") for i in range(8)]
    _interrupt_after(monkeypatch, dpo, 1)
    with pytest.raises(KeyboardInterrupt):
        train_dpo(LlmGenerator.from_options(model=str(tiny_llama_dir)), pairs, tmp_path / "d",
                  DpoConfig(rank=2, lr=1e-2, batch_size=2, heldout=0))
    kept = tmp_path / "d-checkpoints" / "interrupted-step-1"
    assert (kept / "adapter_model.safetensors").exists()
    assert f"--resume {kept}" in capsys.readouterr().err
    assert DpoConfig(init_adapter=str(kept), reference_adapter="base").reference == ""
    assert DpoConfig(init_adapter=str(kept), reference_adapter="./base").reference == "./base"
    monkeypatch.undo()
    report = train_dpo(LlmGenerator.from_options(model=str(tiny_llama_dir)), pairs, tmp_path / "on",
                       DpoConfig(init_adapter=str(kept), reference_adapter="base", lr=1e-12, batch_size=2, steps=1,
                                 heldout=0))
    assert report["final"]["rewards/margins"] != 0  # measured against the base model, not the adapter it starts from
