"""Each stored text's words as ids in one vocabulary, so a rebuilt BM25 matrix tokenises only the new texts.

bm25s builds its matrix in one go: an add or a remove rebuilds it over every text, and
tokenising (folding, stop words, stemming) was most of that (``matrix`` builds it from the
ids). The ids are kept per text in memory and saved beside the matrix (two NumPy arrays and
a JSON word list, never pickled).
A load that is only searched never reads them: they are read and checked at the first
change, and if they cannot be used (the folder was saved again since, or damaged), the
texts are tokenised again, as before they were kept.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from latentstack.errors import CorruptFileError
from latentstack.progress import log
from latentstack.storage import read_manifest

WORDS, IDS, LENGTHS = "words.json", "token_ids.npy", "token_counts.npy"
FILES = (WORDS, IDS, LENGTHS)

Rows = list[np.ndarray | None]


class TokenIds:
    """Per-text word ids (None: not tokenised yet) and the vocabulary they index."""

    def __init__(self, n: int = 0) -> None:
        self._rows: Rows | None = [None] * n
        self._saved: tuple[Path, str, int] | None = None  # a saved folder's ids, read at the first use
        self._vocab: dict[str, int] = {}

    @classmethod
    def saved(cls, folder: Path, digest: str, n: int) -> TokenIds:
        """The ids saved in ``folder`` (whose manifest had ``digest`` when its texts were read) for ``n`` texts."""
        ids = cls()
        ids._rows, ids._saved = None, (folder, digest, n)
        return ids

    @property
    def rows(self) -> Rows:
        """Each text's word ids, in the texts' order."""
        if self._rows is None:
            self._rows, self._vocab = _read(*self._saved)  # type: ignore[misc]  # one of the two is always set
            self._saved = None
        return self._rows

    @property
    def vocab(self) -> dict[str, int]:
        """Word to id."""
        _ = self.rows
        return self._vocab

    def extend(self, n: int) -> None:
        """Make room for ``n`` texts added at the end, tokenised at the next ``fill``."""
        self.rows.extend([None] * n)

    def keep(self, positions: Sequence[int]) -> None:
        """Keep the rows at ``positions``, in that order (their words stay in the vocabulary until ``fill``)."""
        rows = self.rows
        self._rows = [rows[p] for p in positions]

    def fill(self, texts: Sequence[str], tokenize: Callable[[Sequence[str]], list[list[str]]]) -> tuple[np.ndarray,
                                                                                                     np.ndarray]:
        """Every row's ids as one flat array and each row's length, tokenising the ``texts`` of rows not seen yet;
        the words no row holds any more (a removed text's) leave the vocabulary, the rest numbered from 0, as a
        fresh build would number them."""
        rows, vocab = self.rows, self.vocab
        new = [p for p, row in enumerate(rows) if row is None]
        if new:
            for p, words in zip(new, tokenize([texts[p] for p in new]), strict=True):
                rows[p] = np.fromiter((vocab.setdefault(w, len(vocab)) for w in words), dtype=np.int32,
                                      count=len(words))
        flat, lengths = _joined(rows)  # type: ignore[arg-type]  # all filled above
        used = np.zeros(len(vocab), dtype=bool)
        used[flat] = True
        if not used.all():
            new_id = (np.cumsum(used) - 1).astype(np.int32)
            flat = new_id[flat]
            self._rows = list(np.split(flat, np.cumsum(lengths)[:-1])) if len(lengths) else []
            self._vocab = {w: int(new_id[i]) for w, i in vocab.items() if used[i]}
        return flat, lengths

    def complete(self) -> bool:
        """Whether every row is tokenised (a folder saved before ids were kept loads without them)."""
        return all(row is not None for row in self.rows)

    def save(self, folder: Path) -> None:
        """The words in id order and the rows as one flat array with each row's length (rows not tokenised: none)."""
        flat, lengths = _joined([row for row in self.rows if row is not None])
        words = sorted(self.vocab, key=self.vocab.__getitem__)
        (folder / WORDS).write_text(json.dumps(words), encoding="utf-8")
        np.save(folder / IDS, flat, allow_pickle=False)
        np.save(folder / LENGTHS, lengths, allow_pickle=False)


def _joined(rows: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Rows as one flat int32 array of word ids and each row's length."""
    lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    flat = np.concatenate(rows).astype(np.int32, copy=False) if len(rows) else np.zeros(0, dtype=np.int32)
    return flat, lengths


def _read(folder: Path, digest: str, n: int) -> tuple[Rows, dict[str, int]]:
    """The rows and vocabulary ``save`` wrote in ``folder``, checked; none (all to tokenise) if they cannot be used."""
    try:
        manifest = read_manifest(folder, kind="index", plugin="bm25", version=None, verify=FILES)
        if manifest.digest != digest:
            msg = "the folder was saved again since it was loaded"
            raise ValueError(msg)
        return _parse(folder, n)
    except (CorruptFileError, OSError, ValueError) as exc:
        log(f"bm25: cannot use the word ids saved in {folder} ({str(exc)[:160]}); tokenising the texts again")
        return [None] * n, {}


def _parse(folder: Path, n: int) -> tuple[Rows, dict[str, int]]:
    """The saved files' rows and vocabulary; a ValueError if they do not fit together or ``n`` texts."""
    words = json.loads((folder / WORDS).read_text(encoding="utf-8"))
    flat = np.load(folder / IDS, allow_pickle=False)
    lengths = np.load(folder / LENGTHS, allow_pickle=False)
    if not isinstance(words, list) or set(map(type, words)) - {str} or len(set(words)) != len(words) or len(lengths) != n:
        msg = f"they are not {n} rows over a list of distinct words"
        raise ValueError(msg)
    if flat.ndim != 1 or flat.dtype != np.int32 or int(lengths.sum()) != len(flat) or (lengths < 0).any() or (
            len(flat) and not 0 <= int(flat.min()) <= int(flat.max()) < len(words)):
        msg = "they point outside their words"
        raise ValueError(msg)
    rows: Rows = list(np.split(flat, np.cumsum(lengths)[:-1])) if n else []
    return rows, {w: i for i, w in enumerate(words)}
