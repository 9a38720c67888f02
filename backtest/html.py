"""``--html FILE``: one self-contained page, tables and matplotlib figures (base64 PNG)."""

from __future__ import annotations

import base64
import html
import io
import math
from typing import Any

import matplotlib

matplotlib.use("Agg")  # a file, never a window
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from backtest.claims import Claim
from backtest.output import _iso
from backtest.rule_stats import RuleStats
from backtest.run import Replay

COLOURS = {"holds": "#1a7f37", "does not hold": "#b42318", "too few cases": "#8a6d00"}
REAL, BASE = "#3367d6", "#9aa0a6"


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=72, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _err(est: float, ci: Any) -> list[float]:
    lo, hi = ci
    if not all(math.isfinite(x) for x in (est, lo, hi)):
        return [0.0, 0.0]
    return [max(est - lo, 0.0), max(hi - est, 0.0)]


def _bars(
    labels: list[str],
    values: list[float],
    cis: list[Any],
    title: str,
    ylabel: str,
    colours: list[str] | None = None,
    hline: float | None = None,
) -> str:
    fig, ax = plt.subplots(figsize=(6.4, 3.0))
    vals = [v if math.isfinite(v) else 0.0 for v in values]
    errs = [_err(v, c) for v, c in zip(values, cis, strict=True)]
    ax.bar(
        labels,
        vals,
        yerr=list(zip(*errs, strict=True)) if errs else None,
        capsize=4,
        color=colours or REAL,
    )
    if hline is not None:
        ax.axhline(hline, color="#444", lw=1, ls="--")
    ax.set_title(title, fontsize=10)
    ax.set_ylabel(ylabel, fontsize=9)
    ax.tick_params(labelsize=8)
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def rules_figure(rules: list[RuleStats]) -> str:
    labels = [r.rule.replace("_", "\n") for r in rules]
    return _bars(
        labels,
        [r.alerts_per_week for r in rules],
        [(math.nan, math.nan)] * len(rules),
        "Alerts per week (watcher rules: one watcher; position rules: per position)",
        "alerts / week",
    )


def claim_figure(c: Claim) -> str | None:
    t = c.table
    if c.id == "cluster_overshoot" and t:
        return _bars(
            [str(r["levels"]) for r in t],
            [r["median_overshoot_pct"] for r in t],
            [c.interval, c.baseline_interval],
            "Median overshoot past the far edge",
            "%",
            [REAL, BASE],
        )
    if c.id == "asymmetry_downside" and t:
        return _bars(
            [str(r["hours"]) for r in t],
            [r["ratio"] for r in t],
            [c.interval, c.baseline_interval],
            "Downside / upside range, next 48 h",
            "ratio",
            [REAL, BASE],
            hline=1.7,
        )
    if c.id == "chains_vs_gaps" and t:
        return _bars(
            [str(r["first cluster"]) for r in t],
            [r["mean_carry_pct"] for r in t],
            [r["interval"] for r in t],
            "How far a move carried past the first cluster",
            "mean % within 24 h",
            [REAL, REAL, BASE],
        )
    if c.id == "lfr_first_target" and t:
        return _bars(
            [str(r["lfr"]) for r in t],
            [r["share_1R_first_pct"] for r in t],
            [r["interval"] for r in t],
            "+1R before -1R by entry fuel ratio",
            "% of positions",
            [REAL] * (len(t) - 1) + [BASE],
        )
    if c.id == "risk_score_deciles" and t:
        rows = [r for r in t if "decile" in r]
        return _bars(
            [str(r["decile"]) for r in rows],
            [r["mean_range_4h_pct"] for r in rows],
            [r["interval"] for r in rows],
            "Next 4 h range by risk-score decile",
            "mean range %",
            hline=c.baseline,
        )
    if c.id == "cascade_reversion" and t:
        labels, values, cis, colours = [], [], [], []
        for r in t:
            labels += [f"{r['hours']}h cascade", f"{r['hours']}h random"]
            values += [r["mean_reversion_pct"], r["random_hours_pct"]]
            cis += [r["interval"], r["random_interval"]]
            colours += [REAL, BASE]
        return _bars(
            labels,
            values,
            cis,
            "Reversion after a cascade candle (positive = back)",
            "mean %",
            colours,
            hline=0.0,
        )
    return None


def _table(rows: list[dict[str, Any]]) -> str:
    rows = [r for r in rows if len(r) > 1]
    if not rows:
        return ""
    keys = list(rows[0])

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return "n/a" if not math.isfinite(v) else f"{v:.2f}"
        if isinstance(v, list):
            return "[" + ", ".join(cell(x) for x in v) + "]"
        return html.escape(str(v))

    head = "".join(f"<th>{html.escape(k.replace('_', ' '))}</th>" for k in keys)
    body = "".join(
        "<tr>" + "".join(f"<td>{cell(r.get(k))}</td>" for k in keys) + "</tr>" for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


CSS = """body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;
color:#222}table{border-collapse:collapse;margin:.5em 0;font-size:13px}td,th{border:1px solid
#ddd;padding:3px 7px;text-align:right}th{background:#f4f4f4}td:first-child{text-align:left}
.verdict{font-weight:bold;padding:2px 8px;border-radius:4px;color:#fff}.test{color:#555;
font-size:13px}h2{margin-top:1.6em;border-bottom:1px solid #eee}"""


def html_page(replay: Replay, rules: list[RuleStats], claims: list[Claim]) -> str:
    spec = replay.spec
    e = html.escape
    rate = len(replay.steps) / replay.seconds if replay.seconds > 0 else math.nan
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>liqbot backtest "
        f"{e(replay.symbol)}</title><style>{CSS}</style></head><body>",
        f"<h1>liqbot backtest: {e(replay.symbol)}</h1>",
        f"<p>{_iso(spec.start)} .. {_iso(spec.end)}, {e(spec.window)} maps every "
        f"{spec.every_ms // 60_000} min: {len(replay.steps)} maps ({replay.weeks:.1f} weeks) in "
        f"{replay.seconds:.1f} s ({rate:,.0f} maps/s). Same map engine (<code>liqmap</code>) and "
        f"alert rules (<code>alerts</code>) as the live bot. Intervals are 95% day-block "
        f"bootstrap intervals.</p>",
        "<h2>Verdicts</h2><table><tr><th>claim</th><th>verdict</th><th>cases</th></tr>",
    ]
    for c in claims:
        parts.append(
            f"<tr><td><a href='#{c.id}'>{e(c.title)}</a></td><td><span class='verdict' "
            f"style='background:{COLOURS[c.verdict]}'>{e(c.verdict)}</span></td>"
            f"<td>{c.cases}</td></tr>"
        )
    parts.append("</table><h2>Alert rules</h2>")
    parts.append(
        "<p>Symbol-wide rules: one watcher with the default thresholds. Position rules: per "
        "position-week of the generated positions (one trader always holding one position). "
        "After each alert: the mean range of the next 4 h, next to the same number of random "
        "hours.</p>"
    )
    rule_rows = [{"rule": r.rule, **r.record()} for r in rules]
    parts.append(_table(rule_rows))
    parts.append(f"<img src='{rules_figure(rules)}' alt='alerts per week'>")
    for r in rules:
        if r.sweep:
            parts.append(f"<h3>{e(r.rule)} by threshold</h3>{_table(r.sweep)}")
    parts.append("<h2>Claims</h2>")
    for c in claims:
        parts.append(
            f"<h3 id='{c.id}'>{e(c.title)} <span class='verdict' "
            f"style='background:{COLOURS[c.verdict]}'>{e(c.verdict)}</span></h3>"
            f"<p><i>Claim:</i> {e(c.claim)}</p><p><b>{e(c.verdict.capitalize())}.</b> "
            f"{e(c.summary)}</p><p class='test'><i>Test:</i> {e(c.test)}</p>"
        )
        parts.append(_table(c.table))
        fig = claim_figure(c)
        if fig:
            parts.append(f"<img src='{fig}' alt='{e(c.title)}'>")
    parts.append("</body></html>")
    return "\n".join(parts)
