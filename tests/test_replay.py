"""The replay split: a metric's move between two runs, our policy's part and the data's."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from syndicate.config import Config
from syndicate.daily import DaysConfig, generate_days, write_days
from syndicate.errors import InputFileError
from syndicate.job import run_job
from syndicate.monitor.replay import (
    MATURED_METRICS,
    REPLAY_METRICS,
    MaturedSplit,
    MetricSplit,
    ReplayError,
    ReplaySplit,
    matured_split,
    policy_changes,
    read_policy,
    replay_split,
)
from syndicate.synth import generate_marketplace, write_marketplace

FAST = Config(n_estimators=20, importance_repeats=0, top_pages=0, anomaly_trees=20)
FIXED = replace(FAST, syndicate_threshold=0.6, review_threshold=0.3)
ALL = tuple(REPLAY_METRICS)

#: Fires on the sellers the model cleared who share two identifiers; ``spare`` is off.
RULES = """
[[strategy]]
name = "cleared-but-linked"
when = "model_decision = 'clear' AND n_shared_identifiers >= 2"
action = "syndicate"
status = "{status}"

[[strategy]]
name = "spare"
when = "degree >= 0"
action = "syndicate"
status = "off"
"""

#: A ring-scope strategy for the run on the second marketplace.
RING_RULES = """
[[strategy]]
name = "big-ring"
when = "ring_size >= 5"
action = "review"
scope = "ring"
"""


def _run(out: Path, files: dict[str, Path], config: Config, **given: Any) -> Path:
    run_job(
        sellers=files["sellers"],
        links=files["links"],
        labels=files.get("labels"),
        out=out,
        config=config,
        **given,
    )
    return out


def _rules(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Runs on two marketplaces; most score with one saved model and fixed thresholds, so
    the model's part is the same file in each (its sha256) and the scores are too."""
    folder = tmp_path_factory.mktemp("replay")
    one = write_marketplace(generate_marketplace(n_sellers=2000, seed=1), folder / "one")
    two = write_marketplace(generate_marketplace(n_sellers=2000, seed=2), folder / "two")
    live = _rules(folder, "live.toml", RULES.format(status="active"))
    shadow = _rules(folder, "shadow.toml", RULES.format(status="shadow"))
    ring = _rules(folder, "ring.toml", RING_RULES)
    trained = _run(folder / "trained", one, FAST)
    model = trained / "model"
    built = {
        "a": _run(folder / "a", one, FIXED, model=model),
        "b": _run(folder / "b", one, FIXED, model=model, strategies=live),
        "b_shadow": _run(folder / "b_shadow", one, FIXED, model=model, strategies=shadow),
        "c": _run(folder / "c", two, FIXED, model=model),
        "d": _run(
            folder / "d",
            two,
            replace(FAST, syndicate_threshold=0.5, review_threshold=0.25),
            strategies=ring,
        ),
        "cold": _run(folder / "cold", {"sellers": one["sellers"], "links": one["links"]}, FAST),
    }
    d = built["d"]
    # market one through d's policy, by a real run: the replay's m(a's data, d's policy)
    built["a_through_d"] = _run(
        folder / "a_through_d",
        one,
        replace(FAST, syndicate_threshold=0.5, review_threshold=0.25),
        model=d / "model",
        strategies=ring,
    )
    return built


def _whole(run: Path, metric: str) -> float:
    rows = pl.read_parquet(run / "metrics.parquet")
    return rows.filter((pl.col("metric") == metric) & pl.col("segment_kind").is_null())[
        "value"
    ].item()


def _cleared_but_linked(run: Path) -> tuple[int, int]:
    """(k, n): sellers ``run``'s model cleared that share two identifiers, sellers."""
    labels = pl.read_parquet(run / "labels.parquet")
    features = pl.read_parquet(run / "features.parquet")
    fired = labels.join(features, on="seller_id").filter(
        (pl.col("model_decision") == "clear") & (pl.col("n_shared_identifiers") >= 2)
    )
    return fired.height, labels.height


def test_a_strategy_going_live_on_the_same_data_is_all_our_change(runs: dict[str, Path]) -> None:
    # Same inputs, same saved model and thresholds: the one difference is the strategy,
    # which turns k cleared sellers into syndicate. So m(data, b's policy) − m(data, a's
    # policy) = k / n for either data, the data part is 0, and review_rate does not move
    # (the sellers came from clear, not from review).
    k, n = _cleared_but_linked(runs["a"])
    assert k > 0
    assert policy_changes(runs["b"], runs["a"]) == ["strategy cleared-but-linked went live"]
    split = replay_split(runs["b"], runs["a"], metrics=ALL)
    assert split is not None
    assert split.changes == ("strategy cleared-but-linked went live",)
    syndicate = split.metric("syndicate_rate")
    assert syndicate.policy_effect == pytest.approx(k / n, abs=1e-15)
    assert syndicate.data_effect == pytest.approx(0.0, abs=1e-15)
    assert syndicate.recorded_change == pytest.approx(k / n, abs=1e-15)
    assert syndicate.residual == pytest.approx(0.0, abs=1e-15)
    review = split.metric("review_rate")
    assert (review.policy_effect, review.data_effect) == (0.0, 0.0)
    hits = split.metric("strategy_hit_rate")  # the off strategy fires on no one
    assert hits.policy_effect == pytest.approx(k / n, abs=1e-15)
    assert split.sentence("syndicate_rate") == (
        f"syndicate_rate: +{100 * k / n:.2f} points from our own change "
        "(strategy cleared-but-linked went live), +0.00 from the data"
    )
    json.dumps(split.as_dict())  # plain data


def test_shadow_counts_as_a_change_only_for_what_it_records(runs: dict[str, Path]) -> None:
    # Added in shadow: recorded (strategy_hit_rate) but deciding nothing; going live
    # from shadow is the whole k / n of syndicate_rate again.
    k, n = _cleared_but_linked(runs["a"])
    added = replay_split(runs["b_shadow"], runs["a"], metrics=ALL)
    assert added is not None
    assert added.changes == ("strategy cleared-but-linked was added in shadow",)
    assert added.metric("syndicate_rate").policy_effect == 0.0
    assert added.metric("strategy_hit_rate").policy_effect == pytest.approx(k / n, abs=1e-15)
    live = replay_split(runs["b"], runs["b_shadow"])
    assert live is not None
    assert live.changes == ("strategy cleared-but-linked went live",)
    assert live.metric("syndicate_rate").policy_effect == pytest.approx(k / n, abs=1e-15)
    assert live.metric("bad_seller_onboarding_rate").residual == pytest.approx(0.0, abs=1e-15)


def test_the_same_policy_on_other_data_is_not_replayed(
    runs: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    # One saved model, the same thresholds, no strategies: every change is the data's, so
    # there is nothing to split and replay_split says None (with the reason logged).
    assert policy_changes(runs["c"], runs["a"]) == []
    assert _whole(runs["c"], "syndicate_rate") != _whole(runs["a"], "syndicate_rate")
    with caplog.at_level(logging.INFO, logger="syndicate.monitor.replay"):
        assert replay_split(runs["c"], runs["a"]) is None
    assert "same policy" in caplog.text


def test_every_policy_and_data_differ_the_parts_add_up_and_match_real_runs(
    runs: dict[str, Path],
) -> None:
    # d: another marketplace, its own trained model, other thresholds, a ring strategy.
    split = replay_split(runs["d"], runs["a"], metrics=ALL)
    assert split is not None
    assert split.changes == (
        "model retrained",
        "syndicate threshold 0.600 → 0.500",
        "review threshold 0.300 → 0.250",
        "strategy big-ring went live",
    )
    assert split.data_changes == ()
    assert split.skipped == {}
    assert split.part_changes == {
        "model": ("model retrained",),
        "thresholds": ("syndicate threshold 0.600 → 0.500", "review threshold 0.300 → 0.250"),
        "strategies": ("strategy big-ring went live",),
    }
    for part in split.metrics:
        rr, pp = part.run_data_run_policy, part.previous_data_previous_policy
        assert part.policy_effect + part.data_effect == pytest.approx(rr - pp, abs=1e-15)
        assert set(part.policy_parts) == {"model", "thresholds", "strategies"}
        assert sum(part.policy_parts.values()) == pytest.approx(part.policy_effect, abs=1e-15)
        assert part.residual == pytest.approx(0.0, abs=1e-15), part.metric
        assert rr == pytest.approx(_whole(runs["d"], part.metric), abs=1e-15)
    syndicate = split.metric("syndicate_rate")
    # The cross terms are what real runs give: c is market two through a's policy (the
    # saved model, 0.6/0.3, no strategies); a_through_d is market one through d's.
    for metric in ("syndicate_rate", "review_rate", "strategy_hit_rate"):
        part = split.metric(metric)
        assert part.run_data_previous_policy == pytest.approx(
            _whole(runs["c"], metric) if metric != "strategy_hit_rate" else 0.0, abs=1e-15
        )
        assert part.previous_data_run_policy == pytest.approx(
            _whole(runs["a_through_d"], metric), abs=1e-15
        )
    assert syndicate.policy_effect != 0.0
    # A ring strategy that decides review leaves syndicate_rate alone on either data.
    assert syndicate.policy_parts["strategies"] == 0.0
    assert "syndicate threshold 0.600 → 0.500 and review threshold 0.300 → 0.250 +" in (
        split.sentence("syndicate_rate")
    )


def test_a_cold_start_policy_replays_with_structure_scores(runs: dict[str, Path]) -> None:
    assert read_policy(runs["cold"]).cold_start
    assert policy_changes(runs["a"], runs["cold"])[0] == "model replaced cold-start scores"
    assert policy_changes(runs["cold"], runs["a"])[0] == "cold start replaced the model"
    split = replay_split(runs["a"], runs["cold"], metrics=("syndicate_rate", "review_rate"))
    assert split is not None
    for part in split.metrics:
        assert part.residual == pytest.approx(0.0, abs=1e-15)
    # a's data through the cold-start policy: members get their ring's structure score.
    rings = pl.read_parquet(runs["a"] / "rings.parquet")
    labels = pl.read_parquet(runs["a"] / "labels.parquet")
    scores = labels.join(rings.select("ring_id", "structure_score"), on="ring_id", how="left")
    cold = read_policy(runs["cold"])
    assert cold.syndicate_threshold is not None
    expected = (scores["structure_score"].fill_null(0.0) >= cold.syndicate_threshold).mean()
    assert split.metric("syndicate_rate").run_data_previous_policy == pytest.approx(expected)


def test_onboarding_is_skipped_when_an_input_changed(runs: dict[str, Path], tmp_path: Path) -> None:
    earlier = tmp_path / "a"
    shutil.copytree(runs["a"], earlier)
    manifest = json.loads((earlier / "run.json").read_text())
    manifest["inputs"]["sellers"]["sha256"] = "0" * 64
    (earlier / "run.json").write_text(json.dumps(manifest))
    split = replay_split(runs["b"], earlier)
    assert split is not None
    assert [part.metric for part in split.metrics] == ["syndicate_rate", "review_rate"]
    assert "sellers input" in split.skipped["bad_seller_onboarding_rate"]
    assert split.sentences()[-1].startswith("bad_seller_onboarding_rate: not replayed (")


def test_a_missing_model_file_stops_the_replay(
    runs: dict[str, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    later = tmp_path / "d"
    shutil.copytree(runs["d"], later)
    (later / "model" / "model.npz").unlink()
    with caplog.at_level(logging.WARNING, logger="syndicate.monitor.replay"):
        assert replay_split(later, runs["a"]) is None
    assert "model.npz: not found, nor model.skops" in caplog.text
    with pytest.raises(ReplayError, match=r"model\.npz: not found, nor model\.skops"):
        replay_split(later, runs["a"], strict=True)
    with pytest.raises(ValueError, match="'sellers' cannot be replayed"):
        replay_split(runs["b"], runs["a"], metrics=("sellers",))


# ---------------------------------------------------------------------------------------
# policy_changes on hand-made run folders


def _folder(
    root: Path,
    name: str,
    *,
    sha: str | None = "aa",
    source: str = "trained",
    syndicate: float | None = 0.692,
    review: float | None = 0.5,
    rules: str | None = None,
) -> Path:
    folder = root / name
    folder.mkdir()
    strategies = None
    if rules is not None:
        (folder / "strategies.toml").write_text(rules, encoding="utf-8")
        strategies = {"sha256": _sha256(folder / "strategies.toml")}
    manifest = {
        "model": {"source": "cold_start" if sha is None else source, "sha256": sha},
        "thresholds": {"syndicate": syndicate, "review": review, "source": "config"},
        "strategies": strategies,
    }
    (folder / "run.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rule(name: str = "fast-ring", status: str = "active", **fields: str) -> str:
    entry = {"when": "ring_size >= 5", "action": "syndicate", "scope": "ring", **fields}
    lines = [f'{key} = "{value}"' for key, value in entry.items()]
    return "\n".join(["[[strategy]]", f'name = "{name}"', f'status = "{status}"', *lines, ""])


CASES: list[tuple[str, dict[str, Any], dict[str, Any], list[str]]] = [
    ("identical", {}, {}, []),
    ("retrained", {}, {"sha": "bb"}, ["model retrained"]),
    ("saved model swapped", {}, {"sha": "bb", "source": "saved_model"}, ["model replaced"]),
    ("first model", {"sha": None}, {}, ["model replaced cold-start scores"]),
    ("thresholds", {}, {"syndicate": 0.64}, ["syndicate threshold 0.692 → 0.640"]),
    ("close thresholds", {}, {"review": 0.5001}, ["review threshold 0.5 → 0.5001"]),
    ("no review", {}, {"review": None}, ["review threshold 0.500 → none"]),
    ("added live", {}, {"rules": _rule()}, ["strategy fast-ring went live"]),
    (
        "added shadow",
        {},
        {"rules": _rule(status="shadow")},
        ["strategy fast-ring was added in shadow"],
    ),
    ("added off", {}, {"rules": _rule(status="off")}, []),
    ("off removed", {"rules": _rule(status="off")}, {}, []),
    ("removed", {"rules": _rule()}, {}, ["strategy fast-ring removed"]),
    (
        "shadow to live",
        {"rules": _rule(status="shadow")},
        {"rules": _rule()},
        ["strategy fast-ring went live"],
    ),
    (
        "off to live",
        {"rules": _rule(status="off")},
        {"rules": _rule()},
        ["strategy fast-ring went live"],
    ),
    (
        "switched off",
        {"rules": _rule()},
        {"rules": _rule(status="off")},
        ["strategy fast-ring was switched off"],
    ),
    (
        "back to shadow",
        {"rules": _rule()},
        {"rules": _rule(status="shadow")},
        ["strategy fast-ring went back to shadow"],
    ),
    (
        "condition",
        {"rules": _rule()},
        {"rules": _rule(when="ring_size >= 6")},
        ["strategy fast-ring changed its condition"],
    ),
    (
        "action",
        {"rules": _rule()},
        {"rules": _rule(action="review")},
        ["strategy fast-ring now decides review (was syndicate)"],
    ),
    (
        "shadow condition",
        {"rules": _rule(status="shadow")},
        {"rules": _rule(status="shadow", when="ring_size >= 6")},
        ["strategy fast-ring (in shadow) changed its condition"],
    ),
    (
        "off condition",
        {"rules": _rule(status="off")},
        {"rules": _rule(status="off", when="x > 1")},
        [],
    ),
    ("description", {"rules": _rule()}, {"rules": _rule(description="who wrote it")}, []),
    (
        "reordered",
        {"rules": _rule("x") + _rule("y")},
        {"rules": _rule("y") + _rule("x")},
        [],
    ),
]


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_policy_changes(
    tmp_path: Path, before: dict[str, Any], after: dict[str, Any], expected: list[str]
) -> None:
    assert policy_changes(_folder(tmp_path, "r", **after), _folder(tmp_path, "p", **before)) == (
        expected
    )


def test_a_strategies_file_changed_after_the_run_is_refused(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "r", rules=_rule())
    (folder / "strategies.toml").write_text(_rule(status="off"), encoding="utf-8")
    with pytest.raises(InputFileError, match=r"strategies\.toml: its sha256 is not"):
        read_policy(folder)
    (folder / "strategies.toml").unlink()
    with pytest.raises(InputFileError, match=r"strategies\.toml: not found"):
        read_policy(folder)


def test_sentences_name_the_changes_and_the_points() -> None:
    part = MetricSplit(
        metric="syndicate_rate",
        run_data_run_policy=0.124,
        run_data_previous_policy=0.102,
        previous_data_run_policy=0.120,
        previous_data_previous_policy=0.100,
        policy_effect=0.021,
        data_effect=0.003,
        replayed_change=0.024,
        recorded_change=0.024,
        residual=0.0,
    )
    split = ReplaySplit("r", "p", ("strategy big-new-ring went live",), (), (part,))
    assert split.sentence("syndicate_rate") == (
        "syndicate_rate: +2.10 points from our own change (strategy big-new-ring went live), "
        "+0.30 from the data"
    )
    many = replace(split, changes=("a", "b", "c", "d", "e"))
    assert many.because() == "a, b, c and 2 more"
    off = replace(split, metrics=(replace(part, recorded_change=0.025, residual=0.001),))
    assert off.sentence("syndicate_rate").endswith(
        "; the recorded change is +2.50 points, +0.10 of it not rebuilt by the replay"
    )
    with pytest.raises(KeyError, match="review_rate"):
        split.metric("review_rate")
    # Two parts changed: each one's share, the largest first.
    both = replace(
        split,
        changes=("model retrained", "strategy big-new-ring went live"),
        part_changes={
            "model": ("model retrained",),
            "strategies": ("strategy big-new-ring went live",),
        },
        metrics=(replace(part, policy_parts={"model": -0.001, "strategies": 0.022}),),
    )
    assert both.sentence("syndicate_rate") == (
        "syndicate_rate: +2.10 points from our own change (strategy big-new-ring went live "
        "+2.20; model retrained -0.10), +0.30 from the data"
    )


def test_importing_the_replay_loads_no_model_libraries() -> None:
    # The monitor imports it on every run; scikit-learn and skops load when a replay
    # needs a model.
    code = "import json, sys, syndicate.monitor.replay; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(done.stdout)
    heavy = ("sklearn", "skops", "sqlglot", "syndicate.model", "syndicate.scoring")
    assert [m for m in loaded if m.split(".")[0] in heavy or m in heavy] == []


# ---------------------------------------------------------------------------------------
# a daily history


def test_a_strategy_going_live_on_day_8_is_the_jump_of_that_day(tmp_path: Path) -> None:
    # Ten days of a quiet marketplace (no attack, no campaign), fixed thresholds, the model
    # retrained each day; a strategy goes live on day 8. Days 7 and 8 are run (day 7 as a
    # first run: its new sellers are those of its last day, as with day 6 before it).
    history = generate_days(
        DaysConfig(days=10, base_sellers=3000, attack_day=None, benign_day=None, seed=0)
    )
    days = write_days(history, tmp_path / "input")
    rules = _rules(
        tmp_path,
        "rules.toml",
        '[[strategy]]\nname = "known-bad-neighbours"\nwhen = "nbr1_known_bad >= 1"\n'
        'action = "syndicate"\n',
    )
    runs: list[Path] = []
    for day in (7, 8):
        files = {name: days[day] / f"{name}.parquet" for name in ("sellers", "links", "labels")}
        runs.append(
            _run(
                tmp_path / "runs" / days[day].name,
                files,
                FIXED,
                previous=runs[-1] if runs else None,
                as_of=history.as_of(day),
                strategies=rules if day == 8 else None,
            )
        )
    split = replay_split(runs[1], runs[0])
    assert split is not None
    assert split.changes == ("model retrained", "strategy known-bad-neighbours went live")
    jump = split.metric("syndicate_rate")
    assert jump.recorded_change is not None and jump.recorded_change > 0.005
    assert jump.residual == pytest.approx(0.0, abs=1e-15)
    assert jump.policy_effect >= 0.9 * jump.recorded_change
    assert jump.policy_parts["strategies"] >= 0.9 * jump.recorded_change  # not the retrain
    assert split.metric("bad_seller_onboarding_rate").residual == pytest.approx(0.0, abs=1e-15)


def test_matured_shares_replay_the_decisions_they_mature(tmp_path: Path) -> None:
    # Days 6, 7 and 8 of one marketplace, scored by one saved model; the thresholds move
    # from (0.6, 0.3) to (0.8, 0.2) on day 7. Day 8's matured shares count day 7's
    # decisions; under day 6's thresholds day 7 would have decided by (0.6, 0.3) on the same
    # scores. Both are matured with day 8's labels, worked out here from the files.
    history = generate_days(
        DaysConfig(days=9, base_sellers=3000, attack_day=None, benign_day=None, seed=0)
    )
    days = write_days(history, tmp_path / "input")
    files = {name: days[6] / f"{name}.parquet" for name in ("sellers", "links", "labels")}
    model = _run(tmp_path / "trained", files, FAST) / "model"
    moved = replace(FAST, syndicate_threshold=0.8, review_threshold=0.2)
    runs: list[Path] = []
    for day, config in ((6, FIXED), (7, moved), (8, moved)):
        files = {name: days[day] / f"{name}.parquet" for name in ("sellers", "links", "labels")}
        runs.append(
            _run(
                tmp_path / "runs" / days[day].name,
                files,
                config,
                model=model,
                previous=runs[-1] if runs else None,
                as_of=history.as_of(day),
            )
        )
    splits = matured_split(runs[2], runs[1], runs[0])
    assert splits is not None
    known = (
        pl.read_parquet(days[8] / "labels.parquet").group_by("seller_id").agg(pl.col("label").max())
    )
    scored = pl.read_parquet(runs[1] / "labels.parquet").join(known, on="seller_id", how="left")
    score = pl.col("seller_score")
    pools = {
        "syndicate": (score >= 0.8, score >= 0.6),
        "review": ((score >= 0.2) & (score < 0.8), (score >= 0.3) & (score < 0.6)),
    }
    for metric, (decision, label) in MATURED_METRICS.items():
        split = splits[metric]
        assert split.changes == (
            "syndicate threshold 0.600 → 0.800",
            "review threshold 0.300 → 0.200",
        )
        own, before = (scored.filter(pool) for pool in pools[decision])
        assert split.value == pytest.approx((own["label"] == label).sum() / own.height, abs=1e-15)
        assert split.value == pytest.approx(split.recorded, abs=1e-15)  # day 8's own metric
        assert split.counterfactual == pytest.approx(
            (before["label"] == label).sum() / before.height, abs=1e-15
        )
        assert split.policy_effect == pytest.approx(split.value - split.counterfactual)
        assert "from our own change to the decisions it matures" in split.sentence()
    # Day 8 decided as day 7 did: its own matured shares (day 9's) owe nothing to a change.
    assert matured_split(runs[2], runs[2], runs[1]) is None


def test_a_matured_move_our_change_made_is_ours() -> None:
    from syndicate.monitor.watch import _matured_cause

    def split(value: float, counterfactual: float) -> dict[str, MaturedSplit]:
        return {
            "matured_review_known_bad": MaturedSplit(
                "matured_review_known_bad", "d7", "d6", ("model retrained",), value,
                counterfactual, value,
            )
        }  # fmt: skip

    # Fell from 17.6% to 6.0% (-11.6 points); our change made -14.0 of it: ours.
    cause, text = _matured_cause(split(0.060, 0.200), "matured_review_known_bad", 0.060, 0.176)
    assert cause == "policy" and "-14.00 points from our own change" in text
    # Our change made -3 of the -11.6 points: the data's.
    assert _matured_cause(split(0.06, 0.09), "matured_review_known_bad", 0.06, 0.176)[0] == "data"
    assert _matured_cause(None, "matured_review_known_bad", 0.06, 0.176) == ("data", "")
    assert _matured_cause("gone", "matured_review_known_bad", 0.06, 0.176)[0] is None
