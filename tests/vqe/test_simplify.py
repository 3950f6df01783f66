"""Circuit simplification: exact on the prepared state, never longer, re-fit never worse."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.quantum_info import Statevector

from qnoise import PTMSimulator, chem
from qnoise.noise.resolve import resolve_noise
from qnoise.vqe.simplify import (
    CircuitCounts,
    parametrize_rotations,
    refit_angles,
    simplify_and_refit,
    simplify_circuit,
)


def random_search_circuit(rng, num_qubits: int, length: int) -> QuantumCircuit:
    """Gates as architecture search appends them: rotations (some at angle 0) and CNOTs."""
    circuit = QuantumCircuit(num_qubits)
    for _ in range(length):
        if num_qubits > 1 and rng.random() < 0.35:
            control, target = rng.choice(num_qubits, 2, replace=False)
            circuit.cx(int(control), int(target))
        else:
            angle = 0.0 if rng.random() < 0.2 else float(rng.normal(scale=2.0))
            gate = ("rx", "ry", "rz")[int(rng.integers(3))]
            getattr(circuit, gate)(angle, int(rng.integers(num_qubits)))
    return circuit


@pytest.mark.parametrize("seed", range(40))
def test_simplified_circuit_prepares_the_same_state_with_no_more_gates(seed):
    rng = np.random.default_rng(seed)
    circuit = random_search_circuit(rng, int(rng.integers(1, 6)), int(rng.integers(1, 50)))
    simplified = simplify_circuit(circuit)
    assert set(simplified.count_ops()) <= {"rx", "ry", "rz", "cx"}
    angles = [float(i.operation.params[0]) for i in simplified.data if i.operation.params]
    assert all(-np.pi <= a <= np.pi for a in angles)
    assert len(simplified.data) <= len(circuit.data)
    assert simplified.depth() <= circuit.depth()
    overlap = abs(np.vdot(Statevector(circuit).data, Statevector(simplified).data))
    assert overlap == pytest.approx(1.0, abs=1e-10)


def test_runs_of_rotations_merge_to_at_most_three():
    circuit = QuantumCircuit(2)
    circuit.ry(0.8, 0)
    circuit.cx(0, 1)  # qubit 1 is no longer |0>: its run below needs three rotations
    for angle in (0.3, 0.1, 0.7, 1.1, -0.4):
        circuit.rx(angle, 1)
        circuit.ry(angle / 2, 1)
        circuit.rz(angle / 3, 1)
    simplified = simplify_circuit(circuit)
    assert CircuitCounts.of(simplified).gates == 2 + 3


def test_a_run_on_the_zero_state_needs_two_rotations():
    circuit = QuantumCircuit(1)
    for angle in (0.3, 0.1, 0.7):
        circuit.rx(angle, 0)
        circuit.rz(angle / 3, 0)
        circuit.ry(angle / 2, 0)
    assert len(simplify_circuit(circuit).data) == 2


def test_same_axis_rotations_merge_into_one():
    circuit = QuantumCircuit(2)
    circuit.cx(1, 0)  # control |0>: does nothing
    circuit.ry(0.4, 0)
    circuit.ry(0.5, 0)
    circuit.ry(0.0, 1)
    simplified = simplify_circuit(circuit)
    assert [(i.operation.name, i.operation.params[0]) for i in simplified.data] == [
        ("ry", pytest.approx(0.9))
    ]


def test_cancelling_cnots_and_trivial_gates_on_the_zero_state_go():
    circuit = QuantumCircuit(3)
    circuit.rz(0.7, 0)  # phase on |0>
    circuit.cx(0, 1)  # control still |0>
    circuit.ry(1.2, 0)
    circuit.cx(0, 2)
    circuit.rz(0.3, 0)  # commutes through the control
    circuit.cx(0, 2)
    simplified = simplify_circuit(circuit)
    assert CircuitCounts.of(simplified) == CircuitCounts(gates=2, cnots=0, depth=2, parameters=2)


def test_an_already_minimal_circuit_is_unchanged():
    circuit = QuantumCircuit(2)
    circuit.ry(0.3, 0)
    circuit.cx(0, 1)
    circuit.rx(0.2, 1)
    simplified = simplify_circuit(circuit)
    assert [i.operation.name for i in simplified.data] == ["ry", "cx", "rx"]


def test_bad_input_is_refused():
    circuit = QuantumCircuit(1)
    circuit.ry(Parameter("a"), 0)
    with pytest.raises(ValueError, match="bound circuit"):
        simplify_circuit(circuit)
    other = QuantumCircuit(1)
    other.h(0)
    with pytest.raises(ValueError, match=r"\['h'\]"):
        simplify_circuit(other)


def test_parametrize_rotations_round_trips():
    rng = np.random.default_rng(5)
    circuit = random_search_circuit(rng, 3, 25)
    template, angles = parametrize_rotations(circuit)
    assert template.num_parameters == angles.size == CircuitCounts.of(circuit).parameters
    bound = template.assign_parameters(angles)
    assert Statevector(bound).equiv(Statevector(circuit))


@pytest.mark.parametrize("noise", [None, "depolarizing:p1=1e-3,p2=5e-3"])
def test_energy_is_kept_exactly_and_refit_never_raises_it(noise):
    problem = chem.load("LiH-4q")
    rng = np.random.default_rng(11)
    circuit = random_search_circuit(rng, 4, 30)
    model = resolve_noise(noise)
    result = simplify_and_refit(circuit, problem.hamiltonian, problem.constant, model)
    ideal = PTMSimulator()
    exact = simplify_circuit(circuit)
    assert ideal.expectation(exact, problem.hamiltonian) == pytest.approx(
        ideal.expectation(circuit, problem.hamiltonian), abs=1e-8
    )
    assert result.raw_noiseless_energy == pytest.approx(
        ideal.expectation(circuit, problem.hamiltonian) + problem.constant, abs=1e-12
    )
    assert result.counts.gates <= result.raw_counts.gates
    if noise is None:  # refit minimizes the noiseless energy itself
        assert result.energy == result.noiseless_energy
        assert result.noiseless_energy <= result.raw_noiseless_energy + 1e-12
    summary = result.summary(problem.exact_energy)
    assert summary["noiseless_error"] == pytest.approx(
        abs(result.noiseless_energy - problem.exact_energy)
    )
    assert summary["raw_gates"] == len(circuit.data)


def test_refit_lowers_a_detuned_circuit_to_the_optimum():
    problem = chem.load("H2-2q")
    circuit = QuantumCircuit(2)
    circuit.ry(0.1, 0)
    circuit.ry(0.1, 1)
    circuit.cx(0, 1)
    refit, energy = refit_angles(circuit, problem.hamiltonian, problem.constant)
    assert energy < PTMSimulator().expectation(circuit, problem.hamiltonian) + problem.constant
    assert energy == pytest.approx(
        PTMSimulator().expectation(refit, problem.hamiltonian) + problem.constant, abs=1e-12
    )


def test_rotations_the_refit_leaves_near_zero_are_dropped():
    """A rotation whose optimum is the identity ends about 1e-5 rad from it after the re-fit
    (the energy is flat there); it goes, since dropping it does not raise the energy."""
    problem = chem.load("H2-2q")
    circuit = QuantumCircuit(2)
    circuit.ry(0.2, 1)
    circuit.cx(1, 0)
    circuit.ry(0.3, 0)  # ends at π (X on the CNOT's target) or 0: either way no rz below
    circuit.rz(0.05, 1)
    refit, energy = refit_angles(simplify_circuit(circuit), problem.hamiltonian, problem.constant)
    assert 0 < abs(float(refit.data[-1].operation.params[0])) < 1e-3  # the flat rz stays
    result = simplify_and_refit(circuit, problem.hamiltonian, problem.constant)
    assert dict(result.circuit.count_ops()) == {"ry": 2, "cx": 1}
    assert result.energy <= energy + 1e-9
    assert result.noiseless_energy == pytest.approx(problem.exact_energy, abs=1e-9)


def test_refit_on_the_mitigated_energy():
    """With ``zne``, the re-fit minimizes the Richardson energy: from angles fitted to Mumbai's
    noise (3.5e-4 Ha from E0 without noise) it finds angles accurate without noise, and the
    reported energy stays the exact noisy one."""
    from qiskit.circuit.library import real_amplitudes

    from qnoise import PTMSimulator, chem
    from qnoise.mitigation import ZNE
    from qnoise.optim import LBFGSB
    from qnoise.vqe import EnergyObjective

    problem = chem.load("H2-4q-0.70")
    ansatz = real_amplitudes(4, reps=1, entanglement="linear")
    noisy = PTMSimulator("fake_mumbai:median")
    plain = EnergyObjective(ansatz, problem.hamiltonian, problem.constant, noisy)
    start = np.random.default_rng(1).uniform(-1, 1, ansatz.num_parameters)
    result = LBFGSB(maxiter=500).minimize(plain, start, jac=plain.gradient)
    fitted = ansatz.assign_parameters(result.x)
    summaries = [
        simplify_and_refit(fitted, problem.hamiltonian, problem.constant, noisy.noise, zne=zne)
        for zne in (None, ZNE())
    ]
    errors = [abs(s.noiseless_energy - problem.exact_energy) for s in summaries]
    assert errors[0] > 1e-4 and errors[1] < 1e-5
    energy = noisy.expectation(summaries[1].circuit, problem.hamiltonian) + problem.constant
    assert summaries[1].energy == pytest.approx(energy, abs=1e-12)
