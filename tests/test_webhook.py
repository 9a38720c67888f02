"""`liqbot run` in webhook mode (LIQBOT_WEBHOOK_URL): it registers the webhook with its secret,
answers updates Telegram posts to it, and refuses posts without the secret."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.fakes.telegram_api import FakeTelegram

CHAT = 9393
SECRET = "s3cret-webhook-token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _post(url: str, update: dict[str, object], secret: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if secret:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    req = urllib.request.Request(url, json.dumps(update).encode(), headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


def _get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return int(r.status), json.loads(r.read())
    except urllib.error.HTTPError as e:
        body = e.read()
        return int(e.code), json.loads(body) if body.startswith(b"{") else {}


def test_webhook_mode_answers_updates_with_the_secret(tmp_path: Path) -> None:
    port = _free_port()
    with FakeTelegram() as fake:
        env = dict(
            os.environ,
            TELEGRAM_BOT_TOKEN=fake.token,
            TELEGRAM_API_BASE_URL=fake.url,
            LIQBOT_DB_PATH=str(tmp_path / "hook.db"),
            LIQBOT_MARKET_SOURCE="demo",
            LIQBOT_WEBHOOK_URL=f"http://127.0.0.1:{port}",
            LIQBOT_WEBHOOK_LISTEN="127.0.0.1",
            PORT=str(port),  # as a platform sets it for the web process
            LIQBOT_WEBHOOK_SECRET=SECRET,
            LIQBOT_WEBAPP_URL="https://liqbot.example",  # the interactive map, on the same port
        )
        env.pop("LIQBOT_WEBHOOK_PORT", None)
        bot = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 30
            while fake.webhook is None:
                assert time.monotonic() < deadline and bot.poll() is None, "no setWebhook"
                time.sleep(0.05)
            assert fake.webhook == {
                "url": f"http://127.0.0.1:{port}/telegram",
                "secret_token": SECRET,
            }
            hook = fake.webhook["url"]
            update = {
                "update_id": 1,
                "message": {
                    "message_id": 1,
                    "date": int(time.time()),
                    "text": "/help",
                    "chat": {"id": CHAT, "type": "private"},
                    "from": {"id": CHAT, "is_bot": False, "first_name": "Wes"},
                    "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
                },
            }
            assert _post(hook, update, secret=None) == 403  # a stranger cannot inject updates
            assert _post(hook, update, secret=SECRET) == 200
            while not fake.messages(CHAT):
                assert time.monotonic() < deadline, "no reply to the webhook update"
                time.sleep(0.05)
            assert "Commands" in (fake.messages(CHAT)[0].text or "")
            assert not fake.calls("getUpdates")  # webhook mode does not poll
            # the health route on the webhook's own server (and port)
            status, health = _get(f"http://127.0.0.1:{port}/healthz")
            assert status in (200, 503) and health["version"] and "outbox" in health
            assert (status == 200) == (health["status"] == "ok")
            # the interactive map on that server too: the page, and its data only with initData
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as page:
                assert b"static/app.js" in page.read()
                assert "script-src 'self'" in page.headers["Content-Security-Policy"]
            assert _get(f"http://127.0.0.1:{port}/api/map?symbol=BTC&window=1d")[0] == 401
        finally:
            bot.terminate()
            bot.wait(20)
        assert SECRET not in (bot.stderr.read().decode() if bot.stderr else "")
