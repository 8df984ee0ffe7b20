"""Per-seller and per-ring graph features, and label-aware features."""

from __future__ import annotations

__all__: list[str] = []
