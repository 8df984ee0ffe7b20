"""The one frozen configuration of a run."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from syndicate.errors import ConfigError

__all__ = ["DEFAULT_HUB_LIMITS", "DEFAULT_KIND_WEIGHTS", "Config"]

#: Evidence strength of one shared identifier of each kind (before rarity).
DEFAULT_KIND_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {"payout": 3.0, "device": 2.5, "email": 2.0, "phone": 2.0, "address": 1.5, "ip": 1.0}
)
#: An identifier shared by more sellers than this is a hub and is held back.
DEFAULT_HUB_LIMITS: Mapping[str, int] = MappingProxyType(
    {"payout": 60, "device": 60, "email": 60, "phone": 60, "address": 60, "ip": 60}
)


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
    min_ring_size
        The smallest community reported as a ring.
    leiden_objective, leiden_resolution, leiden_iterations
        Leiden's quality function (``modularity``: RB configuration model; ``CPM``), its
        resolution and number of iterations.
    cv_folds
        Cross-validation folds of the seller model (whole components per fold).
    n_estimators
        Trees of the seller model's Random Forest.
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
    n_jobs
        Worker processes of the forest (``-1``: every core); results do not depend on it.
    seed
        Seed of every random choice.
    """

    kind_weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_KIND_WEIGHTS))
    default_kind_weight: float = 1.0
    hub_limits: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_HUB_LIMITS))
    default_hub_limit: int = 60
    max_pairs: int = 50_000_000
    min_ring_size: int = 3
    leiden_objective: Literal["modularity", "CPM"] = "modularity"
    leiden_resolution: float = 0.35
    leiden_iterations: int = 10
    cv_folds: int = 5
    n_estimators: int = 200
    importance_repeats: int = 1
    syndicate_precision: float = 0.9
    review_precision: float = 0.75
    bad_rate: float | None = None
    syndicate_threshold: float | None = None
    review_threshold: float | None = None
    cold_syndicate_threshold: float = 0.75
    cold_review_threshold: float = 0.7
    n_jobs: int = -1
    seed: int = 0

    def __post_init__(self) -> None:
        weights = {**self.kind_weights, "(default_kind_weight)": self.default_kind_weight}
        for kind, weight in weights.items():
            number = isinstance(weight, int | float) and not isinstance(weight, bool)
            if not (number and math.isfinite(weight) and weight > 0):
                name = (
                    "default_kind_weight"
                    if kind == "(default_kind_weight)"
                    else f"kind_weights[{kind!r}]"
                )
                raise ConfigError(f"{name} must be a finite positive number; got {weight!r}")
        limits = {**self.hub_limits, "(default_hub_limit)": self.default_hub_limit}
        for kind, limit in limits.items():
            if not (isinstance(limit, int) and not isinstance(limit, bool) and limit >= 2):
                name = (
                    "default_hub_limit"
                    if kind == "(default_hub_limit)"
                    else f"hub_limits[{kind!r}]"
                )
                raise ConfigError(f"{name} must be an integer >= 2; got {limit!r}")
        if self.max_pairs < 1:
            raise ConfigError(f"max_pairs must be positive; got {self.max_pairs!r}")
        if self.min_ring_size < 2:
            raise ConfigError(f"min_ring_size must be >= 2; got {self.min_ring_size!r}")
        if self.leiden_objective not in ("modularity", "CPM"):
            raise ConfigError(
                f"leiden_objective must be 'modularity' or 'CPM'; got {self.leiden_objective!r}"
            )
        if not self.leiden_resolution > 0:
            raise ConfigError(f"leiden_resolution must be positive; got {self.leiden_resolution!r}")
        if not (isinstance(self.leiden_iterations, int) and self.leiden_iterations >= 1):
            # leidenalg's 'until stable' (negative) can run for ever on real graphs.
            raise ConfigError(
                f"leiden_iterations must be a positive integer; got {self.leiden_iterations!r}"
            )
        self._check_model()
        if not 0 <= self.seed < 2**31:
            raise ConfigError(f"seed must be in [0, 2**31); got {self.seed!r}")

    def _check_model(self) -> None:
        for name in ("cv_folds", "n_estimators"):
            value = getattr(self, name)
            if not (isinstance(value, int) and not isinstance(value, bool) and value >= 2):
                raise ConfigError(f"{name} must be an integer >= 2; got {value!r}")
        repeats = self.importance_repeats
        if not (isinstance(repeats, int) and not isinstance(repeats, bool) and repeats >= 0):
            raise ConfigError(
                f"importance_repeats must be an integer >= 0; got {self.importance_repeats!r}"
            )
        jobs = self.n_jobs
        if not (isinstance(jobs, int) and not isinstance(jobs, bool) and jobs != 0):
            raise ConfigError(f"n_jobs must be a non-zero integer; got {self.n_jobs!r}")
        for name in ("syndicate_precision", "review_precision"):
            value = getattr(self, name)
            if not 0 < value <= 1:
                raise ConfigError(f"{name} must be in (0, 1]; got {value!r}")
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

    def kind_weight(self, kind: str) -> float:
        """The weight of one shared identifier of ``kind``."""
        return float(self.kind_weights.get(kind, self.default_kind_weight))

    def hub_limit(self, kind: str) -> int:
        """The most sellers an identifier of ``kind`` may be shared by."""
        return int(self.hub_limits.get(kind, self.default_hub_limit))
