"""Strategies: the file, where each strategy fires, combined decisions, and ``run --strategies``."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from syndicate.errors import ConfigError
from syndicate.strategies import apply_decisions, load_strategies, strategy_hits
from syndicate.strategies.apply import apply_ring_decisions, ring_names
from syndicate.strategies.file import MAX_STRATEGIES, parse_strategies
from tests.test_job import FIRST, run_cli, write_rings


def entry(name: str, when: str, action: str = "syndicate", **more: str) -> str:
    lines = [f'name = "{name}"', f"when = {json.dumps(when)}", f'action = "{action}"']
    lines += [f"{key} = {json.dumps(value)}" for key, value in more.items()]
    return "[[strategy]]\n" + "\n".join(lines) + "\n"


# -- the file ---------------------------------------------------------------------------


def test_an_entry_takes_defaults_and_keeps_file_order() -> None:
    rules = parse_strategies(
        entry("b-rule", "n_device >= 2") + entry("a-rule", "ring_size > 3", "review", scope="ring")
    )
    assert rules.names == ("b-rule", "a-rule")
    first, second = rules.strategies
    assert (first.scope, first.status, first.description, first.owner) == (
        "seller",
        "active",
        "",
        "",
    )
    assert (second.action, second.scope) == ("review", "ring")
    assert first.source == "strategy:b-rule"


def test_the_hash_is_of_the_bytes_and_the_bytes_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_bytes(entry("x", "n_device >= 2").encode() + b"# trailing comment\r\n")
    rules = load_strategies(path)
    import hashlib

    assert rules.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert rules.data == path.read_bytes() and rules.path == str(path)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "holds no \\[\\[strategy\\]\\] entry"),
        ("strategy = 1", "must be written as \\[\\[strategy\\]\\] tables"),
        (
            "[strategies]\nx = 1",
            "unknown top-level key 'strategies' \\(did you mean 'strategy'\\?\\)",
        ),
        ("[[strategy]\n", "not valid TOML"),
        (
            '[[strategy]]\nname = "x"\nwhen = "n_device > 1"',
            "strategy 1 \\('x'\\): 'action' is missing",
        ),
        (
            entry("x", "n_device > 1", scoop="ring"),
            "unknown key 'scoop' \\(did you mean 'scope'\\?\\)",
        ),
        (
            entry("x", "n_device > 1", "syndicat"),
            "action 'syndicat' is not one of review, syndicate \\(did you mean 'syndicate'\\?\\)",
        ),
        (
            entry("x", "n_device > 1", status="live"),
            "status 'live' is not one of active, shadow, off",
        ),
        (entry("x", "n_device > 1", scope="ring "), "scope 'ring ' is not one of seller, ring"),
        (entry("model:syndicate", "n_device > 1"), "name 'model:syndicate' is not allowed"),
        (entry("-x", "n_device > 1"), "name '-x' is not allowed"),
        (entry("x" * 65, "n_device > 1"), "is not allowed: use 1 to 64"),
        (
            entry("x", "n_device > 1") + entry("X", "n_ip > 1"),
            "strategy 2 is named 'X' like strategy 1",
        ),
        ('[[strategy]]\nname = "x"\nwhen = 5\naction = "review"', "'when' must be a string; got 5"),
        (entry("x", "n_device > 1", owner="o" * 2001), "'owner' is longer than 2000"),
        (entry("x", "n_device >"), "strategy 'x': syntax error"),
        (entry("x", "n_device > (SELECT 1)"), "strategy 'x': .*not allowed"),
        (
            entry("x", "read_csv('/etc/passwd') IS NULL"),
            "strategy 'x': function READ_CSV\\(\\) is not allowed",
        ),
        (entry("x", "n_device > 1; DROP TABLE t"), "strategy 'x': syntax error at column 13: ';'"),
    ],
)
def test_bad_files_are_refused_naming_the_strategy(text: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_strategies(text)


def test_too_many_strategies_are_refused() -> None:
    text = "".join(entry(f"s{i}", "n_device > 1") for i in range(MAX_STRATEGIES + 1))
    with pytest.raises(ConfigError, match=f"holds {MAX_STRATEGIES + 1} strategies; at most"):
        parse_strategies(text)


def test_unreadable_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_strategies(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="is a folder, not a file"):
        load_strategies(tmp_path)
    (tmp_path / "latin1.toml").write_bytes(b"# caf\xe9\n")
    with pytest.raises(ConfigError, match="is not UTF-8 text \\(byte 5\\)"):
        load_strategies(tmp_path / "latin1.toml")


# -- where strategies fire, and what they decide ------------------------------------------

#: Sellers a..f: a, b, c in ring r1 (3 members), d, e in ring r2, f in none.
FEATURES = pl.DataFrame(
    {
        "seller_id": ["a", "b", "c", "d", "e", "f"],
        "n_device": [3, 1, 2, 5, 1, 0],
        "nbr1_known_bad": [0, 2, 1, 0, 0, 0],
        "ring_size": [3, 3, 3, 2, 2, None],
    },
    schema_overrides={"n_device": pl.UInt32, "nbr1_known_bad": pl.UInt32, "ring_size": pl.UInt32},
)
LABELS = pl.DataFrame(
    {
        "seller_id": ["a", "b", "c", "d", "e", "f"],
        "ring_id": ["r1", "r1", "r1", "r2", "r2", None],
        "seller_score": [0.95, 0.2, 0.6, 0.1, 0.3, 0.05],
        "score_source": ["model"] * 6,
        "decision": ["syndicate", "clear", "review", "clear", "clear", "clear"],
    }
)
RINGS = pl.DataFrame(
    {
        "ring_id": ["r1", "r2"],
        "size": [3, 2],
        "n_known_bad": [1, 0],
        "status": ["new", "stable"],
        "decision": ["review", "clear"],
    },
    schema_overrides={"size": pl.UInt32, "n_known_bad": pl.UInt32},
)
RULES = parse_strategies(
    entry("devices", "n_device >= 2", "review")  # a, c, d
    + entry("bad-nbrs", "nbr1_known_bad >= 1 AND model_decision = 'clear'")  # b
    + entry("young-ring", "ring_status = 'new' AND ring_known_bad >= 1", scope="ring")  # r1
    + entry("watch", "seller_score >= 0.25", status="shadow")  # a, c, e
    + entry("unused", "no_such_column > 1", status="off")
)


def test_hits_fire_per_seller_and_per_ring_in_file_order() -> None:
    hits = strategy_hits(RULES, FEATURES, LABELS, RINGS)
    assert hits.select("strategy", "seller_id").rows() == [
        ("devices", "a"), ("devices", "c"), ("devices", "d"),
        ("bad-nbrs", "b"),
        ("young-ring", "a"), ("young-ring", "b"), ("young-ring", "c"),
        ("watch", "a"), ("watch", "c"), ("watch", "e"),
    ]  # fmt: skip
    assert hits.filter(pl.col("strategy") == "young-ring")["scope"].unique().to_list() == ["ring"]
    assert hits.filter(pl.col("seller_id") == "d")["ring_id"].to_list() == ["r2"]


def test_the_strongest_active_decision_wins_and_shadow_never_decides() -> None:
    hits = strategy_hits(RULES, FEATURES, LABELS, RINGS)
    out = apply_decisions(LABELS, hits, RULES)
    assert out.select("seller_id", "model_decision", "decision", "decision_source").rows() == [
        ("a", "syndicate", "syndicate", "model"),  # the model already says syndicate
        ("b", "clear", "syndicate", "strategy:bad-nbrs"),  # first in file order of the two
        ("c", "review", "syndicate", "strategy:young-ring"),  # devices only ties the model
        ("d", "clear", "review", "strategy:devices"),
        ("e", "clear", "clear", "model"),  # watch is shadow
        ("f", "clear", "clear", "model"),
    ]
    assert out["strategies"].to_list() == [
        ["devices", "young-ring", "watch"],
        ["bad-nbrs", "young-ring"],
        ["devices", "young-ring", "watch"],
        ["devices"],
        ["watch"],
        [],
    ]


def test_ring_scope_strategies_decide_their_rings() -> None:
    hits = strategy_hits(RULES, FEATURES, LABELS, RINGS)
    rings = apply_ring_decisions(RINGS, hits, RULES, cold_start=True)
    assert rings.select("ring_id", "decision", "decision_source", "strategies").rows() == [
        ("r1", "syndicate", "strategy:young-ring", ["young-ring"]),
        ("r2", "clear", "cold_start", []),
    ]


def test_cold_start_scores_are_their_own_source() -> None:
    labels = LABELS.with_columns(pl.lit("structure").alias("score_source"))
    out = apply_decisions(labels, strategy_hits(RULES, FEATURES, labels, RINGS), RULES)
    assert out.filter(pl.col("seller_id") == "e")["decision_source"].item() == "cold_start"


def test_ring_columns_answer_to_their_ring_names() -> None:
    assert ring_names(["ring_id", "size", "n_known_bad", "status", "ring_score"]) == {
        "ring_id": "ring_id",
        "size": "size",
        "ring_size": "size",
        "n_known_bad": "n_known_bad",
        "ring_known_bad": "n_known_bad",
        "status": "status",
        "ring_status": "status",
        "ring_score": "ring_score",
    }


@pytest.mark.parametrize(
    ("when", "scope", "match"),
    [
        ("n_devices >= 2", "seller", "strategy 'x': .*'n_devices'.*did you mean 'n_device'"),
        ("ring_sise >= 2", "ring", "strategy 'x': .*'ring_sise'.*did you mean 'ring_size'"),
        ("n_device >= 'two'", "seller", "strategy 'x':.*"),
        ("nbr1_known_bad >= 1", "ring", "strategy 'x': .*'nbr1_known_bad'"),  # a seller column
    ],
)
def test_columns_and_types_are_checked_against_the_scope(when: str, scope: str, match: str) -> None:
    rules = parse_strategies(entry("x", when, scope=scope))
    with pytest.raises(ConfigError, match=match):
        strategy_hits(rules, FEATURES, LABELS, RINGS)


def test_no_strategy_that_runs_gives_no_hits() -> None:
    rules = parse_strategies(entry("unused", "no_such_column > 1", status="off"))
    hits = strategy_hits(rules, FEATURES, LABELS, RINGS)
    assert hits.height == 0
    out = apply_decisions(LABELS, hits, rules)
    assert out["decision"].to_list() == LABELS["decision"].to_list()
    assert set(out["decision_source"]) == {"model"}


@settings(max_examples=25, deadline=None)
@given(st.permutations(range(6)), st.permutations(range(6)), st.permutations(range(2)))
def test_results_do_not_depend_on_row_order(
    features: list[int], labels: list[int], rings: list[int]
) -> None:
    shuffled = (FEATURES[features], LABELS[labels], RINGS[rings])
    hits = strategy_hits(RULES, *shuffled)
    assert_frame_equal(hits, strategy_hits(RULES, FEATURES, LABELS, RINGS))
    out = apply_decisions(shuffled[1], hits, RULES).sort("seller_id")
    assert_frame_equal(out, apply_decisions(LABELS, hits, RULES))


# -- syndicate run --strategies -------------------------------------------------------------


def test_run_applies_strategies_and_records_them(tmp_path: Path) -> None:
    files = write_rings(tmp_path / "in", FIRST)  # cold start: no labels
    strategies = tmp_path / "rules.toml"
    strategies.write_text(
        entry("big-ring", "ring_size >= 7", scope="ring")  # ring b: 7 members
        + entry("loners", "ring_id IS NULL", "review")  # z0..z3
        + entry("devices", "n_device >= 1", status="shadow")  # every ring member
    )
    assert run_cli(files, tmp_path / "out", "--strategies", str(strategies)) == 0
    out = tmp_path / "out"
    labels = pl.read_parquet(out / "labels.parquet")
    by_source = dict(labels.group_by("decision_source").len().iter_rows())
    decided_b = by_source.get("strategy:big-ring", 0)
    b_members = labels.filter(pl.col("seller_id").str.starts_with("b"))
    assert set(b_members["decision"]) == {"syndicate"}
    assert decided_b == int((b_members["model_decision"] != "syndicate").sum())
    loners = labels.filter(pl.col("seller_id").str.starts_with("z"))
    assert set(loners["decision"]) == {"review"} and set(loners["model_decision"]) == {"clear"}
    assert set(loners["decision_source"]) == {"strategy:loners"}
    assert loners["reasons"].list.len().to_list() == [0, 0, 0, 0]  # bound by nothing shared
    in_rings = labels.filter(pl.col("ring_id").is_not_null())
    assert all("devices" in names for names in in_rings["strategies"].to_list())
    manifest = json.loads((out / "run.json").read_text())
    facts = {s["name"]: s for s in manifest["strategies"]["strategies"]}
    assert (facts["big-ring"]["hits"], facts["loners"]["hits"]) == (7, 4)
    assert facts["loners"]["decided"] == 4 and facts["devices"]["decided"] == 0
    assert facts["devices"]["hits"] == in_rings.height
    assert manifest["strategies"]["sha256"] == manifest["outputs"]["strategies.toml"]["sha256"]
    assert (out / "strategies.toml").read_bytes() == strategies.read_bytes()
    rings = pl.read_parquet(out / "rings.parquet")
    ring_b = rings.filter(pl.col("size") == 7)
    assert ring_b.select("decision", "strategies").row(0) == ("syndicate", ["big-ring"])
    metrics = pl.read_parquet(out / "metrics.parquet").filter(
        pl.col("metric") == "strategy_hit_rate"
    )
    assert dict(zip(metrics["segment"], metrics["numerator"], strict=True)) == {
        None: in_rings.height + 4,
        "big-ring": 7,
        "loners": 4,
        "devices": in_rings.height,
    }


def test_config_names_the_strategies_file_and_the_flag_wins(tmp_path: Path) -> None:
    files = write_rings(tmp_path / "in", FIRST)
    (tmp_path / "a.toml").write_text(entry("from-config", "ring_id IS NULL", "review"))
    (tmp_path / "b.toml").write_text(entry("from-flag", "ring_id IS NULL", "review"))
    config = tmp_path / "config.toml"
    config.write_text(f'[decisions]\nstrategies = "{tmp_path / "a.toml"}"\n')
    assert run_cli(files, tmp_path / "one", "--config", str(config)) == 0
    assert (
        run_cli(
            files,
            tmp_path / "two",
            "--config",
            str(config),
            "--strategies",
            str(tmp_path / "b.toml"),
        )
        == 0
    )
    for folder, name in (("one", "from-config"), ("two", "from-flag")):
        names = [
            s["name"]
            for s in json.loads((tmp_path / folder / "run.json").read_text())["strategies"][
                "strategies"
            ]
        ]
        assert names == [name]


def test_a_bad_strategies_file_stops_the_run_before_it_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = write_rings(tmp_path / "in", FIRST)
    bad = tmp_path / "bad.toml"
    bad.write_text(entry("sneaky", "n_device > (SELECT max(a) FROM read_csv('/etc/passwd'))"))
    assert run_cli(files, tmp_path / "out", "--strategies", str(bad)) == 2
    assert "strategy 'sneaky'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # refused before --out was made


def test_an_unknown_column_exits_2_naming_the_strategy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = write_rings(tmp_path / "in", FIRST)
    bad = tmp_path / "bad.toml"
    bad.write_text(entry("typo", "ring_sizes >= 3", scope="ring"))
    assert run_cli(files, tmp_path / "out", "--strategies", str(bad)) == 2
    err = capsys.readouterr().err
    assert "strategy 'typo'" in err and "ring_size" in err
    assert not (tmp_path / "out" / "labels.parquet").exists()


def test_a_later_run_without_strategies_drops_the_copy(tmp_path: Path) -> None:
    files = write_rings(tmp_path / "in", FIRST)
    rules = tmp_path / "rules.toml"
    rules.write_text(entry("loners", "ring_id IS NULL", "review"))
    out = tmp_path / "out"
    assert run_cli(files, out, "--strategies", str(rules)) == 0
    assert (out / "strategies.toml").is_file()
    assert run_cli(files, out, "--previous", str(out)) == 0
    assert not (out / "strategies.toml").exists()
    assert json.loads((out / "run.json").read_text())["strategies"] is None


def test_a_strategies_file_of_the_users_in_the_run_folder_is_never_replaced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = write_rings(tmp_path / "in", FIRST)
    out = tmp_path / "out"
    out.mkdir()
    mine = out / "strategies.toml"
    mine.write_text(entry("mine", "ring_id IS NULL", "review"))
    for extra in ([], ["--strategies", str(mine)]):  # with or without using it
        assert run_cli(files, out, *extra) == 2
        assert "strategies.toml' stands where a run writes" in capsys.readouterr().err
        assert mine.read_text() == entry("mine", "ring_id IS NULL", "review")
