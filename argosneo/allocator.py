"""Keep the C allocator from handing per-chunk buffers back to the operating system.

A streaming run allocates and frees the same multi-megabyte arrays (samples, channel rows,
spectra) dozens of times a second. With glibc's defaults, blocks that large are ``mmap``-ed and
unmapped (or trimmed off the heap) on every free, and every page faults in again on the next
chunk. Raising the two thresholds keeps them in the heap for reuse. Measured on 120 s of
2.4 MS/s ``cu8`` (``argosneo replay``, one core): minor page faults 73 000 → 24 000, system
time 0.28–0.40 s → 0.19 s, peak RSS unchanged (≈ 243 MB).
"""

from __future__ import annotations

import ctypes

#: mallopt parameter numbers from glibc's <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: Blocks below this are served from the heap, never ``mmap``-ed (bytes).
MMAP_THRESHOLD_BYTES = 64 << 20
#: Free memory at the top of the heap is returned to the OS only beyond this (bytes).
TRIM_THRESHOLD_BYTES = 256 << 20


def keep_freed_memory() -> bool:
    """Raise glibc's ``mmap`` and trim thresholds for this process; False where the C library
    is not glibc (nothing changed)."""
    try:
        # the running process already has its C library loaded: look the symbol up there rather
        # than searching for the library file (find_library may run ldconfig)
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))
