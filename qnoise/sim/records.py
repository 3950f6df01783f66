"""Named records that the simulator's compiled code passes around.

Each is a ``typing.NamedTuple``: numba compiles functions that take, build and return them
(a record of arrays costs nothing over the arrays themselves inside compiled code), and
Python reads them by name. Array layouts and index conventions are those of
:mod:`qnoise.sim.kernels`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Program(NamedTuple):
    """A compiled program's tables at one set of angles.

    Attributes
    ----------
    groups : ndarray of int64, shape (G, 4)
        ``[first factor, end factor, qa, qb]`` per fused group (``qb = -1``: 1 qubit).
    factors : ndarray of int64, shape (F, 2)
        ``[kind, angle slot]`` per factor.
    mats : ndarray of float64, shape (F, 3, 16, 16)
        The parts ``M0, M1, M2`` of each factor (``M0 + cos a M1 + sin a M2``).
    angles : ndarray of float64, shape (S,)
        The angle of each slot (radians).
    """

    groups: np.ndarray
    factors: np.ndarray
    mats: np.ndarray
    angles: np.ndarray


class PairLayout(NamedTuple):
    """Where the blocks of a 1- or 2-qubit group lie in a state of ``4**n`` entries
    (:func:`qnoise.sim.kernels.pair_layout`): ``n_high`` ranges of ``s_high`` entries
    (above the higher qubit), each holding ``n_mid`` ranges ``s_mid`` apart (between the
    qubits), each holding ``n_low`` consecutive blocks (below the lower qubit). Block
    ``(h, m, low)`` starts at ``h·s_high + m·s_mid + low``."""

    n_high: int
    s_high: int
    n_mid: int
    s_mid: int
    n_low: int


class AdjointVectors(NamedTuple):
    """The three vectors of one reverse step through a group ``K`` (``4**n`` entries
    each): ``lam``, the observable seen after the group (λ); ``lam_out``, where ``Kᵀ λ``
    goes (another array unless the step works in place); ``x``, the state before the
    group (or, uncomputing, after it)."""

    lam: np.ndarray
    lam_out: np.ndarray
    x: np.ndarray


class MeasuredTerms(NamedTuple):
    """An observable prepared for one program: ``<O> = Σ_t coeff[t] · x[index[t]]`` on the
    final state x, and its backward light cone (:func:`qnoise.sim.cone.cone_plan`:
    ``(first group, stage starts, block bases)``)."""

    index: np.ndarray
    coeff: np.ndarray
    cone: tuple


class StepScratch(NamedTuple):
    """Work buffers of the reverse steps (:func:`qnoise.sim.reverse.reverse_step`), F the
    most factors of a group: ``work`` (2·F + 4, 16, 16), ``sweep`` (F + 1, 16),
    ``heads`` (6, 4, 4), ``corr`` (16, 16) and ``off`` (16, int64)."""

    work: np.ndarray
    sweep: np.ndarray
    heads: np.ndarray
    corr: np.ndarray
    off: np.ndarray


class TailoredKernels(NamedTuple):
    """Per group, the addresses of its tailored reverse-step kernels (0: none) and its
    tail's inverse (:func:`qnoise.sim.reverse.tailored_tables`): ``uncomputing`` (G,)
    int64, ``kept`` (G,) int64, ``inverses`` (G, 16, 16) (or (0, 16, 16) when unused)."""

    uncomputing: np.ndarray
    kept: np.ndarray
    inverses: np.ndarray


class GradientMemory(NamedTuple):
    """How a gradient keeps its states (:func:`qnoise.sim.reverse.adjoint_gradient`;
    chosen by :class:`qnoise.sim.gradient_policy.GradientPolicy`): keep the state before
    every ``stride``-th group in ``ckpts`` (rows of ``4**n``) and recompute the segments
    between in ``seg``, or, with ``uncompute``, uncompute states from the ones after them;
    ``lam`` and ``lam_out`` hold λ and ``Kᵀ λ``."""

    stride: int
    uncompute: bool
    ckpts: np.ndarray
    seg: np.ndarray
    lam: np.ndarray
    lam_out: np.ndarray


class NativeProgram(NamedTuple):
    """Everything compiled code needs to evaluate ``constant + <O>`` at parameter points
    (:func:`qnoise.sim.batched.evaluate_points`, built by
    :meth:`qnoise.sim.program.CompiledCircuit.native_program`): the initial state ``x0``,
    the tables ``groups``, ``factors``, ``mats`` (see :class:`Program`) of ``n`` simulated
    qubits, the affine angle map ``angles = A · params + offset`` (``angle_map`` the sparse
    rows of A, :class:`qnoise.sim.angles.AngleMap`), the observable and the constant."""

    x0: np.ndarray
    groups: np.ndarray
    factors: np.ndarray
    mats: np.ndarray
    n: int
    angle_map: tuple
    offset: np.ndarray
    terms: MeasuredTerms
    constant: float


class StepKernel(NamedTuple):
    """How one reverse step runs (:func:`qnoise.sim.reverse.reverse_step`): ``kernel``,
    the address of the group's tailored kernel (0: none); with ``uncompute`` the state
    after the group is first turned into the state before it, in place, by the tailored
    kernel (``tail_inverse``, T⁻¹ 16×16 in the kernel's order) or by ``inverse``, K⁻¹
    (16×16; empty where the kernel uncomputes)."""

    kernel: int
    uncompute: bool
    inverse: np.ndarray
    tail_inverse: np.ndarray


class GrowingStates(NamedTuple):
    """Where the groups that run while the state grows (:func:`qnoise.sim.kernels.
    run_from_zero`) act, as the forward sweep of a gradient records them: per group g,
    ``counts[g]`` qubits touched once it has run, ``positions[g]`` its qubits among them,
    ``inserted[g]`` the positions its new qubits were inserted at (-1: none); ``filled``,
    the positions of the qubits no such group touches, filled in as |0⟩ afterwards."""

    counts: np.ndarray
    positions: np.ndarray
    inserted: np.ndarray
    filled: np.ndarray
