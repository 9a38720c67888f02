"""Price alerts below the bot: ``/alert`` arguments as traders type them (a parse table), the
level against the price now, the vectorised crossing function (once, every, re-arm), and the
storage written twice in a row."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from matplotlib.patches import Rectangle

from alerts.price_levels import NO_CANDLE, price_crossings
from bot.parsing import (
    InputError,
    MissingSymbol,
    alert_level,
    offset_label,
    parse_alert,
    parse_percent,
    parse_position,
    parse_zone,
    rearm_margin,
    suggest_typo,
)
from bot.pipeline.trader_levels import chat_levels
from bot.views.charts import map_figure
from bot.views.check import AlreadyLiquidated, check_position
from bot.views.fmt import when, zone_label
from bot.views.levels import ALERT, ENTRY, LIQUIDATION, TraderLevel
from storage import open_db, price_alerts, subscriptions, users
from tests.test_charts import TRADER_LEVELS, _btc
from tests.test_parsing import BTC, KNOWN, ZONES

ETH = "ETH/USDT:USDT"
PRICE = 116_605.3


@pytest.mark.parametrize(
    ("typed", "level", "direction", "every"),
    [
        ("BTC 120k", 120_000.0, "above", False),
        ("BTC below 100k", 100_000.0, "below", False),
        ("btc under $99,500", 99_500.0, "below", False),
        ("BTC 120,000", 120_000.0, "above", False),
        ("over btc 118.5k", 118_500.0, "above", False),
        ("BTC 118500 every", 118_500.0, "above", True),
        ("BTC -3%", PRICE * 0.97, "below", False),
        ("BTC +5%", PRICE * 1.05, "above", False),
        ("BTC below 0.8%", PRICE * 0.992, "below", False),
        ("BTC 0.8% above", PRICE * 1.008, "above", False),
    ],
)
def test_alert_as_traders_type_it(typed: str, level: float, direction: str, every: bool) -> None:
    a = parse_alert(typed.split(), KNOWN)
    assert a.symbol == BTC and a.every == every
    got, side = alert_level(a, PRICE)
    assert got == pytest.approx(level) and side == direction


@pytest.mark.parametrize(
    "typed",
    [
        "BTC above 100k",  # price is already above it
        "BTC below 120k",
        "BTC 0.8%",  # a rise or a fall?
        "BTC below +5%",
        "BTC 120k 130k",
        "BTC 1m",  # a zero too many
        "BTC 0",
        "BTC +120k",
        "BTC 116605.3",  # the price now
        "BTC 95%",
        "BTC",
        "BTC above below 120k",
        "DOGE 1",
        "BTC １２０k",
    ],
)
def test_alert_refused(typed: str) -> None:
    with pytest.raises(InputError) as e:
        alert_level(parse_alert(typed.split(), KNOWN), PRICE)
    assert not isinstance(e.value, MissingSymbol)


def test_a_signed_price_is_quoted_as_typed() -> None:
    with pytest.raises(InputError, match=r"a price has no sign \('-0\.8'\)"):
        parse_alert(["BTC", "-0.8"], KNOWN)


def test_a_margin_after_every_is_the_rearm_margin() -> None:
    one = parse_alert(["BTC", "121k", "every", "1%"], KNOWN)
    assert (one.level, one.every, rearm_margin(one, 121_000)) == (121_000, True, 1.0)
    usd = parse_alert(
        ["btc", "every", "121k", "every", "$500"], KNOWN
    )  # the first number: the price
    assert usd.level == 121_000 and rearm_margin(usd, 121_000) == pytest.approx(500 / 1210)
    assert rearm_margin(parse_alert(["BTC", "+5%", "every"], KNOWN), 122_000) is None
    for bad in ("BTC 121k every -1%", "BTC 121k every 30%", "BTC 121k every 50k"):
        with pytest.raises(InputError, match="re-arm margin"):
            rearm_margin(parse_alert(bad.split(), KNOWN), 121_000)


def test_alert_without_symbol_asks_for_one() -> None:
    for typed in ("120k", "below 100k", "+5% every"):
        with pytest.raises(MissingSymbol):
            parse_alert(typed.split(), KNOWN)


def test_frictions_parse() -> None:
    assert parse_zone("utc+5:30", ZONES) == ("Asia/Kolkata", [])
    assert parse_zone("+3", ZONES) == ("Etc/GMT-3", [])
    assert offset_label("utc+5:30") == "UTC+05:30" and offset_label("+3") == "UTC+03:00"
    assert zone_label("Etc/GMT-3") == "UTC+03:00" and zone_label("Etc/GMT+5") == "UTC-05:00"
    assert when(0, "Etc/GMT-3", "%H:%M %Z") == "03:00 UTC+03:00"
    assert when(0, "Europe/Berlin", "%H:%M %Z") == "01:00 Europe/Berlin"  # one way
    assert parse_percent("0.8%", "x") == parse_percent("0.8", "x") == 0.8
    assert suggest_typo("mapp", ("map", "check")) == "map"
    assert suggest_typo("chek", ("map", "check")) == "check"
    assert suggest_typo("zzz", ("map", "check")) is None
    typed = "BTC long 116000 20x 5000 sl 112000"
    p = parse_position(typed.split(" "), KNOWN, size=True, stop=True)
    assert (p.entry, p.leverage, p.size, p.stop) == (116000.0, 20.0, 5000.0, 112000.0)
    with pytest.raises(InputError):
        parse_position([*typed.split(" ")[:4], "sl"], KNOWN, stop=True)


def _crossings(
    above: list[bool], level: list[float], every: list[bool], low: list[float], high: list[float]
) -> tuple[list[int], list[bool]]:
    n = len(level)
    c = price_crossings(
        np.array(above),
        np.array(level),
        np.ones(n, dtype=bool),
        np.array(every),
        np.zeros(n, dtype=np.int64),
        np.arange(1, len(low) + 1, dtype=np.int64),
        np.array(low),
        np.array(high),
    )
    return c.candle.tolist(), c.armed.tolist()


def test_each_alert_rearms_after_its_own_margin() -> None:
    # above 100 every time with 0.5% and 2%, and a one-shot switched from `every` while waiting
    c = price_crossings(
        np.array([True, True, True]),
        np.array([100.0, 100.0, 100.0]),
        np.array([True, True, False]),
        np.array([True, True, False]),
        np.zeros(3, dtype=np.int64),
        np.arange(1, 4, dtype=np.int64),
        np.array([100.5, 99.0, 99.9]),
        np.array([101.0, 99.5, 100.3]),
        np.array([0.5, 2.0, 0.5]),
    )
    # the 99.0 low re-arms the 0.5% one (and the one-shot, which fires at the next high), not
    # the 2% one
    assert c.candle.tolist() == [0, 0, 2] and c.armed.tolist() == [False, False, False]
    two = price_crossings(
        np.array([True, True]),
        np.array([100.0, 100.0]),
        np.array([True, True]),
        np.array([True, True]),
        np.zeros(2, dtype=np.int64),
        np.arange(1, 3, dtype=np.int64),
        np.array([100.5, 99.0]),
        np.array([101.0, 99.5]),
        np.array([0.5, 2.0]),
    )
    assert two.armed.tolist() == [True, False]  # after the 99.0 low, before the next high


def test_a_wick_fires_once_and_every_rearms_only_after_moving_back() -> None:
    low = [99.0, 98.0, 99.8, 99.6, 100.7, 98.0]
    high = [101.0, 100.2, 100.4, 100.1, 101.0, 99.0]
    # above 100 (once), above 100 (every), below 98 (once), above 110 (never)
    candle, armed = _crossings(
        [True, True, False, True],
        [100.0, 100.0, 98.0, 110.0],
        [False, True, False, False],
        low,
        high,
    )
    assert candle == [0, 0, 1, NO_CANDLE]
    # the `every` alert fired at candle 0, moved back under 99.5 at 1 (re-armed), crossed again
    # at 2 (no second message in one pass), and is re-armed by the low of 98.0 at 5 only
    assert armed == [False, True, False, True]
    _, armed = _crossings([True], [100.0], [True], low[:5], high[:5])
    assert armed == [False]  # 99.6 at 3 is not 0.5% back: hovering at the level is one event


def test_storage_limit_delete_and_firing_twice_in_a_row() -> None:
    db = open_db(None)
    users.register(db, 1, 1, "Ana", 0)
    a = price_alerts.add(db, 1, BTC, 120_000.0, "above", False, PRICE, 0, 0, limit=2)
    price_alerts.add(db, 1, ETH, 4_000.0, "above", True, 3_900.0, 0, 0, limit=2)
    with pytest.raises(price_alerts.AlertLimitError):
        price_alerts.add(db, 1, BTC, 121_000.0, "above", False, PRICE, 0, 0, limit=2)
    assert [x.id for x in price_alerts.alerts_for(db, 1, BTC)] == [a.id]
    assert price_alerts.record_fired(db, a.id, 1, 5, 120_100.0, done=True)
    assert not price_alerts.record_fired(db, a.id, 1, 5, 120_100.0, done=True)  # once only
    assert price_alerts.alerts_for(db, 1, BTC) == []
    assert price_alerts.delete(db, 1, a.id) is None  # fired: nothing to delete
    assert price_alerts.delete(db, 2, 2) is None  # another chat's alert
    assert price_alerts.delete(db, 1, 2) is not None and price_alerts.count_active(db, 1) == 0


def test_the_traders_levels_are_drawn_and_labelled_on_the_map() -> None:
    """Every level a line in the bars and the cumulative panel, and its label placed (the
    overlap checks of every label: tests/test_charts.py, case btc-1d-trader-levels)."""
    fig = map_figure(_btc("1d"), levels=TRADER_LEVELS)
    fig.canvas.draw()  # type: ignore[attr-defined]
    bars, cumulative = fig.axes[0], fig.axes[1]
    labels = {t.get_text() for t in bars.texts}
    every_text = " · ".join(t.get_text() for ax in fig.axes for t in ax.texts)
    for level in TRADER_LEVELS:
        assert level.label in every_text
        for ax in (bars, cumulative):
            xs = [line.get_xdata()[0] for line in ax.get_lines() if line.get_linestyle() != ":"]
            assert level.price in xs
    assert {"109,944.0\n$4.03M nearest, largest", "123,089.8\n$1.47M nearest"} <= labels


def test_levels_a_few_px_apart_share_one_label_and_the_bars_keep_their_height() -> None:
    """The reviewed chart: two positions, 112k set twice and an alert next to the entry."""
    levels = (
        TraderLevel(116_000.0, ENTRY, "#1 entry 116,000.0"),
        TraderLevel(110_642.6, LIQUIDATION, "#1 liq. 110,642.6"),
        TraderLevel(117_000.0, ENTRY, "#2 entry 117,000.0"),
        TraderLevel(128_187.3, LIQUIDATION, "#2 liq. 128,187.3"),
        TraderLevel(112_000.0, ALERT, "alert 112,000.0"),
        TraderLevel(112_000.0, ALERT, "alert 112,000.0"),
        TraderLevel(115_672.5, ALERT, "alert 115,672.5"),
    )
    fig = map_figure(_btc("1d"), levels=levels)
    fig.canvas.draw()  # type: ignore[attr-defined]
    band = fig.axes[-1]
    shown = [t.get_text() for t in band.texts]
    assert "alert 112,000.0 ×2" in shown
    assert "alert 115,672.5 · #1 entry 116,000.0" in shown
    assert {"#1 liq. 110,642.6", "#2 entry 117,000.0", "#2 liq. 128,187.3"} <= set(shown)
    boxes = [t.get_window_extent() for t in band.texts]
    assert not any(a.overlaps(b) for a, b in itertools.combinations(boxes, 2))
    assert all(fig.bbox.x0 <= b.x0 and b.x1 <= fig.bbox.x1 for b in boxes)
    bars = fig.axes[0]
    peak = max(p.get_height() for p in bars.patches if isinstance(p, Rectangle))
    assert bars.get_ylim()[1] < 3.1 * peak  # the labels of the clusters only: not 6.5x


def test_a_refused_position_quotes_the_time_in_the_chats_zone() -> None:
    with pytest.raises(AlreadyLiquidated, match=r"price now 116,605.3 \(01:30 Asia/Kolkata\)"):
        check_position(_btc("1d"), "long", 130_000.0, 50.0, far_ok=True, zone="Asia/Kolkata")


def test_trader_levels_of_a_symbol() -> None:
    db = open_db(None)
    users.register(db, 1, 1, "Ana", 0)
    pos = subscriptions.open_position(db, 1, BTC, "long", 116_000.0, 20.0, None, 110_642.6, {}, 0)
    subscriptions.set_stop(db, pos.id, 113_000.0)
    subscriptions.open_position(db, 1, ETH, "long", 4_000.0, 10.0, None, 3_650.0, {}, 0)
    price_alerts.add(db, 1, BTC, 112_000.0, "below", False, PRICE, 0, 0)
    assert [(v.kind, v.price, v.label) for v in chat_levels(db, 1, BTC)] == [
        ("entry", 116_000.0, "entry 116,000.0"),
        ("liquidation", 110_642.6, "liq. 110,642.6"),
        ("stop", 113_000.0, "stop 113,000.0"),
        ("alert", 112_000.0, "alert 112,000.0"),
    ]
    assert chat_levels(db, 2, BTC) == ()
