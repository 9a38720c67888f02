"""ccxt loads only the exchanges the bot uses (market.ccxt_lean), and they work as usual."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# VmHWM: this process's own peak (getrusage's maxrss keeps the forking parent's across exec)
PEAK = (
    "print(next(int(line.split()[1]) // 1024 for line in open('/proc/self/status')"
    " if line.startswith('VmHWM')))"
)
SCRIPT = (
    """
import sys
import market  # installs the lean packages before anything imports ccxt
import market.snapshot, market.aggregate  # what the chart worker needs: no ccxt at all
assert "ccxt" not in sys.modules
import ccxt, ccxt.async_support, ccxt.pro
assert type(sys.modules["ccxt"]).__name__ == "LazyExchanges"
loaded = [m for m in sys.modules if m.startswith("ccxt.async_support.") and "base" not in m]
assert not any(m.endswith((".kraken", ".okx")) for m in loaded), loaded
ex = ccxt.pro.okx()  # the pro class builds its REST twin through the package attribute
assert ex.has["watchLiquidationsForSymbols"] and isinstance(ex, ccxt.async_support.okx)
from ccxt.base.errors import NetworkError
assert ccxt.NetworkError is NetworkError and "kraken" in ccxt.exchanges
"""
    + PEAK
)


def test_only_used_exchanges_load_and_they_work() -> None:
    r = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr[-1500:]
    full = subprocess.run(
        [sys.executable, "-c", "import ccxt.pro\n" + PEAK],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert int(r.stdout) < int(full.stdout) - 20  # MB: the point of it


def test_a_bot_on_the_bundled_data_starts_without_ccxt() -> None:
    # ccxt is for live venues: `liqbot run` on the demo data and `liqbot demo` start without it
    # (~0.3 s of every start); the demo's second act loads it in a thread, off the loop
    code = "import sys, bot.app, bot.cli, bot.demo; print([m for m in sys.modules if 'ccxt.' in m])"
    r = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr[-1500:]
    assert r.stdout.strip() == "[]"
