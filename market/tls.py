"""One TLS context for every ccxt exchange of the process.

ccxt builds its own context the first time an exchange opens a session: loading certifi's CA
bundle blocks the event loop (README: 50-100 ms), once per exchange object (eight of them for four
venues' REST and websocket clients). Built once here, when the feeds are constructed (before the
loop serves anyone), and shared: the same verification, one copy of the CA store.
"""

from __future__ import annotations

import ssl
from functools import cache

import certifi


@cache
def shared_context() -> ssl.SSLContext:
    """The context ccxt would build (``ssl.create_default_context`` with certifi's bundle)."""
    return ssl.create_default_context(cafile=certifi.where())
