"""Give freed heap back to the OS after the big passes.

A refresh, the maps drawn after it and a digest round allocate and free tens of MB of numpy
temporaries, across the event loop's and the report worker thread (and the chart worker process
after each chart); glibc keeps the freed pages in its arenas, so RSS stays at the high-water mark
(measured: 308 MB steady, 257 MB after ``malloc_trim``; benchmarks/bench_memory.py). Trimming
costs a few ms; elsewhere it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable


@functools.cache
def _trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        trim = getattr(libc, "malloc_trim", None)
    except OSError:
        return None
    return trim if callable(trim) else None


def release_freed_memory() -> None:
    """``malloc_trim(0)`` where glibc has it."""
    trim = _trim()
    if trim is not None:
        trim(0)
