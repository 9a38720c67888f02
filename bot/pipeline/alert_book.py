"""The alert pass's inputs kept in memory between refreshes: every open subscription's columns
and its alert state, per symbol. Loaded once from SQLite (at start, or the first pass), then
patched for the chats whose rows changed (triggers list them in ``alert_dirty``, whatever wrote
them), so a quiet pass reads nothing but that short list.

Per-chat rule overrides are joined to the rows with a sorted search (no loop per chat); quiet
hours are decided once per distinct (zone, start, end) per pass. A setting that cannot be
decided (a corrupt zone or time) excludes that user's rows from the pass, with one log line,
and never stops the symbol for anybody else.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlite_utils import Database

from alerts.catalogue import DEFAULT_MODES, MODE_NAMES, POSITION, RULE_INDEX, RULES, WATCH
from alerts.inputs import Subscriptions
from alerts.state import AlertState
from bot.clock import in_quiet_hours
from storage import alert_dirty, alert_settings, alert_state, subscriptions

log = logging.getLogger(__name__)
FOREVER = 2**62
MODE_CODES = {name: code for code, name in MODE_NAMES.items()}
Combo = tuple[str, str, str]  # (zone, quiet start, quiet end); '' for none
MIN_CLUSTER = "min_cluster"  # stored in alert_settings as a pseudo-rule's threshold (USD)
WAKE = "wake"  # pseudo-rule: threshold 0 = the liquidation warning waits out quiet hours too


@dataclass
class Overrides:
    """Per-chat rule settings as dense rows: ``chats`` sorted, ``modes``/``thresholds`` shaped
    (len(chats), len(RULES)); -1 mode / NaN threshold for the rule's default."""

    chats: npt.NDArray[np.int64]
    modes: npt.NDArray[np.int8]
    thresholds: npt.NDArray[np.float64]
    floor_chats: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    floors: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    sleep_chats: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))

    @classmethod
    def from_rows(cls, rows: list[tuple[Any, ...]]) -> Overrides:
        # the user's minimum cluster notional (``/alerts set min_cluster 5M``), sorted by chat
        mins = sorted((int(r[0]), float(r[3])) for r in rows if r[1] == MIN_CLUSTER and r[3])
        floor_chats = np.array([c for c, _ in mins], dtype=np.int64)
        floors = np.array([f for _, f in mins], dtype=np.float64)
        known = [r for r in rows if r[1] in RULE_INDEX and (r[2] is None or r[2] in MODE_CODES)]
        chat = np.array([int(r[0]) for r in known], dtype=np.int64)
        chats, where = np.unique(chat, return_inverse=True)
        rule = np.array([RULE_INDEX[r[1]] for r in known], dtype=np.int64)
        mode = np.array([-1 if r[2] is None else MODE_CODES[r[2]] for r in known], dtype=np.int8)
        threshold = np.array([np.nan if r[3] is None else r[3] for r in known], dtype=np.float64)
        modes = np.full((chats.size, len(RULES)), -1, dtype=np.int8)
        thresholds = np.full((chats.size, len(RULES)), np.nan)
        modes[where, rule] = mode
        thresholds[where, rule] = threshold
        sleep = sorted({int(r[0]) for r in rows if r[1] == WAKE and r[3] is not None and not r[3]})
        return cls(chats, modes, thresholds, floor_chats, floors, np.array(sleep, dtype=np.int64))

    def floor(self, chat_id: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        """Each row's minimum cluster notional (0: none set)."""
        out = np.zeros(chat_id.size)
        if self.floor_chats.size and chat_id.size:
            pos = np.minimum(np.searchsorted(self.floor_chats, chat_id), self.floor_chats.size - 1)
            found = self.floor_chats[pos] == chat_id
            out[found] = self.floors[pos[found]]
        return out

    def join(self, chat_id: npt.NDArray[np.int64]) -> tuple[np.ndarray, np.ndarray]:
        """(modes, thresholds) for each row's chat, defaults where the chat has none."""
        n = chat_id.size
        modes = np.tile(np.array(DEFAULT_MODES, dtype=np.int8), (n, 1))
        thresholds = np.full((n, len(RULES)), np.nan)
        if self.chats.size and n:
            pos = np.minimum(np.searchsorted(self.chats, chat_id), self.chats.size - 1)
            found = self.chats[pos] == chat_id
            own = self.modes[pos[found]]
            modes[found] = np.where(own >= 0, own, modes[found])
            thresholds[found] = self.thresholds[pos[found]]
        return modes, thresholds


@dataclass
class SymbolBook:
    """One symbol's open subscriptions as columns sorted by ``sub_id``, and their state."""

    cols: dict[str, np.ndarray]
    state: AlertState = field(default_factory=AlertState.empty)

    def __len__(self) -> int:
        return int(self.cols["sub_id"].size)


NUMERIC = {  # column -> dtype, in subscriptions.COLUMNS order after the symbol
    "sub_id": np.int64,
    "chat_id": np.int64,
    "kind": object,
    "side": object,
    "entry": np.float64,
    "leverage": np.float64,
    "lp": np.float64,
    "entry_lfr": np.float64,
    "muted": np.float64,
    "muted_until": np.float64,
    "tz": object,
    "quiet_start": object,
    "quiet_end": object,
}


class AlertBook:
    def __init__(self) -> None:
        self.symbols: dict[str, SymbolBook] = {}
        self.combos: list[Combo] = []
        self._combo_code: dict[Combo, int] = {}
        self.overrides = Overrides.from_rows([])
        self._reported: set[Combo] = set()
        # per symbol, the tick of its last committed pass: the liquidation warning reads the
        # candles closed since then
        self.checked_to: dict[str, int] = {}

    # -- loading ------------------------------------------------------------------------------

    @classmethod
    def load(cls, db: Database) -> AlertBook:
        """Everything from SQLite (at start)."""
        book = cls()
        alert_dirty.clear(db)  # read after clearing: a write in between is seen next pass
        book.overrides = Overrides.from_rows(alert_settings.rows(db))
        rows = subscriptions.open_with_symbol(db)
        states = AlertState.from_rows(alert_state.all_rows(db))
        for symbol, chunk in _by_symbol(rows).items():
            sb = SymbolBook(book._columns(chunk))
            sb.state = states.prune(sb.cols["sub_id"].tolist())
            book.symbols[symbol] = sb
        return book

    def catch_up(self, db: Database) -> int:
        """Re-read the chats whose rows changed since the last call; returns how many."""
        dirty = alert_dirty.take(db)
        if not dirty:
            return 0
        self.overrides = Overrides.from_rows(alert_settings.rows(db))
        fresh = _by_symbol(subscriptions.open_with_symbol(db, dirty))
        gone = np.array(sorted(dirty), dtype=np.int64)
        for symbol in set(self.symbols) | set(fresh):
            sb = self.symbols.get(symbol) or SymbolBook(self._columns([]))
            keep = ~np.isin(sb.cols["chat_id"], gone)
            new = self._columns(fresh.get(symbol, []))
            cols = {k: np.concatenate([v[keep], new[k]]) for k, v in sb.cols.items()}
            order = np.argsort(cols["sub_id"], kind="stable")
            cols = {k: v[order] for k, v in cols.items()}
            modes, thresholds = self.overrides.join(cols["chat_id"])
            cols["modes"], cols["thresholds"] = modes, thresholds
            cols["min_cluster"] = self.overrides.floor(cols["chat_id"])
            sb.cols = cols
            sb.state = sb.state.prune(cols["sub_id"].tolist())
            if len(sb):
                self.symbols[symbol] = sb
            else:
                self.symbols.pop(symbol, None)
        return len(dirty)

    def _columns(self, rows: list[tuple[Any, ...]]) -> dict[str, np.ndarray]:
        raw = list(zip(*rows, strict=True)) if rows else [()] * len(NUMERIC)
        c = {
            name: np.array(vals, dtype=dt)
            for (name, dt), vals in zip(NUMERIC.items(), raw, strict=True)
        }
        n = c["sub_id"].size
        combo = np.array(
            [
                self._code((z or "UTC", a or "", b or ""))
                for z, a, b in zip(c["tz"], c["quiet_start"], c["quiet_end"], strict=True)
            ],
            dtype=np.int64,
        )
        kinds, sides = c["kind"].astype(str), c["side"].astype(str)
        modes, thresholds = self.overrides.join(c["chat_id"].astype(np.int64))
        return {
            "sub_id": c["sub_id"].astype(np.int64),
            "chat_id": c["chat_id"].astype(np.int64),
            "kind": np.where(kinds == "position", POSITION, WATCH).astype(np.int8),
            "side": np.select([sides == "long", sides == "short"], [1, -1], 0).astype(np.int8),
            "entry": c["entry"],
            "leverage": c["leverage"],
            "lp": c["lp"],
            "entry_lfr": c["entry_lfr"],
            "sub_muted": np.nan_to_num(c["muted"]) == 1,
            "user_mute": np.nan_to_num(c["muted_until"]).astype(np.int64),
            "combo": combo.reshape(n),
            "modes": modes,
            "thresholds": thresholds,
            "min_cluster": self.overrides.floor(c["chat_id"].astype(np.int64)),
        }

    def _code(self, combo: Combo) -> int:
        code = self._combo_code.get(combo)
        if code is None:
            code = self._combo_code[combo] = len(self.combos)
            self.combos.append(combo)
        return code

    # -- one pass -----------------------------------------------------------------------------

    def quiet_now(self, now_ms: int) -> tuple[np.ndarray, np.ndarray]:
        """(in quiet hours, cannot be decided) per combo at ``now_ms``."""
        quiet = np.zeros(len(self.combos), dtype=np.bool_)
        bad = np.zeros(len(self.combos), dtype=np.bool_)
        for i, (zone, start, end) in enumerate(self.combos):
            try:
                quiet[i] = in_quiet_hours(now_ms, zone, start or None, end or None)
            except Exception as e:  # a corrupt stored setting: that user only, never the symbol
                bad[i] = True
                if (zone, start, end) not in self._reported:
                    self._reported.add((zone, start, end))
                    log.error(
                        "skipping alerts of chats with quiet hours %r: %s", (zone, start, end), e
                    )
        return quiet, bad

    def subscriptions(
        self, symbol: str, quiet: np.ndarray, bad: np.ndarray
    ) -> tuple[Subscriptions, np.ndarray]:
        """The symbol's rows that can be evaluated now, and their combo codes."""
        c = self.symbols[symbol].cols
        ok = ~bad[c["combo"]]
        if not ok.all():
            c = {k: v[ok] for k, v in c.items()}
        subs = Subscriptions(
            sub_id=c["sub_id"],
            chat_id=c["chat_id"],
            kind=c["kind"],
            side=c["side"],
            entry=c["entry"],
            leverage=c["leverage"],
            liquidation_price=c["lp"],
            entry_lfr=c["entry_lfr"],
            thresholds=c["thresholds"],
            modes=c["modes"],
            muted_until_ms=np.where(c["sub_muted"], FOREVER, c["user_mute"]),
            in_quiet_hours=quiet[c["combo"]],
            hold_in_quiet=np.ones(c["sub_id"].size, dtype=np.bool_),  # 'on' waits, 'silent' goes
            min_cluster=c["min_cluster"],
            wake_in_quiet=~np.isin(c["chat_id"], self.overrides.sleep_chats),
        )
        return subs, c["combo"]


def _by_symbol(rows: list[tuple[Any, ...]]) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {}
    for r in rows:
        out.setdefault(r[0], []).append(r[1:])
    return out
