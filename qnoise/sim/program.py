"""Compiled circuits: evaluation, gradients, sampling (fusion planning is in qnoise.sim.fusion)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from qiskit.circuit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp

from qnoise.noise.channels import ReadoutError
from qnoise.noise.model import NoiseModel
from qnoise.pauli import pauli_vector_to_density_matrix, zero_state
from qnoise.sim import batched, kernels
from qnoise.sim.angles import AngleMap
from qnoise.sim.buffers import evaluation_buffers
from qnoise.sim.cache import CappedCache
from qnoise.sim.cone import cone_plan
from qnoise.sim.fusion import FusionPlan
from qnoise.sim.gradient_policy import GradientPolicy
from qnoise.sim.lowering import ElementaryOp, LoweredCircuit, lower_circuit
from qnoise.sim.observable import as_sparse_pauli_op, observable_terms, with_readout
from qnoise.sim.records import MeasuredTerms, NativeProgram, Program
from qnoise.sim.shots import (
    MeasurementPlan,
    basis_probabilities,
    check_shots,
    counts_key,
    draw_counts,
)
from qnoise.sim.simd import aligned_rows

__all__ = ["CompiledCircuit", "compile_circuit"]


def _operator_key(op: SparsePauliOp) -> tuple:
    """A hashable fingerprint of ``op``'s content: its Paulis' x and z bits and its
    coefficients (a SparsePauliOp keeps every phase in its coefficients, its ``paulis.phase``
    being 0, so these determine it; computing that phase would cost several µs per call)."""
    paulis = op.paulis
    return (op.num_qubits, paulis.x.tobytes(), paulis.z.tobytes(), op.coeffs.tobytes())


#: largest Pauli vector compiled (8·4ⁿ bytes): 14 active qubits
_MAX_STATE_BYTES = 2**31
_ZERO_PAULI = np.array([1.0, 0.0, 0.0, 1.0])  # ⟨I⟩, ⟨X⟩, ⟨Y⟩, ⟨Z⟩ of |0⟩


@dataclass(frozen=True)
class PreparedObservable:
    """An observable compiled for one :class:`CompiledCircuit` (see ``prepare``): its
    terms on the simulated qubits with readout folded in and its light cone in this
    circuit, as compiled code takes them, and the operator itself."""

    terms: MeasuredTerms
    operator: SparsePauliOp

    @cached_property
    def fields(self) -> tuple:
        """``terms`` as a plain tuple, as compiled entry points take it (built once)."""
        return tuple(self.terms)

    @property
    def indices(self) -> np.ndarray:
        return self.terms.index

    @property
    def coeffs(self) -> np.ndarray:
        return self.terms.coeff


class CompiledCircuit:
    """A circuit compiled against a noise model: evaluate many parameter vectors quickly.

    Obtain it from :meth:`qnoise.PTMSimulator.compile`. Parameters are ordered as
    ``circuit.parameters``; values of shape ``(P,)`` give scalars, ``(B, P)`` give arrays of
    length B. Energies are in the observable's units; the Pauli-vector convention is in
    :mod:`qnoise.pauli`.
    """

    def __init__(
        self,
        lowered: LoweredCircuit,
        readout: list[ReadoutError | None],
        gradient_memory: int = 2**30,
        prefix: CompiledCircuit | None = None,
    ) -> None:
        self.lowered = lowered  # read-only; extended by compiles of longer circuits
        self.num_qubits = lowered.num_qubits
        self.parameters = lowered.parameters
        self.num_parameters = len(lowered.parameters)
        self._measured = lowered.measured
        self._num_clbits = lowered.num_clbits
        registered = sorted(c for reg in lowered.registers for c in reg)
        # counts keys group bits by register (last register leftmost, as Qiskit) when the
        # registers cover every clbit exactly once; otherwise one string of all clbits
        self._registers = (
            lowered.registers
            if registered == list(range(lowered.num_clbits))
            else [list(range(lowered.num_clbits))]
        )
        self._full_readout = readout
        # only qubits some operation touches are simulated; the others stay in |0⟩
        self.active_qubits = sorted({q for op in lowered.ops for q in op.qubits}) or [0]
        self._compact = {q: i for i, q in enumerate(self.active_qubits)}
        self._num_active = len(self.active_qubits)
        state_bytes = 8 * 4**self._num_active
        if state_bytes > _MAX_STATE_BYTES:
            raise ValueError(
                f"the circuit acts on {self._num_active} qubits: its Pauli vector needs "
                f"{state_bytes / 2**30:.0f} GiB (limit {_MAX_STATE_BYTES / 2**30:.0f} GiB)"
            )
        # a circuit without qubits simulates one idle phantom qubit (no readout error)
        self._readout = [readout[q] if q < len(readout) else None for q in self.active_qubits]
        self._plans: CappedCache = CappedCache(64)
        self._cones: CappedCache = CappedCache(64)
        # a compile that extends ``prefix`` (same simulated qubits) fuses only the new ops and
        # shares its observable cache (terms depend only on the qubits and readout)
        extend = prefix is not None and prefix.active_qubits == self.active_qubits
        self._observables: CappedCache = prefix._observables if extend else CappedCache(64)
        self._plan = prefix._plan.copy() if extend else FusionPlan()
        self._angles = (
            prefix._angles.extended(self.num_parameters, self.parameters)
            if extend
            else AngleMap(self.num_parameters, self.parameters)
        )
        compact = self._compact
        for op in lowered.ops[len(prefix.lowered.ops) if extend else 0 :]:
            if op.is_parametric:  # slots in op order, as the plan numbers them
                self._angles.add(op.angle)
            # new op objects: the lowered ops may be shared with other compiled circuits
            self._plan.append(
                ElementaryOp(tuple(compact[q] for q in op.qubits), op.parts, op.angle)
            )
        self._angles.finalize()
        self._groups, self._factors, self._mats = self._plan.arrays()
        self.num_groups = self._groups.shape[0]
        self._tables = (self._groups, self._factors, self._mats)
        self._gradient = GradientPolicy(
            self._groups, self._factors, self._mats, self._num_active, gradient_memory
        )
        self._x0 = prefix._x0 if extend else zero_state(self._num_active)

    def __repr__(self) -> str:
        return (
            f"CompiledCircuit(num_qubits={self.num_qubits}, simulated={self._num_active}, "
            f"parameters={self.num_parameters}, fused_groups={self.num_groups})"
        )

    # ------------------------------------------------------------- utilities
    def parameter_batch(self, parameter_values) -> tuple[np.ndarray, bool]:
        """Validate parameter values: returns a finite float array ``(B, P)`` and whether the
        input was one point (shape ``(P,)``, or ``None`` for a circuit without parameters)."""
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
        if not np.isfinite(values).all():
            raise ValueError("parameter_values contain NaN or infinity")
        return values, single

    def _terms(self, observable) -> tuple[np.ndarray, np.ndarray, SparsePauliOp]:
        """Observable as (Pauli indices, coefficients) on the simulated qubits, readout error
        folded in; cached on the observable's content (cheap to fingerprint)."""
        if isinstance(observable, str):
            key = observable
        elif isinstance(observable, SparsePauliOp):
            key = _operator_key(observable)
        else:
            key = None
        cached = self._observables.get(key) if key is not None else None
        if cached is None:
            op = as_sparse_pauli_op(observable, self.num_qubits)
            indices, coeffs = self._reduce_to_active(*observable_terms(op))
            indices, coeffs = with_readout(indices, coeffs, self._readout)
            cached = (indices, coeffs, op)
            if key is not None:
                self._observables.put(key, cached)
        return cached

    def _reduce_to_active(self, indices: np.ndarray, coeffs: np.ndarray):
        """Map full-register Pauli indices to the simulated qubits; factors on idle qubits
        (in |0⟩) become numbers: Z -> 1 - 2·e0, X and Y -> the readout offset α (0 ideally)."""
        if self._num_active == self.num_qubits:
            return indices, coeffs
        terms: dict[int, float] = {}
        for index, coeff in zip(indices.tolist(), coeffs.tolist(), strict=True):
            compact = 0
            for q in range(self.num_qubits):
                digit = (index >> (2 * q)) & 3
                if not digit:
                    continue
                if q in self._compact:
                    compact += digit << (2 * self._compact[q])
                    continue
                ro = self._full_readout[q]
                if digit == 3:
                    coeff *= 1.0 if ro is None else 1.0 - 2.0 * ro.p_meas1_prep0
                else:
                    coeff *= 0.0 if ro is None else ro.offset
            terms[compact] = terms.get(compact, 0.0) + coeff
        keys = np.array(sorted(terms), dtype=np.int64)
        return keys, np.array([terms[k] for k in keys.tolist()])

    def _subsystem(self, op: SparsePauliOp) -> tuple[list[int], SparsePauliOp]:
        """Qubits to sample (active ones and idle ones the observable measures) and the
        observable restricted to them."""
        support = np.any(op.paulis.x | op.paulis.z, axis=0)
        qubits = self.active_qubits + [
            q for q in range(self.num_qubits) if support[q] and q not in self._compact
        ]
        labels = [
            "".join(label[self.num_qubits - 1 - q] for q in reversed(qubits))
            for label in op.paulis.to_labels()
        ]
        return qubits, SparsePauliOp(labels, op.coeffs)

    def _expand_state(self, x: np.ndarray, qubits: list[int]) -> np.ndarray:
        """Pauli vector on ``qubits`` (active ones first, as simulated) with the extra ones
        in |0⟩."""
        extra = len(qubits) - self._num_active
        return np.kron(zero_state(extra), x) if extra else x

    @property
    def shift_rule_exact(self) -> bool:
        """Whether the two-term parameter-shift rule (shift π/2) gives exact derivatives: every
        parameter enters at most one rotation angle, as ``±θ + const`` of a Pauli rotation
        ``exp(-i angle P / 2)``. Noise does not change this (a rotation's PTM is
        ``A + B cos θ + C sin θ``)."""
        angles = self._angles
        if angles.nonlinear:
            return False
        nonzero = angles.matrix != 0
        if np.any(nonzero.sum(axis=0) > 1):
            return False
        return bool(np.all(np.abs(angles.matrix[nonzero]) == 1))

    def angles(self, parameter_values) -> np.ndarray:
        """Rotation angles (B, S) of every parametric factor for the given parameters."""
        values, _ = self.parameter_batch(parameter_values)
        return self._angles.angles(values)

    def _pauli_vectors(self, values: np.ndarray) -> np.ndarray:
        angles = self._angles.angles(values)
        out = aligned_rows(values.shape[0], self._x0.size)
        kernels.states_batch(self._groups, self._factors, self._mats, angles, self._num_active, out)
        return out

    # ------------------------------------------------------------ public API
    def pauli_vector(self, parameter_values=None) -> np.ndarray:
        """Final Pauli expectations ``Tr(P_k ρ)`` of all qubits (no readout error), shape
        ``(4**n,)`` or ``(B, 4**n)``."""
        values, single = self.parameter_batch(parameter_values)
        self._check_full_size(12)
        states = self._pauli_vectors(values)
        if self._num_active < self.num_qubits:
            states = np.array([self._embed_full(x) for x in states])
        return states[0] if single else states

    def _check_full_size(self, limit: int) -> None:
        if self.num_qubits > limit:
            raise ValueError(
                f"the full {self.num_qubits}-qubit result is too large; the circuit acts on "
                f"qubits {self.active_qubits}: ask for expectation values or marginal "
                "probabilities (qubits=...) instead"
            )

    def _embed_full(self, x: np.ndarray) -> np.ndarray:
        """Pauli vector on all qubits from the active-qubit vector (idle qubits in |0⟩)."""
        return self._on_qubits(
            x.reshape((4,) * self._num_active), range(self.num_qubits), lambda q: _ZERO_PAULI
        )

    def _on_qubits(self, tensor: np.ndarray, qubits, idle_factor) -> np.ndarray:
        """Flatten ``tensor`` (axes: active qubits, highest first; those outside ``qubits``
        are summed out) onto ``qubits`` (``qubits[0]`` least significant), inserting
        ``idle_factor(q)`` for each requested qubit that is not simulated."""
        axes = list(reversed(self.active_qubits))
        requested = set(qubits)
        drop = tuple(axis for axis, q in enumerate(axes) if q not in requested)
        if drop:
            tensor = tensor.sum(axis=drop)
            axes = [q for q in axes if q in requested]
        for q in qubits:
            if q not in self._compact:
                tensor = np.multiply.outer(idle_factor(q), tensor)
                axes.insert(0, q)
        order = [axes.index(q) for q in reversed(list(qubits))]
        return np.ascontiguousarray(tensor.transpose(order)).reshape(-1)

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
        values, single = self.parameter_batch(parameter_values)
        out = self.expectation_batch(
            self.prepare(observable), values, shots=shots, seed=seed, shot_model=shot_model
        )
        return float(out[0]) if single else out

    def prepare(self, observable) -> PreparedObservable:
        """Snapshot of an observable for repeated :meth:`expectation_batch` calls: its terms
        on the simulated qubits with readout folded in, and its light cone in this circuit
        (:mod:`qnoise.sim.cone`)."""
        indices, coeffs, op = self._terms(observable)
        return PreparedObservable(MeasuredTerms(indices, coeffs, self._cone(indices)), op)

    def _cone(self, indices: np.ndarray) -> tuple:
        """The light cone of the observable entries ``indices`` (cached by content): the last
        groups are applied to the observable while it touches at most 1/16 of the state
        (beyond that a sparse step costs about as much as a full SIMD pass)."""
        key = indices.tobytes()
        cone = self._cones.get(key)
        if cone is None:
            cone = cone_plan(self._groups, self._num_active, indices, self._x0.size // 16)
            self._cones.put(key, cone)
        return cone

    def _program(self, angles: np.ndarray) -> Program:
        """The compiled tables with slot ``angles`` ((S,), or (B, S) for the batched paths)."""
        return Program(self._groups, self._factors, self._mats, angles)

    def native_program(
        self, prepared: PreparedObservable, constant: float = 0.0
    ) -> NativeProgram | None:
        """Everything compiled code needs to evaluate ``constant + <O>`` exactly, as
        :func:`qnoise.sim.batched.evaluate_points` takes it; ``None`` when some angle is
        not an affine function of the parameters (then only the Python path evaluates it).

        :func:`~qnoise.sim.batched.evaluate_points` gives the same numbers, bit for bit, as
        ``constant + expectation_batch(prepared, points)``.
        """
        if self._angles.nonlinear:
            return None
        return NativeProgram(
            self._x0, self._groups, self._factors, self._mats, self._num_active,
            self._angles.sparse, self._angles.offset, prepared.terms, float(constant),
        )  # fmt: skip

    def expectation_from_states(self, observable, states, parameter_values=None) -> np.ndarray:
        """Expectation values of ``observable`` after this circuit acts on given initial
        states instead of ``|0…0⟩``.

        The circuit's noise acts as usual and readout error is folded into the observable.
        This is the second half of a circuit split in two: with ``states`` the Pauli
        vectors a first circuit prepared (e.g. a classifier's feature map, the same for
        every epoch), each evaluation costs only this circuit.

        Parameters
        ----------
        observable : SparsePauliOp, Pauli or str
        states : array_like, shape (B, 4**n)
            Pauli vectors ``Tr(P_k ρ_b)`` in the order of :meth:`pauli_vector`.
        parameter_values : array_like, shape (P,), optional
            One parameter vector for all states.

        Returns
        -------
        ndarray, shape (B,)
        """
        if self._num_active != self.num_qubits:
            raise ValueError(
                f"the circuit acts on qubits {self.active_qubits} of {self.num_qubits}; "
                "starting from given states needs a circuit that acts on every qubit"
            )
        values, single = self.parameter_batch(parameter_values)
        if not single:
            raise ValueError("expectation_from_states takes one parameter vector of shape (P,)")
        states = np.asarray(states, dtype=float)
        if states.ndim != 2 or states.shape[1] != self._x0.size:
            raise ValueError(f"states must have shape (B, {self._x0.size}), got {states.shape}")
        evolved = aligned_rows(states.shape[0], self._x0.size)
        evolved[:] = states
        angles = self._angles.angles(values)[0]
        kernels.run_states(evolved, self._program(angles), self._num_active)
        prepared = self.prepare(observable)
        return evolved[:, prepared.indices] @ prepared.coeffs

    def expectation_batch(
        self,
        prepared: PreparedObservable,
        values: np.ndarray,
        *,
        shots: int | None = None,
        seed=None,
        shot_model: str = "sample",
    ) -> np.ndarray:
        """:meth:`expectation` without input checks, for hot loops: ``values`` must be a
        finite float array ``(B, P)`` (as :meth:`parameter_batch` returns) and ``prepared``
        come from :meth:`prepare`. Returns ``(B,)``."""
        op = prepared.operator
        if shots is None:
            out = np.empty(values.shape[0])
            batched.evaluate_batch(
                self._x0, self._tables, self._angles.angles(values), self._num_active,
                prepared.fields, out, evaluation_buffers(self._x0.size),
            )  # fmt: skip
        else:
            check_shots(shots, shot_model)
            qubits, plan = self._measurement_plan(op)
            states = self._pauli_vectors(values)
            if len(qubits) > self._num_active:
                states = np.array([self._expand_state(x, qubits) for x in states])
            out = plan.estimate(states, int(shots), np.random.default_rng(seed), shot_model)
        return out

    def shot_standard_error(
        self, observable, parameter_values, shots: int, shot_model: str = "sample"
    ):
        """Standard error of the ``shots``-shot estimate :meth:`expectation` returns (its
        exact spread at these parameters, not an estimate from samples); float or ``(B,)``."""
        check_shots(shots, shot_model)
        values, single = self.parameter_batch(parameter_values)
        op = self.prepare(observable).operator
        qubits, plan = self._measurement_plan(op)
        states = self._pauli_vectors(values)
        if len(qubits) > self._num_active:
            states = np.array([self._expand_state(x, qubits) for x in states])
        out = plan.standard_error(states, int(shots), shot_model)
        return float(out[0]) if single else out

    def _measurement_plan(self, op: SparsePauliOp) -> tuple[list[int], MeasurementPlan]:
        """Sampled qubits and the measurement plan of ``op`` (cached by content)."""
        key = _operator_key(op)
        cached = self._plans.get(key)
        if cached is None:
            qubits, sub_op = self._subsystem(op)
            cached = (qubits, MeasurementPlan(sub_op, [self._full_readout[q] for q in qubits]))
            self._plans.put(key, cached)
        return cached

    def value_and_gradient(self, observable, parameter_values):
        """Exact expectation and its gradient by reverse mode (one forward, one backward sweep).

        Returns ``(value, gradient)`` with gradient shape ``(P,)``, or ``(B,)`` and ``(B, P)``
        for a batch.

        Memory: the states between groups are kept, within ``gradient_memory`` bytes
        (constructor argument); beyond that states are checkpointed and segments
        recomputed, and on large states they are uncomputed from the states after them
        (:mod:`qnoise.sim.gradient_policy`; measured figures: ``docs/benchmarks.md``).
        """
        values, single = self.parameter_batch(parameter_values)
        prepared = self.prepare(observable)
        angles = self._angles.angles(values)
        results, grads = [], []
        for row, params in zip(angles, values, strict=True):
            value, slot_grad = self._gradient.value_and_gradient(prepared.fields, row)
            results.append(value)
            grads.append(self._angles.chain(params, slot_grad))
        if single:
            return float(results[0]), grads[0]
        return np.array(results), np.array(grads)

    def gradient(self, observable, parameter_values) -> np.ndarray:
        """Exact gradient of :meth:`expectation` (reverse mode); see :meth:`value_and_gradient`."""
        return self.value_and_gradient(observable, parameter_values)[1]

    def density_matrix(self, parameter_values=None) -> np.ndarray:
        """Final density matrix, complex ``(2**n, 2**n)`` in Qiskit ordering (no readout)."""
        values, single = self.parameter_batch(parameter_values)
        if not single:
            raise ValueError("density_matrix takes one parameter vector of shape (P,)")
        return pauli_vector_to_density_matrix(self.pauli_vector(values[0]))

    def probabilities(self, parameter_values=None, qubits=None) -> np.ndarray:
        """Computational-basis probabilities including readout error.

        Parameters
        ----------
        parameter_values : array_like, optional
            One parameter vector of shape ``(P,)``.
        qubits : sequence of int, optional
            Return the marginal distribution of these qubits (``qubits[0]`` is the least
            significant bit of the index); default all qubits, index ``Σ b_q 2**q``.
        """
        values, single = self.parameter_batch(parameter_values)
        if not single:
            raise ValueError("probabilities takes one parameter vector of shape (P,)")
        if qubits is None:
            self._check_full_size(24)
            qubits = list(range(self.num_qubits))
        qubits = [int(q) for q in qubits]
        if len(set(qubits)) != len(qubits) or not all(0 <= q < self.num_qubits for q in qubits):
            raise ValueError(f"qubits must be distinct indices below {self.num_qubits}")
        x = self._pauli_vectors(values)[0]
        active_probs = basis_probabilities(x, np.full(self._num_active, 3), self._readout)
        return self._on_qubits(
            active_probs.reshape((2,) * self._num_active), qubits, self._idle_outcomes
        )

    def _idle_outcomes(self, qubit: int) -> np.ndarray:
        """Outcome distribution of an idle qubit (in |0⟩) under its readout error."""
        ro = self._full_readout[qubit]
        e0 = 0.0 if ro is None else ro.p_meas1_prep0
        return np.array([1.0 - e0, e0])

    def sample_counts(self, shots: int, parameter_values=None, seed=None) -> dict[str, int]:
        """Sampled counts with readout error, in Qiskit's format: when the circuit measures,
        keys are its classical bits, one space-separated group per register (last register
        leftmost, bit 0 rightmost); otherwise all qubits (qubit 0 rightmost)."""
        clbits = sorted(self._measured)
        qubits = [self._measured[c] for c in clbits] if clbits else None
        counts = draw_counts(self.probabilities(parameter_values, qubits=qubits), shots, seed)
        registers = self._registers if clbits else None
        result: dict[str, int] = {}
        for outcome, count in counts.items():
            key = counts_key(outcome, clbits, registers, self.num_qubits)
            result[key] = result.get(key, 0) + count
        return result


def compile_circuit(
    circuit: QuantumCircuit,
    noise: NoiseModel | None = None,
    gradient_memory: int = 2**30,
    prefix: CompiledCircuit | None = None,
) -> CompiledCircuit:
    """Lower and fuse ``circuit`` under ``noise`` (see :class:`CompiledCircuit`).

    ``prefix``, the compilation under the same ``noise`` of a circuit whose instructions
    lead ``circuit``'s (see :func:`~qnoise.sim.lowering.lower_circuit`), is extended: only
    the remaining instructions are lowered and fused; the result is the same as compiling
    afresh. ``prefix`` is not changed.
    """
    lowered = lower_circuit(
        circuit, noise, dt=getattr(noise, "dt", None), prefix=prefix and prefix.lowered
    )
    readout = [None if noise is None else noise.readout_error(q) for q in range(circuit.num_qubits)]
    return CompiledCircuit(lowered, readout, gradient_memory=gradient_memory, prefix=prefix)
