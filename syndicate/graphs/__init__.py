"""Seller linkage graphs: identifier normalisation, hub control, projection, communities."""

from __future__ import annotations

__all__: list[str] = []
