"""Strategies meet a run's tables: which sellers each one fires on, and the decisions after.

A **seller-scope** condition reads :func:`seller_table`: the seller's row of
``features.parquet`` with its ring and the model's score and decision from ``labels.parquet``
(``ring_id``, ``seller_score``, ``ring_score``, ``score_source``, ``model_decision``).
A **ring-scope** condition reads :func:`ring_table`: the ring's row of ``rings.parquet``,
every column also under a ``ring_`` name (``size`` is ``ring_size``, ``n_known_bad`` is
``ring_known_bad``, ``status`` is ``ring_status``; columns already starting with ``ring_``
keep their name), so the same words mean the same things in both scopes; a ring that
matches fires on every member.

A seller's decision is the strongest of the model's and of the ``active`` strategies that
fire on it (``syndicate`` over ``review`` over ``clear``); ``shadow`` strategies are
recorded but never decide. ``decision_source`` names what decided: ``model`` (or
``cold_start`` when scores came from ring structure) when no active strategy gave more than
the model did, else ``strategy:<name>`` of the first such strategy in file order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import polars as pl

from syndicate.strategies.file import Strategy, StrategySet

if TYPE_CHECKING:
    from syndicate.strategies.conditions import Condition

__all__ = [
    "DECISION_RANK",
    "HITS_SCHEMA",
    "RING_ALIASES",
    "SELLER_SCORE_COLUMNS",
    "apply_decisions",
    "apply_ring_decisions",
    "compile_strategies",
    "ring_table",
    "seller_table",
    "strategy_hits",
]

#: Decisions, weakest first.
DECISION_RANK: dict[str, int] = {"clear": 0, "review": 1, "syndicate": 2}
_BY_RANK = {rank: decision for decision, rank in DECISION_RANK.items()}

#: ``labels.parquet`` columns a seller-scope condition may read besides the features
#: (the model's ``decision`` is read as ``model_decision``).
SELLER_SCORE_COLUMNS: dict[str, str] = {
    "ring_id": "ring_id",
    "seller_score": "seller_score",
    "ring_score": "ring_score",
    "score_source": "score_source",
    "model_decision": "decision",
}

#: One row per seller and strategy that fired on it (``strategy_hits.parquet``).
HITS_SCHEMA: dict[str, pl.DataType] = {
    "strategy": pl.String(),
    "seller_id": pl.String(),
    "ring_id": pl.String(),
    "action": pl.String(),
    "status": pl.String(),
    "scope": pl.String(),
}

#: ``rings.parquet`` columns whose ``ring_`` name is not simply the prefix added.
RING_ALIASES: dict[str, str] = {
    "size": "ring_size",
    "n_known_bad": "ring_known_bad",
    "n_known_good": "ring_known_good",
    "n_labeled": "ring_labeled",
    "n_edges": "ring_edges",
}


def ring_names(columns: Iterable[str]) -> dict[str, str]:
    """Every name a ring-scope condition may use -> the ``rings.parquet`` column it reads.

    >>> ring_names(["ring_id", "size", "n_known_bad", "status"])
    {'ring_id': 'ring_id', 'size': 'size', 'ring_size': 'size', 'n_known_bad': 'n_known_bad', \
'ring_known_bad': 'n_known_bad', 'status': 'status', 'ring_status': 'status'}
    """
    names: dict[str, str] = {}
    for column in columns:
        names[column] = column
        if not column.startswith("ring_"):
            names.setdefault(RING_ALIASES.get(column, f"ring_{column}"), column)
    return names


def seller_table(features: pl.DataFrame, labels: pl.DataFrame) -> pl.DataFrame:
    """The rows seller-scope conditions read: features plus the model's score and decision."""
    sources = dict(SELLER_SCORE_COLUMNS)
    if "model_decision" in labels.columns:  # labels of a run that applied strategies
        sources["model_decision"] = "model_decision"
    scores = labels.select(
        "seller_id",
        *(
            pl.col(source).alias(name)
            for name, source in sources.items()
            if source in labels.columns and name not in features.columns
        ),
    )
    return features.join(scores, on="seller_id", how="left")


def ring_table(rings: pl.DataFrame) -> pl.DataFrame:
    """The rows ring-scope conditions read: ``rings.parquet`` under its own and ``ring_`` names."""
    names = ring_names(rings.columns)
    return rings.select(pl.col(source).alias(name) for name, source in names.items())


def compile_strategies(
    strategies: StrategySet,
    seller_schema: Mapping[str, pl.DataType],
    ring_schema: Mapping[str, pl.DataType],
) -> list[tuple[Strategy, Condition]]:
    """Compile every strategy that runs (not ``off``) against its scope's columns.

    Raises
    ------
    ConfigError
        The first strategy whose condition reads an unknown column, mixes types, etc.
    """
    from syndicate.strategies.conditions import compile_condition

    rings = {name: ring_schema[source] for name, source in ring_names(ring_schema).items()}
    return [
        (s, compile_condition(s.when, rings if s.scope == "ring" else seller_schema, name=s.name))
        for s in strategies.evaluated
    ]


def strategy_hits(
    strategies: StrategySet,
    features: pl.DataFrame,
    labels: pl.DataFrame,
    rings: pl.DataFrame,
) -> pl.DataFrame:
    """Which sellers each strategy fires on: one row per seller and strategy (:data:`HITS_SCHEMA`).

    ``features`` is ``features.parquet``, ``labels`` is ``labels.parquet`` (the model's
    decisions in ``decision``), ``rings`` is ``rings.parquet``. Rows are in file order of
    the strategies, then by ``seller_id``. ``off`` strategies are not evaluated.
    """
    sellers = seller_table(features, labels)
    if "ring_id" not in sellers.columns:  # a feature table may carry it already
        sellers = sellers.join(labels.select("seller_id", "ring_id"), on="seller_id", how="left")
    ring_rows = ring_table(rings)
    compiled = compile_strategies(strategies, sellers.schema, rings.schema)
    membership = labels.select("seller_id", "ring_id").filter(pl.col("ring_id").is_not_null())
    parts: list[pl.DataFrame] = []
    for order, (strategy, condition) in enumerate(compiled):
        if strategy.scope == "ring":
            fired = ring_rows.filter(condition.expr).select("ring_id")
            hit = membership.join(fired, on="ring_id", how="semi")
        else:
            hit = sellers.filter(condition.expr).select("seller_id", "ring_id")
        parts.append(
            hit.select(
                pl.lit(order, pl.UInt32).alias("order"),
                pl.lit(strategy.name).alias("strategy"),
                "seller_id",
                "ring_id",
                pl.lit(strategy.action).alias("action"),
                pl.lit(strategy.status).alias("status"),
                pl.lit(strategy.scope).alias("scope"),
            )
        )
    if not parts:
        return pl.DataFrame(schema=HITS_SCHEMA)
    return (
        pl.concat(parts)
        .sort("order", "seller_id")
        .drop("order")
        .select(pl.col(name).cast(dtype) for name, dtype in HITS_SCHEMA.items())
    )


def apply_decisions(
    table: pl.DataFrame,
    hits: pl.DataFrame,
    strategies: StrategySet | None = None,
    *,
    key: str = "seller_id",
    model_source: pl.Expr | None = None,
) -> pl.DataFrame:
    """``table`` with ``model_decision``, the combined ``decision``, ``decision_source`` and
    ``strategies``.

    ``table`` has one row per ``key`` with the model's decision in ``decision``; ``hits`` is
    :func:`strategy_hits` (its ``key`` column says where each strategy fired). The new
    ``strategies`` lists the names of every strategy that fired on the row (``shadow`` ones
    too), in file order. ``model_source`` is the ``decision_source`` of a row the model
    decides: by default ``cold_start`` where ``score_source`` is ``structure``, else
    ``model``. Row order is kept.

    Examples
    --------
    >>> labels = pl.DataFrame({"seller_id": ["a", "b", "c"], "score_source": ["model"] * 3,
    ...                        "decision": ["review", "clear", "syndicate"]})
    >>> hits = pl.DataFrame({"strategy": ["x", "y"], "seller_id": ["a", "a"],
    ...                      "action": ["syndicate", "syndicate"],
    ...                      "status": ["shadow", "active"]})
    >>> apply_decisions(labels, hits).select("decision", "decision_source").rows()
    [('syndicate', 'strategy:y'), ('clear', 'model'), ('syndicate', 'model')]
    """
    order = {name: i for i, name in enumerate(strategies.names)} if strategies else {}
    if model_source is None:
        model_source = (
            pl.when(pl.col("score_source") == "structure")
            .then(pl.lit("cold_start"))
            .otherwise(pl.lit("model"))
        )
    rank = pl.col("decision").replace_strict(DECISION_RANK, return_dtype=pl.Int8)
    ranked = (
        hits.select(key, "strategy", "action", "status")
        .unique()
        .with_columns(
            pl.col("strategy")
            .replace_strict(order, default=None, return_dtype=pl.UInt32)
            .alias("order"),
            pl.col("action").replace_strict(DECISION_RANK, return_dtype=pl.Int8).alias("rank"),
        )
        .sort(key, "order", "strategy")
    )
    fired = ranked.group_by(key).agg(pl.col("strategy").alias("strategies"))
    deciding = (
        ranked.filter(pl.col("status") == "active")
        .sort(key, "rank", "order", "strategy", descending=[False, True, False, False])
        .group_by(key, maintain_order=True)
        .first()
        .select(key, pl.col("rank").alias("_rank"), pl.col("strategy").alias("_by"))
    )
    won = pl.col("_rank").fill_null(-1) > rank
    return (
        table.join(fired, on=key, how="left", maintain_order="left")
        .join(deciding, on=key, how="left", maintain_order="left")
        .with_columns(
            pl.col("decision").alias("model_decision"),
            pl.when(won)
            .then(pl.col("_rank").replace_strict(_BY_RANK, return_dtype=pl.String))
            .otherwise(pl.col("decision"))
            .alias("decision"),
            pl.when(won)
            .then(pl.lit("strategy:") + pl.col("_by"))
            .otherwise(model_source)
            .alias("decision_source"),
            pl.col("strategies").fill_null(pl.lit([], dtype=pl.List(pl.String))),
        )
        .drop("_rank", "_by")
    )


def apply_ring_decisions(
    rings: pl.DataFrame, hits: pl.DataFrame, strategies: StrategySet, *, cold_start: bool
) -> pl.DataFrame:
    """``rings`` with the decisions of the ring-scope strategies (:func:`apply_decisions`)."""
    ring_hits = hits.filter(pl.col("scope") == "ring").select(
        "ring_id", "strategy", "action", "status"
    )
    source = pl.lit("cold_start" if cold_start else "model")
    return apply_decisions(rings, ring_hits, strategies, key="ring_id", model_source=source)
