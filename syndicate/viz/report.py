"""The evaluation report: one self-contained HTML page with the charts as embedded images.

Charts are drawn as SVG by hand (no plotting dependency) and embedded as ``data:`` images,
so the page loads nothing and runs no script; every string is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from syndicate.evaluate import Evaluation
from syndicate.io import (
    record_written,
    refuse_foreign_files,
    write_json_atomic,
    write_parquet_atomic,
    write_text_atomic,
)
from syndicate.terminal import counted

__all__ = ["render_report", "write_evaluation"]

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
_CSS = """
body{font-family:system-ui,sans-serif;margin:16px 24px;color:#222;max-width:1100px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px}
table{border-collapse:collapse;margin:6px 0}
td,th{border-bottom:1px solid #e5e5e5;padding:3px 10px;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.charts img{margin-right:18px;border:1px solid #eee}
.note{color:#666;font-size:13px}
"""
_W, _H, _PAD = 360, 260, 36


def _esc(value: object) -> str:
    return html.escape("–" if value is None else str(value), quote=True)


def _left_out(n: object) -> str:
    """The sentence saying how many sellers of the run the truth table lacks."""
    if not isinstance(n, int):
        return f"{_num(n)} sellers of the run are not in the truth table and are left out."
    verb = "is" if n == 1 else "are"
    return f"{counted(n, 'seller')} of the run {verb} not in the truth table and left out."


def _num(value: object, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return _esc(value)


def _image(svg: str, alt: str) -> str:
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f'<img alt="{_esc(alt)}" src="data:image/svg+xml;base64,{data}">'


def _frame(title: str, x_label: str, y_label: str) -> str:
    ticks = "".join(
        f'<text x="{_PAD + t * (_W - 2 * _PAD):.0f}" y="{_H - _PAD + 14}" font-size="10" '
        f'text-anchor="middle">{t:g}</text>'
        for t in (0, 0.25, 0.5, 0.75, 1)
    )
    return (
        f'<text x="{_W / 2:.0f}" y="16" font-size="13" text-anchor="middle">{_esc(title)}</text>'
        f'<line x1="{_PAD}" y1="{_H - _PAD}" x2="{_W - _PAD}" y2="{_H - _PAD}" stroke="#888"/>'
        f'<line x1="{_PAD}" y1="{_PAD}" x2="{_PAD}" y2="{_H - _PAD}" stroke="#888"/>{ticks}'
        f'<text x="{_W / 2:.0f}" y="{_H - 6}" font-size="11" text-anchor="middle">'
        f"{_esc(x_label)}</text>"
        f'<text x="12" y="{_H / 2:.0f}" font-size="11" text-anchor="middle" '
        f'transform="rotate(-90 12 {_H / 2:.0f})">{_esc(y_label)}</text>'
    )


def _xy(x: float, y: float) -> str:
    return f"{_PAD + x * (_W - 2 * _PAD):.1f},{_H - _PAD - y * (_H - 2 * _PAD):.1f}"


def pr_curve_svg(precision: np.ndarray, recall: np.ndarray) -> str:
    """The precision-recall curve as an SVG document (at most 600 points drawn)."""
    step = max(1, len(recall) // 600)
    points = " ".join(
        _xy(float(r), float(p)) for r, p in zip(recall[::step], precision[::step], strict=True)
    )
    if len(recall):
        points += " " + _xy(float(recall[-1]), float(precision[-1]))
    body = _frame("Precision–recall (sellers)", "recall", "precision")
    body += f'<polyline fill="none" stroke="#2c7fb8" stroke-width="2" points="{points}"/>'
    return f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}">{body}</svg>'


def score_histogram_svg(bad: np.ndarray, good: np.ndarray, bins: int = 20) -> str:
    """Seller score distributions of truly bad and good sellers (share per bin)."""
    edges = np.linspace(0, 1, bins + 1)
    body = _frame("Seller scores by truth (share of each class)", "seller score", "share")
    shares = []
    for values in (bad, good):
        counts = np.histogram(np.clip(values, 0, 1), bins=edges)[0].astype(float)
        shares.append(counts / counts.sum() if counts.sum() else counts)
    top = max(float(max(s.max(initial=0) for s in shares)), 1e-9)
    width = (_W - 2 * _PAD) / bins
    for offset, (share, colour) in enumerate(zip(shares, ("#d62728", "#7f7f7f"), strict=True)):
        for i, value in enumerate(share):
            height = value / top * (_H - 2 * _PAD)
            x = _PAD + i * width + offset * width / 2
            body += (
                f'<rect x="{x:.1f}" y="{_H - _PAD - height:.1f}" width="{width / 2 - 1:.1f}" '
                f'height="{height:.1f}" fill="{colour}"/>'
            )
    body += (
        f'<rect x="{_W - 120}" y="26" width="10" height="10" fill="#d62728"/>'
        f'<text x="{_W - 106}" y="35" font-size="11">bad ({len(bad):,})</text>'
        f'<rect x="{_W - 120}" y="42" width="10" height="10" fill="#7f7f7f"/>'
        f'<text x="{_W - 106}" y="51" font-size="11">good ({len(good):,})</text>'
    )
    return f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}">{body}</svg>'


def _rows(pairs: Sequence[tuple[str, object]]) -> str:
    return "".join(f"<tr><th>{_esc(k)}</th><td class='n'>{_num(v)}</td></tr>" for k, v in pairs)


def _detector_table(by_detector: dict[str, Any] | None) -> str:
    """Ring recovery per detector, of the union and of rings one detector alone found."""
    if not by_detector:
        return ""
    header = (
        "<tr><th>detector</th><th>rings found</th><th>true rings recovered</th><th>recall</th>"
        "<th>precision</th></tr>"
    )
    only = by_detector.get("only") or {}
    rows = [
        (name.replace("_", " "), d["n_found_rings"], d["n_recovered"], d["recall"], d["precision"])
        for name, d in by_detector.items()
        if name not in ("only", "note") and isinstance(d, dict)
    ] + [
        (
            name.replace("_", " ").removesuffix(" only") + " alone",
            d["n_found_rings"],
            None,
            None,
            d["precision"],
        )
        for name, d in only.items()
    ]
    body = "".join(
        f"<tr><th>{_esc(label)}</th>"
        + "".join(f"<td class='n'>{_num(v)}</td>" for v in values)
        + "</tr>"
        for label, *values in rows
    )
    note = by_detector.get("note")
    notes = f'<p class="note">{_esc(note)}</p>' if note else ""
    return (
        "<h3>Rings by detector</h3>"
        '<p class="note">Recall: true rings whose best match among those rings has Jaccard at '
        "least the threshold; precision: those rings matching a true ring or legit group. "
        "“Alone”: rings no other detector found.</p>"
        f"{notes}<table>{header}{body}</table>"
    )


def render_report(evaluation: Evaluation) -> str:
    """The whole report page."""
    m = evaluation.metrics
    seller, ring, fp = m["seller"], m["ring"], m["false_positives"]
    curve = evaluation.curve
    charts = _image(
        pr_curve_svg(curve["precision"], curve["recall"]), "precision-recall curve"
    ) + _image(score_histogram_svg(curve["bad_scores"], curve["good_scores"]), "score histogram")
    decisions = "".join(
        f"<tr><th>{_esc(name)}</th>"
        + "".join(
            f"<td class='n'>{_num(d[key])}</td>"
            for key in (
                "n_flagged",
                "true_positives",
                "false_positives",
                "precision",
                "recall",
                "f1",
            )
        )
        + "</tr>"
        for name, d in seller["decisions"].items()
    )
    marks = set(m.get("run_thresholds", []))
    bold = ' style="font-weight:bold"'
    thresholds = "".join(
        f"<tr{bold if row['threshold'] in marks else ''}>"
        + "".join(
            f"<td class='n'>{_num(row[key])}</td>"
            for key in ("threshold", "n_flagged", "precision", "recall", "f1")
        )
        + "</tr>"
        for row in m["thresholds"]
    )
    breakdown = "".join(
        f"<tr><th>{_esc(title)}</th><td>"
        + (", ".join(f"{_esc(k)} {_num(v)}" for k, v in table.items()) or "–")
        + "</td></tr>"
        for title, table in (
            ("by decision", fp["by_decision"]),
            ("by legit group", fp["by_legit_group"]),
            ("by kind shared with ring-mates", fp["by_binding_kind"]),
        )
    )
    examples = "".join(
        "<tr>"
        + "".join(
            f"<td>{_esc(value)}</td>"
            for value in (
                row["seller_id"],
                row["ring_id"],
                _num(row["seller_score"]),
                row["decision"],
                row["legit_group"],
                ", ".join(row["bound_by"] or []) or "–",
                "yes" if row["holds_hub"] else "no",
                "; ".join(row["reasons"] or []) or "–",
            )
        )
        + "</tr>"
        for row in fp["examples"]
    )
    unlabelled = seller["unlabelled"]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<title>Evaluation · syndicate</title><style>{_CSS}</style></head><body>
<h1>Evaluation of {_esc(m["run"])}</h1>
<p class="note">Truth: {_esc(m["truth"])}. {_left_out(seller["not_in_truth"])}</p>
<div class="charts">{charts}</div>
<h2>Sellers</h2>
<table>{
        _rows(
            [
                ("sellers", seller["n"]),
                ("truly bad", seller["n_bad"]),
                ("AUROC", seller["auroc"]),
                ("AUPRC", seller["auprc"]),
                *((f"recall at {k}", v) for k, v in seller["recall_at_k"].items()),
                ("AUROC, unlabelled sellers only", unlabelled["auroc"]),
                ("AUPRC, unlabelled sellers only", unlabelled["auprc"]),
            ]
        )
    }</table>
<table><tr><th>decision</th><th>flagged</th><th>true pos.</th><th>false pos.</th>
<th>precision</th><th>recall</th><th>F1</th></tr>{decisions}</table>
<h2>Rings</h2>
<table>{
        _rows(
            [
                ("rings found", ring["n_found"]),
                ("true rings", ring["n_true"]),
                (
                    f"true rings recovered (Jaccard >= {ring['jaccard_threshold']})",
                    ring["recovered"],
                ),
                ("ring recall", ring["recall"]),
                ("ring precision (true ring or legit group)", ring["precision"]),
                ("ARI on ring members", ring["ari"]),
                ("NMI on ring members", ring["nmi"]),
                ("ring AUROC (ring bad = most members bad)", ring.get("ring_auroc")),
                ("ring AUROC, rings without labelled members", ring.get("ring_auroc_unlabelled")),
                ("rings decided syndicate", ring.get("rings_decided_syndicate")),
                ("… of which bad", ring.get("rings_decided_syndicate_bad")),
            ]
        )
    }</table>
{_detector_table(ring.get("by_detector"))}
<h2>Thresholds</h2>
<p class="note">Every seller whose score is at least the threshold is flagged; the run's own
thresholds are in bold.</p>
<table><tr><th>threshold</th><th>flagged</th><th>precision</th><th>recall</th><th>F1</th></tr>
{thresholds}</table>
<h2>False positives</h2>
<p>{_num(fp["n"])} truly good sellers were not cleared: {_num(fp["in_no_ring"])} in no ring,
{_num(fp["holding_a_hub"])} holding a hub identifier.</p>
<table>{breakdown}</table>
<table><tr><th>seller</th><th>ring</th><th>score</th><th>decision</th><th>legit group</th>
<th>bound by</th><th>hub</th><th>reasons</th></tr>{examples}</table>
</body></html>
"""


def write_evaluation(evaluation: Evaluation, out: str | os.PathLike[str]) -> dict[str, Path]:
    """Write ``metrics.json``, ``report.html`` and ``false_positives.parquet`` into ``out``.

    Files of those names that syndicate did not write there are never replaced.

    Raises
    ------
    InputFileError
        ``out`` holds such a file.
    """
    folder = Path(out)
    names = ("metrics.json", "false_positives.parquet", "report.html")
    refuse_foreign_files(folder, names)
    paths = {
        "metrics": write_json_atomic(evaluation.metrics, folder / "metrics.json"),
        "false_positives": write_parquet_atomic(
            evaluation.false_positives, folder / "false_positives.parquet"
        ),
    }
    paths["report"] = write_text_atomic(render_report(evaluation), folder / "report.html")
    record_written(folder, paths.values())
    return paths
