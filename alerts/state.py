"""Alert state per (subscription, slot): hysteresis, cooldown, episode counter, identity zone.

Columnar: arrays shaped (slot, subscription), one row per slot of ``catalogue.SLOTS`` and one
column per subscription id (ids sorted), so a rule's slot is one contiguous vector. The caller
persists it as plain rows (``to_rows`` / ``from_rows``, or only what changed with
``changed_rows``) in the same transaction as the events, so a restart resumes exactly.

A row is ``{"sub_id", "rule", "key", "armed", "last_fired_ms", "episode", "zone_low",
"zone_high"}``:

- ``armed``: the rule may fire for this key (False after firing, until the condition clears by
  the rule's margin);
- ``last_fired_ms``: when it last fired (None: never), for the cooldown;
- ``episode``: how many times it has fired; the next event's dedupe key ends in episode + 1;
- ``zone_low``/``zone_high``: the price range of the cluster it fired on, which identifies that
  cluster on later maps while it matters (disarmed or cooling down), else None.

The default row (armed, never fired, episode 0, no zone) is not stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from alerts.catalogue import SLOT_INDEX, SLOTS

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

NEVER = -1  # last_fired_ms of a slot that never fired
ROW_FIELDS = (
    "sub_id",
    "rule",
    "key",
    "armed",
    "last_fired_ms",
    "episode",
    "zone_low",
    "zone_high",
)

Columns = tuple[BoolArray, IntArray, IntArray, FloatArray, FloatArray]


@dataclass
class SlotArrays:
    """Mutable working copy of the state of ``n`` subscriptions, shaped (len(SLOTS), n)."""

    armed: BoolArray
    last_fired_ms: IntArray
    episode: IntArray
    zone_low: FloatArray
    zone_high: FloatArray

    @classmethod
    def default(cls, n: int) -> SlotArrays:
        shape = (len(SLOTS), n)
        return cls(
            armed=np.ones(shape, dtype=np.bool_),
            last_fired_ms=np.full(shape, NEVER, dtype=np.int64),
            episode=np.zeros(shape, dtype=np.int64),
            zone_low=np.full(shape, np.nan),
            zone_high=np.full(shape, np.nan),
        )

    def columns(self) -> Columns:
        return self.armed, self.last_fired_ms, self.episode, self.zone_low, self.zone_high

    def copy(self) -> SlotArrays:
        return SlotArrays(
            self.armed.copy(),
            self.last_fired_ms.copy(),
            self.episode.copy(),
            self.zone_low.copy(),
            self.zone_high.copy(),
        )

    def non_default(self) -> BoolArray:
        changed: BoolArray = (
            ~self.armed
            | (self.last_fired_ms != NEVER)
            | (self.episode != 0)
            | np.isfinite(self.zone_low)
        )
        return changed


@dataclass(frozen=True, eq=False)
class AlertState:
    """State of every subscription of one symbol. Immutable: ``evaluate`` returns a new one."""

    sub_id: IntArray  # (m,), sorted, unique
    armed: BoolArray  # (S, m)
    last_fired_ms: IntArray  # (S, m), NEVER for never
    episode: IntArray  # (S, m)
    zone_low: FloatArray  # (S, m), NaN for none
    zone_high: FloatArray  # (S, m), NaN for none

    def __post_init__(self) -> None:
        m = self.sub_id.shape[0]
        shape = (len(SLOTS), m)
        for name in ("armed", "last_fired_ms", "episode", "zone_low", "zone_high"):
            if getattr(self, name).shape != shape:
                raise ValueError(f"AlertState.{name} must be shaped {shape}")
        if m > 1 and not bool(np.all(np.diff(self.sub_id) > 0)):
            raise ValueError("AlertState.sub_id must be sorted and unique")

    @classmethod
    def empty(cls) -> AlertState:
        return cls(np.zeros(0, dtype=np.int64), *SlotArrays.default(0).columns())

    def __len__(self) -> int:
        return int(self.sub_id.shape[0])

    def _arrays(self) -> SlotArrays:
        return SlotArrays(
            self.armed, self.last_fired_ms, self.episode, self.zone_low, self.zone_high
        )

    def _select(self, cols: Any) -> Columns:
        return (
            self.armed[:, cols],
            self.last_fired_ms[:, cols],
            self.episode[:, cols],
            self.zone_low[:, cols],
            self.zone_high[:, cols],
        )

    # -- aligning with a set of subscriptions -------------------------------------------------

    def _locate(self, sub_ids: IntArray) -> tuple[IntArray, BoolArray]:
        """Column of each id in this state, and whether it is there."""
        if len(self) == 0:
            return np.zeros(sub_ids.shape, dtype=np.int64), np.zeros(sub_ids.shape, dtype=np.bool_)
        pos = np.minimum(np.searchsorted(self.sub_id, sub_ids), len(self) - 1)
        return pos.astype(np.int64), self.sub_id[pos] == sub_ids

    def gather(self, sub_ids: IntArray) -> SlotArrays:
        """The state of ``sub_ids`` in that order (defaults for ids not seen before)."""
        if np.array_equal(sub_ids, self.sub_id):  # fast path: the same subscriptions, sorted
            return self._arrays().copy()
        out = SlotArrays.default(sub_ids.shape[0])
        pos, found = self._locate(sub_ids)
        for dst, src in zip(out.columns(), self._select(pos[found]), strict=True):
            dst[:, found] = src
        return out

    def merge(self, sub_ids: IntArray, arrays: SlotArrays) -> AlertState:
        """This state with the columns of ``sub_ids`` replaced by ``arrays``; other
        subscriptions keep theirs (use :meth:`prune` to drop deleted ones)."""
        if np.array_equal(sub_ids, self.sub_id):  # fast path: the same subscriptions, sorted
            return AlertState(sub_ids.copy(), *arrays.columns())
        order = np.argsort(sub_ids, kind="stable")
        replaced = np.zeros(len(self), dtype=np.bool_)
        if len(self) and sub_ids.size:
            sorted_ids = sub_ids[order]
            pos = np.minimum(np.searchsorted(sorted_ids, self.sub_id), sorted_ids.size - 1)
            replaced = sorted_ids[pos] == self.sub_id
        keep = ~replaced
        if not keep.any():  # the usual case: the state holds exactly these subscriptions
            return AlertState(sub_ids[order], *_reorder(arrays.columns(), order))
        ids = np.concatenate([self.sub_id[keep], sub_ids])
        order = np.argsort(ids, kind="stable")
        kept, new = self._select(keep), arrays.columns()
        merged: Columns = (
            np.concatenate([kept[0], new[0]], axis=1),
            np.concatenate([kept[1], new[1]], axis=1),
            np.concatenate([kept[2], new[2]], axis=1),
            np.concatenate([kept[3], new[3]], axis=1),
            np.concatenate([kept[4], new[4]], axis=1),
        )
        return AlertState(ids[order], *_reorder(merged, order))

    def prune(self, keep_sub_ids: Iterable[int]) -> AlertState:
        """Only the subscriptions in ``keep_sub_ids`` (e.g. after positions were closed)."""
        keep = np.isin(self.sub_id, np.fromiter(keep_sub_ids, dtype=np.int64))
        return AlertState(self.sub_id[keep], *self._select(keep))

    # -- rows ---------------------------------------------------------------------------------

    def _row(self, i: int, s: int) -> dict[str, Any]:
        rule, key = SLOTS[s]
        last = int(self.last_fired_ms[s, i])
        low, high = float(self.zone_low[s, i]), float(self.zone_high[s, i])
        return {
            "sub_id": int(self.sub_id[i]),
            "rule": rule,
            "key": key,
            "armed": bool(self.armed[s, i]),
            "last_fired_ms": None if last == NEVER else last,
            "episode": int(self.episode[s, i]),
            "zone_low": low if np.isfinite(low) else None,
            "zone_high": high if np.isfinite(high) else None,
        }

    def _rows_where(self, mask: BoolArray) -> list[dict[str, Any]]:
        subs, slots = np.nonzero(mask.T)  # by subscription, then slot
        return [self._row(int(i), int(s)) for i, s in zip(subs, slots, strict=True)]

    def to_rows(self) -> list[dict[str, Any]]:
        """Every non-default (subscription, slot) as a plain dict row."""
        return self._rows_where(self._arrays().non_default())

    def changed_rows(self, previous: AlertState) -> list[dict[str, Any]]:
        """Rows that differ from ``previous`` (to upsert). A row back to its default values is
        included with those values (upserting it is equivalent to deleting it)."""
        old = previous.gather(self.sub_id)

        def same(a: FloatArray, b: FloatArray) -> BoolArray:
            equal: BoolArray = (a == b) | (np.isnan(a) & np.isnan(b))
            return equal

        changed = (
            (old.armed != self.armed)
            | (old.last_fired_ms != self.last_fired_ms)
            | (old.episode != self.episode)
            | ~same(old.zone_low, self.zone_low)
            | ~same(old.zone_high, self.zone_high)
        )
        return self._rows_where(changed)

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]]) -> AlertState:
        """Inverse of :meth:`to_rows`. Rows of unknown (rule, key) pairs (a rule removed since)
        are ignored."""
        known = [r for r in rows if (r["rule"], r["key"]) in SLOT_INDEX]
        ids = np.unique(np.array([int(r["sub_id"]) for r in known], dtype=np.int64))
        arrays = SlotArrays.default(ids.shape[0])
        where = {int(x): i for i, x in enumerate(ids)}
        for r in known:
            i, s = where[int(r["sub_id"])], SLOT_INDEX[(r["rule"], r["key"])]
            arrays.armed[s, i] = bool(r["armed"])
            last = r.get("last_fired_ms")
            arrays.last_fired_ms[s, i] = NEVER if last is None else int(last)
            arrays.episode[s, i] = int(r.get("episode") or 0)
            low, high = r.get("zone_low"), r.get("zone_high")
            arrays.zone_low[s, i] = np.nan if low is None else float(low)
            arrays.zone_high[s, i] = np.nan if high is None else float(high)
        return cls(ids, *arrays.columns())

    def row(self, sub_id: int, rule: str, key: str) -> dict[str, Any]:
        """One (subscription, slot) as a row, defaults when never stored (tests, /alerts)."""
        one = np.array([sub_id], dtype=np.int64)
        return AlertState(one, *self.gather(one).columns())._row(0, SLOT_INDEX[(rule, key)])


def _reorder(c: Columns, order: IntArray) -> Columns:
    return (c[0][:, order], c[1][:, order], c[2][:, order], c[3][:, order], c[4][:, order])
