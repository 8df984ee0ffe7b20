"""``syndicate run`` end to end: outputs, lineage across runs, determinism, faults, config."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from syndicate.cli import main
from syndicate.features import SELLER_FEATURES
from syndicate.graphs.communities import ring_id_for
from syndicate.io import file_sha256
from syndicate.job import RUN_OUTPUTS, run_job
from syndicate.lineage import RING_STATUSES
from syndicate.pipeline import RINGS_COLUMNS
from syndicate.runfolder import recover
from syndicate.scoring import LABELS_SCHEMA
from syndicate.synth import generate_marketplace, write_marketplace

FAST = ["--set", "model.n_estimators=20", "--set", "model.importance_repeats=0"]


def write_rings(
    folder: Path, rings: dict[str, list[str]], others: tuple[str, ...] = ()
) -> dict[str, Path]:
    """A marketplace whose rings are the given groups: each group shares one device.

    Every seller also holds an email of its own (shared with nobody), and four sellers in
    no ring (plus ``others``) complete the table.
    """
    members = [seller for group in rings.values() for seller in group]
    sellers = sorted({*members, *others, *(f"z{i}" for i in range(4))})
    links = [(seller, "device", f"dev-{name}") for name, group in rings.items() for seller in group]
    links += [(seller, "email", f"{seller}@example.com") for seller in sellers]
    folder.mkdir(parents=True, exist_ok=True)
    files = {"sellers": folder / "sellers.parquet", "links": folder / "links.parquet"}
    pl.DataFrame({"seller_id": sellers}).write_parquet(files["sellers"])
    pl.DataFrame(links, schema=["seller_id", "kind", "value"], orient="row").write_parquet(
        files["links"]
    )
    return files


def run_cli(files: dict[str, Path], out: Path, *extra: str) -> int:
    argv = ["run", "--quiet", "--out", str(out)]
    for name, path in files.items():
        argv += [f"--{name}", str(path)]
    return main([*argv, *extra])


def digests(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` (relative path -> digest)."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != ".syndicate.lock"
    }


FIRST = {
    "a": ["a1", "a2", "a3", "a4"],
    "b": ["b1", "b2", "b3", "b4", "b5", "b6", "b7"],
    "c": ["c1", "c2", "c3", "c4"],
    "d": ["d1", "d2", "d3"],
    "e": ["e1", "e2", "e3"],
}


@pytest.fixture(scope="module")
def small_market(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("small")
    market = generate_marketplace(n_sellers=1500, seed=3)
    return write_marketplace(market, folder / "input")


def test_run_writes_every_output_with_its_documented_columns(
    small_market: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {name: small_market[name] for name in ("sellers", "links", "labels")}
    assert run_cli(files, tmp_path, *FAST) == 0
    out = capsys.readouterr().out
    assert out.startswith("syndicate run: 1,500 sellers")
    assert f"Pages:   {tmp_path / 'viz' / 'index.html'}" in out
    for name in RUN_OUTPUTS:  # strategies.toml only with --strategies
        assert (tmp_path / name).exists() == (name != "strategies.toml"), name
    labels = pl.read_parquet(tmp_path / "labels.parquet")
    assert labels.schema == pl.Schema({k: dtype for k, (dtype, _) in LABELS_SCHEMA.items()})
    assert labels.height == 1500 and labels["seller_id"].is_unique().all()
    rings = pl.read_parquet(tmp_path / "rings.parquet")
    assert rings.columns == list(RINGS_COLUMNS) and rings.height > 0
    assert set(rings["status"]) == {"new"} and rings["previous_ids"].list.len().max() == 0
    assert set(labels["ring_id"].drop_nulls()) == set(rings["ring_id"])
    features = pl.read_parquet(tmp_path / "features.parquet")
    assert features.columns[: len(SELLER_FEATURES) + 1] == ["seller_id", *SELLER_FEATURES]
    assert pl.read_parquet(tmp_path / "hubs.parquet").columns[:2] == ["kind", "key"]
    assert pl.read_parquet(tmp_path / "rejects.parquet").columns == [
        "table",
        "row",
        "reason",
        "seller_id",
        "record",
    ]
    assert pl.read_parquet(tmp_path / "rings_gone.parquet").height == 0
    assert {p.name for p in (tmp_path / "model").iterdir()} == {"model.npz", "model_card.json"}
    pages = sorted(p.stem for p in (tmp_path / "viz" / "rings").glob("*.html"))
    top = rings.sort(["ring_score", "size", "ring_id"], descending=[True, True, False]).head(50)
    assert pages == sorted(top["ring_id"])
    manifest = json.loads((tmp_path / "run.json").read_text())
    assert manifest["status"] == "ok" and manifest["model"]["source"] == "trained"
    assert manifest["config"]["model"]["n_estimators"] == 20  # --set reached the run
    assert manifest["inputs"]["sellers"]["rows_kept"] == 1500
    assert (
        manifest["inputs"]["links"]["sha256"]
        == hashlib.sha256(files["links"].read_bytes()).hexdigest()
    )
    assert manifest["outputs"]["labels.parquet"]["rows"] == 1500
    assert (
        manifest["outputs"]["labels.parquet"]["sha256"]
        == hashlib.sha256((tmp_path / "labels.parquet").read_bytes()).hexdigest()
    )
    assert manifest["counts"]["rings"] == rings.height
    rate = manifest["thresholds"]["bad_rate"]  # what the thresholds rest on
    assert rate["source"] in {"estimated", "bound"} and 0 < rate["value"] <= rate["bound"]
    assert manifest["thresholds"]["n_known_bad"] > 0
    assert manifest["lineage"]["new"] == rings.height
    assert manifest["steps"][0]["step"] == ("Loading and validating the input tables")
    assert manifest["command"][:2] == ["syndicate", "run"]
    assert not list(tmp_path.glob(".staging-*"))


def test_second_run_with_previous_on_the_same_data_is_all_stable(
    small_market: dict[str, Path], tmp_path: Path
) -> None:
    files = {name: small_market[name] for name in ("sellers", "links", "labels")}
    assert run_cli(files, tmp_path, *FAST) == 0
    first_labels = pl.read_parquet(tmp_path / "labels.parquet")
    first_rings = pl.read_parquet(tmp_path / "rings.parquet")
    assert run_cli(files, tmp_path, *FAST, "--previous", str(tmp_path)) == 0
    rings = pl.read_parquet(tmp_path / "rings.parquet")
    assert set(rings["status"]) == {"stable"}
    assert rings["previous_ids"].to_list() == [[ring_id] for ring_id in rings["ring_id"]]
    assert (rings["members_joined"] == 0).all() and (rings["members_left"] == 0).all()
    assert_frame_equal(pl.read_parquet(tmp_path / "labels.parquet"), first_labels)
    lineage = ["status", "previous_ids", "members_joined", "members_left"]
    assert_frame_equal(rings.drop(lineage), first_rings.drop(lineage))
    manifest = json.loads((tmp_path / "run.json").read_text())
    assert manifest["lineage"]["stable"] == rings.height and manifest["previous"] == str(tmp_path)


def test_growth_split_merge_and_disappearance_get_their_statuses_and_ids(tmp_path: Path) -> None:
    # Run 1: rings a (4), b (7), c (4), d (3), e (3), each bound by one device.
    # Run 2: a gains a5 -> grown, keeps a's id. b falls into b1-b4 (J 4/7: keeps b's id,
    # shrunk) and b5-b7 (J 3/7 >= 0.3 too, but b's id is taken: split, new id from b5).
    # c and d share one device now: c contributes 4 of 7 (J 4/7), d 3 (J 3/7): the ring
    # keeps c's id, status merged, previous ids [c, d]. e's sellers are unlinked: gone.
    # f1-f3 are a new ring.
    ids = {name: ring_id_for(group[0]) for name, group in FIRST.items()}
    assert run_cli(write_rings(tmp_path / "in1", FIRST), tmp_path / "run") == 0
    first = pl.read_parquet(tmp_path / "run" / "rings.parquet")
    assert sorted(first["ring_id"]) == sorted(ids.values())
    second = {
        "a": [*FIRST["a"], "a5"],
        "b": ["b1", "b2", "b3", "b4"],
        "b2": ["b5", "b6", "b7"],
        "cd": [*FIRST["c"], *FIRST["d"]],
        "f": ["f1", "f2", "f3"],
    }
    files = write_rings(tmp_path / "in2", second, others=tuple(FIRST["e"]))
    assert run_cli(files, tmp_path / "run", "--previous", str(tmp_path / "run")) == 0
    rings = pl.read_parquet(tmp_path / "run" / "rings.parquet")
    got = {
        row["ring_id"]: (row["status"], row["previous_ids"], row["size"])
        for row in rings.iter_rows(named=True)
    }
    assert got == {
        ids["a"]: ("grown", [ids["a"]], 5),
        ids["b"]: ("shrunk", [ids["b"]], 4),
        ring_id_for("b5"): ("split", [ids["b"]], 3),
        ids["c"]: ("merged", [ids["c"], ids["d"]], 7),
        ring_id_for("f1"): ("new", [], 3),
    }
    labels = pl.read_parquet(tmp_path / "run" / "labels.parquet")
    assert labels.filter(pl.col("seller_id") == "d2")["ring_id"].item() == ids["c"]
    assert labels.filter(pl.col("seller_id") == "e1")["ring_id"].item() is None
    gone = pl.read_parquet(tmp_path / "run" / "rings_gone.parquet")
    assert gone.select("ring_id", "size", "members_in_rings").rows() == [(ids["e"], 3, 0)]
    assert "previous_ring_score" in gone.columns
    churn = rings.filter(pl.col("ring_id") == ids["a"]).select("members_joined", "members_left")
    assert churn.row(0) == (1, 0)
    manifest = json.loads((tmp_path / "run" / "run.json").read_text())
    assert manifest["lineage"] == {
        "new": 1,
        "stable": 0,
        "grown": 1,
        "shrunk": 1,
        "merged": 1,
        "split": 1,
        "gone": 1,
    }
    assert set(manifest["lineage"]) - {"gone"} == set(RING_STATUSES)
    page = (tmp_path / "run" / "viz" / "rings" / f"{ids['c']}.html").read_text()
    assert f"status merged from {ids['c']}, {ids['d']}" in page


def test_runs_are_identical_twice_and_under_shuffled_rows(
    small_market: dict[str, Path], tmp_path: Path
) -> None:
    files = {name: small_market[name] for name in ("sellers", "links", "labels")}
    shuffled = {}
    for seed, (name, path) in enumerate(files.items()):
        shuffled[name] = tmp_path / "shuffled" / path.name
        shuffled[name].parent.mkdir(exist_ok=True)
        pl.read_parquet(path).sample(fraction=1.0, shuffle=True, seed=seed).write_parquet(
            shuffled[name]
        )
    for name, inputs in (("one", files), ("two", files), ("shuffled-run", shuffled)):
        assert run_cli(inputs, tmp_path / name, *FAST) == 0
    for table in ("labels.parquet", "rings.parquet", "features.parquet"):
        one = pl.read_parquet(tmp_path / "one" / table)
        assert_frame_equal(pl.read_parquet(tmp_path / "two" / table), one)
        assert_frame_equal(pl.read_parquet(tmp_path / "shuffled-run" / table), one)
    assert digests(tmp_path / "one" / "viz") == digests(tmp_path / "two" / "viz")
    # The forest's file too: the same trees write the same bytes.
    assert digests(tmp_path / "one" / "model") == digests(tmp_path / "two" / "model")
    assert (tmp_path / "one" / "model" / "model.npz").is_file()


def test_a_run_that_fails_late_leaves_the_earlier_outputs_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    files = write_rings(tmp_path / "in1", FIRST)
    assert run_cli(files, tmp_path / "run") == 0
    before = digests(tmp_path / "run")
    changed = write_rings(tmp_path / "in2", {"a": [*FIRST["a"], "a5"], "f": ["f1", "f2", "f3"]})

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire while drawing pages")

    # The pages are drawn after labels, rings and features have been written (to staging).
    monkeypatch.setattr("syndicate.pipeline.write_viz", broken)
    assert run_cli(changed, tmp_path / "run") == 1
    assert "internal error" in capsys.readouterr().err
    assert digests(tmp_path / "run") == before
    assert not list((tmp_path / "run").glob(".staging-*"))
    monkeypatch.undo()
    assert run_cli(changed, tmp_path / "run") == 0  # and the folder is still usable
    assert pl.read_parquet(tmp_path / "run" / "labels.parquet").height == 5 + 3 + 4


def test_an_interrupted_commit_is_finished_and_an_unfinished_run_removed(tmp_path: Path) -> None:
    # A run killed while moving its outputs into place leaves a staging folder with the
    # COMMIT marker: the next run rolls it forward. One killed earlier leaves no marker: the
    # staging folder is thrown away and the outputs stay as they were.
    old = tmp_path / "old"
    assert run_cli(write_rings(tmp_path / "in1", FIRST), old) == 0
    new = tmp_path / "new"
    assert run_cli(write_rings(tmp_path / "in2", {"f": ["f1", "f2", "f3"]}), new) == 0
    folder = tmp_path / "folder"
    shutil.copytree(old, folder)
    staging = folder / ".staging-killed"
    shutil.copytree(new, staging)
    (staging / ".syndicate.lock").unlink()
    (staging / ".syndicate-staging").write_text("staging\n")  # syndicate's mark
    produced = [name for name in RUN_OUTPUTS if (staging / name).exists()]
    (staging / "COMMIT").write_text(json.dumps({"produced": produced}))
    for name in produced[:2]:  # killed after moving two files
        (staging / name).replace(folder / name)
    recover(folder)
    assert digests(folder) == digests(new)
    dead = folder / ".staging-dead"
    shutil.copytree(old, dead)
    (dead / ".syndicate-staging").write_text("staging\n")
    # A folder named like a staging folder but without the mark is the user's: kept.
    users = folder / ".staging-notes"
    users.mkdir()
    (users / "todo.txt").write_text("mine")
    recover(folder)
    assert not dead.exists() and (users / "todo.txt").read_text() == "mine"
    shutil.rmtree(users)
    assert digests(folder) == digests(new)


def test_cold_start_run_removes_the_model_of_an_earlier_trained_run(
    small_market: dict[str, Path], tmp_path: Path
) -> None:
    files = {name: small_market[name] for name in ("sellers", "links", "labels")}
    assert run_cli(files, tmp_path, *FAST) == 0
    assert (tmp_path / "model" / "model.npz").is_file()
    del files["labels"]
    assert run_cli(files, tmp_path, *FAST) == 0
    assert not (tmp_path / "model").exists()
    manifest = json.loads((tmp_path / "run.json").read_text())
    assert manifest["model"]["source"] == "cold_start"
    assert any("cold start" in message for message in manifest["warnings"])


def test_scoring_with_a_saved_model_reproduces_its_scores(
    small_market: dict[str, Path], tmp_path: Path
) -> None:
    files = {name: small_market[name] for name in ("sellers", "links", "labels")}
    assert run_cli(files, tmp_path / "trained", *FAST) == 0
    model = tmp_path / "trained" / "model"
    # The same labels: label-aware features (known-bad neighbours) must see what training saw.
    assert run_cli(files, tmp_path / "scored", "--model", str(model)) == 0
    trained = pl.read_parquet(tmp_path / "trained" / "labels.parquet")
    scored = pl.read_parquet(tmp_path / "scored" / "labels.parquet")
    assert set(scored["score_source"]) == {"saved_model"}
    # Sellers without a label were scored by the full model in the first run: same scores.
    model_scored = trained.filter(pl.col("score_source") == "model")
    assert_frame_equal(
        scored.join(model_scored.select("seller_id"), on="seller_id").select(
            "seller_id", "seller_score"
        ),
        model_scored.select("seller_id", "seller_score"),
    )
    card = json.loads((model / "model_card.json").read_text())
    manifest = json.loads((tmp_path / "scored" / "run.json").read_text())
    assert manifest["model"] == {
        "source": "saved_model",
        "path": str(model),
        "cv_auroc": None,
        "cv_auprc": None,
        "sha256": file_sha256(model / "model.npz"),  # the copy is the same file
    }
    assert manifest["thresholds"]["syndicate"] == card["thresholds"]["syndicate"]
    assert (tmp_path / "scored" / "model" / "model.npz").is_file()


def test_config_file_and_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = write_rings(tmp_path / "in", FIRST)
    config = tmp_path / "syndicate.toml"
    config.write_text("seed = 5\n[rings]\nmin_ring_size = 4\n[output]\ntop_pages = 1\n")
    assert run_cli(files, tmp_path / "run", "--config", str(config), "--seed", "9") == 0
    rings = pl.read_parquet(tmp_path / "run" / "rings.parquet")
    assert sorted(rings["size"]) == [4, 4, 7]  # rings of 3 are too small now
    assert len(list((tmp_path / "run" / "viz" / "rings").glob("*.html"))) == 1
    manifest = json.loads((tmp_path / "run" / "run.json").read_text())
    assert manifest["config"]["seed"] == 9 and manifest["config"]["rings"]["min_ring_size"] == 4
    config.write_text("[rings]\nmin_ring_sise = 4\n")
    assert run_cli(files, tmp_path / "run", "--config", str(config)) == 2
    err = capsys.readouterr().err
    assert "unknown config key 'rings.min_ring_sise' (did you mean 'rings.min_ring_size'?)" in err
    assert str(config) in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--previous", "{tmp}/nowhere"], "previous run folder '.*nowhere' does not exist"),
        (["--previous", "{tmp}/in"], r"labels\.parquet: not found \(is .* a syndicate run folder"),
        (["--model", "{tmp}/in"], r"model\.npz: not found, nor model\.skops"),
        (
            ["--set", "rings.leiden_resolution=0"],
            "leiden_resolution must be a finite positive number",
        ),
        (["--set", "seed"], "expected SECTION.KEY=VALUE; got 'seed'"),
    ],
)
def test_bad_folders_and_settings_exit_with_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    files = write_rings(tmp_path / "in", FIRST)
    argv = [item.replace("{tmp}", str(tmp_path)) for item in extra]
    assert run_cli(files, tmp_path / "run", *argv) == 2
    assert pytest.importorskip("re").search(message, capsys.readouterr().err)
    assert not (tmp_path / "run" / "labels.parquet").exists()


def test_previous_ring_ids_that_syndicate_did_not_write_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = write_rings(tmp_path / "in", FIRST)
    assert run_cli(files, tmp_path / "run") == 0
    labels = pl.read_parquet(tmp_path / "run" / "labels.parquet")
    labels.with_columns(
        pl.when(pl.col("seller_id") == "a1")
        .then(pl.lit("../../evil"))
        .otherwise(pl.col("ring_id"))
        .alias("ring_id")
    ).write_parquet(tmp_path / "run" / "labels.parquet")
    assert run_cli(files, tmp_path / "out", "--previous", str(tmp_path / "run")) == 2
    assert "ring id '../../evil' is not one syndicate writes" in capsys.readouterr().err


def test_a_second_run_into_a_locked_folder_is_refused(tmp_path: Path) -> None:
    import fcntl

    files = write_rings(tmp_path / "in", FIRST)
    (tmp_path / "run").mkdir()
    with (tmp_path / "run" / ".syndicate.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        with pytest.raises(Exception, match="another syndicate run is writing to"):
            run_job(sellers=files["sellers"], links=files["links"], out=tmp_path / "run")
    assert run_cli(files, tmp_path / "run") == 0


def test_inputs_inside_the_output_folder_that_a_run_would_overwrite_are_refused(
    small_market: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `syndicate synth --out d` then `syndicate run ... --out d`: d/labels.parquet is both.
    for name in ("sellers", "links", "labels"):
        shutil.copy(small_market[name], tmp_path / f"{name}.parquet")
    files = {name: tmp_path / f"{name}.parquet" for name in ("sellers", "links", "labels")}
    before = digests(tmp_path)
    assert run_cli(files, tmp_path, *FAST) == 2
    assert "labels file" in capsys.readouterr().err
    assert digests(tmp_path) == before
    # Not passed, the folder's labels.parquet is still the user's: not overwritten either.
    del files["labels"]
    assert run_cli(files, tmp_path, *FAST) == 2
    assert "labels.parquet' stands where a run writes" in capsys.readouterr().err
    assert digests(tmp_path) == before


def test_a_folder_with_an_unfinished_commit_is_refused_as_previous_and_by_viz(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = write_rings(tmp_path / "in", FIRST)
    assert run_cli(files, tmp_path / "run") == 0
    staging = tmp_path / "run" / ".staging-interrupted"
    staging.mkdir()
    (staging / ".syndicate-staging").write_text("staging\n")
    (staging / "COMMIT").write_text(json.dumps({"produced": []}))
    assert run_cli(files, tmp_path / "other", "--previous", str(tmp_path / "run")) == 2
    assert "holds an unfinished commit (.staging-interrupted)" in capsys.readouterr().err
    assert main(["viz", "--run", str(tmp_path / "run"), "--quiet"]) == 2
    assert "holds an unfinished run" in capsys.readouterr().err
    assert run_cli(files, tmp_path / "run") == 0  # a run into it finishes (or drops) it
    assert not staging.exists()


def test_the_first_day_of_a_daily_job_has_no_previous_run_yet(tmp_path: Path) -> None:
    files = write_rings(tmp_path / "in", FIRST)
    out = tmp_path / "daily"
    assert run_cli(files, out, "--previous", str(out)) == 0
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["lineage"]["new"] == 5
    assert manifest["warnings"][0].endswith(
        "holds no earlier run yet: every ring is new (first run)"
    )
    assert run_cli(files, out, "--previous", str(out)) == 0
    assert json.loads((out / "run.json").read_text())["lineage"]["stable"] == 5


def test_outputs_get_the_permissions_of_a_plain_write(tmp_path: Path) -> None:
    import os

    mask = os.umask(0o022)
    try:
        assert run_cli(write_rings(tmp_path / "in", FIRST), tmp_path / "run") == 0
    finally:
        os.umask(mask)
    for name in ("labels.parquet", "run.json", "viz/index.html"):
        assert (tmp_path / "run" / name).stat().st_mode & 0o777 == 0o644, name


def test_rings_gone_has_one_schema_with_and_without_previous(tmp_path: Path) -> None:
    files = write_rings(tmp_path / "in", FIRST)
    assert run_cli(files, tmp_path / "run") == 0
    first = pl.read_parquet(tmp_path / "run" / "rings_gone.parquet")
    assert run_cli(files, tmp_path / "run", "--previous", str(tmp_path / "run")) == 0
    assert pl.read_parquet(tmp_path / "run" / "rings_gone.parquet").schema == first.schema
    assert first.columns == [
        "ring_id",
        "size",
        "members_in_rings",
        "previous_ring_score",
        "previous_decision",
        "previous_n_known_bad",
    ]


def test_a_saved_model_without_labels_warns_that_label_features_are_zero(
    small_market: dict[str, Path], tmp_path: Path
) -> None:
    files = {name: small_market[name] for name in ("sellers", "links", "labels")}
    assert run_cli(files, tmp_path / "trained", *FAST) == 0
    del files["labels"]
    model = str(tmp_path / "trained" / "model")
    assert run_cli(files, tmp_path / "scored", "--model", model) == 0
    warnings = json.loads((tmp_path / "scored" / "run.json").read_text())["warnings"]
    assert any("label-aware features" in message for message in warnings)


def test_a_second_run_keeps_the_thresholds_its_labels_still_support(tmp_path: Path) -> None:
    files = write_marketplace(generate_marketplace(n_sellers=3000, seed=3), tmp_path / "in")
    files = {name: files[name] for name in ("sellers", "links", "labels")}
    three_folds = ["--set", "model.cv_folds=3", *FAST]  # as tests/test_scoring.py's FAST
    assert run_cli(files, tmp_path / "run", *three_folds) == 0
    first = json.loads((tmp_path / "run" / "run.json").read_text())["thresholds"]
    assert first["source"] == "oof_pr_curve" and first["syndicate"] is not None
    assert run_cli(files, tmp_path / "run", *three_folds, "--previous", str(tmp_path / "run")) == 0
    kept = json.loads((tmp_path / "run" / "run.json").read_text())["thresholds"]
    assert kept["source"] == "previous_run"
    assert kept["kept_from_previous_run"] == ["syndicate", "review"]
    assert (kept["syndicate"], kept["review"]) == (first["syndicate"], first["review"])
