"""The contract every Embedder meets."""

from __future__ import annotations

import numpy as np
import pytest

from latentstack.errors import InputError
from latentstack.interfaces import Embedder
from latentstack.testing.folder_checks import assert_damage_is_one_line, assert_missing_parts_name_the_folder

TEXTS = [
    "The cat sat on the mat.",
    "Stock markets fell sharply on Monday after the announcement.",
    "WINNER!! Claim your free prize now by texting WIN to 80086",
    "short",
    "Ein deutscher Satz mit Umlauten: äöü ß.",
    "a long text that goes on " * 200,  # longer than any encoder's position limit
]


def dense(x: object) -> np.ndarray:
    """A dense array from either a numpy array or a scipy sparse matrix."""
    return np.asarray(x.toarray() if hasattr(x, "toarray") else x)


class EmbedderContract:
    """Subclass and provide an ``embedder`` fixture (fitted, if the embedder is trainable)."""

    texts = TEXTS
    atol = 1e-5

    @pytest.fixture
    def embedder(self) -> Embedder:
        """Override: return the embedder under test."""
        raise NotImplementedError

    def test_is_embedder(self, embedder: Embedder) -> None:
        """The object is an Embedder with a registered-looking name."""
        assert isinstance(embedder, Embedder)
        assert embedder.name

    def test_shape_and_dtype(self, embedder: Embedder) -> None:
        """One float32 row of length dim per text."""
        out = embedder.embed_many(self.texts)
        assert out.shape == (len(self.texts), embedder.dim)
        assert out.dtype == np.float32
        assert np.isfinite(dense(out)).all()

    def test_batch_equals_single(self, embedder: Embedder) -> None:
        """Embedding texts together gives the rows of embedding them one by one."""
        batch = dense(embedder.embed_many(self.texts))
        singles = np.stack([dense(embedder.embed(t)).reshape(-1) for t in self.texts])
        np.testing.assert_allclose(batch, singles, atol=self.atol, rtol=1e-4)

    def test_a_kind_puts_its_prompt_before_each_text(self, embedder: Embedder) -> None:
        """``embed_many(texts, kind)`` embeds ``prompted(texts, kind)`` as given, for queries, documents and the
        rest alike (an embedder without prompts gives the same rows for all three)."""
        for kind in ("query", "document", ""):
            assert isinstance(embedder.prompt(kind), str)
            np.testing.assert_allclose(dense(embedder.embed_many(self.texts[:3], kind)),
                                       dense(embedder.embed_many(embedder.prompted(self.texts[:3], kind), None)),
                                       atol=self.atol, rtol=1e-4)

    def test_a_text_counted_as_cut_is_cut(self, embedder: Embedder) -> None:
        """``count_truncated`` is a count of the texts, none for short ones; a text it counts as cut embeds the
        same with more words after it (they are past what the embedder reads)."""
        long = self.texts[-1]
        cut = embedder.count_truncated([long, "short"])
        assert cut in (0, 1) and embedder.count_truncated(["short", "a"]) == 0
        if cut:
            tail = dense(embedder.embed(long + " and then the story ends somewhere else entirely")).reshape(-1)
            np.testing.assert_allclose(dense(embedder.embed(long)).reshape(-1), tail, atol=self.atol, rtol=1e-4)

    def test_token_counts_count_each_text(self, embedder: Embedder) -> None:
        """``token_counts`` is None or one count per text: at least one token for a word, more for more words
        up to the cut (a text ``count_truncated`` counts gains no tokens by growing), none for no texts."""
        counts = embedder.token_counts(["word", "word " * 5, self.texts[-1]])
        if counts is None:
            return
        assert [type(c) for c in counts] == [int] * 3 and 0 < counts[0] < counts[1], counts
        assert embedder.token_counts([]) == []
        longer = embedder.token_counts([self.texts[-1] + " and then the story ends somewhere else entirely"])
        cut = embedder.count_truncated([self.texts[-1]])
        assert longer is not None and (longer[0] == counts[2] if cut else longer[0] > counts[2])

    def test_empty_input(self, embedder: Embedder) -> None:
        """An empty list gives zero rows of the right width, not an error."""
        out = embedder.embed_many([])
        assert out.shape == (0, embedder.dim)

    def test_texts_differ(self, embedder: Embedder) -> None:
        """Different texts give different vectors (the output depends on the input)."""
        out = dense(embedder.embed_many(self.texts[:2]))
        assert not np.allclose(out[0], out[1])

    def test_save_load_round_trip(self, embedder: Embedder, tmp_path) -> None:  # noqa: ANN001
        """A saved and reloaded embedder gives the same vectors and fingerprint."""
        embedder.save(tmp_path / "emb")
        again = type(embedder).load(tmp_path / "emb")
        np.testing.assert_allclose(
            dense(again.embed_many(self.texts)), dense(embedder.embed_many(self.texts)), atol=self.atol
        )
        assert again.fingerprint() == embedder.fingerprint()

    def test_sparse_flag_matches_output(self, embedder: Embedder) -> None:
        """``sparse`` says what comes back: a scipy matrix when True, a numpy array when False."""
        out = embedder.embed_many(self.texts[:2])
        assert hasattr(out, "toarray") == embedder.sparse

    def test_damaged_folder_is_one_line_error(self, embedder: Embedder, tmp_path) -> None:  # noqa: ANN001
        """Each saved file truncated, garbled, replaced by wrong-shape JSON or deleted: one clear line; a saved part
        inside it deleted: the error says the folder is incomplete."""
        embedder.save(tmp_path / "emb")
        assert_damage_is_one_line(tmp_path / "emb", tmp_path / "damaged", type(embedder).load)
        assert_missing_parts_name_the_folder(tmp_path / "emb", tmp_path / "parts", type(embedder).load)

    def test_bad_input_raises(self, embedder: Embedder) -> None:
        """Bytes, a bare string or None are refused with an InputError that says what to do."""
        with pytest.raises(InputError, match="decode"):
            embedder.embed_many([b"bytes are not text"])  # type: ignore[list-item]
        with pytest.raises(InputError, match="list"):
            embedder.embed_many("a bare string")
        with pytest.raises(InputError):
            embedder.embed(None)  # type: ignore[arg-type]
