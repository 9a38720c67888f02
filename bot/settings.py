"""Settings from the environment and ``.env`` (pydantic-settings). Only ``bot`` reads them.

Every name is documented in ``.env.example``. The bot token is a ``SecretStr``: it is never
printed, logged or put in a message.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.clock import parse_utc_ms

VENUES = ("binanceusdm", "bybit", "okx", "bitget")
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


class Settings(BaseSettings):
    """All of liqbot's settings. Environment names are given by ``validation_alias``."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    telegram_bot_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("TELEGRAM_BOT_TOKEN", "telegram_bot_token")
    )
    telegram_api_base_url: str = Field(
        default="https://api.telegram.org",
        validation_alias=AliasChoices("TELEGRAM_API_BASE_URL", "telegram_api_base_url"),
    )
    db_path: str = Field(
        default="liqbot.db", validation_alias=AliasChoices("LIQBOT_DB_PATH", "db_path")
    )
    market_source: Literal["live", "demo"] = Field(
        default="live", validation_alias=AliasChoices("LIQBOT_MARKET_SOURCE", "market_source")
    )
    replay_start: str = Field(
        default=DEFAULT_REPLAY_START,
        validation_alias=AliasChoices("LIQBOT_REPLAY_START", "replay_start"),
    )
    replay_speed: float = Field(
        default=1.0, gt=0, validation_alias=AliasChoices("LIQBOT_REPLAY_SPEED", "replay_speed")
    )
    venues: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(VENUES),
        validation_alias=AliasChoices("LIQBOT_VENUES", "venues"),
    )
    symbols: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["BTC", "ETH", "SOL", "XRP", "BNB", "DOGE"],
        validation_alias=AliasChoices("LIQBOT_SYMBOLS", "symbols"),
    )
    refresh_minutes: float = Field(
        default=5.0,
        gt=0,
        validation_alias=AliasChoices("LIQBOT_REFRESH_MINUTES", "refresh_minutes"),
    )
    allowed_chat_ids: Annotated[list[int], NoDecode] = Field(
        default_factory=list,
        validation_alias=AliasChoices("LIQBOT_ALLOWED_CHAT_IDS", "allowed_chat_ids"),
    )
    exchange_urls: dict[str, str] = Field(
        default_factory=dict,
        validation_alias=AliasChoices("LIQBOT_EXCHANGE_URLS", "exchange_urls"),
    )
    history_days: int = Field(
        default=45, ge=31, validation_alias=AliasChoices("LIQBOT_HISTORY_DAYS", "history_days")
    )
    tick_seconds: float = Field(
        default=5.0, gt=0, validation_alias=AliasChoices("LIQBOT_TICK_SECONDS", "tick_seconds")
    )
    digest_hours: int = Field(
        default=4, ge=0, le=24, validation_alias=AliasChoices("LIQBOT_DIGEST_HOURS", "digest_hours")
    )
    followup_hours: float = Field(
        default=4.0,
        ge=0,
        le=72,
        validation_alias=AliasChoices("LIQBOT_FOLLOWUP_HOURS", "followup_hours"),
    )
    backfill_days: float = Field(
        default=31, gt=0, validation_alias=AliasChoices("LIQBOT_BACKFILL_DAYS", "backfill_days")
    )
    webhook_url: str | None = Field(
        default=None, validation_alias=AliasChoices("LIQBOT_WEBHOOK_URL", "webhook_url")
    )
    webhook_listen: str = Field(
        default="0.0.0.0", validation_alias=AliasChoices("LIQBOT_WEBHOOK_LISTEN", "webhook_listen")
    )
    webhook_port: int = Field(
        default=8443, validation_alias=AliasChoices("LIQBOT_WEBHOOK_PORT", "webhook_port")
    )
    webhook_secret: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("LIQBOT_WEBHOOK_SECRET", "webhook_secret")
    )
    log_level: str = Field(
        default="INFO", validation_alias=AliasChoices("LIQBOT_LOG_LEVEL", "log_level")
    )

    @field_validator("venues", "symbols", "allowed_chat_ids", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        return _csv(value)

    @field_validator("venues")
    @classmethod
    def _known_venues(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in VENUES]
        if unknown:
            raise ValueError(
                f"unknown venue(s) {', '.join(unknown)}; choose from {', '.join(VENUES)}"
            )
        if not value:
            raise ValueError(f"at least one venue is needed; choose from {', '.join(VENUES)}")
        return value

    @field_validator("symbols")
    @classmethod
    def _some_symbols(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one symbol is needed, e.g. BTC,ETH")
        return value

    @field_validator("telegram_api_base_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        return _http_url(value, "TELEGRAM_API_BASE_URL")

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("choose DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @field_validator("exchange_urls")
    @classmethod
    def _known_url_venues(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = [v for v in value if v not in VENUES]
        if unknown:
            raise ValueError(f"LIQBOT_EXCHANGE_URLS: unknown venue(s) {', '.join(unknown)}; "
                             f"choose from {', '.join(VENUES)}")  # fmt: skip
        return {k: _http_url(v, f"LIQBOT_EXCHANGE_URLS[{k}]") for k, v in value.items()}

    @field_validator("replay_start")
    @classmethod
    def _iso(cls, value: str) -> str:
        replay_start_ms(value)
        return value

    @property
    def refresh_seconds(self) -> float:
        return self.refresh_minutes * 60

    @property
    def bot_api_base(self) -> str:
        """PTB's ``base_url``: ``{api}/bot`` (PTB appends token and method; no trailing slash)."""
        return f"{self.telegram_api_base_url.rstrip('/')}/bot"

    @property
    def bot_file_base(self) -> str:
        return f"{self.telegram_api_base_url.rstrip('/')}/file/bot"


def _http_url(value: str, name: str) -> str:
    """An http(s) URL with a host, without the trailing slash."""
    parsed = urlsplit(value.strip())
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError(f"{name} must be an http(s) URL such as http://127.0.0.1:8001")
    return value.strip().rstrip("/")


def replay_start_ms(text: str) -> int:
    """``LIQBOT_REPLAY_START`` (ISO, UTC if no zone) -> ms."""
    try:
        return parse_utc_ms(text)
    except ValueError:
        raise ValueError(f"LIQBOT_REPLAY_START {text!r} is not an ISO time") from None
