"""Every variable named in .env.example is read under exactly that name."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
# a value different from the default, per variable
SAMPLES = {
    "TELEGRAM_BOT_TOKEN": "123:abc",
    "TELEGRAM_API_BASE_URL": "http://127.0.0.1:8081",
    "LIQBOT_DB_PATH": "/tmp/x.db",
    "LIQBOT_MARKET_SOURCE": "demo",
    "LIQBOT_REPLAY_START": "2025-10-10T20:00:00Z",
    "LIQBOT_REPLAY_SPEED": "600",
    "LIQBOT_VENUES": "okx,bybit",
    "LIQBOT_SYMBOLS": "BTC",
    "LIQBOT_REFRESH_MINUTES": "15",
    "LIQBOT_TICK_SECONDS": "2",
    "LIQBOT_DIGEST_HOURS": "8",
    "LIQBOT_FOLLOWUP_HOURS": "8",
    "LIQBOT_BACKFILL_DAYS": "7",
    "LIQBOT_HISTORY_DAYS": "60",
    "LIQBOT_EXCHANGE_URLS": '{"okx": "http://127.0.0.1:9000"}',
    "LIQBOT_ALLOWED_CHAT_IDS": "1,2",
    "LIQBOT_WEBHOOK_URL": "https://bot.example.org",
    "LIQBOT_WEBHOOK_LISTEN": "127.0.0.1",
    "LIQBOT_WEBHOOK_PORT": "9443",
    "LIQBOT_WEBHOOK_SECRET": "s3cret",
    "LIQBOT_LOG_LEVEL": "debug",
    "LIQBOT_OUTBOX_RETENTION_DAYS": "3",
    "LIQBOT_CHAT_GAP_SECONDS": "2",
    "LIQBOT_SEND_LOOP": "false",
    "LIQBOT_HEALTH_PORT": "8081",
    "LIQBOT_HEALTH_HOST": "0.0.0.0",
    "LIQBOT_HEALTH_MAX_DATA_AGE_MINUTES": "30",
    "LIQBOT_HEALTH_MAX_ALERT_AGE_SECONDS": "60",
    "LIQBOT_ADMIN_CHAT_IDS": "111,222",
    "LIQBOT_ADMIN_NOTICE_MINUTES": "10",
    "LIQBOT_ADMIN_BACKLOG_ROWS": "100",
    "LIQBOT_WEBAPP_URL": "https://bot.example.com/map",
    "LIQBOT_WEBAPP_LISTEN": "0.0.0.0",
    "LIQBOT_WEBAPP_PORT": "9090",
    "LIQBOT_WEBAPP_AUTH_MAX_AGE_S": "3600",
}


def documented() -> list[str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return [line.split("=")[0] for line in lines if line and not line.startswith("#")]


def field_of(name: str) -> str:
    return name.lower().removeprefix("liqbot_")


def test_every_documented_variable_has_a_sample() -> None:
    assert set(documented()) == set(SAMPLES)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_each_variable_is_read_by_its_documented_name(
    name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    default = getattr(Settings(), field_of(name))
    monkeypatch.setenv(name, SAMPLES[name])
    assert getattr(Settings(), field_of(name)) != default
