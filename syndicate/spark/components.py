"""Connected components in Spark by large-star / small-star (Kiveris et al., SoCC 2014).

Each node ends up labelled with the smallest node id of its component. The edge set is
rewritten, round after round, into a forest of stars, each centred on its component's
smallest node (edges ``(hi, lo)``, ``hi > lo``, ``lo`` the centre):

large-star
    every node ``u`` links each *larger* neighbour to ``m(u)``, the smallest of ``u`` and
    its neighbours;
small-star
    every node ``u`` links itself and each *smaller* neighbour to the smallest of them.

Both keep every component connected and make it no larger; together they converge in
O(log² n) rounds (O(log n) in practice). The test of convergence is exact: the edges form
stars centred on their smallest node, which is the fixed point of both steps (each ``hi``
has one ``lo``, and no ``lo`` is a ``hi``; then every node's label is its ``lo``). That is
checked on the edges themselves, after each round, with two aggregates: no sampling, no
"few enough changes".

Each round's edges are checkpointed (``checkpoint="reliable"``, the default: written to
the session's checkpoint directory, which truncates the plan, which would otherwise grow
by a join per round, and survives the loss of an executor) or, with
``checkpoint="local"``, kept in executor storage (``localCheckpoint``: faster, no files,
but a lost executor or a dynamically released one loses the round, and the job fails).
Use ``"local"`` for small local runs only.

No GraphFrames: its jar is not on PyPI, nothing may be downloaded at run time, and its
connected components gave wrong results with adaptive query execution.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

__all__ = ["Components", "connected_components", "save", "seller_codes"]


@dataclass(frozen=True)
class Components:
    """The components of a graph.

    Attributes
    ----------
    labels
        ``node``, ``component``: one row per node of the edges, ``component`` the smallest
        node id of its component.
    iterations
        Large-star / small-star rounds run until the stars were certified.
    """

    labels: DataFrame
    iterations: int


def save(frame: DataFrame, checkpoint: Literal["reliable", "local"] = "reliable") -> DataFrame:
    """Materialise ``frame`` once and cut its plan (``checkpoint`` or ``localCheckpoint``).

    Stages are saved where they end: the next stage's plan starts from the saved rows, so
    plans (and the text Spark makes of them when caching) stay small.
    """
    if checkpoint == "local":
        return frame.localCheckpoint(eager=True)
    # Writing a checkpoint is a job of its own, which would compute the frame a second
    # time: it is cached for the write and released after.
    cached = frame.persist()
    saved = cached.checkpoint(eager=True)
    cached.unpersist()
    return saved


_save = save


def _large_star(edges: DataFrame) -> DataFrame:
    both = edges.select(F.col("hi").alias("u"), F.col("lo").alias("v")).unionByName(
        edges.select(F.col("lo").alias("u"), F.col("hi").alias("v"))
    )
    smallest = both.groupBy("u").agg(F.least(F.min("v"), F.col("u")).alias("m"))
    return (
        both.join(smallest, on="u")
        .where(F.col("v") > F.col("u"))
        .select(F.col("v").alias("hi"), F.col("m").alias("lo"))
        .distinct()
    )


def _small_star(edges: DataFrame) -> DataFrame:
    smallest = edges.groupBy("hi").agg(F.min("lo").alias("m"))
    centre = smallest.select("hi", F.col("m").alias("lo"))
    spokes = (
        edges.join(smallest, on="hi")
        .where(F.col("lo") != F.col("m"))
        .select(F.col("lo").alias("hi"), F.col("m").alias("lo"))
    )
    return centre.unionByName(spokes).distinct()


def _are_stars(edges: DataFrame) -> bool:
    """Whether every ``hi`` has one ``lo`` and no ``lo`` is a ``hi`` (one Spark job)."""
    roles = edges.select(
        F.col("hi").alias("node"), F.lit(1).alias("as_hi"), F.lit(0).alias("as_lo")
    ).unionByName(
        edges.select(F.col("lo").alias("node"), F.lit(0).alias("as_hi"), F.lit(1).alias("as_lo"))
    )
    counted = roles.groupBy("node").agg(F.sum("as_hi").alias("his"), F.max("as_lo").alias("lo"))
    broken = (F.col("his") > 1) | ((F.col("his") == 1) & (F.col("lo") == 1))
    return counted.where(broken).isEmpty()


def connected_components(
    edges: DataFrame,
    *,
    src: str = "src",
    dst: str = "dst",
    checkpoint: Literal["reliable", "local"] = "reliable",
    max_iterations: int = 100,
) -> Components:
    """Label each node with the smallest node id of its connected component.

    Parameters
    ----------
    edges
        Undirected edges; ``src`` and ``dst`` are integer node ids (repeats, both
        directions and self-loops are fine; a node with a self-loop only is its own
        component).
    src, dst
        The columns of the two ends.
    checkpoint
        ``"reliable"`` (``DataFrame.checkpoint``, needs the session's checkpoint directory)
        or ``"local"`` (``localCheckpoint``); see the module notes.
    max_iterations
        A bound on the rounds (each round at least halves the longest shortest path to a
        centre in practice; 100 is never reached): exceeding it raises ``RuntimeError``.

    Examples
    --------
    >>> from syndicate.spark.session import local_session
    >>> spark = local_session()                                        # doctest: +SKIP
    >>> chain = spark.createDataFrame([(3, 2), (2, 1), (7, 9)], ["src", "dst"])  # doctest: +SKIP
    >>> found = connected_components(chain)                                      # doctest: +SKIP
    >>> sorted(tuple(row) for row in found.labels.collect())                     # doctest: +SKIP
    [(1, 1), (2, 1), (3, 1), (7, 7), (9, 7)]
    """
    ends = edges.select(F.col(src).cast("long").alias("a"), F.col(dst).cast("long").alias("b"))
    nodes = _save(
        ends.select(F.col("a").alias("node"))
        .unionByName(ends.select(F.col("b").alias("node")))
        .distinct(),
        checkpoint,
    )
    current = _save(
        ends.where(F.col("a") != F.col("b"))
        .select(F.greatest("a", "b").alias("hi"), F.least("a", "b").alias("lo"))
        .distinct(),
        checkpoint,
    )
    iterations = 0
    while not _are_stars(current):
        if iterations == max_iterations:
            raise RuntimeError(
                f"connected components did not converge in max_iterations={max_iterations} "
                "rounds of large-star / small-star"
            )
        current = _save(_small_star(_large_star(current)), checkpoint)
        iterations += 1
    labels = nodes.join(current, nodes["node"] == current["hi"], how="left").select(
        "node", F.coalesce("lo", "node").alias("component")
    )
    return Components(labels=labels, iterations=iterations)


def seller_codes(
    seller_ids: DataFrame,
    column: str = "seller_id",
    *,
    checkpoint: Literal["reliable", "local"] = "reliable",
) -> DataFrame:
    """Number sellers by their id: ``seller_id``, ``node`` (a long), in the order of the ids.

    The distinct ids are sorted (range-partitioned) and numbered with
    ``monotonically_increasing_id``, which grows within a partition and from one partition
    to the next: codes in the order of the ids, without a window over one partition (they
    are not consecutive). The numbering is checkpointed, so every use sees the same codes.
    The smallest code of a component is then the code of its smallest ``seller_id``, which
    is how the Polars engine names components.
    """
    ordered = seller_ids.select(F.col(column).alias("seller_id")).distinct().orderBy("seller_id")
    coded = ordered.select("seller_id", F.monotonically_increasing_id().alias("node"))
    return _save(coded, checkpoint)
