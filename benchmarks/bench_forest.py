"""How the forest's size settings trade quality for time, on clean and noisy labels.

    python benchmarks/bench_forest.py                       # 100k sellers, a fifth labelled
    python benchmarks/bench_forest.py --flip 0.1            # 10% of the labels flipped
    python benchmarks/bench_forest.py --real-like           # the real-like preset (30k users)

Builds the features once, then cross-fits the seller model (:func:`fit_seller_model`, as a
run does) for each setting of trees / smallest leaf / depth, and prints the out-of-fold
AUPRC (against the labels given, flipped ones included), AUPRC and AUROC of the scores of
the *unlabelled* sellers against the generator's truth, fit and prediction seconds, and the
trees' mean node count and depth. Noisy labels grow deep trees whose prediction cost
explodes; this is how the defaults (100 trees, leaves of 10) were chosen. Prints figures;
asserts nothing.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import polars as pl
from sklearn.metrics import average_precision_score, roc_auc_score

from syndicate.config import Config
from syndicate.features import seller_features
from syndicate.features.seller import neighbour_pairs
from syndicate.graphs.communities import find_rings
from syndicate.graphs.linkage import build_linkage
from syndicate.model import SellerClassifier, feature_matrix, fit_seller_model
from syndicate.scoring import cv_groups
from syndicate.synth import generate_marketplace, generate_real_like, with_label_share
from syndicate.validation import load_inputs

#: (trees, smallest leaf, depth limit) settings compared.
SETTINGS = ((200, 5, None), (100, 5, None), (100, 10, None), (100, 20, None), (200, 5, 20))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sellers", type=int, default=100_000)
    parser.add_argument("--label-share", type=float, default=0.2)
    parser.add_argument("--flip", type=float, default=0.0, help="share of labels flipped")
    parser.add_argument("--real-like", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    if args.real_like:
        market = generate_real_like(seed=args.seed)
    else:
        market = generate_marketplace(n_sellers=args.sellers, seed=args.seed)
        market = with_label_share(market, args.label_share, seed=args.seed)
    inputs = load_inputs(market.sellers, market.links, labels=market.labels)
    labels = inputs.labels
    if args.flip:
        flipped = np.random.default_rng(args.seed + 1).random(labels.height) < args.flip
        labels = labels.with_columns(
            pl.when(pl.Series(flipped)).then(1 - pl.col("label")).otherwise(pl.col("label"))
        )
    config = Config()
    linkage = build_linkage(inputs.links, inputs.edges, config)
    rings = find_rings(linkage, config)
    features = seller_features(inputs.sellers, inputs.links, linkage, rings, labels)
    truth = market.truth.select("seller_id", pl.col("is_bad").cast(pl.Int8))
    unlabelled = features.join(labels, on="seller_id", how="anti").join(truth, on="seller_id")
    names = [c for c in features.columns if c != "seller_id"]
    X, y = feature_matrix(unlabelled, names), unlabelled["is_bad"].to_numpy()
    print(
        f"{features.height:,} sellers, {labels.height:,} labels ({args.flip:.0%} flipped), "
        f"{len(y):,} unlabelled scored against truth"
    )
    print("trees leaf depth | oof AUPRC  AUPRC  AUROC |   fit  predict | nodes depth")
    for trees, leaf, depth in SETTINGS:
        estimator = SellerClassifier(
            n_estimators=trees, min_samples_leaf=leaf, max_depth=depth, max_samples=50_000
        )
        start = time.perf_counter()
        model = fit_seller_model(
            features,
            labels,
            cv_groups(rings),
            neighbours=neighbour_pairs(linkage),
            estimator=estimator,
            seed=args.seed,
        )
        fitted = time.perf_counter() - start
        start = time.perf_counter()
        score = model.estimator.bad_score(X)
        predicted = time.perf_counter() - start
        forest = model.estimator.forest_.estimators_
        print(
            f"{trees:5d} {leaf:4d} {depth!s:>5s} | {model.card['cv']['auprc']:9.4f} "
            f"{average_precision_score(y, score):6.4f} {roc_auc_score(y, score):6.4f} | "
            f"{fitted:5.1f}s {predicted:6.2f}s | "
            f"{np.mean([t.tree_.node_count for t in forest]):5.0f} "
            f"{np.mean([t.tree_.max_depth for t in forest]):5.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
