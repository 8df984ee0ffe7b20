"""Doctest collection of :mod:`syndicate.spark`: skipped when pyspark is not installed
(the engine is an optional extra; its modules import pyspark)."""

from __future__ import annotations

import importlib.util

collect_ignore_glob = [] if importlib.util.find_spec("pyspark") else ["*.py"]
