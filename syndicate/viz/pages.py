"""Investigator pages: one self-contained HTML page per ring and a ranked index.

Each ring page draws the ring's sellers and the identifiers that bind them (pyvis builds the
network; vis-network, shipped inside pyvis, is inlined, so the page loads nothing from the
network). Positions are computed beforehand with igraph's seeded Fruchterman-Reingold
layout and physics is off, so a ring of hundreds of sellers opens at once and never spins.

Every user-supplied string reaches the page either through :func:`html.escape` or as JSON
data that the page's script puts into the DOM with ``textContent``; vis-network shows node
titles as text, not HTML.

A folder of pages owns only what syndicate wrote into it: every page carries a
``<meta name="generator" content="syndicate">`` marker, and :data:`LISTING` records each file
written with its sha256. A drawing overwrites or removes a file only when the listing
holds it unchanged (or, in a folder without a listing, when it carries the marker); any
other file is left alone, and one standing where a page goes stops the drawing.
"""

from __future__ import annotations

import functools
import html
import json
import math
import os
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import igraph as ig
import numpy as np
import polars as pl
from pyvis.edge import Edge
from pyvis.network import Network

from syndicate.errors import InputFileError, SchemaError
from syndicate.io import ensure_output_dir, file_sha256, write_json_atomic, write_text_atomic
from syndicate.scoring import mask_value
from syndicate.terminal import counted
from syndicate.viz.data import (
    RingViewData,
    looks_like_view_table,
    masked_view_data,
    write_view_data,
)

__all__ = [
    "GENERATOR",
    "KIND_STYLE",
    "LISTING",
    "VizResult",
    "render_index",
    "render_ring_page",
    "write_viz",
]

#: The marker every page syndicate writes carries in its head.
GENERATOR = '<meta name="generator" content="syndicate">'
#: The file in a pages folder that lists what syndicate wrote there (path -> sha256).
LISTING = "syndicate-pages.json"
_LISTING_FORMAT = "syndicate-pages/1"

#: Shape and colour of identifier nodes per kind (other kinds: ``_OTHER_STYLE``).
KIND_STYLE: dict[str, tuple[str, str]] = {
    "payout": ("diamond", "#8e44ad"),
    "device": ("square", "#2c7fb8"),
    "address": ("triangle", "#d95f0e"),
    "email": ("star", "#1b9e77"),
    "phone": ("triangleDown", "#e7298a"),
    "ip": ("hexagon", "#66a61e"),
}
_OTHER_STYLE = ("ellipse", "#7f7f7f")
#: Seller node colours per decision.
DECISION_COLOUR = {"syndicate": "#d62728", "review": "#ff9f1c", "clear": "#9e9e9e"}
_LABEL_BORDER = {1: "#000000", 0: "#2ca02c"}
#: Largest ring drawn with every identifier; beyond it only identifiers that bind three or
#: more members are drawn (the page says how many were left out).
_FULL_DETAIL = 150
#: Nodes past which the layout approximates repulsion on a grid.
_GRID_NODES = 100


@functools.cache
def _vis_assets() -> tuple[str, str]:
    lib = files("pyvis") / "lib" / "vis-9.1.2"
    return (lib / "vis-network.min.js").read_text("utf-8"), (lib / "vis-network.css").read_text(
        "utf-8"
    )


def _script_json(value: Any) -> str:
    """JSON safe inside a <script> element (no ``</script>``, no HTML comment openers)."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _esc(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _found_by(ring: dict[str, object]) -> str:
    """Which detectors found the ring, with the dense block's density when one did."""
    names = {"leiden": "Leiden", "dense_block": "dense block"}
    found = [names.get(str(name), str(name)) for name in ring.get("detectors") or []]  # type: ignore[attr-defined]
    density = ring.get("block_density")
    if isinstance(density, float):
        found = [f"dense block (density {density:.2f})" if f == "dense block" else f for f in found]
    return " + ".join(found) or "–"


def _fmt_score(value: float | None) -> str:
    return (
        "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.2f}"
    )


def _layout(n_nodes: int, edges: list[tuple[int, int]], seed: int) -> list[tuple[float, float]]:
    graph = ig.Graph(n=n_nodes, edges=edges)
    previous = random.getstate()
    ig.set_random_number_generator(random.Random(seed))
    try:
        # Exact repulsion costs n² per iteration: 0.25 s for a ring of 400 nodes, so 50 large
        # rings took seconds. Past _GRID_NODES, repulsion is counted within grid cells only
        # (igraph's approximation; its own default switches at 1,000 nodes): 7x faster.
        layout = graph.layout_fruchterman_reingold(niter=500, grid=n_nodes > _GRID_NODES)
    finally:
        ig.set_random_number_generator(random)
        random.setstate(previous)
    coords = layout.coords
    if not coords:
        return []
    xs, ys = [c[0] for c in coords], [c[1] for c in coords]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-9)
    scale = 120.0 * math.sqrt(n_nodes) / span
    return [(round((x - min(xs)) * scale, 2), round((y - min(ys)) * scale, 2)) for x, y in coords]


def _seller_title(row: dict[str, Any]) -> str:
    lines = [
        f"seller {row['seller_id']}",
        f"score {_fmt_score(row['seller_score'])} · {row['decision']}",
        f"label: {_label_text(row['known_label'])}",
        f"created: {row['created_at'] if row['created_at'] is not None else 'unknown'}",
    ]
    lines += [f"• {reason}" for reason in row["reasons"] or []]
    return "\n".join(lines)


def _sellers(size: object) -> str:
    return counted(size, "seller") if isinstance(size, int) else f"{size} sellers"


def _label_text(label: int | None) -> str:
    return {1: "known bad", 0: "known good"}.get(label, "none") if label is not None else "none"


@dataclass(frozen=True)
class _RingGraph:
    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]
    hubs: list[str]
    left_out: int


def _ring_graph(
    ring_id: str, data: RingViewData, *, mask: bool, seed: int
) -> tuple[_RingGraph, pl.DataFrame]:
    members = data.members.filter(pl.col("ring_id") == ring_id).sort("seller_id")
    held = data.identifiers.filter(pl.col("ring_id") == ring_id)
    if "shown" in held.columns:  # masked tables (masked_view_data): no value to show
        pass
    elif mask:
        held = held.with_columns(mask_value(pl.col("key")).alias("shown"))
    else:
        held = held.with_columns(pl.col("key").alias("shown"))
    hubs = (
        held.filter(pl.col("hub"))
        .group_by("kind", "shown", "n_sellers")
        .agg(pl.len().alias("members"))
        .sort("kind", "shown")
    )
    hub_notes = [
        f"{kind} {shown}: {counted(members, 'member')}, {counted(n, 'seller')} in all"
        for kind, shown, n, members in hubs.iter_rows()
    ]
    binding = held.filter(~pl.col("hub"))
    holders = binding.group_by("kind", "key").agg(pl.len().alias("holders"))
    minimum = 2 if members.height <= _FULL_DETAIL else 3
    kept = holders.filter(pl.col("holders") >= minimum).select("kind", "key")
    left_out = holders.filter((pl.col("holders") >= 2) & (pl.col("holders") < minimum)).height
    binding = binding.join(kept, on=["kind", "key"], how="semi")
    # Identifier nodes are numbered, never named by their value: --mask must leave no
    # value in the page source.
    ids = (
        binding.select("kind", "key", "shown", "n_sellers")
        .unique()
        .sort("kind", "key")
        .with_row_index("number")
        .with_columns(pl.format("i:{}", pl.col("number")).alias("node"))
    )
    binding = binding.join(ids.select("kind", "key", "node"), on=["kind", "key"])

    net = Network(height="100%", width="100%", cdn_resources="in_line")
    seller_ids = members["seller_id"].to_list()
    index = {f"s:{s}": i for i, s in enumerate(seller_ids)}
    for node in ids["node"].to_list():
        index[node] = len(index)
    # Two sellers may share several given relations: one edge, every relation named.
    relation_rows = (
        data.relations.filter(pl.col("ring_id") == ring_id)
        .group_by("src", "dst")
        .agg(pl.col("relation").unique().sort().str.join(", "))
        .sort("src", "dst")
    )
    pairs = [
        (index[f"s:{s}"], index[node]) for s, node in binding.select("seller_id", "node").rows()
    ] + [(index[f"s:{a}"], index[f"s:{b}"]) for a, b in relation_rows.select("src", "dst").rows()]
    positions = _layout(len(index), pairs, seed)
    for row in members.iter_rows(named=True):
        x, y = positions[index[f"s:{row['seller_id']}"]]
        label = row["known_label"]
        net.add_node(
            f"s:{row['seller_id']}",
            label=str(row["seller_id"]),
            title=_seller_title(row),
            shape="dot",
            size=14,
            color={
                "background": DECISION_COLOUR.get(row["decision"], "#9e9e9e"),
                "border": _LABEL_BORDER.get(label, "#555555"),
            },
            borderWidth=4 if label is not None else 1,
            x=x,
            y=y,
        )
    for row in ids.iter_rows(named=True):
        shape, colour = KIND_STYLE.get(row["kind"], _OTHER_STYLE)
        text = f"{row['kind']} {row['shown']}"
        x, y = positions[index[row["node"]]]
        net.add_node(
            row["node"],
            label=text,
            title=f"{text}\nheld by {counted(row['n_sellers'] or 0, 'seller')}",
            shape=shape,
            size=10,
            color=colour,
            x=x,
            y=y,
        )
    # Edges are unique by construction (one per seller and identifier, one per related
    # pair), so they skip pyvis's add_edge, which scans every edge so far for a duplicate.
    net.edges += [
        Edge(f"s:{seller}", node, color="#b0b0b0").options
        for seller, node in binding.select("seller_id", "node").iter_rows()
    ]
    net.edges += [
        Edge(f"s:{src}", f"s:{dst}", title=str(relation), dashes=True, color="#444444").options
        for src, dst, relation in relation_rows.select("src", "dst", "relation").iter_rows()
    ]
    nodes, edges, *_ = net.get_network_data()
    return _RingGraph(list(nodes), list(edges), hub_notes, left_out), members


# Pages may run their own inline script and styles and nothing else: no fetches at all.
_CSP_PAGE = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"
)
_CSP_INDEX = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

_PAGE_CSS = """
body{font-family:system-ui,sans-serif;margin:0;color:#222}
header{padding:10px 16px;border-bottom:1px solid #ddd}
h1{font-size:20px;margin:0 0 4px}
.facts span{margin-right:14px}
.decision-syndicate{color:#d62728;font-weight:bold}
.decision-review{color:#c77c00;font-weight:bold}
main{display:flex;height:calc(100vh - 140px);min-height:420px}
#network{flex:3;border-right:1px solid #ddd}
aside{flex:2;overflow:auto;padding:8px 12px;font-size:13px}
table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #eee;padding:3px 5px;text-align:left;vertical-align:top}
.legend span{display:inline-block;margin-right:10px}
.swatch{display:inline-block;width:10px;height:10px;margin-right:3px;border-radius:2px}
ul{margin:4px 0;padding-left:18px}
.note{color:#666}
div.vis-tooltip{white-space:pre-line;max-width:420px}
"""


def render_ring_page(
    ring: dict[str, Any], data: RingViewData, *, mask: bool = False, seed: int = 0
) -> str:
    """One ring's page: header, evidence, legend, the network and a member table."""
    ring_id = str(ring["ring_id"])
    graph, members = _ring_graph(ring_id, data, mask=mask, seed=seed)
    js, css = _vis_assets()
    status = ring.get("status") or "–"
    earlier = list(ring.get("previous_ids") or [])
    if earlier:
        status += " from " + ", ".join(earlier)
    churn = [
        f"{ring[name]} {word}"
        for name, word in (("members_joined", "joined"), ("members_left", "left"))
        if ring.get(name)
    ]
    if churn and ring.get("status") not in (None, "new"):
        status += f" ({', '.join(churn)})"
    evidence = ring.get("evidence") or []
    legend = "".join(
        f'<span><i class="swatch" style="background:{colour}"></i>{_esc(kind)} ({shape})</span>'
        for kind, (shape, colour) in KIND_STYLE.items()
    ) + "".join(
        f'<span><i class="swatch" style="background:{colour}"></i>seller: {name}</span>'
        for name, colour in DECISION_COLOUR.items()
    )
    rows = "".join(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>".format(
            _esc(row["seller_id"]),
            _fmt_score(row["seller_score"]),
            _esc(row["decision"]),
            _esc(_label_text(row["known_label"])),
            "<br>".join(_esc(r) for r in row["reasons"] or []),
        )
        for row in members.sort(["seller_score", "seller_id"], descending=[True, False]).iter_rows(
            named=True
        )
    )
    hubs = (
        "<p class='note'>Held back as hubs (not drawn): "
        + "; ".join(_esc(h) for h in graph.hubs)
        + "</p>"
        if graph.hubs
        else ""
    )
    left_out = (
        f"<p class='note'>{counted(graph.left_out, 'identifier')} shared by only two members "
        "not drawn (large ring).</p>"
        if graph.left_out
        else ""
    )
    data_json = _script_json({"nodes": graph.nodes, "edges": graph.edges})
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
{GENERATOR}
<meta http-equiv="Content-Security-Policy" content="{_CSP_PAGE}">
<title>{_esc(ring_id)} · syndicate</title>
<style>{css}</style><style>{_PAGE_CSS}</style></head>
<body>
<header>
<h1>Ring {_esc(ring_id)}</h1>
<div class="facts"><span>{_esc(_sellers(ring.get("size")))}</span>
<span>score <b>{_fmt_score(ring.get("ring_score"))}</b></span>
<span class="decision-{_esc(ring.get("decision"))}">{_esc(ring.get("decision"))}</span>
<span>{_esc(ring.get("n_known_bad", 0))} known bad ·
{_esc(ring.get("n_known_good", 0))} known good</span>
<span>status {_esc(status)}</span>
<span>bound by {_esc(", ".join(ring.get("kinds") or []))}</span>
<span>found by {_esc(_found_by(ring))}</span>
<a href="../index.html">all rings</a></div>
<ul class="evidence">{"".join(f"<li>{_esc(item)}</li>" for item in evidence)}</ul>
<div class="legend">{legend}
<span>thick black border: known bad · green border: known good</span></div>
</header>
<main><div id="network"></div>
<aside>{hubs}{left_out}
<table><thead><tr><th>seller</th><th>score</th><th>decision</th><th>label</th><th>reasons</th></tr></thead>
<tbody>{rows}</tbody></table></aside></main>
<script>{js}</script>
<script>
(function () {{
  var data = {data_json};
  var nodes = new vis.DataSet(data.nodes);
  var edges = new vis.DataSet(data.edges);
  var options = {{
    physics: {{ enabled: false }},
    interaction: {{ hover: true, tooltipDelay: 120 }},
    nodes: {{ font: {{ size: 11 }} }},
    edges: {{ smooth: false }}
  }};
  var box = document.getElementById("network");
  var network = new vis.Network(box, {{ nodes: nodes, edges: edges }}, options);
  network.once("afterDrawing", function () {{ window.syndicateDrawn = true; }});
  window.syndicateNetwork = network;
  window.syndicateReady = true;
}})();
</script>
</body></html>
"""


def _svg_histogram(values: Sequence[float], bins: Sequence[float], title: str) -> str:
    counts = np.histogram(np.asarray(values, dtype=float), bins=np.asarray(bins))[0].tolist()
    width, height = 320, 120
    top = max(max(counts, default=0), 1)
    bar = width / max(len(counts), 1)
    rects = "".join(
        f'<rect x="{i * bar + 1:.1f}" y="{height - 20 - (c / top) * (height - 40):.1f}" '
        f'width="{bar - 2:.1f}" height="{(c / top) * (height - 40):.1f}" fill="#2c7fb8">'
        f"<title>{_esc(f'{bins[i]:g}–{bins[i + 1]:g}: {c}')}</title></rect>"
        for i, c in enumerate(counts)
    )
    return (
        f'<svg width="{width}" height="{height}" role="img" aria-label="{_esc(title)}">'
        f'<text x="0" y="12" font-size="12">{_esc(title)}</text>{rects}'
        f'<text x="0" y="{height - 4}" font-size="10">{bins[0]:g}</text>'
        f'<text x="{width - 30}" y="{height - 4}" font-size="10">{bins[-1]:g}</text></svg>'
    )


def render_index(rings: pl.DataFrame, pages: dict[str, str]) -> str:
    """The ranked ring table (ring id links to its page when one was written) and charts."""
    ranked = rings.sort(["ring_score", "size", "ring_id"], descending=[True, True, False])
    rows = []
    for rank, row in enumerate(ranked.iter_rows(named=True), start=1):
        ring_id = str(row["ring_id"])
        name = (
            f'<a href="{_esc(pages[ring_id])}">{_esc(ring_id)}</a>'
            if ring_id in pages
            else _esc(ring_id)
        )
        rows.append(
            f"<tr><td>{rank}</td><td>{name}</td><td>{_esc(row['size'])}</td>"
            f"<td>{_fmt_score(row.get('ring_score'))}</td><td>{_esc(row.get('decision'))}</td>"
            f"<td>{_esc(row.get('n_known_bad', 0))}</td><td>{_esc(row.get('status') or '–')}</td>"
            f"<td>{_esc(', '.join(row.get('kinds') or []))}</td></tr>"
        )
    sizes = rings["size"].to_list()
    biggest = max(sizes) if sizes else 3
    size_bins = sorted({3, 4, 6, 10, 20, 50, 100, 200, max(biggest, 3) + 1})
    scores = [s for s in rings["ring_score"].to_list() if s is not None] if rings.height else []
    charts = _svg_histogram(sizes, size_bins, "ring sizes") + _svg_histogram(
        scores, [i / 10 for i in range(11)], "ring scores"
    )
    decided = {
        name: int((rings["decision"] == name).sum()) if rings.height else 0
        for name in ("syndicate", "review", "clear")
    }
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
{GENERATOR}
<meta http-equiv="Content-Security-Policy" content="{_CSP_INDEX}">
<title>Rings · syndicate</title><style>{_PAGE_CSS}</style></head>
<body><header><h1>Rings</h1>
<div class="facts"><span>{counted(rings.height, "ring")}</span>
<span>{decided["syndicate"]:,} syndicate</span><span>{decided["review"]:,} review</span>
<span>{decided["clear"]:,} clear</span><span>{counted(len(pages), "page")}</span></div>
<div>{charts}</div></header>
<div style="padding:8px 16px"><table id="rings"><thead><tr><th>#</th><th>ring</th><th>size</th>
<th>score</th><th>decision</th><th>known bad</th><th>status</th><th>bound by</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table></div></body></html>
"""


def _per_ring(data: RingViewData, ring_ids: Sequence[str]) -> dict[str, RingViewData]:
    """Each ring's rows of the view tables, split in one pass (not one scan per page)."""
    wanted = pl.Series(ring_ids, dtype=pl.String).implode()
    split: dict[str, dict[str, pl.DataFrame]] = {}
    for name in ("members", "identifiers", "relations"):
        frame = getattr(data, name)
        chosen = frame.filter(pl.col("ring_id").cast(pl.String).is_in(wanted))
        parts = chosen.partition_by("ring_id", as_dict=True, maintain_order=True)
        split[name] = {str(key[0]): part for key, part in parts.items()}
        split[name][""] = frame.clear()
    return {
        ring_id: RingViewData(
            **{name: tables.get(ring_id, tables[""]) for name, tables in split.items()}
        )
        for ring_id in ring_ids
    }


@dataclass(frozen=True)
class VizResult:
    """Where the pages went.

    ``kept`` lists files in ``rings/`` that syndicate did not write (or that changed since),
    left in place; ``masked`` says whether identifier values are hidden in every file.
    """

    index: Path
    pages: dict[str, Path]
    kept: list[Path] = field(default_factory=list)
    masked: bool = False


def _carries_marker(path: Path) -> bool:
    """Whether ``path`` is a page syndicate wrote, by the marker in its head.

    Pages written before the marker existed are known by their title and policy.
    """
    if path.suffix == ".parquet":
        return looks_like_view_table(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    legacy = "· syndicate</title>".encode() in head and b"Content-Security-Policy" in head
    return GENERATOR.encode() in head or (head.startswith(b"<!DOCTYPE html>") and legacy)


@dataclass(frozen=True)
class _Listing:
    """What an earlier drawing wrote into a folder (None: no listing there)."""

    files: dict[str, str]
    pending: frozenset[str]

    @classmethod
    def read(cls, folder: Path) -> _Listing | None:
        path = folder / LISTING
        if not path.exists() and not path.is_symlink():
            return None
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(document, dict) or document.get("format") != _LISTING_FORMAT:
                raise ValueError("not a listing")
            files = {str(k): str(v) for k, v in dict(document["files"]).items()}
            pending = frozenset(str(name) for name in document.get("pending", []))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputFileError(
                f"{path}: not a listing syndicate wrote ({exc}); refusing to replace it: move "
                "it away or draw the pages into another folder"
            ) from exc
        return cls(files, pending)

    def owns(self, folder: Path, name: str) -> bool:
        """Whether ``folder/name`` is a file syndicate wrote there, unchanged since."""
        path = folder / name
        if path.is_symlink() or not path.is_file():
            return False
        if name in self.files and file_sha256(path) == self.files[name]:
            return True
        return name in self.pending and _carries_marker(path)


def _owned(listing: _Listing | None, folder: Path, name: str) -> bool:
    if listing is not None:
        return listing.owns(folder, name)
    path = folder / name
    return path.is_file() and not path.is_symlink() and _carries_marker(path)


def _write_listing(
    folder: Path, files: dict[str, str], pending: Sequence[str], *, masked: bool
) -> None:
    write_json_atomic(
        {
            "format": _LISTING_FORMAT,
            "masked": masked,
            "files": dict(sorted(files.items())),
            "pending": sorted(pending),
        },
        folder / LISTING,
    )


def write_viz(
    rings: pl.DataFrame,
    data: RingViewData,
    out: str | os.PathLike[str],
    *,
    top: int = 50,
    ring_ids: Sequence[str] | None = None,
    mask: bool = False,
    seed: int = 0,
    on_page: Callable[[], None] | None = None,
    with_data: bool = True,
) -> VizResult:
    """Write ``index.html`` and ``rings/<ring_id>.html`` for the top rings into ``out``.

    ``ring_ids`` picks rings by id instead of the ``top`` by score; ``on_page`` is called
    after each page (for progress bars). ``with_data`` also writes ``data/`` (the tables
    ``syndicate viz`` redraws pages from; masked with ``mask``, so a masked folder holds no
    identifier value in any file). ``LISTING`` records every file written.

    Ring pages of an earlier drawing that this one does not redraw are removed, but only
    files syndicate wrote (see the module docstring): other files in ``rings/`` are kept
    and listed in :attr:`VizResult.kept`.

    Raises
    ------
    KeyError
        A ring id in ``ring_ids`` is not a ring of this run.
    InputFileError
        A file syndicate did not write stands where a page, a table or the listing goes;
        nothing is written then.
    """
    folder = ensure_output_dir(out)
    ranked = rings.sort(["ring_score", "size", "ring_id"], descending=[True, True, False])
    if ring_ids is not None:
        unknown = sorted(set(ring_ids) - set(rings["ring_id"].to_list()))
        if unknown:
            raise KeyError(f"no ring with id {unknown[0]!r} in this run")
        chosen = ranked.filter(pl.col("ring_id").is_in(list(ring_ids)))
    else:
        chosen = ranked.head(top)
    unsafe = chosen.filter(~pl.col("ring_id").str.contains(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"))
    if unsafe.height:
        raise SchemaError(
            f"ring id {unsafe['ring_id'][0]!r} cannot name a page file (letters, digits, "
            "'_', '.', '-' only)"
        )
    if mask:
        data = masked_view_data(data)
    masked = mask or "shown" in data.identifiers.columns
    listing = _Listing.read(folder)
    page_names = {str(ring_id): f"rings/{ring_id}.html" for ring_id in chosen["ring_id"]}
    data_names = [f"data/{name}.parquet" for name in ("members", "identifiers", "relations")]
    targets = [*page_names.values(), "index.html", *(data_names if with_data else [])]
    for name in targets:
        path = folder / name
        if (path.exists() or path.is_symlink()) and not _owned(listing, folder, name):
            raise InputFileError(
                f"{path}: not written by syndicate (or changed since it was); refusing to "
                "overwrite it: move it away or draw the pages into another folder"
            )
    # Files this drawing replaces or may remove, known before anything is written: an
    # interrupted drawing leaves a listing that still owns them (pending: by the marker).
    earlier = {
        name
        for name in (listing.files if listing is not None else {})
        if _owned(listing, folder, name)
    }
    on_disk = {f"rings/{path.name}" for path in (folder / "rings").glob("*.html")}
    stale = sorted(name for name in on_disk - set(targets) if _owned(listing, folder, name))
    stale += sorted(
        name for name in earlier - set(targets) - on_disk if name.startswith(("rings/", "data/"))
    )
    kept = sorted(folder / name for name in on_disk - set(targets) - set(stale))
    files = {
        name: digest
        for name, digest in (listing.files if listing is not None else {}).items()
        if name in earlier
    }
    _write_listing(folder, files, [*targets, *stale], masked=masked)

    pages: dict[str, Path] = {}
    per_ring = _per_ring(data, [str(ring_id) for ring_id in chosen["ring_id"]])
    for ring in chosen.iter_rows(named=True):
        ring_id = str(ring["ring_id"])
        page = render_ring_page(ring, per_ring[ring_id], mask=mask, seed=seed)
        pages[ring_id] = write_text_atomic(page, folder / page_names[ring_id])
        if on_page is not None:
            on_page()
    # Pages of an earlier drawing would outlive this one (and --mask must not leave
    # unmasked pages behind): remove the ones syndicate wrote.
    for name in stale:
        (folder / name).unlink(missing_ok=True)
        files.pop(name, None)
    if with_data:
        write_view_data(data, folder / "data")
    links = {ring_id: f"rings/{path.name}" for ring_id, path in pages.items()}
    index = write_text_atomic(render_index(rings, links), folder / "index.html")
    files.update({name: file_sha256(folder / name) for name in targets})
    _write_listing(folder, files, [], masked=masked)
    return VizResult(index, pages, kept, masked)
