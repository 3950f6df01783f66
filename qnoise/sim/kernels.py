"""Numba kernels of the PTM engine: fused group matrices, their application, reverse mode.

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
"""

from __future__ import annotations

import numpy as np
from numba import njit

KIND_CONST = 0
KIND_LOCAL0 = 1
KIND_LOCAL1 = 2
KIND_FULL = 3

_CACHE = True


@njit(cache=_CACHE, nogil=True)
def _factor_matrix(f, factors, mats, angles, d, out):
    """Embedded d×d matrix of factor ``f`` (and nothing else) into ``out``."""
    kind = factors[f, 0]
    if kind == KIND_CONST:
        for r in range(d):
            for c in range(d):
                out[r, c] = mats[f, 0, r, c]
        return
    a = angles[factors[f, 1]]
    cs = np.cos(a)
    sn = np.sin(a)
    if kind == KIND_FULL:
        for r in range(d):
            for c in range(d):
                out[r, c] = mats[f, 0, r, c] + cs * mats[f, 1, r, c] + sn * mats[f, 2, r, c]
        return
    for r in range(16):
        for c in range(16):
            out[r, c] = 0.0
    for r in range(4):
        for c in range(4):
            v = mats[f, 0, r, c] + cs * mats[f, 1, r, c] + sn * mats[f, 2, r, c]
            for o in range(4):
                if kind == KIND_LOCAL0:
                    out[r + 4 * o, c + 4 * o] = v
                else:
                    out[o + 4 * r, o + 4 * c] = v


@njit(cache=_CACHE, nogil=True)
def _factor_derivative(f, factors, mats, angles, d, out):
    """Embedded d×d derivative ``dM/da`` of a rotation factor into ``out``."""
    kind = factors[f, 0]
    a = angles[factors[f, 1]]
    cs = np.cos(a)
    sn = np.sin(a)
    if kind == KIND_FULL:
        for r in range(d):
            for c in range(d):
                out[r, c] = cs * mats[f, 2, r, c] - sn * mats[f, 1, r, c]
        return
    for r in range(16):
        for c in range(16):
            out[r, c] = 0.0
    for r in range(4):
        for c in range(4):
            v = cs * mats[f, 2, r, c] - sn * mats[f, 1, r, c]
            for o in range(4):
                if kind == KIND_LOCAL0:
                    out[r + 4 * o, c + 4 * o] = v
                else:
                    out[o + 4 * r, o + 4 * c] = v


@njit(cache=_CACHE, nogil=True)
def group_matrix(g, groups, factors, mats, angles, k_out, tmp):
    """Fused matrix of group ``g`` (product of its factors, first factor applied first)."""
    d = 16 if groups[g, 3] >= 0 else 4
    for r in range(d):
        for c in range(d):
            k_out[r, c] = 1.0 if r == c else 0.0
    for f in range(groups[g, 0], groups[g, 1]):
        kind = factors[f, 0]
        if kind == KIND_LOCAL0 or kind == KIND_LOCAL1:
            a = angles[factors[f, 1]]
            cs = np.cos(a)
            sn = np.sin(a)
            m = np.empty((4, 4))
            for r in range(4):
                for c in range(4):
                    m[r, c] = mats[f, 0, r, c] + cs * mats[f, 1, r, c] + sn * mats[f, 2, r, c]
            for col in range(16):
                for o in range(4):
                    for r in range(4):
                        s = 0.0
                        for c in range(4):
                            if kind == KIND_LOCAL0:
                                s += m[r, c] * k_out[c + 4 * o, col]
                            else:
                                s += m[r, c] * k_out[o + 4 * c, col]
                        if kind == KIND_LOCAL0:
                            tmp[r + 4 * o, col] = s
                        else:
                            tmp[o + 4 * r, col] = s
        else:
            _factor_matrix(f, factors, mats, angles, d, tmp)
            m2 = tmp[:d, :d].copy()
            for r in range(d):
                for c in range(d):
                    s = 0.0
                    for j in range(d):
                        s += m2[r, j] * k_out[j, c]
                    tmp[r, c] = s
        for r in range(d):
            for c in range(d):
                k_out[r, c] = tmp[r, c]


@njit(cache=_CACHE, nogil=True)
def _offsets(qa, qb):
    if qb < 0:
        off = np.empty(4, dtype=np.int64)
        for la in range(4):
            off[la] = la * 4**qa
        return off
    off = np.empty(16, dtype=np.int64)
    for lb in range(4):
        for la in range(4):
            off[la + 4 * lb] = la * 4**qa + lb * 4**qb
    return off


@njit(cache=_CACHE, nogil=True)
def apply_group(x, k, qa, qb, n):
    """In place ``x <- (K on qubits qa, qb) x``; ``qb = -1`` for a 1-qubit K."""
    off = _offsets(qa, qb)
    d = off.shape[0]
    if qb < 0:
        lo = qa
        hi = qa
    else:
        lo = min(qa, qb)
        hi = max(qa, qb)
    n_low = 4**lo
    if qb < 0:
        n_mid = 1
        n_high = 4 ** (n - 1 - lo)
        s_mid = 0
    else:
        n_mid = 4 ** (hi - lo - 1)
        n_high = 4 ** (n - 1 - hi)
        s_mid = 4 ** (lo + 1)
    s_high = 4 ** (hi + 1)
    v = np.empty(d)
    if n_low >= 8:
        buf = np.empty((d, n_low))
        res = np.empty(n_low)
        for h in range(n_high):
            for m in range(n_mid):
                base = h * s_high + m * s_mid
                for c in range(d):
                    start = base + off[c]
                    for low in range(n_low):
                        buf[c, low] = x[start + low]
                for r in range(d):
                    for low in range(n_low):
                        res[low] = 0.0
                    for c in range(d):
                        kv = k[r, c]
                        if kv != 0.0:
                            for low in range(n_low):
                                res[low] += kv * buf[c, low]
                    start = base + off[r]
                    for low in range(n_low):
                        x[start + low] = res[low]
        return
    for h in range(n_high):
        for m in range(n_mid):
            for low in range(n_low):
                base = h * s_high + m * s_mid + low
                for c in range(d):
                    v[c] = x[base + off[c]]
                for r in range(d):
                    s = 0.0
                    for c in range(d):
                        s += k[r, c] * v[c]
                    x[base + off[r]] = s


@njit(cache=_CACHE, nogil=True)
def adjoint_group(lam, x, k, qa, qb, n, corr):
    """Reverse step: ``corr += Σ_rest λ_loc x_loc^T`` then ``λ <- K^T λ`` (in place)."""
    off = _offsets(qa, qb)
    d = off.shape[0]
    if qb < 0:
        lo = qa
        hi = qa
        n_mid = 1
        s_mid = 0
    else:
        lo = min(qa, qb)
        hi = max(qa, qb)
        n_mid = 4 ** (hi - lo - 1)
        s_mid = 4 ** (lo + 1)
    n_low = 4**lo
    n_high = 4 ** (n - 1 - hi)
    s_high = 4 ** (hi + 1)
    lv = np.empty(d)
    xv = np.empty(d)
    for h in range(n_high):
        for m in range(n_mid):
            for low in range(n_low):
                base = h * s_high + m * s_mid + low
                for c in range(d):
                    lv[c] = lam[base + off[c]]
                    xv[c] = x[base + off[c]]
                for r in range(d):
                    lr = lv[r]
                    for c in range(d):
                        corr[r, c] += lr * xv[c]
                for c in range(d):
                    s = 0.0
                    for r in range(d):
                        s += k[r, c] * lv[r]
                    lam[base + off[c]] = s


@njit(cache=_CACHE, nogil=True)
def run_groups(x, g_start, g_end, groups, factors, mats, angles, n):
    """Apply groups ``g_start..g_end-1`` to ``x`` in place."""
    k = np.empty((16, 16))
    tmp = np.empty((16, 16))
    for g in range(g_start, g_end):
        group_matrix(g, groups, factors, mats, angles, k, tmp)
        apply_group(x, k, groups[g, 2], groups[g, 3], n)


@njit(cache=_CACHE, nogil=True)
def evaluate_batch(x0, groups, factors, mats, angles_batch, n, obs_index, obs_coeff, out):
    """Expectations ``out[b] = Σ_t coeff_t x_b[index_t]`` for each row of ``angles_batch``."""
    x = np.empty_like(x0)
    n_groups = groups.shape[0]
    for b in range(angles_batch.shape[0]):
        x[:] = x0
        run_groups(x, 0, n_groups, groups, factors, mats, angles_batch[b], n)
        s = 0.0
        for t in range(obs_index.shape[0]):
            s += obs_coeff[t] * x[obs_index[t]]
        out[b] = s


@njit(cache=_CACHE, nogil=True)
def states_batch(x0, groups, factors, mats, angles_batch, n, out):
    """Final Pauli vectors for each row of ``angles_batch`` into ``out`` (B, 4**n)."""
    n_groups = groups.shape[0]
    for b in range(angles_batch.shape[0]):
        out[b, :] = x0
        run_groups(out[b], 0, n_groups, groups, factors, mats, angles_batch[b], n)


@njit(cache=_CACHE, nogil=True)
def _group_gradient(g, groups, factors, mats, angles, corr, grad):
    """Accumulate ``dE/d angle`` for the rotation factors of group ``g`` given its
    correlation matrix ``corr = Σ λ_after x_before^T``."""
    d = 16 if groups[g, 3] >= 0 else 4
    f0 = groups[g, 0]
    f1 = groups[g, 1]
    m = f1 - f0
    facs = np.empty((m, d, d))
    tmp = np.empty((16, 16))
    for i in range(m):
        _factor_matrix(f0 + i, factors, mats, angles, d, tmp)
        facs[i] = tmp[:d, :d]
    # prefix[i] = F_{i-1} ... F_0 (product of the factors before i)
    prefix = np.empty((m, d, d))
    for r in range(d):
        for c in range(d):
            prefix[0, r, c] = 1.0 if r == c else 0.0
    for i in range(1, m):
        prefix[i] = facs[i - 1] @ prefix[i - 1]
    t = corr[:d, :d].copy()  # S_i^T corr, S_i = product of the factors after i
    deriv = np.empty((16, 16))
    for i in range(m - 1, -1, -1):
        f = f0 + i
        if factors[f, 0] != KIND_CONST:
            w = t @ prefix[i].T
            _factor_derivative(f, factors, mats, angles, d, deriv)
            s = 0.0
            for r in range(d):
                for c in range(d):
                    s += deriv[r, c] * w[r, c]
            grad[factors[f, 1]] += s
        t = facs[i].T @ t


@njit(cache=_CACHE, nogil=True)
def adjoint_gradient(x0, lam_final, groups, factors, mats, angles, n, n_slots, stride):
    """Value and gradient w.r.t. every angle slot by one forward and one reverse sweep.

    States are checkpointed every ``stride`` groups and segments recomputed in the reverse
    sweep (``stride = 1`` stores every state: fastest, most memory).
    """
    n_groups = groups.shape[0]
    dim = x0.shape[0]
    n_ckpt = (n_groups + stride - 1) // stride
    ckpts = np.empty((max(n_ckpt, 1), dim))
    x = x0.copy()
    for s in range(n_ckpt):
        ckpts[s] = x
        run_groups(x, s * stride, min((s + 1) * stride, n_groups), groups, factors, mats, angles, n)
    value = 0.0
    for i in range(dim):
        value += lam_final[i] * x[i]
    grad = np.zeros(n_slots)
    lam = lam_final.copy()
    seg = np.empty((stride, dim))
    k = np.empty((16, 16))
    tmp = np.empty((16, 16))
    corr = np.empty((16, 16))
    for s in range(n_ckpt - 1, -1, -1):
        g_start = s * stride
        g_end = min(g_start + stride, n_groups)
        seg[0] = ckpts[s]
        for i in range(1, g_end - g_start):
            seg[i] = seg[i - 1]
            run_groups(seg[i], g_start + i - 1, g_start + i, groups, factors, mats, angles, n)
        for g in range(g_end - 1, g_start - 1, -1):
            group_matrix(g, groups, factors, mats, angles, k, tmp)
            corr[:, :] = 0.0
            adjoint_group(lam, seg[g - g_start], k, groups[g, 2], groups[g, 3], n, corr)
            _group_gradient(g, groups, factors, mats, angles, corr, grad)
    return value, grad
