"""What the handlers and jobs share, kept in ``application.bot_data``."""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database
from telegram.ext import ContextTypes

from bot.clock import Clock
from bot.maps import MapService
from bot.refresh import Refresher
from bot.settings import Settings
from market.snapshot import MarketSource

KEY = "liqbot"


@dataclass
class Services:
    settings: Settings
    db: Database
    source: MarketSource
    clock: Clock
    maps: MapService
    refresher: Refresher | None = None


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    found = context.application.bot_data[KEY]
    assert isinstance(found, Services)
    return found
