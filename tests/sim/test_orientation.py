"""Qubit order and CX orientation on asymmetric cases (the public CRLQAS code swapped them)."""

import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import Pauli, Statevector

from qnoise import PTMSimulator


def test_x_on_qubit_zero_is_rightmost_bit():
    qc = QuantumCircuit(3)
    qc.x(0)
    probs = PTMSimulator().probabilities(qc)
    assert probs[1] == pytest.approx(1.0)  # index 0b001
    assert PTMSimulator().sample_counts(qc, 10, seed=1) == {"001": 10}


@pytest.mark.parametrize(("control", "target"), [(0, 1), (1, 0), (0, 2), (2, 0)])
def test_cx_flips_only_the_target(control, target):
    qc = QuantumCircuit(3)
    qc.x(control)
    qc.cx(control, target)
    probs = PTMSimulator().probabilities(qc)
    expected_index = (1 << control) | (1 << target)
    assert probs[expected_index] == pytest.approx(1.0)
    # the reversed CX must not fire: control is |0>
    qc2 = QuantumCircuit(3)
    qc2.x(target)
    qc2.cx(control, target)
    assert PTMSimulator().probabilities(qc2)[1 << target] == pytest.approx(1.0)


def test_noisy_cx_orientation_with_asymmetric_noise():
    """Amplitude damping on the control only: reversed orientation would damp the target."""
    from qnoise import noise

    model = noise.NoiseModel()
    model.add_gate_error(noise.amplitude_damping(0.3).expand(noise.depolarizing(0.0)), "cx", [0, 1])
    qc = QuantumCircuit(2)
    qc.x(0)
    qc.cx(0, 1)  # |11>, then damping on qubit 0 (the first qarg) with γ = 0.3
    probs = PTMSimulator(model).probabilities(qc)
    assert probs[0b11] == pytest.approx(0.7)
    assert probs[0b10] == pytest.approx(0.3)


def test_expectation_of_asymmetric_observable_matches_statevector():
    qc = QuantumCircuit(3)
    qc.ry(0.4, 0)
    qc.rx(1.3, 2)
    qc.cx(0, 2)
    qc.cz(2, 1)
    for label in ["IIZ", "ZII", "XIY", "YZX"]:
        expected = Statevector(qc).expectation_value(Pauli(label))
        assert PTMSimulator().expectation(qc, label) == pytest.approx(expected.real, abs=1e-13)
