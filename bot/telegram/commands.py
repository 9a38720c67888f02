"""Every command the bot answers: name, what it does, an example. /help and setMyCommands are
both made from this list, so they cannot drift apart (a test checks it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    name: str
    description: str  # setMyCommands: 3-256 characters
    usage: str
    example: str


COMMANDS: tuple[Command, ...] = (
    Command("start", "Start here: what this bot does", "/start", "/start"),
    Command("help", "All commands with examples", "/help", "/help"),
    Command(
        "map",
        "Liquidation map: chart and summary",
        "/map SYMBOL [1d|7d|30d] [10-25x] [stack]",
        "/map BTC 7d 10-25x",
    ),
    Command(
        "heatmap",
        "Liquidation heatmap: price x time",
        "/heatmap SYMBOL [1d|7d|30d] [10-25x]",
        "/heatmap ETH 30d",
    ),
    Command(
        "check",
        "Pre-trade check of a position; size advice with risk",
        "/check SYMBOL long|short ENTRY LEVERAGE [SIZE_USD] [sl PRICE] [risk 1%|risk 200]",
        "/check btc 20x long 116k risk 1%",
    ),
    Command(
        "open",
        "Register a position: the bot watches it",
        "/open SYMBOL long|short ENTRY LEVERAGE [SIZE_USD] [sl PRICE]",
        "/open BTC long 116000 20 5000",
    ),
    Command("positions", "Your positions: fuel ratio now vs at entry", "/positions", "/positions"),
    Command(
        "close",
        "Close a position: PnL and a post-trade note",
        "/close ID [EXIT_PRICE]",
        "/close 3 112500",
    ),
    Command(
        "stop", "Set a position's stop (exit detected)", "/stop ID PRICE|off", "/stop 3 108800"
    ),
    Command("account", "Your account size, for risk 1%", "/account USD", "/account 10000"),
    Command("watch", "Alerts for a symbol without a position", "/watch SYMBOL", "/watch ETH"),
    Command("unwatch", "Stop watching a symbol", "/unwatch SYMBOL", "/unwatch ETH"),
    Command(
        "alerts",
        "Alert rules: switch on/off/silent, set thresholds",
        "/alerts [set RULE VALUE]",
        "/alerts set cluster_edge 0.8",
    ),
    Command(
        "alert",
        "Price alert at your level: a candle's high/low crossing it",
        "/alert SYMBOL [above|below] PRICE|+5% [every [1%|500]] · /alert (list) · /alert del ID",
        "/alert BTC below 112k",
    ),
    Command("digest", "4-hourly digest: on, off, or now", "/digest on|off|now", "/digest now"),
    Command(
        "quiet",
        "Quiet hours in your zone (alerts held)",
        "/quiet HH:MM-HH:MM|off",
        "/quiet 23-7",
    ),
    Command("mute", "Mute all alerts for a while", "/mute DURATION|off", "/mute 2 hours"),
    Command(
        "liqs",
        "Real liquidations recorded: per venue, largest, where",
        "/liqs SYMBOL [1h|4h|24h]",
        "/liqs BTC 4h",
    ),
    Command(
        "skill",
        "How well the map placed real liquidations (7 days)",
        "/skill SYMBOL",
        "/skill BTC",
    ),
    Command("status", "Data freshness per venue and symbol", "/status", "/status"),
    Command(
        "tz",
        "Your time zone: every time the bot shows",
        "/tz ZONE|CITY|+3|UTC+5:30",
        "/tz berlin",
    ),
)


def help_html() -> str:
    lines = ["<b>Commands</b>"]
    for c in COMMANDS:
        lines.append(
            f"<code>{c.usage}</code>\n  {c.description}. Example: <code>{c.example}</code>"
        )
    lines.append(
        "\nSymbols: BTC, btc, BTCUSDT, BTC/USDT or BTC/USDT:USDT. Windows: 1d, 7d, 30d "
        "(the lookback that seeds the map). Prices: 116000, 116,000, $116k, 1.2m; leverage "
        "20, 20x or x20; buy/sell for long/short; position arguments in any order "
        "(<code>/check btc 20x long 116k</code>)."
    )
    return "\n".join(lines)
