"""Import ccxt without loading its ~100 exchanges three times over.

``import ccxt.pro`` runs the ``__init__`` of ``ccxt``, ``ccxt.async_support`` and ``ccxt.pro``,
and each imports every exchange class, most of the memory of a bot that uses four venues
(figures: README, "Figures behind the code"). :func:`install`
builds those three packages from their own ``__init__`` source minus the exchange imports, and
loads an exchange class the first time its name is read. ccxt's generated code relies on a
package attribute being the class, not the submodule (``import ccxt.async_support.okx as rest;
rest()``), so the package keeps that binding too. Anything unexpected: ccxt is imported as is.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import logging
import re
import sys
import types
from typing import Any

log = logging.getLogger(__name__)
PACKAGES = ("ccxt", "ccxt.async_support", "ccxt.pro")


class LazyExchanges(types.ModuleType):
    """A ccxt package whose exchange classes are imported on first use."""

    def __getattr__(self, name: str) -> Any:
        target = self.__dict__.get("_lazy", {}).get(name)
        if target is None:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        importlib.import_module(target)  # binds the attribute (see __setattr__)
        return self.__dict__[name]

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and name in self.__dict__.get("_lazy", {}):
            value = getattr(value, name, value)  # the class, as ccxt's own __init__ binds it
        super().__setattr__(name, value)


def install() -> bool:
    """Build the lean ccxt packages the first time anything imports ``ccxt`` (a process that
    never uses an exchange, such as the chart worker, never pays for ccxt); False if ccxt was
    imported already (then nothing is changed)."""
    if any(p in sys.modules for p in PACKAGES):
        return False
    if not any(isinstance(f, _OnFirstImport) for f in sys.meta_path):
        sys.meta_path[:0] = [_OnFirstImport()]  # ahead of the path finder
    return True


class _Built(importlib.abc.Loader):
    """Hands the import system the package ``build`` already put in ``sys.modules``."""

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return sys.modules[spec.name]

    def exec_module(self, module: types.ModuleType) -> None:
        pass


class _OnFirstImport(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Any = None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != PACKAGES[0]:  # the parent package is always imported first
            return None
        sys.meta_path.remove(self)  # once; build() finds the real packages past it
        if not build():
            return None  # the normal import: ccxt in full
        real = sys.modules[fullname].__spec__
        assert real is not None
        spec = importlib.machinery.ModuleSpec(fullname, _Built(), origin=real.origin)
        spec.submodule_search_locations = real.submodule_search_locations
        spec.has_location = True
        # the import system returns the module's own __spec__ when find_spec put it in
        # sys.modules: it must name the loader that hands the built module back
        sys.modules[fullname].__spec__ = spec
        return spec


def build() -> bool:
    """Put the three lean packages in ``sys.modules``; False if ccxt's layout is not the expected
    one (then nothing is left behind)."""
    try:
        for pkg in PACKAGES:
            _install_one(pkg)
        return True
    except Exception as e:  # a ccxt whose __init__ looks different: use it as it is
        log.warning("ccxt imported in full (%s)", e)
        for name in [m for m in sys.modules if m == "ccxt" or m.startswith("ccxt.")]:
            del sys.modules[name]
        return False


def _install_one(pkg: str) -> None:
    spec = importlib.util.find_spec(pkg)
    if spec is None or spec.origin is None or spec.loader is None:
        raise ImportError(f"{pkg} not found")
    with open(spec.origin, encoding="utf-8") as f:
        source = f.read()
    one_exchange = re.compile(rf"^from {re.escape(pkg)}\.(\w+) import (\w+)\s*(#.*)?$")
    lazy: dict[str, str] = {}
    kept: list[str] = []
    for line in source.splitlines():
        m = one_exchange.match(line)
        if m and m.group(1) == m.group(2):
            lazy[m.group(2)] = f"{pkg}.{m.group(1)}"
        else:
            kept.append(line)
    if len(lazy) < 50:
        raise ImportError(f"{pkg}: {len(lazy)} exchange imports found, expected about 100")
    module = importlib.util.module_from_spec(spec)
    module.__class__ = LazyExchanges
    module.__dict__["_lazy"] = lazy
    sys.modules[pkg] = module
    exec(compile("\n".join(kept), spec.origin, "exec"), module.__dict__)
    if "." in pkg:
        parent, child = pkg.rsplit(".", 1)
        setattr(sys.modules[parent], child, module)
