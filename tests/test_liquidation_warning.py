"""The liquidation warning rule: the 4 h touch chance from the worst price since the last pass,
fired at the threshold, escalated once, re-armed below half; critical in quiet hours unless the
user turned that off; its message is the issue's shape."""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any

from alerts import AlertState, Subscriptions, evaluate
from alerts.findings import Urgency
from bot.views.alert_message import alert_messages
from liqmap.touch import touch_chance
from tests.test_alert_rules import BASE, HOUR, MIN, T0

WARN = "liquidation_warning"
VAR = 0.005**2  # 0.5% per hour, fast and slow alike
LONG = {
    "sub_id": 1,
    "chat_id": 10,
    "kind": "position",
    "side": "long",
    "entry": 100_000.0,
    "leverage": 20.0,
    "liquidation_price": 95_000.0,
}


def market(price: float, low: float | None = None, **changes: Any) -> Any:
    return dataclasses.replace(
        BASE, price=price, vol_fast=VAR, vol_slow=VAR, low_since=low, high_since=None, **changes
    )


def run(prices: list[tuple[float, float | None]], **record: Any) -> list[tuple[int, str, Any]]:
    """(step, slot key, finding) of every warning over the (price, low since) steps."""
    subs = Subscriptions.from_records([{**LONG, **record}])
    state = AlertState.empty()
    out = []
    for k, (price, low) in enumerate(prices):
        found, state = evaluate(market(price, low), subs, state, T0 + k * 40 * MIN)
        out += [(k, f.key, f) for f in found if f.rule == WARN]
    return out


def chance(price: float) -> float:
    return float(touch_chance(price, 95_000.0, VAR, VAR, 4))


def test_fires_at_the_threshold_escalates_once_and_rearms_below_half() -> None:
    # the 3% default: 2.2% at 97,600, 3.3% at 97,300, 61% at 95,400, back under 1.5% at 98,000
    assert chance(97_600) < 0.03 < chance(97_300) and chance(95_400) > 0.515 > chance(95_600)
    assert chance(98_000) < 0.015
    path = [(97_600, None), (97_300, None), (97_200, None), (95_400, None), (95_300, None)]
    path += [(97_400, None), (98_000, None), (97_300, None)]
    fired = [(k, key) for k, key, _ in run(path)]
    assert fired == [(1, "warn"), (3, "escalate"), (7, "warn")]


def test_a_wick_between_two_passes_counts() -> None:
    """Price is back at 97,600 (no warning) but the candles since the last pass went to 96,000."""
    assert run([(97_600, None)]) == []
    [(_, key, f)] = run([(97_600, 96_000)])
    assert key == "warn" and math.isclose(f.value, chance(96_000) * 100)


def test_jumping_past_both_levels_is_one_message() -> None:
    fired = [(k, key) for k, key, _ in run([(99_000, None), (95_500, None), (95_400, None)])]
    assert fired == [(1, "warn")]


def test_reaches_quiet_hours_unless_turned_off() -> None:
    quiet = {"in_quiet_hours": True, "hold_in_quiet": True}
    [(_, _, f)] = run([(96_000, None)], **quiet)
    assert f.urgency == Urgency.CRITICAL and not f.held and not f.silent
    [(_, _, f)] = run([(96_000, None)], **quiet, wake_in_quiet=False)
    assert f.urgency == Urgency.HIGH and f.held


def test_no_volatility_or_a_dead_position_fires_nothing() -> None:
    subs = Subscriptions.from_records([LONG])
    calm = dataclasses.replace(market(96_000), vol_fast=None, vol_slow=None)
    assert [f for f in evaluate(calm, subs, AlertState.empty(), T0)[0] if f.rule == WARN] == []
    assert run([(96_000, 94_900)]) == []  # the low went through it: the fate pass tells that


def test_the_message_is_the_issues_shape() -> None:
    subs = Subscriptions.from_records([LONG])
    m = market(97_800, 96_300)
    found, _ = evaluate(m, subs, AlertState.empty(), T0 + HOUR)
    [msg] = alert_messages(found, m, {10: "UTC"}, T0 + HOUR)
    lines = msg.text.split("\n")
    assert re.match(
        r"<b>BTC: ⚠️ liquidation warning for #1: \d+% chance to touch it within 4 h</b>",
        lines[0],
    )  # first: the most urgent finding heads the message
    assert re.match(
        r"#1 BTC long x20: liquidation 95,000\.0 is 1\.3% below, about [\d.]+ typical 4-hour "
        r"moves; chance to touch it within 4 h: \d+%, within 24 h: \d+% — price reached "
        r"96,300\.0 since the last check \(now 97,800\.0\)$",
        lines[2],
    ), lines
    assert lines[-1].startswith("<b>Consider:</b> adding margin or cutting the size")


def test_no_partial_profit_inside_the_entrys_noise() -> None:
    """A long entered at 100,000: +0.5% is inside one typical 4-hour move (1.0% at 0.5%/h), so
    no "take partial profit"; +1.5% is beyond it."""
    from alerts.advice import profit_beyond_noise
    from alerts.findings import Position

    pos = Position(1, 100_000.0, 20.0, 95_000.0, 1.4)
    assert not profit_beyond_noise(pos, market(100_500))
    assert profit_beyond_noise(pos, market(101_500))
    assert not profit_beyond_noise(pos, market(98_000))  # a loss is never profit


def test_no_partial_profit_in_the_first_hour() -> None:
    """+1.5% is beyond the noise, but 20 minutes after the open it is no profit to take yet."""
    from alerts.advice import profit_beyond_noise
    from alerts.findings import Position

    m = market(101_500)
    young = Position(1, 100_000.0, 20.0, 95_000.0, 1.4, opened_ms=m.as_of - 20 * MIN)
    grown = dataclasses.replace(young, opened_ms=m.as_of - HOUR)
    assert not profit_beyond_noise(young, m) and profit_beyond_noise(grown, m)


def test_a_position_in_profit_is_told_to_stop_at_break_even_not_beyond_its_entry() -> None:
    """A short at 117,000 that the market carried far into profit, warned on a violent wick:
    the advice is a stop at the entry (the gain kept, the liquidation unreachable), never a
    stop above the entry that would lock in a loss."""
    short = {**LONG, "side": "short", "entry": 117_000.0, "leverage": 10.0}
    short["liquidation_price"] = 105_000.0 * 1.05  # 110,250: 5% above the 105,000 wick
    subs = Subscriptions.from_records([{**short, "opened_ms": T0 - 6 * HOUR}])
    m = dataclasses.replace(
        market(100_000.0), vol_fast=0.02**2, vol_slow=0.02**2, high_since=105_000.0
    )
    found, _ = evaluate(m, subs, AlertState.empty(), T0)
    [msg] = alert_messages([f for f in found if f.rule == WARN], m, {10: "UTC"}, T0)
    consider = msg.text.split("\n")[-1]
    assert "break-even at 117,000.0" in consider, consider
    assert "a stop at 1" not in consider.replace("break-even at 117,000.0", "")


def test_no_rule_names_a_stop_past_the_entry_of_a_trade_in_profit() -> None:
    """The fuel-ratio rule for a long carried well into profit: 'tighten to a stop at
    break-even', not the pre-trade stop below the entry (which would lock in a loss)."""
    from alerts.advice import StopBook, advise
    from alerts.findings import Position

    m = market(103_000.0)  # +3% on a 0.5%/h market: three typical 4-hour moves
    pos = Position(1, 100_000.0, 20.0, 95_000.0, 1.4, opened_ms=m.as_of - 6 * HOUR)
    a = advise("lfr_degraded", "lfr", m, pos, None, 1.0, StopBook(m.map_clusters()))
    assert a.break_even and a.price == 100_000.0
    losing = advise(
        "lfr_degraded", "lfr", market(99_000.0), pos, None, 1.0, StopBook(m.map_clusters())
    )
    assert not losing.break_even


def test_a_suggested_stop_says_what_it_would_cost_the_position() -> None:
    from alerts.findings import Position
    from bot.views.alert_message import stop_loss_words

    long = Position(1, 116_000.0, 20.0, 110_642.6, None)
    assert stop_loss_words(long, 112_065.1) == (
        "it caps the loss at 3.39% of the entry, 68% of your margin"
    )
    short = Position(-1, 100_000.0, 10.0, 109_000.0, None)
    assert stop_loss_words(short, 102_000.0) == (
        "it caps the loss at 2.00% of the entry, 20% of your margin"
    )
    assert stop_loss_words(long, 117_000.0) == ""  # past the entry: no loss to cap
    assert stop_loss_words(Position(1, None, None, None, None), 1.0) == ""


def test_the_traders_own_stop_is_the_one_advised() -> None:
    from alerts.findings import Act, Action, Finding, Position
    from bot.views.alert_message import stop_advice
    from liqmap.clusters import Cluster

    def advice(stop: float | None) -> str:
        p = Position(1, 116_000.0, 20.0, 110_642.6, None, stop=stop)
        f = Finding("k", 10, 1, "BTC/USDT:USDT", WARN, "warn", 1, 0, False, False, position=p)
        c = Cluster("long", 112_515.2, 112_627.7, 112_600.0, 1e6, 0.2)
        return stop_advice(f, Action(Act.CUT_RISK, "long", 112_065.1, c))

    assert advice(None).startswith("a stop at <b>112,065.1</b>")
    assert advice(None).endswith("it caps the loss at 3.39% of the entry, 68% of your margin")
    assert advice(112_000.0) == (
        "keeping your stop at 112,000.0, which fills before the liquidation (it caps the loss "
        "at 3.45% of the entry, 69% of your margin)"
    )
    past = advice(110_000.0)  # below the liquidation price: it never fills
    assert past.startswith("moving your stop at 110,000.0: it sits past the liquidation price")
    assert "or a stop at <b>112,065.1</b>" in past


def test_closing_now_says_what_it_costs() -> None:
    from alerts.findings import Position
    from bot.views.alert_message import closing_words

    long = Position(1, 116_800.0, 25.0, 112_578.3, None)
    assert closing_words(long, 114_198.0) == (
        "closing now at 114,198.0 would lose 2.23% of the entry, 56% of your margin"
    )
    assert closing_words(long, 117_000.0) == "closing now at 117,000.0 would keep a gain"


def test_a_stop_price_has_already_passed_is_placed_from_the_price_now() -> None:
    """A long from 100,000 whose entry stop (96,114, beyond 97,000-96,500) price has already
    fallen through: the advice is the stop beyond the next cluster below the price now, never
    one above the price (it would fill at once)."""
    from alerts.advice import StopBook, advise
    from alerts.findings import Position
    from tests.test_alert_rules import at

    pos = Position(1, 100_000.0, 10.0, 89_500.0, 1.4)
    fresh = advise(
        "lfr_degraded", "lfr", at(99_000.0), pos, None, 1.0, StopBook(BASE.map_clusters())
    )
    assert fresh.price == 96_500 * 0.996  # the entry's stop, below the price
    m = at(95_000.0)
    a = advise("lfr_degraded", "lfr", m, pos, None, 1.0, StopBook(m.map_clusters()))
    assert a.price == 91_500 * 0.996 and a.price < m.price


def test_an_open_positions_stop_is_the_same_in_alerts_digests_and_positions() -> None:
    """/positions' risk and the digest name the stop the alerts do (advice.held_position_stop):
    the entry's, or the one from the price now once price has passed it."""
    from alerts.advice import held_position_stop

    clusters = BASE.map_clusters()
    kept = held_position_stop(clusters, "long", 100_000.0, 99_000.0)
    assert kept is not None and kept.price == 96_500 * 0.996
    moved = held_position_stop(clusters, "long", 100_000.0, 95_000.0)
    assert moved is not None and moved.price == 91_500 * 0.996
