"""Numba kernels of the PTM engine: fused group matrices and their application (the reverse
sweep of gradients is in :mod:`qnoise.sim.reverse`, the observable's light cone in
:mod:`qnoise.sim.cone`).

A compiled program is a list of *groups*, each acting on one or two qubits with a local PTM
``K`` (4×4 or 16×16) that is the product of the group's *factors*. A factor is either constant
or a Pauli rotation ``M0 + cos(a) M1 + sin(a) M2`` with angle ``a = angles[slot]``.

Array layout (all C-contiguous):

* ``groups``  int64 (G, 4): ``[first factor, end factor, qa, qb]``; ``qb = -1`` for 1-qubit
  groups. The local Pauli index is ``d_qa + 4·d_qb``.
* ``factors`` int64 (F, 2): ``[kind, slot]``; kind 0 constant, 1 rotation on local qubit 0 of a
  2-qubit group (4×4 parts), 2 rotation on local qubit 1 (4×4 parts), 3 rotation on the whole
  group (parts of the group's size).
* ``mats``    float64 (F, 3, 16, 16): the parts (``M0`` only for constants), top-left block used
  for 4×4 parts.
* the state ``x`` holds Pauli expectations ``Tr(P_k ρ)``, length ``4**n``, little-endian.

The tables travel together with the angles as a :class:`qnoise.sim.records.Program`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from qnoise.sim.records import PairLayout, Program
from qnoise.sim.simd import apply_runs, apply_two_groups, correlate_runs

KIND_CONST = 0
KIND_LOCAL0 = 1
KIND_LOCAL1 = 2
KIND_FULL = 3

_CACHE = True
# Paths of apply_group / adjoint_group: a pair whose lower qubit is >= 1 goes to the SIMD
# kernels of qnoise.sim.simd; a pair on qubits 0 and 1 is one (4**(n-2), 16) matrix for BLAS
# (in chunks of _ROW_CHUNK rows); other pairs with qubit 0, and 1-qubit groups, gather the
# local Pauli components of up to _WIDTH blocks as the columns of a (d, _WIDTH) matrix for
# BLAS; states with fewer than _SMALL blocks use direct loops.
_WIDTH = 128
_SMALL = 64
_ROW_CHUNK = 1024
# states up to this many entries (32 MiB) alternate between two buffers (no copies); larger
# ones are updated in place, since writing a second large array costs memory bandwidth
_PING_PONG_MAX = 2**22


@njit(cache=_CACHE, nogil=True)
def _factor_matrix(f, factors, mats, angles, d, out):
    """Embedded d×d matrix of factor ``f`` (and nothing else) into ``out``."""
    _embedded(f, factors, mats, angles, d, out, False)


@njit(cache=_CACHE, nogil=True)
def _rotation_weights(a, derivative):
    """Weights of the parts ``M0, M1, M2`` of a rotation factor at angle ``a``:
    ``F = M0 + cos a·M1 + sin a·M2``, ``dF/da = cos a·M2 - sin a·M1``."""
    cs = np.cos(a)
    sn = np.sin(a)
    if derivative:
        return 0.0, -sn, cs
    return 1.0, cs, sn


@njit(cache=_CACHE, nogil=True)
def _embedded(f, factors, mats, angles, d, out, derivative):
    """Embedded d×d matrix of factor ``f``, or of its angle derivative ``dF/da`` (rotation
    factors only), into ``out``."""
    kind = factors[f, 0]
    if kind == KIND_CONST:
        for r in range(d):
            for c in range(d):
                out[r, c] = mats[f, 0, r, c]
        return
    w0, w1, w2 = _rotation_weights(angles[factors[f, 1]], derivative)
    if kind == KIND_FULL:
        for r in range(d):
            for c in range(d):
                out[r, c] = w0 * mats[f, 0, r, c] + w1 * mats[f, 1, r, c] + w2 * mats[f, 2, r, c]
        return
    for r in range(16):
        for c in range(16):
            out[r, c] = 0.0
    for r in range(4):
        for c in range(4):
            v = w0 * mats[f, 0, r, c] + w1 * mats[f, 1, r, c] + w2 * mats[f, 2, r, c]
            for o in range(4):
                if kind == KIND_LOCAL0:
                    out[r + 4 * o, c + 4 * o] = v
                else:
                    out[o + 4 * r, o + 4 * c] = v


@njit(cache=_CACHE, nogil=True)
def group_matrix(g, groups, factors, mats, angles, k_out, tmp, fm):
    """Fused matrix of group ``g`` into ``k_out`` (product of its factors, first applied
    first); ``tmp`` and ``fm`` are 16×16 work buffers."""
    d = 16 if groups[g, 3] >= 0 else 4
    factor_product(groups[g, 0], groups[g, 1], d, factors, mats, angles, k_out, (tmp, fm))


@njit(cache=_CACHE, nogil=True)
def factor_times(kind, fac, src, dst, d, transpose):
    """``dst = F src`` (or ``Fᵀ src``) for a factor stored dense (d×d) or, for 1-qubit
    rotations in a pair, as its 4×4 block (embedded without forming the 16×16)."""
    if kind == KIND_LOCAL0 or kind == KIND_LOCAL1:
        for a in range(16):
            for col in range(16):
                dst[a, col] = 0.0
        for r in range(4):
            for c in range(4):
                m = fac[c, r] if transpose else fac[r, c]
                if m == 0.0:
                    continue
                for o in range(4):
                    row = local_index(kind, r, o)
                    src_row = local_index(kind, c, o)
                    for col in range(16):
                        dst[row, col] += m * src[src_row, col]
        return
    for r in range(d):
        for col in range(d):
            dst[r, col] = 0.0
        for j in range(d):
            m = fac[j, r] if transpose else fac[r, j]
            if m != 0.0:
                for col in range(d):
                    dst[r, col] += m * src[j, col]


@njit(cache=_CACHE, nogil=True)
def local_run(f, f_end, factors, mats, angles, m, step, product):
    """Product (4×4, into ``m``; first applied first) of the run of 1-qubit rotations on one
    local qubit that starts at factor ``f`` and ends at ``f_end`` at the latest; returns the
    index of the run's last factor. ``step`` and ``product`` are 4×4 work buffers."""
    kind = factors[f, 0]
    factor_block(f, factors, mats, angles, 4, m, False)
    while f + 1 < f_end and factors[f + 1, 0] == kind:
        f += 1
        factor_block(f, factors, mats, angles, 4, step, False)
        for r in range(4):
            for c in range(4):
                acc = 0.0
                for j in range(4):
                    acc += step[r, j] * m[j, c]
                product[r, c] = acc
        for r in range(4):
            for c in range(4):
                m[r, c] = product[r, c]
    return f


# inlined: its two work buffers travel as a tuple, built and unpacked in the caller
@njit(cache=_CACHE, nogil=True, inline="always")
def factor_product(f0, f_end, d, factors, mats, angles, k_out, scratch):
    """Product of factors ``f0 .. f_end-1`` (first applied first; the identity when there
    are none) as a d×d matrix into ``k_out``. Consecutive 1-qubit rotations on the same local
    qubit are multiplied as 4×4 blocks before being embedded. ``scratch = (tmp, fm)``, two
    16×16 work buffers."""
    tmp, fm = scratch
    if f0 == f_end:
        for r in range(d):
            for c in range(d):
                k_out[r, c] = 1.0 if r == c else 0.0
        return
    _factor_matrix(f0, factors, mats, angles, d, k_out)
    # 4×4 scratch blocks inside fm (free in the 1-qubit branch)
    m = fm[0:4, 0:4]
    step = fm[4:8, 0:4]
    product = fm[8:12, 0:4]
    f = f0 + 1
    while f < f_end:
        kind = factors[f, 0]
        if kind == KIND_LOCAL0 or kind == KIND_LOCAL1:
            f = local_run(f, f_end, factors, mats, angles, m, step, product)
            factor_times(kind, m, k_out, tmp, d, False)
        else:
            _factor_matrix(f, factors, mats, angles, d, fm)
            factor_times(kind, fm, k_out, tmp, d, False)
        for r in range(d):
            for c in range(d):
                k_out[r, c] = tmp[r, c]
        f += 1


@njit(cache=_CACHE, nogil=True)
def local_index(kind, r, o):
    """Index in the 16-dim pair space of local digit ``r`` on the factor's qubit and ``o`` on
    the other qubit."""
    return r + 4 * o if kind == KIND_LOCAL0 else o + 4 * r


@njit(cache=_CACHE, nogil=True)
def pair_layout(qa, qb, n, off):
    """The :class:`~qnoise.sim.records.PairLayout` of a group on qubits ``qa, qb`` (``qb =
    -1``: one qubit) of an ``n``-qubit state, with the offsets of its local Pauli indices
    (``d_qa + 4·d_qb``) from a block's start written to ``off``."""
    if qb < 0:
        for la in range(4):
            off[la] = la * 4**qa
        lo = qa
        hi = qa
        n_mid = 1
        s_mid = 0
    else:
        for lb in range(4):
            for la in range(4):
                off[la + 4 * lb] = la * 4**qa + lb * 4**qb
        lo = min(qa, qb)
        hi = max(qa, qb)
        n_mid = 4 ** (hi - lo - 1)
        s_mid = 4 ** (lo + 1)
    return PairLayout(4 ** (n - 1 - hi), 4 ** (hi + 1), n_mid, s_mid, 4**lo)


@njit(cache=_CACHE, nogil=True)
def block_count(layout):
    """The number of blocks of a :class:`~qnoise.sim.records.PairLayout`."""
    return layout.n_high * layout.n_mid * layout.n_low


@njit(cache=_CACHE, nogil=True)
def block_bases(first, count, layout, bases):
    """Base indices of the flat blocks ``first .. first+count-1`` of a layout (low index
    fastest)."""
    low = first % layout.n_low
    rest = first // layout.n_low
    m = rest % layout.n_mid
    h = rest // layout.n_mid
    for i in range(count):
        bases[i] = h * layout.s_high + m * layout.s_mid + low
        low += 1
        if low == layout.n_low:
            low = 0
            m += 1
            if m == layout.n_mid:
                m = 0
                h += 1


@njit(cache=_CACHE, nogil=True)
def _apply_small(src, dst, kt, off, d, layout):
    """Direct loops for tiny states, where a BLAS call would cost more than the work."""
    v = np.empty(16)
    acc = np.empty(16)
    n_blocks = block_count(layout)
    bases = np.empty(n_blocks, dtype=np.int64)
    block_bases(0, n_blocks, layout, bases)
    for block in range(n_blocks):
        base = bases[block]
        for c in range(d):
            v[c] = src[base + off[c]]
        for r in range(d):
            acc[r] = 0.0
        for c in range(d):
            vc = v[c]
            for r in range(d):
                acc[r] += kt[c, r] * vc
        for r in range(d):
            dst[base + off[r]] = acc[r]


@njit(cache=_CACHE, nogil=True)
def _gather(vec, bases, count, off, d, buf):
    """``buf[c, j] = vec[bases[j] + off[c]]``: block j as column j (consecutive blocks of the
    lowest qubit's run are consecutive in memory, so each row reads a contiguous stretch)."""
    for c in range(d):
        shift = off[c]
        for j in range(count):
            buf[c, j] = vec[bases[j] + shift]


@njit(cache=_CACHE, nogil=True)
def _scatter(vec, bases, count, off, d, buf):
    """Inverse of ``_gather``."""
    for c in range(d):
        shift = off[c]
        for j in range(count):
            vec[bases[j] + shift] = buf[c, j]


@njit(cache=_CACHE, nogil=True)
def _apply_blocks(src, dst, k, off, d, layout):
    """Blocks gathered as columns of a (d, W) matrix and multiplied by K with BLAS."""
    n_blocks = block_count(layout)
    width = min(_WIDTH, n_blocks)
    buf = np.empty((d, width))
    res = np.empty((d, width))
    bases = np.empty(width, dtype=np.int64)
    kd = np.ascontiguousarray(k[:d, :d])
    for first in range(0, n_blocks, width):
        count = min(width, n_blocks - first)
        block_bases(first, count, layout, bases)
        _gather(src, bases, count, off, d, buf)
        if count == width:
            np.dot(kd, buf, res)
        else:
            res[:, :count] = np.dot(kd, np.ascontiguousarray(buf[:, :count]))
        _scatter(dst, bases, count, off, d, res)


@njit(cache=_CACHE, nogil=True)
def _pair_index(i, qa_is_low):
    """Index ``d_qa + 4·d_qb`` (K's order) of the pair index ``i = d_lo + 4·d_hi``."""
    return i if qa_is_low else 4 * (i % 4) + i // 4


@njit(cache=_CACHE, nogil=True)
def _to_low_high_order(k, qa_is_low, kp):
    """``kp`` = K indexed ``d_lo + 4·d_hi`` (K itself is indexed ``d_qa + 4·d_qb``)."""
    for r in range(16):
        for c in range(16):
            kp[r, c] = k[_pair_index(r, qa_is_low), _pair_index(c, qa_is_low)]


@njit(cache=_CACHE, nogil=True)
def _is_lowest_pair(d, layout):
    """Whether a group acts on qubits 0 and 1 of a state large enough for BLAS: the state
    is then one (4**(n-2), 16) matrix, multiplied by Kᵀ without a gather."""
    return d == 16 and layout.n_mid == 1 and layout.n_low == 1 and block_count(layout) >= _SMALL


@njit(cache=_CACHE, nogil=True)
def _apply_lowest_pair(src, dst, k, qa_is_0, n, kp):
    """``apply_group`` on qubits 0 and 1: the (4**(n-2), 16) matrix times Kᵀ in chunks of
    rows (through a small temporary when ``dst`` is ``src``); ``kp`` is a 16×16 work
    buffer."""
    stacks = 4 ** (n - 2)
    in_place = src.ctypes.data == dst.ctypes.data
    for r in range(16):
        for c in range(16):
            kp[r, c] = k[_pair_index(c, qa_is_0), _pair_index(r, qa_is_0)]
    rows = min(_ROW_CHUNK, stacks)
    tmp = np.empty((rows, 16))
    src2 = src.reshape(stacks, 16)
    dst2 = dst.reshape(stacks, 16)
    for start in range(0, stacks, rows):
        if in_place:
            np.dot(src2[start : start + rows], kp, tmp)
            dst2[start : start + rows] = tmp
        else:
            np.dot(src2[start : start + rows], kp, dst2[start : start + rows])


@njit(cache=_CACHE, nogil=True)
def apply_group(src, dst, k, qa, qb, n, kt, off):
    """``dst <- (K on qubits qa, qb) src`` (``dst`` may be ``src``; separate arrays are
    faster while both fit in cache). ``qb = -1`` for a 1-qubit K. ``kt`` (16×16) and ``off``
    (16) are work buffers."""
    layout = pair_layout(qa, qb, n, off)
    d = 16 if qb >= 0 else 4
    if d == 16 and layout.n_low >= 4:
        kt[:, :] = k[:16, :16]  # the SIMD kernel reads a C-contiguous 16×16
        apply_runs(src, dst, kt, off, layout)
        return
    if _is_lowest_pair(d, layout):
        _apply_lowest_pair(src, dst, k, qa == 0, n, kt)
        return
    if block_count(layout) < _SMALL:
        for r in range(d):
            for c in range(d):
                kt[c, r] = k[r, c]
        _apply_small(src, dst, kt, off, d, layout)
    else:
        _apply_blocks(src, dst, k, off, d, layout)


@njit(cache=_CACHE, nogil=True)
def _adjoint_small(vectors, k, off, d, layout, corr):
    """Direct loops for tiny states (see ``_apply_small``)."""
    lam, lam_out, x = vectors
    lv = np.empty(16)
    xv = np.empty(16)
    acc = np.empty(16)
    n_blocks = block_count(layout)
    bases = np.empty(n_blocks, dtype=np.int64)
    block_bases(0, n_blocks, layout, bases)
    for block in range(n_blocks):
        base = bases[block]
        for c in range(d):
            lv[c] = lam[base + off[c]]
            xv[c] = x[base + off[c]]
            acc[c] = 0.0
        for r in range(d):
            lr = lv[r]
            for c in range(d):
                corr[r, c] += lr * xv[c]
                acc[c] += k[r, c] * lr
        for c in range(d):
            lam_out[base + off[c]] = acc[c]


@njit(cache=_CACHE, nogil=True)
def _adjoint_blocks(vectors, kt, off, d, layout, corr):
    """Reverse step on blocks as columns: ``corr += Λ Xᵀ``, ``Λ <- Kᵀ Λ`` (BLAS)."""
    lam, lam_out, x = vectors
    n_blocks = block_count(layout)
    width = min(_WIDTH, n_blocks)
    lbuf = np.empty((d, width))
    xbuf = np.empty((d, width))
    res = np.empty((d, width))
    part = np.empty((d, d))
    bases = np.empty(width, dtype=np.int64)
    ktd = np.ascontiguousarray(kt[:d, :d])
    for first in range(0, n_blocks, width):
        count = min(width, n_blocks - first)
        block_bases(first, count, layout, bases)
        _gather(lam, bases, count, off, d, lbuf)
        _gather(x, bases, count, off, d, xbuf)
        if count == width:
            np.dot(lbuf, xbuf.T, part)
            np.dot(ktd, lbuf, res)
        else:
            lpart = np.ascontiguousarray(lbuf[:, :count])
            part[:, :] = np.dot(lpart, np.ascontiguousarray(xbuf[:, :count]).T)
            res[:, :count] = np.dot(ktd, lpart)
        corr[:d, :d] += part
        _scatter(lam_out, bases, count, off, d, res)


@njit(cache=_CACHE, nogil=True)
def _adjoint_lowest_pair(vectors, k, qa_is_0, n, corr, kp):
    """``adjoint_group`` on qubits 0 and 1, on the (4**(n-2), 16) matrices of
    ``_apply_lowest_pair``, in chunks of rows that stay in cache for both products."""
    lam, lam_out, x = vectors
    _to_low_high_order(k, qa_is_0, kp)
    stacks = 4 ** (n - 2)
    rows = min(_ROW_CHUNK, stacks)
    part = np.zeros((16, 16))
    chunk_part = np.empty((16, 16))
    lam2 = lam.reshape(stacks, 16)
    x2 = x.reshape(stacks, 16)
    out2 = lam_out.reshape(stacks, 16)
    for start in range(0, stacks, rows):
        lam_rows = lam2[start : start + rows]
        np.dot(lam_rows.T, x2[start : start + rows], chunk_part)
        part += chunk_part
        np.dot(lam_rows, kp, out2[start : start + rows])
    _add_low_high_part(corr, part, qa_is_0)


@njit(cache=_CACHE, nogil=True)
def _add_low_high_part(corr, part, qa_is_low):
    """``corr += part`` with ``part`` indexed ``d_lo + 4·d_hi`` (corr uses K's indexing)."""
    for r in range(16):
        for c in range(16):
            corr[_pair_index(r, qa_is_low), _pair_index(c, qa_is_low)] += part[r, c]


@njit(cache=_CACHE, nogil=True)
def adjoint_group(vectors, k, qa, qb, n, corr, off, kt):
    """Reverse step with :class:`~qnoise.sim.records.AdjointVectors` ``(λ, λ_out, x)``:
    ``corr += Σ_rest λ_loc x_locᵀ`` and ``λ_out = Kᵀ λ`` (``lam_out`` a different array
    from ``lam``)."""
    layout = pair_layout(qa, qb, n, off)
    d = 16 if qb >= 0 else 4
    if d == 16 and layout.n_low >= 4:
        for r in range(16):
            for c in range(16):
                kt[c, r] = k[r, c]
        apply_runs(vectors.lam, vectors.lam_out, kt, off, layout)
        correlate_runs(vectors.lam, vectors.x, corr, off, layout)
        return
    if _is_lowest_pair(d, layout):
        _adjoint_lowest_pair(vectors, k, qa == 0, n, corr, kt)
        return
    if block_count(layout) < _SMALL:
        _adjoint_small(vectors, k, off, d, layout, corr)
        return
    for r in range(d):
        for c in range(d):
            kt[c, r] = k[r, c]
    _adjoint_blocks(vectors, kt, off, d, layout, corr)


@njit(cache=_CACHE, nogil=True)
def shared_qubit(groups, g, g_end):
    """The qubit that 2-qubit groups ``g`` and ``g + 1`` share, when they share exactly one
    and all three qubits are >= 1 (so :func:`qnoise.sim.simd.apply_two_groups` applies them
    in one pass); -1 otherwise."""
    if g + 1 >= g_end:
        return -1
    a1, b1, a2, b2 = groups[g, 2], groups[g, 3], groups[g + 1, 2], groups[g + 1, 3]
    if b1 < 0 or b2 < 0 or min(a1, b1, a2, b2) < 1:
        return -1
    if (a1 == a2) + (a1 == b2) + (b1 == a2) + (b1 == b2) != 1:
        return -1
    return a1 if a1 == a2 or a1 == b2 else b1


@njit(cache=_CACHE, nogil=True)
def pair_matrices(groups, g, shared, k1, k2, k1c, k2c):
    """Qubits ``a`` (of group g only) and ``b`` (of group g + 1 only) of two groups that share
    ``shared``, and their matrices in the orders :func:`~qnoise.sim.simd.apply_two_groups`
    takes: ``k1c`` indexed ``d_a + 4·d_shared``, ``k2c`` indexed ``d_shared + 4·d_b``."""
    a = groups[g, 2] + groups[g, 3] - shared
    b = groups[g + 1, 2] + groups[g + 1, 3] - shared
    _to_low_high_order(k1, groups[g, 2] == a, k1c)
    _to_low_high_order(k2, groups[g + 1, 2] == shared, k2c)
    return a, b


@njit(cache=_CACHE, nogil=True)
def run_groups(x, scratch, g_start, g_end, program, n):
    """Apply groups ``g_start..g_end-1`` to ``x`` in place; ``scratch`` (a second state) is
    used to alternate buffers for states up to ``_PING_PONG_MAX`` entries. Two consecutive
    groups that share one qubit go through the state in one pass (see ``shared_qubit``)."""
    groups, factors, mats, angles = program
    k = np.empty((16, 16))
    k2 = np.empty((16, 16))
    k1c = np.empty((16, 16))
    k2c = np.empty((16, 16))
    tmp = np.empty((16, 16))
    fm = np.empty((16, 16))
    kt = np.empty((16, 16))
    off = np.empty(16, dtype=np.int64)
    ping_pong = x.shape[0] <= _PING_PONG_MAX
    src, dst = x, (scratch if ping_pong else x)
    passes = 0
    g = g_start
    while g < g_end:
        group_matrix(g, groups, factors, mats, angles, k, tmp, fm)
        shared = shared_qubit(groups, g, g_end)
        if shared >= 0:
            group_matrix(g + 1, groups, factors, mats, angles, k2, tmp, fm)
            a, b = pair_matrices(groups, g, shared, k, k2, k1c, k2c)
            apply_two_groups(src, dst, k1c, k2c, (a, shared, b), n)
            g += 2
        else:
            apply_group(src, dst, k, groups[g, 2], groups[g, 3], n, kt, off)
            g += 1
        if ping_pong:
            src, dst = dst, src
            passes += 1
    if ping_pong and passes % 2 == 1:
        x[:] = scratch


@njit(cache=_CACHE, nogil=True)
def run_from_zero(x, scratch, g_end, program, n):
    """``x <- (groups 0 .. g_end-1) |0…0⟩`` (the state of ``4**n`` entries; ``scratch`` as
    for :func:`run_groups`).

    Until the groups have touched every qubit, the state is kept on the qubits touched so
    far (the others are still in |0⟩): a group that reaches a new qubit first inserts that
    qubit's |0⟩ into the state, then acts on a state of ``4**k`` entries, k the number of
    qubits touched. A ladder of gates from qubit 0 up thus costs about one full-size group
    instead of ``n - 1``. The remaining groups go through :func:`run_groups`.
    """
    groups, factors, mats, angles = program
    touched = np.zeros(n, dtype=np.bool_)
    inserted = np.empty(max(n, 2), dtype=np.int64)  # positions (touch_qubits: 2, touch_all: n)
    k = np.empty((16, 16))
    tmp = np.empty((16, 16))
    fm = np.empty((16, 16))
    kt = np.empty((16, 16))
    off = np.empty(16, dtype=np.int64)
    count = 0  # qubits touched; the state holds 4**count entries
    x[0] = 1.0
    g = 0
    while g < g_end and count < n:
        qa = groups[g, 2]
        qb = groups[g, 3]
        count = touch_qubits(x, touched, count, qa, qb, inserted)
        group_matrix(g, groups, factors, mats, angles, k, tmp, fm)
        pb = touched_rank(touched, qb) if qb >= 0 else -1
        size = 4**count
        apply_group(x[:size], x[:size], k, touched_rank(touched, qa), pb, count, kt, off)
        g += 1
    touch_all(x, touched, count, inserted)  # qubits no group before g_end touches
    run_groups(x, scratch, g, g_end, program, n)


@njit(cache=_CACHE, nogil=True)
def touch_qubits(x, touched, count, qa, qb, inserted):
    """Insert |0⟩ into the state ``x[:4**count]`` (on the ``touched`` qubits) for each of
    ``qa, qb`` not touched yet (``qb = -1`` for none), in that order, and mark them; the
    positions they were inserted at go to ``inserted[0], inserted[1]`` (-1 for none).
    Returns the new number of touched qubits."""
    inserted[0] = -1
    inserted[1] = -1
    j = 0
    for q in (qa, qb):
        count, j = _touch(x, touched, count, q, inserted, j)
    return count


@njit(cache=_CACHE, nogil=True)
def touch_all(x, touched, count, inserted):
    """:func:`touch_qubits` for every qubit not touched yet, in increasing order; the
    positions go to ``inserted`` (at least n long; -1 after the last). Returns n."""
    inserted[:] = -1
    j = 0
    for q in range(touched.shape[0]):
        count, j = _touch(x, touched, count, q, inserted, j)
    return count


@njit(cache=_CACHE, nogil=True)
def _touch(x, touched, count, q, inserted, j):
    """Insert qubit ``q`` in |0⟩ into ``x[:4**count]`` unless it is touched already (or
    -1), recording its position in ``inserted[j]``; returns the new count and next j."""
    if q < 0 or touched[q]:
        return count, j
    inserted[j] = touched_rank(touched, q)
    _insert_zero_qubit(x, 4**count, inserted[j])
    touched[q] = True
    return count + 1, j + 1


@njit(cache=_CACHE, nogil=True)
def touched_rank(touched, q):
    """Position of qubit ``q`` among the touched qubits (those below it)."""
    rank = 0
    for p in range(q):
        if touched[p]:
            rank += 1
    return rank


@njit(cache=_CACHE, nogil=True)
def _insert_zero_qubit(x, length, position):
    """Insert a qubit in |0⟩ (Pauli components 1, 0, 0, 1) as digit ``position`` of the
    state held in ``x[:length]``, in place (``x`` must hold ``4 · length`` entries). Entries
    are moved from the last one down: each lands at an index no lower than its own."""
    low = 4**position
    for old in range(length - 1, -1, -1):
        value = x[old]
        base = (old // low) * 4 * low + old % low
        x[base + 3 * low] = value
        x[base + 2 * low] = 0.0
        x[base + low] = 0.0
        x[base] = value


@njit(cache=_CACHE, nogil=True)
def states_batch(groups, factors, mats, angles_batch, n, out):
    """Final Pauli vectors (from |0…0⟩) for each row of ``angles_batch`` into ``out``
    (B, 4**n)."""
    scratch = np.empty(out.shape[1])
    for b in range(angles_batch.shape[0]):
        program = Program(groups, factors, mats, angles_batch[b])
        run_from_zero(out[b], scratch, groups.shape[0], program, n)


@njit(cache=_CACHE, nogil=True)
def run_states(states, program, n):
    """Apply every group of ``program`` to each row of ``states`` (B, 4**n) in place: the
    program acting on given initial Pauli vectors instead of |0…0⟩."""
    scratch = np.empty(states.shape[1])
    for b in range(states.shape[0]):
        run_groups(states[b], scratch, 0, program.groups.shape[0], program, n)


@njit(cache=_CACHE, nogil=True)
def factor_block(f, factors, mats, angles, d, out, derivative):
    """Factor ``f`` (or its angle derivative) as stored for ``factor_times``."""
    kind = factors[f, 0]
    if kind == KIND_LOCAL0 or kind == KIND_LOCAL1:
        w0, w1, w2 = _rotation_weights(angles[factors[f, 1]], derivative)
        for r in range(4):
            for c in range(4):
                out[r, c] = w0 * mats[f, 0, r, c] + w1 * mats[f, 1, r, c] + w2 * mats[f, 2, r, c]
    else:
        _embedded(f, factors, mats, angles, d, out, derivative)


@njit(cache=_CACHE, nogil=True)
def affine_angles(params, start, parameter, coefficient, offset, out):
    """``out = params @ A.T + offset`` for (B, P) parameters and the sparse rows of the
    (S, P) affine map ``A`` (slot s: ``coefficient[e]`` of parameter ``parameter[e]`` for
    ``start[s] <= e < start[s + 1]``), summed in parameter order (one rounding for every
    caller)."""
    for b in range(params.shape[0]):
        for s in range(offset.shape[0]):
            acc = 0.0
            for e in range(start[s], start[s + 1]):
                acc += params[b, parameter[e]] * coefficient[e]
            out[b, s] = acc + offset[s]
