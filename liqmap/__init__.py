"""liqmap: the pure liquidation-map engine (numpy only; no I/O, no clock, no settings).

Arrays in, frozen results out. See README "The model" for the formulas.
"""

from liqmap.brackets import (
    Bracket,
    brackets_for,
    brackets_from_tiers,
    liquidation_price,
    position_liquidation_price,
    unified_symbol,
)
from liqmap.clusters import (
    LONG,
    SHORT,
    CascadeChain,
    Cluster,
    ClusterSettings,
    MapClusters,
    cascade_chains,
    find_clusters,
    map_clusters,
)
from liqmap.grid import PriceGrid, make_grid, rebin
from liqmap.heatmap import Heatmap, build_heatmap
from liqmap.metrics import (
    OrderBook,
    RiskScore,
    asymmetry,
    band_totals,
    cascade_pressure,
    check_own_liquidation,
    cluster_pressure,
    cumulative_curves,
    fuel_ratio,
    no_trade_warning,
    risk_score,
    suggest_stop,
)
from liqmap.model import (
    Candles,
    LiqMap,
    ModelInputError,
    ModelSettings,
    build_map,
    combine_maps,
)

__all__ = [
    "LONG",
    "SHORT",
    "Bracket",
    "Candles",
    "CascadeChain",
    "Cluster",
    "ClusterSettings",
    "Heatmap",
    "LiqMap",
    "MapClusters",
    "ModelInputError",
    "ModelSettings",
    "OrderBook",
    "PriceGrid",
    "RiskScore",
    "asymmetry",
    "band_totals",
    "brackets_for",
    "brackets_from_tiers",
    "build_heatmap",
    "build_map",
    "cascade_chains",
    "cascade_pressure",
    "check_own_liquidation",
    "cluster_pressure",
    "combine_maps",
    "cumulative_curves",
    "find_clusters",
    "fuel_ratio",
    "liquidation_price",
    "make_grid",
    "map_clusters",
    "no_trade_warning",
    "position_liquidation_price",
    "rebin",
    "risk_score",
    "suggest_stop",
    "unified_symbol",
]
