"""The seller model: estimator contract, component folds, thresholds, training and files.

Every expected number below is worked out by hand in a comment beside it.
"""

from __future__ import annotations

import collections
import json
import math
import re
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
import polars as pl
import pytest
import sklearn
import skops.io as sio
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_info, threadpool_limits

import syndicate.model as model_module
from syndicate.errors import InputFileError, SyndicateError
from syndicate.model import (
    BAD_RATE_FLOOR,
    CARD_FILE,
    FOREST_FILE,
    LEARNERS,
    MODEL_FILE,
    BadRate,
    SellerClassifier,
    SellerModel,
    Thresholds,
    bad_rate_bound,
    choose_bad_rate,
    component_folds,
    estimate_bad_rate,
    feature_matrix,
    fit_seller_model,
    load_model,
    permutation_drops,
    recall_at_k,
    save_model,
    thresholds_from_pr,
)

# --------------------------------------------------------------------------------------
# SellerClassifier


def _small(learner: str, **params: Any) -> SellerClassifier:
    """A quick model of either learner: a forest of 10 trees, or 10 boosting rounds."""
    size = {"n_estimators": 10} if learner == "random_forest" else {"boosting_rounds": 10}
    return SellerClassifier(learner=learner, **{**size, **params})


def _expected_failed_checks(estimator: Any) -> dict[str, str]:
    if estimator.learner == "gradient_boosting":
        # Passes, though scikit-learn still lists it as an expected failure of
        # HistGradientBoostingClassifier: with weighted binning and no early stopping, a
        # weight of 2 and a repeated row give the same booster.
        return {}
    return {
        "check_sample_weight_equivalence_on_dense_data": (
            "the same expected failure scikit-learn lists for RandomForestClassifier: "
            "bootstrap sampling draws rows by count, not by weight, so a sample_weight of 2 "
            "is not equivalent to repeating the row"
        )
    }


# xfail_strict: the expected failure must really fail, and every other check must pass,
# so this is the only check SellerClassifier fails, and only the forest (true as of
# scikit-learn 1.9.1).
@parametrize_with_checks(
    [
        SellerClassifier(n_estimators=10),
        SellerClassifier(learner="gradient_boosting", boosting_rounds=5),
    ],
    expected_failed_checks=_expected_failed_checks,
    xfail_strict=True,
)
def test_scikit_learn_estimator_checks(estimator: SellerClassifier, check: Any) -> None:
    check(estimator)


def test_init_is_keyword_only() -> None:
    with pytest.raises(TypeError, match="positional argument"):
        SellerClassifier(10)  # type: ignore[call-arg]


def test_an_unknown_learner_is_refused_when_fitting() -> None:
    with pytest.raises(
        ValueError, match=r"learner must be 'random_forest' or 'gradient_boosting'; got 'xgb'"
    ):
        SellerClassifier(learner="xgb").fit(X_SPLIT, np.array([0, 0, 1, 1] * 5))


@pytest.mark.parametrize("learner", LEARNERS)
def test_missing_values_are_allowed_in_fit_and_predict(learner: str) -> None:
    # The only feature is missing exactly for the bad sellers, so missingness alone
    # separates the classes and the trees must route NaN to the bad side.
    X = np.array([[np.nan], [0.0], [np.nan], [1.0]] * 5)
    y = np.array([1, 0, 1, 0] * 5)
    model = _small(learner).fit(X, y)
    assert model.predict([[np.nan], [0.5]]).tolist() == [1, 0]
    nan_score, value_score = model.bad_score([[np.nan], [0.5]]).tolist()
    if learner == "random_forest":
        assert (nan_score, value_score) == (1.0, 0.0)
    else:  # 10 rounds of shrinkage 0.1 are not certain yet, but on the right sides
        assert nan_score > 0.5 > value_score and nan_score == pytest.approx(1 - value_score)


X_SPLIT = np.array([[0.0, 1.0], [0.1, 0.0], [0.9, 1.0], [1.0, 0.0]] * 5)


@pytest.mark.parametrize("learner", LEARNERS)
def test_bad_score_is_the_column_of_class_one(learner: str) -> None:
    # Classes 1 (bad) and 2: class 1 is the first column, not the last.
    model = _small(learner).fit(X_SPLIT, np.array([2, 2, 1, 1] * 5))
    assert model.classes_.tolist() == [1, 2]
    proba = model.predict_proba(X_SPLIT[:4])
    assert model.bad_score(X_SPLIT[:4]).tolist() == proba[:, 0].tolist()
    assert model.predict(X_SPLIT[:4]).tolist() == [2, 2, 1, 1]
    if learner == "random_forest":
        assert model.bad_score(X_SPLIT[:4]).tolist() == [0.0, 0.0, 1.0, 1.0]


@pytest.mark.parametrize("learner", LEARNERS)
def test_bad_score_with_one_class_only(learner: str) -> None:
    # Fitted on known-good sellers only: one probability column (class 0), bad score 0.
    good_only = _small(learner).fit(X_SPLIT, np.zeros(20, dtype=int))
    assert good_only.classes_.tolist() == [0]
    assert good_only.predict_proba(X_SPLIT[:3]).tolist() == [[1.0]] * 3
    assert good_only.predict(X_SPLIT[:3]).tolist() == [0, 0, 0]
    assert good_only.bad_score(X_SPLIT[:3]).tolist() == [0.0, 0.0, 0.0]
    # Fitted on known-bad sellers only: the single column is class 1.
    bad_only = _small(learner).fit(X_SPLIT, np.ones(20, dtype=int))
    assert bad_only.bad_score(X_SPLIT[:3]).tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("learner", LEARNERS)
def test_same_random_state_gives_identical_probabilities(learner: str) -> None:
    rng = np.random.default_rng(7)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] + rng.normal(scale=1.0, size=60) > 0).astype(int)
    first = _small(learner, random_state=3).fit(X, y).predict_proba(X)
    again = _small(learner, random_state=3).fit(X, y).predict_proba(X)
    assert np.array_equal(first, again)
    if learner == "random_forest":
        # (Boosting draws nothing at random here: no row subsample below 200,000 rows,
        # every feature at every split, no early-stopping split.)
        other = _small(learner, random_state=4).fit(X, y).predict_proba(X)
        assert not np.array_equal(first, other)  # the seed does reach the forest


# Rows with missing values, for the thread tests: enough for OpenMP (boosting) and the
# forest's workers to share them out.
_RNG = np.random.default_rng(11)
X_THREADS = _RNG.normal(size=(1000, 4))
X_THREADS[_RNG.random(X_THREADS.shape) < 0.1] = np.nan
Y_THREADS = (np.nan_to_num(X_THREADS[:, 0]) + _RNG.normal(size=1000) > 1.0).astype(int)


@pytest.mark.parametrize("learner", LEARNERS)
def test_scores_do_not_depend_on_the_threads(learner: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with threadpool_limits(limits=1):
        one = _small(learner, n_jobs=1, boosting_rounds=3).fit(X_THREADS, Y_THREADS)
        alone = one.predict_proba(X_THREADS)
    # Boosting adds threads only on large problems: make this one large enough for two,
    # and record the OpenMP limits it sets.
    monkeypatch.setattr(model_module, "_BOOST_CELLS_PER_THREAD", 1)
    monkeypatch.setattr(model_module, "_BOOST_ROWS_PER_THREAD", 1)
    seen: list[int] = []
    real = model_module.threadpool_limits

    def recorded(limits: int, user_api: str) -> Any:
        seen.append(limits)
        return real(limits=limits, user_api=user_api)

    monkeypatch.setattr(model_module, "threadpool_limits", recorded)
    two = _small(learner, n_jobs=2, boosting_rounds=3).fit(X_THREADS, Y_THREADS)
    assert np.array_equal(two.predict_proba(X_THREADS), alone)
    assert np.array_equal(one.set_params(n_jobs=2).predict_proba(X_THREADS), alone)
    assert seen == ([2, 2, 2] if learner == "gradient_boosting" else [])  # fit, 2 predicts
    assert len(np.unique(alone[:, 1])) > 10  # the trees did split


def _openmp_limit() -> int:
    return min(pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "openmp")


def test_boosting_adds_threads_only_on_large_problems() -> None:
    cores = model_module.effective_n_jobs(-1)
    every_core = _small("gradient_boosting", n_jobs=-1)
    found = []
    for useful in (0, 1, 10**6):  # threads the problem's size is worth
        with every_core._openmp_threads(useful):
            found.append(_openmp_limit())
    assert found == [1, 1, cores]
    with _small("gradient_boosting", n_jobs=1)._openmp_threads(10**6):
        assert _openmp_limit() == 1


def test_boosted_importances_are_the_split_gains() -> None:
    # Column 0 alone decides the label and column 1 is constant (no split can use it):
    # all the gain is column 0's.
    X = np.column_stack([X_SPLIT[:, 0], np.full(20, 3.0)])
    model = _small("gradient_boosting").fit(X, np.array([0, 0, 1, 1] * 5))
    assert model.feature_importances_.tolist() == [1.0, 0.0]
    one_class = _small("gradient_boosting").fit(X, np.zeros(20, dtype=int))
    assert one_class.feature_importances_.tolist() == [0.0, 0.0]


# --------------------------------------------------------------------------------------
# component_folds


def _fnv1a_reference(text: str) -> int:
    """FNV-1a 64 of the UTF-8 bytes, then MurmurHash3's fmix64 finaliser."""
    value = 0xCBF29CE484222325
    for byte in text.encode("utf-8"):
        value = ((value ^ byte) * 0x100000001B3) % 2**64
    for factor in (0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53):
        value = ((value ^ (value >> 33)) * factor) % 2**64
    return value ^ (value >> 33)


def test_component_folds_are_fnv1a_of_the_key() -> None:
    keys = ["s1", "s1", "s2", "", "héllo wörld", "x" * 300, "ring-0042"]
    folds = component_folds(pl.Series(keys), 5)
    assert folds.dtype == pl.Int32
    assert folds.to_list() == [_fnv1a_reference(key) % 5 for key in keys]
    assert folds.to_list()[:3] == [4, 4, 3]  # the docstring's example


def test_fold_of_a_key_does_not_depend_on_the_other_keys() -> None:
    keys = pl.Series([f"c{i}" for i in range(12)])
    alone = {key: component_folds(pl.Series([key]), 4).item() for key in keys}
    subset = keys.gather([1, 5, 7])
    superset = pl.concat([keys, pl.Series([f"new{i}" for i in range(30)])])
    for part in (keys, subset, superset):
        folds = component_folds(part, 4).to_list()
        for key, fold in zip(part.to_list(), folds, strict=True):
            if key in alone:
                assert fold == alone[key], key
    assert len(set(alone.values())) > 1  # the keys do spread over folds


@settings(max_examples=60, deadline=None)
@given(
    keys=st.lists(st.text(min_size=1, max_size=5), min_size=1, max_size=25),
    n_folds=st.integers(min_value=1, max_value=7),
    data=st.data(),
)
def test_component_folds_invariants(keys: list[str], n_folds: int, data: st.DataObject) -> None:
    folds = component_folds(pl.Series(keys, dtype=pl.String), n_folds).to_list()
    assert len(folds) == len(keys)
    assert all(0 <= fold < n_folds for fold in folds)
    by_key: dict[str, set[int]] = collections.defaultdict(set)
    for key, fold in zip(keys, folds, strict=True):
        by_key[key].add(fold)
    assert all(len(found) == 1 for found in by_key.values())  # a component shares a fold
    # Row order does not matter: permuted rows get the same fold per key.
    order = data.draw(st.permutations(range(len(keys))))
    shuffled = [keys[i] for i in order]
    again = component_folds(pl.Series(shuffled, dtype=pl.String), n_folds).to_list()
    assert again == [folds[i] for i in order]
    # Other keys do not matter: each key alone gets the fold it got among the others.
    key = data.draw(st.sampled_from(keys))
    assert component_folds(pl.Series([key]), n_folds).to_list() == list(by_key[key])


# --------------------------------------------------------------------------------------
# recall_at_k

# labels 1 at positions 0 and 2; by score the order is 0 (.9), 1 (.8), 3 (.7), 4 (.2), 2 (.1)
RECALL_LABELS = np.array([1, 0, 1, 0, 0])
RECALL_SCORES = np.array([0.9, 0.8, 0.1, 0.7, 0.2])


@pytest.mark.parametrize(
    ("k", "expected"),
    [
        (0, 0.0),
        (1, 0.5),  # top {0}: 1 of 2 positives
        (4, 0.5),  # top {0, 1, 3, 4}: still only position 0
        (5, 1.0),  # everyone
        (10, 1.0),  # k beyond the table
    ],
)
def test_recall_at_k_exact(k: int, expected: float) -> None:
    assert recall_at_k(RECALL_LABELS, RECALL_SCORES, k) == expected


def test_recall_at_k_breaks_ties_by_position() -> None:
    labels, scores = np.array([0, 1, 1]), np.array([0.5, 0.5, 0.5])
    assert recall_at_k(labels, scores, 1) == 0.0  # position 0 first, a good seller
    assert recall_at_k(labels, scores, 2) == 0.5


def test_recall_at_k_without_positives_is_nan() -> None:
    assert math.isnan(recall_at_k(np.array([0, 0, 0]), np.array([0.3, 0.2, 0.1]), 2))


# --------------------------------------------------------------------------------------
# thresholds_from_pr

# Four bad (B) and four good (G) sellers; scores in descending order with, at each cut t,
# TP/FP among scores >= t, plain precision, TPR/FPR, and precision under a prior π = 0.2:
#   t    who  TP FP  plain      TPR  FPR   π·TPR / (π·TPR + (1 - π)·FPR)
#   .9   B    1  0   1          .25  0     1
#   .8   B    2  0   1          .50  0     1
#   .7   G    2  1   2/3        .50  .25   .10 / (.10 + .20) = 1/3
#   .6   B    3  1   3/4        .75  .25   .15 / (.15 + .20) = 3/7  ≈ .429
#   .5   G    3  2   3/5        .75  .50   .15 / (.15 + .40) = 3/11 ≈ .273
#   .4   G    3  3   1/2        .75  .75   .15 / (.15 + .60) = 1/5
#   .3   B    4  3   4/7 ≈ .571 1    .75   .20 / (.20 + .60) = 1/4
#   .2   G    4  4   1/2        1    1     .20 / (.20 + .80) = 1/5
PR_LABELS = np.array([1, 1, 0, 1, 0, 0, 1, 0])
PR_SCORES = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2])


@pytest.mark.parametrize(
    ("syndicate_precision", "review_precision", "bad_rate", "expected"),
    [
        (0.9, 0.7, None, (0.8, 0.6)),
        # exact targets are reached: 3/4 at .6, 1/2 at .2 (the lowest cut reaching it)
        (0.75, 0.55, None, (0.6, 0.3)),
        (1.0, 0.5, None, (0.8, 0.2)),
        # with π = 0.2, review at 0.4 needs 3/7 (.6) where plain precision allowed .3
        (0.9, 0.4, 0.2, (0.8, 0.6)),
        # 1/4 at .3 is reached exactly, past the dip below 1/4 at .4 and .5
        (0.9, 0.25, 0.2, (0.8, 0.3)),
        # nothing reaches 1.01: no seller is a syndicate, review is still set
        (1.01, 0.9, None, (None, 0.8)),
        (1.01, 1.01, 0.2, (None, None)),
    ],
)
def test_thresholds_from_pr_exact(
    syndicate_precision: float,
    review_precision: float,
    bad_rate: float | None,
    expected: tuple[float | None, float | None],
) -> None:
    found = thresholds_from_pr(
        PR_LABELS,
        PR_SCORES,
        syndicate_precision,
        review_precision,
        bad_rate=bad_rate,
        min_support=1,
    )
    assert found == Thresholds(syndicate=expected[0], review=expected[1], source="oof_pr_curve")


@pytest.mark.parametrize(
    ("min_support", "expected"),
    [
        (1, (0.8, 0.6)),  # the table above
        (3, (None, 0.6)),  # precision .9 only at .9 and .8, which keep 1 and 2 bad sellers
        (4, (None, None)),  # only the cut .3 keeps all 4, at precision 4/7 < .7
        (9, (None, None)),  # more than there are: all 4 must be kept
    ],
)
def test_a_threshold_keeps_min_support_bad_sellers(
    min_support: int, expected: tuple[float | None, float | None]
) -> None:
    found = thresholds_from_pr(PR_LABELS, PR_SCORES, 0.9, 0.7, min_support=min_support)
    assert (found.syndicate, found.review) == expected


def test_thresholds_nothing_reached_when_the_top_score_is_good() -> None:
    # Cut .9 holds only the good seller (precision 0), cut .1 both (precision 1/2).
    found = thresholds_from_pr(np.array([1, 0]), np.array([0.1, 0.9]), 0.9, 0.6, min_support=1)
    assert found == Thresholds(syndicate=None, review=None, source="oof_pr_curve")


@pytest.mark.parametrize(
    ("syndicate_precision", "review_precision"),
    [
        (0.5, 0.9),  # review would be .8, above syndicate .2
        (0.5, 1.01),  # review reaches nothing while syndicate is .2
    ],
)
def test_review_is_never_above_syndicate(
    syndicate_precision: float, review_precision: float
) -> None:
    found = thresholds_from_pr(
        PR_LABELS, PR_SCORES, syndicate_precision, review_precision, min_support=1
    )
    assert found == Thresholds(syndicate=0.2, review=0.2, source="oof_pr_curve")


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.booleans(), st.integers(min_value=0, max_value=20)), min_size=2, max_size=30
    ).filter(lambda rows: len({label for label, _ in rows}) == 2),
    targets=st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0)),
    bad_rate=st.none() | st.floats(0.001, 0.999),
)
def test_review_never_above_syndicate_property(
    rows: list[tuple[bool, int]], targets: tuple[float, float], bad_rate: float | None
) -> None:
    labels = np.array([label for label, _ in rows], dtype=int)
    scores = np.array([score / 20 for _, score in rows])
    found = thresholds_from_pr(labels, scores, *targets, bad_rate=bad_rate, min_support=1)
    if found.syndicate is not None:
        assert found.review is not None
        assert found.review <= found.syndicate
    for cut in (found.syndicate, found.review):
        assert cut is None or cut in set(scores.tolist())


# --------------------------------------------------------------------------------------
# estimate_bad_rate

# Bad sellers score .9 .8 .6 .4, good ones .7 .3 .2 .1. The cuts with TPR in [.5, .9] and
# TPR - FPR >= .25 are
#   t = .8: TPR .50, FPR 0     π = q / .5
#   t = .7: TPR .50, FPR .25   π = (q - .25) / .25
#   t = .6: TPR .75, FPR .25   π = (q - .25) / .5
# (.9 has TPR .25 and .4 TPR 1), and the estimate is the median of the three.
BAD_RATE_LABELS = np.array([1, 1, 1, 1, 0, 0, 0, 0])
BAD_RATE_OOF = np.array([0.9, 0.8, 0.6, 0.4, 0.7, 0.3, 0.2, 0.1])


@pytest.mark.parametrize(
    ("unlabelled", "expected"),
    [
        # q = 2/8, 3/8, 4/8: π = .5, .5, .5
        ([0.95, 0.85, 0.75, 0.65, 0.3, 0.2, 0.1, 0.0], 0.5),
        # q = 1/8, 3/8, 6/8: π = .25, .5, 1, median .5 (mean .583; the largest TPR - FPR
        # alone, t = .8, would give .25)
        ([0.95, 0.75, 0.72, 0.65, 0.65, 0.61, 0.1, 0.0], 0.5),
        # the same with scores equal to the cuts: a seller at t counts as scoring >= t
        ([0.8, 0.7, 0.7, 0.6, 0.6, 0.6, 0.0, 0.0], 0.5),
        # q = 0: π = 0, -1, -.5, median -.5, clipped up to 1e-6
        ([0.0, 0.1, 0.2], 1e-6),
        # q = 1: π = 2, 3, 1.5, median 2, clipped down to 1
        ([1.0, 0.99], 1.0),
        # no unlabelled sellers: the labelled base rate 4/8
        ([], 0.5),
    ],
)
def test_estimate_bad_rate_exact(unlabelled: list[float], expected: float) -> None:
    assert estimate_bad_rate(BAD_RATE_LABELS, BAD_RATE_OOF, np.array(unlabelled)) == expected


@pytest.mark.parametrize(
    ("labels", "oof", "expected"),
    [
        # bad sellers score below every good one: TPR - FPR <= 0 at every cut, so 2/5
        ([1, 1, 0, 0, 0], [0.1, 0.2, 0.8, 0.9, 0.7], 0.4),
        # one bad seller: TPR jumps from 0 to 1, never in [.5, .9], so 1/4
        ([1, 0, 0, 0], [0.9, 0.1, 0.2, 0.3], 0.25),
    ],
)
def test_estimate_bad_rate_without_a_usable_cut_is_the_base_rate(
    labels: list[int], oof: list[float], expected: float
) -> None:
    unlabelled = np.array([0.9, 0.9, 0.1])
    assert estimate_bad_rate(np.array(labels), np.array(oof), unlabelled) == expected


# --------------------------------------------------------------------------------------
# bad_rate_bound and choose_bad_rate


def wilson(k: int, n: int, z: float) -> tuple[float, float]:
    p, z2 = k / n, z * z
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return (p + z2 / (2 * n) - half) / (1 + z2 / n), (p + z2 / (2 * n) + half) / (1 + z2 / n)


def test_the_bound_from_the_scores_by_hand() -> None:
    # Ten known-bad of twelve labelled all score .9 (one cut, TPR 10/10); 10 of 1,000
    # unlabelled score that high. 2·1 + 1 = 3 one-sided limits share the 5%.
    z = NormalDist().inv_cdf(1 - 0.05 / 3)
    labels = np.array([1] * 10 + [0] * 2)
    oof = np.array([0.9] * 10 + [0.1] * 2)
    bound, source = bad_rate_bound(labels, oof, np.array([0.9] * 10 + [0.1] * 990))
    assert source == "scores"
    assert bound == pytest.approx(wilson(10, 1000, z)[1] / wilson(10, 10, z)[0])
    assert bound == pytest.approx(0.028, abs=5e-4)


def test_the_bound_from_the_labels_when_every_unlabelled_seller_scores_high() -> None:
    # q = 1 at the one cut: the scores bound nothing, the labelled share 2/10 does.
    z = NormalDist().inv_cdf(1 - 0.05 / 3)
    labels = np.array([1] * 2 + [0] * 8)
    oof = np.array([0.9] * 2 + [0.1] * 8)
    bound, source = bad_rate_bound(labels, oof, np.array([0.95] * 50))
    assert (bound, source) == (pytest.approx(wilson(2, 10, z)[1]), "labels")


def test_the_bound_only_uses_cuts_the_typical_known_bad_seller_reaches() -> None:
    # Known-bad score .9 .8 .6 .4: the cut .9 (TPR 1/4) is left out, so m = 3 cuts
    # (.8, .6, .4) and z is the quantile of 1 - .05 / 7. Nobody unlabelled scores .9, which
    # would bound the rate near 0 if the top cut counted.
    z = NormalDist().inv_cdf(1 - 0.05 / 7)
    unlabelled = np.array([0.85] * 5 + [0.1] * 5)  # q = 1/2 at .8, .6 and .4
    bound, source = bad_rate_bound(BAD_RATE_LABELS, BAD_RATE_OOF, unlabelled)
    expected = min(wilson(5, 10, z)[1] / wilson(k, 4, z)[0] for k in (2, 3, 4))
    assert expected > wilson(4, 8, z)[1]  # so the labels' term is the bound
    assert (bound, source) == (pytest.approx(wilson(4, 8, z)[1]), "labels")


@pytest.mark.parametrize(
    ("unlabelled", "source", "value", "estimate"),
    [
        # classify-and-count gives .5 (see above), below the bound .827 (4 of 8, z(1 - .05/7))
        ([0.95, 0.85, 0.75, 0.65, 0.3, 0.2, 0.1, 0.0], "estimated", 0.5, 0.5),
        # classify-and-count gives 1 (q = 1): capped at the labels' bound
        ([1.0, 0.99], "bound", 0.827366, 1.0),
        # no unlabelled seller: the labelled share
        ([], "labelled_share", 0.5, 0.5),
    ],
)
def test_choose_bad_rate(
    unlabelled: list[float], source: str, value: float, estimate: float
) -> None:
    rate = choose_bad_rate(BAD_RATE_LABELS, BAD_RATE_OOF, np.array(unlabelled))
    assert (rate.source, rate.bound_from) == (source, "labels")
    assert (rate.value, rate.estimate) == (pytest.approx(value, abs=1e-6), estimate)
    assert rate.bound == pytest.approx(0.827366, abs=1e-6)


def test_a_configured_bad_rate_is_used_as_is() -> None:
    rate = choose_bad_rate(BAD_RATE_LABELS, BAD_RATE_OOF, np.array([1.0, 0.99]), 0.02)
    assert rate == BadRate(value=0.02, source="config")


def test_scores_that_do_not_separate_the_classes_leave_the_rate_unidentified() -> None:
    # Bad sellers score below every good one: no cut for classify-and-count (the old
    # fallback, the labelled share 2/5, would claim 40% of the unlabelled are bad).
    labels, oof = np.array([1, 1, 0, 0, 0]), np.array([0.1, 0.2, 0.8, 0.9, 0.7])
    rate = choose_bad_rate(labels, oof, np.array([0.9, 0.9, 0.1]))
    assert (rate.source, rate.value, rate.estimate) == ("unidentified", BAD_RATE_FLOOR, None)


def test_at_the_floor_rate_thresholds_lie_above_every_known_good_score() -> None:
    # Precision is 1 where no known-good seller scores (FPR 0) and about 0 elsewhere.
    labels = np.array([0, 0, 0, 0, 1, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.6, 0.7, 0.9])
    found = thresholds_from_pr(labels, scores, 0.9, 0.75, bad_rate=BAD_RATE_FLOOR)
    assert (found.syndicate, found.review) == (0.7, 0.7)


def test_thresholds_as_dict_for_the_manifest() -> None:
    rate = BadRate(value=0.05, source="bound", estimate=0.79, bound=0.05, bound_from="scores")
    thresholds = Thresholds(0.8, 0.6, "oof_pr_curve", rate, n_known_bad=11, few_known_bad=True)
    assert thresholds.as_dict() == {
        "syndicate": 0.8,
        "review": 0.6,
        "source": "oof_pr_curve",
        "bad_rate": {
            "value": 0.05,
            "source": "bound",
            "estimate": 0.79,
            "bound": 0.05,
            "bound_from": "scores",
        },
        "n_known_bad": 11,
        "few_known_bad": True,
        "kept_from_previous_run": [],
    }
    assert Thresholds(0.7, 0.7, "cold_start").as_dict()["bad_rate"] is None


# --------------------------------------------------------------------------------------
# fit_seller_model

# 30 sellers s00..s29 in pairs, each pair one component named after its first seller.
# s00..s09 are known bad, s10..s25 known good, s26..s29 unlabelled. shared_devices
# separates the classes (bad 10..12, everyone else 0..3); noise does not.
# s25 is missing from the component table, so its component is its own id.
SELLERS = [f"s{i:02d}" for i in range(30)]
LABELLED = SELLERS[:26]
FEATURES = pl.DataFrame(
    {
        "seller_id": SELLERS,
        "shared_devices": [float(10 + i % 3) if i < 10 else float(i % 4) for i in range(30)],
        "noise": [float(i * 7 % 10) for i in range(30)],
    }
)
LABELS = pl.DataFrame({"seller_id": LABELLED, "label": [1] * 10 + [0] * 16})
COMPONENT = pl.DataFrame(
    {"seller_id": SELLERS, "group": [f"s{i // 2 * 2:02d}" for i in range(30)]}
).filter(pl.col("seller_id") != "s25")
COMPONENT_OF = {**dict(COMPONENT.iter_rows()), "s25": "s25"}


def _fit(
    labels: pl.DataFrame = LABELS, learner: str = "random_forest", **options: Any
) -> SellerModel:
    options = {"n_folds": 3, **options}
    return fit_seller_model(FEATURES, labels, COMPONENT, estimator=_small(learner), **options)


def _flip(labels: pl.DataFrame, seller_id: str) -> pl.DataFrame:
    flipped = pl.when(pl.col("seller_id") == seller_id).then(1 - pl.col("label"))
    return labels.with_columns(flipped.otherwise(pl.col("label")).alias("label"))


@pytest.fixture(scope="module", params=LEARNERS)
def seller_model(request: pytest.FixtureRequest) -> SellerModel:
    return _fit(learner=request.param)


@pytest.mark.parametrize(
    ("labels", "counts"),
    [
        (LABELS.filter(pl.col("seller_id") != "s00").tail(17), "1 and 16"),
        (LABELS.head(11), "10 and 1"),
        (LABELS.head(0), "0 and 0"),
    ],
)
def test_fit_needs_two_of_each_class(labels: pl.DataFrame, counts: str) -> None:
    message = "training needs at least 2 known-bad and 2 known-good sellers; the labels have "
    with pytest.raises(SyndicateError, match=re.escape(message + counts)):
        _fit(labels)


def test_oof_scores_for_every_labelled_seller(seller_model: SellerModel) -> None:
    oof = seller_model.oof
    assert oof.columns == ["seller_id", "label", "fold", "score"]
    assert oof["seller_id"].to_list() == LABELLED
    assert oof["label"].to_list() == LABELS["label"].to_list()
    assert oof["score"].null_count() == 0
    assert oof["score"].is_between(0.0, 1.0).all()


def test_each_component_lands_in_one_fold(seller_model: SellerModel) -> None:
    oof = seller_model.oof.with_columns(
        pl.col("seller_id").replace_strict(COMPONENT_OF).alias("group")
    )
    expected = component_folds(oof["group"], 3)
    assert oof["fold"].to_list() == expected.to_list()
    assert oof.group_by("group").agg(pl.col("fold").n_unique())["fold"].max() == 1
    assert oof["fold"].n_unique() > 1  # more than one fold is really used


def test_a_feature_column_named_group_is_not_the_cv_group() -> None:
    # The grouping column of fit_seller_model once shared its name with a feature, so a
    # sellers column called "group" replaced the rings as cross-validation groups.
    features = FEATURES.with_columns(pl.col("noise").alias("group")).drop("noise")
    model = fit_seller_model(features, LABELS, COMPONENT, estimator=_small("random_forest"))
    groups = pl.col("seller_id").replace_strict(COMPONENT_OF)
    expected = component_folds(model.oof.select(groups)["seller_id"], 5)
    assert model.oof["fold"].to_list() == expected.to_list()
    assert model.feature_names == ["shared_devices", "group"]


def test_model_card(seller_model: SellerModel) -> None:
    card, oof = seller_model.card, seller_model.oof
    assert sorted(card) == [
        "cv",
        "ensemble",
        "features",
        "importance",
        "impurity_importance",
        "labels",
        "model",
        "params",
        "permutation_importance",
        "seed",
        "versions",
    ]  # no "thresholds": scoring adds them
    learner = seller_model.estimator.learner
    if learner == "random_forest":
        # 3 fold models of ceil(10 / 3) = 4 trees each, pooled.
        assert card["ensemble"] == {
            "learner": "random_forest",
            "fold_models": 3,
            "trees_per_fold": 4,
            "trees": 12,
        }
        assert len(seller_model.estimator.forest_.estimators_) == 12
    else:
        # 3 fold boosters of 10 rounds (one tree each, two classes), side by side.
        assert card["ensemble"] == {
            "learner": "gradient_boosting",
            "fold_models": 3,
            "trees_per_fold": 10,
            "trees": 30,
        }
        boosters = seller_model.estimator.boosters_
        assert [len(booster._predictors) for booster in boosters] == [10, 10, 10]
        assert [booster.random_state for booster in boosters] == [0, 1, 2]  # seed + k
    assert card["model"] == "syndicate.model.SellerClassifier"
    assert card["features"] == seller_model.feature_names == ["shared_devices", "noise"]
    assert card["params"] == _small(learner).get_params()
    assert card["params"]["learner"] == learner
    assert card["labels"] == {"n_labeled": 26, "n_known_bad": 10, "n_known_good": 16}
    assert card["seed"] == 0
    cv = card["cv"]
    y, scores = oof["label"].to_numpy(), oof["score"].to_numpy()
    assert cv["folds"] == 3
    assert cv["scores"] == "out-of-fold"
    assert cv["base_rate"] == round(10 / 26, 6) == 0.384615
    assert cv["auroc"] == round(roc_auc_score(y, scores), 6)
    assert cv["auprc"] == round(average_precision_score(y, scores), 6)
    assert cv["auroc"] >= 0.9  # shared_devices separates the classes
    assert list(cv["recall_at_k"]) == ["10"]  # only k < 26 labelled sellers
    assert cv["recall_at_k"]["10"] == round(recall_at_k(y, scores, 10), 6)
    assert cv["notes"] == []
    assert card["importance"] == "impurity" and card["permutation_importance"] == []
    impurity = card["impurity_importance"]
    assert [sorted(row) for row in impurity] == [["feature", "mean"]] * 2
    assert [row["feature"] for row in impurity] == ["shared_devices", "noise"]
    assert sum(row["mean"] for row in impurity) == pytest.approx(1.0, abs=1e-5)
    versions = card["versions"]
    assert {"python", "syndicate", "scikit-learn", "skops", "polars", "numpy"} <= set(versions)
    assert versions["scikit-learn"] == sklearn.__version__
    json.dumps(card)  # the card is plain JSON


@pytest.mark.parametrize("learner", LEARNERS)
def test_permutation_importance_on_request(learner: str) -> None:
    card = _fit(learner=learner, importance="permutation").card
    importances = card["permutation_importance"]
    assert [sorted(row) for row in importances] == [["feature", "mean", "std"]] * 2
    assert [row["feature"] for row in importances] == ["shared_devices", "noise"]
    assert importances[0]["mean"] > 0
    assert _fit(learner=learner, importance="none").card["impurity_importance"] == []
    with pytest.raises(SyndicateError, match="importance must be one of"):
        _fit(learner=learner, importance="gain")


def test_the_pooled_forest_scores_the_mean_of_the_fold_models() -> None:
    from syndicate.model import _pooled

    X = FEATURES.select("shared_devices", "noise").to_numpy()
    y = np.array([1] * 10 + [0] * 20)
    models = [SellerClassifier(n_estimators=4, random_state=k).fit(X, y) for k in range(3)]
    pooled = _pooled(models, SellerClassifier(n_estimators=12))
    mean = np.mean([model.bad_score(X) for model in models], axis=0)
    assert pooled.bad_score(X) == pytest.approx(mean, abs=1e-12)
    assert pooled.get_params()["n_estimators"] == 12


def test_pooled_boosters_score_the_mean_of_the_fold_models() -> None:
    from syndicate.model import _pooled

    X = FEATURES.select("shared_devices", "noise").to_numpy()
    y = np.array([1] * 10 + [0] * 20)
    # Different rows per model (as folds), so the boosters differ.
    models = [_small("gradient_boosting").fit(X[k:], y[k:]) for k in range(3)]
    pooled = _pooled(models, _small("gradient_boosting"))
    assert pooled.boosters_ == [model.boosters_[0] for model in models]  # in fold order
    scores = [model.bad_score(X) for model in models]
    assert pooled.bad_score(X).tolist() == ((scores[0] + scores[1] + scores[2]) / 3).tolist()
    assert not np.array_equal(scores[0], scores[2])


@pytest.mark.parametrize("learner", LEARNERS)
def test_out_of_fold_scores_come_from_the_model_blind_to_the_fold(learner: str) -> None:
    # Without neighbour counts to shift, fold k's model is the given estimator seeded
    # 0 + k (a forest of ceil(10 / 3) = 4 trees, or a booster of 10 rounds) fitted on the
    # labelled rows of the other folds, in seller order: refitting it by hand gives the
    # out-of-fold scores exactly.
    model = _fit(learner=learner)
    oof = model.oof
    X = feature_matrix(FEATURES.head(26), ["shared_devices", "noise"])
    y, fold = oof["label"].to_numpy(), oof["fold"].to_numpy()
    for k in range(3):
        by_hand = _small(learner, random_state=k)
        if learner == "random_forest":
            by_hand.set_params(n_estimators=4)
        by_hand.fit(X[fold != k], y[fold != k])
        assert oof.filter(pl.col("fold") == k)["score"].to_list() == (
            by_hand.bad_score(X[fold == k]).tolist()
        )


@pytest.mark.parametrize("learner", LEARNERS)
def test_scores_do_not_depend_on_the_order_of_the_rows(learner: str) -> None:
    before = _fit(learner=learner)
    features = FEATURES.sample(fraction=1.0, shuffle=True, seed=3)
    labels = LABELS.sample(fraction=1.0, shuffle=True, seed=4)
    groups = COMPONENT.sample(fraction=1.0, shuffle=True, seed=5)
    assert features["seller_id"].to_list() != SELLERS
    after = fit_seller_model(features, labels, groups, estimator=_small(learner), n_folds=3)
    assert after.oof.equals(before.oof)
    assert after.score(FEATURES).tolist() == before.score(FEATURES).tolist()
    assert after.card == before.card


def test_full_model_scores_every_seller(seller_model: SellerModel) -> None:
    assert seller_model.estimator.n_features_in_ == 2
    matrix = feature_matrix(FEATURES, ["shared_devices", "noise"])
    scores = seller_model.score(FEATURES)
    assert scores.shape == (30,)
    assert scores.tolist() == seller_model.estimator.bad_score(matrix).tolist()


@pytest.mark.parametrize("learner", LEARNERS)
def test_given_estimator_is_cloned_not_fitted(learner: str) -> None:
    estimator = _small(learner)
    fit_seller_model(FEATURES, LABELS, COMPONENT, estimator=estimator, n_folds=3)
    assert not hasattr(estimator, "forest_") and not hasattr(estimator, "boosters_")


def test_no_importances_when_repeats_is_zero() -> None:
    assert _fit(importance_repeats=0).card["permutation_importance"] == []


def test_importances_on_a_sample_of_large_folds(monkeypatch: pytest.MonkeyPatch) -> None:
    whole = _fit(importance="permutation").card["permutation_importance"]
    monkeypatch.setattr(model_module, "IMPORTANCE_ROWS", 4)
    sampled = _fit(importance="permutation").card["permutation_importance"]
    again = _fit(importance="permutation").card["permutation_importance"]
    assert sampled == again  # seeded: the same sample
    assert {row["feature"] for row in sampled} == {"shared_devices", "noise"}
    assert sampled != whole


def test_fold_whose_training_part_holds_one_class_gets_no_score() -> None:
    # With 2 folds, groups s02, s04, s14, s16 hash to fold 0 and s00, s06, s08, s10, s12
    # to fold 1. Every bad seller is in fold 1, so fold 1's training part (fold 0) is good
    # only: no model can score fold 1 without its own labels, and its sellers get NaN.
    bad = {"s00", "s01", "s06", "s07", "s08", "s09"}
    labels = pl.DataFrame(
        {"seller_id": SELLERS[:18], "label": [int(s in bad) for s in SELLERS[:18]]}
    )
    model = _fit(labels, n_folds=2)
    oof = model.oof
    assert oof.filter(pl.col("label") == 1)["fold"].unique().to_list() == [1]
    assert oof.filter(pl.col("fold") == 0)["seller_id"].to_list() == [
        "s02",
        "s03",
        "s04",
        "s05",
        "s14",
        "s15",
        "s16",
        "s17",
    ]
    assert oof.filter(pl.col("fold") == 1)["score"].is_nan().all()
    assert oof.filter(pl.col("fold") == 0)["score"].is_not_nan().all()
    assert model.card["cv"]["notes"] == [
        "fold 1: the other folds hold one class only; no out-of-fold score for its 10 "
        "labelled sellers"
    ]
    assert model.card["cv"]["n_scored"] == 8 and model.card["cv"]["auroc"] is None


@pytest.mark.parametrize(
    ("seller", "flipped"),
    [
        ("s02", "s02"),  # a bad seller's own label (component s02 = {s02, s03})
        ("s02", "s03"),  # its component mate's label
        ("s20", "s20"),  # a good seller's own label (component s20 = {s20, s21})
        ("s20", "s21"),
    ],
)
def test_flipping_a_label_never_reaches_its_own_fold(
    seller_model: SellerModel, seller: str, flipped: str
) -> None:
    # A seller's out-of-fold score comes from the model trained on the other folds, and
    # the whole component sits in the seller's fold: its labels must not move the score.
    before = seller_model.oof
    after = _fit(_flip(LABELS, flipped), learner=seller_model.estimator.learner).oof
    assert after["fold"].to_list() == before["fold"].to_list()
    fold = before.filter(pl.col("seller_id") == seller)["fold"].item()
    same_fold = pl.col("fold") == fold
    assert (
        after.filter(pl.col("seller_id") == seller)["score"].item()
        == before.filter(pl.col("seller_id") == seller)["score"].item()
    )
    assert after.filter(same_fold)["score"].to_list() == before.filter(same_fold)["score"].to_list()
    # The flip does reach the models of the other folds, so the equality above is no accident.
    assert (
        after.filter(~same_fold)["score"].to_list() != before.filter(~same_fold)["score"].to_list()
    )


def test_the_configured_learner_scores_the_marketplace() -> None:
    # config.model.learner reaches the estimator that score_marketplace trains.
    from syndicate.config import Config
    from syndicate.features import seller_features
    from syndicate.graphs.communities import find_rings
    from syndicate.graphs.linkage import build_linkage
    from syndicate.scoring import score_marketplace
    from syndicate.synth import generate_marketplace
    from syndicate.validation import load_inputs

    config = Config(learner="gradient_boosting", cv_folds=3, anomaly_trees=0)
    market = generate_marketplace(n_sellers=1000, seed=3)
    inputs = load_inputs(market.sellers, market.links, labels=market.labels)
    linkage = build_linkage(inputs.links, inputs.edges, config)
    rings = find_rings(linkage, config)
    features = seller_features(
        inputs.sellers, inputs.links, linkage, rings, inputs.labels, anomaly_trees=0
    )
    scores = score_marketplace(inputs.sellers, linkage, rings, features, inputs.labels, config)
    assert scores.model is not None
    assert len(scores.model.estimator.boosters_) == 3
    assert scores.model.card["ensemble"]["learner"] == "gradient_boosting"
    assert scores.model.card["params"]["learner"] == "gradient_boosting"
    assert scores.sellers["seller_score"].is_between(0.0, 1.0).all()


# --------------------------------------------------------------------------------------
# save_model / load_model


def test_save_and_load_round_trip(seller_model: SellerModel, tmp_path: Path) -> None:
    written = save_model(seller_model, tmp_path / "model")
    # A forest is plain arrays and JSON; gradient boosting is skops.
    name = FOREST_FILE if seller_model.estimator.learner == "random_forest" else MODEL_FILE
    assert written == {"model": tmp_path / "model" / name, "card": tmp_path / "model" / CARD_FILE}
    assert sorted(path.name for path in (tmp_path / "model").iterdir()) == sorted(
        ["model_card.json", name]
    )
    estimator, card = load_model(tmp_path / "model")
    assert isinstance(estimator, SellerClassifier)
    matrix = feature_matrix(FEATURES, seller_model.feature_names)
    assert np.array_equal(
        estimator.predict_proba(matrix), seller_model.estimator.predict_proba(matrix)
    )
    expected_card = {**seller_model.card, "feature_names": ["shared_devices", "noise"]}
    assert card == json.loads(json.dumps(expected_card))


def test_load_model_needs_both_files(seller_model: SellerModel, tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=r"model\.npz: not found, nor model\.skops"):
        load_model(tmp_path / "nowhere")
    save_model(seller_model, tmp_path)
    (tmp_path / CARD_FILE).unlink()
    with pytest.raises(InputFileError, match=r"model_card\.json: not found"):
        load_model(tmp_path)


def _write_model(estimator: object, folder: Path) -> Path:
    """A folder as save_model leaves it, but holding whatever ``estimator`` is."""
    folder.mkdir()
    sio.dump(estimator, folder / MODEL_FILE)
    (folder / CARD_FILE).write_text("{}", encoding="utf-8")
    return folder


def _fitted() -> SellerClassifier:
    return SellerClassifier(n_estimators=10).fit(X_SPLIT, np.array([0, 0, 1, 1] * 5))


@pytest.mark.parametrize(
    ("array", "node", "value"),
    [
        ("children_left", "split", lambda count, n_features: count),  # past the last node
        ("children_left", "split", lambda count, n_features: 0),  # back to the root
        ("children_left", "split", lambda count, n_features: -1),  # a leaf keeping a right child
        ("children_right", "split", lambda count, n_features: -1),  # a split, one child
        ("children_right", "leaf", lambda count, n_features: 1),  # a leaf with a right child
        ("feature", "split", lambda count, n_features: n_features),  # past the last column
        ("feature", "split", lambda count, n_features: -1),
    ],
)
def test_malformed_tree_is_refused(tmp_path: Path, array: str, node: str, value: Any) -> None:
    estimator = _fitted()
    nodes = estimator.forest_.estimators_[3].tree_
    assert nodes.children_left[0] != -1  # the root is a split
    at = 0 if node == "split" else int(np.flatnonzero(nodes.children_left == -1)[0])
    getattr(nodes, array)[at] = value(nodes.node_count, estimator.n_features_in_)
    folder = _write_model(estimator, tmp_path / "model")
    with pytest.raises(InputFileError, match="tree 3 is malformed"):
        load_model(folder)


@pytest.mark.parametrize("learner", LEARNERS)
def test_unmodified_written_model_loads(tmp_path: Path, learner: str) -> None:
    # The control for the tests around it: the same route, nothing changed, loads.
    written, X = (_fitted(), X_SPLIT) if learner == "random_forest" else (_boosted(), X_FORGE)
    estimator, card = load_model(_write_model(written, tmp_path / "model"))
    assert card == {}
    assert np.array_equal(estimator.predict_proba(X), written.predict_proba(X))
    if learner == "random_forest":
        assert estimator.predict([[0.0, 1.0], [1.0, 0.0]]).tolist() == [0, 1]


def test_a_forest_saved_before_the_learner_parameter_loads(tmp_path: Path) -> None:
    # Files written before the gradient-boosting learner existed have none of its
    # parameters: they load as forests, the new parameters at their defaults.
    old = _fitted()
    for name in ("learner", "boosting_rounds", "learning_rate", "max_leaf_nodes"):
        delattr(old, name)
    del old.l2_regularization
    estimator, _ = load_model(_write_model(old, tmp_path / "model"))
    assert estimator.get_params() == _fitted().get_params()
    assert np.array_equal(estimator.predict_proba(X_SPLIT), _fitted().predict_proba(X_SPLIT))


@pytest.mark.parametrize("learner", LEARNERS)
@pytest.mark.parametrize("n_jobs", [10**9, 0, True, "all"])
def test_a_forged_thread_count_is_refused(tmp_path: Path, learner: str, n_jobs: Any) -> None:
    estimator = _fitted() if learner == "random_forest" else _boosted()
    estimator.n_jobs = n_jobs
    with pytest.raises(InputFileError, match=f"n_jobs must be a non-zero integer; got {n_jobs!r}"):
        load_model(_write_model(estimator, tmp_path / "model"))


# Boosted trees to forge: booster 0's round 3 is this tree of 17 nodes (split nodes as
# index: feature -> children; the other nine nodes are leaves):
#   0: f1 -> 1, 14    1: f0 -> 2, 11    2: f1 -> 3, 4     4: f1 -> 5, 6
#   6: f2 -> 7, 10    7: f0 -> 8, 9    11: f1 -> 12, 13  14: f0 -> 15, 16
_FORGE_RNG = np.random.default_rng(0)
X_FORGE = _FORGE_RNG.normal(size=(60, 3))
Y_FORGE = (X_FORGE[:, 0] + X_FORGE[:, 1] + _FORGE_RNG.normal(size=60) > 0).astype(int)


def _boosted() -> SellerClassifier:
    return _small("gradient_boosting", boosting_rounds=5).fit(X_FORGE, Y_FORGE)


@pytest.mark.parametrize(
    ("field", "node", "value"),
    [
        ("left", 0, 17),  # past the last node
        ("left", 0, 0),  # back to the root: a cycle
        ("right", 4, 4),  # itself: a cycle
        ("right", 11, 12),  # node 12 shared by two parents, node 13 unreachable
        ("left", 3, 2),  # a leaf pointing back (harmless by itself, but not a tree)
        ("is_leaf", 3, 0),  # a leaf made a split, its children the root
        ("is_leaf", 0, 2),
        ("feature_idx", 0, 3),  # past the last column
        ("feature_idx", 0, -1),
        ("is_categorical", 2, 1),  # its bitsets were never made
        ("num_threshold", 0, 0.123),  # not the bin mapper's cut for its bin
        ("bin_threshold", 0, 255),  # past the feature's bins
        ("value", 5, np.nan),
    ],
)
def test_malformed_boosted_tree_is_refused(
    tmp_path: Path, field: str, node: int, value: float
) -> None:
    estimator = _boosted()
    nodes = estimator.boosters_[0]._predictors[3][0].nodes
    split = [0, 1, 2, 4, 6, 7, 11, 14]
    assert len(nodes) == 17 and nodes["is_leaf"][split].tolist() == [0] * 8
    assert nodes["left"][split].tolist() == [1, 2, 3, 5, 7, 8, 12, 15]
    nodes[field][node] = value
    folder = _write_model(estimator, tmp_path / "model")
    with pytest.raises(InputFileError, match="booster 0 tree 3 is malformed; refusing"):
        load_model(folder)  # never predict here: a cycle would hang


def _swap_mapper_category(booster: Any) -> None:
    booster._bin_mapper.is_categorical_[1] = 1


def _drop_a_cut(booster: Any) -> None:
    booster._bin_mapper.bin_thresholds_[0] = booster._bin_mapper.bin_thresholds_[0][:-1]


_NOT_FITTED = "is not a fitted booster of this model's classes and features"


@pytest.mark.parametrize(
    ("forge", "message"),
    [
        (lambda b: setattr(b, "_preprocessor", StandardScaler()), _NOT_FITTED),
        (lambda b: setattr(b, "is_categorical_", np.ones(3, dtype=bool)), _NOT_FITTED),
        (lambda b: setattr(b, "_in_fit", True), _NOT_FITTED),
        (lambda b: setattr(b, "n_features_in_", 4), _NOT_FITTED),
        (lambda b: setattr(b, "classes_", np.array([0, 2])), _NOT_FITTED),
        (lambda b: setattr(b, "_baseline_prediction", np.zeros((1, 2))), _NOT_FITTED),
        (lambda b: setattr(b, "_baseline_prediction", np.full((1, 1), np.inf)), _NOT_FITTED),
        (lambda b: setattr(b._loss, "link", None), _NOT_FITTED),
        (lambda b: b._predictors[2].append(b._predictors[2][0]), _NOT_FITTED),
        (_swap_mapper_category, "has a malformed bin mapper"),
        (_drop_a_cut, "has a malformed bin mapper"),
    ],
)
def test_forged_booster_is_refused(tmp_path: Path, forge: Any, message: str) -> None:
    estimator = _boosted()
    forge(estimator.boosters_[0])
    folder = _write_model(estimator, tmp_path / "model")
    with pytest.raises(InputFileError, match=re.escape(f"booster 0 {message}; refusing")):
        load_model(folder)


@pytest.mark.parametrize(
    ("forge", "message"),
    [
        (lambda m: setattr(m, "boosters_", []), "the model is not fitted"),
        (lambda m: setattr(m, "boosters_", (m.boosters_[0],)), "the model is not fitted"),
        (
            lambda m: setattr(m, "boosters_", [_fitted().forest_]),
            "booster 0 is a RandomForestClassifier, not a HistGradientBoostingClassifier",
        ),
        (lambda m: setattr(m, "learner", "xgb"), "unknown learner 'xgb'"),
    ],
)
def test_forged_boosted_model_is_refused(tmp_path: Path, forge: Any, message: str) -> None:
    estimator = _boosted()
    forge(estimator)
    folder = _write_model(estimator, tmp_path / "model")
    with pytest.raises(InputFileError, match=re.escape(message)):
        load_model(folder)


TRIPWIRE: list[object] = []


class Tripwire:
    """Records any attempt to rebuild it: loading an untrusted file must not."""

    def __init__(self) -> None:
        self.armed = True

    def __setstate__(self, state: dict[str, Any]) -> None:
        TRIPWIRE.append(state)
        self.__dict__.update(state)


@pytest.mark.parametrize("learner", LEARNERS)
@pytest.mark.parametrize(
    ("extra", "type_name"),
    [(collections.Counter("aab"), "collections.Counter"), (Tripwire(), "Tripwire")],
)
def test_untrusted_type_is_refused(
    tmp_path: Path, extra: object, type_name: str, learner: str
) -> None:
    if learner == "random_forest":
        estimator = _fitted()
        estimator.extra_ = extra
    else:  # hidden inside a booster
        estimator = _boosted()
        estimator.boosters_[0].extra_ = extra
    folder = _write_model(estimator, tmp_path / "model")
    assert any(
        name.endswith(type_name) for name in sio.get_untrusted_types(file=folder / MODEL_FILE)
    )
    TRIPWIRE.clear()
    with pytest.raises(InputFileError, match=f"untrusted types.*{re.escape(type_name)}"):
        load_model(folder)
    assert TRIPWIRE == []  # nothing from the file was rebuilt


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"seller_id": 1}, "holds dict, not a model"),
        (SellerClassifier(n_estimators=10), "the model is not fitted"),
        (SellerClassifier(learner="gradient_boosting"), "the model is not fitted"),
    ],
)
def test_file_without_a_fitted_model_is_refused(
    tmp_path: Path, content: object, message: str
) -> None:
    with pytest.raises(InputFileError, match=message):
        load_model(_write_model(content, tmp_path / "model"))


# --------------------------------------------------------------------------------------
# Forged and damaged files.


def test_tree_with_a_cycle_is_refused(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    estimator = SellerClassifier(n_estimators=10).fit(
        rng.normal(size=(40, 2)), np.array([0, 1] * 20)
    )
    nodes = estimator.forest_.estimators_[3].tree_
    split = int(np.flatnonzero(nodes.children_left != -1)[1])  # a split below the root
    nodes.children_left[split] = nodes.children_right[split] = split
    folder = _write_model(estimator, tmp_path / "model")
    with pytest.raises(InputFileError, match="tree 3 is malformed"):
        load_model(folder)  # never predict here: a cycle would hang


@pytest.mark.parametrize(
    ("part", "content"), [("model", b"not a zip archive"), ("card", b"{trunc")]
)
def test_unreadable_file_is_an_input_file_error(
    seller_model: SellerModel, tmp_path: Path, part: str, content: bytes
) -> None:
    name = save_model(seller_model, tmp_path)[part].name
    (tmp_path / name).write_bytes(content)
    with pytest.raises(InputFileError, match=re.escape(name)):
        load_model(tmp_path)


def test_permutation_drops_are_zero_for_a_constant_column_and_seeded() -> None:
    # Column 0 decides the label; column 1 is constant, so shuffling it changes nothing and
    # its drop is exactly 0. Shuffling column 0 breaks the ranking: a positive drop.
    rng = np.random.default_rng(0)
    informative = rng.random(200)
    X = np.column_stack([informative, np.full(200, 7.0)])
    y = (informative > 0.5).astype(int)
    model = SellerClassifier(n_estimators=20, random_state=0).fit(X, y)
    drops = permutation_drops(model, X, y, repeats=3, seed=1)
    assert drops.shape == (2, 3)
    assert (drops[1] == 0).all() and (drops[0] > 0.2).all()
    assert np.array_equal(drops, permutation_drops(model, X, y, repeats=3, seed=1))
    assert not np.array_equal(drops, permutation_drops(model, X, y, repeats=3, seed=2))


def test_a_bootstrap_cap_above_the_rows_means_all_rows() -> None:
    from syndicate.model import _bootstrap_rows

    assert _bootstrap_rows(50_000, 30) is None
    assert _bootstrap_rows(20, 30) == 20
    assert _bootstrap_rows(0.5, 30) == 0.5 and _bootstrap_rows(None, 30) is None
    X = FEATURES.select("shared_devices", "noise").to_numpy()
    y = np.array([1] * 10 + [0] * 20)
    capped = SellerClassifier(n_estimators=3, max_samples=12).fit(X, y)
    assert capped.forest_.max_samples == 12
    assert SellerClassifier(n_estimators=3, max_samples=1000).fit(X, y).forest_.max_samples is None


def test_still_supported_by_hand() -> None:
    from syndicate.model import still_supported

    # 20 known bad (scores 0.60..0.79), 80 known good (0.00..0.79, 20 of them >= 0.6).
    labels = np.array([1] * 20 + [0] * 80)
    scores = np.r_[np.linspace(0.6, 0.79, 20), np.linspace(0.0, 0.79, 80)]
    # At 0.6: TPR 20/20, FPR 20/80 = 0.25; with a bad rate of 0.5 precision is 1/1.25 = 0.8.
    # Wilson: TPR in [0.84, 1], FPR in [0.17, 0.35]: precision in [0.70, 0.86].
    assert still_supported(labels, scores, 0.6, 0.8, bad_rate=0.5, min_support=5)
    assert not still_supported(labels, scores, 0.6, 0.95, bad_rate=0.5, min_support=5)
    assert not still_supported(labels, scores, 0.6, 0.6, bad_rate=0.5, min_support=5)
    # A threshold above all but 4 known-bad sellers keeps too few of them (min_support 5).
    assert not still_supported(labels, scores, 0.765, 0.8, bad_rate=0.5, min_support=5)
    # One class only: nothing to measure precision with.
    assert not still_supported(labels[:20], scores[:20], 0.6, 0.8, bad_rate=0.5)
