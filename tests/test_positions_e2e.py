"""Positions that tell the truth, end to end on the replayed 2025-10-10 cascade: the real bot,
its passes, the fake Bot API and a real SQLite file. A long at 116,000 x20 (liquidation
110,642.6) dies in the 21:10 candle (low 109,069.0): one message says so, nothing advises it
afterwards, /close gives PnL and the note, and the follow-up comes 4 h (replayed) later."""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from alerts.catalogue import RULE_CATALOGUE
from bot.pipeline.digest_pass import queue_digest
from bot.telegram.jobs import send_due
from storage import alert_settings, open_db, outbox, price_alerts, subscriptions, users
from tests.bot_harness import BotHarness, start_bot_process, wait_until, wait_until_drained
from tests.fakes.telegram_api import FakeTelegram
from tests.test_alerts_e2e import at, step

CHAT = 9191
HOUR = 3_600_000
TABLES = ("subscriptions", "outbox", "alert_state")


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[BotHarness]:
    with BotHarness(tmp_path / "pos.db", at=at("20:00"), tick_seconds=3600) as harness:
        yield harness


def ask(bot: BotHarness, text: str, chat: int = CHAT, timeout: float = 30) -> str:
    """The user sends ``text``; the first message the bot sends after it."""
    before = len(bot.fake.messages(chat, include_edits=False))
    bot.run(bot.fake.user_sends(chat, text, user_id=chat, first_name="Ana"))
    deadline = time.monotonic() + timeout
    while len(sent := bot.fake.messages(chat, include_edits=False)) <= before:
        assert time.monotonic() < deadline, f"no reply to {text!r}"
        time.sleep(0.02)
    return sent[before].text or ""


def press(bot: BotHarness, data: str, chat: int = CHAT, timeout: float = 30) -> str:
    """The user presses a button of the bot's last message; the bot's next message or edit."""
    last = bot.fake.messages(chat, include_edits=False)[-1]
    before = len(bot.fake.messages(chat))
    bot.run(bot.fake.user_presses(chat, last.message_id, data, user_id=chat))
    deadline = time.monotonic() + timeout
    while len(sent := bot.fake.messages(chat)) <= before:
        assert time.monotonic() < deadline, f"nothing after pressing {data!r}"
        time.sleep(0.02)
    return sent[before].text or ""


def texts(bot: BotHarness, chat: int = CHAT) -> list[str]:
    return [m.text or "" for m in bot.fake.messages(chat, include_edits=False)]


def counts(bot: BotHarness) -> dict[str, int]:
    db = bot.services.db  # type: ignore[union-attr]
    return {t: db.execute(f"select count(*) from {t}").fetchone()[0] for t in TABLES}


def test_liquidated_long_is_told_once_and_never_advised_again(bot: BotHarness) -> None:
    assert "Watching position" in ask(bot, "/open BTC long 116000 20 10000")
    step(bot, at("21:40"))
    dead = [t for t in texts(bot) if "liquidated at" in t]
    assert dead == [
        "💀 #1 BTC long x20 liquidated at ~110,642.6 (low 109,069.0, 21:10 UTC)\n"
        "Loss: your margin (-100%), about $500 on a $10K position.\n"
        "I give no more advice for it. /close 1 clears it, with the post-trade note."
    ]
    # ... but not before the liquidation warning, from a candle before the 21:10 one
    warned = [i for i, t in enumerate(texts(bot)) if "liquidation warning for #1" in t]
    dying = next(i for i, t in enumerate(texts(bot)) if "liquidated at" in t)
    assert warned and warned[0] < dying
    warning = texts(bot)[warned[0]]
    line = next(x for x in warning.splitlines() if x.startswith("#1 BTC long x20: liquidation"))
    assert re.search(
        r"liquidation 110,642\.6 is [\d.]+% below, about [\d.]+ typical 4-hour moves; chance "
        r"to touch it within 4 h: \d+%, within 24 h: \d+%",
        line,
    ), line
    sent_at = re.search(r" · (\d\d:\d\d) UTC", warning)
    assert sent_at and sent_at.group(1) < "21:10", warning
    assert "adding margin or cutting the size" in warning
    # +0.7% five minutes after the open is inside the entry's noise: no profit to take yet
    assert not any("partial profit" in t for t in texts(bot))
    after = len(texts(bot))
    step(bot, at("23:00"))  # the rebound: rules that would fire for a live long stay quiet
    assert texts(bot)[after:] == []

    shown = ask(bot, "/positions")
    assert "liquidated at ~110,642.6" in shown and "/close 1" in shown
    assert "Fuel ratio" not in shown and "away)" not in shown
    s = bot.services
    assert s is not None
    user = users.get(s.db, CHAT)
    assert user is not None
    assert bot.run(queue_digest(s, user, bot.clock.now, slot="t", quiet_ok=True))
    bot.run(send_due(s, bot.app.bot, bot.clock.now))
    digest = [t for t in texts(bot) if t.startswith("Digest ")][-1]
    assert "#1 long 116,000.0 x20: liquidated at ~110,642.6; /close 1 clears it" in digest
    assert "LFR" not in digest.split("#1", 1)[1]

    closed = ask(bot, "/close 1")
    assert closed.startswith("Closed #1 BTC long 116,000.0 x20 at 110,642.6 (2025-10-10 21:10")
    assert "PnL: -100.00% of margin, -4.62% of price, -$500" in closed
    assert "range 109,069.0 - " in closed and "Estimated liquidations price ran through" in closed
    assert "Liquidation cascade?" in closed and "look back at this exit in 4 h" in closed
    assert subscriptions.open_for_chat(s.db, CHAT) == []

    closed_at = bot.clock.now
    step(bot, closed_at + 4 * HOUR - 5 * 60_000, every=30 * 60_000)
    assert not [t for t in texts(bot) if "after your" in t]
    step(bot, closed_at + 4 * HOUR + 5 * 60_000)
    follow = [t for t in texts(bot) if "after your" in t]
    assert len(follow) == 1, follow
    # due 4 h after /close, timed from the liquidation itself (21:10), where the range starts
    first = follow[0].splitlines()[0]
    assert first.startswith("🔁 5.") and first.endswith(
        " h after your liquidation from #1 BTC long 116,000.0 x20 at 110,642.6"
    ), first
    assert "would have survived" in follow[0] or "hit a stop too" in follow[0]
    assert "Price now" in follow[0] and "range since" in follow[0]


def test_check_reads_positions_as_traders_type_them(bot: BotHarness) -> None:
    plain = ask(bot, "/check BTC long 116000 20")
    assert plain.startswith("BTC long 116,000.0 x20 (price now 116,605.3 at 20:00 UTC, 1d map)")
    for typed in (
        "/check btc 20x long 116k",
        "/check BTC buy $116,000 x20",
        "/check long btc 116,000 20X",
    ):
        assert ask(bot, typed) == plain, typed


def test_already_liquidated_positions_are_refused_and_nothing_is_stored(bot: BotHarness) -> None:
    before = counts(bot)
    short = ask(bot, "/open BTC short 60000 10")
    assert short.startswith("⚠️ a short at 60,000.0 x10 would already be liquidated")
    assert "price now 116,605.3 (20:00 UTC)" in short
    step(bot, at("21:20"), every=20 * 60_000)  # price 103,441.3 after the first wave
    long = ask(bot, "/open BTC long 116000 20")
    assert "would already be liquidated" in long and "Nothing was stored" in long
    assert "would already be liquidated" in ask(bot, "/check btc 20x long 116k")
    assert counts(bot) == before


def test_far_limit_entry_is_confirmed_with_a_button(bot: BotHarness) -> None:
    reply = ask(bot, "/open BTC long 50000 5")
    assert reply.startswith("⚠️ entry 50,000.0 is 57% away") and "confirm with the button" in reply
    assert counts(bot)["subscriptions"] == 0
    assert "Watching position" in press(bot, "openfar|BTC long 50000 5")
    assert counts(bot)["subscriptions"] == 1


def test_stop_hit_gives_pnl_r_multiple_and_note(bot: BotHarness) -> None:
    ask(bot, "/open BTC long 116000 10 5000")
    reply = ask(bot, "/stop 1 113000")
    assert reply.startswith("🛑 Stop of #1 at 113,000.0 (2.59% from entry, 26% of margin = 1R)")
    step(bot, at("21:40"))
    out = [t for t in texts(bot) if t.startswith("🛑 Stopped out")]
    assert len(out) == 1, out
    assert "at 113,000.0" in out[0] and "R multiple: -1.00R (stop 113,000.0)" in out[0]
    assert "PnL: -25.86% of margin, -2.59% of price, -$129" in out[0]
    assert not [t for t in texts(bot) if "liquidated at" in t]  # the stop came first
    sub = subscriptions.get(bot.services.db, 1)  # type: ignore[union-attr]
    assert sub is not None and sub.status == "stopped" and sub.closed_at is not None
    assert sub.followup_due == sub.exit_at + 4 * HOUR  # type: ignore[operator]


def test_a_typed_exit_that_never_traded_is_named_and_kept_out_of_the_range(
    bot: BotHarness,
) -> None:
    assert "Watching position #1" in ask(bot, "/open BTC long 116k 20 5000")
    closed = ask(bot, "/close 1 120000")  # price is 116,605.3: 120,000 never traded
    assert "120,000.0 did not trade between entry and now" in closed
    assert "range 116,605.3 - 116,605.3" in closed
    fair = ask(bot, "/open BTC long 116k 20 5000")
    assert "Watching position #2" in fair
    assert "did not trade" not in ask(bot, "/close 2")


def test_plain_messages_and_zones_get_a_helpful_reply(bot: BotHarness) -> None:
    assert "Did you mean /map btc?" in ask(bot, "map btc")
    assert "Did you mean /map BTC?" in ask(bot, "btc")
    assert "Did you mean /check BTC long 116000 20?" in ask(bot, "👉 /check BTC long 116000 20")
    assert "/help" in ask(bot, "hi")
    assert "Time zone set to Europe/Berlin" in ask(bot, "/tz berlin")
    assert "Time zone set to CET" in ask(bot, "/tz CET")
    assert "Time zone set to UTC+03:00" in ask(bot, "/tz +3")
    typed = ask(bot, "/tz utc+5:30")  # an offset reads back as typed, not as a city's name
    assert "Time zone set to UTC+05:30." in typed and "UTC+05:30 there" in typed
    assert " UTC+05:30, 1d map)" in ask(bot, "/check BTC long 116000 20")
    assert "Which zone did you mean" in ask(bot, "/tz berlinn")
    assert "Time zone set to Europe/Berlin" in press(bot, "tz|Europe/Berlin")
    assert "Quiet hours 23:00-07:00" in ask(bot, "/quiet 23-7")
    assert "muted for 2 hours" in ask(bot, "/mute 2 hours")


def test_size_advice_from_account_and_risk(bot: BotHarness) -> None:
    assert "⚠️ set your account size" in ask(bot, "/check BTC long 116000 20 risk 1%")
    assert "Account size set to $10K" in ask(bot, "/account 10k")
    pct = ask(bot, "/check BTC long 116000 20 risk 1%")
    usd = ask(bot, "/check BTC long 116000 20 risk 100")
    assert "Size for your risk ($100 = 1% of your account): at most $1.62K notional" in pct
    assert "Size for your risk ($100): at most $1.62K notional" in usd
    assert "use x12 or less" in pct  # the 6.16% stop sits past a x20 liquidation
    assert "lower the leverage" not in pct
    # the trader's own stop fills before the liquidation: sized on it, no leverage cap
    own = ask(bot, "/check BTC long 116000 20 sl 112000 risk 1%")
    assert "at most $2.9K notional ($145 margin at x20): your stop at 112,000.0 (3.45%" in own
    assert "use x" not in own and "stop past liquidation 0" in own


def test_killed_between_detection_and_send_delivers_the_liquidation_once(tmp_path: Path) -> None:
    db_path = tmp_path / "kill.db"
    db = open_db(db_path)
    users.register(db, CHAT, CHAT, "Kim", 0)
    t0 = at("20:55")
    sub = subscriptions.open_position(
        db, CHAT, "BTC/USDT:USDT", "long", 116000.0, 20.0, None, 110642.57, {}, t0, checked_to=t0
    )
    subscriptions.set_muted(db, sub.id, True)  # no rule alerts; the liquidation still comes
    # a price alert crossed by the same candle goes the same way (issue 20)
    price_alerts.add(db, CHAT, "BTC/USDT:USDT", 112_000.0, "below", False, 114_198.0, t0, t0)

    def liquidations() -> list[str]:
        return [m.text or "" for m in fake.messages(CHAT) if "liquidated at" in (m.text or "")]

    def price_alert() -> list[str]:
        return [m.text or "" for m in fake.messages(CHAT) if "(price alert #1)" in (m.text or "")]

    def queued() -> bool:
        keys = "('fate:1', 'price_alert:1:1')"
        return (
            db.execute(f"select count(*) from outbox where dedupe_key in {keys}").fetchone()[0] == 2
        )

    with FakeTelegram() as fake:
        fake.inject_server_error(method="sendMessage", count=10_000)
        first = start_bot_process(fake, db_path, "2025-10-10T21:00:00Z", LIQBOT_REPLAY_SPEED="600")
        try:
            wait_until(queued)  # detected and queued, but Telegram refuses to take it
            wait_until(lambda: len([c for c in fake.calls("sendMessage") if c.status == 502]) >= 1)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        assert liquidations() == [] and price_alert() == []
        fake.clear_faults()
        # restarted later, as a restart is: the retries the first one set (2 s x 600 of market
        # time after it queued them, at the 21:15 close) are due
        second = start_bot_process(fake, db_path, "2025-10-10T21:40:00Z", LIQBOT_REPLAY_SPEED="600")
        try:
            wait_until(lambda: len(liquidations()) >= 1 and len(price_alert()) >= 1)
            # drained, the position closed as liquidated and the price alert done: no later
            # tick can detect either again
            assert wait_until_drained(db_path) == {"sent": 2}
            found = subscriptions.get(db, sub.id)
            assert found is not None and found.status == subscriptions.LIQUIDATED
            done = price_alerts.get(db, 1)
            assert done is not None and done.status == price_alerts.FIRED
        finally:
            second.terminate()
            assert second.wait(20) == 0, second.stderr.read() if second.stderr else ""
    assert len(liquidations()) == 1
    assert "~110,642.6 (low 109,069.0, 21:10 UTC)" in liquidations()[0]
    assert len(price_alert()) == 1
    assert "Low 109,069.0 in the 21:10 UTC candle" in price_alert()[0]
    assert outbox.counts(open_db(db_path)) == {"sent": 2}


def test_close_after_the_5m_data_ends_sees_the_whole_trade(tmp_path: Path) -> None:
    """The bundled 5m candles end 2025-10-27 14:50, the hourly ones go on: the note's range must
    come from candles covering the trade, or /close denies the price the bot reported."""
    opened = at("12:00", day=27)
    with BotHarness(tmp_path / "span.db", at=opened, tick_seconds=3600) as bot:
        assert "#1" in ask(bot, "/open BTC long 114000 20 10000")
        bot.clock.now = opened + 2 * HOUR
        step(bot, opened + 9 * 24 * HOUR, every=12 * HOUR)
        dead = [t for t in texts(bot) if "liquidated" in t]
        assert dead, texts(bot)
        note = ask(bot, "/close 1")
        assert "did not trade" not in note, note
        assert "107,817.3" in note  # the low that liquidated it, inside the range


def test_no_partial_profit_advice_on_a_losing_position(tmp_path: Path) -> None:
    """A cluster in the position's favour is fuel, but a losing trade has no profit to take."""
    with BotHarness(tmp_path / "loss.db", at=at("18:00"), tick_seconds=3600) as bot:
        assert "#1" in ask(bot, "/open BTC short 117000 25")  # price ~117,600: under water
        step(bot, at("21:30"))  # the price crosses the entry both ways
        alerts = [t for t in texts(bot) if "Consider" in t]
        # each alert's second line is the price it was written at: "117,618.0 · 18:05 UTC"
        written_at = {t: float(t.splitlines()[1].split()[0].replace(",", "")) for t in alerts}
        losing = [t for t in alerts if written_at[t] > 117000]
        assert losing, alerts
        bad = [t for t in losing if "partial profit" in t]
        assert not bad, bad
        # ... nor on a gain still inside the entry's noise (issue 20: +0.5% at 19:25 is not
        # a profit to take; the cascade's -4% later is)
        assert all(written_at[t] < 117000 * 0.99 for t in alerts if "partial profit" in t)


def test_positions_puts_pnl_and_r_on_their_own_lines_with_signs(bot: BotHarness) -> None:
    assert "#1" in ask(bot, "/open BTC long 110000 5 1000")  # price ~116k: in profit
    ask(bot, "/stop 1 105000")
    text = ask(bot, "/positions")
    pnl = next(line for line in text.splitlines() if line.startswith("PnL:"))
    assert "R multiple" not in pnl and "+$" in pnl, text
    assert any(line.startswith("R multiple: +") for line in text.splitlines()), text


def test_the_warning_names_the_traders_own_stop_and_the_stop_fills_first(
    bot: BotHarness,
) -> None:
    ask(bot, "/open BTC long 116000 20 10000")
    assert "1R" in ask(bot, "/stop 1 112000")
    # the risk judges that stop, not the suggested 108,849.5 past the liquidation
    assert "stop past liquidation 0" in ask(bot, "/positions")
    step(bot, at("21:40"))
    warning = next(t for t in texts(bot) if "liquidation warning for #1" in t)
    assert (
        "keeping your stop at 112,000.0, which fills before the liquidation (it caps the loss at "
        "3.45% of the entry, 69% of your margin)" in warning
    )
    assert "a stop at 112,065.1" not in warning  # not another stop beside the trader's own
    assert any(t.startswith("🛑 Stopped out #1") for t in texts(bot))
    assert not any("liquidated at" in t for t in texts(bot))


def test_every_warning_stop_fills_before_the_liquidation_or_the_advice_is_to_close(
    bot: BotHarness,
) -> None:
    """From the price now, not the entry: a 25x long warned at 21:00 has price back at 114,198
    and its liquidation at 112,578; the clusters below run past it, so no stop fills first."""
    plans = {
        CHAT + k: f"/open BTC {side} 116000 x{lev}"
        for k, (side, lev) in enumerate(
            [("long", 20), ("long", 25), ("long", 50), ("short", 25), ("short", 50)]
        )
    }
    for chat, text in plans.items():
        assert "Watching position" in ask(bot, text, chat)
    step(bot, at("21:40"))
    warnings = [
        t for chat in plans for t in texts(bot, chat) if "⚠️ liquidation" in t.split("\n")[0]
    ]
    assert len(warnings) >= 4
    closing = 0
    for w in warnings:
        now = float(re.search(r"\n([\d,.]+) · ", w).group(1).replace(",", ""))  # type: ignore[union-attr]
        lp = float(re.search(r"liquidation ([\d,.]+) is", w).group(1).replace(",", ""))  # type: ignore[union-attr]
        stop = re.search(r"or a stop at ([\d,.]+)", w)
        if stop is None:
            assert "so no stop beyond them fills first; closing now at" in w, w
            closing += 1
            continue
        price = float(stop.group(1).replace(",", ""))
        assert min(now, lp) < price < max(now, lp), w  # between the price and the liquidation
        assert "comes first" not in w, w
    assert closing >= 1


def test_the_check_reply_promises_the_warning_at_the_chats_own_threshold(bot: BotHarness) -> None:
    """A 50x long opens with a 4 h touch chance of a few percent: over the default 3%, under a
    chat's 40%; a chat that switched the warning off is promised nothing."""
    reach = "within the liquidation warning's reach"
    assert f"{reach} (3% in 4 h)" in ask(bot, "/check BTC long 116000 x50")
    assert "threshold set to 40" in ask(bot, "/alerts set liquidation_warning 40")
    assert reach not in ask(bot, "/check BTC long 116000 x50")
    assert "threshold set to 1" in ask(bot, "/alerts set liquidation_warning 1")
    assert f"{reach} (1% in 4 h)" in ask(bot, "/open BTC long 116000 x50")
    ask(bot, "/alerts")
    press(bot, "alert|liquidation_warning|silent")  # the /alerts list's switch: on -> silent
    press(bot, "alert|liquidation_warning|off")  # -> off
    assert reach not in ask(bot, "/check BTC long 116000 x50")


def test_the_open_reply_warning_is_not_repeated_as_an_alert(tmp_path: Path) -> None:
    """/open already says the liquidation sits in a cluster: the rule's firing right after is
    the same news (its state records it, so it does not come back either)."""
    with BotHarness(tmp_path / "echo.db", at=at("12:57"), tick_seconds=3600) as bot:
        ask(bot, "/alerts")  # registers the chat; the rule is off by default: turn it on
        alert_settings.set_mode(open_db(tmp_path / "echo.db"), CHAT, "own_lp_in_cluster", "on")
        reply = ask(bot, "/open BTC short 121600 10 5000")
        assert "Your liquidation sits just past" in reply, reply
        step(bot, at("14:00"))
        assert not [t for t in texts(bot) if "sits in a large cluster" in t], texts(bot)
        states = bot.services.db.execute(  # type: ignore[union-attr]
            "select armed from alert_state where rule = 'own_lp_in_cluster'"
        ).fetchall()
        assert states == [(0,)]  # fired, silently


def test_an_alert_held_for_a_position_since_liquidated_is_dropped(tmp_path: Path) -> None:
    """Quiet hours 19:00-23:00: the 20:05 fuel-ratio alert waits; the liquidation warning does
    not (critical); the long dies at 21:10, so the held alert is dropped and the 💀 stands."""
    with BotHarness(tmp_path / "held.db", at=at("20:00"), tick_seconds=3600) as bot:
        ask(bot, "/quiet 19:00-23:00")
        # at the default 1.0 the entry's 1.01 sits inside the re-arm band (not armed); at 0.9 it
        # is armed and 0.89 at 20:05 fires
        ask(bot, "/alerts set lfr 0.9")
        assert "#1" in ask(bot, "/open BTC long 116000 20 10000")
        step(bot, at("21:40"))
        sent = texts(bot)
        assert any("liquidation warning for #1" in t for t in sent)  # reached the trader
        assert any("liquidated at" in t for t in sent)
        db = bot.services.db  # type: ignore[union-attr]
        dropped = db.execute("select text from outbox where status = 'dropped'").fetchall()
        assert any("fuel ratio of #1 fell below" in r[0] for r in dropped), dropped
        step(bot, at("23:10"), every=30 * 60_000)  # quiet hours over: nothing about the dead long
        assert not any("fuel ratio" in t for t in texts(bot))


def test_open_takes_the_traders_own_stop_as_stop_does(bot: BotHarness) -> None:
    """``/open ... sl PRICE`` sets the stop with /stop's checks and /stop's reply; a bad stop
    stores neither the position nor the stop. Without a symbol, /check and /open offer the
    symbol buttons, each finishing the command as typed."""
    ask(bot, "/start")
    for rule in RULE_CATALOGUE:  # only the replies: no alert may slip in between
        alert_settings.set_mode(bot.services.db, CHAT, rule.name, "off")  # type: ignore[union-attr]
    before = counts(bot)
    for bad, why in (
        ("sl 118000", "a long's stop sits below the price now (116,605.3"),
        ("sl 50k", "the stop is more than 50% from the price now"),
        ("sl", "say where your stop is: sl 112000"),
        ("sl -1", "the stop must be a positive price"),
    ):
        answer = ask(bot, f"/open BTC long 116000 x20 5000 {bad}")
        assert answer.startswith(f"⚠️ {why}") and "Usage: /open" in answer, (bad, answer)
    assert counts(bot) == before
    assert ask(bot, "/check long 116000 x20") == "Which symbol? (/check BTC ...)"
    picks = bot.fake.messages(CHAT, include_edits=False)[-1].buttons
    assert [b["callback_data"] for b in picks] == [
        "pick|check|BTC|long 116000 x20",
        "pick|check|ETH|long 116000 x20",
    ]
    assert press(bot, "pick|check|BTC|long 116000 x20") == ask(bot, "/check BTC long 116000 x20")
    assert ask(bot, "/open long 116000 x20 5000 sl 112000") == "Which symbol? (/open BTC ...)"
    opened = press(bot, "pick|open|BTC|long 116000 x20 5000 sl 112000")
    assert opened.startswith("✅ Watching position #1.")
    assert "🛑 Stop of #1 at 112,000.0 (3.45% from entry, 69% of margin = 1R)." in opened
    assert "/stop 1 PRICE" not in opened and "comes before this stop" not in opened
    # the check judges the trader's stop, not the map's suggestion past the liquidation
    assert "That stop is past your liquidation price" not in opened
    sub = subscriptions.get(bot.services.db, 1)  # type: ignore[union-attr]
    assert sub is not None and sub.stop_price == 112_000 and sub.size_usd == 5000
    # the same words as /stop's reply, the liquidation warning included (x50: ~114,100)
    assert "Watching position #2" in ask(bot, "/open BTC long 116000 x50")
    told = ask(bot, "/stop 2 112000")
    opened = ask(bot, "/open BTC long 116000 x50 sl 112000")
    assert told.replace("#2", "#3") in opened and "comes before this stop" in told
