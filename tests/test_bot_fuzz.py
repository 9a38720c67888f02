"""Hypothesis fuzzes every command's arguments through the real bot and the fake Bot API: each
gets a clear, escaped reply (the fake rejects bad HTML with 400, which would surface as the
error handler's apology); no handler raises; nothing is stored from a rejected command."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage import users
from tests.bot_harness import BotHarness

CHAT = 777
APOLOGY = "something went wrong"

nasty = st.sampled_from(
    [
        "BTC",
        "eth",
        "btc/usdt:usdt",
        "DOGE",
        "<b>",
        "</i>",
        "&",
        "&amp;",
        "<script>",
        "a<b",
        "1e308",
        "-1",
        "0",
        "0.0",
        "nan",
        "NaN",
        "inf",
        "-inf",
        "1e-300",
        "9" * 40,
        "long",
        "short",
        "LONG",
        "1d",
        "7d",
        "30d",
        "2w",
        "Europe/Berlin",
        "../../etc/passwd",
        "Mars/Olympus",
        "UTC",
        "Europe",
        "America",
        "Etc",
        "posixrules",
        "x" * 300,
        "\u202e",
        "💥",
        "20x",
        "1,000",
        "x20",
        "116k",
        "1.2m",
        "$116,000",
        "116000.5",
        "buy",
        "sell",
        "risk",
        "1%",
        "200",
        "101%",
        "2 hours",
        "90m",
        "23-7",
        "23:00-07:00",
        "berlin",
        "CET",
        "+3",
        "UTC-5",
        "new york",
        "off",
        "١٢٣",
        "#1",
        "1",
        "2",
        # non-ASCII digits: '\d' and str.isdigit() take them
        "1٢:0٠-0١:0٠",
        "１２:００-０１:００",
        "²",
        "٣h",
        "#³",
        "１",
        "٠٫٥",
        "below",
        "every",
        "+5%",
        "del",
        "120k",
    ]
)
word = st.text(
    alphabet=st.characters(blacklist_categories=("Zs", "Zl", "Zp", "Cc", "Cs")),
    min_size=1,
    max_size=25,
)
numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers()).map(str)
arg = st.one_of(nasty, word, numbers)
command = st.sampled_from(
    [
        "map",
        "heatmap",
        "check",
        "tz",
        "status",
        "help",
        "start",
        "open",
        "positions",
        "close",
        "watch",
        "unwatch",
        "alerts",
        "digest",
        "quiet",
        "mute",
        "liqs",
        "skill",
        "stop",
        "account",
        "alert",
    ]
)
TABLES = ("subscriptions", "alert_settings", "outbox", "price_alerts")
plain = st.one_of(
    st.sampled_from(["map btc", "btc", "hi", "👉 /map btc", "👉/check BTC long 116k 20x", "?"]),
    word,
)


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotHarness]:
    # no pause between one chat's messages: the replies are under test, not their pacing
    with BotHarness(tmp_path_factory.mktemp("fuzz") / "fuzz.db", chat_gap_seconds=0) as harness:
        harness.send(CHAT, "/tz Asia/Tokyo")
        yield harness


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(name=command, args=st.lists(arg, max_size=6))
def test_any_arguments_get_a_clear_reply(bot: BotHarness, name: str, args: list[str]) -> None:
    assert bot.services is not None
    text = f"/{name} {' '.join(args)}".strip()
    db = bot.services.db
    before = {t: db.execute(f"select count(*) from {t}").fetchone()[0] for t in TABLES}
    user_before = users.get(db, CHAT)
    reply = bot.send(CHAT, text, timeout=60)
    body = reply.text or ""
    assert body, f"empty reply to {text!r}"
    assert APOLOGY not in body, f"a handler failed on {text!r}"
    if body.startswith("⚠️"):
        assert "Usage:" in body  # says what is wrong and shows the right form
        after = {t: db.execute(f"select count(*) from {t}").fetchone()[0] for t in TABLES}
        assert after == before, f"{text!r} was rejected but changed {before} -> {after}"
        assert users.get(db, CHAT) == user_before, f"{text!r} was rejected but changed the user"
    user = users.get(bot.services.db, CHAT)
    assert user is not None
    if name != "tz" or "Time zone set" not in body:
        assert user.tz == "Asia/Tokyo", f"{text!r} changed the stored zone"
    else:
        bot.send(CHAT, "/tz Asia/Tokyo")  # put it back for the next example


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=plain)
def test_plain_messages_get_a_short_reply(bot: BotHarness, text: str) -> None:
    """A message that is not a command is answered (never silence), and stores nothing."""
    assert bot.services is not None
    db = bot.services.db
    if text.lstrip().startswith("/"):
        return  # a command: the test above covers it
    before = {t: db.execute(f"select count(*) from {t}").fetchone()[0] for t in TABLES}
    body = bot.send(CHAT, text, timeout=60).text or ""
    assert body and APOLOGY not in body and len(body) < 400, (text, body)
    assert "/help" in body or "Did you mean" in body
    after = {t: db.execute(f"select count(*) from {t}").fetchone()[0] for t in TABLES}
    assert after == before


forged = st.one_of(
    st.sampled_from(["alert", "pos", "map", "help", "palert", "pick"]).flatmap(
        lambda family: st.lists(st.one_of(nasty, word), max_size=3).map(
            lambda rest: "|".join([family, *rest])
        )
    ),
    word,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=forged, chat=st.sampled_from([CHAT, 424242]))
def test_forged_button_presses_are_answered_and_store_nothing_elsewhere(
    bot: BotHarness, data: str, chat: int
) -> None:
    """Every press gets an answer; a chat that never started the bot gets no rows."""
    from tests.test_scale import forge_press

    assert bot.services is not None
    db = bot.services.db
    answered = len(bot.fake.calls("answerCallbackQuery"))
    forge_press(bot, chat, data.encode("utf-8", "ignore")[:64].decode("utf-8", "ignore"))
    bot.run(
        bot.fake._wait_until(
            lambda: True if len(bot.fake.calls("answerCallbackQuery")) > answered else None,
            30,
            lambda: f"press {data!r} from {chat} was never answered",
        )
    )
    if chat != CHAT:
        for table in TABLES:
            rows = db.execute(f"select count(*) from {table} where chat_id = ?", [chat]).fetchone()
            assert rows[0] == 0, f"{data!r} from a stranger stored rows in {table}"
