"""Lower a ``QuantumCircuit`` (and a noise model) to elementary PTM operations.

Every instruction becomes one or more :class:`ElementaryOp` on 1 or 2 qubits. A parametrized
gate is written as a product of Pauli rotations ``exp(-i a/2 P)`` whose angles ``a`` are affine
(or, rarely, general) functions of the circuit parameters; the PTM of each rotation is
``A + cos(a) B + sin(a) C``. The noise channel of a gate is folded into its last operation
(noise after the gate, as in Aer). Gates on more qubits, and parametrized gates without a
rotation rule, are expanded through their Qiskit ``definition``.
"""

from __future__ import annotations

import cmath
import numbers
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from qiskit.circuit import (
    ControlFlowOp,
    ControlledGate,
    Gate,
    ParameterExpression,
    QuantumCircuit,
)
from qiskit.circuit.library import get_standard_gate_name_mapping
from qiskit.exceptions import QiskitError
from qiskit.quantum_info import Operator

from qnoise.noise.channels import reset
from qnoise.noise.model import NoiseModel
from qnoise.pauli import pauli_rotation_parts, unitary_to_ptm

__all__ = ["Angle", "ElementaryOp", "LoweredCircuit", "UnsupportedCircuitError", "lower_circuit"]


class UnsupportedCircuitError(QiskitError, ValueError):
    """A circuit the PTM simulator cannot run: classical control flow or a mid-circuit
    measurement (a ``QiskitError``, as Qiskit's reference primitives raise, and a
    ``ValueError``)."""


_TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9, "ps": 1e-12}

# name -> rotation factors: list of (Pauli label on the gate's qubits, angle(params))
# labels are little-endian on the gate's qargs (rightmost character = first qarg).
_ROTATION_RULES = {
    "rx": lambda t: [("X", t)],
    "ry": lambda t: [("Y", t)],
    "rz": lambda t: [("Z", t)],
    "p": lambda t: [("Z", t)],
    "u1": lambda t: [("Z", t)],
    "u": lambda t, p, lam: [("Z", lam), ("Y", t), ("Z", p)],
    "u3": lambda t, p, lam: [("Z", lam), ("Y", t), ("Z", p)],
    "u2": lambda p, lam: [("Z", lam), ("Y", np.pi / 2), ("Z", p)],
    "r": lambda t, phi: [("Z", -1 * phi), ("X", t), ("Z", phi)],
    "rxx": lambda t: [("XX", t)],
    "ryy": lambda t: [("YY", t)],
    "rzz": lambda t: [("ZZ", t)],
    "rzx": lambda t: [("XZ", t)],
    # controlled rotations: exp(-iθ/4 P_t) exp(+iθ/4 Z_c P_t), control = first qarg
    "crx": lambda t: [("XI", 0.5 * t), ("XZ", -0.5 * t)],
    "cry": lambda t: [("YI", 0.5 * t), ("YZ", -0.5 * t)],
    "crz": lambda t: [("ZI", 0.5 * t), ("ZZ", -0.5 * t)],
    # cp(λ) = e^{iλ/4} exp(-iλ/4 Z_c) exp(-iλ/4 Z_t) exp(+iλ/4 Z_c Z_t)
    "cp": lambda t: [("IZ", 0.5 * t), ("ZI", 0.5 * t), ("ZZ", -0.5 * t)],
    "cu1": lambda t: [("IZ", 0.5 * t), ("ZI", 0.5 * t), ("ZZ", -0.5 * t)],
}

_ROTATION_PARTS_CACHE: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}


def _rotation_parts(label: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if label not in _ROTATION_PARTS_CACHE:
        _ROTATION_PARTS_CACHE[label] = pauli_rotation_parts(label)
    return _ROTATION_PARTS_CACHE[label]


@dataclass
class Angle:
    """A rotation angle as a function of the circuit parameters (indices into
    ``circuit.parameters``): ``offset + Σ coeffs[j]·θ_j`` when ``expression`` is ``None``,
    otherwise ``expression`` itself (a non-affine ``ParameterExpression``)."""

    coeffs: dict[int, float] = field(default_factory=dict)
    offset: float = 0.0
    expression: ParameterExpression | None = None


@dataclass
class ElementaryOp:
    """One PTM on 1 or 2 qubits: ``parts[0]`` if fixed, else ``parts[0] + cos(a)·parts[1] +
    sin(a)·parts[2]`` with ``a`` given by ``angle``. ``qubits[0]`` is the local least
    significant Pauli digit."""

    qubits: tuple[int, ...]
    parts: tuple[np.ndarray, ...]
    angle: Angle | None = None

    @property
    def is_parametric(self) -> bool:
        return self.angle is not None


@dataclass
class LoweredCircuit:
    """The elementary operations of a circuit, its readout qubits, and final measurements."""

    num_qubits: int
    ops: list[ElementaryOp]
    parameters: list  # circuit.parameters, in order
    measured: dict[int, int]  # clbit index -> qubit index of the final measurements
    num_clbits: int
    # clbit indices of each classical register, in declaration order (for counts keys)
    registers: list[list[int]]
    num_instructions: int = 0  # instructions of the circuit lowered (for extension)


def _numeric(value) -> float | None:
    if isinstance(value, ParameterExpression):
        if value.parameters:
            return None
        value = value.numeric()
    value = complex(value)
    if abs(value.imag) > 1e-12:
        raise ValueError(f"complex gate parameter {value} is not supported")
    return value.real


def _angle(value, param_index: dict) -> Angle:
    """Affine decomposition of a ParameterExpression in the circuit parameters."""
    coeffs = {}
    affine = True
    for param in value.parameters:
        grad = value.gradient(param)
        grad_value = _numeric(grad)
        if grad_value is None:
            affine = False
            break
        coeffs[param_index[param]] = grad_value
    if not affine:
        return Angle(expression=value)
    offset = _numeric(value.bind({p: 0.0 for p in value.parameters}))
    return Angle(coeffs=coeffs, offset=offset)


def _unitary(matrix: np.ndarray, gate: Gate, qubits) -> np.ndarray:
    """``matrix``, checked to be unitary to 1e-8 (a gate built with ``check_input=False``
    can carry any matrix, and a non-unitary one would give a non-physical state)."""
    deviation = np.abs(matrix.conj().T @ matrix - np.eye(len(matrix))).max()
    if not deviation <= 1e-8:
        raise ValueError(
            f"gate '{gate.name}' on qubits {list(qubits)} is not unitary "
            f"(largest entry of U†U − I: {deviation:.1e})"
        )
    return matrix


_STANDARD_GATES = get_standard_gate_name_mapping()


def _is_plain_standard(gate: Gate) -> bool:
    """A Qiskit standard gate as its name defines it (not an open-controlled variant)."""
    if getattr(gate, "_standard_gate", None) is None or gate.name not in _STANDARD_GATES:
        return False
    if isinstance(gate, ControlledGate):
        return gate.ctrl_state == 2**gate.num_ctrl_qubits - 1
    return True


@lru_cache(maxsize=4096)
def _standard_gate_ptm(name: str, params: tuple[float, ...]) -> np.ndarray:
    """PTM of a Qiskit standard gate with numeric parameters (the same name and parameters
    always give the same matrix; custom gates are never looked up here). Read-only."""
    gate = _STANDARD_GATES[name]
    if params:
        gate = type(gate)(*params)
    ptm = unitary_to_ptm(Operator(gate).data)
    ptm.setflags(write=False)
    return ptm


class _Lowerer:
    def __init__(
        self,
        circuit: QuantumCircuit,
        noise: NoiseModel | None,
        dt: float | None,
        prefix: LoweredCircuit | None = None,
    ):
        self.circuit = circuit
        self.noise = noise
        self.dt = dt
        self.param_index = {p: i for i, p in enumerate(circuit.parameters)}
        # a lowered prefix is extended, never changed: its lists are copied, and ops are
        # replaced rather than modified (see _append_noise)
        self.ops: list[ElementaryOp] = list(prefix.ops) if prefix else []
        self.measured: dict[int, int] = dict(prefix.measured) if prefix else {}
        self.measured_qubits: set[int] = set(self.measured.values())
        self.start = prefix.num_instructions if prefix else 0

    def run(self) -> LoweredCircuit:
        circuit = self.circuit
        for instruction in circuit.data[self.start :]:
            qubits = tuple(circuit.find_bit(q).index for q in instruction.qubits)
            clbits = tuple(circuit.find_bit(c).index for c in instruction.clbits)
            self._instruction(instruction.operation, qubits, clbits)
        return LoweredCircuit(
            num_qubits=circuit.num_qubits,
            ops=self.ops,
            parameters=list(circuit.parameters),
            measured=self.measured,
            num_clbits=circuit.num_clbits,
            registers=[[circuit.find_bit(c).index for c in reg] for reg in circuit.cregs],
            num_instructions=len(circuit.data),
        )

    def _instruction(self, operation, qubits, clbits) -> None:
        name = operation.name
        if name == "barrier":
            return
        if isinstance(operation, ControlFlowOp):
            raise UnsupportedCircuitError(
                f"unsupported instruction '{name}' on qubits {list(qubits)}: classical control "
                f"flow ({name}) is not simulated"
            )
        touched = self.measured_qubits.intersection(qubits)
        if touched and name != "measure":
            raise UnsupportedCircuitError(
                f"mid-circuit measurement: '{name}' acts on qubit(s) {sorted(touched)} after "
                "their measurement; only final measurements are supported"
            )
        if name == "measure":
            self.measured[clbits[0]] = qubits[0]
            self.measured_qubits.add(qubits[0])
            return
        if name == "reset":
            self.ops.append(ElementaryOp(qubits, (np.asarray(reset()),)))
            self._append_noise(name, qubits, wildcard=False)
            return
        if name == "delay":
            self._delay(operation, qubits)
            return
        if name == "global_phase":
            return
        if not isinstance(operation, Gate):
            self._composite(operation, qubits, clbits)
            return
        self._gate(operation, qubits)
        self._append_noise(name, qubits)

    def _composite(self, operation, qubits, clbits) -> None:
        """A non-gate instruction with a definition (``qc.append(other_circuit, ...)``,
        ``initialize``) is unrolled into its instructions, each lowered (and given its noise)
        as if it stood in the circuit."""
        definition = operation.definition
        if definition is None:
            raise ValueError(f"unsupported instruction '{operation.name}' on qubits {list(qubits)}")
        for inner in definition.data:
            self._instruction(
                inner.operation,
                tuple(qubits[definition.find_bit(q).index] for q in inner.qubits),
                tuple(clbits[definition.find_bit(c).index] for c in inner.clbits),
            )

    def _delay(self, operation, qubits) -> None:
        self._append_noise("delay", qubits, wildcard=False)
        if self.noise is None:
            return
        duration = _numeric(operation.duration)
        if duration is None:
            raise ValueError("delay with a parametrized duration is not supported")
        unit = operation.unit
        if unit == "dt":
            if self.dt is None:
                raise ValueError("delay in units of 'dt' needs a noise model that knows dt")
            seconds = duration * self.dt
        elif unit in _TIME_UNITS:
            seconds = duration * _TIME_UNITS[unit]
        else:
            raise ValueError(f"unsupported delay unit {unit!r}")
        channel = self.noise.idle_error(qubits[0], seconds)
        if channel is not None:
            self.ops.append(ElementaryOp(qubits, (np.asarray(channel),)))

    def _gate(self, gate: Gate, qubits) -> None:
        values = [_numeric(p) if isinstance(p, ParameterExpression) else p for p in gate.params]
        for value in values:
            if isinstance(value, numbers.Number) and not cmath.isfinite(value):
                raise ValueError(
                    f"gate '{gate.name}' on qubits {list(qubits)} has the parameter {value}, "
                    "not a finite number"
                )
        free = any(v is None for v in values)
        if len(qubits) <= 2 and not free:
            if _is_plain_standard(gate):
                ptm = _standard_gate_ptm(gate.name, tuple(float(v) for v in values))
            else:
                try:
                    matrix = Operator(gate).data
                except Exception:  # a gate without a matrix: fall back to its definition
                    matrix = None
                ptm = None if matrix is None else unitary_to_ptm(_unitary(matrix, gate, qubits))
            if ptm is not None:
                self.ops.append(ElementaryOp(qubits, (ptm,)))
                return
        if len(qubits) <= 2 and free and gate.name in _ROTATION_RULES:
            for label, angle in _ROTATION_RULES[gate.name](*gate.params):
                self._rotation(label, angle, qubits)
            return
        definition = gate.definition
        if definition is None:
            raise ValueError(
                f"unsupported instruction '{gate.name}' on qubits {list(qubits)}: "
                "no matrix and no definition"
            )
        for inner in definition.data:
            inner_qubits = tuple(qubits[definition.find_bit(q).index] for q in inner.qubits)
            if inner.operation.name == "global_phase":
                continue
            if not isinstance(inner.operation, Gate):
                raise ValueError(
                    f"unsupported instruction '{inner.operation.name}' in '{gate.name}'"
                )
            self._gate(inner.operation, inner_qubits)

    def _rotation(self, label: str, angle, qubits) -> None:
        # the label covers all of the gate's qubits, so the gate's noise folds into this op
        parts = _rotation_parts(label)
        value = _numeric(angle) if isinstance(angle, ParameterExpression) else float(angle)
        if value is not None:
            fixed = parts[0] + np.cos(value) * parts[1] + np.sin(value) * parts[2]
            self.ops.append(ElementaryOp(qubits, (fixed,)))
            return
        self.ops.append(ElementaryOp(qubits, parts, _angle(angle, self.param_index)))

    def _append_noise(self, name: str, qubits, wildcard: bool = True) -> None:
        if self.noise is None:
            return
        if len(qubits) > 2:
            if not self.noise.is_ideal:
                raise ValueError(
                    f"'{name}' acts on {len(qubits)} qubits; under a noise model transpile the "
                    "circuit to 1- and 2-qubit gates first so that each gate gets its error"
                )
            return
        ptm = self.noise.gate_error_ptm(name, qubits, wildcard=wildcard)
        if ptm is None:
            return
        last = self.ops[-1] if self.ops else None
        if last is not None and last.qubits == tuple(qubits):
            parts = tuple(ptm @ part for part in last.parts)
            self.ops[-1] = ElementaryOp(last.qubits, parts, last.angle)
        else:
            self.ops.append(ElementaryOp(tuple(qubits), (ptm,)))


def lower_circuit(
    circuit: QuantumCircuit,
    noise: NoiseModel | None = None,
    dt: float | None = None,
    prefix: LoweredCircuit | None = None,
) -> LoweredCircuit:
    """Lower ``circuit`` under ``noise`` to elementary 1- and 2-qubit PTM operations.

    Parameters
    ----------
    circuit : QuantumCircuit
        Circuit with standard gates (any 1–2 qubit gate with a matrix or a rotation rule,
        larger gates through their definition), final measurements, barriers, resets, delays.
    noise : NoiseModel, optional
        Errors appended after gates; ``None`` for an ideal simulation.
    dt : float, optional
        Backend time step in seconds, for delays given in ``dt``.
    prefix : LoweredCircuit, optional
        The lowering, under the same noise, of a circuit whose instructions are the first
        ``prefix.num_instructions`` of ``circuit`` and whose parameters come first, in the
        same order, in ``circuit.parameters``: only the remaining instructions are lowered
        (the result equals lowering ``circuit`` from scratch). Checked; a mismatch raises.

    Raises
    ------
    ValueError
        Naming the instruction, for anything that cannot be simulated; or for a ``prefix``
        whose parameters do not lead ``circuit``'s.
    """
    if not isinstance(circuit, QuantumCircuit):
        raise TypeError(f"expected a QuantumCircuit, got {type(circuit).__name__}")
    if prefix is not None and not can_extend(prefix, circuit):
        raise ValueError("prefix is not a lowered prefix of this circuit")
    return _Lowerer(circuit, noise, dt, prefix).run()


def can_extend(prefix: LoweredCircuit, circuit: QuantumCircuit) -> bool:
    """Whether ``circuit`` may be lowered by extending ``prefix``: as many qubits and clbits,
    at least as many instructions, and ``prefix``'s parameters leading ``circuit``'s in the
    same order (their indices stay valid). The caller vouches that the leading instructions
    are the same (the simulator compares structure keys)."""
    return (
        prefix.num_qubits == circuit.num_qubits
        and prefix.num_clbits == circuit.num_clbits
        and prefix.num_instructions <= len(circuit.data)
        and list(circuit.parameters)[: len(prefix.parameters)] == prefix.parameters
    )
