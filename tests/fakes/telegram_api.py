"""The fake Telegram Bot API (see ``fakes.telegram_api``: installed, since `liqbot demo` runs
it too)."""

from fakes.telegram_api import ApiCall, FakeTelegram, SentMessage, Upload, parse_html

__all__ = ["ApiCall", "FakeTelegram", "SentMessage", "Upload", "parse_html"]
