"""The circuit an episode builds: gates, CRLQAS's moment tensor, and the illegal-action rules."""

from __future__ import annotations

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector

from qnoise.envs.actions import Action


class CircuitState:
    """Gates appended so far, with the bookkeeping CRLQAS's encoding and masks need.

    Encoding (Patel et al., ICLR 2024): a tensor of shape ``(L, n + 3, n)``. Rows ``0..n-1``
    hold CNOTs, ``[moment, target, control] = 1``; rows ``n, n+1, n+2`` mark RX, RY, RZ at
    ``[moment, n + axis, qubit] = 1``. ``moment`` is the circuit moment, not the step: each
    qubit keeps a counter; a rotation on ``q`` goes to ``moment[q]`` (then ``moment[q] += 1``),
    a CNOT to ``max(moment[c], moment[t])`` and both counters become that plus one. With
    ``angle_rows`` three more rows hold the angle of each RX, RY, RZ at the same place.

    Illegal actions: repeating the last gate on its wires. A CNOT ``(c, t)`` is illegal while
    it is the last gate on both ``c`` and ``t``; a rotation about an axis is illegal while the
    same rotation is the last gate on its qubit. Any other gate on those qubits lifts the rule.
    """

    def __init__(self, num_qubits: int, max_steps: int, angle_rows: bool = False) -> None:
        self.num_qubits = num_qubits
        self.max_steps = max_steps
        self.angle_rows = angle_rows
        self._theta = ParameterVector("θ", max_steps)
        self.reset()

    def reset(self) -> None:
        n = self.num_qubits
        rows = n + 6 if self.angle_rows else n + 3
        self.tensor = np.zeros((self.max_steps, rows, n), dtype=np.float32)
        self.moments = np.zeros(n, dtype=np.int64)
        self.gates: list[Action] = []
        self.angles = np.zeros(0)
        self._positions: list[tuple[int, int, int]] = []  # tensor cell of each rotation
        self._last: list[Action | None] = [None] * n
        self._circuit = QuantumCircuit(n, name="arch-search")

    # -------------------------------------------------------------- rules
    def is_legal(self, action: Action) -> bool:
        if action.is_cnot:
            control, target = action.qubits
            return not (self._last[control] == action and self._last[target] == action)
        return self._last[action.qubits[0]] != action

    def mask(self, actions: list[Action]) -> np.ndarray:
        """Boolean legality of each action, in ``actions`` order."""
        return np.array([self.is_legal(a) for a in actions], dtype=bool)

    # -------------------------------------------------------------- updates
    def append(self, action: Action, angle: float = 0.0) -> None:
        """Append a gate (a new rotation starts at ``angle``); the caller checks legality."""
        n = self.num_qubits
        if action.is_cnot:
            control, target = action.qubits
            moment = int(max(self.moments[control], self.moments[target]))
            self.tensor[moment, target, control] = 1.0
            self.moments[[control, target]] = moment + 1
            self._circuit.cx(control, target)
        else:
            (qubit,) = action.qubits
            moment = int(self.moments[qubit])
            self.tensor[moment, n + action.axis, qubit] = 1.0
            self.moments[qubit] = moment + 1
            self._positions.append((moment, n + 3 + action.axis, qubit))
            self.angles = np.append(self.angles, float(angle))
            getattr(self._circuit, action.name)(self._theta[self.num_rotations - 1], qubit)
        for q in action.qubits:
            self._last[q] = action
        self.gates.append(action)

    def set_angles(self, angles: np.ndarray) -> None:
        """Store optimized angles (radians, order of the rotations in the circuit)."""
        self.angles = np.array(angles, dtype=float).reshape(len(self._positions))
        if self.angle_rows:
            wrapped = np.angle(np.exp(1j * self.angles))  # (-π, π]
            for (moment, row, qubit), angle in zip(self._positions, wrapped, strict=True):
                self.tensor[moment, row, qubit] = angle

    # -------------------------------------------------------------- views
    @property
    def num_rotations(self) -> int:
        return len(self._positions)

    @property
    def num_cnots(self) -> int:
        return len(self.gates) - self.num_rotations

    @property
    def depth(self) -> int:
        return int(self.moments.max()) if self.gates else 0

    def circuit(self) -> QuantumCircuit:
        """The circuit with ``Parameter`` angles ``θ[0..k-1]`` in order of appearance.

        The live circuit, extended in place by :meth:`append` (one gate per step instead of
        a rebuild): callers that keep it must copy it."""
        return self._circuit
