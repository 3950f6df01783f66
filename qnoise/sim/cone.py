"""The observable's backward light cone: the last groups of a program applied to the observable.

An expectation ``<O> = λᵀ K_{G-1} ⋯ K_0 x0`` (λ the observable's Pauli coefficients) may be
split at any group f: ``<O> = (K_fᵀ ⋯ K_{G-1}ᵀ λ)ᵀ (K_{f-1} ⋯ K_0 x0)``. λ starts with one
entry per Pauli term, and a group applied backwards spreads each entry only over the 16 (or
4) entries of its block, so for the last few groups λ stays sparse: applying them to λ
costs a small fraction of applying them to the state. :func:`cone_plan` finds, once per
program and observable, how many groups stay below a support budget and which blocks each
of them touches; :func:`cone_value` then finishes an evaluation from the state before them.

Index conventions are those of :mod:`qnoise.sim.kernels`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from qnoise.sim.kernels import group_matrix, pair_layout

_CACHE = True


@njit(cache=_CACHE, nogil=True)
def cone_plan(groups, n, obs_index, max_support):
    """Split point and blocks of the light cone of the observable entries ``obs_index``.

    Returns ``(first, stage_start, blocks)``: groups ``first .. G-1`` are applied to the
    observable backwards, group ``G-1-s`` on the blocks (base indices)
    ``blocks[stage_start[s]:stage_start[s + 1]]``; each stage's support (blocks × local
    entries) holds at most ``max_support`` entries. ``first = G`` when even the last group
    would exceed it (no cone).
    """
    n_groups = groups.shape[0]
    off = np.empty(16, dtype=np.int64)
    support = np.unique(obs_index)
    starts = [0]
    chunks = []
    first = n_groups
    for g in range(n_groups - 1, -1, -1):
        qa = groups[g, 2]
        qb = groups[g, 3]
        pair_layout(qa, qb, n, off)
        d = 16 if qb >= 0 else 4
        local = np.zeros_like(support)
        for i in range(support.shape[0]):
            index = support[i]
            local[i] = ((index // 4**qa) % 4) * 4**qa
            if qb >= 0:
                local[i] += ((index // 4**qb) % 4) * 4**qb
        bases = np.unique(support - local)
        if bases.shape[0] * d > max_support:
            break
        chunks.append(bases)
        starts.append(starts[-1] + bases.shape[0])
        support = np.empty(bases.shape[0] * d, dtype=np.int64)
        for b in range(bases.shape[0]):
            for r in range(d):
                support[b * d + r] = bases[b] + off[r]
        first = g
    blocks = np.empty(starts[-1], dtype=np.int64)
    for s in range(len(chunks)):
        blocks[starts[s] : starts[s + 1]] = chunks[s]
    return first, np.array(starts, dtype=np.int64), blocks


@njit(cache=_CACHE, nogil=True)
def cone_value(x, lam, program, n, terms):
    """``<O>`` from ``x``, the state before group ``first`` of the light cone of ``terms``
    (:class:`~qnoise.sim.records.MeasuredTerms`): the observable goes backwards through
    groups ``G-1 .. first`` of ``program`` on the planned blocks of ``lam``, a vector of
    ``4**n`` zeros that is left zero again."""
    first, stage_start, blocks = terms.cone
    obs_index, obs_coeff = terms.index, terms.coeff
    groups, factors, mats, angles = program
    n_groups = groups.shape[0]
    if first == n_groups:
        value = 0.0
        for t in range(obs_index.shape[0]):
            value += obs_coeff[t] * x[obs_index[t]]
        return value
    k = np.empty((16, 16))
    tmp = np.empty((16, 16))
    fm = np.empty((16, 16))
    off = np.empty(16, dtype=np.int64)
    v = np.empty(16)
    for t in range(obs_index.shape[0]):
        lam[obs_index[t]] += obs_coeff[t]
    d = 16
    for s in range(n_groups - first):
        g = n_groups - 1 - s
        group_matrix(g, groups, factors, mats, angles, k, tmp, fm)
        pair_layout(groups[g, 2], groups[g, 3], n, off)
        d = 16 if groups[g, 3] >= 0 else 4
        for e in range(stage_start[s], stage_start[s + 1]):
            block_product(lam, blocks[e], off, d, k, True, v)
    # every entry written lies in the last stage's blocks: read them and zero them
    value = 0.0
    last = n_groups - first - 1
    for e in range(stage_start[last], stage_start[last + 1]):
        base = blocks[e]
        for r in range(d):
            i = base + off[r]
            value += lam[i] * x[i]
            lam[i] = 0.0
    return value


@njit(cache=_CACHE, nogil=True)
def block_product(vec, base, off, d, k, transpose, v):
    """``vec_loc <- K vec_loc`` (or ``Kᵀ vec_loc``) in place for the block whose local entry
    r is ``vec[base + off[r]]``; ``v`` (16) receives the block's entries from before."""
    for c in range(d):
        v[c] = vec[base + off[c]]
    for r in range(d):
        acc = 0.0
        for c in range(d):
            acc += (k[c, r] if transpose else k[r, c]) * v[c]
        vec[base + off[r]] = acc
