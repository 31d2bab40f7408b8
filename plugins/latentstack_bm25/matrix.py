"""The BM25 score matrix built from flat word-id arrays with NumPy, in place of bm25s's loop over the texts.

bm25s documents ``BM25.build_index_from_ids`` as the method to override to build the index
another way. Its own counts each text's words in a Python loop (a Counter per text), most of
a rebuild; here every (word, text) pair is counted at once with ``np.unique``, and each pair
is scored with bm25s's own idf and term-frequency functions, in the same float64 arithmetic,
so the matrix holds the scores bm25s's build gives (the tests compare them for each method).
"""

from __future__ import annotations

from typing import Any

import bm25s
import numpy as np
from bm25s.scoring import _build_idf_array, _build_nonoccurrence_array, _select_idf_scorer, _select_tfc_scorer


class WordIds:
    """Texts as one flat array of word ids and each text's length, where bm25s takes a list of lists."""

    def __init__(self, flat: np.ndarray, lengths: np.ndarray) -> None:
        self.flat, self.lengths = flat.astype(np.int64), lengths

    def __len__(self) -> int:
        return len(self.lengths)


class Bm25(bm25s.BM25):
    """bm25s's BM25 whose ``index(Tokenized(ids=WordIds(...), vocab=...))`` builds the matrix with array operations."""

    def build_index_from_ids(self, unique_token_ids: list[int], corpus_token_ids: Any, show_progress: bool = True,
                             leave_progress: bool = False) -> dict[str, Any]:
        """The score matrix (CSC: a column per word) of ``corpus_token_ids``, a WordIds; sets the non-occurrence
        scores of BM25L and BM25+ as bm25s does."""
        if not isinstance(corpus_token_ids, WordIds):
            return super().build_index_from_ids(unique_token_ids, corpus_token_ids, show_progress, leave_progress)
        words, n_docs, n_vocab = corpus_token_ids, len(corpus_token_ids), len(unique_token_ids)
        avg_doc_len = words.lengths.mean()
        docs = np.repeat(np.arange(n_docs, dtype=np.int64), words.lengths)
        pairs, tf = np.unique(words.flat * n_docs + docs, return_counts=True)  # by word, then text: CSC order
        word, doc = np.divmod(pairs, n_docs)
        df = np.bincount(word, minlength=n_vocab)
        doc_frequencies = dict(enumerate(df.tolist()))
        idf_fn, tfc_fn = _select_idf_scorer(self.idf_method), _select_tfc_scorer(self.method)
        self.nonoccurrence_array = _build_nonoccurrence_array(
            doc_frequencies=doc_frequencies, n_docs=n_docs, compute_idf_fn=idf_fn, calculate_tfc_fn=tfc_fn,
            l_d=avg_doc_len, l_avg=avg_doc_len, k1=self.k1, b=self.b, delta=self.delta, dtype=self.dtype,
        ) if self.method in self.methods_requiring_nonoccurrence else None
        idf = _build_idf_array(doc_frequencies=doc_frequencies, n_docs=n_docs, compute_idf_fn=idf_fn, dtype=self.dtype)
        tfc = tfc_fn(tf_array=tf.astype(self.dtype), l_d=words.lengths[doc], l_avg=avg_doc_len, k1=self.k1, b=self.b,
                     delta=self.delta)
        scores = idf[word] * tfc
        if self.nonoccurrence_array is not None:
            scores -= self.nonoccurrence_array[word]
        indptr = np.zeros(n_vocab + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        return {"data": scores.astype(self.dtype), "indices": doc.astype(self.int_dtype), "indptr": indptr,
                "num_docs": n_docs}
