"""``liqbot map`` and ``liqbot heatmap`` as a user runs them: a real process, bundled data."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def liqbot(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_map_text_summary() -> None:
    r = liqbot("map", "BTC")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "BTC/USDT:USDT liquidation map, 1d" in out
    assert "Price 116,605.3" in out
    assert "Shorts above" in out and "Longs below" in out
    assert "Within +-10%" in out and "Asymmetry" in out and "Funding" in out
    assert "Open interest" in out and "Market risk" in out
    assert "Model: oi-delta" in out and "Units:" in out


def test_map_json_has_the_documented_keys() -> None:
    r = liqbot("map", "btcusdt", "--window", "30d", "--json", "--tiers", "10,25")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    for key in (
        "symbol",
        "as_of",
        "price",
        "window",
        "model",
        "units",
        "buckets",
        "clusters",
        "asymmetry",
        "risk_score",
    ):
        assert key in data
    assert data["symbol"] == "BTC/USDT:USDT" and data["window"] == "30d"
    assert data["as_of"] == "2025-10-10T20:00:00Z"
    assert [t["leverage"] for t in data["tiers"]] == [10, 25]
    assert set(data["buckets"][0]) == {"price", "long", "short"}
    assert sum(b["long"] for b in data["buckets"]) > 0
    cluster = data["clusters"][0]
    assert {"side", "low", "high", "peak", "notional"} <= set(cluster)
    assert cluster["low"] <= cluster["peak"] <= cluster["high"]


def test_map_png_and_heatmap_png(tmp_path: Path) -> None:
    png = tmp_path / "map.png"
    r = liqbot("map", "ETH", "--window", "7d", "--at", "2025-06-01T12:00", "--png", str(png))
    assert r.returncode == 0, r.stderr
    assert png.read_bytes()[:8] == PNG_MAGIC
    assert "volume-proxy" in r.stdout  # ETH has no OI in the bundled data
    heat = tmp_path / "heat.png"
    r = liqbot("heatmap", "BTC", "--window", "1d", "--png", str(heat))
    assert r.returncode == 0, r.stderr
    assert heat.read_bytes()[:8] == PNG_MAGIC
    assert "Marked" not in r.stdout  # 2025-10-10: no recorded prints in the window


def test_map_marks_the_bundled_recorded_liquidations_unless_told_not_to(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    at = ["--at", "2026-02-05T21:00Z", "--window", "1d"]
    marked, plain = tmp_path / "marked.png", tmp_path / "plain.png"
    r = liqbot("map", "BTC", *at, "--png", str(marked))
    assert r.returncode == 0, r.stderr
    # 06:30 .. 20:30 of the recorded file: 15 hours, both sides, three venues
    said = "Marked: 90 recorded liquidation prints of the window, longs $341M, shorts $39.6M"
    assert said in r.stdout
    assert main(["map", "BTC", *at, "--png", str(plain), "--no-liqs"]) == 0
    assert "Marked" not in capsys.readouterr().out
    assert marked.read_bytes()[:8] == plain.read_bytes()[:8] == PNG_MAGIC
    assert marked.read_bytes() != plain.read_bytes()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["map", "DOGE"], "not a symbol I follow"),
        (["map", "BTC", "--window", "2d"], "invalid choice"),
        (["map", "BTC", "--tiers", "7"], "not a tier"),
        (["map", "BTC", "--tiers", "ten"], "--tiers"),
        (["map", "BTC", "--at", "2019-01-01"], "no 1d of data"),
        (["map", "BTC", "--at", "yesterday"], "ISO time"),
        (["map", "BTC", "--png", "/nonexistent-dir/x.png"], "cannot write"),
        (["heatmap", "BTC"], "--png"),
        ([], "command"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    r = liqbot(*args)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("liqbot: error:"), r.stderr
    assert message in lines[0]
    assert "Traceback" not in r.stderr


ROOT = Path(__file__).resolve().parent.parent


def test_json_cumulative_curves_grow_away_from_price() -> None:
    r = liqbot("map", "BTC", "--window", "30d", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    for side, outward in (("long_below", -1), ("short_above", 1)):
        curve = data["cumulative"][side]
        assert len(curve) > 10
        prices = [p["price"] for p in curve]
        values = [p["notional"] for p in curve]
        assert all(outward * (b - a) > 0 for a, b in itertools.pairwise(prices))
        assert all(b >= a for a, b in itertools.pairwise(values))  # monotone
        assert values[-1] > 0
    below = sum(b["long"] for b in data["buckets"] if b["price"] < data["price"])
    assert data["cumulative"]["long_below"][-1]["notional"] == pytest.approx(below, rel=1e-6)


def test_window_any_case_did_you_mean_and_jpeg(tmp_path: Path) -> None:
    assert "liquidation map, 7d" in liqbot("map", "BTC", "--window", "7D").stdout
    r = liqbot("map", "BTX")
    assert r.returncode == 2 and "Did you mean BTC?" in r.stderr
    jpg = tmp_path / "map.jpg"
    r = liqbot("map", "BTC", "--png", str(jpg))
    assert r.returncode == 0, r.stderr
    assert jpg.read_bytes()[:3] == b"\xff\xd8\xff"  # JPEG, not a PNG named .jpg
    r = liqbot("map", "BTC", "--png", str(tmp_path / "map.gif"))
    assert r.returncode == 2 and ".png, .jpg or .jpeg" in r.stderr
    assert not (tmp_path / "map.gif").exists()


def test_output_into_a_closed_pipe_ends_quietly() -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "map", "BTC", "--json"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as p:
        assert p.stdout is not None and p.stderr is not None
        p.stdout.readline()  # like `| head -1`
        p.stdout.close()
        err = p.stderr.read().decode()
        assert p.wait(timeout=60) == 0
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_text_map_draws_nothing_so_imports_no_matplotlib() -> None:
    code = (
        "import sys; from bot.cli import main; main(['map', 'BTC']); "
        "print('matplotlib' in sys.modules)"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith("False")
