"""Live liquidation prints from the venues' public websocket streams (ccxt.pro).

One asyncio task per venue keeps a stream of every followed symbol open
(``watch_liquidations_for_symbols`` where the venue has it, one ``watch_liquidations`` per symbol
on the same connection where it does not), hands every forced order to a :class:`LiquidationSink`
and reports the stream's **coverage**: from when to when it was connected. A gap in coverage is a
disconnect, not a quiet market.

Dead streams are found two ways: ccxt's own keepalive (ping every ``keepalive_ms``; missing pongs
raise) and our silence check (no frame of any kind, print or pong, for ``silence_s``). Either way
the connection is closed and reopened after an exponential backoff with jitter.

Why prints are read from ccxt's cache and not from what ``watch_*`` returns: the returned list
holds only the print that resolved the waiting future; prints arriving in the same read (a burst,
a Bybit or OKX frame carrying several) are only in ``exchange.liquidations``.

This module never imports ``storage``: the bot passes a sink that writes there.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal, Protocol

import ccxt.pro as ccxt_pro

from market.errors import MarketNetworkError, RetryPolicy, from_ccxt
from market.tls import shared_context
from market.urls import VENUES, override_urls

log = logging.getLogger(__name__)

Side = Literal["long", "short"]
Support = Literal["native", "emulated", "none"]


@dataclass(frozen=True)
class LiquidationPrint:
    """One forced order. ``side`` is the side that was liquidated: ``long`` (the venue sold it
    off) or ``short`` (bought back). ``quantity`` in base units, ``usd`` = price * quantity.
    OKX reports the bankruptcy price, Binance the average fill, Bybit the order price."""

    venue: str
    symbol: str
    time_ms: int
    side: Side
    price: float
    quantity: float
    usd: float


class LiquidationSink(Protocol):
    """Where the feed puts what it hears; the bot wires it to ``storage.liquidations``."""

    def store_prints(self, prints: Sequence[LiquidationPrint]) -> None:
        """Store prints; a print stored before is ignored (the venue may re-send)."""

    def store_coverage(
        self, venue: str, symbols: Sequence[str], start_ms: int, end_ms: int
    ) -> None:
        """The stream was connected from ``start_ms`` to ``end_ms``; repeated calls with the same
        start extend the interval."""


class MalformedPrintError(ValueError):
    """A liquidation message whose fields do not make a usable print."""


class StreamSilentError(MarketNetworkError):
    """No frame of any kind (print or pong) within the silence timeout: the stream is dead."""


@cache
def liquidation_support(venue: str) -> Support:
    """Whether ccxt.pro streams public liquidations for ``venue``: ``native`` (Binance USD-M,
    Bybit), ``emulated`` (OKX: one channel for all swaps, filtered by symbol) or ``none``
    (Bitget). Read from ccxt's ``has`` table so an upgrade that adds a stream shows up."""
    if venue not in VENUES:
        raise ValueError(f"unknown venue {venue!r}; valid venues: {', '.join(VENUES)}")
    has = getattr(ccxt_pro, venue)().has
    value = has.get("watchLiquidations")
    if value is True:
        return "native"
    if value == "emulated":
        return "emulated"
    return "none"


# --- parsing ------------------------------------------------------------------------------------


def _positive(value: Any, what: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise MalformedPrintError(f"{what} is not a number: {value!r}") from None
    if not (math.isfinite(x) and x > 0):
        raise MalformedPrintError(f"{what} must be finite and positive: {value!r}")
    return x


def _time(value: Any) -> int:
    t = _positive(value, "time")
    return int(t)


def _make(venue: str, symbol: str, t: Any, side: Side, price: Any, qty: Any) -> LiquidationPrint:
    p = _positive(price, "price")
    q = _positive(qty, "quantity")
    return LiquidationPrint(venue, symbol, _time(t), side, p, q, p * q)


def _order_side_to_liquidated(order_side: Any) -> Side:
    """Binance/OKX report the forced ORDER's side: a forced sell closes a long."""
    s = str(order_side).lower()
    if s == "sell":
        return "long"
    if s == "buy":
        return "short"
    raise MalformedPrintError(f"unknown order side {order_side!r}")


def parse_prints(
    venue: str, liquidation: Mapping[str, Any], contract_size: float
) -> list[LiquidationPrint]:
    """Prints in one ccxt liquidation structure, from its raw ``info`` (each venue states the
    side differently). Raises :class:`MalformedPrintError` if a field is missing or absurd.

    * Binance ``forceOrder``: ``S`` is the order side (SELL = a long liquidated), quantity
      ``l`` (last filled), price ``ap`` (average), time ``T``.
    * Bybit ``allLiquidation`` / ``liquidation``: ``S``/``side`` is the POSITION side (Bybit:
      "Buy means a long position has been liquidated"), ``v``/``size``, ``p``/``price``.
    * OKX ``liquidation-orders``: each of ``details`` is a print; ``posSide`` long/short (or
      ``net``: then the order ``side``), ``sz`` in contracts, ``bkPx`` bankruptcy price.
    """
    symbol = liquidation.get("symbol")
    info = liquidation.get("info")
    side: Side
    if not isinstance(symbol, str) or not isinstance(info, Mapping):
        raise MalformedPrintError("liquidation without symbol or raw info")
    if venue == "binanceusdm":
        side = _order_side_to_liquidated(info.get("S"))
        qty = _positive(info.get("l"), "quantity") * contract_size
        return [_make(venue, symbol, info.get("T"), side, info.get("ap"), qty)]
    if venue == "bybit":
        raw_side = str(info.get("S", info.get("side", ""))).lower()
        if raw_side not in ("buy", "sell"):
            raise MalformedPrintError(f"unknown position side {raw_side!r}")
        side = "long" if raw_side == "buy" else "short"
        qty = _positive(info.get("v", info.get("size")), "quantity") * contract_size
        t = info.get("T", info.get("updatedTime"))
        return [_make(venue, symbol, t, side, info.get("p", info.get("price")), qty)]
    if venue == "okx":
        details = info.get("details")
        if not isinstance(details, list) or not details:
            raise MalformedPrintError("OKX liquidation without details")
        out = []
        for d in details:
            if not isinstance(d, Mapping):
                raise MalformedPrintError(f"OKX detail is not an object: {d!r}")
            pos = str(d.get("posSide", "")).lower()
            if pos == "long":
                side = "long"
            elif pos == "short":
                side = "short"
            else:
                side = _order_side_to_liquidated(d.get("side"))
            qty = _positive(d.get("sz"), "quantity") * contract_size
            out.append(_make(venue, symbol, d.get("ts"), side, d.get("bkPx"), qty))
        return out
    raise MalformedPrintError(f"no liquidation stream parser for {venue}")


# --- the watcher --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedTiming:
    """How the feed watches its streams (seconds unless named _ms).

    ``check_s``: how often a quiet stream is checked for life and its coverage extended.
    ``silence_s``: no frame at all (print or pong) for this long = dead, reconnect.
    ``keepalive_ms``: ccxt's ping interval (Binance's default is 3 min; 20 s lets a dead stream
    show within a minute). ``backoff``: reconnect delays, exponential with equal jitter.
    """

    check_s: float = 5.0
    silence_s: float = 60.0
    keepalive_ms: int = 20_000
    connect_timeout_ms: int = 10_000
    backoff: RetryPolicy = field(
        default_factory=lambda: RetryPolicy(base_delay_s=1.0, max_delay_s=60.0, jitter=0.5)
    )


@dataclass
class VenueStreamStatus:
    """What ``/status`` shows for one venue's liquidation stream."""

    venue: str
    support: Support
    symbols: list[str]
    connected: bool = False
    connected_since_ms: int | None = None
    last_print_ms: int | None = None
    prints: int = 0
    malformed: int = 0
    reconnects: int = 0
    last_error: str | None = None
    unlisted: list[str] = field(default_factory=list)


def _wall_ms() -> int:
    return int(time.time() * 1000)


class VenueLiquidationWatcher:
    """Keeps one venue's liquidation stream alive and reports what it hears to the sink.

    ``base_url`` rewrites REST and websocket URLs (``LIQBOT_EXCHANGE_URLS``); ``clock`` gives
    the ms that coverage is stamped with (the bot's clock, so a replay covers replay time).
    """

    def __init__(
        self,
        venue: str,
        symbols: Sequence[str],
        sink: LiquidationSink,
        *,
        base_url: str | None = None,
        timing: FeedTiming | None = None,
        config: Mapping[str, Any] | None = None,
        clock: Callable[[], int] = _wall_ms,
        rng: Callable[[], float] = random.random,
    ) -> None:
        support = liquidation_support(venue)
        if support == "none":
            raise ValueError(f"{venue} has no public liquidation stream in ccxt")
        self.venue = venue
        self.sink = sink
        self.timing = timing or FeedTiming()
        self._clock = clock
        self._rng = rng
        self.status = VenueStreamStatus(venue, support, list(symbols))
        extra = dict(config or {})
        options = {
            "defaultType": "swap",
            # A burst longer than ccxt's cache between two reads would be lost (the cache is
            # emptied after each read, so this bounds a burst, not what is kept).
            "liquidationsLimit": 20_000,
            **extra.pop("options", {}),
        }
        if venue == "bybit":
            options.setdefault("defaultSubType", "linear")
            options.setdefault("fetchMarkets", {"types": ["linear"]})
        if venue == "okx":
            options.setdefault("fetchMarkets", {"types": ["swap"]})
        if venue == "binanceusdm":
            options.setdefault("fetchMarkets", {"types": ["linear"]})
        self.exchange: Any = getattr(ccxt_pro, venue)(
            {
                **extra,
                "options": options,
                "streaming": {"keepAlive": self.timing.keepalive_ms, "maxPingPongMisses": 2},
            }
        )
        self.exchange.has["fetchCurrencies"] = False
        self.exchange.ssl_context = shared_context()  # not built on the event loop
        self._guard_clients()
        if base_url is not None:
            override_urls(self.exchange, base_url)
        self._watching: list[str] = []
        self._tasks: dict[str, asyncio.Future[Any]] = {}
        self._last_seen: Any = None  # the newest cache entry already handed to the sink
        self._cover_start: int | None = None

    def _guard_clients(self) -> None:
        """Make every websocket client of this exchange skip a frame it cannot handle.

        Why: ccxt's receive loop stops for good when decoding or handling one frame raises
        (a frame that is not JSON, a handler crash), leaving a socket nobody reads until the
        keepalive notices; everything the venue sends meanwhile is lost.
        """
        make_client = self.exchange.client

        def client(url: str) -> Any:
            c = make_client(url)
            if not getattr(c, "_liqbot_guarded", False):
                handle = c.handle_text_or_binary_message

                def guarded(data: Any) -> None:
                    try:
                        handle(data)
                    except Exception as exc:
                        self.status.malformed += 1
                        log.warning(
                            "%s: skipped a frame ccxt could not handle: %s: %.80r",
                            self.venue,
                            type(exc).__name__,
                            data,
                        )

                c.handle_text_or_binary_message = guarded
                c._liqbot_guarded = True
            return c

        self.exchange.client = client

    # -- lifecycle --

    async def run(self) -> None:
        """Watch until cancelled, reconnecting after every failure."""
        failures = 0
        while True:
            try:
                await self._session()
            except asyncio.CancelledError:
                await self._end_session()
                raise
            except Exception as exc:
                error = from_ccxt(exc, venue=self.venue, operation="watch_liquidations")
                if self._cover_start is not None:
                    failures = 0  # it had connected: start the backoff afresh
                self.status.last_error = str(error)[:300]
                self.status.reconnects += 1
                await self._end_session()
                wait = self.timing.backoff.delay(min(failures, 16), error, self._rng)
                failures += 1
                log.warning(
                    "%s liquidation stream down (%s); reconnect in %.2fs", self.venue, error, wait
                )
                await asyncio.sleep(wait)

    async def close(self) -> None:
        await self._end_session()
        await self.exchange.close()

    # -- one connection --

    async def _session(self) -> None:
        ex = self.exchange
        if not ex.markets:
            await ex.load_markets()
        listed = [s for s in self.status.symbols if s in ex.markets]
        self.status.unlisted = [s for s in self.status.symbols if s not in ex.markets]
        if not listed:
            raise ValueError(f"none of {self.status.symbols} is listed on {self.venue}")
        self._watching = listed
        opened = _wall_ms()
        while True:
            await self._wait_for_frames()
            now = _wall_ms()
            self._deliver()
            life = self._last_life(opened)
            if now - life > self.timing.silence_s * 1000:
                raise StreamSilentError(
                    f"no frame for {(now - life) / 1000:.1f}s",
                    venue=self.venue,
                    operation="watch_liquidations",
                )
            self._extend_coverage(now, life)

    def _watch_calls(self) -> dict[str, Callable[[], Any]]:
        ex = self.exchange
        if ex.has.get("watchLiquidationsForSymbols"):
            return {"*": lambda: ex.watch_liquidations_for_symbols(list(self._watching))}
        calls: dict[str, Callable[[], Any]] = {}
        for s in self._watching:
            calls[s] = functools.partial(ex.watch_liquidations, s)
        return calls

    async def _wait_for_frames(self) -> None:
        """Wait until a print arrives or ``check_s`` passes; raise what a watch raised."""
        for key, call in self._watch_calls().items():
            if key not in self._tasks or self._tasks[key].done():
                self._tasks[key] = asyncio.ensure_future(call())
        done, _ = await asyncio.wait(
            list(self._tasks.values()),
            timeout=self.timing.check_s,
            return_when=asyncio.FIRST_COMPLETED,
        )
        for task in done:
            exc = task.exception()
            if exc is not None:
                raise exc

    def _clients(self) -> list[Any]:
        return list((getattr(self.exchange, "clients", None) or {}).values())

    def _last_life(self, opened: int) -> int:
        """Wall ms of the last frame of any kind on this venue's connection."""
        life = opened
        for c in self._clients():
            for t in (c.connectionEstablished, c.last_message_at, c.lastPong):
                if t:
                    life = max(life, int(t))
        return life

    def _extend_coverage(self, now: int, life: int) -> None:
        clients = [c for c in self._clients() if c.isConnected and c.connectionEstablished]
        if not clients:
            return
        clock_now = self._clock()
        if self._cover_start is None:
            established = min(int(c.connectionEstablished) for c in clients)
            self._cover_start = clock_now - max(0, now - established)
            self.status.connected = True
            self.status.connected_since_ms = self._cover_start
        end = clock_now - max(0, now - life)
        self.sink.store_coverage(self.venue, self._watching, self._cover_start, end)

    def _new_cache_entries(self) -> list[Any]:
        cache_ = getattr(self.exchange, "liquidations", None)
        if not cache_:
            return []
        fresh: list[Any] = []
        for item in reversed(cache_):
            if item is self._last_seen:
                break
            fresh.append(item)
        self._last_seen = cache_[-1]
        fresh.reverse()
        # Handed over, so let them go: ccxt keeps up to ``liquidationsLimit`` prints per venue
        # for ever (OKX's channel carries every swap), tens of MB after a day. ccxt makes a new
        # cache on the next print; no await separates this read from the reset.
        self.exchange.liquidations = None
        return fresh

    def _deliver(self) -> None:
        prints: list[LiquidationPrint] = []
        for liq in self._new_cache_entries():
            if liq.get("symbol") not in self._watching:
                continue  # OKX's channel carries every swap
            market = self.exchange.markets.get(liq["symbol"]) or {}
            try:
                prints.extend(
                    parse_prints(self.venue, liq, float(market.get("contractSize") or 1.0))
                )
            except MalformedPrintError as exc:
                self.status.malformed += 1
                log.warning("%s: skipped a malformed liquidation: %s", self.venue, exc)
        if prints:
            self.sink.store_prints(prints)
            self.status.prints += len(prints)
            self.status.last_print_ms = max(p.time_ms for p in prints)

    async def _end_session(self) -> None:
        """Close the connection and cancel the watches; coverage already ends at the last
        frame seen."""
        for task in self._tasks.values():
            task.cancel()
        for task in self._tasks.values():
            with contextlib.suppress(BaseException):
                await task
        self._tasks.clear()
        with contextlib.suppress(Exception):
            await self.exchange.close_ws_clients()
        # prints ccxt parsed before the close are still in its cache
        with contextlib.suppress(Exception):
            self._deliver()
        self._cover_start = None
        self.status.connected = False
        self.status.connected_since_ms = None


class LiquidationFeed:
    """The bot's liquidation feed: one :class:`VenueLiquidationWatcher` task per venue that has
    a stream. Venues without one (Bitget) are listed in :meth:`status` with ``support='none'``.
    """

    def __init__(
        self,
        sink: LiquidationSink,
        venues: Sequence[str],
        symbols: Sequence[str],
        *,
        urls: Mapping[str, str] | None = None,
        timing: FeedTiming | None = None,
        clock: Callable[[], int] = _wall_ms,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        self.watchers: list[VenueLiquidationWatcher] = []
        self._without: list[VenueStreamStatus] = []
        for venue in venues:
            if liquidation_support(venue) == "none":
                self._without.append(VenueStreamStatus(venue, "none", list(symbols)))
                continue
            self.watchers.append(
                VenueLiquidationWatcher(
                    venue,
                    symbols,
                    sink,
                    base_url=(urls or {}).get(venue),
                    timing=timing,
                    config=config,
                    clock=clock,
                )
            )
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Start one task per venue (call from the bot's startup, inside its event loop)."""
        if self._tasks:
            return
        for w in self.watchers:
            self._tasks.append(asyncio.create_task(w.run(), name=f"liquidations-{w.venue}"))

    async def stop(self) -> None:
        """Cancel the tasks and close every connection (the bot's shutdown)."""
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(BaseException):
                await t
        self._tasks.clear()
        # every venue at once: ccxt's close waits 250 ms for its sockets, per exchange
        await asyncio.gather(*(w.close() for w in self.watchers), return_exceptions=True)

    def status(self) -> list[VenueStreamStatus]:
        """Every configured venue, streaming or not, in the order given."""
        return [w.status for w in self.watchers] + list(self._without)
