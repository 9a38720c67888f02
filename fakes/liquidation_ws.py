"""A fake venue on 127.0.0.1 that streams liquidation prints over a websocket, in the wire format
of Binance USD-M (``forceOrder``), Bybit v5 (``allLiquidation``/``liquidation`` topics) or OKX
(``liquidation-orders`` channel), with each venue's subscription handshake and ping/pong. It also
answers the one REST call ccxt makes first (the market listing), so real ``ccxt.pro`` runs
against it unchanged through ``market.urls.override_urls``::

    async with FakeLiquidationVenue("bybit", tape) as fake:
        feed = LiquidationFeed(sink, ["bybit"], ["BTC/USDT:USDT"], urls={"bybit": fake.base_url})

The tape is a list of :class:`TapePrint` sent in order, one frame each, ``interval_s`` apart,
once a client has subscribed. Faults fire once, when the tape reaches an index:

* :meth:`drop_at` closes the TCP connection without a close frame; the next connection resumes
  ``resend`` prints before the drop (a venue re-sending what it is unsure was delivered);
* :meth:`malformed_at` sends a bad frame first: ``"json"`` (not JSON) or ``"fields"`` (the
  venue's shape with an unusable price);
* :meth:`silence_at` stops every frame, pongs included, leaving the socket open; the next
  connection resumes there;
* :meth:`duplicate_at` sends the print twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from aiohttp import WSMsgType, web

LIQ_VENUES = ("binanceusdm", "bybit", "okx")
OKX_CT_VAL = {"BTC": 0.01, "ETH": 0.1}  # base units per OKX USDT-swap contract (others: 1)
TICK = {"BTC": "0.1", "ETH": "0.01"}


@dataclass(frozen=True)
class TapePrint:
    """One forced order to send: ``side`` is the side liquidated (``long``/``short``),
    ``quantity`` in base units."""

    coin: str
    time_ms: int
    side: Literal["long", "short"]
    price: float
    quantity: float


def load_tape(path: str | Path, venue: str | None = None) -> list[TapePrint]:
    """Recorded prints from a CSV with columns ``venue, coin, time_ms, side, price, quantity``
    (``market/data/liquidations_*.csv``), the rows of ``venue`` only if given."""
    out = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if venue is not None and row["venue"] != venue:
                continue
            side = row["side"]
            assert side in ("long", "short"), side
            out.append(
                TapePrint(
                    row["coin"],
                    int(row["time_ms"]),
                    side,  # type: ignore[arg-type]
                    float(row["price"]),
                    float(row["quantity"]),
                )
            )
    return out


def _num(x: float) -> str:
    return f"{x:.8f}".rstrip("0").rstrip(".")


# --- wire formats ---------------------------------------------------------------------------


def binance_frame(p: TapePrint) -> dict[str, Any]:
    """A USD-M ``forceOrder`` event. ``S`` is the forced order's side (SELL closes a long);
    ``p`` (the order's limit price) is not in the tape, so it repeats ``ap``."""
    q = _num(p.quantity)
    o = {
        "s": f"{p.coin}USDT",
        "S": "SELL" if p.side == "long" else "BUY",
        "o": "LIMIT",
        "f": "IOC",
        "q": q,
        "p": _num(p.price),
        "ap": _num(p.price),
        "X": "FILLED",
        "l": q,
        "z": q,
        "T": p.time_ms,
    }
    return {"e": "forceOrder", "E": p.time_ms + 5, "o": o}


def bybit_frame(p: TapePrint, topic: str = "allLiquidation") -> dict[str, Any]:
    """A v5 ``allLiquidation.SYMBOL`` (list of prints) or legacy ``liquidation.SYMBOL`` frame.
    Bybit's side is the POSITION side: Buy = a long was liquidated."""
    sym = f"{p.coin}USDT"
    side = "Buy" if p.side == "long" else "Sell"
    if topic == "liquidation":
        data: Any = {
            "price": _num(p.price),
            "side": side,
            "size": _num(p.quantity),
            "symbol": sym,
            "updatedTime": p.time_ms,
        }
    else:
        data = [{"T": p.time_ms, "s": sym, "S": side, "v": _num(p.quantity), "p": _num(p.price)}]
    return {"topic": f"{topic}.{sym}", "type": "snapshot", "ts": p.time_ms + 5, "data": data}


def okx_frame(p: TapePrint) -> dict[str, Any]:
    """A ``liquidation-orders`` push for instType SWAP: size in contracts, price = bankruptcy
    price, ``posSide`` the side liquidated and ``side`` the forced order's side."""
    contracts = p.quantity / OKX_CT_VAL.get(p.coin, 1.0)
    detail = {
        "bkLoss": "0",
        "bkPx": _num(p.price),
        "ccy": "",
        "posSide": p.side,
        "side": "sell" if p.side == "long" else "buy",
        "sz": _num(round(contracts, 6)),
        "ts": str(p.time_ms),
    }
    return {
        "arg": {"channel": "liquidation-orders", "instType": "SWAP"},
        "data": [
            {
                "details": [detail],
                "instFamily": f"{p.coin}-USDT",
                "instId": f"{p.coin}-USDT-SWAP",
                "instType": "SWAP",
                "uly": f"{p.coin}-USDT",
            }
        ],
    }


def _frame(venue: str, p: TapePrint) -> dict[str, Any]:
    if venue == "binanceusdm":
        return binance_frame(p)
    if venue == "bybit":
        return bybit_frame(p)
    return okx_frame(p)


def _bad_fields_frame(venue: str, coin: str) -> dict[str, Any]:
    """The venue's own shape, with a price no parser can use."""
    frame = _frame(venue, TapePrint(coin, 1_600_000_000_000, "long", 1.0, 1.0))
    if venue == "binanceusdm":
        frame["o"]["ap"] = "not-a-price"
    elif venue == "bybit":
        frame["data"][0]["p"] = "not-a-price"
    else:
        frame["data"][0]["details"][0]["bkPx"] = "not-a-price"
    return frame


# --- market listings (the REST call ccxt makes before subscribing) ---------------------------


def _binance_markets(coins: tuple[str, ...]) -> dict[str, Any]:
    def sym(c: str) -> dict[str, Any]:
        return {
            "symbol": f"{c}USDT",
            "pair": f"{c}USDT",
            "contractType": "PERPETUAL",
            "deliveryDate": 4133404800000,
            "onboardDate": 1569398400000,
            "status": "TRADING",
            "baseAsset": c,
            "quoteAsset": "USDT",
            "marginAsset": "USDT",
            "pricePrecision": 2,
            "quantityPrecision": 3,
            "baseAssetPrecision": 8,
            "quotePrecision": 8,
            "underlyingType": "COIN",
            "triggerProtect": "0.0500",
            "liquidationFee": "0.012500",
            "marketTakeBound": "0.05",
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": "0.10",
                    "maxPrice": "4529764",
                    "tickSize": TICK.get(c, "0.0001"),
                },
                {
                    "filterType": "LOT_SIZE",
                    "minQty": "0.001",
                    "maxQty": "1000",
                    "stepSize": "0.001",
                },
                {"filterType": "MIN_NOTIONAL", "notional": "100"},
            ],
            "orderTypes": ["LIMIT", "MARKET"],
            "timeInForce": ["GTC", "IOC"],
        }

    return {
        "timezone": "UTC",
        "serverTime": 0,
        "futuresType": "U_MARGINED",
        "rateLimits": [],
        "exchangeFilters": [],
        "assets": [],
        "symbols": [sym(c) for c in coins],
    }


def _bybit_markets(coins: tuple[str, ...], category: str | None) -> dict[str, Any]:
    def inst(c: str) -> dict[str, Any]:
        return {
            "symbol": f"{c}USDT",
            "contractType": "LinearPerpetual",
            "status": "Trading",
            "baseCoin": c,
            "quoteCoin": "USDT",
            "launchTime": "1585526400000",
            "deliveryTime": "0",
            "deliveryFeeRate": "",
            "priceScale": "2",
            "leverageFilter": {"minLeverage": "1", "maxLeverage": "100.00", "leverageStep": "0.01"},
            "priceFilter": {
                "minPrice": "0.10",
                "maxPrice": "1999999.80",
                "tickSize": TICK.get(c, "0.0001"),
            },
            "lotSizeFilter": {
                "maxOrderQty": "1190.000",
                "minOrderQty": "0.001",
                "qtyStep": "0.001",
                "postOnlyMaxOrderQty": "1190.000",
                "maxMktOrderQty": "500.000",
                "minNotionalValue": "5",
            },
            "unifiedMarginTrade": True,
            "fundingInterval": 480,
            "settleCoin": "USDT",
            "copyTrading": "both",
            "upperFundingRate": "0.005",
            "lowerFundingRate": "-0.005",
        }

    listing = [inst(c) for c in coins] if category == "linear" else []
    result = {"category": category or "", "list": listing, "nextPageCursor": ""}
    return {"retCode": 0, "retMsg": "OK", "time": 0, "retExtInfo": {}, "result": result}


def _okx_markets(coins: tuple[str, ...], inst_type: str | None) -> dict[str, Any]:
    def inst(c: str) -> dict[str, Any]:
        return {
            "alias": "",
            "baseCcy": "",
            "category": "1",
            "ctMult": "1",
            "ctType": "linear",
            "ctVal": _num(OKX_CT_VAL.get(c, 1.0)),
            "ctValCcy": c,
            "expTime": "",
            "instFamily": f"{c}-USDT",
            "instId": f"{c}-USDT-SWAP",
            "instType": "SWAP",
            "lever": "100",
            "listTime": "1573557408000",
            "lotSz": "0.01",
            "maxLmtSz": "100000000",
            "maxMktSz": "12000",
            "minSz": "0.01",
            "optType": "",
            "quoteCcy": "",
            "settleCcy": "USDT",
            "state": "live",
            "stk": "",
            "tickSz": TICK.get(c, "0.0001"),
            "uly": f"{c}-USDT",
            "ruleType": "normal",
        }

    return {"code": "0", "msg": "", "data": [inst(c) for c in coins] if inst_type == "SWAP" else []}


# --- the server ---------------------------------------------------------------------------------


@dataclass
class _Conn:
    id: int
    ws: web.WebSocketResponse
    request: web.Request
    topics: set[str] = field(default_factory=set)
    silent: bool = False


class FakeLiquidationVenue:
    """One venue's fake websocket + market listing. See the module docstring."""

    def __init__(
        self,
        venue: str,
        tape: list[TapePrint] | None = None,
        *,
        coins: tuple[str, ...] = ("BTC", "ETH"),
        interval_s: float = 0.005,
    ) -> None:
        if venue not in LIQ_VENUES:
            raise ValueError(f"no liquidation stream to fake for {venue}; have {LIQ_VENUES}")
        self.venue = venue
        self.tape: list[TapePrint] = list(tape or [])
        self.coins = coins
        self.interval_s = interval_s
        self.position = 0  # next tape index to send
        self.connections = 0
        self.sent: list[tuple[int, int]] = []  # (connection id, tape index) per print frame
        self.pings = 0
        self._faults: dict[int, tuple[str, Any]] = {}
        self._conns: dict[int, _Conn] = {}
        self._active = 0
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # -- scripting --

    def drop_at(self, index: int, resend: int = 0) -> None:
        self._faults[index] = ("drop", resend)

    def malformed_at(self, index: int, kind: Literal["json", "fields"] = "json") -> None:
        self._faults[index] = ("malformed", kind)

    def silence_at(self, index: int) -> None:
        self._faults[index] = ("silence", None)

    def duplicate_at(self, index: int) -> None:
        self._faults[index] = ("duplicate", None)

    def extend(self, prints: list[TapePrint]) -> None:
        """Append prints to the tape; a subscribed client receives them."""
        self.tape.extend(prints)

    @property
    def done(self) -> bool:
        """Every tape print has been sent."""
        return self.position >= len(self.tape)

    # -- lifecycle --

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def close(self) -> None:
        for c in list(self._conns.values()):
            with contextlib.suppress(Exception):
                await c.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeLiquidationVenue:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- HTTP --

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._websocket(request)
        q = request.query
        path = request.path
        if self.venue == "binanceusdm" and path.endswith("/fapi/v1/exchangeInfo"):
            return web.json_response(_binance_markets(self.coins))
        if self.venue == "bybit" and path.endswith("/v5/market/instruments-info"):
            return web.json_response(_bybit_markets(self.coins, q.get("category")))
        if self.venue == "okx" and path.endswith("/api/v5/public/instruments"):
            return web.json_response(_okx_markets(self.coins, q.get("instType")))
        return web.json_response({"code": -1, "msg": f"fake: no route {path}"}, status=404)

    # -- websocket --

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(request)
        conn = _Conn(next(self._ids), ws, request)
        self._conns[conn.id] = conn
        self._active = conn.id
        self.connections += 1
        sender: asyncio.Task[None] | None = None
        try:
            async for msg in ws:
                if msg.type == WSMsgType.PING:
                    self.pings += 1
                    if not conn.silent:
                        await ws.pong(msg.data)
                elif msg.type == WSMsgType.TEXT:
                    subscribed = await self._on_text(conn, msg.data)
                    if subscribed and sender is None:
                        sender = asyncio.create_task(self._stream(conn))
        finally:
            if sender is not None:
                sender.cancel()
                with contextlib.suppress(BaseException):
                    await sender
            self._conns.pop(conn.id, None)
        return ws

    async def _on_text(self, conn: _Conn, text: str) -> bool:
        """Answer one client message; True once the client has subscribed."""
        if conn.silent:
            return False
        if text == "ping":  # OKX text keepalive
            self.pings += 1
            await conn.ws.send_str("pong")
            return False
        msg = json.loads(text)
        if self.venue == "binanceusdm" and msg.get("method") == "SUBSCRIBE":
            conn.topics.update(str(p) for p in msg.get("params", []))
            await conn.ws.send_json({"result": None, "id": msg.get("id")})
            return True
        if self.venue == "bybit":
            if msg.get("op") == "ping":
                self.pings += 1
                await conn.ws.send_json(
                    {
                        "success": True,
                        "ret_msg": "pong",
                        "conn_id": "fake",
                        "req_id": msg.get("req_id"),
                        "op": "ping",
                    }
                )
                return False
            if msg.get("op") == "subscribe":
                conn.topics.update(str(a) for a in msg.get("args", []))
                ack = {"success": True, "ret_msg": "", "conn_id": "fake", "op": "subscribe"}
                await conn.ws.send_json({**ack, "req_id": msg.get("req_id")})
                return True
        if self.venue == "okx" and msg.get("op") == "subscribe":
            for arg in msg.get("args", []):
                conn.topics.add(f"{arg.get('channel')}:{arg.get('instType')}")
                await conn.ws.send_json({"event": "subscribe", "arg": arg, "connId": "fake"})
            return True
        return False

    def _subscribed(self, conn: _Conn, coin: str) -> bool:
        if self.venue == "binanceusdm":
            return f"{coin.lower()}usdt@forceorder" in {t.lower() for t in conn.topics}
        if self.venue == "bybit":
            return bool({f"allLiquidation.{coin}USDT", f"liquidation.{coin}USDT"} & conn.topics)
        return "liquidation-orders:SWAP" in conn.topics

    async def _stream(self, conn: _Conn) -> None:
        """Send the tape from ``position`` while this is the newest connection."""
        while self._active == conn.id and not conn.ws.closed:
            if self.position >= len(self.tape):
                await asyncio.sleep(self.interval_s)
                continue
            i = self.position
            fault = self._faults.pop(i, None)
            if fault is not None:
                kind, arg = fault
                if kind == "drop":
                    self.position = max(0, i - int(arg))
                    transport = conn.request.transport
                    if transport is not None:
                        transport.close()  # no close frame: a network drop
                    return
                if kind == "silence":
                    conn.silent = True
                    return
                if kind == "malformed":
                    if arg == "json":
                        await conn.ws.send_str('{"e": "forceOrder", "o": {broken')
                    else:
                        await conn.ws.send_json(_bad_fields_frame(self.venue, self.tape[i].coin))
                if kind == "duplicate":
                    await self._send_print(conn, i)
            await self._send_print(conn, i)
            self.position = i + 1
            await asyncio.sleep(self.interval_s)

    async def _send_print(self, conn: _Conn, i: int) -> None:
        p = self.tape[i]
        if self._subscribed(conn, p.coin):
            await conn.ws.send_json(_frame(self.venue, p))
            self.sent.append((conn.id, i))
