"""The interactive map's HTTP side (aiohttp, on the bot's event loop): the page, its two static
files and ``GET /api/map``. Every data request carries Telegram's initData
(``Authorization: tma <initData>``); forged, stale or missing initData gets a bare 401. Only the
demo, and only from loopback, is served without it (as the demo's scripted trader).

It serves on its own (polling mode, the demo) or mounts its routes on the bot's one HTTP server
(:meth:`WebServer.routes`: webhook mode, beside ``/telegram`` and ``/healthz``)."""

from __future__ import annotations

import functools
import ipaddress
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import replace
from importlib import resources
from typing import Any

from aiohttp import web

from bot.parsing import InputError, parse_symbol
from bot.pipeline.heatmaps import heatmap_columns, heatmap_inputs
from bot.pipeline.liquidations import recorded_marks
from bot.pipeline.services import Services
from bot.tiers import TierError, parse_tiers
from bot.views.report import WINDOWS, MapReport, build_report
from bot.web import payload
from bot.web.auth import WebUser, check_init_data
from storage import price_alerts, subscriptions

log = logging.getLogger(__name__)

STATIC = ("index.html", "app.js", "app.css")
TYPES = {"html": "text/html", "js": "text/javascript", "css": "text/css"}
# Telegram's web clients show a Mini App in an iframe; the phone apps in a web view.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'self' https://web.telegram.org https://*.telegram.org"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _asset(name: str) -> bytes:
    return resources.files("bot.web").joinpath("static", name).read_bytes()


def _secured(handler: Handler) -> Handler:
    """The handler's answers, errors included, with the strict headers (whichever server
    serves them)."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as e:  # 404s and the like carry the headers too
            e.headers.update(SECURITY_HEADERS)
            raise
        response.headers.update(SECURITY_HEADERS)
        return response

    return wrapped


def _loopback(request: web.Request) -> bool:
    try:
        return request.remote is not None and ipaddress.ip_address(request.remote).is_loopback
    except ValueError:
        return False


class WebServer:
    """The page and its API for one bot (``services``); ``demo_chat``: the demo serves requests
    without initData from loopback as this chat."""

    def __init__(self, services: Services, bot_token: str, demo_chat: int | None = None) -> None:
        self.services = services
        self._token = bot_token  # checks signatures; never sent anywhere
        self.demo_chat = demo_chat
        self._assets = {name: _asset(name) for name in STATIC}
        self._cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._runner: web.AppRunner | None = None
        self.port = 0

    def routes(self) -> list[web.RouteDef]:
        """The page, its files and the API, for this server or another (the bot's)."""
        return [
            web.get("/", _secured(self._page)),
            web.get("/static/{name}", _secured(self._static)),
            web.get("/api/map", _secured(self._map)),
            web.get("/favicon.ico", _secured(self._no_icon)),
        ]

    # ------------------------------------------------------------------ lifecycle

    async def start(self, host: str, port: int) -> None:
        """Serve on its own (``port`` 0: any free one, then :attr:`port`)."""
        app = web.Application()
        app.add_routes(self.routes())
        self._runner = web.AppRunner(app, access_log=None)  # URLs would be logged
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else port
        log.info("interactive map served on %s:%d", host, self.port)

    def local_url(self, symbol: str, window: str) -> str:
        return f"http://127.0.0.1:{self.port}/?symbol={symbol}&window={window}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ------------------------------------------------------------------ pages

    async def _page(self, request: web.Request) -> web.Response:
        return self._file("index.html", request)

    async def _no_icon(self, request: web.Request) -> web.Response:
        return web.Response(status=204)  # browsers ask; an icon would be bytes for nothing

    async def _static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in self._assets or name == "index.html":
            raise web.HTTPNotFound()
        return self._file(name, request)

    def _file(self, name: str, request: web.Request) -> web.Response:
        response = web.Response(
            body=self._assets[name],
            content_type=TYPES[name.rsplit(".", 1)[1]],
            charset="utf-8",
            headers={"Cache-Control": "no-cache"},
        )
        response.enable_compression()
        return response

    # ------------------------------------------------------------------ data

    def _user(self, request: web.Request) -> WebUser | None:
        header = request.headers.get("Authorization", "")
        if header.startswith("tma "):
            max_age = self.services.settings.webapp_auth_max_age_s
            return check_init_data(header[4:], self._token, time.time(), max_age)
        if not header and self.demo_chat is not None and _loopback(request):
            return WebUser(self.demo_chat, "demo", 0)
        return None

    async def _map(self, request: web.Request) -> web.Response:
        private = {"Cache-Control": "no-store"}
        user = self._user(request)
        if user is None:
            return web.Response(status=401, text="Unauthorized", headers=private)
        allowed = self.services.settings.allowed_chat_ids
        if allowed and user.id not in allowed:
            return web.Response(status=403, text="Forbidden", headers=private)
        try:
            query = _MapQuery.parse(request.query, self.services)
        except InputError as e:
            return web.json_response({"error": str(e)}, status=400, headers=private)
        try:
            body = await self._document(query)
        except _NoVenue as e:
            return web.json_response({"error": str(e)}, status=400, headers=private)
        except Exception:  # no data yet, a venue down: the page says so, the bot goes on
            log.exception("interactive map: %s %s not built", query.symbol, query.window)
            sorry = {"error": "The map is not available right now. Try again in a minute."}
            return web.json_response(sorry, status=503, headers=private)
        body = dict(body)
        # the database is read on the loop's thread, as the handlers do (one small query)
        subs = subscriptions.open_for_chat(self.services.db, user.id)
        body["positions"] = payload.positions_part(subs, query.symbol)
        body["alerts"] = payload.alerts_part(
            price_alerts.alerts_for(self.services.db, user.id, query.symbol)
        )
        response = web.json_response(body, headers=private)
        response.enable_compression()
        return response

    async def _document(self, q: _MapQuery) -> payload.JsonDict:
        """Everything but the trader's own lines (shared by all traders at one refresh)."""
        s = self.services
        tick = s.maps.tick()
        key = (q.symbol, q.window, q.tiers, q.venues, tick, s.source.version)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]  # type: ignore[no-any-return]
        if q.venues:
            report = await s.maps.in_thread(lambda: self._venue_report(q, tick))
        else:
            report = await s.maps.report(q.symbol, q.window, tiers=q.tiers)
        settings = replace(s.maps.settings, tier_filter=q.tiers) if q.tiers else s.maps.settings

        def heat() -> payload.JsonDict:  # the candles read, the columns computed: numpy
            inputs = heatmap_inputs(s.source, q.symbol, q.window, tick)
            return payload.heatmap_part(heatmap_columns(inputs, settings), inputs)

        heatmap = await s.maps.in_thread(heat)
        real = recorded_marks(s.db, q.symbol, q.window, tick)  # the loop's connection
        doc = {
            **payload.report_part(report, s.source.venues),
            **payload.map_part(report),
            **heatmap,
            "prints": payload.prints_part(real),
        }
        self._cache[key] = doc
        while len(self._cache) > 16:
            self._cache.popitem(last=False)
        return doc

    def _venue_report(self, q: _MapQuery, tick: int) -> MapReport:
        s = self.services
        snap = s.source.snapshot(q.symbol, q.window, tick)
        kept = tuple(v for v in snap.venues if v.venue in q.venues)
        if not kept:
            raise _NoVenue(f"no data from {', '.join(q.venues)} for this map")
        settings = replace(s.maps.settings, tier_filter=q.tiers) if q.tiers else s.maps.settings
        return build_report(replace(snap, venues=kept), settings)


class _NoVenue(Exception):
    pass


class _MapQuery:
    """``symbol``, ``window`` (1d/7d/30d), ``tiers`` (10-25x) and ``venues`` (a,b) checked."""

    def __init__(
        self, symbol: str, window: str, tiers: tuple[float, ...] | None, venues: tuple[str, ...]
    ) -> None:
        self.symbol, self.window, self.tiers, self.venues = symbol, window, tiers, venues

    @classmethod
    def parse(cls, query: Any, services: Services) -> _MapQuery:
        symbol = parse_symbol(str(query.get("symbol", ""))[:20], services.source.symbols)
        window = str(query.get("window", "1d"))
        if window not in WINDOWS:
            raise InputError(f"window must be one of {', '.join(WINDOWS)}")
        tiers = None
        if query.get("tiers"):
            try:
                tiers = parse_tiers(str(query["tiers"])[:40])
            except TierError as e:
                raise InputError(str(e)) from None
        known = services.source.venues
        venues = tuple(v for v in str(query.get("venues", "")).split(",") if v)
        unknown = [v for v in venues if v not in known]
        if unknown:
            raise InputError(f"unknown venue {unknown[0][:20]!r}; choose from {', '.join(known)}")
        if set(venues) >= set(known):
            venues = ()  # every venue: the shared map
        return cls(symbol, window, tiers, tuple(sorted(venues)))
