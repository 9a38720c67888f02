"""Settings from the environment and ``.env`` (pydantic-settings). Only ``bot`` reads them.

Every name is documented in ``.env.example``. The bot token is a ``SecretStr``: it is never
printed, logged or put in a message.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import (
    AliasChoices,
    AnyUrl,
    Field,
    HttpUrl,
    SecretStr,
    UrlConstraints,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.clock import parse_utc_ms
from bot.redaction import url_secrets

Venue = Literal["binanceusdm", "bybit", "okx", "bitget"]
VENUES: tuple[Venue, ...] = ("binanceusdm", "bybit", "okx", "bitget")
DEFAULT_REPLAY_START = "2025-10-10T12:00:00Z"


class ConfigError(Exception):
    """Settings that cannot start the bot; the message says what to set."""


def _csv(value: object) -> object:
    """Comma-separated text -> list (JSON lists are accepted too)."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


# REST bases are http(s); the liquidation feed's websocket bases are ws(s)
ExchangeUrl = Annotated[
    AnyUrl, UrlConstraints(allowed_schemes=["http", "https", "ws", "wss"], host_required=True)
]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class Settings(BaseSettings):
    """All of liqbot's settings: field ``x`` reads ``LIQBOT_X`` (the two Telegram settings keep
    the names BotFather users know). Types do the checking; the validators below only turn text
    into lists and give friendlier messages."""

    model_config = SettingsConfigDict(
        env_prefix="LIQBOT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    telegram_bot_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("TELEGRAM_BOT_TOKEN", "telegram_bot_token")
    )
    telegram_api_base_url: HttpUrl = Field(
        default=HttpUrl("https://api.telegram.org"),
        validation_alias=AliasChoices("TELEGRAM_API_BASE_URL", "telegram_api_base_url"),
    )
    db_path: str = "liqbot.db"
    market_source: Literal["live", "demo"] = "live"
    replay_start: str = DEFAULT_REPLAY_START
    replay_speed: float = Field(default=1.0, gt=0)
    venues: Annotated[list[Venue], NoDecode] = Field(default_factory=lambda: list(VENUES))
    symbols: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["BTC", "ETH", "SOL", "XRP", "BNB", "DOGE"]
    )
    refresh_minutes: float = Field(default=5.0, gt=0)
    allowed_chat_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    # venue -> base URL (http(s) for REST; the liquidation feed also takes ws(s))
    exchange_urls: dict[Venue, ExchangeUrl] = Field(default_factory=dict)
    history_days: int = Field(default=45, ge=31)
    tick_seconds: float = Field(default=5.0, gt=0)
    digest_hours: int = Field(default=4, ge=0, le=24)
    # hours after an exit for the follow-up note (0: none)
    followup_hours: float = Field(default=4.0, ge=0, le=72)
    backfill_days: float = Field(default=31, gt=0)
    webhook_url: HttpUrl | None = None
    webhook_listen: str = "0.0.0.0"
    # LIQBOT_WEBHOOK_PORT, else $PORT (set by Heroku-style platforms for the web process)
    webhook_port: int = Field(
        default=8443,
        ge=1,
        le=65535,
        validation_alias=AliasChoices("LIQBOT_WEBHOOK_PORT", "PORT", "webhook_port"),
    )
    webhook_secret: SecretStr | None = None
    # The interactive map (a Telegram Mini App): the public HTTPS base where the page is
    # reachable. Webhook mode serves it on the webhook's server; polling mode on
    # LIQBOT_WEBAPP_LISTEN:LIQBOT_WEBAPP_PORT (behind a proxy).
    webapp_url: HttpUrl | None = None
    webapp_listen: str = "127.0.0.1"
    webapp_port: int = Field(default=8081, ge=0, le=65535)  # 0: any free port (tests)
    # How old Telegram's signed initData may be (the page is reopened to renew it).
    webapp_auth_max_age_s: int = Field(default=86_400, ge=60)
    log_level: LogLevel = "INFO"
    # Sent and dropped outbox rows (the alert and digest history) are deleted after this.
    outbox_retention_days: float = Field(default=7, gt=1)
    # Drain the outbox continuously in the background (off in tests that drain by hand).
    send_loop: bool = True
    # Telegram's per-chat pace (about one message a second in a private chat; groups 20/min).
    chat_gap_seconds: float = Field(default=1.0, ge=0)
    # GET /healthz in polling mode (webhook mode serves it on the webhook's own port).
    health_port: int | None = Field(default=None, ge=1, le=65535)
    health_host: str = "127.0.0.1"
    # /healthz answers 503 past these: a venue's data this old, an alert waiting this long.
    health_max_data_age_minutes: float = Field(default=20.0, gt=0)
    health_max_alert_age_seconds: float = Field(default=300.0, gt=0)
    # The owner's chats: error and outage notices, /admin, health in /status.
    admin_chat_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    # Owner notices: the same notice at most once per this many minutes, at most 20 an hour.
    admin_notice_minutes: float = Field(default=30.0, gt=0)
    # An outbox backlog notice past this many due rows.
    admin_backlog_rows: int = Field(default=5_000, ge=1)

    @field_validator("venues", "symbols", "allowed_chat_ids", "admin_chat_ids", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        return _csv(value)

    @field_validator("venues")
    @classmethod
    def _some_venues(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError(f"at least one venue is needed; choose from {', '.join(VENUES)}")
        return value

    @field_validator("symbols")
    @classmethod
    def _some_symbols(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one symbol is needed, e.g. BTC,ETH")
        return value

    @field_validator("webapp_url")
    @classmethod
    def _https(cls, value: HttpUrl | None) -> HttpUrl | None:
        if value is not None and value.scheme != "https":
            raise ValueError("LIQBOT_WEBAPP_URL must be https:// (Telegram opens only https pages)")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _level(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("replay_start")
    @classmethod
    def _iso(cls, value: str) -> str:
        replay_start_ms(value)
        return value

    @property
    def refresh_seconds(self) -> float:
        return self.refresh_minutes * 60

    @property
    def api_base(self) -> str:
        """The Bot API server without the trailing slash pydantic adds."""
        return str(self.telegram_api_base_url).rstrip("/")

    @property
    def bot_api_base(self) -> str:
        """PTB's ``base_url``: ``{api}/bot`` (PTB appends token and method; no trailing slash)."""
        return f"{self.api_base}/bot"

    @property
    def bot_file_base(self) -> str:
        return f"{self.api_base}/file/bot"

    @property
    def exchange_bases(self) -> dict[str, str]:
        """``LIQBOT_EXCHANGE_URLS`` as http(s) bases without the trailing slash: REST uses them
        as given, the liquidation feed derives its ws(s) URLs from them; a ws(s) base is taken
        as the same host over http(s)."""
        out: dict[str, str] = {}
        for venue, url in self.exchange_urls.items():
            scheme, rest = str(url).split("://", 1)  # str: a model_copy may hold plain text
            scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
            out[venue] = f"{scheme}://{rest}".rstrip("/")
        return out

    def secret_values(self) -> list[str]:
        """Every value that must never be written out (see :mod:`bot.redaction`): the token,
        the webhook secret, and the passwords in ``LIQBOT_EXCHANGE_URLS``."""
        found = [s.get_secret_value() for s in (self.telegram_bot_token, self.webhook_secret) if s]
        for url in self.exchange_urls.values():
            found += url_secrets(str(url))
        return found

    @property
    def webapp_base(self) -> str | None:
        """``LIQBOT_WEBAPP_URL`` without the trailing slash (None: no interactive map)."""
        return None if self.webapp_url is None else str(self.webapp_url).rstrip("/")

    @property
    def webhook_base(self) -> str | None:
        return None if self.webhook_url is None else str(self.webhook_url).rstrip("/")


def replay_start_ms(text: str) -> int:
    """``LIQBOT_REPLAY_START`` (ISO, UTC if no zone) -> ms."""
    try:
        return parse_utc_ms(text)
    except ValueError:
        raise ValueError(f"LIQBOT_REPLAY_START {text!r} is not an ISO time") from None
