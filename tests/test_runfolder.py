"""A run folder owns only what syndicate wrote; faults leave the earlier run byte-identical."""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from syndicate import runfolder
from syndicate.cli import EXIT_INPUT, EXIT_INTERRUPTED, main
from tests.test_job import FIRST, digests, run_cli, write_rings

SECOND = {"f": ["f1", "f2", "f3"], "g": ["g1", "g2", "g3", "g4"]}


@pytest.fixture
def earlier(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A run folder holding one cold-start run, and the digest of every file in it."""
    out = tmp_path / "run"
    assert run_cli(write_rings(tmp_path / "in1", FIRST), out) == 0
    return out, digests(out)


def second(tmp_path: Path, out: Path, *extra: str) -> int:
    return run_cli(write_rings(tmp_path / "in2", SECOND), out, *extra)


def _staging_like(run: Path) -> None:
    """A folder of the user's named like a staging folder (no syndicate mark): kept."""
    (run / ".staging-x").mkdir()
    (run / ".staging-x" / "draft.txt").write_text("mine")


@pytest.mark.parametrize(
    ("place", "what"),
    [
        (
            lambda run: (run / "model").mkdir() or (run / "model" / "mine.pkl").write_text("x"),
            "model",
        ),
        (lambda run: (run / "viz").mkdir() or (run / "viz" / "slides.html").write_text("x"), "viz"),
        (lambda run: (run / "run.json").write_text('{"mine": true}'), "run.json"),
        (lambda run: (run / "labels.parquet").write_text("my labels"), "labels.parquet"),
        (lambda run: _staging_like(run) or (run / "rings.parquet").mkdir(), "rings.parquet"),
    ],
    ids=["model-folder", "viz-folder", "run-json", "labels", "folder-where-a-file-goes"],
)
def test_what_the_user_put_where_an_output_goes_is_refused_and_kept(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    place: Callable[[Path], Any],
    what: str,
) -> None:
    out = tmp_path / "run"
    out.mkdir()
    place(out)
    before = digests(out)
    assert second(tmp_path, out) == EXIT_INPUT
    err = capsys.readouterr().err
    assert f"{what}" in err and "syndicate never replaces what it did not write" in err
    assert digests(out) == before


def test_out_dot_in_a_project_folder_keeps_its_model_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "project"
    (project / "model").mkdir(parents=True)
    (project / "model" / "weights.bin").write_bytes(b"\x00\x01")
    files = write_rings(tmp_path / "in", FIRST)
    monkeypatch.chdir(project)
    assert run_cli(files, Path(".")) == EXIT_INPUT
    assert "'model' stands where a run writes its model output" in capsys.readouterr().err
    assert (project / "model" / "weights.bin").read_bytes() == b"\x00\x01"


def test_a_file_added_to_an_earlier_runs_pages_is_named_and_kept(
    tmp_path: Path, earlier: tuple[Path, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    out, _ = earlier
    (out / "viz" / "rings" / "my-notes.html").write_text("<p>mine</p>")
    assert second(tmp_path, out) == EXIT_INPUT
    assert "it holds 'rings/my-notes.html', which syndicate did not write" in (
        capsys.readouterr().err
    )
    (out / "viz" / "rings" / "my-notes.html").unlink()
    assert second(tmp_path, out) == 0  # once it is gone, the run goes ahead


def test_an_output_changed_after_the_run_wrote_it_is_not_replaced(
    tmp_path: Path, earlier: tuple[Path, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    out, _ = earlier
    pl.DataFrame({"seller_id": ["mine"]}).write_parquet(out / "labels.parquet")
    before = digests(out)
    assert second(tmp_path, out) == EXIT_INPUT
    assert "it changed after the earlier run wrote it" in capsys.readouterr().err
    assert digests(out) == before


def test_a_link_where_an_output_goes_is_refused(
    tmp_path: Path, earlier: tuple[Path, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    out, _ = earlier
    target = tmp_path / "elsewhere.parquet"
    shutil.move(out / "hubs.parquet", target)
    (out / "hubs.parquet").symlink_to(target)
    assert second(tmp_path, out) == EXIT_INPUT
    assert "it is a link" in capsys.readouterr().err
    assert target.is_file()


def test_a_second_run_replaces_what_the_first_wrote(
    tmp_path: Path, earlier: tuple[Path, dict[str, str]]
) -> None:
    out, before = earlier
    assert second(tmp_path, out) == 0
    assert digests(out) != before
    manifest = json.loads((out / "run.json").read_text())
    listed = manifest["outputs"]["viz"]["paths"]
    assert "index.html" in listed and all(not name.startswith("/") for name in listed)
    assert manifest["outputs"]["viz"]["files"] == len(listed)


def _failing_on(call: int, fail: Callable[..., Any], error: OSError) -> Callable[..., Any]:
    calls = {"n": 0}

    def patched(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == call:
            raise error
        return fail(*args, **kwargs)

    return patched


def test_a_full_disk_while_writing_leaves_the_earlier_run_byte_identical(
    tmp_path: Path,
    earlier: tuple[Path, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out, before = earlier
    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(out / "features.parquet"))
    monkeypatch.setattr(
        pl.DataFrame, "write_parquet", _failing_on(3, pl.DataFrame.write_parquet, full)
    )
    assert second(tmp_path, out) == EXIT_INPUT
    err = capsys.readouterr().err
    assert "cannot write the outputs into" in err and "No space left on device" in err
    assert "the earlier outputs there are as they were" in err and "Traceback" not in err
    assert digests(out) == before
    assert not list(out.glob(".staging-*"))


def test_polars_reports_a_full_disk_as_an_os_error_naming_the_file(tmp_path: Path) -> None:
    from syndicate.io import write_parquet_atomic

    def full(self: pl.DataFrame, *args: Any, **kwargs: Any) -> None:
        raise pl.exceptions.ComputeError(
            "parquet: File out of specification: underlying IO error: No space left on device "
            "(os error 28)"
        )

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pl.DataFrame, "write_parquet", full)
        with pytest.raises(OSError, match="No space left on device") as raised:
            write_parquet_atomic(pl.DataFrame({"a": [1]}), tmp_path / "t.parquet")
    assert raised.value.errno == errno.ENOSPC
    assert raised.value.filename == str(tmp_path / "t.parquet")
    assert list(tmp_path.iterdir()) == []


def test_a_permission_error_during_the_commit_is_rolled_back(
    tmp_path: Path,
    earlier: tuple[Path, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out, before = earlier
    denied = PermissionError(errno.EACCES, "Permission denied", str(out / "features.parquet"))
    # The commit's moves: each earlier output aside, then the new one in; fail on the 7th.
    monkeypatch.setattr(runfolder, "_rename", _failing_on(7, runfolder._rename, denied))
    assert second(tmp_path, out) == EXIT_INPUT
    err = capsys.readouterr().err
    assert "the earlier outputs there are as they were, and this run's are discarded" in err
    assert digests(out) == before
    assert not list(out.glob(".staging-*"))


def test_a_commit_that_cannot_be_rolled_back_is_finished_by_the_next_run(
    tmp_path: Path,
    earlier: tuple[Path, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out, _ = earlier
    denied = PermissionError(errno.EACCES, "Permission denied", str(out))
    rename = runfolder._rename
    calls = {"n": 0}

    def flaky(source: Path, target: Path) -> None:
        calls["n"] += 1
        if calls["n"] >= 5:  # the 5th move fails, and so does every move back
            raise denied
        rename(source, target)

    monkeypatch.setattr(runfolder, "_rename", flaky)
    assert second(tmp_path, out) == EXIT_INPUT
    err = capsys.readouterr().err
    assert "nor move back the 4 already moved" in err
    assert "the next syndicate run into it, which first finishes" in err
    assert len(runfolder.pending_commits(out)) == 1
    assert main(["viz", "--run", str(out), "--quiet"]) == EXIT_INPUT  # refused meanwhile
    monkeypatch.setattr(runfolder, "_rename", rename)
    # The next run finishes the interrupted commit (the second run's outputs), then runs.
    assert runfolder.pending_commits(out) and second(tmp_path, out, "--previous", str(out)) == 0
    assert not runfolder.pending_commits(out) and not list(out.glob(".staging-*"))
    rings = pl.read_parquet(out / "rings.parquet")
    assert set(rings["status"]) == {"stable"}  # matched against the finished second run


def test_a_lock_file_that_is_a_folder_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    (out / runfolder.LOCK).mkdir(parents=True)
    assert second(tmp_path, out) == EXIT_INPUT
    assert "is a folder, not syndicate's lock file" in capsys.readouterr().err
    assert (out / runfolder.LOCK).is_dir()


def test_a_refused_run_leaves_no_output_folder_behind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = write_rings(tmp_path / "in", FIRST)
    missing = {**files, "labels": tmp_path / "in" / "nope.parquet"}
    assert run_cli(missing, tmp_path / "new") == EXIT_INPUT
    assert "nope.parquet' does not exist" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()
    pl.DataFrame({"id": [1]}).write_parquet(tmp_path / "in" / "bad.parquet")
    assert run_cli({**files, "sellers": tmp_path / "in" / "bad.parquet"}, tmp_path / "new") == 2
    assert not (tmp_path / "new").exists()


def test_ctrl_c_exits_130_and_keeps_the_earlier_run(
    tmp_path: Path,
    earlier: tuple[Path, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out, before = earlier
    from syndicate import pipeline

    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "write_outputs", interrupted)
    assert second(tmp_path, out) == EXIT_INTERRUPTED
    assert "interrupted" in capsys.readouterr().err
    assert digests(out) == before and not list(out.glob(".staging-*"))


def test_synth_replaces_its_own_files_and_never_the_users(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "market"
    argv = ["synth", "--sellers", "300", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    assert main([*argv, "--seed", "1"]) == 0  # its own files: replaced
    (out / "truth.parquet").unlink()
    (out / "truth.parquet").write_text("my truth table")
    before = digests(out)
    assert main(argv) == EXIT_INPUT
    assert "truth.parquet' exists and syndicate did not write it" in capsys.readouterr().err
    assert digests(out) == before


def test_pages_drawn_later_by_syndicate_viz_are_the_runs_to_replace(
    tmp_path: Path, earlier: tuple[Path, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    out, _ = earlier
    rings = pl.read_parquet(out / "rings.parquet").sort("ring_score")
    assert main(["viz", "--run", str(out), "--ring", rings["ring_id"][0], "--quiet"]) == 0
    assert second(tmp_path, out) == 0  # a page the run did not draw, but syndicate did
    # A page of the user's beside them is not syndicate's, listed or not.
    (out / "viz" / "rings" / "ring-000000000000.html").write_text("<p>my notes</p>")
    assert second(tmp_path, out) == EXIT_INPUT
    assert "ring-000000000000.html" in capsys.readouterr().err


def test_the_page_listing_name_is_the_one_viz_writes() -> None:
    from syndicate.viz.pages import LISTING

    assert runfolder.PAGE_LISTING == LISTING


def test_evaluate_never_replaces_a_report_of_the_users(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    market = tmp_path / "market"
    assert main(["synth", "--sellers", "400", "--out", str(market), "--quiet"]) == 0
    files = {name: market / f"{name}.parquet" for name in ("sellers", "links", "labels")}
    out = tmp_path / "run"
    assert run_cli(files, out, "--set", "model.n_estimators=10") == 0
    argv = ["evaluate", "--run", str(out), "--truth", str(market / "truth.parquet"), "--quiet"]
    assert main(argv) == 0 and main(argv) == 0  # its own report: replaced
    (out / "evaluation" / "report.html").write_text("<p>my report</p>")
    assert main(argv) == EXIT_INPUT
    assert "report.html' exists and syndicate did not write it" in capsys.readouterr().err
    assert (out / "evaluation" / "report.html").read_text() == "<p>my report</p>"


@pytest.mark.parametrize("command", ["viz", "evaluate"])
def test_a_full_disk_in_viz_or_evaluate_is_exit_2_naming_the_file(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    market = tmp_path / "market"
    assert main(["synth", "--sellers", "300", "--out", str(market), "--quiet"]) == 0
    files = {name: market / f"{name}.parquet" for name in ("sellers", "links")}
    out = tmp_path / "run"
    assert run_cli(files, out) == 0
    capsys.readouterr()
    write_text = Path.write_text

    def full(self: Path, *args: Any, **kwargs: Any) -> int:
        if self.name.endswith(".tmp"):  # the atomic writes' temporary files
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
        return write_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full)
    extra = ["--truth", str(market / "truth.parquet")] if command == "evaluate" else []
    assert main([command, "--run", str(out), *extra, "--quiet"]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert "No space left on device" in err and "Traceback" not in err
    named = "viz/syndicate-pages.json" if command == "viz" else "evaluation/metrics.json"
    assert re.search(rf"\(/\S+/run/{named}\)", err), err  # the file, not its temporary twin
    assert not list(out.rglob("*.tmp"))
