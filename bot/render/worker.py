"""The chart worker process, started by the renderer (``BOOT`` below).

It reads calls from its stdin and writes results to its stdout, one frame each (an 8-byte length,
then a pickle): a call is ``(function, args)`` (the function travels by name), a result is
``("ok", value)`` or ``("error", exception)``. One call at a time, in order.

Why a plain pipe rather than ``multiprocessing``: a spawned pool also starts a resource-tracker
process (~12 MB) and re-imports the bot's main module in the worker; this process imports only
what the charts need. It exits when its stdin closes (the kernel closes it however the bot
ends, even by SIGKILL), and, in the middle of a chart, when it finds it has lost its parent.
"""

from __future__ import annotations

import gc
import os
import pickle
import struct
import sys
import threading
import time
from typing import IO, Any

from bot.memory import map_large_blocks_apart, release_freed_memory

_HEADER = struct.Struct(">Q")
MAX_FRAME = 1 << 30  # no chart or report comes near; a larger length is a corrupt stream


def write_frame(out: IO[bytes], payload: bytes) -> None:
    out.write(_HEADER.pack(len(payload)))
    out.write(payload)
    out.flush()


def read_frame(src: IO[bytes]) -> bytes | None:
    """The next frame's payload; None at end of stream (the other side is gone)."""
    head = src.read(_HEADER.size)
    if len(head) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(head)
    if size > MAX_FRAME:
        raise ValueError(f"corrupt frame: length {size}")
    payload = src.read(size)
    return payload if len(payload) == size else None


def _answer(call: bytes) -> bytes:
    try:
        fn, args = pickle.loads(call)
        result: tuple[str, Any] = ("ok", fn(*args))
    except Exception as exc:  # the caller re-raises it; the worker serves the next call
        result = ("error", exc)
    try:
        return pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # an exception (or value) that does not pickle
        return pickle.dumps(("error", RuntimeError(f"{result[0]}: {result[1]!r} ({exc})")))
    finally:
        del result
        _clean_up()


def _clean_up() -> None:
    """After each call: a figure is a web of reference cycles that only the cyclic collector
    frees (until it runs, its canvas and arrays stay allocated), then the freed heap goes back
    to the OS, off the bot's loop (figures: README, "Figures behind the code")."""
    gc.collect()
    release_freed_memory()


def _exit_with_parent(poll_s: float = 0.5) -> None:
    """Leave as soon as the bot is gone, even in the middle of a chart (a stuck one would never
    read its closed stdin): an orphan is re-parented, so the parent's pid changes."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_s)
        os._exit(0)

    threading.Thread(target=watch, name="liqbot-parent-watch", daemon=True).start()


# How the bot starts this process: ``python -I -c BOOT``. The first frame is the bot's sys.path,
# set before anything of the bot is imported, so the worker finds modules (a test's too) where
# the bot found them, in the same order (the standard library is never shadowed).
BOOT = (
    "import pickle, struct, sys\n"
    "head = sys.stdin.buffer.read(8)\n"
    "if len(head) == 8:\n"
    "    sys.path[:] = pickle.loads(sys.stdin.buffer.read(struct.unpack('>Q', head)[0]))\n"
    "    from bot.render.worker import main\n"
    "    main()\n"
)


def main() -> None:
    _exit_with_parent()
    map_large_blocks_apart()
    src = sys.stdin.buffer
    # The protocol gets its own copy of stdout; fd 1 then points at stderr, so a stray print
    # (a library's warning) can never corrupt a frame.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    while (call := read_frame(src)) is not None:
        try:
            write_frame(out, _answer(call))
        except BrokenPipeError:  # the bot is gone
            return


if __name__ == "__main__":
    main()
