"""Inline keyboards. Callback data are ``family|...``; each family has its own
``CallbackQueryHandler(pattern=...)`` in :mod:`bot.telegram.app`."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.views.report import WINDOWS

MAP_PATTERN = r"^map\|"
HELP_PATTERN = r"^help$"
POSITION_PATTERN = r"^pos\|"
ALERT_PATTERN = r"^alert\|"
MUTE_PATTERN = r"^mute\|"


def map_keyboard(symbol: str, window: str) -> InlineKeyboardMarkup:
    base = symbol.split("/")[0]
    row = [
        InlineKeyboardButton(("• " if w == window else "") + w, callback_data=f"map|{base}|{w}")
        for w in WINDOWS
    ]
    row.append(InlineKeyboardButton("🔄 Refresh", callback_data=f"map|{base}|{window}"))
    return InlineKeyboardMarkup([row])


def start_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("📊 BTC map", callback_data="map|BTC|1d"),
                InlineKeyboardButton("📊 ETH map", callback_data="map|ETH|1d"),
            ],
            [InlineKeyboardButton("❓ All commands", callback_data="help")],
        ]
    )


def position_keyboard(sub_id: int, muted: bool) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[
            InlineKeyboardButton(f"✖ Close #{sub_id}", callback_data=f"pos|close|{sub_id}"),
            InlineKeyboardButton(
                f"{'🔔 Unmute' if muted else '🔕 Mute'} #{sub_id}",
                callback_data=f"pos|{'unmute' if muted else 'mute'}|{sub_id}",
            ),
        ]]
    )  # fmt: skip
