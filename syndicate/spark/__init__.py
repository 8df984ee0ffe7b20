"""The Spark engine (``pip install "syndicate[spark]"``, Java 17): the pipeline on Spark
DataFrames, by the rules of the Polars engine.

:func:`run_spark` runs it end to end; the stages are public too: validation, normalisation,
the linkage graph, connected components, the buckets of components the shared
per-component function (:func:`syndicate.components.component_work`) runs on, features,
training on the driver and scoring in batches.
"""

from __future__ import annotations

try:
    import pyspark  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError(
        "syndicate.spark needs pyspark: pip install 'syndicate[spark]' (and Java 17)"
    ) from exc

from syndicate.spark.buckets import ComponentBuckets, ComponentRows, assign_buckets, component_rows
from syndicate.spark.components import Components, connected_components, seller_codes
from syndicate.spark.linkage import SparkLinkage, build_linkage, hold_back_hubs, shared_identifiers
from syndicate.spark.normalise import clean_text, kind_key, normalise_links
from syndicate.spark.pipeline import SparkRun, run_spark
from syndicate.spark.session import LEAN_SETTINGS, local_session
from syndicate.spark.validation import SparkInputs, validate_inputs

__all__ = [
    "LEAN_SETTINGS",
    "ComponentBuckets",
    "ComponentRows",
    "Components",
    "SparkInputs",
    "SparkLinkage",
    "SparkRun",
    "assign_buckets",
    "build_linkage",
    "clean_text",
    "component_rows",
    "connected_components",
    "hold_back_hubs",
    "kind_key",
    "local_session",
    "normalise_links",
    "run_spark",
    "seller_codes",
    "shared_identifiers",
    "validate_inputs",
]
