"""A growing synthetic marketplace, one input folder per day (``syndicate synth --days``).

One marketplace of :func:`~syndicate.synth.generate_marketplace` (its rings, households,
businesses, hubs, camouflage, obfuscation and dirt) is given an onboarding history, and
each day's folder holds the sellers created up to the end of that day:

* **Base and inflow.** Before day 0 a base population of about ``base_sellers``; then,
  every day, about ``daily_share * base_sellers`` new sellers. The marketplace has grown at
  that same rate all along (the base took ``1 / daily_share`` days to onboard), so quiet
  days are stationary: honest sellers pick a day in proportion to a day-level traffic
  factor (log-normal, ``daily_noise``; weekends times ``weekend_factor``) and a time of day
  from a daily curve (busy afternoons, quiet nights, UTC).
* **Rings** start at uniformly random times and their members onboard an exponential
  ``ring_spread_days`` apart, so rings grow across days; multi-store businesses open their
  stores over ``business_spread_days``. Members due after the last day never appear.
* **Labels** (the generator's: a share of sellers, a quarter of ring members) arrive
  ``label_delay_days`` (uniform, per seller) after the seller onboarded: a folder holds the
  labels that arrived by its as-of time.
* **Attack day**: ``attack_rings`` planted rings of ``attack_ring_size`` members (with the
  generator's sharing and camouflage) onboard together, within ``attack_window_hours``.
* **Benign day**: an onboarding campaign brings ``benign_factor`` times the usual new
  sellers, honest ones (solo sellers, households and businesses with their usual sharing);
  ring members arrive as on any day.

Seller ids are numbered in onboarding order, so they are stable across days and every day's
sellers (and links, and truth) extend the day before's, row for row; only labels arrive
later. ``category`` is coarsened to :data:`DAILY_CATEGORIES`. Vectorised and deterministic
by seed.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import polars as pl

from syndicate.errors import ConfigError
from syndicate.io import record_written, refuse_foreign_files, write_json_atomic
from syndicate.synth import Marketplace, SynthConfig, generate_marketplace, write_marketplace

__all__ = [
    "DAILY_CATEGORIES",
    "DaysConfig",
    "MarketplaceHistory",
    "day_folder_name",
    "generate_days",
    "write_days",
]

#: The categories of a daily marketplace, and the generator's categories each one holds.
DAILY_CATEGORIES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "fashion": ("fashion", "jewelry", "sports"),
        "electronics": ("electronics", "auto"),
        "home": ("home", "garden", "books", "pets"),
        "beauty": ("beauty", "health"),
        "toys": ("toys",),
    }
)
_CATEGORY_OF = {old: new for new, olds in DAILY_CATEGORIES.items() for old in olds}

#: Sign-ups per hour of the day (UTC), relative: quiet nights, busy afternoons and evenings.
# fmt: off
_HOUR_WEIGHTS = np.array(
    [3, 2, 1.5, 1.2, 1.2, 1.5, 2.5, 4, 5.5, 6.5, 7, 7.5,
     7.5, 7.5, 7.5, 7.5, 7.5, 8, 8.5, 8.5, 8, 7, 5.5, 4],
    dtype=float,
)
# fmt: on
_DAY = 86_400
_HOUR = 3_600
#: The history's own random stream, apart from the generator's.
_STREAM = 0xDA15

_SOLO, _RING, _HOUSEHOLD, _BUSINESS = range(4)
_COHORTS = ("base", "daily", "attack", "campaign")
_BASE, _DAILY, _ATTACK, _CAMPAIGN = range(4)


@dataclass(frozen=True)
class DaysConfig:
    """Parameters of a growing marketplace (:func:`generate_days`).

    Attributes
    ----------
    days
        Number of days (folders), at least 1.
    base_sellers
        About how many sellers exist before day 0.
    seed
        Random seed (the generator's and the history's).
    start
        The date of day 0 (a Monday by default); day *d* ends at 23:59:59 UTC on
        ``start + d`` days, its as-of time.
    daily_share
        Expected new sellers on a quiet day, as a share of ``base_sellers``; in (0, 0.05]
        (the base is ``1 / daily_share`` days of onboarding at that rate).
    daily_noise
        Standard deviation of the log of each day's traffic factor (honest sign-ups).
    weekend_factor
        Traffic on Saturdays and Sundays relative to weekdays (1: no weekly pattern).
    ring_spread_days
        Mean days between a ring's start and each member's onboarding (exponential).
    business_spread_days
        Mean days between a business's first day and each store's opening (exponential).
    label_delay_days
        (low, high): a seller's label arrives uniformly that many days after it onboarded.
    attack_day
        The day of the attack wave; negative counts from the end (-3: the third-last day,
        the default; before day 0, as in a history shorter than that: none); ``None``: no
        attack.
    attack_rings
        Rings in the attack wave.
    attack_ring_size
        (low, high) members of each attack ring (rings of those sizes among the planted ones).
    attack_window_hours
        All attack members onboard within this many hours of the attack day.
    attack_category
        When set, every attack member sells in this category of :data:`DAILY_CATEGORIES`.
    benign_day
        The day of the honest onboarding campaign; negative counts from the end (-6, the
        default; before day 0: none); ``None``: no campaign.
    benign_factor
        New sellers on the campaign day, as a multiple of a quiet day's (at least 1).
    market
        The generator's knobs (sharing, hubs, legit groups, labels, camouflage, dirt); its
        ``n_sellers``, ``seed``, ``start`` and ``end`` are set by the history.

    Examples
    --------
    >>> cfg = DaysConfig(days=10)
    >>> cfg.attack_day, cfg.benign_day
    (7, 4)
    >>> DaysConfig(days=10, attack_day=None).attack_day is None
    True
    """

    days: int = 14
    base_sellers: int = 20_000
    seed: int = 0
    start: date = date(2026, 1, 5)
    daily_share: float = 0.01
    daily_noise: float = 0.1
    weekend_factor: float = 1.0
    ring_spread_days: float = 3.0
    business_spread_days: float = 7.0
    label_delay_days: tuple[float, float] = (3.0, 7.0)
    attack_day: int | None = -3
    attack_rings: int = 8
    attack_ring_size: tuple[int, int] = (5, 12)
    attack_window_hours: float = 4.0
    attack_category: str | None = None
    benign_day: int | None = -6
    benign_factor: float = 4.0
    market: SynthConfig = field(default_factory=SynthConfig)

    def __post_init__(self) -> None:
        _check_int("days", self.days, 1)
        _check_int("base_sellers", self.base_sellers, 100)
        _check_int("seed", self.seed, 0)
        if self.seed >= 2**63:
            raise ConfigError(f"seed must be in [0, 2**63); got {self.seed!r}")
        if not isinstance(self.start, date) or isinstance(self.start, datetime):
            raise ConfigError(f"start must be a date (day 0); got {self.start!r}")
        _check_number("daily_share", self.daily_share, 0.0, 0.05, low_open=True)
        _check_number("daily_noise", self.daily_noise, 0.0, 1.0)
        _check_number("weekend_factor", self.weekend_factor, 0.0, 10.0, low_open=True)
        _check_number("ring_spread_days", self.ring_spread_days, 0.0, 60.0, low_open=True)
        _check_number("business_spread_days", self.business_spread_days, 0.0, 60.0, low_open=True)
        delay = _pair("label_delay_days", self.label_delay_days, float)
        if not 0 <= delay[0] <= delay[1]:
            raise ConfigError(
                f"label_delay_days must be (low, high) with 0 <= low <= high; got {delay!r}"
            )
        object.__setattr__(self, "label_delay_days", delay)
        _check_int("attack_rings", self.attack_rings, 1)
        size = _pair("attack_ring_size", self.attack_ring_size, int)
        if not 2 <= size[0] <= size[1]:
            raise ConfigError(
                f"attack_ring_size must be (low, high) with 2 <= low <= high; got {size!r}"
            )
        object.__setattr__(self, "attack_ring_size", size)
        _check_number("attack_window_hours", self.attack_window_hours, 0.0, 24.0, low_open=True)
        if self.attack_category is not None and self.attack_category not in DAILY_CATEGORIES:
            raise ConfigError(
                f"attack_category must be one of {', '.join(DAILY_CATEGORIES)} or None; "
                f"got {self.attack_category!r}"
            )
        _check_number("benign_factor", self.benign_factor, 1.0, 100.0)
        if not isinstance(self.market, SynthConfig):
            raise ConfigError(f"market must be a SynthConfig; got {self.market!r}")
        for name in ("attack_day", "benign_day"):
            object.__setattr__(self, name, self._resolve_day(name))
        if self.attack_day is not None and self.attack_day == self.benign_day:
            raise ConfigError(
                f"attack_day and benign_day must be different days; both are {self.attack_day}"
            )

    def _resolve_day(self, name: str) -> int | None:
        value = getattr(self, name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name} must be a day number or None; got {value!r}")
        if value < 0:  # from the end; before day 0 (a short history): none
            return value + self.days if value + self.days >= 0 else None
        if value >= self.days:
            raise ConfigError(
                f"{name} must be a day of the history (0 to {self.days - 1}, or negative from "
                f"the end) or None; got {value!r} with days={self.days}"
            )
        return value

    @property
    def quiet_day_sellers(self) -> float:
        """The expected number of new sellers on a quiet day."""
        return self.daily_share * self.base_sellers

    @property
    def pre_days(self) -> int:
        """Days of onboarding before day 0 that make the base population."""
        return math.ceil(1 / self.daily_share)

    def as_of(self, day: int) -> datetime:
        """The end of ``day`` (23:59:59 UTC), the as-of time of its folder."""
        start = datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC)
        return start + timedelta(days=day + 1, seconds=-1)


def _check_int(name: str, value: object, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"{name} must be an integer of at least {low}; got {value!r}")


def _check_number(
    name: str, value: object, low: float, high: float, *, low_open: bool = False
) -> None:
    number = (
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
    )
    if number is None or not (low < number if low_open else low <= number) or not number <= high:
        bounds = f"({low}, {high}]" if low_open else f"[{low}, {high}]"
        raise ConfigError(f"{name} must be a number in {bounds}; got {value!r}")


def _pair(name: str, value: object, kind: type[int] | type[float]) -> tuple[Any, Any]:
    if (
        isinstance(value, str)
        or not isinstance(value, tuple | list)
        or len(value) != 2
        or any(isinstance(v, bool) or not isinstance(v, int | float) for v in value)
        or (kind is int and any(not isinstance(v, int) for v in value))
        or any(not math.isfinite(v) for v in value)
    ):
        what = "integers" if kind is int else "numbers"
        raise ConfigError(f"{name} must be a pair (low, high) of {what}; got {value!r}")
    return kind(value[0]), kind(value[1])


def day_folder_name(day: int, days: int) -> str:
    """``day-07``: the folder of ``day`` in a history of ``days`` days (at least two digits).

    Examples
    --------
    >>> day_folder_name(7, 14), day_folder_name(7, 120)
    ('day-07', 'day-007')
    """
    return f"day-{day:0{max(2, len(str(days - 1)))}d}"


@dataclass(frozen=True)
class MarketplaceHistory:
    """A marketplace over time: every seller that onboards up to the last day, and when.

    ``sellers``, ``truth``, ``links`` and ``link_truth`` are in onboarding order (seller
    ids count up in it); :meth:`day` cuts a day's folder from them. ``truth`` has two
    columns beyond the generator's: ``cohort`` (``base``: before day 0; ``daily``: the
    inflow of days 0 on; ``attack``; ``campaign``: the benign day's extra sellers) and
    ``day`` (day of onboarding, negative before day 0).
    """

    config: DaysConfig
    sellers: pl.DataFrame
    truth: pl.DataFrame
    links: pl.DataFrame
    link_truth: pl.DataFrame
    dirty_links: pl.DataFrame
    labels: pl.DataFrame
    attack_rings: tuple[str, ...]
    market_config: SynthConfig
    _sellers_by_day: tuple[int, ...] = field(repr=False)
    _links_by_day: tuple[int, ...] = field(repr=False)

    def __len__(self) -> int:
        return self.config.days

    def as_of(self, day: int) -> datetime:
        """The as-of time of ``day`` (its end, UTC)."""
        return self.config.as_of(day)

    def day(self, day: int) -> Marketplace:
        """The input folder of ``day``: the sellers onboarded by its end, and what they had.

        ``labels`` holds the labels that arrived by then; ``links`` (and ``labels``) end with
        the dirty rows of the generator that belong to that day, for validation to refuse.
        """
        if not 0 <= day < self.config.days:
            raise IndexError(f"day must be in 0..{self.config.days - 1}; got {day!r}")
        n_sellers, n_links = self._sellers_by_day[day], self._links_by_day[day]
        as_of = self.as_of(day).replace(tzinfo=None)
        arrived = pl.col("_at") <= as_of
        dirty = self.dirty_links.filter(arrived).drop("_at")
        labels = self.labels.filter(arrived).drop("_at")
        return Marketplace(
            sellers=self.sellers.head(n_sellers),
            links=pl.concat([self.links.head(n_links), dirty]),
            labels=labels,
            truth=self.truth.head(n_sellers).drop("cohort", "day"),
            link_truth=self.link_truth.head(n_links),
            config=self.market_config,
        )

    def markets(self) -> Iterator[Marketplace]:
        """Every day's :class:`~syndicate.synth.Marketplace`, day 0 first (cut one at a time)."""
        for day in range(self.config.days):
            yield self.day(day)

    def describe(self) -> dict[str, Any]:
        """The history as ``days.json`` holds it: days, as-of times, attack and campaign."""
        cfg = self.config
        truth = self.truth
        per_day = (
            truth.filter(pl.col("day") >= 0)
            .group_by("day")
            .agg(
                pl.len().alias("new_sellers"),
                pl.col("ring").is_not_null().sum().alias("new_ring_members"),
                pl.col("ring").drop_nulls().n_unique().alias("rings_onboarding"),
                (pl.col("cohort") == "attack").sum().alias("attack_sellers"),
                (pl.col("cohort") == "campaign").sum().alias("campaign_sellers"),
            )
        )
        counts = {row["day"]: row for row in per_day.iter_rows(named=True)}
        label_at = self.labels["_at"]
        days = []
        for day in range(cfg.days):
            row = counts.get(day, {})
            as_of = self.as_of(day)
            days.append(
                {
                    "day": day,
                    "folder": day_folder_name(day, cfg.days),
                    "date": as_of.date().isoformat(),
                    "weekday": as_of.strftime("%A"),
                    "as_of": _iso(as_of),
                    "sellers": self._sellers_by_day[day],
                    "new_sellers": int(row.get("new_sellers", 0)),
                    "new_ring_members": int(row.get("new_ring_members", 0)),
                    "rings_onboarding": int(row.get("rings_onboarding", 0)),
                    "attack_sellers": int(row.get("attack_sellers", 0)),
                    "campaign_sellers": int(row.get("campaign_sellers", 0)),
                    "labels": int((label_at <= as_of.replace(tzinfo=None)).sum()),
                }
            )
        attack = self.sellers.filter(pl.Series(truth["cohort"] == "attack"))["created_at"]
        window = None
        if attack.len():
            first, last = attack.min(), attack.max()
            assert isinstance(first, datetime) and isinstance(last, datetime)
            window = [_iso(first.replace(tzinfo=UTC)), _iso(last.replace(tzinfo=UTC))]
        config = dataclasses.asdict(cfg)
        config["start"] = cfg.start.isoformat()
        config["market"] = {
            name: value.isoformat() if isinstance(value, datetime) else value
            for name, value in config["market"].items()
            if name not in ("n_sellers", "seed", "start", "end")
        }
        return {
            "days": cfg.days,
            "start": cfg.start.isoformat(),
            "seed": cfg.seed,
            "quiet_day_sellers": cfg.quiet_day_sellers,
            "attack_day": cfg.attack_day,
            "attack_rings": list(self.attack_rings),
            "attack_window": window,
            "benign_day": cfg.benign_day,
            "benign_factor": cfg.benign_factor if cfg.benign_day is not None else None,
            "day": days,
            "config": config,
        }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def generate_days(config: DaysConfig | None = None, **overrides: object) -> MarketplaceHistory:
    """Generate a growing marketplace: one generated marketplace given an onboarding history.

    Parameters
    ----------
    config
        The parameters; :class:`DaysConfig` defaults when omitted.
    **overrides
        Fields of :class:`DaysConfig` to change, e.g. ``days=7, base_sellers=5000``.

    Raises
    ------
    ConfigError
        A field is out of range, or the marketplace has fewer planted rings of
        ``attack_ring_size`` members than ``attack_rings``.

    Examples
    --------
    >>> history = generate_days(days=5, base_sellers=5000, attack_rings=2, seed=1)
    >>> len(history), history.config.attack_day, history.config.benign_day
    (5, 2, None)
    >>> first, last = history.day(0).sellers, history.day(4).sellers
    >>> first["seller_id"].is_in(last["seller_id"].implode()).all()
    True
    >>> sorted(last["category"].unique())
    ['beauty', 'electronics', 'fashion', 'home', 'toys']
    """
    unknown = sorted(set(overrides) - {f.name for f in fields(DaysConfig)})
    if unknown:
        raise ConfigError(f"unknown DaysConfig fields: {', '.join(unknown)}")
    cfg = (
        DaysConfig(**overrides)  # type: ignore[arg-type]
        if config is None
        else dataclasses.replace(config, **overrides)  # type: ignore[arg-type]
    )
    rng = np.random.default_rng([cfg.seed, _STREAM])
    rate = cfg.quiet_day_sellers
    span_days = cfg.pre_days + cfg.days  # the timeline: the base's days, then the history's
    low, high = cfg.attack_ring_size
    n_attack = cfg.attack_rings * (low + high) / 2 if cfg.attack_day is not None else 0.0
    n_campaign = round((cfg.benign_factor - 1) * rate) if cfg.benign_day is not None else 0
    # A few more than the timeline holds: ring members and stores due after the last day.
    n_total = round(rate * span_days * 1.02 + n_attack + n_campaign)
    # Planted rings for the attack on top of the marketplace's share, so that the rest of
    # the sellers (campaign aside) keep ring_share of ring members.
    regular = n_total - n_attack - n_campaign
    ring_share = (cfg.market.ring_share * regular + n_attack) / n_total
    market_cfg = dataclasses.replace(
        cfg.market, n_sellers=n_total, seed=cfg.seed, ring_share=round(ring_share, 6)
    )
    market = generate_marketplace(market_cfg)

    kind, group, is_bad = _groups(market.truth)
    cohort = np.full(n_total, _DAILY, dtype=np.int8)
    if cfg.attack_day is not None:
        cohort[(kind == _RING) & np.isin(group, _pick_attack_rings(cfg, rng, kind, group))] = (
            _ATTACK
        )
    cohort[_pick_campaign(rng, kind, group, is_bad, cohort, n_campaign)] = _CAMPAIGN
    created = _onboarding_times(cfg, rng, kind, group, cohort, span_days)

    # Sellers in onboarding order; those due after the last day are left out.
    kept = np.flatnonzero(created < span_days * _DAY)
    order = kept[np.argsort(created[kept], kind="stable")]
    new_number = np.full(n_total, -1, dtype=np.int64)
    new_number[order] = np.arange(len(order))
    created_s = created[order]
    day_of = created_s // _DAY - cfg.pre_days
    cohort_kept = np.where(day_of < 0, _BASE, cohort[order])
    ends = (cfg.pre_days + np.arange(1, cfg.days + 1)) * _DAY  # just after each day's as-of
    sellers_by_day = np.searchsorted(created_s, ends, side="left")
    origin = datetime.combine(cfg.start, datetime.min.time()) - timedelta(days=cfg.pre_days)
    origin_us = round((origin - datetime(1970, 1, 1)).total_seconds()) * 1_000_000

    def timestamps(seconds: np.ndarray) -> pl.Series:
        return pl.Series(origin_us + seconds.astype(np.int64) * 1_000_000).cast(pl.Datetime("us"))

    ids = _seller_ids(len(order))
    sellers = market.sellers[order].with_columns(
        seller_id=ids,
        created_at=timestamps(created_s),
        category=pl.col("category").replace_strict(_CATEGORY_OF, return_dtype=pl.String),
    )
    if cfg.attack_category is not None:
        sellers = sellers.with_columns(
            category=pl.when(pl.Series(cohort_kept == _ATTACK))
            .then(pl.lit(cfg.attack_category))
            .otherwise("category")
        )
    truth = market.truth[order].with_columns(
        seller_id=ids,
        cohort=pl.Series(_COHORTS, dtype=pl.String).gather(cohort_kept),
        day=pl.Series(day_of, dtype=pl.Int32),
    )

    # -- links: identifiers are registered at sign-up, so a seller's links come with it ----
    n_clean = market.link_truth.height
    owner = new_number[_seller_numbers(market.link_truth["seller_id"])]
    clean = (
        market.links.head(n_clean)
        .with_columns(_owner=pl.Series(owner), _row=pl.int_range(n_clean))
        .filter(pl.col("_owner") >= 0)
        .sort("_owner", maintain_order=True)  # within a seller, still by kind and value
    )
    clean_owner = clean["_owner"].to_numpy()
    links = clean.select(
        pl.Series("seller_id", ids.gather(clean_owner)),
        "kind",
        "value",
        timestamps(created_s[clean_owner]).alias("seen_at"),
    )
    link_truth = market.link_truth[clean["_row"]].with_columns(seller_id=links["seller_id"])
    links_by_day = np.searchsorted(clean_owner, sellers_by_day, side="left")

    # -- dirt and labels: dated by their seller (labels some days later); dirt of sellers
    # missing from the sellers table arrives with a random seller of the history
    dirty = _dated(market.links.slice(n_clean), new_number, created, ids, rng, created_s)
    dirty = dirty.with_columns(_at=timestamps(dirty["_at"].to_numpy()))
    dirty = dirty.with_columns(seen_at=pl.col("_at"))
    labels = _dated(market.labels, new_number, created, ids, rng, created_s)
    delay_low, delay_high = cfg.label_delay_days
    delay = np.round(rng.uniform(delay_low, delay_high, labels.height) * _DAY).astype(np.int64)
    known_seller = ~labels["seller_id"].str.starts_with("gone-").to_numpy()
    labels = labels.with_columns(
        _at=timestamps(labels["_at"].to_numpy() + np.where(known_seller, delay, 0))
    )

    attack_rings = truth.filter(pl.col("cohort") == "attack")["ring"].unique().sort()
    return MarketplaceHistory(
        config=cfg,
        sellers=sellers,
        truth=truth,
        links=links,
        link_truth=link_truth,
        dirty_links=dirty,
        labels=labels,
        attack_rings=tuple(attack_rings.to_list()),
        market_config=market_cfg,
        _sellers_by_day=tuple(int(k) for k in sellers_by_day),
        _links_by_day=tuple(int(k) for k in links_by_day),
    )


def _seller_ids(n: int) -> pl.Series:
    """``s000042`` for 0..n-1, zero-padded (as the generator pads) so that ids sort as numbers."""
    width = max(6, len(str(max(n - 1, 0))))
    return pl.select(
        pl.concat_str(pl.lit("s"), pl.int_range(n).cast(pl.String).str.zfill(width))
    ).to_series()


def _seller_numbers(seller_id: pl.Series) -> np.ndarray:
    """The generator's seller number of each id (``s000042`` -> 42); -1 for ``gone-…`` ids."""
    number = seller_id.str.strip_prefix("s").cast(pl.Int64, strict=False)
    return number.fill_null(-1).to_numpy()


def _groups(truth: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per seller of the generator: the kind of its group, the group's number, and is_bad."""
    legit = pl.col("legit_group")
    frame = truth.select(
        pl.when(pl.col("ring").is_not_null())
        .then(_RING)
        .when(legit.str.starts_with("household-"))
        .then(_HOUSEHOLD)
        .when(legit.str.starts_with("business-"))
        .then(_BUSINESS)
        .otherwise(_SOLO)
        .alias("kind"),
        pl.coalesce(
            pl.col("ring").str.extract(r"(\d+)$").cast(pl.Int64),
            legit.str.extract(r"(\d+)$").cast(pl.Int64),
            pl.lit(-1, pl.Int64),
        ).alias("group"),
        "is_bad",
    )
    return (
        frame["kind"].to_numpy().astype(np.int64),
        frame["group"].to_numpy(),
        frame["is_bad"].to_numpy(),
    )


def _pick_attack_rings(
    cfg: DaysConfig, rng: np.random.Generator, kind: np.ndarray, group: np.ndarray
) -> np.ndarray:
    """The planted rings of ``attack_ring_size`` members that make the attack wave."""
    sizes = np.bincount(group[kind == _RING], minlength=1)
    low, high = cfg.attack_ring_size
    candidates = np.flatnonzero((sizes >= low) & (sizes <= high))
    if len(candidates) < cfg.attack_rings:
        raise ConfigError(
            f"attack_rings={cfg.attack_rings} needs as many planted rings of {low}-{high} "
            f"members (attack_ring_size); the marketplace of base_sellers={cfg.base_sellers} "
            f"has {len(candidates)}: raise base_sellers or lower attack_rings"
        )
    return np.sort(rng.choice(candidates, size=cfg.attack_rings, replace=False))


def _pick_campaign(
    rng: np.random.Generator,
    kind: np.ndarray,
    group: np.ndarray,
    is_bad: np.ndarray,
    cohort: np.ndarray,
    target: int,
) -> np.ndarray:
    """Honest solo sellers, households and businesses, whole, up to ``target`` sellers."""
    n = len(kind)
    if target == 0:
        return np.zeros(0, dtype=np.int64)
    unit_key = kind * n + np.where(kind == _SOLO, np.arange(n), group)
    units, unit_of, unit_size = np.unique(unit_key, return_inverse=True, return_counts=True)
    dishonest = np.zeros(len(units), dtype=bool)
    dishonest[unit_of[is_bad | (kind == _RING) | (cohort != _DAILY)]] = True
    honest_units = rng.permutation(np.flatnonzero(~dishonest))
    taken = np.cumsum(unit_size[honest_units]) <= target
    chosen = np.zeros(len(units), dtype=bool)
    chosen[honest_units[taken]] = True
    return np.flatnonzero(chosen[unit_of])


def _onboarding_times(
    cfg: DaysConfig,
    rng: np.random.Generator,
    kind: np.ndarray,
    group: np.ndarray,
    cohort: np.ndarray,
    span_days: int,
) -> np.ndarray:
    """Seconds from the timeline's start at which each seller of the generator onboards."""
    n = len(kind)
    weekday = (cfg.start.weekday() - cfg.pre_days + np.arange(span_days)) % 7
    traffic = np.exp(rng.normal(0.0, cfg.daily_noise, span_days))
    traffic *= np.where(weekday >= 5, cfg.weekend_factor, 1.0)
    day_p = traffic / traffic.sum()
    hour_p = _HOUR_WEIGHTS / _HOUR_WEIGHTS.sum()

    def sign_ups(count: int, day: np.ndarray | None = None) -> np.ndarray:
        """Honest sign-up times: a day by traffic (unless given), an hour by the daily curve."""
        if day is None:
            day = rng.choice(span_days, size=count, p=day_p)
        hour = rng.choice(24, size=count, p=hour_p)
        return day * _DAY + hour * _HOUR + rng.integers(0, _HOUR, count)

    regular = cohort == _DAILY
    created = sign_ups(n)  # solo sellers and household members, each on its own day
    n_groups = int(group.max(initial=0)) + 1
    business = regular & (kind == _BUSINESS)
    opening = sign_ups(n_groups)
    created[business] = opening[group[business]] + np.round(
        rng.exponential(cfg.business_spread_days * _DAY, int(business.sum()))
    ).astype(np.int64)
    ring = regular & (kind == _RING)
    ring_start = rng.integers(0, span_days * _DAY, n_groups)
    created[ring] = ring_start[group[ring]] + np.round(
        rng.exponential(cfg.ring_spread_days * _DAY, int(ring.sum()))
    ).astype(np.int64)
    if cfg.attack_day is not None:
        attack = cohort == _ATTACK
        window = round(cfg.attack_window_hours * _HOUR)
        opens = (cfg.pre_days + cfg.attack_day) * _DAY + int(rng.integers(0, _DAY - window + 1))
        created[attack] = opens + rng.integers(0, window, int(attack.sum()))
    if cfg.benign_day is not None:
        campaign = cohort == _CAMPAIGN
        count = int(campaign.sum())
        created[campaign] = sign_ups(count, np.full(count, cfg.pre_days + cfg.benign_day))
    return created.astype(np.int64)


def _dated(
    frame: pl.DataFrame,
    new_number: np.ndarray,
    created: np.ndarray,
    ids: pl.Series,
    rng: np.random.Generator,
    created_s: np.ndarray,
) -> pl.DataFrame:
    """Rows of ``frame`` renamed to the history's seller ids, with ``_at``: their seconds.

    Rows of sellers the history leaves out are dropped; rows of sellers missing from the
    sellers table (``gone-…``) keep their id and arrive with a random seller's onboarding.
    """
    number = _seller_numbers(frame["seller_id"])
    gone = number < 0
    owner = np.where(gone, -1, new_number[np.maximum(number, 0)])
    with_random = (
        created_s[rng.integers(0, max(len(created_s), 1), frame.height)]
        if len(created_s)
        else np.zeros(frame.height, dtype=np.int64)
    )
    at = np.where(gone, with_random, created[np.maximum(number, 0)])
    keep = gone | (owner >= 0)
    return frame.with_columns(
        seller_id=pl.when(pl.Series(gone))
        .then(pl.col("seller_id"))
        .otherwise(ids.gather(np.maximum(owner, 0))),
        _at=pl.Series(at),
    ).filter(pl.Series(keep))


def write_days(history: MarketplaceHistory, out: str | os.PathLike[str]) -> list[Path]:
    """Write each day's input folder ``out/day-00/`` … and ``out/days.json``.

    Each folder is what :func:`~syndicate.synth.write_marketplace` writes (sellers, links,
    labels, truth and link_truth Parquet, atomically; a file syndicate did not write is
    never replaced). ``days.json`` is :meth:`MarketplaceHistory.describe`. Returns the day
    folders, day 0 first.

    Raises
    ------
    InputFileError
        ``out`` or a day folder holds a file of one of those names that syndicate did not
        write.
    """
    folder = Path(out)
    names = [day_folder_name(day, len(history)) for day in range(len(history))]
    refuse_foreign_files(folder, ["days.json"])
    for name in names:  # refuse before writing anything
        refuse_foreign_files(
            folder / name,
            [f"{table}.parquet" for table in ("sellers", "links", "labels", "truth", "link_truth")],
        )
    written = []
    for day, name in enumerate(names):
        write_marketplace(history.day(day), folder / name)
        written.append(folder / name)
    record_written(folder, [write_json_atomic(history.describe(), folder / "days.json")])
    return written
