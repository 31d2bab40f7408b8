"""The linear plugin: contract on TF-IDF, LSA, hybrid and naive Bayes; cache; mismatched models."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from latentstack.errors import InputError, ModelMismatchError
from latentstack.testing import ClassifierContract
from latentstack.testing.classifier_contract import TRAIN
from latentstack_linear.classifier import LinearClassifier


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    """Each test gets its own embedding cache."""
    monkeypatch.setenv("LATENTSTACK_CACHE", str(tmp_path / "cache"))


class TestTfidfLogistic(ClassifierContract):
    """Logistic regression on TF-IDF, C chosen by cross-validation."""

    @pytest.fixture
    def classifier(self) -> LinearClassifier:
        """Untrained tfidf+logistic."""
        return LinearClassifier.from_options(embedder="tfidf")


class TestTfidfNaiveBayes(ClassifierContract):
    """Naive Bayes on TF-IDF, alpha chosen by cross-validation."""

    @pytest.fixture
    def classifier(self) -> LinearClassifier:
        """Untrained tfidf+nb with a tuned threshold."""
        return LinearClassifier.from_options(embedder="tfidf", head="nb", tune_threshold=True)


class TestLsa(ClassifierContract):
    """Logistic regression on LSA codes."""

    @pytest.fixture
    def classifier(self) -> LinearClassifier:
        """Untrained lsa+logistic with few components."""
        return LinearClassifier.from_options(embedder="lsa", embedder_options={"components": 4})


class TestHybridTinyBert(ClassifierContract):
    """Tiny-BERT features beside TF-IDF in one model."""

    @pytest.fixture
    def classifier(self, tiny_bert_dir: Path) -> LinearClassifier:
        """Untrained hybrid on a tiny random BERT."""
        return LinearClassifier.from_options(embedder="bert", embedder_options={"model": str(tiny_bert_dir)},
                                             hybrid=True)


def test_nb_refuses_negative_features(tiny_bert_dir: Path) -> None:
    """Naive Bayes on BERT features (which go negative) says to use tfidf."""
    clf = LinearClassifier.from_options(embedder="bert", embedder_options={"model": str(tiny_bert_dir)}, head="nb")
    texts, labels = zip(*TRAIN)
    with pytest.raises(InputError, match="tfidf"):
        clf.fit(list(texts), list(labels))


def test_second_head_reads_cached_features(tiny_bert_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A second classifier on the same embedder and texts never runs the encoder again."""
    from latentstack_bert.embedder import BertEmbedder

    calls = []
    original = BertEmbedder.embed_batch
    monkeypatch.setattr(BertEmbedder, "embed_batch", lambda self, t: calls.append(len(t)) or original(self, t))
    texts, labels = map(list, zip(*TRAIN))
    opts = {"embedder": "bert", "embedder_options": {"model": str(tiny_bert_dir)}}
    LinearClassifier.from_options(**opts).fit(texts, labels)
    assert calls == [len(texts)]
    LinearClassifier.from_options(**opts, c=3.0, class_weight="balanced").fit(texts, labels)
    assert calls == [len(texts)]


def test_small_predictions_leave_nothing_in_the_cache(tiny_bert_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Predicting a few texts (a server's request, a terminal's message) writes no cache file; an evaluation-sized
    batch is written once and read back by the next call."""
    from latentstack.cache import cache_dir
    from latentstack_bert.embedder import BertEmbedder
    from latentstack_linear.features import CACHE_WRITE_MIN

    texts, labels = map(list, zip(*TRAIN))
    clf = LinearClassifier.from_options(embedder="bert", embedder_options={"model": str(tiny_bert_dir)}).fit(texts, labels)
    written = set(cache_dir().glob("*.npy"))
    clf.predict(["a message", "another one"])
    clf.predict(["a message", "another one"])
    assert set(cache_dir().glob("*.npy")) == written
    batch = [f"message number {i}" for i in range(CACHE_WRITE_MIN)]
    first = clf.predict_proba(batch)
    assert len(set(cache_dir().glob("*.npy")) - written) == 1
    calls: list[int] = []
    original = BertEmbedder.embed_batch
    monkeypatch.setattr(BertEmbedder, "embed_batch", lambda self, t: calls.append(len(t)) or original(self, t))
    np.testing.assert_array_equal(clf.predict_proba(batch), first)
    assert calls == []


def test_cached_vectors_are_kept_apart_by_dtype(tiny_bert_dir: Path) -> None:
    """Vectors cached by a float32 run are not served to a bfloat16 run of the same model (nor the reverse), and
    each run reads back its own."""
    from latentstack import get_embedder
    from latentstack.cache import cache_dir, embed_cached

    texts = [t for t, _ in TRAIN]
    runs = {d: get_embedder("bert", model=str(tiny_bert_dir), dtype=d, show_progress=False) for d in ("float32", "bfloat16")}
    first = {d: embed_cached(emb, texts) for d, emb in runs.items()}
    assert len(list(cache_dir().glob("*.npy"))) == 2
    assert not np.array_equal(first["float32"], first["bfloat16"])  # bf16 rounding shows in the vectors
    for d, emb in runs.items():
        np.testing.assert_array_equal(embed_cached(emb, texts), first[d])
    assert np.allclose(first["float32"], first["bfloat16"], atol=0.05)


def test_model_from_another_embedder_is_refused(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """A saved head whose base model changed (other weights) cannot be loaded."""
    model = tmp_path / "model"
    shutil.copytree(tiny_bert_dir, model)
    texts, labels = map(list, zip(*TRAIN))
    clf = LinearClassifier.from_options(embedder="bert", embedder_options={"model": str(model)}).fit(texts, labels)
    clf.save(tmp_path / "clf")
    from latentstack.testing.tiny_models import save_tiny_bert

    save_tiny_bert(model, seed=1)  # same path, different weights
    with pytest.raises(ModelMismatchError, match="base model differs"):
        LinearClassifier.load(tmp_path / "clf")


def test_bad_training_input() -> None:
    """Mismatched lengths and non-text items are refused."""
    clf = LinearClassifier.from_options(embedder="tfidf")
    with pytest.raises(InputError, match="labels"):
        clf.fit(["a", "b"], ["x"])
    with pytest.raises(InputError):
        clf.fit([b"a", "b"], ["x", "y"])
    with pytest.raises(InputError, match="not trained"):
        clf.predict(["a"])


def test_empty_texts_predict() -> None:
    """Empty strings get a prediction (the prior), not an error."""
    texts, labels = map(list, zip(*TRAIN))
    clf = LinearClassifier.from_options(embedder="tfidf").fit(texts, labels)
    proba = clf.predict_proba(["", "   "])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)


def test_solver_follows_the_shape_of_the_features() -> None:
    """Sparse or wide features get dual coordinate descent, dense ones lbfgs; one-vs-rest heads give proper
    probabilities."""
    import numpy as np
    import scipy.sparse as sp

    from latentstack_linear.heads import fit_head
    from latentstack_linear.model import head_proba, solver_for

    rng = np.random.default_rng(0)
    dense = rng.standard_normal((60, 5))
    y = np.repeat([0, 1, 2], 20)
    dense[np.arange(60), y] += 3.0  # separable by the first three coordinates
    sparse = sp.csr_matrix(np.abs(dense))
    assert solver_for(dense) == "lbfgs" and solver_for(sparse) == "dual-cd"
    for x in (dense, sparse):
        head = fit_head("logistic", x, y, seed=0, c=None, alpha=None, class_weight=None)
        proba = head_proba("logistic", head["coef"], head["intercept"], x, head["chosen"]["multi"])
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
        assert (proba.argmax(axis=1) == y).mean() > 0.9
    assert head["chosen"]["solver"] == "dual-cd" and head["chosen"]["multi"] == "ovr"


def test_out_of_fold_probabilities_come_from_the_search() -> None:
    """The search's out-of-fold probabilities are those of heads fitted on the other folds at the chosen setting;
    C is searched with the first weighting, then the other weighting at the C that won."""
    import numpy as np
    import scipy.sparse as sp
    from sklearn.model_selection import StratifiedKFold

    from latentstack_linear.heads import fit_logistic
    from latentstack_linear.model import head_proba

    rng = np.random.default_rng(1)
    y = np.repeat([0, 1], [45, 15])
    dense = rng.standard_normal((60, 8)) + y[:, None] * 0.8
    for x in (dense, sp.csr_matrix(np.abs(dense))):
        head = fit_logistic(x, y, seed=3, c=None, class_weight=None, oof=True)
        chosen = head["chosen"]
        expected = np.zeros((60, 2))
        for train, test in StratifiedKFold(5, shuffle=True, random_state=3).split(np.zeros(60), y):
            part = fit_logistic(x[train], y[train], seed=3, c=chosen["C"], class_weight=chosen["class_weight"])
            expected[test] = head_proba("logistic", part["coef"], part["intercept"], x[test], part["chosen"]["multi"])
        np.testing.assert_allclose(head["oof"], expected, atol=1e-4)
        assert 0 < chosen["cv_macro_f1"] <= 1
        given = {"c": chosen["C"], "class_weight": chosen["class_weight"]}  # the whole split's fit runs beside the folds
        beside = fit_logistic(x, y, seed=3, oof=True, **given)
        np.testing.assert_allclose(beside["coef"], fit_logistic(x, y, seed=3, **given)["coef"], atol=1e-5)
    fixed = fit_logistic(dense, y, seed=3, c=1.0, class_weight="none")
    assert fixed["oof"] is None and fixed["chosen"]["cv_macro_f1"] is None  # nothing to compare, nothing asked


def test_the_best_fusion_wins_and_ties_keep_the_stack() -> None:
    """A block or the side-by-side head replaces the stack only when it cross-validates strictly better."""
    from latentstack_linear.fusion import best_fusion

    assert best_fusion({"stack": 0.90, "block0": 0.88, "block1": 0.85, "concat": 0.92}) == "concat"
    assert best_fusion({"stack": 0.90, "block0": 0.90, "concat": 0.90}) == "stack"
    assert best_fusion({"stack": 0.80, "block0": 0.91, "concat": 0.90}) == "block0"


def test_a_side_by_side_hybrid_saves_and_loads(tmp_path) -> None:  # noqa: ANN001
    """Whichever fusion a hybrid keeps, a reloaded classifier gives the same probabilities and says which."""
    import numpy as np

    from latentstack import get_classifier, load_classifier

    texts = [f"win a free prize number {i} now" for i in range(12)] + [f"see you at lunch on day {i}" for i in range(12)]
    labels = ["spam"] * 12 + ["ham"] * 12
    clf = get_classifier("linear", embedder="lsa", hybrid=True).fit(texts, labels)
    report = clf.training_report()
    assert report["fusion"] in {"stack", "concat", "block0", "block1"}
    assert set(report["fusion_scores"]) == {"stack", "concat", "block0", "block1"}  # each judged out of fold
    assert all(0 <= v <= 1 for v in report["fusion_scores"].values())
    clf.save(tmp_path / "h")
    again = load_classifier(tmp_path / "h")
    assert again.fusion == clf.fusion
    np.testing.assert_allclose(again.predict_proba(texts), clf.predict_proba(texts), atol=1e-5)


@pytest.mark.parametrize("fusion", ["stack", "concat"])
def test_a_named_fusion_is_kept_and_the_other_not_fitted(tmp_path, fusion: str) -> None:  # noqa: ANN001
    """fusion="stack" or "concat" keeps that fusion whatever cross-validation says, fits only it, and a reloaded
    classifier gives the same probabilities; "auto" picks the best of the same candidates' scores."""
    import numpy as np

    from latentstack import get_classifier, load_classifier

    texts = [f"win a free prize number {i} now" for i in range(12)] + [f"see you at lunch on day {i}" for i in range(12)]
    labels = ["spam"] * 12 + ["ham"] * 12
    clf = get_classifier("linear", embedder="lsa", hybrid=True, fusion=fusion).fit(texts, labels)
    report = clf.training_report()
    other = {"stack": "concat", "concat": "stack"}[fusion]
    assert report["fusion"] == fusion
    assert fusion in report["fusion_scores"] and other not in report["fusion_scores"]
    assert (clf.meta is not None) == (fusion == "stack") and (clf.concat is not None) == (fusion == "concat")
    clf.save(tmp_path / "h")
    again = load_classifier(tmp_path / "h")
    assert again.fusion == fusion
    np.testing.assert_allclose(again.predict_proba(texts), clf.predict_proba(texts), atol=1e-5)
    auto = get_classifier("linear", embedder="lsa", hybrid=True).fit(texts, labels).training_report()
    assert auto["fusion_scores"][fusion] == pytest.approx(report["fusion_scores"][fusion])  # the same candidate


@pytest.mark.parametrize(("options", "message"), [
    ({"fusion": "stack"}, "add hybrid=true"),
    ({"fusion": "concat", "hybrid": True, "head": "nb"}, "needs the logistic head"),
    ({"fusion": "mean", "hybrid": True}, "fusion"),
])
def test_a_fusion_that_cannot_apply_is_refused_before_training(options: dict, message: str) -> None:
    """A fusion without a hybrid, side by side under naive Bayes, or an unknown name: an error, no fit."""
    from latentstack import get_classifier

    with pytest.raises((InputError, ValueError), match=message):
        get_classifier("linear", embedder="lsa", **options)


def test_a_hybrid_needs_two_texts_per_class() -> None:
    """Out-of-fold fusion cannot run with a class of one text: a one-line error names the class and what to do."""
    from latentstack import get_classifier

    texts = ["win a prize now", "hello friend", "free cash win", "see you soon", "lunch today?"]
    with pytest.raises(InputError, match="'other' has one training text"):
        get_classifier("linear", embedder="lsa", hybrid=True).fit(texts, ["spam", "ham", "spam", "ham", "other"])


def test_threshold_tuning_needs_two_classes() -> None:
    """With three classes the threshold was silently not tuned (after its out-of-fold fits had run)."""
    texts = ["win a prize now", "hello friend", "free cash win", "see you soon", "lunch today?", "meet at noon"]
    clf = LinearClassifier.from_options(embedder="tfidf", tune_threshold=True)
    with pytest.raises(InputError, match=r"between two classes; these labels have 3 \(a, b, c\)"):
        clf.fit(texts, ["a", "b", "a", "b", "c", "c"])


@pytest.mark.parametrize("cores", [1, 2])
def test_fold_fits_give_the_same_heads_run_after_run(monkeypatch, cores: int) -> None:  # noqa: ANN001
    """Fold fits in threads or one after another: two fits are identical, and equal to each other."""
    import numpy as np
    import scipy.sparse as sp

    from latentstack import cpu
    from latentstack_linear import heads

    rng = np.random.default_rng(2)
    y = np.repeat([0, 1, 2], 30)
    x = sp.csr_matrix(np.abs(rng.standard_normal((90, 40)) + np.eye(3)[y] @ rng.standard_normal((3, 40))))
    monkeypatch.setattr(cpu, "usable_cores", lambda: 1)
    alone = heads.fit_logistic(x, y, seed=5, c=None, class_weight=None, oof=True)
    monkeypatch.setattr(cpu, "usable_cores", lambda: cores)
    first, again = (heads.fit_logistic(x, y, seed=5, c=None, class_weight=None, oof=True) for _ in range(2))
    for fit in (first, again):
        np.testing.assert_array_equal(fit["oof"], alone["oof"])
        np.testing.assert_array_equal(fit["coef"], alone["coef"])


def test_the_dual_solver_fits_what_liblinear_fits() -> None:
    """The numba dual coordinate descent reaches scikit-learn's liblinear optimum: same predictions, same weights
    up to the tolerance, with and without balanced class weights; beyond two classes every class against the rest
    fitted in shared passes, as liblinear fits them one by one."""
    import numpy as np
    import scipy.sparse as sp
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    from latentstack_linear.dual_cd import fit_binary, fit_ovr, prepare

    rng = np.random.default_rng(4)
    for n_classes in (2, 3):
        y = rng.integers(0, n_classes, 300)
        x = sp.random(300, 500, density=0.05, random_state=4, format="csr") + sp.csr_matrix(np.eye(n_classes)[y] @
                                                                                            rng.random((n_classes, 500)) * 0.2)
        for balanced in (False, True):
            if n_classes == 2:
                w, b = fit_binary(prepare(x), np.arange(300), y == 1, 3.0, balanced, 1e-4, seed=0)
                coef, intercept = w[None, :], np.array([b])
            else:
                coef, intercept = fit_ovr(prepare(x), np.arange(300), y, n_classes, 3.0, balanced, 1e-4, seed=0)
            base = LogisticRegression(solver="liblinear", dual=True, C=3.0, tol=1e-4, max_iter=5000, random_state=0,
                                      class_weight="balanced" if balanced else None)
            ref = (base if n_classes == 2 else OneVsRestClassifier(base)).fit(x, y)
            ref_coef = np.vstack([e.coef_ for e in getattr(ref, "estimators_", [ref])])
            ref_intercept = np.concatenate([np.ravel(e.intercept_) for e in getattr(ref, "estimators_", [ref])])
            np.testing.assert_allclose(coef, ref_coef, atol=2e-3)
            np.testing.assert_allclose(intercept, ref_intercept, atol=2e-3)
            scores = np.asarray(x @ coef.T) + intercept
            pred = (scores[:, 0] > 0).astype(int) if n_classes == 2 else scores.argmax(axis=1)
            assert (pred == ref.predict(x)).all()


def test_a_dense_block_put_first_is_read_in_order_to_the_same_weights() -> None:
    """The solver finds the leading columns every row holds (a hybrid's embeddings beside TF-IDF) and reads them
    without looking them up: the same weights as reading every column by its index."""
    import numpy as np
    import scipy.sparse as sp

    from latentstack.sparse import unit_rows
    from latentstack_linear.dual_cd import dense_prefix, fit_binary, prepare

    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 200)
    dense = rng.standard_normal((200, 24)) + y[:, None] * 0.3
    tfidf = sp.random(200, 300, density=0.05, random_state=5, format="csr")
    joined = sp.hstack([unit_rows(dense), unit_rows(tfidf)], format="csr")
    prepared = prepare(joined)
    assert prepared[4] == 24 and prepare(tfidf)[4] == 0
    holed = dense.copy()
    holed[7, 10] = 0.0  # a row without column 10: only columns 0-9 are held by every row
    assert prepare(sp.hstack([unit_rows(holed), unit_rows(tfidf)], format="csr"))[4] == 10
    assert dense_prefix(np.zeros(1, dtype=np.int32), np.zeros(0, dtype=np.int32)) == 0  # no rows
    for balanced in (False, True):
        w, b = fit_binary(prepared, np.arange(200), y == 1, 3.0, balanced, 0.1, seed=0)
        w_looked_up, b_looked_up = fit_binary((*prepared[:4], 0), np.arange(200), y == 1, 3.0, balanced, 0.1, seed=0)
        np.testing.assert_allclose(w, w_looked_up, rtol=1e-9, atol=1e-12)
        assert abs(b - b_looked_up) < 1e-9


def test_side_by_side_keeps_the_embeddings_a_dense_prefix_through_exact_zeros() -> None:
    """An embedding with an exact zero (bf16 vectors hold a few) still gives the side-by-side matrix a dense prefix of
    its full width, and the fit on it is the fit on the matrix without those zeros stored."""
    import numpy as np
    import scipy.sparse as sp

    from latentstack.sparse import unit_rows
    from latentstack_linear.dual_cd import fit_binary, prepare
    from latentstack_linear.fusion import side_by_side

    rng = np.random.default_rng(6)
    y = rng.integers(0, 2, 150)
    dense = (rng.standard_normal((150, 16)) + y[:, None] * 0.3).astype(np.float32)
    dense[9, 0], dense[40, 11] = 0.0, 0.0
    tfidf = sp.random(150, 200, density=0.05, random_state=6, format="csr", dtype=np.float32)
    joined = side_by_side([dense, tfidf])
    dropped = sp.hstack([unit_rows(dense), unit_rows(tfidf)], format="csr", dtype=np.float32)
    assert prepare(joined)[4] == 16 and prepare(dropped)[4] == 0
    np.testing.assert_array_equal(joined.toarray(), dropped.toarray())
    w, b = fit_binary(prepare(joined), np.arange(150), y == 1, 3.0, False, 0.1, seed=0)
    w_dropped, b_dropped = fit_binary(prepare(dropped), np.arange(150), y == 1, 3.0, False, 0.1, seed=0)
    np.testing.assert_allclose(w, w_dropped, rtol=1e-9, atol=1e-12)
    assert abs(b - b_dropped) < 1e-9


def test_the_stack_reads_plain_log_probabilities() -> None:
    """The meta-model is fitted on log-probabilities scaled into [-1, 0] but reads them unscaled: its probabilities
    on plain log-probabilities are those of scikit-learn's fit on the scaled ones at the C it chose."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from latentstack_linear.fusion import FLOOR, fit_meta, log_proba
    from latentstack_linear.model import head_proba

    rng = np.random.default_rng(6)
    y = np.repeat([0, 1, 2], 40)
    oofs = [rng.dirichlet(np.ones(3), 120) * 0.5 + np.eye(3)[y] * 0.5 for _ in range(2)]
    meta = fit_meta(oofs, y, seed=0)
    z = np.hstack([log_proba(o) for o in oofs])
    ref = LogisticRegression(C=meta["chosen"]["C"], max_iter=5000).fit(z / -np.log(FLOOR), y)
    np.testing.assert_allclose(head_proba("logistic", meta["coef"], meta["intercept"], z),
                               ref.predict_proba(z / -np.log(FLOOR)), atol=1e-4)


def test_stratified_folds_are_scikit_learns() -> None:
    """The search's folds are StratifiedKFold's (shuffled, seeded), row for row, for two and many classes."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    from latentstack_linear.search import stratified_folds

    rng = np.random.default_rng(0)
    for seed in (0, 3):
        for y in (rng.integers(0, 2, 300), np.repeat([2, 0, 1], [45, 15, 9]), rng.integers(0, 48, 5000)):
            k = min(5, int(np.bincount(y).min()))
            ours = stratified_folds(y, k, seed)
            theirs = StratifiedKFold(k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y)
            for (train, test), (train_sk, test_sk) in zip(ours, theirs, strict=True):
                np.testing.assert_array_equal(train, train_sk)
                np.testing.assert_array_equal(test, test_sk)


def test_lbfgs_heads_are_scikit_learns() -> None:
    """The L-BFGS heads minimise scikit-learn's objective: two and three classes, with and without balanced
    weights, along a warm-started C grid, they predict as LogisticRegression does and their probabilities agree."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from latentstack_linear.lbfgs import lbfgs_path
    from latentstack_linear.model import head_proba

    rng = np.random.default_rng(2)
    for n_classes in (2, 3):
        x = rng.standard_normal((400, 12)).astype(np.float32)
        y = (x[:, :n_classes] + rng.standard_normal((400, n_classes))).argmax(axis=1)
        y[: 40] = 0  # uneven classes, so balancing changes the fit
        for weight in (None, "balanced"):
            fits = lbfgs_path(x, y, [0.1, 1.0, 10.0], weight)
            for c, (coef, intercept, multi) in zip([0.1, 1.0, 10.0], fits, strict=True):
                ref = LogisticRegression(C=c, class_weight=weight, max_iter=5000).fit(x, y)
                assert coef.shape == ref.coef_.shape
                proba = head_proba("logistic", coef, intercept, x, multi)
                np.testing.assert_allclose(proba, ref.predict_proba(x), atol=2e-3)
                assert (proba.argmax(axis=1) == ref.predict(x)).mean() >= 0.995


def test_linear_heads_train_without_importing_scikit_learn() -> None:
    """Fitting and using tfidf+linear and tfidf+nb, and their hybrids (the stack's meta-model an L-BFGS head),
    never imports scikit-learn, whose import costs a fresh process seconds."""
    import subprocess
    import sys

    code = ("import sys\nfrom latentstack import get_classifier\n"
            "texts = [f'win a prize {i}' for i in range(10)] + [f'lunch at noon {i}' for i in range(10)]\n"
            "for head in ('logistic', 'nb'):\n"
            "    for hybrid in (False, True):\n"
            "        clf = get_classifier('linear', embedder='tfidf', head=head, hybrid=hybrid)\n"
            "        clf.fit(texts, ['spam'] * 10 + ['ham'] * 10)\n"
            "        assert clf.predict(['win a prize now']) == ['spam'] and (clf.meta is not None) == hybrid\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sklearn'))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert done.stdout.strip() == "[]", done.stdout


def test_naive_bayes_heads_are_scikit_learns() -> None:
    """The numpy naive Bayes head and its alpha search are MultinomialNB under GridSearchCV (5 stratified folds,
    macro-F1): the same alpha chosen, the same weights and probabilities, for two and three classes."""
    import numpy as np
    import scipy.sparse as sp
    from sklearn.model_selection import GridSearchCV
    from sklearn.naive_bayes import MultinomialNB

    from latentstack_linear.model import head_proba
    from latentstack_linear.naive_bayes import ALPHA_GRID, fit_nb
    from latentstack_linear.search import stratified_folds

    rng = np.random.default_rng(7)
    for n_classes in (2, 3):
        y = rng.integers(0, n_classes, 400)
        x = sp.random(400, 300, density=0.04, random_state=7, format="csr", dtype=np.float32)
        x = sp.csr_matrix(x + sp.csr_matrix((np.eye(n_classes)[y] @ rng.random((n_classes, 300)) > 0.9) * 0.3))
        ours = fit_nb(x, y, seed=1, alpha=None)
        ref = GridSearchCV(MultinomialNB(), {"alpha": list(ALPHA_GRID)}, cv=stratified_folds(y, 5, 1),
                           scoring="f1_macro").fit(x, y)
        assert ours["chosen"]["alpha"] == ref.best_params_["alpha"]
        model = ref.best_estimator_
        np.testing.assert_allclose(ours["coef"], model.feature_log_prob_, rtol=1e-5)
        np.testing.assert_allclose(ours["intercept"], model.class_log_prior_, rtol=1e-5)
        np.testing.assert_allclose(head_proba("nb", ours["coef"], ours["intercept"], x), model.predict_proba(x),
                                   atol=1e-4)
        assert fit_nb(x, y, seed=1, alpha=0.5)["chosen"]["alpha"] == 0.5
