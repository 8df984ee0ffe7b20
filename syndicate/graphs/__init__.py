"""Seller linkage graphs: identifier normalisation, hub control, projection, communities."""

from __future__ import annotations

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
