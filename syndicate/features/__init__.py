"""Per-seller and per-ring graph features, and label-aware features."""

from __future__ import annotations

from syndicate.features.seller import (
    BUILT_IN_KINDS,
    NEIGHBOURHOOD_AGGREGATES,
    SELLER_FEATURES,
    feature_schema,
    neighbour_pairs,
    seller_features,
    tabular_columns,
)

__all__ = [
    "BUILT_IN_KINDS",
    "NEIGHBOURHOOD_AGGREGATES",
    "SELLER_FEATURES",
    "feature_schema",
    "neighbour_pairs",
    "seller_features",
    "tabular_columns",
]
