"""``liqbot backtest``: the live map engine and alert rules replayed over the bundled history,
and the claims traders read about liquidation maps tested on it."""
