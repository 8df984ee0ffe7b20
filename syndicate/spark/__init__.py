"""The Spark engine (``pip install "syndicate[spark]"``, Java 17): the table stages of the
pipeline as Spark DataFrame operations, by the rules of the Polars engine.

In progress: normalisation, the linkage graph and connected components exist; the
per-component work, scoring and ``syndicate run --engine spark`` come next.
"""

from __future__ import annotations

try:
    import pyspark  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError(
        "syndicate.spark needs pyspark: pip install 'syndicate[spark]' (and Java 17)"
    ) from exc

from syndicate.spark.components import Components, connected_components, seller_codes
from syndicate.spark.linkage import SparkLinkage, build_linkage, hold_back_hubs, shared_identifiers
from syndicate.spark.normalise import clean_text, kind_key, normalise_links
from syndicate.spark.session import LEAN_SETTINGS, local_session

__all__ = [
    "LEAN_SETTINGS",
    "Components",
    "SparkLinkage",
    "build_linkage",
    "clean_text",
    "connected_components",
    "hold_back_hubs",
    "kind_key",
    "local_session",
    "normalise_links",
    "seller_codes",
    "shared_identifiers",
]
