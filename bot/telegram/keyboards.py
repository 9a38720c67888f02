"""Inline keyboards. Callback data are ``family|...``; each family has its own
``CallbackQueryHandler(pattern=...)`` in :mod:`bot.telegram.app`."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo

from bot.views.report import WINDOWS

MAP_PATTERN = r"^map\|"
HELP_PATTERN = r"^help$"
POSITION_PATTERN = r"^pos\|"
ALERT_PATTERN = r"^alert\|"
TZ_PATTERN = r"^tz\|"
OPEN_PATTERN = r"^openfar\|"
MUTE_PATTERN = r"^mute\|"
PRICE_ALERT_PATTERN = r"^palert\|"
PICK_PATTERN = r"^pick\|"
CALLBACK_MAX = 64  # Telegram's limit on callback data, in bytes


# The tier slices offered as buttons (``/map BTC 7d 10-25x`` reaches any other).
TIER_BUTTONS = (("all x", ""), ("5-10x", "5-10"), ("10-25x", "10-25"), ("50-100x", "50-100"))


def map_data(base: str, window: str, tiers: str = "", stacked: bool = False) -> str:
    """``map|BASE|WINDOW[|TIERS|S]``: TIERS as :func:`bot.tiers.tier_code`, S '1' = by tier."""
    if not tiers and not stacked:
        return f"map|{base}|{window}"
    return f"map|{base}|{window}|{tiers}|{1 if stacked else 0}"


WEBAPP_BUTTON = "Open interactive map"


def webapp_link(base: str, symbol: str, window: str) -> str:
    """The interactive map's page for a symbol and window (``base``: LIQBOT_WEBAPP_URL)."""
    return f"{base}/?symbol={symbol.split('/')[0]}&window={window}"


def webapp_row(url: str) -> list[InlineKeyboardButton]:
    """The Mini App button (Telegram allows ``web_app`` buttons in private chats only)."""
    return [InlineKeyboardButton(WEBAPP_BUTTON, web_app=WebAppInfo(url))]


def map_keyboard(
    symbol: str, window: str, tiers: str = "", stacked: bool = False, webapp: str | None = None
) -> InlineKeyboardMarkup:
    """Windows + refresh; tier slices + stacking by tier (the current choice marked •);
    ``webapp``: the interactive map's URL, a third row."""
    base = symbol.split("/")[0]
    row = [
        InlineKeyboardButton(
            ("• " if w == window else "") + w, callback_data=map_data(base, w, tiers, stacked)
        )
        for w in WINDOWS
    ]
    row.append(
        InlineKeyboardButton("🔄 Refresh", callback_data=map_data(base, window, tiers, stacked))
    )
    slices = [
        InlineKeyboardButton(
            ("• " if code == tiers else "") + name,
            callback_data=map_data(base, window, code, stacked),
        )
        for name, code in TIER_BUTTONS
    ]
    slices.append(
        InlineKeyboardButton(
            "▦ one colour" if stacked else "▦ by tier",
            callback_data=map_data(base, window, tiers, not stacked),
        )
    )
    return InlineKeyboardMarkup([row, slices, *([webapp_row(webapp)] if webapp else [])])


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


def far_entry_keyboard(args: str) -> InlineKeyboardMarkup:
    """Confirm a limit entry far from price; ``args`` are the /open arguments (<= 56 bytes)."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton("✅ Yes, a limit entry: open it", callback_data=f"openfar|{args}")]]
    )


def liquidated_keyboard(sub_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(f"✖ Clear #{sub_id}", callback_data=f"pos|close|{sub_id}")]]
    )


def position_keyboard(sub_id: int, muted: bool) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(f"✖ Close #{sub_id}", callback_data=f"pos|close|{sub_id}"),
                InlineKeyboardButton(
                    f"{'🔔 Unmute' if muted else '🔕 Mute'} #{sub_id}",
                    callback_data=f"pos|{'unmute' if muted else 'mute'}|{sub_id}",
                ),
            ]
        ]
    )


def symbol_keyboard(command: str, rest: list[str], bases: list[str]) -> InlineKeyboardMarkup | None:
    """A button per symbol the bot follows, each running ``/command BASE rest...``
    (``pick|COMMAND|BASE|REST``); None when the typed rest would not fit in a button."""
    tail = " ".join(rest)
    data = [f"pick|{command}|{b}|{tail}" for b in bases]
    if not data or any(len(d.encode()) > CALLBACK_MAX for d in data):
        return None
    buttons = [InlineKeyboardButton(b, callback_data=d) for b, d in zip(bases, data, strict=True)]
    return InlineKeyboardMarkup([buttons[i : i + 4] for i in range(0, len(buttons), 4)])


def price_alert_list_keyboard(rows: list[tuple[int, str]]) -> InlineKeyboardMarkup | None:
    """One delete button per alert: ``palert|del|ID|list`` (the list is redrawn after)."""
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(f"✖ #{i} {label}", callback_data=f"palert|del|{i}|list")]
            for i, label in rows
        ]
    )


def price_alert_keyboard(alert_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(f"✖ Delete #{alert_id}", callback_data=f"palert|del|{alert_id}")]]
    )
