"""The classifier circuit: class rule, probabilities under noise, loss gradients; checked
against Statevector, the simulator's own basis probabilities, finite differences and
qiskit-machine-learning's SamplerQNN."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.circuit.library import efficient_su2, real_amplitudes, zz_feature_map
from qiskit.quantum_info import Statevector

from qnoise import PTMSimulator
from qnoise.qml import ClassifierCircuit, class_observables, class_of_outcome
from qnoise.qml.circuits import angle_encoding, build_ansatz, build_feature_map

RNG = np.random.default_rng(11)


def model(num_classes=2, noise=None, qubits=3, feature_map=None):
    fmap = feature_map if feature_map is not None else zz_feature_map(qubits, reps=1)
    return ClassifierCircuit(fmap, efficient_su2(qubits, reps=1), num_classes, PTMSimulator(noise))


def test_class_of_outcome_rules():
    assert class_of_outcome(np.arange(8), 2).tolist() == [0, 1, 1, 0, 1, 0, 0, 1]  # parity
    assert class_of_outcome(np.arange(8), 3).tolist() == [0, 1, 2, 0, 1, 2, 0, 1]


@pytest.mark.parametrize("num_classes", [2, 3, 5])
def test_class_observables_are_the_grouped_basis_probabilities(num_classes):
    ansatz = real_amplitudes(3, reps=2)
    values = RNG.uniform(-np.pi, np.pi, ansatz.num_parameters)
    probs = Statevector(ansatz.assign_parameters(values)).probabilities()  # index Σ b_q 2^q
    expected = np.bincount(class_of_outcome(np.arange(8), num_classes), probs, num_classes)
    state = Statevector(ansatz.assign_parameters(values))
    got = [state.expectation_value(o).real for o in class_observables(3, num_classes)]
    np.testing.assert_allclose(got, expected, atol=1e-12)


@pytest.mark.parametrize("num_classes", [2, 3])
def test_probabilities_under_noise_with_readout_error(num_classes):
    """Batched class probabilities equal the simulator's own basis probabilities (readout
    error included) of each bound circuit, grouped by the class rule."""
    m = model(num_classes, noise="fake_manila")
    X = RNG.uniform(0, np.pi, (4, 3))
    weights = RNG.uniform(-np.pi, np.pi, m.num_weights)
    got = m.probabilities(X, weights)
    simulator = PTMSimulator("fake_manila")
    for row, x in enumerate(X):
        basis = simulator.probabilities(m.circuit, m.parameter_values(x[None], weights)[0])
        expected = np.bincount(class_of_outcome(np.arange(8), num_classes), basis, num_classes)
        np.testing.assert_allclose(got[row], expected, atol=1e-12)
    noiseless = model(num_classes).probabilities(X, weights)
    assert np.abs(got - noiseless).max() > 1e-3  # the noise is really there


@pytest.mark.parametrize("noise", [None, "depolarizing:p1=2e-3,p2=2e-2"])
@pytest.mark.parametrize("num_classes", [2, 3])
def test_loss_gradient_matches_finite_differences(noise, num_classes):
    m = model(num_classes, noise)
    X = RNG.uniform(0, np.pi, (6, 3))
    labels = np.arange(6) % num_classes
    weights = RNG.uniform(-np.pi, np.pi, m.num_weights)
    gradient = m.loss_gradient(X, labels, weights)
    h = 1e-6
    numeric = np.array([
        (m.loss(X, labels, weights + h * e) - m.loss(X, labels, weights - h * e)) / (2 * h)
        for e in np.eye(m.num_weights)
    ])  # fmt: skip
    np.testing.assert_allclose(gradient, numeric, atol=1e-7)


def test_shot_gradient_is_the_parameter_shift_rule_on_estimates():
    """With shots the gradient is unbiased: at 1e9 shots it equals the exact one to 1e-3,
    and at 200 shots its mean over draws does too (to a few standard errors)."""
    m = model(2, "depolarizing:p1=2e-3,p2=2e-2")
    X = RNG.uniform(0, np.pi, (5, 3))
    labels = np.array([0, 1, 1, 0, 1])
    weights = RNG.uniform(-1, 1, m.num_weights)
    exact = m.loss_gradient(X, labels, weights)
    many = m.loss_gradient(X, labels, weights, shots=10**9, rng=np.random.default_rng(0))
    np.testing.assert_allclose(many, exact, atol=1e-3)
    rng = np.random.default_rng(1)
    draws = np.array([m.loss_gradient(X, labels, weights, shots=20_000, rng=rng)
                      for _ in range(40)])  # fmt: skip
    stderr = draws.std(axis=0) / np.sqrt(len(draws))
    assert np.all(np.abs(draws.mean(axis=0) - exact) < 5 * stderr + 1e-3)


def test_shot_gradients_refuse_an_ansatz_without_the_shift_rule():
    from qiskit import QuantumCircuit
    from qiskit.circuit import Parameter

    theta = Parameter("θ")
    ansatz = QuantumCircuit(2)
    ansatz.ry(theta, 0)
    ansatz.ry(2 * theta, 1)  # a weight entering twice
    m = ClassifierCircuit(angle_encoding(2), ansatz, 2, PTMSimulator())
    with pytest.raises(ValueError, match="parameter-shift"):
        m.loss_gradient(np.ones((2, 2)), np.array([0, 1]), np.zeros(1), shots=100,
                        rng=np.random.default_rng(0))  # fmt: skip


def test_probabilities_match_qiskit_machine_learning_sampler_qnn():
    """Independent reference: qiskit-machine-learning's SamplerQNN (reference Sampler)
    with the same parity rule gives the same class probabilities."""
    qml = pytest.importorskip("qiskit_machine_learning.neural_networks")
    from qiskit.primitives import StatevectorSampler

    fmap, ansatz = zz_feature_map(3, reps=2), efficient_su2(3, reps=1)
    circuit = fmap.compose(ansatz)
    circuit.measure_all()
    qnn = qml.SamplerQNN(
        circuit=circuit, input_params=fmap.parameters, weight_params=ansatz.parameters,
        interpret=lambda b: bin(b).count("1") % 2, output_shape=2,
        sampler=StatevectorSampler(default_shots=100_000, seed=5),
    )  # fmt: skip
    X = RNG.uniform(0, 1, (3, 3))
    weights = RNG.uniform(-np.pi, np.pi, ansatz.num_parameters)
    reference = qnn.forward(X, weights)
    ours = ClassifierCircuit(fmap, ansatz, 2, PTMSimulator()).probabilities(X, weights)
    np.testing.assert_allclose(ours, reference, atol=8e-3)  # 1e5 shots: σ ≤ 1.6e-3


def test_named_circuits_and_their_errors():
    assert build_feature_map("angle", 4).num_parameters == 4
    assert build_feature_map("pauli", 3).num_qubits == 3
    assert build_ansatz("real_amplitudes", 3, reps=1).num_parameters == 6
    with pytest.raises(ValueError, match="feature_map"):
        build_feature_map("nope", 2)
    with pytest.raises(ValueError, match="ansatz"):
        build_ansatz("nope", 2)
    with pytest.raises(ValueError, match="input parameters"):
        build_feature_map(angle_encoding(3), 2)
    with pytest.raises(ValueError, match="share parameters"):
        fmap = angle_encoding(2)
        ClassifierCircuit(fmap, fmap, 2, PTMSimulator())
    with pytest.raises(ValueError, match="classes need more"):
        class_observables(2, 5)


@pytest.mark.parametrize("features", [3, 2])
def test_stored_feature_map_states_give_the_whole_circuit_result(features, monkeypatch):
    """Probabilities from the kept feature-map states and the ansatz alone equal those of
    the whole circuit (the path taken when the states are not kept), under hardware noise,
    also with ansatz qubits the feature map leaves in |0⟩."""
    import qnoise.qml.model as model_module

    fmap = zz_feature_map(features, reps=2)
    m = ClassifierCircuit(fmap, efficient_su2(3, reps=1), 3, PTMSimulator("fake_manila"))
    X = RNG.uniform(0, np.pi, (5, features))
    weights = RNG.uniform(-np.pi, np.pi, m.num_weights)
    assert m.encoded(X) is not None
    split = m.probabilities(X, weights)
    monkeypatch.setattr(model_module, "ENCODED_BYTES", 8)
    assert m.encoded(X) is None
    np.testing.assert_allclose(split, m.probabilities(X, weights), atol=1e-13)
