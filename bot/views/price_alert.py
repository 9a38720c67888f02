"""A price alert as the trader reads it: the finding (what crossed, when, at what price, the
clusters beyond the level) as data, and the one function that renders it (Telegram HTML).
Shaped like the rule findings so it folds into the one message renderer."""

from __future__ import annotations

import html
from dataclasses import dataclass

from bot.views import fmt
from liqmap import Cluster

PRICE_ALERT = "price_alert"
Keyboard = tuple[tuple[tuple[str, str], ...], ...]  # rows of (label, callback data)


@dataclass(frozen=True)
class PriceAlertFinding:
    """One firing of price alert ``alert_id``: the candle that crossed ``level`` (its open time
    and its high for ``above``, low for ``below``), the map price at the pass, and up to two
    clusters beyond the level, nearest first."""

    chat_id: int
    alert_id: int
    fired_count: int
    symbol: str
    level: float
    direction: str  # 'above' / 'below'
    every: bool
    candle_ms: int
    extreme: float
    price_now: float
    price_at: int
    beyond: tuple[Cluster, ...]
    relative_units: bool  # volume-proxy map: amounts are not USD
    rearm_at: float | None  # an `every` alert fires again after price is back past this
    rule: str = PRICE_ALERT

    @property
    def dedupe_key(self) -> str:
        return f"{PRICE_ALERT}:{self.alert_id}:{self.fired_count}"

    @property
    def base(self) -> str:
        return self.symbol.split("/")[0]


def clusters_beyond(
    below: tuple[Cluster, ...], above: tuple[Cluster, ...], level: float, direction: str
) -> tuple[Cluster, ...]:
    """The two nearest clusters past ``level`` in the direction it was crossed: where a move
    that broke through the level would run next (long clusters under a level broken downwards,
    short clusters over one broken upwards)."""
    if direction == "above":
        return tuple(c for c in above if c.near_edge() > level)[:2]
    return tuple(c for c in below if c.near_edge() < level)[:2]


def _cluster(c: Cluster, price_now: float, relative: bool) -> str:
    near, far = fmt.price(c.near_edge()), fmt.price(c.far_edge())
    side = "longs" if c.side == "long" else "shorts"
    return (
        f"{side} {near} - {far} ({fmt.pct(c.distance_pct(price_now))}) "
        f"{fmt.notional(c.notional, relative)}"
    )


def price_alert_html(f: PriceAlertFinding, zone: str = "UTC") -> str:
    """The message: headline, the crossing candle with its time in the chat's zone, the price
    now, the clusters beyond the level, and what happens to the alert next."""
    e = html.escape
    arrow = "📈" if f.direction == "above" else "📉"
    which = "high" if f.direction == "above" else "low"
    crossed = "rose above" if f.direction == "above" else "fell below"
    lines = [
        f"{arrow} <b>{e(f.base)} {crossed} {e(fmt.price(f.level))}</b> (price alert #{f.alert_id})",
        f"{which.capitalize()} {e(fmt.price(f.extreme))} in the "
        f"{e(fmt.when(f.candle_ms, zone, '%H:%M %Z'))} candle; price now "
        f"{e(fmt.price(f.price_now))} ({e(fmt.when(f.price_at, zone, '%H:%M'))}).",
    ]
    if f.beyond:
        shown = "; ".join(_cluster(c, f.price_now, f.relative_units) for c in f.beyond)
        lines.append(f"Beyond {e(fmt.price(f.level))}: {e(shown)}")
    else:
        lines.append(f"No large cluster beyond {e(fmt.price(f.level))} on the map.")
    if f.every and f.rearm_at is not None:
        back = "below" if f.direction == "above" else "above"
        lines.append(
            f"<i>It fires again after price is back {back} {e(fmt.price(f.rearm_at))}; "
            f"/alert del {f.alert_id} removes it.</i>"
        )
    else:
        lines.append("<i>Done: this alert will not fire again.</i>")
    return "\n".join(lines)


def price_alert_keyboard(f: PriceAlertFinding) -> Keyboard:
    """📊 Map, and a delete button for an alert that stays (``every``)."""
    row: tuple[tuple[str, str], ...] = (("📊 Map", f"map|{f.base}|1d"),)
    if f.every:
        row += ((f"✖ Delete #{f.alert_id}", f"palert|del|{f.alert_id}"),)
    return (row,)
