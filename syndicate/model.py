"""The seller model: a Random Forest or gradient boosting on the feature table, by ring.

:class:`SellerClassifier` is a scikit-learn estimator with two learners: a class-weighted
``RandomForestClassifier`` (``learner="random_forest"``, the default) or
``HistGradientBoostingClassifier`` boosters (``learner="gradient_boosting"``).
:func:`fit_seller_model` trains it on the labelled
sellers with group-aware cross-validation: whole rings (else communities) go to one fold,
so a ring is never split between training and testing, and one giant connected component
(popular identifiers can glue thousands of sellers) cannot swallow a fold. A seller's label
reaches the label-aware features of its neighbours; while a fold is held out, those counts
are recomputed without the fold's labels for the training rows. Labelled sellers get
out-of-fold scores, unlabelled sellers the full model's scores.

:func:`save_model` writes the estimator with skops (loading it runs no code) beside a model
card; :func:`load_model` reads it back, trusting only the types this module writes and
bounds-checking every tree before it is used.
"""

from __future__ import annotations

import json
import math
import platform
import zipfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from statistics import NormalDist
from typing import Any, Literal

import numpy as np
import polars as pl
from joblib import effective_n_jobs
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from syndicate.errors import InputFileError, SyndicateError
from syndicate.io import atomic_path, write_json_atomic
from syndicate.modelfile import CARD_FILE, FOREST_FILE, MODEL_FILE, MODEL_FILES, model_file
from syndicate.terminal import counted

__all__ = [
    "BAD_RATE_CONFIDENCE",
    "BAD_RATE_FLOOR",
    "CARD_FILE",
    "FOREST_FILE",
    "LEARNERS",
    "MODEL_FILE",
    "MODEL_FILES",
    "BadRate",
    "SellerClassifier",
    "SellerModel",
    "Thresholds",
    "bad_rate_bound",
    "choose_bad_rate",
    "component_folds",
    "estimate_bad_rate",
    "feature_matrix",
    "fit_seller_model",
    "load_model",
    "model_file",
    "recall_at_k",
    "save_model",
    "still_supported",
    "thresholds_from_pr",
]


#: Known-bad sellers a threshold must keep at or above it.
MIN_SUPPORT = 5
#: Rows per prediction task (a block's votes are summed in place, so memory stays small).
_PREDICT_ROWS = 50_000
#: Most held-out rows per fold that permutation importance shuffles.
IMPORTANCE_ROWS = 2000
#: How the model card's feature importances are measured.
IMPORTANCE_METHODS = ("impurity", "permutation", "none")
#: Gradient boosting adds an OpenMP thread per this many cells (rows times features) it
#: trains on, and per this many rows it scores: on smaller problems threads only wait for
#: each other at the many barriers of every tree (scikit-learn issue 30662: "15x slowdown
#: on small data"; here a fit on 1,600 rows took 0.5 s on one thread, 2.4-10 s on two).
_BOOST_CELLS_PER_THREAD = 200_000
_BOOST_ROWS_PER_THREAD = 20_000
#: The most threads a loaded model may ask for (``n_jobs``).
_MOST_JOBS = 1024
#: The learners of :class:`SellerClassifier`.
LEARNERS = ("random_forest", "gradient_boosting")
#: Types a saved model may hold beyond skops' defaults; anything else is refused on load.
_TRUSTED_TYPES = (
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "syndicate.model.SellerClassifier",
)


class SellerClassifier(ClassifierMixin, BaseEstimator):
    """A Random Forest, or gradient-boosted trees, for rare-positive seller scoring.

    ``learner="random_forest"`` (the default) is a ``RandomForestClassifier`` with the
    defaults that suit a rare positive class and graph features: per-bootstrap class
    weighting, leaves of at least two sellers, and a fixed seed.
    ``learner="gradient_boosting"`` is scikit-learn's ``HistGradientBoostingClassifier``
    (the dependency-free counterpart of XGBoost and LightGBM): 100 rounds of 15-leaf
    trees, no early stopping (a fixed number of rounds, so a fit depends on nothing but the
    data and the seed) and no categorical features; a fitted model holds a list of boosters
    (one when fitted directly, one per fold when cross-fitted) whose probabilities are
    averaged in order. Missing values (a seller's own tabular column left null) are allowed
    and handled by the trees of either learner.

    Parameters
    ----------
    learner
        ``random_forest`` or ``gradient_boosting``.
    n_estimators, max_features, max_samples
        Forest only: passed to :class:`sklearn.ensemble.RandomForestClassifier`
        (``max_samples``: rows per tree's bootstrap, a share or a count, a count above the
        rows meaning all of them; ``None``: as many as there are rows).
    max_depth, min_samples_leaf
        Both learners: the deepest a tree grows (``None``: no limit) and its smallest leaf.
    class_weight
        Both learners. The default, ``balanced_subsample``, balances each bootstrap of the
        forest; gradient boosting draws no bootstraps and under this default uses no class
        weights (``balanced`` or a mapping weigh its rows). Boosting fits the rare class
        well unweighted (out-of-fold and unlabelled AUPRC within 0.001 of ``balanced`` on
        the synthetic presets), and any weight makes scikit-learn bin each feature by
        weighted percentiles, one Python call per bin: ``balanced`` tripled the fit at
        3,000 labelled sellers and costs about 10 s per fold at 37,000.
    boosting_rounds, learning_rate, max_leaf_nodes, l2_regularization
        Gradient boosting only: passed to
        :class:`sklearn.ensemble.HistGradientBoostingClassifier` (``max_iter``: without
        early stopping every round is run, each one tree for two classes; shrinkage;
        leaves per tree; L2 penalty on leaf values).
    n_jobs
        Threads: the forest's workers (``None``: one), or the most OpenMP threads of
        gradient boosting (``None``: every core), which adds a thread per 200,000 cells
        (rows times features) it trains on and per 20,000 rows it scores. Scores do not
        depend on it.
    random_state
        Seed of the forest or of the booster.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [0.1], [0.9], [1.0]] * 5)
    >>> y = np.array([0, 0, 1, 1] * 5)
    >>> model = SellerClassifier(n_estimators=10).fit(X, y)
    >>> model.predict([[0.05], [0.95]]).tolist()
    [0, 1]
    >>> boosted = SellerClassifier(learner="gradient_boosting", boosting_rounds=20).fit(X, y)
    >>> boosted.predict([[0.05], [0.95]]).tolist()
    [0, 1]
    """

    def __init__(
        self,
        *,
        learner: str = "random_forest",
        n_estimators: int = 200,
        max_depth: int | None = None,
        min_samples_leaf: int = 2,
        max_features: float | str | None = "sqrt",
        max_samples: float | int | None = None,
        class_weight: str | Mapping[Any, float] | None = "balanced_subsample",
        boosting_rounds: int = 100,
        learning_rate: float = 0.1,
        max_leaf_nodes: int | None = 15,
        l2_regularization: float = 1.0,
        n_jobs: int | None = None,
        random_state: int | None = 0,
    ) -> None:
        self.learner = learner
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.max_samples = max_samples
        self.class_weight = class_weight
        self.boosting_rounds = boosting_rounds
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.l2_regularization = l2_regularization
        self.n_jobs = n_jobs
        self.random_state = random_state

    def fit(self, X: Any, y: Any, sample_weight: np.ndarray | None = None) -> SellerClassifier:
        """Fit the forest, or one booster, on feature matrix ``X`` and labels ``y``."""
        if self.learner not in LEARNERS:
            raise ValueError(
                f"learner must be 'random_forest' or 'gradient_boosting'; got {self.learner!r}"
            )
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan")
        check_classification_targets(y)
        if self.learner == "gradient_boosting":
            return self._fit_booster(X, y, sample_weight)
        self.forest_ = RandomForestClassifier(
            n_estimators=self.n_estimators,
            max_depth=self.max_depth,
            min_samples_leaf=self.min_samples_leaf,
            max_features=self.max_features,
            max_samples=_bootstrap_rows(self.max_samples, X.shape[0]),
            class_weight=self.class_weight,
            n_jobs=self.n_jobs,
            random_state=self.random_state,
        ).fit(X, y, sample_weight=sample_weight)
        self.classes_ = self.forest_.classes_
        return self

    def _fit_booster(
        self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None
    ) -> SellerClassifier:
        self.classes_ = np.unique(y)
        self.boosters_: list[HistGradientBoostingClassifier] = []
        if len(self.classes_) < 2:
            # One class: every probability is 1 (scikit-learn's booster would return two
            # columns for one class).
            return self
        booster = HistGradientBoostingClassifier(
            loss="log_loss",
            learning_rate=self.learning_rate,
            max_iter=self.boosting_rounds,
            max_leaf_nodes=self.max_leaf_nodes,
            max_depth=self.max_depth,
            min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization,
            categorical_features=None,
            early_stopping=False,
            class_weight=None if self.class_weight == "balanced_subsample" else self.class_weight,
            random_state=self.random_state,
        )
        with self._openmp_threads(X.shape[0] * X.shape[1] // _BOOST_CELLS_PER_THREAD):
            booster.fit(X, y, sample_weight=sample_weight)
        self.boosters_ = [booster]
        return self

    def _openmp_threads(self, useful: int) -> threadpool_limits:
        """OpenMP limited to ``n_jobs`` threads (``None``: every core), and to ``useful``."""
        most = effective_n_jobs(-1 if self.n_jobs is None else self.n_jobs)
        return threadpool_limits(limits=max(1, min(most, useful)), user_api="openmp")

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``.

        The forest: rows are cut into blocks and the blocks shared among threads; within a
        block the trees' votes are added in tree order (scikit-learn's forest adds them in
        the order its threads finish, which changes the last bit from run to run), so every
        row's score is the same on every run and for any number of threads. A few large
        tasks (not one per tree and block) keep the threads busy: trees predict without the
        GIL. Gradient boosting: the boosters' probabilities averaged in booster order (each
        booster scores every row on its own, whatever the threads).
        """
        check_is_fitted(self)
        if self.learner == "gradient_boosting":
            return self._boosted_proba(X)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float32)
        trees = self.forest_.estimators_
        out = np.zeros((X.shape[0], len(self.classes_)))
        workers = effective_n_jobs(self.n_jobs)
        blocks = max(workers, -(-X.shape[0] // _PREDICT_ROWS))

        def vote(rows: np.ndarray) -> None:
            part = X[rows[0] : rows[-1] + 1]
            total = np.zeros((part.shape[0], len(self.classes_)))
            for tree in trees:  # a fixed order: the sum is the same on every run
                total += tree.predict_proba(part, check_input=False)
            out[rows[0] : rows[-1] + 1] = total

        parts = [rows for rows in np.array_split(np.arange(X.shape[0]), blocks) if len(rows)]
        if workers == 1 or len(parts) == 1:
            for rows in parts:
                vote(rows)
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(vote, parts))
        return out / len(trees)

    def _boosted_proba(self, X: Any) -> np.ndarray:
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)
        if not self.boosters_:  # fitted on one class
            return np.ones((X.shape[0], 1))
        total = np.zeros((X.shape[0], len(self.classes_)))
        with self._openmp_threads(X.shape[0] // _BOOST_ROWS_PER_THREAD):
            for booster in self.boosters_:  # a fixed order: the sum is the same on every run
                total += booster.predict_proba(X)
        return total / len(self.boosters_)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row."""
        proba = self.predict_proba(X)
        return np.asarray(self.classes_[np.argmax(proba, axis=1)])

    def bad_score(self, X: Any) -> np.ndarray:
        """Probability of class 1 (known bad); zeros if the model never saw class 1."""
        proba = self.predict_proba(X)
        hits = np.flatnonzero(self.classes_ == 1)
        return proba[:, hits[0]] if len(hits) else np.zeros(proba.shape[0])

    @property
    def feature_importances_(self) -> np.ndarray:
        """Impurity-based importances per feature, summing to 1 (zeros if no tree splits).

        The forest's mean decrease in impurity, or boosting's total split gain (the
        decrease of its loss at each split: LightGBM's ``gain`` importance) over every tree
        of every booster.
        """
        check_is_fitted(self)
        if self.learner != "gradient_boosting":
            return np.asarray(self.forest_.feature_importances_)
        gains = np.zeros(self.n_features_in_)
        for booster in self.boosters_:
            for trees in booster._predictors:
                for tree in trees:
                    split = tree.nodes[tree.nodes["is_leaf"] == 0]
                    np.add.at(gains, split["feature_idx"], split["gain"])
        total = gains.sum()
        return gains / total if total > 0 else gains

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


def _bootstrap_rows(max_samples: float | int | None, n_rows: int) -> float | int | None:
    """``max_samples`` for the forest: a count of at least the rows means all of them."""
    if isinstance(max_samples, int) and not isinstance(max_samples, bool):
        return None if max_samples >= n_rows else max_samples
    return max_samples


#: The floor of an estimated bad rate (and the rate used when none can be estimated).
BAD_RATE_FLOOR = 1e-6
#: Confidence of :func:`bad_rate_bound` (simultaneous over its intervals).
BAD_RATE_CONFIDENCE = 0.95

#: Where the bad rate of the thresholds came from (:class:`BadRate`).
BadRateSource = Literal["config", "estimated", "bound", "unidentified", "labelled_share"]


@dataclass(frozen=True)
class BadRate:
    """The share of bad sellers among the unlabelled that the thresholds assumed.

    Attributes
    ----------
    value
        The rate used (:func:`thresholds_from_pr`'s ``bad_rate``).
    source
        ``config`` (``bad_rate`` was set), ``estimated`` (the classify-and-count
        ``estimate``), ``bound`` (the estimate exceeded ``bound``, which is used instead),
        ``unidentified`` (the out-of-fold scores do not separate the classes, so nothing
        can be estimated: the floor :data:`BAD_RATE_FLOOR` is used, which puts the
        thresholds above every known-good seller's out-of-fold score) or
        ``labelled_share`` (no unlabelled seller to estimate it on).
    estimate
        The classify-and-count estimate before the bound (``None``: not made).
    bound
        :func:`bad_rate_bound` (``None`` with ``config``).
    bound_from
        Which term of the bound is the smaller: ``labels`` or ``scores``.
    """

    value: float
    source: BadRateSource
    estimate: float | None = None
    bound: float | None = None
    bound_from: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the model card and the run manifest."""
        return {
            "value": self.value,
            "source": self.source,
            "estimate": self.estimate,
            "bound": self.bound,
            "bound_from": self.bound_from,
        }


@dataclass(frozen=True)
class Thresholds:
    """Score thresholds of the decisions ``syndicate`` and ``review``.

    A seller (or ring) whose score is at least ``syndicate`` is a syndicate, else at least
    ``review`` is for review, else clear. ``None`` means no score reaches that decision.
    ``source`` says where they came from: ``oof_pr_curve``, ``config``, ``cold_start`` or
    ``previous_run`` (an earlier run's thresholds that this run's labels still support;
    ``kept`` names them, see :func:`still_supported`).
    Thresholds drawn from labels also say what they rest on: ``bad_rate`` (the rate the
    precision assumed, see :class:`BadRate`), ``n_known_bad`` (the known-bad sellers with
    an out-of-fold score) and ``few_known_bad`` (fewer than the config's
    ``min_known_bad_for_thresholds``: a warning said so).
    """

    syndicate: float | None
    review: float | None
    source: str
    bad_rate: BadRate | None = None
    n_known_bad: int | None = None
    few_known_bad: bool = False
    kept: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the run manifest (``run.json``'s ``thresholds``)."""
        return {
            "syndicate": self.syndicate,
            "review": self.review,
            "source": self.source,
            "bad_rate": None if self.bad_rate is None else self.bad_rate.as_dict(),
            "n_known_bad": self.n_known_bad,
            "few_known_bad": self.few_known_bad,
            "kept_from_previous_run": list(self.kept),
        }

    def decide(self, score: pl.Expr) -> pl.Expr:
        """The decision expression for a score column."""
        syndicate = math.inf if self.syndicate is None else self.syndicate
        review = math.inf if self.review is None else self.review
        return (
            pl.when(score >= syndicate)
            .then(pl.lit("syndicate"))
            .when(score >= review)
            .then(pl.lit("review"))
            .otherwise(pl.lit("clear"))
        )


@dataclass(frozen=True)
class SellerModel:
    """A trained seller model and what cross-validation measured.

    Attributes
    ----------
    estimator
        The :class:`SellerClassifier` fitted on every labelled seller.
    feature_names
        The feature columns, in the estimator's column order.
    oof
        One row per labelled seller: ``seller_id``, ``label``, ``fold``, ``score`` (the
        out-of-fold score: from the model that did not see the seller's group; NaN
        when the other folds hold one class only, so no such model exists).
    card
        The model card (see :func:`model_card_fields`): CV metrics, label counts,
        permutation importances, thresholds, versions.
    """

    estimator: SellerClassifier
    feature_names: list[str]
    oof: pl.DataFrame
    card: dict[str, Any] = field(default_factory=dict)

    def score(self, features: pl.DataFrame) -> np.ndarray:
        """The full model's bad score of each row of ``features``."""
        return self.estimator.bad_score(
            feature_matrix(features, self.feature_names, for_prediction=True)
        )


def feature_matrix(
    features: pl.DataFrame, names: Sequence[str], *, for_prediction: bool = False
) -> np.ndarray:
    """The named columns as a float32 matrix (what the trees compare), nulls as NaN.

    Half the memory of float64 at a million sellers, and no second copy when the forest
    converts its input to float32. Column-major for training (a tree's splitter reads one
    feature over many rows), row-major with ``for_prediction`` (a row walks down each
    tree reading a few features of that row: 1.3x faster).
    """
    missing = [name for name in names if name not in features.columns]
    if missing:
        raise SyndicateError(f"the feature table lacks the model's columns {missing[:5]}")
    frame = features.select(pl.col(list(names)).cast(pl.Float32))
    return frame.to_numpy(order="c" if for_prediction else "fortran")


def component_folds(component: pl.Series, n_folds: int) -> pl.Series:
    """A fold number in ``[0, n_folds)`` for each row, from a hash of its group key.

    Every row of a group (a ring, a community, a component) lands in the same fold, and the
    fold depends on nothing but the key, so adding, removing or flipping a label never
    moves a seller.

    Examples
    --------
    >>> component_folds(pl.Series(["s1", "s1", "s2"]), 5).to_list()
    [4, 4, 3]
    """
    keys = component.unique().sort()
    lookup = pl.DataFrame(
        {"key": keys, "fold": pl.Series(_fnv1a(keys) % np.uint64(n_folds), dtype=pl.Int32)}
    )
    return component.to_frame("key").join(lookup, on="key", how="left", maintain_order="left")[
        "fold"
    ]


def _fnv1a(keys: pl.Series) -> np.ndarray:
    """64-bit FNV-1a of each key's UTF-8 bytes, finalised (stable, unlike Polars' hash).

    Vectorised over the keys: one step per byte position, each over the keys still that
    long (keys taken longest first), so the work is the total number of bytes.
    """
    import pyarrow as pa

    text = keys.cast(pl.String).fill_null("").to_arrow()
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    text = text.cast(pa.large_string())
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int64)[
        text.offset : text.offset + len(text) + 1
    ]
    data = np.frombuffer(text.buffers()[2], dtype=np.uint8) if len(text) else np.zeros(0, np.uint8)
    starts, lengths = offsets[:-1], np.diff(offsets)
    order = np.argsort(-lengths, kind="stable")
    longest_first = lengths[order]
    hashes = np.full(len(text), 0xCBF29CE484222325, dtype=np.uint64)
    prime = np.uint64(0x100000001B3)
    for position in range(int(longest_first[0]) if len(text) else 0):
        live = order[: int(np.searchsorted(-longest_first, -position, side="left"))]
        byte = data[starts[live] + position].astype(np.uint64)
        hashes[live] = (hashes[live] ^ byte) * prime  # wraps modulo 2**64, as FNV does
    # FNV's low bits mix poorly (keys differing in their last digit share fold numbers):
    # MurmurHash3's 64-bit finaliser spreads every bit over the result.
    for shift, factor in ((33, 0xFF51AFD7ED558CCD), (33, 0xC4CEB9FE1A85EC53)):
        hashes = (hashes ^ (hashes >> np.uint64(shift))) * np.uint64(factor)
    return hashes ^ (hashes >> np.uint64(33))


def recall_at_k(labels: np.ndarray, scores: np.ndarray, k: int) -> float:
    """Share of the positives found among the ``k`` highest scores (ties by position)."""
    positives = int(labels.sum())
    if positives == 0:
        return math.nan
    top = np.argsort(-scores, kind="stable")[:k]
    return float(labels[top].sum() / positives)


def estimate_bad_rate(
    labels: np.ndarray, oof_scores: np.ndarray, unlabelled_scores: np.ndarray
) -> float:
    """The share of bad sellers among the unlabelled, by median-sweep classify-and-count.

    At a threshold ``t`` the share ``q`` of unlabelled sellers scoring at least ``t`` is
    ``π·TPR + (1 - π)·FPR``, so ``π = (q - FPR) / (TPR - FPR)``, with TPR and FPR measured
    out of fold. The estimate is the median over the thresholds whose TPR lies in
    [0.5, 0.9] (a median sweep after Forman 2008, kept to high thresholds: there the FPR
    is small, so a bias in it, such as out-of-fold scores running higher than the full
    model's, cannot swamp a small π), clipped to ``[1e-6, 1]``. It assumes the labelled
    sellers of each class are a random sample of that class.

    Examples
    --------
    >>> labels = np.array([0, 0, 0, 1, 1])
    >>> oof = np.array([0.1, 0.2, 0.3, 0.8, 0.9])
    >>> estimate_bad_rate(labels, oof, np.array([0.1] * 7 + [0.95]))  # q = 1/8 at TPR 1/2
    0.25
    """
    estimate = _classify_and_count(labels, oof_scores, unlabelled_scores)
    if estimate is None:
        return float(np.clip(labels.mean(), BAD_RATE_FLOOR, 1.0))
    return estimate


def _classify_and_count(
    labels: np.ndarray, oof_scores: np.ndarray, unlabelled_scores: np.ndarray
) -> float | None:
    """:func:`estimate_bad_rate`, or ``None`` without a usable cut or unlabelled seller."""
    fpr, tpr, cuts = roc_curve(labels, oof_scores, drop_intermediate=False)
    usable = np.isfinite(cuts) & (tpr >= 0.5) & (tpr <= 0.9) & (tpr - fpr >= 0.25)
    if not usable.any() or len(unlabelled_scores) == 0:
        return None
    ordered = np.sort(unlabelled_scores)
    share = 1.0 - np.searchsorted(ordered, cuts[usable], side="left") / len(ordered)
    estimates = (share - fpr[usable]) / (tpr[usable] - fpr[usable])
    return float(np.clip(np.median(estimates), BAD_RATE_FLOOR, 1.0))


def _wilson(successes: np.ndarray | int, trials: int, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval ``(low, high)`` of ``successes / trials`` at ``z``."""
    p = np.asarray(successes, dtype=np.float64) / trials
    z2 = z * z
    centre = p + z2 / (2 * trials)
    half = z * np.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials))
    return (centre - half) / (1 + z2 / trials), (centre + half) / (1 + z2 / trials)


def bad_rate_bound(
    labels: np.ndarray,
    oof_scores: np.ndarray,
    unlabelled_scores: np.ndarray,
    *,
    confidence: float = BAD_RATE_CONFIDENCE,
) -> tuple[float, str]:
    """An upper confidence bound on the share of bad sellers among the unlabelled.

    The smaller of two bounds, each resting on one assumption and not on the known-good
    sellers' scores (the sparsest, noisiest part of the labels):

    * ``labels``: known-bad sellers are labelled at least as densely as known-good ones
      (the usual case: investigators label what they catch), so the labelled share of bad
      sellers ``n_bad / n_labelled`` can only overstate the population's; the bound is
      its Wilson upper limit.
    * ``scores``: unlabelled bad sellers score like the known-bad ones out of fold (what
      classify-and-count assumes too). At any cut ``t``, a share ``π·TPR(t)`` of the
      unlabelled are bad and score at least ``t``, which cannot exceed the share ``q(t)``
      that does, so ``π <= q(t) / TPR(t)``. The bound is the least, over the known-bad
      scores ``t`` with ``TPR(t) >= 1/2`` (their typical scores: at the very top,
      out-of-fold scores of small fold models run more extreme than the pooled model's),
      of the Wilson upper limit of ``q(t)`` over the Wilson lower limit of ``TPR(t)``.

    The ``2m + 1`` one-sided limits (``m`` cuts) hold together with probability
    ``confidence`` (Bonferroni), so few labels give wide limits and a loose bound. Returns
    the bound in ``(0, 1]`` and which term it came from.

    Examples
    --------
    Ten known-bad sellers of twelve labelled, all scoring 0.9; of 1,000 unlabelled sellers
    10 score that high. One cut, so ``z`` is the normal quantile of ``1 - 0.05 / 3``
    (2.13): the Wilson limits are 0.688 for ``TPR = 10/10`` and 0.0193 for
    ``q = 10/1000``, so at most 0.0193 / 0.688 = 2.8% can be bad (the labelled share's
    limit, 0.96, is looser):

    >>> labels = np.array([1] * 10 + [0] * 2)
    >>> oof = np.array([0.9] * 10 + [0.1] * 2)
    >>> bound, source = bad_rate_bound(labels, oof, np.array([0.9] * 10 + [0.1] * 990))
    >>> round(bound, 3), source
    (0.028, 'scores')
    """
    n_bad, n_labelled = int(labels.sum()), len(labels)
    bad = np.sort(oof_scores[(labels == 1) & np.isfinite(oof_scores)])[::-1]
    cuts = np.unique(bad)[::-1]  # descending
    reached = np.searchsorted(-bad, -cuts, side="right")  # known-bad scoring >= each cut
    cuts, reached = cuts[2 * reached >= len(bad)], reached[2 * reached >= len(bad)]
    alpha = 1.0 - confidence
    z = NormalDist().inv_cdf(1.0 - alpha / (2 * len(cuts) + 1))
    label_bound = float(_wilson(n_bad, n_labelled, z)[1]) if n_labelled else 1.0
    score_bound = 1.0
    if len(cuts) and len(unlabelled_scores):
        ordered = np.sort(unlabelled_scores)
        above = len(ordered) - np.searchsorted(ordered, cuts, side="left")
        tpr_low = _wilson(reached, len(bad), z)[0]
        q_high = _wilson(above, len(ordered), z)[1]
        score_bound = float(np.min(q_high / tpr_low))
    if score_bound < label_bound:
        return min(score_bound, 1.0), "scores"
    return min(label_bound, 1.0), "labels"


def choose_bad_rate(
    labels: np.ndarray,
    oof_scores: np.ndarray,
    unlabelled_scores: np.ndarray,
    configured: float | None = None,
) -> BadRate:
    """The bad rate the thresholds assume: configured, else estimated and bounded.

    The classify-and-count estimate (:func:`estimate_bad_rate`) is capped at
    :func:`bad_rate_bound`: with few labels the estimate can land anywhere, and a rate
    above what the labels support makes every threshold look precise (at a bad rate of
    0.79 flagging everyone has a precision of 0.79). When the out-of-fold scores do not
    separate the classes (no cut where the estimate is made), nothing can be estimated:
    the floor is used, so a decision needs a score above every known-good seller's.

    Examples
    --------
    >>> labels = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    >>> oof = np.array([0.9, 0.8, 0.6, 0.4, 0.7, 0.3, 0.2, 0.1])
    >>> choose_bad_rate(labels, oof, np.array([0.1] * 99), configured=0.02).source
    'config'
    >>> choose_bad_rate(labels, oof, np.array([0.1] * 99)).value  # q = 0 at every cut
    1e-06
    """
    if configured is not None:
        return BadRate(value=configured, source="config")
    bound, bound_from = bad_rate_bound(labels, oof_scores, unlabelled_scores)
    bound = max(bound, BAD_RATE_FLOOR)
    if len(unlabelled_scores) == 0:
        share = float(np.clip(labels.mean(), BAD_RATE_FLOOR, 1.0))
        return BadRate(share, "labelled_share", share, bound, bound_from)
    estimate = _classify_and_count(labels, oof_scores, unlabelled_scores)
    if estimate is None:
        return BadRate(BAD_RATE_FLOOR, "unidentified", None, bound, bound_from)
    if estimate > bound:
        return BadRate(bound, "bound", estimate, bound, bound_from)
    return BadRate(estimate, "estimated", estimate, bound, bound_from)


def thresholds_from_pr(
    labels: np.ndarray,
    scores: np.ndarray,
    syndicate_precision: float,
    review_precision: float,
    *,
    bad_rate: float | None = None,
    min_support: int = MIN_SUPPORT,
) -> Thresholds:
    """The lowest scores whose precision reaches each target.

    Precision at threshold ``t`` is the share of bad sellers among those scoring at least
    ``t``. Labelled sellers rarely hold the classes in the population's proportion (known
    good sellers are sampled far more sparsely than known bad ones), so with ``bad_rate``
    (the population's share of bad sellers) precision is
    ``π·TPR(t) / (π·TPR(t) + (1 - π)·FPR(t))`` with TPR and FPR measured on ``labels``;
    without it, the plain precision on ``labels``. A threshold must keep at least
    ``min_support`` known-bad sellers (all of them if fewer) at or above it, so that two
    lucky scores cannot set it. A target no threshold reaches gives ``None`` (no seller
    gets that decision).

    Examples
    --------
    >>> labels = np.array([0, 0, 0, 0, 1, 1])
    >>> scores = np.array([0.1, 0.2, 0.3, 0.6, 0.7, 0.9])
    >>> found = thresholds_from_pr(labels, scores, 0.9, 0.5)
    >>> found.syndicate, found.review, found.source
    (0.7, 0.3, 'oof_pr_curve')
    """
    fpr, tpr, cuts = roc_curve(labels, scores, drop_intermediate=False)
    prior = float(labels.mean()) if bad_rate is None else bad_rate
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = prior * tpr / (prior * tpr + (1 - prior) * fpr)
    support = min(min_support, int(labels.sum()))
    finite = np.isfinite(cuts) & (tpr > 0) & (np.rint(tpr * labels.sum()) >= support)

    def lowest(target: float) -> float | None:
        reached = np.flatnonzero(finite & (precision >= target - 1e-12))
        return float(cuts[reached[-1]]) if len(reached) else None

    syndicate = lowest(syndicate_precision)
    review = lowest(review_precision)
    if syndicate is not None and (review is None or review > syndicate):
        review = syndicate
    return Thresholds(syndicate=syndicate, review=review, source="oof_pr_curve")


def still_supported(
    labels: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    target: float,
    *,
    bad_rate: float,
    min_support: int = MIN_SUPPORT,
    z: float = 1.96,
) -> bool:
    """Whether these labels leave ``target`` inside the interval of precision at ``threshold``.

    The precision at a threshold is ``π·TPR / (π·TPR + (1 - π)·FPR)`` (as in
    :func:`thresholds_from_pr`); its interval comes from the Wilson intervals of TPR and FPR
    on the known-bad and known-good sellers. An earlier run's threshold the new labels do
    not contradict is kept: thresholds drawn afresh from a few hundred labels every day
    jump by more than their precision can tell apart, and every jump moves the decision
    rates. A threshold keeping fewer than ``min_support`` known-bad sellers above it is
    never kept.

    Examples
    --------
    >>> labels = np.array([0] * 90 + [1] * 10)
    >>> scores = np.r_[np.linspace(0, 0.5, 90), np.linspace(0.6, 1, 10)]
    >>> still_supported(labels, scores, 0.55, 0.9, bad_rate=0.1, min_support=5)
    True
    >>> still_supported(labels, scores, 0.2, 0.9, bad_rate=0.1, min_support=5)
    False
    """
    above = scores >= threshold
    bad, good = labels == 1, labels == 0
    n_bad, n_good = int(bad.sum()), int(good.sum())
    hits_bad, hits_good = int((above & bad).sum()), int((above & good).sum())
    if n_bad == 0 or n_good == 0 or hits_bad < min(min_support, n_bad):
        return False
    tpr_low, tpr_high = (float(bound) for bound in _wilson(hits_bad, n_bad, z))
    fpr_low, fpr_high = (float(bound) for bound in _wilson(hits_good, n_good, z))

    def adjusted(tpr: float, fpr: float) -> float:
        positive = bad_rate * tpr + (1 - bad_rate) * fpr
        return 1.0 if positive == 0 else bad_rate * tpr / positive

    return adjusted(tpr_low, fpr_high) <= target <= adjusted(tpr_high, fpr_low)


def package_versions(
    packages: Sequence[str] = (
        "syndicate",
        "scikit-learn",
        "skops",
        "polars",
        "numpy",
        "python-igraph",
    ),
) -> dict[str, str]:
    """Python's version and each installed package's (``unknown`` when not installed)."""
    found = {"python": platform.python_version()}
    for package in packages:
        try:
            found[package] = version(package)
        except PackageNotFoundError:  # pragma: no cover - source tree without metadata
            found[package] = "unknown"
    return found


def _rounded(value: float) -> float | None:
    return None if math.isnan(value) else round(float(value), 6)


def fit_seller_model(
    features: pl.DataFrame,
    labels: pl.DataFrame,
    groups: pl.DataFrame,
    *,
    neighbours: Mapping[str, pl.DataFrame] | None = None,
    estimator: SellerClassifier | None = None,
    n_folds: int = 5,
    importance_repeats: int = 1,
    importance: str = "impurity",
    seed: int = 0,
    on_fit: Callable[[], None] | None = None,
) -> SellerModel:
    """Train on the labelled sellers with cross-validation by group (ring or community).

    Parameters
    ----------
    features
        :func:`syndicate.features.seller_features` (every column but ``seller_id`` is used).
    labels
        Validated labels: ``seller_id``, ``label`` (1 bad, 0 good).
    groups
        ``seller_id``, ``group``: the key of each seller's cross-validation group (its ring,
        else its community; a seller missing here is a group of its own). Whole groups go
        to one fold, so a ring is never split between training and testing.
    neighbours
        Per scope of the label-aware features (``"nbr1"``, ``"nbr2"``), the pairs
        ``seller_id``, ``other`` whose labels those features count. Groups are smaller
        than components, so a training seller can have a neighbour in the test fold: while
        fold ``k`` is held out, the training rows' ``{scope}_known_bad`` / ``_good`` counts
        leave out the labels of fold ``k``, so no test label reaches the model through a
        training row. (Test rows keep every label but their own, as in production.)
    estimator
        The estimator to clone; default ``SellerClassifier(random_state=seed)``.
    n_folds
        Cross-validation folds (group keys are hashed to folds).
    importance
        ``impurity`` (read from the trees, free: the forest's mean decrease in impurity, or
        boosting's total split gain), ``permutation`` (the drop in held-out average
        precision when a feature is shuffled, on a seeded sample of at most
        :data:`IMPORTANCE_ROWS` rows per fold, ``importance_repeats`` shuffles) or ``none``.
    on_fit
        Called after each of the ``n_folds`` fold models is trained (for progress bars).

    The model is cross-fitted: fold ``k``'s model (a forest of ``ceil(n_estimators /
    n_folds)`` trees, or one booster of ``boosting_rounds`` rounds; seeded
    ``random_state + k``) is trained without fold ``k`` and gives its labelled sellers their
    out-of-fold scores; the fold models pooled (the forests' trees in one forest of about
    ``n_estimators`` trees, or the boosters side by side, their probabilities averaged) are
    the returned estimator that scores everyone else.

    Raises
    ------
    SyndicateError
        If the labels do not hold at least two sellers of each class.
    """
    base = estimator if estimator is not None else SellerClassifier(random_state=seed)
    names = [c for c in features.columns if c != "seller_id"]
    # The group key gets a name no feature column can have (inputs may not use the
    # prefix), so a sellers column called ``group`` cannot stand in for it.
    group = "__syndicate_group__"
    train = (
        features.join(labels.select("seller_id", "label"), on="seller_id", how="inner")
        .join(groups.select("seller_id", pl.col("group").alias(group)), on="seller_id", how="left")
        .with_columns(pl.col(group).fill_null(pl.col("seller_id")))
        .sort("seller_id")
    )
    y = train["label"].cast(pl.Int64).to_numpy()
    n_bad, n_good = int((y == 1).sum()), int((y == 0).sum())
    if n_bad < 2 or n_good < 2:
        raise SyndicateError(
            f"training needs at least 2 known-bad and 2 known-good sellers; "
            f"the labels have {n_bad} and {n_good}"
        )
    X = feature_matrix(train, names)
    if importance not in IMPORTANCE_METHODS:
        raise SyndicateError(f"importance must be one of {IMPORTANCE_METHODS}; got {importance!r}")
    base_seed = base.random_state if isinstance(base.random_state, int) else seed
    boosted = base.learner == "gradient_boosting"
    per_fold = base.boosting_rounds if boosted else max(1, math.ceil(base.n_estimators / n_folds))
    fold_models: list[SellerClassifier] = []
    fold = component_folds(train[group], n_folds).to_numpy()
    shifts = _fold_label_shifts(train, fold, n_folds, names, neighbours)
    oof = np.zeros(len(y))
    notes: list[str] = []
    importances = np.zeros((len(names), 0))

    def done() -> None:
        if on_fit is not None:
            on_fit()

    for k in range(n_folds):
        if k:
            done()  # fold k - 1 is finished (it may have ended early with `continue`)
        test = fold == k
        if not test.any():
            continue
        fit_rows = ~test
        if len(np.unique(y[fit_rows])) < 2:
            # No model can be trained without this fold's labels: leave its sellers without
            # an out-of-fold score rather than give them anything their labels shaped.
            oof[test] = np.nan
            held = "no labelled sellers" if not fit_rows.any() else "one class only"
            notes.append(
                f"fold {k}: the other folds hold {held}; no out-of-fold score for its "
                f"{counted(int(test.sum()), 'labelled seller')}"
            )
            continue
        X_fit = X[fit_rows]
        for column, shift in shifts:
            X_fit[:, column] -= shift[fit_rows, k]
        model = clone(base).set_params(random_state=base_seed + k)
        if not boosted:
            model.set_params(n_estimators=per_fold)
        model.fit(X_fit, y[fit_rows])
        fold_models.append(model)
        oof[test] = model.bad_score(X[test])
        if importance == "permutation" and len(np.unique(y[test])) == 2:
            rows = np.flatnonzero(test)
            if len(rows) > IMPORTANCE_ROWS:  # a seeded sample keeps big label sets quick
                rows = np.sort(np.random.default_rng(seed + k).choice(rows, IMPORTANCE_ROWS, False))
            repeats = max(importance_repeats, 1)
            drops = permutation_drops(model, X[rows], y[rows], repeats, seed + k)
            importances = np.hstack([importances, drops])
    done()
    # Cross-fitting: the fold models together are the model. Their trees are pooled into
    # one forest (each fold's trees vote with equal weight), or their boosters averaged,
    # which scores the unlabelled sellers; no refit on every label is needed. (If no fold
    # could be trained, one model on every label stands in; its fold's sellers have no
    # out-of-fold score.)
    full = _pooled(fold_models, base) if fold_models else clone(base).fit(X, y)
    oof_frame = pl.DataFrame(
        {
            "seller_id": train["seller_id"],
            "label": pl.Series(y, dtype=pl.Int8),
            "fold": pl.Series(fold, dtype=pl.Int32),
            "score": pl.Series(oof, dtype=pl.Float64),
        }
    )
    scored = np.isfinite(oof)
    ys, oofs = y[scored], oof[scored]
    both = len(np.unique(ys)) == 2
    ks = [k for k in (10, 50, 100, 500, 1000) if k < len(ys)]
    card: dict[str, Any] = {
        "model": "syndicate.model.SellerClassifier",
        "params": base.get_params(),
        "features": names,
        "labels": {"n_labeled": len(y), "n_known_bad": n_bad, "n_known_good": n_good},
        "cv": {
            "folds": n_folds,
            "grouping": "ring, else community (hashed key); a ring is never split, and the "
            "held-out fold's labels are left out of the training rows' neighbour counts",
            "scores": "out-of-fold",
            "n_scored": int(scored.sum()),
            "auroc": _rounded(roc_auc_score(ys, oofs)) if both else None,
            "auprc": _rounded(average_precision_score(ys, oofs)) if both else None,
            "base_rate": round(n_bad / len(y), 6),
            "recall_at_k": {str(k): _rounded(recall_at_k(ys, oofs, k)) for k in ks},
            "notes": notes,
        },
        "importance": importance,
        "permutation_importance": _importance_table(names, importances),
        "impurity_importance": _impurity_table(names, full) if importance != "none" else [],
        "ensemble": {
            "learner": base.learner,
            "fold_models": len(fold_models),
            "trees_per_fold": per_fold,
            "trees": _tree_count(full),
        },
        "versions": package_versions(),
        "seed": seed,
    }
    return SellerModel(estimator=full, feature_names=names, oof=oof_frame, card=card)


def _fold_label_shifts(
    train: pl.DataFrame,
    fold: np.ndarray,
    n_folds: int,
    names: list[str],
    neighbours: Mapping[str, pl.DataFrame] | None,
) -> list[tuple[int, np.ndarray]]:
    """Per label-aware column: ``(column index, counts[row, fold])`` from each fold's labels.

    ``counts[i, k]`` is how many of training row ``i``'s neighbours (in that column's scope)
    are labelled in fold ``k`` with that column's class; subtracting it while fold ``k`` is
    held out removes fold ``k``'s labels from the row.
    """
    if not neighbours:
        return []
    labelled = train.select(
        pl.col("seller_id").alias("other"),
        pl.col("label").cast(pl.Int64),
        pl.Series("label_fold", fold, dtype=pl.Int64),
    )
    rows = train.select("seller_id").with_row_index("row")
    shifts: list[tuple[int, np.ndarray]] = []
    for scope, pairs in sorted(neighbours.items()):
        counted = (
            pairs.select("seller_id", "other")
            .join(rows, on="seller_id")
            .join(labelled, on="other")
            .group_by("row", "label_fold", "label")
            .agg(pl.len().alias("n"))
        )
        for label, kind in ((1, "bad"), (0, "good")):
            name = f"{scope}_known_{kind}"
            if name not in names:
                continue
            part = counted.filter(pl.col("label") == label)
            counts = np.zeros((train.height, n_folds))
            counts[part["row"].to_numpy(), part["label_fold"].to_numpy()] = part["n"].to_numpy()
            shifts.append((names.index(name), counts))
    return shifts


def permutation_drops(
    model: SellerClassifier, X: np.ndarray, y: np.ndarray, repeats: int, seed: int
) -> np.ndarray:
    """Drop in average precision when each column is shuffled: ``(n_features, repeats)``.

    Every shuffled copy is scored in one prediction (a prediction per copy would pay the
    forest's per-call overhead thousands of times). Seeded by ``seed``.
    """
    rng = np.random.default_rng(seed)
    base = average_precision_score(y, model.bad_score(X))
    n_rows, n_features = X.shape
    copies = np.repeat(X[np.newaxis], repeats * n_features, axis=0)
    for repeat in range(repeats):
        for column in range(n_features):
            order = rng.permutation(n_rows)
            copies[repeat * n_features + column, :, column] = X[order, column]
    scores = model.bad_score(copies.reshape(-1, n_features)).reshape(len(copies), n_rows)
    shuffled = np.array([average_precision_score(y, row) for row in scores])
    return (base - shuffled).reshape(repeats, n_features).T


def _pooled(models: Sequence[SellerClassifier], base: SellerClassifier) -> SellerClassifier:
    """One :class:`SellerClassifier` holding the trees (or boosters) of every fold model.

    A forest's probability is the mean of its trees' probabilities, so with the same number
    of trees per fold the pooled forest's score is the mean of the fold models' scores;
    pooled boosters average their probabilities, in fold order.
    """
    if base.learner == "gradient_boosting":
        pooled = clone(base).set_params(random_state=models[0].random_state)
        pooled.boosters_ = [booster for model in models for booster in model.boosters_]
        pooled.classes_ = models[0].classes_
        pooled.n_features_in_ = models[0].n_features_in_
        return pooled
    pooled = clone(base).set_params(
        n_estimators=sum(len(m.forest_.estimators_) for m in models),
        random_state=models[0].random_state,
    )
    forest = clone(models[0].forest_).set_params(n_estimators=pooled.n_estimators)
    for name in ("classes_", "n_classes_", "n_outputs_", "n_features_in_", "estimator_"):
        setattr(forest, name, getattr(models[0].forest_, name))
    if hasattr(models[0].forest_, "_n_samples"):
        forest._n_samples = models[0].forest_._n_samples
    forest.estimators_ = [tree for model in models for tree in model.forest_.estimators_]
    pooled.forest_ = forest
    pooled.classes_ = forest.classes_
    pooled.n_features_in_ = models[0].n_features_in_
    return pooled


def _tree_count(model: SellerClassifier) -> int:
    """Trees in a fitted model: the forest's, or every booster's (one per class per round
    for more than two classes)."""
    if model.learner == "gradient_boosting":
        return sum(len(trees) for booster in model.boosters_ for trees in booster._predictors)
    return len(model.forest_.estimators_)


def _impurity_table(names: list[str], model: SellerClassifier) -> list[dict[str, Any]]:
    """Mean decrease in impurity (or split gain) per feature (free: read from the trees)."""
    values = model.feature_importances_
    rows = [
        {"feature": name, "mean": round(float(v), 6)} for name, v in zip(names, values, strict=True)
    ]
    return sorted(rows, key=lambda row: (-row["mean"], row["feature"]))


def _importance_table(names: list[str], importances: np.ndarray) -> list[dict[str, Any]]:
    """Mean and spread of the drop in out-of-fold AUPRC when a feature is shuffled."""
    if importances.shape[1] == 0:
        return []
    rows = [
        {"feature": name, "mean": round(float(row.mean()), 6), "std": round(float(row.std()), 6)}
        for name, row in zip(names, importances, strict=True)
    ]
    return sorted(rows, key=lambda row: (-row["mean"], row["feature"]))


def _plain(params: Mapping[str, Any]) -> bool:
    """Whether the parameters survive JSON unchanged (a class_weight dict of int keys, or a
    RandomState, does not: such a model is saved with skops)."""
    try:
        return json.loads(json.dumps(dict(params))) == dict(params)
    except (TypeError, ValueError):
        return False


def save_model(model: SellerModel, folder: str | Path) -> dict[str, Path]:
    """Write the model and ``model_card.json`` into ``folder`` (atomically).

    A forest is written as ``model.npz`` (:mod:`syndicate.modelfile`: plain arrays and
    JSON, the same bytes for the same forest), gradient boosting as ``model.skops``; both
    load without running code from the file.
    """
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    estimator = model.estimator
    forest = estimator.learner == "random_forest" and _plain(estimator.get_params())
    model_path = target / (FOREST_FILE if forest else MODEL_FILE)
    with atomic_path(model_path) as tmp:
        if forest:
            from syndicate.modelfile import dump_forest

            dump_forest(estimator, tmp)
        else:
            import skops.io as sio

            sio.dump(estimator, tmp)
    card = {**model.card, "feature_names": model.feature_names}
    card_path = write_json_atomic(card, target / CARD_FILE)
    return {"model": model_path, "card": card_path}


def load_model(folder: str | Path) -> tuple[SellerClassifier, dict[str, Any]]:
    """Read a model written by :func:`save_model`; runs no code from the file.

    ``model.npz`` (a forest) holds plain arrays and JSON only, every shape and dtype checked
    (:func:`syndicate.modelfile.load_forest`). From ``model.skops`` (gradient boosting, and
    models saved before ``model.npz``) only skops' default types plus the trees of the two
    learners (the forest's ``Tree``, gradient boosting's ``TreePredictor``) and
    :class:`SellerClassifier` are trusted. Either way every tree's nodes are bounds-checked
    before the model is returned (a forged tree could otherwise read out of bounds, or loop
    for ever, when predicting); a booster must hold exactly the parts prediction reads, of
    the types scikit-learn gives them.

    Raises
    ------
    InputFileError
        If the folder lacks the files, the model holds other types, or a tree is malformed.
    """
    source = Path(folder)
    model_path, card_path = model_file(source), source / CARD_FILE
    if model_path is None:
        raise InputFileError(
            f"{source / FOREST_FILE}: not found, nor {MODEL_FILE} (expected a folder written "
            "by save_model)"
        )
    if not card_path.is_file():
        raise InputFileError(f"{card_path}: not found (expected a folder written by save_model)")
    if model_path.name == FOREST_FILE:
        from syndicate.modelfile import load_forest

        estimator = load_forest(model_path)
    else:
        estimator = _load_skops(model_path)
    _check_trees(estimator, model_path)
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputFileError(f"{card_path}: not a readable JSON model card ({exc})") from exc
    if not isinstance(card, dict):
        raise InputFileError(f"{card_path}: the model card is not a JSON object")
    return estimator, card


def _load_skops(model_path: Path) -> SellerClassifier:
    import skops.io as sio

    try:
        untrusted = set(sio.get_untrusted_types(file=model_path)) - set(_TRUSTED_TYPES)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise InputFileError(f"{model_path}: not a readable skops file ({exc})") from exc
    if untrusted:
        raise InputFileError(f"{model_path}: refusing to load untrusted types {sorted(untrusted)}")
    try:
        estimator = sio.load(model_path, trusted=list(_TRUSTED_TYPES))
    except Exception as exc:  # skops raises many types on a damaged file
        raise InputFileError(f"{model_path}: cannot be loaded ({exc})") from exc
    if not isinstance(estimator, SellerClassifier):
        raise InputFileError(f"{model_path}: holds {type(estimator).__name__}, not a model")
    # A model saved before a parameter existed (before ``learner``: a forest) takes its
    # default.
    for name, default in SellerClassifier().get_params().items():
        if name not in vars(estimator):
            setattr(estimator, name, default)
    return estimator


def _check_trees(estimator: SellerClassifier, path: Path) -> None:
    n_features = getattr(estimator, "n_features_in_", None)
    classes = getattr(estimator, "classes_", None)
    if not isinstance(n_features, int) or not isinstance(classes, np.ndarray):
        raise InputFileError(f"{path}: the model is not fitted")
    jobs = estimator.n_jobs
    if not (jobs is None or (_is_count(jobs) and jobs != 0 and abs(jobs) <= _MOST_JOBS)):
        # Threads are started by the number: a forged one must not start a million.
        raise InputFileError(f"{path}: n_jobs must be a non-zero integer; got {jobs!r}")
    if estimator.learner == "gradient_boosting":
        _check_boosters(estimator, n_features, classes, path)
        return
    if estimator.learner != "random_forest":
        raise InputFileError(f"{path}: unknown learner {estimator.learner!r}")
    forest = getattr(estimator, "forest_", None)
    if not isinstance(forest, RandomForestClassifier):
        raise InputFileError(f"{path}: the model is not fitted")
    for number, tree in enumerate(forest.estimators_):
        nodes = tree.tree_
        count = nodes.node_count
        left, right, feature = nodes.children_left, nodes.children_right, nodes.feature
        leaf = left == -1
        split = np.flatnonzero(~leaf)
        # Children come after their parent (as scikit-learn builds trees), so every path
        # ends at a leaf: a cycle would make prediction loop for ever.
        ok = (
            len(left) == len(right) == len(feature) == count > 0
            and np.array_equal(leaf, right == -1)
            and bool(np.all((left[split] > split) & (left[split] < count)))
            and bool(np.all((right[split] > split) & (right[split] < count)))
            and bool(np.all((feature[~leaf] >= 0) & (feature[~leaf] < n_features)))
            and nodes.value.shape[0] == count
        )
        if not ok:
            raise InputFileError(f"{path}: tree {number} is malformed; refusing to use it")


def _check_boosters(
    estimator: SellerClassifier, n_features: int, classes: np.ndarray, path: Path
) -> None:
    """Every part of every booster that ``predict_proba`` reads, checked before it is used.

    ``HistGradientBoostingClassifier.predict_proba`` validates the rows (no preprocessor:
    the model never has categorical features), adds the baseline and every tree's leaf
    value in round order, and turns the sum into probabilities with its loss's link. The
    trees are walked in compiled code without bounds checks, so each tree's ``nodes`` must
    be a proper tree: children after their parent and inside the array, every node but the
    root the child of exactly one split, split features inside the rows, no categorical
    split (their bitsets are never made), and thresholds those of the bin mapper.
    """
    from sklearn._loss.link import LogitLink, MultinomialLogit
    from sklearn._loss.loss import HalfBinomialLoss, HalfMultinomialLoss
    from sklearn.ensemble._hist_gradient_boosting.binning import _BinMapper
    from sklearn.ensemble._hist_gradient_boosting.common import PREDICTOR_RECORD_DTYPE
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor

    boosters = getattr(estimator, "boosters_", None)
    if not isinstance(boosters, list) or (len(classes) >= 2) != bool(boosters):
        raise InputFileError(f"{path}: the model is not fitted")
    per_round = 1 if len(classes) <= 2 else len(classes)
    loss, link = (
        (HalfBinomialLoss, LogitLink) if per_round == 1 else (HalfMultinomialLoss, MultinomialLogit)
    )
    for number, booster in enumerate(boosters):

        def refuse(what: str, number: int = number) -> InputFileError:
            return InputFileError(f"{path}: booster {number} {what}; refusing to use it")

        if type(booster) is not HistGradientBoostingClassifier:
            raise refuse(f"is a {type(booster).__name__}, not a HistGradientBoostingClassifier")
        state = vars(booster)
        mapper = state.get("_bin_mapper")
        baseline = state.get("_baseline_prediction")
        rounds = state.get("_predictors")
        if not (
            state.get("_preprocessor", 0) is None
            and state.get("is_categorical_", 0) is None
            and not state.get("_in_fit", False)
            and state.get("n_features_in_") == n_features
            and isinstance(state.get("classes_"), np.ndarray)
            and np.array_equal(state["classes_"], classes)
            and state.get("n_trees_per_iteration_") == per_round
            and type(state.get("_loss")) is loss
            and type(getattr(state.get("_loss"), "link", None)) is link
            and isinstance(baseline, np.ndarray)
            and baseline.dtype == np.float64
            and baseline.shape == (1, per_round)
            and bool(np.isfinite(baseline).all())
            and isinstance(rounds, list)
            and all(isinstance(trees, list) and len(trees) == per_round for trees in rounds)
        ):
            raise refuse("is not a fitted booster of this model's classes and features")
        if not (
            type(mapper) is _BinMapper
            and _is_array(getattr(mapper, "is_categorical_", None), np.uint8, (n_features,))
            and not mapper.is_categorical_.any()
            and _is_array(getattr(mapper, "n_bins_non_missing_", None), np.uint32, (n_features,))
            and isinstance(getattr(mapper, "bin_thresholds_", None), list)
            and len(mapper.bin_thresholds_) == n_features
            and all(
                _is_array(cuts, np.float64, (int(bins) - 1,))
                for cuts, bins in zip(
                    mapper.bin_thresholds_, mapper.n_bins_non_missing_, strict=True
                )
            )
        ):
            raise refuse("has a malformed bin mapper")
        # cuts[feature, bin]: the threshold of a split after that bin; after the last bin
        # with values it is infinite (such a split sends the missing values right and every
        # other one left). Past that, NaN: no split may name the bin.
        cuts = np.full((n_features, 256), np.nan)
        for column, edges in enumerate(mapper.bin_thresholds_):
            cuts[column, : len(edges) + 1] = np.append(edges, np.inf)
        for tree_number, tree in enumerate(t for trees in rounds for t in trees):
            if type(tree) is not TreePredictor or not _proper_tree(
                tree, n_features, mapper.n_bins_non_missing_, cuts, PREDICTOR_RECORD_DTYPE
            ):
                raise refuse(f"tree {tree_number} is malformed")


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_array(value: object, dtype: type, shape: tuple[int, ...]) -> bool:
    return isinstance(value, np.ndarray) and value.dtype == dtype and value.shape == shape


def _proper_tree(
    tree: Any, n_features: int, n_bins: np.ndarray, cuts: np.ndarray, record: np.dtype
) -> bool:
    """Whether a ``TreePredictor``'s nodes are a tree prediction walks safely to a leaf."""
    nodes = getattr(tree, "nodes", None)
    bitsets = [
        getattr(tree, name, None) for name in ("binned_left_cat_bitsets", "raw_left_cat_bitsets")
    ]
    if not (
        isinstance(nodes, np.ndarray)
        and nodes.dtype == record
        and nodes.ndim == 1
        and len(nodes) > 0
        and all(
            isinstance(bits, np.ndarray)
            and bits.dtype == np.uint32
            and bits.ndim == 2
            and bits.shape[1] == 8
            for bits in bitsets
        )
    ):
        return False
    count = len(nodes)
    is_leaf = nodes["is_leaf"]
    split = np.flatnonzero(is_leaf == 0)
    left, right = nodes["left"][split].astype(np.int64), nodes["right"][split].astype(np.int64)
    feature = nodes["feature_idx"][split]
    if not (
        bool(np.all((is_leaf == 0) | (is_leaf == 1)))
        and not nodes["is_categorical"].any()
        and bool(np.all((left > split) & (left < count) & (right > split) & (right < count)))
        and not nodes["left"][is_leaf == 1].any()  # leaves have no children
        and not nodes["right"][is_leaf == 1].any()
        # every node but the root is a child of exactly one split: no node is shared
        and np.array_equal(np.sort(np.concatenate([left, right])), np.arange(1, count))
        and bool(np.all((feature >= 0) & (feature < n_features)))
        and bool(np.isfinite(nodes["value"][is_leaf == 1]).all())
        and bool(np.isfinite(nodes["gain"][split]).all())
    ):
        return False
    # Raw and binned prediction must agree: each threshold is its bin's upper cut.
    bins = nodes["bin_threshold"][split]
    if not bool(np.all(bins < n_bins[feature])):
        return False
    return bool(np.array_equal(cuts[feature, bins], nodes["num_threshold"][split]))
