"""The interactive map without a browser: Telegram's initData check, the API's answers and
headers, the maps it serves (the bot's own report), and the bot's buttons and menu button."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import aiohttp
import numpy as np
import pytest
from pydantic import ValidationError

from bot.settings import Settings
from bot.web.auth import check_init_data, init_data_for, sign_init_data
from fakes.telegram_api import SentMessage
from storage import subscriptions
from tests.bot_harness import BotHarness, wait_until
from tests.webapp_bot import (
    BTC,
    OTHER,
    TRADER,
    WEBAPP_URL,
    alerts_set,
    heat_cells,
    signed,
    start_bot,
    web,
)

TOKEN = "123456789:FAKE-token_for_tests"
NOW = 1_800_000_000


# ---------------------------------------------------------------- initData


def test_init_data_signed_by_telegram_is_accepted_and_anything_else_refused() -> None:
    good = init_data_for(7, "Ana", TOKEN, NOW - 10)
    user = check_init_data(good, TOKEN, NOW, 3600)
    assert user is not None and (user.id, user.first_name, user.auth_date) == (7, "Ana", NOW - 10)
    fields = dict(parse_qsl(good))
    altered = urlencode({**fields, "user": '{"id":8,"first_name":"Ana"}'})  # another user
    refused = {
        "other bot's token": init_data_for(7, "Ana", "999:other", NOW),
        "altered user": altered,
        "stale": init_data_for(7, "Ana", TOKEN, NOW - 3601),
        "from the future": init_data_for(7, "Ana", TOKEN, NOW + 600),
        "no hash": urlencode({k: v for k, v in fields.items() if k != "hash"}),
        "repeated key": good + "&user=" + fields["user"],
        "empty": "",
        "garbage": "%%%",
        "no user": sign_init_data({"auth_date": str(NOW)}, TOKEN),
    }
    for why, data in refused.items():
        assert check_init_data(data, TOKEN, NOW, 3600) is None, why


def test_webapp_url_must_be_https() -> None:
    with pytest.raises(ValidationError, match="https"):
        Settings(webapp_url="http://example.com/map", _env_file=None)  # type: ignore[call-arg]
    ok = Settings(webapp_url="https://example.com/map/", _env_file=None)  # type: ignore[call-arg]
    assert ok.webapp_base == "https://example.com/map"


# ---------------------------------------------------------------- the bot serving the page


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotHarness]:
    with start_bot(tmp_path_factory.mktemp("webapp") / "web.db") as harness:
        harness.send(TRADER, "/start")
        harness.send(TRADER, "/open BTC long 63800 20 10000")
        harness.send(TRADER, "/alert BTC above 66000")
        harness.send(OTHER, "/start")
        harness.send(OTHER, "/open BTC short 63700 10 5000")
        harness.send(OTHER, "/alert BTC below 62000")
        # every command handled (an alert on the open position may have come first)
        wait_until(lambda: all(alerts_set(harness, user) for user in (TRADER, OTHER)))
        yield harness


def get(bot: BotHarness, path: str, auth: str | None = None) -> tuple[int, dict[str, str], bytes]:
    async def fetch() -> tuple[int, dict[str, str], bytes]:
        headers = {"Authorization": auth} if auth is not None else {}
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{web(bot).port}{path}", headers=headers) as r,
        ):
            return r.status, dict(r.headers), await r.read()

    return bot.run(fetch())  # on the bot's loop thread: this thread may hold another loop


API = "/api/map?symbol=BTC&window=1d"


def test_forged_stale_or_missing_init_data_gets_401_and_nothing_else(bot: BotHarness) -> None:
    for auth in (
        None,  # missing: served only by the demo, and this bot is not the demo
        "tma " + signed(bot, token="999:not-this-bot"),
        "tma " + signed(bot, age_s=2 * 86_400),
        "Bearer " + signed(bot),
    ):
        status, headers, body = get(bot, API, auth)
        assert (status, body) == (401, b"Unauthorized"), auth
        assert headers["Cache-Control"] == "no-store"
        assert "default-src 'none'" in headers["Content-Security-Policy"]


def test_a_trader_gets_the_bots_map_and_only_their_own_position(bot: BotHarness) -> None:
    status, headers, body = get(bot, API, "tma " + signed(bot))
    assert status == 200 and headers["Cache-Control"] == "no-store"
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert bot.fake.token.encode() not in body
    doc: dict[str, Any] = json.loads(body)
    # the same report the /map chart is drawn from
    assert bot.services is not None
    report = bot.run(bot.services.maps.report(BTC, "1d"))
    assert doc["price"] == report.price and doc["as_of"] == report.liq.as_of
    assert doc["buckets"]["long"] == [int(v) for v in np.rint(report.liq.long)]
    assert len(doc["clusters"]) == len(report.clusters.all) > 0
    below = np.asarray(doc["buckets"]["long"])[np.asarray(doc["cumulative"]["long"]) > 0]
    assert max(doc["cumulative"]["long"]) == pytest.approx(below.sum(), abs=len(below))
    h = doc["heatmap"]
    assert heat_cells(doc).size == h["rows"] * h["cols"] and len(doc["candles"]) == h["cols"] == 24
    assert h["lo"] < doc["price"] < h["lo"] * h["ratio"] ** h["rows"]
    assert doc["prints"] and all(doc["as_of"] - 86_400_000 <= p[0] * 1000 for p in doc["prints"])
    mine = subscriptions.open_for_chat(bot.services.db, TRADER)
    assert mine and [p["id"] for p in doc["positions"]] == [s.id for s in mine]
    assert doc["positions"][0]["liquidation"] == mine[0].liquidation_price
    theirs = {s.id for s in subscriptions.open_for_chat(bot.services.db, OTHER)}
    assert theirs and not theirs & {p["id"] for p in doc["positions"]}
    # the trader's price alert, not the other trader's
    assert [(a["price"], a["direction"]) for a in doc["alerts"]] == [(66000.0, "above")]


def test_windows_tiers_and_venues_are_choices_and_bad_ones_are_explained(bot: BotHarness) -> None:
    auth = "tma " + signed(bot)
    status, _, body = get(bot, "/api/map?symbol=btc&window=30d&tiers=10-25x", auth)
    doc = json.loads(body)
    assert status == 200 and doc["window"] == "30d" and doc["tiers"] == [10.0, 25.0]
    assert doc["heatmap"]["cols"] == 360
    status, _, body = get(bot, "/api/map?symbol=BTC&window=1d&venues=binanceusdm", auth)
    assert status == 200 and json.loads(body)["venues"] == ["binanceusdm"]
    for query, said in (
        ("symbol=NOPE&window=1d", "NOPE"),
        ("symbol=BTC&window=2d", "window must be one of 1d, 7d, 30d"),
        ("symbol=BTC&tiers=7x", "7"),
        ("symbol=BTC&venues=mtgox", "unknown venue 'mtgox'"),
    ):
        status, _, body = get(bot, f"/api/map?{query}", auth)
        assert status == 400 and said in json.loads(body)["error"], (query, body)


def test_the_allowlist_applies_to_the_page_too(bot: BotHarness) -> None:
    assert bot.services is not None
    settings = bot.services.settings
    bot.services.settings = settings.model_copy(update={"allowed_chat_ids": [OTHER]})
    try:
        assert get(bot, API, "tma " + signed(bot))[0] == 403
        assert get(bot, API, "tma " + signed(bot, user=OTHER))[0] == 200
    finally:
        bot.services.settings = settings


def test_the_page_is_served_with_strict_headers_and_no_secret(bot: BotHarness) -> None:
    status, headers, page = get(bot, "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "frame-ancestors" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    for name in ("app.js", "app.css"):
        status, _, body = get(bot, f"/static/{name}")
        assert status == 200 and bot.fake.token.encode() not in body
        assert b"http://" not in body and b"https://" not in body  # nothing from elsewhere
    assert bot.fake.token.encode() not in page
    assert get(bot, "/static/../settings.py")[0] == 404


# ---------------------------------------------------------------- the chat side


def web_app_buttons(buttons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b for b in buttons if "web_app" in b]


def chart_reply(bot: BotHarness, chat: int, text: str) -> SentMessage:
    """The chart the bot answers ``text`` with (an alert about the open position, such as its
    liquidation warning on this flush day, may come in between)."""
    last = max((m.message_id for m in bot.fake.messages(chat)), default=0)
    bot.run(bot.fake.user_sends(chat, text, user_id=chat, first_name="Ana"))
    return bot.run(
        bot.fake.wait_for_message(
            chat, lambda m: m.photo is not None and m.message_id > last, timeout=30
        )
    )


def test_map_and_heatmap_carry_the_web_app_button_in_private_chats(bot: BotHarness) -> None:
    reply = chart_reply(bot, TRADER, "/map BTC")
    [button] = web_app_buttons(reply.buttons)
    assert button["text"] == "Open interactive map"
    assert button["web_app"]["url"] == f"{WEBAPP_URL}/?symbol=BTC&window=1d"
    # in a group Telegram refuses web_app buttons: the map comes without it
    group = bot.send(-100123, "/map BTC")
    assert group.photo and group.buttons and not web_app_buttons(group.buttons)
    heat = chart_reply(bot, TRADER, "/heatmap BTC 1d")
    assert web_app_buttons(heat.buttons)[0]["web_app"]["url"].endswith("symbol=BTC&window=1d")
    # a window button redraws in place and keeps the page's button, for the new window
    edit = bot.press(TRADER, reply.message_id, "map|BTC|7d")
    assert web_app_buttons(edit.buttons)[0]["web_app"]["url"].endswith("window=7d")
    menu = bot.fake.menu_button()
    assert menu is not None and menu["type"] == "web_app" and menu["text"] == "Map"
    assert menu["web_app"]["url"] == f"{WEBAPP_URL}/?symbol=BTC&window=1d"


def test_without_the_url_nothing_changes(tmp_path: Path) -> None:
    with BotHarness(tmp_path / "plain.db") as plain:
        heat = plain.send(1, "/heatmap BTC 1d")
        assert heat.photo and not heat.buttons
        assert not plain.fake.calls("setChatMenuButton")


def test_a_map_that_cannot_be_built_is_a_503_with_a_reason(bot: BotHarness) -> None:
    at = bot.clock.now
    bot.clock.now = 1_577_836_800_000  # 2020-01-01: before the bundled data
    try:
        status, headers, body = get(bot, API, "tma " + signed(bot))
    finally:
        bot.clock.now = at
    assert status == 503 and headers["Cache-Control"] == "no-store"
    assert "not available right now" in json.loads(body)["error"]
    assert get(bot, API, "tma " + signed(bot))[0] == 200  # and back when the data is
