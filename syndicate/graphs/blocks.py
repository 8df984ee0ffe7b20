"""Dense blocks in the seller–identifier graph: a camouflage-resistant ring detector.

A ring shows as a *dense block* of the bipartite graph of sellers and the identifiers they
hold: a set of sellers that hold, between them, a set of identifiers few others hold. The
measure is Fraudar's (Hooi et al., KDD 2016). Every edge into identifier ``j`` weighs

``c_j = kind_weight(kind_j) / ln(n_j + 5)``

where ``n_j`` is the number of sellers holding ``j``; for a set ``S`` of sellers and
identifiers, ``f(S)`` is the weight of the edges inside ``S`` and its density is
``rho(S) = f(S) / |S|``. Popular identifiers weigh little, so honest sellers who hold one
(camouflage, or just a shared Wi-Fi) add little weight and many nodes.

The search peels in batches (Bahmani, Kumar and Vassilvitskii, VLDB 2012), every connected
*piece* of the graph at once, with numpy and scipy routines only: each pass removes, in each
piece, the nodes whose *priority* (the weight of their edges inside the piece; a seller's
is the sum of its identifiers' ``c_j``, an identifier's is ``c_j`` times its holders in the
piece) is small, plus the identifiers that are no longer mostly held inside the piece. The
pieces form a tree over the passes (a piece ends when it splits or dies); the densest
snapshot of each branch is a candidate block, and disjoint blocks are chosen bottom-up.
See :func:`peel` for the rules and :func:`find_dense_blocks` for the table interface.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from syndicate.errors import InputError, SchemaError

__all__ = [
    "BLOCKS_SCHEMA",
    "IDENTIFIERS_SCHEMA",
    "MEMBERS_SCHEMA",
    "DenseBlocks",
    "Peeled",
    "block_density",
    "block_id_for",
    "empty_blocks",
    "find_dense_blocks",
    "peel",
]

MEMBERS_SCHEMA = {"seller_id": pl.String, "block_id": pl.String}
IDENTIFIERS_SCHEMA = {"kind": pl.String, "key": pl.String, "block_id": pl.String}
BLOCKS_SCHEMA = {
    "block_id": pl.String,
    "n_sellers": pl.UInt32,
    "n_identifiers": pl.UInt32,
    "density": pl.Float64,
}


@dataclass(frozen=True)
class DenseBlocks:
    """Disjoint dense blocks of sellers and identifiers.

    Attributes
    ----------
    members
        One row per seller in a block: ``seller_id``, ``block_id``; sorted by ``seller_id``.
    blocks
        One row per block: ``block_id``, ``n_sellers``, ``n_identifiers`` (identifiers in
        the block's densest snapshot) and ``density`` (``rho`` of that snapshot, sellers
        and identifiers together); sorted by ``block_id``.
    identifiers
        One row per identifier in a block's densest snapshot: ``kind``, ``key``,
        ``block_id``; sorted by ``(kind, key)``.
    """

    members: pl.DataFrame
    blocks: pl.DataFrame
    identifiers: pl.DataFrame


@dataclass(frozen=True)
class Peeled:
    """What :func:`peel` found, in the caller's node numbering.

    Attributes
    ----------
    seller_block, identifier_block
        Block index of each seller and identifier, ``-1`` outside every block. Blocks are
        numbered ``0, 1, ...`` in the order of their smallest seller index.
    density
        ``rho`` of each block (its densest snapshot), shape ``(n_blocks,)``.
    best_density
        The largest ``rho`` of any piece at any pass, valid block or not (``0.0`` for an
        empty graph): the batch peel's answer to the densest-subgraph problem.
    n_passes
        Number of passes run.
    """

    seller_block: np.ndarray
    identifier_block: np.ndarray
    density: np.ndarray
    best_density: float
    n_passes: int

    @property
    def n_blocks(self) -> int:
        """Number of blocks."""
        return int(self.density.shape[0])


def block_id_for(smallest_member: str) -> str:
    """A block's id: a short hash of its smallest seller id (stable across runs).

    Examples
    --------
    >>> block_id_for("s000123")
    'block-bca5d2cc4901'
    """
    return short_id("block", smallest_member)


def short_id(prefix: str, name: str) -> str:
    """``prefix-`` and 12 hex digits of the blake2b hash of ``name`` (ring and block ids)."""
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=6).hexdigest()
    return f"{prefix}-{digest}"


def _check_kind_weights(kind_weights: Mapping[str, float], default: float) -> None:
    for name, value in {**kind_weights, "(default)": default}.items():
        if not (math.isfinite(value) and value >= 0):
            raise InputError(f"kind weight {name!r} must be finite and >= 0, got {value!r}")


def _check_parameters(
    min_sellers: int, max_sellers: int, min_density: float, min_identifier_share: float, eps: float
) -> None:
    if min_sellers < 1:
        raise InputError(f"min_sellers must be >= 1, got {min_sellers}")
    if max_sellers < min_sellers:
        raise InputError(f"max_sellers ({max_sellers}) must be >= min_sellers ({min_sellers})")
    if not math.isfinite(min_density):
        raise InputError(f"min_density must be finite, got {min_density}")
    if not 0.0 <= min_identifier_share <= 1.0:
        raise InputError(f"min_identifier_share must be in [0, 1], got {min_identifier_share}")
    if not (math.isfinite(eps) and eps > 0):
        raise InputError(f"eps must be finite and > 0, got {eps}")


def peel(
    seller_index: np.ndarray,
    identifier_index: np.ndarray,
    weight: np.ndarray,
    n_sellers: int,
    n_identifiers: int,
    holders: np.ndarray | None = None,
    *,
    min_sellers: int = 3,
    max_sellers: int = 200,
    min_density: float = 0.5,
    min_identifier_share: float = 0.5,
    eps: float = 0.1,
) -> Peeled:
    """Batch-peel a weighted bipartite graph into disjoint dense blocks.

    Parameters
    ----------
    seller_index, identifier_index
        The edges: seller ``seller_index[e]`` holds identifier ``identifier_index[e]``
        (integers in ``[0, n_sellers)`` and ``[0, n_identifiers)``; duplicates are ignored).
    weight
        ``c_j`` of each identifier, shape ``(n_identifiers,)``: every edge into ``j`` weighs
        ``weight[j]``.
    n_sellers, n_identifiers
        Node counts.
    holders
        Global holder count ``n_j`` of each identifier, for the exclusivity rule (its
        degree here when not given, or when larger).
    min_sellers, max_sellers, min_density
        A snapshot is a valid block when it has between ``min_sellers`` and ``max_sellers``
        sellers and ``rho >= min_density``.
    min_identifier_share
        An identifier is removed as soon as fewer than ``min_identifier_share * n_j`` of its
        holders are left (``0`` turns the rule off).
    eps
        Peeling slack: smaller is slower and finer.

    Returns
    -------
    Peeled

    Notes
    -----
    Each pass, in each connected piece ``P`` of what is left (scipy's connected components,
    all pieces at once):

    1. A piece with fewer than ``min_sellers`` sellers is retired whole (a piece always
       has an identifier: nodes left without an edge are removed, see 3).
    2. Every node whose priority is at most ``tau(P)`` is removed, where
       ``tau(P) = max((1 + eps) * rho(P), q(P))`` and ``q(P)`` is the priority of the
       ``ceil(delta |P|)``-th lowest node of ``P``, ``delta = eps / (1 + eps)``. So at least
       a ``delta`` share of every piece goes each pass (``O(log n / eps)`` passes), and by
       Markov's inequality ``q(P) <= 2 (1 + eps) rho(P)``: every removed node has priority
       at most ``2 (1 + eps) rho(P)``, which is what Bahmani et al.'s
       ``1 / (2 (1 + eps))`` approximation of the densest subgraph needs. Taking no more
       than that keeps blocks of many sellers and few identifiers (whose sellers' priority
       is below the average ``2 rho``) intact while the camouflage around them is peeled.
    3. Then identifiers held by fewer than ``min_identifier_share * n_j`` of the sellers
       left are removed, and so are nodes left without an edge. So every recorded snapshot
       holds only identifiers mostly held inside it.

    A *segment* is a maximal run of passes during which a piece does not split; a piece that
    splits ends its segment and each part starts a child segment. Each segment keeps its
    densest pass (the earliest on ties). Selection is bottom-up: a segment is kept when its
    best snapshot is a valid block at least as dense as every block kept below it, else the
    blocks kept among its children are. Every float sum runs in identifier order and all
    nodes at or under a threshold go together, so the result does not depend on how
    sellers are numbered (beyond the block numbering) nor on the order of the edges.
    """
    _check_parameters(min_sellers, max_sellers, min_density, min_identifier_share, eps)
    n_s, n_i = int(n_sellers), int(n_identifiers)
    sellers = np.asarray(seller_index, dtype=np.int64).ravel()
    identifiers = np.asarray(identifier_index, dtype=np.int64).ravel()
    c = np.asarray(weight, dtype=np.float64).ravel()
    if sellers.shape != identifiers.shape:
        raise InputError("seller_index and identifier_index must have the same length")
    if c.shape != (n_i,):
        raise InputError(f"weight must have shape ({n_i},), got {c.shape}")
    if not np.all(np.isfinite(c) & (c >= 0)):
        raise InputError("weight must be finite and >= 0")
    in_range = (sellers >= 0) & (sellers < n_s) & (identifiers >= 0) & (identifiers < n_i)
    if not in_range.all():
        raise InputError("edge indices out of range")
    edge_s, edge_j = _distinct_edges(sellers, identifiers, n_i)
    held = np.bincount(edge_j, minlength=n_i)
    n_j = held if holders is None else np.asarray(holders, dtype=np.int64).ravel()
    if n_j.shape != (n_i,):
        raise InputError(f"holders must have shape ({n_i},), got {n_j.shape}")
    n_j = np.maximum(n_j, held)
    need_holders = min_identifier_share * n_j.astype(np.float64)
    delta = eps / (1.0 + eps)

    n_nodes = n_s + n_i
    keep = ((held > 0) & (held >= need_holders))[edge_j]
    edge_s, edge_j = edge_s[keep], edge_j[keep]
    alive = np.zeros(n_nodes, dtype=bool)
    alive[edge_s] = True
    alive[n_s + edge_j] = True
    # The nodes left, by global number (sellers first), and the edges between them in local
    # numbers (an index into ``nodes``), sorted by seller then identifier.
    nodes = np.flatnonzero(alive)
    m_s = int(np.searchsorted(nodes, n_s))
    local = np.empty(n_nodes, dtype=np.int64)
    local[nodes] = np.arange(nodes.size)
    a, b = local[edge_s], local[n_s + edge_j]
    edge_c = c[edge_j]
    node_c, node_need = c[nodes[m_s:] - n_s], need_holders[nodes[m_s:] - n_s]
    node_segment = np.full(nodes.size, -1, dtype=np.int64)
    removed_at = np.zeros(n_nodes, dtype=np.int64)  # first pass at which the node is gone
    last_segment = np.full(n_nodes, -1, dtype=np.int64)  # its segment when removed

    parent_parts: list[np.ndarray] = []
    created_parts: list[np.ndarray] = []
    rec_segment: list[np.ndarray] = []
    rec_rho: list[np.ndarray] = []
    rec_sellers: list[np.ndarray] = []
    n_segments = 0
    t = 0
    while nodes.size:
        m = nodes.size
        graph = csr_matrix((np.ones(a.size, dtype=np.int8), (a, b)), shape=(m, m))
        n_pieces, label_raw = connected_components(graph, directed=False)
        label = label_raw.astype(np.int64)

        # Priorities, and each piece's weight, size and seller count.
        priority = np.empty(m, dtype=np.float64)
        priority[:m_s] = np.bincount(a, weights=edge_c, minlength=m_s)
        priority[m_s:] = node_c * np.bincount(b - m_s, minlength=m - m_s)
        f = np.bincount(label[m_s:], weights=priority[m_s:], minlength=n_pieces)
        size = np.bincount(label, minlength=n_pieces)
        piece_sellers = np.bincount(label[:m_s], minlength=n_pieces)
        rho = f / size

        # Segments: a piece continues its segment unless that segment split this pass.
        came_from = np.empty(n_pieces, dtype=np.int64)
        came_from[label] = node_segment
        siblings = np.bincount(came_from[came_from >= 0], minlength=n_segments)
        goes_on = came_from >= 0
        goes_on[goes_on] = siblings[came_from[goes_on]] == 1
        segment = came_from.copy()
        fresh = np.flatnonzero(~goes_on)
        segment[fresh] = n_segments + np.arange(fresh.size)
        n_segments += fresh.size
        parent_parts.append(came_from[fresh])
        created_parts.append(np.full(fresh.size, t, dtype=np.int64))
        rec_segment.append(segment)
        rec_rho.append(rho)
        rec_sellers.append(piece_sellers)
        node_segment = segment[label]

        # Removal: batch threshold, at least a delta share of each piece.
        tau = (1.0 + eps) * rho
        below = priority <= tau[label]
        quota = np.ceil(delta * size).astype(np.int64)
        short = np.bincount(label[below], minlength=n_pieces) < quota
        if short.any():
            pick = np.flatnonzero(short[label])
            order = pick[np.lexsort((priority[pick], label[pick]))]
            short_pieces = np.flatnonzero(short)
            starts = np.cumsum(size[short_pieces]) - size[short_pieces]
            q = priority[order[starts + quota[short_pieces] - 1]]
            tau[short_pieces] = np.maximum(tau[short_pieces], q)
            below = priority <= tau[label]
        stays = ~below & (piece_sellers >= min_sellers)[label]
        # Exclusivity, then nodes left without an edge.
        edge_on = stays[a] & stays[b]
        holders_left = np.bincount(b[edge_on] - m_s, minlength=m - m_s)
        stays[m_s:] &= holders_left >= node_need
        edge_on &= stays[b]
        degree = np.bincount(a[edge_on], minlength=m) + np.bincount(b[edge_on], minlength=m)
        stays &= degree > 0

        gone = ~stays
        removed_at[nodes[gone]] = t + 1
        last_segment[nodes[gone]] = node_segment[gone]
        renumber = np.cumsum(stays) - 1
        a, b, edge_c = renumber[a[edge_on]], renumber[b[edge_on]], edge_c[edge_on]
        node_c, node_need = node_c[stays[m_s:]], node_need[stays[m_s:]]
        node_segment = node_segment[stays]
        m_s = int(np.count_nonzero(stays[:m_s]))
        nodes = nodes[stays]
        t += 1

    return _select(
        n_s,
        n_i,
        t,
        parent_parts,
        created_parts,
        rec_segment,
        rec_rho,
        rec_sellers,
        removed_at,
        last_segment,
        min_sellers=min_sellers,
        max_sellers=max_sellers,
        min_density=min_density,
    )


def _select(
    n_s: int,
    n_i: int,
    n_passes: int,
    parent_parts: list[np.ndarray],
    created_parts: list[np.ndarray],
    rec_segment: list[np.ndarray],
    rec_rho: list[np.ndarray],
    rec_sellers: list[np.ndarray],
    removed_at: np.ndarray,
    last_segment: np.ndarray,
    *,
    min_sellers: int,
    max_sellers: int,
    min_density: float,
) -> Peeled:
    """Best snapshot of each segment, bottom-up choice of disjoint blocks, their members."""
    if not rec_segment:
        return Peeled(
            seller_block=np.full(n_s, -1, dtype=np.int64),
            identifier_block=np.full(n_i, -1, dtype=np.int64),
            density=np.zeros(0, dtype=np.float64),
            best_density=0.0,
            n_passes=n_passes,
        )
    parent = np.concatenate(parent_parts)
    created = np.concatenate(created_parts)
    seg = np.concatenate(rec_segment)
    rho = np.concatenate(rec_rho)
    n_sel = np.concatenate(rec_sellers)
    at = np.concatenate(
        [np.full(part.size, p, dtype=np.int64) for p, part in enumerate(rec_segment)]
    )
    # Best pass of each segment: highest rho, then earliest pass.
    order = np.lexsort((at, -rho, seg))
    first = order[np.r_[True, seg[order][1:] != seg[order][:-1]]]
    best_rho, best_pass, best_sellers = rho[first], at[first], n_sel[first]
    valid = (best_sellers >= min_sellers) & (best_sellers <= max_sellers)
    valid &= best_rho >= min_density

    # Bottom-up: children are created at later passes than their parents.
    n_seg = parent.size
    below = np.full(n_seg, -np.inf)
    selected = np.zeros(n_seg, dtype=bool)
    by_pass = np.argsort(created, kind="stable")
    bounds = np.searchsorted(created[by_pass], np.arange(n_passes + 1))
    for p in range(n_passes - 1, -1, -1):
        level = by_pass[bounds[p] : bounds[p + 1]]
        selected[level] = valid[level] & (best_rho[level] >= below[level])
        up = np.where(selected[level], best_rho[level], below[level])
        has_parent = parent[level] >= 0
        np.maximum.at(below, parent[level][has_parent], up[has_parent])
    # Top-down: a selected segment is chosen unless an ancestor was; owner = chosen ancestor.
    owner = np.full(n_seg, -1, dtype=np.int64)
    for p in range(n_passes):
        level = by_pass[bounds[p] : bounds[p + 1]]
        inherited = np.where(parent[level] >= 0, owner[np.maximum(parent[level], 0)], -1)
        owner[level] = np.where((inherited < 0) & selected[level], level, inherited)

    node_owner = np.where(last_segment >= 0, owner[np.maximum(last_segment, 0)], -1)
    inside = node_owner >= 0
    inside[inside] = removed_at[inside] > best_pass[node_owner[inside]]
    node_owner[~inside] = -1
    seller_owner = node_owner[:n_s]
    chosen = np.unique(seller_owner[seller_owner >= 0])
    # Number blocks by their smallest seller index.
    smallest = np.full(n_seg, n_s, dtype=np.int64)
    members = np.flatnonzero(seller_owner >= 0)
    np.minimum.at(smallest, seller_owner[members], members)
    chosen = chosen[np.argsort(smallest[chosen], kind="stable")]
    block_of = np.full(n_seg, -1, dtype=np.int64)
    block_of[chosen] = np.arange(chosen.size)
    node_block = np.where(node_owner >= 0, block_of[np.maximum(node_owner, 0)], -1)
    return Peeled(
        seller_block=node_block[:n_s],
        identifier_block=node_block[n_s:],
        density=best_rho[chosen],
        best_density=float(rho.max()) if rho.size else 0.0,
        n_passes=n_passes,
    )


_SEPARATOR = "\x00"  # between kind and key in an identifier's sort key


@dataclass(frozen=True)
class _Graph:
    """The bipartite table as numbered, distinct edges.

    Sellers are numbered in ``seller_id`` order, identifiers in ``(kind, key)`` order (the
    order of ``kind + NUL + key``, kinds holding no NUL). ``holders`` is the larger of the
    identifier's ``n_sellers`` (if given) and its distinct holders in the table.
    """

    seller: np.ndarray
    identifier: np.ndarray
    seller_ids: pl.Series
    identifier_keys: pl.Series
    weight: np.ndarray
    holders: np.ndarray


def _graph(
    seller_identifiers: pl.DataFrame, kind_weights: Mapping[str, float], default: float
) -> _Graph:
    missing = {"seller_id", "kind", "key"} - set(seller_identifiers.columns)
    if missing:
        raise SchemaError(f"seller_identifiers lacks column(s) {sorted(missing)}")
    _check_kind_weights(kind_weights, default)
    kind = pl.col("kind").cast(pl.String)
    count = pl.col("n_sellers") if "n_sellers" in seller_identifiers.columns else pl.lit(0)
    keyed = seller_identifiers.select(
        pl.col("seller_id").cast(pl.String),
        pl.concat_str(kind, pl.col("key").cast(pl.String), separator=_SEPARATOR).alias("ident"),
        kind.replace_strict(dict(kind_weights), default=default, return_dtype=pl.Float64).alias(
            "kind_weight"
        ),
        count.cast(pl.Int64).fill_null(0).alias("n_sellers"),
        kind.str.contains(_SEPARATOR, literal=True).alias("bad_kind"),
    )
    if keyed["seller_id"].null_count() or keyed["ident"].null_count():
        raise SchemaError("seller_identifiers has nulls in seller_id, kind or key")
    if keyed["bad_kind"].any():
        raise SchemaError("an identifier kind contains a NUL character")
    seller_ids, identifier_keys = (
        frame.to_series()
        for frame in pl.collect_all(
            [
                keyed.lazy().select(pl.col("seller_id").unique().sort()),
                keyed.lazy().select(pl.col("ident").unique().sort()),
            ]
        )
    )
    codes = (
        keyed.lazy()
        .join(seller_ids.to_frame().with_row_index("seller").lazy(), on="seller_id")
        .join(identifier_keys.to_frame().with_row_index("identifier").lazy(), on="ident")
        .select("seller", "identifier", "kind_weight", "n_sellers")
        .collect()
    )
    row_seller = codes["seller"].to_numpy().astype(np.int64)
    row_identifier = codes["identifier"].to_numpy().astype(np.int64)
    n_i = identifier_keys.len()
    kind_weight = np.zeros(n_i, dtype=np.float64)
    kind_weight[row_identifier] = codes["kind_weight"].to_numpy()
    given = np.zeros(n_i, dtype=np.int64)
    np.maximum.at(given, row_identifier, codes["n_sellers"].to_numpy())
    edge_s, edge_j = _distinct_edges(row_seller, row_identifier, n_i)
    holders = np.maximum(given, np.bincount(edge_j, minlength=n_i))
    return _Graph(
        seller=edge_s,
        identifier=edge_j,
        seller_ids=seller_ids,
        identifier_keys=identifier_keys,
        weight=kind_weight / np.log(holders.astype(np.float64) + 5.0),
        holders=holders,
    )


def _distinct_edges(
    seller: np.ndarray, identifier: np.ndarray, n_identifiers: int
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct edges sorted by seller, then identifier (a sort, not a hash: it is faster)."""
    width = max(n_identifiers, 1)
    code = seller * width + identifier
    if code.size > 1 and not np.all(code[1:] > code[:-1]):
        code = np.sort(code)
        code = code[np.r_[True, code[1:] != code[:-1]]]
    return code // width, code % width


def empty_blocks() -> DenseBlocks:
    """No blocks: empty frames with the schemas of :class:`DenseBlocks`."""
    return DenseBlocks(
        members=pl.DataFrame(schema=MEMBERS_SCHEMA),
        blocks=pl.DataFrame(schema=BLOCKS_SCHEMA),
        identifiers=pl.DataFrame(schema=IDENTIFIERS_SCHEMA),
    )


def find_dense_blocks(
    seller_identifiers: pl.DataFrame,
    *,
    kind_weights: Mapping[str, float],
    default_kind_weight: float = 1.0,
    min_sellers: int = 3,
    max_sellers: int = 200,
    min_density: float = 0.5,
    min_identifier_share: float = 0.5,
    eps: float = 0.1,
) -> DenseBlocks:
    """Find disjoint dense blocks of sellers and the identifiers binding them.

    Parameters
    ----------
    seller_identifiers
        The bipartite graph, one row per seller–identifier pair: ``seller_id``, ``kind``,
        ``key`` and ``n_sellers`` (global holder count of the identifier; if the column is
        missing, or smaller than the rows here, the rows here are counted), hubs already
        removed.
    kind_weights, default_kind_weight
        Evidence weight of each kind; kinds not listed weigh ``default_kind_weight``.
    min_sellers, max_sellers, min_density, min_identifier_share, eps
        See :func:`peel`.

    Returns
    -------
    DenseBlocks
        Block ids are :func:`block_id_for` of the block's smallest ``seller_id``.

    Examples
    --------
    >>> rows = [(s, "device", d) for s in ["a", "b", "c", "d"] for d in ["D1", "D2"]]
    >>> table = pl.DataFrame(rows, schema=["seller_id", "kind", "key"], orient="row")
    >>> found = find_dense_blocks(table, kind_weights={"device": 2.5})
    >>> found.members["seller_id"].to_list()
    ['a', 'b', 'c', 'd']
    >>> found.blocks.select("n_sellers", "n_identifiers", pl.col("density").round(4)).rows()
    [(4, 2, 1.5171)]
    """
    _check_parameters(min_sellers, max_sellers, min_density, min_identifier_share, eps)
    graph = _graph(seller_identifiers, kind_weights, default_kind_weight)
    peeled = peel(
        graph.seller,
        graph.identifier,
        graph.weight,
        graph.seller_ids.len(),
        graph.identifier_keys.len(),
        graph.holders,
        min_sellers=min_sellers,
        max_sellers=max_sellers,
        min_density=min_density,
        min_identifier_share=min_identifier_share,
        eps=eps,
    )
    if peeled.n_blocks == 0:
        return empty_blocks()
    in_block = np.flatnonzero(peeled.seller_block >= 0)
    # Blocks are numbered by their smallest seller number, i.e. their smallest seller_id.
    _, first = np.unique(peeled.seller_block[in_block], return_index=True)
    names = pl.Series(
        [block_id_for(name) for name in graph.seller_ids.gather(in_block[first]).to_list()],
        dtype=pl.String,
    )
    members = pl.DataFrame(
        {
            "seller_id": graph.seller_ids.gather(in_block),
            "block_id": names.gather(peeled.seller_block[in_block]),
        },
        schema=MEMBERS_SCHEMA,
    )
    in_ids = np.flatnonzero(peeled.identifier_block >= 0)
    split = graph.identifier_keys.gather(in_ids).str.splitn(_SEPARATOR, 2)
    identifiers = pl.DataFrame(
        {
            "kind": split.struct.field("field_0"),
            "key": split.struct.field("field_1"),
            "block_id": names.gather(peeled.identifier_block[in_ids]),
        },
        schema=IDENTIFIERS_SCHEMA,
    )
    blocks = pl.DataFrame(
        {
            "block_id": names,
            "n_sellers": np.bincount(peeled.seller_block[in_block], minlength=peeled.n_blocks),
            "n_identifiers": np.bincount(
                peeled.identifier_block[in_ids], minlength=peeled.n_blocks
            ),
            "density": peeled.density,
        }
    ).cast(BLOCKS_SCHEMA)  # type: ignore[arg-type]
    return DenseBlocks(
        members=members.sort("seller_id"),
        blocks=blocks.sort("block_id"),
        identifiers=identifiers.sort("kind", "key"),
    )


def block_density(
    seller_identifiers: pl.DataFrame,
    sellers: Iterable[str],
    identifiers: Iterable[tuple[str, str]],
    *,
    kind_weights: Mapping[str, float],
    default_kind_weight: float = 1.0,
) -> float:
    """``rho`` of a node set, computed directly from the table (for tests and reports).

    ``f`` sums ``c_j`` over the distinct rows whose seller is in ``sellers`` and whose
    ``(kind, key)`` is in ``identifiers``; the node count is the number of distinct sellers
    and identifiers given, whether the table holds them or not. ``c_j`` is computed as by
    :func:`find_dense_blocks`, and ``f`` is summed in the same order as by :func:`peel`.

    Examples
    --------
    >>> table = pl.DataFrame({"seller_id": ["a", "b"], "kind": "ip", "key": "1.2.3.4"})
    >>> round(block_density(table, ["a", "b"], [("ip", "1.2.3.4")], kind_weights={}), 4)
    0.3426
    """
    chosen_sellers = sorted(set(sellers))
    chosen_ids = sorted(set(identifiers))
    n_nodes = len(chosen_sellers) + len(chosen_ids)
    if n_nodes == 0 or seller_identifiers.height == 0:
        return 0.0
    graph = _graph(seller_identifiers, kind_weights, default_kind_weight)
    seller_in = graph.seller_ids.is_in(chosen_sellers).to_numpy()
    keys = [f"{kind}{_SEPARATOR}{key}" for kind, key in chosen_ids]
    identifier_in = graph.identifier_keys.is_in(keys).to_numpy()
    inside = seller_in[graph.seller] & identifier_in[graph.identifier]
    n_i = graph.identifier_keys.len()
    holders_in = np.bincount(graph.identifier[inside], minlength=n_i)
    # Sequential sum in identifier order, as peel sums a piece's weight.
    f = np.bincount(np.zeros(n_i, dtype=np.int64), weights=graph.weight * holders_in)
    return float(f[0]) / n_nodes
