"""Investigator pages: pyvis ring views, the ranked index, report plots."""

from __future__ import annotations

__all__: list[str] = []
