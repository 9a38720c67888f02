"""The layering, checked on the source (CI runs it with the tests):

- the pure engine stays pure: ``liqmap`` imports nothing of ours; ``alerts`` only ``liqmap``;
- ``market`` and ``storage`` never import each other or ``bot``;
- inside ``bot``: ``views`` <- ``render`` <- ``pipeline`` <- ``telegram`` <- the root's app, CLI
  and demo; only ``bot.telegram`` (and the fake Bot API in ``fakes``) imports ``telegram``;
- ``bot.pipeline`` holds pipeline steps: no process, pipe or malloc code (that is ``bot.render``
  and ``bot.memory``);
- no import cycle between any two modules of the project;
- only ``bot`` reads the environment, and only ``storage`` writes SQL;
- one market-source contract (``market.source.MarketSource``), and no caller probes a source;
- shared constants and helpers (``HOUR_MS``, ``WINDOW_MS``, ``is_proxy``...) defined once;
- the README's layout names every package, ``bot`` folder and ``bot`` module.
"""

from __future__ import annotations

import ast
import functools
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("liqmap", "alerts", "market", "storage", "bot", "fakes", "grading", "backtest")
STDLIB = set(sys.stdlib_module_names) | {"__future__"}
OURS = set(PACKAGES)
# module prefix -> what it may import (project modules by prefix, third-party by top name).
# The longest matching prefix applies.
# fmt: off
ALLOWED: dict[str, set[str]] = {
    "liqmap": {"liqmap", "numpy"},
    "alerts": {"alerts", "liqmap", "numpy"},
    "market": {"market", "liqmap", "numpy", "ccxt", "certifi"},  # certifi: ccxt's CA bundle
    "storage": {"storage", "sqlite_utils", "numpy"},
    "grading": {"grading", "liqmap", "market", "numpy"},  # market: the bundled data's folder
    "fakes": {"fakes", "aiohttp", "telegram"},  # telegram: its builder() helper
    "backtest": {"backtest", "liqmap", "alerts", "market", "numpy", "matplotlib"},
    "bot.views": {"bot.views", "bot.clock", "bot.tiers", "liqmap", "alerts", "market",
                  "storage", "numpy", "matplotlib", "grading"},
    "bot.render": {"bot.render", "bot.views", "bot.memory", "liqmap"},
    "bot.pipeline": {"bot.pipeline", "bot.render", "bot.views", "bot.clock", "bot.tiers",
                     "bot.settings", "bot.redaction", "bot.version", "liqmap", "alerts",
                     "market", "storage", "numpy", "sqlite_utils", "grading"},
    "bot.telegram": {"bot.telegram", "bot.pipeline", "bot.views", "bot.clock", "bot.settings",
                     "bot.parsing", "bot.tiers", "bot.memory", "bot.version", "liqmap", "alerts",
                     "market", "storage", "telegram", "sqlite_utils",
                     "aiohttp"},  # aiohttp: the webhook and health server
    "bot.web": {"bot.web", "bot.pipeline", "bot.views", "bot.clock", "bot.settings", "bot.parsing",
                "bot.tiers", "liqmap", "market", "storage", "numpy", "aiohttp"},
    "bot.clock": {"bot.clock"},
    "bot.memory": {"bot.memory"},
    "bot.settings": {"bot.settings", "bot.clock", "bot.redaction", "pydantic",
                     "pydantic_settings"},
    "bot.redaction": {"bot.redaction"},
    "bot.version": set(),
    "bot.parsing": {"bot.parsing", "bot.views", "liqmap"},
    "bot.tiers": {"bot.tiers", "liqmap"},
    "bot": {"bot", "liqmap", "alerts", "market", "storage", "fakes", "grading", "backtest",
            "numpy", "pydantic", "pydantic_settings"},  # root: app, CLI, demo
}
# fmt: on


@functools.cache
def parsed(path: Path) -> ast.Module:
    """A module's syntax tree, parsed once per test process (several rules read each one)."""
    return ast.parse(path.read_text(), str(path))


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def sources() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            found[module_name(path)] = path
    return found


def imported(path: Path, modules: dict[str, Path]) -> set[str]:
    """Every module ``path`` imports: project modules by full name (``from a import b`` counts
    ``a.b`` when that is a module), third-party ones by their top name."""
    names: set[str] = set()
    for node in ast.walk(parsed(path)):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {
                f"{node.module}.{a.name}"
                for a in node.names
                if f"{node.module}.{a.name}" in modules
            }
    out = set()
    for name in names:
        top = name.split(".")[0]
        if top in STDLIB:
            continue
        out.add(name if top in OURS else top)
    return out


def rule_for(module: str) -> set[str]:
    best = max((p for p in ALLOWED if module == p or module.startswith(p + ".")), key=len)
    return ALLOWED[best]


def allowed(name: str, rule: set[str]) -> bool:
    return any(name == r or name.startswith(r + ".") for r in rule)


MODULES = sources()
GRAPH = {m: imported(p, MODULES) for m, p in MODULES.items()}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_imports_only_what_its_layer_allows(module: str) -> None:
    rule = rule_for(module)
    bad = sorted(n for n in GRAPH[module] if not allowed(n, rule))
    assert not bad, f"{module} imports {bad}; its layer allows {sorted(rule)}"


def test_only_bot_telegram_and_fakes_import_telegram() -> None:
    users = {m for m, names in GRAPH.items() if "telegram" in names}
    assert all(m.startswith(("bot.telegram", "fakes")) for m in users), users


def test_no_import_cycles() -> None:
    edges = {m: {n for n in names if n in MODULES and n != m} for m, names in GRAPH.items()}
    # Tarjan's strongly connected components: any component larger than one is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_only_bot_reads_the_environment() -> None:
    for module, path in MODULES.items():
        if module.startswith(("bot", "fakes")):
            continue
        text = path.read_text()
        assert "os.environ" not in text and "getenv" not in text, path


SQL = re.compile(r"\.execute\(|\.executemany\(|\.upsert_all\(|\.insert_all\(|\.upsert\(|\.insert\(")


def test_only_storage_writes_sql() -> None:
    for module, path in MODULES.items():
        if module.startswith(("storage", "fakes")):
            continue
        assert not SQL.search(path.read_text()), f"{path} runs SQL; that belongs in storage/"


@functools.cache
def defined_at_top(path: Path) -> set[str]:
    """Names a module defines at its top level (assignments, functions, classes)."""
    names: set[str] = set()
    for node in parsed(path).body:
        if isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
    return names


# Shared constants and helpers: each lives once, in the lowest layer that needs it.
DEFINED_ONCE = {
    "MINUTE_MS": "liqmap.times",
    "HOUR_MS": "liqmap.times",
    "DAY_MS": "liqmap.times",
    "is_proxy": "liqmap.model",
    "utc_minute": "liqmap.times",
    "MarketSource": "market.source",  # the one contract of the replay and the live store
    "WINDOW_MS": "market.source",
    "FUNDING_P95_DAYS": "market.source",
    "TIMEFRAME": "bot.pipeline.refresh",  # the stored candles' timeframe
}


@pytest.mark.parametrize("name", sorted(DEFINED_ONCE))
def test_a_shared_name_is_defined_once(name: str) -> None:
    where = sorted(m for m, p in MODULES.items() if name in defined_at_top(p))
    assert where == [DEFINED_ONCE[name]], f"{name} is defined in {where}"


def stdlib_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(parsed(path)):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names & STDLIB


def test_the_pipeline_holds_pipeline_steps_only() -> None:
    """Processes, pipes and malloc tuning live in bot.render and bot.memory, not bot.pipeline."""
    machinery = {"subprocess", "multiprocessing", "ctypes", "pickle", "struct"}
    for module, path in MODULES.items():
        if module.startswith("bot.pipeline"):
            assert not stdlib_imports(path) & machinery, f"{path} holds process or memory code"


def test_no_caller_probes_a_market_source() -> None:
    """Every call is in ``MarketSource``: no ``getattr(source, ...)`` to see what a source has."""
    probe = re.compile(r"getattr\(\s*[\w.]*source\b", re.IGNORECASE)
    for path in MODULES.values():
        assert not probe.search(path.read_text()), f"{path} probes a market source"


def test_one_source_protocol() -> None:
    """No second, partial source protocol beside ``market.source.MarketSource``."""
    for module, path in MODULES.items():
        for node in ast.walk(parsed(path)):
            if isinstance(node, ast.ClassDef) and node.name.endswith("Source"):
                bases = {b.id for b in node.bases if isinstance(b, ast.Name)}
                assert "Protocol" not in bases or module == "market.source", f"{module}.{node.name}"


def test_the_readme_layout_names_every_folder_and_bot_module() -> None:
    """The README's layout is the map a newcomer reads first: every package, every folder of
    ``bot`` and every module at ``bot``'s root is on it."""
    text = (ROOT / "README.md").read_text()
    start = text.index("## Layout")
    block = text[start : text.index("```", text.index("```", start) + 3)]
    names = [f"{p}/" for p in PACKAGES]
    names += [f"{d.name}/" for d in (ROOT / "bot").iterdir() if (d / "__init__.py").exists()]
    names += [p.name for p in (ROOT / "bot").glob("*.py") if p.name != "__init__.py"]
    missing = [n for n in names if n not in block]
    assert not missing, f"README's layout does not name {missing}"
