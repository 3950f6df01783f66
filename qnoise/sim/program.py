"""Compiled circuits: evaluation, gradients, sampling (fusion planning is in qnoise.sim.fusion)."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from qiskit.circuit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp

from qnoise.noise.channels import ReadoutError
from qnoise.noise.model import NoiseModel
from qnoise.pauli import pauli_vector_to_density_matrix, zero_state
from qnoise.sim import batched, kernels, reverse
from qnoise.sim.angles import AngleMap
from qnoise.sim.cache import CappedCache
from qnoise.sim.cone import cone_plan
from qnoise.sim.fusion import FusionPlan
from qnoise.sim.lowering import ElementaryOp, LoweredCircuit, lower_circuit
from qnoise.sim.observable import as_sparse_pauli_op, observable_terms, with_readout
from qnoise.sim.shots import MeasurementPlan, basis_probabilities, check_shots
from qnoise.sim.simd import aligned_empty, aligned_rows, aligned_zeros

__all__ = ["CompiledCircuit", "compile_circuit"]

_WORK_BUFFERS = threading.local()
#: states up to this many entries (32 MiB) are evaluated in reused per-thread buffers
_REUSED_STATE_ENTRIES = 2**22


def _operator_key(op: SparsePauliOp) -> tuple:
    """A hashable fingerprint of ``op``'s content: its Paulis' x and z bits and its
    coefficients (a SparsePauliOp keeps every phase in its coefficients, its ``paulis.phase``
    being 0, so these determine it; computing that phase would cost several µs per call)."""
    paulis = op.paulis
    return (op.num_qubits, paulis.x.tobytes(), paulis.z.tobytes(), op.coeffs.tobytes())


def _thread_block(name: str, size: int, zeros: bool = False) -> np.ndarray:
    """``size`` floats of a per-thread, grow-only block shared by all compiled circuits
    (memory is the largest request, not the sum; reuse avoids the page faults of fresh
    memory on every call). A ``zeros`` block is created zero, and its users leave it so.
    Blocks start on a cache line (:func:`~qnoise.sim.simd.aligned_empty`)."""
    block = getattr(_WORK_BUFFERS, name, None)
    if block is None or block.size < size:
        block = aligned_zeros(size) if zeros else aligned_empty(size)
        setattr(_WORK_BUFFERS, name, block)
    return block[:size]


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

#: largest Pauli vector compiled (8·4ⁿ bytes): 14 active qubits
_MAX_STATE_BYTES = 2**31
_ZERO_PAULI = np.array([1.0, 0.0, 0.0, 1.0])  # ⟨I⟩, ⟨X⟩, ⟨Y⟩, ⟨Z⟩ of |0⟩


@dataclass(frozen=True)
class PreparedObservable:
    """An observable compiled for one :class:`CompiledCircuit` (see ``prepare``)."""

    indices: np.ndarray
    coeffs: np.ndarray
    operator: SparsePauliOp
    cone: tuple  # the observable's light cone in this circuit (qnoise.sim.cone.cone_plan)


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
        self._gradient_memory = int(gradient_memory)
        self._plans: CappedCache = CappedCache(64)
        self._uncompute: bool | None = None  # decided at the first gradient
        self._tailored: tuple | None = None  # ((process id, uncompute), kernel tables)
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
        return PreparedObservable(indices, coeffs, op, self._cone(indices))

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

    def native_program(self, prepared: PreparedObservable, constant: float = 0.0):
        """Everything compiled code needs to evaluate ``constant + <O>`` exactly, as the
        tuple :func:`qnoise.sim.batched.evaluate_points` takes; ``None`` when some angle is
        not an affine function of the parameters (then only the Python path evaluates it).

        :func:`~qnoise.sim.batched.evaluate_points` gives the same numbers, bit for bit, as
        ``constant + expectation_batch(prepared, points)``.
        """
        if self._angles.nonlinear:
            return None
        return (
            self._x0,
            self._groups,
            self._factors,
            self._mats,
            self._num_active,
            self._angles.sparse,
            self._angles.offset,
            prepared.indices,
            prepared.coeffs,
            prepared.cone,
            float(constant),
        )

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
        kernels.run_states(evolved, self._groups, self._factors, self._mats, angles,
                           self._num_active)  # fmt: skip
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
        indices, coeffs, op = prepared.indices, prepared.coeffs, prepared.operator
        if shots is None:
            out = np.empty(values.shape[0])
            angles = self._angles.angles(values)
            batched.evaluate_batch(
                self._x0,
                self._groups,
                self._factors,
                self._mats,
                angles,
                self._num_active,
                indices,
                coeffs,
                prepared.cone,
                out,
                *self._evaluation_buffers(),
            )
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
        recomputed. From 9 qubits on (with at least 8 groups before the observable's light
        cone, and within ``gradient_memory``), the reverse sweep *uncomputes* each state
        from the state after it by the group's inverse, keeping only a few states (measured
        figures: ``docs/benchmarks.md``). Inverting
        noise amplifies rounding, so the uncomputed state is checked against a kept one at
        the end: where it is off by more than ``_UNCOMPUTE_TOLERANCE`` (strong noise), or a
        group has no inverse (a reset), the gradient is taken again with kept states, and
        so are the circuit's later ones.
        """
        values, single = self.parameter_batch(parameter_values)
        prepared = self.prepare(observable)
        angles = self._angles.angles(values)
        results, grads = [], []
        for row, params in zip(angles, values, strict=True):
            value, slot_grad = self._adjoint(prepared, row)
            results.append(value)
            grads.append(self._angles.chain(params, slot_grad))
        if single:
            return float(results[0]), grads[0]
        return np.array(results), np.array(grads)

    def _adjoint(
        self, prepared: PreparedObservable, angles: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """Value and gradient w.r.t. the angle slots at one point
        (:func:`qnoise.sim.reverse.adjoint_gradient`), uncomputing states where that is
        allowed and accurate (:meth:`_uncomputes`) and the circuit has enough full-size
        groups before the observable's light cone, else keeping them."""
        full_size = prepared.cone[0] - self._growing_end  # groups before the light cone
        uncompute = self._uncomputes() and full_size >= _UNCOMPUTE_MIN_GROUPS
        if uncompute:
            stride = 1
            ckpts, seg, lam, lam_out = self._gradient_buffers(self._growing_end + 4, 0)
        else:
            stride = self._checkpoint_stride()
            ckpts, seg, lam, lam_out = self._gradient_buffers(
                -(-self.num_groups // stride) + 1, stride
            )
        try:
            value, slot_grad, drift = reverse.adjoint_gradient(
                prepared.indices,
                prepared.coeffs,
                prepared.cone,
                self._groups,
                self._factors,
                self._mats,
                angles,
                self._num_active,
                angles.size,
                stride,
                ckpts,
                seg,
                lam,
                lam_out,
                uncompute,
                *self._tailored_tables(uncompute),
            )
        except np.linalg.LinAlgError:  # a group without an inverse at these angles
            drift = np.inf
        if drift > _UNCOMPUTE_TOLERANCE:
            self._uncompute = False  # from now on, and for this point, keep states instead
            return self._adjoint(prepared, angles)
        return value, slot_grad

    def gradient(self, observable, parameter_values) -> np.ndarray:
        """Exact gradient of :meth:`expectation` (reverse mode); see :meth:`value_and_gradient`."""
        return self.value_and_gradient(observable, parameter_values)[1]

    def _gradient_buffers(
        self, checkpoints: int, segment: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """State buffers of the reverse sweep (``checkpoints`` rows, a segment of
        ``segment`` rows) and its buffers for λ and λ_out, in the per-thread gradient
        block; λ starts ``_LAMBDA_SKEW`` entries past the state rows' alignment, λ_out
        ``_LAMBDA_OUT_SKEW`` entries past λ's."""
        size = self._x0.size
        rows = checkpoints + segment
        skews = (_LAMBDA_SKEW, _LAMBDA_SKEW + _LAMBDA_OUT_SKEW)
        block = _thread_block("gradient", (rows + 2) * size + skews[1])
        states = block[: rows * size].reshape(rows, size)
        lam, lam_out = (block[(rows + i) * size + skews[i] :][:size] for i in range(2))
        return states[:checkpoints], states[checkpoints:], lam, lam_out

    @cached_property
    def _growing_counts(self) -> list[int]:
        """For each group that runs while the state grows (see
        :func:`qnoise.sim.kernels.run_from_zero`), up to the first that has touched every
        simulated qubit, the number of qubits touched once it has run."""
        touched: set[int] = set()
        counts = []
        for qa, qb in self._groups[:, 2:4]:
            touched.update(int(q) for q in (qa, qb) if q >= 0)
            counts.append(len(touched))
            if len(touched) == self._num_active:
                break
        return counts

    @property
    def _growing_end(self) -> int:
        """The number of groups that run while the state grows."""
        return len(self._growing_counts)

    def _tailored_tables(self, uncompute: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The groups' tailored reverse-step kernels and tail inverses
        (:func:`qnoise.sim.reverse.tailored_tables`): the uncomputing ones when
        ``uncompute``, the kept-state ones from ``_TAILORED_MIN_QUBITS`` on (zeros
        otherwise), compiled at the first gradient that needs them. The kernels are machine
        code of this process, so a copy of this object in another process (pickled,
        forked) builds its own."""
        if not uncompute and self._num_active < _TAILORED_MIN_QUBITS:
            none = np.zeros(self.num_groups, dtype=np.int64)
            return none, none, np.empty((0, 16, 16))
        key = (os.getpid(), uncompute)
        if self._tailored is None or self._tailored[0] != key:
            tables = reverse.tailored_tables(
                self._groups, self._factors, self._mats, self._num_active, uncompute
            )
            self._tailored = (key, *tables)
        return self._tailored[1:]

    def _uncomputes(self) -> bool:
        """Whether gradients uncompute states instead of keeping them: on states of at
        least ``_UNCOMPUTE_MIN_QUBITS`` qubits (smaller ones stay in cache) whose states fit
        in ``gradient_memory`` (:meth:`_uncompute_bytes`), until a gradient finds a group
        without an inverse or the uncomputed state off by more than
        ``_UNCOMPUTE_TOLERANCE`` (strong noise makes the inverses amplify rounding)."""
        if self._uncompute is None:
            self._uncompute = (
                self._num_active >= _UNCOMPUTE_MIN_QUBITS
                and self._uncompute_bytes() <= self._gradient_memory
            )
        return self._uncompute

    def _uncompute_bytes(self) -> int:
        """Bytes of states an uncomputing gradient writes: the growing groups' inputs, each
        on the qubits touched so far (their rows are full-size, but only that prefix is
        written, and untouched memory is not committed), and six full states (the one kept,
        the one uncomputed in place, the forward sweep's scratch, the light cone's copy, λ
        and λ_out)."""
        return 8 * (6 * self._x0.size + sum(4**count for count in self._growing_counts))

    def _evaluation_buffers(self) -> tuple[np.ndarray, np.ndarray]:
        """The two state buffers ``(2, 4**n)`` one evaluation runs in and the zero vector of
        its light cone: per-thread blocks for states up to ``_REUSED_STATE_ENTRIES``
        entries, fresh memory for larger ones (not kept alive between calls)."""
        dim = self._x0.size
        if dim > _REUSED_STATE_ENTRIES:
            return aligned_rows(2, dim), aligned_zeros(dim)
        work = _thread_block("evaluation", 2 * dim).reshape(2, dim)
        return work, _thread_block("cone", dim, zeros=True)

    def _checkpoint_stride(self) -> int:
        """Smallest checkpoint stride s whose buffers (⌈G/s⌉ + 1 checkpoints, a segment of
        s states, λ and λ_out) fit in ``gradient_memory``; s = 1 stores every state (no
        recomputation).
        s = 2 is skipped: its segments recompute one group alone, where longer ones take two
        groups per pass, which makes s = 3 faster than s = 2."""
        capacity = self._gradient_memory // (8 * self._x0.size)
        for stride in (1, *range(3, self.num_groups + 1)):
            needed = -(-self.num_groups // stride) + 3 + (stride if stride > 1 else 0)
            if needed <= capacity:
                return stride
        return max(1, int(np.ceil(np.sqrt(self.num_groups))))

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
        if int(shots) != shots or shots < 1:
            raise ValueError(f"shots must be a positive integer, got {shots}")
        clbits = sorted(self._measured)
        qubits = [self._measured[c] for c in clbits] if clbits else None
        probs = self.probabilities(parameter_values, qubits=qubits)
        rng = np.random.default_rng(seed)
        counts = rng.multinomial(int(shots), probs)
        result: dict[str, int] = {}
        for outcome in np.nonzero(counts)[0].tolist():
            if clbits:
                bit = dict.fromkeys(range(self._num_clbits), "0")
                for position, clbit in enumerate(clbits):
                    bit[clbit] = str((outcome >> position) & 1)
                key = " ".join(
                    "".join(bit[c] for c in reversed(register))
                    for register in reversed(self._registers)
                )
            else:
                key = format(outcome, f"0{self.num_qubits}b")
            result[key] = result.get(key, 0) + int(counts[outcome])
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
