"""The interactive map in a real browser: headless Chromium (Debian's package) driven by
Playwright against the bot in demo mode. The chart is checked on the canvas's pixels, not only
in the DOM. Skipped with a reason where Chromium is missing; .ci/run installs it and then requires
these tests to run.

Set LIQBOT_WEBAPP_SHOTS=docs/img to refresh the README's phone-size screenshot."""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from storage import subscriptions
from tests.bot_harness import BotHarness, wait_until
from tests.webapp_bot import TRADER, alerts_set, signed, start_bot, web

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if os.environ.get("REQUIRE_BROWSER_TESTS"):  # .ci/run: chromium is there, so these must run
    import playwright.sync_api  # noqa: F401  (an ImportError fails the run instead of a skip)
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (apt-get install chromium)"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (pip: .[dev])")

PHONE = {"width": 390, "height": 844}
# The load budget of the default page (1d BTC): every byte over the wire (page, script, style,
# data, headers) and the time from navigation to the chart drawn. Speed is printed, not tested.
BUDGET_BYTES = 60_000
BUDGET_MS = 1_000
LIQ_ORANGE = (0xFF, 0x9F, 0x1C)
LONG, SHORT = (0xE0, 0x45, 0x4F), (0x20, 0xB2, 0x6C)
ALERT_PURPLE, ALERT_AT = (0xB4, 0x8C, 0xFF), 67000


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotHarness]:
    with start_bot(tmp_path_factory.mktemp("webapp-browser") / "web.db") as harness:
        harness.send(TRADER, "/start")
        harness.send(TRADER, "/open BTC long 63800 20 10000")
        harness.send(TRADER, f"/alert BTC above {ALERT_AT}")
        # every command handled (an alert on the open position may have come first)
        wait_until(lambda: all(alerts_set(harness, user) for user in (TRADER,)))
        yield harness


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # module, not session: sync Playwright keeps an event loop running in this thread while it
    # is open, and the suite's asyncio tests that follow on this worker need the thread free
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield b
        b.close()


def url(bot: BotHarness, init_data: str) -> str:
    base = f"http://127.0.0.1:{web(bot).port}/?symbol=BTC&window=1d"
    return f"{base}#tgWebAppData={quote(init_data)}&tgWebAppVersion=8.0"


def open_page(browser: Any, address: str) -> Any:
    page = browser.new_page(viewport=PHONE, device_scale_factor=1)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(address)
    page.errors = errors
    return page


def wait_drawn(page: Any) -> float:
    """ms from navigation to the chart drawn (the page's own clock)."""
    for _ in range(200):
        drawn = page.evaluate("() => window.liqmap ? window.liqmap.drawnAt : 0")
        if drawn:
            return float(drawn)
        page.wait_for_timeout(25)
    raise AssertionError(f"the chart was never drawn: {page.errors}")


COUNT = """([x, y, w, h, colours, tol]) => {
  const d = document.getElementById('chart').getContext('2d').getImageData(x, y, w, h).data;
  const counts = colours.map(() => 0), seen = new Set();
  let lit = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (d[i] + d[i + 1] + d[i + 2] > 120) lit++;
    if (seen.size < 3) seen.add(d[i] * 65536 + d[i + 1] * 256 + d[i + 2]);
    colours.forEach((c, k) => {
      if (Math.abs(d[i] - c[0]) <= tol && Math.abs(d[i + 1] - c[1]) <= tol
          && Math.abs(d[i + 2] - c[2]) <= tol) counts[k]++;
    });
  }
  return {counts, lit, total: d.length / 4, colours_seen: seen.size};
}"""
ROWS = """([x, h, c, tol]) => {
  const d = document.getElementById('chart').getContext('2d').getImageData(x, 0, 1, h).data;
  const rows = [];
  for (let y = 0; y < h; y++) {
    const i = y * 4;
    if (Math.abs(d[i] - c[0]) <= tol && Math.abs(d[i + 1] - c[1]) <= tol
        && Math.abs(d[i + 2] - c[2]) <= tol) rows.push(y);
  }
  return rows;
}"""


def count(
    page: Any, region: tuple[float, float, float, float], colours: list[tuple[int, int, int]]
) -> dict[str, Any]:
    """Pixels of the canvas region: how many near each colour, how many lit, whether uniform."""
    x, y, w, h = (int(v) for v in region)
    return dict(page.evaluate(COUNT, [x, y, w, h, [list(c) for c in colours], 40]))


def layout(page: Any) -> dict[str, float]:
    return dict(
        page.evaluate(
            """() => { const r = document.getElementById('chart').getBoundingClientRect();
            return {w: r.width, h: r.height, top: r.top}; }"""
        )
    )


@pytest.fixture(scope="module")
def page(bot: BotHarness, browser: Any) -> Iterator[Any]:
    page = open_page(browser, url(bot, signed(bot)))
    drawn_ms = wait_drawn(page)
    sizes = page.evaluate(
        """() => performance.getEntriesByType('navigation').concat(
            performance.getEntriesByType('resource')).map(e => [e.name, e.transferSize])"""
    )
    page.load_figures = (sum(size for _, size in sizes), drawn_ms, sizes)
    yield page
    page.close()


def test_the_chart_is_drawn_from_signed_init_data_within_the_budget(page: Any) -> None:
    transfer, drawn_ms, sizes = page.load_figures
    print(
        f"\nwebapp load: {transfer:,} bytes over the wire (budget {BUDGET_BYTES:,}), chart "
        f"drawn {drawn_ms:.0f} ms after navigation (budget {BUDGET_MS:,})\n  "
        + "\n  ".join(f"{name.rsplit('/', 1)[-1][:40]}: {size:,} B" for name, size in sizes)
    )
    if os.environ.get("LIQBOT_WEBAPP_SHOTS"):
        shots = Path(os.environ["LIQBOT_WEBAPP_SHOTS"])
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / "webapp-390x844.png"))
    assert transfer <= BUDGET_BYTES
    assert not page.errors
    box = layout(page)
    heat = count(page, (10, 10, box["w"] * 0.5, box["h"] - 40), [])
    assert heat["lit"] > 0.05 * heat["total"], "the heatmap is not drawn"  # candles, bright heat
    bars = count(page, (box["w"] * 0.6, 10, box["w"] * 0.2, box["h"] - 40), [LONG, SHORT])
    assert bars["counts"][0] > 20, "no long bars"
    assert bars["counts"][1] > 20, "no short bars"


def test_zooming_changes_the_visible_price_range_and_dragging_moves_it(page: Any) -> None:
    box = layout(page)
    before = page.evaluate("() => window.liqmap.visiblePrices()")
    page.mouse.move(box["w"] * 0.4, box["top"] + box["h"] * 0.5)
    page.mouse.wheel(0, -400)  # zoom in on price
    page.wait_for_timeout(50)
    zoomed = page.evaluate("() => window.liqmap.visiblePrices()")
    assert zoomed[1] - zoomed[0] < 0.7 * (before[1] - before[0])
    assert before[0] < zoomed[0] < zoomed[1] < before[1]
    x, y = box["w"] * 0.3, box["top"] + box["h"] * 0.5
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x, y + 100, steps=5)
    page.mouse.up()
    moved = page.evaluate("() => window.liqmap.visiblePrices()")
    assert moved[1] > zoomed[1] and moved[0] > zoomed[0]  # dragged down: higher prices in view
    page.dblclick("#chart", position={"x": 5, "y": 5})  # back to the whole map
    assert page.evaluate("() => window.liqmap.visiblePrices()") == pytest.approx(before)
    # a pinch: two touch pointers 100 px apart spread to 200 px -> half the price range
    lo, hi = page.evaluate(PINCH)
    assert math.log(hi / lo) == pytest.approx(math.log(before[1] / before[0]) / 2, rel=0.02)
    page.dblclick("#chart", position={"x": 5, "y": 5})


PINCH = """() => {
  const c = document.getElementById('chart'), r = c.getBoundingClientRect();
  const ev = (type, id, y) => c.dispatchEvent(new PointerEvent(type, {pointerId: id,
    pointerType: 'touch', isPrimary: id === 1, clientX: r.left + 100, clientY: r.top + y,
    bubbles: true}));
  ev('pointerdown', 1, 250); ev('pointerdown', 2, 350);
  ev('pointermove', 2, 400); ev('pointermove', 2, 450);
  ev('pointerup', 2, 450); ev('pointerup', 1, 250);
  return window.liqmap.visiblePrices();
}"""


def test_a_tap_reads_the_level_under_the_finger(page: Any) -> None:
    doc = page.evaluate("() => window.liqmap.data")
    box = layout(page)
    lo, hi = page.evaluate("() => window.liqmap.visiblePrices()")
    cluster = max((c for c in doc["clusters"] if lo < c["peak"] < hi), key=lambda c: c["notional"])
    # zoom in on it first: a 0.1% bucket is ~3 px tall on the whole map, a finger is wider
    y = page.evaluate(f"() => window.liqmap.yOf({cluster['peak']})")
    page.mouse.move(box["w"] * 0.7, box["top"] + y)
    page.mouse.wheel(0, -800)
    page.wait_for_timeout(50)
    y_hi, y_lo = (page.evaluate(f"() => window.liqmap.yOf({cluster[k]})") for k in ("high", "low"))
    assert y_lo - y_hi > 8
    page.mouse.click(box["w"] * 0.7, box["top"] + round((y_hi + y_lo) / 2))
    read = page.evaluate("() => window.liqmap.readout")
    text = page.inner_text("#readout")
    page.dblclick("#chart", position={"x": 5, "y": 5})  # the whole map again
    b = doc["buckets"]
    i = math.floor(math.log(read["price"] / b["lo"]) / math.log(b["ratio"]))
    assert abs(read["price"] / cluster["peak"] - 1) < 0.002
    side = "long" if cluster["side"] == "long" else "short"
    assert read[side] == b[side][i] > 0
    assert f"{read['price']:,.0f}" in text and ("longs $" in text or "shorts $" in text)


def test_the_chips_switch_window_and_tier_slice(page: Any) -> None:
    page.click("#tiers button:text('10-25x')")
    for _ in range(100):
        doc = page.evaluate("() => window.liqmap.data")
        if doc["tiers"] == [10, 25]:
            break
        page.wait_for_timeout(30)
    assert doc["tiers"] == [10, 25] and "10-25x" in page.inner_text("#tiers button.on")
    page.click("#tiers button:text('all x')")
    for _ in range(100):
        if len(page.evaluate("() => window.liqmap.data.tiers")) == 5:
            break
        page.wait_for_timeout(30)
    assert len(page.evaluate("() => window.liqmap.data.tiers")) == 5


def test_the_positions_liquidation_line_is_at_its_price(page: Any, bot: BotHarness) -> None:
    assert bot.services is not None
    [position] = subscriptions.open_for_chat(bot.services.db, TRADER)
    liq = position.liquidation_price
    assert liq is not None
    lo, hi = page.evaluate("() => window.liqmap.visiblePrices()")
    assert lo < liq < hi
    box = layout(page)
    # the line crosses the whole chart: rows orange in every sampled column (right of its label;
    # the heatmap has orange cells too, but not all along a row)
    columns = [
        set(page.evaluate(ROWS, [int(box["w"] * f), int(box["h"]), list(LIQ_ORANGE), 30]))
        for f in (0.4, 0.45, 0.5, 0.55, 0.75)
    ]
    rows = sorted(set.intersection(*columns))
    assert len(rows) == 2 and rows[1] - rows[0] == 1, rows  # one line, two rows wide
    drawn_at = page.evaluate(f"() => window.liqmap.priceAt({rows[1]})")  # between its rows
    one_px = (hi / lo) ** (1 / box["h"])  # the price step of one pixel row
    assert abs(math.log(drawn_at / liq)) <= 2 * math.log(one_px), (drawn_at, liq)


def test_forged_init_data_gets_401_and_nothing_is_drawn(bot: BotHarness, browser: Any) -> None:
    statuses: list[int] = []
    forged = signed(bot, token="999:not-this-bot")
    page = browser.new_page(viewport=PHONE, device_scale_factor=1)
    page.on("response", lambda r: statuses.append(r.status) if "/api/map" in r.url else None)
    page.goto(url(bot, forged))
    page.wait_for_selector("#status:not([hidden])")
    page.wait_for_timeout(100)
    assert "Open this map from the bot" in page.inner_text("#status")
    assert statuses == [401]
    assert page.evaluate("() => window.liqmap.data") is None
    box = layout(page)
    seen = count(page, (0, 0, box["w"], box["h"]), [])
    assert seen["colours_seen"] == 1, "something was drawn"  # the background only
    body = json.dumps(page.evaluate("() => document.body.innerText"))
    assert bot.fake.token not in body
    page.close()


def test_a_price_alert_is_a_dashed_line_at_its_level(page: Any) -> None:
    box = layout(page)
    y = round(page.evaluate(f"() => window.liqmap.yOf({ALERT_AT})"))
    on_row = count(page, (0, y - 1, box["w"] * 0.6, 2), [ALERT_PURPLE])
    assert on_row["counts"][0] > 0.5 * on_row["total"]  # dashed: 6 on, 3 off
    off_row = count(page, (0, y + 4, box["w"] * 0.6, 2), [ALERT_PURPLE])
    assert off_row["counts"][0] < 0.1 * off_row["total"]
