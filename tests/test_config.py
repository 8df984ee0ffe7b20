"""The run configuration: TOML files, ``--set`` overrides and the manifest mapping."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syndicate.config import (
    CONFIG_SECTIONS,
    DEFAULT_HUB_LIMITS,
    DEFAULT_KIND_WEIGHTS,
    DEFAULT_PLACEHOLDERS,
    MAX_WEIGHT,
    Config,
    normalise_kind,
)
from syndicate.errors import ConfigError

FIELDS = [f.name for f in dataclasses.fields(Config)]

# Every section changed, kinds whose names need quoting, and every optional value set.
CUSTOM = Config(
    kind_weights={**DEFAULT_KIND_WEIGHTS, "payout": 4.5, "bank account": 2.25, "x.y": 0.5},
    default_kind_weight=0.75,
    hub_limits={**DEFAULT_HUB_LIMITS, "ip": 7, "bank account": 9, "x.y": 2},
    default_hub_limit=12,
    max_pairs=1_000,
    pair_weighting="log",
    popular_limit=7,
    min_ring_size=4,
    max_ring_size=40,
    dense_blocks=False,
    block_min_density=0.25,
    block_min_identifier_share=0.75,
    block_eps=0.5,
    leiden_objective="CPM",
    leiden_resolution=0.05,
    leiden_iterations=3,
    lineage_min_jaccard=1.0,
    learner="gradient_boosting",
    cv_folds=3,
    n_estimators=17,
    importance_repeats=0,
    n_jobs=2,
    anomaly_trees=7,
    min_samples_leaf=3,
    max_tree_rows=1000,
    importance="permutation",
    syndicate_precision=0.95,
    review_precision=0.5,
    bad_rate=0.125,
    syndicate_threshold=0.8,
    review_threshold=0.6,
    cold_syndicate_threshold=0.9,
    cold_review_threshold=0.1,
    min_known_bad_for_thresholds=5,
    top_pages=0,
    keep_thresholds=False,
    strategies="rules/strategies.toml",
    metric_segments=("category", "country code"),
    alert_min_history=5,
    alert_window=60,
    alert_weekday=False,
    alert_weekday_after=35,
    alert_weekday_window=8,
    alert_z=5.5,
    alert_mad_floor=0.1,
    alert_mad_floor_rate=0.001,
    alert_mad_floor_count=2.0,
    alert_poisson_floor=False,
    alert_p_value=0.0001,
    alert_min_abs_effect_rate=0.005,
    alert_min_abs_effect_count=5.0,
    alert_min_excess=20.0,
    alert_min_rel_effect=0.3,
    alert_high_factor=3.0,
    alert_high_p_value=1e-8,
    alert_incident_gap=2,
    alert_segment_correction=False,
    alert_ring_share=0.6,
    alert_segment_share=0.4,
    alert_directions={"syndicate_rate": "down", "review rate": "up"},
    seed=2**31 - 1,
    common_placeholders=("n/a", 'say "none"'),
    placeholders={**DEFAULT_PLACEHOLDERS, "email": (), "bank account": ("0000",)},
)


def write(tmp_path: Path, text: str, name: str = "syndicate.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def round_trip(config: Config, path: Path) -> Config:
    path.write_text(config.to_toml(), encoding="utf-8")
    return Config.from_toml(path)


# --- round trips ------------------------------------------------------------------------


def test_the_default_file_reads_back_as_the_defaults(tmp_path: Path) -> None:
    assert round_trip(Config(), tmp_path / "c.toml") == Config()


def test_a_config_with_every_section_changed_round_trips_exactly(tmp_path: Path) -> None:
    changed = {f for f in FIELDS if getattr(CUSTOM, f) != getattr(Config(), f)}
    assert changed == set(FIELDS)
    again = round_trip(CUSTOM, tmp_path / "c.toml")
    assert again == CUSTOM
    assert again.to_toml() == CUSTOM.to_toml()


def test_unset_values_are_commented_out_and_set_ones_are_written() -> None:
    text = Config().to_toml()
    for name in ("bad_rate", "syndicate_threshold", "review_threshold"):
        assert f"# {name} = (unset)" in text
    custom = CUSTOM.to_toml()
    assert "bad_rate = 0.125" in custom and "(unset)" not in custom
    assert '"bank account" = 2.25' in custom and '"x.y" = 0.5' in custom
    assert 'leiden_objective = "CPM"' in custom
    assert custom.startswith("#") and "\nseed = 2147483647\n" in custom


def test_the_toml_sections_follow_config_sections() -> None:
    headers = re.findall(r"^\[(\w+)\]$", Config().to_toml(), flags=re.MULTILINE)
    assert headers == list(CONFIG_SECTIONS)


ordered_pair = st.tuples(st.floats(0, 1, exclude_min=True), st.floats(0, 1, exclude_min=True)).map(
    sorted
)
optional_pair = st.tuples(st.none() | st.floats(0, 1), st.none() | st.floats(0, 1)).map(
    lambda p: tuple(sorted(p)) if None not in p else p
)
# Printable names (control characters have their own test), quoted or bare in the TOML;
# kinds are normalised, so a config holds normalised, non-empty ones.
kinds = (
    st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=8)
    .map(normalise_kind)
    .filter(bool)
) | st.sampled_from(list(DEFAULT_KIND_WEIGHTS))
positive = st.floats(min_value=0, max_value=MAX_WEIGHT, exclude_min=True)


@st.composite
def configs(draw: st.DrawFn) -> Config:
    review_precision, syndicate_precision = draw(ordered_pair)
    review_threshold, syndicate_threshold = draw(optional_pair)
    cold_review, cold_syndicate = draw(st.tuples(st.floats(0, 1), st.floats(0, 1)).map(sorted))
    return Config(
        # Supersets of the default kinds: a file cannot remove one (documented).
        kind_weights={**DEFAULT_KIND_WEIGHTS, **draw(st.dictionaries(kinds, positive))},
        default_kind_weight=draw(positive),
        hub_limits={
            **DEFAULT_HUB_LIMITS,
            **draw(st.dictionaries(kinds, st.integers(2, 2**63 - 1))),
        },
        default_hub_limit=draw(st.integers(2, 10**6)),
        max_pairs=draw(st.integers(1, 2**63 - 1)),
        min_ring_size=draw(st.integers(2, 100)),
        leiden_objective=draw(st.sampled_from(["modularity", "CPM"])),
        leiden_resolution=draw(positive),
        leiden_iterations=draw(st.integers(1, 100)),
        lineage_min_jaccard=draw(st.floats(0, 1, exclude_min=True)),
        learner=draw(st.sampled_from(["random_forest", "gradient_boosting"])),
        cv_folds=draw(st.integers(2, 20)),
        n_estimators=draw(st.integers(2, 5000)),
        importance_repeats=draw(st.integers(0, 10)),
        n_jobs=draw(st.integers(-64, 64).filter(bool)),
        syndicate_precision=syndicate_precision,
        review_precision=review_precision,
        bad_rate=draw(st.none() | st.floats(0, 1, exclude_min=True, exclude_max=True)),
        syndicate_threshold=syndicate_threshold,
        review_threshold=review_threshold,
        cold_syndicate_threshold=cold_syndicate,
        cold_review_threshold=cold_review,
        top_pages=draw(st.integers(0, 10**4)),
        metric_segments=tuple(
            draw(
                st.lists(
                    st.text(max_size=6).filter(lambda t: t != "ring" and not t.startswith("ring:")),
                    max_size=3,
                )
            )
        ),
        seed=draw(st.integers(0, 2**31 - 1)),
        common_placeholders=tuple(draw(st.lists(st.text(max_size=6), max_size=4))),
        placeholders={
            **DEFAULT_PLACEHOLDERS,
            **draw(st.dictionaries(kinds, st.lists(st.text(max_size=6), max_size=3).map(tuple))),
        },
    )


@settings(max_examples=60, deadline=None)
@given(config=configs())
def test_random_valid_configs_round_trip(
    config: Config, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("roundtrip") / "c.toml"
    assert round_trip(config, path) == config
    assert json.loads(json.dumps(config.to_mapping())) == config.to_mapping()


@pytest.mark.parametrize("kind", ["a\nb", "tab\there\x7f", "nul\x00"])
def test_kind_names_with_control_characters_round_trip(tmp_path: Path, kind: str) -> None:
    config = Config(kind_weights={**DEFAULT_KIND_WEIGHTS, kind: 1.5})
    assert round_trip(config, tmp_path / "c.toml") == config


def test_a_config_without_the_default_kinds_reads_back_with_them(tmp_path: Path) -> None:
    # Documented: kind tables in a file are merged into the defaults, so a file cannot drop
    # a default kind; the kinds it names keep the values written.
    config = Config(kind_weights={"x": 1.0}, hub_limits={})
    back = round_trip(config, tmp_path / "c.toml")
    assert back.kind_weights == {**DEFAULT_KIND_WEIGHTS, "x": 1.0}
    assert back.hub_limits == dict(DEFAULT_HUB_LIMITS)


# --- partial files ----------------------------------------------------------------------


def test_a_partial_file_keeps_every_other_default(tmp_path: Path) -> None:
    config = Config.from_toml(write(tmp_path, "[rings]\nleiden_resolution = 0.5\n"))
    assert config == dataclasses.replace(Config(), leiden_resolution=0.5)


def test_an_empty_file_is_the_defaults(tmp_path: Path) -> None:
    assert Config.from_toml(write(tmp_path, "# nothing\n[graph]\n")) == Config()


def test_kind_tables_are_merged_into_the_defaults(tmp_path: Path) -> None:
    text = "[graph]\nkind_weights = {payout = 4}\nhub_limits = { ip = 5, shoe = 3 }\n"
    config = Config.from_toml(write(tmp_path, text))
    assert config.kind_weights == {**DEFAULT_KIND_WEIGHTS, "payout": 4.0}
    assert config.hub_limits == {**DEFAULT_HUB_LIMITS, "ip": 5, "shoe": 3}
    assert config.kind_weight("device") == 2.5 and config.kind_weight("edges") == 1.0
    assert config.hub_limit("shoe") == 3 and config.hub_limit("other") == 60
    # The module's defaults are not touched by the merge.
    assert DEFAULT_KIND_WEIGHTS["payout"] == 3.0 and Config().kind_weights["payout"] == 3.0


def test_ints_are_accepted_for_float_fields_and_stored_as_floats(tmp_path: Path) -> None:
    text = (
        "[graph]\ndefault_kind_weight = 2\nkind_weights = {payout = 4}\n"
        "[rings]\nleiden_resolution = 1\nlineage_min_jaccard = 1\n"
        "[decisions]\nbad_rate = 0\n"
    )
    with pytest.raises(ConfigError, match=r"bad_rate must be in \(0, 1\); got 0\.0"):
        Config.from_toml(write(tmp_path, text))
    config = Config.from_toml(write(tmp_path, text.replace("bad_rate = 0", "review_threshold = 0")))
    values = {
        "default_kind_weight": config.default_kind_weight,
        "payout": config.kind_weights["payout"],
        "leiden_resolution": config.leiden_resolution,
        "lineage_min_jaccard": config.lineage_min_jaccard,
        "review_threshold": config.review_threshold,
    }
    assert values == {
        "default_kind_weight": 2.0,
        "payout": 4.0,
        "leiden_resolution": 1.0,
        "lineage_min_jaccard": 1.0,
        "review_threshold": 0.0,
    }
    assert all(type(value) is float for value in values.values())


def test_seed_is_a_top_level_key(tmp_path: Path) -> None:
    assert Config.from_toml(write(tmp_path, "seed = 42\n")).seed == 42
    assert Config.from_toml(write(tmp_path, "seed = 7\n[output]\ntop_pages = 3\n")) == Config(
        seed=7, top_pages=3
    )


def test_from_mapping_reads_nested_plain_data() -> None:
    config = Config.from_mapping({"seed": 3, "model": {"n_jobs": 1}})
    assert config == Config(seed=3, n_jobs=1)


# --- errors -----------------------------------------------------------------------------


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match=rf"config file {re.escape(repr(str(path)))} does not"):
        Config.from_toml(path)


def test_a_directory_or_undecodable_file_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        Config.from_toml(tmp_path)
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b'[rings]\nleiden_objective = "\xe9"\n')
    with pytest.raises(ConfigError, match=r"latin1\.toml' cannot be read"):
        Config.from_toml(bad)


@pytest.mark.parametrize(
    "text", ["[rings\n", "seed = \n", "seed = 1\nseed = 2\n", "[graph]\nkind_weights = {a=}\n"]
)
def test_invalid_toml_is_named(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text, "broken.toml")
    with pytest.raises(ConfigError, match=r"config file '.*broken\.toml' is not valid TOML"):
        Config.from_toml(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # unknown keys, with a suggestion where one is close
        ("sed = 1", r"unknown config key 'sed' \(did you mean 'seed'\?\)"),
        (
            "leiden_resolution = 0.5",
            r"unknown config key 'leiden_resolution' \(did you mean 'rings\.leiden_resolution'",
        ),
        ("[rings]\nmax_pairs = 5", r"unknown config key 'rings\.max_pairs' \(did you mean"),
        ("[graph]\nseed = 5", r"unknown config key 'graph\.seed'"),
        ("[colours]\nred = 1", r"unknown config key 'colours'"),
        ('colours = "red"', r"unknown config key 'colours'"),
        # a section that is not a table
        ("rings = 3", r"\[rings\] must be a table; got 3"),
        ('output = "html"', r"\[output\] must be a table; got 'html'"),
        # wrong kinds
        ('[rings]\nleiden_resolution = "high"', r"leiden_resolution must be a number; got 'high'"),
        ("[rings]\nmin_ring_size = 3.0", r"min_ring_size must be an integer; got 3\.0"),
        ("[rings]\nmin_ring_size = true", r"min_ring_size must be an integer; got True"),
        ("[output]\ntop_pages = false", r"top_pages must be an integer; got False"),
        ("seed = 1.5", r"seed must be an integer; got 1\.5"),
        ("[rings]\nleiden_objective = 1", r"leiden_objective must be text; got 1"),
        ("[decisions]\nbad_rate = true", r"bad_rate must be a number \(leave it out for none\)"),
        (
            '[graph]\nkind_weights = {payout = "lots"}',
            r"kind_weights must be a table of kind = number; got \{'payout': 'lots'\}",
        ),
        ("[graph]\nkind_weights = {payout = true}", r"kind_weights must be a table of kind ="),
        ("[graph]\nkind_weights = [1, 2]", r"kind_weights must be a table of kind = number"),
        ("[graph]\nhub_limits = {ip = 2.5}", r"hub_limits must be a table of kind = integer"),
        ("[graph]\nhub_limits = 60", r"hub_limits must be a table of kind = integer; got 60"),
        ("[model]\nn_jobs = [1]", r"n_jobs must be an integer; got \[1\]"),
        # out of range: caught by __post_init__
        (
            "[rings]\nleiden_resolution = 0",
            r"leiden_resolution must be a finite positive number; got 0\.0",
        ),
        (
            "[rings]\nleiden_resolution = nan",
            r"leiden_resolution must be a finite positive number; got nan",
        ),
        ("[rings]\nlineage_min_jaccard = 1.5", r"lineage_min_jaccard must be in \(0, 1\]"),
        ("[rings]\nlineage_min_jaccard = 0", r"lineage_min_jaccard must be in \(0, 1\]"),
        ("[rings]\nleiden_objective = 'cpm'", r"leiden_objective must be 'modularity' or 'CPM'"),
        ("[rings]\nleiden_iterations = -1", r"leiden_iterations must be a positive integer"),
        ("[rings]\nmin_ring_size = 1", r"min_ring_size must be an integer >= 2; got 1"),
        ("[output]\ntop_pages = -1", r"top_pages must be an integer >= 0; got -1"),
        ("seed = -1", r"seed must be in \[0, 2\*\*31\); got -1"),
        ("seed = 2147483648", r"seed must be in \[0, 2\*\*31\); got 2147483648"),
        ("[graph]\nmax_pairs = 0", r"max_pairs must be a positive integer; got 0"),
        ("[graph]\ndefault_kind_weight = inf", r"default_kind_weight must be a finite positive"),
        ("[graph]\nkind_weights = {ip = 0}", r"kind_weights\['ip'\] must be a finite positive"),
        ('[graph]\nkind_weights = {"a b" = -1}', r"kind_weights\['a b'\] must be a finite"),
        ("[graph]\nhub_limits = {ip = 1}", r"hub_limits\['ip'\] must be an integer >= 2; got 1"),
        ("[graph]\ndefault_hub_limit = 1", r"default_hub_limit must be an integer >= 2; got 1"),
        ("[model]\ncv_folds = 1", r"cv_folds must be an integer >= 2; got 1"),
        (
            "[model]\nlearner = 'xgboost'",
            r"learner must be 'random_forest' or 'gradient_boosting'; got 'xgboost'",
        ),
        ("[model]\nlearner = 1", r"learner must be text; got 1"),
        ("[model]\nn_estimators = 0", r"n_estimators must be an integer >= 2; got 0"),
        ("[model]\nimportance_repeats = -1", r"importance_repeats must be an integer >= 0"),
        ("[model]\nn_jobs = 0", r"n_jobs must be a non-zero integer; got 0"),
        ("[decisions]\nsyndicate_precision = 0", r"syndicate_precision must be in \(0, 1\]"),
        ("[decisions]\nbad_rate = 1", r"bad_rate must be in \(0, 1\); got 1\.0"),
        ("[decisions]\nreview_threshold = -0.5", r"review_threshold must be in \[0, 1\]"),
        ("[decisions]\ncold_syndicate_threshold = 2", r"cold_syndicate_threshold must be in"),
        (
            "[decisions]\nreview_precision = 0.95",
            r"review_precision \(0\.95\) must not exceed syndicate_precision \(0\.9\)",
        ),
        (
            "[decisions]\nsyndicate_threshold = 0.5\nreview_threshold = 0.6",
            r"review_threshold \(0\.6\) must not exceed syndicate_threshold \(0\.5\)",
        ),
        (
            "[decisions]\ncold_review_threshold = 0.8",
            r"cold_review_threshold \(0\.8\) must not exceed cold_syndicate_threshold",
        ),
    ],
)
def test_bad_files_are_rejected_naming_the_file_and_the_culprit(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path, text + "\n", "bad.toml")
    with pytest.raises(ConfigError, match=rf"^config file '.*bad\.toml': {message}"):
        Config.from_toml(path)


def test_an_unknown_key_in_a_section_suggests_the_right_one(tmp_path: Path) -> None:
    path = write(tmp_path, "[rings]\nleiden_resolutoin = 0.5\n")
    with pytest.raises(
        ConfigError,
        match=r"unknown config key 'rings\.leiden_resolutoin' "
        r"\(did you mean 'rings\.leiden_resolution'\?\)",
    ):
        Config.from_toml(path)


def test_an_integer_too_large_for_a_float_field_is_a_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, "[rings]\nleiden_resolution = 1" + "0" * 400 + "\n")
    with pytest.raises(ConfigError, match="leiden_resolution"):
        Config.from_toml(path)


def test_an_infinite_leiden_resolution_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="leiden_resolution"):
        Config.from_toml(write(tmp_path, "[rings]\nleiden_resolution = inf\n"))


@pytest.mark.parametrize("name", ["top_pages", "leiden_iterations", "max_pairs"])
def test_bools_are_rejected_for_int_fields_built_directly(name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Config(**{name: True})


# --- with_overrides ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("assignment", "expected"),
    [
        ("rings.leiden_resolution=0.5", {"leiden_resolution": 0.5}),
        ("rings.leiden_resolution=2", {"leiden_resolution": 2.0}),
        ("  rings.min_ring_size = 5 ", {"min_ring_size": 5}),
        ("seed=9", {"seed": 9}),
        ("model.n_jobs=-1", {"n_jobs": -1}),
        ("model.learner=gradient_boosting", {"learner": "gradient_boosting"}),
        ("decisions.bad_rate=0.02", {"bad_rate": 0.02}),
        ("rings.leiden_objective=CPM", {"leiden_objective": "CPM"}),
        ('rings.leiden_objective="CPM"', {"leiden_objective": "CPM"}),
        ("rings.leiden_objective='CPM'", {"leiden_objective": "CPM"}),
        (
            "graph.kind_weights={payout = 4, 'new kind' = 0.5}",
            {"kind_weights": {**DEFAULT_KIND_WEIGHTS, "payout": 4.0, "new kind": 0.5}},
        ),
        ("graph.hub_limits={ip=3}", {"hub_limits": {**DEFAULT_HUB_LIMITS, "ip": 3}}),
    ],
)
def test_overrides_set_one_value(assignment: str, expected: dict[str, object]) -> None:
    config = Config().with_overrides([assignment])
    assert config == dataclasses.replace(Config(), **expected)  # type: ignore[arg-type]
    for name, value in expected.items():
        assert type(getattr(config, name)) is type(value)


def test_overrides_apply_on_top_of_a_file_config(tmp_path: Path) -> None:
    base = Config.from_toml(write(tmp_path, "[graph]\nkind_weights = {payout = 4}\n"))
    config = base.with_overrides(["graph.kind_weights={ip=0.5}"])
    assert config.kind_weights == {**DEFAULT_KIND_WEIGHTS, "payout": 4.0, "ip": 0.5}


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("rings.leiden_resolution", r"expected SECTION\.KEY=VALUE; got 'rings\.leiden_resolution'"),
        ("=0.5", r"expected SECTION\.KEY=VALUE; got '=0\.5'"),
        ("  =0.5", r"expected SECTION\.KEY=VALUE"),
        ("", r"expected SECTION\.KEY=VALUE; got ''"),
        (
            "rings.leiden_resolutoin=0.5",
            r"unknown config key 'rings\.leiden_resolutoin' "
            r"\(did you mean 'rings\.leiden_resolution'\?\)",
        ),
        ("leiden_resolution=0.5", r"did you mean 'rings\.leiden_resolution'\?"),
        ("graph.min_ring_size=4", r"unknown config key 'graph\.min_ring_size'"),
        ("nothing.at.all=1", r"unknown config key 'nothing\.at\.all'"),
        ("rings.leiden_resolution=high", r"leiden_resolution must be a number; got 'high'"),
        ("rings.leiden_resolution=", r"leiden_resolution must be a number; got ''"),
        ("rings.min_ring_size=3.5", r"min_ring_size must be an integer; got 3\.5"),
        ("rings.min_ring_size=true", r"min_ring_size must be an integer; got True"),
        ("graph.kind_weights={payout='x'}", r"kind_weights must be a table of kind = number"),
        ("graph.kind_weights=4", r"kind_weights must be a table of kind = number; got 4"),
        ("rings.leiden_resolution=0", r"leiden_resolution must be a finite positive number"),
        ("rings.leiden_objective=cpm", r"leiden_objective must be 'modularity' or 'CPM'"),
        ("model.learner=Random_Forest", r"learner must be 'random_forest' or 'gradient_boosting'"),
        ("decisions.review_precision=0.99", r"review_precision \(0\.99\) must not exceed"),
        ("output.top_pages=-1", r"top_pages must be an integer >= 0; got -1"),
    ],
)
def test_bad_overrides_are_rejected(assignment: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Config().with_overrides([assignment])


def test_later_overrides_win() -> None:
    config = Config().with_overrides(
        ["rings.leiden_resolution=0.5", "seed=1", "rings.leiden_resolution=0.7", "seed=2"]
    )
    assert (config.leiden_resolution, config.seed) == (0.7, 2)


def test_overrides_are_checked_together() -> None:
    # Each alone breaks review <= syndicate; applied together they are fine.
    config = Config().with_overrides(
        ["decisions.review_precision=0.95", "decisions.syndicate_precision=0.99"]
    )
    assert (config.review_precision, config.syndicate_precision) == (0.95, 0.99)


def test_two_kind_table_overrides_in_one_call_both_apply() -> None:
    a, b = "graph.kind_weights={payout=4}", "graph.kind_weights={device=5}"
    assert Config().with_overrides([a, b]) == Config().with_overrides([a]).with_overrides([b])


def test_overrides_leave_the_original_unchanged() -> None:
    original = Config(kind_weights={**DEFAULT_KIND_WEIGHTS, "x": 1.5})
    before = dataclasses.replace(original, kind_weights=dict(original.kind_weights))
    changed = original.with_overrides(
        ["graph.kind_weights={payout=9, x=2}", "graph.hub_limits={ip=2}", "seed=5"]
    )
    assert original == before
    assert original.kind_weights == {**DEFAULT_KIND_WEIGHTS, "x": 1.5}
    assert original.hub_limits == DEFAULT_HUB_LIMITS and original.seed == 0
    assert changed.kind_weights["payout"] == 9.0 and changed.kind_weights["x"] == 2.0
    assert changed.kind_weights is not original.kind_weights
    assert Config().with_overrides([]) == Config()


# --- to_mapping and the section layout --------------------------------------------------


@pytest.mark.parametrize("config", [Config(), CUSTOM], ids=["default", "custom"])
def test_to_mapping_is_json_and_holds_every_field_once(config: Config) -> None:
    document = config.to_mapping()
    assert json.loads(json.dumps(document)) == document
    names = [
        name
        for key, value in document.items()
        for name in (value if isinstance(value, dict) and key in CONFIG_SECTIONS else [key])
    ]
    assert sorted(names) == sorted(FIELDS) and len(names) == len(set(names))
    assert set(document) == {"seed", *CONFIG_SECTIONS}
    flat = {name: value for section in CONFIG_SECTIONS for name, value in document[section].items()}
    plain = json.loads(json.dumps({f: getattr(config, f) for f in FIELDS}))  # tuples: lists
    assert flat | {"seed": document["seed"]} == plain


def test_to_mapping_copies_the_kind_tables() -> None:
    config = Config()
    document = config.to_mapping()
    document["graph"]["kind_weights"]["payout"] = 99.0
    assert config.kind_weights["payout"] == 3.0


def test_every_field_is_in_exactly_one_section_or_is_the_seed() -> None:
    placed = [name for names in CONFIG_SECTIONS.values() for name in names]
    assert len(placed) == len(set(placed))
    assert sorted([*placed, "seed"]) == sorted(FIELDS)


# --- kinds as keys, placeholders, ranges ------------------------------------------------


def test_kind_keys_are_normalised_like_the_kind_column(tmp_path: Path) -> None:
    config = Config(kind_weights={"Device ": 4.0, "ＩＰ": 0.5}, hub_limits={"dev\u200bice": 9})
    assert config.kind_weights == {"device": 4.0, "ip": 0.5}
    assert config.hub_limits == {"device": 9}
    text = '[graph]\nkind_weights = { "Payout " = 5 }\n\n[identifiers.placeholders]\nEMAIL = []\n'
    read = Config.from_toml(write(tmp_path, text))
    assert read.kind_weights == {**DEFAULT_KIND_WEIGHTS, "payout": 5.0}  # merged, not added
    assert read.placeholders == {**DEFAULT_PLACEHOLDERS, "email": ()}
    assert normalise_kind("\ufeff Ｐａｙｏｕｔ\u200d ") == "payout"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"kind_weights": {"Device": 1.0, "device ": 2.0}},
            r"kind_weights names the kind 'device' twice: 'Device' and 'device ' are the same",
        ),
        (
            {"hub_limits": {"ip": 5, "ＩＰ": 6}},
            r"hub_limits names the kind 'ip' twice: 'ip' and 'ＩＰ'",
        ),
        (
            {"placeholders": {"email": ("x",), "E\u200bmail": ()}},
            r"placeholders names the kind 'email' twice: 'email' and 'E\\u200bmail'",
        ),
        ({"kind_weights": {" \u200b": 1.0}}, r"kind_weights has an empty kind: ' \\u200b'"),
        ({"placeholders": {"email": "n/a"}}, r"placeholders\['email'\] must be a list of text"),
        ({"placeholders": {"email": (1,)}}, r"placeholders\['email'\] must be a list of text"),
        ({"placeholders": ["n/a"]}, r"placeholders must be a table of kind = list of text"),
        ({"common_placeholders": "n/a"}, r"common_placeholders must be a list of text"),
        ({"metric_segments": ("category", "ring_status")}, r"may not name 'ring_status'"),
        ({"metric_segments": ("ring:category",)}, r"may not name 'ring:category'"),
        (
            {"kind_weights": {"payout": 1e6 + 1}},
            r"kind_weights\['payout'\] must be at most 1e\+06 .*; got 1000001\.0",
        ),
        ({"default_kind_weight": 3.4e38}, r"default_kind_weight must be at most 1e\+06"),
        ({"max_pairs": 2**63}, r"max_pairs must be an integer of at most 2\*\*63 - 1"),
        ({"hub_limits": {"ip": 2**64}}, r"hub_limits\['ip'\] must be an integer of at most"),
        ({"leiden_resolution": "high"}, r"leiden_resolution must be a number; got 'high'"),
    ],
)
def test_bad_kind_tables_and_ranges_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Config(**kwargs)  # type: ignore[arg-type]


def test_a_kind_weight_at_the_bound_is_accepted() -> None:
    assert Config(kind_weights={"payout": 1e6}, default_kind_weight=1e6).kind_weight("x") == 1e6


FLOAT_FIELDS = [
    f.name
    for f in dataclasses.fields(Config)
    if f.type in ("float", "float | None") and f.name != "seed"
]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
@pytest.mark.parametrize("name", FLOAT_FIELDS)
def test_no_float_knob_may_be_nan_or_infinite(name: str, value: str) -> None:
    section = next(sec for sec, names in CONFIG_SECTIONS.items() if name in names)
    with pytest.raises(ConfigError, match=name):
        Config().with_overrides([f"{section}.{name}={value}"])


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_no_kind_weight_may_be_nan_or_infinite(value: str) -> None:
    with pytest.raises(ConfigError, match=r"kind_weights\['ip'\] must be a finite positive"):
        Config().with_overrides([f"graph.kind_weights={{ip = {value}}}"])


def test_placeholders_from_overrides_merge_per_kind() -> None:
    config = Config().with_overrides(
        [
            'identifiers.placeholders={device = ["shop-tablet"]}',
            'identifiers.placeholders={"Bank Account" = ["0000"]}',
            'identifiers.common_placeholders=["n/a"]',
        ]
    )
    assert config.placeholders == {
        **DEFAULT_PLACEHOLDERS,
        "device": ("shop-tablet",),
        "bank account": ("0000",),
    }
    assert config.common_placeholders == ("n/a",)


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("identifiers.placeholders=[1]", r"placeholders must be a table of kind = list of text"),
        ("identifiers.placeholders={ip = [1]}", r"placeholders must be a table of kind = list"),
        ("identifiers.common_placeholders=n/a", r"common_placeholders must be a list of text"),
        ("identifiers.common_placeholders=[1]", r"common_placeholders must be a list of text"),
        (
            'identifiers.placeholders={IP = ["x"], ip = ["y"]}',
            r"placeholders names the kind 'ip' twice: 'IP' and 'ip'",
        ),
    ],
)
def test_bad_placeholder_overrides_are_refused(assignment: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Config().with_overrides([assignment])


def test_the_default_placeholders_are_written_as_their_own_table() -> None:
    text = Config().to_toml()
    assert "\n[identifiers]\ncommon_placeholders = [\n" in text
    assert '\n[identifiers.placeholders]\naddress = ["no address", "not applicable"]\n' in text
    assert max(len(line) for line in text.splitlines()) <= 100


def test_the_monitor_section_holds_every_alert_knob_with_its_default() -> None:
    from syndicate.monitor.alerts import AlertSettings

    knobs = {f.name for f in dataclasses.fields(AlertSettings)}
    ours = {
        f.name.removeprefix("alert_")
        for f in dataclasses.fields(Config)
        if f.name.startswith("alert_")
    }
    assert ours == knobs
    assert Config().alert_settings() == AlertSettings()
    custom = CUSTOM.alert_settings()
    assert (custom.z, custom.window, custom.directions) == (5.5, 60, CUSTOM.alert_directions)
    with pytest.raises(ConfigError, match=r"monitor: alert_window must be at least min_history"):
        Config.from_mapping({"monitor": {"alert_window": 3}})
    with pytest.raises(ConfigError, match=r"alert_directions"):
        Config.from_mapping({"monitor": {"alert_directions": {"syndicate_rate": "sideways"}}})
