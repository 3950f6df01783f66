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


# ---------------------------------------------------------------- Qiskit's primitive contract
def _random_state(num_qubits: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    amplitudes = rng.normal(size=2**num_qubits) + 1j * rng.normal(size=2**num_qubits)
    return amplitudes / np.linalg.norm(amplitudes)


def test_appended_subcircuits_and_initialize_are_unrolled_like_qiskit():
    from qiskit.circuit.library import real_amplitudes
    from qiskit_aer import AerSimulator
    from qiskit_aer.noise import NoiseModel as AerNoiseModel
    from qiskit_aer.noise import depolarizing_error

    wrapped = QuantumCircuit(3)
    wrapped.initialize(_random_state(3, 5), [0, 1, 2])
    wrapped.append(real_amplitudes(2, reps=2), [1, 2])  # a non-Gate instruction
    wrapped.h(0)
    values = np.random.default_rng(1).uniform(-np.pi, np.pi, wrapped.num_parameters)
    observable = SparsePauliOp(["ZZI", "XIY", "YXZ", "IIX"], [1.0, 0.5, -0.25, 0.3])
    exact = StatevectorEstimator().run([(wrapped, observable, values)]).result()[0].data.evs
    ours = Estimator(noise="ideal").run([(wrapped, observable, values)]).result()[0].data.evs
    assert float(ours) == pytest.approx(float(exact), abs=1e-10)

    # under noise each unrolled gate takes its error, as in Aer after decomposition
    aer_noise = AerNoiseModel()
    aer_noise.add_all_qubit_quantum_error(depolarizing_error(0.02, 1), ["ry", "h"])
    aer_noise.add_all_qubit_quantum_error(depolarizing_error(0.05, 2), ["cx"])
    bound = QuantumCircuit(2)
    bound.append(real_amplitudes(2, reps=2).assign_parameters(values[:6]), [0, 1])
    flat = bound.decompose()
    assert set(flat.count_ops()) == {"ry", "cx"}
    flat.save_density_matrix()
    rho = AerSimulator(method="density_matrix").run(flat, noise_model=aer_noise).result()
    expected = rho.data()["density_matrix"].expectation_value(SparsePauliOp(["ZZ", "XY"]))
    ours = PTMSimulator(aer_noise).expectation(bound, SparsePauliOp(["ZZ", "XY"]))
    assert ours == pytest.approx(float(np.real(expected)), abs=1e-10)


def test_precision_noise_draws_as_statevector_estimator_does():
    """A fresh generator from the seed per PUB, one draw per value in C order."""
    circuit = QuantumCircuit(2)
    circuit.ry(ParameterVector("t", 1)[0], 0)
    circuit.cx(0, 1)
    observables = [[SparsePauliOp("ZZ")], [SparsePauliOp("XI")], [SparsePauliOp("ZI")]]
    values = np.linspace(0.1, 2.0, 4).reshape(1, 4, 1)
    pubs = [(circuit, observables, values, 0.3), (circuit, SparsePauliOp("ZZ"), [0.7])]
    ours = Estimator(seed=11).run(pubs).result()
    theirs = StatevectorEstimator(seed=11).run(pubs).result()
    for mine, reference in zip(ours, theirs, strict=True):
        assert mine.data.evs.shape == reference.data.evs.shape
        np.testing.assert_allclose(mine.data.evs, reference.data.evs, atol=1e-10)
        assert mine.metadata == reference.metadata
    again = Estimator(seed=11).run(pubs[:1] * 2).result()
    np.testing.assert_array_equal(again[0].data.evs, again[1].data.evs)


def test_bad_pubs_raise_the_errors_qiskit_raises():
    one, two = QuantumCircuit(1), QuantumCircuit(2)
    estimator = Estimator()
    cases = [
        [(one, SparsePauliOp("II"))],  # observable wider than the circuit
        [(one, SparsePauliOp("Z"), [[1.0]])],  # values for a circuit without parameters
        [(one, 1j * SparsePauliOp("Z"), None, 0.1)],  # not Hermitian
        (one, SparsePauliOp("Z")),  # a PUB where a list of PUBs belongs
    ]
    for pubs in cases:
        with pytest.raises(ValueError):
            estimator.run(pubs).result()
    with pytest.raises(ValueError):
        estimator.run([(two, SparsePauliOp("ZZ"))], precision=-1).result()


def test_run_returns_a_finished_job_and_pubs_may_come_from_any_iterable():
    from qiskit.providers import JobStatus

    circuit = QuantumCircuit(1)
    circuit.h(0)
    job = Estimator().run(iter([(circuit, SparsePauliOp("X")), (circuit, "Z")]))
    assert job.done() and job.in_final_state() and job.status() == JobStatus.DONE
    result = job.result()
    assert [float(r.data.evs) for r in result] == pytest.approx([1.0, 0.0], abs=1e-12)
    assert result.metadata == {"version": 2}
    failed = Estimator().run([(circuit, SparsePauliOp("ZZ"))])
    assert failed.status() == JobStatus.ERROR
