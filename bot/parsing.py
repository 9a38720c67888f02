"""Command arguments as traders type them, for the bot and the CLI: symbols (BTC, btc, BTCUSDT,
BTC/USDT, BTC/USDT:USDT), numbers (116k, $116,000), leverage (20x, x20), positions in any
order, risk, durations, quiet hours, time zones and map windows. Pure: no Telegram, no storage.
Patterns are ASCII-only on purpose: \\d and float() would take Arabic-Indic digits too."""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass

from bot.views import fmt
from bot.views.report import WINDOWS
from liqmap import unified_symbol

_SHAPE = re.compile(r"^[A-Za-z0-9]{1,20}(/[A-Za-z]{2,10}(:[A-Za-z]{2,10})?)?$")


class InputError(ValueError):
    """Bad command arguments; the text is shown to the user (escaped)."""


class SymbolError(InputError):
    """Not a symbol this bot follows; the message suggests the nearest ones."""


class MissingSymbol(InputError):
    """The command needs a symbol and got none: the bot offers buttons instead of an error."""


def parse_symbol(text: str, known: tuple[str, ...]) -> str:
    """The unified symbol (``BTC/USDT:USDT``) of ``text`` if it is one of ``known``."""
    raw = text.strip()
    if not _SHAPE.match(raw):
        raise SymbolError("a symbol looks like BTC, BTCUSDT or BTC/USDT")
    unified = unified_symbol(raw)
    if unified in known:
        return unified
    bases = [s.split("/")[0] for s in known]
    base = unified.split("/")[0]
    near = difflib.get_close_matches(base, bases, n=2, cutoff=0.5)
    hint = f" Did you mean {' or '.join(near)}?" if near else ""
    raise SymbolError(f"{base} is not a symbol I follow.{hint} I follow: {', '.join(bases)}.")


def parse_window(text: str | None, default: str = "1d") -> str:
    """``1d``, ``7D``, `` 30d `` -> one of :data:`WINDOWS`."""
    if text is None:
        return default
    w = text.strip().lower()
    if w not in WINDOWS:
        raise InputError(f"window must be one of {', '.join(WINDOWS)}")
    return w


# ASCII only: Python's \d and float() also take Arabic-Indic and other digits.
_AMOUNT = re.compile(
    r"^(?P<sign>[+-]?)\$?(?P<int>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]*)(?P<frac>\.[0-9]+)?"
    r"(?:e(?P<exp>[+-]?[0-9]{1,3}))?(?P<unit>[kmb]?)$",
    re.ASCII | re.IGNORECASE,
)
_UNITS = {"": 1.0, "k": 1e3, "m": 1e6, "b": 1e9}


def _amount(text: str) -> float | None:
    cleaned = text.strip().replace("_", "").replace(" ", "")
    m = _AMOUNT.match(cleaned)
    if not m or not (m.group("int") or m.group("frac")):
        return None
    digits = m.group("int").replace(",", "") + (m.group("frac") or "")
    value = float(f"{digits}e{m.group('exp') or 0}") * _UNITS[m.group("unit").lower()]
    return -value if m.group("sign") == "-" else value


def parse_number(text: str, what: str) -> float:
    """A number as typed: ``116000``, ``116,000``, ``$116,000``, ``116k``, ``1.2m``,
    ``116000.5``, ``20x``."""
    raw = text.strip()
    value = _amount(raw.lower().removesuffix("x").removeprefix("x")) if raw else None
    if value is None:
        raise InputError(f"{what} must be a number, not {text[:20]!r}")
    return value


def parse_leverage(text: str) -> float | None:
    """``20x``, ``x20``, ``20X``: an explicit leverage (None if ``text`` is not one)."""
    t = text.strip().lower()
    if not (t.endswith("x") or t.startswith("x")) or t in ("x", ""):
        return None
    return _amount(t.removesuffix("x") if t.endswith("x") else t[1:])


SIDES = {"long": "long", "buy": "long", "short": "short", "sell": "short"}


@dataclass(frozen=True)
class Risk:
    """How much a trader is willing to lose on a trade: % of the account or USD."""

    value: float
    percent: bool

    def usd(self, account: float | None) -> float | None:
        if not self.percent:
            return self.value
        return None if account is None else account * self.value / 100


@dataclass(frozen=True)
class PositionArgs:
    symbol: str
    side: str
    entry: float
    leverage: float
    size: float | None = None
    risk: Risk | None = None
    stop: float | None = None  # the trader's own stop (``sl 112000``)


STOP_WORDS = ("sl", "stop", "stoploss", "stop-loss")


def parse_risk(text: str) -> Risk:
    t = text.strip()
    percent = t.endswith("%")
    value = _amount(t.removesuffix("%"))
    if value is None or not math.isfinite(value) or value <= 0 or (percent and value > 100):
        raise InputError("risk looks like 1% (of your /account) or 200 (USD)")
    return Risk(value, percent)


def _not_understood(tok: str, side: str | None, lev: float | None, numbers: list[float]) -> str:
    """Say which argument ``tok`` was probably meant to be."""
    shown = repr(tok[:20])
    if side is None:
        return f"the side must be long or short (or buy/sell), not {shown}"
    if not numbers:
        return f"the entry price must be a number, not {shown}"
    if lev is None and len(numbers) < 2:
        return f"the leverage must be a number like 20 or 20x, not {shown}"
    return f"I don't understand {shown}"


def parse_position(
    args: list[str],
    known: tuple[str, ...],
    size: bool = False,
    risk: bool = False,
    stop: bool = False,
) -> PositionArgs:
    """SYMBOL, long|short|buy|sell, ENTRY and LEVERAGE in any order where it is unambiguous:
    the leverage may carry an x anywhere (``20x``, ``x20``); plain numbers are read in order as
    entry, leverage[, size]. ``risk 1%`` / ``risk 200`` where ``risk`` is allowed, and the
    trader's own stop ``sl 112000`` (or ``stop 112k``) where ``stop`` is."""
    symbol = side = None
    lev: float | None = None
    numbers: list[float] = []
    rsk: Risk | None = None
    own_stop: float | None = None
    tokens = [t for t in args if t.strip()]
    i = 0
    while i < len(tokens):
        tok = tokens[i].strip()
        low = tok.lower()
        i += 1
        if low == "risk" and risk:
            if i >= len(tokens):
                raise InputError("say how much to risk: risk 1% or risk 200")
            rsk = parse_risk(tokens[i])
            i += 1
        elif low in STOP_WORDS and stop:
            if i >= len(tokens) or (x := _amount(tokens[i])) is None:
                raise InputError("say where your stop is: sl 112000")
            if not (math.isfinite(x) and x > 0):
                raise InputError("the stop must be a positive price")
            own_stop = x
            i += 1
        elif low in SIDES:
            if side is not None:
                raise InputError("give the side once: long or short")
            side = SIDES[low]
        elif (x := parse_leverage(tok)) is not None:
            if lev is not None:
                raise InputError("give the leverage once")
            lev = x
        elif (n := _amount(tok)) is not None:
            numbers.append(n)
        elif symbol is None:
            symbol = parse_symbol(tok, known)
        else:
            raise InputError(_not_understood(tok, side, lev, numbers))
    if side is None or not numbers or (lev is None and len(numbers) < 2):
        raise InputError("I need the symbol, long or short, the entry price and the leverage")
    if symbol is None:  # all but the symbol: buttons of the symbols complete the command
        raise MissingSymbol("which symbol?")
    entry = numbers.pop(0)
    if lev is None:
        lev = numbers.pop(0)
    amount = numbers.pop(0) if size and numbers else None
    if numbers:
        raise InputError("too many numbers: entry, leverage" + (" and size" if size else ""))
    return PositionArgs(symbol, side, entry, lev, amount, rsk, own_stop)


_DURATION = re.compile(
    r"^([0-9]{1,4})\s*(m|min|mins|minute|minutes|h|hr|hrs|hour|hours|d|day|days)$",
    re.ASCII | re.IGNORECASE,
)


def parse_duration(text: str) -> int:
    """``30m``, ``90m``, ``2h``, ``2 hours``, ``1d`` -> minutes."""
    m = _DURATION.match(text.strip())
    if not m:
        raise InputError("a duration looks like 30m, 2h, 2 hours or 1d")
    unit = m.group(2).lower()[0]
    return int(m.group(1)) * {"m": 1, "h": 60, "d": 1440}[unit]


_CLOCK = re.compile(r"^([0-9]{1,2})(?::([0-9]{2}))?$", re.ASCII)


def _clock(text: str) -> str | None:
    m = _CLOCK.match(text.strip().lower().removesuffix("h"))
    if not m:
        return None
    h, mins = int(m.group(1)), int(m.group(2) or 0)
    return f"{h:02d}:{mins:02d}" if h < 24 and mins < 60 else None


def parse_quiet(text: str) -> tuple[str, str]:
    """``23-7``, ``23:00-07:00``, ``23:00 - 07:00`` -> ('23:00', '07:00')."""
    parts = text.replace(" ", "").split("-")
    ends = [_clock(p) for p in parts] if len(parts) == 2 else []
    if len(ends) != 2 or None in ends or ends[0] == ends[1]:
        raise InputError("quiet hours look like 23:00-07:00 or 23-7 (24-hour clock, your zone)")
    return str(ends[0]), str(ends[1])


# Abbreviations traders type that are not zone names themselves (CET, EET, UTC... are).
_ABBREVIATIONS = {
    "PST": "America/Los_Angeles",
    "PDT": "America/Los_Angeles",
    "EDT": "America/New_York",
    "CDT": "America/Chicago",
    "MDT": "America/Denver",
    "CEST": "Europe/Berlin",
    "EEST": "Europe/Athens",
    "MSK": "Europe/Moscow",
    "JST": "Asia/Tokyo",
    "KST": "Asia/Seoul",
    "SGT": "Asia/Singapore",
    "HKT": "Asia/Hong_Kong",
    "AEST": "Australia/Sydney",
}
# Abbreviations that name several zones: the trader picks (a guess would shift every time shown).
_AMBIGUOUS = {
    "CST": ["America/Chicago", "Asia/Shanghai", "America/Havana"],
    "IST": ["Asia/Kolkata", "Asia/Jerusalem", "Europe/Dublin"],
    "BST": ["Europe/London", "Asia/Dhaka"],
}
_OFFSET = re.compile(
    r"^(?:utc|gmt)?\s*([+-])([0-9]{1,2})(?:[:.]?([0-9]{2}))?$", re.ASCII | re.IGNORECASE
)
# Offsets that are not whole hours have no Etc/GMT zone: the zone that keeps that offset all
# year (no summer time) stands for it.
_FRACTIONAL = {
    (1, 330): "Asia/Kolkata",
    (1, 345): "Asia/Kathmandu",
    (1, 270): "Asia/Kabul",
    (1, 210): "Asia/Tehran",
    (1, 390): "Asia/Yangon",
    (1, 570): "Australia/Darwin",
    (1, 525): "Australia/Eucla",
    (-1, 570): "Pacific/Marquesas",
}


def offset_label(text: str) -> str | None:
    """'UTC+05:30' for an offset as typed (``+5:30``, ``utc+5:30``, ``+3``), else None."""
    m = _OFFSET.match(text.strip())
    if not m:
        return None
    return f"UTC{m.group(1)}{int(m.group(2)):02d}:{int(m.group(3) or 0):02d}"


def parse_zone(text: str, zones: frozenset[str]) -> tuple[str | None, list[str]]:
    """A time zone as typed -> (the zone, []) or (None, up to 5 candidates to choose from).
    ``Europe/Berlin``, ``berlin``, ``new york``, ``CET``, ``+3``, ``UTC-5``. Only names in
    ``zones`` (the system's zone list) come back."""
    raw = text.strip()
    if not raw or len(raw) > 64:
        return None, []
    by_lower = {z.lower(): z for z in zones}
    if raw.lower() in by_lower:
        return by_lower[raw.lower()], []
    if raw.upper() in _ABBREVIATIONS:
        return _ABBREVIATIONS[raw.upper()], []
    if raw.upper() in _AMBIGUOUS:
        return None, [z for z in _AMBIGUOUS[raw.upper()] if z in zones]
    m = _OFFSET.match(raw)
    if m:
        hours, minutes = int(m.group(2)), int(m.group(3) or 0)
        if minutes:
            name = _FRACTIONAL.get((1 if m.group(1) == "+" else -1, hours * 60 + minutes), "")
            return (name, []) if name in zones else (None, [])
        if hours == 0:
            return "UTC", []
        # POSIX sign: Etc/GMT-3 is three hours *ahead* of UTC
        name = f"Etc/GMT{'-' if m.group(1) == '+' else '+'}{hours}"
        return (name, []) if name in zones else (None, [])
    city = raw.lower().replace(" ", "_")
    cities: dict[str, list[str]] = {}
    for z in sorted(zones):
        if "/" in z and not z.startswith(("Etc/", "SystemV/", "posix/", "right/")):
            cities.setdefault(z.rsplit("/", 1)[1].lower(), []).append(z)
    if city in cities:
        found = cities[city]
        return (found[0], []) if len(found) == 1 else (None, found[:5])
    near = difflib.get_close_matches(city, list(cities), n=5, cutoff=0.75)
    return None, [cities[c][0] for c in near]


def suggest_command(text: str, known: tuple[str, ...], commands: tuple[str, ...]) -> str | None:
    """What a plain message probably meant: ``map btc`` -> ``/map btc``, ``btc`` ->
    ``/map BTC``, an emoji before a command -> the command; None if nothing fits."""
    words = text.strip().split()
    if not words:
        return None
    first = words[0]
    if "/" in first and not first.startswith("/"):  # "👉/map btc"
        words[0] = first[first.index("/") :]
        first = words[0]
    elif not first.isascii() and len(words) > 1 and words[1].startswith("/"):  # "👉 /map btc"
        words = words[1:]
        first = words[0]
    name = first.lstrip("/").lower()
    if name in commands:
        return "/" + " ".join([name, *words[1:]])
    if len(words) == 1:
        try:
            return f"/map {parse_symbol(first, known).split('/')[0]}"
        except InputError:
            return None
    return None


def suggest_typo(name: str, commands: tuple[str, ...]) -> str | None:
    """The command a mistyped one (``mapp``, ``chek``) was probably meant to be, or None."""
    near = difflib.get_close_matches(name.lower(), commands, n=1, cutoff=0.6)
    return near[0] if near else None


def parse_percent(text: str, what: str) -> float:
    """A percentage as typed: ``0.8``, ``0.8%``, ``0,8%`` is not one (a thousands comma)."""
    raw = text.strip().removesuffix("%").strip()
    value = _amount(raw) if raw else None
    if value is None or not math.isfinite(value):
        raise InputError(f"{what} must be a percentage like 0.8 or 0.8%, not {text[:20]!r}")
    return value


# -- price alerts -----------------------------------------------------------------------------

ALERT_ABOVE = ("above", "over", ">", "up")
ALERT_BELOW = ("below", "under", "<", "down")
ALERT_EVERY = ("every", "repeat", "always")
MAX_ALERT_PCT = 90.0


@dataclass(frozen=True)
class AlertArgs:
    """``/alert`` as typed: a price (``level``) or a move from the price now (``pct``, signed
    when the trader signed it), an optional direction word, and ``every``."""

    symbol: str
    level: float | None
    pct: float | None
    signed: bool
    direction: str | None  # 'above' / 'below' when the trader said so
    every: bool
    margin: float | None = None  # after `every`: how far price moves back before it re-arms
    margin_pct: bool = True  # the margin as a % of the level (else a price distance)


def parse_alert(args: list[str], known: tuple[str, ...]) -> AlertArgs:
    """``BTC 120k``, ``BTC below 100k``, ``ETH +5%``, ``BTC 118500 every``, ``btc under $99,500``,
    ``BTC -3%``, ``BTC below 0.8%``: in any order; after the price, ``every 1%`` or
    ``every 500`` is the re-arm margin. :class:`MissingSymbol` when no symbol."""
    symbol: str | None = None
    direction: str | None = None
    every = False
    level: float | None = None
    pct: float | None = None
    signed = False
    margin: float | None = None
    margin_pct = True
    after_every = False
    for raw in (t.strip() for t in args if t.strip()):
        low = raw.lower()
        was_after_every, after_every = after_every, False
        if was_after_every and (level is not None or pct is not None) and margin is None:
            value = _amount(low.removesuffix("%").strip())
            if value is not None:  # the price is given: a number after `every` is the margin
                if not (math.isfinite(value) and value > 0) or low[0] in "+-":
                    raise InputError(
                        f"a re-arm margin looks like every 1% or every 500, not {raw[:20]!r}"
                    )
                margin, margin_pct = value, low.endswith("%")
                continue
        if low in ALERT_ABOVE or low in ALERT_BELOW:
            if direction is not None:
                raise InputError("give the direction once: above or below")
            direction = "above" if low in ALERT_ABOVE else "below"
        elif low in ALERT_EVERY:
            every = after_every = True
        elif low.endswith("%"):
            if level is not None or pct is not None:
                raise InputError("one price per alert (send another /alert for a second one)")
            value = _amount(low.removesuffix("%").strip())
            if value is None or not math.isfinite(value):
                raise InputError(f"a move looks like +5% or -3%, not {raw[:20]!r}")
            pct, signed = value, low[0] in "+-"
        elif (value := _amount(low)) is not None:
            if level is not None or pct is not None:
                raise InputError("one price per alert (send another /alert for a second one)")
            if low[0] in "+-":
                raise InputError(
                    f"a price has no sign ({raw[:13]!r}); a move from now is +5% or -3%"
                )
            level = value
        elif symbol is None:
            symbol = parse_symbol(raw, known)
        else:
            raise InputError(f"I don't understand {raw[:20]!r}")
    if level is None and pct is None:
        if symbol is None:
            raise MissingSymbol("tell me the symbol and the price")
        raise InputError("tell me the price: /alert BTC 120k, or a move: /alert BTC +5%")
    if symbol is None:
        raise MissingSymbol("which symbol?")
    return AlertArgs(symbol, level, pct, signed, direction, every, margin, margin_pct)


MAX_REARM_PCT = 20.0


def rearm_margin(a: AlertArgs, level: float) -> float | None:
    """The typed re-arm margin as a % of ``level`` (None: not given, the default applies);
    :class:`InputError` when it is not a sensible one."""
    if a.margin is None:
        return None
    pct = a.margin if a.margin_pct else a.margin / level * 100
    if not 0 < pct <= MAX_REARM_PCT:
        shown = f"{a.margin:g}%" if a.margin_pct else f"{a.margin:,.6g}"
        raise InputError(
            f"a re-arm margin must be more than 0 and at most {MAX_REARM_PCT:g}% of the level, "
            f"not {shown}; like every 1% or every 500"
        )
    return pct


def alert_level(a: AlertArgs, price_now: float) -> tuple[float, str]:
    """The level and the side it is crossed from (``above``: price must rise to it), against the
    price now; :class:`InputError` for a level price is already past, or far-fetched numbers."""
    if a.pct is not None:
        if a.pct == 0 or abs(a.pct) >= MAX_ALERT_PCT:
            raise InputError(f"a move must be between 0% and {MAX_ALERT_PCT:g}%, like +5%")
        if a.signed and a.direction is not None and (a.pct > 0) != (a.direction == "above"):
            raise InputError(f"{a.pct:+g}% is not {a.direction} the price now")
        if not a.signed and a.direction is None:
            raise InputError(f"say +{a.pct:g}% (a rise) or -{a.pct:g}% (a fall)")
        up = a.pct > 0 if a.signed else a.direction == "above"
        level = price_now * (1 + abs(a.pct) / 100 * (1 if up else -1))
        return level, "above" if up else "below"
    level = float(a.level or 0.0)
    if not (math.isfinite(level) and level > 0):
        raise InputError("the price must be a positive number, like 120k")
    if not price_now / 3 <= level <= price_now * 3:  # a typo (a zero too many), not a plan
        raise InputError(
            f"{fmt.price(level)} is far from the price now ({fmt.price(price_now)}); "
            "check the number"
        )
    if level == price_now:
        raise InputError(f"{fmt.price(level)} is the price now; pick a level above or below it")
    direction = a.direction or ("above" if level > price_now else "below")
    if (direction == "above") != (level > price_now):
        side = "above" if price_now > level else "below"
        raise InputError(f"price is already {side} {fmt.price(level)} ({fmt.price(price_now)} now)")
    return level, direction
