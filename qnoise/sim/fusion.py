"""Fusion of elementary PTMs into kernel groups on at most two qubits, built incrementally.

A :class:`FusionPlan` takes the elementary operations of a lowered circuit one at a time, so
a circuit that extends an already compiled one (a gate appended, as in architecture search)
copies the earlier plan and adds only the new operations: the result is the same, array for
array, as planning the whole circuit afresh.

Greedy rule: a 1-qubit op waits for the next 2-qubit op on its qubit and joins that op's
group ahead of it (it commutes past every group in between, none of which touches its
qubit). Ops still waiting at the end join the last group on their qubit (or, if there is
none, form a 1-qubit group at the end). A 2-qubit op joins the last group when that group
is the last one on both its qubits and acts on the same pair; otherwise it opens a new
group. Rotations therefore lead their groups, followed by the constant 2-qubit part, which
is the shape whose reverse step :mod:`qnoise.sim.reverse` does cheapest.

Within a group, consecutive constant PTMs are multiplied into one factor; parametric ones
stay factors of kind ``KIND_FULL`` (a 16×16 or 4×4 rotation) or ``KIND_LOCAL0/1`` (a 4×4
rotation on local qubit 0/1 of the pair). Within each run of local rotations those on
local qubit 0 come first (they commute with those on qubit 1), so the kernels can multiply
same-qubit 4×4 factors together before embedding them. Parametric factors take angle slots
in the order of the operations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qnoise.sim import kernels
from qnoise.sim.lowering import ElementaryOp

__all__ = ["FusionPlan"]

_SWAP_DIGITS = np.array([4 * (i % 4) + i // 4 for i in range(16)])


def _embed(matrix: np.ndarray, position: int) -> np.ndarray:
    """A 4×4 PTM on local qubit ``position`` of a pair as a 16×16 PTM."""
    eye = np.eye(4)
    return np.kron(eye, matrix) if position == 0 else np.kron(matrix, eye)


def _padded(parts: tuple[np.ndarray, ...]) -> np.ndarray:
    """The parts of a factor in the kernels' ``(3, 16, 16)`` layout (zero padded)."""
    block = np.zeros((3, 16, 16))
    for p, part in enumerate(parts):
        block[p, : part.shape[0], : part.shape[1]] = part
    return block


@dataclass(frozen=True)
class _Factor:
    kind: int
    slot: int  # angle slot, -1 for a constant
    parts: tuple[np.ndarray, ...]
    block: np.ndarray  # parts, padded


def _factor_parts(op: ElementaryOp, qubits: tuple[int, ...]) -> tuple[int, tuple]:
    """Kind and parts of ``op``'s factor inside a group on ``qubits``."""
    parts, kind = op.parts, kernels.KIND_FULL
    if len(qubits) == 2 and len(op.qubits) == 1:
        position = qubits.index(op.qubits[0])
        if not op.is_parametric:
            parts = (_embed(parts[0], position),)
        kind = kernels.KIND_LOCAL0 if position == 0 else kernels.KIND_LOCAL1
    elif len(qubits) == 2 and op.qubits != qubits:
        parts = tuple(p[np.ix_(_SWAP_DIGITS, _SWAP_DIGITS)] for p in parts)
    return (kind if op.is_parametric else kernels.KIND_CONST), parts


class _Group:
    """The factors of one kernel group, in application order."""

    def __init__(self, qubits: tuple[int, ...], factors: list[_Factor]) -> None:
        self.qubits = qubits
        self.factors = factors

    def add(self, op: ElementaryOp, slot: int) -> None:
        kind, parts = _factor_parts(op, self.qubits)
        factors = self.factors
        if kind == kernels.KIND_CONST:
            if factors and factors[-1].kind == kernels.KIND_CONST:  # one product
                parts = (parts[0] @ factors.pop().parts[0],)
            factors.append(_Factor(kind, -1, parts, _padded(parts)))
            return
        factors.append(_Factor(kind, slot, parts, _padded(parts)))
        if kind == kernels.KIND_LOCAL0:  # before the local-1 rotations it follows
            i = len(factors) - 1
            while i > 0 and factors[i - 1].kind == kernels.KIND_LOCAL1:
                factors[i - 1], factors[i] = factors[i], factors[i - 1]
                i -= 1


class FusionPlan:
    """Fused kernel groups of a sequence of elementary operations (qubits already compact).

    :meth:`append` adds operations in circuit order; :meth:`copy` gives a plan that can be
    extended without changing this one (groups are shared until one of them changes);
    :meth:`arrays` returns the kernels' tables. ``num_slots`` counts the parametric ops: the
    ``k``-th one (in op order) reads angle slot ``k``.
    """

    def __init__(self) -> None:
        self._groups: list[_Group] = []
        self._owned: set[int] = set()  # indices of the groups this plan may change in place
        self._last: dict[int, int] = {}  # qubit -> index of the last group on it
        self._pending: dict[int, tuple[tuple[ElementaryOp, int], ...]] = {}
        self.num_slots = 0

    def copy(self) -> FusionPlan:
        self._owned.clear()  # both plans now share every group; either copies one to change it
        other = FusionPlan()
        other._groups = list(self._groups)
        other._last = dict(self._last)
        other._pending = dict(self._pending)
        other.num_slots = self.num_slots
        return other

    def _own(self, index: int) -> _Group:
        if index not in self._owned:
            group = self._groups[index]
            self._groups[index] = _Group(group.qubits, list(group.factors))
            self._owned.add(index)
        return self._groups[index]

    def append(self, op: ElementaryOp) -> None:
        slot = -1
        if op.is_parametric:
            slot, self.num_slots = self.num_slots, self.num_slots + 1
        if len(op.qubits) == 1:
            q = op.qubits[0]
            self._pending[q] = (*self._pending.get(q, ()), (op, slot))
            return
        a, b = op.qubits
        g = self._last.get(a)
        if g is not None and g == self._last.get(b) and set(self._groups[g].qubits) == {a, b}:
            group = self._own(g)
        else:
            group = _Group((a, b), [])
            self._groups.append(group)
            self._owned.add(len(self._groups) - 1)
            self._last[a] = self._last[b] = len(self._groups) - 1
        for member, member_slot in self._pending.pop(a, ()) + self._pending.pop(b, ()):
            group.add(member, member_slot)
        group.add(op, slot)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Kernel tables: groups ``(G, 4)`` rows ``(first factor, end, qubit a, qubit b or
        -1)``, factors ``(F, 2)`` rows ``(kind, angle slot or -1)``, and their matrices
        ``(F, 3, 16, 16)`` (constant or ``A, B, C`` of ``A + cos·B + sin·C``, zero padded)."""
        groups = list(self._groups)
        extended: dict[int, _Group] = {}  # copies of the groups that take waiting ops
        for q, members in sorted(self._pending.items()):
            if q in self._last:
                index = self._last[q]
                if index not in extended:
                    original = groups[index]
                    extended[index] = groups[index] = _Group(
                        original.qubits, list(original.factors)
                    )
                group = groups[index]
            else:
                group = _Group((q,), [])
                groups.append(group)
            for op, slot in members:
                group.add(op, slot)
        rows, factors = [], []
        for group in groups:
            start = len(factors)
            factors += group.factors
            qubits = group.qubits
            rows.append((start, len(factors), qubits[0], qubits[1] if len(qubits) == 2 else -1))
        table = np.array([(f.kind, f.slot) for f in factors], dtype=np.int64).reshape(-1, 2)
        mats = np.stack([f.block for f in factors]) if factors else np.zeros((0, 3, 16, 16))
        return np.array(rows, dtype=np.int64).reshape(-1, 4), table, mats
