"""One function for the per-component stage: rings and component features of a bucket.

A *bucket* is a set of whole connected components of the seller graph (every edge is a
component's; see :func:`syndicate.spark.connected_components`). What is computed for a
component depends on that component alone — ring detection, the dense blocks, the
structure, onboarding, neighbourhood and label-aware features — so a bucket of a few
components gives their rows as the whole graph does, and the results never depend on which
other components share the bucket:

* rings, communities and components are named by their smallest member;
* sellers are numbered by what they hold and then by id (the relative order of a
  component's sellers is the same in any bucket), edges sorted by those numbers;
* Leiden is seeded afresh for each component and gets the component's subgraph built as on
  the whole graph (``linked_total``; :func:`syndicate.graphs.communities.component_subgraph`);
* every float sum runs in an order fixed by the component.

The one exception is ``pagerank``: igraph's PageRank of the bucket's graph, scaled by its
vertex count, agrees with the whole graph's to about 1e-13 relative, 1e-12 for a bucket of
fewer than 128 sellers (igraph's PRPACK solves each component on its own to a tolerance of
1e-10, a graph that small by elimination, then normalises over the graph). The model reads
features as float32 (7 digits).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from syndicate.config import Config
from syndicate.features.seller import component_features
from syndicate.graphs.communities import Rings, find_rings
from syndicate.graphs.linkage import HUBS_SCHEMA, LinkageGraph

__all__ = [
    "BUCKET_EDGES",
    "BUCKET_IDENTIFIERS",
    "ComponentWork",
    "bucket_linkage",
    "component_work",
]

#: Columns and dtypes of a bucket's edges (those of :attr:`LinkageGraph.edges`).
BUCKET_EDGES: dict[str, pl.DataType] = {
    "src": pl.String(),
    "dst": pl.String(),
    "weight": pl.Float64(),
    "n_shared": pl.UInt32(),
    "kinds": pl.List(pl.String()),
    "backbone": pl.Boolean(),
}

#: Columns and dtypes of a bucket's identifiers: one row per seller and shared identifier
#: that is not a hub, with the identifier's holder count (over the whole run).
BUCKET_IDENTIFIERS: dict[str, pl.DataType] = {
    "seller_id": pl.String(),
    "kind": pl.String(),
    "key": pl.String(),
    "n_sellers": pl.UInt32(),
}


@dataclass(frozen=True)
class ComponentWork:
    """What :func:`component_work` found in a bucket.

    Attributes
    ----------
    members, rings, blocks
        As in :class:`syndicate.graphs.communities.Rings`: one row per linked seller
        (``seller_id``, ``component``, ``community``, ``ring_id``), per ring, and per
        seller in a dense block.
    features
        :func:`syndicate.features.component_features`: one row per linked seller.
    linkage
        The bucket's graph (:func:`bucket_linkage`), its neighbour pairs computed.
    """

    members: pl.DataFrame
    rings: pl.DataFrame
    blocks: pl.DataFrame
    features: pl.DataFrame
    linkage: LinkageGraph

    @property
    def found(self) -> Rings:
        """The rings as :class:`~syndicate.graphs.communities.Rings`."""
        return Rings(members=self.members, rings=self.rings, blocks=self.blocks)


def bucket_linkage(edges: pl.DataFrame, identifiers: pl.DataFrame) -> LinkageGraph:
    """The :class:`~syndicate.graphs.linkage.LinkageGraph` of a bucket of components.

    ``edges`` has the columns of :data:`BUCKET_EDGES`, ``identifiers`` those of
    :data:`BUCKET_IDENTIFIERS` (hubs left out: nothing per component looks at them); both
    are cast to those dtypes and their row order does not matter. The graph's ``hubs`` is
    empty.

    Examples
    --------
    >>> edges = pl.DataFrame({"src": ["a"], "dst": ["b"], "weight": [3.0], "n_shared": [1],
    ...                       "kinds": [["payout"]], "backbone": [True]})
    >>> held = pl.DataFrame({"seller_id": ["b", "a"], "kind": "payout", "key": "gb1",
    ...                      "n_sellers": 2})
    >>> bucket_linkage(edges, held).node_order.rows()
    [('a', 0), ('b', 1)]
    """
    missing = [
        f"{table}.{name}"
        for table, frame, schema in (
            ("edges", edges, BUCKET_EDGES),
            ("identifiers", identifiers, BUCKET_IDENTIFIERS),
        )
        for name in schema
        if name not in frame.columns
    ]
    if missing:
        raise ValueError(f"a bucket of components lacks columns {missing}")
    held = identifiers.select(
        pl.col(name).cast(dtype) for name, dtype in BUCKET_IDENTIFIERS.items()
    ).sort("seller_id", "kind", "key")
    return LinkageGraph(
        identifiers=held.select("kind", "key", "n_sellers")
        .unique(["kind", "key"])
        .sort("kind", "key")
        .with_columns(pl.lit(False).alias("hub")),
        seller_identifiers=held.select("seller_id", "kind", "key", pl.lit(False).alias("hub")),
        hubs=pl.DataFrame(schema=HUBS_SCHEMA),
        edges=edges.select(pl.col(name).cast(dtype) for name, dtype in BUCKET_EDGES.items()).sort(
            "src", "dst"
        ),
    )


def component_work(
    edges: pl.DataFrame,
    identifiers: pl.DataFrame,
    sellers: pl.DataFrame,
    labels: pl.DataFrame | None,
    config: Config,
    *,
    linked_total: int | None = None,
) -> ComponentWork:
    """Rings and component features of a bucket of whole connected components.

    Parameters
    ----------
    edges, identifiers
        The bucket's part of the linkage graph (see :func:`bucket_linkage`): every edge of
        its components, and every non-hub shared identifier its sellers hold.
    sellers
        ``seller_id``, ``created_at`` (when the run has it) and the tabular columns of the
        bucket's sellers (other rows are ignored). The tabular columns must be those of the
        whole run: they name the neighbourhood columns.
    labels
        ``seller_id``, ``label`` of the bucket's labelled sellers (``None``: no labels).
    config
        The run's config (ring finding and dense blocks).
    linked_total
        Linked sellers of the whole run (default: the bucket's); see
        :func:`syndicate.graphs.communities.component_subgraph`.

    Returns
    -------
    ComponentWork
        The rows of the bucket's sellers and rings, as :func:`syndicate.find_rings` and
        :func:`syndicate.features.component_features` give them on the whole graph.

    Examples
    --------
    Three sellers sharing a device, and a pair sharing a payout account:

    >>> edges = pl.DataFrame({"src": ["a", "a", "b", "x"], "dst": ["b", "c", "c", "y"],
    ...     "weight": [1.25] * 3 + [3.0], "n_shared": 1,
    ...     "kinds": [["device"]] * 3 + [["payout"]], "backbone": True})
    >>> held = pl.DataFrame({"seller_id": ["a", "b", "c", "x", "y"],
    ...     "kind": ["device"] * 3 + ["payout"] * 2, "key": ["d"] * 3 + ["p"] * 2,
    ...     "n_sellers": [3, 3, 3, 2, 2]})
    >>> sellers = pl.DataFrame({"seller_id": ["a", "b", "c", "x", "y"]})
    >>> work = component_work(edges, held, sellers, None, Config())
    >>> work.members.select("seller_id", "component", "ring_id").rows()[:2]
    [('a', 'a', 'ring-433911c6eb0d'), ('b', 'a', 'ring-433911c6eb0d')]
    >>> work.features.select("seller_id", "degree", "component_size").rows()[3:]
    [('x', 1, 2), ('y', 1, 2)]
    """
    linkage = bucket_linkage(edges, identifiers)
    rings = find_rings(linkage, config, linked_total=linked_total)
    features = component_features(sellers, linkage, rings, labels).sort("seller_id")
    return ComponentWork(
        members=rings.members,
        rings=rings.rings,
        blocks=rings.blocks,
        features=features,
        linkage=linkage,
    )
