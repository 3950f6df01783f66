"""The PTM simulator against qiskit-aer's density-matrix method and exact references."""

import numpy as np
import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.quantum_info import SparsePauliOp, random_pauli_list

from qnoise import PTMSimulator
from qnoise.noise import from_aer, from_backend
from qnoise.noise.named import fake_backend
from tests.reference import (
    GATES,
    aer_density_matrix,
    aer_expectation_with_readout,
    aer_probabilities_with_readout,
    exact_noisy_density_matrix,
    random_aer_noise,
    random_circuit,
)


def _random_observable(num_qubits, rng, terms=6):
    paulis = random_pauli_list(num_qubits, terms, seed=int(rng.integers(1 << 30)), phase=False)
    return SparsePauliOp(paulis, rng.normal(size=terms))


@pytest.mark.parametrize("num_qubits", [1, 2, 3, 4, 5, 6])
def test_random_noiseless_circuits_match_aer(num_qubits):
    rng = np.random.default_rng(100 + num_qubits)
    for _ in range(3):
        qc, values = random_circuit(num_qubits, 25, rng)
        bound = qc.assign_parameters(values)
        rho = PTMSimulator().density_matrix(qc, values)
        np.testing.assert_allclose(rho, aer_density_matrix(bound), atol=1e-10, rtol=0)


@pytest.mark.parametrize("num_qubits", [1, 2, 3, 4, 5, 6])
def test_random_noisy_circuits_match_aer(num_qubits):
    """Every channel type (depolarizing, Pauli, amplitude/phase damping, thermal relaxation
    with and without excited population, random Kraus) and readout errors."""
    rng = np.random.default_rng(200 + num_qubits)
    for trial in range(3):
        qc, values = random_circuit(num_qubits, 20, rng)
        aer_model = random_aer_noise(num_qubits, rng, GATES)
        sim = PTMSimulator(from_aer(aer_model))
        bound = qc.assign_parameters(values)
        rho = sim.density_matrix(qc, values)
        np.testing.assert_allclose(rho, aer_density_matrix(bound, aer_model), atol=1e-10, rtol=0)
        probs = sim.probabilities(qc, values)
        np.testing.assert_allclose(
            probs, aer_probabilities_with_readout(bound, aer_model), atol=1e-10, rtol=0
        )
        if trial == 0:
            obs = _random_observable(num_qubits, rng)
            expected = aer_expectation_with_readout(bound, obs, aer_model)
            assert sim.expectation(qc, obs, values) == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("num_qubits", [1, 2, 3, 4, 5])
def test_batches_match_aer_set_by_set(num_qubits):
    """Batches of parameter sets take the batch-major path (constants applied to the whole
    chunk, rotations per set); 9 sets leave a padded chunk. Every set is checked."""
    from qnoise.sim.batched import uses_batch_major

    assert uses_batch_major(num_qubits, 9)
    rng = np.random.default_rng(500 + num_qubits)
    qc, _ = random_circuit(num_qubits, 25, rng)
    aer_model = random_aer_noise(num_qubits, rng, GATES)
    obs = _random_observable(num_qubits, rng)
    values = rng.uniform(-np.pi, np.pi, (9, qc.num_parameters))
    batch = PTMSimulator(from_aer(aer_model)).expectation(qc, obs, values)
    expected = [
        aer_expectation_with_readout(qc.assign_parameters(row), obs, aer_model) for row in values
    ]
    np.testing.assert_allclose(batch, expected, atol=1e-10, rtol=0)


def test_aer_noise_model_object_is_accepted_directly():
    rng = np.random.default_rng(3)
    qc, values = random_circuit(3, 15, rng)
    aer_model = random_aer_noise(3, rng, GATES)
    direct = PTMSimulator(aer_model).density_matrix(qc, values)
    np.testing.assert_allclose(direct, PTMSimulator(from_aer(aer_model)).density_matrix(qc, values))


def _transpiled_mumbai_circuit(seed):
    rng = np.random.default_rng(seed)
    qc, values = random_circuit(4, 30, rng, gates=["rx", "ry", "rz", "cx", "h"])
    backend = fake_backend("fake_mumbai")
    bound = qc.assign_parameters(values)
    return transpile(bound, backend, optimization_level=1, seed_transpiler=seed), backend


@pytest.mark.parametrize("seed", [1, 2])
def test_from_backend_per_qubit_matches_aer_from_backend(seed):
    from qiskit_aer import AerSimulator

    isa, backend = _transpiled_mumbai_circuit(seed)
    aer = AerSimulator.from_backend(backend)
    active = sorted({isa.find_bit(q).index for inst in isa.data for q in inst.qubits})
    ours = PTMSimulator(from_backend(backend, level=None)).probabilities(isa, qubits=active)
    measured = isa.copy()
    measured.save_density_matrix(qubits=active)
    rho = np.asarray(aer.run(measured, method="density_matrix").result().data()["density_matrix"])
    probs = np.real(np.diag(rho)).reshape((2,) * len(active))
    model = aer.options.noise_model
    for position, q in enumerate(active):
        matrix = np.asarray(model._local_readout_errors[(q,)].probabilities)
        axis = len(active) - 1 - position
        probs = np.moveaxis(np.tensordot(matrix.T, probs, axes=([1], [axis])), 0, axis)
    # Aer's own simulation of its thermal-relaxation errors deviates from the exact
    # superoperators by ~1e-9 (see test below); hence 1e-8 here.
    np.testing.assert_allclose(ours, probs.reshape(-1), atol=1e-8, rtol=0)


def test_from_backend_per_qubit_is_exact_against_quantum_info():
    """Against exact superoperator evolution of Aer's own errors: agreement to 1e-12."""
    from qiskit_aer.noise import NoiseModel as AerNoiseModel

    backend = fake_backend("fake_manila")
    rng = np.random.default_rng(5)
    qc, values = random_circuit(3, 20, rng, gates=["rx", "ry", "rz", "cx"])
    isa = transpile(
        qc.assign_parameters(values), backend, optimization_level=0, initial_layout=[0, 1, 2]
    )
    isa = isa.remove_final_measurements(inplace=False)
    reduced = QuantumCircuit(3)
    for inst in isa.data:
        reduced.append(inst.operation, [isa.find_bit(q).index for q in inst.qubits])
    aer_model = AerNoiseModel.from_backend(backend)
    errors = {
        (name, qubits): err
        for name, per in aer_model._local_quantum_errors.items()
        for qubits, err in per.items()
    }
    expected = exact_noisy_density_matrix(reduced, errors)
    ours = PTMSimulator(from_backend(backend, level=None)).density_matrix(reduced)
    np.testing.assert_allclose(ours, expected, atol=1e-12, rtol=0)


def test_reset_and_barrier_match_aer():
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    qc.barrier()
    qc.reset(0)
    qc.ry(0.3, 0)
    np.testing.assert_allclose(
        PTMSimulator().density_matrix(qc), aer_density_matrix(qc), atol=1e-12, rtol=0
    )


@pytest.mark.slow
@pytest.mark.parametrize("num_qubits", [7, 8])
def test_larger_random_noisy_circuits_match_aer(num_qubits):
    rng = np.random.default_rng(300 + num_qubits)
    qc, values = random_circuit(num_qubits, 60, rng)
    aer_model = random_aer_noise(num_qubits, rng, GATES)
    bound = qc.assign_parameters(values)
    rho = PTMSimulator(from_aer(aer_model)).density_matrix(qc, values)
    np.testing.assert_allclose(rho, aer_density_matrix(bound, aer_model), atol=1e-10, rtol=0)


@pytest.mark.parametrize("num_qubits", [5, 6, 7])
def test_few_term_observables_through_the_light_cone_match_aer(num_qubits):
    """Observables of two terms: the last groups go to the observable (light cone) and the
    first ones run on the growing state; value and gradient against Aer and shifts."""
    rng = np.random.default_rng(400 + num_qubits)
    qc, values = random_circuit(num_qubits, 30, rng)
    aer_model = random_aer_noise(num_qubits, rng, GATES)
    sim = PTMSimulator(from_aer(aer_model))
    compiled = sim.compile(qc)
    obs = _random_observable(num_qubits, rng, terms=2)
    assert compiled.prepare(obs).terms.cone[0] < compiled.num_groups  # some groups in the cone
    expected = aer_expectation_with_readout(qc.assign_parameters(values), obs, aer_model)
    assert compiled.expectation(obs, values) == pytest.approx(expected, abs=1e-10)
    value, grad = compiled.value_and_gradient(obs, values)
    assert value == pytest.approx(expected, abs=1e-10)
    eps = 1e-6
    numeric = [
        (compiled.expectation(obs, values + eps * e) - compiled.expectation(obs, values - eps * e))
        / (2 * eps)
        for e in np.eye(values.size)
    ]
    np.testing.assert_allclose(grad, numeric, atol=1e-7)
