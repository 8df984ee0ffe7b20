"""Seller linkage graphs: seller–identifier (bipartite), hub control, seller–seller projection.

All table work is Polars. The projection joins the bipartite table with itself on the
identifier, after hubs are held back, so its size is bounded by ``Config.max_pairs``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import polars as pl

from syndicate.config import Config
from syndicate.graphs.normalise import normalise_links

__all__ = ["Hops", "LinkageGraph", "build_linkage", "identifier_table"]

HUBS_SCHEMA = {"kind": pl.String, "key": pl.String, "n_sellers": pl.UInt32, "reason": pl.String}


@dataclass(frozen=True)
class LinkageGraph:
    """The seller graph of a run.

    Attributes
    ----------
    identifiers
        One row per *shared* normalised identifier (held by two sellers or more; an
        identifier missing here is held by one seller only): ``kind``, ``key``,
        ``n_sellers``, ``hub``.
    seller_identifiers
        The bipartite graph restricted to shared identifiers: ``seller_id``, ``kind``,
        ``key``, ``hub`` (one row per distinct seller–identifier pair).
    hubs
        Identifiers held back: ``kind``, ``key``, ``n_sellers``, ``reason``
        (``kind_limit`` or ``pair_budget``).
    edges
        The projected seller graph, one row per linked pair with ``src < dst``:
        ``src``, ``dst``, ``weight``, ``n_shared`` (identifiers and given edges binding the
        pair), ``kinds`` (sorted distinct kinds or relations that bind it) and
        ``backbone`` (the pair shares an identifier that is not popular, or a given edge).
    """

    identifiers: pl.DataFrame
    seller_identifiers: pl.DataFrame
    hubs: pl.DataFrame
    edges: pl.DataFrame

    @cached_property
    def hops(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        """(``seller_id``, ``other``) pairs: linked sellers, and sellers within two hops.

        Both directions, the seller itself excluded, computed once (from
        :attr:`coded_hops`). The second hop runs along the backbone only (pairs sharing an
        identifier that is not popular): through a café IP of 40 sellers every holder
        would reach 40 x 40 sellers in two hops, which says nothing and costs a quadratic
        join.
        """
        coded = self.coded_hops
        return coded.named(coded.one), coded.named(coded.two)

    @cached_property
    def node_order(self) -> pl.DataFrame:
        """Number the linked sellers by what they hold, not by what they are called.

        ``seller_id``, ``node``. Leiden breaks ties by node order, so on a symmetric graph
        the partition follows the numbering. Sellers are numbered by their *signature* (the
        sorted kinds and keys of the shared identifiers they hold, which renaming sellers
        does not change), then by ``seller_id``: renaming sellers, or shuffling rows, gives
        the same partition. Only sellers with equal signatures (or linked by given edges
        alone) fall back on their id. Computed once (ring finding and features use it).
        """
        edges = self.edges
        linked = pl.concat([edges["src"], edges["dst"]]).unique().to_frame("seller_id")
        signature = (
            self.seller_identifiers.filter(~pl.col("hub"))
            .group_by("seller_id")
            .agg(
                pl.concat_str("kind", pl.lit("\x1f"), "key")
                .sort()
                .str.join("\x1e")
                .alias("signature")
            )
        )
        ordered = linked.join(signature, on="seller_id", how="left").sort(
            ["signature", "seller_id"], nulls_last=True
        )
        return ordered.select("seller_id", pl.int_range(pl.len()).alias("node"))

    @cached_property
    def numbered_edges(self) -> pl.DataFrame:
        """:attr:`edges` with the node numbers ``a``, ``b`` of their ends, sorted by them."""
        index = self.node_order
        return (
            self.edges.join(index.rename({"seller_id": "src", "node": "a"}), on="src")
            .join(index.rename({"seller_id": "dst", "node": "b"}), on="dst")
            .sort("a", "b")
        )

    @cached_property
    def coded_hops(self) -> Hops:
        """:attr:`hops` on integer seller codes (joins on integers are several times faster)."""
        edges = self.edges
        nodes = pl.concat([edges["src"], edges["dst"]]).unique().sort().alias("seller_id")
        code = nodes.to_frame().with_row_index("code")
        coded = (
            edges.select("src", "dst", *(["backbone"] if "backbone" in edges.columns else []))
            .join(code.rename({"seller_id": "src", "code": "a"}), on="src")
            .join(code.rename({"seller_id": "dst", "code": "b"}), on="dst")
        )

        def both_ways(frame: pl.DataFrame) -> pl.DataFrame:
            return pl.concat(
                [
                    frame.select("a", "b"),
                    frame.select(pl.col("b").alias("a"), pl.col("a").alias("b")),
                ]
            )

        one = both_ways(coded).sort("a", "b")
        backbone = (
            both_ways(coded.filter(pl.col("backbone"))) if "backbone" in coded.columns else one
        )
        two = (
            backbone.join(backbone.rename({"a": "b", "b": "far"}), on="b")
            .select("a", pl.col("far").alias("b"))
            .filter(pl.col("a") != pl.col("b"))
        )
        # Millions of repeated pairs: made unique as one 64-bit key each (a 2-column unique
        # is 6x slower), which also sorts them by (a, b).
        both = pl.concat([one, two])
        keys = (both["a"].cast(pl.UInt64) * 2**32 + both["b"].cast(pl.UInt64)).unique().sort()
        packed = keys.to_numpy()
        within_two = pl.DataFrame(
            {"a": (packed >> np.uint64(32)).astype(np.uint32), "b": packed.astype(np.uint32)}
        )
        return Hops(nodes, one, within_two)


@dataclass(frozen=True)
class Hops:
    """Neighbour pairs on seller codes: ``nodes[code]`` is the seller id of a code.

    ``one`` (linked pairs) and ``two`` (within two hops) hold ``a``, ``b`` (both directions,
    no seller paired with itself), sorted by ``(a, b)``.
    """

    nodes: pl.Series
    one: pl.DataFrame
    two: pl.DataFrame

    def named(self, pairs: pl.DataFrame, a: str = "seller_id", b: str = "other") -> pl.DataFrame:
        """``pairs`` with seller ids in place of codes (columns ``a``, ``b`` renamed)."""
        return pairs.select(
            self.nodes.gather(pairs["a"]).alias(a), self.nodes.gather(pairs["b"]).alias(b)
        )


def identifier_table(
    links: pl.DataFrame, config: Config | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Normalise links; return the shared part of the bipartite graph and its identifiers.

    Validated links (:func:`syndicate.load_inputs`) carry their ``key`` already, with the
    links that identify nobody refused and written down; other links are normalised here,
    and those whose key is null, empty or a placeholder of ``config`` are left out.

    Most identifiers belong to one seller. They are set aside first on integers: each link
    becomes one 64-bit key, the top bits of a hash of ``(kind, key)`` above an exact seller
    code, and one sort of those keys puts the links of an identifier side by side. A
    (truncated) hash collision can only make a lone identifier look shared, never hide a
    shared one; the candidates left are then grouped exactly by ``(kind, key)``. So the
    heavy work is one integer sort and the result is exact.
    """
    if "key" in links.columns:
        normalised = links.select("seller_id", "kind", "key").with_columns(_seller_codes(links))
    else:
        cfg = config or Config()
        coded = links.select("seller_id", "kind", "value").with_columns(_seller_codes(links))
        normalised = normalise_links(
            coded, placeholders=cfg.placeholders, common_placeholders=cfg.common_placeholders
        )
        usable = pl.col("key").is_not_null() & (pl.col("key") != "") & ~pl.col("placeholder")
        normalised = normalised.filter(usable)
    candidates = normalised.filter(_maybe_shared(normalised))
    bipartite = (
        candidates.select("seller_id", "kind", "key")
        .unique()
        .with_columns(pl.len().over("kind", "key").cast(pl.UInt32).alias("n_sellers"))
        .filter(pl.col("n_sellers") >= 2)
    )
    stats = bipartite.group_by("kind", "key").agg(pl.col("n_sellers").first()).sort("kind", "key")
    return bipartite.select("seller_id", "kind", "key").sort("seller_id", "kind", "key"), stats


def _seller_codes(links: pl.DataFrame) -> pl.Series:
    """An exact integer code per seller (validated links come sorted by seller: a running
    count of changes; otherwise a dense rank, which sorts the ids)."""
    ids = links["seller_id"]
    if ids.is_sorted():
        return ids.ne_missing(ids.shift()).cast(pl.UInt64).cum_sum().alias("seller_code")
    return ids.rank("dense").cast(pl.UInt64).alias("seller_code")


def _maybe_shared(normalised: pl.DataFrame) -> pl.Series:
    """Rows whose hashed identifier has two or more distinct sellers: every shared one, and
    (rarely, after a hash collision) a lone one that the exact grouping drops."""
    if normalised.height == 0:
        return pl.Series(dtype=pl.Boolean)
    codes = normalised["seller_code"].to_numpy()
    bits = np.uint64(max(1, int(codes.max()).bit_length()))
    hashes = normalised.select(pl.struct("kind", "key").hash(seed=0)).to_series().to_numpy()
    prefixes = hashes >> bits
    keys = pl.Series((prefixes << bits) | codes).sort().to_numpy()
    prefix = keys >> bits
    # In key order, a row with its group's prefix but another key is a second seller.
    second = (prefix[1:] == prefix[:-1]) & (keys[1:] != keys[:-1])
    shared = pl.Series(np.unique(prefix[1:][second]))
    return pl.Series(prefixes).is_in(shared.implode())


def _hold_back_hubs(stats: pl.DataFrame, config: Config) -> pl.DataFrame:
    """Mark hubs: over their kind's limit, then by size until the pair budget holds."""
    limit = pl.col("kind").replace_strict(
        {kind: config.hub_limit(kind) for kind in config.hub_limits},
        default=config.default_hub_limit,
        return_dtype=pl.Int64,
    )
    marked = stats.with_columns(
        pl.when(pl.col("n_sellers") > limit)
        .then(pl.lit("kind_limit"))
        .otherwise(None)
        .alias("reason")
    )
    pairs = (pl.col("n_sellers").cast(pl.Int64) * (pl.col("n_sellers").cast(pl.Int64) - 1)) // 2
    # Largest first (ties by kind and key, so the cut is deterministic); hold back the head
    # of the list while the kept identifiers would expand to more than max_pairs.
    ordered = marked.sort(["n_sellers", "kind", "key"], descending=[True, False, False])
    ordered = ordered.with_columns(
        pl.when(pl.col("reason").is_null()).then(pairs).otherwise(0).alias("pairs")
    ).with_columns(pl.col("pairs").cum_sum(reverse=True).alias("pairs_from_here"))
    over_budget = pl.col("reason").is_null() & (pl.col("pairs_from_here") > config.max_pairs)
    return ordered.with_columns(
        pl.when(over_budget).then(pl.lit("pair_budget")).otherwise(pl.col("reason")).alias("reason")
    ).drop("pairs", "pairs_from_here")


def _pair_weight(kind_weight: pl.Expr, n_sellers: pl.Expr, config: Config) -> pl.Expr:
    """What one shared identifier of ``n_sellers`` holders adds to each pair of them."""
    if config.pair_weighting == "log":
        return kind_weight / n_sellers.log(2)
    return kind_weight / (n_sellers - 1.0)


def build_linkage(
    links: pl.DataFrame,
    edges: pl.DataFrame | None = None,
    config: Config | None = None,
) -> LinkageGraph:
    """Build the seller graph from validated links (and optional given edges).

    The weight of a pair sums, over the identifiers the two sellers share,
    ``kind_weight / (n_sellers - 1)`` (resource allocation: each identifier hands every
    holder ``kind_weight`` in all, spread over the others, so a value shared by 2 sellers
    counts fully and one shared by 36 adds 1/35 to each pair; ``pair_weighting = "log"``
    gives ``kind_weight / log2(n_sellers)``), plus ``weight × kind_weight(relation)`` of
    given edges. ``backbone`` marks the pairs that share at least one identifier held by
    at most ``popular_limit`` sellers (or a given edge): rings are found on those only.

    Examples
    --------
    >>> links = pl.DataFrame({"seller_id": ["a", "b", "c"], "kind": "payout",
    ...                       "value": ["GB-1", "gb1", "GB 1"]})
    >>> graph = build_linkage(links)
    >>> graph.edges.select("src", "dst", "n_shared").rows()
    [('a', 'b', 1), ('a', 'c', 1), ('b', 'c', 1)]
    >>> graph.edges["weight"][0]  # payout weight 3.0 / (3 sellers - 1)
    1.5
    """
    cfg = config or Config()
    bipartite, stats = identifier_table(links, cfg)
    marked = _hold_back_hubs(stats, cfg)
    hubs = (
        marked.filter(pl.col("reason").is_not_null())
        .select(list(HUBS_SCHEMA))
        .sort("kind", "key")
        .cast(HUBS_SCHEMA)  # type: ignore[arg-type]
    )
    kept = marked.filter(pl.col("reason").is_null() & (pl.col("n_sellers") >= 2))
    kind_weight = pl.col("kind").replace_strict(
        dict(cfg.kind_weights), default=cfg.default_kind_weight, return_dtype=pl.Float64
    )
    shared = (
        bipartite.join(kept.select("kind", "key", "n_sellers"), on=["kind", "key"])
        .with_columns(
            _pair_weight(kind_weight, pl.col("n_sellers").cast(pl.Float64), cfg).alias("weight"),
            pl.struct("kind", "key").rank("dense").alias("identifier"),
            (pl.col("n_sellers") > cfg.popular_limit).alias("popular"),
        )
        .select("seller_id", "identifier", "kind", "weight", "popular")
    )
    pairs = (
        shared.join(shared.select("seller_id", "identifier"), on="identifier", suffix="_other")
        .filter(pl.col("seller_id") < pl.col("seller_id_other"))
        .select(
            pl.col("seller_id").alias("src"),
            pl.col("seller_id_other").alias("dst"),
            "kind",
            "weight",
            "popular",
        )
    )
    if edges is not None and edges.height:
        given = edges.select(
            pl.min_horizontal("src", "dst").alias("src"),
            pl.max_horizontal("src", "dst").alias("dst"),
            pl.col("relation").alias("kind"),
            pl.col("weight")
            * pl.col("relation").replace_strict(
                dict(cfg.kind_weights), default=cfg.default_kind_weight, return_dtype=pl.Float64
            ),
            pl.lit(False).alias("popular"),
        )
        pairs = pl.concat([pairs, given])
    seller_edges = (
        pairs.group_by("src", "dst")
        .agg(
            pl.col("weight").sort().sum(),  # sorted: the float sum ignores row order
            pl.len().cast(pl.UInt32).alias("n_shared"),
            pl.col("kind").unique().sort().alias("kinds"),
            # The ring-finding backbone: a pair bound by popular identifiers only (a café
            # IP, a shop tablet) is not evidence of a ring, whoever else shares them.
            (~pl.col("popular")).any().alias("backbone"),
        )
        .sort("src", "dst")
    )
    identifiers = marked.select(
        "kind", "key", "n_sellers", pl.col("reason").is_not_null().alias("hub")
    ).sort("kind", "key")
    seller_identifiers = bipartite.join(
        identifiers.select("kind", "key", "hub"), on=["kind", "key"], maintain_order="left"
    )
    return LinkageGraph(
        identifiers=identifiers,
        seller_identifiers=seller_identifiers,
        hubs=hubs,
        edges=seller_edges,
    )
