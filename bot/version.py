"""liqbot's version (``liqbot --version``, ``/healthz``); pyproject.toml carries the same (a test
checks)."""

__version__ = "0.2.0"
