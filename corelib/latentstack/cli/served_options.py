"""What a server holds, from the command line: the options ``serve --http`` and ``batch`` share, and the ``Served``
state they describe."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from latentstack.http.state import Served
    from latentstack.rag import RagConfig

#: The models, adapters and classifiers a server answers with, beside its generator and indexes.
SERVED_OPTIONS = [
    click.option("--embedder", "embedder", default="bert", show_default=True,
                 help="The embedder that runs a model name given to /v1/embeddings."),
    click.option("--embedding-model", "embedding_models", multiple=True, metavar="NAME=DIR",
                 help="A model folder /v1/embeddings serves as NAME, run by --embedder (repeatable; a "
                      "sentence-transformers folder's prompts are put by the request's input_type)."),
    click.option("--chat-adapter", "chat_adapters", multiple=True, metavar="NAME=DIR",
                 help="An adapter chat requests choose with model 'MODEL+NAME' (repeatable)."),
    click.option("--classifier", "classifiers", multiple=True, metavar="[NAME=]DIR",
                 help="A saved classifier served at /v1/classify (repeatable)."),
    click.option("--no-generator", is_flag=True,
                 help="Load no chat model: serve embeddings, search and classify (chat and ask answer 404)."),
]


def named(pairs: tuple[str, ...], what: str) -> dict[str, Path]:
    """``NAME=DIR`` (or ``DIR``, named by its folder) pairs; a repeated name is a usage error."""
    out: dict[str, Path] = {}
    for pair in pairs:
        name, sep, folder = pair.partition("=")
        path = Path(folder if sep else pair)
        name = name if sep else path.resolve().name
        if name in out:
            raise click.UsageError(f"two {what}s are named {name!r}; give one of them as NAME=DIR")
        out[name] = path
    return out


def check_no_generator(no_generator: bool, options: dict[str, Any], chat_adapters: tuple[str, ...]) -> None:
    """--no-generator beside a generator's options or chat adapters is a usage error (said before anything loads)."""
    if no_generator and (options or chat_adapters):
        raise click.UsageError("--no-generator loads no chat model: drop the generator's options and --chat-adapter")


def served_from(directories: tuple[Path, ...], gen_name: str, options: dict[str, Any], query: Any,
                ask_defaults: RagConfig, *, embedder: str, embedding_models: tuple[str, ...],
                chat_adapters: tuple[str, ...], classifiers: tuple[str, ...], no_generator: bool,
                window_s: float | None = 0.005) -> Served:
    """The server's state of SERVED_OPTIONS and the rest (its generator's, the indexes ``directories``, the ONNX
    ``query`` embedder, /v1/ask's defaults); a missing embedding model folder is said before anything loads, and
    the classifiers that keep their own features beside an ONNX export are logged."""
    from latentstack.http.state import Served
    from latentstack.progress import detail, log
    from latentstack.sources import resolve_model

    named_models = named(embedding_models, "embedding model")
    for path in named_models.values():
        resolve_model(str(path))
    served = Served(embedder=embedder, generator=None if no_generator else gen_name, generator_options=options,
                    embedding_models=named_models, adapters={n: str(p) for n, p in named(chat_adapters, "adapter").items()},
                    indexes=named(tuple(str(d) for d in directories), "index"),
                    classifiers=named(classifiers, "classifier"), window_s=window_s, query_embedder=query,
                    ask_defaults=ask_defaults)
    kept = served.export_fits()  # at start, as the indexes were checked
    if kept:
        log(f"classifiers not of the export's model keep their own features: {', '.join(kept)} (-v says why)")
    for name, why in kept.items():
        detail(f"{name}: {why}")
    return served
