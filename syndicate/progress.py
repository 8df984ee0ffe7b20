"""Progress and logging on stderr, silenced by ``--quiet``.

Step names and log messages can hold user strings (kinds, ids, paths): each passes through
:func:`syndicate.terminal.printable`, and step names are shown as plain text, never as
rich markup.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from syndicate.terminal import printable

__all__ = ["Reporter", "Step", "configure_logging"]

logger = logging.getLogger("syndicate")


class _PrintableFormatter(logging.Formatter):
    """Log lines with control and layout characters shown as escapes (tracebacks keep
    their line breaks)."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record), keep_newlines=True)


def configure_logging(*, quiet: bool = False, verbose: bool = False) -> None:
    """Send syndicate's log records to stderr (warnings only when ``quiet``)."""
    level = logging.WARNING if quiet else (logging.DEBUG if verbose else logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_PrintableFormatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("syndicate")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


class Step:
    """A running step: call :meth:`advance` as its parts finish to move its bar."""

    def __init__(self, progress: Progress | None = None, task: TaskID | None = None) -> None:
        self._progress, self._task = progress, task

    def advance(self, parts: int = 1) -> None:
        """Count ``parts`` more parts of the step as done."""
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, parts)


class Reporter:
    """Shows each long step on stderr: a bar when its parts are counted, else a spinner.

    Step timings are kept in :attr:`timings` (seconds) for manifests and summaries.
    """

    def __init__(self, *, quiet: bool = False) -> None:
        self.quiet = quiet
        self.console = Console(stderr=True, quiet=quiet)
        self.timings: dict[str, float] = {}

    @contextmanager
    def step(self, name: str, total: int | None = None) -> Iterator[Step]:
        """Time one named step and show it while it runs (``total``: parts, for a bar)."""
        start = time.perf_counter()
        shown = escape(printable(name))
        if self.quiet or not self.console.is_terminal:
            yield Step()  # no live display in logs and pipes: just the line at the end
        else:
            columns = [SpinnerColumn(), TextColumn("{task.description}")]
            if total is not None:
                columns += [BarColumn(), MofNCompleteColumn()]
            progress = Progress(*columns, TimeElapsedColumn(), console=self.console, transient=True)
            with progress:
                task = progress.add_task(f"{shown}…", total=total)
                yield Step(progress, task)
        elapsed = time.perf_counter() - start
        self.timings[name] = round(elapsed, 3)
        self.console.print(f"[green]✓[/green] {shown} [dim]({elapsed:.1f} s)[/dim]")
