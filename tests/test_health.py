"""Issue 22: GET /healthz (polling mode: on LIQBOT_HEALTH_HOST:LIQBOT_HEALTH_PORT) and the
owner's /status: 200 with the JSON while data and alerts are on time, 503 once an alert waits
past the limit."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from storage import outbox, users
from tests.bot_harness import BotHarness, wait_until

OWNER, TRADER = 4242, 4343
MIN = 60_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return int(r.status), json.loads(r.read())
    except urllib.error.HTTPError as e:
        return int(e.code), json.loads(e.read())


def test_healthz_answers_then_flags_a_late_alert_and_the_owner_sees_it(tmp_path: Path) -> None:
    port = _free_port()
    # one tick only (at start): nothing drains the outbox behind the test's back
    settings = {"health_port": port, "admin_chat_ids": [OWNER], "tick_seconds": 3600}
    with BotHarness(tmp_path / "h.db", **settings) as bot:
        s = bot.services
        assert s is not None
        wait_until(lambda: s.last_digest_hour is not None)  # the first tick has run
        url = f"http://127.0.0.1:{port}/healthz"
        status, body = _get(url)
        assert status == 200, body
        assert body["status"] == "ok" and body["problems"] == []
        assert body["version"] and body["uptime_s"] >= 0
        assert set(body["data_age_s"]) == set(s.source.venues)
        assert all(a is not None and a < 20 * 60 for a in body["data_age_s"].values())
        assert body["outbox"] == {"backlog": 0, "oldest_pending_alert_age_s": None}
        assert body["live_feed"] == "off" and "last_refresh" in body

        # an alert due 6 minutes ago is still pending (past the 300 s limit): 503
        users.register(s.db, TRADER, TRADER, "T", bot.clock.now)
        with s.db.atomic():
            outbox.enqueue(s.db, "late", TRADER, "alert", "late", bot.clock.now - 6 * MIN)
        status, body = _get(url)
        assert status == 503
        assert body["outbox"] == {"backlog": 1, "oldest_pending_alert_age_s": 360.0}
        assert body["problems"] == ["oldest pending alert waiting 360 s"]

        owner = bot.send(OWNER, "/status").text or ""
        assert "Health: UNHEALTHY" in owner and "oldest pending alert waiting 360 s" in owner
        trader = bot.send(TRADER + 1, "/status").text or ""
        assert "Market data" in trader and "Health" not in trader
