"""A map quoting an older close says when the feed already printed past its listed clusters."""

from __future__ import annotations

from bot.views.liqs import swept_since_line
from bot.views.real_prints import ChartPrint, RealLiquidations

CLOSE_AT = 1_000_000


def prints(*rows: tuple[float, str, int]) -> RealLiquidations:
    return RealLiquidations(tuple(ChartPrint(p, 1e6, side, t) for p, side, t in rows))


def test_said_only_for_newer_prints_past_a_listed_cluster() -> None:
    below, above = [99.0, 98.0], [102.0]
    swept = swept_since_line(prints((97.5, "long", CLOSE_AT + 1)), 100.0, CLOSE_AT, below, above)
    assert "longs were liquidated down to 97.5" in swept and "shorts" not in swept
    # the same print before the quoted close is already in the price: nothing to add
    assert swept_since_line(prints((97.5, "long", CLOSE_AT)), 100.0, CLOSE_AT, below, above) == ""
    # newer, but not as far as the nearest cluster
    short_of = prints((99.5, "long", CLOSE_AT + 1))
    assert swept_since_line(short_of, 100.0, CLOSE_AT, below, above) == ""
    both = prints((98.5, "long", CLOSE_AT + 5), (102.5, "short", CLOSE_AT + 9))
    text = swept_since_line(both, 100.0, CLOSE_AT, below, above)
    assert "down to 98.5" in text and "shorts were liquidated up to 102.5" in text
