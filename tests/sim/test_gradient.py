"""Reverse-mode gradients against the parameter-shift rule (exact under gate noise)."""

import os

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter, ParameterVector
from qiskit.quantum_info import SparsePauliOp

from benchmarks.workloads import hardware_efficient
from qnoise import PTMSimulator
from qnoise.noise import from_aer
from qnoise.sim.records import TailoredKernels
from tests.reference import GATES, random_aer_noise, random_circuit


def shifted_parameters_gradient(sim, circuit, observable, values):
    """Plain parameter shift on circuit parameters (each used in exactly one rx/ry/rz)."""
    grad = np.zeros(len(values))
    for j in range(len(values)):
        shift = np.zeros(len(values))
        shift[j] = np.pi / 2
        grad[j] = (
            sim.expectation(circuit, observable, values + shift)
            - sim.expectation(circuit, observable, values - shift)
        ) / 2
    return grad


@pytest.mark.parametrize(
    "noise", [None, "depolarizing:p1=1e-2,p2=3e-2,ro=0.03", "fake_mumbai:median"]
)
def test_reverse_mode_matches_parameter_shift(noise):
    qc = hardware_efficient(4, 3)
    obs = SparsePauliOp.from_list([("ZZII", 0.7), ("IXXI", -0.4), ("YIIY", 0.2), ("IIIZ", 1.1)])
    values = np.random.default_rng(1).uniform(-np.pi, np.pi, qc.num_parameters)
    sim = PTMSimulator(noise)
    value, grad = sim.compile(qc).value_and_gradient(obs, values)
    assert value == pytest.approx(sim.expectation(qc, obs, values), abs=1e-13)
    np.testing.assert_allclose(
        grad, shifted_parameters_gradient(sim, qc, obs, values), atol=1e-10, rtol=0
    )


def test_two_qubit_factor_sweep_matches_parameter_shift():
    """Two qubits: one fused group of 20 layers, its reverse step taken factor by factor."""
    qc = hardware_efficient(2, 20)
    obs = SparsePauliOp.from_list([("ZZ", 0.7), ("XI", -0.4), ("YX", 0.2)])
    values = np.random.default_rng(4).uniform(-np.pi, np.pi, qc.num_parameters)
    sim = PTMSimulator("fake_mumbai:median")
    compiled = sim.compile(qc)
    assert compiled.num_groups == 1
    np.testing.assert_allclose(
        compiled.gradient(obs, values),
        shifted_parameters_gradient(sim, qc, obs, values),
        atol=1e-10,
        rtol=0,
    )


def test_expressions_use_the_chain_rule():
    """Transpiled rotations carry expressions like rz(2θ + π/2); nonlinear ones too."""
    a, b = Parameter("a"), Parameter("b")
    qc = QuantumCircuit(2)
    qc.rz(2 * a + np.pi / 2, 0)
    qc.h(0)
    qc.rx(a - 0.5 * b, 1)
    qc.cx(0, 1)
    qc.ry(a * b, 0)  # nonlinear
    qc.crz(b, 1, 0)
    obs = SparsePauliOp.from_list([("ZX", 1.0), ("YI", 0.5), ("IZ", -0.3)])
    values = np.array([0.37, -1.2])
    sim = PTMSimulator("depolarizing:p1=1e-2,p2=2e-2")
    grad = sim.gradient(qc, obs, values)
    eps = 1e-6
    numeric = [
        (sim.expectation(qc, obs, values + eps * e) - sim.expectation(qc, obs, values - eps * e))
        / (2 * eps)
        for e in np.eye(2)
    ]
    np.testing.assert_allclose(grad, numeric, atol=1e-8)


@pytest.mark.parametrize("num_qubits", [1, 2, 3, 5])
def test_random_circuits_with_random_noise(num_qubits):
    """Random circuits of every gate under random noise; 1 and 2 qubits take the reverse
    sweep factor by factor, 3 and 5 qubits group by group."""
    rng = np.random.default_rng(num_qubits)
    qc, values = random_circuit(num_qubits, 25, rng)
    sim = PTMSimulator(from_aer(random_aer_noise(num_qubits, rng, GATES)))
    obs = SparsePauliOp.from_list([("Z" * num_qubits, 1.0), ("X" + "I" * (num_qubits - 1), 0.4)])
    grad = sim.gradient(qc, obs, values)
    np.testing.assert_allclose(grad, central_differences(sim, qc, obs, values), atol=1e-7)


def central_differences(sim, circuit, observable, values, eps=1e-6):
    """The gradient by central differences of step ``eps``."""
    return np.array(
        [
            (
                sim.expectation(circuit, observable, values + eps * e)
                - sim.expectation(circuit, observable, values - eps * e)
            )
            / (2 * eps)
            for e in np.eye(values.size)
        ]
    )


@pytest.mark.parametrize("states", [4, 7, 12])
def test_checkpointed_gradient_equals_stored_gradient(states):
    """Strides of 2 to 12 groups: segments that start and end inside pairs of groups the
    forward sweep takes in one pass, and with rotation heads."""
    qc = hardware_efficient(5, 6)
    obs = SparsePauliOp.from_list([("ZZZZZ", 1.0), ("IXIXI", 0.5)])
    values = np.random.default_rng(2).uniform(-3, 3, qc.num_parameters)
    stored = PTMSimulator("fake_mumbai:median").compile(qc)
    checkpointed = PTMSimulator("fake_mumbai:median", gradient_memory=states * 8 * 4**5).compile(qc)
    assert 1 < checkpointed._gradient.checkpoint_stride() < checkpointed.num_groups
    np.testing.assert_allclose(
        checkpointed.gradient(obs, values), stored.gradient(obs, values), atol=1e-13, rtol=0
    )


def test_rotation_heads_and_general_groups_match_parameter_shift():
    """A 6-qubit circuit whose groups have rotation heads on either qubit of a pair, trailing
    rotations, rotations on both qubits and parametric 2-qubit gates; the heads' steps on
    kept states take tailored kernels."""
    rng = np.random.default_rng(8)
    theta = ParameterVector("θ", 24)
    qc = QuantumCircuit(6)
    used = 0
    for layer in range(3):
        for q in range(6):
            getattr(qc, ("rx", "ry", "rz")[(q + layer) % 3])(theta[used], q)
            used += 1
        for a, b in ((1, 2), (3, 2), (4, 5), (5, 3), (0, 4)):
            qc.cx(a, b)
        qc.rzz(theta[used], 2, 4)
        used += 1
        qc.ry(theta[used], 3)
        used += 1
    obs = SparsePauliOp.from_list([("ZZIIXZ", 0.8), ("IYYIII", -0.5), ("XIIZIZ", 0.3)])
    values = rng.uniform(-np.pi, np.pi, qc.num_parameters)
    sim = PTMSimulator("fake_mumbai:median")
    compiled = sim.compile(qc)
    from qnoise.sim.reverse import head_length

    heads = [
        head_length(g, compiled._groups, compiled._factors, *compiled._groups[g, 2:])
        for g in range(compiled.num_groups)
    ]
    assert 0 < sum(h > 0 for h in heads) < len(heads)
    np.testing.assert_allclose(
        compiled.gradient(obs, values),
        shifted_parameters_gradient(sim, qc, obs, values),
        atol=1e-10,
        rtol=0,
    )
    (_, uncompute), (_, kept_kernels, _) = compiled._gradient._tailored
    assert not uncompute and kept_kernels.any()


def test_batch_gradient_equals_loop():
    qc = hardware_efficient(3, 2)
    values = np.random.default_rng(3).uniform(-3, 3, (4, qc.num_parameters))
    compiled = PTMSimulator("fake_mumbai:median").compile(qc)
    batch_values, batch_grads = compiled.value_and_gradient("ZZZ", values)
    for row, value, grad in zip(values, batch_values, batch_grads, strict=True):
        v, g = compiled.value_and_gradient("ZZZ", row)
        assert value == v
        np.testing.assert_array_equal(grad, g)


def test_nonlinear_expressions_of_parameter_vector_elements():
    theta = ParameterVector("θ", 2)
    qc = QuantumCircuit(1)
    qc.ry(theta[0] * theta[1], 0)
    qc.rx(theta[0] ** 2, 0)
    sim = PTMSimulator("depolarizing:p1=1e-2")
    values = np.array([0.3, 1.1])
    eps = 1e-6
    numeric = [
        (sim.expectation(qc, "Z", values + eps * e) - sim.expectation(qc, "Z", values - eps * e))
        / (2 * eps)
        for e in np.eye(2)
    ]
    np.testing.assert_allclose(sim.gradient(qc, "Z", values), numeric, atol=1e-8)


@pytest.fixture
def uncompute_everywhere(monkeypatch):
    """Gradients uncompute states at every size and length (by default only from 9 qubits
    and 8 full-size groups on)."""
    monkeypatch.setattr("qnoise.sim.gradient_policy._UNCOMPUTE_MIN_QUBITS", 1)
    monkeypatch.setattr("qnoise.sim.gradient_policy._UNCOMPUTE_MIN_GROUPS", 1)


@pytest.fixture
def sweeps(monkeypatch):
    """The ``uncompute`` argument of every reverse-mode sweep run, in order."""
    from qnoise.sim import reverse

    calls = []
    sweep = reverse.adjoint_gradient

    def recorded(terms, tables, angles, n, memory, tailored):
        calls.append(memory[1])  # GradientMemory.uncompute
        return sweep(terms, tables, angles, n, memory, tailored)

    monkeypatch.setattr(reverse, "adjoint_gradient", recorded)
    return calls


def _stored_gradient(sim, circuit, observable, values):
    """The gradient with every state kept (no uncomputing)."""
    compiled = sim.compile(circuit)
    compiled._gradient._uncompute = False
    return compiled.gradient(observable, values)


@pytest.mark.parametrize("num_qubits", [3, 5, 6])
def test_uncomputed_gradient_of_random_circuits(uncompute_everywhere, sweeps, num_qubits):
    """Every gate (pairs with qubit 0, 1-qubit groups, parametric 2-qubit gates) under random
    noise of every channel type: states uncomputed by the inverse groups give the gradient
    that kept states give, and central differences agree."""
    rng = np.random.default_rng(30 + num_qubits)
    qc, values = random_circuit(num_qubits, 40, rng)
    sim = PTMSimulator(from_aer(random_aer_noise(num_qubits, rng, GATES)))
    obs = SparsePauliOp.from_list([("Z" * num_qubits, 1.0), ("X" + "Y" * (num_qubits - 1), 0.4)])
    compiled = sim.compile(qc)
    grad = compiled.gradient(obs, values)
    assert sweeps == [True]  # uncomputed, and its check passed
    np.testing.assert_allclose(grad, _stored_gradient(sim, qc, obs, values), atol=1e-12, rtol=0)
    np.testing.assert_allclose(grad, central_differences(sim, qc, obs, values), atol=1e-7)


@pytest.mark.parametrize("noise", ["fake_mumbai:median", "depolarizing:p1=1e-2,p2=3e-2"])
def test_uncomputed_gradient_through_rotation_heads(uncompute_everywhere, sweeps, noise):
    """Hardware-efficient layers: rotation heads after thermal relaxation (trace-preserving)
    or depolarizing noise (unital) take the one-pass uncomputing step, between the groups
    on the growing state and the light cone's; against parameter shift."""
    qc = hardware_efficient(6, 4)
    obs = SparsePauliOp.from_list([("ZZIIIZ", 0.8), ("IXXIII", -0.5), ("YIIIYI", 0.3)])
    values = np.random.default_rng(6).uniform(-np.pi, np.pi, qc.num_parameters)
    sim = PTMSimulator(noise)
    compiled = sim.compile(qc)
    first = compiled.prepare(obs).terms.cone[0]
    assert 0 < compiled._gradient.growing_end < first < compiled.num_groups
    value, grad = compiled.value_and_gradient(obs, values)
    assert sweeps == [True]
    assert value == pytest.approx(sim.expectation(qc, obs, values), abs=1e-13)
    np.testing.assert_allclose(
        grad, shifted_parameters_gradient(sim, qc, obs, values), atol=1e-10, rtol=0
    )


def test_uncompute_falls_back_to_kept_states(uncompute_everywhere, sweeps):
    """A group without an inverse (a reset), or noise so strong that the inverses amplify
    rounding beyond the tolerance: the gradient is taken again with kept states, and later
    gradients of that circuit keep states from the start."""
    layers = hardware_efficient(3, 3)
    with_reset = QuantumCircuit(3)  # the reset after every qubit is reached: full-size groups
    for i, instruction in enumerate(layers.data):
        with_reset.append(instruction)
        if i == len(layers.data) // 2:
            with_reset.reset(1)
    strong = hardware_efficient(4, 12)
    cases = [(with_reset, "depolarizing:p1=1e-2,p2=3e-2"), (strong, "depolarizing:p1=0.3,p2=0.8")]
    for qc, noise in cases:
        obs = SparsePauliOp.from_list([("Z" * qc.num_qubits, 1.0), ("X" * qc.num_qubits, 0.5)])
        values = np.random.default_rng(9).uniform(-3, 3, qc.num_parameters)
        sim = PTMSimulator(noise)
        compiled = sim.compile(qc)
        sweeps.clear()
        grad = compiled.gradient(obs, values)
        assert sweeps == [True, False]  # uncomputed, rejected, taken again with kept states
        compiled.gradient(obs, values)
        assert sweeps == [True, False, False]
        np.testing.assert_allclose(grad, _stored_gradient(sim, qc, obs, values), atol=1e-14, rtol=0)
        shifts = np.pi / 2 * np.eye(qc.num_parameters)
        expected = (
            compiled.expectation(obs, values + shifts) - compiled.expectation(obs, values - shifts)
        ) / 2
        np.testing.assert_allclose(grad, expected, atol=1e-10, rtol=0)


def test_gradients_uncompute_from_nine_qubits(sweeps):
    """The default: states kept up to 8 qubits (they stay in cache), uncomputed from 9 on
    when 8 or more full-size groups come before the light cone, where keeping them would
    cost memory traffic; both give the same gradient."""
    sim = PTMSimulator("fake_mumbai:median")
    for n, layers in ((8, 3), (9, 1)):  # 8 qubits; 9 qubits, every group on the growing state
        shallow = hardware_efficient(n, layers)
        sim.compile(shallow).gradient("Z" * n, np.zeros(shallow.num_parameters))
    assert sweeps == [False, False]
    qc = hardware_efficient(9, 3)
    obs = SparsePauliOp.from_list([("Z" * 9, 1.0), ("IXXIIIIIY", 0.5)])
    values = np.random.default_rng(5).uniform(-3, 3, qc.num_parameters)
    grad = sim.compile(qc).gradient(obs, values)
    assert sweeps[2:] == [True]
    np.testing.assert_allclose(grad, _stored_gradient(sim, qc, obs, values), atol=1e-13, rtol=0)


def test_uncomputing_needs_only_the_states_it_writes(sweeps):
    """The memory an uncomputing gradient needs counts six full states and the growing
    groups' small states, not a full row for each: a budget of exactly that uncomputes, a
    byte less keeps states."""
    qc = hardware_efficient(9, 3)
    obs = SparsePauliOp.from_list([("Z" * 9, 1.0), ("IXXIIIIIY", 0.5)])
    values = np.random.default_rng(7).uniform(-3, 3, qc.num_parameters)
    probe = PTMSimulator("fake_mumbai:median").compile(qc)
    needed = probe._gradient.uncompute_bytes()
    full = 8 * 4**9
    assert 6 * full < needed < (probe._gradient.growing_end + 6) * full
    gradients = []
    for memory in (needed, needed - 1):
        compiled = PTMSimulator("fake_mumbai:median", gradient_memory=memory).compile(qc)
        gradients.append(compiled.gradient(obs, values))
    assert sweeps == [True, False]
    np.testing.assert_allclose(gradients[0], gradients[1], atol=1e-13, rtol=0)


def test_tailored_kernels_are_rebuilt_in_another_process(uncompute_everywhere, sweeps):
    """The tailored kernels are machine code of the process that compiled them: a compiled
    circuit that carries another process's tables (pickled or forked) builds its own before
    it takes a gradient, and gives the same gradient."""
    qc = hardware_efficient(4, 2)
    obs = SparsePauliOp.from_list([("ZZII", 1.0), ("IXXI", 0.5)])
    values = np.random.default_rng(8).uniform(-3, 3, qc.num_parameters)
    compiled = PTMSimulator("fake_mumbai:median").compile(qc)
    grad = compiled.gradient(obs, values)
    policy = compiled._gradient
    (pid, uncompute), tables = policy._tailored
    assert pid == os.getpid() and uncompute and tables.uncomputing.any() and tables.kept.any()
    bogus = np.where(tables.uncomputing != 0, 1, 0)  # not an address of this process
    policy._tailored = ((pid + 1, True), TailoredKernels(bogus, bogus, tables.inverses))
    np.testing.assert_array_equal(compiled.gradient(obs, values), grad)
    assert policy._tailored[0] == (os.getpid(), True)
    np.testing.assert_array_equal(policy._tailored[1].uncomputing, tables.uncomputing)
    assert sweeps == [True, True]
