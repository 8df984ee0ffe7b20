"""Progress and logging on stderr, silenced by ``--quiet``."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console

__all__ = ["Reporter", "configure_logging"]

logger = logging.getLogger("syndicate")


def configure_logging(*, quiet: bool = False, verbose: bool = False) -> None:
    """Send syndicate's log records to stderr (warnings only when ``quiet``)."""
    level = logging.WARNING if quiet else (logging.DEBUG if verbose else logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("syndicate")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


class Reporter:
    """Shows a spinner with elapsed time for each long step, on stderr.

    Step timings are kept in :attr:`timings` (seconds) for manifests and summaries.
    """

    def __init__(self, *, quiet: bool = False) -> None:
        self.quiet = quiet
        self.console = Console(stderr=True, quiet=quiet)
        self.timings: dict[str, float] = {}

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time one named step and show it while it runs."""
        start = time.perf_counter()
        with self.console.status(f"{name}…"):
            yield
        elapsed = time.perf_counter() - start
        self.timings[name] = round(elapsed, 3)
        self.console.print(f"[green]✓[/green] {name} [dim]({elapsed:.1f} s)[/dim]")
