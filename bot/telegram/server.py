"""The bot's one HTTP server (aiohttp): ``GET /healthz`` always, ``POST /telegram`` in webhook
mode (instead of PTB's built-in tornado server, so both share one port, ``$PORT`` on a
platform). Other route sets mount on the same server with :meth:`HttpServer.mount` before it
starts (e.g. a Mini App's pages)."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot.pipeline.health import Health

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class HttpServer:
    def __init__(self, health: Callable[[], Health]) -> None:
        self.web = web.Application(client_max_size=4 * 1024 * 1024)
        self._health = health
        self.web.router.add_get("/healthz", self._healthz)
        self._runner: web.AppRunner | None = None

    def mount(self, routes: list[web.RouteDef] | Callable[[web.Application], None]) -> None:
        """Add routes (a list of ``web.get(...)``...), or let a function add what it needs
        (sub-apps, static files, middlewares); only before :meth:`start`."""
        if callable(routes):
            routes(self.web)
        else:
            self.web.router.add_routes(routes)

    def serve_webhook(self, app: Application, secret: str | None) -> None:
        """``POST /telegram``: Telegram's updates into PTB's queue; posts without ``secret``
        get 403 (anyone who finds the URL could otherwise forge updates)."""

        async def receive(request: web.Request) -> web.Response:
            given = request.headers.get(SECRET_HEADER, "")
            if secret and not hmac.compare_digest(given, secret):
                return web.Response(status=403)
            try:
                data = await request.json()
                update = Update.de_json(data, app.bot)
            except (ValueError, TypeError, KeyError):
                return web.Response(status=400, text="not an update")
            await app.update_queue.put(update)
            return web.Response()

        self.web.router.add_post(WEBHOOK_PATH, receive)

    async def _healthz(self, request: web.Request) -> web.Response:
        try:
            h = self._health()
        except Exception as e:  # the check itself failed: unhealthy, and say which error
            log.exception("health check failed")
            body = {"status": "unhealthy", "problems": [f"health check failed: {type(e).__name__}"]}
            return web.json_response(body, status=503)
        return web.Response(
            text=json.dumps(h.body, ensure_ascii=False),
            status=200 if h.ok else 503,
            content_type="application/json",
        )

    async def start(self, host: str, port: int) -> None:
        self._runner = web.AppRunner(self.web, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        log.info("HTTP server on %s:%d (/healthz)", host, port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
