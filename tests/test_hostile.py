"""Hostile inputs, end to end: each ends in its exit code and message, never a traceback.

Every case builds its files in a fresh folder and runs the command line once. A case that
refuses (exit 2) must name the culprit; a case that is a documented success (exit 0) must
say what it did with the odd input. Whatever the outcome, nothing may print a traceback or
a raw control character, and a refused run must leave an earlier run folder byte-identical.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from syndicate.cli import main
from tests.test_job import digests

RINGS = {"a": ["a1", "a2", "a3", "a4"], "b": ["b1", "b2", "b3"]}
SELLERS = sorted([*(s for group in RINGS.values() for s in group), "z1", "z2", "z3"])


def sellers_frame(**columns: list[object]) -> pl.DataFrame:
    return pl.DataFrame({"seller_id": SELLERS, **columns})


def links_frame(extra: tuple[tuple[str, str, str], ...] = ()) -> pl.DataFrame:
    rows = [(s, "device", f"dev-{name}") for name, group in RINGS.items() for s in group]
    rows += [(s, "email", f"{s}@example.com") for s in SELLERS]
    return pl.DataFrame([*rows, *extra], schema=["seller_id", "kind", "value"], orient="row")


@dataclass
class Case:
    """Files to write (name -> frame, text or bytes), extra arguments, what must come out."""

    files: dict[str, pl.DataFrame | str | bytes]
    args: list[str]
    code: int
    message: str  # a regular expression searched in stderr (exit 2) or stdout + stderr
    command: str = "run"
    check: Callable[[Path], None] | None = None


def _write(folder: Path, files: dict[str, pl.DataFrame | str | bytes]) -> None:
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, pl.DataFrame):
            if name.endswith(".csv"):
                content.write_csv(path)
            else:
                content.write_parquet(path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def standard(**overrides: pl.DataFrame | str | bytes) -> dict[str, pl.DataFrame | str | bytes]:
    files: dict[str, pl.DataFrame | str | bytes] = {
        "sellers.parquet": sellers_frame(),
        "links.parquet": links_frame(),
    }
    files.update(overrides)
    return files


def run_args(
    *extra: str, sellers: str = "sellers.parquet", links: str = "links.parquet"
) -> list[str]:
    return [
        "--sellers",
        f"{{in}}/{sellers}",
        "--links",
        f"{{in}}/{links}",
        "--out",
        "{out}",
        *extra,
    ]


CASES: dict[str, Case] = {
    # --- files ---------------------------------------------------------------------------
    "sellers file missing": Case(
        standard(),
        run_args(sellers="nope.parquet"),
        2,
        r"sellers file '.*nope\.parquet' does not exist",
    ),
    "sellers path is a folder": Case(
        standard(**{"dir.parquet/x": "x"}),
        run_args(sellers="dir.parquet"),
        2,
        r"sellers file '.*dir\.parquet' is a directory",
    ),
    "unsupported extension": Case(
        standard(**{"sellers.xlsx": "x"}),
        run_args(sellers="sellers.xlsx"),
        2,
        r"unsupported extension '\.xlsx'",
    ),
    "parquet file of random bytes": Case(
        standard(**{"sellers.parquet": b"\x00garbage" * 50}),
        run_args(),
        2,
        r"sellers file '.*sellers\.parquet' cannot be read as parquet",
    ),
    "csv not utf-8": Case(
        standard(**{"sellers.csv": b"seller_id\na1\n\xff\xfe\n"}),
        run_args(sellers="sellers.csv"),
        2,
        r"is not valid UTF-8 at line 3",
    ),
    "csv header repeats a column": Case(
        standard(**{"sellers.csv": "seller_id,seller_id\na1,a1\n"}),
        run_args(sellers="sellers.csv"),
        2,
        r"column name 'seller_id' appears more than once",
    ),
    "ndjson broken": Case(
        standard(**{"links.ndjson": '{"seller_id": "a1", "kind": "device"\n'}),
        run_args(links="links.ndjson"),
        2,
        r"links file '.*links\.ndjson' cannot be read as ndjson",
    ),
    "empty sellers table": Case(
        standard(
            **{"sellers.parquet": pl.DataFrame({"seller_id": []}, schema={"seller_id": pl.String})}
        ),
        run_args(),
        2,
        r"sellers file .* has no rows",
    ),
    # --- columns and types ---------------------------------------------------------------
    "sellers lack seller_id": Case(
        standard(**{"sellers.parquet": pl.DataFrame({"id": SELLERS})}),
        run_args(),
        2,
        r"missing required column 'seller_id' \(found: 'id'\)",
    ),
    "links lack kind and value": Case(
        standard(**{"links.parquet": pl.DataFrame({"seller_id": SELLERS})}),
        run_args(),
        2,
        r"missing required columns 'kind', 'value'",
    ),
    "created_at not a date": Case(
        standard(**{"sellers.parquet": sellers_frame(created_at=["yesterday"] * len(SELLERS))}),
        run_args(),
        2,
        r"created_at",
    ),
    "labels not 0 or 1": Case(
        standard(**{"labels.csv": "seller_id,label\na1,maybe\n"}),
        run_args("--labels", "{in}/labels.csv"),
        2,
        r"column 'label' must be 0 or 1",
    ),
    # --- rows refused, run goes on -------------------------------------------------------
    "duplicate seller ids": Case(
        standard(
            **{
                "sellers.parquet": pl.DataFrame(
                    {
                        "seller_id": [*SELLERS, "a1"],
                        "created_at": ["2024-01-01"] * len(SELLERS) + ["2024-02-01"],
                    }
                )
            }
        ),
        run_args(),
        0,
        r"duplicate_seller_id",
    ),
    "null values in links": Case(
        standard(
            **{
                "links.parquet": pl.concat(
                    [
                        links_frame(),
                        pl.DataFrame(
                            {"seller_id": ["a1"], "kind": ["device"], "value": [None]},
                            schema={"seller_id": pl.String, "kind": pl.String, "value": pl.String},
                        ),
                    ]
                )
            }
        ),
        run_args(),
        0,
        r"null_value",
    ),
    "edge weight not a number": Case(
        standard(
            **{
                "edges.parquet": pl.DataFrame(
                    {
                        "src": ["a1", "a2", "a3"],
                        "dst": ["z1", "z2", "z3"],
                        "weight": [float("nan"), float("inf"), -1.0],
                    }
                )
            }
        ),
        run_args("--edges", "{in}/edges.parquet"),
        0,
        r"invalid_weight",
    ),
    "labels for unknown sellers": Case(
        standard(**{"labels.csv": "seller_id,label\nghost,1\na1,1\n"}),
        run_args("--labels", "{in}/labels.csv"),
        0,
        r"unknown_seller",
    ),
    "sellers column named like a feature": Case(
        standard(**{"sellers.parquet": sellers_frame(degree=[1.0] * len(SELLERS))}),
        run_args(),
        2,
        r"'degree'.*the computed feature 'degree'",
    ),
    "sellers column beside its own aggregate": Case(
        standard(
            **{
                "sellers.parquet": sellers_frame(
                    x=[1.0] * len(SELLERS), x_nbr1_mean=[2.0] * len(SELLERS)
                )
            }
        ),
        run_args(),
        2,
        r"x_nbr1_mean",
    ),
    "few labels, all known-bad but two": Case(
        standard(**{"labels.csv": "seller_id,label\na1,1\na2,1\na3,1\nb1,1\nz1,0\nz2,0\n"}),
        run_args("--labels", "{in}/labels.csv", "--set", "model.n_estimators=10"),
        0,
        r"drawn from only \d known-bad sellers.*unreliable",
    ),
    "ids written differently across tables": Case(
        standard(
            **{
                "sellers.parquet": pl.DataFrame({"seller_id": list(range(1, 11))}),
                "links.parquet": pl.DataFrame(
                    {
                        "seller_id": [f"{i:02d}" for i in range(1, 11)] + ["1", "2", "3"],
                        "kind": ["device"] * 13,
                        "value": ["d"] * 10 + ["e"] * 3,
                    }
                ),
            }
        ),
        run_args(),
        0,
        r"ids written another way \(links '01', sellers '1'",
    ),
    "every link refused": Case(
        standard(
            **{
                "links.parquet": pl.DataFrame(
                    {"seller_id": ["ghost1", "ghost2"], "kind": ["device"] * 2, "value": ["d"] * 2}
                )
            }
        ),
        run_args(),
        2,
        r"links: no row survived validation \(2 rows refused: unknown_seller 2\)",
    ),
    # --- identifier tricks: evasion and false rings ------------------------------------
    "zero-width and soft hyphen inside a device id": Case(
        standard(**{"links.parquet": links_frame((("z1", "device", "dev\u200b-\u00ada"),))}),
        run_args(),
        0,
        r"syndicate run: ",
        check=lambda folder: _ring_of(folder, "z1", ["a1", "a2", "a3", "a4", "z1"]),
    ),
    "fullwidth letters and digits in an email": Case(
        standard(
            **{"links.parquet": links_frame((("z2", "email", "ｂ１@ｅｘａｍｐｌｅ.ｃｏｍ"),))}
        ),
        run_args(),
        0,
        r"syndicate run: ",
        check=lambda folder: _ring_of(folder, "z2", None, shares_with="b1"),
    ),
    "placeholder phone shared by everyone": Case(
        standard(
            **{"links.parquet": links_frame(tuple((s, "phone", "0000000000") for s in SELLERS))}
        ),
        run_args(),
        0,
        r"placeholder_value",
        check=lambda folder: _no_ring_holds(folder, "z1", "z2", "z3"),
    ),
    "placeholder emails spelled many ways": Case(
        standard(
            **{
                "links.parquet": links_frame(
                    (("z1", "email", "N/A"), ("z2", "email", " n/a "), ("z3", "email", "Ｎ/Ａ"))
                )
            }
        ),
        run_args(),
        0,
        r"placeholder_value",
        check=lambda folder: _no_ring_holds(folder, "z1", "z2", "z3"),
    ),
    "a placeholder of the user's from the config": Case(
        standard(
            **{
                "links.parquet": links_frame(
                    tuple((s, "device", "SHOP-PC") for s in ("z1", "z2", "z3"))
                ),
                "config.toml": '[identifiers.placeholders]\ndevice = ["shop-pc"]\n',
            }
        ),
        run_args("--config", "{in}/config.toml"),
        0,
        r"placeholder_value",
        check=lambda folder: _no_ring_holds(folder, "z1", "z2", "z3"),
    ),
    "phone too short to be a number": Case(
        standard(**{"links.parquet": links_frame((("z1", "phone", "12"), ("z2", "phone", "12")))}),
        run_args(),
        0,
        r"unusable_value",
    ),
    "sentinel created_at": Case(
        standard(
            **{
                "sellers.parquet": sellers_frame(
                    created_at=["9999-12-31"] + ["2024-01-01"] * (len(SELLERS) - 2) + ["0001-01-01"]
                )
            }
        ),
        run_args(),
        0,
        r"implausible_created_at",
    ),
    "edge weight near the float32 limit": Case(
        standard(
            **{
                "edges.parquet": pl.DataFrame(
                    {"src": ["a1", "z1"], "dst": ["z1", "z2"], "weight": [3.0e38, 3.0e38]}
                )
            }
        ),
        run_args("--edges", "{in}/edges.parquet"),
        0,
        r"invalid_weight",
    ),
    "config kind weight near the float32 limit": Case(
        standard(**{"config.toml": "[graph.kind_weights]\ndevice = 3.0e38\n"}),
        run_args("--config", "{in}/config.toml"),
        2,
        r"device",
    ),
    "config kind keys that collide once normalised": Case(
        standard(**{"config.toml": '[graph.kind_weights]\ndevice = 2.0\n"Device " = 3.0\n'}),
        run_args("--config", "{in}/config.toml"),
        2,
        r"Device",
    ),
    # --- config and flags ----------------------------------------------------------------
    "config file not toml": Case(
        standard(**{"config.toml": "[model\nseed = 1"}),
        run_args("--config", "{in}/config.toml"),
        2,
        r"config.toml",
    ),
    "config unknown key": Case(
        standard(**{"config.toml": "[model]\nn_trees = 5\n"}),
        run_args("--config", "{in}/config.toml"),
        2,
        r"n_trees",
    ),
    "config kind weight not finite": Case(
        standard(**{"config.toml": "[graph.kind_weights]\ndevice = nan\n"}),
        run_args("--config", "{in}/config.toml"),
        2,
        r"device",
    ),
    "--set without =": Case(standard(), run_args("--set", "seed"), 2, r"seed"),
    "--set unknown field": Case(standard(), run_args("--set", "model.depth=3"), 2, r"depth"),
    "--set out of range": Case(standard(), run_args("--set", "model.cv_folds=1"), 2, r"cv_folds"),
    # --- folders -------------------------------------------------------------------------
    "--out is a file": Case(
        standard(**{"out-file": "x"}),
        [*run_args()[:-1], "{in}/out-file"],
        2,
        r"cannot write to output folder",
    ),
    "--out holds the user's model folder": Case(
        standard(**{"out/model/weights.bin": b"\x01"}),
        run_args(),
        2,
        r"model' stands where a run writes its model output",
    ),
    "--out holds the user's labels": Case(
        standard(**{"out/labels.parquet": sellers_frame()}),
        run_args(),
        2,
        r"labels\.parquet' stands where a run writes",
    ),
    "--out holds a run.json of the user's": Case(
        standard(**{"out/run.json": '{"pipeline": "mine"}'}),
        run_args(),
        2,
        r"run\.json' stands where a run writes",
    ),
    "--out lock file is a folder": Case(
        standard(**{"out/.syndicate.lock/x": "x"}),
        run_args(),
        2,
        r"is a folder, not syndicate's lock file",
    ),
    "--previous is not a run folder": Case(
        standard(**{"prev/notes.txt": "x"}),
        run_args("--previous", "{in}/prev"),
        2,
        r"is .*prev.* a syndicate run folder",
    ),
    "--previous ring ids not syndicate's": Case(
        standard(
            **{
                "prev/labels.parquet": pl.DataFrame({"seller_id": ["a1"], "ring_id": ["R1"]}),
                "prev/rings.parquet": pl.DataFrame({"ring_id": ["R1"], "size": [1]}),
            }
        ),
        run_args("--previous", "{in}/prev"),
        2,
        r"ring id 'R1' is not one syndicate writes",
    ),
    "--model forged": Case(
        standard(**{"model/model.skops": b"PK\x03\x04 not a zip", "model/model_card.json": "{}"}),
        run_args("--model", "{in}/model"),
        2,
        r"model",
    ),
    "--model given a run folder": Case(
        standard(**{"prev/run.json": "{}", "prev/model/model.skops": b"x"}),
        run_args("--model", "{in}/prev"),
        2,
        r"is a run folder, not a model folder: did you mean",
    ),
    # --- terminal ------------------------------------------------------------------------
    "escape sequence in a kind": Case(
        standard(
            **{
                "links.parquet": links_frame(
                    [("a1", "dev\x1b]0;owned\x07ice", "x1"), ("a2", "dev\x1b]0;owned\x07ice", "x1")]
                )
            }
        ),
        run_args(),
        0,
        r"syndicate run: ",
    ),
    "escape sequence in a missing file name": Case(
        standard(),
        run_args(sellers="x\x1b[2Jy.parquet"),
        2,
        r"x\\x1b\[2Jy\.parquet' does not exist",
    ),
    # --- other commands ------------------------------------------------------------------
    "viz of a folder that is no run": Case(
        standard(**{"empty/x.txt": "x"}), ["--run", "{in}/empty"], 2, r"not found", command="viz"
    ),
    "evaluate without truth file": Case(
        standard(**{"empty/x.txt": "x"}),
        ["--run", "{in}/empty", "--truth", "{in}/truth.parquet"],
        2,
        r"not found|does not exist",
        command="evaluate",
    ),
    "synth over a file of the user's": Case(
        standard(**{"market/sellers.parquet": sellers_frame()}),
        ["--sellers", "200", "--out", "{in}/market"],
        2,
        r"sellers\.parquet' exists and syndicate did not write it",
        command="synth",
    ),
}


def _labels(folder: Path) -> pl.DataFrame:
    return pl.read_parquet(folder / "out" / "labels.parquet")


def _ring_of(
    folder: Path, seller: str, members: list[str] | None, shares_with: str | None = None
) -> None:
    """``seller`` is in a ring: the one of ``members``, or the one ``shares_with`` is in."""
    labels = _labels(folder)
    ring = labels.filter(pl.col("seller_id") == seller)["ring_id"][0]
    assert ring is not None, f"{seller} was kept out of its ring"
    together = sorted(labels.filter(pl.col("ring_id") == ring)["seller_id"])
    if members is not None:
        assert together == members
    if shares_with is not None:
        assert shares_with in together


def _no_ring_holds(folder: Path, *sellers: str) -> None:
    labels = _labels(folder).filter(pl.col("seller_id").is_in(list(sellers)))
    assert labels["ring_id"].null_count() == len(sellers), "a placeholder made a ring"


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_hostile_input_ends_in_its_exit_code_and_message(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = CASES[name]
    inputs = tmp_path / "in"
    _write(inputs, case.files)
    before = digests(inputs)
    argv = [
        arg.replace("{in}", str(inputs)).replace("{out}", str(inputs / "out")) for arg in case.args
    ]
    code = main([case.command, *argv])
    out, err = capsys.readouterr()
    assert code == case.code, err
    shown = err if code else out + err
    assert re.search(case.message, shown), shown
    assert "Traceback" not in shown and "\x1b" not in out + err and "\x07" not in out + err
    if code:  # a refused command changes nothing it was given
        assert {k: v for k, v in digests(inputs).items() if k in before} == before
    if case.check is not None:
        case.check(inputs)
