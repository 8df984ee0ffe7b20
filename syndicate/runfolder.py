"""A run folder: what it owns, and how a run replaces its outputs as a whole or not at all.

Ownership
    A run folder owns only what syndicate wrote into it: the outputs its ``run.json`` lists
    (for ``model/`` and ``viz/``, every file inside them by name), its lock file and the
    staging folders that carry syndicate's staging mark. A run replaces or removes nothing
    else: anything else standing where an output goes — a file of the user's, a
    ``labels.parquet`` of the inputs, an output changed since the run wrote it, a file
    added to ``model/`` or ``viz/`` — makes the run refuse (exit 2), naming the path,
    before it reads its inputs, and again just before its commit.
Commit
    Every output is first written into a staging folder inside the run folder
    (``.staging-*``); only when all of them exist is a commit marker written and the
    outputs moved into place, ``run.json`` last, each earlier output moved aside into the
    staging folder first. If a move fails (a permission error, a full disk), the moves
    already made are undone and the earlier run stays as it was. If undoing fails too, or
    the process dies while moving, the marked staging folder stays and the next run into
    the folder finishes that commit before it starts; until then ``--previous`` and
    ``syndicate viz`` refuse the folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from syndicate.errors import InputFileError
from syndicate.io import file_sha256, write_json_atomic

__all__ = [
    "LOCK",
    "RUN_OUTPUTS",
    "CommitError",
    "check_owned",
    "commit",
    "describe_outputs",
    "locked",
    "new_staging",
    "pending_commits",
    "recover",
    "remove_staging",
    "seal",
]

#: What a run folder holds, in the order a commit moves it into place (``run.json`` last).
RUN_OUTPUTS = (
    "labels.parquet",
    "rings.parquet",
    "rings_gone.parquet",
    "features.parquet",
    "hubs.parquet",
    "rejects.parquet",
    "metrics.parquet",
    "strategies.toml",
    "model",
    "viz",
    "run.json",
)

#: Outputs that are single files checked by their sha256 (``run.json`` aside).
_FILES = (".parquet", ".toml")

LOCK = ".syndicate.lock"
_STAGING = ".staging-"
_MARK = ".syndicate-staging"  # written first into every staging folder syndicate makes
_MARKER = "COMMIT"
_ASIDE = ".replaced"
#: The list of files ``syndicate viz`` keeps in ``viz/`` (:data:`syndicate.viz.pages.LISTING`).
PAGE_LISTING = "syndicate-pages.json"


class CommitError(InputFileError):
    """The outputs could not be moved into place (the message says what state remains)."""


def _files_under(folder: Path) -> list[str]:
    """Every file, link and empty folder under ``folder``, as sorted relative paths."""
    found = []
    for path in folder.rglob("*"):
        if path.is_symlink() or path.is_file() or (path.is_dir() and not any(path.iterdir())):
            found.append(path.relative_to(folder).as_posix())
    return sorted(found)


def describe_outputs(folder: Path, produced: Sequence[str]) -> dict[str, Any]:
    """``run.json``'s ``outputs``: rows and sha256 of each table, the files of each folder.

    This is also the record of what the run folder owns (see the module docstring).
    """
    facts: dict[str, Any] = {}
    for name in produced:
        path = folder / name
        if name.endswith(".parquet"):
            rows = pl.scan_parquet(path).select(pl.len()).collect().item()
            facts[name] = {"rows": rows, "sha256": file_sha256(path)}
        elif name.endswith(_FILES):
            facts[name] = {"bytes": path.stat().st_size, "sha256": file_sha256(path)}
        elif path.is_dir():
            listing = _files_under(path)
            facts[name] = {"files": len(listing), "paths": listing}
    return facts


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold ``folder/.syndicate.lock`` (advisory; POSIX only) for the body."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no locking
        yield
        return
    path = folder / LOCK
    if path.is_dir() and not path.is_symlink():
        raise InputFileError(
            f"{str(path)!r} is a folder, not syndicate's lock file; move it out of the way"
        )
    try:
        handle = path.open("a")
    except OSError as exc:
        raise InputFileError(f"cannot open the lock file {str(path)!r}: {exc.strerror}") from exc
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputFileError(
                f"another syndicate run is writing to {str(folder)!r}; wait for it to finish"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def new_staging(folder: Path) -> Path:
    """A fresh staging folder inside ``folder``, marked as syndicate's."""
    staging = Path(tempfile.mkdtemp(prefix=_STAGING, dir=folder))
    (staging / _MARK).write_text("staging folder of a syndicate run\n", encoding="utf-8")
    return staging


def _stagings(folder: Path) -> list[Path]:
    """Staging folders syndicate made (a ``.staging-*`` folder without the mark is not one)."""
    return sorted(
        path
        for path in folder.glob(f"{_STAGING}*")
        if path.is_dir() and not path.is_symlink() and (path / _MARK).is_file()
    )


def pending_commits(folder: Path) -> list[Path]:
    """Staging folders of ``folder`` whose commit was started but not finished."""
    return [path for path in _stagings(folder) if (path / _MARKER).is_file()]


def seal(staging: Path, produced: Sequence[str]) -> None:
    """Write the commit marker: from now on the staged outputs are this folder's next run."""
    write_json_atomic({"produced": list(produced)}, staging / _MARKER)


def remove_staging(staging: Path) -> None:
    """Remove one of syndicate's staging folders (nothing else: it checks the mark)."""
    if (staging / _MARK).is_file():
        shutil.rmtree(staging, ignore_errors=True)


@dataclass
class _Owned:
    """What a run folder's ``run.json`` says syndicate wrote there."""

    manifest: Path
    ours: bool = False
    outputs: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, folder: Path) -> _Owned:
        path = folder / "run.json"
        owned = cls(path)
        if not path.is_file() or path.is_symlink():
            return owned
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            return owned
        outputs = document.get("outputs") if isinstance(document, dict) else None
        if "syndicate_version" in document and isinstance(outputs, dict):
            owned.ours = True
            owned.outputs = outputs
        return owned

    def problem(self, folder: Path, name: str, *, verify: _Verified) -> str | None:
        """Why ``folder/name`` is not syndicate's to replace, or None when it is."""
        target = folder / name
        if name == "run.json":
            return None if self.ours else "syndicate did not write it"
        facts = self.outputs.get(name)
        if not self.ours or not isinstance(facts, dict):
            return (
                "syndicate did not write it (no run.json of an earlier run there lists it)"
                if not self.ours
                else "the earlier run there did not write it (its run.json does not list it)"
            )
        if target.is_symlink():
            return "it is a link, and syndicate writes no links"
        if name.endswith(_FILES):
            if not target.is_file():
                return "it is not the file the earlier run wrote"
            if "sha256" in facts and verify.sha256(target) != facts["sha256"]:
                return "it changed after the earlier run wrote it"
            return None
        if not target.is_dir():
            return "it is not the folder the earlier run wrote"
        found = _files_under(target)
        listed = facts.get("paths")
        if isinstance(listed, list):
            extra = sorted(set(found) - {str(item) for item in listed})
            if extra and name == "viz":  # pages drawn later by `syndicate viz`
                extra = [item for item in extra if not _drawn_later(target, item, verify)]
            if extra:
                more = f" (and {len(extra) - 1} more)" if len(extra) > 1 else ""
                return f"it holds {extra[0]!r}{more}, which syndicate did not write"
        elif facts.get("files") != len(found):  # run.json of syndicate 0.x: a count only
            return "it holds files the earlier run did not write"
        return None


def _drawn_later(viz: Path, name: str, verify: _Verified) -> bool:
    """Whether ``viz/name`` is a file ``syndicate viz`` wrote there, unchanged since."""
    try:
        listing = json.loads((viz / PAGE_LISTING).read_text(encoding="utf-8"))
        digest = listing["files"][name]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        return False
    path = viz / name
    return path.is_file() and not path.is_symlink() and verify.sha256(path) == digest


@dataclass
class _Verified:
    """sha256 of files already checked, keyed by what would show a change."""

    seen: dict[tuple[str, int, int, int], str] = field(default_factory=dict)

    def sha256(self, path: Path) -> str:
        stat = path.stat()
        key = (str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns)
        if key not in self.seen:
            self.seen[key] = file_sha256(path)
        return self.seen[key]


_VERIFIED = _Verified()


def check_owned(folder: Path, names: Iterable[str] = RUN_OUTPUTS) -> None:
    """Refuse when something syndicate did not write stands where an output goes.

    Raises
    ------
    InputFileError
        Naming the first such path and why it is not syndicate's.
    """
    owned = _Owned.read(folder)
    for name in names:
        target = folder / name
        if not (target.exists() or target.is_symlink()):
            continue
        problem = owned.problem(folder, name, verify=_VERIFIED)
        if problem is not None:
            raise InputFileError(
                f"{str(target)!r} stands where a run writes its {name} output, and {problem}; "
                "syndicate never replaces what it did not write: move it away or choose "
                "another --out"
            )


def _rename(source: Path, target: Path) -> None:
    """Every move of a commit (and of its undoing) goes through here."""
    os.replace(source, target)


def _move(source: Path, target: Path, done: list[tuple[Path, Path]]) -> None:
    _rename(source, target)
    done.append((source, target))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _produced(staging: Path) -> set[str]:
    return set(json.loads((staging / _MARKER).read_text(encoding="utf-8"))["produced"])


def _still_to_move(staging: Path) -> list[str]:
    """Outputs a commit has yet to replace (the ones moved into place already are its own)."""
    produced = _produced(staging)
    return [name for name in RUN_OUTPUTS if name not in produced or (staging / name).exists()]


def _roll_forward(staging: Path, folder: Path, done: list[tuple[Path, Path]]) -> None:
    produced = _produced(staging)
    aside = staging / _ASIDE
    aside.mkdir(exist_ok=True)
    for name in RUN_OUTPUTS:
        new, target = staging / name, folder / name
        if name in produced and not new.exists():
            continue  # moved before an interruption
        if target.exists() or target.is_symlink():
            _remove(aside / name)  # an earlier attempt's, inside the staging folder
            _move(target, aside / name, done)
        if name in produced:
            _move(new, target, done)


def _discard(staging: Path) -> None:
    (staging / _MARKER).unlink(missing_ok=True)
    remove_staging(staging)


def commit(staging: Path, folder: Path) -> None:
    """Move the staged outputs into ``folder``, or undo the moves and raise.

    The marker lists what this run produced: earlier outputs it did not produce
    (``model/`` in cold start) are removed with the staging folder, so once the commit is
    done the folder holds one run.

    Raises
    ------
    CommitError
        A move failed. The earlier run is back in place (the staging folder is gone), or,
        when even that failed, the marked staging folder stays for the next run to finish.
    """
    try:
        check_owned(folder, _still_to_move(staging))
    except InputFileError:
        _discard(staging)
        raise
    done: list[tuple[Path, Path]] = []
    try:
        _roll_forward(staging, folder, done)
    except OSError as exc:
        failed = exc.filename or folder
        try:
            for source, target in reversed(done):
                _rename(target, source)
        except OSError:
            raise CommitError(
                f"cannot move the outputs into {str(folder)!r} ({exc.strerror}: {failed}), nor "
                f"move back the {len(done)} already moved; the folder holds part of this run "
                "until the next syndicate run into it, which first finishes moving this run's "
                "outputs into place (--previous and syndicate viz refuse it until then)"
            ) from exc
        _discard(staging)
        raise CommitError(
            f"cannot move the outputs into {str(folder)!r} ({exc.strerror}: {failed}); the "
            "earlier outputs there are as they were, and this run's are discarded"
        ) from exc
    remove_staging(staging)


def recover(folder: Path) -> None:
    """Finish an interrupted commit, and remove staging folders of runs that died early.

    Raises
    ------
    InputFileError
        An interrupted commit cannot be finished (its marked staging folder stays, and the
        next run tries again).
    """
    for staging in _stagings(folder):
        if not (staging / _MARKER).is_file():
            remove_staging(staging)
            continue
        check_owned(folder, _still_to_move(staging))
        try:
            _roll_forward(staging, folder, [])
        except OSError as exc:
            raise CommitError(
                f"{str(folder)!r} holds a run interrupted while moving its outputs into place, "
                f"and finishing that failed ({exc.strerror}: {exc.filename or folder}); fix that "
                "and run again: the next run first finishes moving the interrupted run's "
                "outputs into place"
            ) from exc
        remove_staging(staging)
