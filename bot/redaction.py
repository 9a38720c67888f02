"""The one redaction: secrets never reach a log line, stderr or a stored error text.

What counts as a secret: any ``user:password@`` in a URL (a proxy in ``LIQBOT_EXCHANGE_URLS``),
and the values registered with :func:`add_secrets` (the bot token, the webhook secret, a proxy's
password on its own and as the Basic-auth header value). :func:`install` applies it to every log
record at its creation (message, arguments, traceback), whichever logger or handler writes it,
and to uncaught tracebacks; every entry point of ``liqbot`` calls it first."""

from __future__ import annotations

import base64
import logging
import re
import sys
import threading
import traceback
from collections.abc import Iterable
from types import TracebackType
from urllib.parse import unquote, urlsplit

CREDENTIALS = re.compile(r"://[^/\s@]+@")
MASK = "***"

_secrets: list[str] = []  # longest first, so a secret containing another goes whole
_lock = threading.Lock()
_installed = False


def add_secrets(values: Iterable[str | None]) -> None:
    """Remember values that must never be written anywhere (empty or tiny ones are ignored:
    masking every "a" would make logs unreadable and protect nothing)."""
    with _lock:
        for value in values:
            if value and len(value) >= 4 and value not in _secrets:
                _secrets.append(value)
        _secrets.sort(key=len, reverse=True)


def url_secrets(url: str) -> list[str]:
    """The password of a ``scheme://user:password@host`` URL, as written, decoded, and as the
    ``user:password`` pair and its Basic-auth encoding (an HTTP library may log either)."""
    parts = urlsplit(url)
    if not parts.password:
        return []
    pair = f"{parts.username or ''}:{parts.password}"
    decoded = f"{unquote(parts.username or '')}:{unquote(parts.password)}"
    found = [parts.password, unquote(parts.password), pair, decoded]
    found += [base64.b64encode(p.encode()).decode() for p in (pair, decoded)]
    return found


def redact(text: str) -> str:
    """``text`` with every credential in a URL and every registered secret masked."""
    text = CREDENTIALS.sub(f"://{MASK}@", text)
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Mask secrets in a record: the merged message, the traceback (formatted now, so a
    handler reuses the masked text) and any stack; never raises."""
    try:
        message = record.getMessage()
    except Exception:  # bad arguments: logging reports that itself on emit
        return record
    clean = redact(message)
    if clean != message or record.args:
        record.msg, record.args = clean, None
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


class RedactSecrets(logging.Filter):
    """The same redaction as a handler filter, for handlers set up before :func:`install`,
    with extra secrets of its own."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        add_secrets(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def install() -> None:
    """Redact every log record from now on (idempotent), and uncaught tracebacks."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    make = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        return redact_record(make(*args, **kwargs))

    logging.setLogRecordFactory(factory)
    logging.captureWarnings(True)  # warnings.warn text goes through a record too

    def excepthook(
        kind: type[BaseException], error: BaseException, tb: TracebackType | None
    ) -> None:
        sys.stderr.write(redact("".join(traceback.format_exception(kind, error, tb))))

    sys.excepthook = excepthook
