"""The fault-injection suite, for every kind of saved folder: kill -9 in the middle of a save leaves the
previous version loadable, two writers at once leave a whole version, and damaged files are one clear line.

Each case saves version 1, then forks a child that starts saving version 2 and kills
itself with SIGKILL (exactly what ``kill -9`` does) at one of two points: after its files
are written but before the manifest is (``files-written``), or after the old folder was
moved aside and before the new one took its place (``mid-swap``, the most fragile
moment). The parent then loads the folder: it must be version 1, whole. A normal save of
version 2 afterwards must work and load as version 2.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from latentstack import storage
from latentstack.testing.classifier_contract import TRAIN
from latentstack.testing.index_contract import unit_vectors

POINTS = ("files-written", "mid-swap")
TEXTS = [t for t, _ in TRAIN]
LABELS = [label for _, label in TRAIN]


def _die_at(point: str, target: Path) -> None:
    """In the child: arrange a SIGKILL at ``point`` of the save of ``target``."""
    if point == "files-written":
        listed = storage._listed_files

        def listed_then_die(folder: Path) -> dict[str, str]:
            if folder.parent == target.parent and folder.name.startswith(f".{target.name}."):
                os.kill(os.getpid(), signal.SIGKILL)
            return listed(folder)

        storage._listed_files = listed_then_die
        return
    real = os.replace

    def replace_then_die(src: Any, dst: Any) -> None:
        if Path(dst) == target and Path(src).name.endswith(".tmp"):
            os.kill(os.getpid(), signal.SIGKILL)
        real(src, dst)

    os.replace = replace_then_die  # type: ignore[assignment]


def killed_save(point: str, target: Path, save: Callable[[], None]) -> None:
    """Run ``save`` in a forked child that kills itself at ``point``; check that it did die."""
    pid = os.fork()
    if pid == 0:  # the child never returns to pytest
        try:
            if "torch" in sys.modules:  # the parent's OpenMP pool is gone after fork: compute on one thread
                sys.modules["torch"].set_num_threads(1)
            _die_at(point, target)
            save()
        finally:
            os._exit(3)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, "the save finished before the kill point"


def tiny_collection(path: Path, model: Path, docs: dict[str, str]) -> Any:
    from latentstack.search import Collection, Document

    col = Collection.create(path, embedder="bert", embedder_options={"model": str(model), "show_progress": False})
    col.add_documents([Document(k, v) for k, v in docs.items()])
    return col


def case_collection(tmp: Path, tiny_bert_dir: Path) -> tuple[Callable, Callable, Callable, Any, Any]:
    from latentstack.search import Collection

    path = tmp / "col"
    v1 = tiny_collection(path, tiny_bert_dir, {"a": "the cat sat", "b": "stocks fell"})
    v2 = tiny_collection(path, tiny_bert_dir, {"a": "the cat sat", "b": "stocks fell", "c": "win a prize"})
    return v1.save, v2.save, lambda: Collection.load(path).store.count_documents(), 2, 3


def case_faiss(tmp: Path, _: Path) -> tuple[Callable, Callable, Callable, Any, Any]:
    from latentstack_faiss.index import FaissIndex

    path, (a, b) = tmp / "faiss", (FaissIndex.from_options(), FaissIndex.from_options())
    a.add(list(range(10)), unit_vectors(10, 8))
    b.add(list(range(20)), unit_vectors(20, 8))
    return lambda: a.save(path), lambda: b.save(path), lambda: len(FaissIndex.load(path)), 10, 20


def case_bm25(tmp: Path, _: Path) -> tuple[Callable, Callable, Callable, Any, Any]:
    from latentstack_bm25.index import Bm25Index

    path, (a, b) = tmp / "bm25", (Bm25Index.from_options(), Bm25Index.from_options())
    a.add(["x"], ["one text"])
    b.add(["x", "y"], ["one text", "two texts"])
    return lambda: a.save(path), lambda: b.save(path), lambda: len(Bm25Index.load(path)), 1, 2


def case_tfidf(tmp: Path, _: Path, name: str = "tfidf") -> tuple[Callable, Callable, Callable, Any, Any]:
    from latentstack import get_embedder
    from latentstack.registry import get_registry

    path = tmp / name
    a, b = get_embedder(name).fit(TEXTS[:4]), get_embedder(name).fit(TEXTS[4:] + ["an extra word list"])
    cls = get_registry().get_class("embedder", name)
    return lambda: a.save(path), lambda: b.save(path), lambda: cls.load(path).fingerprint(), a.fingerprint(), \
        b.fingerprint()


def case_lsa(tmp: Path, model: Path) -> tuple[Callable, Callable, Callable, Any, Any]:
    return case_tfidf(tmp, model, "lsa")


def case_linear(tmp: Path, _: Path) -> tuple[Callable, Callable, Callable, Any, Any]:
    from latentstack import get_classifier, load_classifier

    path = tmp / "linear"
    a = get_classifier("linear", embedder="tfidf").fit(TEXTS, LABELS)
    b = get_classifier("linear", embedder="tfidf").fit(TEXTS, ["spam" if x == "ham" else "ham" for x in LABELS])
    return lambda: a.save(path), lambda: b.save(path), lambda: load_classifier(path).predict(TEXTS), \
        a.predict(TEXTS), b.predict(TEXTS)


def case_finetune(tmp: Path, model: Path) -> tuple[Callable, Callable, Callable, Any, Any]:
    from latentstack import get_classifier, load_classifier

    path = tmp / "finetune"
    made = [get_classifier("finetune", model=str(model), epochs=1, val_fraction=0.0, seed=s).fit(TEXTS, LABELS)
            for s in (1, 2)]

    def sig(clf: Any) -> list[float]:
        return np.round(clf.predict_proba(TEXTS[:3])[:, 0], 4).tolist()

    return lambda: made[0].save(path), lambda: made[1].save(path), lambda: sig(load_classifier(path)), \
        sig(made[0]), sig(made[1])


def case_lora(tmp: Path, model: Path) -> tuple[Callable, Callable, Callable, Any, Any]:
    import torch
    from transformers import AutoModel

    from latentstack import get_adapter

    path, lora = tmp / "lora", get_adapter("lora", rank=2, dropout=0.0)
    ids = {"input_ids": torch.tensor([[2, 40, 41, 3]]), "attention_mask": torch.ones(1, 4, dtype=torch.long)}

    def adapted(scale: float) -> Any:
        net = lora.attach(AutoModel.from_pretrained(model))
        with torch.no_grad():
            for name, p in net.named_parameters():
                if "lora_B" in name:
                    p.fill_(scale)
        return net

    def sig(net: Any) -> list[float]:
        with torch.no_grad():
            return [round(float(v), 3) for v in net(**ids).last_hidden_state[0, 0, :4]]

    a, b = adapted(0.1), adapted(0.3)
    return lambda: lora.save(a, path), lambda: lora.save(b, path), \
        lambda: sig(lora.load(AutoModel.from_pretrained(model), path)), sig(a), sig(b)


def case_onnx(tmp: Path, model: Path) -> tuple[Callable, Callable, Callable, Any, Any]:
    from latentstack_onnx.export import ExportConfig, export_onnx

    path = tmp / "onnx"

    def export(pooling: str) -> Callable[[], None]:
        return lambda: export_onnx(ExportConfig(model=str(model), pooling=pooling, optimize=False), path)

    def pooling() -> str:
        from latentstack import get_embedder

        get_embedder("onnx", model=str(path), show_progress=False).embed_many(["a real load: a session runs"])
        return str(storage.read_manifest(path, kind="export").config["pooling"])

    return export("mean"), export("cls"), pooling, "mean", "cls"


def case_train_state(tmp: Path, _: Path) -> tuple[Callable, Callable, Callable, Any, Any]:
    """A checkpoint's training state (the component is ``tmp/train-state``)."""
    import torch

    from latentstack.train_state import load_state, save_state

    def made(steps: int) -> tuple[dict[str, Any], tuple[Any, Any], dict[str, Any]]:
        weight = torch.nn.Parameter(torch.zeros(3))
        opt = torch.optim.AdamW([weight], lr=0.1)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
        for _ in range(steps):
            weight.grad = torch.ones(3)
            opt.step()
            sched.step()
        return {"weight": weight}, (opt, sched), {"run": "r", "step": steps}

    def load() -> tuple[int, float]:
        trained, optim, _ = made(0)
        return load_state(tmp, trained, optim, "r")["step"], round(float(trained["weight"][0].detach()), 4)

    one, two = made(1), made(2)
    return lambda: save_state(tmp, *one), lambda: save_state(tmp, *two), load, (1, -0.1), (2, -0.1999)


CASES = {name.removeprefix("case_"): fn for name, fn in globals().items() if name.startswith("case_")}


@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("kind", sorted(CASES))
def test_kill_mid_save_keeps_the_previous_version(kind: str, point: str, tmp_path: Path, tiny_bert_dir: Path) -> None:
    """Killed while saving version 2, the folder still loads as version 1; a later save gives version 2."""
    save1, save2, load, want1, want2 = CASES[kind](tmp_path, tiny_bert_dir)
    assert want1 != want2
    save1()
    target = next(p for p in tmp_path.iterdir() if not p.name.startswith("."))
    killed_save(point, target, save2)
    assert load() == want1
    save2()
    assert load() == want2


@pytest.mark.parametrize("kind", sorted(CASES))
def test_every_file_damaged_is_one_line(kind: str, tmp_path: Path, tiny_bert_dir: Path) -> None:
    """Each file of a saved folder truncated, garbled, replaced by wrong-shape JSON or deleted: one error line. Each
    saved part inside it (a collection's dense/ and lexical/, a classifier's embedder_0/) deleted: the error names the
    outer folder and the part (it asked for "the path of a saved index", as if the user had given the part)."""
    from latentstack.testing.folder_checks import assert_damage_is_one_line, assert_missing_parts_name_the_folder

    save1, _, load, _, _ = CASES[kind](tmp_path / "made", tiny_bert_dir)
    (tmp_path / "made").mkdir(exist_ok=True)
    save1()
    target = next(p for p in (tmp_path / "made").iterdir() if not p.name.startswith("."))
    original = target.with_name(target.name + "-original")
    target.rename(original)

    def load_copy(copy: Path) -> Any:
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(copy, target)  # the case's loader reads its own path
        return load()

    assert_damage_is_one_line(original, tmp_path / "damaged", load_copy)
    parts = assert_missing_parts_name_the_folder(original, tmp_path / "parts", load_copy)
    assert parts >= 1 or kind not in ("collection", "linear")


def _child(save: Callable[[], None]) -> int:
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            if "torch" in sys.modules:
                sys.modules["torch"].set_num_threads(1)
            save()
            code = 0
        finally:
            os._exit(code)
    return pid


@pytest.mark.parametrize("kind", sorted(CASES))
def test_two_writers_at_once_leave_a_whole_version(kind: str, tmp_path: Path, tiny_bert_dir: Path) -> None:
    """Two processes saving the same folder at the same moment both succeed, one after the other (the lock),
    and the folder loads as one whole version, never a mix."""
    save1, save2, load, want1, want2 = CASES[kind](tmp_path, tiny_bert_dir)
    save1()
    pids = [_child(save1), _child(save2)]
    codes = [os.waitpid(pid, 0)[1] for pid in pids]
    assert all(os.WIFEXITED(c) and os.WEXITSTATUS(c) == 0 for c in codes), codes
    assert load() in (want1, want2)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert not leftovers, leftovers
