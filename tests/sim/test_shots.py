"""The measurement plan behind finite-shot estimates, against an independent computation."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.quantum_info import DensityMatrix, Operator, SparsePauliOp, random_density_matrix

from qnoise import PTMSimulator
from qnoise.noise import readout_error
from qnoise.pauli import density_matrix_to_pauli_vector as density_to_pauli
from qnoise.sim.shots import MeasurementPlan

ROTATE = {  # maps the eigenbasis of the Pauli onto the computational basis
    "X": np.array([[1, 1], [1, -1]]) / np.sqrt(2),
    "Y": np.array([[1, -1j], [1, 1j]]) / np.sqrt(2),
    "Z": np.eye(2),
    "I": np.eye(2),
}


def _reference_probabilities(rho: DensityMatrix, basis: str, confusions) -> np.ndarray:
    """Rotate ρ into the product basis (label order: qubit n-1 first), take the diagonal and
    apply each qubit's confusion matrix [measured, prepared]."""
    n = len(basis)
    unitary = np.array([[1.0]])
    for char in basis:  # leftmost = highest qubit = leftmost Kronecker factor
        unitary = np.kron(unitary, ROTATE[char])
    rotated = Operator(unitary) @ Operator(rho.data) @ Operator(unitary).adjoint()
    probs = np.real(np.diag(rotated.data)).reshape((2,) * n)
    for q, confusion in enumerate(confusions):
        axis = n - 1 - q
        probs = np.moveaxis(np.tensordot(confusion, probs, axes=([1], [axis])), 0, axis)
    return probs.reshape(-1)


@pytest.mark.parametrize("seed", [0, 1])
def test_group_probabilities_match_rotated_density_matrix(seed):
    rng = np.random.default_rng(seed)
    labels = ["XIZ", "XYZ", "IYI", "ZZX", "ZIX", "YYY", "IIZ"]
    observable = SparsePauliOp(labels, coeffs=rng.normal(size=len(labels)))
    readout = [readout_error(0.02, 0.05), None, readout_error(0.1, 0.03)]
    confusions = [np.eye(2) if ro is None else np.asarray(ro.confusion_matrix) for ro in readout]
    plan = MeasurementPlan(observable, readout)
    rho = random_density_matrix(8, seed=seed)
    probs = plan.probabilities(density_to_pauli(rho.data)[None, :])[0]
    groups = observable.group_commuting(qubit_wise=True)
    assert len(groups) == probs.shape[0]
    for row, group in enumerate(groups):
        basis = ["Z"] * 3
        for label in group.paulis.to_labels():
            for position, char in enumerate(label):
                if char != "I":
                    basis[position] = char
        expected = _reference_probabilities(rho, "".join(basis), confusions)
        np.testing.assert_allclose(probs[row], expected, atol=1e-12)


def test_weights_reproduce_the_exact_expectation_without_readout():
    rng = np.random.default_rng(3)
    labels = ["XX", "YY", "ZZ", "ZI", "IZ", "II", "XI"]
    observable = SparsePauliOp(labels, coeffs=rng.normal(size=len(labels)))
    plan = MeasurementPlan(observable, [None, None])
    rho = random_density_matrix(4, seed=4)
    probs = plan.probabilities(density_to_pauli(rho.data)[None, :])[0]
    exact = rho.expectation_value(observable).real
    assert np.sum(probs * plan.weights) == pytest.approx(exact, abs=1e-12)


@pytest.mark.parametrize("shot_model", ["sample", "gaussian"])
def test_shot_standard_error_matches_the_spread_of_estimates(shot_model):
    from qiskit.circuit.library import efficient_su2

    circuit = efficient_su2(3, reps=1)
    x = np.random.default_rng(0).normal(size=circuit.num_parameters)
    observable = SparsePauliOp.from_list([("ZZI", 0.5), ("XIX", -0.3), ("IYZ", 0.2), ("ZII", 0.4)])
    program = PTMSimulator("fake_mumbai:median").compile(circuit)
    estimates = program.expectation(
        observable, np.tile(x, (4000, 1)), shots=500, seed=1, shot_model=shot_model
    )
    predicted = program.shot_standard_error(observable, x, 500, shot_model)
    assert estimates.std() == pytest.approx(predicted, rel=0.05)
