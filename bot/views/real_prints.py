"""Real liquidations as a chart marks them: the prints of a chart's window, largest first, and
where they came from (the bot's feed, or a recorded file). No matplotlib, no ccxt: the CLI and the
charts import it cheaply."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class ChartPrint:
    """A real liquidation a chart can mark on its price axis."""

    price: float
    usd: float
    side: str  # the side liquidated
    time_ms: int = 0  # when (the heatmap places it in time)


@dataclass(frozen=True)
class RealLiquidations:
    """The real prints of a chart's window and where they came from (shown in the legend)."""

    prints: tuple[ChartPrint, ...]
    source: str = "feed"

    @property
    def long_usd(self) -> float:
        return float(sum(p.usd for p in self.prints if p.side == "long"))

    @property
    def short_usd(self) -> float:
        return float(sum(p.usd for p in self.prints if p.side == "short"))

    def cache_key(self) -> tuple[int, int, int, str]:
        """What makes two charts' marks differ: count, last print time, total USD, source."""
        last = max((p.time_ms for p in self.prints), default=0)
        return (len(self.prints), last, round(self.long_usd + self.short_usd), self.source)

    def price_range(self) -> tuple[float, float] | None:
        if not self.prints:
            return None
        prices = [p.price for p in self.prints]
        return min(prices), max(prices)


def window_prints(
    time: npt.NDArray[np.int64],
    side: Sequence[str],
    price: npt.NDArray[np.float64],
    usd: npt.NDArray[np.float64],
    since_ms: int,
    until_ms: int,
) -> list[ChartPrint]:
    """The prints of ``[since_ms, until_ms)``, largest first, from parallel arrays (stored prints
    or a recorded CSV)."""
    keep = (time >= since_ms) & (time < until_ms)
    idx = np.flatnonzero(keep)
    order = idx[np.argsort(-usd[idx], kind="stable")]
    return [ChartPrint(float(price[i]), float(usd[i]), str(side[i]), int(time[i])) for i in order]
