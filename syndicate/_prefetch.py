"""Import heavy modules on a thread while the main thread computes."""

from __future__ import annotations

import contextlib
import importlib
import sys
import threading

__all__ = ["import_in_background"]


def import_in_background(module: str) -> None:
    """Start importing ``module`` on a daemon thread; return at once.

    scikit-learn, igraph and pyvis take about 2 s to import, and skops 0.4–0.8 s. Polars
    and the forest's fit run without the GIL, so these imports proceed beside them. A later
    ``import`` of the module waits for this one (Python's per-module import lock) and gets
    the same module; if the import fails here, that later import runs it again and raises.
    """

    def load() -> None:
        with contextlib.suppress(Exception):  # the real import reports any failure
            importlib.import_module(module)

    if module not in sys.modules:
        threading.Thread(target=load, name=f"import {module}", daemon=True).start()
