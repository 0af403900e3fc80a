"""How much memory the allocators hold for live objects, as opposed to RSS.

After a large free, glibc and pymalloc keep the pages: RSS stays high, and a new leak refills
them without RSS moving. These two numbers move with live data instead:

- ``pymalloc_blocks``: live blocks of Python's small-object allocator (objects up to 512
  bytes), ``sys.getallocatedblocks()``, O(1).
- ``malloc_in_use_bytes``: bytes glibc's malloc has handed out and not had back, which holds
  every larger object (big strings and bytes, list and dict storage). From ``mallinfo2()``;
  None where the C library has no such call (musl, macOS).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from typing import Any


class _Mallinfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
            "uordblks", "fordblks", "keepcost",
        )
    ]  # fmt: skip


def _load_mallinfo2() -> Any:
    # Written by hand: no maintained package exposes glibc's mallinfo2 (psutil reports RSS
    # and USS, which keep freed pages).
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        fn = ctypes.CDLL(name).mallinfo2
    except (OSError, AttributeError):
        return None
    fn.restype = _Mallinfo2
    fn.argtypes = []
    return fn


_MALLINFO2 = _load_mallinfo2()


def malloc_in_use_bytes() -> int | None:
    """Bytes in use from malloc: small chunks from its arenas plus its own mmapped chunks."""
    if _MALLINFO2 is None:
        return None
    info = _MALLINFO2()
    return int(info.uordblks + info.hblkhd)


def allocator_state() -> dict[str, int | None]:
    return {
        "pymalloc_blocks": sys.getallocatedblocks(),
        "malloc_in_use_bytes": malloc_in_use_bytes(),
    }
