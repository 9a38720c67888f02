"""Issue 22, fault 5: one redaction for every entry point and every log record or error text.
A proxy password in LIQBOT_EXCHANGE_URLS used to reach stderr in 16-37 retry and refresh
warnings of `liqbot map --source live`, since only `liqbot run` installed the filter."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest

from bot import cli, redaction
from market import feeds


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens there once closed


async def _no_wait(seconds: float) -> None:
    return None


def test_a_proxy_password_never_reaches_stderr_or_the_log(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"http://trader:s3cr%40t-pw@127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("LIQBOT_EXCHANGE_URLS", f'{{"bybit": "{url}"}}')
    monkeypatch.setenv("LIQBOT_DB_PATH", str(tmp_path / "live.db"))
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:bot-token-never-shown")
    # the venue's retries, without their waits (the test is about what they write)
    monkeypatch.setitem(feeds.VenueFeed.__init__.__kwdefaults__, "sleep", _no_wait)
    # and without ccxt's pacing of its requests (200 ms each to a port that refuses at once)
    monkeypatch.setitem(
        feeds.VenueFeed.__init__.__kwdefaults__, "config", {"enableRateLimit": False}
    )
    caplog.set_level(logging.WARNING)
    code = cli.main(["map", "BTC", "--source", "live", "--exchanges", "bybit"])
    out, err = capfd.readouterr()
    logged = caplog.text + "".join(r.exc_text or "" for r in caplog.records)
    assert code != 0 or "bybit" in err  # it failed, and said so
    assert len([r for r in caplog.records if "retry" in r.getMessage()]) >= 3
    assert "://***@127.0.0.1" in logged  # the host stays readable
    for leak in ("s3cr", "s3cr@t-pw", "bot-token-never-shown"):
        assert leak not in err and leak not in out and leak not in logged


def test_registered_secrets_are_masked_in_messages_arguments_and_tracebacks() -> None:
    redaction.install()
    redaction.add_secrets(redaction.url_secrets("http://ann:pa55word@proxy:8080"))
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    log = logging.getLogger("tests.redaction")
    log.addHandler(handler)
    try:
        log.warning("fetch %s failed", "http://ann:pa55word@proxy:8080/x")
        try:
            raise RuntimeError("Proxy-Authorization: Basic YW5uOnBhNTV3b3Jk")
        except RuntimeError:
            log.exception("with pa55word in the message")
    finally:
        log.removeHandler(handler)
    text = "".join(logging.Formatter().format(r) for r in records)
    assert "pa55word" not in text and "YW5uOnBhNTV3b3Jk" not in text
    assert "fetch http://***@proxy:8080/x failed" in text
