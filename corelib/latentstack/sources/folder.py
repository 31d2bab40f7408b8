"""A local folder in Hugging Face layout (config.json beside the weights)."""

from __future__ import annotations

from pathlib import Path

from latentstack.errors import ModelNotInstalledError
from latentstack.sources.base import ModelSource, ResolvedModel

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
            msg = f"model folder {name!r} has no config.json; point at a Hugging Face model folder"
            raise ModelNotInstalledError(msg)
        pickled = sorted(p.name for p in path.iterdir() if p.suffix in PICKLED)
        if pickled and not any(path.glob("*.safetensors")):
            msg = (f"model folder {name!r} holds its weights as pickles ({', '.join(pickled[:3])}), which can run code "
                   "when loaded, and latentstack never unpickles: convert them to safetensors first")
            raise ModelNotInstalledError(msg)
        return ResolvedModel(path.name, path.resolve(), self.name)
