"""The command line: help, exit codes, and the synth and demo commands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from syndicate.cli import main
from syndicate.features import SELLER_FEATURES
from syndicate.synth import SynthConfig, dirty_row_counts


@pytest.mark.parametrize("argv", [["--help"], ["demo", "--help"], ["synth", "--help"]])
def test_help_explains_the_options(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "usage: syndicate" in out
    if argv == ["--help"]:
        assert "demo" in out and "synth" in out and "Exit codes" in out
    else:
        for option in ("--sellers", "--out", "--seed", "--quiet"):
            assert option in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "the following arguments are required: COMMAND"),
        (["synth", "--out", "x"], "the following arguments are required: --sellers"),
        (
            ["synth", "--sellers", "many", "--out", "x"],
            "argument --sellers: expected a whole number; got 'many'",
        ),
        (["demo", "--sellers", "3"], "argument --sellers: expected at least 10; got 3"),
        (["demo", "--seed", "-1"], "argument --seed: expected a seed from 0 to 2**31 - 1; got -1"),
        (["synth", "--sellers", "100", "--out", "x", "--seed", "3000000000"], "got 3000000000"),
        (["launch"], "invalid choice: 'launch'"),
    ],
)
def test_usage_errors_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_synth_writes_parquet_tables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["synth", "--sellers", "2_000", "--out", str(tmp_path), "--seed", "4", "--quiet"]) == 0
    )
    out = capsys.readouterr()
    assert "syndicate synth: 2,000 sellers" in out.out
    assert out.err == ""  # --quiet: no progress
    for name in ("sellers", "links", "labels", "truth", "link_truth"):
        assert (tmp_path / f"{name}.parquet").is_file()
    assert pl.read_parquet(tmp_path / "sellers.parquet").height == 2000


def test_demo_runs_and_says_where_to_look(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "demo"
    assert main(["demo", "--sellers", "3000", "--out", str(out_dir)]) == 0
    captured = capsys.readouterr()
    assert "syndicate demo: 3,000 sellers" in captured.out
    assert f"Pages:   {out_dir / 'viz' / 'index.html'}" in captured.out
    assert (out_dir / "run.json").is_file() and (out_dir / "rejects.parquet").is_file()
    assert "Generating a synthetic marketplace" in captured.err  # progress goes to stderr
    summary = json.loads((out_dir / "summary.json").read_text())
    clean_links = pl.read_parquet(out_dir / "input" / "link_truth.parquet").height
    planted_dirt = sum(dirty_row_counts(SynthConfig(n_sellers=3000), clean_links).values())
    assert summary["sellers"] == 3000 and summary["rejected_rows"] == planted_dirt > 0
    features = pl.read_parquet(out_dir / "features.parquet")
    assert features.height == 3000
    assert features.columns[: len(SELLER_FEATURES) + 1] == ["seller_id", *SELLER_FEATURES]
    assert {"gmv_30d", "gmv_30d_nbr1_mean", "gmv_30d_nbr1_max", "gmv_30d_nbr2_mean"} <= set(
        features.columns
    )
    labels = pl.read_parquet(out_dir / "labels.parquet")
    assert labels.height == 3000 and set(labels["decision"]) <= {"syndicate", "review", "clear"}
    assert summary["decisions"] == dict(labels["decision"].value_counts().iter_rows())
    assert (out_dir / "model" / "model.npz").is_file() and not summary["cold_start"]
    assert "top rings:" in captured.out
    assert pl.read_parquet(out_dir / "rejects.parquet").columns == [
        "table",
        "row",
        "reason",
        "seller_id",
        "record",
    ]
    # The example strategies: shipped, applied and backtested.
    shipped = out_dir / "input" / "strategies.toml"
    assert (out_dir / "strategies.toml").read_bytes() == shipped.read_bytes()
    manifest = json.loads((out_dir / "run.json").read_text())
    fired = {s["name"]: s["hits"] for s in manifest["strategies"]["strategies"]}
    assert set(fired) == {"payout-bad-neighbour", "fast-ring", "high-returns"}
    assert labels["strategies"].explode().drop_nulls().value_counts().height <= 3
    backtest = json.loads((out_dir / "backtest" / "strategies.json").read_text())
    names = [entry["name"] for entry in backtest["strategies"]]
    assert names == ["model:syndicate", "model:review", *fired]
    assert [e["hits"] for e in backtest["strategies"][2:]] == list(fired.values())
    assert f"Backtest of the example strategies: {out_dir / 'backtest' / 'report.html'}" in (
        captured.out
    )


def test_demo_on_a_marketplace_too_small_for_rings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 3% of 100 sellers cannot hold a ring of 3: recall is undefined, not a crash.
    assert main(["demo", "--sellers", "100", "--out", str(tmp_path), "--quiet"]) == 0
    assert "planted rings recovered: 0 of 0 (Jaccard >= 0.5; recall n/a" in capsys.readouterr().out
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["planted_rings"] == 0 and summary["ring_recall"] is None
    assert summary["cold_start"] and not (tmp_path / "model").exists()


def test_output_folder_that_is_a_file_is_an_input_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["synth", "--sellers", "100", "--out", str(blocker / "sub"), "--quiet"]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_console_script_is_installed() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from syndicate.cli import main; raise SystemExit(main(['--version']))",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout.startswith("syndicate ")


# --- syndicate run: the summary, rejects, --model, --quiet ----------------------------------

RUN_FAST = ["--set", "model.n_estimators=10", "--set", "model.importance_repeats=0"]


def write_inputs(folder: Path, links: list[tuple[str, str, str]]) -> list[str]:
    """Sellers 1..6 as integers (Parquet) and ``links`` as text (CSV): the argv for them."""
    folder.mkdir(parents=True, exist_ok=True)
    pl.DataFrame({"seller_id": [1, 2, 3, 4, 5, 6]}).write_parquet(folder / "sellers.parquet")
    pl.DataFrame(links, schema=["seller_id", "kind", "value"], orient="row").write_csv(
        folder / "links.csv"
    )
    return ["--sellers", str(folder / "sellers.parquet"), "--links", str(folder / "links.csv")]


# Sellers 1-3 share device d1; the links of 4-6 spell their ids with a leading zero.
HALF_MISSPELT = [
    *[(s, "device", "d1") for s in ("1", "2", "3")],
    *[(s, "device", "d2") for s in ("04", "05", "06")],
]


def test_run_summary_counts_rejects_by_table_and_reason_and_warns_of_misspelt_ids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = write_inputs(tmp_path / "in", [*HALF_MISSPELT, ("1", "device", "d1")])
    assert main(["run", *argv, "--out", str(tmp_path / "run"), *RUN_FAST]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "syndicate run: 6 sellers, 3 links, 0 labels, 4 input rows rejected; 1 ring ("
    )
    assert "  rejected input rows (rows in rejects.parquet, reasons in the README):\n" in out
    assert "    links:         4  (unknown_seller 3, duplicate_row 1)\n" in out
    expected = (
        "57.1% of the links rows were refused (4 rows of 7: unknown_seller 3, duplicate_row "
        "1); their seller ids look like the sellers table's ids written another way (links "
        "'04', sellers '4': leading zeros"
    )
    assert f"    - {expected}" in out
    manifest = json.loads((tmp_path / "run" / "run.json").read_text())
    assert any(warning.startswith(expected) for warning in manifest["warnings"])
    assert manifest["rejects"] == {"links": {"duplicate_row": 1, "unknown_seller": 3}}


def test_a_run_where_no_link_survives_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Every link refused: nothing links two sellers, so the run would decide every seller
    # clear. It stops (exit 2) and an earlier run folder stays as it was.
    links = [(s, "device", "d1") for s in ("01", "02", "03")]
    argv = write_inputs(tmp_path / "in", links)
    assert main(["run", *argv, "--out", str(tmp_path / "run"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert (
        "links: no row survived validation (3 rows refused: unknown_seller 3), and no given "
        "edge links sellers, so no ring can be found; their seller ids look like the sellers "
        "table's ids written another way (links '01', sellers '1':"
    ) in err
    assert not (tmp_path / "run" / "run.json").exists()


def test_run_quiet_prints_only_the_result_line_and_where_it_went(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = write_inputs(tmp_path / "in", HALF_MISSPELT)
    out = tmp_path / "run"
    assert main(["run", *argv, "--out", str(out), "--quiet", *RUN_FAST]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert len(lines) == 3 and lines[0].startswith("syndicate run: 6 sellers, 3 links")
    assert lines[1:] == [
        f"Outputs: {out}/ (labels, rings, features, hubs, rejects .parquet; run.json)",
        f"Pages:   {out / 'viz' / 'index.html'}",
    ]
    # Warnings still reach stderr (as log records); progress does not.
    assert "WARNING syndicate.pipeline: 50.0% of the links rows were refused" in captured.err
    assert "Building the seller graph" not in captured.err


def test_run_summary_shows_control_characters_of_user_strings_as_escapes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kind = "dev\x1b]0;owned\x07\nice"
    folder = tmp_path / "in"
    folder.mkdir()
    pl.DataFrame({"seller_id": ["a", "b", "c"]}).write_parquet(folder / "sellers.parquet")
    pl.DataFrame(
        {"seller_id": ["a", "b", "c"], "kind": [kind] * 3, "value": ["v\u202e1"] * 3}
    ).write_parquet(folder / "links.parquet")
    argv = ["--sellers", str(folder / "sellers.parquet"), "--links", str(folder / "links.parquet")]
    assert main(["run", *argv, "--out", str(tmp_path / "run"), *RUN_FAST]) == 0
    captured = capsys.readouterr()
    assert "top rings:" in captured.out
    assert "dev\\x1b]0;owned\\x07\\x0aice" in captured.out  # the evidence names the kind
    for stream in (captured.out, captured.err):
        assert "\x1b" not in stream and "\x07" not in stream and "\u202e" not in stream


def test_model_naming_a_run_folder_asks_for_its_model_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = write_inputs(tmp_path / "in", HALF_MISSPELT)
    run = tmp_path / "earlier"
    (run / "model").mkdir(parents=True)
    (run / "model" / "model.skops").write_bytes(b"")
    (run / "run.json").write_text("{}")
    assert main(["run", *argv, "--out", str(tmp_path / "run"), "--model", str(run), "-q"]) == 2
    err = capsys.readouterr().err
    assert f"did you mean {str(run / 'model')!r}?" in err
    (run / "model" / "model.skops").unlink()
    (run / "model").rmdir()
    assert main(["run", *argv, "--out", str(tmp_path / "run"), "--model", str(run), "-q"]) == 2
    err = capsys.readouterr().err
    assert f"--model {str(run)!r} is a run folder without a model/ folder" in err


def test_summary_counts_are_singular_when_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = write_inputs(tmp_path / "in", [(s, "device", "d1") for s in ("1", "2", "3")])
    assert main(["run", *argv, "--out", str(tmp_path / "run"), *RUN_FAST]) == 0
    out = capsys.readouterr().out
    assert "rings found: 1 ring with 3 sellers (1 new); 0 hub identifiers held back" in out
    assert "1 warning (in run.json):" in out  # cold start
    assert "rejected input rows (" not in out  # no block when nothing was refused
