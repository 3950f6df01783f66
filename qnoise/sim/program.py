"""Compiled circuits: fusion of elementary PTMs into 1–2 qubit groups, evaluation, gradients."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import sympy
from qiskit.circuit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp

from qnoise.noise.channels import ReadoutError
from qnoise.noise.model import NoiseModel
from qnoise.sim import kernels
from qnoise.sim.lowering import ElementaryOp, LoweredCircuit, lower_circuit
from qnoise.sim.observable import as_sparse_pauli_op, observable_terms, with_readout
from qnoise.sim.pauli import pauli_vector_to_density_matrix, zero_state
from qnoise.sim.shots import SHOT_MODELS, basis_probabilities, estimate_with_shots

__all__ = ["CompiledCircuit", "compile_circuit"]

_SWAP_DIGITS = np.array([4 * (i % 4) + i // 4 for i in range(16)])


def _plan_groups(ops: list[ElementaryOp]) -> list[tuple[tuple[int, ...], list[int]]]:
    """Greedy fusion of operations into groups on at most two qubits.

    A 1-qubit op joins the last group touching its qubit (it commutes past every later group,
    none of which touches that qubit); before any group exists on the qubit it waits and is
    prepended to the qubit's first group. A 2-qubit op joins the last group when that group is
    the last one on both its qubits and acts on the same pair; otherwise it opens a new group.
    """
    groups: list[tuple[tuple[int, ...], list[int]]] = []
    last: dict[int, int] = {}
    pending: dict[int, list[int]] = {}
    for i, op in enumerate(ops):
        if len(op.qubits) == 1:
            q = op.qubits[0]
            if q in last:
                groups[last[q]][1].append(i)
            else:
                pending.setdefault(q, []).append(i)
            continue
        a, b = op.qubits
        g = last.get(a)
        if g is not None and g == last.get(b) and set(groups[g][0]) == {a, b}:
            groups[g][1].append(i)
            continue
        members = pending.pop(a, []) + pending.pop(b, []) + [i]
        groups.append(((a, b), members))
        last[a] = last[b] = len(groups) - 1
    for q, members in sorted(pending.items()):
        groups.append(((q,), members))
    return groups


def _embed(matrix: np.ndarray, position: int) -> np.ndarray:
    """A 4×4 PTM on local qubit ``position`` of a pair as a 16×16 PTM."""
    eye = np.eye(4)
    return np.kron(eye, matrix) if position == 0 else np.kron(matrix, eye)


class _AngleMap:
    """Rotation angles as functions of the parameters: ``angles = params @ A.T + offset`` plus
    non-affine slots evaluated with sympy."""

    def __init__(self, num_parameters: int, parameters: list) -> None:
        self.num_parameters = num_parameters
        self.parameters = parameters
        self.rows: list[tuple[dict[int, float], float]] = []
        self.nonlinear: list[tuple[int, object, object, list[int]]] = []

    def add(self, angle) -> int:
        slot = len(self.rows)
        if angle.expression is None:
            self.rows.append((angle.coeffs, angle.offset))
            return slot
        self.rows.append(({}, 0.0))
        expr = angle.expression
        params = sorted(expr.parameters, key=lambda p: self.parameters.index(p))
        symbols = [sympy.Symbol(p.name) for p in params]
        sym_expr = expr.sympify()
        sym_expr = sym_expr.subs({s: sympy.Symbol(s.name) for s in sym_expr.free_symbols})
        value_fn = sympy.lambdify(symbols, sym_expr, "numpy")
        grad_fns = [sympy.lambdify(symbols, sympy.diff(sym_expr, s), "numpy") for s in symbols]
        self.nonlinear.append(
            (slot, value_fn, grad_fns, [self.parameters.index(p) for p in params])
        )
        return slot

    def finalize(self) -> None:
        num_slots = len(self.rows)
        self.matrix = np.zeros((num_slots, self.num_parameters))
        self.offset = np.zeros(num_slots)
        for slot, (coeffs, offset) in enumerate(self.rows):
            for j, c in coeffs.items():
                self.matrix[slot, j] = c
            self.offset[slot] = offset
        self.matrix_t = np.ascontiguousarray(self.matrix.T)

    def angles(self, params: np.ndarray) -> np.ndarray:
        """(B, P) parameters -> (B, S) angles."""
        out = params @ self.matrix_t + self.offset
        for slot, value_fn, _, cols in self.nonlinear:
            out[:, slot] = np.broadcast_to(value_fn(*(params[:, c] for c in cols)), out.shape[0])
        return np.ascontiguousarray(out)

    def chain(self, params: np.ndarray, slot_grad: np.ndarray) -> np.ndarray:
        """Parameter gradient from angle gradient (1-D, one parameter vector)."""
        grad = slot_grad @ self.matrix
        for slot, _, grad_fns, cols in self.nonlinear:
            args = [params[c] for c in cols]
            for fn, c in zip(grad_fns, cols, strict=True):
                grad[c] += slot_grad[slot] * float(fn(*args))
        return grad


class CompiledCircuit:
    """A circuit compiled against a noise model: evaluate many parameter vectors quickly.

    Obtain it from :meth:`qnoise.PTMSimulator.compile`. Parameters are ordered as
    ``circuit.parameters``; values of shape ``(P,)`` give scalars, ``(B, P)`` give arrays of
    length B. Energies are in the observable's units; the Pauli-vector convention is in
    :mod:`qnoise.sim.pauli`.
    """

    def __init__(
        self,
        lowered: LoweredCircuit,
        readout: list[ReadoutError | None],
        gradient_memory: int = 2**28,
    ) -> None:
        self.num_qubits = lowered.num_qubits
        self.parameters = lowered.parameters
        self.num_parameters = len(lowered.parameters)
        self._measured = lowered.measured
        self._num_clbits = lowered.num_clbits
        self._readout = readout
        self._gradient_memory = int(gradient_memory)
        self._observables: OrderedDict = OrderedDict()
        self._build(lowered.ops)
        self._x0 = zero_state(self.num_qubits)

    # ------------------------------------------------------------------ build
    def _build(self, ops: list[ElementaryOp]) -> None:
        self._angles = _AngleMap(self.num_parameters, self.parameters)
        group_rows, factor_rows, mats = [], [], []
        for qubits, members in _plan_groups(ops):
            start = len(factor_rows)
            dim = 4 ** len(qubits)
            const = None
            for i in members:
                op = ops[i]
                kind, parts = self._factor(op, qubits)
                if kind == kernels.KIND_CONST:
                    const = parts[0] if const is None else parts[0] @ const
                    continue
                if const is not None:
                    factor_rows.append((kernels.KIND_CONST, -1))
                    mats.append((const,))
                    const = None
                factor_rows.append((kind, self._angles.add(op.angle)))
                mats.append(parts)
            if const is not None or len(factor_rows) == start:
                factor_rows.append((kernels.KIND_CONST, -1))
                mats.append((np.eye(dim) if const is None else const,))
            qa = qubits[0]
            qb = qubits[1] if len(qubits) == 2 else -1
            group_rows.append((start, len(factor_rows), qa, qb))
        self._angles.finalize()
        self._groups = np.array(group_rows, dtype=np.int64).reshape(-1, 4)
        self._factors = np.array(factor_rows, dtype=np.int64).reshape(-1, 2)
        self._mats = np.zeros((len(mats), 3, 16, 16))
        for f, parts in enumerate(mats):
            for p, part in enumerate(parts):
                self._mats[f, p, : part.shape[0], : part.shape[1]] = part
        self.num_groups = self._groups.shape[0]

    @staticmethod
    def _factor(op: ElementaryOp, qubits: tuple[int, ...]):
        parts = op.parts
        if len(qubits) == 2:
            if len(op.qubits) == 1:
                position = qubits.index(op.qubits[0])
                if not op.is_parametric:
                    return kernels.KIND_CONST, (_embed(parts[0], position),)
                kind = kernels.KIND_LOCAL0 if position == 0 else kernels.KIND_LOCAL1
                return kind, parts
            if op.qubits != qubits:
                parts = tuple(p[np.ix_(_SWAP_DIGITS, _SWAP_DIGITS)] for p in parts)
        if not op.is_parametric:
            return kernels.KIND_CONST, parts
        return kernels.KIND_FULL, parts

    # ------------------------------------------------------------- utilities
    def _parameter_batch(self, parameter_values) -> tuple[np.ndarray, bool]:
        if parameter_values is None:
            if self.num_parameters:
                raise ValueError(
                    f"the circuit has {self.num_parameters} parameters; pass parameter_values"
                )
            return np.zeros((1, 0)), True
        values = np.asarray(parameter_values, dtype=float)
        single = values.ndim <= 1
        values = values.reshape(1, -1) if single else values
        if values.ndim != 2 or values.shape[1] != self.num_parameters:
            raise ValueError(
                f"parameter_values must have shape ({self.num_parameters},) or "
                f"(B, {self.num_parameters}), got {np.shape(parameter_values)}"
            )
        if not np.all(np.isfinite(values)):
            raise ValueError("parameter_values contain NaN or infinity")
        return values, single

    def _terms(self, observable) -> tuple[np.ndarray, np.ndarray, SparsePauliOp]:
        op = as_sparse_pauli_op(observable, self.num_qubits)
        key = (tuple(op.paulis.to_labels()), op.coeffs.tobytes())
        cached = self._observables.get(key)
        if cached is None:
            indices, coeffs = observable_terms(op)
            indices, coeffs = with_readout(indices, coeffs, self._readout)
            cached = (indices, coeffs, op)
            self._observables[key] = cached
            if len(self._observables) > 64:
                self._observables.popitem(last=False)
        return cached

    def angles(self, parameter_values) -> np.ndarray:
        """Rotation angles (B, S) of every parametric factor for the given parameters."""
        values, _ = self._parameter_batch(parameter_values)
        return self._angles.angles(values)

    def _pauli_vectors(self, values: np.ndarray) -> np.ndarray:
        angles = self._angles.angles(values)
        out = np.empty((values.shape[0], self._x0.size))
        kernels.states_batch(
            self._x0, self._groups, self._factors, self._mats, angles, self.num_qubits, out
        )
        return out

    # ------------------------------------------------------------ public API
    def pauli_vector(self, parameter_values=None) -> np.ndarray:
        """Final Pauli expectations ``Tr(P_k ρ)`` (no readout error), shape ``(4**n,)`` or
        ``(B, 4**n)``."""
        values, single = self._parameter_batch(parameter_values)
        out = self._pauli_vectors(values)
        return out[0] if single else out

    def expectation(
        self,
        observable,
        parameter_values=None,
        *,
        shots: int | None = None,
        seed=None,
        shot_model: str = "sample",
    ):
        """Expectation value of ``observable`` (readout error included, see
        :class:`qnoise.noise.ReadoutError`).

        Parameters
        ----------
        observable : SparsePauliOp, Pauli or str
            Hermitian observable on the circuit's qubits (Qiskit little-endian labels).
        parameter_values : array_like, optional
            Shape ``(P,)`` for a float result, ``(B, P)`` for an array of shape ``(B,)``.
        shots : int, optional
            Finite-shot estimate with this many shots per measurement group (``None``: exact).
        seed : int or numpy Generator, optional
            Seed of the shot noise.
        shot_model : {"sample", "gaussian"}
            See :mod:`qnoise.sim.shots`.
        """
        values, single = self._parameter_batch(parameter_values)
        indices, coeffs, op = self._terms(observable)
        if shots is None:
            out = np.empty(values.shape[0])
            angles = self._angles.angles(values)
            kernels.evaluate_batch(
                self._x0,
                self._groups,
                self._factors,
                self._mats,
                angles,
                self.num_qubits,
                indices,
                coeffs,
                out,
            )
        else:
            if shot_model not in SHOT_MODELS:
                raise ValueError(f"shot_model must be one of {SHOT_MODELS}, got {shot_model!r}")
            rng = np.random.default_rng(seed)
            states = self._pauli_vectors(values)
            out = np.array(
                [estimate_with_shots(x, op, self._readout, shots, rng, shot_model) for x in states]
            )
        return float(out[0]) if single else out

    def value_and_gradient(self, observable, parameter_values):
        """Exact expectation and its gradient by reverse mode (one forward, one backward sweep).

        Returns ``(value, gradient)`` with gradient shape ``(P,)``, or ``(B,)`` and ``(B, P)``
        for a batch. Memory: states are checkpointed so that at most ``gradient_memory`` bytes
        (constructor argument) hold intermediate states; beyond that segments are recomputed.
        """
        values, single = self._parameter_batch(parameter_values)
        indices, coeffs, _ = self._terms(observable)
        lam = np.zeros(self._x0.size)
        np.add.at(lam, indices, coeffs)
        angles = self._angles.angles(values)
        stride = self._checkpoint_stride()
        results, grads = [], []
        for row, params in zip(angles, values, strict=True):
            value, slot_grad = kernels.adjoint_gradient(
                self._x0,
                lam,
                self._groups,
                self._factors,
                self._mats,
                row,
                self.num_qubits,
                angles.shape[1],
                stride,
            )
            results.append(value)
            grads.append(self._angles.chain(params, slot_grad))
        if single:
            return float(results[0]), grads[0]
        return np.array(results), np.array(grads)

    def gradient(self, observable, parameter_values) -> np.ndarray:
        """Exact gradient of :meth:`expectation` (reverse mode); see :meth:`value_and_gradient`."""
        return self.value_and_gradient(observable, parameter_values)[1]

    def _checkpoint_stride(self) -> int:
        state_bytes = 8 * self._x0.size
        if (self.num_groups + 1) * state_bytes <= self._gradient_memory:
            return 1
        return max(1, int(np.ceil(np.sqrt(self.num_groups))))

    def density_matrix(self, parameter_values=None) -> np.ndarray:
        """Final density matrix, complex ``(2**n, 2**n)`` in Qiskit ordering (no readout)."""
        values, single = self._parameter_batch(parameter_values)
        if not single:
            raise ValueError("density_matrix takes one parameter vector of shape (P,)")
        return pauli_vector_to_density_matrix(self._pauli_vectors(values)[0])

    def probabilities(self, parameter_values=None) -> np.ndarray:
        """Computational-basis probabilities of all qubits including readout error, shape
        ``(2**n,)`` indexed by ``Σ b_q 2**q`` (Qiskit bit order)."""
        values, single = self._parameter_batch(parameter_values)
        if not single:
            raise ValueError("probabilities takes one parameter vector of shape (P,)")
        x = self._pauli_vectors(values)[0]
        return basis_probabilities(x, np.full(self.num_qubits, 3), self._readout)

    def sample_counts(self, shots: int, parameter_values=None, seed=None) -> dict[str, int]:
        """Sampled counts with readout error, Qiskit style: keys are the circuit's classical
        bits (clbit 0 rightmost) when it measures, otherwise all qubits (qubit 0 rightmost)."""
        if int(shots) != shots or shots < 1:
            raise ValueError(f"shots must be a positive integer, got {shots}")
        probs = self.probabilities(parameter_values)
        rng = np.random.default_rng(seed)
        counts = rng.multinomial(int(shots), probs)
        result: dict[str, int] = {}
        for outcome in np.nonzero(counts)[0].tolist():
            if self._measured:
                bits = ["0"] * self._num_clbits
                for clbit, qubit in self._measured.items():
                    bits[self._num_clbits - 1 - clbit] = str((outcome >> qubit) & 1)
                key = "".join(bits)
            else:
                key = format(outcome, f"0{self.num_qubits}b")
            result[key] = result.get(key, 0) + int(counts[outcome])
        return result


def compile_circuit(
    circuit: QuantumCircuit,
    noise: NoiseModel | None = None,
    gradient_memory: int = 2**28,
) -> CompiledCircuit:
    """Lower and fuse ``circuit`` under ``noise`` (see :class:`CompiledCircuit`)."""
    lowered = lower_circuit(circuit, noise, dt=getattr(noise, "dt", None))
    readout = [None if noise is None else noise.readout_error(q) for q in range(circuit.num_qubits)]
    return CompiledCircuit(lowered, readout, gradient_memory=gradient_memory)
