"""syndicate: find organised bad-actor rings among marketplace sellers.

The public API returns Polars frames. Start with :func:`load_inputs` for your own
tables, or :func:`generate_marketplace` for a synthetic marketplace with ground truth.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("syndicate")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

from syndicate.config import Config
from syndicate.errors import (
    ConfigError,
    InputError,
    InputFileError,
    SchemaError,
    SyndicateError,
)
from syndicate.evaluate import RingRecovery, ring_recovery
from syndicate.graphs import LinkageGraph, Rings, build_linkage, find_rings, ring_graph
from syndicate.io import read_table, write_json_atomic, write_parquet_atomic
from syndicate.job import RunResult, run_job
from syndicate.lineage import Lineage, track_rings
from syndicate.model import SellerClassifier, load_model
from syndicate.pipeline import PipelineResult, run_pipeline, write_outputs
from syndicate.synth import Marketplace, SynthConfig, generate_marketplace, write_marketplace
from syndicate.validation import (
    CONTRACT,
    REJECT_REASONS,
    MarketplaceInputs,
    load_inputs,
)

__all__ = [
    "CONTRACT",
    "REJECT_REASONS",
    "Config",
    "ConfigError",
    "InputError",
    "InputFileError",
    "Lineage",
    "LinkageGraph",
    "Marketplace",
    "MarketplaceInputs",
    "PipelineResult",
    "RingRecovery",
    "Rings",
    "RunResult",
    "SchemaError",
    "SellerClassifier",
    "SyndicateError",
    "SynthConfig",
    "__version__",
    "build_linkage",
    "find_rings",
    "generate_marketplace",
    "load_inputs",
    "load_model",
    "read_table",
    "ring_graph",
    "ring_recovery",
    "run_job",
    "run_pipeline",
    "track_rings",
    "write_json_atomic",
    "write_marketplace",
    "write_outputs",
    "write_parquet_atomic",
]
