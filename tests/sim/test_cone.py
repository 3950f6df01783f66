"""The observable's light cone: the last groups applied to the observable instead of the state."""

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp

from benchmarks.workloads import crlqas_circuit
from qnoise import PTMSimulator
from qnoise.sim.buffers import thread_block
from qnoise.sim.cone import cone_plan


def _circuit() -> QuantumCircuit:
    """Random rotations and CNOTs on qubits 0-6; qubit 7 only has 1-qubit gates, so the last
    group acts on it alone (4-entry blocks)."""
    qc = QuantumCircuit(8)
    qc.compose(crlqas_circuit(7, 60, 11), range(7), inplace=True)
    qc.h(7)
    qc.ry(0.3, 7)
    return qc


@pytest.mark.parametrize("terms", [["XZIIIXII"], ["ZZIIIXII", "IIYYIIIZ", "IIIIXIII"]])
def test_cone_evaluation_equals_the_full_state(terms):
    qc = _circuit()
    obs = SparsePauliOp(terms, np.linspace(0.5, -0.7, len(terms)))
    compiled = PTMSimulator("fake_mumbai:median").compile(qc)
    prepared = compiled.prepare(obs)
    first = prepared.terms.cone[0]
    assert first <= compiled.num_groups - 3  # several groups go to the observable
    assert compiled._groups[-1, 3] == -1  # a 1-qubit group among them
    values = np.random.default_rng(1).uniform(-3, 3, (3, qc.num_parameters))
    states = compiled.pauli_vector(values)
    expected = [
        sum(c * x[i] for i, c in zip(*compiled._terms(obs)[:2], strict=True)) for x in states
    ]
    np.testing.assert_allclose(
        compiled.expectation_batch(prepared, values), expected, rtol=0, atol=1e-13
    )
    # the shared zero vector of the light cone is left zero
    assert not thread_block("cone", compiled._x0.size).any()


def test_cone_respects_the_support_budget():
    qc = _circuit()
    compiled = PTMSimulator("fake_mumbai:median").compile(qc)
    indices = compiled._terms(SparsePauliOp(["ZZIIIXII", "IIYYIIIZ"]))[0]
    groups = compiled._groups
    for budget in (1, 64, 1024, 4**8):
        first, stage_start, _ = cone_plan(groups, 8, indices, budget)
        for s in range(len(stage_start) - 1):
            g = len(groups) - 1 - s
            d = 16 if groups[g, 3] >= 0 else 4
            assert (stage_start[s + 1] - stage_start[s]) * d <= budget
        assert first == len(groups) - (len(stage_start) - 1)
    assert cone_plan(groups, 8, indices, 1)[0] == len(groups)  # no cone at all
    assert cone_plan(groups, 8, indices, 4**8)[0] < len(groups) - 3


@pytest.mark.parametrize("states", [None, 6])
def test_gradient_through_the_cone_and_the_growing_state(states):
    """Reverse mode with the light cone's sparse steps (a 1-qubit group among them) and the
    steps on the growing state (only when every state is kept), against parameter shift."""
    qc = _circuit()
    obs = SparsePauliOp(["ZZIIIXII", "IIYYIIIZ", "IIIIXIII"], [0.5, -0.3, 0.8])
    memory = 2**30 if states is None else states * 8 * 4**8
    sim = PTMSimulator("fake_mumbai:median", gradient_memory=memory)
    compiled = sim.compile(qc)
    assert (compiled._gradient.checkpoint_stride() == 1) == (states is None)
    assert compiled.prepare(obs).terms.cone[0] <= compiled.num_groups - 3
    values = np.random.default_rng(2).uniform(-3, 3, qc.num_parameters)
    shifts = np.pi / 2 * np.eye(qc.num_parameters)
    expected = (
        compiled.expectation(obs, values + shifts) - compiled.expectation(obs, values - shifts)
    ) / 2
    value, grad = compiled.value_and_gradient(obs, values)
    assert value == pytest.approx(compiled.expectation(obs, values), abs=1e-13)
    np.testing.assert_allclose(grad, expected, rtol=0, atol=1e-10)
