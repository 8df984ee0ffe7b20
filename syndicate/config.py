"""The one frozen configuration of a run."""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import re
import tomllib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from syndicate.errors import ConfigError

if TYPE_CHECKING:
    from syndicate.monitor.alerts import AlertSettings

__all__ = [
    "CONFIG_SECTIONS",
    "DEFAULT_COMMON_PLACEHOLDERS",
    "DEFAULT_HUB_LIMITS",
    "DEFAULT_KIND_WEIGHTS",
    "DEFAULT_PLACEHOLDERS",
    "INVISIBLE_RANGES",
    "MAX_WEIGHT",
    "Config",
    "normalise_kind",
]

#: Code points removed from every kind and value before anything else: besides Unicode's
#: format characters (category Cf: zero-width space / joiners, soft hyphen, BOM, bidi
#: marks and isolates, tags, ...), the other *default-ignorable* code points, which draw
#: nothing either (combining grapheme joiner, Hangul fillers, Khmer inherent vowels,
#: Mongolian free variation selectors, variation selectors, unassigned ignorables).
INVISIBLE_RANGES: tuple[tuple[int, int], ...] = (
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x2065, 0x2065),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0xE0000, 0xE0FFF),
)

#: The largest weight (a kind weight, a given edge's weight): sums of millions of them, and
#: a given edge's weight times its relation's kind weight, stay finite in float32 too.
MAX_WEIGHT = 1e6
_MAX_INT = 2**63 - 1  # integer knobs meet Polars' Int64 columns


def _is_invisible(char: str) -> bool:
    code = ord(char)
    return unicodedata.category(char) == "Cf" or any(
        low <= code <= high for low, high in INVISIBLE_RANGES
    )


def normalise_kind(kind: str) -> str:
    """The canonical name of a kind: the ``kind`` column and config keys both go through it.

    Invisible characters (:data:`INVISIBLE_RANGES` and category Cf) are removed, the rest
    is put in Unicode NFKC form (fullwidth and other compatibility letters become plain
    ones), trimmed and lower-cased.

    Examples
    --------
    >>> normalise_kind(" Ｄｅｖ\u200bice ")
    'device'
    """
    visible = "".join(char for char in kind if not _is_invisible(char))
    return unicodedata.normalize("NFKC", visible).strip().lower()


#: Evidence strength of one shared identifier of each kind (before rarity).
DEFAULT_KIND_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {"payout": 3.0, "device": 2.5, "email": 2.0, "phone": 2.0, "address": 1.5, "ip": 1.0}
)
#: An identifier shared by more sellers than this is a hub and is held back.
DEFAULT_HUB_LIMITS: Mapping[str, int] = MappingProxyType(
    {"payout": 60, "device": 60, "email": 60, "phone": 60, "address": 60, "ip": 60}
)
#: Values that stand for "no identifier" whatever the kind (compared after normalisation).
DEFAULT_COMMON_PLACEHOLDERS: tuple[str, ...] = (
    "-",
    "--",
    "?",
    "0",
    "00",
    "000",
    "0000",
    "000000",
    "123456",
    "1234567890",
    "n/a",
    "na",
    "nil",
    "none",
    "not available",
    "not provided",
    "null",
    "test",
    "undefined",
    "unknown",
    "xxx",
)
#: Placeholders of each kind, on top of :data:`DEFAULT_COMMON_PLACEHOLDERS`.
DEFAULT_PLACEHOLDERS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "address": ("no address", "not applicable"),
        "device": (
            "00000000-0000-0000-0000-000000000000",
            "00:00:00:00:00:00",
            "02:00:00:00:00:00",
            "ff:ff:ff:ff:ff:ff",
        ),
        "email": (
            "a@a.com",
            "email@email.com",
            "example@example.com",
            "na@na.com",
            "no@email.com",
            "noemail@gmail.com",
            "noemail@noemail.com",
            "none@none.com",
            "test@example.com",
            "test@test.com",
            "user@example.com",
        ),
        "ip": ("0.0.0.0", "127.0.0.1", "255.255.255.255", "::", "::1", "localhost"),
        "payout": ("00000000", "0000000000"),
        "phone": ("0000000000", "1111111111", "5555555555", "9999999999"),
    }
)


#: The TOML layout: section -> the :class:`Config` fields it holds (``seed`` is top-level).
CONFIG_SECTIONS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "identifiers": ("common_placeholders", "placeholders"),
        "graph": (
            "kind_weights",
            "default_kind_weight",
            "hub_limits",
            "default_hub_limit",
            "max_pairs",
            "pair_weighting",
            "popular_limit",
        ),
        "rings": (
            "min_ring_size",
            "leiden_objective",
            "leiden_resolution",
            "leiden_iterations",
            "max_ring_size",
            "dense_blocks",
            "block_min_density",
            "block_min_identifier_share",
            "block_eps",
            "lineage_min_jaccard",
        ),
        "model": (
            "learner",
            "cv_folds",
            "n_estimators",
            "min_samples_leaf",
            "max_tree_rows",
            "importance",
            "importance_repeats",
            "n_jobs",
            "anomaly_trees",
        ),
        "decisions": (
            "syndicate_precision",
            "review_precision",
            "bad_rate",
            "syndicate_threshold",
            "review_threshold",
            "cold_syndicate_threshold",
            "cold_review_threshold",
            "min_known_bad_for_thresholds",
            "keep_thresholds",
            "strategies",
        ),
        "output": ("top_pages",),
        "monitor": (
            "metric_segments",
            "alert_min_history",
            "alert_window",
            "alert_weekday",
            "alert_weekday_after",
            "alert_weekday_window",
            "alert_z",
            "alert_mad_floor",
            "alert_mad_floor_rate",
            "alert_mad_floor_count",
            "alert_poisson_floor",
            "alert_p_value",
            "alert_min_abs_effect_rate",
            "alert_min_abs_effect_count",
            "alert_min_excess",
            "alert_min_rel_effect",
            "alert_high_factor",
            "alert_high_p_value",
            "alert_incident_gap",
            "alert_segment_correction",
            "alert_ring_share",
            "alert_segment_share",
            "alert_directions",
        ),
    }
)

# What each field holds, for checking values read from TOML or the command line.
_FLOAT, _INT, _OPTIONAL_FLOAT, _TEXT, _WEIGHTS, _LIMITS, _BOOL, _OPTIONAL_INT = (
    "a number",
    "an integer",
    "a number (leave it out for none)",
    "text",
    "a table of kind = number",
    "a table of kind = integer",
    "true or false",
    "an integer (leave it out for none)",
)
_TEXTS, _PLACEHOLDERS = "a list of text", "a table of kind = list of text"
_DIRECTIONS = "a table of metric = up, down or both"
#: Segment kinds the metrics make themselves, which ``metric_segments`` may not name.
_BUILT_IN_SEGMENTS = ("ring", "ring_status", "decision_source", "strategy")
#: The fields that are tables keyed by kind (keys normalised like the ``kind`` column).
_KIND_TABLES = ("kind_weights", "hub_limits", "placeholders")
_KINDS: dict[str, str] = {
    "common_placeholders": _TEXTS,
    "placeholders": _PLACEHOLDERS,
    "kind_weights": _WEIGHTS,
    "default_kind_weight": _FLOAT,
    "hub_limits": _LIMITS,
    "default_hub_limit": _INT,
    "max_pairs": _INT,
    "pair_weighting": _TEXT,
    "popular_limit": _INT,
    "min_ring_size": _INT,
    "leiden_objective": _TEXT,
    "leiden_resolution": _FLOAT,
    "leiden_iterations": _INT,
    "max_ring_size": _INT,
    "dense_blocks": _BOOL,
    "block_min_density": _FLOAT,
    "block_min_identifier_share": _FLOAT,
    "block_eps": _FLOAT,
    "lineage_min_jaccard": _FLOAT,
    "learner": _TEXT,
    "cv_folds": _INT,
    "n_estimators": _INT,
    "importance_repeats": _INT,
    "min_samples_leaf": _INT,
    "max_tree_rows": _OPTIONAL_INT,
    "importance": _TEXT,
    "n_jobs": _INT,
    "anomaly_trees": _INT,
    "syndicate_precision": _FLOAT,
    "review_precision": _FLOAT,
    "bad_rate": _OPTIONAL_FLOAT,
    "syndicate_threshold": _OPTIONAL_FLOAT,
    "review_threshold": _OPTIONAL_FLOAT,
    "cold_syndicate_threshold": _FLOAT,
    "cold_review_threshold": _FLOAT,
    "min_known_bad_for_thresholds": _INT,
    "keep_thresholds": _BOOL,
    "strategies": _TEXT,
    "top_pages": _INT,
    "metric_segments": _TEXTS,
    "alert_min_history": _INT,
    "alert_window": _INT,
    "alert_weekday": _BOOL,
    "alert_weekday_after": _INT,
    "alert_weekday_window": _INT,
    "alert_z": _FLOAT,
    "alert_mad_floor": _FLOAT,
    "alert_mad_floor_rate": _FLOAT,
    "alert_mad_floor_count": _FLOAT,
    "alert_poisson_floor": _BOOL,
    "alert_p_value": _FLOAT,
    "alert_min_abs_effect_rate": _FLOAT,
    "alert_min_abs_effect_count": _FLOAT,
    "alert_min_excess": _FLOAT,
    "alert_min_rel_effect": _FLOAT,
    "alert_high_factor": _FLOAT,
    "alert_high_p_value": _FLOAT,
    "alert_incident_gap": _INT,
    "alert_segment_correction": _BOOL,
    "alert_ring_share": _FLOAT,
    "alert_segment_share": _FLOAT,
    "alert_directions": _DIRECTIONS,
    "seed": _INT,
}


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _checked(name: str, value: object) -> object:
    """``value`` if it is of the kind field ``name`` holds (ints accepted as floats)."""
    kind = _KINDS[name]
    if kind in (_FLOAT, _OPTIONAL_FLOAT) and _is_number(value):
        try:
            return float(value)  # type: ignore[arg-type]
        except OverflowError:
            raise ConfigError(f"{name} must be {kind}; got a number too large") from None
    if (kind in (_INT, _OPTIONAL_INT) and _is_int(value)) or (
        kind == _TEXT and isinstance(value, str)
    ):
        return value
    if kind == _BOOL and isinstance(value, bool):
        return value
    if kind in (_WEIGHTS, _LIMITS) and isinstance(value, Mapping):
        check = _is_number if kind == _WEIGHTS else _is_int
        if all(check(item) for item in value.values()):
            cast = float if kind == _WEIGHTS else int
            return _kind_table(name, {str(key): cast(item) for key, item in value.items()})
    if (
        kind == _DIRECTIONS
        and isinstance(value, Mapping)
        and all(isinstance(key, str) and isinstance(item, str) for key, item in value.items())
    ):
        return dict(value)
    if kind == _TEXTS and _is_texts(value):
        return tuple(value)  # type: ignore[arg-type]
    if (
        kind == _PLACEHOLDERS
        and isinstance(value, Mapping)
        and all(_is_texts(item) for item in value.values())
    ):
        return _kind_table(name, {str(key): tuple(item) for key, item in value.items()})
    raise ConfigError(f"{name} must be {kind}; got {value!r}")


def _is_texts(value: object) -> bool:
    return isinstance(value, list | tuple) and all(isinstance(item, str) for item in value)


def _kind_table(name: str, table: Mapping[str, Any]) -> dict[str, Any]:
    """``table`` with its kinds normalised (:func:`normalise_kind`), as the ``kind`` column is.

    Two keys naming one kind after normalisation, or a key naming none, raise ConfigError.
    """
    normalised: dict[str, Any] = {}
    spelled: dict[str, str] = {}
    for key, item in table.items():
        if not isinstance(key, str):
            raise ConfigError(f"{name} keys must be kinds (text); got {key!r}")
        kind = normalise_kind(key)
        if not kind:
            raise ConfigError(f"{name} has an empty kind: {key!r} is blank once normalised")
        if kind in spelled:
            raise ConfigError(
                f"{name} names the kind {kind!r} twice: {spelled[kind]!r} and {key!r} are the "
                "same kind once normalised (trimmed, lower-cased, NFKC, invisible characters "
                "removed)"
            )
        spelled[kind] = key
        normalised[kind] = item
    return normalised


def _locate(key: str) -> str:
    """The field a dotted or bare key names, or a ConfigError suggesting the right one."""
    section, _, name = key.rpartition(".")
    known = {f"{sec}.{n}" for sec, names in CONFIG_SECTIONS.items() for n in names} | {"seed"}
    if (f"{section}.{name}" if section else name) in known:
        return name
    close = difflib.get_close_matches(key, sorted(known), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError(f"unknown config key {key!r}{hint}")


@dataclass(frozen=True)
class Config:
    """Every knob of graph building and ring detection.

    Parameters
    ----------
    kind_weights
        Weight of one shared identifier per kind; kinds not listed (and ``edges``
        relations) weigh ``default_kind_weight``.
    hub_limits
        Per kind, the most sellers an identifier may be shared by before it is a hub;
        kinds not listed use ``default_hub_limit``.
    max_pairs
        The data-relative hub rule: if the seller pairs that the kept identifiers expand to
        exceed this, the most shared identifiers are held back as hubs too, until they fit.
    pair_weighting
        What one shared identifier of ``n`` sellers adds to the weight of each pair of them:
        ``resource_allocation`` (``kind_weight / (n - 1)``: every identifier hands each
        holder the same total weight, spread over the others, so a popular identifier cannot
        outweigh a private one) or ``log`` (``kind_weight / log2(n)``, the 0.1 rule).
    popular_limit
        An identifier shared by more sellers than this is *popular* (a café IP, a shop
        tablet): it links a pair in the ring-finding backbone only together with another
        identifier the pair shares. Features and pages still see every link.
    min_ring_size
        The smallest community reported as a ring.
    max_ring_size
        A community larger than this is split again by Leiden as a graph of its own, at
        modularity's own resolution (at least 1; up to four rounds), so one giant component
        cannot come back as one ring; also the largest dense block.
    dense_blocks
        Run the second detector: dense blocks of the bipartite seller–identifier graph
        (:mod:`syndicate.graphs.blocks`), reconciled with Leiden's rings.
    block_min_density
        The least density (edge weight per node, identifiers weighing
        ``kind_weight / ln(holders + 5)``) of a dense block.
    block_min_identifier_share
        An identifier stays in a block only while at least this share of its holders do.
    block_eps
        Batch peeling removes every node below ``2 (1 + eps)`` times a piece's density per
        pass (a ``2 (1 + eps)``-approximation of the densest block).
    leiden_objective, leiden_resolution, leiden_iterations
        Leiden's quality function (``modularity``: RB configuration model; ``CPM``), its
        resolution and number of iterations.
    lineage_min_jaccard
        With ``--previous``, the Jaccard similarity of members a ring needs with an earlier
        ring to keep its id (:mod:`syndicate.lineage`).
    learner
        The seller model: ``random_forest`` (a class-weighted Random Forest) or
        ``gradient_boosting`` (scikit-learn's ``HistGradientBoostingClassifier``: one
        booster of 100 rounds of 15-leaf trees per fold, without early stopping; see
        :class:`syndicate.model.SellerClassifier`). Both are cross-fitted the same way.
    cv_folds
        Cross-validation folds of the seller model (whole components per fold).
    n_estimators
        Trees of the seller model's Random Forest (not used by ``gradient_boosting``).
    min_samples_leaf, max_tree_rows
        Smallest leaf of the model's trees (either learner), and the most training rows
        each forest tree's bootstrap draws (``None``: as many as there are; not used by
        ``gradient_boosting``); larger leaves and capped samples keep trees small on large,
        noisy label sets.
    importance
        The model card's feature importances: ``impurity`` (free), ``permutation`` (drop in
        held-out average precision; costs a prediction per feature) or ``none``.
    importance_repeats
        Shuffles per feature for the model card's permutation importances (0 skips them).
    syndicate_precision, review_precision
        With labels, the decision thresholds are the lowest scores whose out-of-fold
        precision reaches these targets.
    bad_rate
        The population's share of bad sellers, for the precision of the thresholds;
        ``None`` estimates it from the unlabelled sellers' scores.
    syndicate_threshold, review_threshold
        Fixed score thresholds that override the precision targets (``None``: use them).
    cold_syndicate_threshold, cold_review_threshold
        Thresholds on the structure-only score when there are no usable labels.
    min_known_bad_for_thresholds
        Thresholds drawn from fewer known-bad sellers than this come with a warning naming
        the bad-rate estimate, the number of known-bad sellers and the fix (0: never).
    keep_thresholds
        With ``--previous``, keep each of the earlier run's thresholds (drawn from labels)
        while this run's labels leave its precision target inside the 95% interval of the
        precision at it (:func:`syndicate.model.still_supported`); otherwise, and with
        ``false``, thresholds are drawn afresh every run.
    strategies
        A strategies file (:mod:`syndicate.strategies`) every run applies after the model,
        as ``syndicate run --strategies`` does (that flag wins); a relative path is read
        from the working folder. ``""``: none.
    anomaly_trees
        Trees of the IsolationForest behind the ``anomaly_score`` feature (0: no anomaly
        score; every seller gets 0.5).
    n_jobs
        Workers of the forest, or OpenMP threads of gradient boosting (``-1``: every core);
        results do not depend on it.
    top_pages
        Investigator pages are drawn for this many rings, highest ring score first.
    metric_segments
        Text columns of the sellers table that ``metrics.parquet`` breaks the seller
        metrics down by (besides ``ring_status``, ``decision_source``, ``strategy``,
        ``ring`` and ``ring:<kind>``, which it may not name); a column the table lacks is
        skipped.
    alert_min_history, alert_window, alert_weekday, ..., alert_directions
        ``syndicate monitor``'s alert knobs: field ``alert_<name>`` is
        :class:`syndicate.monitor.alerts.AlertSettings`' ``<name>``, with its default and
        meaning (trailing baseline, robust z, count-aware test, minimum effects, severity,
        incidents, root-cause shares, per-metric directions).
    seed
        Seed of every random choice.
    common_placeholders, placeholders
        Link values that mean "no identifier" (``n/a``, ``unknown``, ``0.0.0.0``): those in
        ``common_placeholders`` for every kind, those in ``placeholders[kind]`` for that kind
        too. They are compared after normalisation (``N/A``, `` n/a `` and ``Ｎ/Ａ`` are all
        ``n/a``); a link whose value is one binds nobody and is refused
        (``placeholder_value``). A kind given in ``placeholders`` replaces that kind's
        built-in list; ``[]`` clears it.

    Kinds in ``kind_weights``, ``hub_limits`` and ``placeholders`` are normalised like the
    ``kind`` column (:func:`normalise_kind`: ``"Device "`` is ``device``); two keys naming
    one kind are an error. Weights are positive and at most ``MAX_WEIGHT`` (1e6), integers
    fit in 64 bits, and no number is NaN or infinite.
    """

    kind_weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_KIND_WEIGHTS))
    default_kind_weight: float = 1.0
    hub_limits: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_HUB_LIMITS))
    default_hub_limit: int = 60
    max_pairs: int = 50_000_000
    pair_weighting: Literal["resource_allocation", "log"] = "resource_allocation"
    popular_limit: int = 20
    min_ring_size: int = 3
    leiden_objective: Literal["modularity", "CPM"] = "modularity"
    leiden_resolution: float = 0.35
    leiden_iterations: int = 10
    max_ring_size: int = 300
    dense_blocks: bool = True
    block_min_density: float = 0.5
    block_min_identifier_share: float = 0.9
    block_eps: float = 0.1
    lineage_min_jaccard: float = 0.3
    learner: Literal["random_forest", "gradient_boosting"] = "random_forest"
    cv_folds: int = 5
    n_estimators: int = 100
    min_samples_leaf: int = 5
    max_tree_rows: int | None = 50_000
    importance: Literal["impurity", "permutation", "none"] = "impurity"
    importance_repeats: int = 1
    syndicate_precision: float = 0.9
    review_precision: float = 0.75
    bad_rate: float | None = None
    syndicate_threshold: float | None = None
    review_threshold: float | None = None
    cold_syndicate_threshold: float = 0.75
    cold_review_threshold: float = 0.7
    min_known_bad_for_thresholds: int = 30
    keep_thresholds: bool = True
    strategies: str = ""
    n_jobs: int = -1
    anomaly_trees: int = 50
    top_pages: int = 50
    metric_segments: tuple[str, ...] = ("category",)
    alert_min_history: int = 7
    alert_window: int = 28
    alert_weekday: bool = True
    alert_weekday_after: int = 21
    alert_weekday_window: int = 6
    alert_z: float = 4.0
    alert_mad_floor: float = 0.05
    alert_mad_floor_rate: float = 0.0005
    alert_mad_floor_count: float = 1.0
    alert_poisson_floor: bool = True
    alert_p_value: float = 0.0005
    alert_min_abs_effect_rate: float = 0.002
    alert_min_abs_effect_count: float = 3.0
    alert_min_excess: float = 10.0
    alert_min_rel_effect: float = 0.2
    alert_high_factor: float = 2.0
    alert_high_p_value: float = 1e-06
    alert_incident_gap: int = 1
    alert_segment_correction: bool = True
    alert_ring_share: float = 0.5
    alert_segment_share: float = 0.5
    alert_directions: Mapping[str, str] = field(default_factory=dict)
    seed: int = 0
    common_placeholders: tuple[str, ...] = DEFAULT_COMMON_PLACEHOLDERS
    placeholders: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: dict(DEFAULT_PLACEHOLDERS)
    )

    def __post_init__(self) -> None:
        self._check_types()
        weights = {**self.kind_weights, "(default_kind_weight)": self.default_kind_weight}
        for kind, weight in weights.items():
            number = isinstance(weight, int | float) and not isinstance(weight, bool)
            name = (
                "default_kind_weight"
                if kind == "(default_kind_weight)"
                else f"kind_weights[{kind!r}]"
            )
            if not (number and math.isfinite(weight) and weight > 0):
                raise ConfigError(f"{name} must be a finite positive number; got {weight!r}")
            if weight > MAX_WEIGHT:
                raise ConfigError(
                    f"{name} must be at most {MAX_WEIGHT:g} (sums of weights must stay finite "
                    f"in float32); got {weight!r}"
                )
        limits = {**self.hub_limits, "(default_hub_limit)": self.default_hub_limit}
        for kind, limit in limits.items():
            if not (isinstance(limit, int) and not isinstance(limit, bool) and limit >= 2):
                name = (
                    "default_hub_limit"
                    if kind == "(default_hub_limit)"
                    else f"hub_limits[{kind!r}]"
                )
                raise ConfigError(f"{name} must be an integer >= 2; got {limit!r}")
        if not (_is_int(self.max_pairs) and self.max_pairs >= 1):
            raise ConfigError(f"max_pairs must be a positive integer; got {self.max_pairs!r}")
        if self.pair_weighting not in ("resource_allocation", "log"):
            raise ConfigError(
                "pair_weighting must be 'resource_allocation' or 'log'; "
                f"got {self.pair_weighting!r}"
            )
        if not (_is_int(self.popular_limit) and self.popular_limit >= 2):
            raise ConfigError(f"popular_limit must be an integer >= 2; got {self.popular_limit!r}")
        if not (_is_int(self.max_ring_size) and self.max_ring_size >= 2):
            raise ConfigError(f"max_ring_size must be an integer >= 2; got {self.max_ring_size!r}")
        if not (_is_int(self.min_ring_size) and self.min_ring_size >= 2):
            raise ConfigError(f"min_ring_size must be an integer >= 2; got {self.min_ring_size!r}")
        if not isinstance(self.dense_blocks, bool):
            raise ConfigError(f"dense_blocks must be true or false; got {self.dense_blocks!r}")
        for name, low, high in (
            ("block_min_density", 0.0, math.inf),
            ("block_min_identifier_share", 0.0, 1.0),
            ("block_eps", 0.0, math.inf),
        ):
            value = getattr(self, name)
            if not (_is_number(value) and low <= value <= high and math.isfinite(value)):
                raise ConfigError(f"{name} must be a number in [{low}, {high}]; got {value!r}")
        if self.block_eps <= 0:
            raise ConfigError(f"block_eps must be positive; got {self.block_eps!r}")
        if self.max_ring_size < self.min_ring_size:
            raise ConfigError(
                f"max_ring_size ({self.max_ring_size!r}) must not be below min_ring_size "
                f"({self.min_ring_size!r})"
            )
        if self.leiden_objective not in ("modularity", "CPM"):
            raise ConfigError(
                f"leiden_objective must be 'modularity' or 'CPM'; got {self.leiden_objective!r}"
            )
        if not (_is_number(self.leiden_resolution) and 0 < self.leiden_resolution < math.inf):
            raise ConfigError(
                "leiden_resolution must be a finite positive number; "
                f"got {self.leiden_resolution!r}"
            )
        if not (_is_int(self.leiden_iterations) and self.leiden_iterations >= 1):
            # leidenalg's 'until stable' (negative) can run for ever on real graphs.
            raise ConfigError(
                f"leiden_iterations must be a positive integer; got {self.leiden_iterations!r}"
            )
        if not 0 < self.lineage_min_jaccard <= 1:
            raise ConfigError(
                f"lineage_min_jaccard must be in (0, 1]; got {self.lineage_min_jaccard!r}"
            )
        if not (_is_int(self.top_pages) and self.top_pages >= 0):
            raise ConfigError(f"top_pages must be an integer >= 0; got {self.top_pages!r}")
        self._check_model()
        if (
            any(
                getattr(self, f.name) != f.default
                for f in dataclasses.fields(self)
                if f.name.startswith("alert_") and f.name != "alert_directions"
            )
            or self.alert_directions
        ):
            self.alert_settings()  # checked by AlertSettings (only when changed: it loads numpy)
        if not (_is_int(self.seed) and 0 <= self.seed < 2**31):
            raise ConfigError(f"seed must be in [0, 2**31); got {self.seed!r}")
        for name, kind in _KINDS.items():  # the checks above catch these; kept as a backstop
            value = getattr(self, name)
            if kind in (_FLOAT, _OPTIONAL_FLOAT) and value is not None and not math.isfinite(value):
                raise ConfigError(f"{name} must be a finite number; got {value!r}")

    def _check_types(self) -> None:
        """Kind tables normalised; every number of the right type, integers within 64 bits."""
        for name in _KIND_TABLES:
            table = getattr(self, name)
            if not isinstance(table, Mapping):
                raise ConfigError(f"{name} must be {_KINDS[name]}; got {table!r}")
            object.__setattr__(self, name, _kind_table(name, table))
        if not _is_texts(self.common_placeholders):
            raise ConfigError(
                f"common_placeholders must be a list of text; got {self.common_placeholders!r}"
            )
        object.__setattr__(self, "common_placeholders", tuple(self.common_placeholders))
        if not _is_texts(self.metric_segments):
            raise ConfigError(
                f"metric_segments must be a list of text; got {self.metric_segments!r}"
            )
        object.__setattr__(self, "metric_segments", tuple(self.metric_segments))
        built_in = [
            kind
            for kind in self.metric_segments
            if kind in _BUILT_IN_SEGMENTS or kind.startswith("ring:")
        ]
        if built_in:
            raise ConfigError(
                f"metric_segments may not name {built_in[0]!r}: the metrics have segments of "
                f"that kind of their own ({', '.join(_BUILT_IN_SEGMENTS)} and ring:<kind>)"
            )
        if not isinstance(self.alert_directions, Mapping):
            raise ConfigError(
                f"alert_directions must be {_DIRECTIONS}; got {self.alert_directions!r}"
            )
        object.__setattr__(self, "alert_directions", dict(self.alert_directions))
        for kind, values in self.placeholders.items():
            if not _is_texts(values):
                raise ConfigError(f"placeholders[{kind!r}] must be a list of text; got {values!r}")
        object.__setattr__(
            self, "placeholders", {kind: tuple(v) for kind, v in self.placeholders.items()}
        )
        numbers = [(name, getattr(self, name), _KINDS[name]) for name in _KINDS]
        numbers += [(f"hub_limits[{k!r}]", v, _INT) for k, v in self.hub_limits.items()]
        for name, value, kind in numbers:
            if value is None and kind in (_OPTIONAL_FLOAT, _OPTIONAL_INT):
                continue
            if kind in (_FLOAT, _OPTIONAL_FLOAT) and not _is_number(value):
                raise ConfigError(f"{name} must be {kind}; got {value!r}")
            # Other kinds of value are named by the checks of each field.
            if kind in (_INT, _OPTIONAL_INT) and _is_int(value) and abs(value) > _MAX_INT:
                raise ConfigError(f"{name} must be an integer of at most 2**63 - 1; got {value!r}")

    def _check_model(self) -> None:
        if self.learner not in ("random_forest", "gradient_boosting"):
            raise ConfigError(
                f"learner must be 'random_forest' or 'gradient_boosting'; got {self.learner!r}"
            )
        for name in ("cv_folds", "n_estimators"):
            value = getattr(self, name)
            if not (isinstance(value, int) and not isinstance(value, bool) and value >= 2):
                raise ConfigError(f"{name} must be an integer >= 2; got {value!r}")
        if not (_is_int(self.min_samples_leaf) and self.min_samples_leaf >= 1):
            raise ConfigError(
                f"min_samples_leaf must be an integer >= 1; got {self.min_samples_leaf!r}"
            )
        if self.max_tree_rows is not None and not (
            _is_int(self.max_tree_rows) and self.max_tree_rows >= 1
        ):
            raise ConfigError(
                f"max_tree_rows must be a positive integer (leave it out for all rows); "
                f"got {self.max_tree_rows!r}"
            )
        if self.importance not in ("impurity", "permutation", "none"):
            raise ConfigError(
                f"importance must be 'impurity', 'permutation' or 'none'; got {self.importance!r}"
            )
        repeats = self.importance_repeats
        if not (isinstance(repeats, int) and not isinstance(repeats, bool) and repeats >= 0):
            raise ConfigError(
                f"importance_repeats must be an integer >= 0; got {self.importance_repeats!r}"
            )
        if not (_is_int(self.anomaly_trees) and self.anomaly_trees >= 0):
            raise ConfigError(f"anomaly_trees must be an integer >= 0; got {self.anomaly_trees!r}")
        jobs = self.n_jobs
        if not (isinstance(jobs, int) and not isinstance(jobs, bool) and jobs != 0):
            raise ConfigError(f"n_jobs must be a non-zero integer; got {self.n_jobs!r}")
        for name in ("syndicate_precision", "review_precision"):
            value = getattr(self, name)
            if not 0 < value <= 1:
                raise ConfigError(f"{name} must be in (0, 1]; got {value!r}")
        if not (
            _is_int(self.min_known_bad_for_thresholds) and self.min_known_bad_for_thresholds >= 0
        ):
            raise ConfigError(
                "min_known_bad_for_thresholds must be an integer >= 0; "
                f"got {self.min_known_bad_for_thresholds!r}"
            )
        if self.bad_rate is not None and not 0 < self.bad_rate < 1:
            raise ConfigError(f"bad_rate must be in (0, 1); got {self.bad_rate!r}")
        for name in (
            "syndicate_threshold",
            "review_threshold",
            "cold_syndicate_threshold",
            "cold_review_threshold",
        ):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 1:
                raise ConfigError(f"{name} must be in [0, 1]; got {value!r}")
        pairs = (
            ("review_precision", "syndicate_precision"),
            ("review_threshold", "syndicate_threshold"),
            ("cold_review_threshold", "cold_syndicate_threshold"),
        )
        for low, high in pairs:
            a, b = getattr(self, low), getattr(self, high)
            if a is not None and b is not None and a > b:
                raise ConfigError(f"{low} ({a!r}) must not exceed {high} ({b!r})")

    @classmethod
    def from_mapping(cls, document: Mapping[str, Any]) -> Config:
        """A config from a nested mapping laid out as :data:`CONFIG_SECTIONS`.

        Keys left out keep their defaults, and kinds left out of ``kind_weights`` and
        ``hub_limits`` keep theirs; unknown keys and values of the wrong kind raise
        :class:`~syndicate.errors.ConfigError` naming the key.

        Examples
        --------
        >>> Config.from_mapping({"rings": {"leiden_resolution": 0.5}, "seed": 7}).seed
        7
        """
        values: dict[str, object] = {}
        for key, value in document.items():
            if key in CONFIG_SECTIONS:
                if not isinstance(value, Mapping):
                    raise ConfigError(f"[{key}] must be a table; got {value!r}")
                for name, item in value.items():
                    field_name = _locate(f"{key}.{name}")
                    values[field_name] = _checked(field_name, item)
            else:
                name = _locate(key)
                values[name] = _checked(name, value)
        return cls()._merged(values)

    def _merged(self, values: Mapping[str, object]) -> Config:
        """This config with ``values`` set; kind tables are merged into the current ones."""
        changes = dict(values)
        for name in _KIND_TABLES:
            if name in changes:
                changes[name] = {**getattr(self, name), **changes[name]}  # type: ignore[dict-item]
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> Config:
        """Read a TOML config file (see :meth:`to_toml` for the layout and defaults).

        Raises
        ------
        ConfigError
            The file is missing, is not valid TOML, or holds an unknown key or a bad
            value; the message names the file.
        """
        file = Path(path)
        try:
            document = tomllib.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {str(file)!r} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file {str(file)!r} cannot be read: {exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {str(file)!r} is not valid TOML: {exc}") from exc
        try:
            return cls.from_mapping(document)
        except ConfigError as exc:
            raise ConfigError(f"config file {str(file)!r}: {exc}") from exc

    def with_overrides(self, assignments: Sequence[str]) -> Config:
        """This config with ``section.key=value`` assignments applied (the CLI's ``--set``).

        The value is read as a TOML value (``0.5``, ``"CPM"``, ``{payout = 4.0}``); bare
        text that is not valid TOML is taken as a string.

        Examples
        --------
        >>> Config().with_overrides(["rings.leiden_objective=CPM"]).leiden_objective
        'CPM'
        """
        changes: dict[str, object] = {}
        for assignment in assignments:
            key, sep, text = assignment.partition("=")
            if not sep or not key.strip():
                raise ConfigError(f"expected SECTION.KEY=VALUE; got {assignment!r}")
            name = _locate(key.strip())
            try:
                value = tomllib.loads(f"value = {text.strip()}")["value"]
            except tomllib.TOMLDecodeError:
                value = text.strip()
            value = _checked(name, value)
            if isinstance(value, dict) and isinstance(changes.get(name), dict):
                value = {**changes[name], **value}  # type: ignore[dict-item]
            changes[name] = value
        return self._merged(changes)

    def to_mapping(self) -> dict[str, Any]:
        """The config as nested plain data (``None`` for unset values), for manifests."""
        document: dict[str, Any] = {"seed": self.seed}
        for section, names in CONFIG_SECTIONS.items():
            document[section] = {name: _plain(getattr(self, name)) for name in names}
        return document

    def to_toml(self) -> str:
        """The config as a TOML file :meth:`from_toml` reads back (unset values commented).

        Kind tables read from a file are merged into the default kinds, so a config that
        drops a default kind reads back with it (its weight and limit as written here).

        Examples
        --------
        >>> Config.from_mapping(__import__("tomllib").loads(Config().to_toml())) == Config()
        True
        """
        lines = [
            "# syndicate configuration: every key is optional (left out: the default shown).",
            f"seed = {self.seed}",
        ]
        for section, names in CONFIG_SECTIONS.items():
            lines += ["", f"[{section}]"]
            for name in names:
                value = getattr(self, name)
                if value is None:
                    lines.append(f"# {name} = (unset)")
                elif name == "placeholders":  # lists per kind: a table of its own, one per line
                    lines += ["", f"[{section}.{name}]"]
                    lines += [
                        _toml_line(_toml_key(kind), items) for kind, items in sorted(value.items())
                    ]
                else:
                    lines.append(_toml_line(name, value))
        return "\n".join(lines) + "\n"

    def alert_settings(self) -> AlertSettings:
        """The ``[monitor]`` alert knobs as :class:`syndicate.monitor.alerts.AlertSettings`.

        Raises
        ------
        ConfigError
            A knob is out of range (the message names the ``alert_`` field).
        """
        from syndicate.monitor.alerts import AlertSettings

        values = {
            field.name.removeprefix("alert_"): getattr(self, field.name)
            for field in dataclasses.fields(self)
            if field.name.startswith("alert_")
        }
        try:
            return AlertSettings(**values)
        except ConfigError as exc:
            raise ConfigError(f"monitor: alert_{exc}") from None

    def kind_weight(self, kind: str) -> float:
        """The weight of one shared identifier of ``kind``."""
        return float(self.kind_weights.get(kind, self.default_kind_weight))

    def hub_limit(self, kind: str) -> int:
        """The most sellers an identifier of ``kind`` may be shared by."""
        return int(self.hub_limits.get(kind, self.default_hub_limit))


def _toml_char(char: str) -> str:
    """One character of a TOML basic string, escaped where TOML requires it."""
    if char in '"\\':
        return "\\" + char
    if ord(char) < 0x20 or ord(char) == 0x7F:
        return f"\\u{ord(char):04x}"
    return char


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _plain(value: object) -> object:
    """Plain JSON-like data: mappings as dicts, tuples as lists."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return list(value)
    return value


def _toml_line(key: str, value: object, width: int = 99) -> str:
    """``key = value``; a list too long for one line is wrapped, four spaces in."""
    line = f"{key} = {_toml_value(value)}"
    if len(line) <= width or not isinstance(value, tuple | list):
        return line
    rows, row = [], ""
    for item in (_toml_value(item) + "," for item in value):
        if row and len(row) + 1 + len(item) > width - 4:
            rows.append(row)
            row = ""
        row = f"{row} {item}" if row else item
    return "\n".join([f"{key} = [", *(f"    {r}" for r in [*rows, row]), "]"])


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _toml_value(key)


def _toml_value(value: object) -> str:
    if isinstance(value, Mapping):
        items = ", ".join(
            f"{_toml_key(key)} = {_toml_value(item)}" for key, item in sorted(value.items())
        )
        return "{ " + items + " }"
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, str):
        return '"' + "".join(_toml_char(char) for char in value) + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)
