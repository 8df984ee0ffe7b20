"""Seller scoring quality on the synthetic marketplace: graph model vs tabular-only model.

    python benchmarks/bench_model.py                    # 100k sellers, seed 0
    python benchmarks/bench_model.py --sellers 100000 --seed 1
    python benchmarks/bench_model.py --camouflage off light heavy   # camouflage presets

Runs the whole pipeline (validation, graph, rings, features, model, decisions) on a
generated marketplace with its sparse labels, then measures on the sellers *without* a
label (ground truth ``is_bad`` from the generator):

* seller-level AUROC, AUPRC and recall at K (K = 500, 1000, and the number of bad
  unlabelled sellers) of ``seller_score``;
* the same for a tabular-only Random Forest (:class:`SellerClassifier`, same settings,
  the sellers table's numeric columns only) trained on the same labelled sellers;
* the share of legit household and business members given ``syndicate`` or ``review``;
* cold start (labels withheld): ring-level AUROC of the structure-only ring score, a ring
  counting as true when most of its members are bad, and the same legit-member share.

Each figure is printed for the default detectors (Leiden and dense blocks, ``combined``)
and for Leiden alone (``dense_blocks = false``), plus ring recall and precision.

Targets (issue 4): AUPRC >= 0.85 and clearly above tabular-only; under 2% of legit group
members flagged. Camouflage (light, heavy): ring recall >= 0.90, precision >= 0.95, AUPRC
>= 0.85 and sellers decided syndicate. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import polars as pl
from sklearn.metrics import average_precision_score, roc_auc_score

from syndicate.config import Config
from syndicate.evaluate import ring_recovery, truth_groups
from syndicate.features import seller_features, tabular_columns
from syndicate.graphs.communities import find_rings
from syndicate.graphs.linkage import build_linkage
from syndicate.model import SellerClassifier, feature_matrix, recall_at_k
from syndicate.scoring import Scores, score_marketplace
from syndicate.synth import camouflage_config, generate_marketplace
from syndicate.validation import load_inputs


def seller_metrics(y: np.ndarray, score: np.ndarray) -> dict[str, float]:
    ks = {"500": 500, "1000": 1000, "n_bad": int(y.sum())}
    return {
        "auroc": roc_auc_score(y, score),
        "auprc": average_precision_score(y, score),
        **{f"recall@{name}": recall_at_k(y, score, k) for name, k in ks.items()},
    }


def flagged_legit(scores: Scores, truth: pl.DataFrame) -> dict[str, float]:
    legit = truth.filter(pl.col("legit_group").is_not_null()).select(
        "seller_id", pl.col("legit_group").str.extract(r"^(\w+)-").alias("group")
    )
    joined = legit.join(scores.sellers.select("seller_id", "decision"), on="seller_id")
    flagged = pl.col("decision").is_in(["syndicate", "review"])
    shares = dict(joined.group_by("group").agg(flagged.mean()).sort("group").iter_rows())
    return {**shares, "both": float(joined.select(flagged.mean()).item())}


def run_once(market: object, config: Config) -> dict[str, float]:
    """The whole pipeline on one marketplace; figures on the unlabelled sellers."""
    start = time.perf_counter()
    inputs = load_inputs(market.sellers, market.links, labels=market.labels)  # type: ignore[attr-defined]
    linkage = build_linkage(inputs.links, inputs.edges, config)
    rings = find_rings(linkage, config)
    features = seller_features(
        inputs.sellers, inputs.links, linkage, rings, inputs.labels, seed=config.seed
    )
    featured = time.perf_counter()
    scores = score_marketplace(inputs.sellers, linkage, rings, features, inputs.labels, config)
    scored = time.perf_counter()
    assert scores.model is not None
    truth = market.truth.select("seller_id", "is_bad", "ring", "legit_group")  # type: ignore[attr-defined]
    unlabelled = (
        scores.sellers.join(inputs.labels.select("seller_id"), on="seller_id", how="anti")
        .join(truth, on="seller_id")
        .join(features, on="seller_id")
        .sort("seller_id")
    )
    y = unlabelled["is_bad"].cast(pl.Int64).to_numpy()
    graph = seller_metrics(y, unlabelled["seller_score"].to_numpy())
    tabular = tabular_columns(inputs.sellers)
    train = features.join(inputs.labels.select("seller_id", "label"), on="seller_id")
    baseline = SellerClassifier(
        n_estimators=config.n_estimators, n_jobs=config.n_jobs, random_state=config.seed
    ).fit(feature_matrix(train, tabular), train["label"].to_numpy())
    tab = seller_metrics(y, baseline.bad_score(feature_matrix(unlabelled, tabular)))
    cold_features = seller_features(
        inputs.sellers, inputs.links, linkage, rings, None, seed=config.seed
    )
    cold = score_marketplace(inputs.sellers, linkage, rings, cold_features, None, config)
    ring_truth = (
        rings.members.filter(pl.col("ring_id").is_not_null())
        .join(truth, on="seller_id")
        .group_by("ring_id")
        .agg((pl.col("is_bad").mean() > 0.5).alias("true_ring"))
    )
    ring_eval = cold.rings.join(ring_truth, on="ring_id")
    cold_auroc = roc_auc_score(
        ring_eval["true_ring"].to_numpy(), ring_eval["ring_score"].to_numpy()
    )
    found = rings.members.filter(pl.col("ring_id").is_not_null()).select("seller_id", "ring_id")
    true_rings, legit = truth_groups(market.truth)  # type: ignore[attr-defined]
    recovery = ring_recovery(found, true_rings, legit)
    decided = unlabelled.filter(pl.col("decision") == "syndicate")
    card = scores.model.card
    return {
        "cv AUROC (labelled, out of fold)": card["cv"]["auroc"],
        "AUROC (unlabelled)": graph["auroc"],
        "AUPRC (unlabelled)": graph["auprc"],
        "recall at K = bad sellers": graph["recall@n_bad"],
        "tabular-only AUPRC": tab["auprc"],
        "decided syndicate (unlabelled)": float(decided.height),
        "precision of syndicate": float(decided["is_bad"].mean() or 0.0),
        "legit group members flagged %": 100 * flagged_legit(scores, truth)["both"],
        "ring recall": recovery.recall,
        "ring precision": recovery.precision,
        "cold-start ring AUROC": cold_auroc,
        "features s": featured - start,
        "model + scoring s": scored - featured,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sellers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--camouflage", nargs="+", default=["off"], choices=["off", "light", "heavy"]
    )
    args = parser.parse_args()
    for preset in args.camouflage:
        market = generate_marketplace(
            camouflage_config(preset, n_sellers=args.sellers, seed=args.seed)
        )
        config = Config(seed=args.seed)
        combined = run_once(market, config)
        leiden = run_once(market, dataclasses.replace(config, dense_blocks=False))
        print(f"\ncamouflage {preset}, {args.sellers:,} sellers, seed {args.seed}")
        print(f"{'':<36}{'combined':>12}{'Leiden only':>14}")
        for name, value in combined.items():
            print(f"{name:<36}{value:>12.4f}{leiden[name]:>14.4f}")


if __name__ == "__main__":
    main()
