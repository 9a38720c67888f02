"""Alerts worth waking up for, in the pure layers: one message per chat and symbol,
significance, hysteresis on a wobbling series, the two risk numbers, honest units."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np

from alerts import (
    CLUSTER_EDGE,
    LFR_DEGRADED,
    AlertState,
    Finding,
    Subscriptions,
    SymbolMetrics,
    evaluate,
)
from alerts.advice import position_stop
from backtest.maps import map_steps
from backtest.path import PricePath
from bot.views.alert_message import alert_messages
from liqmap import map_clusters, position_risk
from market.replay import ReplaySource
from tests.test_alert_rules import BASE, HOUR, LONG_1, LONG_POS, SHORT_POS, T0, WATCH, at, cl
from tests.test_metrics import hand_map, spread


def one_pass(
    m: SymbolMetrics, *records: Mapping[str, Any]
) -> tuple[list[Finding], AlertState, Subscriptions]:
    subs = Subscriptions.from_records(records)
    events, new = evaluate(m, subs, AlertState.empty(), T0)
    return events, new, subs


def plain(html_text: str) -> str:
    return re.sub(r"<[^>]+>", "", html_text)


# -- grouping ----------------------------------------------------------------------------------


def test_two_positions_and_a_watch_make_one_message_listing_both() -> None:
    chat = 500
    records = [{**r, "chat_id": chat} for r in (WATCH, LONG_POS, SHORT_POS)]
    m = at(97_400.0)  # 0.41% above the $5M long cluster 97,000-96,500
    events, _, _ = one_pass(m, *records)
    assert len(events) >= 3  # the same edge fired for the watch and both positions
    [msg] = alert_messages(events, m, {chat: "Europe/Berlin"}, T0)
    lines = plain(msg.text).split("\n")
    assert "price 0.41% from a long cluster below" in lines[0]
    assert lines[1] == "97,400.0 · 10:53 Europe/Berlin"  # T0 is 08:53 UTC
    assert sum(line.startswith("• Price is 0.41% from 97,000.0") for line in lines) == 1
    assert any(
        line.startswith("#2 BTC long x10: liquidation 89,500.0 is 8.1% below") for line in lines
    )
    assert any(line.startswith("#3 BTC short x10: liquidation 110,500.0") for line in lines)
    buttons = [b for row in msg.keyboard for b in row]
    assert buttons == [
        ("📊 Map", "map|BTC|1d"),
        ("🔕 Mute 1h", "mute|3600"),
        ("✖ Close #2", "pos|close|2"),
        ("✖ Close #3", "pos|close|3"),
    ]
    assert msg.dedupe_key == f"{m.symbol}:{chat}:{T0}"


def test_each_chat_gets_its_own_message() -> None:
    m = at(97_400.0)
    events, _, _ = one_pass(m, WATCH, LONG_POS)  # chats 100 and 200
    msgs = alert_messages(events, m, {}, T0)
    assert sorted(x.chat_id for x in msgs) == [100, 200]
    assert "UTC" in msgs[0].text.split("\n")[1]


# -- significance ------------------------------------------------------------------------------


def test_a_small_cluster_does_not_alert_a_large_one_does() -> None:
    small = cl("long", 99_500, 99_300, 0.3e6)  # 4% of the longs within the band
    m = at(below=(small, LONG_1), clusters=(small, LONG_1, *BASE.above), price=99_700.0)
    events, _, _ = one_pass(m, WATCH)
    assert not [e for e in events if e.rule == CLUSTER_EDGE]  # 0.2% from a small one: nothing
    m = dataclasses.replace(m, price=97_300.0)
    events, _, _ = one_pass(m, WATCH)
    [edge] = [e for e in events if e.rule == CLUSTER_EDGE]
    assert edge.cluster == LONG_1


def test_a_user_minimum_silences_clusters_under_it() -> None:
    m = at(97_300.0)  # 0.31% from the $5M cluster
    assert [e.rule for e in one_pass(m, {**WATCH, "min_cluster": 4e6})[0]] == [CLUSTER_EDGE]
    assert one_pass(m, {**WATCH, "min_cluster": 6e6})[0] == []


# -- hysteresis --------------------------------------------------------------------------------


def test_fuel_ratio_wobbling_around_one_fires_once_per_episode() -> None:
    # A long entered at LFR 1.4; the ratio then wobbles around 1 every 5 minutes.
    series = [1.3, 0.996, 0.99, 1.02, 0.97, 1.08, 0.95, 1.05, 0.98, 1.09, 0.96]
    state, fired = AlertState.empty(), []
    subs = Subscriptions.from_records([LONG_POS])
    for k, lfr in enumerate(series):
        now = T0 + k * 5 * 60_000
        events, state = evaluate(at(lfr_long=lfr), subs, state, now)
        fired += [(k, e) for e in events if e.rule == LFR_DEGRADED]
    assert [k for k, _ in fired] == [2]  # 0.996 reads 1.00: not "below 1"; 0.99 is
    [msg] = alert_messages([fired[0][1]], at(lfr_long=0.99), {}, T0 + 10 * 60_000)
    assert (
        "#2 BTC long x10: liquidation 89,500.0 is 10.5% below — fuel ratio fell below 1: now 0.99 "
        "vs 1.40" in (plain(msg.text))
    )
    # It re-arms above 1.1, and fires again only after the 4 h cooldown.
    later = [(1.15, 3 * HOUR), (0.9, 3 * HOUR + 5 * 60_000), (1.15, 5 * HOUR), (0.9, 5 * HOUR + 1)]
    again = []
    for lfr, dt in later:
        events, state = evaluate(at(lfr_long=lfr), subs, state, T0 + dt)
        again += [dt for e in events if e.rule == LFR_DEGRADED]
    assert again == [5 * HOUR + 1]


# -- the two risk numbers ----------------------------------------------------------------------


def test_position_risk_flags_a_stop_past_the_liquidation_price() -> None:
    longs = {p: 1e3 for p in np.arange(85_250.0, 99_800.0, 500.0)} | spread(97_000, 5e6)
    liq = hand_map(100_000, longs, {p: 1e3 for p in np.arange(100_250.0, 114_800.0, 500.0)})
    clusters = map_clusters(liq)
    # liquidation just past the far edge of the cluster: the stop beyond it comes after it
    lp = clusters.below[0].low * 0.998
    suggested = position_stop(clusters, "long", 100_000)
    assert suggested is not None
    stop = suggested.price
    risky = position_risk(liq, clusters, "long", 100_000, 25, lp, 0.0004, 3, 2, 2.0, stop=stop)
    assert risky.cluster == 20
    assert risky.stop == 15 and risky.session == 10 and risky.funding > 0
    safe = position_risk(liq, clusters, "long", 100_000, 3, 67_000, -0.0004, 14, 2, 2.0, stop=stop)
    assert safe.stop == 0 and safe.funding == 0 and safe.reach == 0 and safe.leverage == 0
    assert safe.total < risky.total


def test_market_risk_deciles_order_the_next_4h_range_on_a_fixed_window() -> None:
    # 2025-04-01 .. 2025-10-01, a 1d map every 6 h (732 maps, OI-based). Measured: the next
    # 4 h's range averages 0.92% in the lowest third by score and 1.33% in the highest, rank
    # correlation 0.28 (the old fixed-5% score: -0.01 over 2025). October alone, the cascade
    # month, is weaker (0.16): one violent news day does not follow the map.
    src = ReplaySource()
    start = int(datetime(2025, 4, 1, tzinfo=UTC).timestamp() * 1000)
    end = int(datetime(2025, 10, 1, tzinfo=UTC).timestamp() * 1000)
    times = list(range(start, end, 6 * HOUR))
    steps = list(map_steps(src, "BTC/USDT:USDT", "1d", times, with_p95=False))
    path = PricePath.hourly(src, "BTC/USDT:USDT")
    hi, lo = path.ahead(path.next_index(np.array(times)), 4)
    price = np.array([s.metrics.price for s in steps])
    ahead = (hi.max(1) - lo.min(1)) / price * 100
    risk = np.array([s.risk for s in steps])
    order = np.argsort(risk, kind="stable")
    third = len(order) // 3
    low_third, high_third = ahead[order[:third]].mean(), ahead[order[-third:]].mean()
    assert high_third > 1.3 * low_third, (low_third, high_third)
    rank = np.corrcoef(np.argsort(np.argsort(risk)), np.argsort(np.argsort(ahead)))[0, 1]
    assert rank > 0.2, rank


# -- units -------------------------------------------------------------------------------------


def test_relative_units_never_show_dollars_in_a_grouped_alert() -> None:
    m = at(97_400.0, relative_units=True)
    events, _, _ = one_pass(m, WATCH, LONG_POS)
    for msg in alert_messages(events, m, {}, T0):
        assert "$" not in msg.text and "rel." in msg.text
