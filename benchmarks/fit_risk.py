"""How the market risk score's weights were chosen (``liqmap.metrics``): least squares of
ln(next 4 h's range) on ln(realised range over the last 24 h / 4 h / 1 h) and the UTC hour,
on BTC hourly 1d maps from 2025-01-02 to 2025-06-30 only; then the rank correlations on those
hours and on the later ones the fit never saw (what the backtest's ``risk_beats_volatility``
claim grades). ``python -m benchmarks.fit_risk``: prints the weights and both figures.
"""

from __future__ import annotations

import numpy as np

from backtest.history import as_history
from backtest.path import PricePath
from backtest.stats import spearman
from liqmap import RISK_CHOSEN_UNTIL_MS, recent_ranges

START_MS = 1_735_776_000_000  # 2025-01-02 00:00 UTC
HOUR = 3_600_000


def main() -> None:
    src = as_history(None)
    sym = src.resolve("BTC")
    _, end = src.map_span(sym, "1d")
    times = np.arange(START_MS, end + 1, HOUR, dtype=np.int64)
    feats = []
    for at in times.tolist():
        c = src.snapshot(sym, "1d", at).venues[0].candles
        r = recent_ranges(c.high, c.low, c.close_time, at)
        feats.append((r.day or np.nan, r.four_hours or np.nan, r.hour or np.nan))
    x = np.log(np.array(feats))
    path = PricePath.hourly(src, sym)
    first = path.next_index(times)
    hi, lo = path.ahead(first, 4)
    price = path.close[np.maximum(first - 1, 0)]
    y = np.log((hi.max(axis=1) - lo.min(axis=1)) / price * 100)
    hour = (times // HOUR) % 24
    ok = path.covered(first, 4) & np.isfinite(x).all(axis=1)
    fit = ok & (times < RISK_CHOSEN_UNTIL_MS)
    resid = y - x[:, 0]
    session = np.array([resid[fit & (hour == h)].mean() for h in range(24)])
    session -= session.mean()
    design = np.column_stack([x, session[hour], np.ones(times.size)])
    coef, *_ = np.linalg.lstsq(design[fit], y[fit], rcond=None)
    print("weights ln R24, ln R4, ln R1:", np.round(coef[:3], 2), "intercept", round(coef[4], 2))
    print("session (ln, by UTC hour):", np.round(coef[3] * session, 2).tolist())
    forecast = design @ coef
    for name, sel in (("fitted on", fit), ("never seen", ok & ~fit)):
        print(
            f"{name}: {int(sel.sum())} hours, rank correlation with the next 4 h's range "
            f"{spearman(forecast[sel], y[sel]):.3f}, the last 24 h's range alone "
            f"{spearman(x[sel, 0], y[sel]):.3f}"
        )


if __name__ == "__main__":
    main()
