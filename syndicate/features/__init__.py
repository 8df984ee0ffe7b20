"""Per-seller and per-ring graph features, and label-aware features."""

from __future__ import annotations

from syndicate.features.seller import (
    ANOMALY_EXCLUDED,
    BUILT_IN_KINDS,
    COMPONENT_FEATURES,
    NEIGHBOURHOOD_AGGREGATES,
    SELLER_FEATURES,
    anomaly_scores,
    check_feature_names,
    component_features,
    feature_schema,
    finish_features,
    identifier_counts,
    neighbour_pairs,
    seller_features,
    tabular_columns,
)

__all__ = [
    "ANOMALY_EXCLUDED",
    "BUILT_IN_KINDS",
    "COMPONENT_FEATURES",
    "NEIGHBOURHOOD_AGGREGATES",
    "SELLER_FEATURES",
    "anomaly_scores",
    "check_feature_names",
    "component_features",
    "feature_schema",
    "finish_features",
    "identifier_counts",
    "neighbour_pairs",
    "seller_features",
    "tabular_columns",
]
