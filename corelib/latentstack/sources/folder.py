"""A local folder in Hugging Face layout (config.json beside the weights)."""

from __future__ import annotations

from pathlib import Path

from latentstack.errors import ModelNotInstalledError
from latentstack.sources.base import ModelSource, ResolvedModel
from latentstack.sources.weights_check import check_safetensors
from latentstack.storage import saved_kind

PICKLED = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")


class FolderSource(ModelSource):
    """Any existing folder path is a model; one without config.json is an error."""

    name = "folder"
    priority = 10

    def resolve(self, name: str) -> ResolvedModel | None:
        """The folder itself, when ``name`` is a path that exists."""
        path = Path(name).expanduser()
        if not (name.startswith((".", "/", "~")) or path.exists()):
            return None
        if not path.is_dir():
            msg = f"model path {name!r} does not exist or is not a folder"
            raise ModelNotInstalledError(msg)
        if not (path / "config.json").exists():
            held = _held(path)
            msg = f"model folder {name!r} has no config.json" + (held or "; point at a Hugging Face model folder")
            raise ModelNotInstalledError(msg)
        pickled = sorted(p.name for p in path.iterdir() if p.suffix in PICKLED)
        if pickled and not any(path.glob("*.safetensors")):
            msg = (f"model folder {name!r} holds its weights as pickles ({', '.join(pickled[:3])}), which can run code "
                   "when loaded, and latentstack never unpickles: convert them to safetensors first")
            raise ModelNotInstalledError(msg)
        check_safetensors(path)
        if saved_kind(path) == "model":
            _verify_saved(path)
        return ResolvedModel(path.name, path.resolve(), self.name)


def _verify_saved(path: Path) -> None:
    """A model folder latentstack saved (a tuned or merged model) is checked against its manifest's checksums, as
    every other folder it saves is: a flipped byte in its weights would otherwise embed or generate wrongly."""
    from latentstack.errors import CorruptFileError
    from latentstack.storage import read_manifest

    try:
        read_manifest(path, kind="model", version=None)
    except CorruptFileError as exc:
        msg = (f"{exc}; or, if its files were changed on purpose, remove its manifest.json to use it as a plain "
               "model folder")
        raise CorruptFileError(msg) from None


#: How to use a folder latentstack saved, given where a model folder was expected.
_USES = {"adapter": "give it as --adapter DIR", "collection": "search or ask it",
         "export": "run it as --embedder onnx or --generator onnx with --model DIR, or give it as --onnx DIR",
         "classifier": "predict with it (classify predict DIR)", "embedder": "embed with it (embed --embedder DIR)",
         "reward": "give it as --reward DIR"}


def _held(path: Path) -> str:
    """``: it holds a saved KIND, so ...`` for a folder latentstack saved, else ``""``."""
    kind = saved_kind(path)
    return f": it holds a saved {kind}, so {_USES[kind]}" if kind in _USES else ""
