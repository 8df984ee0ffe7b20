"""syndicate against the same job written the usual way: pandas, networkx, scikit-learn.

    python benchmarks/bench_peer.py --sellers 1000000 --seed 0
    python benchmarks/bench_peer.py --sellers 100000 --label-share 0.2   # a fifth labelled

The peer is what a strong data scientist writes in an afternoon: pandas self-merges on
(kind, value) for shared identifiers (lower-cased, trimmed; identifiers shared by more than
``--peer-hub-cap`` sellers dropped), a weighted ``networkx.Graph``, ``louvain_communities``
for rings, networkx features (degree, weighted degree, clustering, PageRank, community size,
known-bad neighbours) beside the sellers' numeric columns, and a scikit-learn Random Forest
(200 trees, balanced classes) trained on the labelled sellers. syndicate runs ``syndicate
run`` on the same files (everything it writes included: pages, model, manifest). Both are
timed end to end in this process from the Parquet files, and both are scored on the same
truth: seller AUROC / AUPRC on the sellers without a label, ring recall / precision
(Jaccard >= 0.5, legit groups count for precision) and ARI / NMI on ring members. Prints
figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import polars as pl
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import average_precision_score, roc_auc_score

from syndicate.config import Config
from syndicate.evaluate import _partition_scores, ring_recovery, truth_groups
from syndicate.job import run_job
from syndicate.synth import generate_marketplace, with_label_share, write_marketplace


def peer_job(files: dict[str, Path], hub_cap: int, seed: int) -> tuple[pd.DataFrame, float]:
    """The usual pandas + networkx + scikit-learn job; returns (seller_id, score, ring)."""
    start = time.perf_counter()
    sellers = pd.read_parquet(files["sellers"])
    links = pd.read_parquet(files["links"])
    labels = pd.read_parquet(files["labels"])
    sellers["seller_id"] = sellers["seller_id"].astype(str)
    links["seller_id"] = links["seller_id"].astype(str)
    labels["seller_id"] = labels["seller_id"].astype(str)
    links = links[links["seller_id"].isin(sellers["seller_id"])].dropna(subset=["value"])
    links["kind"] = links["kind"].str.strip().str.lower()
    links["value"] = links["value"].astype(str).str.strip().str.lower()
    links = links.drop_duplicates(["seller_id", "kind", "value"])
    counts = links.groupby(["kind", "value"])["seller_id"].transform("size")
    shared = links[(counts >= 2) & (counts <= hub_cap)][["seller_id", "kind", "value"]]
    pairs = shared.merge(shared, on=["kind", "value"], suffixes=("_a", "_b"))
    pairs = pairs[pairs["seller_id_a"] < pairs["seller_id_b"]]
    weights = pairs.groupby(["seller_id_a", "seller_id_b"]).size().reset_index(name="weight")
    graph = nx.Graph()
    graph.add_weighted_edges_from(weights.itertuples(index=False, name=None))
    communities = nx.community.louvain_communities(graph, weight="weight", seed=seed)
    ring_of = {}
    size_of = {}
    for number, members in enumerate(communities):
        for seller in members:
            size_of[seller] = len(members)
            if len(members) >= 3:
                ring_of[seller] = f"peer-{number}"
    pagerank = nx.pagerank(graph, weight="weight")
    clustering = nx.clustering(graph)
    bad = set(labels.loc[labels["label"] == 1, "seller_id"])
    features = sellers.set_index("seller_id").select_dtypes("number").copy()
    index = features.index
    features["degree"] = [graph.degree(s) if s in graph else 0 for s in index]
    features["weighted_degree"] = [
        graph.degree(s, weight="weight") if s in graph else 0 for s in index
    ]
    features["clustering"] = [clustering.get(s, 0.0) for s in index]
    features["pagerank"] = [pagerank.get(s, 0.0) for s in index]
    features["community_size"] = [size_of.get(s, 1) for s in index]
    features["bad_neighbours"] = [
        sum(1 for n in graph.neighbors(s) if n in bad) if s in graph else 0 for s in index
    ]
    features = features.fillna(0.0)
    known = labels.set_index("seller_id")["label"]
    train = features.loc[features.index.intersection(known.index)]
    forest = RandomForestClassifier(
        n_estimators=200, class_weight="balanced", n_jobs=-1, random_state=seed
    )
    forest.fit(train, known.loc[train.index])
    scores = forest.predict_proba(features)[:, 1]
    result = pd.DataFrame(
        {"seller_id": index, "score": scores, "ring": [ring_of.get(s) for s in index]}
    )
    return result, time.perf_counter() - start


def quality(
    scored: pl.DataFrame, truth: pl.DataFrame, labelled: pl.Series
) -> dict[str, float | None]:
    """Seller ranking on unlabelled sellers; ring recovery and ARI / NMI on members."""
    unlabelled = scored.join(truth, on="seller_id").filter(
        ~pl.col("seller_id").is_in(labelled.implode())
    )
    y = unlabelled["is_bad"].cast(pl.Int8).to_numpy()
    s = unlabelled["score"].to_numpy()
    found = scored.filter(pl.col("ring").is_not_null()).select(
        "seller_id", pl.col("ring").alias("ring_id")
    )
    recovery = ring_recovery(found, *truth_groups(truth))
    partition = _partition_scores(found, truth)
    return {
        "auroc": float(roc_auc_score(y, s)),
        "auprc": float(average_precision_score(y, s)),
        "ring_recall": recovery.recall,
        "ring_precision": recovery.precision,
        "ari": partition["ari"],
        "nmi": partition["nmi"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sellers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--peer-hub-cap", type=int, default=60)
    parser.add_argument(
        "--label-share",
        type=float,
        default=None,
        help="label this share of all sellers (truly, seeded) instead of the generator's ~4%%",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-peer-", dir=".") as scratch:
        folder = Path(scratch)
        market = generate_marketplace(n_sellers=args.sellers, seed=args.seed)
        if args.label_share:
            market = with_label_share(market, args.label_share, seed=args.seed)
        files = write_marketplace(market, folder / "input")
        truth = market.truth.select("seller_id", "ring", "is_bad", "legit_group")
        labelled = pl.read_parquet(files["labels"])["seller_id"].cast(pl.String)

        start = time.perf_counter()
        run = run_job(
            sellers=files["sellers"],
            links=files["links"],
            labels=files["labels"],
            out=folder / "run",
            config=Config(seed=args.seed),
        )
        ours_seconds = time.perf_counter() - start
        ours = run.pipeline.labels.select(
            "seller_id", pl.col("seller_score").alias("score"), pl.col("ring_id").alias("ring")
        )

        peer, peer_seconds = peer_job(files, args.peer_hub_cap, args.seed)
        theirs = pl.from_pandas(peer).with_columns(pl.col("seller_id").cast(pl.String))

    ours_q, theirs_q = quality(ours, truth, labelled), quality(theirs, truth, labelled)
    print(f"peer benchmark: {args.sellers:,} sellers, seed {args.seed}")
    print(f"{'':<16}{'syndicate':>12}{'pandas+nx':>12}")
    print(f"{'wall time (s)':<16}{ours_seconds:>12.1f}{peer_seconds:>12.1f}")
    for key in ours_q:
        a, b = ours_q[key], theirs_q[key]
        print(f"{key:<16}{_fmt(a):>12}{_fmt(b):>12}")
    print(f"peer / syndicate wall time: {peer_seconds / ours_seconds:.1f}x")
    print(json.dumps({"syndicate": ours_q, "peer": theirs_q}, default=float))


def _fmt(value: float | None) -> str:
    return "n/a" if value is None or np.isnan(value) else f"{value:.4f}"


if __name__ == "__main__":
    main()
