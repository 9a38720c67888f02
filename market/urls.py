"""Point a ccxt exchange's REST and websocket endpoints at another base URL (a proxy, a mirror, a
fake venue).

Settings pass ``LIQBOT_EXCHANGE_URLS`` as JSON, e.g. ``{"binanceusdm": "http://127.0.0.1:8001"}``;
:func:`parse_exchange_urls` validates it and :func:`override_urls` applies one entry. One base URL
serves both: REST endpoints keep its scheme, websocket endpoints (ccxt.pro's ``urls['api']['ws']``)
get the matching websocket scheme (``http`` -> ``ws``, ``https`` -> ``wss``) on the same host.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

# The venues the feed supports, as ccxt ids.
VENUES: tuple[str, ...] = ("binanceusdm", "bybit", "okx", "bitget")


def _check_base_url(base_url: str) -> str:
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"base URL must look like http(s)://host[:port][/prefix], got {base_url!r}"
        )
    if parts.query or parts.fragment:
        raise ValueError(f"base URL must not carry a query or fragment: {base_url!r}")
    return base_url.rstrip("/")


_WS_SCHEME = {"http": "ws", "https": "wss"}


def _rebase(url: str, base: str, hostname: str | None) -> str:
    # ccxt templates some hosts ('https://api.{hostname}'); resolve before splitting.
    if hostname is not None:
        url = url.replace("{hostname}", hostname)
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    if parts.scheme in ("ws", "wss"):
        scheme, rest = base.split("://", 1)
        return f"{_WS_SCHEME[scheme]}://{rest}{path}"
    return base + path


def _rebase_tree(node: Any, base: str, hostname: str | None) -> Any:
    if isinstance(node, str):
        return _rebase(node, base, hostname) if "://" in node else node
    if isinstance(node, dict):
        return {k: _rebase_tree(v, base, hostname) for k, v in node.items()}
    if isinstance(node, list):
        return [_rebase_tree(v, base, hostname) for v in node]
    return node


def override_urls(exchange: Any, base_url: str) -> None:
    """Rewrite every URL in ``exchange.urls['api']`` (nested dicts/lists of strings) onto
    ``base_url``, keeping each endpoint's path.

    ``'https://fapi.binance.com/fapi/v1'`` becomes ``'http://127.0.0.1:8001/fapi/v1'``;
    ``'wss://fstream.binance.com/ws'`` (ccxt.pro) becomes ``'ws://127.0.0.1:8001/ws'``;
    ``'https://api.{hostname}'`` (bybit, bitget) becomes ``'http://127.0.0.1:8002'``. A path
    prefix in ``base_url`` is kept in front of the endpoint path. Mutates ``exchange`` in place;
    ccxt reads ``urls['api']`` at request time, so this works before or after ``load_markets``.
    """
    base = _check_base_url(base_url)
    api = exchange.urls.get("api")
    if api is None:
        raise ValueError(f"{exchange.id} has no urls['api'] to override")
    exchange.urls["api"] = _rebase_tree(api, base, getattr(exchange, "hostname", None))


def parse_exchange_urls(json_text: str) -> dict[str, str]:
    """Parse and validate the ``LIQBOT_EXCHANGE_URLS`` JSON object ``{venue: base_url}``.

    Raises ``ValueError`` naming the valid venues for an unknown venue, and for anything that is
    not a JSON object of strings or not an http(s) URL. Empty text means no overrides.
    """
    if not json_text.strip():
        return {}
    try:
        raw = json.loads(json_text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"LIQBOT_EXCHANGE_URLS is not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise ValueError('LIQBOT_EXCHANGE_URLS must be a JSON object like {"okx": "http://..."}')
    result: dict[str, str] = {}
    for venue, url in raw.items():
        if venue not in VENUES:
            raise ValueError(
                f"LIQBOT_EXCHANGE_URLS: unknown venue {venue!r}; valid venues: {', '.join(VENUES)}"
            )
        if not isinstance(url, str):
            raise ValueError(f"LIQBOT_EXCHANGE_URLS[{venue!r}] must be a string URL")
        result[venue] = _check_base_url(url)
    return result
