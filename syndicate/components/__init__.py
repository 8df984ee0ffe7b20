"""The work done one connected component at a time, shared by both engines.

:func:`component_work` takes a *bucket* of whole connected components of the seller graph
(their edges, the shared identifiers their sellers hold, their sellers' rows and labels)
and returns their rings and the features that depend on the component alone. The
single-machine engine runs its two halves (:func:`syndicate.find_rings` and
:func:`syndicate.features.component_features`) on one bucket, the whole graph; the Spark
engine runs it on hash buckets of components (``groupBy(bucket).applyInArrow``).
"""

from __future__ import annotations

from syndicate.components.work import (
    BUCKET_EDGES,
    BUCKET_IDENTIFIERS,
    ComponentWork,
    bucket_linkage,
    component_work,
)

__all__ = [
    "BUCKET_EDGES",
    "BUCKET_IDENTIFIERS",
    "ComponentWork",
    "bucket_linkage",
    "component_work",
]
