"""Intervention or outside factor? A metric's move between two runs, split by replay.

When a north-star metric moves between a run and the run before it, and our own decision
policy changed between them, the move is split into the part due to our change and the
part due to the data, by replaying each run's data through the other run's policy.

The **policy** of a run folder is what turns its tables into decisions: its seller model
(``model/model.npz``, or ``model.skops``, by the sha256 ``run.json`` records; ring structure
scores in a cold start), its thresholds (``run.json``'s ``thresholds``) and its strategies
(``strategies.toml``). The **data** is everything else: ``features.parquet``, the rings
(``rings.parquet``), ring membership and ``score_source`` of ``labels.parquet``, and the
sellers and labels inputs (who is new, who is known bad).

Each of the four (data, policy) combinations is computed the same way, so they compare:

1. *Scores.* When the policy's model is the very file that scored the data's run (same
   sha256; both cold start also counts), that run's ``seller_score`` is kept as it is, so
   labelled sellers keep their out-of-fold scores. Otherwise the policy's model predicts
   every seller from the data's features (``score_source`` ``saved_model``, as a rerun
   with ``--model`` would give), or, for a cold-start policy, every ring member gets its
   ring's ``structure_score`` and everyone else 0 (``structure``).
2. *Decisions.* ``ring_score`` from the member scores (:func:`syndicate.scoring.ring_scores`),
   the model's decision from the policy's thresholds, then the policy's strategies (seller
   and ring scope) on the data's tables (:func:`syndicate.strategies.apply.strategy_hits`,
   :func:`~syndicate.strategies.apply.apply_decisions`).
3. *Metrics*, whole marketplace, as :mod:`syndicate.monitor.metrics` counts them.

With ``m(data, policy)``, ``R`` the run and ``P`` the previous run, the split is Shapley's::

    policy effect = ½ [(m(R, pR) − m(R, pP)) + (m(P, pR) − m(P, pP))]
    data effect   = ½ [(m(R, pR) − m(P, pR)) + (m(R, pP) − m(P, pP))]

and the two add up to the replayed change ``m(R, pR) − m(P, pP)`` exactly. When more than
one part of the policy changed (the model, the thresholds, the strategies: a daily retrain
and a strategy going live), the policy effect is split among them the same way, the parts
being Shapley's players: each data goes through the previous policy with every subset of
the run's changed parts (at most 8 policies; each model predicts once per data). The recorded
change (from the runs' ``metrics.parquet``) and the residual (recorded − replayed) show how
faithfully the replay rebuilt each run's own decisions: 0 when it did.

What the replay cannot see: the residual checks the two runs' own combinations, not the
crossed ones. Crossed, a retrained model scores the other run's labelled sellers in
sample (it may have been trained on them), where their own run had out-of-fold scores;
this leans the crossed values, by a few labelled sellers at most (0.01 points of
``syndicate_rate`` on the 100k demo). Config changes outside the policy (``data_changes``:
the graph, the rings, the seed) change the tables the policies see, so they count as data.

Heavy modules (scikit-learn, skops) load only when a replay needs a model.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from syndicate.errors import InputFileError, SyndicateError
from syndicate.io import file_sha256
from syndicate.modelfile import FOREST_FILE, MODEL_FILE, model_file
from syndicate.monitor.history import manifest_as_of
from syndicate.monitor.metrics import FIRST_RUN_WINDOW, naive_utc
from syndicate.strategies.file import Strategy, StrategySet, parse_strategies

if TYPE_CHECKING:
    from syndicate.model import SellerClassifier, Thresholds

__all__ = [
    "DEFAULT_METRICS",
    "MATURED_METRICS",
    "POLICY_PARTS",
    "REPLAY_METRICS",
    "MaturedSplit",
    "MetricSplit",
    "Policy",
    "ReplayError",
    "ReplaySplit",
    "matured_split",
    "policy_changes",
    "read_policy",
    "replay_split",
]

logger = logging.getLogger("syndicate.monitor.replay")

#: The metrics a replay can rebuild (whole marketplace): what each counts over what.
REPLAY_METRICS: Mapping[str, str] = {
    "syndicate_rate": "sellers decided syndicate / sellers",
    "review_rate": "sellers decided review / sellers",
    "bad_seller_onboarding_rate": "new sellers decided syndicate or known bad / new sellers",
    "strategy_hit_rate": "sellers any strategy fired on (shadow ones too) / sellers",
}

#: The parts of a policy; the policy effect is split among those that changed.
POLICY_PARTS: tuple[str, ...] = ("model", "thresholds", "strategies")

#: What :func:`replay_split` splits unless told otherwise.
DEFAULT_METRICS: tuple[str, ...] = (
    "syndicate_rate",
    "review_rate",
    "bad_seller_onboarding_rate",
)

#: Config sections that are part of the policy (thresholds, strategies, the model's
#: training) or that decide nothing (monitor, output); a change elsewhere (the graph, the
#: rings, the seed) changes the data a policy sees, and is reported as such.
_POLICY_SECTIONS = ("decisions", "model", "monitor", "output")

#: ``labels.parquet`` / ``rings.parquet`` columns a policy writes; the rest is data.
_RING_DECISION_COLUMNS = (
    "ring_score",
    "mean_seller_score",
    "decision",
    "decision_source",
    "model_decision",
    "strategies",
)

#: How many changes a sentence names before it says "and N more".
_NAMED_CHANGES = 3


class ReplayError(SyndicateError):
    """The two runs cannot be replayed through each other's policy (the message says why)."""


class _Skip(Exception):
    """One metric cannot be replayed; the message says why."""


# ---------------------------------------------------------------------------------------
# policies


@dataclass(frozen=True)
class Policy:
    """What turned a run's data into its decisions.

    Attributes
    ----------
    model_sha256 : str or None
        The sha256 of the run's model file (``model/model.npz`` or ``model.skops``); ``None``
        in a cold start (scores from ring structure).
    model_source : str
        ``trained``, ``saved_model`` or ``cold_start`` (``run.json``'s ``model.source``).
    syndicate_threshold, review_threshold : float or None
        The decision thresholds (``None``: no score reaches that decision).
    strategies : StrategySet or None
        The run's ``strategies.toml``; ``None`` when it ran without one.
    """

    model_sha256: str | None
    model_source: str
    syndicate_threshold: float | None
    review_threshold: float | None
    strategies: StrategySet | None = None

    @property
    def cold_start(self) -> bool:
        """True when scores come from ring structure, not a model."""
        return self.model_sha256 is None

    def thresholds(self) -> Thresholds:
        """The thresholds as :class:`syndicate.model.Thresholds` (source ``replay``)."""
        from syndicate.model import Thresholds

        return Thresholds(self.syndicate_threshold, self.review_threshold, "replay")


def _manifest(folder: Path) -> dict[str, Any]:
    path = folder / "run.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputFileError(f"{path}: not found (is {str(folder)!r} a run folder?)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputFileError(f"{path}: cannot be read as a run manifest ({exc})") from exc
    if not isinstance(manifest, dict):
        raise InputFileError(f"{path}: the run manifest is not a JSON object")
    return manifest


def _threshold(recorded: Mapping[str, Any], name: str, path: Path) -> float | None:
    value = recorded.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputFileError(f"{path}: thresholds.{name} is not a number; got {value!r}")
    return float(value)


def _policy(folder: Path, manifest: Mapping[str, Any]) -> Policy:
    path = folder / "run.json"
    model = manifest.get("model")
    thresholds = manifest.get("thresholds")
    if not isinstance(model, dict) or not isinstance(thresholds, dict):
        raise InputFileError(f"{path}: lacks the model or thresholds a run records")
    source = model.get("source")
    if source not in ("trained", "saved_model", "cold_start"):
        raise InputFileError(
            f"{path}: model.source is not trained, saved_model or cold_start; got {source!r}"
        )
    sha = model.get("sha256")
    if source != "cold_start" and not isinstance(sha, str):
        saved = model_file(folder / "model")
        if saved is None:  # a manifest from before the sha256 was recorded
            raise InputFileError(
                f"{path}: records no model sha256, and {folder / 'model'} holds no model"
            )
        sha = file_sha256(saved)
    return Policy(
        model_sha256=sha if source != "cold_start" else None,
        model_source=source,
        syndicate_threshold=_threshold(thresholds, "syndicate", path),
        review_threshold=_threshold(thresholds, "review", path),
        strategies=_strategies(folder, manifest.get("strategies")),
    )


def _strategies(folder: Path, recorded: object) -> StrategySet | None:
    if recorded is None:
        return None
    file = folder / "strategies.toml"
    if not isinstance(recorded, dict) or not file.is_file():
        raise InputFileError(
            f"{file}: not found, though {folder / 'run.json'} says the run applied strategies"
        )
    data = file.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{file}: is not UTF-8 text (byte {exc.start})") from None
    rules = parse_strategies(
        text, source=f"strategies file {str(file)!r}", path=str(file), data=data
    )
    expected = recorded.get("sha256")
    if isinstance(expected, str) and rules.sha256 != expected:
        raise InputFileError(
            f"{file}: its sha256 is not the one {folder / 'run.json'} records: the file was "
            "changed after the run"
        )
    return rules


def read_policy(run: str | os.PathLike[str]) -> Policy:
    """The policy of a run folder: its model's sha256, thresholds and strategies.

    Raises
    ------
    InputFileError
        ``run.json`` is missing or unreadable, or ``strategies.toml`` is missing or was
        changed after the run.
    """
    folder = Path(run)
    return _policy(folder, _manifest(folder))


def _number(value: float | None, other: float | None) -> str:
    if value is None:
        return "none"
    shown = f"{value:.3f}"
    if other is not None and shown == f"{other:.3f}" and value != other:
        return f"{value:.6g}"
    return shown


def _model_change(before: Policy, after: Policy) -> list[str]:
    if before.model_sha256 == after.model_sha256:
        return []
    if before.cold_start:
        return ["model replaced cold-start scores"]
    if after.cold_start:
        return ["cold start replaced the model"]
    return ["model retrained" if after.model_source == "trained" else "model replaced"]


def _threshold_changes(before: Policy, after: Policy) -> list[str]:
    changes = []
    for name in ("syndicate", "review"):
        old = getattr(before, f"{name}_threshold")
        new = getattr(after, f"{name}_threshold")
        if old != new:
            changes.append(f"{name} threshold {_number(old, new)} → {_number(new, old)}")
    return changes


def _strategy_change(name: str, old: Strategy | None, new: Strategy | None) -> str | None:
    """What happened to one strategy, in words; None when nothing that matters did."""
    was = "off" if old is None else old.status
    now = "off" if new is None else new.status
    if was == "off" and now == "off":
        return None  # an off strategy decides and records nothing, present or not
    if new is None:
        return f"strategy {name} removed" + (" (it was in shadow)" if was == "shadow" else "")
    if now == "off":
        return f"strategy {name} was switched off" + (" (from shadow)" if was == "shadow" else "")
    if was != now:
        if now == "active":
            return f"strategy {name} went live"
        return (
            f"strategy {name} was added in shadow"
            if was == "off"
            else (f"strategy {name} went back to shadow")
        )
    assert old is not None
    parts = []
    if old.when != new.when:
        parts.append("changed its condition")
    if old.scope != new.scope:
        parts.append(f"now reads the {new.scope} (was {old.scope})")
    if old.action != new.action:
        parts.append(f"now decides {new.action} (was {old.action})")
    if not parts:
        return None
    shadow = " (in shadow)" if now == "shadow" else ""
    return f"strategy {name}{shadow} {' and '.join(parts)}"


def _strategy_changes(before: StrategySet | None, after: StrategySet | None) -> list[str]:
    old = {s.name: s for s in (before.strategies if before else ())}
    new = {s.name: s for s in (after.strategies if after else ())}
    names = [*new, *(name for name in old if name not in new)]
    changes = (_strategy_change(name, old.get(name), new.get(name)) for name in names)
    return [change for change in changes if change is not None]


def _changed_parts(before: Policy, after: Policy) -> dict[str, list[str]]:
    """The parts of the policy that changed (of :data:`POLICY_PARTS`), with their changes."""
    parts = {
        "model": _model_change(before, after),
        "thresholds": _threshold_changes(before, after),
        "strategies": _strategy_changes(before.strategies, after.strategies),
    }
    return {part: changes for part, changes in parts.items() if changes}


def _policy_changes(before: Policy, after: Policy) -> list[str]:
    return [change for changes in _changed_parts(before, after).values() for change in changes]


def _mixed(before: Policy, after: Policy, taken: frozenset[str]) -> Policy:
    """``before`` with the parts named in ``taken`` from ``after``."""
    model = after if "model" in taken else before
    thresholds = after if "thresholds" in taken else before
    return Policy(
        model_sha256=model.model_sha256,
        model_source=model.model_source,
        syndicate_threshold=thresholds.syndicate_threshold,
        review_threshold=thresholds.review_threshold,
        strategies=(after if "strategies" in taken else before).strategies,
    )


def policy_changes(run: str | os.PathLike[str], previous: str | os.PathLike[str]) -> list[str]:
    """What changed in the decision policy from ``previous`` to ``run``, in words.

    ``model retrained`` (or ``model replaced``, ``model replaced cold-start scores``,
    ``cold start replaced the model``) when the model's sha256 differs; ``syndicate
    threshold 0.692 → 0.640``; per strategy, by name: ``strategy fast-ring went live``,
    ``... was added in shadow``, ``... went back to shadow``, ``... was switched off``,
    ``... removed``, ``... changed its condition`` (``now decides review (was
    syndicate)``, ``now reads the ring (was seller)``). A strategy ``off`` in both runs,
    or in one and absent from the other, changes nothing; nor do descriptions, owners or
    the order of the file. Empty when the policies decide alike.

    Raises
    ------
    InputFileError
        As :func:`read_policy`.
    """
    return _policy_changes(read_policy(previous), read_policy(run))


def _flat(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flat(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _shown(value: object, width: int = 40) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else f"{text[: width - 1]}…"


def _config_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """Config keys outside the policy that differ (they change what the policy sees)."""
    old = _flat(before.get("config") or {})
    new = _flat(after.get("config") or {})
    changes = []
    for key in sorted(set(old) | set(new)):
        if key.split(".")[0] in _POLICY_SECTIONS or old.get(key) == new.get(key):
            continue
        changes.append(f"{key} {_shown(old.get(key))} → {_shown(new.get(key))}")
    return changes


# ---------------------------------------------------------------------------------------
# the result


def _points(rate: float) -> str:
    """A rate's change in percentage points, signed, never ``-0.00``."""
    points = round(rate * 100, 2)
    return f"{points + 0.0 if points else 0.0:+.2f}"


@dataclass(frozen=True)
class MetricSplit:
    """One metric's change from the previous run, split into our change and the data's.

    Attributes
    ----------
    metric : str
        One of :data:`REPLAY_METRICS`.
    run_data_run_policy, run_data_previous_policy, previous_data_run_policy, \
previous_data_previous_policy : float
        The metric of each (data, policy) combination: ``m(R, pR)``, ``m(R, pP)``,
        ``m(P, pR)``, ``m(P, pP)``.
    policy_effect, data_effect : float
        The Shapley split (module docstring); they add up to ``replayed_change``.
    policy_parts : dict of str to float
        The policy effect split among the parts of the policy that changed
        (:data:`POLICY_PARTS`), again by Shapley, the parts being the players: they add
        up to ``policy_effect``.
    replayed_change : float
        ``m(R, pR) − m(P, pP)``.
    recorded_change : float or None
        The change between the runs' own ``metrics.parquet`` (None if either lacks it).
    residual : float or None
        ``recorded_change − replayed_change``: 0 when the replay rebuilt both runs' own
        decisions.
    """

    metric: str
    run_data_run_policy: float
    run_data_previous_policy: float
    previous_data_run_policy: float
    previous_data_previous_policy: float
    policy_effect: float
    data_effect: float
    replayed_change: float
    recorded_change: float | None
    residual: float | None
    policy_parts: Mapping[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain data, for JSON."""
        fields = {name: getattr(self, name) for name in self.__dataclass_fields__}
        return {**fields, "policy_parts": dict(self.policy_parts)}


@dataclass(frozen=True)
class ReplaySplit:
    """The metrics' changes between two runs, split by replay (:func:`replay_split`).

    Attributes
    ----------
    run, previous : str
        The two run folders, as given.
    changes : tuple of str
        What changed in the policy (:func:`policy_changes`).
    part_changes : dict of str to tuple of str
        The same changes by part of the policy (:data:`POLICY_PARTS`), for the parts that
        changed.
    data_changes : tuple of str
        Config keys outside the policy that changed (``rings.leiden_resolution 0.35 →
        0.5``): they change the tables the policies see, so their effect is part of the
        data effect.
    metrics : tuple of MetricSplit
        One per metric replayed, in the order asked for.
    skipped : dict of str to str
        Metrics asked for but not replayed, and why.
    """

    run: str
    previous: str
    changes: tuple[str, ...]
    data_changes: tuple[str, ...]
    metrics: tuple[MetricSplit, ...]
    skipped: Mapping[str, str] = field(default_factory=dict)
    part_changes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def metric(self, name: str) -> MetricSplit:
        """The split of one metric.

        Raises
        ------
        KeyError
            ``name`` was not replayed (the message gives the reason when it was skipped).
        """
        for split in self.metrics:
            if split.metric == name:
                return split
        why = self.skipped.get(name, "it was not asked for")
        raise KeyError(f"{name!r} was not replayed: {why}")

    def because(self, changes: Sequence[str] | None = None) -> str:
        """The policy's changes (or ``changes``) as a phrase: the first few, then how many
        more."""
        given = self.changes if changes is None else changes
        named = list(given[:_NAMED_CHANGES])
        rest = len(given) - len(named)
        if rest:
            named.append(f"{rest} more")
        if len(named) <= 1:
            return "".join(named)
        return f"{', '.join(named[:-1])} and {named[-1]}"

    def _our_change(self, split: MetricSplit) -> str:
        """What our change was, with each part's share when more than one part changed."""
        parts = [part for part in POLICY_PARTS if part in split.policy_parts]
        if len(parts) < 2 or set(parts) - set(self.part_changes):
            return self.because()
        ranked = sorted(parts, key=lambda part: -abs(split.policy_parts[part]))
        return "; ".join(
            f"{self.because(self.part_changes[part])} {_points(split.policy_parts[part])}"
            for part in ranked
        )

    def sentence(self, name: str) -> str:
        """One metric's split in words (a skipped one says why it was not replayed).

        Examples
        --------
        >>> part = MetricSplit("syndicate_rate", 0.124, 0.102, 0.120, 0.100,
        ...                    policy_effect=0.021, data_effect=0.003, replayed_change=0.024,
        ...                    recorded_change=0.024, residual=0.0)
        >>> split = ReplaySplit("runs/day-08", "runs/day-07",
        ...                     ("strategy fast-ring went live",), (), (part,))
        >>> split.sentence("syndicate_rate")
        'syndicate_rate: +2.10 points from our own change (strategy fast-ring went live), \
+0.30 from the data'
        """
        if name in self.skipped:
            return f"{name}: not replayed ({self.skipped[name]})"
        split = self.metric(name)
        text = (
            f"{name}: {_points(split.policy_effect)} points from our own change "
            f"({self._our_change(split)}), {_points(split.data_effect)} from the data"
        )
        if split.residual is not None and abs(split.residual) >= 5e-5:  # 0.005 points
            text += (
                f"; the recorded change is {_points(split.recorded_change or 0.0)} points, "
                f"{_points(split.residual)} of it not rebuilt by the replay"
            )
        return text

    def sentences(self) -> list[str]:
        """:meth:`sentence` of every metric asked for (skipped ones say why)."""
        return [
            *(self.sentence(split.metric) for split in self.metrics),
            *(self.sentence(name) for name in self.skipped),
        ]

    def as_dict(self) -> dict[str, Any]:
        """Plain data, for JSON."""
        return {
            "run": self.run,
            "previous": self.previous,
            "changes": list(self.changes),
            "part_changes": {part: list(changes) for part, changes in self.part_changes.items()},
            "data_changes": list(self.data_changes),
            "metrics": [split.as_dict() for split in self.metrics],
            "skipped": dict(self.skipped),
            "sentences": self.sentences(),
        }


# ---------------------------------------------------------------------------------------
# one run's data


def _located(recorded: str, folder: Path, accept: Callable[[Path], bool]) -> Path | None:
    """The first reading of a recorded path that ``accept`` takes: as it stands (absolute,
    or from this process's working directory), then from each folder above the run folder
    (a run records paths from the directory it started in, which is not written down)."""
    path = Path(recorded)
    if path.is_absolute():
        candidates = [path]
    else:
        candidates = [Path.cwd() / path, *(above / path for above in folder.resolve().parents)]
    seen: set[Path] = set()
    for candidate in candidates:
        if candidate in seen or not candidate.exists():
            continue
        seen.add(candidate)
        if accept(candidate):
            return candidate
    return None


@dataclass
class _Run:
    """A run folder as the replay reads it; tables load on first use."""

    given: str
    folder: Path
    manifest: dict[str, Any]
    policy: Policy
    _tables: dict[str, pl.DataFrame] = field(default_factory=dict)

    @classmethod
    def read(cls, run: str | os.PathLike[str]) -> _Run:
        folder = Path(run)
        manifest = _manifest(folder)
        return cls(str(run), folder, manifest, _policy(folder, manifest))

    def table(self, name: str) -> pl.DataFrame:
        if name not in self._tables:
            path = self.folder / f"{name}.parquet"
            if not path.is_file():
                raise ReplayError(f"{path}: not found")
            try:
                self._tables[name] = pl.read_parquet(path)
            except (pl.exceptions.PolarsError, OSError) as exc:
                raise ReplayError(f"{path}: cannot be read ({exc})") from exc
        return self._tables[name]

    def recorded(self, metric: str) -> float | None:
        """The run's own whole-marketplace value of ``metric`` (``metrics.parquet``)."""
        try:
            rows = self.table("metrics")
        except ReplayError:
            return None
        value = rows.filter((pl.col("metric") == metric) & pl.col("segment_kind").is_null())[
            "value"
        ]
        if value.len() == 0:
            # A run without strategies records no strategy_hit_rate: nothing fired.
            no_rules = metric == "strategy_hit_rate" and self.policy.strategies is None
            return 0.0 if no_rules else None
        return value[0]

    def input_file(self, name: str) -> Path | None:
        """The input file ``name`` the run read, if it is still there with the same bytes."""
        inputs = self.manifest.get("inputs")
        recorded = inputs.get(name) if isinstance(inputs, dict) else None
        if not isinstance(recorded, dict) or not isinstance(recorded.get("path"), str):
            return None
        sha = recorded.get("sha256")
        return _located(
            recorded["path"],
            self.folder,
            lambda path: path.is_file() and file_sha256(path) == sha,
        )

    def previous_as_of(self) -> datetime | None:
        """The as-of time of the run this one followed (None: it followed none).

        Raises
        ------
        _Skip
            That run is not found, or its ``run.json`` is now another run's.
        """
        recorded = self.manifest.get("previous")
        if recorded is None:
            return None
        if not isinstance(recorded, str):
            raise _Skip(f"{self.folder / 'run.json'} records previous as {recorded!r}")
        found = _located(recorded, self.folder, lambda path: (path / "run.json").is_file())
        if found is None:
            raise _Skip(f"the run before {self.given}, {recorded!r}, is not found")
        if found.resolve() == self.folder.resolve():
            # The daily job into one folder (--previous = --out): its run.json is this
            # run's now. Only a first run (no earlier run in it) is known.
            notes = self.manifest.get("warnings") or []
            first = any("holds no earlier run yet" in str(note) for note in notes)
            if first:
                return None
            raise _Skip(
                f"{self.given} followed an earlier run in the same folder, whose as-of time "
                "is overwritten"
            )
        return _as_of(_manifest(found), found)


def _as_of(manifest: Mapping[str, Any], folder: Path) -> datetime:
    try:
        return manifest_as_of(manifest, folder / "run.json")
    except InputFileError:
        raise _Skip(f"{folder / 'run.json'} records no as-of time") from None


def _validated(run: _Run) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The run's sellers and labels inputs (found again by their sha256), validated as the
    run validated them: ``(sellers, known labels)``.

    Raises
    ------
    _Skip
        An input is gone or changed, or no longer validates.
    """
    # Private helpers of validation, so that created_at and the labels come out exactly as
    # the run had them (sentinel dates nulled, conflicting labels refused).
    from syndicate.validation import (
        _FUTURE_SLACK,
        _Refusals,
        _validate_labels,
        _validate_sellers,
    )

    sellers_file = run.input_file("sellers")
    if sellers_file is None:
        raise _Skip(f"the sellers input of {run.given} is gone or changed")
    labels_given = isinstance(run.manifest.get("inputs", {}).get("labels"), dict)
    labels_file = run.input_file("labels") if labels_given else None
    if labels_given and labels_file is None:
        raise _Skip(f"the labels input of {run.given} is gone or changed")
    try:  # validation refused inputs later than the run's start (and a day) as sentinels
        started = datetime.fromisoformat(run.manifest["started_at"])
    except (KeyError, TypeError, ValueError):
        raise _Skip(f"{run.folder / 'run.json'} records no start time") from None
    refusals = _Refusals()
    try:
        sellers, from_sellers = _validate_sellers(
            sellers_file, refusals, naive_utc(started) + _FUTURE_SLACK
        )
        known = _validate_labels(labels_file, from_sellers, sellers["seller_id"], refusals)
    except SyndicateError as exc:
        raise _Skip(f"the inputs of {run.given} no longer validate: {exc}") from exc
    return sellers, known


def _onboarding(run: _Run) -> pl.DataFrame:
    """``seller_id``, ``new`` and ``known_bad`` of the run's sellers, as its metrics had them.

    The sellers and labels inputs are read again (found by their sha256) and validated as
    the run validated them; new sellers are those created after the previous run's as-of.

    Raises
    ------
    _Skip
        An input is gone or changed, or the previous run's as-of time is not known.
    """
    sellers, known = _validated(run)
    as_of = _as_of(run.manifest, run.folder)
    previous = run.previous_as_of()
    low = naive_utc(previous if previous is not None else as_of - FIRST_RUN_WINDOW)
    high = naive_utc(as_of)
    created = pl.col("created_at")
    new = (
        ((created > low) & (created <= high)).fill_null(False)
        if "created_at" in sellers.columns
        else pl.lit(False)
    )
    bad = known.filter(pl.col("label") == 1).select("seller_id", pl.lit(True).alias("known_bad"))
    table = (
        sellers.select("seller_id", new.alias("new"))
        .join(bad, on="seller_id", how="left")
        .with_columns(pl.col("known_bad").fill_null(False))
    )
    expected = run.recorded("new_sellers")
    found = int(table["new"].sum())
    if expected is not None and found != expected:
        raise _Skip(
            f"the new sellers of {run.given} come out as {found:,}, not the {int(expected):,} "
            "its metrics counted"
        )
    return table


# ---------------------------------------------------------------------------------------
# one (data, policy) combination


class _Models:
    """Each policy's model, loaded once (checked against the sha256 its run recorded)."""

    def __init__(self) -> None:
        self._loaded: dict[str, tuple[SellerClassifier, list[str]]] = {}

    def get(self, run: _Run) -> tuple[SellerClassifier, list[str]]:
        sha = run.policy.model_sha256
        assert sha is not None
        if sha not in self._loaded:
            from syndicate.model import load_model

            folder = run.folder / "model"
            saved = model_file(folder)
            if saved is None:
                raise ReplayError(
                    f"{folder / FOREST_FILE}: not found, nor {MODEL_FILE}, so {run.given}'s "
                    "model cannot be replayed"
                )
            if file_sha256(saved) != sha:
                raise ReplayError(
                    f"{saved}: its sha256 is not the one {run.given}'s run.json records"
                )
            try:
                estimator, card = load_model(folder)
            except InputFileError as exc:
                raise ReplayError(str(exc)) from exc
            names = card.get("feature_names")
            if not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
                raise ReplayError(f"{folder / 'model_card.json'}: has no list of feature_names")
            self._loaded[sha] = (estimator, names)
        return self._loaded[sha]


def _scores(data: _Run, policy: _Run, models: _Models) -> pl.DataFrame:
    """``seller_id``, ``ring_id``, ``seller_score``, ``score_source`` of ``data``'s sellers
    under ``policy``'s scorer (see the module docstring, step 1)."""
    labels = data.table("labels").select("seller_id", "ring_id", "seller_score", "score_source")
    if policy.policy.model_sha256 == data.policy.model_sha256:
        return labels
    if policy.policy.cold_start:
        structure = data.table("rings").select("ring_id", "structure_score")
        return (
            labels.drop("seller_score", "score_source")
            .join(structure, on="ring_id", how="left", maintain_order="left")
            .select(
                "seller_id",
                "ring_id",
                pl.col("structure_score").fill_null(0.0).cast(pl.Float64).alias("seller_score"),
                pl.lit("structure").alias("score_source"),
            )
        )
    from syndicate.model import feature_matrix

    estimator, names = models.get(policy)
    features = data.table("features")
    missing = [name for name in names if name not in features.columns]
    if missing:
        raise ReplayError(
            f"the model of {policy.given} reads feature columns that {data.given}'s "
            f"features.parquet lacks: {missing[:5]}"
        )
    predicted = features.select(
        "seller_id",
        pl.Series(
            "seller_score",
            estimator.bad_score(feature_matrix(features, names, for_prediction=True)),
            pl.Float64,
        ),
    )
    return (
        labels.drop("seller_score", "score_source")
        .join(predicted, on="seller_id", how="left", maintain_order="left")
        .select(
            "seller_id",
            "ring_id",
            pl.col("seller_score").fill_null(0.0),
            pl.lit("saved_model").alias("score_source"),
        )
    )


def _decisions(data: _Run, policy: Policy, scores: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """The sellers with the policy's ``decision``, and how many a strategy fired on."""
    from syndicate.scoring import ring_scores
    from syndicate.strategies.apply import apply_decisions, strategy_hits

    thresholds = policy.thresholds()
    by_ring = ring_scores(scores.select("ring_id", "seller_score"))
    labels = scores.join(
        by_ring.select("ring_id", "ring_score"), on="ring_id", how="left", maintain_order="left"
    ).with_columns(thresholds.decide(pl.col("seller_score")).alias("decision"))
    if policy.strategies is None:
        return labels, 0
    rings = (
        data.table("rings")
        .drop(_RING_DECISION_COLUMNS, strict=False)
        .join(by_ring, on="ring_id", how="left", maintain_order="left")
        .with_columns(
            thresholds.decide(pl.col("ring_score")).alias("decision"),
            thresholds.decide(pl.col("ring_score")).alias("model_decision"),
            pl.lit("cold_start" if policy.cold_start else "model").alias("decision_source"),
            pl.lit([], dtype=pl.List(pl.String)).alias("strategies"),
        )
    )
    try:
        hits = strategy_hits(policy.strategies, data.table("features"), labels, rings)
    except SyndicateError as exc:
        raise ReplayError(f"the strategies do not run on {data.given}'s tables: {exc}") from exc
    decided = apply_decisions(labels, hits, policy.strategies)
    return decided, hits["seller_id"].n_unique()


def _values(
    decided: pl.DataFrame, fired: int, onboarding: pl.DataFrame | None, metrics: Sequence[str]
) -> dict[str, float | None]:
    """The metrics of one combination (None: no denominator)."""
    n = decided.height
    syndicate = pl.col("decision") == "syndicate"
    counts = decided.select(
        syndicate.sum().alias("syndicate_rate"),
        (pl.col("decision") == "review").sum().alias("review_rate"),
    ).row(0, named=True)
    values: dict[str, float | None] = {
        "syndicate_rate": counts["syndicate_rate"] / n if n else None,
        "review_rate": counts["review_rate"] / n if n else None,
        "strategy_hit_rate": fired / n if n else None,
    }
    if onboarding is not None and "bad_seller_onboarding_rate" in metrics:
        new = onboarding.join(decided.select("seller_id", "decision"), on="seller_id", how="left")
        row = new.select(
            pl.col("new").sum().alias("new"),
            (pl.col("new") & (syndicate.fill_null(False) | pl.col("known_bad"))).sum().alias("bad"),
        ).row(0, named=True)
        values["bad_seller_onboarding_rate"] = row["bad"] / row["new"] if row["new"] else None
    return {metric: values.get(metric) for metric in metrics}


# ---------------------------------------------------------------------------------------
# the split


def _subsets(parts: Sequence[str]) -> list[frozenset[str]]:
    subsets = [frozenset[str]()]
    for part in parts:
        subsets += [subset | {part} for subset in subsets]
    return subsets


def _shapley(parts: Sequence[str], value: Mapping[frozenset[str], float]) -> dict[str, float]:
    """Each part's Shapley value of the game ``value`` over subsets of ``parts``."""
    n = len(parts)
    shares = {}
    for part in parts:
        share = 0.0
        for subset in _subsets([p for p in parts if p != part]):
            size = len(subset)
            weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            share += weight * (value[subset | {part}] - value[subset])
        shares[part] = share
    return shares


def _split(
    metric: str,
    grid: Mapping[tuple[str, frozenset[str]], Mapping[str, float | None]],
    parts: Sequence[str],
    recorded: tuple[float | None, float | None],
    runs: Mapping[str, _Run],
) -> MetricSplit | str:
    """The split of ``metric`` from the grid of (data, parts of the run's policy taken), or
    why there is none. The empty set is the previous run's policy, all parts the run's."""
    empty = [runs[data].given for (data, _), values in grid.items() if values[metric] is None]
    if empty:
        counted = "new sellers" if metric == "bad_seller_onboarding_rate" else "sellers"
        return f"{empty[0]} has no {counted} to count it over"
    value = {key: float(values[metric] or 0.0) for key, values in grid.items()}
    every, none = frozenset(parts), frozenset[str]()
    rr, rp = value["run", every], value["run", none]
    pr, pp = value["previous", every], value["previous", none]
    policy_effect = ((rr - rp) + (pr - pp)) / 2
    data_effect = ((rr - pr) + (rp - pp)) / 2
    by_data = [
        _shapley(parts, {key[1]: v for key, v in value.items() if key[0] == data})
        for data in ("run", "previous")
    ]
    now, before = recorded
    change = None if now is None or before is None else now - before
    return MetricSplit(
        metric=metric,
        run_data_run_policy=rr,
        run_data_previous_policy=rp,
        previous_data_run_policy=pr,
        previous_data_previous_policy=pp,
        policy_effect=policy_effect,
        data_effect=data_effect,
        replayed_change=rr - pp,
        recorded_change=change,
        residual=None if change is None else change - (rr - pp),
        policy_parts={part: (by_data[0][part] + by_data[1][part]) / 2 for part in parts},
    )


def replay_split(
    run: str | os.PathLike[str],
    previous: str | os.PathLike[str],
    metrics: Sequence[str] = DEFAULT_METRICS,
    *,
    strict: bool = False,
) -> ReplaySplit | None:
    """Split the metrics' changes from ``previous`` to ``run`` into our change and the data's.

    Each run's data goes through both runs' policies (the module docstring says how); the
    result holds the four values of each metric, the Shapley split, the recorded change
    and the residual.

    Parameters
    ----------
    run, previous
        Two run folders: the later run and the one it is compared with.
    metrics
        Names of :data:`REPLAY_METRICS`. ``bad_seller_onboarding_rate`` needs the sellers
        and labels inputs each run read (found by the paths and sha256 ``run.json``
        records) and the as-of time of the run each run followed; without them it is
        skipped, with the reason in :attr:`ReplaySplit.skipped`.
    strict
        Raise :class:`ReplayError` instead of returning None when the runs cannot be
        replayed.

    Returns
    -------
    ReplaySplit or None
        None when the policies decide alike (:func:`policy_changes` is empty: every change
        is the data's, nothing to split), or when the runs cannot be replayed through each
        other's policy (a model file gone, features the other model does not know, a
        strategy reading a column the other run lacks); the reason is logged on
        ``syndicate.monitor.replay``.

    Raises
    ------
    InputFileError
        A folder is not a run folder, or its ``strategies.toml`` is gone or changed.
    ValueError
        A metric is not one of :data:`REPLAY_METRICS`.
    """
    unknown = [metric for metric in metrics if metric not in REPLAY_METRICS]
    if unknown:
        raise ValueError(
            f"metric {unknown[0]!r} cannot be replayed; choose from {', '.join(REPLAY_METRICS)}"
        )
    runs = {"run": _Run.read(run), "previous": _Run.read(previous)}
    parts = _changed_parts(runs["previous"].policy, runs["run"].policy)
    if not parts:
        logger.info("%s and %s decide with the same policy: nothing to replay", previous, run)
        return None
    try:
        return _replay(runs, parts, metrics)
    except ReplayError as exc:
        if strict:
            raise
        logger.warning("no replay of %s against %s: %s", run, previous, exc)
        return None


def _replay(
    runs: Mapping[str, _Run], parts: Mapping[str, list[str]], metrics: Sequence[str]
) -> ReplaySplit:
    skipped: dict[str, str] = {}
    onboarding: dict[str, pl.DataFrame | None] = {"run": None, "previous": None}
    if "bad_seller_onboarding_rate" in metrics:
        try:
            onboarding = {side: _onboarding(runs[side]) for side in runs}
        except _Skip as exc:
            skipped["bad_seller_onboarding_rate"] = str(exc)
    wanted = [metric for metric in metrics if metric not in skipped]
    models = _Models()
    scores: dict[tuple[str, str], pl.DataFrame] = {}
    grid: dict[tuple[str, frozenset[str]], Mapping[str, float | None]] = {}
    before, after = runs["previous"].policy, runs["run"].policy
    for data in ("run", "previous"):
        for taken in _subsets(list(parts)):  # the previous policy, with parts of the run's
            scorer = "run" if "model" in taken else "previous"
            if (data, scorer) not in scores:  # one prediction per (data, model)
                scores[data, scorer] = _scores(runs[data], runs[scorer], models)
            decided, fired = _decisions(
                runs[data], _mixed(before, after, taken), scores[data, scorer]
            )
            grid[data, taken] = _values(decided, fired, onboarding[data], wanted)
    splits = []
    for metric in wanted:
        recorded = (runs["run"].recorded(metric), runs["previous"].recorded(metric))
        split = _split(metric, grid, list(parts), recorded, runs)
        if isinstance(split, str):
            skipped[metric] = split
        else:
            splits.append(split)
    return ReplaySplit(
        run=runs["run"].given,
        previous=runs["previous"].given,
        changes=tuple(change for changes in parts.values() for change in changes),
        data_changes=tuple(_config_changes(runs["previous"].manifest, runs["run"].manifest)),
        metrics=tuple(splits),
        skipped={metric: skipped[metric] for metric in metrics if metric in skipped},
        part_changes={part: tuple(changes) for part, changes in parts.items()},
    )


# ---------------------------------------------------------------------------------------
# matured precision: the decisions of the run before, under the policy before them

#: The matured shares a replay can rebuild: (the decision matured, the label counted).
MATURED_METRICS: Mapping[str, tuple[str, int]] = {
    "matured_syndicate_known_bad": ("syndicate", 1),
    "matured_syndicate_known_good": ("syndicate", 0),
    "matured_review_known_bad": ("review", 1),
    "matured_review_known_good": ("review", 0),
}


@dataclass(frozen=True)
class MaturedSplit:
    """How much of a matured share our own change made (:func:`matured_split`).

    A matured share of run ``R`` counts, among the sellers the run before (``P``) decided
    ``syndicate`` (``review``), those known bad (good) by ``R``'s labels. What our policy
    changed between ``P`` and the run before it (``B``) changed who ``P`` decided so: the
    replay decides ``P``'s data under ``P``'s own policy (``value``) and under ``B``'s
    (``counterfactual``), and matures both with ``R``'s labels.

    Attributes
    ----------
    metric : str
        One of :data:`MATURED_METRICS`.
    decided, before : str
        The run folders ``P`` and ``B``, as given.
    changes : tuple of str
        What changed in the policy from ``B`` to ``P``.
    value, counterfactual : float or None
        The share among ``P``'s decisions under its own policy and under ``B``'s (None:
        no seller so decided).
    recorded : float or None
        ``R``'s own value (``metrics.parquet``); it equals ``value`` when the replay
        rebuilt ``P``'s decisions.
    """

    metric: str
    decided: str
    before: str
    changes: tuple[str, ...]
    value: float | None
    counterfactual: float | None
    recorded: float | None

    @property
    def policy_effect(self) -> float:
        """``value − counterfactual`` (0 when either is None)."""
        if self.value is None or self.counterfactual is None:
            return 0.0
        return self.value - self.counterfactual

    def sentence(self) -> str:
        """Plain words: how far our change moved the share, and by what change."""
        named = list(self.changes[:_NAMED_CHANGES])
        rest = len(self.changes) - len(named)
        what = ", ".join(named) + (f" and {rest} more" if rest else "")
        if self.counterfactual is None:
            return (
                f"{self.metric}: under the policy before ({what}) the run before would have "
                "decided no seller so"
            )
        return (
            f"{self.metric}: {_points(self.policy_effect)} points from our own change to the "
            f"decisions it matures ({what}), in run {self.decided}"
        )


def matured_split(
    run: str | os.PathLike[str],
    decided: str | os.PathLike[str],
    before: str | os.PathLike[str],
    metrics: Sequence[str] = tuple(MATURED_METRICS),
) -> dict[str, MaturedSplit] | None:
    """Split off our own change from the matured shares of ``run`` (see :class:`MaturedSplit`).

    ``decided`` is the run before ``run`` (whose decisions mature), ``before`` the run
    before that. Returns None when the policy did not change from ``before`` to
    ``decided`` (the decisions matured are the policy's as before: any move is the data's).

    Raises
    ------
    ReplayError
        A run folder cannot be replayed (a model file gone, an input changed).
    """
    unknown = [metric for metric in metrics if metric not in MATURED_METRICS]
    if unknown:
        raise ValueError(
            f"metric {unknown[0]!r} is not a matured share; choose from "
            f"{', '.join(MATURED_METRICS)}"
        )
    sides = {"decided": _Run.read(decided), "before": _Run.read(before)}
    parts = _changed_parts(sides["before"].policy, sides["decided"].policy)
    if not parts:
        return None
    later = _Run.read(run)
    try:
        _, known = _validated(later)
    except _Skip as exc:
        raise ReplayError(str(exc)) from exc
    labels = known.group_by("seller_id").agg(pl.col("label").max())
    models = _Models()
    data = sides["decided"]
    shares: dict[str, dict[str, float | None]] = {}
    for side, policy in sides.items():
        decisions, _ = _decisions(data, policy.policy, _scores(data, policy, models))
        judged = decisions.select("seller_id", "decision").join(labels, on="seller_id", how="left")
        shares[side] = {}
        for metric in metrics:
            decision, label = MATURED_METRICS[metric]
            pool = judged.filter(pl.col("decision") == decision)
            held = int((pool["label"] == label).sum())
            shares[side][metric] = held / pool.height if pool.height else None
    changes = tuple(change for changes in parts.values() for change in changes)
    return {
        metric: MaturedSplit(
            metric=metric,
            decided=data.given,
            before=sides["before"].given,
            changes=changes,
            value=shares["decided"][metric],
            counterfactual=shares["before"][metric],
            recorded=later.recorded(metric),
        )
        for metric in metrics
    }
