"""The layering of docs/architecture.md, checked on the source: the pure engine stays pure,
nothing imports the composition root, only the composition root reads the environment."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STDLIB = set(sys.stdlib_module_names)
# package -> the project packages and third-party libraries it may import
ALLOWED = {
    "liqmap": {"liqmap", "numpy"},
    "alerts": {"alerts", "liqmap", "numpy"},
    "market": {"market", "liqmap", "numpy", "ccxt"},
    "storage": {"storage", "sqlite_utils", "numpy"},
    "fakes": {"fakes", "aiohttp", "telegram"},  # telegram: its builder() helper
    "backtest": {"backtest", "liqmap", "alerts", "market", "numpy", "matplotlib"},
}


def imports(package: str) -> dict[str, set[str]]:
    out = {}
    for path in (ROOT / package).rglob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        out[str(path.relative_to(ROOT))] = names - STDLIB - {"__future__"}
    return out


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_its_layer_allows(package: str) -> None:
    for path, names in imports(package).items():
        assert names <= ALLOWED[package], f"{path} imports {names - ALLOWED[package]}"


def test_only_bot_reads_the_environment() -> None:
    for package in ALLOWED:
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text()
            assert "os.environ" not in text and "getenv" not in text, path
