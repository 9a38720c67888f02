"""Where market data comes from: ccxt feeds, units, errors, aggregation, the bundled replay."""

from market import ccxt_lean

# before anything of ours imports ccxt: its exchange classes load only when used (~50 MB less)
ccxt_lean.install()
