"""How a compiled circuit's reverse-mode gradients keep their states.

:func:`qnoise.sim.reverse.adjoint_gradient` needs the state before every group in its
reverse sweep. :class:`GradientPolicy` decides, per circuit and within a memory budget,
how they are had:

* **kept**: every state of the forward sweep is stored (stride 1);
* **checkpointed**: when they do not fit, every s-th state is stored and the segments
  between are recomputed in the reverse sweep (:meth:`GradientPolicy.checkpoint_stride`);
* **uncomputed**: on large states (from ``_UNCOMPUTE_MIN_QUBITS`` simulated qubits) each
  state is recomputed from the one after it by the group's inverse, so only a few states
  are stored. Inverting noise amplifies rounding, so the uncomputed state is checked
  against a kept one at the end: where it is off by more than ``_UNCOMPUTE_TOLERANCE``, or
  a group has no inverse (a reset), the gradient is taken again with kept states, and so
  are the circuit's later ones.

It also owns the groups' tailored reverse-step kernels
(:func:`qnoise.sim.reverse.tailored_tables`), compiled at the first gradient that needs
them, and the buffers, in per-thread blocks (:mod:`qnoise.sim.buffers`).
"""

from __future__ import annotations

import os
from functools import cached_property

import numpy as np

from qnoise.sim import reverse
from qnoise.sim.buffers import thread_block
from qnoise.sim.records import GradientMemory, TailoredKernels

# gradients uncompute states (instead of keeping them) from this many simulated qubits on;
# a result whose uncomputed state is off by more than the tolerance is taken again with
# kept states (the entries of a Pauli vector are at most 1 in magnitude)
_UNCOMPUTE_MIN_QUBITS = 9
_UNCOMPUTE_TOLERANCE = 1e-11
# ... and when at least this many full-size groups come before the light cone: the
# uncomputing sweep copies a few states and checks one, which few groups do not repay
_UNCOMPUTE_MIN_GROUPS = 8

# kept-state gradient steps take tailored kernels (compiled per tail pattern at the first
# gradient) from this many simulated qubits on; below, the steps are short and the
# compile would dominate
_TAILORED_MIN_QUBITS = 6

# λ's rows start this many entries (2 KiB) past a multiple of 4 KiB from the states' rows.
# A reverse step reads and writes a chunk's 16 rows of the state and of λ; for a pair of
# qubits >= 5 they lie multiples of 4 KiB apart, so each state's rows share one L1 set (8
# ways), and λ's the same set as the state's unless skewed.
_LAMBDA_SKEW = 256
# λ_out's rows start 1 KiB past λ's, for the same reason (the kept-state steps read λ and
# write λ_out)
_LAMBDA_OUT_SKEW = 128


class GradientPolicy:
    """The state-keeping policy of one compiled program's gradients.

    Parameters
    ----------
    groups, factors, mats : ndarray
        The program's tables (:mod:`qnoise.sim.kernels`).
    num_qubits : int
        Simulated qubits (states of ``4**num_qubits`` entries).
    gradient_memory : int
        Bytes the stored states may take.
    """

    def __init__(
        self,
        groups: np.ndarray,
        factors: np.ndarray,
        mats: np.ndarray,
        num_qubits: int,
        gradient_memory: int,
    ) -> None:
        self._groups, self._factors, self._mats = groups, factors, mats
        self.num_qubits = num_qubits
        self.num_groups = groups.shape[0]
        self._dim = 4**num_qubits
        self.gradient_memory = int(gradient_memory)
        self._uncompute: bool | None = None  # decided at the first gradient
        self._tailored: tuple | None = None  # ((process id, uncompute), TailoredKernels)

    def value_and_gradient(self, terms: tuple, angles: np.ndarray):
        """``(<O>, d<O>/d angle)`` at one set of slot ``angles`` (S,) for the observable
        ``terms`` (the fields of a :class:`~qnoise.sim.records.MeasuredTerms`), uncomputing
        states where that is allowed and accurate (:meth:`uncomputes`) and the circuit has
        enough full-size groups before the observable's light cone, else keeping them."""
        full_size = terms[2][0] - self.growing_end  # groups before the light cone
        uncompute = self.uncomputes() and full_size >= _UNCOMPUTE_MIN_GROUPS
        tables = (self._groups, self._factors, self._mats)
        try:  # plain tuples: numba types them faster than named ones
            value, slot_grad, drift = reverse.adjoint_gradient(
                terms, tables, angles, self.num_qubits, tuple(self.memory(uncompute)),
                tuple(self.tailored_kernels(uncompute)),
            )  # fmt: skip
        except np.linalg.LinAlgError:  # a group without an inverse at these angles
            drift = np.inf
        if drift > _UNCOMPUTE_TOLERANCE:
            self._uncompute = False  # from now on, and for this point, keep states instead
            return self.value_and_gradient(terms, angles)
        return value, slot_grad

    def memory(self, uncompute: bool) -> GradientMemory:
        """The buffers of one gradient: with ``uncompute``, the growing groups' states and
        four more; otherwise the checkpoints of :meth:`checkpoint_stride` and a segment."""
        if uncompute:
            return GradientMemory(1, True, *self._buffers(self.growing_end + 4, 0))
        stride = self.checkpoint_stride()
        checkpoints = -(-self.num_groups // stride) + 1
        return GradientMemory(stride, False, *self._buffers(checkpoints, stride))

    def _buffers(self, checkpoints: int, segment: int):
        """``(ckpts, seg, lam, lam_out)`` in this thread's gradient block: ``checkpoints``
        and ``segment`` state rows, then λ ``_LAMBDA_SKEW`` entries past the rows'
        alignment and λ_out ``_LAMBDA_OUT_SKEW`` entries past λ's."""
        size = self._dim
        rows = checkpoints + segment
        skews = (_LAMBDA_SKEW, _LAMBDA_SKEW + _LAMBDA_OUT_SKEW)
        block = thread_block("gradient", (rows + 2) * size + skews[1])
        states = block[: rows * size].reshape(rows, size)
        lam, lam_out = (block[(rows + i) * size + skews[i] :][:size] for i in range(2))
        return states[:checkpoints], states[checkpoints:], lam, lam_out

    @cached_property
    def growing_counts(self) -> list[int]:
        """For each group that runs while the state grows (see
        :func:`qnoise.sim.kernels.run_from_zero`), up to the first that has touched every
        simulated qubit, the number of qubits touched once it has run."""
        touched: set[int] = set()
        counts = []
        for qa, qb in self._groups[:, 2:4]:
            touched.update(int(q) for q in (qa, qb) if q >= 0)
            counts.append(len(touched))
            if len(touched) == self.num_qubits:
                break
        return counts

    @property
    def growing_end(self) -> int:
        """The number of groups that run while the state grows."""
        return len(self.growing_counts)

    def tailored_kernels(self, uncompute: bool) -> TailoredKernels:
        """The groups' tailored reverse-step kernels and tail inverses: the uncomputing
        ones when ``uncompute``, the kept-state ones from ``_TAILORED_MIN_QUBITS`` on
        (zeros otherwise), compiled at the first gradient that needs them. The kernels are
        machine code of this process, so a copy of this object in another process
        (pickled, forked) builds its own."""
        if not uncompute and self.num_qubits < _TAILORED_MIN_QUBITS:
            none = np.zeros(self.num_groups, dtype=np.int64)
            return TailoredKernels(none, none, np.empty((0, 16, 16)))
        key = (os.getpid(), uncompute)
        if self._tailored is None or self._tailored[0] != key:
            tables = reverse.tailored_tables(
                self._groups, self._factors, self._mats, self.num_qubits, uncompute
            )
            self._tailored = (key, TailoredKernels(*tables))
        return self._tailored[1]

    def uncomputes(self) -> bool:
        """Whether gradients uncompute states instead of keeping them: on states of at
        least ``_UNCOMPUTE_MIN_QUBITS`` qubits (smaller ones stay in cache) whose states fit
        in ``gradient_memory`` (:meth:`uncompute_bytes`), until a gradient finds a group
        without an inverse or the uncomputed state off by more than
        ``_UNCOMPUTE_TOLERANCE``."""
        if self._uncompute is None:
            self._uncompute = (
                self.num_qubits >= _UNCOMPUTE_MIN_QUBITS
                and self.uncompute_bytes() <= self.gradient_memory
            )
        return self._uncompute

    def uncompute_bytes(self) -> int:
        """Bytes of states an uncomputing gradient writes: the growing groups' inputs, each
        on the qubits touched so far (their rows are full-size, but only that prefix is
        written, and untouched memory is not committed), and six full states (the one kept,
        the one uncomputed in place, the forward sweep's scratch, the light cone's copy, λ
        and λ_out)."""
        return 8 * (6 * self._dim + sum(4**count for count in self.growing_counts))

    def checkpoint_stride(self) -> int:
        """Smallest checkpoint stride s whose buffers (⌈G/s⌉ + 1 checkpoints, a segment of
        s states, λ and λ_out) fit in ``gradient_memory``; s = 1 stores every state (no
        recomputation). s = 2 is skipped: its segments recompute one group alone, where
        longer ones take two groups per pass, which makes s = 3 faster than s = 2."""
        capacity = self.gradient_memory // (8 * self._dim)
        for stride in (1, *range(3, self.num_groups + 1)):
            needed = -(-self.num_groups // stride) + 3 + (stride if stride > 1 else 0)
            if needed <= capacity:
                return stride
        return max(1, int(np.ceil(np.sqrt(self.num_groups))))
