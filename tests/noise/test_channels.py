"""Channel constructors: PTMs against qiskit-aer's errors, validation, scaling."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from qiskit.quantum_info import Kraus, random_quantum_channel
from qiskit_aer import noise as aer_noise

from qnoise import noise
from qnoise.noise.importers import _quantum_error_to_channel
from qnoise.pauli import density_matrix_to_pauli_vector, pauli_vector_to_density_matrix


def aer_ptm(error):
    """PTM of an Aer error computed through quantum_info's Kraus form (not qnoise's parser)."""
    return np.asarray(noise.kraus(Kraus(error.to_quantumchannel()).data))


CASES = [
    (noise.depolarizing(0.03), aer_noise.depolarizing_error(0.03, 1)),
    (noise.depolarizing(0.07, 2), aer_noise.depolarizing_error(0.07, 2)),
    (noise.amplitude_damping(0.2), aer_noise.amplitude_damping_error(0.2)),
    (noise.phase_damping(0.15), aer_noise.phase_damping_error(0.15)),
    (
        noise.thermal_relaxation(50e-6, 70e-6, 300e-9),
        aer_noise.thermal_relaxation_error(50e-6, 70e-6, 300e-9),
    ),
    (
        noise.thermal_relaxation(50e-6, 30e-6, 2e-6, 0.1),
        aer_noise.thermal_relaxation_error(50e-6, 30e-6, 2e-6, 0.1),
    ),
    (
        noise.pauli_channel({"X": 0.1, "Z": 0.05}),
        aer_noise.pauli_error([("X", 0.1), ("Z", 0.05), ("I", 0.85)]),
    ),
    (
        noise.pauli_channel({"XZ": 0.1, "YI": 0.02}),
        aer_noise.pauli_error([("XZ", 0.1), ("YI", 0.02), ("II", 0.88)]),
    ),
    (noise.reset(), aer_noise.reset_error(1.0)),
]


@pytest.mark.parametrize(("ours", "aer"), CASES)
def test_channel_ptm_matches_aer(ours, aer):
    np.testing.assert_allclose(np.asarray(ours), aer_ptm(aer), atol=1e-12)
    np.testing.assert_allclose(np.asarray(_quantum_error_to_channel(aer)), aer_ptm(aer), atol=1e-12)


def test_kraus_channel_matches_quantum_info():
    channel = random_quantum_channel(4, seed=3)
    ops = Kraus(channel).data
    rho = np.diag([0.4, 0.3, 0.2, 0.1]).astype(complex)
    rho[0, 3] = rho[3, 0] = 0.05
    expected = sum(k @ rho @ k.conj().T for k in ops)
    x = np.asarray(noise.kraus(ops)) @ density_matrix_to_pauli_vector(rho)
    np.testing.assert_allclose(pauli_vector_to_density_matrix(x), expected, atol=1e-12)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: noise.depolarizing(1.5), "depolarizing parameter"),
        (lambda: noise.depolarizing(-0.1), "depolarizing parameter"),
        (lambda: noise.depolarizing(0.1, 0), "num_qubits"),
        (lambda: noise.amplitude_damping(1.2), r"\[0, 1\]"),
        (lambda: noise.phase_damping(-0.01), r"\[0, 1\]"),
        (lambda: noise.thermal_relaxation(50e-6, 120e-6, 1e-7), "greater than 2 \\* T1"),
        (lambda: noise.thermal_relaxation(-1, 1, 1), "T1 must be > 0"),
        (lambda: noise.thermal_relaxation(1, 1, -1), "time"),
        (lambda: noise.thermal_relaxation(1, 1, 1, 1.5), "excited_state_population"),
        (lambda: noise.kraus([np.eye(2), np.eye(2)]), "not trace preserving"),
        (lambda: noise.kraus([np.eye(3)]), "power of two"),
        (lambda: noise.pauli_channel({"X": 0.7, "Z": 0.6}), "sum to 1"),
        (lambda: noise.pauli_channel({"X": 0.1, "ZZ": 0.1}), "same length"),
        (lambda: noise.pauli_channel({"Q": 0.1}), "invalid Pauli label"),
        (lambda: noise.readout_error(1.1), r"\[0, 1\]"),
    ],
)
def test_invalid_arguments_raise(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_scaling_rules():
    assert np.asarray(noise.depolarizing(0.01).scaled(3))[1, 1] == pytest.approx(0.97)
    gamma = noise.amplitude_damping(0.1).scaled(2)
    np.testing.assert_allclose(np.asarray(gamma), np.asarray(noise.amplitude_damping(0.19)))
    relax = noise.thermal_relaxation(50e-6, 60e-6, 1e-6).scaled(2.5)
    np.testing.assert_allclose(
        np.asarray(relax), np.asarray(noise.thermal_relaxation(50e-6, 60e-6, 2.5e-6))
    )
    pauli = noise.pauli_channel({"X": 0.1}).scaled(2)
    np.testing.assert_allclose(np.asarray(pauli), np.asarray(noise.pauli_channel({"X": 0.2})))
    ro = noise.readout_error(0.01, 0.02).scaled(1.5)
    assert (ro.p_meas1_prep0, ro.p_meas0_prep1) == pytest.approx((0.015, 0.03))
    with pytest.raises(ValueError, match="scale factor"):
        noise.depolarizing(0.01).scaled(-1)


def test_kraus_scaling_is_a_fractional_power():
    channel = noise.kraus(Kraus(aer_noise.amplitude_damping_error(0.2).to_quantumchannel()).data)
    half = channel.scaled(0.5)
    np.testing.assert_allclose(np.asarray(half) @ np.asarray(half), np.asarray(channel), atol=1e-12)
    np.testing.assert_allclose(np.asarray(channel.scaled(0)), np.eye(4))


def test_compose_tensor_and_expand():
    a, b = noise.amplitude_damping(0.1), noise.phase_damping(0.2)
    np.testing.assert_allclose(np.asarray(a.compose(b)), np.asarray(b) @ np.asarray(a))
    np.testing.assert_allclose(np.asarray(a.tensor(b)), np.kron(np.asarray(a), np.asarray(b)))
    np.testing.assert_allclose(np.asarray(a.expand(b)), np.kron(np.asarray(b), np.asarray(a)))
    scaled = a.tensor(b).scaled(2)
    np.testing.assert_allclose(
        np.asarray(scaled), np.kron(np.asarray(a.scaled(2)), np.asarray(b.scaled(2)))
    )


probability = st.floats(0, 1)


@given(p=st.floats(0, 4 / 3), gamma=probability, lam=probability, pop=probability)
@settings(max_examples=60, deadline=None)
def test_channels_preserve_trace_and_positivity(p, gamma, lam, pop):
    rho = np.array([[0.6, 0.3 - 0.2j], [0.3 + 0.2j, 0.4]])
    for channel in [
        noise.depolarizing(p),
        noise.amplitude_damping(gamma),
        noise.phase_damping(lam),
        noise.thermal_relaxation(1.0, 1.5, gamma * 3, pop),
    ]:
        x = np.asarray(channel) @ density_matrix_to_pauli_vector(rho)
        out = pauli_vector_to_density_matrix(x)
        assert np.trace(out).real == pytest.approx(1.0, abs=1e-12)
        assert np.linalg.eigvalsh(out).min() > -1e-12
