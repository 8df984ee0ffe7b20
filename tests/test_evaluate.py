"""Tests of ``syndicate evaluate``: the metrics of a tiny hand-made run, checked by hand.

The tiny run (built without the pipeline) has 10 sellers in the truth table, two true rings
and two found rings; every figure below is worked out in the comments.
"""

from __future__ import annotations

import base64
import itertools
import json
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from syndicate.cli import main
from syndicate.errors import InputFileError
from syndicate.evaluate import evaluate_run, threshold_table
from syndicate.viz.report import render_report, write_evaluation

HOSTILE = "<img src=x onerror=alert(1)>"
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"

# seller, true ring, is_bad, legit group, found ring, score, score source, decision.
# Run thresholds: syndicate 0.82, review 0.52 (0.82 and 0.52 are not on the 0.05 grid).
SELLERS = [
    ("a1", "A", True, None, "R1", 0.95, "out_of_fold", "syndicate"),
    ("a2", "A", True, None, "R1", 0.90, "model", "syndicate"),
    ("g1", None, False, "household-1", "R1", 0.85, "model", "syndicate"),
    (HOSTILE, None, False, None, "R2", 0.75, "model", "review"),
    ("a3", "A", True, None, None, 0.70, "model", "review"),
    ("b1", "B", True, None, "R2", 0.60, "model", "review"),
    ("g2", None, False, "business-7", None, 0.60, "model", "review"),
    ("g3", None, False, "household-1", "R2", 0.40, "model", "clear"),
    ("b2", "B", True, None, None, 0.30, "model", "clear"),
    ("g4", None, False, None, None, 0.20, "out_of_fold", "clear"),
]
# x1 is in the run but not in the truth (left out; its top score would change every
# ranking figure if it were counted); t1 is in the truth but not in the run.
RUN_ONLY = ("x1", None, 0.99, "model", "clear")
TRUTH_ONLY = ("t1", None, False, None)

# The identifiers of the found rings, as viz/data/identifiers.parquet holds them:
# (ring_id, seller_id, kind, key, hub).
IDENTIFIERS = [
    # R1: a1, a2, g1 share device d1 (binds g1); a1 and g1 share a hub ip (not binding, but
    # g1 holds a hub); g1's address and a2's payout are held by one member only; a1 and a2
    # share email e1 (g1 does not hold it).
    ("R1", "a1", "device", "d1", False),
    ("R1", "a2", "device", "d1", False),
    ("R1", "g1", "device", "d1", False),
    ("R1", "a1", "ip", "ip-hub", True),
    ("R1", "g1", "ip", "ip-hub", True),
    ("R1", "g1", "address", "addr-g1", False),
    ("R1", "a2", "payout", "p1", False),
    ("R1", "a1", "email", "e1", False),
    ("R1", "a2", "email", "e1", False),
    # R2: b1 and HOSTILE share device d2 and payout p2 (bind HOSTILE); HOSTILE alone in R2
    # holds email e1 (shared in R1, which must not count: sharing is within a ring);
    # b1 and g3 share a hub phone (HOSTILE does not hold it).
    ("R2", "b1", "device", "d2", False),
    ("R2", HOSTILE, "device", "d2", False),
    ("R2", "b1", "payout", "p2", False),
    ("R2", HOSTILE, "payout", "p2", False),
    ("R2", HOSTILE, "email", "e1", False),
    ("R2", "b1", "phone", "ph-hub", True),
    ("R2", "g3", "phone", "ph-hub", True),
]


def _make_run(folder: Path) -> tuple[Path, Path]:
    """Write the tiny run folder and its truth table; returns (run folder, truth path)."""
    (folder / "viz" / "data").mkdir(parents=True)
    ring_score = {"R1": 0.9, "R2": 0.4}
    rows = [(s, found, score, source, dec) for s, _, _, _, found, score, source, dec in SELLERS]
    rows.append(RUN_ONLY)
    pl.DataFrame(
        {
            "seller_id": [r[0] for r in rows],
            "ring_id": [r[1] for r in rows],
            "seller_score": [r[2] for r in rows],
            "score_source": [r[3] for r in rows],
            "ring_score": [ring_score.get(r[1]) for r in rows],
            "decision": [r[4] for r in rows],
            "reasons": [[f"<b>reason of {r[0]}</b>"] if r[4] != "clear" else [] for r in rows],
        },
        schema_overrides={"ring_id": pl.String, "reasons": pl.List(pl.String)},
    ).write_parquet(folder / "labels.parquet")
    # R1 holds a1, labelled (out of fold); R2 holds no labelled seller. Both detectors found
    # R1 (a dense block matched it); Leiden alone found R2.
    pl.DataFrame(
        {
            "ring_id": ["R1", "R2"],
            "size": [3, 3],
            "ring_score": [0.9, 0.4],
            "decision": ["syndicate", "review"],
            "n_labeled": [1, 0],
            "detectors": [["dense_block", "leiden"], ["leiden"]],
            "block_density": [0.8, None],
        },
        schema_overrides={
            "size": pl.UInt32,
            "n_labeled": pl.UInt32,
            "detectors": pl.List(pl.String),
            "block_density": pl.Float64,
        },
    ).write_parquet(folder / "rings.parquet")
    held = pl.DataFrame(
        IDENTIFIERS, schema=["ring_id", "seller_id", "kind", "key", "hub"], orient="row"
    )
    held.with_columns(
        pl.len().over("kind", "key").cast(pl.UInt32).alias("n_sellers")
    ).write_parquet(folder / "viz" / "data" / "identifiers.parquet")
    (folder / "run.json").write_text(
        json.dumps({"thresholds": {"syndicate": 0.82, "review": 0.52, "source": "config"}})
    )
    truth_rows = [(s, ring, bad, legit) for s, ring, bad, legit, *_ in SELLERS]
    truth_rows.append(TRUTH_ONLY)
    truth = folder.parent / "truth.parquet"
    pl.DataFrame(
        truth_rows, schema=["seller_id", "ring", "is_bad", "legit_group"], orient="row"
    ).write_parquet(truth)
    return folder, truth


@pytest.fixture
def tiny(tmp_path: Path) -> tuple[Path, Path]:
    return _make_run(tmp_path / "run")


# --- the hand computation ------------------------------------------------------------------
#
# Sellers in both run and truth, by score (B bad, G good):
#   a1 .95 B | a2 .90 B | g1 .85 G | HOSTILE .75 G | a3 .70 B | b1 .60 B, g2 .60 G (tie)
#   g3 .40 G | b2 .30 B | g4 .20 G
# n = 10, n_bad = 5 (x1 is not in the truth: not_in_truth = 1).
#
# AUROC: of the 5 x 5 bad/good pairs, the bad one scores higher in
#   a1: 5, a2: 5, a3: 3 (g2, g3, g4), b1: 2 + 0.5 (g3, g4; tie with g2), b2: 1 (g4)
#   = 16.5 of 25 = 0.66.
# AUPRC (average precision, sum over distinct scores of recall gain x precision there):
#   .95: P 1/1, R .2 | .90: P 2/2, R .4 | .70: P 3/5, R .6 | .60: P 4/7, R .8 |
#   .30: P 5/9, R 1  -> 0.2 * (1 + 1 + 3/5 + 4/7 + 5/9) = 1174/1575.
# Recall at K: K in {n_bad} = {5} (100 and 1000 are not below n); the top 5 are a1, a2,
#   g1, HOSTILE, a3: 3 of the 5 bad -> 0.6.
#
# Unlabelled sellers (score_source != out_of_fold: drop a1 and g4): 8 sellers, 4 bad
#   (a2, a3, b1, b2) and 4 good (g1, HOSTILE, g2, g3).
#   AUROC: a2 4, a3 2, b1 1 + 0.5, b2 0 -> 7.5 / 16 = 0.46875.
#   AUPRC: .90: P 1, R .25 | .70: P 2/4 | .60: P 3/6 | .30: P 4/8 -> .25 * 2.5 = 0.625.
#   Recall at 4: top 4 a2, g1, HOSTILE, a3 -> 2 / 4 = 0.5.
#
# Decisions: syndicate = a1, a2, g1: TP 2, FP 1, FN 3; P 2/3, R 2/5, F1 2TP/(2TP+FP+FN)
#   = 4/8 = 0.5. syndicate_or_review = those + HOSTILE, a3, b1, g2: 7 flagged, TP 4, FP 3,
#   FN 1; P 4/7, R 4/5, F1 8/12 = 2/3.
AUPRC = 1174 / 1575

# Threshold table: flag every score >= t.
#   t      flagged  TP  precision  recall  F1 = 2TP / (flagged + n_bad)
#   0.05   10       5   1/2        1       10/15
#   0.30   9        5   5/9        1       10/14
#   0.52   7        4   4/7        4/5     8/12     (the run's review threshold)
#   0.65   5        3   3/5        3/5     6/10
#   0.82   3        2   2/3        2/5     4/8      (the run's syndicate threshold)
#   0.95   1        1   1          1/5     2/6
THRESHOLD_ROWS = {
    0.05: (10, 1 / 2, 1.0, 2 / 3),
    0.3: (9, 5 / 9, 1.0, 5 / 7),
    0.52: (7, 4 / 7, 4 / 5, 2 / 3),
    0.65: (5, 3 / 5, 3 / 5, 3 / 5),
    0.82: (3, 2 / 3, 2 / 5, 1 / 2),
    0.95: (1, 1.0, 1 / 5, 1 / 3),
}

# Rings. True: A = {a1, a2, a3}, B = {b1, b2}. Found: R1 = {a1, a2, g1},
# R2 = {HOSTILE, b1, g3}. Legit groups: household-1 = {g1, g3}, business-7 = {g2}.
#   J(A, R1) = 2 / (3 + 3 - 2) = 0.5 -> recovered; J(B, R2) = 1 / (2 + 3 - 1) = 0.25 -> not.
#   Recall 1 / 2. Precision: R1 matches A; R2 matches no true ring nor legit group
#   (J(household-1, R2) = 1 / 4) -> 1 / 2.
#
# ARI and NMI on the 8 sellers in a found or a true ring (a1 a2 a3 b1 b2 g1 g3 HOSTILE);
# a seller outside every ring is its own cluster. Contingency table (true x found):
#            R1  R2  solo-a3  solo-b2 | rows
#   A         2   .     1        .    |  3
#   B         .   1     .        1    |  2
#   solo-g1   1   .     .        .    |  1
#   solo-g3   .   1     .        .    |  1
#   solo-H    .   1     .        .    |  1
#   columns   3   3     1        1    |  n = 8
#   sum C(n_ij, 2) = 1; sum C(rows, 2) = 3 + 1 = 4; sum C(cols, 2) = 3 + 3 = 6;
#   C(8, 2) = 28; expected = 4 * 6 / 28 = 6/7; max = (4 + 6) / 2 = 5;
#   ARI = (1 - 6/7) / (5 - 6/7) = (1/7) / (29/7) = 1/29.
CELLS = [(2, 3, 3), (1, 3, 1), (1, 2, 3), (1, 2, 1), (1, 1, 3), (1, 1, 3), (1, 1, 3)]
ROWS, COLUMNS, N = [3, 2, 1, 1, 1], [3, 3, 1, 1], 8


def _nmi() -> float:
    """NMI with arithmetic normalisation: MI / ((H(true) + H(found)) / 2)."""
    mi = sum(c / N * math.log(N * c / (a * b)) for c, a, b in CELLS)
    h_true = -sum(a / N * math.log(a / N) for a in ROWS)
    h_found = -sum(b / N * math.log(b / N) for b in COLUMNS)
    return mi / ((h_true + h_found) / 2)


# By detector (R1: dense_block and leiden; R2: leiden alone):
#   leiden {R1, R2}: the union, as above: recall 1/2 (A by R1), precision 1/2, 1 recovered.
#   dense_block {R1}: recall 1/2 (A by R1; B overlaps no dense-block ring), precision 1/1.
#   leiden alone {R2}: precision 0/1. dense_block alone: no ring, precision undefined.
BY_DETECTOR = {
    "leiden": {"n_found_rings": 2, "n_recovered": 1, "recall": 0.5, "precision": 0.5},
    "dense_block": {"n_found_rings": 1, "n_recovered": 1, "recall": 0.5, "precision": 1.0},
    "union": {"n_found_rings": 2, "n_recovered": 1, "recall": 0.5, "precision": 0.5},
    "only": {
        "leiden_only": {"n_found_rings": 1, "n_matching": 0, "precision": 0.0},
        "dense_block_only": {"n_found_rings": 0, "n_matching": 0, "precision": None},
    },
    "note": None,
}

# Ring decisions: R1 is bad (2 of 3 members bad), R2 is good (1 of 3). R1's ring score 0.9 >
# R2's 0.4, so ring AUROC = 1. R1 has a labelled member (n_labeled 1): the unlabelled rings
# are only R2, one class, so no AUROC there.
#
# False positives: good sellers not cleared: g1 (syndicate, .85), HOSTILE (review, .75),
# g2 (review, .60); g3 is in a ring but cleared. What binds them (non-hub identifiers they
# share with a ring-mate in their own ring):
#   g1: device d1 (with a1, a2); its ip is a hub (holds_hub), its address is its own.
#   HOSTILE: device d2 and payout p2 (with b1); email e1 is shared only in R1; no hub.
#   g2: in no ring, bound by nothing.
# Summary: by decision review 2, syndicate 1; by legit group business 1 (g2), household 1
# (g1), none 1 (HOSTILE); by kind device 2, payout 1; in no ring 1; holding a hub 1.
FALSE_POSITIVES = [
    ("g1", "R1", 0.85, "syndicate", "household-1", ["device"], True),
    (HOSTILE, "R2", 0.75, "review", None, ["device", "payout"], False),
    ("g2", None, 0.60, "review", "business-7", [], False),
]


def _check_metrics(m: dict) -> None:
    """Assert every hand-computed figure (``m`` is Evaluation.metrics or metrics.json)."""
    seller = m["seller"]
    assert seller["n"] == 10
    assert seller["n_bad"] == 5
    assert seller["not_in_truth"] == 1
    assert seller["auroc"] == pytest.approx(0.66, abs=1e-6)
    assert seller["auprc"] == pytest.approx(AUPRC, abs=1e-6)
    assert seller["recall_at_k"] == {"5": pytest.approx(0.6)}
    assert seller["decisions"]["syndicate"] == {
        "n_flagged": 3,
        "true_positives": 2,
        "false_positives": 1,
        "false_negatives": 3,
        "precision": pytest.approx(2 / 3, abs=1e-6),
        "recall": pytest.approx(0.4),
        "f1": pytest.approx(0.5),
    }
    assert seller["decisions"]["syndicate_or_review"] == {
        "n_flagged": 7,
        "true_positives": 4,
        "false_positives": 3,
        "false_negatives": 1,
        "precision": pytest.approx(4 / 7, abs=1e-6),
        "recall": pytest.approx(0.8),
        "f1": pytest.approx(2 / 3, abs=1e-6),
    }
    unlabelled = seller["unlabelled"]
    assert (unlabelled["n"], unlabelled["n_bad"]) == (8, 4)
    assert unlabelled["auroc"] == pytest.approx(0.46875)
    assert unlabelled["auprc"] == pytest.approx(0.625)
    assert unlabelled["recall_at_k"] == {"4": pytest.approx(0.5)}

    ring = m["ring"]
    assert (ring["n_found"], ring["n_true"], ring["recovered"]) == (2, 2, 1)
    assert ring["recall"] == pytest.approx(0.5)
    assert ring["precision"] == pytest.approx(0.5)
    assert ring["jaccard_threshold"] == 0.5
    assert ring["n_sellers"] == 8
    assert ring["ari"] == pytest.approx(1 / 29, abs=1e-6)
    assert ring["nmi"] == pytest.approx(_nmi(), abs=1e-6)
    assert ring["rings_bad"] == 1
    assert ring["rings_decided_syndicate"] == 1
    assert ring["rings_decided_syndicate_bad"] == 1
    assert ring["ring_auroc"] == 1.0
    assert ring["ring_auroc_unlabelled"] is None
    assert ring["n_unlabelled_rings"] == 1
    assert ring["by_detector"] == BY_DETECTOR

    fp = m["false_positives"]
    assert fp["n"] == 3
    assert fp["by_decision"] == {"review": 2, "syndicate": 1}
    assert fp["by_legit_group"] == {"business": 1, "household": 1, "none": 1}
    assert fp["by_binding_kind"] == {"device": 2, "payout": 1}
    assert fp["in_no_ring"] == 1
    assert fp["holding_a_hub"] == 1
    examples = [
        (
            r["seller_id"],
            r["ring_id"],
            r["seller_score"],
            r["decision"],
            r["legit_group"],
            r["bound_by"],
            r["holds_hub"],
        )
        for r in fp["examples"]
    ]
    assert examples == FALSE_POSITIVES
    assert fp["examples"][1]["reasons"] == [f"<b>reason of {HOSTILE}</b>"]

    assert m["run_thresholds"] == [0.82, 0.52]
    rows = {r["threshold"]: r for r in m["thresholds"]}
    assert len(rows) == 21  # the 19-point grid plus 0.82 and 0.52
    for t, (n_flagged, precision, recall, f1) in THRESHOLD_ROWS.items():
        assert rows[t] == {
            "threshold": t,
            "n_flagged": n_flagged,
            "precision": pytest.approx(precision, abs=1e-6),
            "recall": pytest.approx(recall, abs=1e-6),
            "f1": pytest.approx(f1, abs=1e-6),
        }


def test_evaluate_run_matches_the_hand_computation(tiny: tuple[Path, Path]) -> None:
    run, truth = tiny
    evaluation = evaluate_run(run, truth)
    _check_metrics(evaluation.metrics)

    table = evaluation.thresholds
    assert table.columns == ["threshold", "n_flagged", "precision", "recall", "f1"]
    assert table["threshold"].is_sorted()
    for t, (n_flagged, precision, recall, f1) in THRESHOLD_ROWS.items():
        row = table.filter(pl.col("threshold") == t).row(0)
        assert row == (
            t,
            n_flagged,
            pytest.approx(precision),
            pytest.approx(recall),
            pytest.approx(f1),
        )

    fps = evaluation.false_positives
    assert fps.columns == [
        "seller_id",
        "ring_id",
        "seller_score",
        "decision",
        "legit_group",
        "bound_by",
        "holds_hub",
        "reasons",
    ]
    assert [row[:7] for row in fps.rows()] == FALSE_POSITIVES

    curve = evaluation.curve
    assert sorted(curve["bad_scores"].tolist()) == [0.3, 0.6, 0.7, 0.9, 0.95]
    assert sorted(curve["good_scores"].tolist()) == [0.2, 0.4, 0.6, 0.75, 0.85]


def test_evaluate_run_accepts_a_frame_with_integer_truth(tiny: tuple[Path, Path]) -> None:
    run, truth = tiny
    frame = pl.read_parquet(truth).with_columns(pl.col("is_bad").cast(pl.Int64))
    evaluation = evaluate_run(run, frame)
    _check_metrics(evaluation.metrics)
    assert evaluation.metrics["truth"] == "truth (Polars DataFrame)"


def test_threshold_table_by_hand() -> None:
    y = np.array([1, 0, 1, 0, 1])
    scores = np.array([0.9, 0.8, 0.5, 0.5, 0.1])
    table = threshold_table(y, scores, [0.95, 0.5, 0.5, 0.0])
    # 0.0: all 5 flagged, TP 3: P 3/5, R 1, F1 6/8. 0.5: 4 flagged (ties flag), TP 2:
    # P 1/2, R 2/3, F1 4/7. 0.95: nothing flagged: precision and F1 undefined, recall 0.
    assert table.rows() == [
        (0.0, 5, 0.6, 1.0, pytest.approx(0.75)),
        (0.5, 4, 0.5, pytest.approx(2 / 3), pytest.approx(4 / 7)),
        (0.95, 0, None, 0.0, None),
    ]


def test_metrics_json_and_report_show_the_same_numbers(
    tiny: tuple[Path, Path], tmp_path: Path
) -> None:
    run, truth = tiny
    evaluation = evaluate_run(run, truth)
    paths = write_evaluation(evaluation, tmp_path / "out")
    assert set(paths) == {"metrics", "report", "false_positives"}
    assert all(p.is_file() for p in paths.values())

    _check_metrics(json.loads(paths["metrics"].read_text(encoding="utf-8")))
    saved = pl.read_parquet(paths["false_positives"])
    assert [row[:7] for row in saved.rows()] == FALSE_POSITIVES

    page = paths["report"].read_text(encoding="utf-8")
    assert page == render_report(evaluation)
    cells = re.findall(r"<td class='n'>([^<]*)</td>", page)
    # syndicate: 3 flagged, 2 TP, 1 FP, P 0.667, R 0.400, F1 0.500; syndicate_or_review:
    # 7, 4, 3, 0.571, 0.800, 0.667.
    decisions = "".join(f"<td class='n'>{c}</td>" for c in ("3", "2", "1", "0.667", "0.400"))
    assert decisions + "<td class='n'>0.500</td>" in page
    assert "<td class='n'>0.571</td><td class='n'>0.800</td><td class='n'>0.667</td>" in page
    assert "<th>AUROC</th><td class='n'>0.660</td>" in page
    assert "<th>AUPRC</th><td class='n'>0.745</td>" in page
    assert "<th>ARI on ring members</th><td class='n'>0.034</td>" in page
    assert f"<td class='n'>{_nmi():.3f}</td>" in page
    assert "<th>recall at 5</th><td class='n'>0.600</td>" in page
    # Rings by detector (BY_DETECTOR): found, recovered, recall, precision.
    assert _detector_rows(page) == {
        "leiden": ["2", "1", "0.500", "0.500"],
        "dense block": ["1", "1", "0.500", "1.000"],
        "union": ["2", "1", "0.500", "0.500"],
        "leiden alone": ["1", "–", "–", "0.000"],
        "dense block alone": ["0", "–", "–", "–"],
    }
    assert len(cells) > 50
    # The run's own thresholds are in bold.
    bold = re.findall(r"<tr style=\"font-weight:bold\"><td class='n'>([^<]*)</td>", page)
    assert bold == ["0.520", "0.820"]

    # Safe page: a CSP forbidding everything but inline style and data: images, no script.
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', page)
    assert csp is not None
    assert "default-src 'none'" in csp.group(1)
    assert "<script" not in page.lower()

    # Two charts, embedded as SVG data: images that parse as XML.
    images = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', page)
    assert len(images) == 2
    for data in images:
        root = ET.fromstring(base64.b64decode(data).decode("utf-8"))
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert page.count("<img ") == 2  # no other image (the hostile one is escaped)

    # The hostile seller id (a false positive) and reasons are escaped, never raw.
    assert HOSTILE not in page
    assert ESCAPED in page
    assert "<b>reason" not in page
    assert "&lt;b&gt;reason of " + ESCAPED + "&lt;/b&gt;" in page


def _detector_rows(page: str) -> dict[str, list[str]]:
    """The rows of the report's rings-by-detector table: label -> its number cells."""
    section = page.split("<h3>Rings by detector</h3>", 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr><th>([^<]*)</th>((?:<td class='n'>[^<]*</td>)+)</tr>", section)
    return {label: re.findall(r"<td class='n'>([^<]*)</td>", cells) for label, cells in rows}


# --- rings by detector ---------------------------------------------------------------------
#
# A second hand-made run, with more rings than the tiny one: (seller, true ring, is_bad,
# legit group, found ring). True rings A = {a1, a2, a3}, B = {b1, b2, b3}, C = {c1, c2},
# D = {d1, d2, d3, d4}; legit group household-1 = {h1, h2}.
DETECTOR_SELLERS = [
    ("a1", "A", True, None, "R1"),
    ("a2", "A", True, None, "R1"),
    ("a3", "A", True, None, "R1"),
    ("b1", "B", True, None, "R2"),
    ("b2", "B", True, None, "R2"),
    ("b3", "B", True, None, None),
    ("c1", "C", True, None, "R3"),
    ("c2", "C", True, None, "R3"),
    ("h1", None, False, "household-1", "R4"),
    ("h2", None, False, "household-1", "R4"),
    ("g1", None, False, None, "R4"),
    ("d1", "D", True, None, "R5"),
    ("g2", None, False, None, "R5"),
    ("g3", None, False, None, "R5"),
    ("d2", "D", True, None, "R6"),
    ("d3", "D", True, None, "R6"),
    ("d4", "D", True, None, "R6"),
    ("g4", None, False, None, "R6"),
    ("g5", None, False, None, None),
]
# Which detectors found each ring (R1's list unsorted on purpose).
RING_DETECTORS = {
    "R1": ["leiden", "dense_block"],
    "R2": ["leiden"],
    "R3": ["dense_block"],
    "R4": ["dense_block"],
    "R5": ["leiden"],
    "R6": ["leiden"],
}
# Jaccard of the overlapping pairs:
#   J(A, R1) = 3/3 = 1; J(B, R2) = 2/3; J(C, R3) = 2/2 = 1; J(household-1, R4) = 2/3;
#   J(D, R5) = 1 / (4 + 3 - 1) = 1/6; J(D, R6) = 3 / (4 + 4 - 3) = 3/5.
# So at Jaccard >= 0.5: R1 ~ A, R2 ~ B, R3 ~ C, R4 ~ household-1 (precision, not recall),
# R6 ~ D; R5 matches nothing.
#   leiden {R1, R2, R5, R6}: recovers A, B, D -> recall 3/4; matching R1, R2, R6 -> 3/4.
#   dense_block {R1, R3, R4}: recovers A, C -> recall 2/4; all three match -> precision 1.
#   union (all 6): recovers A, B, C, D -> recall 1; matching all but R5 -> 5/6.
#   leiden alone {R2, R5, R6}: R2, R6 match -> 2/3. dense_block alone {R3, R4}: 2/2.
DETECTOR_FIGURES = {
    "leiden": {"n_found_rings": 4, "n_recovered": 3, "recall": 0.75, "precision": 0.75},
    "dense_block": {"n_found_rings": 3, "n_recovered": 2, "recall": 0.5, "precision": 1.0},
    "union": {
        "n_found_rings": 6,
        "n_recovered": 4,
        "recall": 1.0,
        "precision": pytest.approx(5 / 6, abs=1e-6),
    },
    "only": {
        "leiden_only": {
            "n_found_rings": 3,
            "n_matching": 2,
            "precision": pytest.approx(2 / 3, abs=1e-6),
        },
        "dense_block_only": {"n_found_rings": 2, "n_matching": 2, "precision": 1.0},
    },
    "note": None,
}


def _make_detector_run(folder: Path, rings: dict[str, list[str]]) -> tuple[Path, Path]:
    """Write the run of DETECTOR_SELLERS, ``rings`` giving rings.parquet's rows' detectors."""
    folder.mkdir(parents=True)
    n = len(DETECTOR_SELLERS)
    pl.DataFrame(
        {
            "seller_id": [r[0] for r in DETECTOR_SELLERS],
            "ring_id": [r[4] for r in DETECTOR_SELLERS],
            "seller_score": [round(1 - i / n, 3) for i in range(n)],
            "decision": ["review" if r[4] else "clear" for r in DETECTOR_SELLERS],
            "reasons": [[] for _ in DETECTOR_SELLERS],
        },
        schema_overrides={"ring_id": pl.String, "reasons": pl.List(pl.String)},
    ).write_parquet(folder / "labels.parquet")
    pl.DataFrame(
        {
            "ring_id": list(rings),
            "ring_score": [0.5] * len(rings),
            "decision": ["review"] * len(rings),
            "detectors": list(rings.values()),
            "block_density": [0.7 if "dense_block" in d else None for d in rings.values()],
        },
        schema_overrides={"detectors": pl.List(pl.String), "block_density": pl.Float64},
    ).write_parquet(folder / "rings.parquet")
    truth = folder.parent / "detector-truth.parquet"
    pl.DataFrame(
        [r[:4] for r in DETECTOR_SELLERS],
        schema=["seller_id", "ring", "is_bad", "legit_group"],
        orient="row",
    ).write_parquet(truth)
    return folder, truth


def test_ring_recovery_by_detector_matches_the_hand_computation(tmp_path: Path) -> None:
    run, truth = _make_detector_run(tmp_path / "run", RING_DETECTORS)
    evaluation = evaluate_run(run, truth)
    ring = evaluation.metrics["ring"]
    assert ring["by_detector"] == DETECTOR_FIGURES
    # The union is every found ring: the same figures as the ring section's own.
    union = ring["by_detector"]["union"]
    assert (union["n_found_rings"], union["n_recovered"]) == (ring["n_found"], ring["recovered"])
    assert (union["recall"], union["precision"]) == (ring["recall"], ring["precision"])

    assert _detector_rows(render_report(evaluation)) == {
        "leiden": ["4", "3", "0.750", "0.750"],
        "dense block": ["3", "2", "0.500", "1.000"],
        "union": ["6", "4", "1.000", "0.833"],
        "leiden alone": ["3", "–", "–", "0.667"],
        "dense block alone": ["2", "–", "–", "1.000"],
    }


def test_a_ring_missing_from_rings_parquet_counts_in_the_union_only(tmp_path: Path) -> None:
    # R5 (leiden, matching nothing) has no row in rings.parquet: leiden keeps R1, R2, R6
    # (recall 3/4, precision 3/3), leiden alone R2, R6 (2/2); the union is unchanged.
    rings = {k: v for k, v in RING_DETECTORS.items() if k != "R5"}
    run, truth = _make_detector_run(tmp_path / "run", rings)
    by_detector = evaluate_run(run, truth).metrics["ring"]["by_detector"]
    assert by_detector["leiden"] == {
        "n_found_rings": 3,
        "n_recovered": 3,
        "recall": 0.75,
        "precision": 1.0,
    }
    assert by_detector["only"]["leiden_only"] == {
        "n_found_rings": 2,
        "n_matching": 2,
        "precision": 1.0,
    }
    assert by_detector["dense_block"] == DETECTOR_FIGURES["dense_block"]
    assert by_detector["union"] == DETECTOR_FIGURES["union"]
    assert "1 found ring without a detector recorded" in by_detector["note"]


def test_a_run_without_detectors_counts_every_ring_as_leiden(
    tiny: tuple[Path, Path], tmp_path: Path
) -> None:
    # An older run folder: rings.parquet without detectors (nor block_density). Every ring
    # is Leiden's, so leiden = union = the ring figures (recall 1/2, precision 1/2), and
    # leiden alone holds both rings (R1 matches A: 1 of 2); no dense_block entry.
    run, truth = tiny
    rings = pl.read_parquet(run / "rings.parquet")
    rings.drop("detectors", "block_density").write_parquet(run / "rings.parquet")
    out = tmp_path / "evaluation"
    assert (
        main(["evaluate", "--run", str(run), "--truth", str(truth), "--out", str(out), "-q"]) == 0
    )
    by_detector = json.loads((out / "metrics.json").read_text(encoding="utf-8"))["ring"][
        "by_detector"
    ]
    assert set(by_detector) == {"leiden", "union", "only", "note"}
    assert by_detector["leiden"] == by_detector["union"] == BY_DETECTOR["union"]
    assert by_detector["only"] == {
        "leiden_only": {"n_found_rings": 2, "n_matching": 1, "precision": 0.5}
    }
    assert "no 'detectors' column" in by_detector["note"]
    assert "counted as found by leiden" in by_detector["note"]

    page = (out / "report.html").read_text(encoding="utf-8")
    assert "rings.parquet has no &#x27;detectors&#x27; column" in page
    assert _detector_rows(page) == {
        "leiden": ["2", "1", "0.500", "0.500"],
        "union": ["2", "1", "0.500", "0.500"],
        "leiden alone": ["2", "–", "–", "0.500"],
    }
    assert "<script" not in page.lower()


def test_cli_evaluate_writes_the_three_files(
    tiny: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run, truth = tiny
    out = tmp_path / "evaluation"
    assert (
        main(["evaluate", "--run", str(run), "--truth", str(truth), "--out", str(out), "-q"]) == 0
    )
    for name in ("metrics.json", "report.html", "false_positives.parquet"):
        assert (out / name).is_file()
    _check_metrics(json.loads((out / "metrics.json").read_text(encoding="utf-8")))
    printed = capsys.readouterr().out
    assert "AUROC 0.660" in printed


def test_cli_evaluate_defaults_to_run_evaluation(tiny: tuple[Path, Path]) -> None:
    run, truth = tiny
    assert main(["evaluate", "--run", str(run), "--truth", str(truth), "--quiet"]) == 0
    assert (run / "evaluation" / "report.html").is_file()


def _truth_missing_is_bad(truth: Path) -> None:
    pl.read_parquet(truth).drop("is_bad").write_parquet(truth)


def _truth_with_a_two(truth: Path) -> None:
    frame = pl.read_parquet(truth).with_columns(pl.col("is_bad").cast(pl.Int64))
    frame.with_columns(
        pl.when(pl.col("seller_id") == "a1").then(2).otherwise(pl.col("is_bad")).alias("is_bad")
    ).write_parquet(truth)


def _truth_duplicated(truth: Path) -> None:
    frame = pl.read_parquet(truth)
    pl.concat([frame, frame.filter(pl.col("seller_id") == "g2")]).write_parquet(truth)


def _truth_disjoint(truth: Path) -> None:
    pl.read_parquet(truth).with_columns(
        ("other-" + pl.col("seller_id")).alias("seller_id")
    ).write_parquet(truth)


def _run_missing(truth: Path) -> None:
    labels = truth.parent / "run" / "labels.parquet"
    labels.unlink()


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (_run_missing, "labels.parquet: not found"),
        (_truth_missing_is_bad, "lacks columns ['is_bad']"),
        (_truth_with_a_two, "'is_bad' must be boolean or 0/1"),
        (_truth_duplicated, "truth lists seller 'g2' more than once"),
        (_truth_disjoint, "no seller of the run is in the truth table"),
    ],
    ids=["no-run", "no-is_bad", "is_bad-2", "duplicate", "disjoint"],
)
def test_cli_evaluate_bad_input_exits_2(
    tiny: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    spoil,
    message: str,
) -> None:
    run, truth = tiny
    spoil(truth)
    out = tmp_path / "evaluation"
    code = main(["evaluate", "--run", str(run), "--truth", str(truth), "--out", str(out), "-q"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("syndicate evaluate: error: ")
    assert message in err
    assert "Traceback" not in err
    assert not (out / "report.html").exists()


def test_cli_evaluate_missing_run_folder_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    truth = tmp_path / "truth.parquet"
    pl.DataFrame({"seller_id": ["a"], "ring": [None], "is_bad": [True]}).write_parquet(truth)
    missing = tmp_path / "nowhere"
    assert main(["evaluate", "--run", str(missing), "--truth", str(truth), "-q"]) == 2
    err = capsys.readouterr().err
    assert "not found" in err
    assert "is " + repr(str(missing)) + " a run folder?" in err


def test_evaluate_a_real_run_end_to_end(tmp_path: Path) -> None:
    from syndicate.synth import generate_marketplace, write_marketplace

    market = generate_marketplace(n_sellers=1500, seed=3)
    data = write_marketplace(market, tmp_path / "data")
    run = tmp_path / "run"
    argv = ["run", "--sellers", str(data["sellers"]), "--links", str(data["links"])]
    argv += ["--labels", str(data["labels"]), "--out", str(run)]
    argv += ["--set", "model.n_estimators=20", "--set", "model.importance_repeats=0"]
    # Fixed thresholds, so that some sellers are flagged and some are false positives.
    argv += ["--set", "decisions.syndicate_threshold=0.5"]
    argv += ["--set", "decisions.review_threshold=0.3", "--quiet"]
    assert main(argv) == 0
    out = tmp_path / "evaluation"
    assert (
        main(["evaluate", "--run", str(run), "--truth", str(data["truth"]), "--out", str(out)]) == 0
    )

    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    truth = pl.read_parquet(data["truth"])
    seller = metrics["seller"]
    assert seller["n"] == 1500
    assert seller["n_bad"] == int(truth["is_bad"].sum())
    for figures in seller["decisions"].values():
        assert figures["true_positives"] + figures["false_negatives"] == seller["n_bad"]
        assert figures["true_positives"] + figures["false_positives"] == figures["n_flagged"]
    assert (
        seller["decisions"]["syndicate"]["n_flagged"]
        <= seller["decisions"]["syndicate_or_review"]["n_flagged"]
    )
    assert seller["decisions"]["syndicate_or_review"]["n_flagged"] > 0
    assert 0.5 < seller["auroc"] <= 1
    assert metrics["run_thresholds"] == [0.5, 0.3]

    flagged = [row["n_flagged"] for row in metrics["thresholds"]]
    thresholds = [row["threshold"] for row in metrics["thresholds"]]
    assert thresholds == sorted(thresholds)
    assert all(a >= b for a, b in itertools.pairwise(flagged))

    ring = metrics["ring"]
    assert 0 <= ring["ari"] <= 1
    assert 0 <= ring["nmi"] <= 1
    assert ring["recovered"] <= ring["n_true"] == truth["ring"].drop_nulls().n_unique()

    fps = pl.read_parquet(out / "false_positives.parquet")
    assert fps.height == metrics["false_positives"]["n"] > 0
    checked = fps.join(truth, on="seller_id", how="left")
    assert checked.height == fps.height
    assert not checked["is_bad"].any()
    assert (checked["decision"] != "clear").all()
    assert checked["seller_score"].is_sorted(descending=True)

    page = (out / "report.html").read_text(encoding="utf-8")
    assert "<script" not in page.lower()
    assert len(re.findall(r'src="data:image/svg\+xml;base64,', page)) == 2


def test_report_bolds_unrounded_run_thresholds(tiny: tuple[Path, Path]) -> None:
    run, truth = tiny
    (run / "run.json").write_text(
        json.dumps({"thresholds": {"syndicate": 0.8234567891, "review": 0.5234567891}})
    )
    page = render_report(evaluate_run(run, truth))
    bold = re.findall(r"<tr style=\"font-weight:bold\"><td class='n'>([^<]*)</td>", page)
    assert bold == ["0.523", "0.823"]


def _run_json_thresholds_null(run: Path) -> None:
    (run / "run.json").write_text('{"thresholds": null}')


def _rings_without_ring_score(run: Path) -> None:
    pl.read_parquet(run / "rings.parquet").drop("ring_score").write_parquet(run / "rings.parquet")


def _rings_with_numeric_detectors(run: Path) -> None:
    rings = pl.read_parquet(run / "rings.parquet")
    rings.with_columns(pl.lit(1).alias("detectors")).write_parquet(run / "rings.parquet")


def _identifiers_without_hub(run: Path) -> None:
    path = run / "viz" / "data" / "identifiers.parquet"
    pl.read_parquet(path).drop("hub").write_parquet(path)


def _labels_with_a_null_score(run: Path) -> None:
    labels = pl.read_parquet(run / "labels.parquet")
    labels.with_columns(
        pl.when(pl.col("seller_id") == "g4")
        .then(None)
        .otherwise(pl.col("seller_score"))
        .alias("seller_score")
    ).write_parquet(run / "labels.parquet")


@pytest.mark.parametrize(
    "spoil",
    [
        # rings.parquet and identifiers.parquet columns are not checked (labels' are)
        _rings_without_ring_score,
        _identifiers_without_hub,
        # detectors must be a list of strings
        _rings_with_numeric_detectors,
        # a null seller_score reaches sklearn as NaN ("Input contains NaN")
        _labels_with_a_null_score,
    ],
    ids=["rings-no-ring_score", "identifiers-no-hub", "numeric-detectors", "null-score"],
)
def test_cli_evaluate_malformed_run_exits_2(
    tiny: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], spoil
) -> None:
    run, truth = tiny
    spoil(run)
    out = tmp_path / "evaluation"
    code = main(["evaluate", "--run", str(run), "--truth", str(truth), "--out", str(out), "-q"])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert code == 2


def test_a_run_json_without_thresholds_is_fine(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    # Thresholds are optional in a manifest: none are marked bold, nothing fails.
    run, truth = tiny
    _run_json_thresholds_null(run)
    out = tmp_path / "evaluation"
    assert (
        main(["evaluate", "--run", str(run), "--truth", str(truth), "--out", str(out), "-q"]) == 0
    )
    assert json.loads((out / "metrics.json").read_text())["run_thresholds"] == []
    assert 'style="font-weight:bold"' not in (out / "report.html").read_text()


# --- labels.parquet with optional columns missing or odd ---------------------------------


def _rewrite_labels(run: Path, change) -> None:
    path = run / "labels.parquet"
    change(pl.read_parquet(path)).write_parquet(path)


def test_labels_without_reasons_evaluate_with_no_reasons(tiny: tuple[Path, Path]) -> None:
    # reasons (and score_source) are optional: the same metrics, false positives without
    # reasons; every seller counts as unlabelled without score_source.
    run, truth = tiny
    before = evaluate_run(run, truth)
    _rewrite_labels(run, lambda frame: frame.drop("reasons", "score_source"))
    after = evaluate_run(run, truth)
    assert after.metrics["seller"]["auroc"] == before.metrics["seller"]["auroc"]
    assert after.metrics["false_positives"]["n"] == before.metrics["false_positives"]["n"]
    assert after.false_positives["reasons"].to_list() == [[]] * after.false_positives.height
    assert after.metrics["seller"]["unlabelled"]["n"] == after.metrics["seller"]["n"]


def test_a_reasons_column_of_text_becomes_one_reason(tiny: tuple[Path, Path]) -> None:
    run, truth = tiny
    _rewrite_labels(
        run, lambda frame: frame.with_columns(pl.col("reasons").list.first().alias("reasons"))
    )
    fp = evaluate_run(run, truth).metrics["false_positives"]["examples"]
    assert fp[1]["reasons"] == [f"<b>reason of {HOSTILE}</b>"]
    assert all(isinstance(row["reasons"], list) for row in fp)


def test_integer_seller_ids_in_labels_are_matched_as_text(tiny: tuple[Path, Path]) -> None:
    run, truth = tiny
    ids = {s: i for i, s in enumerate(pl.read_parquet(run / "labels.parquet")["seller_id"])}
    _rewrite_labels(run, lambda frame: frame.with_columns(pl.col("seller_id").replace_strict(ids)))
    numbered = pl.read_parquet(truth).with_columns(
        pl.col("seller_id").replace_strict(ids, default=None)
    )
    evaluation = evaluate_run(run, numbered.drop_nulls("seller_id"))
    assert evaluation.metrics["seller"]["n"] == 10
    assert evaluation.metrics["seller"]["auroc"] == 0.66  # as with text ids (see above)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda f: f.drop("ring_id", "decision"),
            r"lacks columns \['ring_id', 'decision'\]",
        ),
        (
            lambda f: f.with_columns(pl.col("seller_score").cast(pl.String)),
            r"column 'seller_score' must be numeric; got String",
        ),
        (
            lambda f: f.with_columns(pl.col("seller_score").fill_null(0) * float("nan")),
            r"seller_score is null or NaN in rows \[0, 1, 2",
        ),
        (
            lambda f: f.with_columns(pl.col("seller_score") + 1.5),
            r"seller_score is outside \[0, 1\] in rows \[0, 1",
        ),
        (
            lambda f: f.with_columns(pl.lit("flag").alias("decision")),
            r"decision must be one of \['syndicate', 'review', 'clear'\]; not so in rows \[0",
        ),
        (
            lambda f: f.with_columns(pl.lit(3).alias("reasons")),
            r"column 'reasons' must be a list of strings; got Int32",
        ),
        (
            lambda f: f.with_columns(pl.lit(1.5).alias("decision")),
            r"column 'decision' must be text; got Float64",
        ),
        (
            lambda f: pl.concat([f, f.head(1)]),
            r"seller_id repeats in rows \[0, ",
        ),
    ],
    ids=[
        "missing",
        "text-score",
        "nan-score",
        "score-above-1",
        "decision",
        "reasons",
        "numeric-decision",
        "duplicate",
    ],
)
def test_malformed_labels_are_named_and_exit_2(
    tiny: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], change, message
) -> None:
    run, truth = tiny
    _rewrite_labels(run, change)
    with pytest.raises(InputFileError, match=message):
        evaluate_run(run, truth)
    code = main(
        ["evaluate", "--run", str(run), "--truth", str(truth), "--out", str(tmp_path / "e"), "-q"]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "labels.parquet" in err and "Traceback" not in err
