"""Noise scaling: simulator λ-scaling and unitary folding; the zne helper end to end."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit.library import efficient_su2
from qiskit.quantum_info import Operator, SparsePauliOp

from qnoise import PTMSimulator, chem, noise
from qnoise.mitigation import (
    ExtrapolationWarning,
    fold_gates,
    fold_global,
    fold_two_qubit_gates,
    scale_noise,
    zne,
)


def _bound_ansatz(num_qubits: int = 3, seed: int = 0) -> QuantumCircuit:
    ansatz = efficient_su2(num_qubits, su2_gates=["ry", "rz"], reps=2, entanglement="linear")
    values = np.random.default_rng(seed).uniform(-np.pi, np.pi, ansatz.num_parameters)
    return ansatz.assign_parameters(values).decompose()


def _gates(circuit: QuantumCircuit, two_qubit: bool | None = None) -> int:
    return sum(
        1
        for inst in circuit.data
        if inst.operation.name not in ("barrier", "measure")
        and (two_qubit is None or (len(inst.qubits) == 2) == two_qubit)
    )


OBSERVABLE = SparsePauliOp.from_list([("ZZI", 0.7), ("IXX", -0.4), ("ZIZ", 0.2)])


def test_scale_one_equals_the_unscaled_model_and_zero_the_ideal():
    circuit = _bound_ansatz()
    model = noise.resolve_noise("fake_mumbai:median")
    reference = PTMSimulator(model).expectation(circuit, OBSERVABLE)
    assert PTMSimulator(scale_noise(model, 1.0)).expectation(circuit, OBSERVABLE) == (
        pytest.approx(reference, abs=1e-12)
    )
    ideal = PTMSimulator().expectation(circuit, OBSERVABLE)
    assert PTMSimulator(scale_noise(model, 0.0)).expectation(circuit, OBSERVABLE) == (
        pytest.approx(ideal, abs=1e-12)
    )


def test_fractional_scaling_of_depolarizing_noise_scales_its_probability():
    circuit = _bound_ansatz()
    scaled = scale_noise("depolarizing:p1=1e-3,p2=1e-2", 1.5)
    direct = "depolarizing:p1=1.5e-3,p2=1.5e-2"
    assert PTMSimulator(scaled).expectation(circuit, OBSERVABLE) == pytest.approx(
        PTMSimulator(direct).expectation(circuit, OBSERVABLE), abs=1e-12
    )
    with pytest.raises(ValueError, match="needs a noise model"):
        scale_noise(None, 2.0)


@pytest.mark.parametrize("scale", [1.0, 1.4, 2.0, 3.0, 4.6, 5.0])
def test_global_folding_keeps_the_unitary_and_reaches_the_scale(scale):
    circuit = _bound_ansatz()
    folded, reached = fold_global(circuit, scale)
    assert Operator(folded).equiv(Operator(circuit))
    d = _gates(circuit)
    assert _gates(folded) == round(reached * d)
    assert abs(reached - scale) <= 1.0 / d + 1e-12
    if scale in (1.0, 3.0, 5.0):
        assert reached == scale


@pytest.mark.parametrize("scale", [1.5, 2.0, 3.0, 3.3])
def test_random_gate_folding_keeps_the_unitary(scale):
    circuit = _bound_ansatz()
    folded, reached = fold_gates(circuit, scale, seed=4)
    assert Operator(folded).equiv(Operator(circuit))
    assert _gates(folded) == round(reached * _gates(circuit))
    assert abs(reached - scale) <= 2.0 / _gates(circuit) + 1e-12
    again, _ = fold_gates(circuit, scale, seed=4)
    assert again == folded  # seeded


def test_error_weighted_folding_prefers_noisy_two_qubit_gates():
    circuit = _bound_ansatz(4)
    model = noise.resolve_noise("fake_mumbai:median")
    folded, reached = fold_gates(circuit, 1.5, weights=model, seed=0)
    assert Operator(folded).equiv(Operator(circuit))
    added_two = _gates(folded, True) - _gates(circuit, True)
    added_one = _gates(folded, False) - _gates(circuit, False)
    assert added_two > 0 and added_two / _gates(circuit, True) > added_one / _gates(circuit, False)
    assert reached == pytest.approx(1.5, abs=0.2)


def test_two_qubit_folding_scales_only_the_two_qubit_gates():
    circuit = _bound_ansatz(4)
    folded, reached = fold_two_qubit_gates(circuit, 3.0)
    assert Operator(folded).equiv(Operator(circuit))
    assert _gates(folded, True) == 3 * _gates(circuit, True)
    assert _gates(folded, False) == _gates(circuit, False)
    assert reached == 3.0


def test_folding_keeps_final_measurements_and_refuses_bad_input():
    circuit = _bound_ansatz(2)
    circuit.measure_all()
    folded, _ = fold_global(circuit, 3.0)
    assert [inst.operation.name for inst in folded.data[-2:]] == ["measure", "measure"]
    assert folded.count_ops()["measure"] == 2
    with pytest.raises(ValueError, match=">= 1"):
        fold_global(circuit, 0.5)
    parametrized = efficient_su2(2, reps=1)
    with pytest.raises(ValueError, match="bound circuits"):
        fold_gates(parametrized, 2.0)


def test_folded_circuits_raise_the_simulated_noise_about_as_lambda():
    circuit = _bound_ansatz()
    simulator = PTMSimulator("depolarizing:p1=1e-3,p2=1e-2")
    ideal = PTMSimulator().expectation(circuit, OBSERVABLE)
    bias = abs(simulator.expectation(circuit, OBSERVABLE) - ideal)
    folded = abs(simulator.expectation(fold_global(circuit, 3.0).circuit, OBSERVABLE) - ideal)
    assert 2.0 < folded / bias < 3.5


def test_zne_on_h2_recovers_most_of_the_noise_bias():
    problem = chem.load("H2-2q")
    circuit = QuantumCircuit(2)
    circuit.x(0)
    circuit.ry(0.3, 1)
    circuit.cx(1, 0)
    circuit.ry(-0.2, 1)

    def energy(lam: float) -> float:
        model = scale_noise("depolarizing:p1=2e-3,p2=2e-2", lam)
        return PTMSimulator(model).expectation(circuit, problem.hamiltonian) + problem.constant

    ideal = PTMSimulator().expectation(circuit, problem.hamiltonian) + problem.constant
    with pytest.warns(ExtrapolationWarning):
        result = zne(energy, [1, 2, 3], "richardson")
    assert result.noisy == pytest.approx(energy(1.0))
    assert abs(result.value - ideal) < abs(result.noisy - ideal) / 20
    assert list(result.scale_factors) == [1, 2, 3] and result.method == "richardson"
    with_sigmas = zne(lambda lam: (energy(lam), 1e-3), [1, 2, 3], "linear")
    assert with_sigmas.stderr > 0 and with_sigmas.sigmas.tolist() == [1e-3] * 3
