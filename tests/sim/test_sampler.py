"""``qnoise.Sampler``: Qiskit's ``BaseSamplerV2`` contract on the PTM simulator."""

from __future__ import annotations

import re

import numpy as np
import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import Parameter
from qiskit.primitives import BaseSamplerV2, StatevectorSampler
from qiskit.quantum_info import SparsePauliOp

from qnoise import PTMSimulator, Sampler
from qnoise.sim.sampler import UnsupportedCircuitError
from tests.reference import feed_forward_circuit


def _two_registers() -> QuantumCircuit:
    alpha, beta = ClassicalRegister(2, "alpha"), ClassicalRegister(1, "beta")
    circuit = QuantumCircuit(QuantumRegister(3), alpha, beta)
    circuit.ry(Parameter("a"), 0)
    circuit.cx(0, 1)
    circuit.rx(Parameter("b"), 2)
    circuit.measure([0, 1], alpha)
    circuit.measure([2], beta)
    return circuit


def test_is_a_base_sampler_v2_with_one_bit_array_per_register():
    circuit = _two_registers()
    values = np.array([[0.3, 1.1], [2.0, 0.2], [1.0, 3.0]])
    result = Sampler(seed=3).run([(circuit, values)], shots=500).result()
    assert isinstance(Sampler(), BaseSamplerV2)
    data = result[0].data
    assert data.alpha.shape == (3,) and data.alpha.num_bits == 2 and data.alpha.num_shots == 500
    assert data.beta.shape == (3,) and data.beta.num_bits == 1
    assert result[0].metadata == {"shots": 500, "circuit_metadata": {}}
    assert result.metadata == {"version": 2}
    for row, (a, b) in enumerate(values):  # the cx makes alpha's two bits equal
        counts = data.alpha.get_counts(row)
        assert set(counts) <= {"00", "11"}
        assert counts.get("11", 0) / 500 == pytest.approx(np.sin(a / 2) ** 2, abs=0.08)
        assert data.beta.get_counts(row).get("1", 0) / 500 == pytest.approx(
            np.sin(b / 2) ** 2, abs=0.08
        )


def test_noisy_frequencies_follow_the_simulators_probabilities_with_readout():
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure_all()
    shots = 40_000
    result = Sampler("fake_manila", seed=1).run([circuit], shots=shots).result()
    counts = result[0].data.meas.get_int_counts()
    frequencies = np.array([counts.get(k, 0) for k in range(4)]) / shots
    expected = PTMSimulator("fake_manila").probabilities(circuit)
    assert expected[1] + expected[2] > 0.005  # readout and gate errors are visible
    np.testing.assert_allclose(frequencies, expected, atol=4 * np.sqrt(0.25 / shots))


def test_same_seed_same_bits_whether_a_set_comes_alone_or_in_an_array():
    circuit = _two_registers()
    values = np.array([[0.3, 1.1], [2.0, 0.2]])
    together = Sampler(seed=9).run([(circuit, values)], shots=64).result()[0].data.alpha
    alone = Sampler(seed=9).run([(circuit, values[1])], shots=64).result()[0].data.alpha
    np.testing.assert_array_equal(together.array[1], alone.array)
    again = Sampler(seed=9).run([(circuit, values)], shots=64).result()[0].data.alpha
    np.testing.assert_array_equal(together.array, again.array)


def test_unmeasured_register_bits_read_zero_and_no_register_gives_an_empty_result():
    circuit = QuantumCircuit(2, 3)
    circuit.x(0)
    circuit.measure(0, 2)
    bits = Sampler().run([circuit], shots=10).result()[0].data.c
    assert bits.get_counts() == {"100": 10}
    bare = QuantumCircuit(1)
    bare.h(0)
    with pytest.warns(UserWarning, match="no output classical registers"):
        result = Sampler().run([bare], shots=10).result()
    assert len(result[0].data) == 0


def test_feed_forward_and_mid_circuit_measurements_are_refused_by_name():
    feed_forward = feed_forward_circuit(2)
    mid = QuantumCircuit(1, 1)
    mid.measure(0, 0)
    mid.h(0)
    for circuit, name in ((feed_forward, "control flow (if_else)"), (mid, "mid-circuit")):
        with pytest.raises(UnsupportedCircuitError, match=re.escape(name)):
            Sampler().run([circuit]).result()


def test_counts_agree_with_statevector_sampler_in_distribution():
    circuit = _two_registers()
    values = [0.7, 2.2]
    shots = 20_000
    ours = Sampler(seed=5).run([(circuit, values)], shots=shots).result()[0].data
    theirs = StatevectorSampler(seed=5).run([(circuit, values)], shots=shots).result()[0].data
    for name in ("alpha", "beta"):
        a, b = getattr(ours, name).get_counts(), getattr(theirs, name).get_counts()
        for key in set(a) | set(b):
            assert a.get(key, 0) / shots == pytest.approx(b.get(key, 0) / shots, abs=0.03)


def test_qiskit_algorithms_sampling_vqe_and_qaoa_run_on_it():
    from qiskit.circuit.library import real_amplitudes
    from qiskit_algorithms import QAOA, SamplingVQE
    from qiskit_algorithms.optimizers import COBYLA
    from qiskit_algorithms.utils import algorithm_globals

    algorithm_globals.random_seed = 7
    diagonal = SparsePauliOp(["ZZI", "IZZ", "ZIZ", "IIZ"], [1.0, 1.0, 1.0, 0.5])
    exact = float(np.min(np.real(np.diag(diagonal.to_matrix()))))
    vqe = SamplingVQE(Sampler(seed=7, default_shots=2000), real_amplitudes(3, reps=2),
                      COBYLA(maxiter=300))  # fmt: skip
    found = vqe.compute_minimum_eigenvalue(diagonal)
    assert found.best_measurement["value"].real == pytest.approx(exact, abs=1e-9)
    qaoa = QAOA(Sampler(seed=7, default_shots=2000), COBYLA(maxiter=200), reps=2)
    found = qaoa.compute_minimum_eigenvalue(diagonal)
    assert found.best_measurement["value"].real == pytest.approx(exact, abs=1e-9)
