"""CLI benchmark: ``liqbot map BTC --window 30d`` as a whole process (interpreter start,
imports, parsing the bundled CSV the window needs, the engine, the text summary), plus the
same with ``--png`` (matplotlib imported and a 1080 px chart rendered).

Target: under 0.8 s for the text map on the 2-core machine. Prints the median and
the spread of ``RUNS`` runs after one warm-up (the OS file cache warm, as for a user's second
command).

Run: python benchmarks/bench_cli.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = 7
TARGET_S = 0.8


def timed(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], cwd=ROOT, check=True, capture_output=True
    )
    return time.perf_counter() - start


def bench(label: str, args: list[str]) -> float:
    timed(args)  # warm-up
    runs = [timed(args) for _ in range(RUNS)]
    median = statistics.median(runs)
    print(f"{label:<44} median {median:.2f} s  (min {min(runs):.2f}, max {max(runs):.2f})")
    return median


def main() -> int:
    baseline = bench("liqbot --help (start and imports)", ["--help"])
    text = bench("liqbot map BTC --window 30d", ["map", "BTC", "--window", "30d"])
    with tempfile.TemporaryDirectory() as tmp:
        png = str(Path(tmp) / "map.png")
        bench(
            "liqbot map BTC --window 30d --png map.png",
            ["map", "BTC", "--window", "30d", "--png", png],
        )
    verdict = "met" if text < TARGET_S else "MISSED"
    print(
        f"target: text map under {TARGET_S} s whole process: {verdict} ({text:.2f} s; "
        f"'--help' alone {baseline:.2f} s)"
    )
    return 0 if text < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
