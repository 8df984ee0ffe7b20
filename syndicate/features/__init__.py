"""Per-seller and per-ring graph features, and label-aware features."""

from __future__ import annotations

from syndicate.features.seller import BUILT_IN_KINDS, SELLER_FEATURES, seller_features

__all__ = ["BUILT_IN_KINDS", "SELLER_FEATURES", "seller_features"]
