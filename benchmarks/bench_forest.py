"""How the forest's size settings trade quality for time, on clean and noisy labels.

    python benchmarks/bench_forest.py --seed 1              # 100k sellers, 4% labelled
    python benchmarks/bench_forest.py --label-share 0.2 --flip 0.1   # a fifth, 10% flipped
    python benchmarks/bench_forest.py --real-like           # the real-like preset (30k users)

Builds the features once, then scores the marketplace (:func:`score_marketplace`: the
cross-fitted model, thresholds and decisions, as a run does) for each setting of trees and
smallest leaf, and prints the out-of-fold AUPRC (against the labels given, flipped ones
included), AUPRC and AUROC of the *unlabelled* sellers' scores against the generator's
truth, the share of legit household / business members decided syndicate or review, the
seconds of the model step, and the trees' mean node count and depth. Noisy labels grow deep
trees whose prediction cost explodes; this is how the defaults (100 trees, leaves of 5)
were chosen. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import polars as pl
from sklearn.metrics import average_precision_score, roc_auc_score

from syndicate.config import Config
from syndicate.features import seller_features
from syndicate.graphs.communities import find_rings
from syndicate.graphs.linkage import build_linkage
from syndicate.scoring import score_marketplace
from syndicate.synth import generate_marketplace, generate_real_like, with_label_share
from syndicate.validation import load_inputs

#: (trees, smallest leaf) settings compared.
SETTINGS = ((200, 5), (100, 5), (200, 10), (100, 10), (100, 20))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sellers", type=int, default=100_000)
    parser.add_argument(
        "--label-share", type=float, default=None, help="label this share (default: 4%%)"
    )
    parser.add_argument("--flip", type=float, default=0.0, help="share of labels flipped")
    parser.add_argument("--real-like", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    if args.real_like:
        market = generate_real_like(seed=args.seed)
    else:
        market = generate_marketplace(n_sellers=args.sellers, seed=args.seed)
        if args.label_share:
            market = with_label_share(market, args.label_share, seed=args.seed)
    inputs = load_inputs(market.sellers, market.links, labels=market.labels)
    labels = inputs.labels
    if args.flip:
        flipped = np.random.default_rng(args.seed + 1).random(labels.height) < args.flip
        labels = labels.with_columns(
            pl.when(pl.Series(flipped))
            .then(1 - pl.col("label"))
            .otherwise(pl.col("label"))
            .alias("label")
        )
    config = Config(seed=args.seed)
    linkage = build_linkage(inputs.links, inputs.edges, config)
    rings = find_rings(linkage, config)
    features = seller_features(inputs.sellers, inputs.links, linkage, rings, labels)
    truth = market.truth.select("seller_id", pl.col("is_bad").cast(pl.Int8), "legit_group")
    legit = truth.filter(pl.col("legit_group").is_not_null()).select("seller_id")
    print(f"{features.height:,} sellers, {labels.height:,} labels ({args.flip:.0%} flipped)")
    print("trees leaf | oof AUPRC  AUPRC  AUROC legit% | model s | nodes depth")
    for trees, leaf in SETTINGS:
        setting = dataclasses.replace(config, n_estimators=trees, min_samples_leaf=leaf)
        start = time.perf_counter()
        scores = score_marketplace(inputs.sellers, linkage, rings, features, labels, setting)
        elapsed = time.perf_counter() - start
        assert scores.model is not None
        unlabelled = scores.sellers.join(labels, on="seller_id", how="anti").join(
            truth, on="seller_id"
        )
        y, score = unlabelled["is_bad"].to_numpy(), unlabelled["seller_score"].to_numpy()
        flagged = scores.sellers.join(legit, on="seller_id")["decision"].is_in(
            ["syndicate", "review"]
        )
        forest = scores.model.estimator.forest_.estimators_
        print(
            f"{trees:5d} {leaf:4d} | {scores.model.card['cv']['auprc']:9.4f} "
            f"{average_precision_score(y, score):6.4f} {roc_auc_score(y, score):6.4f} "
            f"{100 * flagged.mean():6.2f} | {elapsed:7.1f} | "
            f"{np.mean([t.tree_.node_count for t in forest]):5.0f} "
            f"{np.mean([t.tree_.max_depth for t in forest]):5.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
