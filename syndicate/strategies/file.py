"""The strategies file: ``[[strategy]]`` entries in TOML, read and checked.

A strategy is a rule an analyst writes: *when* a condition holds on a seller's feature row
(``scope = "seller"``) or on a ring's row (``scope = "ring"``, applied to every member), the
seller gets an *action* (``syndicate`` or ``review``). ``status`` says whether it decides
(``active``), is only evaluated and recorded (``shadow``), or is skipped (``off``).

The file is checked as a whole before anything runs: unknown keys (with a suggestion),
missing or bad values, duplicate names and the syntax of every condition. Columns and
types are checked when the strategies meet a run's tables (:mod:`.apply`).
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from syndicate.errors import ConfigError
from syndicate.terminal import printable

__all__ = [
    "ACTIONS",
    "MAX_STRATEGIES",
    "SCOPES",
    "STATUSES",
    "Strategy",
    "StrategySet",
    "load_strategies",
    "parse_strategies",
]

Action = Literal["syndicate", "review"]
Scope = Literal["seller", "ring"]
Status = Literal["active", "shadow", "off"]

#: What a strategy may do to the sellers it fires on, weakest first.
ACTIONS: tuple[str, ...] = ("review", "syndicate")
#: What a condition reads: the seller's feature row, or its ring's row of ``rings.parquet``.
SCOPES: tuple[str, ...] = ("seller", "ring")
#: ``active`` decides, ``shadow`` is evaluated and recorded without deciding, ``off`` is skipped.
STATUSES: tuple[str, ...] = ("active", "shadow", "off")
#: More strategies than this in one file is refused (each one is a pass over the tables).
MAX_STRATEGIES = 1000
#: Names: a letter or digit, then letters, digits, ``_``, ``.`` or ``-``; at most 64 in all.
#: They become ``decision_source`` values (``strategy:<name>``) and report anchors, so they
#: stay plain. ``:`` is left out: ``model:syndicate`` and ``model:review`` are the model's.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")

_REQUIRED = ("name", "when", "action")
_DEFAULTS: dict[str, str] = {"scope": "seller", "status": "active", "description": "", "owner": ""}
_KEYS = (*_REQUIRED, *_DEFAULTS)
_CHOICES: dict[str, tuple[str, ...]] = {"action": ACTIONS, "scope": SCOPES, "status": STATUSES}
_MAX_TEXT = 2000  # description and owner


@dataclass(frozen=True)
class Strategy:
    """One ``[[strategy]]`` entry.

    Attributes
    ----------
    name : str
        Unique in the file (case-insensitively); see :data:`NAME_PATTERN`.
    when : str
        The condition (:func:`syndicate.strategies.compile_condition`).
    action : {"syndicate", "review"}
        The decision the strategy gives the sellers it fires on.
    scope : {"seller", "ring"}
        ``seller``: the condition reads the seller's feature row; ``ring``: its ring's row,
        and a ring that matches fires on every member.
    status : {"active", "shadow", "off"}
        ``active`` decides; ``shadow`` is evaluated and recorded but never decides; ``off``
        is not evaluated.
    description, owner : str
        Free text for the reports.
    """

    name: str
    when: str
    action: Action
    scope: Scope = "seller"
    status: Status = "active"
    description: str = ""
    owner: str = ""

    @property
    def source(self) -> str:
        """The ``decision_source`` of a seller this strategy decides: ``strategy:<name>``."""
        return f"strategy:{self.name}"


@dataclass(frozen=True)
class StrategySet:
    """The strategies of one file, in file order, and the file's fingerprint.

    Attributes
    ----------
    strategies : tuple of Strategy
        Every entry, ``off`` ones included, in the order of the file.
    sha256 : str
        The SHA-256 of the file's bytes (of the text for :func:`parse_strategies`).
    path : str or None
        The file it came from.
    data : bytes
        The file's bytes as read (a run keeps this copy as ``strategies.toml``).
    """

    strategies: tuple[Strategy, ...]
    sha256: str
    path: str | None = None
    data: bytes = field(default=b"", repr=False)

    @property
    def evaluated(self) -> tuple[Strategy, ...]:
        """The strategies that run: every one but the ``off`` ones."""
        return tuple(s for s in self.strategies if s.status != "off")

    @property
    def names(self) -> tuple[str, ...]:
        """Every strategy's name, in file order."""
        return tuple(s.name for s in self.strategies)

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary for ``run.json``: the file, its hash and the entries."""
        return {
            "path": self.path,
            "sha256": self.sha256,
            "strategies": [
                {"name": s.name, "action": s.action, "scope": s.scope, "status": s.status}
                for s in self.strategies
            ],
        }


def load_strategies(path: str | os.PathLike[str]) -> StrategySet:
    """Read and check a strategies file.

    Raises
    ------
    ConfigError
        The file is missing, unreadable or not valid TOML, or an entry is bad (the message
        names the file and the strategy).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "strategies.toml").write_text('''
    ... [[strategy]]
    ... name = "fast-ring"
    ... when = "ring_size >= 5 AND ring_onboarding_spread_days <= 2"
    ... action = "review"
    ... scope = "ring"
    ... ''')
    >>> load_strategies(folder / "strategies.toml").names
    ('fast-ring',)
    """
    file = Path(path)
    where = f"strategies file {printable(str(file))!r}"
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{where} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"{where} is a folder, not a file") from None
    except OSError as exc:
        raise ConfigError(f"{where} cannot be read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{where} is not UTF-8 text (byte {exc.start})") from None
    return parse_strategies(text, source=where, path=str(file), data=data)


def parse_strategies(
    text: str,
    *,
    source: str = "strategies",
    path: str | None = None,
    data: bytes | None = None,
) -> StrategySet:
    """Check the text of a strategies file (see :func:`load_strategies`)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} is not valid TOML: {exc}") from None
    unknown = sorted(set(document) - {"strategy"})
    if unknown:
        raise ConfigError(
            f"{source}: unknown top-level key {printable(unknown[0])!r}"
            f"{_did_you_mean(unknown[0], ('strategy',))}; each strategy is a [[strategy]] table"
        )
    entries = document.get("strategy")
    if entries is None:
        raise ConfigError(f"{source} holds no [[strategy]] entry")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ConfigError(f"{source}: 'strategy' must be written as [[strategy]] tables")
    if len(entries) > MAX_STRATEGIES:
        raise ConfigError(
            f"{source} holds {len(entries)} strategies; at most {MAX_STRATEGIES} are allowed"
        )
    strategies: list[Strategy] = []
    seen: dict[str, int] = {}
    for number, entry in enumerate(entries, start=1):
        strategy = _strategy(entry, f"{source}, strategy {number}")
        key = strategy.name.casefold()
        if key in seen:
            raise ConfigError(
                f"{source}: strategy {number} is named {strategy.name!r} like strategy "
                f"{seen[key]}; names must be unique (case does not count)"
            )
        seen[key] = number
        strategies.append(strategy)
    raw = text.encode("utf-8") if data is None else data
    return StrategySet(tuple(strategies), _sha256(raw), path, raw)


def _strategy(entry: dict[str, Any], where: str) -> Strategy:
    name = entry.get("name")
    if isinstance(name, str) and NAME_PATTERN.fullmatch(name):
        where = f"{where} ({name!r})"
    unknown = sorted(set(entry) - set(_KEYS))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {printable(unknown[0])!r}{_did_you_mean(unknown[0], _KEYS)}"
            f" (keys: {', '.join(_KEYS)})"
        )
    for key in _REQUIRED:
        if key not in entry:
            raise ConfigError(f"{where}: {key!r} is missing")
    values: dict[str, str] = {}
    for key in _KEYS:
        value = entry.get(key, _DEFAULTS.get(key))
        if not isinstance(value, str):
            raise ConfigError(f"{where}: {key!r} must be a string; got {printable(repr(value))}")
        values[key] = value
    if not NAME_PATTERN.fullmatch(values["name"]):
        raise ConfigError(
            f"{where}: name {printable(values['name'])!r} is not allowed: use 1 to 64 "
            "letters, digits, '_', '.' or '-', starting with a letter or digit"
        )
    for key, choices in _CHOICES.items():
        if values[key] not in choices:
            raise ConfigError(
                f"{where}: {key} {printable(values[key])!r} is not one of "
                f"{', '.join(choices)}{_did_you_mean(values[key], choices)}"
            )
    for key in ("description", "owner"):
        if len(values[key]) > _MAX_TEXT:
            raise ConfigError(f"{where}: {key!r} is longer than {_MAX_TEXT} characters")
    from syndicate.strategies.conditions import check_syntax  # sqlglot: only with strategies

    check_syntax(values["when"], name=values["name"])
    return Strategy(**values)  # type: ignore[arg-type]


def _did_you_mean(word: str, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
