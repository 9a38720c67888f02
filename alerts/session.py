"""The alert pass's state handling without storage: what the live pass does around ``evaluate``
each refresh (state in, events and state out, a watch's echo of a position's alert dropped),
with the state kept in memory. The backtest drives it hour by hour; the live pass keeps the
state in SQLite and calls the same ``evaluate`` and ``drop_watch_echoes``."""

from __future__ import annotations

from dataclasses import dataclass, field

from alerts.catalogue import POSITION
from alerts.findings import Finding
from alerts.inputs import Subscriptions, SymbolMetrics
from alerts.rules import DEFAULT_CONFIG, AlertConfig, evaluate
from alerts.state import AlertState


def drop_watch_echoes(events: list[Finding], subs: Subscriptions) -> list[Finding]:
    """A chat that watches a symbol and holds a position in it would get the symbol-wide alerts
    twice: keep the position's (it carries the position's numbers), drop the watch's."""
    kind = dict(zip(subs.sub_id.tolist(), subs.kind.tolist(), strict=True))
    from_positions = {(e.chat_id, e.rule, e.key) for e in events if kind[e.sub_id] == POSITION}
    return [
        e
        for e in events
        if kind[e.sub_id] == POSITION or (e.chat_id, e.rule, e.key) not in from_positions
    ]


@dataclass
class AlertSession:
    """One symbol's alert state across refreshes, in memory.

    ``step`` is one refresh: subscriptions that are gone (a closed position) lose their state,
    as ``storage.subscriptions.close`` deletes their rows; then ``evaluate`` with ``config``.
    """

    config: AlertConfig = DEFAULT_CONFIG
    state: AlertState = field(default_factory=AlertState.empty)

    def step(
        self, metrics: SymbolMetrics, subs: Subscriptions, now_ms: int, with_advice: bool = False
    ) -> list[Finding]:
        state = self.state
        if len(state) and not (
            state.sub_id.shape == subs.sub_id.shape and (state.sub_id == subs.sub_id).all()
        ):
            state = state.prune(subs.sub_id.tolist())
        events, self.state = evaluate(metrics, subs, state, now_ms, self.config, with_advice)
        return drop_watch_echoes(events, subs)
