"""qnoise.Estimator as a Qiskit BaseEstimatorV2."""

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.primitives import BaseEstimatorV2, StatevectorEstimator
from qiskit.quantum_info import SparsePauliOp

from qnoise import Estimator, PTMSimulator


@pytest.fixture
def circuit():
    theta = ParameterVector("θ", 4)
    qc = QuantumCircuit(2)
    qc.ry(theta[0], 0)
    qc.ry(theta[1], 1)
    qc.cx(0, 1)
    qc.rx(theta[2], 0)
    qc.rz(theta[3], 1)
    return qc


def test_is_a_base_estimator_v2():
    assert isinstance(Estimator(), BaseEstimatorV2)


def test_noiseless_broadcasting_matches_statevector_estimator(circuit):
    rng = np.random.default_rng(0)
    params = rng.uniform(-3, 3, (3, 1, 4))
    observables = [[SparsePauliOp("ZZ"), SparsePauliOp.from_list([("XI", 0.5), ("IY", -1)])]]
    pub = (circuit, observables, params)
    ours = Estimator().run([pub]).result()[0]
    ref = StatevectorEstimator().run([pub]).result()[0]
    assert ours.data.evs.shape == (3, 2)
    np.testing.assert_allclose(ours.data.evs, ref.data.evs, atol=1e-12)
    np.testing.assert_array_equal(ours.data.stds, 0.0)


def test_noisy_values_equal_simulator(circuit):
    values = np.array([0.1, 0.2, 0.3, 0.4])
    result = Estimator(noise="fake_mumbai:median").run([(circuit, "ZZ", values)]).result()
    expected = PTMSimulator("fake_mumbai:median").expectation(circuit, "ZZ", values)
    assert float(result[0].data.evs) == pytest.approx(expected, abs=1e-14)


def test_precision_adds_seeded_gaussian_noise(circuit):
    values = np.tile([0.1, 0.2, 0.3, 0.4], (2000, 1))
    estimator = Estimator(seed=5)
    exact = PTMSimulator().expectation(circuit, "ZZ", values[0])
    result = estimator.run([(circuit, "ZZ", values, 0.01)]).result()[0]
    again = Estimator(seed=5).run([(circuit, "ZZ", values, 0.01)]).result()[0]
    np.testing.assert_array_equal(result.data.evs, again.data.evs)
    assert result.data.evs.std() == pytest.approx(0.01, rel=0.1)
    assert result.data.evs.mean() == pytest.approx(exact, abs=5e-4)
    np.testing.assert_array_equal(result.data.stds, 0.01)


def test_circuit_without_parameters_and_run_precision():
    qc = QuantumCircuit(1)
    qc.h(0)
    result = Estimator().run([(qc, ["X", "Z"])]).result()[0]
    np.testing.assert_allclose(result.data.evs, [1.0, 0.0], atol=1e-14)
    noisy = Estimator(seed=1).run([(qc, "X")], precision=0.1).result()[0]
    assert noisy.metadata["target_precision"] == 0.1
