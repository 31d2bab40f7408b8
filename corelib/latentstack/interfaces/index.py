"""Index: ids + vectors (+ metadata) -> the k nearest, by id."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import attrs

from latentstack.errors import InputError
from latentstack.interfaces.base import Component, Config


def id_list(ids: Iterable[Any]) -> list[Any]:
    """``ids`` as a list, or an InputError for one id given alone (a str would be read as one id per character)."""
    if isinstance(ids, str | bytes) or not isinstance(ids, Iterable):
        msg = f"ids are a list, got {type(ids).__name__}: wrap one id in a list"
        raise InputError(msg)
    return list(ids)


def check_metadata_update(ids: Sequence[str | int], metadata: Sequence[Mapping[str, Any]],
                          stored: Mapping[Any, Any]) -> list[str | int]:
    """``set_metadata``'s checks: ``ids`` as ``check_ids`` gives them, one mapping each, every id in ``stored``."""
    ids = check_ids(ids)
    if len(metadata) != len(ids):
        msg = f"got {len(metadata)} metadata mappings for {len(ids)} ids: give one per id"
        raise InputError(msg)
    other = next((m for m in metadata if not isinstance(m, Mapping)), None)
    if other is not None:
        msg = f"a metadata row is a {type(other).__name__}: give a dict of fields for each id"
        raise InputError(msg)
    missing = [i for i in ids if i not in stored]
    if missing:
        msg = f"{len(missing)} of the ids are not in the index (the first: {missing[0]!r}): add them first"
        raise InputError(msg)
    return ids


def check_ids(ids: Sequence[str | int]) -> list[str | int]:
    """``ids`` as a list of str and int (NumPy's read as Python's, so that they can be saved), or an InputError for
    one id given alone or an id of another type."""
    import numpy as np

    out = [i.item() if isinstance(i, np.generic) else i for i in id_list(ids)]
    for i in out:
        if isinstance(i, bool) or not isinstance(i, str | int):
            msg = f"an id is {i!r} ({type(i).__name__}): ids are str or int"
            raise InputError(msg)
    return out


@attrs.frozen(kw_only=True)
class IndexConfig(Config):
    """Options every index understands."""

    metric: str = attrs.field(default="ip", validator=attrs.validators.in_(("ip", "l2")))


@attrs.frozen
class Hit:
    """One search result: the id that was added, its score (higher is nearer), metadata (a copy of the stored
    mapping: changing it changes nothing in the index)."""

    id: str | int
    score: float
    metadata: Mapping[str, Any] = attrs.field(factory=dict)


class Index(Component):
    """Stores vectors (or texts, for sparse indexes) under ids and finds the nearest.

    ``where`` filters on metadata (``latentstack.metadata.matches``: equal as strings, a list value matching any
    of its values) *before or during* the search, never by
    over-fetching and dropping. ``save``/``load`` use a folder and never pickle.
    """

    role: ClassVar[str] = "index"
    Config: ClassVar[type[IndexConfig]] = IndexConfig
    accepts_text: ClassVar[bool] = False
    #: Whether ``add`` and ``search`` take a sparse embedder's rows (scipy CSR); a collection refuses to pair a
    #: sparse embedder with a vector index that does not, when it is created.
    accepts_sparse: ClassVar[bool] = False
    #: What the shortcuts ``options_from_shortcut`` reads look like, named in the error for an unknown ``--index``.
    shortcuts: ClassVar[str] = ""
    #: Whether ``set_metadata`` replaces stored items' metadata in place: a collection then takes a document whose
    #: title or metadata alone changed without embedding it again (else it removes the document and adds it anew).
    sets_metadata: ClassVar[bool] = False

    @abstractmethod
    def add(
        self,
        ids: Sequence[str | int],
        items: Any,
        metadata: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        """Add items (vectors, or texts when ``accepts_text``) under ids; an existing id is replaced."""

    @abstractmethod
    def remove(self, ids: Sequence[str | int]) -> int:
        """Remove ids; returns how many were present."""

    @abstractmethod
    def search_batch(
        self, queries: Any, k: int = 10, where: Mapping[str, Any] | None = None
    ) -> list[list[Hit]]:
        """The k best hits for each query, best first."""

    @abstractmethod
    def __len__(self) -> int:
        """Number of live items."""

    @abstractmethod
    def save(self, path: str | Path) -> None:
        """Write the index into folder ``path`` atomically."""

    @classmethod
    @abstractmethod
    def load(cls, path: str | Path) -> Index:
        """Read an index written by ``save``; a corrupt file raises CorruptFileError."""

    @classmethod
    def options_from_shortcut(cls, spec: str) -> dict[str, Any] | None:
        """Options for a shortcut string this index understands (e.g. a FAISS factory string), or None.

        The CLI's ``--index SPEC`` asks each registered index in turn when SPEC is not a
        registered name; the default understands none.
        """
        return None

    def check_dim(self, dim: int) -> None:
        """Raise a ConfigError now if this index cannot hold ``dim``-dimensional vectors (an index kind that does
        not fit them), before a collection spends its time embedding; the default accepts any."""

    def describe(self) -> str:
        """A short human description of the built index (its kind and size), for status lines."""
        return f"{self.name}, {len(self)} items"

    def search(self, query: Any, k: int = 10, where: Mapping[str, Any] | None = None) -> list[Hit]:
        """The k best hits for one query: a text (text indexes) or one vector, 1-d or a single row."""
        if self.accepts_text:
            return self.search_batch([query], k, where)[0]
        import numpy as np

        vector = np.asarray(query)
        if vector.ndim == 2 and vector.shape[0] == 1:
            vector = vector[0]
        if vector.ndim != 1:
            msg = f"search takes one query vector, got an array of shape {vector.shape}: use search_batch for several"
            raise InputError(msg)
        return self.search_batch(vector[None, :], k, where)[0]

    # -- building in parts (optional): an engine's workers fill copies, this index merges them ------
    def can_build_in_parts(self, n: int) -> bool:
        """Whether ``n`` vectors, the first this index gets, may be added in parts on workers and merged."""
        return False

    def start_parts(self, vectors: Any) -> bytes:
        """Choose and train the index for ``vectors`` (all of the first add); the empty trained index, serialized."""
        raise NotImplementedError(f"the {self.name} index cannot be built in parts")

    @classmethod
    def fill_part(cls, part: bytes, positions: Any, vectors: Any) -> bytes:
        """On a worker: the empty index ``part`` with ``vectors`` added at ``positions`` of the add, serialized."""
        raise NotImplementedError(f"the {cls.name} index cannot be built in parts")

    def merge_parts(self, parts: Sequence[bytes], ids: Sequence[str | int],
                    metadata: Sequence[Mapping[str, Any]] | None = None) -> None:
        """Merge filled parts, which together hold every position of ``ids`` exactly once, into this index."""
        raise NotImplementedError(f"the {self.name} index cannot be built in parts")

    # -- metadata alone (optional, ``sets_metadata``) -----------------------------------------------
    def set_metadata(self, ids: Sequence[str | int], metadata: Sequence[Mapping[str, Any]]) -> None:
        """Replace the metadata of stored ids, their items as they are; an id not stored, or a count of mappings
        other than the ids', is an InputError that changes nothing."""
        raise NotImplementedError(f"the {self.name} index cannot change metadata alone: add the items again")

    def update(self, ids: Sequence[str | int], items: Any, metadata: Any = None) -> None:
        """Replace the items stored under ids."""
        self.remove(ids)
        self.add(ids, items, metadata)
