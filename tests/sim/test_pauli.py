"""Pauli basis conventions and PTM construction."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from qiskit.circuit.library import CXGate, RXXGate, RYGate
from qiskit.quantum_info import DensityMatrix, Operator, Pauli, random_density_matrix

from qnoise.pauli import (
    density_matrix_to_pauli_vector,
    pauli_index,
    pauli_matrices,
    pauli_rotation_parts,
    pauli_vector_to_density_matrix,
    unitary_to_ptm,
    zero_state,
)


@pytest.mark.parametrize("label", ["X", "Z", "XZ", "YI", "IZ", "ZYX", "XIYZ"])
def test_pauli_matrices_follow_qiskit_labels(label):
    np.testing.assert_array_equal(
        pauli_matrices(len(label))[pauli_index(label)], Pauli(label).to_matrix()
    )


@pytest.mark.parametrize("num_qubits", [1, 2, 3])
def test_density_matrix_round_trip(num_qubits):
    rho = random_density_matrix(2**num_qubits, seed=num_qubits).data
    x = density_matrix_to_pauli_vector(rho)
    assert x[0] == pytest.approx(1.0)
    np.testing.assert_allclose(pauli_vector_to_density_matrix(x), rho, atol=1e-14)
    for label in ["X" * num_qubits, "Z" + "I" * (num_qubits - 1)]:
        expected = np.trace(Pauli(label).to_matrix() @ rho).real
        assert x[pauli_index(label)] == pytest.approx(expected, abs=1e-14)


def test_zero_state():
    np.testing.assert_allclose(
        pauli_vector_to_density_matrix(zero_state(3)), DensityMatrix.from_label("000").data
    )


def test_cx_ptm_maps_x_on_control_to_xx():
    ptm = unitary_to_ptm(Operator(CXGate()).data)  # control = qubit 0
    x_control = np.zeros(16)
    x_control[pauli_index("IX")] = 1.0
    expected = np.zeros(16)
    expected[pauli_index("XX")] = 1.0
    np.testing.assert_allclose(ptm @ x_control, expected, atol=1e-14)


@pytest.mark.parametrize(("label", "gate"), [("Y", RYGate), ("XX", RXXGate)])
@given(theta=st.floats(-10, 10))
@settings(max_examples=20, deadline=None)
def test_rotation_parts_equal_unitary_ptm(label, gate, theta):
    a, b, c = pauli_rotation_parts(label)
    expected = unitary_to_ptm(Operator(gate(theta)).data)
    np.testing.assert_allclose(a + np.cos(theta) * b + np.sin(theta) * c, expected, atol=1e-12)
