"""A fake Telegram Bot API server on 127.0.0.1 for end-to-end tests.

The real python-telegram-bot ``Application`` talks to it over HTTP::

    async with FakeTelegram() as fake:
        app = fake.builder().build()  # ApplicationBuilder with token + base URLs set
        ...
        await fake.user_sends(42, "/start")
        reply = await fake.wait_for_message(42)

Two ways to run it:

* ``await fake.start()`` / ``await fake.stop()`` (or ``async with``): in the current event loop.
* ``fake.start_in_thread()`` / ``fake.stop_thread()`` (or ``with``): in a daemon thread with its
  own loop, so a bot can run in the main loop (CLI demo).

All state is guarded by one lock, so every helper is safe to call from any thread.
``wait_for_message`` works in both modes (it is woken across loops);
``wait_for_message_blocking`` is for plain threads and needs thread mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import mimetypes
import re
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

from aiohttp import web

JsonDict = dict[str, Any]
_T = TypeVar("_T")

DEFAULT_TOKEN = "123456789:FAKE-token_for_tests"
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
MAX_UPLOAD = 50 * 1024 * 1024
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
# Form values are JSON-encoded by PTB unless they are strings; these are always strings.
STRING_PARAMS = frozenset(
    [
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_message_id",
        "url",
        "action",
        "language_code",
        "photo",
        "document",
        "file_id",
        "business_connection_id",
        "message_effect_id",
    ]
)
CHAT_ACTIONS = frozenset(
    [
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    ]
)
MENU_BUTTON_TYPES = frozenset({"commands", "web_app", "default"})
IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")
HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}
_TAG_RE = re.compile(r"<(/?)([^\s<>/]*)([^<>]*)>")
_ATTR_RE = re.compile(r"""([\w-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_ENTITY_RE = re.compile(r"&(#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,8}|lt|gt|amp|quot);")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")


class TelegramApiError(Exception):
    """An error answer of the fake API: HTTP status plus Telegram's description."""

    def __init__(self, status: int, description: str, parameters: JsonDict | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def payload(self) -> JsonDict:
        """The JSON body Telegram sends for this error."""
        body: JsonDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


class Upload(NamedTuple):
    """One multipart file part."""

    filename: str
    data: bytes
    content_type: str


@dataclass
class ApiCall:
    """One request the bot made: canonical method name, decoded params, files, HTTP status."""

    method: str
    params: JsonDict
    files: dict[str, Upload] = field(default_factory=dict)
    status: int = 200


@dataclass
class SentMessage:
    """A message as it was after one sendX/editX call of the bot (a snapshot; do not mutate)."""

    method: str
    chat_id: int
    message_id: int
    message: JsonDict
    photo: bytes | None = None
    document: bytes | None = None

    @property
    def is_edit(self) -> bool:
        return self.method.startswith("edit")

    @property
    def text(self) -> str | None:
        """Text, or caption for media messages (after HTML parsing)."""
        return self.message.get("text", self.message.get("caption"))

    @property
    def buttons(self) -> list[JsonDict]:
        """All inline keyboard buttons, row by row."""
        markup = self.message.get("reply_markup") or {}
        return [button for row in markup.get("inline_keyboard", []) for button in row]


@dataclass
class _Fault:
    method: str | None
    remaining: int
    status: int
    description: str
    parameters: JsonDict | None = None


class FakeTelegram:
    """Loopback fake of the Telegram Bot API (see the module docstring)."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = "liqbot_test_bot",
        bot_name: str = "LiqBot Test",
    ) -> None:
        self.token = token
        bot_id = token.split(":", 1)[0]
        self.bot_user: JsonDict = {
            "id": int(bot_id) if bot_id.isdigit() else 1,
            "is_bot": True,
            "first_name": bot_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.port = 0
        self._lock = threading.Condition()  # guards everything below; notified on bot messages
        self._calls: list[ApiCall] = []
        self._sent: dict[int, list[SentMessage]] = {}
        self._cursor: dict[int, int] = {}
        self._messages: dict[tuple[int, int], JsonDict] = {}
        self._last_message_id: dict[int, int] = {}
        self._chat_names: dict[int, str] = {}
        self._updates: list[JsonDict] = []
        self._next_update_id = 1
        self._open_queries: set[str] = set()
        self._commands: dict[str, list[JsonDict]] = {}
        self._files: dict[str, bytes] = {}
        self._faults: list[_Fault] = []
        self._blocked: set[int] = set()
        self._delays: dict[str | None, float] = {}
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self._ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._update_signal = asyncio.Event()
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self.webhook: JsonDict | None = None
        self._menu_buttons: dict[int | None, JsonDict] = {}  # chat id (None: the default)
        self._routes: dict[str, Callable[[JsonDict, dict[str, Upload]], Any]] = {
            "getMe": self._get_me,
            "deleteWebhook": self._delete_webhook,
            "setWebhook": self._set_webhook,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "editMessageMedia": self._edit_message_media,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendChatAction": self._send_chat_action,
            "getFile": self._get_file,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
        }
        # Telegram method names are case-insensitive.
        self._canonical = {name.lower(): name for name in [*self._routes, "getUpdates"]}

    # ----------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder.base_url`` (PTB appends ``{token}/{method}``)."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    def builder(self) -> Any:
        """A PTB ``ApplicationBuilder`` with token and base URLs pointing at this fake."""
        from telegram.ext import ApplicationBuilder

        return (
            ApplicationBuilder()
            .token(self.token)
            .base_url(self.base_url)
            .base_file_url(self.base_file_url)
        )

    async def start(self) -> None:
        """Listen on an ephemeral 127.0.0.1 port in the running event loop."""
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        app = web.Application(client_max_size=MAX_UPLOAD)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=2.0, handler_cancellation=True
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Answer pending long polls with ``[]`` and shut the server down."""
        self._stopping.set()
        self._signal_updates()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._loop = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def start_in_thread(self, timeout: float = 10.0) -> FakeTelegram:
        """Run the server in a daemon thread with its own event loop; returns self."""
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:
                errors.append(exc)
                loop.close()
                return
            finally:
                ready.set()
            try:
                loop.run_forever()
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="fake-telegram", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise TimeoutError("fake Telegram server did not start")
        if errors:
            raise errors[0]
        return self

    def stop_thread(self, timeout: float = 10.0) -> None:
        """Stop a server started with :meth:`start_in_thread`."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        asyncio.run_coroutine_threadsafe(self.stop(), loop).result(timeout)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._thread = None

    def __enter__(self) -> FakeTelegram:
        return self.start_in_thread()

    def __exit__(self, *exc_info: object) -> None:
        self.stop_thread()

    # ------------------------------------------------------------- user actions

    async def user_sends(
        self,
        chat_id: int,
        text: str,
        user_id: int | None = None,
        first_name: str = "Test User",
    ) -> JsonDict:
        """Queue a Message update from a user (``/cmd`` gets a bot_command entity)."""
        with self._lock:
            message = self._new_message(chat_id, self._user(chat_id, user_id, first_name))
            message["text"] = text
            command = text.split(maxsplit=1)[0] if text.strip() else ""
            if command.startswith("/") and len(command) > 1:
                length = _utf16_len(command)
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
            self._messages[chat_id, message["message_id"]] = message
            return self._queue_update({"message": message})

    async def user_presses(
        self,
        chat_id: int,
        message_id: int,
        data: str,
        user_id: int | None = None,
        first_name: str = "Test User",
    ) -> JsonDict:
        """Queue a CallbackQuery update for an inline button of a message the bot sent."""
        with self._lock:
            message = self._messages.get((chat_id, message_id))
            if message is None or message["from"]["id"] != self.bot_user["id"]:
                raise ValueError(f"the bot sent no message {message_id} in chat {chat_id}")
            rows = message.get("reply_markup", {}).get("inline_keyboard", [])
            buttons = [button for row in rows for button in row]
            if buttons and data not in [b.get("callback_data") for b in buttons]:
                raise ValueError(f"no button with callback_data {data!r} in {buttons}")
            query_id = str(next(self._ids))
            self._open_queries.add(query_id)
            query = {
                "id": query_id,
                "from": self._user(chat_id, user_id, first_name),
                "message": message,
                "chat_instance": str(chat_id),
                "data": data,
            }
            return self._queue_update({"callback_query": query})

    # ------------------------------------------------------------------ records

    def calls(self, method: str | None = None) -> list[ApiCall]:
        """Every request so far (optionally only of one method)."""
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def messages(self, chat_id: int, *, include_edits: bool = True) -> list[SentMessage]:
        """Everything the bot sent (and edited) in a chat, oldest first."""
        with self._lock:
            log = self._sent.get(chat_id, [])
            return [m for m in log if include_edits or not m.is_edit]

    def message(self, chat_id: int, message_id: int) -> JsonDict:
        """The current state of a message (after all edits)."""
        with self._lock:
            return self._messages[chat_id, message_id]

    def commands(self, scope: JsonDict | None = None, language_code: str = "") -> list[JsonDict]:
        """The command list stored by setMyCommands for a scope/language."""
        with self._lock:
            return list(self._commands.get(_commands_key(scope, language_code), []))

    def pending_updates(self) -> int:
        """Updates not yet confirmed by a getUpdates offset."""
        with self._lock:
            return len(self._updates)

    async def wait_for_message(
        self,
        chat_id: int,
        predicate: Callable[[SentMessage], bool] | None = None,
        timeout: float = 10.0,
        *,
        include_edits: bool = False,
    ) -> SentMessage:
        """Wait for the next matching bot message in a chat, after the last one returned.

        Works in any event loop, whether the server runs in it or in a thread.
        """
        return await self._wait_until(
            lambda: self._take_next(chat_id, predicate, include_edits),
            timeout,
            lambda: self._nothing_sent(chat_id, timeout),
        )

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[ApiCall], bool] | None = None,
        timeout: float = 10.0,
    ) -> ApiCall:
        """Wait until a request of ``method`` matching ``predicate`` has arrived (the first one).

        Calls are recorded on arrival, before the answer (``status`` is set afterwards).
        """
        name = self._method_name(method)

        def check() -> ApiCall | None:
            matching = [c for c in self.calls(name) if predicate is None or predicate(c)]
            return matching[0] if matching else None

        return await self._wait_until(check, timeout, lambda: f"no {name} call in {timeout}s")

    async def _wait_until(
        self, check: Callable[[], _T | None], timeout: float, failure: Callable[[], str]
    ) -> _T:
        """Re-run ``check`` whenever a request or bot message is recorded, until not None."""
        loop = asyncio.get_running_loop()
        waiter = (loop, asyncio.Event())
        deadline = loop.time() + timeout
        with self._lock:
            self._waiters.append(waiter)
        try:
            while True:
                waiter[1].clear()
                found = check()
                if found is not None:
                    return found
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise TimeoutError(failure())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waiter[1].wait(), remaining)
        finally:
            with self._lock:
                self._waiters.remove(waiter)

    def wait_for_message_blocking(
        self,
        chat_id: int,
        predicate: Callable[[SentMessage], bool] | None = None,
        timeout: float = 10.0,
        *,
        include_edits: bool = False,
    ) -> SentMessage:
        """Like :meth:`wait_for_message` for plain threads; needs :meth:`start_in_thread`."""
        if self._thread is None or threading.current_thread() is self._thread:
            raise RuntimeError("wait_for_message_blocking needs start_in_thread()")
        with self._lock:
            found = self._lock.wait_for(
                lambda: self._take_next(chat_id, predicate, include_edits), timeout
            )
        if found is None:
            raise TimeoutError(self._nothing_sent(chat_id, timeout))
        return found

    # ---------------------------------------------------------- fault injection

    def inject_error(
        self,
        status: int,
        description: str,
        method: str | None = None,
        count: int = 1,
        parameters: JsonDict | None = None,
    ) -> None:
        """Fail the next ``count`` calls of ``method`` (None: any, getUpdates included)."""
        with self._lock:
            name = self._method_name(method)
            self._faults.append(_Fault(name, count, status, description, parameters))

    def inject_retry_after(
        self, retry_after: int, method: str | None = None, count: int = 1
    ) -> None:
        """Flood control: 429 with ``parameters.retry_after``."""
        description = f"Too Many Requests: retry after {retry_after}"
        self.inject_error(429, description, method, count, {"retry_after": retry_after})

    def inject_server_error(
        self, method: str | None = None, count: int = 1, status: int = 502
    ) -> None:
        """5xx answers (default 502 Bad Gateway) for the next ``count`` calls."""
        descriptions = {
            500: "Internal Server Error",
            502: "Bad Gateway",
            503: "Service Unavailable",
        }
        self.inject_error(status, descriptions.get(status, "Server Error"), method, count)

    def block_chat(self, chat_id: int) -> None:
        """Every call with this chat_id answers 403 until :meth:`unblock_chat`."""
        with self._lock:
            self._blocked.add(chat_id)

    def unblock_chat(self, chat_id: int) -> None:
        with self._lock:
            self._blocked.discard(chat_id)

    def set_delay(self, seconds: float, method: str | None = None) -> None:
        """Answer ``method`` (None: every method) only after ``seconds``; 0 clears."""
        with self._lock:
            self._delays[self._method_name(method)] = seconds

    def clear_faults(self) -> None:
        """Drop injected errors, blocked chats and delays."""
        with self._lock:
            self._faults.clear()
            self._blocked.clear()
            self._delays.clear()

    # ------------------------------------------------------------- HTTP plumbing

    async def _handle(self, request: web.Request) -> web.Response:
        raw_method = request.match_info["method"]
        name = self._canonical.get(raw_method.lower())
        params, files = await self._read_params(request)
        call = ApiCall(name or raw_method, params, files)
        with self._lock:
            self._calls.append(call)
        self._notify()
        try:
            if request.match_info["token"] != self.token:
                raise TelegramApiError(401, "Unauthorized")
            if name is None:
                raise TelegramApiError(404, "Not Found")
            await self._pause(name)
            self._check_faults(name, params)
            if name == "getUpdates":
                result = await self._get_updates(params)
            else:
                with self._lock:
                    result = self._routes[name](params, files)
        except TelegramApiError as err:
            call.status = err.status
            return web.json_response(err.payload(), status=err.status)
        return web.json_response({"ok": True, "result": result})

    async def _download(self, request: web.Request) -> web.Response:
        file_id = request.match_info["path"].rsplit("/", 1)[-1]
        with self._lock:
            data = self._files.get(file_id)
        if request.match_info["token"] != self.token or data is None:
            raise web.HTTPNotFound()
        return web.Response(body=data)

    async def _read_params(self, request: web.Request) -> tuple[JsonDict, dict[str, Upload]]:
        """Query + body params; form values are JSON-decoded like Telegram does."""
        params: JsonDict = {k: _decode(k, v) for k, v in request.query.items()}
        files: dict[str, Upload] = {}
        if request.content_type == "application/json" and request.can_read_body:
            params.update(await request.json())
        elif request.can_read_body:
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    files[key] = Upload(value.filename, value.file.read(), value.content_type)
                else:
                    params[key] = _decode(key, value if isinstance(value, str) else value.decode())
        return params, files

    async def _pause(self, method: str) -> None:
        with self._lock:
            seconds = self._delays.get(method, self._delays.get(None, 0.0))
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), seconds)

    def _check_faults(self, method: str, params: JsonDict) -> None:
        with self._lock:
            for fault in self._faults:
                if fault.remaining > 0 and fault.method in (None, method):
                    fault.remaining -= 1
                    raise TelegramApiError(fault.status, fault.description, fault.parameters)
            if _as_chat_id(params.get("chat_id")) in self._blocked:
                raise TelegramApiError(403, "Forbidden: bot was blocked by the user")

    def _method_name(self, method: str | None) -> str | None:
        if method is None:
            return None
        if method.lower() not in self._canonical:
            raise ValueError(f"the fake does not implement {method!r}")
        return self._canonical[method.lower()]

    # ------------------------------------------------------------ update queue

    def _queue_update(self, payload: JsonDict) -> JsonDict:
        update = {"update_id": self._next_update_id, **payload}
        self._next_update_id += 1
        self._updates.append(update)
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._signal_updates)
        return update

    def _signal_updates(self) -> None:
        """Wake every waiting getUpdates (runs in the server loop)."""
        signal, self._update_signal = self._update_signal, asyncio.Event()
        signal.set()

    async def _get_updates(self, p: JsonDict) -> list[JsonDict]:
        """Long polling: confirm updates below ``offset``, wait up to ``timeout`` for more."""
        offset, limit = int(p.get("offset") or 0), min(max(int(p.get("limit") or 100), 1), 100)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(p.get("timeout") or 0)
        while True:
            signal = self._update_signal
            with self._lock:
                if offset < 0:
                    self._updates = self._updates[offset:]
                elif offset > 0:
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
                batch = self._updates[:limit]
            remaining = deadline - loop.time()
            if batch or remaining <= 0 or self._stopping.is_set():
                return batch
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(signal.wait(), remaining)

    # ---------------------------------------------------------------- messages

    def _user(self, chat_id: int, user_id: int | None, first_name: str) -> JsonDict:
        if chat_id > 0:
            self._chat_names[chat_id] = first_name
        uid = user_id if user_id is not None else (chat_id if chat_id > 0 else 1000)
        return {"id": uid, "is_bot": False, "first_name": first_name, "language_code": "en"}

    def _chat(self, chat_id: int) -> JsonDict:
        if chat_id > 0:
            name = self._chat_names.get(chat_id, "Test User")
            return {"id": chat_id, "type": "private", "first_name": name}
        return {"id": chat_id, "type": "supergroup", "title": f"Test group {chat_id}"}

    def _new_message(self, chat_id: int, sender: JsonDict) -> JsonDict:
        message_id = self._last_message_id.get(chat_id, 0) + 1
        self._last_message_id[chat_id] = message_id
        return {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": sender,
        }

    def _deliver(
        self, method: str, p: JsonDict, content: JsonDict, **blobs: bytes | None
    ) -> JsonDict:
        """Store a new bot message, record it and return its JSON."""
        chat_id = _require_chat_id(p)
        message = {**self._new_message(chat_id, self.bot_user), **content}
        message.update(_inline_markup(p))
        self._messages[chat_id, message["message_id"]] = message
        self._record(SentMessage(method, chat_id, message["message_id"], message, **blobs))
        return message

    def _editable(self, p: JsonDict) -> JsonDict:
        if p.get("inline_message_id"):
            raise _bad_request("inline messages are not supported by the fake")
        message = self._messages.get((_require_chat_id(p), int(p.get("message_id") or 0)))
        if message is None:
            raise _bad_request("message to edit not found")
        if message["from"]["id"] != self.bot_user["id"]:
            raise _bad_request("message can't be edited")
        return message

    def _apply_edit(
        self,
        method: str,
        p: JsonDict,
        drop: tuple[str, ...],
        content: JsonDict,
        **blobs: bytes | None,
    ) -> JsonDict:
        """Replace ``drop`` fields with ``content``; the keyboard is replaced too."""
        old = self._editable(p)
        new = {k: v for k, v in old.items() if k not in (*drop, "reply_markup", "edit_date")}
        new.update(content)
        new.update(_inline_markup(p))
        if new == {k: v for k, v in old.items() if k != "edit_date"}:
            raise _bad_request(NOT_MODIFIED)
        new["edit_date"] = int(time.time())
        chat_id = new["chat"]["id"]
        self._messages[chat_id, new["message_id"]] = new
        self._record(SentMessage(method, chat_id, new["message_id"], new, **blobs))
        return new

    def _record(self, sent: SentMessage) -> None:
        with self._lock:
            self._sent.setdefault(sent.chat_id, []).append(sent)
        self._notify()

    def _notify(self) -> None:
        """Wake blocking and async waiters (in whatever loop or thread they wait)."""
        with self._lock:
            self._lock.notify_all()
            waiters = list(self._waiters)
        for loop, event in waiters:
            if not loop.is_closed():
                loop.call_soon_threadsafe(event.set)

    def _take_next(
        self, chat_id: int, predicate: Callable[[SentMessage], bool] | None, include_edits: bool
    ) -> SentMessage | None:
        with self._lock:
            log = self._sent.get(chat_id, [])
            for index in range(self._cursor.get(chat_id, 0), len(log)):
                sent = log[index]
                if (include_edits or not sent.is_edit) and (predicate is None or predicate(sent)):
                    self._cursor[chat_id] = index + 1
                    return sent
        return None

    def _nothing_sent(self, chat_id: int, timeout: float) -> str:
        texts = [f"{m.method}: {m.text!r}" for m in self.messages(chat_id)]
        return f"no matching bot message in chat {chat_id} within {timeout}s; all: {texts}"

    # -------------------------------------------------------------------- files

    def _file_object(self, data: bytes | None, **extra: Any) -> JsonDict:
        number = next(self._ids)
        file_id = f"FAKE-FILE-{number}"
        if data is not None:
            self._files[file_id] = data
        size = {"file_size": len(data)} if data is not None else {}
        return {"file_id": file_id, "file_unique_id": f"U{number}", **size, **extra}

    def _file_data(self, kind: str, value: Any, files: dict[str, Upload]) -> Upload | None:
        """The uploaded/stored bytes for a file parameter (None for an HTTP URL)."""
        if value is None or (isinstance(value, str) and value.startswith("attach://")):
            upload = files.get(kind if value is None else value.removeprefix("attach://"))
            if upload is None:
                raise _bad_request(f"there is no {kind} in the request")
            if not upload.data:
                raise _bad_request("file must be non-empty")
            return upload
        if isinstance(value, str) and value in self._files:
            return Upload(kind, self._files[value], "application/octet-stream")
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return None
        raise _bad_request("wrong file identifier/HTTP URL specified")

    def _photo_content(self, value: Any, files: dict[str, Upload]) -> tuple[JsonDict, bytes | None]:
        upload = self._file_data("photo", value, files)
        data = upload.data if upload else None
        if data is not None and not data.startswith(IMAGE_MAGIC):
            raise _bad_request("IMAGE_PROCESS_FAILED")
        width, height = _png_size(data) or (1280, 720)
        scale = min(1.0, 90 / max(width, height))
        thumb = self._file_object(
            data, width=max(1, round(width * scale)), height=max(1, round(height * scale))
        )
        return {"photo": [thumb, self._file_object(data, width=width, height=height)]}, data

    def _document_content(
        self, value: Any, files: dict[str, Upload]
    ) -> tuple[JsonDict, bytes | None]:
        upload = self._file_data("document", value, files)
        name = upload.filename if upload else str(value).rsplit("/", 1)[-1]
        mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
        document = self._file_object(upload.data if upload else None, file_name=name)
        return {"document": {**document, "mime_type": mime}}, upload.data if upload else None

    # ------------------------------------------------------------- API methods

    def _get_me(self, p: JsonDict, files: dict[str, Upload]) -> JsonDict:
        return self.bot_user

    def _delete_webhook(self, p: JsonDict, files: dict[str, Upload]) -> bool:
        if p.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook = None
        return True

    def _set_webhook(self, p: JsonDict, files: dict[str, Upload]) -> bool:
        """Records the webhook (tests then post updates to it, as Telegram would)."""
        url = p.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise _bad_request("bad webhook: an HTTPS URL must be provided for webhook")
        self.webhook = {"url": url, "secret_token": p.get("secret_token")}
        return True

    def _send_message(self, p: JsonDict, files: dict[str, Upload]) -> JsonDict:
        _require_chat_id(p)
        return self._deliver("sendMessage", p, _formatted(p, "text", TEXT_LIMIT))

    def _send_photo(self, p: JsonDict, files: dict[str, Upload]) -> JsonDict:
        _require_chat_id(p)
        caption = _formatted(p, "caption", CAPTION_LIMIT)
        content, data = self._photo_content(p.get("photo"), files)
        return self._deliver("sendPhoto", p, {**content, **caption}, photo=data)

    def _send_document(self, p: JsonDict, files: dict[str, Upload]) -> JsonDict:
        _require_chat_id(p)
        caption = _formatted(p, "caption", CAPTION_LIMIT)
        content, data = self._document_content(p.get("document"), files)
        return self._deliver("sendDocument", p, {**content, **caption}, document=data)

    def _edit_message_text(self, p: JsonDict, files: dict[str, Upload]) -> JsonDict:
        if "text" not in self._editable(p):
            raise _bad_request("there is no text in the message to edit")
        content = _formatted(p, "text", TEXT_LIMIT)
        return self._apply_edit("editMessageText", p, ("text", "entities"), content)

    def _edit_message_caption(self, p: JsonDict, files: dict[str, Upload]) -> JsonDict:
        content = _formatted(p, "caption", CAPTION_LIMIT)
        drop = ("caption", "caption_entities")
        return self._apply_edit("editMessageCaption", p, drop, content)

    def _edit_message_reply_markup(self, p: JsonDict, files: dict[str, Upload]) -> JsonDict:
        return self._apply_edit("editMessageReplyMarkup", p, (), {})

    def _edit_message_media(self, p: JsonDict, files: dict[str, Upload]) -> JsonDict:
        old = self._editable(p)
        media = p.get("media")
        if "photo" not in old and "document" not in old:
            raise _bad_request("there is no media in the message to edit")
        if not isinstance(media, dict) or media.get("type") not in ("photo", "document"):
            raise _bad_request("the fake only supports photo and document media")
        caption = _formatted(media, "caption", CAPTION_LIMIT)
        if media["type"] == "photo":
            content, data = self._photo_content(media.get("media"), files)
            blobs = {"photo": data}
        else:
            content, data = self._document_content(media.get("media"), files)
            blobs = {"document": data}
        drop = ("photo", "document", "caption", "caption_entities")
        return self._apply_edit("editMessageMedia", p, drop, {**content, **caption}, **blobs)

    def _delete_message(self, p: JsonDict, files: dict[str, Upload]) -> bool:
        key = (_require_chat_id(p), int(p.get("message_id") or 0))
        if self._messages.pop(key, None) is None:
            raise _bad_request("message to delete not found")
        return True

    def _answer_callback_query(self, p: JsonDict, files: dict[str, Upload]) -> bool:
        query_id = str(p.get("callback_query_id"))
        if query_id not in self._open_queries:
            raise _bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        self._open_queries.discard(query_id)
        return True

    def _set_my_commands(self, p: JsonDict, files: dict[str, Upload]) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad_request("can't parse commands JSON object")
        for command in commands:
            if not _COMMAND_RE.match(str(command.get("command", ""))):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise _bad_request("command description is empty")
        key = _commands_key(p.get("scope"), p.get("language_code") or "")
        self._commands[key] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    def _get_my_commands(self, p: JsonDict, files: dict[str, Upload]) -> list[JsonDict]:
        return self._commands.get(_commands_key(p.get("scope"), p.get("language_code") or ""), [])

    def _delete_my_commands(self, p: JsonDict, files: dict[str, Upload]) -> bool:
        self._commands.pop(_commands_key(p.get("scope"), p.get("language_code") or ""), None)
        return True

    def _send_chat_action(self, p: JsonDict, files: dict[str, Upload]) -> bool:
        _require_chat_id(p)
        if p.get("action") not in CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        return True

    def _set_chat_menu_button(self, p: JsonDict, files: dict[str, Upload]) -> bool:
        button = p.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in MENU_BUTTON_TYPES:
            raise _bad_request("can't parse menu button JSON object")
        if button["type"] == "web_app":
            if not str(button.get("text", "")).strip():
                raise _bad_request("menu button text is empty")
            _check_web_app(button.get("web_app"))
        self._menu_buttons[_as_chat_id(p.get("chat_id"))] = button
        return True

    def _get_chat_menu_button(self, p: JsonDict, files: dict[str, Upload]) -> JsonDict:
        chat = _as_chat_id(p.get("chat_id"))
        return self._menu_buttons.get(chat, self._menu_buttons.get(None, {"type": "commands"}))

    def menu_button(self, chat_id: int | None = None) -> JsonDict | None:
        """The menu button set by setChatMenuButton for a chat (None: the default), if any."""
        with self._lock:
            return self._menu_buttons.get(chat_id)

    def _get_file(self, p: JsonDict, files: dict[str, Upload]) -> JsonDict:
        file_id = str(p.get("file_id"))
        data = self._files.get(file_id)
        if data is None:
            raise _bad_request("invalid file_id")
        number = file_id.rsplit("-", 1)[-1]
        return {
            "file_id": file_id,
            "file_unique_id": f"U{number}",
            "file_size": len(data),
            "file_path": f"files/{file_id}",
        }


# --------------------------------------------------------------------- helpers


def _bad_request(detail: str) -> TelegramApiError:
    return TelegramApiError(400, f"Bad Request: {detail}")


def _decode(key: str, value: str) -> Any:
    """PTB JSON-encodes every non-string form value; decode it back."""
    if key in STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _as_chat_id(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return None


def _require_chat_id(p: JsonDict) -> int:
    chat_id = _as_chat_id(p.get("chat_id"))
    if chat_id is None:
        raise _bad_request("chat not found")
    return chat_id


def _inline_markup(p: JsonDict) -> JsonDict:
    """Telegram echoes only inline keyboards back in the Message. Like Telegram, a ``web_app``
    button is refused outside private chats and without an https URL."""
    markup = p.get("reply_markup")
    if isinstance(markup, dict) and "inline_keyboard" in markup:
        for row in markup["inline_keyboard"]:
            for button in row:
                if isinstance(button, dict) and "web_app" in button:
                    chat = _as_chat_id(p.get("chat_id"))
                    if chat is None or chat < 0:
                        raise _bad_request("BUTTON_TYPE_INVALID")
                    _check_web_app(button["web_app"])
        return {"reply_markup": markup}
    return {}


def _check_web_app(info: Any) -> None:
    if not isinstance(info, dict) or not str(info.get("url", "")).startswith("https://"):
        raise _bad_request("BUTTON_URL_INVALID")


def _commands_key(scope: JsonDict | None, language_code: str) -> str:
    return json.dumps(scope or {"type": "default"}, sort_keys=True) + "|" + language_code


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _png_size(data: bytes | None) -> tuple[int, int] | None:
    if data is None or not data.startswith(IMAGE_MAGIC[0]) or len(data) < 24:
        return None
    width, height = struct.unpack(">II", data[16:24])
    return (width, height) if width and height else None


def _formatted(p: JsonDict, key: str, limit: int) -> JsonDict:
    """Validate ``text``/``caption`` of a request; return the Message fields for it."""
    entities_key = "entities" if key == "text" else "caption_entities"
    text = "" if p.get(key) is None else str(p[key])
    entities = p.get(entities_key) or []
    if str(p.get("parse_mode") or "").lower() == "html":
        text, entities = parse_html(text)
    if not text.strip():
        if key == "text":
            raise _bad_request("message text is empty")
        return {}
    if _utf16_len(text) > limit:
        raise _bad_request(
            "message is too long" if key == "text" else "message caption is too long"
        )
    return {key: text, entities_key: entities} if entities else {key: text}


def parse_html(text: str) -> tuple[str, list[JsonDict]]:
    """Parse Telegram HTML into plain text and entities (UTF-16 offsets), or raise 400."""
    out: list[str] = []
    entities: list[JsonDict] = []
    stack: list[JsonDict] = []
    offset = pos = 0
    while pos < len(text):
        if text[pos] == "<":
            pos = _html_tag(text, pos, stack, entities, offset)
            continue
        char, pos = _html_char(text, pos)
        out.append(char)
        offset += _utf16_len(char)
    if stack:
        raise _parse_error(f'Can\'t find end tag corresponding to start tag "{stack[-1]["tag"]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _parse_error(detail: str) -> TelegramApiError:
    return _bad_request(f"can't parse entities: {detail}")


def _byte_offset(text: str, pos: int) -> int:
    return len(text[:pos].encode())


def _unescape(text: str) -> str:
    return _ENTITY_RE.sub(lambda m: _html_char(m.group(0), 0)[0], text)


def _html_char(text: str, pos: int) -> tuple[str, int]:
    """One plain character at ``pos`` (``&...;`` entities decoded) and the next position."""
    if text[pos] != "&":
        return text[pos], pos + 1
    match = _ENTITY_RE.match(text, pos)
    if match is None:
        where = _byte_offset(text, pos)
        raise _parse_error(f"Unsupported entity at byte offset {where}; escape '&' as &amp;")
    name = match.group(1)
    if not name.startswith("#"):
        return _NAMED_ENTITIES[name], match.end()
    code = int(name[2:], 16) if name[1] in "xX" else int(name[1:])
    if not 0 < code <= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        raise _parse_error(f"Invalid character code at byte offset {_byte_offset(text, pos)}")
    return chr(code), match.end()


def _html_tag(
    text: str, pos: int, stack: list[JsonDict], entities: list[JsonDict], offset: int
) -> int:
    """Handle the tag at ``pos``; return the position after it."""
    where = _byte_offset(text, pos)
    match = _TAG_RE.match(text, pos)
    if match is None:
        raise _parse_error(f"Unclosed start tag at byte offset {where}")
    closing, name, attrs = match.group(1) == "/", match.group(2).lower(), match.group(3)
    if not closing:
        stack.append(_open_tag(name, attrs, where, stack, offset))
        return match.end()
    if not stack:
        raise _parse_error(f"Unexpected end tag at byte offset {where}")
    opened = stack.pop()
    if opened["tag"] != name:
        raise _parse_error(
            f'Unmatched end tag at byte offset {where}, expected "</{opened["tag"]}>", '
            f'found "</{name}>"'
        )
    length = offset - opened["offset"]
    if opened["type"] and length > 0:
        extra = {k: opened[k] for k in ("url", "language") if opened.get(k)}
        entities.append({"type": opened["type"], "offset": opened["offset"], "length": length})
        entities[-1].update(extra)
    return match.end()


def _open_tag(name: str, attrs: str, where: int, stack: list[JsonDict], offset: int) -> JsonDict:
    if name not in HTML_TAGS:
        raise _parse_error(f'Unsupported start tag "{name}" at byte offset {where}')
    values = {
        m.group(1).lower(): _unescape(m.group(2) or m.group(3) or m.group(4) or "")
        for m in _ATTR_RE.finditer(attrs)
    }
    tag: JsonDict = {"tag": name, "type": HTML_TAGS[name], "offset": offset}
    if name == "span" and values.get("class") != "tg-spoiler":
        raise _parse_error(f'Tag "span" must have class "tg-spoiler" at byte offset {where}')
    if name == "a":
        tag["url"] = values.get("href", "")
        tag["type"] = "text_link" if tag["url"] else None
    if name == "blockquote" and "expandable" in values:
        tag["type"] = "expandable_blockquote"
    language = values.get("class", "")
    if name == "code" and stack and stack[-1]["tag"] == "pre" and language.startswith("language-"):
        stack[-1]["language"] = language.removeprefix("language-")
        tag["type"] = None  # Telegram folds <pre><code class="language-x"> into one entity
    return tag
