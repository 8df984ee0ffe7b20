"""The backtest report: one offline, self-contained HTML page, readable in a minute.

:func:`render_report` turns a backtest's ``strategies.json`` document
(:func:`syndicate.strategies.backtest.backtest_strategies`) into a page with, top to bottom:

1. a header: the runs, the strategies file, the labels and truth measured against;
2. the strategies table, the model's bands first: hits, precision and recall with their
   95% intervals (a band's own and, below it, the cumulative figure), the same against the
   truth when there is one, what the strategy alone adds (incremental recall and false
   positives), the rings it hits and its overlap with the model;
3. the overlaps as a small matrix (Jaccard index of the hit sets, shaded);
4. the false positives broken down by binding kind, legit group and ring;
5. with several runs, small hand-drawn SVG charts of each strategy's hits per run;
6. the runs.

The page runs no script and fetches nothing (the Content-Security-Policy of the other
pages, :data:`syndicate.htmlkit.CSP`). Every string from the inputs (strategy descriptions,
owners and conditions, ring ids, legit groups, binding kinds, run folder names, paths)
reaches it through :func:`syndicate.htmlkit.esc`. The page holds no clock time: the same
document gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from syndicate.htmlkit import CSP, esc, finite, nice_ticks
from syndicate.terminal import counted

__all__ = ["REPORT_HTML", "render_report"]

#: The file the report is written to.
REPORT_HTML = "report.html"

_CSS = """
body{font-family:system-ui,sans-serif;margin:0;color:#222;font-size:14px}
header{padding:10px 18px;border-bottom:1px solid #ddd}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:22px 0 6px}
section{padding:0 18px}
.facts span{margin-right:14px;display:inline-block}
table{border-collapse:collapse}
td,th{border-bottom:1px solid #eee;padding:3px 8px;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.model td{background:#f6f8fa}tr.off td{color:#999}
.desc{color:#555;font-size:12px;max-width:28em}
code{font-size:12px;color:#555;overflow-wrap:anywhere}
td.name{min-width:15em;max-width:24em}code.ring{white-space:nowrap;overflow-wrap:normal}
.sub{color:#666;font-size:12px}
.note{color:#666;font-size:13px;max-width:60em}
table.matrix td{text-align:center;font-variant-numeric:tabular-nums;min-width:3em}
table.matrix th.col{text-align:center}
.charts{display:flex;flex-wrap:wrap;gap:10px 18px}
figure{margin:0}figcaption{font-size:13px;margin-bottom:2px}
svg{display:block;max-width:100%;height:auto}
svg .series{fill:none;stroke:#2c5f8a;stroke-width:1.5}svg .point{fill:#2c5f8a}
svg .axis{stroke:#999}svg .grid{stroke:#eee}svg text{font-size:10px;fill:#555}
"""

_W, _H, _LEFT, _RIGHT, _TOP, _BOTTOM = 280, 96, 40, 10, 8, 22


# --- formatting -----------------------------------------------------------------------------


def _pct(value: object) -> str:
    number = finite(value)
    if number is None:
        return "–"
    percent = number * 100
    if 0 < percent < 0.1:
        return "&lt;0.1%"
    return f"{percent:.1f}%"


def _band(interval: object) -> str:
    if not isinstance(interval, Sequence) or len(interval) != 2:
        return ""
    low, high = (finite(v) for v in interval)
    if low is None or high is None:
        return ""
    return f"<span class='sub'>{low * 100:.1f}–{high * 100:.1f}%</span>"


def _rate(entry: Mapping[str, Any], key: str) -> str:
    """A rate with its interval below it."""
    interval = _band(entry.get(f"{key}_interval"))
    return _pct(entry.get(key)) + (f"<br>{interval}" if interval else "")


def _num(value: object) -> str:
    number = finite(value)
    return "–" if number is None else f"{number:,.0f}"


def _when(text: object) -> str:
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return esc(text)
    midnight = moment.hour == moment.minute == moment.second == 0
    return moment.strftime("%Y-%m-%d" if midnight else "%Y-%m-%d %H:%M")


def _counts(counts: object, limit: int = 4) -> str:
    """``{"payout": 12, "device": 3}`` as ``payout 12 · device 3``, the largest first."""
    if not isinstance(counts, Mapping) or not counts:
        return "–"
    ranked = sorted(counts.items(), key=lambda item: (-int(item[1]), str(item[0])))
    shown = " · ".join(f"{esc(k)} {int(n):,}" for k, n in ranked[:limit])
    more = len(ranked) - limit
    return shown + (f" <span class='sub'>+{more} more</span>" if more > 0 else "")


def _rings(rings: object, key: str, name: str = "ring_id") -> str:
    """Rings (or legit groups) with a count each, one a line."""
    if not isinstance(rings, Sequence) or not rings:
        return "–"
    return "<br>".join(
        f"<code class='ring'>{esc(r.get(name))}</code>&nbsp;{int(r.get(key) or 0):,}"
        for r in rings
        if isinstance(r, Mapping)
    )


_Format = Callable[[Mapping[str, Any], str], str]


def _count_of(entry: Mapping[str, Any], key: str) -> str:
    return _num(entry.get(key))


def _beside(
    entry: Mapping[str, Any], cumulative: Mapping[str, Any] | None, key: str, fmt: _Format
) -> str:
    """A band's own figure and, below it, its cumulative one."""
    if cumulative is None:
        return fmt(entry, key)
    return f"{fmt(entry, key)}<br><span class='sub'>cumulative</span> {fmt(cumulative, key)}"


def _anchor(name: str) -> str:
    return "s-" + "".join(c if c.isalnum() or c in "-_." else "-" for c in name)


# --- page parts -----------------------------------------------------------------------------


def _header(document: Mapping[str, Any]) -> str:
    runs = document.get("runs") or []
    totals = document.get("totals") or {}
    entries = document.get("strategies") or []
    source = document.get("strategies_file") or {}
    statuses: dict[str, int] = {}
    for entry in entries:
        if entry.get("kind") == "strategy":
            statuses[entry["status"]] = statuses.get(entry["status"], 0) + 1
    n_strategies = sum(statuses.values())
    status_text = ", ".join(f"{n:,} {s}" for s, n in sorted(statuses.items()))
    span = ""
    if runs:
        first, last = _when(runs[0].get("as_of")), _when(runs[-1].get("as_of"))
        span = f" ({first})" if first == last else f" ({first} to {last})"
    truth = document.get("truth")
    sha = str(source.get("sha256") or "")[:12]
    unit = "run × sellers" if len(runs) > 1 else "sellers"
    facts = [
        f"<span>{counted(len(runs), 'run')}{span}</span>",
        f"<span>{counted(n_strategies, 'strategy', 'strategies')}"
        + (f" ({esc(status_text)})" if status_text else "")
        + (f" from <code>{esc(source.get('path'))}</code>" if source.get("path") else "")
        + (f" <span class='sub'>sha256 {esc(sha)}…</span>" if sha else "")
        + "</span>",
        f"<span>{_num(totals.get('sellers'))} {unit}, "
        f"{_num(totals.get('known_bad'))} known bad, {_num(totals.get('known_good'))} known good"
        "</span>",
    ]
    if truth is not None:
        facts.append(
            "<span>truth"
            + (f" <code>{esc(truth['path'])}</code>" if truth.get("path") else "")
            + f": {_num(totals.get('truth_sellers'))} sellers covered, "
            f"{_num(totals.get('truth_bad'))} truly bad</span>"
        )
    return (
        "<header><h1>Strategy backtest</h1>"
        f"<div class='facts' id='facts'>{''.join(facts)}</div></header>"
    )


def _strategies_table(entries: Sequence[Mapping[str, Any]], truth: bool) -> str:
    heads = ["strategy", "does", "hits", "labelled", "precision", "recall"]
    if truth:
        heads += ["truth precision", "truth recall"]
    heads += ["incremental recall", "incremental FP", "rings hit", "overlap with model"]
    rows = []
    for number, entry in enumerate(entries, 1):
        name = str(entry["name"])
        model = entry.get("kind") == "model"
        described = "".join(
            f"<div class='desc'>{esc(text)}</div>"
            for text in (
                entry.get("description"),
                f"owner: {entry['owner']}" if entry.get("owner") else "",
            )
            if text
        )
        condition = f"<div><code>{esc(entry.get('when'))}</code></div>"
        cell = (
            f"<td class='name'><b>{number}. {esc(name)}</b>{described}{condition}</td>"
            f"<td>{esc(entry.get('action'))} · {esc(entry.get('scope'))}"
            f"<br><span class='sub'>{esc(entry.get('status'))}</span></td>"
        )
        css = "model" if model else "strategy"
        if not entry.get("evaluated"):
            span = len(heads) - 2
            rows.append(
                f"<tr class='off' id='{esc(_anchor(name))}' data-strategy='{esc(name)}'>{cell}"
                f"<td colspan='{span}'>off: listed, not evaluated</td></tr>"
            )
            continue
        # The strongest band's cumulative figures are its own: shown once.
        top_band = model and not any(e.get("kind") == "model" for e in entries[: number - 1])
        cumulative = entry.get("cumulative") if model and not top_band else None

        cells = [
            f"<td class='n'>{_beside(entry, cumulative, 'hits', _count_of)}</td>",
            f"<td class='n'>{_beside(entry, cumulative, 'labelled_hits', _count_of)}</td>",
            f"<td class='n precision'>{_beside(entry, cumulative, 'precision', _rate)}</td>",
            f"<td class='n recall'>{_beside(entry, cumulative, 'recall', _rate)}</td>",
        ]
        if truth:
            cells += [
                f"<td class='n'>{_beside(entry, cumulative, 'truth_precision', _rate)}</td>",
                f"<td class='n'>{_beside(entry, cumulative, 'truth_recall', _rate)}</td>",
            ]
        truth_recall = truth_fp = ""
        if truth:
            truth_recall = (
                f"<br><span class='sub'>truth {_pct(entry.get('truth_incremental_recall'))}</span>"
            )
            truth_fp = (
                "<br><span class='sub'>truth "
                f"{_num(entry.get('truth_incremental_false_positives'))}</span>"
            )
        cells += [
            f"<td class='n'>{_pct(entry.get('incremental_recall'))}"
            f"<br><span class='sub'>{_num(entry.get('incremental_known_bad'))} known bad</span>"
            f"{truth_recall}</td>",
            f"<td class='n'>{_num(entry.get('incremental_false_positives'))}{truth_fp}</td>",
            f"<td class='n'>{_num(entry.get('hit_rings'))}<br>"
            f"{_rings((entry.get('top_rings') or [])[:3], 'hits')}"
            "</td>",
            f"<td class='n'>{_pct(entry.get('overlap_model'))}</td>",
        ]
        rows.append(
            f"<tr class='{css}' id='{esc(_anchor(name))}' data-strategy='{esc(name)}'>"
            f"{cell}{''.join(cells)}</tr>"
        )
    head = "".join(f"<th>{esc(h)}</th>" for h in heads)
    return (
        f"<table id='strategies'><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _matrix(entries: Sequence[Mapping[str, Any]]) -> str:
    evaluated = [(i, e) for i, e in enumerate(entries, 1) if e.get("evaluated")]
    if len(evaluated) < 2:
        return "<p class='note'>Only one set of hits: nothing to compare.</p>"
    head = "".join(f"<th class='col' title='{esc(e['name'])}'>{i}</th>" for i, e in evaluated)
    rows = []
    for i, entry in evaluated:
        cells = []
        overlap = entry.get("overlap") or {}
        for j, other in evaluated:
            if i == j:
                cells.append("<td>–</td>")
                continue
            value = finite(overlap.get(other["name"]))
            shade = "" if not value else f" style='background:rgba(44,127,184,{value:.2f})'"
            cells.append(f"<td{shade}>{_pct(value)}</td>")
        rows.append(f"<tr><th>{i}. {esc(entry['name'])}</th>{''.join(cells)}</tr>")
    return (
        f"<table class='matrix' id='overlap'><thead><tr><th></th>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _false_positives(entries: Sequence[Mapping[str, Any]], truth: bool) -> str:
    heads = ["strategy", "known good hit", "by binding kind", "by ring"]
    if truth:
        heads += ["truly legit hit", "by legit group", "by binding kind", "by ring"]
    rows = []
    for number, entry in enumerate(entries, 1):
        if not entry.get("evaluated"):
            continue
        parts = entry.get("false_positives") or {}
        cells = [f"<td>{number}. {esc(entry['name'])}</td>"]
        for basis in ("known_good", "truth_legit") if truth else ("known_good",):
            fp = parts.get(basis) or {}
            cells.append(
                f"<td class='n'>{_num(fp.get('n'))}"
                f"<br><span class='sub'>{_num(fp.get('in_no_ring'))} in no ring</span></td>"
            )
            if basis == "truth_legit":
                groups = _rings(fp.get("by_legit_group"), "sellers", "legit_group")
                cells.append(f"<td>{_counts(fp.get('by_legit_group_kind'))}<br>{groups}</td>")
            cells.append(f"<td>{_counts(fp.get('by_binding_kind'))}</td>")
            cells.append(f"<td>{_rings(fp.get('by_ring'), 'sellers')}</td>")
        rows.append(f"<tr data-strategy='{esc(entry['name'])}'>{''.join(cells)}</tr>")
    head = "".join(f"<th>{esc(h)}</th>" for h in heads)
    return (
        f"<table id='false-positives'><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _chart(entry: Mapping[str, Any], number: int) -> str:
    """Hits per run as a line over the runs' as-of times, each point with its figures."""
    points = entry.get("per_run") or []
    times = [datetime.fromisoformat(p["as_of"]).timestamp() for p in points]
    values = [float(p.get("hits") or 0) for p in points]
    high = max(values, default=0.0) or 1.0
    ticks, _ = nice_ticks(0.0, high, 3)
    top = max(high, ticks[-1])
    t0, t1 = min(times), max(times)
    span_x, span_y = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM

    def x(t: float) -> float:
        return _LEFT + (span_x / 2 if t1 == t0 else (t - t0) / (t1 - t0) * span_x)

    def y(v: float) -> float:
        return _TOP + (top - v) / top * span_y

    bottom = _H - _BOTTOM
    parts = [f'<line class="axis" x1="{_LEFT}" y1="{bottom}" x2="{_W - _RIGHT}" y2="{bottom}"/>']
    for tick in ticks:
        parts.append(
            f'<line class="grid" x1="{_LEFT}" y1="{y(tick):.1f}" x2="{_W - _RIGHT}" '
            f'y2="{y(tick):.1f}"/><text x="{_LEFT - 4}" y="{y(tick) + 3:.1f}" '
            f'text-anchor="end">{tick:,.0f}</text>'
        )
    for index, anchor in ((0, "start"), (len(points) - 1, "end")):
        parts.append(
            f'<text x="{x(times[index]):.1f}" y="{bottom + 14}" text-anchor="{anchor}">'
            f"{esc(_when(points[index]['as_of']))}</text>"
        )
    path = "M" + "L".join(f"{x(t):.1f},{y(v):.1f}" for t, v in zip(times, values, strict=True))
    parts.append(f'<path class="series" d="{path}"/>')
    for point, t, v in zip(points, times, values, strict=True):
        title = (
            f"{_when(point['as_of'])} · {point['run']}: {int(v):,} hits, precision "
            f"{_pct(point.get('precision')).replace('&lt;', '<')}, recall "
            f"{_pct(point.get('recall')).replace('&lt;', '<')}"
        )
        parts.append(
            f'<circle class="point" cx="{x(t):.1f}" cy="{y(v):.1f}" r="2.5">'
            f"<title>{esc(title)}</title></circle>"
        )
    name = str(entry["name"])
    latest = points[-1] if points else {}
    return (
        f"<figure data-strategy='{esc(name)}'><figcaption><b>{number}. {esc(name)}</b> · "
        f"latest {_num(latest.get('hits'))} hits, precision {_pct(latest.get('precision'))}"
        f"</figcaption><svg xmlns='http://www.w3.org/2000/svg' class='chart' width='{_W}' "
        f"height='{_H}' viewBox='0 0 {_W} {_H}' role='img' aria-label='hits per run of "
        f"{esc(name)}'>{''.join(parts)}</svg></figure>"
    )


def _over_runs(entries: Sequence[Mapping[str, Any]], n_runs: int) -> str:
    if n_runs < 2:
        return ""
    charts = [
        _chart(entry, number) for number, entry in enumerate(entries, 1) if entry.get("evaluated")
    ]
    return (
        "<section id='over-runs'><h2>Hits per run</h2><p class='note'>Each strategy's hits "
        "in each run, by as-of time (hover a point for its precision and recall).</p>"
        f"<div class='charts'>{''.join(charts)}</div></section>"
    )


def _runs_table(runs: Sequence[Mapping[str, Any]], truth: bool) -> str:
    heads = ["as of", "run", "sellers", "known bad", "known good"]
    heads += ["truly bad"] if truth else []
    heads += ["labels", "thresholds (syndicate, review)"]
    rows = []
    for run in runs:
        labels = run.get("labels") or {}
        where = labels.get("path")
        thresholds = run.get("thresholds") or {}
        cut = ", ".join(
            f"{value:.3f}" if (value := finite(thresholds.get(band))) is not None else "–"
            for band in ("syndicate", "review")
        )
        cells = [
            f"<td>{esc(_when(run.get('as_of')))}</td>",
            f"<td><code>{esc(run.get('run'))}</code></td>",
            f"<td class='n'>{_num(run.get('sellers'))}</td>",
            f"<td class='n'>{_num(run.get('known_bad'))}</td>",
            f"<td class='n'>{_num(run.get('known_good'))}</td>",
        ]
        if truth:
            cells.append(f"<td class='n'>{_num(run.get('truth_bad'))}</td>")
        cells += [
            f"<td>{esc(labels.get('from') or '–')}"
            + (f" <code>{esc(where)}</code>" if where else "")
            + "</td>",
            f"<td class='n'>{cut}</td>",
        ]
        rows.append(f"<tr>{''.join(cells)}</tr>")
    head = "".join(f"<th>{esc(h)}</th>" for h in heads)
    return f"<table id='runs'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def render_report(document: Mapping[str, Any]) -> str:
    """The backtest report as one self-contained HTML page.

    Parameters
    ----------
    document
        ``strategies.json`` as :func:`syndicate.strategies.backtest.backtest_strategies` makes it.

    Returns
    -------
    str
        The page; the same document always gives the same text.
    """
    entries = list(document.get("strategies") or [])
    runs = list(document.get("runs") or [])
    truth = document.get("truth") is not None
    deciding = ", ".join(str(name) for name in document.get("deciding") or [])
    legend = (
        "<p class='note'>Counts are run × sellers. <b>Precision</b>: share known bad among the "
        "hits with a known label; <b>recall</b>: share of the known-bad sellers hit; under "
        "each, its Wilson 95% interval. A model band shows its own figures and, below, the "
        "cumulative ones (every seller at or above its threshold). <b>Incremental</b>: known-"
        "bad sellers (recall) and known-good sellers (FP) that only this strategy hits among "
        f"the deciding ones ({esc(deciding)}). <b>Overlap with model</b>: Jaccard index of "
        "its hits with the model's syndicate and review decisions.</p>"
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="generator" content="syndicate">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<title>Strategy backtest · syndicate</title><style>{_CSS}</style></head>
<body>
{_header(document)}
<section id="strategies-section"><h2>Strategies</h2>{legend}
{_strategies_table(entries, truth)}</section>
<section id="overlap-section"><h2>Overlap (Jaccard index of the hit sets)</h2>
{_matrix(entries)}</section>
<section id="false-positives-section"><h2>False positives</h2>
<p class='note'>Known-good sellers{" and truly legit sellers" if truth else ""} hit, by the kind
of the identifier in the seller's first reason, by legit group and by ring.</p>
{_false_positives(entries, truth)}</section>
{_over_runs(entries, len(runs))}
<section id="runs-section"><h2>Runs</h2>{_runs_table(runs, truth)}</section>
</body></html>
"""
