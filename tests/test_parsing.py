"""Every parse rule of :mod:`bot.parsing`, as a table: input as traders type it -> value, or the
input it must refuse. Plus the vectorised position-fate function those positions go through."""

from __future__ import annotations

from zoneinfo import available_timezones

import numpy as np
import pytest

from alerts.fate import LIQUIDATED, NO_CANDLE, OPEN, STOPPED, first_crossing, position_fates
from bot.parsing import (
    InputError,
    PositionArgs,
    Risk,
    parse_duration,
    parse_leverage,
    parse_number,
    parse_position,
    parse_quiet,
    parse_window,
    parse_zone,
    suggest_command,
)

KNOWN = ("BTC/USDT:USDT", "ETH/USDT:USDT")
BTC = "BTC/USDT:USDT"
ZONES = frozenset(available_timezones())


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("116000", 116000.0),
        ("116,000", 116000.0),
        ("$116,000", 116000.0),
        ("116k", 116000.0),
        ("116K", 116000.0),
        ("1.2m", 1.2e6),
        ("116000.5", 116000.5),
        ("$116.5k", 116500.0),
        ("0.231", 0.231),
        (".5", 0.5),
        ("20x", 20.0),
        ("1_000", 1000.0),
        ("-1", -1.0),
        ("2.5e3", 2500.0),
    ],
)
def test_numbers(typed: str, value: float) -> None:
    assert parse_number(typed, "n") == value


@pytest.mark.parametrize(
    "typed", ["nan", "inf", "١٢٣", "１２３", "1,00", "11,6000", "$", "k", "1.2.3", "12kk", "", "½"]
)
def test_numbers_refused(typed: str) -> None:
    with pytest.raises(InputError):
        parse_number(typed, "n")


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("20x", 20.0),
        ("x20", 20.0),
        ("20X", 20.0),
        ("X5", 5.0),
        ("2.5x", 2.5),
        ("20", None),
        ("x", None),
        ("box", None),
    ],
)
def test_leverage(typed: str, value: float | None) -> None:
    assert parse_leverage(typed) == value


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("BTC long 116000 20", PositionArgs(BTC, "long", 116000, 20)),
        ("btc 20x long 116k", PositionArgs(BTC, "long", 116000, 20)),
        ("long btc 116,000 x20", PositionArgs(BTC, "long", 116000, 20)),
        ("BTC buy $116,000 20", PositionArgs(BTC, "long", 116000, 20)),
        ("sell BTCUSDT 121.6k 10X", PositionArgs(BTC, "short", 121600, 10)),
        ("BTC/USDT short 121600 10", PositionArgs(BTC, "short", 121600, 10)),
        ("BTC long 116000 20 risk 1%", PositionArgs(BTC, "long", 116000, 20, None, Risk(1, True))),
        (
            "risk $200 BTC long 116k 20x",
            PositionArgs(BTC, "long", 116000, 20, None, Risk(200, False)),
        ),
    ],
)
def test_positions_in_any_order(typed: str, expected: PositionArgs) -> None:
    assert parse_position(typed.split(), KNOWN, risk=True) == expected


def test_position_with_size() -> None:
    got = parse_position(["BTC", "long", "116000", "20", "10k"], KNOWN, size=True)
    assert got == PositionArgs(BTC, "long", 116000, 20, 10000)
    assert parse_position(["x20", "BTC", "long", "116000", "5000"], KNOWN, size=True).size == 5000


@pytest.mark.parametrize(
    "typed",
    [
        "BTC long 116000",
        "BTC 116000 20",
        "long 116000 20",
        "BTC long short 116000 20",
        "BTC long 116000 20x 30x",
        "BTC long 116000 20 5000",
        "BTC ETH long 116000 20",
        "DOGE long 1 20",
        "BTC long 116000 20 risk",
        "BTC long 116000 20 risk 0%",
        "BTC long 116000 20 risk 101%",
        "BTC long 116000 20 risk abc",
    ],
)
def test_positions_refused(typed: str) -> None:
    with pytest.raises(InputError):
        parse_position(typed.split(), KNOWN, risk=True)


def test_risk_is_a_command_word_only_where_allowed() -> None:
    with pytest.raises(InputError):
        parse_position(["BTC", "long", "116000", "20", "risk", "1%"], KNOWN)


@pytest.mark.parametrize(
    ("typed", "minutes"),
    [
        ("30m", 30),
        ("90m", 90),
        ("2h", 120),
        ("2 hours", 120),
        ("1 hour", 60),
        ("1d", 1440),
        ("2H", 120),
        ("45 min", 45),
        ("3 days", 4320),
    ],
)
def test_durations(typed: str, minutes: int) -> None:
    assert parse_duration(typed) == minutes


@pytest.mark.parametrize("typed", ["2", "h", "2w", "-2h", "١h", "2 parsecs", "99999m"])
def test_durations_refused(typed: str) -> None:
    with pytest.raises(InputError):
        parse_duration(typed)


@pytest.mark.parametrize(
    ("typed", "hours"),
    [
        ("23-7", ("23:00", "07:00")),
        ("23:00-07:00", ("23:00", "07:00")),
        ("23:00 - 07:00", ("23:00", "07:00")),
        ("22:30-6", ("22:30", "06:00")),
        ("0-8", ("00:00", "08:00")),
    ],
)
def test_quiet_hours(typed: str, hours: tuple[str, str]) -> None:
    assert parse_quiet(typed) == hours


@pytest.mark.parametrize("typed", ["24-7", "23", "23-23", "23:60-07:00", "a-b", "1-2-3", "٢٣-٧"])
def test_quiet_hours_refused(typed: str) -> None:
    with pytest.raises(InputError):
        parse_quiet(typed)


@pytest.mark.parametrize(("typed", "window"), [("1d", "1d"), ("7D", "7d"), (" 30d ", "30d")])
def test_windows(typed: str, window: str) -> None:
    assert parse_window(typed) == window


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        ("europe/berlin", "Europe/Berlin"),
        ("berlin", "Europe/Berlin"),
        ("new york", "America/New_York"),
        ("CET", "CET"),
        ("cet", "CET"),
        ("+3", "Etc/GMT-3"),
        ("UTC-5", "Etc/GMT+5"),
        ("GMT+0", "GMT+0"),
        ("UTC+3", "Etc/GMT-3"),
        ("PST", "America/Los_Angeles"),
        ("utc", "UTC"),
    ],
)
def test_zones(typed: str, zone: str) -> None:
    assert parse_zone(typed, ZONES) == (zone, [])


def test_zones_ask_or_refuse() -> None:
    assert parse_zone("berlinn", ZONES) == (None, ["Europe/Berlin"])
    # CST is US Central, China and Cuba: the trader picks, no silent guess
    cst = ["America/Chicago", "Asia/Shanghai", "America/Havana"]
    assert parse_zone("CST", ZONES) == (None, cst)
    assert parse_zone("ist", ZONES)[1][0] == "Asia/Kolkata"
    assert parse_zone("../../etc/passwd", ZONES) == (None, [])
    assert parse_zone("+30", ZONES) == (None, [])
    assert parse_zone("x" * 300, ZONES) == (None, [])


@pytest.mark.parametrize(
    ("typed", "guess"),
    [
        ("map btc", "/map btc"),
        ("btc", "/map BTC"),
        ("👉 /map btc", "/map btc"),
        ("👉/check BTC long 1 2", "/check BTC long 1 2"),
        ("hi", None),
        ("what is this", None),
    ],
)
def test_plain_messages(typed: str, guess: str | None) -> None:
    assert suggest_command(typed, KNOWN, ("map", "check", "help")) == guess


def test_fate_first_candle_that_crossed_per_position() -> None:
    # candles closing at 5, 10, 15, 20 (ms units for the test)
    close = np.array([5, 10, 15, 20], dtype=np.int64)
    low = np.array([100.0, 95.0, 90.0, 99.0])
    high = np.array([101.0, 100.0, 96.0, 112.0])
    side = np.array([1, 1, -1, 1, -1], dtype=np.int8)
    level = np.array([96.0, 96.0, 110.0, 80.0, np.nan])
    checked = np.array([0, 10, 0, 0, 0], dtype=np.int64)
    got = first_crossing(side, level, checked, close, low, high)
    # long@96: the 10 candle; long@96 checked to 10: the 15 candle; short@110: the 20 candle
    assert got.tolist() == [1, 2, 3, NO_CANDLE, NO_CANDLE]


def test_fate_stop_wins_a_tie_inside_one_candle() -> None:
    close = np.array([5, 10], dtype=np.int64)
    low, high = np.array([99.0, 90.0]), np.array([101.0, 100.0])
    side = np.array([1, 1, 1], dtype=np.int8)
    fates = position_fates(
        side,
        liquidation=np.array([92.0, 92.0, 80.0]),
        stop=np.array([95.0, np.nan, 99.5]),
        checked_to=np.zeros(3, dtype=np.int64),
        close_time=close,
        low=low,
        high=high,
    )
    assert fates.outcome.tolist() == [STOPPED, LIQUIDATED, STOPPED]
    assert fates.candle.tolist() == [1, 1, 0]
    assert fates.extreme.tolist() == [90.0, 90.0, 99.0]
    empty = position_fates(
        side,
        np.full(3, 92.0),
        np.full(3, np.nan),
        np.zeros(3, np.int64),
        close[:0],
        low[:0],
        high[:0],
    )
    assert empty.outcome.tolist() == [OPEN] * 3
