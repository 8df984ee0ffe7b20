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
    "LinkageGraph",
    "Marketplace",
    "MarketplaceInputs",
    "RingRecovery",
    "Rings",
    "SchemaError",
    "SyndicateError",
    "SynthConfig",
    "__version__",
    "build_linkage",
    "find_rings",
    "generate_marketplace",
    "load_inputs",
    "read_table",
    "ring_graph",
    "ring_recovery",
    "write_json_atomic",
    "write_marketplace",
    "write_parquet_atomic",
]
