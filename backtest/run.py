"""The backtest loop: maps step by step, the live alert rules over one watcher (plus one per
swept threshold) and the generated positions, alert state carried from step to step."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from alerts.catalogue import CATALOGUE_BY_NAME, MODE_OFF, MODE_ON, RULE_INDEX, RULES
from alerts.rules import DEFAULT_CONFIG, AlertConfig
from alerts.session import AlertSession
from backtest.history import History, as_history
from backtest.maps import MapStep, map_step
from backtest.positions import (
    PositionBook,
    PositionPlan,
    subscriptions_at,
    watcher_subscriptions,
)
from liqmap import Candles, ModelSettings
from liqmap.times import DAY_MS, HOUR_MS
from liqmap.touch import rolling_volatility
from market.replay import ReplayError, ReplaySource
from market.source import WINDOW_MS

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Spec:
    """What to replay. ``sweep``: extra watchers, one per (rule, threshold), symbol-wide rules
    only (a position rule's threshold would need its own copy of the positions)."""

    symbol: str
    start: int
    end: int
    window: str = "1d"
    every_ms: int = HOUR_MS
    rules: tuple[str, ...] = RULES
    config: AlertConfig = DEFAULT_CONFIG
    sweep: tuple[tuple[str, float], ...] = ()
    positions: PositionPlan = field(default_factory=PositionPlan)
    funding_p95: bool = True

    def times(self) -> list[int]:
        return list(range(self.start, self.end + 1, self.every_ms))


@dataclass(frozen=True)
class Fired:
    """One alert of the backtest."""

    step: int
    sub_id: int
    rule: str
    key: str
    episode: int


@dataclass
class Replay:
    """What the loop produced: every step's map metrics, every alert, the positions."""

    spec: Spec
    symbol: str
    steps: list[MapStep]
    fired: list[Fired]
    book: PositionBook
    watchers: list[tuple[str, float] | None]  # watcher i+1: None = defaults, else its sweep
    seconds: float

    @property
    def weeks(self) -> float:
        return len(self.steps) * self.spec.every_ms / (7 * DAY_MS)


def check_spec(source: History | ReplaySource, spec: Spec) -> str:
    """The unified symbol, or ``ReplayError`` (one line) when the data cannot serve the span."""
    source = as_history(source)
    symbol = source.resolve(spec.symbol)
    if spec.window not in WINDOW_MS:
        raise ReplayError(f"unknown window {spec.window!r}: choose 1d, 7d or 30d")
    if spec.end < spec.start:
        raise ReplayError("--to must not be before --from")
    for rule, _ in spec.sweep:
        if "watch" not in CATALOGUE_BY_NAME[rule].applies_to:
            raise ReplayError(f"--sweep: {rule} applies to positions only; use --alerts-config")
    for at in (spec.start, spec.end):  # raises with the data's coverage in its message
        source.snapshot(symbol, spec.window, at)
    return symbol


class _Moves:
    """What the live pass adds to a map's metrics for the liquidation warning, from the
    history's hourly candles: the volatility known at the step (``liqmap.touch``) and the
    extremes of the candles closed since the previous step."""

    def __init__(self, hourly: Candles) -> None:
        self.c = hourly
        self.fast, self.slow = rolling_volatility(hourly.high, hourly.low, hourly.interval_ms)
        self.close = hourly.close_time

    def add(self, step: MapStep, since: int) -> MapStep:
        k = int(np.searchsorted(self.close, step.at, side="right")) - 1
        if k < 0:
            return step
        j = int(np.searchsorted(self.close, since, side="right"))
        low = float(self.c.low[j : k + 1].min()) if j <= k else None
        high = float(self.c.high[j : k + 1].max()) if j <= k else None
        metrics = dataclasses.replace(
            step.metrics,
            vol_fast=float(self.fast[k]),
            vol_slow=float(self.slow[k]),
            low_since=low,
            high_since=high,
        )
        return dataclasses.replace(step, metrics=metrics)


def run_backtest(
    spec: Spec,
    source: History | ReplaySource | None = None,
    settings: ModelSettings | None = None,
    progress: Progress | None = None,
) -> Replay:
    source = as_history(source)
    symbol = check_spec(source, spec)
    settings = settings or ModelSettings()
    times = spec.times()
    modes = np.array([MODE_ON if r in spec.rules else MODE_OFF for r in RULES], dtype=np.int8)
    watchers: list[tuple[str, float] | None] = [None, *spec.sweep]
    thresholds = np.full((len(watchers), len(RULES)), np.nan)
    for i, sw in enumerate(watchers):
        if sw is not None:
            thresholds[i, RULE_INDEX[sw[0]]] = sw[1]
    watch_subs = watcher_subscriptions(thresholds, np.tile(modes, (len(watchers), 1)))
    book = PositionBook(symbol, len(times), spec.positions)
    session = AlertSession(spec.config)
    steps: list[MapStep] = []
    fired: list[Fired] = []
    started = time.perf_counter()
    moves = _Moves(source.hourly(symbol))
    for i, at in enumerate(times):
        step = map_step(source, symbol, spec.window, at, settings, spec.funding_p95)
        step = moves.add(step, at - spec.every_ms if i == 0 else times[i - 1])
        steps.append(step)
        subs = subscriptions_at(watch_subs, book, i, modes)
        for e in session.step(step.metrics, subs, at):
            fired.append(Fired(i, e.sub_id, e.rule, e.key, e.episode))
        book.open_at(i, step.metrics)  # opened after this pass: watched from the next step
        if progress is not None:
            progress(i + 1, len(times))
    return Replay(spec, symbol, steps, fired, book, watchers, time.perf_counter() - started)
