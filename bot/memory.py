"""Give freed heap back to the OS after the big passes.

A refresh, the maps drawn after it and a digest round allocate and free tens of MB of numpy
temporaries, across the event loop's and the report worker thread (and the chart worker process
after each chart); glibc keeps the freed pages in its arenas, so RSS stays at the high-water mark
unless trimmed (figures: README, "Figures behind the code"). Elsewhere it does nothing.
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


M_MMAP_THRESHOLD = -3  # mallopt's parameter number (malloc.h)


@functools.cache
def _mallopt() -> Callable[[int, int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        fn = getattr(ctypes.CDLL(name), "mallopt", None) if name else None
    except OSError:
        return None
    return fn if callable(fn) else None


def map_large_blocks_apart(threshold: int = 128 * 1024) -> None:
    """Each block of ``threshold`` bytes or more gets its own mapping, unmapped when freed.

    glibc starts there too, but raises the threshold each time such a block is freed (up to
    32 MB); from then on numpy's large temporaries land in the heap, between small live objects,
    where freeing them cannot shrink RSS. Fixed at process start (``liqbot run``, the chart
    worker), it lowers the peak of the two (benchmarks/bench_memory.py). Elsewhere it does
    nothing."""
    set_option = _mallopt()
    if set_option is not None:
        set_option(M_MMAP_THRESHOLD, threshold)


def release_freed_memory() -> None:
    """``malloc_trim(0)`` where glibc has it."""
    trim = _trim()
    if trim is not None:
        trim(0)
