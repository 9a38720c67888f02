"""Telegram Mini App login: ``initData`` as Telegram signs it, checked as Telegram specifies.

secret_key = HMAC_SHA256(key="WebAppData", msg=bot_token); the data is genuine when
hex(HMAC_SHA256(key=secret_key, msg=data_check_string)) equals its ``hash``, where the
data_check_string is every other field as ``key=value``, sorted by key, joined by newlines.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

MAX_INIT_DATA = 4096  # Telegram's initData is well under this; longer is not Telegram's


@dataclass(frozen=True)
class WebUser:
    """The Telegram user the page was opened by."""

    id: int
    first_name: str
    auth_date: int  # unix seconds


def _secret(bot_token: str) -> bytes:
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def _check_string(fields: dict[str, str]) -> str:
    return "\n".join(f"{k}={fields[k]}" for k in sorted(fields) if k != "hash")


def sign_init_data(fields: dict[str, str], bot_token: str) -> str:
    """``fields`` signed as Telegram does (the demo and the tests open the page with it)."""
    digest = hmac.new(_secret(bot_token), _check_string(fields).encode(), hashlib.sha256)
    return urlencode({**fields, "hash": digest.hexdigest()})


def init_data_for(user_id: int, first_name: str, bot_token: str, auth_date: int) -> str:
    """A signed initData for a user, as Telegram hands it to a page opened from a private chat."""
    user = json.dumps({"id": user_id, "first_name": first_name}, separators=(",", ":"))
    return sign_init_data({"auth_date": str(auth_date), "user": user}, bot_token)


def check_init_data(
    init_data: str, bot_token: str, now_s: float, max_age_s: float
) -> WebUser | None:
    """The user of genuine, fresh ``init_data``; None for anything else (forged, altered,
    stale, from the future, malformed). Says nothing about why: the caller answers 401."""
    if not init_data or len(init_data) > MAX_INIT_DATA:
        return None
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return None
    fields = dict(pairs)
    if len(fields) != len(pairs):  # a repeated key: which one was signed is ambiguous
        return None
    given = fields.get("hash", "")
    digest = hmac.new(_secret(bot_token), _check_string(fields).encode(), hashlib.sha256)
    if not hmac.compare_digest(digest.hexdigest(), given):
        return None
    try:
        auth_date = int(fields["auth_date"])
        user = json.loads(fields["user"])
        user_id = int(user["id"])
    except (KeyError, ValueError, TypeError):
        return None
    # a minute of clock skew is allowed into the future; nothing older than max_age_s
    if not (now_s - max_age_s <= auth_date <= now_s + 60):
        return None
    return WebUser(user_id, str(user.get("first_name") or ""), auth_date)
