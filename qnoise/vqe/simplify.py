"""Shorter equivalents of searched circuits: merged rotations, cancelled gates, re-fitted angles.

Architecture search appends one gate per step, so the circuits it finds hold runs of
rotations on one qubit (often about the same axis), CNOTs that cancel, and gates acting on
the initial ``|0…0⟩`` that do nothing. :func:`simplify_circuit` removes them exactly (the
prepared state is unchanged up to a global phase); :func:`refit_angles` then re-optimises
the remaining angles on the energy the search minimized.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.quantum_info import SparsePauliOp, Statevector
from qiskit.transpiler import PassManager
from qiskit.transpiler.passes import CommutativeCancellation, Optimize1qGatesDecomposition

from qnoise.sim.simulator import PTMSimulator

#: the gate set of architecture search, and of every simplified circuit
GATES = ("rx", "ry", "rz", "cx")
ROTATIONS = ("rx", "ry", "rz")
#: rotations the re-fit leaves closer than this to the identity (rad) are dropped when that
#: costs no energy (a flat direction the optimizer stopped short in)
NEGLIGIBLE_ANGLE = 1e-3
#: largest state the exactness check builds (2**n amplitudes)
MAX_CHECKED_QUBITS = 16


@dataclass(frozen=True)
class CircuitCounts:
    """Size of a circuit: ``gates`` (all), ``cnots``, ``depth`` and ``parameters``
    (rotation angles)."""

    gates: int
    cnots: int
    depth: int
    parameters: int

    @classmethod
    def of(cls, circuit: QuantumCircuit) -> CircuitCounts:
        ops = circuit.count_ops()
        return cls(
            gates=int(sum(ops.values())),
            cnots=int(ops.get("cx", 0)),
            depth=int(circuit.depth()),
            parameters=int(sum(ops.get(name, 0) for name in ROTATIONS)),
        )


def simplify_circuit(circuit: QuantumCircuit, *, atol: float = 1e-10) -> QuantumCircuit:
    """An equivalent circuit of RX, RY, RZ and CX gates with no more gates than ``circuit``.

    Repeated to a fixed point:

    * each run of single-qubit gates on a qubit becomes at most three rotations (the
      shortest of the Euler decompositions ZYZ, XYX, XZX, ...), and none if the run is the
      identity;
    * gates that cancel through commuting neighbours go (two CNOTs on the same pair, Z
      rotations through a CNOT's control, X rotations through its target);
    * gates that act trivially on the initial state ``|0…0⟩`` go: an RZ before anything
      else touched its qubit, a CNOT whose control is still ``|0⟩``.

    Parameters
    ----------
    circuit : QuantumCircuit
        A bound circuit (no free parameters) of RX, RY, RZ and CX, starting from
        ``|0…0⟩`` (the rules of the last point use that start).
    atol : float
        Rotations with ``|angle mod 4π| < atol`` (rad) count as the identity.

    Returns
    -------
    QuantumCircuit
        Same qubits, same state ``U|0…0⟩`` up to a global phase (checked for up to
        :data:`MAX_CHECKED_QUBITS` qubits), gates in :data:`GATES`, angles in (−π, π].

    Raises
    ------
    ValueError
        If the circuit has free parameters or gates outside :data:`GATES`.
    """
    if circuit.num_parameters:
        raise ValueError("simplify_circuit needs a bound circuit; assign the parameters first")
    others = sorted(set(circuit.count_ops()) - set(GATES))
    if others:
        raise ValueError(f"simplify_circuit takes only {', '.join(GATES)}; got {others}")
    passes = PassManager(
        [
            Optimize1qGatesDecomposition(basis=list(ROTATIONS)),
            CommutativeCancellation(basis_gates=list(GATES)),
        ]
    )
    current = circuit
    while True:
        shorter = _drop_trivial_on_zero_state(_drop_identity_rotations(passes.run(current), atol))
        if _size(shorter) >= _size(current):
            break
        current = shorter
    result = current.copy_empty_like(name=circuit.name)
    result.global_phase = 0.0
    for instruction in current.data:
        name = instruction.operation.name
        if name in ROTATIONS:  # θ + 2π is the same rotation up to a global phase
            angle = float(np.angle(np.exp(1j * float(instruction.operation.params[0]))))
            getattr(result, name)(angle, instruction.qubits[0])
        else:
            result.append(instruction)
    _check_same_state(circuit, result)
    return result


def _size(circuit: QuantumCircuit) -> tuple[int, int]:
    return (len(circuit.data), circuit.depth())


def _drop_identity_rotations(circuit: QuantumCircuit, atol: float) -> QuantumCircuit:
    result = circuit.copy_empty_like()
    for instruction in circuit.data:
        if instruction.operation.name in ROTATIONS:
            angle = float(instruction.operation.params[0]) % (4 * np.pi)
            if min(angle, 4 * np.pi - angle) < atol:
                continue
        result.append(instruction)
    return result


def _drop_trivial_on_zero_state(circuit: QuantumCircuit) -> QuantumCircuit:
    """Remove an RZ on a qubit still in ``|0⟩`` and a CX whose control is still ``|0⟩``."""
    result = circuit.copy_empty_like()
    untouched = set(circuit.qubits)
    for instruction in circuit.data:
        name, qubits = instruction.operation.name, instruction.qubits
        if name == "rz" and qubits[0] in untouched:
            continue
        if name == "cx" and qubits[0] in untouched:
            continue
        untouched.difference_update(qubits)
        result.append(instruction)
    return result


def _check_same_state(original: QuantumCircuit, simplified: QuantumCircuit) -> None:
    if original.num_qubits > MAX_CHECKED_QUBITS:
        return
    before = Statevector(original).data
    after = Statevector(simplified).data
    overlap = abs(np.vdot(before, after))
    if not overlap > 1.0 - 1e-10:  # |<a|b>| = 1 up to rounding iff equal up to a phase
        raise RuntimeError(
            f"simplification changed the prepared state (overlap {overlap:.12f}); "
            "please report this circuit"
        )


def parametrize_rotations(circuit: QuantumCircuit) -> tuple[QuantumCircuit, np.ndarray]:
    """``(template, angles)``: ``circuit`` with every rotation angle replaced by a
    :class:`~qiskit.circuit.Parameter` ``θ[i]`` (in gate order), and the angles it had
    (rad), ordered as ``template.parameters``."""
    template = circuit.copy_empty_like()
    template.global_phase = 0.0
    angles = []
    for instruction in circuit.data:
        operation = instruction.operation
        if operation.name in ROTATIONS:
            theta = Parameter(f"θ[{len(angles):04d}]")
            angles.append(float(operation.params[0]))
            getattr(template, operation.name)(theta, instruction.qubits[0])
        else:
            template.append(instruction)
    return template, np.asarray(angles, dtype=float)


def refit_angles(
    circuit: QuantumCircuit,
    hamiltonian: SparsePauliOp,
    constant: float = 0.0,
    simulator: PTMSimulator | None = None,
    *,
    maxiter: int = 1000,
    zne=None,
) -> tuple[QuantumCircuit, float]:
    """Re-optimise the rotation angles of a bound ``circuit`` on the exact energy
    ``<H> + constant`` under ``simulator``'s noise (L-BFGS-B with reverse-mode gradients,
    started from the circuit's own angles), or with ``zne`` (a
    :class:`qnoise.mitigation.ZNE` with a linear extrapolator) on its mitigated energy.

    Returns ``(circuit, energy)``: the re-fitted circuit (angles wrapped to (−π, π]: a
    rotation by θ + 2π is the same gate up to a global phase) and its energy (Ha; the
    mitigated one with ``zne``), or the input and its energy when no lower point was
    found, so the energy never rises.
    """
    from qnoise.optim import LBFGSB
    from qnoise.vqe.objective import EnergyObjective

    template, start = parametrize_rotations(circuit)
    if zne is not None:
        objective = zne.objective(simulator or PTMSimulator(), template, hamiltonian, constant)
    else:
        objective = EnergyObjective(template, hamiltonian, constant, simulator)
    if not start.size:
        return circuit, float(objective(start))
    start_energy = float(objective(start))
    result = LBFGSB(maxiter=maxiter).minimize(objective, start, jac=objective.gradient)
    if not result.fun < start_energy:
        return circuit, start_energy
    wrapped = np.angle(np.exp(1j * result.x))
    return template.assign_parameters(wrapped), float(result.fun)


@dataclass(frozen=True)
class SimplifiedCircuit:
    """A searched circuit beside its simplified, re-fitted form.

    Energies are total energies (Ha, constant included) computed exactly (no shots):
    ``*_energy`` under the noise model the circuit was searched with, ``*_noiseless`` without
    noise. ``circuit`` is the simplified circuit with re-fitted angles; ``raw`` the input.
    """

    circuit: QuantumCircuit
    counts: CircuitCounts
    energy: float
    noiseless_energy: float
    raw: QuantumCircuit
    raw_counts: CircuitCounts
    raw_energy: float
    raw_noiseless_energy: float

    def summary(self, exact_energy: float) -> dict:
        """Plain numbers for reports: counts, energies and errors against ``exact_energy``
        (Ha) of both circuits (keys prefixed ``raw_`` for the searched one)."""
        result = {}
        for prefix, counts, energy, noiseless in (
            ("", self.counts, self.energy, self.noiseless_energy),
            ("raw_", self.raw_counts, self.raw_energy, self.raw_noiseless_energy),
        ):
            result.update({f"{prefix}{key}": value for key, value in vars(counts).items()})
            result[f"{prefix}energy"] = energy
            result[f"{prefix}noiseless_energy"] = noiseless
            result[f"{prefix}error"] = abs(energy - exact_energy)
            result[f"{prefix}noiseless_error"] = abs(noiseless - exact_energy)
        return result


def simplify_and_refit(
    circuit: QuantumCircuit,
    hamiltonian: SparsePauliOp,
    constant: float = 0.0,
    noise_model=None,
    zne=None,
) -> SimplifiedCircuit:
    """:func:`simplify_circuit`, then :func:`refit_angles` on the energy under
    ``noise_model`` (a :class:`qnoise.NoiseModel` or ``None`` for none; with ``zne``, on
    its mitigated energy), with both circuits' sizes and exact energies with and without
    that noise (unmitigated). Rotations the re-fit leaves within :data:`NEGLIGIBLE_ANGLE`
    of the identity are dropped when that does not raise the re-fitted energy by more
    than 1e-9 Ha."""
    noisy = PTMSimulator(noise_model)
    ideal = PTMSimulator()
    simplified, fitted = refit_angles(
        simplify_circuit(circuit), hamiltonian, constant, noisy, zne=zne
    )
    shorter = simplify_circuit(_drop_identity_rotations(simplified, NEGLIGIBLE_ANGLE))
    if len(shorter.data) < len(simplified.data):
        if zne is None:
            shorter_fitted = float(noisy.expectation(shorter, hamiltonian) + constant)
        else:
            shorter_fitted = zne.energy(noisy, shorter, hamiltonian, None, constant).value
        if shorter_fitted <= fitted + 1e-9:
            simplified = shorter

    def noiseless(c: QuantumCircuit) -> float:
        return float(ideal.expectation(c, hamiltonian) + constant)

    return SimplifiedCircuit(
        circuit=simplified,
        counts=CircuitCounts.of(simplified),
        energy=float(noisy.expectation(simplified, hamiltonian) + constant),
        noiseless_energy=noiseless(simplified),
        raw=circuit,
        raw_counts=CircuitCounts.of(circuit),
        raw_energy=float(noisy.expectation(circuit, hamiltonian) + constant),
        raw_noiseless_energy=noiseless(circuit),
    )
