"""Reverse-mode gradients: one forward sweep that keeps the states, one reverse sweep.

The reverse sweep carries ``λ = K_{g+1}ᵀ ⋯ K_{G-1}ᵀ O`` (the observable seen before group
g + 1) and, for each group, accumulates the correlation of λ with the state before the
group, from which the derivatives of the group's rotation factors follow by small matrix
algebra (:func:`_group_gradient`). Cheaper forms of the same step:

* a group ``K = T (H ⊗ I)`` whose rotations form a 1-qubit *head* needs only a 4×4
  correlation, taken in the same SIMD pass as ``Kᵀ λ`` (:func:`adjoint_head_group`; a
  sparse tail T is applied by its non-zeros; on large states by a kernel compiled for
  T's zeros, :func:`tailored_head_group`), and a group on qubits 0 and 1 with a head on
  each only two (:func:`tailored_two_head_group`);
* states of at most 2 qubits go through a group factor by factor (:func:`_factor_sweep`);
* on large states the reverse sweep may *uncompute* each state from the one after it by
  the group's inverse instead of reading a kept state (:func:`reverse_step`; for a
  rotation head, in the same pass as the step, by a kernel compiled for the zeros of the
  group's tail, :mod:`qnoise.sim.tailored`): the forward sweep then runs in place like
  an evaluation and keeps nothing, and the reverse sweep reads and writes two states per
  group instead of reading three and writing one;
* the groups of the observable's light cone (:mod:`qnoise.sim.cone`) take their steps on
  the few blocks where λ is non-zero, and the groups that run while the state is still
  growing (:func:`qnoise.sim.kernels.run_from_zero`) take theirs on that smaller state,
  with λ summed over the qubits still in |0⟩.

Tables and index conventions are those of :mod:`qnoise.sim.kernels`.
"""

from __future__ import annotations

from functools import partial

import numpy as np
from numba import njit

from qnoise.sim.cone import block_product
from qnoise.sim.kernels import (
    KIND_CONST,
    KIND_FULL,
    KIND_LOCAL0,
    KIND_LOCAL1,
    adjoint_group,
    apply_group,
    block_bases,
    block_count,
    factor_block,
    factor_product,
    factor_times,
    group_matrix,
    local_index,
    local_run,
    pair_layout,
    pair_matrices,
    run_from_zero,
    run_groups,
    shared_qubit,
    touch_all,
    touch_qubits,
    touched_rank,
)
from qnoise.sim.records import (
    AdjointVectors,
    GradientMemory,
    GrowingStates,
    MeasuredTerms,
    Program,
    StepKernel,
    StepScratch,
    TailoredKernels,
)
from qnoise.sim.simd import (
    aligned_empty,
    apply_two_groups_keeping,
    chunk_width,
    reverse_head_runs,
)
from qnoise.sim.tailored import (
    TWO_HEAD_CHUNK,
    head_kernel,
    head_runs,
    two_head_kernel,
    two_head_runs,
)

_CACHE = True
# states up to this many entries take the reverse sweep factor by factor (_factor_sweep)
_FACTOR_SWEEP_MAX = 16


@njit(cache=_CACHE, nogil=True)
def head_length(g, groups, factors, qa, qb):
    """Number of leading factors of group ``g`` that form its *head* ``H``: when every
    rotation of a 2-qubit group on qubits >= 1 is a 1-qubit rotation on the same local qubit
    and comes before any other factor, the group is ``K = T (H ⊗ I)`` and its reverse step
    needs only a 4×4 correlation (:func:`adjoint_head_group`); 0 otherwise. ``qa, qb`` are
    the group's qubits in the state it acts on."""
    if qb < 0 or min(qa, qb) < 1:
        return 0
    f0 = groups[g, 0]
    f_end = groups[g, 1]
    kind = factors[f0, 0]
    if kind != KIND_LOCAL0 and kind != KIND_LOCAL1:
        return 0
    h = 1
    while f0 + h < f_end and factors[f0 + h, 0] == kind:
        h += 1
    for f in range(f0 + h, f_end):
        if factors[f, 0] != KIND_CONST:
            return 0
    return h


@njit(cache=_CACHE, nogil=True)
def two_head_lengths(g, groups, factors, qa, qb):
    """``(a, b)``: the numbers of leading factors of group ``g`` on qubits 0 and 1 that form
    its two heads, a run of 1-qubit rotations on one local qubit then a run on the other,
    every later factor constant (``K = T (H_a ⊗ H_b)``, the heads commuting); ``(0, 0)``
    otherwise. ``qa, qb`` are the group's qubits in the state it acts on."""
    if qb < 0 or min(qa, qb) != 0 or max(qa, qb) != 1:
        return 0, 0
    f0 = groups[g, 0]
    f_end = groups[g, 1]
    lengths = [0, 0]
    f = f0
    for i in range(2):
        kind = factors[f, 0] if f < f_end else KIND_CONST
        if kind != KIND_LOCAL0 and kind != KIND_LOCAL1:
            return 0, 0
        if i == 1 and kind == factors[f0, 0]:
            return 0, 0
        while f < f_end and factors[f, 0] == kind:
            f += 1
            lengths[i] += 1
    for r in range(f, f_end):
        if factors[r, 0] != KIND_CONST:
            return 0, 0
    return lengths[0], lengths[1]


@njit(cache=_CACHE, nogil=True)
def _two_head_operands(tail, head_a, head_b, kind_a, qa, tt, h0, h1):
    """``tt = Tᵀ`` in the order ``d0 + 4·d1`` (qubit 0's digit fastest, as the state
    stores a block) and the heads ``h0`` on qubit 0 and ``h1`` on qubit 1, from the tail
    (K's order ``d_qa + 4·d_qb``) and the heads ``head_a`` (on local qubit ``kind_a``) and
    ``head_b``."""
    for i in range(16):
        ki = i if qa == 0 else i // 4 + 4 * (i % 4)
        for j in range(16):
            kj = j if qa == 0 else j // 4 + 4 * (j % 4)
            tt[j, i] = tail[ki, kj]
    a_on_qubit_0 = (kind_a == KIND_LOCAL0) == (qa == 0)
    for r in range(4):
        for c in range(4):
            h0[r, c] = head_a[r, c] if a_on_qubit_0 else head_b[r, c]
            h1[r, c] = head_b[r, c] if a_on_qubit_0 else head_a[r, c]
    return a_on_qubit_0


@njit(cache=_CACHE, nogil=True)
def tailored_two_head_group(vectors, tail, heads, qa, correlations, step):
    """The reverse step of a two-head group on qubits 0 and 1 (:func:`two_head_lengths`)
    by its tailored kernel (:func:`tailored_tables`), with ``heads = (head_a, head_b,
    kind_a)``: ``Kᵀ λ`` and the heads' correlations added to ``correlations = (q_a,
    q_b)``; uncomputing (``step.tail_inverse`` is T⁻¹ in the order ``d0 + 4·d1``) and on
    kept states as :func:`tailored_head_group`."""
    head_a, head_b, kind_a = heads
    q_a, q_b = correlations
    uncompute = step.uncompute
    tt = np.empty((16, 16))
    h0 = np.empty((4, 4))
    h1 = np.empty((4, 4))
    a_on_qubit_0 = _two_head_operands(tail, head_a, head_b, kind_a, qa, tt, h0, h1)
    h0t = np.ascontiguousarray(h0.T)
    h1t = np.ascontiguousarray(h1.T)
    h0inv = np.ascontiguousarray(np.linalg.inv(h0)) if uncompute else h0t
    h1inv = np.ascontiguousarray(np.linalg.inv(h1)) if uncompute else h1t
    q0 = np.zeros((4, 4))
    q1 = np.zeros((4, 4))
    lam, lam_out, x = vectors
    in_place = AdjointVectors(lam, lam if uncompute else lam_out, x)
    two_head_runs(step.kernel, in_place, (tt, step.tail_inverse), (h0t, h1t, h0inv, h1inv), q0, q1)
    q_a += q0 if a_on_qubit_0 else q1
    q_b += q1 if a_on_qubit_0 else q0


@njit(cache=_CACHE, nogil=True)
def adjoint_head_group(vectors, operands, site, q, off, tt, mode):
    """Reverse step of a group ``K = tail · (head ⊗ I)`` (see :func:`head_length`;
    ``operands = (tail, head, kind)``, ``head`` 4×4 on local qubit 0 or 1 of the pair as
    ``kind`` says) on qubits ``site = (qa, qb, n)``, with ``vectors = (λ, λ_out, x)``:
    ``λ_out = Kᵀ λ`` and ``q[h, h'] += Σ_o w[h, o] x[h', o]`` with ``w = tailᵀ λ``, h the
    head qubit's digit and o the other's (``lam_out`` a different array from ``lam``).
    ``mode``: what every factor of the head is (:func:`_head_mode`); for unital heads
    ``q``'s row and column 0, for trace-preserving ones its row 0, may be left as they
    were. ``tt`` is a 16×16 work buffer."""
    qa, qb, n = site
    tail, head, kind = operands
    layout = pair_layout(qa, qb, n, off)
    ht = np.empty((4, 4))
    ordered = np.empty(16, dtype=np.int64)
    _head_operands(tail, head, kind, off, tt, ht, ordered)
    reverse_head_runs(vectors, tt, ht, q, ordered, layout, mode)


@njit(cache=_CACHE, nogil=True)
def _head_operands(tail, head, kind, off, tt, ht, ordered):
    """``tt = tailᵀ``, ``ht = headᵀ`` and the group's offsets ``off`` (K's order) in the
    order ``d_head + 4·d_other`` that the head kernels take."""
    for j in range(16):
        i = local_index(kind, j % 4, j // 4)
        ordered[j] = off[i]
        for j2 in range(16):
            tt[j, j2] = tail[local_index(kind, j2 % 4, j2 // 4), i]
    for r in range(4):
        for c in range(4):
            ht[c, r] = head[r, c]


@njit(cache=_CACHE, nogil=True)
def tailored_head_group(vectors, operands, site, q, off, step):
    """:func:`adjoint_head_group` by the group's tailored kernel (``step.kernel``, see
    :func:`tailored_tables`). With ``step.uncompute``, the state before the group is
    uncomputed first, in the same pass and in place: ``x`` holds the state after the group
    and becomes ``K⁻¹ x``, the state the correlation is taken with, and λ becomes ``Kᵀ λ``
    in place (``step.tail_inverse`` is T⁻¹ in head-first order; raises ``LinAlgError``
    when the head is singular). Otherwise ``x`` is the kept state before the group and
    ``Kᵀ λ`` goes to ``lam_out``."""
    qa, qb, n = site
    tail, head, kind = operands
    layout = pair_layout(qa, qb, n, off)
    tt = np.empty((16, 16))
    ht = np.empty((4, 4))
    ordered = np.empty(16, dtype=np.int64)
    _head_operands(tail, head, kind, off, tt, ht, ordered)
    head_inverse = np.ascontiguousarray(np.linalg.inv(head)) if step.uncompute else ht
    lam, lam_out, x = vectors
    in_place = AdjointVectors(lam, lam if step.uncompute else lam_out, x)
    tail_pair = (tt, step.tail_inverse)
    head_runs(step.kernel, in_place, tail_pair, (ht, head_inverse), q, ordered, layout)


def tailored_tables(groups, factors, mats, n, uncompute):
    """For each group with a trace-preserving rotation head (:func:`head_length`,
    :func:`_head_mode`) or two of them on qubits 0 and 1 (:func:`two_head_lengths`; 0 for
    the others), its tailored reverse-step kernel reading a kept state and, with
    ``uncompute``, its uncomputing kernel and its tail's inverse T⁻¹ in the order the
    kernel takes (0 and zeros where the tail has no inverse), for the ``n``-qubit state
    (:func:`qnoise.sim.tailored.head_kernel`, :func:`~qnoise.sim.tailored.two_head_kernel`).
    A tail holds no rotation, so all of them hold at every angle. Returns ``(uncomputing
    kernels (G,) int64, kept-state kernels (G,) int64, tail_inverses (G, 16, 16))``."""
    n_groups = groups.shape[0]
    uncomputing = np.zeros(n_groups, dtype=np.int64)
    kept = np.zeros(n_groups, dtype=np.int64)
    inverses = np.zeros((n_groups, 16, 16))
    if 4**n <= _FACTOR_SWEEP_MAX:  # such states take their steps factor by factor
        return uncomputing, kept, inverses
    no_angles = np.zeros(max(1, int(factors[:, 1].max()) + 1))  # a tail reads none
    work = np.empty((3, 16, 16))
    tt, ht = np.empty((16, 16)), np.empty((4, 4))
    off, ordered = np.empty(16, dtype=np.int64), np.empty(16, dtype=np.int64)
    h0, h1 = np.empty((4, 4)), np.empty((4, 4))
    for g in range(n_groups):
        qa, qb = int(groups[g, 2]), int(groups[g, 3])
        f0 = int(groups[g, 0])
        h = head_length(g, groups, factors, qa, qb)
        a, b = (
            (0, 0)
            if h > 0 or 4**n < TWO_HEAD_CHUNK
            else two_head_lengths(g, groups, factors, qa, qb)
        )
        if h > 0:
            mode = _head_mode(f0, f0 + h, mats)
        elif a > 0:  # the form both heads share
            mode = min(_head_mode(f0, f0 + a, mats), _head_mode(f0 + a, f0 + a + b, mats))
        else:
            continue
        if mode == 0:
            continue
        tail = work[0]
        factor_product(
            f0 + h + a + b, groups[g, 1], 16, factors, mats, no_angles, tail, (work[1], work[2])
        )
        if h > 0:
            width = chunk_width(pair_layout(qa, qb, n, off).n_low)
            _head_operands(tail, np.eye(4), factors[f0, 0], off, tt, ht, ordered)
            kernel = partial(head_kernel, mode, width)
        else:
            _two_head_operands(tail, np.eye(4), np.eye(4), factors[f0, 0], qa, tt, h0, h1)
            kernel = partial(two_head_kernel, mode)
        kept[g] = kernel(tt != 0)
        if not uncompute:
            continue
        try:
            inverses[g] = np.linalg.inv(tt.T)
        except np.linalg.LinAlgError:
            continue
        uncomputing[g] = kernel(tt != 0, inverses[g] != 0)
    return uncomputing, kept, inverses


@njit(cache=_CACHE, nogil=True)
def _group_inverse(k, qb):
    """``K⁻¹`` of a fused group matrix in its layout (16×16, or 4×4 in the top-left corner
    for a 1-qubit group, ``qb = -1``). Raises ``LinAlgError`` when ``K`` is singular."""
    d = 16 if qb >= 0 else 4
    kinv = np.zeros((16, 16))
    kinv[:d, :d] = np.linalg.inv(k[:d, :d])
    return kinv


@njit(cache=_CACHE, nogil=True)
def _head_mode(f0, f_end, mats):
    """What the 1-qubit rotation factors ``f0 .. f_end-1`` (``A + cos a B + sin a C`` from
    ``mats``) are at every angle: 2 unital (row and column 0 of A are e0 and those of B
    and C zero), 1 trace-preserving (their rows 0 so), 0 neither. Their products are then
    the same, and their derivatives have a zero row 0 (and column 0), so a head made of
    them never needs its correlation's row 0 (and column 0): with ``S`` the product of
    the factors after one and ``C`` the correlation, rows 1-3 of ``Sᵀ C`` do not read
    row 0 of ``C``."""
    unital = True
    for f in range(f0, f_end):
        for t in range(3):
            for i in range(4):
                expected = 1.0 if t == 0 and i == 0 else 0.0
                if mats[f, t, 0, i] != expected:
                    return 0
                unital = unital and mats[f, t, i, 0] == expected
    return 2 if unital else 1


@njit(cache=_CACHE, nogil=True)
def _group_gradient(g, program, corr, grad, work):
    """Accumulate ``dE/d angle`` for the rotation factors of group ``g`` from its
    correlation ``corr = Σ λ_after x_beforeᵀ`` (see :func:`_chain_gradient`)."""
    groups = program.groups
    d = 16 if groups[g, 3] >= 0 else 4
    f0 = groups[g, 0]
    _chain_gradient(f0, groups[g, 1] - f0, d, False, program, corr, grad, work)


@njit(cache=_CACHE, nogil=True)
def _chain_gradient(f0, m, d, dense, program, corr, grad, work):
    """Accumulate ``dE/d angle`` for the rotation factors among ``f0 .. f0+m-1`` (applied in
    that order) from the correlation ``corr = Σ λ_after x_beforeᵀ`` of their product:
    ``dE/da_i = <F_i', S_iᵀ corr P_iᵀ>`` with ``P_i`` the product of the factors before i
    and ``S_i`` of those after. ``dense``: every factor is taken as the dense d×d block
    :func:`~qnoise.sim.kernels._factor_block` gives (a rotation head's 4×4 factors, with
    its 4×4 correlation); otherwise 1-qubit rotations in a pair are embedded. ``work`` is a
    (2·m + 3, 16, 16) buffer."""
    factors, mats, angles = program.factors, program.mats, program.angles
    facs = work[:m]
    prefix = work[m : 2 * m]
    t = work[2 * m]
    deriv = work[2 * m + 1]
    scratch = work[2 * m + 2]
    for i in range(m):
        factor_block(f0 + i, factors, mats, angles, d, facs[i], False)
    for r in range(d):
        for c in range(d):
            prefix[0, r, c] = 1.0 if r == c else 0.0
    for i in range(1, m):
        kind = KIND_FULL if dense else factors[f0 + i - 1, 0]
        factor_times(kind, facs[i - 1], prefix[i - 1], prefix[i], d, False)
    for r in range(d):
        for c in range(d):
            t[r, c] = corr[r, c]
    for i in range(m - 1, -1, -1):
        f = f0 + i
        kind = factors[f, 0]
        if dense and kind != KIND_CONST:
            kind = KIND_FULL
        if kind != KIND_CONST:
            # <F', t prefixᵀ> over the entries where F' can be non-zero
            factor_block(f, factors, mats, angles, d, deriv, True)
            total = 0.0
            if kind == KIND_FULL:
                for r in range(d):
                    for c in range(d):
                        if deriv[r, c] != 0.0:
                            w = 0.0
                            for j in range(d):
                                w += t[r, j] * prefix[i, c, j]
                            total += deriv[r, c] * w
            else:
                for r in range(4):
                    for c in range(4):
                        if deriv[r, c] != 0.0:
                            for o in range(4):
                                a = local_index(kind, r, o)
                                b = local_index(kind, c, o)
                                w = 0.0
                                for j in range(16):
                                    w += t[a, j] * prefix[i, b, j]
                                total += deriv[r, c] * w
            grad[factors[f, 1]] += total
        if i > 0:
            factor_times(kind, facs[i], t, scratch, d, True)
            for r in range(d):
                for c in range(d):
                    t[r, c] = scratch[r, c]


@njit(cache=_CACHE, nogil=True)
def _factor_sweep(g, site, vectors, program, grad, states, fm, off):
    """Reverse step of group ``g`` on qubits ``site = (qa, qb, n)`` factor by factor, for
    states of few blocks, with ``vectors = (λ, λ_out, x)``: the states between its factors
    are kept (``states``, (factors + 1, 4**n)), then ``λ`` goes back through each factor,
    and a rotation's derivative is ``λᵀ F' x`` on the whole state. Costs a few
    matrix-vector products per factor where :func:`_group_gradient`'s 16×16 matrix
    products cost more than the state is large. Writes ``λ_out = Kᵀ λ``."""
    qa, qb, n = site
    lam, lam_out, x = vectors
    groups, factors, mats, angles = program
    f0 = groups[g, 0]
    m = groups[g, 1] - f0
    d = 16 if qb >= 0 else 4
    layout = pair_layout(qa, qb, n, off)
    n_blocks = block_count(layout)
    bases = np.empty(n_blocks, dtype=np.int64)
    block_bases(0, n_blocks, layout, bases)
    index = np.empty((n_blocks, d), dtype=np.int64)  # state index of each local entry
    for b in range(n_blocks):
        for r in range(d):
            index[b, r] = bases[b] + off[r]
    v = np.empty(16)
    states[0] = x
    for i in range(m):
        f = f0 + i
        factor_block(f, factors, mats, angles, d, fm, False)
        _apply_factor(states[i], states[i + 1], factors[f, 0], fm, index, d, v, False)
    derived = states[m]  # the state after the group is not needed: scratch
    lam_out[:] = lam
    for i in range(m - 1, -1, -1):
        f = f0 + i
        kind = factors[f, 0]
        if kind != KIND_CONST:
            factor_block(f, factors, mats, angles, d, fm, True)
            _apply_factor(states[i], derived, kind, fm, index, d, v, False)
            total = 0.0
            for j in range(lam_out.shape[0]):
                total += lam_out[j] * derived[j]
            grad[factors[f, 1]] += total
        factor_block(f, factors, mats, angles, d, fm, False)
        _apply_factor(lam_out, lam_out, kind, fm, index, d, v, True)


@njit(cache=_CACHE, nogil=True)
def _apply_factor(src, dst, kind, mat, index, d, v, transpose):
    """``dst <- F src`` (or ``Fᵀ src``) for a factor as :func:`factor_block` stores it (a
    4×4 block for a 1-qubit rotation inside a pair, applied on its qubit only, else d×d),
    with the block-b local entry r at ``index[b, r]`` (``dst`` may be ``src``; ``v`` a work
    vector of 16)."""
    local = kind == KIND_LOCAL0 or kind == KIND_LOCAL1
    size = 4 if local else d
    for b in range(index.shape[0]):
        for o in range(4 if local else 1):
            for c in range(size):
                v[c] = src[index[b, local_index(kind, c, o) if local else c]]
            for r in range(size):
                acc = 0.0
                for c in range(size):
                    acc += (mat[c, r] if transpose else mat[r, c]) * v[c]
                dst[index[b, local_index(kind, r, o) if local else r]] = acc


@njit(cache=_CACHE, nogil=True)
def _forward_states(first, states, g_first, count, kstore, groups, n, buffers):
    """The states before groups ``g_first .. g_first + count - 1`` (fused matrices from
    ``kstore``), from ``first``, the state before ``g_first``: ``states[i]`` for i >= 1
    becomes the state before group ``g_first + i`` (``states[0]`` is not used; it may be
    ``first``). Every intermediate state is kept, two groups that share a qubit still go
    through the state in one pass. ``buffers = (k1c, k2c, kt, off)``: three 16×16 work
    matrices and 16 offsets."""
    k1c, k2c, kt, off = buffers
    last = g_first + count - 1  # groups before `last` are applied
    i = 0
    while i < count - 1:
        g = g_first + i
        source = first if i == 0 else states[i]
        shared = shared_qubit(groups, g, last)
        if shared >= 0:
            a, b = pair_matrices(groups, g, shared, kstore[g], kstore[g + 1], k1c, k2c)
            qubits = (a, shared, b)
            apply_two_groups_keeping(source, states[i + 1], states[i + 2], k1c, k2c, qubits, n)
            i += 2
        else:
            apply_group(source, states[i + 1], kstore[g], groups[g, 2], groups[g, 3], n, kt, off)
            i += 1


@njit(cache=_CACHE, nogil=True)
def _forward_phase(states, g_end, groups, kstore, n, growth):
    """The forward sweep while the state grows (see
    :func:`qnoise.sim.kernels.run_from_zero`) among groups ``0 .. g_end-1``, keeping each
    group's input and recording in ``growth`` (:class:`~qnoise.sim.records.GrowingStates`)
    where it acts: for groups g < p (returned), ``states[g, :4**counts[g]]`` is the state
    on the qubits touched up to and including group g, ``positions[g]`` the group's qubits
    in it and ``inserted[g]`` the positions at which its new qubits were inserted (in
    order; -1 for none). ``states[p]`` is then the full state before group p: when the
    groups up to ``g_end`` leave qubits untouched, they are filled in as |0⟩ at the
    positions ``filled`` lists (in order; -1 after the last)."""
    counts, positions, inserted, filled = growth
    touched = np.zeros(n, dtype=np.bool_)
    kt = np.empty((16, 16))
    off = np.empty(16, dtype=np.int64)
    count = 0
    states[0, 0] = 1.0
    g = 0
    while g < g_end and count < n:
        qa = groups[g, 2]
        qb = groups[g, 3]
        count = touch_qubits(states[g], touched, count, qa, qb, inserted[g])
        positions[g, 0] = touched_rank(touched, qa)
        positions[g, 1] = touched_rank(touched, qb) if qb >= 0 else -1
        counts[g] = count
        size = 4**count
        apply_group(
            states[g, :size],
            states[g + 1, :size],
            kstore[g],
            positions[g, 0],
            positions[g, 1],
            count,
            kt,
            off,
        )
        g += 1
    touch_all(states[g], touched, count, filled)  # qubits no group before g_end touches
    return g


@njit(cache=_CACHE, nogil=True)
def _remove_zero_qubit(lam, length, position):
    """Sum ``lam[:length]`` against |0⟩ (Pauli components 1, 0, 0, 1) on digit
    ``position``, in place: ``lam[j]`` for the remaining digits, j < length / 4."""
    low = 4**position
    for j in range(length // 4):
        base = (j // low) * 4 * low + j % low
        lam[j] = lam[base] + lam[base + 3 * low]


@njit(cache=_CACHE, nogil=True)
def _cone_forward(y, k, site, blocks, kept, off, v):
    """Forward step of a light-cone group on qubits ``site = (qa, qb, n)`` on its
    ``blocks`` (base indices) only: their entries of ``y`` are kept (``kept[e·d + r]`` for
    block e and local entry r), then ``y_loc <- K y_loc`` in place. Entries outside the
    blocks go stale, and no later group of the cone reads them."""
    qa, qb, n = site
    pair_layout(qa, qb, n, off)
    d = 16 if qb >= 0 else 4
    for e in range(blocks.shape[0]):
        block_product(y, blocks[e], off, d, k, False, v)
        for c in range(d):
            kept[e * d + c] = v[c]


@njit(cache=_CACHE, nogil=True)
def _cone_step(lam, kept, k, site, blocks, corr, off, v):
    """Reverse step of a light-cone group on its blocks only (where λ is non-zero, see
    :mod:`qnoise.sim.cone`), with the state before it as :func:`_cone_forward` kept it:
    ``corr += Σ λ_loc x_locᵀ`` and ``λ_loc <- Kᵀ λ_loc`` in place."""
    qa, qb, n = site
    pair_layout(qa, qb, n, off)
    d = 16 if qb >= 0 else 4
    for e in range(blocks.shape[0]):
        block_product(lam, blocks[e], off, d, k, True, v)
        for r in range(d):
            lr = v[r]
            if lr != 0.0:
                for c in range(d):
                    corr[r, c] += lr * kept[e * d + c]


@njit(cache=_CACHE, nogil=True)
def reverse_step(g, site, vectors, k, step, program, grad, scratch):
    """The reverse step of group ``g`` (fused matrix ``k``) acting on qubits ``site = (qa,
    qb, n)`` of the ``n``-qubit vectors ``(λ, λ_out, x)`` (:class:`~qnoise.sim.records.
    AdjointVectors`; x the state before the group, λ the observable after it): ``λ_out <-
    Kᵀ λ`` and the derivatives of the group's rotations added to ``grad``. ``scratch`` is a
    :class:`~qnoise.sim.records.StepScratch`.

    ``step`` (:class:`~qnoise.sim.records.StepKernel`) says how: a group with a tailored
    kernel (``step.kernel`` non-zero, see :func:`tailored_tables`;
    :func:`tailored_head_group`) takes its step by it. With ``step.uncompute``, ``x``
    holds the state *after* the group and first becomes the state before it, in place: by
    the tailored kernel, in the pass of the step, which updates λ in place (then False is
    returned), or else by ``step.inverse`` = K⁻¹ (:func:`_group_inverse`). True means λ
    went to ``lam_out``."""
    qa, qb, n = site
    lam, x = vectors.lam, vectors.x
    work, sweep, heads, corr, off = scratch
    groups, factors, mats, angles = program
    h = head_length(g, groups, factors, qa, qb) if lam.shape[0] > _FACTOR_SWEEP_MAX else 0
    if h > 0:
        f0 = groups[g, 0]
        tail = work[0]
        factor_product(f0 + h, groups[g, 1], 16, factors, mats, angles, tail, (work[1], work[2]))
        head = heads[0]
        local_run(f0, f0 + h, factors, mats, angles, head, heads[1], heads[2])
        q = heads[3]
        q[:, :] = 0.0
        mode = _head_mode(f0, f0 + h, mats)
        kind = factors[f0, 0]
        if step.kernel != 0:
            tailored_head_group(vectors, (tail, head, kind), site, q, off, step)
            _chain_gradient(f0, h, 4, True, program, q, grad, work)
            return not step.uncompute
    elif step.kernel != 0:  # two heads: tailored_tables gives such groups a kernel only
        a, b = two_head_lengths(g, groups, factors, qa, qb)
        f0 = groups[g, 0]
        tail = work[0]
        scratch_pair = (work[1], work[2])
        factor_product(f0 + a + b, groups[g, 1], 16, factors, mats, angles, tail, scratch_pair)
        local_run(f0, f0 + a, factors, mats, angles, heads[0], heads[1], heads[2])
        local_run(f0 + a, f0 + a + b, factors, mats, angles, heads[3], heads[1], heads[2])
        q_a, q_b = heads[4], heads[5]
        q_a[:, :] = 0.0
        q_b[:, :] = 0.0
        two_heads = (heads[0], heads[3], factors[f0, 0])
        tailored_two_head_group(vectors, tail, two_heads, qa, (q_a, q_b), step)
        _chain_gradient(f0, a, 4, True, program, q_a, grad, work)
        _chain_gradient(f0 + a, b, 4, True, program, q_b, grad, work)
        return not step.uncompute
    if step.uncompute:  # corr serves as the kernel's 16×16 scratch: it is set below before use
        apply_group(x, x, step.inverse, qa, qb, n, corr, off)
    if lam.shape[0] <= _FACTOR_SWEEP_MAX:
        _factor_sweep(g, site, vectors, program, grad, sweep[:, : lam.shape[0]], work[0], off)
    elif h > 0:  # tail, head, q, mode and kind as set up above
        adjoint_head_group(vectors, (tail, head, kind), site, q, off, work[1], mode)
        _chain_gradient(f0, h, 4, True, program, q, grad, work)
    else:
        corr[:, :] = 0.0
        adjoint_group(vectors, k, qa, qb, n, corr, off, work[0])
        _group_gradient(g, program, corr, grad, work)
    return True


@njit(cache=_CACHE, nogil=True)
def adjoint_gradient(terms, tables, angles, n, memory, tailored):
    """Value and gradient w.r.t. every angle slot of ``<O> = Σ_t coeff[t] · x[index[t]]``
    (``terms``, the fields of a :class:`~qnoise.sim.records.MeasuredTerms`; x the final
    Pauli components of the program ``tables = (groups, factors, mats)`` at slot
    ``angles``, applied to |0…0⟩ on ``n`` qubits) by one forward and one reverse sweep; the
    groups of the observable's light cone (:func:`qnoise.sim.cone.cone_plan`) run on their
    blocks only, both ways. Python callers pass plain tuples (numba types them faster than
    named ones); the function reads them as the records they hold.

    ``memory`` (the fields of a :class:`~qnoise.sim.records.GradientMemory`, caller-owned
    buffers reused across calls: fresh memory would cost page faults) says how states are
    kept. The
    state before every group is kept when ``stride = 1``; otherwise every ``stride``-th
    one is checkpointed and the segments between are recomputed in the reverse sweep.
    ``ckpts`` needs (ceil(G/stride) + 1, 4**n), ``seg`` (stride, 4**n); ``lam`` and
    ``lam_out`` (4**n each) are best skewed against the states' rows and each other (see
    :mod:`qnoise.sim.gradient_policy`).

    With ``uncompute`` (``stride`` 1, every group invertible), no full-size state is kept
    but the one before the first full-size group: the forward sweep runs in place like an
    evaluation, and the reverse sweep *uncomputes* each state before a group from the
    state after it, ``x = K⁻¹ y`` (:func:`reverse_step`), in the pass that takes the
    group's reverse step where the group has a tailored kernel (``tailored.uncomputing``
    and ``tailored.inverses`` from :func:`tailored_tables`; without ``uncompute`` they are
    not read). ``ckpts`` then needs (growing groups + 4) rows. Full-size steps on kept
    states take the tailored kernels ``tailored.kept`` (0: none). The third value returned
    is the largest deviation of the uncomputed state from the kept one, where they meet (0
    without ``uncompute``); it measures the rounding that the inverses amplified, and the
    caller discards a result whose deviation is not negligible.
    """
    program = Program(tables[0], tables[1], tables[2], angles)
    terms = MeasuredTerms(terms[0], terms[1], terms[2])
    memory = GradientMemory(memory[0], memory[1], memory[2], memory[3], memory[4], memory[5])
    tailored = TailoredKernels(tailored[0], tailored[1], tailored[2])
    groups = program.groups
    stride, uncompute, ckpts, seg = memory.stride, memory.uncompute, memory.ckpts, memory.seg
    n_groups = groups.shape[0]
    dim = 4**n
    first, stage_start, blocks = terms.cone  # groups first .. G-1 form the light cone
    n_ckpt = (first + stride - 1) // stride
    # fused matrices are built once in the forward sweep and reused backwards
    kstore = np.empty((n_groups, 16, 16))
    tmp = np.empty((16, 16))
    fm = np.empty((16, 16))
    kt = np.empty((16, 16))
    off = np.empty(16, dtype=np.int64)
    v = np.empty(16)
    forward_buffers = (tmp, fm, kt, off)
    for g in range(n_groups):
        group_matrix(g, groups, program.factors, program.mats, program.angles, kstore[g], tmp, fm)
    # the groups that run while the state grows (stride 1 only): their qubits and sizes
    growth = GrowingStates(
        np.empty(n_groups, dtype=np.int64),
        np.empty((n_groups, 2), dtype=np.int64),
        np.empty((n_groups, 2), dtype=np.int64),
        np.full(n, -1, dtype=np.int64),
    )
    # states[i] holds the state before group (segment start + i); row 0 of a segment is its
    # checkpoint. With stride 1 all states live in `ckpts` and nothing is recomputed.
    growing = 0
    if stride == 1:
        growing = _forward_phase(ckpts, first, groups, kstore, n, growth)
    if uncompute:
        after = ckpts[growing + 1]  # the state after the full-size groups (then ping-pong)
        after[:] = ckpts[growing]
        run_groups(after, ckpts[growing + 2], growing, first, program, n)
        ckpts[growing + 3] = after  # the light cone runs on this copy
        n_ckpt = growing + 3
    elif stride == 1:
        count = first + 1 - growing
        _forward_states(
            ckpts[growing], ckpts[growing:], growing, count, kstore, groups, n, forward_buffers
        )
    else:
        run_from_zero(ckpts[0], seg[0], 0, program, n)  # |0…0⟩
        x = aligned_empty(dim)
        x[:] = ckpts[0]
        for s in range(n_ckpt):
            g_start = s * stride
            g_end = min(g_start + stride, first)
            run_groups(x, seg[0], g_start, g_end, program, n)
            ckpts[s + 1] = x
    # the light cone forward on its blocks, from the state before it (changed in place)
    y = ckpts[n_ckpt]
    n_stages = n_groups - first
    d_stage = np.empty(n_stages + 1, dtype=np.int64)  # where each stage's kept entries start
    d_stage[0] = 0
    for stage in range(n_stages):
        d = 16 if groups[n_groups - 1 - stage, 3] >= 0 else 4
        d_stage[stage + 1] = d_stage[stage] + d * (stage_start[stage + 1] - stage_start[stage])
    kept = np.empty(d_stage[n_stages])
    for g in range(first, n_groups):
        stage = n_groups - 1 - g
        stage_blocks = blocks[stage_start[stage] : stage_start[stage + 1]]
        stage_kept = kept[d_stage[stage] : d_stage[stage + 1]]
        site = (groups[g, 2], groups[g, 3], n)
        _cone_forward(y, kstore[g], site, stage_blocks, stage_kept, off, v)
    value = 0.0
    lam = memory.lam
    lam[:] = 0.0
    for t in range(terms.index.shape[0]):
        value += terms.coeff[t] * y[terms.index[t]]
        lam[terms.index[t]] += terms.coeff[t]
    grad = np.zeros(program.angles.shape[0])
    max_factors = 1
    for g in range(n_groups):
        max_factors = max(max_factors, groups[g, 1] - groups[g, 0])
    scratch = StepScratch(
        np.empty((2 * max_factors + 4, 16, 16)),
        np.empty((max_factors + 1, _FACTOR_SWEEP_MAX)),
        np.empty((6, 4, 4)),
        np.empty((16, 16)),
        off,
    )
    corr = scratch.corr
    for g in range(n_groups - 1, first - 1, -1):
        stage = n_groups - 1 - g
        stage_blocks = blocks[stage_start[stage] : stage_start[stage + 1]]
        stage_kept = kept[d_stage[stage] : d_stage[stage + 1]]
        corr[:, :] = 0.0
        site = (groups[g, 2], groups[g, 3], n)
        _cone_step(lam, stage_kept, kstore[g], site, stage_blocks, corr, off, v)
        _group_gradient(g, program, corr, grad, scratch.work)
    size = dim  # λ on the qubits touched before the light cone
    for j in range(n - 1, -1, -1):
        if growth.filled[j] >= 0:
            _remove_zero_qubit(lam, size, growth.filled[j])
            size //= 4
    lam_out = memory.lam_out
    no_inverse = np.empty((0, 0))  # the kept states' steps do not uncompute
    no_tail_inverse = np.empty((16, 16))
    drift = 0.0
    if uncompute:
        state = ckpts[growing + 1]  # the state after the full-size groups, uncomputed
        for g in range(first - 1, growing - 1, -1):
            kernel = tailored.uncomputing[g]
            inverse = no_inverse if kernel != 0 else _group_inverse(kstore[g], groups[g, 3])
            step = StepKernel(kernel, True, inverse, tailored.inverses[g])
            site = (groups[g, 2], groups[g, 3], n)
            vectors = AdjointVectors(lam, lam_out, state)
            if reverse_step(g, site, vectors, kstore[g], step, program, grad, scratch):
                lam, lam_out = lam_out, lam
        start = ckpts[growing]  # kept by the forward sweep
        for j in range(dim):
            drift = max(drift, abs(state[j] - start[j]))
        n_ckpt = growing  # the growing groups' states, one per group
    for s in range(n_ckpt - 1, -1, -1):
        g_start = s * stride
        g_end = min(g_start + stride, first)
        if stride > 1:  # the segment from its checkpoint, kept in seg[1:]
            count = g_end - g_start
            _forward_states(ckpts[s], seg, g_start, count, kstore, groups, n, forward_buffers)
        for g in range(g_end - 1, g_start - 1, -1):
            before = seg[g - g_start] if g > g_start else ckpts[s]
            if g >= growing:
                site = (groups[g, 2], groups[g, 3], n)
            else:
                site = (growth.positions[g, 0], growth.positions[g, 1], growth.counts[g])
            size = 4 ** site[2]
            kernel = tailored.kept[g] if g >= growing else 0
            step = StepKernel(kernel, False, no_inverse, no_tail_inverse)
            vectors = AdjointVectors(lam[:size], lam_out[:size], before[:size])
            reverse_step(g, site, vectors, kstore[g], step, program, grad, scratch)
            lam, lam_out = lam_out, lam
            if g < growing:  # λ on the qubits touched before group g
                for j in range(1, -1, -1):
                    if growth.inserted[g, j] >= 0:
                        _remove_zero_qubit(lam, size, growth.inserted[g, j])
                        size //= 4
    return value, grad, drift
