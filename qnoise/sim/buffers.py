"""Per-thread work memory shared by all compiled circuits.

Evaluations and gradients run in large state buffers; fresh memory on every call would
cost page faults, so each thread keeps one grow-only block per use (memory is the largest
request, not the sum). Blocks start on a cache line (:func:`qnoise.sim.simd.aligned_empty`).
"""

from __future__ import annotations

import threading

import numpy as np

from qnoise.sim.simd import aligned_empty, aligned_rows, aligned_zeros

_BLOCKS = threading.local()
#: states up to this many entries (32 MiB) are evaluated in reused per-thread buffers
REUSED_STATE_ENTRIES = 2**22


def thread_block(name: str, size: int, zeros: bool = False) -> np.ndarray:
    """``size`` floats of this thread's block ``name``, grown when too small. A ``zeros``
    block is created zero, and its users leave it so."""
    block = getattr(_BLOCKS, name, None)
    if block is None or block.size < size:
        block = aligned_zeros(size) if zeros else aligned_empty(size)
        setattr(_BLOCKS, name, block)
    return block[:size]


def evaluation_buffers(dim: int) -> tuple[np.ndarray, np.ndarray]:
    """The two state buffers ``(2, dim)`` one evaluation runs in and the zero vector of its
    light cone (``dim`` entries): this thread's blocks for states up to
    ``REUSED_STATE_ENTRIES`` entries, fresh memory for larger ones (not kept alive between
    calls)."""
    if dim > REUSED_STATE_ENTRIES:
        return aligned_rows(2, dim), aligned_zeros(dim)
    work = thread_block("evaluation", 2 * dim).reshape(2, dim)
    return work, thread_block("cone", dim, zeros=True)
