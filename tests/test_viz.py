"""Ring pages and the ring index as HTML text: escaping, offline, node data, masking, files.

No browser here (tests/test_browser.py drives Chromium); every check reads the page text or
the node and edge data inlined in it.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from syndicate import Config, load_inputs, run_pipeline
from syndicate.cli import main
from syndicate.errors import InputFileError
from syndicate.pipeline import PipelineResult, ring_view_data, write_outputs
from syndicate.scoring import mask_value
from syndicate.viz.data import RingViewData, masked_view_data, view_data
from syndicate.viz.pages import (
    DECISION_COLOUR,
    GENERATOR,
    KIND_STYLE,
    LISTING,
    render_index,
    render_ring_page,
    write_viz,
)

FAST = Config(n_estimators=10, cv_folds=2, importance_repeats=0, n_jobs=1, seed=0)

XSS_SELLER = "<img src=x onerror=alert(1)>"
XSS_VALUE = "</script><script>alert(2)</script>"  # a device value (normalised: unchanged)
XSS_RELATION = '"><b>x'
PAYLOADS = (XSS_SELLER, XSS_VALUE, XSS_RELATION)


def inline_data(page: str) -> dict[str, list[dict[str, Any]]]:
    """The ``var data = {...};`` line of a ring page, parsed."""
    found = re.search(r"^\s*var data = (.*);$", page, re.MULTILINE)
    assert found is not None
    parsed: dict[str, list[dict[str, Any]]] = json.loads(found.group(1))
    return parsed


def without_scripts(page: str) -> str:
    """The page's markup with the contents of its <script> elements cut out."""
    return re.sub(r"<script>.*?</script>", "<script></script>", page, flags=re.DOTALL)


# --- a run through the whole pipeline, with hostile strings in the inputs -------------------


@pytest.fixture(scope="module")
def hostile() -> PipelineResult:
    # Three separate components, so three rings: {XSS, s2, s3, s4} (a device value that is
    # a script break-out, a payout, and a given edge whose relation breaks out of an
    # attribute), {y1, y2, y3} and {z1, ..., z5}. 'lone' is in no ring.
    sellers = pl.DataFrame(
        {"seller_id": [XSS_SELLER, "s2", "s3", "s4", "y1", "y2", "y3", *zs(), "lone"]}
    )
    links = pl.DataFrame(
        {
            "seller_id": [XSS_SELLER, "s2", "s3", "s2", "s3", "s4", "y1", "y2", "y3", *zs()],
            "kind": ["device"] * 3 + ["payout"] * 6 + ["device"] * 5,
            "value": [XSS_VALUE] * 3 + ["GB 77-0001"] * 3 + ["FR76 3000 6000"] * 3 + ["dev-z"] * 5,
        }
    )
    edges = pl.DataFrame({"src": [XSS_SELLER], "dst": ["s4"], "relation": [XSS_RELATION]})
    labels = pl.DataFrame({"seller_id": [XSS_SELLER, "lone"], "label": [1, 0]})
    inputs = load_inputs(sellers=sellers, links=links, edges=edges, labels=labels)
    return run_pipeline(inputs, FAST)


def zs() -> list[str]:
    return [f"z{i}" for i in range(1, 6)]


@pytest.fixture(scope="module")
def hostile_ring(hostile: PipelineResult) -> dict[str, Any]:
    ring: dict[str, Any] = hostile.rings.filter(pl.col("size") == 4).row(0, named=True)
    return ring


@pytest.fixture(scope="module")
def hostile_page(hostile: PipelineResult, hostile_ring: dict[str, Any]) -> str:
    return render_ring_page(hostile_ring, ring_view_data(hostile))


def test_the_hostile_run_has_the_three_rings(hostile: PipelineResult) -> None:
    assert sorted(hostile.rings["size"].to_list()) == [3, 4, 5]
    relations = ring_view_data(hostile).relations
    assert relations.select("src", "dst", "relation").rows() == [(XSS_SELLER, "s4", XSS_RELATION)]


def test_ring_page_never_carries_a_raw_payload(hostile_page: str) -> None:
    for payload in PAYLOADS:
        assert payload not in hostile_page
    # Only the two script elements of the page itself close: vis-network and the drawing code.
    assert hostile_page.lower().count("</script") == 2
    assert "<b>x" not in hostile_page


def test_ring_page_escapes_text_in_markup(hostile_page: str) -> None:
    markup = without_scripts(hostile_page)
    assert "<td>&lt;img src=x onerror=alert(1)&gt;</td>" in markup  # the member table
    assert "bound by &quot;&gt;&lt;b&gt;x, device, payout</span>" in markup


def test_ring_page_json_uses_unicode_escapes(hostile_page: str) -> None:
    found = re.search(r"^\s*var data = (.*);$", hostile_page, re.MULTILINE)
    assert found is not None
    line = found.group(1)
    assert not {"<", ">", "&"} & set(line)
    assert '"s:\\u003cimg src=x onerror=alert(1)\\u003e"' in line
    assert "\\u003c/script\\u003e\\u003cscript\\u003ealert(2)\\u003c/script\\u003e" in line
    assert '"title": "\\"\\u003e\\u003cb\\u003ex"' in line
    # ... and the escapes decode back to the very strings given.
    data = inline_data(hostile_page)
    ids = {node["id"] for node in data["nodes"]}
    labels = {node["label"] for node in data["nodes"]}
    assert f"s:{XSS_SELLER}" in ids and f"device {XSS_VALUE}" in labels
    assert [edge["title"] for edge in data["edges"] if edge.get("dashes")] == [XSS_RELATION]


def test_ring_page_escapes_whatever_the_ring_row_holds(
    hostile: PipelineResult, hostile_ring: dict[str, Any]
) -> None:
    # Ring ids are generated, but the page must not rely on it: put payloads in the ring id,
    # decision, status, kinds and evidence, and a hub whose key is a payload.
    hub_key = "<svg onload=alert(4)>"
    data = ring_view_data(hostile)
    renamed = pl.col("ring_id").replace(hostile_ring["ring_id"], XSS_SELLER)
    hub = data.identifiers.head(1).with_columns(
        pl.lit(hostile_ring["ring_id"]).alias("ring_id"),
        pl.lit(XSS_SELLER).alias("seller_id"),
        pl.lit("ip").alias("kind"),
        pl.lit(hub_key).alias("key"),
        hub=True,
        n_sellers=pl.lit(999, dtype=data.identifiers.schema["n_sellers"]),
    )
    crafted = RingViewData(
        data.members.with_columns(renamed),
        pl.concat([data.identifiers, hub]).with_columns(renamed),
        data.relations.with_columns(renamed),
    )
    ring = {
        **hostile_ring,
        "ring_id": XSS_SELLER,
        "decision": XSS_RELATION,
        "status": XSS_VALUE,
        "previous_ids": [XSS_RELATION, XSS_SELLER],
        "members_joined": 2,
        "kinds": [XSS_RELATION],
        "evidence": [XSS_VALUE],
    }
    page = render_ring_page(ring, crafted)
    for payload in (*PAYLOADS, hub_key):
        assert payload not in page
    markup = without_scripts(page)
    assert "<title>&lt;img src=x onerror=alert(1)&gt; · syndicate</title>" in markup
    assert "<h1>Ring &lt;img src=x onerror=alert(1)&gt;</h1>" in markup
    assert '<span class="decision-&quot;&gt;&lt;b&gt;x">&quot;&gt;&lt;b&gt;x</span>' in markup
    assert "<li>&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;</li>" in markup
    assert "ip &lt;svg onload=alert(4)&gt;: 1 member, 999 sellers in all" in markup
    assert page.lower().count("</script") == 2


def test_index_escapes_ring_ids_links_and_kinds() -> None:
    rings = pl.DataFrame(
        {
            "ring_id": [XSS_SELLER],
            "size": [3],
            "ring_score": [0.5],
            "decision": [XSS_VALUE],
            "n_known_bad": [0],
            "status": [XSS_RELATION],
            "kinds": [[XSS_RELATION, "device"]],
        }
    )
    index = render_index(rings, {XSS_SELLER: 'rings/" onmouseover="alert(3).html'})
    for payload in (*PAYLOADS, '" onmouseover='):
        assert payload not in index
    assert (
        '<a href="rings/&quot; onmouseover=&quot;alert(3).html">'
        "&lt;img src=x onerror=alert(1)&gt;</a>"
    ) in index
    assert "<td>&quot;&gt;&lt;b&gt;x, device</td>" in index
    assert "<td>&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;</td>" in index
    assert "<script" not in index


# --- offline ---------------------------------------------------------------------------------


_REMOTE = re.compile(r"""\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


def test_ring_page_loads_nothing_from_the_network(hostile_page: str) -> None:
    assert _REMOTE.search(hostile_page) is None
    assert "<link" not in hostile_page.lower()
    assert "<script src" not in hostile_page.lower()
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', hostile_page)
    assert csp is not None
    assert csp.group(1).startswith("default-src 'none';")
    # vis-network is inlined, not fetched.
    assert "vis.Network" in hostile_page
    assert len(hostile_page.encode("utf-8")) > 300_000


def test_index_loads_nothing_from_the_network(hostile: PipelineResult) -> None:
    index = render_index(hostile.rings, {})
    assert _REMOTE.search(index) is None
    assert "<link" not in index.lower() and "<script" not in index.lower()
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', index)
    assert csp is not None and csp.group(1).startswith("default-src 'none';")


# --- a hand-built ring: exact nodes and edges -------------------------------------------------

PAYOUT = "GB29NWBK60161331926819"
DEVICE = "dev-7f3a9c2e11"
BANK_REF = "ref-5521"
EMAIL = "ops@mule-shop.example"
HUB_IP = "203.0.113.77"
FULL_KEYS = (PAYOUT, DEVICE, BANK_REF, EMAIL, HUB_IP)


def hand_view_data() -> RingViewData:
    # ring-a: a1 (syndicate, known bad), a2 (review, known good), a3 (clear, unlabelled),
    # a4 (syndicate, unlabelled).
    #   payout PAYOUT      held by a1 a2 a3          -> drawn
    #   device DEVICE      held by a2 a4             -> drawn
    #   bank_ref BANK_REF  held by a1 a3             -> drawn (a kind without a style)
    #   email EMAIL        held by a4 and x1 (no ring) -> one member only: not drawn
    #   ip HUB_IP          a hub of 900 sellers, held by all four -> not drawn, noted
    #   given edge a1-a4 'same_director' -> dashed seller-seller edge
    #   given edge a1-b1 'cross' joins two rings -> on neither page
    # ring-b: b1 b2 b3 share a device; ring-c: c1 c2 c3 c4 share a payout.
    ring_of = {
        **dict.fromkeys(["a1", "a2", "a3", "a4"], "ring-a"),
        **dict.fromkeys(["b1", "b2", "b3"], "ring-b"),
        **dict.fromkeys(["c1", "c2", "c3", "c4"], "ring-c"),
        "x1": None,
    }
    decision = {"a1": "syndicate", "a2": "review", "a3": "clear", "a4": "syndicate"}
    score = {"a1": 0.95, "a2": 0.6, "a3": 0.2, "a4": 0.9}
    labels = pl.DataFrame(
        {
            "seller_id": list(ring_of),
            "ring_id": list(ring_of.values()),
            "seller_score": [score.get(s, 0.5) for s in ring_of],
            "decision": [decision.get(s, "review") for s in ring_of],
            "reasons": [[f"payout …6819 shared with {s}"] if s == "a1" else [] for s in ring_of],
        }
    )
    sellers = pl.DataFrame(
        {"seller_id": list(ring_of), "created_at": [datetime(2024, 5, 1, tzinfo=UTC)] * 12}
    )
    known = pl.DataFrame({"seller_id": ["a1", "a2"], "label": [1, 0]})
    held = [
        *[(s, "payout", PAYOUT, False) for s in ("a1", "a2", "a3")],
        *[(s, "device", DEVICE, False) for s in ("a2", "a4")],
        *[(s, "bank_ref", BANK_REF, False) for s in ("a1", "a3")],
        *[(s, "email", EMAIL, False) for s in ("a4", "x1")],
        *[(s, "ip", HUB_IP, True) for s in ("a1", "a2", "a3", "a4")],
        *[(s, "device", "dev-b", False) for s in ("b1", "b2", "b3")],
        *[(s, "payout", "PAYC", False) for s in ("c1", "c2", "c3", "c4")],
    ]
    seller_identifiers = pl.DataFrame(
        held, schema=["seller_id", "kind", "key", "hub"], orient="row"
    )
    identifiers = pl.DataFrame(
        [
            ("payout", PAYOUT, 3),
            ("device", DEVICE, 2),
            ("bank_ref", BANK_REF, 2),
            ("email", EMAIL, 2),
            ("device", "dev-b", 3),
            ("payout", "PAYC", 4),
        ],
        schema=["kind", "key", "n_sellers"],
        orient="row",
    )
    hubs = pl.DataFrame({"kind": ["ip"], "key": [HUB_IP], "n_sellers": [900]})
    edges = pl.DataFrame(
        {"src": ["a1", "a1"], "dst": ["a4", "b1"], "relation": ["same_director", "cross"]}
    )
    return view_data(labels, sellers, known, seller_identifiers, identifiers, hubs, edges)


def hand_rings() -> pl.DataFrame:
    # Ranked by score, then size: ring-c (0.9, 4), ring-b (0.9, 3), ring-a (0.7, 4).
    return pl.DataFrame(
        {
            "ring_id": ["ring-a", "ring-b", "ring-c"],
            "size": [4, 3, 4],
            "ring_score": [0.7, 0.9, 0.9],
            "decision": ["syndicate", "review", "review"],
            "n_known_bad": [1, 0, 0],
            "n_known_good": [1, 0, 0],
            "status": [None, None, None],
            "kinds": [["bank_ref", "device", "payout"], ["device"], ["payout"]],
            "evidence": [["payout …6819 shared by 3 of 4 members"], [], []],
        }
    )


@pytest.fixture(scope="module")
def hand_data() -> RingViewData:
    return hand_view_data()


@pytest.fixture(scope="module")
def ring_a() -> dict[str, Any]:
    ring: dict[str, Any] = hand_rings().row(0, named=True)
    return ring


@pytest.fixture(scope="module")
def page_a(ring_a: dict[str, Any], hand_data: RingViewData) -> str:
    return render_ring_page(ring_a, hand_data)


def test_one_node_per_member_and_per_identifier_two_members_share(page_a: str) -> None:
    data = inline_data(page_a)
    assert sorted(node["id"] for node in data["nodes"]) == [
        "i:0",
        "i:1",
        "i:2",
        "s:a1",
        "s:a2",
        "s:a3",
        "s:a4",
    ]


def test_edges_join_holders_to_identifiers_and_given_edges_are_dashed(page_a: str) -> None:
    edges = inline_data(page_a)["edges"]
    held = sorted((e["from"], e["to"]) for e in edges if not e.get("dashes"))
    assert held == [
        ("s:a1", "i:0"),
        ("s:a1", "i:2"),
        ("s:a2", "i:1"),
        ("s:a2", "i:2"),
        ("s:a3", "i:0"),
        ("s:a3", "i:2"),
        ("s:a4", "i:1"),
    ]
    given = [(e["from"], e["to"], e["title"]) for e in edges if e.get("dashes")]
    assert given == [("s:a1", "s:a4", "same_director")]  # 'cross' leaves the ring


def test_hubs_are_not_drawn_but_noted(page_a: str) -> None:
    assert not any(HUB_IP in node["id"] for node in inline_data(page_a)["nodes"])
    note = (
        "<p class='note'>Held back as hubs (not drawn): "
        "ip 203.0.113.77: 4 members, 900 sellers in all</p>"
    )
    assert note in page_a


def test_identifier_nodes_take_their_kinds_style(page_a: str) -> None:
    style = {
        node["id"]: (node["shape"], node["color"])
        for node in inline_data(page_a)["nodes"]
        if node["id"].startswith("i:")
    }
    assert style == {
        "i:2": KIND_STYLE["payout"],
        "i:1": KIND_STYLE["device"],
        "i:0": ("ellipse", "#7f7f7f"),  # no style of its own
    }
    labels = {node["label"] for node in inline_data(page_a)["nodes"]}
    assert {f"payout {PAYOUT}", f"device {DEVICE}", f"bank_ref {BANK_REF}"} <= labels


def test_seller_nodes_show_decision_and_label(page_a: str) -> None:
    sellers = {
        node["id"]: node for node in inline_data(page_a)["nodes"] if node["id"].startswith("s:")
    }
    look = {
        seller_id: (node["shape"], node["color"]["background"], node["color"]["border"])
        for seller_id, node in sellers.items()
    }
    assert look == {
        "s:a1": ("dot", DECISION_COLOUR["syndicate"], "#000000"),  # known bad: black border
        "s:a2": ("dot", DECISION_COLOUR["review"], "#2ca02c"),  # known good: green border
        "s:a3": ("dot", DECISION_COLOUR["clear"], "#555555"),
        "s:a4": ("dot", DECISION_COLOUR["syndicate"], "#555555"),
    }
    # A known label (bad or good) gets a thick border; unlabelled sellers a thin one.
    widths = {seller_id: node["borderWidth"] for seller_id, node in sellers.items()}
    assert widths == {"s:a1": 4, "s:a2": 4, "s:a3": 1, "s:a4": 1}
    assert sellers["s:a1"]["title"] == (
        "seller a1\nscore 0.95 · syndicate\nlabel: known bad\n"
        "created: 2024-05-01 00:00:00+00:00\n• payout …6819 shared with a1"
    )


def test_member_table_lists_members_by_score(page_a: str) -> None:
    rows = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td>", page_a)
    assert rows == [("a1", "0.95"), ("a4", "0.90"), ("a2", "0.60"), ("a3", "0.20")]


# --- layout ----------------------------------------------------------------------------------


def test_layout_is_deterministic_and_every_node_is_placed(
    ring_a: dict[str, Any], hand_data: RingViewData, page_a: str
) -> None:
    again = render_ring_page(ring_a, hand_data)
    assert again.encode("utf-8") == page_a.encode("utf-8")
    nodes = inline_data(page_a)["nodes"]
    for node in nodes:
        assert isinstance(node["x"], float | int) and isinstance(node["y"], float | int)
    # The seed is the only source of randomness: another seed moves the nodes.
    moved = inline_data(render_ring_page(ring_a, hand_data, seed=1))["nodes"]
    assert [(n["x"], n["y"]) for n in moved] != [(n["x"], n["y"]) for n in nodes]


def test_layout_leaves_the_global_random_state_alone(
    ring_a: dict[str, Any], hand_data: RingViewData
) -> None:
    random.seed(11)
    expected = random.random()
    random.seed(11)
    render_ring_page(ring_a, hand_data)
    assert random.random() == expected


# --- masking ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def masked_a(ring_a: dict[str, Any], hand_data: RingViewData) -> str:
    return render_ring_page(ring_a, hand_data, mask=True)


def test_masked_page_shows_masked_identifiers(masked_a: str) -> None:
    # '…' and the last four letters or digits, never more than half of them:
    # GB29NWBK60161331926819 -> …6819, dev-7f3a9c2e11 -> …2e11, ref-5521 (7) -> …521,
    # 203.0.113.77 -> …1377.
    labels = sorted(
        node["label"] for node in inline_data(masked_a)["nodes"] if node["id"].startswith("i:")
    )
    assert labels == ["bank_ref …521", "device …2e11", "payout …6819"]
    assert "ip …1377: 4 members, 900 sellers in all" in masked_a


def test_masked_page_shows_no_full_key(masked_a: str) -> None:
    # Everything an investigator sees: the markup, node labels and titles, edge titles.
    data = inline_data(masked_a)
    shown = [without_scripts(masked_a)]
    shown += [str(node.get(field, "")) for node in data["nodes"] for field in ("label", "title")]
    shown += [str(edge.get("title", "")) for edge in data["edges"]]
    for key in FULL_KEYS:
        assert not any(key in text for text in shown), key


def test_masked_page_source_holds_no_full_key(masked_a: str) -> None:
    for key in FULL_KEYS:
        assert key not in masked_a, key


# --- known display bugs ----------------------------------------------------------------------


def test_small_ring_page_does_not_claim_identifiers_were_left_out(page_a: str) -> None:
    assert "not drawn (large ring)" not in page_a


def test_every_given_relation_between_two_members_is_drawn(
    ring_a: dict[str, Any], hand_data: RingViewData
) -> None:
    second = pl.DataFrame(
        {"ring_id": ["ring-a"], "src": ["a1"], "dst": ["a4"], "relation": ["shared_warehouse"]}
    )
    data = RingViewData(
        hand_data.members, hand_data.identifiers, pl.concat([hand_data.relations, second])
    )
    edges = inline_data(render_ring_page(ring_a, data))["edges"]
    titles = sorted(e["title"] for e in edges if e.get("dashes"))
    assert titles == ["same_director, shared_warehouse"]  # one edge names both


# --- write_viz -------------------------------------------------------------------------------


def index_links(index: Path) -> list[str]:
    return re.findall(r'href="([^"]*)"', index.read_text("utf-8"))


def leftover_temporaries(folder: Path) -> list[str]:
    return [name for _, _, names in os.walk(folder) for name in names if name.endswith(".tmp")]


def test_write_viz_writes_the_top_rings_by_score_then_size(
    tmp_path: Path, hand_data: RingViewData
) -> None:
    result = write_viz(hand_rings(), hand_data, tmp_path, top=2)
    assert list(result.pages) == ["ring-c", "ring-b"]
    assert result.pages == {r: tmp_path / "rings" / f"{r}.html" for r in ("ring-c", "ring-b")}
    assert sorted(os.listdir(tmp_path / "rings")) == ["ring-b.html", "ring-c.html"]
    assert result.index == tmp_path / "index.html"
    assert index_links(result.index) == ["rings/ring-c.html", "rings/ring-b.html"]
    # ring-a is in the table, ranked last, without a link.
    ranked = re.findall(r"<tr><td>\d+</td><td>(?:<a [^>]*>)?([^<]*)", result.index.read_text())
    assert ranked == ["ring-c", "ring-b", "ring-a"]
    page = result.pages["ring-c"].read_text("utf-8")
    assert sorted(n["id"] for n in inline_data(page)["nodes"]) == [
        "i:0",
        "s:c1",
        "s:c2",
        "s:c3",
        "s:c4",
    ]
    assert leftover_temporaries(tmp_path) == []


def test_write_viz_ring_ids_pick_rings_and_stale_pages_go(
    tmp_path: Path, hand_data: RingViewData
) -> None:
    write_viz(hand_rings(), hand_data, tmp_path, top=3)
    result = write_viz(hand_rings(), hand_data, tmp_path, ring_ids=["ring-a"])
    assert result.pages == {"ring-a": tmp_path / "rings" / "ring-a.html"}
    assert sorted(os.listdir(tmp_path / "rings")) == ["ring-a.html"]  # ring-b and ring-c gone
    assert index_links(result.index) == ["rings/ring-a.html"]
    assert all((tmp_path / link).is_file() for link in index_links(result.index))
    assert result.kept == []
    assert leftover_temporaries(tmp_path) == []


def listing(folder: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((folder / LISTING).read_text("utf-8"))
    return document


def test_write_viz_lists_every_file_it_wrote_with_its_digest(
    tmp_path: Path, hand_data: RingViewData
) -> None:
    write_viz(hand_rings(), hand_data, tmp_path, top=2)
    written = listing(tmp_path)
    assert sorted(written["files"]) == [
        "data/identifiers.parquet",
        "data/members.parquet",
        "data/relations.parquet",
        "index.html",
        "rings/ring-b.html",
        "rings/ring-c.html",
    ]
    assert written["pending"] == [] and written["masked"] is False
    for name, digest in written["files"].items():
        assert hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() == digest
    assert GENERATOR in (tmp_path / "index.html").read_text("utf-8")
    assert GENERATOR in (tmp_path / "rings" / "ring-b.html").read_text("utf-8")


def test_write_viz_never_removes_a_file_it_did_not_write(
    tmp_path: Path, hand_data: RingViewData
) -> None:
    write_viz(hand_rings(), hand_data, tmp_path, top=3)
    rings = tmp_path / "rings"
    (rings / "my-notes.html").write_text("an investigator's notes", encoding="utf-8")
    # A copy of a syndicate page under another name is the user's file too.
    (rings / "ring-b-copy.html").write_bytes((rings / "ring-b.html").read_bytes())
    # A page syndicate wrote but the user edited since is no longer syndicate's to remove.
    (rings / "ring-c.html").write_text("edited", encoding="utf-8")
    result = write_viz(hand_rings(), hand_data, tmp_path, ring_ids=["ring-a"])
    assert sorted(os.listdir(rings)) == [
        "my-notes.html",
        "ring-a.html",
        "ring-b-copy.html",
        "ring-c.html",
    ]
    assert (rings / "my-notes.html").read_text("utf-8") == "an investigator's notes"
    assert (rings / "ring-c.html").read_text("utf-8") == "edited"
    assert result.kept == [
        rings / "my-notes.html",
        rings / "ring-b-copy.html",
        rings / "ring-c.html",
    ]


@pytest.mark.parametrize("name", ["rings/ring-c.html", "index.html", "data/members.parquet"])
def test_write_viz_refuses_to_overwrite_a_file_it_did_not_write(
    tmp_path: Path, hand_data: RingViewData, name: str
) -> None:
    (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / name).write_text("the user's own", encoding="utf-8")
    with pytest.raises(InputFileError, match=f"{re.escape(name)}: not written by syndicate"):
        write_viz(hand_rings(), hand_data, tmp_path, top=3)
    assert (tmp_path / name).read_text("utf-8") == "the user's own"
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()) == [
        name
    ]


def test_write_viz_refuses_to_overwrite_an_edited_page(
    tmp_path: Path, hand_data: RingViewData
) -> None:
    write_viz(hand_rings(), hand_data, tmp_path, top=3)
    (tmp_path / "rings" / "ring-a.html").write_text("edited", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"ring-a\.html: not written by syndicate"):
        write_viz(hand_rings(), hand_data, tmp_path, top=3)


def test_write_viz_refuses_a_listing_it_did_not_write(
    tmp_path: Path, hand_data: RingViewData
) -> None:
    (tmp_path / LISTING).write_text('{"mine": true}', encoding="utf-8")
    with pytest.raises(InputFileError, match="not a listing syndicate wrote"):
        write_viz(hand_rings(), hand_data, tmp_path, top=3)
    assert os.listdir(tmp_path) == [LISTING]


def test_an_interrupted_drawing_leaves_its_pages_owned(
    tmp_path: Path, hand_data: RingViewData, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The drawing dies after its first page: the listing written before any page still
    # names the pages it was writing (pending), so the next drawing replaces them.
    def dies(*args: object, **kwargs: object) -> str:
        raise RuntimeError("killed")

    monkeypatch.setattr("syndicate.viz.pages.render_index", dies)
    with pytest.raises(RuntimeError, match="killed"):
        write_viz(hand_rings(), hand_data, tmp_path, top=3)
    assert sorted(listing(tmp_path)["pending"])[:3] == [
        "data/identifiers.parquet",
        "data/members.parquet",
        "data/relations.parquet",
    ]
    monkeypatch.undo()
    result = write_viz(hand_rings(), hand_data, tmp_path, ring_ids=["ring-b"])
    assert sorted(os.listdir(tmp_path / "rings")) == ["ring-b.html"] and result.kept == []


def test_pages_of_a_folder_without_a_listing_are_known_by_their_marker(
    tmp_path: Path, hand_data: RingViewData
) -> None:
    # A viz/ folder written before listings existed: its pages carry the marker (or, older
    # still, syndicate's title), a user's file neither.
    write_viz(hand_rings(), hand_data, tmp_path, top=3)
    (tmp_path / LISTING).unlink()
    page = (tmp_path / "rings" / "ring-c.html").read_text("utf-8")
    (tmp_path / "rings" / "ring-c.html").write_text(page.replace(GENERATOR + "\n", ""), "utf-8")
    (tmp_path / "rings" / "mine.html").write_text("<html>mine</html>", encoding="utf-8")
    result = write_viz(hand_rings(), hand_data, tmp_path, ring_ids=["ring-a"])
    assert sorted(os.listdir(tmp_path / "rings")) == ["mine.html", "ring-a.html"]
    assert result.kept == [tmp_path / "rings" / "mine.html"]


def test_write_viz_refuses_an_unknown_ring_and_writes_nothing(
    tmp_path: Path, hand_data: RingViewData
) -> None:
    write_viz(hand_rings(), hand_data, tmp_path, top=1)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    with pytest.raises(KeyError, match="no ring with id 'nope' in this run"):
        write_viz(hand_rings(), hand_data, tmp_path, ring_ids=["ring-a", "nope"])
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_masked_write_viz_replaces_unmasked_pages(tmp_path: Path, hand_data: RingViewData) -> None:
    write_viz(hand_rings(), hand_data, tmp_path, top=3)
    result = write_viz(hand_rings(), hand_data, tmp_path, ring_ids=["ring-b"], mask=True)
    assert sorted(os.listdir(tmp_path / "rings")) == ["ring-b.html"]
    assert "dev-b" not in without_scripts(result.pages["ring-b"].read_text("utf-8"))
    assert result.masked and listing(tmp_path)["masked"] is True


def raw_keys(data: RingViewData) -> list[str]:
    return sorted(set(data.identifiers["key"]))


def test_masked_write_viz_leaves_no_value_in_any_file(
    tmp_path: Path, hand_data: RingViewData
) -> None:
    write_viz(hand_rings(), hand_data, tmp_path, top=3, mask=True)
    assert raw_keys(hand_data)  # the values to look for
    for path in tmp_path.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            for key in raw_keys(hand_data):
                assert key.encode() not in content, (path, key)
    # The same rows, each value replaced by a number and shown masked; distinct values
    # keep distinct numbers.
    stored = pl.read_parquet(tmp_path / "data" / "identifiers.parquet")
    expected = hand_data.identifiers.with_columns(mask_value(pl.col("key")).alias("shown"))
    assert stored.drop("key").equals(expected.drop("key"))
    assert stored.select("kind", "key").n_unique() == expected.select("kind", "key").n_unique()


def test_pages_drawn_from_masked_tables_are_the_masked_pages(
    ring_a: dict[str, Any], hand_data: RingViewData, masked_a: str
) -> None:
    masked = masked_view_data(hand_data)
    assert render_ring_page(ring_a, masked) == masked_a
    assert render_ring_page(ring_a, masked, mask=True) == masked_a
    assert masked_view_data(masked) is masked


# --- the command line ------------------------------------------------------------------------


@pytest.fixture
def run_folder(hostile: PipelineResult, tmp_path: Path) -> Path:
    write_outputs(hostile, tmp_path / "run")
    return tmp_path / "run"


def test_viz_command_draws_the_top_rings(
    run_folder: Path, hostile: PipelineResult, capsys: pytest.CaptureFixture[str]
) -> None:
    assert len(os.listdir(run_folder / "viz" / "rings")) == 3  # write_outputs drew all three
    assert main(["viz", "--run", str(run_folder), "--top", "2", "--quiet"]) == 0
    expected = (
        hostile.rings.sort(["ring_score", "size", "ring_id"], descending=[True, True, False])
        .head(2)["ring_id"]
        .to_list()
    )
    assert sorted(os.listdir(run_folder / "viz" / "rings")) == sorted(f"{r}.html" for r in expected)
    assert index_links(run_folder / "viz" / "index.html") == [f"rings/{r}.html" for r in expected]
    out = capsys.readouterr().out
    assert out.startswith("syndicate viz: 2 ring pages\n")
    assert leftover_temporaries(run_folder) == []


def test_viz_command_draws_one_named_ring(
    run_folder: Path, hostile: PipelineResult, hostile_ring: dict[str, Any]
) -> None:
    ring_id = hostile_ring["ring_id"]
    assert main(["viz", "--run", str(run_folder), "--ring", ring_id, "--mask", "--quiet"]) == 0
    assert os.listdir(run_folder / "viz" / "rings") == [f"{ring_id}.html"]


def test_viz_command_names_an_unknown_ring(
    run_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["viz", "--run", str(run_folder), "--ring", "nope", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "syndicate viz: error: no ring with id 'nope' in this run" in err


def test_viz_command_needs_a_run_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["viz", "--run", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'rings.parquet'}: not found" in err


def test_found_by_names_the_detectors_and_the_block_density() -> None:
    from syndicate.viz.pages import _found_by

    assert _found_by({"detectors": ["dense_block", "leiden"], "block_density": 1.234}) == (
        "dense block (density 1.23) + Leiden"
    )
    assert _found_by({"detectors": ["leiden"], "block_density": None}) == "Leiden"
    assert _found_by({}) == "–"


def test_viz_command_masks_every_file_of_the_run_folders_viz(
    run_folder: Path, hostile: PipelineResult, capsys: pytest.CaptureFixture[str]
) -> None:
    values = ring_view_data(hostile).identifiers["key"].unique().to_list()
    assert len(values) == 4  # two devices and two payouts
    assert main(["viz", "--run", str(run_folder), "--mask"]) == 0
    assert capsys.readouterr().out.startswith("syndicate viz: 3 ring pages (masked)\n")
    for path in (run_folder / "viz").rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            for value in values:
                assert value.encode() not in content, (path, value)
    # Redrawn later without --mask, the folder stays masked and says so.
    assert main(["viz", "--run", str(run_folder)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("syndicate viz: 3 ring pages (masked)\n")
    assert "masked by an earlier --mask drawing" in out


def test_viz_command_out_writes_pages_elsewhere_and_leaves_the_run_alone(
    run_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = {p: p.read_bytes() for p in run_folder.rglob("*") if p.is_file()}
    shared = tmp_path / "shared"
    argv = ["viz", "--run", str(run_folder), "--mask", "--out", str(shared), "--top", "2"]
    assert main([*argv, "--quiet"]) == 0
    # --quiet: the result line and where the pages went.
    assert capsys.readouterr().out == (
        f"syndicate viz: 2 ring pages (masked)\n  {shared / 'index.html'}\n"
    )
    assert {p: p.read_bytes() for p in run_folder.rglob("*") if p.is_file()} == before
    assert sorted(os.listdir(shared)) == ["index.html", "rings", LISTING]  # no data/
    assert len(os.listdir(shared / "rings")) == 2
    assert all((shared / link).is_file() for link in index_links(shared / "index.html"))
    assert listing(shared)["masked"] is True


def test_viz_command_out_never_overwrites_a_users_file(
    run_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "index.html").write_text("my own index", encoding="utf-8")
    assert main(["viz", "--run", str(run_folder), "--out", str(shared), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{shared / 'index.html'}: not written by syndicate" in err
    assert os.listdir(shared) == ["index.html"]
    assert (shared / "index.html").read_text("utf-8") == "my own index"


def test_viz_command_out_inside_the_runs_viz_folder_is_refused(
    run_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inner = run_folder / "viz" / "shared"
    assert main(["viz", "--run", str(run_folder), "--out", str(inner), "--quiet"]) == 2
    assert "which the next run replaces as a whole" in capsys.readouterr().err
    assert not inner.exists()


def test_viz_command_out_naming_the_runs_viz_folder_redraws_it(
    run_folder: Path, hostile: PipelineResult
) -> None:
    # --out RUN/viz is the default: viz/data is masked too, not left raw beside masked pages.
    argv = ["viz", "--run", str(run_folder), "--out", str(run_folder / "viz"), "--mask", "-q"]
    assert main(argv) == 0
    stored = pl.read_parquet(run_folder / "viz" / "data" / "identifiers.parquet")
    assert "shown" in stored.columns
    assert not set(stored["key"]) & set(ring_view_data(hostile).identifiers["key"])


def test_viz_command_says_which_files_it_kept(
    run_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (run_folder / "viz" / "rings" / "notes.html").write_text("mine", encoding="utf-8")
    assert main(["viz", "--run", str(run_folder), "--top", "1"]) == 0
    out = capsys.readouterr().out
    assert f"kept 1 file in {run_folder / 'viz' / 'rings'} that syndicate did not write: " in out
    assert (run_folder / "viz" / "rings" / "notes.html").read_text("utf-8") == "mine"
