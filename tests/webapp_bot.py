"""The bot in demo mode with its interactive map served (shared by the web app's tests): the real
Application against the fake Bot API, the page's server on the bot's loop at a free loopback port,
and a trader whose position the page must draw."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from bot.pipeline.services import Services
from bot.web.auth import init_data_for
from bot.web.server import WebServer
from fakes.liquidation_ws import load_tape
from market.replay import DATA
from storage import liquidations, price_alerts
from tests.bot_harness import BotHarness

WEBAPP_URL = "https://liqbot.example/map"
TRADER, OTHER = 4242, 5151
# 2026-02-05 21:00 UTC: the evening of the bundled recorded prints (a long flush at 20:30)
AT = 1_770_325_200_000
BTC = "BTC/USDT:USDT"


def store_prints(services: Services) -> None:
    """The day's recorded prints, as the feed would have stored them."""
    rows = [
        (venue, BTC, p.time_ms, p.side, p.price, p.quantity, p.price * p.quantity)
        for venue in ("binanceusdm", "bybit", "okx")
        for p in load_tape(DATA / "liquidations_BTC_2026-02-05.csv", venue)
        if p.time_ms < AT
    ]
    liquidations.insert_prints(services.db, rows)


def start_bot(db: Path) -> BotHarness:
    def attach(services: Services) -> None:
        store_prints(services)
        services.web = WebServer(services, services.settings.telegram_bot_token.get_secret_value())  # type: ignore[union-attr]

    return BotHarness(db, at=AT, on_services=attach, webapp_url=WEBAPP_URL, webapp_port=0)


def signed(bot: BotHarness, user: int = TRADER, age_s: float = 0, token: str | None = None) -> str:
    return init_data_for(user, "Ana", token or bot.fake.token, int(time.time() - age_s))


def web(bot: BotHarness) -> WebServer:
    assert bot.services is not None and bot.services.web is not None
    server: WebServer = bot.services.web
    return server


def heat_cells(doc: dict[str, object]) -> np.ndarray:
    import base64

    h = doc["heatmap"]
    assert isinstance(h, dict)
    return np.frombuffer(base64.b64decode(h["q"]), dtype=np.uint8)


def alerts_set(bot: BotHarness, chat: int) -> bool:
    """Whether the chat's /alert was handled (its price alert stored)."""
    assert bot.services is not None
    return bool(price_alerts.active_for_chat(bot.services.db, chat))
