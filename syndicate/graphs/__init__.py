"""Seller linkage graphs: identifier normalisation, hub control, projection, communities.

Each public name is imported from its module on first use (PEP 562), so validation can use
:mod:`syndicate.graphs.normalise` (Polars only) without loading igraph and networkx.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from syndicate.graphs.blocks import DenseBlocks, find_dense_blocks
    from syndicate.graphs.communities import Rings, find_rings, ring_graph, ring_id_for
    from syndicate.graphs.linkage import LinkageGraph, build_linkage, identifier_table
    from syndicate.graphs.normalise import NORMALISERS, normalise_links

__all__ = [
    "NORMALISERS",
    "DenseBlocks",
    "LinkageGraph",
    "Rings",
    "build_linkage",
    "find_dense_blocks",
    "find_rings",
    "identifier_table",
    "normalise_links",
    "ring_graph",
    "ring_id_for",
]

_EXPORTS: dict[str, str] = {
    "NORMALISERS": "syndicate.graphs.normalise",
    "DenseBlocks": "syndicate.graphs.blocks",
    "LinkageGraph": "syndicate.graphs.linkage",
    "Rings": "syndicate.graphs.communities",
    "build_linkage": "syndicate.graphs.linkage",
    "find_dense_blocks": "syndicate.graphs.blocks",
    "find_rings": "syndicate.graphs.communities",
    "identifier_table": "syndicate.graphs.linkage",
    "normalise_links": "syndicate.graphs.normalise",
    "ring_graph": "syndicate.graphs.communities",
    "ring_id_for": "syndicate.graphs.communities",
}


def __getattr__(name: str) -> object:
    """Import a public name on first access and keep it (PEP 562)."""
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
