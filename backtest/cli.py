"""``liqbot backtest``: the command-line glue. ``bot/cli.py`` calls ``add_parser`` and ``run``.

Bad input (unknown symbol or rule, a time outside the data, a bad alerts config, an unwritable
HTML path) prints one line on stderr and returns 2.

``--source demo`` (the default) replays the bundled data; ``--source live`` replays the history
the bot recorded, which ``bot/cli.py`` opens (``--db``) and passes in as a ``History``: this
package never imports ``bot``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alerts.catalogue import CATALOGUE_BY_NAME, RULES
from alerts.rules import AlertConfig
from backtest.history import History, ReplayHistory
from backtest.path import PricePath
from backtest.rule_stats import RuleStats
from backtest.run import Replay, Spec, run_backtest
from liqmap import ModelInputError
from market.snapshot import MarketDataError
from market.source import WINDOW_MS


class BacktestInputError(ValueError):
    """A bad argument: one line on stderr, exit status 2."""


def parse_time(text: str, flag: str) -> int:
    """An ISO time or date, UTC unless it names a zone -> ms."""
    try:
        t = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BacktestInputError(
            f"{flag} {text!r} is not an ISO time such as 2025-10-10T20:00Z"
        ) from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return int(t.timestamp() * 1000)


def parse_every(text: str) -> int:
    """``1h``, ``30m``, ``4h`` -> ms (5 minutes at least)."""
    m = re.fullmatch(r"\s*(\d+)\s*([mh])\s*", text)
    if not m or int(m.group(1)) == 0:
        raise BacktestInputError(f"--every {text!r}: use minutes or hours, e.g. 1h, 30m, 4h")
    ms = int(m.group(1)) * (60_000 if m.group(2) == "m" else 3_600_000)
    if ms < 5 * 60_000:
        raise BacktestInputError("--every must be at least 5m (the finest bundled candles)")
    return ms


def parse_rules(text: str | None) -> tuple[str, ...]:
    if not text:
        return RULES
    names = tuple(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
    for n in names:
        if n not in RULES:
            raise BacktestInputError(f"--rules: unknown rule {n!r}; choose from {', '.join(RULES)}")
    return names


def load_alerts_config(path: str | None) -> AlertConfig:
    """A JSON object of ``AlertConfig`` fields; the others keep their defaults."""
    if not path:
        return AlertConfig()
    try:
        data = json.loads(Path(path).read_text())
    except OSError as e:
        raise BacktestInputError(f"--alerts-config {path!r}: {e.strerror or e}") from None
    except json.JSONDecodeError as e:
        raise BacktestInputError(
            f"--alerts-config {path!r} is not JSON: {e.msg} (line {e.lineno})"
        ) from None
    if not isinstance(data, dict):
        raise BacktestInputError(
            f"--alerts-config {path!r} must hold a JSON object of AlertConfig fields"
        )
    fields = {f.name: f for f in dataclasses.fields(AlertConfig)}
    for key, value in data.items():
        if key not in fields:
            raise BacktestInputError(
                f"--alerts-config: unknown field {key!r}; fields: {', '.join(fields)}"
            )
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise BacktestInputError(f"--alerts-config: {key} must be a number, got {value!r}")
    cleaned: dict[str, Any] = {
        k: int(v) if fields[k].type in ("int", int) else float(v) for k, v in data.items()
    }
    return AlertConfig(**cleaned)


def parse_sweep(items: list[str] | None) -> tuple[tuple[str, float], ...]:
    """``cluster_edge=0.3,1.0`` (repeatable) -> one extra watcher per (rule, threshold)."""
    out: list[tuple[str, float]] = []
    for item in items or []:
        rule, _, values = item.partition("=")
        rule = rule.strip()
        if rule not in RULES or not values:
            raise BacktestInputError(
                f"--sweep {item!r}: use RULE=V1,V2 with a rule from {', '.join(RULES)}"
            )
        if "watch" not in CATALOGUE_BY_NAME[rule].applies_to:
            raise BacktestInputError(
                f"--sweep: {rule} applies to positions only; use --alerts-config"
            )
        for v in values.split(","):
            try:
                x = float(v)
            except ValueError:
                raise BacktestInputError(f"--sweep {item!r}: {v!r} is not a number") from None
            if not x > 0:
                raise BacktestInputError(f"--sweep {item!r}: thresholds must be positive")
            out.append((rule, x))
    return tuple(dict.fromkeys(out))


def check_writable(path: str) -> None:
    p = Path(path)
    if p.is_dir():
        raise BacktestInputError(f"cannot write {path!r}: it is a directory")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise BacktestInputError(f"cannot write {path!r}: folder {str(parent)!r} does not exist")


def clip_span(
    source: History, symbol: str, window: str, start: int, end: int, every_ms: int
) -> tuple[int, int]:
    """The part of [start, end] where a ``window`` map can be drawn from the history."""
    unified = source.resolve(symbol)
    first, last = source.map_span(unified, window)
    if end < start:
        raise BacktestInputError("--to must not be before --from")
    lo = start if start >= first else start + -(-(first - start) // every_ms) * every_ms
    hi = min(end, last)
    if lo > hi:
        iso = lambda ms: datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")  # noqa: E731
        raise BacktestInputError(
            f"no {window} maps between --from and --to: {unified} {window} maps can be drawn "
            f"from {iso(first)} to {iso(last)} UTC"
        )
    return lo, hi


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    b: argparse.ArgumentParser = subparsers.add_parser(
        "backtest",
        help="replay the bundled (or recorded) history through the map and the alert rules; "
        "test the claims",
    )
    b.add_argument("symbol", help="BTC or ETH (the bundled data), or a symbol the bot recorded")
    b.add_argument("--from", dest="start", required=True, help="ISO time or date, UTC")
    b.add_argument(
        "--to", dest="end", required=True, help="ISO time or date, UTC (a date means its 00:00)"
    )
    b.add_argument("--window", default="1d", choices=tuple(WINDOW_MS), help="map window (1d)")
    b.add_argument("--every", default="1h", help="one map every ... (default 1h; e.g. 15m, 4h)")
    b.add_argument("--rules", help=f"comma list of rules to run (default all: {', '.join(RULES)})")
    b.add_argument("--alerts-config", help="JSON file of AlertConfig fields (re-arm margins...)")
    b.add_argument(
        "--sweep",
        action="append",
        metavar="RULE=V1,V2",
        help="alerts per week at other thresholds, e.g. cluster_edge=0.3,1 "
        "(repeatable; symbol-wide rules)",
    )
    b.add_argument("--html", help="write a self-contained report page to this file")
    b.add_argument("--json", action="store_true", help="print JSON instead of the table")
    b.add_argument(
        "--evidence",
        help="write the alerts' measured record (the file the bot reads: alerts/evidence.json)",
    )
    b.add_argument(
        "--source",
        default="demo",
        choices=("demo", "live"),
        help="demo: the bundled data (default); live: the history the bot recorded (--db)",
    )
    b.add_argument(
        "--db", help="the bot's database for --source live (default LIQBOT_DB_PATH or liqbot.db)"
    )
    return b


def run(args: argparse.Namespace, history: History | None = None) -> int:
    """``history``: what to replay (``bot/cli.py`` passes the recorded one for --source live);
    None means the bundled data."""
    try:
        if args.source == "live" and history is None:
            raise BacktestInputError("--source live needs the bot's database (run it via liqbot)")
        return _run(args, history or ReplayHistory())
    except (BacktestInputError, MarketDataError, ModelInputError) as e:
        print(f"liqbot: error: {e}", file=sys.stderr)
        return 2


def write_evidence(out: str, replay: Replay, stats: list[RuleStats], path: PricePath) -> None:
    from backtest.claims import Context
    from backtest.evidence import evidence_json

    today = datetime.now(UTC).strftime("%Y-%m-%d")
    spec = replay.spec
    data = evidence_json(replay.symbol, spec.start, spec.end, stats, Context(replay, path), today)
    try:
        Path(out).write_text(json.dumps(data, indent=1) + "\n")
    except OSError as e:
        raise BacktestInputError(f"cannot write {out!r}: {e.strerror or e}") from None


def _run(args: argparse.Namespace, source: History) -> int:
    from backtest.claims import Context, all_claims
    from backtest.output import results_json, text_table
    from backtest.path import PricePath
    from backtest.progress import ProgressBar
    from backtest.rule_stats import rule_stats
    from backtest.touch_claim import liquidation_touch_claim

    every = parse_every(args.every)
    start, end = parse_time(args.start, "--from"), parse_time(args.end, "--to")
    rules = parse_rules(args.rules)
    config = load_alerts_config(args.alerts_config)
    sweep = parse_sweep(args.sweep)
    for out in (args.html, args.evidence):
        if out:
            check_writable(out)
    start, end = clip_span(source, args.symbol, args.window, start, end, every)
    spec = Spec(args.symbol, start, end, args.window, every, rules, config, sweep)
    bar = ProgressBar(f"backtest {args.symbol}")
    try:
        replay = run_backtest(spec, source, progress=bar)
    finally:
        bar.close()
    path = PricePath.hourly(source, replay.symbol)
    stats = rule_stats(replay, path)
    claims = [*all_claims(replay, path), liquidation_touch_claim(Context(replay, path))]
    if args.html:
        from backtest.html import html_page

        try:
            Path(args.html).write_text(html_page(replay, stats, claims))
        except OSError as e:
            raise BacktestInputError(f"cannot write {args.html!r}: {e.strerror or e}") from None
    if args.evidence:
        write_evidence(args.evidence, replay, stats, path)
    if args.json:
        print(json.dumps(results_json(replay, stats, claims), indent=1))
    else:
        print(text_table(replay, stats, claims))
        if args.html:
            print(f"\nReport: {args.html}")
    return 0
