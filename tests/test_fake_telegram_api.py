"""The fake Telegram Bot API, driven by the real python-telegram-bot Application."""

from __future__ import annotations

import asyncio
import datetime as dtm
import struct
import time
import zlib
from collections.abc import AsyncIterator

import aiohttp
import pytest
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    Update,
)
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.fakes.telegram_api import FakeTelegram, parse_html

CHAT = 4242
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def make_png(width: int = 4, height: int = 3) -> bytes:
    """A tiny valid RGB PNG, built by hand."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    rows = b"".join(b"\x00" + b"\xff\x80\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        PNG_MAGIC
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None
    await update.message.reply_text(f"echo: {update.message.text}")


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("BTC", callback_data="coin:BTC")],
            [InlineKeyboardButton("ETH", callback_data="coin:ETH")],
        ]
    )
    await update.message.reply_text("Pick a coin", reply_markup=keyboard)


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    coin = query.data.removeprefix("coin:")
    await query.answer(f"Loading {coin}")
    await query.edit_message_text(f"<b>{coin}</b> liquidation map", parse_mode=ParseMode.HTML)


@pytest.fixture(autouse=True)
def _timedelta_durations(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opt in to PTB's timedelta durations (avoids PTBDeprecationWarning on RetryAfter)."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def app(fake: FakeTelegram) -> AsyncIterator[Application]:
    """A running PTB Application polling the fake, with echo, /start and button handlers."""
    application = fake.builder().build()
    application.add_handler(CommandHandler("start", start))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    application.add_handler(CallbackQueryHandler(pressed))
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(timeout=dtm.timedelta(seconds=5))
        yield application
        await application.updater.stop()
        await application.stop()


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    """A bare Bot (no polling) for direct calls."""
    async with Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url) as b:
        yield b


# --------------------------------------------------------------------- the bot


async def test_user_message_gets_echo_reply(fake: FakeTelegram, app: Application) -> None:
    await fake.user_sends(CHAT, "hello")
    reply = await fake.wait_for_message(CHAT)
    assert reply.text == "echo: hello"
    assert reply.message["from"]["is_bot"] is True
    assert reply.message["chat"] == {"id": CHAT, "type": "private", "first_name": "Test User"}
    methods = {call.method for call in fake.calls()}
    assert {"getMe", "deleteWebhook", "getUpdates", "sendMessage"} <= methods


async def test_replies_arrive_in_order(fake: FakeTelegram, app: Application) -> None:
    updates = [await fake.user_sends(CHAT, text) for text in ("one", "two", "three")]
    replies = [(await fake.wait_for_message(CHAT)).text for _ in range(3)]
    assert replies == ["echo: one", "echo: two", "echo: three"]
    last_id = updates[-1]["update_id"]
    await fake.wait_for_call("getUpdates", lambda c: c.params.get("offset", 0) > last_id)
    assert fake.pending_updates() == 0  # the updater confirmed everything


async def test_button_press_reaches_callback_handler(fake: FakeTelegram, app: Application) -> None:
    await fake.user_sends(CHAT, "/start")
    menu = await fake.wait_for_message(CHAT)
    assert [b["callback_data"] for b in menu.buttons] == ["coin:BTC", "coin:ETH"]

    await fake.user_presses(CHAT, menu.message_id, "coin:ETH")
    edit = await fake.wait_for_message(CHAT, lambda m: m.is_edit, include_edits=True)
    assert edit.method == "editMessageText"
    assert edit.message_id == menu.message_id
    assert edit.text == "ETH liquidation map"
    assert edit.message["entities"] == [{"type": "bold", "offset": 0, "length": 3}]
    assert "reply_markup" not in fake.message(CHAT, menu.message_id)  # keyboard removed
    answer = await fake.wait_for_call("answerCallbackQuery")
    assert answer.params["text"] == "Loading ETH"
    assert [m.method for m in fake.messages(CHAT)] == ["sendMessage", "editMessageText"]


async def test_user_presses_checks_the_keyboard(fake: FakeTelegram, bot: Bot) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    sent = await bot.send_message(CHAT, "menu", reply_markup=keyboard)
    with pytest.raises(ValueError, match="no button"):
        await fake.user_presses(CHAT, sent.message_id, "b")
    with pytest.raises(ValueError, match="no message"):
        await fake.user_presses(CHAT, 999, "a")


async def test_command_gets_bot_command_entity(fake: FakeTelegram, bot: Bot) -> None:
    await fake.user_sends(CHAT, "/map@liqbot_test_bot BTC")
    (update,) = await bot.get_updates()
    assert update.message is not None
    assert update.message.entities[0].type == "bot_command"
    assert update.message.entities[0].length == len("/map@liqbot_test_bot")
    assert update.message.parse_entity(update.message.entities[0]) == "/map@liqbot_test_bot"


# ------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "text",
    [
        "<b>unclosed",
        "1 < 2",
        "AT&T",
        "line<br>break",
        "<b><i>crossed</b></i>",
        "stray </b>",
        "<span>needs class</span>",
        "<div>block</div>",
        "&nbsp;",
    ],
)
async def test_bad_html_is_rejected(bot: Bot, text: str) -> None:
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(CHAT, text, parse_mode=ParseMode.HTML)


async def test_good_html_is_parsed_into_entities(fake: FakeTelegram, bot: Bot) -> None:
    html = (
        '<b>BTC</b> &lt;50k&gt; &amp; <a href="https://x.test/?a=1&amp;b=2">map</a> '
        '<span class="tg-spoiler">s</span><pre><code class="language-python">x=1</code></pre>'
        "<blockquote expandable>q</blockquote> &#128200;&#x41;"
    )
    message = await bot.send_message(CHAT, html, parse_mode=ParseMode.HTML)
    assert message.text == "BTC <50k> & map sx=1q 📈A"
    kinds = [(e.type, message.parse_entity(e)) for e in message.entities]
    assert kinds == [
        ("bold", "BTC"),
        ("text_link", "map"),
        ("spoiler", "s"),
        ("pre", "x=1"),
        ("expandable_blockquote", "q"),
    ]
    assert message.entities[1].url == "https://x.test/?a=1&b=2"
    assert message.entities[3].language == "python"
    assert fake.messages(CHAT)[-1].text == message.text


def test_parse_html_counts_utf16_offsets() -> None:
    text, entities = parse_html("📈 <i>up</i>")
    assert text == "📈 up"
    assert entities == [{"type": "italic", "offset": 3, "length": 2}]


async def test_length_limits(bot: Bot) -> None:
    await bot.send_message(CHAT, "x" * 4096)
    await bot.send_message(CHAT, f"<b>{'x' * 4096}</b>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(CHAT, "x" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(CHAT, "<b></b>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
        await bot.send_photo(CHAT, make_png(), caption="c" * 1025)


async def test_edit_not_modified_and_missing(bot: Bot) -> None:
    sent = await bot.send_message(CHAT, "same")
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("same", CHAT, sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("new", CHAT, 12345)


# ------------------------------------------------------------------------ media


async def test_send_photo_keeps_png_bytes(fake: FakeTelegram, bot: Bot) -> None:
    png = make_png(64, 32)
    message = await bot.send_photo(CHAT, png, caption="<i>BTC</i> map", parse_mode="HTML")
    assert (message.photo[-1].width, message.photo[-1].height) == (64, 32)
    assert message.caption == "BTC map"
    recorded = fake.messages(CHAT)[-1]
    assert recorded.photo == png and recorded.photo.startswith(PNG_MAGIC)
    (call,) = fake.calls("sendPhoto")
    assert call.files["photo"].data == png

    downloaded = await (await bot.get_file(message.photo[-1].file_id)).download_as_bytearray()
    assert bytes(downloaded) == png


async def test_send_photo_rejects_non_images(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)IMAGE_PROCESS_FAILED"):
        await bot.send_photo(CHAT, b"definitely not a png")


async def test_document_and_media_edit(fake: FakeTelegram, bot: Bot) -> None:
    document = await bot.send_document(CHAT, b"a,b\n1,2\n", filename="levels.csv")
    assert document.document is not None
    assert (document.document.file_name, document.document.mime_type) == ("levels.csv", "text/csv")
    assert fake.messages(CHAT)[-1].document == b"a,b\n1,2\n"

    first = await bot.send_photo(CHAT, make_png(8, 8))
    second = make_png(16, 16)
    edited = await bot.edit_message_media(
        InputMediaPhoto(second, caption="refreshed"), CHAT, first.message_id
    )
    assert isinstance(edited, type(first))
    assert edited.caption == "refreshed" and edited.edit_date is not None
    recorded = fake.messages(CHAT)[-1]
    assert (recorded.method, recorded.photo) == ("editMessageMedia", second)


# ------------------------------------------------------------------ misc methods


async def test_commands_are_stored(fake: FakeTelegram, bot: Bot) -> None:
    await bot.set_my_commands([("start", "Start the bot"), BotCommand("map", "Liquidation map")])
    assert fake.commands() == [
        {"command": "start", "description": "Start the bot"},
        {"command": "map", "description": "Liquidation map"},
    ]
    assert [c.command for c in await bot.get_my_commands()] == ["start", "map"]
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([("Bad-Name", "x")])


async def test_chat_action_and_unknown_method(fake: FakeTelegram, bot: Bot) -> None:
    assert await bot.send_chat_action(CHAT, ChatAction.UPLOAD_PHOTO)
    assert fake.calls("sendChatAction")[0].params == {"chat_id": CHAT, "action": "upload_photo"}

    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{fake.base_url}{fake.token}/noSuchMethod") as response,
    ):
        assert response.status == 404
        assert await response.json() == {
            "ok": False,
            "error_code": 404,
            "description": "Not Found",
        }


async def test_wrong_token_is_unauthorized(fake: FakeTelegram) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("1:wrong", base_url=fake.base_url):
            pass


async def test_get_updates_offset_semantics(fake: FakeTelegram, bot: Bot) -> None:
    for text in ("a", "b", "c"):
        await fake.user_sends(CHAT, text)
    updates = await bot.get_updates()
    assert [u.message.text for u in updates if u.message] == ["a", "b", "c"]
    assert len(await bot.get_updates(limit=1)) == 1
    again = await bot.get_updates(offset=updates[1].update_id)  # confirms "a"
    assert [u.update_id for u in again] == [u.update_id for u in updates[1:]]
    last = await bot.get_updates(offset=-1)  # forgets all but the newest
    assert [u.update_id for u in last] == [updates[2].update_id]
    assert fake.pending_updates() == 1
    assert await bot.get_updates(offset=updates[2].update_id + 1) == ()


async def test_long_poll_is_woken_by_an_update(fake: FakeTelegram, bot: Bot) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=dtm.timedelta(seconds=5)))
    await fake.wait_for_call("getUpdates")  # the request is now held by the server
    assert not poll.done()
    await fake.user_sends(CHAT, "wake up")
    (update,) = await asyncio.wait_for(poll, 2)
    assert update.message is not None and update.message.text == "wake up"
    assert time.monotonic() - started < 2


async def test_long_poll_times_out_empty(bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=dtm.timedelta(seconds=0.2)) == ()
    assert 0.15 < time.monotonic() - started < 2


async def test_wait_for_message_times_out(fake: FakeTelegram, bot: Bot) -> None:
    await bot.send_message(CHAT, "only this")
    await fake.wait_for_message(CHAT)
    with pytest.raises(TimeoutError, match="only this"):
        await fake.wait_for_message(CHAT, timeout=0.05)


# ------------------------------------------------------------------------ faults


async def test_retry_after(fake: FakeTelegram, bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    fake.inject_retry_after(7, method="sendMessage")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(CHAT, "hi")
    assert caught.value.retry_after == dtm.timedelta(seconds=7)
    assert fake.calls("sendMessage")[0].status == 429
    await bot.send_message(CHAT, "hi")  # only the next call was throttled


async def test_retry_after_any_method(fake: FakeTelegram, bot: Bot) -> None:
    fake.inject_retry_after(3, count=2)
    with pytest.raises(RetryAfter):
        await bot.send_chat_action(CHAT, ChatAction.TYPING)
    with pytest.raises(RetryAfter):
        await bot.get_me()
    assert await bot.send_chat_action(CHAT, ChatAction.TYPING)


async def test_blocked_chat_is_forbidden(fake: FakeTelegram, bot: Bot) -> None:
    fake.block_chat(CHAT)
    with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
        await bot.send_message(CHAT, "hi")
    with pytest.raises(Forbidden):
        await bot.send_photo(CHAT, make_png())
    await bot.send_message(CHAT + 1, "another chat is fine")
    fake.unblock_chat(CHAT)
    await bot.send_message(CHAT, "hi again")


async def test_bad_gateway_is_network_error(fake: FakeTelegram, bot: Bot) -> None:
    fake.inject_server_error(method="sendMessage", count=2)
    for _ in range(2):
        with pytest.raises(NetworkError, match=r"(?i)Bad Gateway"):
            await bot.send_message(CHAT, "hi")
    await bot.send_message(CHAT, "hi")
    assert [c.status for c in fake.calls("sendMessage")] == [502, 502, 200]


async def test_slow_answer(fake: FakeTelegram, bot: Bot) -> None:
    fake.set_delay(0.3, method="sendMessage")
    started = time.monotonic()
    await bot.send_message(CHAT, "slow")
    assert time.monotonic() - started >= 0.3
    fake.clear_faults()
    started = time.monotonic()
    await bot.send_message(CHAT, "fast")
    assert time.monotonic() - started < 0.3


async def test_unknown_fault_method_is_a_typo(fake: FakeTelegram) -> None:
    with pytest.raises(ValueError, match="does not implement"):
        fake.inject_server_error(method="sendMesage")


# ------------------------------------------------------------------ thread mode


async def test_thread_mode_with_bot_in_main_loop() -> None:
    fake = FakeTelegram().start_in_thread()
    try:
        application = fake.builder().build()
        application.add_handler(MessageHandler(filters.TEXT, echo))
        async with application:
            await application.start()
            assert application.updater is not None
            await application.updater.start_polling(timeout=dtm.timedelta(seconds=5))
            await fake.user_sends(CHAT, "from another thread")
            reply = await fake.wait_for_message(CHAT)
            assert reply.text == "echo: from another thread"

            blocking = asyncio.create_task(
                asyncio.to_thread(fake.wait_for_message_blocking, CHAT, None, 5.0)
            )
            await fake.user_sends(CHAT, "again")
            assert (await blocking).text == "echo: again"
            await application.updater.stop()
            await application.stop()
    finally:
        fake.stop_thread()


async def test_blocking_wait_needs_thread_mode(fake: FakeTelegram) -> None:
    with pytest.raises(RuntimeError, match="start_in_thread"):
        fake.wait_for_message_blocking(CHAT, timeout=0.01)
