"""Alert rules (docs/model.md §4) on small hand-built metrics and clusters."""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from html.parser import HTMLParser
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerts import (
    ASYMMETRY,
    CLUSTER_EDGE,
    DEFAULT_CONFIG,
    FUNDING_EXTREME,
    LFR_DEGRADED,
    OI_DROP,
    OWN_LP_IN_CLUSTER,
    RULES,
    SQUEEZE,
    Act,
    AlertInputError,
    AlertState,
    Finding,
    Subscriptions,
    SymbolMetrics,
    Urgency,
    evaluate,
    metrics_from_map,
    rule_catalogue,
)
from alerts.advice import position_stop
from alerts.catalogue import SLOT_INDEX
from alerts.rules import _Pass
from bot.views.alert_message import MAX_CHARS, alert_messages
from liqmap import Cluster, LiqMap, check_own_liquidation, make_grid, map_clusters
from liqmap.metrics import asymmetry, fuel_ratio
from liqmap.model import MODEL_OI_DELTA, MODEL_VOLUME_PROXY, ModelSettings, resolve_tiers
from liqmap.units import notional

MIN = 60_000
HOUR = 60 * MIN
T0 = 1_760_000_000_000  # a fixed "now" in ms; every test passes time in explicitly


def cl(side: str, near: float, far: float, usd: float = 2e6, share: float = 0.3) -> Cluster:
    lo, hi = min(near, far), max(near, far)
    return Cluster(side, lo, hi, (lo + hi) / 2, usd, share)


# Price 100,000. Longs below: 97,000-96,500 ($5M), 92,000-91,500; shorts above: 102,000-102,600
# ($3M), 108,000-108,500. Nothing within 0.5%, funding at the 0.01% baseline, balanced map.
LONG_1, LONG_2 = cl("long", 97_000, 96_500, 5e6), cl("long", 92_000, 91_500)
SHORT_1, SHORT_2 = cl("short", 102_000, 102_600, 3e6), cl("short", 108_000, 108_500)
BASE = SymbolMetrics(
    symbol="BTC/USDT:USDT",
    as_of=T0,
    price=100_000.0,
    below=(LONG_1, LONG_2),
    above=(SHORT_1, SHORT_2),
    clusters=(LONG_1, LONG_2, SHORT_1, SHORT_2),
    lfr_long=1.3,
    lfr_short=0.77,
    asymmetry=1.2,
    oi_change_4h=-0.02,
    funding_rate=0.0001,
    funding_p95_abs=None,
    long_below=7e6,
    short_above=5.8e6,
)


def at(price: float | None = None, **changes: Any) -> SymbolMetrics:
    if price is not None:
        changes["price"] = price
    return dataclasses.replace(BASE, **changes)


def with_longs(*longs: Cluster, price: float = 100_000.0, **changes: Any) -> SymbolMetrics:
    return at(price, below=longs[:2], clusters=(*longs, SHORT_1, SHORT_2), **changes)


WATCH = {"sub_id": 1, "chat_id": 100, "kind": "watch"}
LONG_POS = {
    "sub_id": 2,
    "chat_id": 200,
    "kind": "position",
    "side": "long",
    "entry": 99_000.0,
    "leverage": 10.0,
    "liquidation_price": 89_500.0,
    "entry_lfr": 1.4,
}
SHORT_POS = {
    **LONG_POS,
    "sub_id": 3,
    "side": "short",
    "liquidation_price": 110_500.0,
    "entry_lfr": 0.7,  # entered against the map: the LFR rule does not apply
}


def subs_of(*records: Mapping[str, Any]) -> Subscriptions:
    return Subscriptions.from_records(records)


class Feed:
    """Carries the state from one evaluation to the next, as the caller does."""

    def __init__(self, *records: Mapping[str, Any]) -> None:
        self.subs = subs_of(*records)
        self.state = AlertState.empty()

    def __call__(self, m: SymbolMetrics, now: int, rule: str | None = None) -> list[Finding]:
        events, self.state = evaluate(m, self.subs, self.state, now)
        return [e for e in events if rule is None or e.rule == rule]


def received(m: SymbolMetrics, findings: list[Finding], now: int = T0) -> dict[int, str]:
    """What each chat receives: the outbox text of its one message about ``m.symbol``."""
    return {msg.chat_id: msg.text for msg in alert_messages(findings, m, {}, now)}


def said(m: SymbolMetrics, finding: Finding) -> str:
    """The message the chat of ``finding`` receives when it fires alone."""
    return received(m, [finding], finding.at_ms)[finding.chat_id]


def test_catalogue_matches_section_4() -> None:
    cat = {r.name: r for r in rule_catalogue()}
    assert tuple(cat) == RULES
    assert {n: r.default for n, r in cat.items()} == {
        CLUSTER_EDGE: 0.5,
        LFR_DEGRADED: 1.0,
        OI_DROP: 15.0,
        FUNDING_EXTREME: 0.05,
        SQUEEZE: 0.03,
        ASYMMETRY: 2.5,
        OWN_LP_IN_CLUSTER: 0.5,
        "liquidation_warning": 3.0,  # the liquidation_touch claim's choice (README)
    }
    watch_rules = {n for n, r in cat.items() if "watch" in r.applies_to}
    assert watch_rules == {CLUSTER_EDGE, OI_DROP, FUNDING_EXTREME, SQUEEZE, ASYMMETRY}
    assert all("position" in r.applies_to for r in cat.values())


def test_a_calm_map_fires_nothing() -> None:
    feed = Feed(WATCH, LONG_POS, SHORT_POS)
    assert feed(BASE, T0) == []
    assert feed.state.to_rows() == []  # nothing worth storing


# Each rule: the subscription it is tested on, and metrics that are calm, that trigger it,
# that clear it but not by the re-arm margin, and that clear it by the margin.
Scenario = tuple[Mapping[str, Any], str, SymbolMetrics, SymbolMetrics, SymbolMetrics, SymbolMetrics]
SCENARIOS: dict[str, Scenario] = {
    "cluster_edge": (
        WATCH,
        "below1",
        BASE,
        at(97_400.0),  # 0.41% above the near edge 97,000
        at(97_800.0),  # 0.82%: out of 0.5% but within the 1% re-arm margin
        at(98_200.0),  # 1.24%: re-armed
    ),
    "cluster_edge_above": (
        WATCH,
        "above1",
        BASE,
        at(101_600.0),
        at(101_100.0),
        at(100_800.0),
    ),
    "lfr_degraded": (
        LONG_POS,
        "lfr",
        BASE,
        at(lfr_long=0.9),
        at(lfr_long=1.05),
        at(lfr_long=1.15),
    ),
    "oi_drop": (
        WATCH,
        "oi",
        BASE,
        at(oi_change_4h=-0.18),
        at(oi_change_4h=-0.12),
        at(oi_change_4h=-0.08),
    ),
    "funding_extreme": (
        WATCH,
        "funding",
        BASE,
        at(funding_rate=0.0006),
        at(funding_rate=0.00045),
        at(funding_rate=0.0003),
    ),
    "squeeze": (  # negative funding with the short cluster 2% above
        WATCH,
        "short_squeeze",
        BASE,
        at(funding_rate=-0.0004),
        at(funding_rate=-0.00025),
        at(funding_rate=-0.0001),
    ),
    "squeeze_long": (  # positive funding with a long cluster 1% below
        WATCH,
        "long_squeeze",
        with_longs(cl("long", 99_000, 98_500)),
        with_longs(cl("long", 99_000, 98_500), funding_rate=0.00035),
        with_longs(cl("long", 99_000, 98_500), funding_rate=0.00026),
        with_longs(cl("long", 99_000, 98_500), funding_rate=0.0002),
    ),
    "asymmetry": (
        WATCH,
        "longs_heavy",
        BASE,
        at(asymmetry=2.7),
        at(asymmetry=2.3),
        at(asymmetry=2.1),
    ),
    "asymmetry_shorts": (
        WATCH,
        "shorts_heavy",
        BASE,
        at(asymmetry=0.35),
        at(asymmetry=0.44),
        at(asymmetry=0.47),
    ),
    "own_lp_in_cluster": (  # the long's LP 89,500 against a long cluster that moves
        LONG_POS,
        "lp",
        with_longs(LONG_1, cl("long", 91_000, 90_600)),  # LP 1.2% past the far edge: clear
        with_longs(LONG_1, cl("long", 90_000, 89_200)),  # LP inside
        with_longs(LONG_1, cl("long", 90_500, 90_000)),  # 0.56% past: not within 0.5%
        with_longs(LONG_1, cl("long", 91_500, 91_000)),  # 1.65% past: beyond the 1% margin
    ),
}


def rule_of(name: str) -> str:
    return next(r for r in RULES if name.startswith(r))


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_rule_fires_once_per_episode_and_rearms_after_the_margin(name: str) -> None:
    record, key, calm, trigger, within_margin, cleared = SCENARIOS[name]
    rule = rule_of(name)
    feed = Feed(record)
    assert feed(calm, T0, rule) == []
    [first] = feed(trigger, T0 + 1 * MIN, rule)
    assert (first.rule, first.key, first.episode) == (rule, key, 1)
    assert first.dedupe_key == f"BTC/USDT:USDT:{record['sub_id']}:{rule}:{key}:1"
    assert not first.silent and not first.held
    # Holds for hours: no repeat, even long after the cooldown.
    assert feed(trigger, T0 + 2 * HOUR, rule) == []
    # Clears, but not by the margin, then comes back: still no repeat.
    assert feed(within_margin, T0 + 3 * HOUR, rule) == []
    assert feed(trigger, T0 + 4 * HOUR, rule) == []
    # Clears by the margin: re-armed, the next crossing is a new episode with a new key.
    assert feed(cleared, T0 + 5 * HOUR, rule) == []
    assert feed.state.row(record["sub_id"], rule, key)["armed"]
    [second] = feed(trigger, T0 + 6 * HOUR, rule)
    assert (second.key, second.episode) == (key, 2)
    assert second.dedupe_key != first.dedupe_key


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_cooldown_holds_back_a_quick_second_crossing(name: str) -> None:
    record, _key, _calm, trigger, _within, cleared = SCENARIOS[name]
    rule = rule_of(name)
    feed = Feed(record)
    assert len(feed(trigger, T0, rule)) == 1
    # the fuel ratio waits 4 h (it swings through 1.1 and back within the hour in a cascade)
    cooldown = 4 * HOUR if rule == LFR_DEGRADED else 30 * MIN
    assert feed(cleared, T0 + 5 * MIN, rule) == []  # re-armed...
    assert feed(trigger, T0 + 10 * MIN, rule) == []  # ...but within the cooldown
    assert feed(trigger, T0 + cooldown - MIN, rule) == []
    [again] = feed(trigger, T0 + cooldown + MIN, rule)  # still true once the cooldown is over
    assert again.episode == 2


def test_thresholds_are_per_user() -> None:
    tight = {**WATCH, "sub_id": 5, "thresholds": {CLUSTER_EDGE: 0.3, ASYMMETRY: 3.0}}
    feed = Feed(WATCH, tight)
    events = feed(at(97_400.0, asymmetry=2.7), T0)  # 0.41% from the edge, 2.7:1
    assert {(e.sub_id, e.rule) for e in events} == {(1, CLUSTER_EDGE), (1, ASYMMETRY)}
    events = feed(at(97_200.0, asymmetry=3.1), T0 + MIN)  # 0.21%, 3.1:1
    assert {(e.sub_id, e.rule) for e in events} == {(5, CLUSTER_EDGE), (5, ASYMMETRY)}


def test_watches_get_no_position_rules() -> None:
    lp_in_cluster = {**LONG_POS, "liquidation_price": 96_800.0}
    feed = Feed(WATCH, lp_in_cluster)
    events = feed(at(lfr_long=0.5), T0)
    assert {(e.sub_id, e.rule) for e in events} == {
        (2, LFR_DEGRADED),
        (2, OWN_LP_IN_CLUSTER),
    }


def test_lfr_needs_an_entry_lfr_at_or_above_the_threshold() -> None:
    weak_entry = {**LONG_POS, "sub_id": 7, "entry_lfr": 0.8}
    unknown_entry = {**LONG_POS, "sub_id": 8, "entry_lfr": None}
    unbounded_entry = {**LONG_POS, "sub_id": 9, "entry_lfr": math.inf}
    feed = Feed(weak_entry, unknown_entry, unbounded_entry)
    events = feed(at(lfr_long=0.6), T0, LFR_DEGRADED)
    assert [e.sub_id for e in events] == [9]
    # NaN (both sides empty) and inf (no risk-side fuel) never count as "below 1".
    feed = Feed(LONG_POS)
    assert feed(at(lfr_long=math.nan), T0) == []
    assert feed(at(lfr_long=math.inf), T0 + MIN) == []


def test_short_position_reads_the_short_fuel_ratio() -> None:
    short = {**SHORT_POS, "entry_lfr": 1.2}
    feed = Feed(short)
    assert feed(at(lfr_long=0.2, lfr_short=1.5), T0, LFR_DEGRADED) == []
    m = at(lfr_long=5.0, lfr_short=0.7)
    [e] = feed(m, T0 + MIN, LFR_DEGRADED)
    assert "#3 BTC short x10" in said(m, e) and "now 0.70 vs 1.20 at entry" in said(m, e)


@pytest.mark.parametrize("unknown", [None, math.nan])
def test_unknown_oi_change_never_fires(unknown: float | None) -> None:
    feed = Feed(WATCH, LONG_POS)
    assert feed(at(oi_change_4h=-0.5), T0, OI_DROP) != []
    feed = Feed(WATCH, LONG_POS)
    for i in range(5):
        assert feed(at(oi_change_4h=unknown), T0 + i * HOUR, OI_DROP) == []
    assert feed.state.row(1, OI_DROP, "oi")["armed"]
    # And it leaves an earlier episode alone: no re-arm on missing data.
    feed(at(oi_change_4h=-0.5), T0 + 6 * HOUR)
    feed(at(oi_change_4h=unknown), T0 + 7 * HOUR)
    assert not feed.state.row(1, OI_DROP, "oi")["armed"]


def test_missing_funding_or_asymmetry_never_fires() -> None:
    feed = Feed(WATCH)
    assert feed(at(funding_rate=None, asymmetry=math.nan, funding_p95_abs=0.0001), T0) == []


def test_funding_beyond_its_30_day_p95() -> None:
    feed = Feed(WATCH)
    # p95 0.03%: 0.035% is beyond it (and at least half the 0.05% threshold).
    m = at(funding_rate=-0.00035, funding_p95_abs=0.0003)
    [e] = feed(m, T0, FUNDING_EXTREME)
    assert e.value == pytest.approx(-0.035) and e.threshold == 0.05
    assert "Funding <b>-0.0350% per 8h</b>" in said(m, e)
    # Re-arms under 80% of the level that fired (0.03% -> 0.024%).
    assert feed(at(funding_rate=-0.00025, funding_p95_abs=0.0003), T0 + HOUR) == []
    assert not feed.state.row(1, FUNDING_EXTREME, "funding")["armed"]
    feed(at(funding_rate=-0.00023, funding_p95_abs=0.0003), T0 + 2 * HOUR)
    assert feed.state.row(1, FUNDING_EXTREME, "funding")["armed"]
    # Beyond a calm month's p95 but under half the threshold: ordinary funding, no alert.
    feed = Feed(WATCH)
    assert feed(at(funding_rate=0.0002, funding_p95_abs=0.0001), T0, FUNDING_EXTREME) == []
    # Pinned at the baseline: equal to its p95 is not beyond it.
    assert feed(at(funding_rate=0.0001, funding_p95_abs=0.0001), T0 + MIN) == []


def test_squeeze_needs_dense_liquidations_within_3_percent() -> None:
    far_shorts = at(
        funding_rate=-0.0004, above=(SHORT_2,), clusters=(LONG_1, LONG_2, SHORT_2)
    )  # shorts only 8% above
    feed = Feed(WATCH)
    assert feed(far_shorts, T0, SQUEEZE) == []
    m = at(funding_rate=-0.0004)
    [e] = feed(m, T0 + MIN, SQUEEZE)
    assert e.key == "short_squeeze" and e.action is not None and e.action.kind == Act.AVOID_NEW
    assert "avoiding new shorts under the cluster: a rise into 102,000.0" in said(m, e)
    # Positive funding with no longs within 3% below: no long squeeze.
    assert Feed(WATCH)(at(funding_rate=0.0004), T0, SQUEEZE) == []


def test_mode_off_and_silent() -> None:
    off = {**WATCH, "sub_id": 1, "modes": {CLUSTER_EDGE: "off"}}
    silent = {**WATCH, "sub_id": 2, "modes": {CLUSTER_EDGE: "silent"}}
    feed = Feed(off, silent)
    [e] = feed(at(97_400.0), T0)
    assert (e.sub_id, e.silent, e.held) == (2, True, False)
    assert feed.state.row(1, CLUSTER_EDGE, "below1")["armed"]  # off: not disarmed
    # Switching the rule on while the condition holds fires it then.
    feed.subs = subs_of(WATCH, silent)
    [e] = feed(at(97_400.0), T0 + MIN)
    assert (e.sub_id, e.silent) == (1, False)


def test_mute_suppresses_without_disarming() -> None:
    muted = {**WATCH, "muted_until_ms": T0 + HOUR}
    feed = Feed(muted)
    assert feed(at(97_400.0), T0) == []
    assert feed(at(97_400.0), T0 + 59 * MIN) == []
    assert feed.state.row(1, CLUSTER_EDGE, "below1")["armed"]
    [e] = feed(at(97_400.0), T0 + HOUR)  # mute over, still within 0.5%: fires now
    assert e.episode == 1
    # A condition that cleared during the mute never fires afterwards.
    feed = Feed(muted)
    feed(at(97_400.0), T0)
    assert feed(BASE, T0 + 2 * HOUR) == []


def test_quiet_hours_hold_or_send_silently() -> None:
    hold = {**WATCH, "sub_id": 1, "in_quiet_hours": True, "hold_in_quiet": True}
    quiet_silent = {**WATCH, "sub_id": 2, "in_quiet_hours": True, "hold_in_quiet": False}
    awake = {**WATCH, "sub_id": 3, "hold_in_quiet": True}
    feed = Feed(hold, quiet_silent, awake)
    flags = {e.sub_id: (e.held, e.silent) for e in feed(at(97_400.0), T0)}
    assert flags == {1: (True, False), 2: (False, True), 3: (False, False)}
    # Quiet hours do not suppress: the episode is spent, the held event carries it.
    assert feed(at(97_400.0), T0 + HOUR) == []


def test_a_new_cluster_is_a_new_alert() -> None:
    feed = Feed(WATCH)
    [first] = feed(at(97_400.0), T0)
    # Price rallied and the map grew a different cluster, now the nearest and within 0.5%;
    # the first one is #2, 1.9% away. A new cluster is a new alert, even within the cooldown.
    other = cl("long", 98_400, 98_100, 1e6)
    m = with_longs(other, LONG_1, price=98_850.0)
    [second] = feed(m, T0 + 5 * MIN)
    assert (second.key, second.episode) == ("below1", 2)
    assert second.dedupe_key != first.dedupe_key
    assert "• Price is <b>0.46%</b> from 98,400.0" in said(m, second)
    # The first cluster kept its history at rank 2 (re-armed, still cooling down).
    assert feed.state.row(1, CLUSTER_EDGE, "below2")["last_fired_ms"] == T0


def test_a_cluster_moving_by_a_bucket_or_shrinking_is_the_same_cluster() -> None:
    feed = Feed(WATCH)
    assert len(feed(at(97_400.0), T0)) == 1
    # Re-binned a bucket lower, then partly swept as price trades into it: same cluster.
    for i, (near, p) in enumerate([(96_903.0, 97_300.0), (96_800.0, 96_850.0)]):
        moved = cl("long", near, 96_500, 4e6)
        assert feed(with_longs(moved, LONG_2, price=p), T0 + (i + 1) * HOUR) == []


def test_the_next_cluster_of_a_cascade_alerts_and_a_flicker_does_not() -> None:
    first, second = cl("long", 97_400, 97_200), cl("long", 96_900, 96_500)
    feed = Feed(WATCH)
    [e1] = feed(with_longs(first, second, price=97_800.0), T0)  # 0.41% from 97,400
    assert e1.key == "below1"
    # The first cluster is swept; the old #2 is now #1 and price is 0.2% from it.
    m = with_longs(second, LONG_2, price=97_100.0)
    [e2] = feed(m, T0 + 5 * MIN)
    assert (e2.key, e2.episode) == ("below1", 2)
    assert "from 96,900.0, the near edge" in said(m, e2)
    # The cluster drops out of the map for one refresh, then comes back: no repeat.
    assert feed(with_longs(LONG_2, price=97_050.0), T0 + 40 * MIN) == []
    assert feed.state.row(1, CLUSTER_EDGE, "below_lost")["zone_low"] == 96_500.0
    assert feed(with_longs(second, LONG_2, price=97_050.0), T0 + 80 * MIN) == []


def test_a_remembered_cluster_is_forgotten_once_price_moved_away() -> None:
    feed = Feed(WATCH)
    assert len(feed(at(97_400.0), T0)) == 1
    assert feed(with_longs(LONG_2, price=97_300.0), T0 + MIN) == []  # the cluster vanished
    assert not feed.state.row(1, CLUSTER_EDGE, "below_lost")["armed"]
    # Price 2% away (beyond the 1% margin) and the cooldown over: nothing left to remember.
    feed(with_longs(LONG_2, price=99_000.0), T0 + HOUR)
    lost = feed.state.row(1, CLUSTER_EDGE, "below_lost")
    assert lost["armed"] and lost["zone_low"] is None
    # So the cluster coming back within 0.5% is a fresh alert.
    [e] = feed(at(97_400.0), T0 + 2 * HOUR)
    assert e.episode == 2


def test_rank_two_fires_with_its_own_key() -> None:
    near, next_ = cl("long", 99_000, 98_900), cl("long", 98_700, 98_500)
    feed = Feed(WATCH)
    keys = sorted(e.key for e in feed(with_longs(near, next_, price=99_100.0), T0))
    assert keys == ["below1", "below2"]


def test_own_lp_just_past_the_far_edge_and_a_different_cluster() -> None:
    feed = Feed(LONG_POS)  # LP 89,500
    m = with_longs(LONG_1, cl("long", 90_200, 89_700))
    [e] = feed(m, T0, OWN_LP_IN_CLUSTER)
    assert e.value == 89_500 and e.cluster is not None and e.cluster.low == 89_700  # 0.22% past
    text = said(m, e)
    assert "#2 BTC long x10: liquidation 89,500.0 is 10.5% below" in text
    assert "inside" not in text and "liquidation in the long cluster 89.7-90.2K" in text
    assert "below <b>88,803.0</b>" in text  # 2 x 0.5% beyond the far edge 89,700
    # The map changes and the LP now sits in another cluster: a new alert.
    m = with_longs(LONG_1, cl("long", 89_550, 89_000))
    [e2] = feed(m, T0 + HOUR, OWN_LP_IN_CLUSTER)
    assert e2.episode == 2 and "inside the 89.0-89.5K cluster" in said(m, e2)


@settings(max_examples=60, deadline=None)
@given(
    lps=st.lists(st.floats(85_000, 100_000), min_size=1, max_size=30),
    side=st.sampled_from(["long", "short"]),
)
def test_own_lp_agrees_with_liqmap_check(lps: list[float], side: str) -> None:
    sign = 1 if side == "long" else -1
    lps = [lp if sign > 0 else 200_000 - lp for lp in lps]  # shorts: mirror above price
    records = [
        {**LONG_POS, "sub_id": i, "side": side, "liquidation_price": lp, "entry_lfr": None}
        for i, lp in enumerate(lps)
    ]
    m = with_longs(LONG_1, cl("long", 93_000, 92_600), cl("long", 90_000, 89_200))
    m = dataclasses.replace(m, clusters=(*m.clusters, cl("short", 104_000, 104_300)))
    events, _ = evaluate(m, subs_of(*records), AlertState.empty(), T0)
    fired = {e.sub_id for e in events if e.rule == OWN_LP_IN_CLUSTER}
    expected = {
        i
        for i, lp in enumerate(lps)
        if check_own_liquidation(lp, side, m.map_clusters(), 0.5).status != "clear"
    }
    assert fired == expected


def test_dedupe_key_is_stable_when_a_retry_sees_the_edge_moved() -> None:
    subs = subs_of(WATCH)
    state = AlertState.empty()
    ev1, _ = evaluate(at(97_400.0), subs, state, T0)
    shifted = with_longs(cl("long", 97_050, 96_500), LONG_2, price=97_400.0)
    ev2, _ = evaluate(shifted, subs, state, T0 + MIN)  # the same state: a retried tick
    assert [e.dedupe_key for e in ev1] == [e.dedupe_key for e in ev2]


def test_state_round_trips_through_rows() -> None:
    feed = Feed(WATCH, LONG_POS, SHORT_POS)
    feed(at(97_400.0, asymmetry=3.0, oi_change_4h=-0.2, lfr_long=0.5), T0)
    rows = feed.state.to_rows()
    assert rows and tuple(rows[0]) == (
        "sub_id",
        "rule",
        "key",
        "armed",
        "last_fired_ms",
        "episode",
        "zone_low",
        "zone_high",
    )
    restored = AlertState.from_rows([*rows, {**rows[0], "rule": "retired_rule"}])
    assert restored.to_rows() == rows
    # The restored state behaves exactly like the original.
    later = at(97_300.0, asymmetry=2.0, oi_change_4h=-0.05, lfr_long=1.2)
    a, sa = evaluate(later, feed.subs, feed.state, T0 + HOUR)
    b, sb = evaluate(later, feed.subs, restored, T0 + HOUR)
    assert a == b and sa.to_rows() == sb.to_rows()
    # Only what changed needs writing.
    changed = sa.changed_rows(feed.state)
    assert 0 < len(changed) < len(sa.to_rows()) + 1
    assert sa.changed_rows(sa) == []


def test_state_of_other_subscriptions_is_kept_and_can_be_pruned() -> None:
    feed = Feed(WATCH, LONG_POS)
    feed(at(97_400.0), T0)
    _, state = evaluate(at(97_400.0), subs_of(LONG_POS), feed.state, T0 + MIN)
    assert {r["sub_id"] for r in state.to_rows()} == {1, 2}
    assert {r["sub_id"] for r in state.prune([2]).to_rows()} == {2}


def test_symbol_and_venues_are_html_escaped() -> None:
    stale = ("okx<script>", "bybit", "bitget", "binanceusdm", "kraken")
    m = at(97_400.0, symbol="<b>X&Y/USDT:USDT", stale=stale, asymmetry=3.0)
    events, _ = evaluate(m, subs_of(WATCH, LONG_POS), AlertState.empty(), T0)
    texts = received(m, events)
    assert sorted(texts) == [100, 200]
    for text in texts.values():
        assert "&lt;b&gt;X&amp;Y" in text
        assert "okx&lt;script&gt;" in text and "and 2 more" in text
        assert "<script>" not in text and "<b>X" not in text
        check_html(text)


def small_map(model: str = MODEL_OI_DELTA) -> LiqMap:
    """Price 100,000: 6M of longs at 97,000-97,200, 2M of shorts at 101,500-101,600."""
    price = 100_000.0
    grid = make_grid(price, 30, 0.1)
    long, short = np.zeros(grid.size), np.zeros(grid.size)
    long[grid.index_of([97_000, 97_100, 97_200])] = 2e6
    short[grid.index_of([101_500, 101_600])] = 1e6
    tiers, _ = resolve_tiers("BTC", ModelSettings())
    units = "relative" if model == MODEL_VOLUME_PROXY else "USD"
    return LiqMap(
        symbol="BTC/USDT:USDT",
        as_of=T0,
        price=price,
        grid=grid,
        long=long,
        short=short,
        long_by_tier=long[None, :],
        short_by_tier=short[None, :],
        tiers=tiers[:1],
        model=model,
        split="taker",
        units=units,
        seeded_long=long.sum(),
        seeded_short=short.sum(),
        brackets_bundled=True,
    )


def test_metrics_from_a_map() -> None:
    liq = small_map()
    clusters = map_clusters(liq)
    m = metrics_from_map(
        liq, clusters, oi_change_4h=-0.1, funding_rate=0.0002, funding_interval_h=4.0
    )
    assert m.lfr_long == fuel_ratio(liq, "long") and m.lfr_short == fuel_ratio(liq, "short")
    assert m.asymmetry == asymmetry(liq) == pytest.approx(3.0)
    assert m.funding_rate == pytest.approx(0.0004)  # 4 h rate -> per 8 h
    assert m.below == clusters.below[:2] and m.above == clusters.above[:2]
    assert m.dense_notional("short", 3.0) == pytest.approx(2e6)
    assert not m.relative_units
    events, _ = evaluate(m, subs_of(WATCH), AlertState.empty(), T0)
    assert {e.rule for e in events} == {ASYMMETRY, SQUEEZE}  # 0.04% per 8h: not extreme


def test_a_volume_proxy_map_is_in_relative_units() -> None:
    texts = {}
    wide = {**WATCH, "thresholds": {CLUSTER_EDGE: 3.0}}  # the longs 2.8% below count as near
    for model in (MODEL_VOLUME_PROXY, MODEL_OI_DELTA):
        liq = small_map(model)
        m = metrics_from_map(liq, map_clusters(liq), funding_rate=0.0004)
        assert m.relative_units == (model == MODEL_VOLUME_PROXY)
        events, _ = evaluate(m, subs_of(wide), AlertState.empty(), T0)
        assert {e.rule for e in events} == {CLUSTER_EDGE, ASYMMETRY, SQUEEZE}  # both sides
        texts[model] = received(m, events)[100]
    rel, usd = texts[MODEL_VOLUME_PROXY], texts[MODEL_OI_DELTA]
    assert "$" not in rel and "rel." in rel and "$" in usd and "rel." not in usd
    check_html(rel)
    assert "97,254.5–96,963.3 (6M rel., 100% of the side within ±10%)" in rel
    assert "97,254.5–96,963.3 ($6M, 100% of the side within ±10%)" in usd
    assert "101,424.0–101,627.0 (2M rel., 100% of the side" in rel


def test_notional_amounts() -> None:
    assert notional(1.35e9) == "$1.35B" and notional(1.35e9, relative=True) == "1.35B rel."
    assert notional(-4.2e6, relative=True) == "-4.2M rel." and notional(950.0) == "$950"
    assert notional(None, relative=True) == "n/a" and notional(math.nan, True) == "n/a"


def test_bad_inputs_are_rejected() -> None:
    with pytest.raises(AlertInputError):
        subs_of(WATCH, WATCH)  # duplicate sub_id
    with pytest.raises(AlertInputError):
        at(price=0.0)
    with pytest.raises(AlertInputError):
        Subscriptions(
            sub_id=np.arange(2),
            chat_id=np.arange(3),
            kind=np.zeros(2),
            side=np.zeros(2),
            entry=np.zeros(2),
            leverage=np.zeros(2),
            liquidation_price=np.zeros(2),
            entry_lfr=np.zeros(2),
            thresholds=np.zeros((2, len(RULES))),
            modes=np.ones((2, len(RULES))),
            muted_until_ms=np.zeros(2),
            in_quiet_hours=np.zeros(2, dtype=bool),
        )


# -- vectorised evaluation == one subscription at a time -------------------------------------


def random_subs(n: int, seed: int) -> Subscriptions:
    rng = np.random.default_rng(seed)
    kind = rng.integers(0, 2, n)
    side = np.where(kind == 1, rng.choice([-1, 1], n), 0)
    entry = np.where(kind == 1, rng.uniform(95_000, 105_000, n), np.nan)
    lev = np.where(kind == 1, rng.choice([5.0, 10.0, 20.0, 50.0], n), np.nan)
    lp = entry * (1 - side / lev * rng.uniform(0.85, 1.0, n))
    thresholds = np.where(
        rng.random((n, len(RULES))) < 0.7,
        np.nan,
        np.array([0.5, 1.0, 15, 0.05, 0.03, 2.5, 0.5, 3.0])
        * rng.uniform(0.5, 1.6, (n, len(RULES))),
    )
    return Subscriptions(
        sub_id=rng.permutation(10 * n)[:n],
        chat_id=rng.integers(1, n, n),
        kind=kind,
        side=side,
        entry=entry,
        leverage=lev,
        liquidation_price=lp,
        entry_lfr=np.where(kind == 1, rng.uniform(0.6, 2.5, n), np.nan),
        thresholds=thresholds,
        modes=rng.choice([0, 1, 1, 1, 2], (n, len(RULES))),
        muted_until_ms=np.where(rng.random(n) < 0.1, T0 + 2 * HOUR, 0),
        in_quiet_hours=rng.random(n) < 0.2,
        hold_in_quiet=rng.random(n) < 0.5,
    )


def busy_map(price: float, **changes: Any) -> SymbolMetrics:
    """Stacked clusters near price on both sides, and more further out (own-LP checks)."""
    below = (cl("long", price * 0.997, price * 0.992), cl("long", price * 0.985, price * 0.98))
    above = (cl("short", price * 1.004, price * 1.009), cl("short", price * 1.02, price * 1.03))
    outer = tuple(cl("long", 95_000 - 1_500 * i, 94_200 - 1_500 * i) for i in range(6)) + tuple(
        cl("short", 106_000 + 1_500 * i, 106_900 + 1_500 * i) for i in range(6)
    )
    return at(price, below=below, above=above, clusters=below + above + outer, **changes)


SEQUENCE: list[tuple[int, SymbolMetrics]] = [
    (T0, busy_map(100_000.0, asymmetry=2.6, funding_rate=-0.0004, lfr_long=0.9)),
    (T0 + 10 * MIN, busy_map(99_500.0, asymmetry=2.0, oi_change_4h=-0.2, lfr_short=0.8)),
    (T0 + 45 * MIN, busy_map(101_000.0, asymmetry=0.3, funding_rate=0.0007, oi_change_4h=None)),
    (T0 + 3 * HOUR, busy_map(100_300.0, asymmetry=2.8, funding_rate=-0.0006, lfr_long=0.7)),
]


def test_vectorised_evaluation_equals_one_at_a_time() -> None:
    subs = random_subs(200, seed=7)  # every rule and mode mix occurs in 200 (the >=5 check)
    state = AlertState.empty()
    for now, m in SEQUENCE:
        events, new_state = evaluate(m, subs, state, now)
        one_by_one: list[Finding] = []
        for i in range(len(subs)):
            ev, single = evaluate(m, subs.take([i]), state, now)
            one_by_one += ev
            assert same_state(single, new_state, int(subs.sub_id[i]))
        assert events == one_by_one
        for text in received(m, events, now).values():
            check_html(text)
        state = new_state
    assert len({e.rule for e in events}) >= 5  # the sequence exercises most rules


def same_state(a: AlertState, b: AlertState, sub_id: int) -> bool:
    one = np.array([sub_id])
    return all(
        np.array_equal(x, y, equal_nan=x.dtype.kind == "f")
        for x, y in zip(a.gather(one).columns(), b.gather(one).columns(), strict=True)
    )


def test_a_hundred_thousand_subscriptions_in_one_pass() -> None:
    subs = random_subs(100_000, seed=11)
    _, state = evaluate(BASE, subs, AlertState.empty(), T0)
    # Price comes within 0.41% of the nearest long cluster: everyone whose threshold covers it,
    # whose rule is on and who is not muted gets exactly one cluster-edge alert.
    events, state = evaluate(at(97_400.0), subs, state, T0 + 10 * MIN)
    edge = [e for e in events if e.rule == CLUSTER_EDGE]
    col = RULES.index(CLUSTER_EDGE)
    threshold = np.where(np.isnan(subs.thresholds[:, col]), 0.5, subs.thresholds[:, col])
    distance = 100 * (1 - 97_000 / 97_400)  # % of price, as Cluster.distance_pct
    expected = (threshold >= distance) & (subs.modes[:, col] != 0)
    expected &= subs.muted_until_ms <= T0 + 10 * MIN
    assert sorted(e.sub_id for e in edge) == sorted(subs.sub_id[expected].tolist())
    assert len({e.dedupe_key for e in events}) == len(events)
    later, _ = evaluate(at(97_350.0), subs, state, T0 + 2 * HOUR)
    # No repeat while it holds: only those whose mute has just ended, or whose tighter
    # threshold price has only now reached (0.36%), hear about it now.
    closer = (threshold >= 100 * (1 - 97_000 / 97_350)) & (subs.modes[:, col] != 0)
    late = sorted(e.sub_id for e in later if e.rule == CLUSTER_EDGE)
    assert late == sorted(subs.sub_id[closer & ~expected].tolist())
    assert any(subs.muted_until_ms[np.isin(subs.sub_id, late)] > 0)


@settings(max_examples=40, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.floats(-1.5, 1.5),  # price move, %
            st.floats(1.0, 3.2),  # asymmetry
            st.floats(-0.0008, 0.0008),  # funding
            st.integers(1, 40),  # minutes to the next refresh
        ),
        min_size=1,
        max_size=25,
    )
)
def test_no_dedupe_key_is_ever_issued_twice(
    steps: list[tuple[float, float, float, int]],
) -> None:
    subs = random_subs(40, seed=3)
    state, price, now = AlertState.empty(), 100_000.0, T0
    seen: set[str] = set()
    for move, asym, funding, minutes in steps:
        price *= 1 + move / 100
        now += minutes * MIN
        events, state = evaluate(
            busy_map(price, asymmetry=asym, funding_rate=funding), subs, state, now
        )
        keys = [e.dedupe_key for e in events]
        assert len(set(keys)) == len(keys) and not seen & set(keys)
        seen |= set(keys)


# -- HTML --------------------------------------------------------------------------------------


class _TagChecker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in {"b", "i", "code"} and not attrs, tag
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open.pop() == tag, tag


def check_html(text: str) -> None:
    """Telegram HTML: only b/i/code, balanced, no stray '<' or '&', under the limit."""
    assert len(text) < MAX_CHARS
    checker = _TagChecker()
    checker.feed(text)
    checker.close()
    assert checker.open == []
    assert not re.search(r"&(?!lt;|gt;|amp;|quot;)", text)


def render_all(m: SymbolMetrics, records: list[Mapping[str, Any]]) -> list[Finding]:
    events, _ = evaluate(m, subs_of(*records), AlertState.empty(), T0)
    return events


def test_every_message_names_the_numbers_and_an_action() -> None:
    m = at(97_400.0, asymmetry=3.0, oi_change_4h=-0.2, funding_rate=0.0006, lfr_long=0.6)
    pos = {**LONG_POS, "liquidation_price": 96_800.0}
    texts = received(m, render_all(m, [WATCH, pos]))
    watch, mine = texts[100].split("\n"), texts[200].split("\n")
    # The watch: every market event once, its numbers, and what to consider.
    assert watch[0] == "<b>BTC: price 0.41% from a long cluster below</b> (+4 more)"
    assert watch[1] == "97,400.0 · 08:53 UTC"
    assert watch[2] == (
        "• Price is <b>0.41%</b> from 97,000.0, the near edge of the long-liquidation cluster "
        "below: 97,000.0–96,500.0 ($5M, 71% of the side within ±10%)"
    )
    assert "• Open interest <b>-20.0%</b> in 4 h: the map is stale" in watch
    assert "• Funding <b>+0.0600% per 8h</b>: crowded positioning" in watch
    assert "• Long/short imbalance <b>3.00:1 (longs heavier)</b> within ±10%" in watch
    assert watch[-1].startswith("<b>Consider:</b> avoiding new longs inside 97,000.0–96,500.0")
    # The position: its own line with what fired for it, the stop beyond the cluster, and the
    # most urgent advice (its liquidation sits in that cluster).
    assert mine[0] == "<b>BTC: liquidation of #2 sits in a large cluster</b> (+6 more)"
    [line] = [x for x in mine if x.startswith("#2 BTC long x10")]
    assert line.startswith(
        "#2 BTC long x10: liquidation 96,800.0 is 0.6% below; inside the 96.5-97.0K"
    )
    assert "liquidation in the long cluster 96.5-97.0K: cut leverage" in line
    assert "stop 96,114.0, beyond 96.5-97.0K" in line  # 0.4% beyond the far edge 96,500
    assert "fuel ratio fell below 1: now 0.60 vs 1.40 at entry" in line
    assert mine[-1] == (
        "<b>Consider:</b> reducing leverage or adding margin until your liquidation price is "
        "below <b>95,535.0</b>; a stop beyond the cluster only protects you once the "
        "liquidation price is past it."
    )
    for t in texts.values():
        check_html(t)


def test_relative_units_change_only_the_amounts_in_every_message() -> None:
    m = at(97_400.0, asymmetry=3.0, oi_change_4h=-0.2, funding_rate=0.0006, lfr_long=0.6)
    m = dataclasses.replace(m, vol_fast=1e-5, vol_slow=1e-5)  # 0.3%/h: the warning fires too
    pos = {**LONG_POS, "liquidation_price": 96_800.0}
    records = [WATCH, pos, SHORT_POS, {**pos, "sub_id": 4, "chat_id": 400}]
    usd_events = render_all(m, records)
    rel_m = dataclasses.replace(m, relative_units=True)
    rel_events = render_all(rel_m, records)
    assert {e.rule for e in rel_events} == set(RULES)  # every rule is covered
    assert rel_events == usd_events  # units are words, not findings
    usd, rel = received(m, usd_events), received(rel_m, rel_events)
    assert sorted(rel) == [100, 200, 400]
    for chat, text in rel.items():
        assert "$" in usd[chat] and "rel." not in usd[chat]
        assert "$" not in text and "rel." in text
        # Same message with each "$5M" written "5M rel.": prices and percentages unchanged.
        assert re.sub(r"\$(-?[\d.]+[KMB]?)", r"\1 rel.", usd[chat]) == text
        check_html(text)
    assert "97,000.0–96,500.0 (5M rel., 71% of the side" in rel[200]
    # Positions with the same numbers share one piece of advice (computed once).
    two, four = (
        [e.action for e in rel_events if e.sub_id == sid and e.rule == ASYMMETRY] for sid in (2, 4)
    )
    assert two == four and two[0] is not None and two[0].kind == Act.CUT_RISK


def test_the_stop_clears_a_chained_cluster_as_the_pre_trade_check_does() -> None:
    # 95,900-96,300 sits within 1% below the stop beyond 96,500: a cascade runs on through it,
    # so the stop goes beyond both (liqmap.suggest_stop), not just past the first.
    chained = cl("long", 96_300, 95_900, 3e6)
    m = with_longs(LONG_1, chained, price=97_400.0)
    [e] = Feed(LONG_POS)(m, T0, CLUSTER_EDGE)
    check = position_stop(m.map_clusters(), "long", LONG_POS["entry"])
    assert check is not None and check.price == pytest.approx(95_900 * 0.996)
    assert e.action is not None and e.action.price == check.price
    assert e.action.cluster == chained
    text = said(m, e)
    assert "stop 95,516.4, beyond 95.9-96.3K" in text
    assert (
        "a stop at <b>95,516.4</b>, 0.4% beyond the far edge of the long cluster 96,300.0" in text
    )


def test_a_critical_finding_skips_quiet_hours_and_leads_the_message() -> None:
    # No rule escalates yet: set the urgency the way an escalating rule does (its slot's row).
    hold = {**LONG_POS, "in_quiet_hours": True, "hold_in_quiet": True}
    quiet_silent = {**hold, "sub_id": 3, "chat_id": 300, "hold_in_quiet": False}
    m = at(97_400.0, oi_change_4h=-0.2)
    p = _Pass(m, subs_of(hold, quiet_silent), AlertState.empty(), T0, DEFAULT_CONFIG)
    p.cluster_edge()
    p.oi_drop()
    edge = SLOT_INDEX[(CLUSTER_EDGE, "below1")]
    p.urgency[edge] = np.full(2, int(Urgency.CRITICAL))
    found = p.findings()
    flags = {(f.sub_id, f.rule): (f.urgency, f.held, f.silent) for f in found}
    assert flags == {
        (2, CLUSTER_EDGE): (Urgency.CRITICAL, False, False),  # now, with sound
        (2, OI_DROP): (Urgency.NORMAL, True, False),  # waits for the quiet hours to end
        (3, CLUSTER_EDGE): (Urgency.CRITICAL, False, False),
        (3, OI_DROP): (Urgency.NORMAL, False, True),
    }
    # The critical finding leads, whatever the rules' usual order.
    p.urgency = {SLOT_INDEX[(OI_DROP, "oi")]: np.full(2, int(Urgency.CRITICAL))}
    [msg, _] = alert_messages(p.findings(), m, {}, T0)
    assert msg.text.startswith("<b>BTC: open interest -20.0% in 4 h</b> (+1 more)")
    assert msg.rules == (OI_DROP, CLUSTER_EDGE)


def test_the_leading_rule_s_record_line_follows_its_advice() -> None:
    m = at(97_400.0, oi_change_4h=-0.2)
    found = Feed(WATCH)(m, T0)
    records = {CLUSTER_EDGE: "Measured: 7 of 10 edges <held>", OI_DROP: "not shown"}
    [msg] = alert_messages(found, m, {}, T0, records)
    lines = msg.text.split("\n")
    assert lines[-2].startswith("<b>Consider:</b> avoiding new longs")
    assert lines[-1] == "<i>Measured: 7 of 10 edges &lt;held&gt;</i>"  # the leading rule's only
    check_html(msg.text)
