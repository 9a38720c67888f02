"""The trader's own stop against the suggested one (issue 20 review, defects 3-5): the size
advice, the warnings, the position risk and the digest judge the stop the trader set, and the
risk's 'stop past liquidation' judges the very stop the reply shows. On the replayed
2025-10-10 BTC 1d maps: a long at 116,000 x20, liquidation 110,642.6."""

from __future__ import annotations

import pytest

from bot.views.check import check_html, check_position, position_risk_now, size_advice
from bot.views.digest import symbol_block
from bot.views.report import MapReport, make_report
from market.replay import ReplaySource
from storage.subscriptions import Subscription
from tests.test_alerts_e2e import at


@pytest.fixture(scope="module")
def at_2000(replay: ReplaySource) -> MapReport:
    """Price 116,605.3; the suggested stop 108,849.5 sits past the liquidation."""
    return make_report(replay, "BTC", "1d", at("20:00"))


def test_size_and_warnings_follow_the_traders_own_stop(at_2000: MapReport) -> None:
    r = at_2000
    suggested = check_position(r, "long", 116_000, 20)
    assert suggested.stop is not None and suggested.stop < suggested.liquidation_price
    mine = check_position(r, "long", 116_000, 20, own_stop=112_000)
    assert mine.stop == suggested.stop  # the map's suggestion is still shown
    advice = size_advice(mine, 100)
    assert advice is not None
    assert advice.stop == 112_000 and advice.max_leverage is None  # fills before x20's liq.
    assert round(advice.stop_distance_pct, 2) == 3.45 and round(advice.max_notional) == 2900
    text = check_html(mine, r, advice, "$100")
    assert "at most <b>$2.9K</b> notional ($145 margin at x20): your stop at 112,000.0" in text
    assert "lower the leverage" not in text and "use x" not in text
    assert mine.position_risk is not None and mine.position_risk.stop == 0
    # without an own stop: the suggested stop sizes, and its leverage cap and the risk stand
    plain = size_advice(suggested, 100)
    assert plain is not None and plain.stop == suggested.stop and plain.max_leverage == 12
    assert suggested.position_risk is not None and suggested.position_risk.stop == 15
    # an own stop past the liquidation is judged as such
    past = check_position(r, "long", 116_000, 20, own_stop=110_000)
    assert past.position_risk is not None and past.position_risk.stop == 15


def test_position_risk_judges_the_stop_the_reply_shows(replay: ReplaySource) -> None:
    """21:05: the chain-aware suggested stop (112,072.0) fills before the liquidation; the
    risk read 'stop past liquidation 15' from a stop on the large clusters alone."""
    r = make_report(replay, "BTC", "1d", at("21:05"))
    c = check_position(r, "long", 116_000, 20)
    assert c.stop is not None and c.stop > c.liquidation_price
    text = check_html(c, r)
    assert "Suggested stop: <b>112,072.0</b>" in text
    assert "stop past liquidation 0" in text and "stop past liquidation 15" not in text
    # /positions: the trader's /stop when set, else the same suggested stop
    lp = c.liquidation_price
    assert position_risk_now(r, "long", 116_000, 20, lp, None).stop == 0
    assert position_risk_now(r, "long", 116_000, 20, lp, 110_000).stop == 15


def _long(sub_id: int, stop: float | None) -> Subscription:
    return Subscription(
        sub_id, 1, "BTC/USDT:USDT", "position", "long", 116_000, 20, None, 110_642.6, {}, 0,
        None, False, stop_price=stop,
    )  # fmt: skip


def test_the_digest_shows_the_traders_stop_and_the_suggestion_only_without_one(
    at_2000: MapReport,
) -> None:
    text = symbol_block(at_2000, [_long(1, 112_500), _long(2, None)], None, at("20:00"))
    own = next(line for line in text.splitlines() if line.startswith("  #1 long"))
    other = next(line for line in text.splitlines() if line.startswith("  #2 long"))
    assert own.endswith("; your stop 112,500.0 (-3.52% away)") and "suggested" not in own
    assert other.endswith("; suggested stop 108,849.5")
