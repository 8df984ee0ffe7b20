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
    assert (out_dir / "model" / "model.skops").is_file() and not summary["cold_start"]
    assert "top rings:" in captured.out
    assert pl.read_parquet(out_dir / "rejects.parquet").columns == [
        "table",
        "row",
        "reason",
        "seller_id",
        "record",
    ]


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
