"""Batched evaluation: many parameter sets through one compiled program.

Small states (at most ``_MAX_QUBITS`` simulated qubits) are evaluated *batch-major*: the
states of a chunk of ``4**w`` parameter sets are the columns of one ``(4**n, 4**w)`` array.
At these sizes a fused 16×16 group matrix costs as much to build as to apply, and it cannot
be shared between sets, so the groups' factors are applied one by one instead: constant
factors (gates and noise, the same for every set) to the whole chunk at once with the
kernels of :mod:`qnoise.sim.kernels`, and each run of rotations on one qubit as one
4×4 matrix per set, with the sets innermost (contiguous, vectorized). Larger states, and
batches of fewer than ``_MIN_BATCH`` sets, run set by set: the growing state of
:func:`qnoise.sim.kernels.run_from_zero` up to the observable's light cone, then
:func:`qnoise.sim.cone.cone_value`.

The tables (``groups``, ``factors``, ``mats``) and the state layout are those of
:mod:`qnoise.sim.kernels`. Both paths compute the same maps; they round differently in the
last bits.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from qnoise.sim.cone import cone_value
from qnoise.sim.kernels import (
    KIND_CONST,
    KIND_FULL,
    KIND_LOCAL1,
    affine_angles,
    apply_group,
    block_bases,
    block_count,
    pair_layout,
    run_from_zero,
)
from qnoise.sim.records import MeasuredTerms, Program
from qnoise.sim.simd import aligned_rows, aligned_zeros

_CACHE = True
# batch-major evaluation for states of at most this many qubits ...
_MAX_QUBITS = 5
# ... and batches of at least this many sets
_MIN_BATCH = 8
# a chunk's state array stays within 512 KiB (two of them fit L2)
_CHUNK_BYTES = 2**19
_MAX_BATCH_QUBITS = 3  # at most 4**3 = 64 sets per chunk


def uses_batch_major(num_qubits: int, batch: int) -> bool:
    """Whether :func:`evaluate_batch` takes the batch-major path for this shape."""
    return _uses_batch_major(num_qubits, batch)


@njit(cache=_CACHE, nogil=True)
def _uses_batch_major(n, batch):
    return n <= _MAX_QUBITS and batch >= _MIN_BATCH


@njit(cache=_CACHE, nogil=True)
def _batch_qubits(n, batch):
    """``w`` such that chunks of ``4**w`` sets are used: the largest that fits the chunk
    budget, and no larger than the batch needs (padding wastes at most 3/4 of a chunk)."""
    w = 0
    while (
        w < _MAX_BATCH_QUBITS
        and 8 * 4 ** (n + w + 1) <= _CHUNK_BYTES
        and 4 ** (w + 1) <= max(batch, 1) * 4 // 3
    ):
        w += 1
    return w


@njit(cache=_CACHE, nogil=True)
def _rotation_columns(f, mats, cs, sn, slot, d, out):
    """``out[r, c, b]``: the d×d matrix (4×4 on one qubit, 16×16 on a pair) of rotation
    factor ``f`` for each set ``b``; ``cs``/``sn`` hold cos/sin of every slot, ``(S, W)``."""
    width = out.shape[2]
    for r in range(d):
        for c in range(d):
            m0 = mats[f, 0, r, c]
            m1 = mats[f, 1, r, c]
            m2 = mats[f, 2, r, c]
            for b in range(width):
                out[r, c, b] = m0 + cs[slot, b] * m1 + sn[slot, b] * m2


@njit(cache=_CACHE, nogil=True)
def _times_columns(a, m, out):
    """``out[:, :, b] = a[:, :, b] @ m[:, :, b]`` (4×4) for every set ``b``."""
    width = m.shape[2]
    for r in range(4):
        for c in range(4):
            for b in range(width):
                out[r, c, b] = (
                    a[r, 0, b] * m[0, c, b]
                    + a[r, 1, b] * m[1, c, b]
                    + a[r, 2, b] * m[2, c, b]
                    + a[r, 3, b] * m[3, c, b]
                )


@njit(cache=_CACHE, nogil=True)
def _apply_local_columns(src, dst, rot, q, n):
    """``dst[:, b] <- (rot[:, :, b] on qubit q) src[:, b]`` for states ``(4**n, W)``."""
    width = src.shape[1]
    n_low = 4**q
    s_high = 4 * n_low
    for h in range(4 ** (n - 1 - q)):
        for low in range(n_low):
            base = h * s_high + low
            x0 = src[base]
            x1 = src[base + n_low]
            x2 = src[base + 2 * n_low]
            x3 = src[base + 3 * n_low]
            for r in range(4):
                out = dst[base + r * n_low]
                for b in range(width):
                    out[b] = (
                        rot[r, 0, b] * x0[b]
                        + rot[r, 1, b] * x1[b]
                        + rot[r, 2, b] * x2[b]
                        + rot[r, 3, b] * x3[b]
                    )


@njit(cache=_CACHE, nogil=True)
def _apply_pair_columns(src, dst, k, qa, qb, n, off):
    """``dst[:, b] <- (k[:, :, b] on qubits qa, qb) src[:, b]`` (16×16 per set)."""
    layout = pair_layout(qa, qb, n, off)
    width = src.shape[1]
    n_blocks = block_count(layout)
    bases = np.empty(n_blocks, dtype=np.int64)
    block_bases(0, n_blocks, layout, bases)
    for block in range(n_blocks):
        base = bases[block]
        for r in range(16):
            out = dst[base + off[r]]
            out[:] = 0.0
            for c in range(0, 16, 4):
                x0 = src[base + off[c]]
                x1 = src[base + off[c + 1]]
                x2 = src[base + off[c + 2]]
                x3 = src[base + off[c + 3]]
                for b in range(width):
                    out[b] += (
                        k[r, c, b] * x0[b]
                        + k[r, c + 1, b] * x1[b]
                        + k[r, c + 2, b] * x2[b]
                        + k[r, c + 3, b] * x3[b]
                    )


@njit(cache=_CACHE, nogil=True)
def _evaluate_chunk(x0, chunk, n, w, terms, out):
    """Batch-major expectations ``out[b]`` for one chunk of ``4**w`` sets: ``chunk`` is a
    :class:`~qnoise.sim.records.Program` whose ``angles`` hold one row per set, ``(4**w,
    S)``; ``terms`` the observable's (:class:`~qnoise.sim.records.MeasuredTerms`).

    The chunk's states are the columns of ``x`` ``(4**n, 4**w)``, which is also a state of
    ``n + w`` qubits whose lowest ``w`` qubits index the set: a constant factor is applied
    to every set at once by :func:`qnoise.sim.kernels.apply_group` on qubits shifted by
    ``w``; a run of rotations on one qubit is multiplied into one 4×4 matrix per set and
    applied with the sets innermost. The fused group matrices are never formed.
    """
    groups, factors, mats, angles = chunk
    width = angles.shape[0]
    n_slots = angles.shape[1]
    cs = np.empty((n_slots, width))
    sn = np.empty((n_slots, width))
    for s in range(n_slots):
        for b in range(width):
            cs[s, b] = np.cos(angles[b, s])
            sn[s, b] = np.sin(angles[b, s])
    dim = x0.shape[0]
    x = aligned_rows(dim, width)
    y = aligned_rows(dim, width)
    for i in range(dim):
        for b in range(width):
            x[i, b] = x0[i]
    rot = np.empty((4, 4, width))
    step = np.empty((4, 4, width))
    prod = np.empty((4, 4, width))
    pair = np.empty((16, 16, width))
    kt = np.empty((16, 16))
    off = np.empty(16, dtype=np.int64)
    for g in range(groups.shape[0]):
        qa = groups[g, 2]
        qb = groups[g, 3]
        f = groups[g, 0]
        while f < groups[g, 1]:
            kind = factors[f, 0]
            if kind == KIND_CONST:
                qb_shifted = qb + w if qb >= 0 else -1
                apply_group(
                    x.reshape(-1), y.reshape(-1), mats[f, 0], qa + w, qb_shifted, n + w, kt, off
                )
            elif kind == KIND_FULL and qb >= 0:
                _rotation_columns(f, mats, cs, sn, factors[f, 1], 16, pair)
                _apply_pair_columns(x, y, pair, qa, qb, n, off)
            else:
                # a run of rotations on one qubit, multiplied per set
                _rotation_columns(f, mats, cs, sn, factors[f, 1], 4, rot)
                while f + 1 < groups[g, 1] and factors[f + 1, 0] == kind:
                    f += 1
                    _rotation_columns(f, mats, cs, sn, factors[f, 1], 4, step)
                    _times_columns(step, rot, prod)
                    rot[:, :, :] = prod
                _apply_local_columns(x, y, rot, qb if kind == KIND_LOCAL1 else qa, n)
            x, y = y, x
            f += 1
    for b in range(width):
        s = 0.0
        for t in range(terms.index.shape[0]):
            s += terms.coeff[t] * x[terms.index[t], b]
        out[b] = s


@njit(cache=_CACHE, nogil=True)
def evaluate_batch(x0, tables, angles_batch, n, terms, out, buffers):
    """Expectations ``out[b] = Σ_t coeff_t x_b[index_t]`` (``terms``, the fields of a
    :class:`~qnoise.sim.records.MeasuredTerms`) from the state ``x0`` for each row of
    ``angles_batch`` ``(B, S)``, ``tables = (groups, factors, mats)``: batch-major in
    chunks for small states and batches of at least ``_MIN_BATCH`` sets; otherwise set by
    set in ``buffers = (work, lam)``: the two states of ``work`` ``(2, 4**n)``, and the
    groups of the observable's light cone (see :func:`qnoise.sim.cone.cone_plan`) applied
    to the observable in ``lam`` (``4**n`` zeros, left zero) instead of the state.

    Python callers pass plain tuples (numba types them faster than named ones)."""
    groups, factors, mats = tables
    terms = MeasuredTerms(terms[0], terms[1], terms[2])
    work, lam = buffers
    batch = angles_batch.shape[0]
    if _uses_batch_major(n, batch):
        w = _batch_qubits(n, batch)
        width = 4**w
        chunk = np.zeros((width, angles_batch.shape[1]))
        values = np.empty(width)
        for first in range(0, batch, width):
            count = min(width, batch - first)
            chunk[:count] = angles_batch[first : first + count]
            _evaluate_chunk(x0, Program(groups, factors, mats, chunk), n, w, terms, values)
            out[first : first + count] = values[:count]
        return
    x = work[0]
    scratch = work[1]
    first = terms.cone[0]
    for b in range(batch):
        program = Program(groups, factors, mats, angles_batch[b])
        run_from_zero(x, scratch, first, program, n)
        out[b] = cone_value(x, lam, program, n, terms)


@njit(cache=_CACHE, nogil=True)
def evaluate_points(native, points, out):
    """``out[b] = constant + <O>(points[b])`` for a
    :class:`~qnoise.sim.records.NativeProgram` (affine angles only), as
    :meth:`qnoise.sim.program.CompiledCircuit.native_program` builds it. Compiled callers,
    such as the optimizers' native loops, evaluate through this."""
    start, parameter, coefficient = native.angle_map
    angles = np.empty((points.shape[0], native.offset.shape[0]))
    affine_angles(points, start, parameter, coefficient, native.offset, angles)
    x0 = native.x0
    work = aligned_rows(2, x0.shape[0])
    lam = aligned_zeros(x0.shape[0])
    tables = (native.groups, native.factors, native.mats)
    evaluate_batch(x0, tables, angles, native.n, native.terms, out, (work, lam))
    for b in range(out.shape[0]):
        out[b] = native.constant + out[b]
