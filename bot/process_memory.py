"""How a long-running process of the product (bot, mail server) holds its memory.

Both settings act on the whole process, so the entry points apply them, once, at start-up.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc

# Blocks this large are given their own mapping by glibc's allocator (see `map_large_blocks`).
MMAP_THRESHOLD_BYTES = 1024 * 1024
M_MMAP_THRESHOLD = -3  # mallopt's parameter number (malloc.h)


def map_large_blocks() -> None:
    """Have glibc serve blocks over `MMAP_THRESHOLD_BYTES` from their own mappings, given back
    to the system when freed (elsewhere than glibc, nothing is done).

    By default glibc raises that threshold after a large block is freed (up to 32 MiB): the
    blocks of the next large mail (its bytes, SQLite's copy, the parser's text) are then
    carved from the heaps, of the loop's thread and of the worker threads, which keep them
    once freed. Measured with a 25 MiB mail after the usual mix: peak memory +137 MiB by
    default, +98 MiB with a fixed threshold (aiosmtpd alone: +97 MiB)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)


def settle_memory() -> None:
    """Move what start-up built (libraries, catalogs, caches) out of the collector's way.

    A full collection walks every object the process holds; with ~150 MiB of start-up objects
    that is a pause of tens of milliseconds for every parent waiting at that moment. Frozen
    objects are never walked again; what the updates allocate is collected as usual.
    """
    gc.collect()
    gc.freeze()
