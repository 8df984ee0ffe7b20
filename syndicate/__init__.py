"""syndicate: find organised bad-actor rings among marketplace sellers.

The public API returns Polars frames. Start with :func:`load_inputs` for your own
tables, or :func:`generate_marketplace` for a synthetic marketplace with ground truth.

Importing the package is cheap: each public name is imported from its module on first
use (PEP 562), so ``syndicate --help`` does not pay for scikit-learn, igraph or pyvis.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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

    __version__: str

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

#: Where each public name is defined; imported from there on first access.
_EXPORTS: dict[str, str] = {
    "CONTRACT": "syndicate.validation",
    "REJECT_REASONS": "syndicate.validation",
    "Config": "syndicate.config",
    "ConfigError": "syndicate.errors",
    "InputError": "syndicate.errors",
    "InputFileError": "syndicate.errors",
    "Lineage": "syndicate.lineage",
    "LinkageGraph": "syndicate.graphs",
    "Marketplace": "syndicate.synth",
    "MarketplaceInputs": "syndicate.validation",
    "PipelineResult": "syndicate.pipeline",
    "RingRecovery": "syndicate.evaluate",
    "Rings": "syndicate.graphs",
    "RunResult": "syndicate.job",
    "SchemaError": "syndicate.errors",
    "SellerClassifier": "syndicate.model",
    "SyndicateError": "syndicate.errors",
    "SynthConfig": "syndicate.synth",
    "build_linkage": "syndicate.graphs",
    "find_rings": "syndicate.graphs",
    "generate_marketplace": "syndicate.synth",
    "load_inputs": "syndicate.validation",
    "load_model": "syndicate.model",
    "read_table": "syndicate.io",
    "ring_graph": "syndicate.graphs",
    "ring_recovery": "syndicate.evaluate",
    "run_job": "syndicate.job",
    "run_pipeline": "syndicate.pipeline",
    "track_rings": "syndicate.lineage",
    "write_json_atomic": "syndicate.io",
    "write_marketplace": "syndicate.synth",
    "write_outputs": "syndicate.pipeline",
    "write_parquet_atomic": "syndicate.io",
}

#: Subpackages an eager ``import syndicate`` used to load, still reachable as attributes.
_SUBMODULES = frozenset(
    {
        "config",
        "errors",
        "evaluate",
        "features",
        "graphs",
        "io",
        "job",
        "lineage",
        "model",
        "pipeline",
        "progress",
        "scoring",
        "synth",
        "validation",
        "viz",
    }
)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("syndicate")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0+unknown"


def __getattr__(name: str) -> object:
    """Import a public name (or subpackage) on first access and keep it (PEP 562)."""
    if name == "__version__":
        value: object = _version()
    elif name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, *_SUBMODULES})
