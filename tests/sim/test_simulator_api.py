"""Public API of PTMSimulator / CompiledCircuit: shapes, batching, errors, shots, counts."""

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter, ParameterVector
from qiskit.circuit.library import UnitaryGate, XXPlusYYGate
from qiskit.quantum_info import SparsePauliOp, Statevector

from qnoise import PTMSimulator, noise
from tests.reference import feed_forward_circuit


@pytest.fixture
def ansatz():
    theta = ParameterVector("θ", 6)
    qc = QuantumCircuit(3)
    for q in range(3):
        qc.ry(theta[q], q)
    qc.cx(0, 1)
    qc.cx(1, 2)
    for q in range(3):
        qc.rz(theta[3 + q], q)
    return qc


OBS = SparsePauliOp.from_list([("ZZI", 0.5), ("IXX", -0.25), ("YIZ", 0.1), ("III", -1.0)])


def test_single_and_batch_shapes(ansatz):
    sim = PTMSimulator("fake_mumbai:median")
    values = np.random.default_rng(0).uniform(-3, 3, (5, 6))
    batch = sim.expectation(ansatz, OBS, values)
    assert batch.shape == (5,)
    loop = [sim.expectation(ansatz, OBS, row) for row in values]
    assert isinstance(loop[0], float)
    np.testing.assert_array_equal(batch, loop)


@pytest.mark.parametrize("num_qubits", [2, 4, 5, 6])
@pytest.mark.parametrize("batch", [8, 17, 70])
def test_large_batches_equal_the_loop(num_qubits, batch):
    """Batch-major chunks (n <= 5) and the set-by-set path (n = 6) give the single
    evaluations' values, to rounding, for full padded and partial chunks."""
    from tests.reference import random_circuit

    rng = np.random.default_rng(num_qubits * 100 + batch)
    qc, _ = random_circuit(num_qubits, 30, rng)
    sim = PTMSimulator("fake_mumbai:median")
    obs = SparsePauliOp.from_list([("Z" * num_qubits, 0.7), ("X" + "I" * (num_qubits - 1), 0.2)])
    values = rng.uniform(-3, 3, (batch, qc.num_parameters))
    loop = [sim.expectation(qc, obs, row) for row in values]
    np.testing.assert_allclose(sim.expectation(qc, obs, values), loop, atol=1e-13, rtol=0)


def test_noiseless_matches_statevector(ansatz):
    values = np.linspace(-2, 2, 6)
    expected = Statevector(ansatz.assign_parameters(values)).expectation_value(OBS).real
    assert PTMSimulator().expectation(ansatz, OBS, values) == pytest.approx(expected, abs=1e-13)


def test_pauli_label_observable():
    qc = QuantumCircuit(2)
    qc.x(1)
    assert PTMSimulator().expectation(qc, "ZI") == pytest.approx(-1.0)
    assert PTMSimulator().expectation(qc, "IZ") == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (None, "pass parameter_values"),
        (np.zeros(5), r"shape \(6,\)"),
        (np.zeros((2, 7)), r"shape \(6,\)"),
        (np.full(6, np.nan), "NaN"),
    ],
)
def test_bad_parameter_values_raise(ansatz, values, message):
    with pytest.raises(ValueError, match=message):
        PTMSimulator().expectation(ansatz, OBS, values)


def test_bad_observables_raise(ansatz):
    sim = PTMSimulator()
    with pytest.raises(ValueError, match="acts on 2 qubits"):
        sim.expectation(ansatz, "ZZ", np.zeros(6))
    with pytest.raises(ValueError, match="not Hermitian"):
        sim.expectation(ansatz, SparsePauliOp(["ZZZ"], [1j]), np.zeros(6))
    with pytest.raises(TypeError, match="SparsePauliOp"):
        sim.expectation(ansatz, 3.0, np.zeros(6))


@pytest.mark.parametrize("angle", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("gate", ["rx", "crz", "u"])
def test_a_bound_angle_that_is_not_finite_raises(gate, angle):
    qc = QuantumCircuit(2)
    if gate == "rx":
        qc.rx(angle, 1)
    elif gate == "crz":
        qc.crz(angle, 0, 1)
    else:
        qc.u(0.1, angle, 0.2, 0)
    with pytest.raises(ValueError, match=f"'{gate}' on qubits .* {angle}, not a finite"):
        PTMSimulator().expectation(qc, "ZZ")


def test_a_gate_whose_matrix_is_not_unitary_raises():
    matrix = np.eye(4, dtype=complex)
    matrix[3, 3] = 1.5  # UnitaryGate(check_input=False) accepts any matrix
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.append(UnitaryGate(matrix, check_input=False), [0, 1])
    with pytest.raises(ValueError, match=r"'unitary' on qubits \[0, 1\] is not unitary"):
        PTMSimulator().expectation(qc, "ZZ")
    # a unitary to rounding error is accepted and simulated exactly
    phase = np.diag(np.exp(1j * np.array([0.0, 0.3, -0.2, 1.1])))
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.h(1)
    qc.append(UnitaryGate(phase), [0, 1])
    ideal = Statevector(qc).expectation_value(SparsePauliOp("XX")).real
    assert PTMSimulator().expectation(qc, "XX") == pytest.approx(ideal, abs=1e-12)


def test_unsupported_instructions_raise():
    qc = QuantumCircuit(2, 1)
    qc.h(0)
    qc.measure(0, 0)
    qc.x(0)
    with pytest.raises(ValueError, match="after their measurement"):
        PTMSimulator().probabilities(qc)
    qc = QuantumCircuit(3)
    qc.ccx(0, 1, 2)
    with pytest.raises(ValueError, match="transpile"):
        PTMSimulator("depolarizing:p1=1e-3,p2=1e-2").probabilities(qc)
    feed_forward = feed_forward_circuit(1)
    with pytest.raises(ValueError, match=r"'if_else'.*control flow"):
        PTMSimulator().probabilities(feed_forward)


def test_initialize_is_unrolled_into_reset_and_state_preparation():
    qc = QuantumCircuit(1)
    qc.initialize([0.6, 0.8], 0)
    np.testing.assert_allclose(PTMSimulator().probabilities(qc), [0.36, 0.64], atol=1e-12)


def test_three_qubit_gates_are_expanded_when_ideal():
    qc = QuantumCircuit(3)
    qc.x(0)
    qc.x(1)
    qc.ccx(0, 1, 2)
    assert PTMSimulator().probabilities(qc)[0b111] == pytest.approx(1.0)


def test_compile_is_cached_by_structure(ansatz):
    sim = PTMSimulator()
    assert sim.compile(ansatz) is sim.compile(ansatz.copy())
    other = ansatz.copy()
    other.x(0)
    assert sim.compile(other) is not sim.compile(ansatz)


def _grown(ansatz):
    """The circuits of a search that appends gates one at a time (new parameters sort last,
    one appended gate has no parameter, one adds a parameter that sorts first)."""
    theta = ParameterVector("θ", 9)
    steps = [lambda qc: qc.cx(2, 0), lambda qc: qc.rx(theta[6], 1),
             lambda qc: qc.crz(theta[7] + 0.5, 1, 2), lambda qc: qc.rzz(theta[8], 0, 2),
             lambda qc: qc.rx(Parameter("a") * 2, 0), lambda qc: qc.measure_all()]  # fmt: skip
    circuits, qc = [], ansatz.copy()
    for step in steps:
        qc = qc.copy()
        step(qc)
        circuits.append(qc)
    return circuits


def _assert_same_program(a, b):
    """Two compiled circuits with identical kernel tables and angle maps."""
    for name in ("_groups", "_factors", "_mats", "_x0"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    np.testing.assert_array_equal(a._angles.matrix, b._angles.matrix)
    np.testing.assert_array_equal(a._angles.offset, b._angles.offset)


@pytest.mark.parametrize("noise_spec", [None, "fake_mumbai:median"])
def test_fusion_built_gate_by_gate_equals_fusion_built_afresh(noise_spec):
    """Random architecture-search-like growth on 4 qubits (rotations, fixed gates, CX and
    CZ in both orientations, qubits that get their first two-qubit gate late): after every
    appended gate the extended program's fused tables equal a fresh compilation's, and the
    groups the new gate does not touch are shared with the previous program."""
    rng = np.random.default_rng(7)
    sim, qc = PTMSimulator(noise_spec), QuantumCircuit(4)
    theta = ParameterVector("θ", 60)
    previous = sim.compile(qc)
    for step in range(60):
        kind, q = rng.integers(5), int(rng.integers(4))
        other = int((q + 1 + rng.integers(3)) % 4)
        if kind == 0:
            getattr(qc, ["rx", "ry", "rz"][rng.integers(3)])(theta[step], q)
        elif kind == 1:
            getattr(qc, ["h", "sx", "t"][rng.integers(3)])(q)
        elif kind == 2 and step > 20:
            qc.cx(q, other)
        elif kind == 3 and step > 20:
            qc.cz(q, other)
        else:
            qc.ry(theta[step] * 0.5 + 0.1, q)
        extended = sim.compile(qc)
        _assert_same_program(extended, PTMSimulator(noise_spec).compile(qc))
        if extended.active_qubits == previous.active_qubits and step:
            old = previous._plan._groups
            shared = sum(g is h for g, h in zip(extended._plan._groups, old, strict=False))
            assert shared >= len(old) - 1
        previous = extended


def test_extending_a_compiled_circuit_equals_compiling_it_afresh(ansatz):
    sim = PTMSimulator("fake_mumbai:median")
    rng = np.random.default_rng(4)
    first = sim.compile(ansatz)
    values = rng.uniform(-2, 2, 6)
    before = first.expectation(OBS, values)
    previous, reused = first.lowered.ops, []
    for qc in _grown(ansatz):
        extended, fresh = sim.compile(qc), PTMSimulator("fake_mumbai:median").compile(qc)
        shared = [a is b for a, b in zip(previous[:-1], extended.lowered.ops, strict=False)]
        reused.append(bool(shared) and all(shared))
        previous = extended.lowered.ops
        point = rng.uniform(-2, 2, qc.num_parameters)
        assert extended.expectation(OBS, point) == fresh.expectation(OBS, point)
        np.testing.assert_array_equal(extended.gradient(OBS, point), fresh.gradient(OBS, point))
        _assert_same_program(extended, fresh)
        assert len(extended.lowered.ops) == len(fresh.lowered.ops)
        for a, b in zip(extended.lowered.ops, fresh.lowered.ops, strict=True):
            assert a.qubits == b.qubits
            assert all(np.array_equal(x, y) for x, y in zip(a.parts, b.parts, strict=True))
    assert first.expectation(OBS, values) == before  # the shared prefix was not changed
    # every one-gate step extends the previous lowering, except the one whose new parameter
    # "a" sorts before θ (the prefix's angle indices would change); measure_all appends
    # four instructions: both lowered afresh
    assert reused == [True, True, True, True, False, False]


def test_changing_the_noise_model_invalidates_compiled_programs(ansatz):
    model = noise.NoiseModel()
    sim = PTMSimulator(model)
    values = np.linspace(0.1, 0.6, 6)
    ideal = sim.expectation(ansatz, OBS, values)
    model.add_gate_error(noise.depolarizing(0.05, 2), "cx")
    noisy = sim.expectation(ansatz, OBS, values)
    fresh = PTMSimulator(model).expectation(ansatz, OBS, values)
    assert noisy == fresh and abs(noisy - ideal) > 1e-3


def test_native_program_evaluates_the_same_bits(ansatz):
    from qnoise.sim.batched import evaluate_points

    program = PTMSimulator("fake_mumbai:median").compile(ansatz)
    prepared = program.prepare(OBS)
    points = np.random.default_rng(2).normal(size=(5, 6))
    out = np.empty(5)
    evaluate_points(program.native_program(prepared, -0.75), points, out)
    assert np.array_equal(out, -0.75 + program.expectation_batch(prepared, points))
    theta = Parameter("t")
    nonlinear = QuantumCircuit(1)
    nonlinear.rx(theta * theta, 0)
    compiled = PTMSimulator().compile(nonlinear)
    assert compiled.native_program(compiled.prepare("Z")) is None


def test_open_controlled_standard_gates_keep_their_control_state():
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1, ctrl_state=0)
    qc.crx(0.4, 1, 0, ctrl_state=0)
    qc.cx(0, 1)
    rho = PTMSimulator().density_matrix(qc)
    expected = Statevector(qc).to_operator().data
    assert np.allclose(rho, expected, atol=1e-12)


def test_counts_with_measurements_use_clbits():
    qc = QuantumCircuit(3, 2)
    qc.x(2)
    qc.measure(2, 0)
    qc.measure(0, 1)
    counts = PTMSimulator().sample_counts(qc, 100, seed=1)
    assert counts == {"01": 100}


def test_counts_keys_follow_qiskit_register_format():
    from qiskit import ClassicalRegister, QuantumRegister
    from qiskit_aer import AerSimulator

    qreg, first, second = QuantumRegister(3), ClassicalRegister(1, "a"), ClassicalRegister(2, "b")
    qc = QuantumCircuit(qreg, first, second)
    qc.x(0)
    qc.x(2)
    qc.measure(0, first[0])
    qc.measure(2, second[1])
    qc.measure(1, second[0])
    ours = PTMSimulator().sample_counts(qc, 10, seed=1)
    assert ours == AerSimulator().run(qc, shots=10).result().get_counts() == {"10 1": 10}


def test_too_many_active_qubits_raise_before_allocating():
    qc = QuantumCircuit(16)
    for q in range(15):
        qc.cx(q, q + 1)
    with pytest.raises(ValueError, match="GiB"):
        PTMSimulator().compile(qc)


def test_sampling_is_deterministic_by_seed_and_unbiased():
    qc = QuantumCircuit(1)
    qc.ry(2 * np.arccos(np.sqrt(0.3)), 0)  # P(0) = 0.3
    sim = PTMSimulator()
    a = sim.sample_counts(qc, 20000, seed=11)
    assert a == sim.sample_counts(qc, 20000, seed=11)
    assert a["0"] / 20000 == pytest.approx(0.3, abs=0.015)


@pytest.mark.parametrize("shot_model", ["sample", "gaussian"])
def test_shot_estimates_are_centered_and_seeded(ansatz, shot_model):
    sim = PTMSimulator("depolarizing:p1=1e-2,p2=2e-2,ro=0.02")
    values = np.full(6, 0.4)
    exact = sim.expectation(ansatz, OBS, values)
    estimates = sim.expectation(
        ansatz, OBS, np.tile(values, (400, 1)), shots=1000, seed=3, shot_model=shot_model
    )
    again = sim.expectation(
        ansatz, OBS, np.tile(values, (400, 1)), shots=1000, seed=3, shot_model=shot_model
    )
    np.testing.assert_array_equal(estimates, again)
    stderr = estimates.std() / np.sqrt(estimates.size)
    assert abs(estimates.mean() - exact) < 5 * stderr
    assert estimates.std() > 0


def test_gaussian_shot_model_has_crlqas_variance():
    qc = QuantumCircuit(1)
    sim = PTMSimulator()
    estimates = sim.expectation(
        qc, "Z", np.zeros((4000, 0)), shots=100, seed=1, shot_model="gaussian"
    )
    # one term, σ = 1/sqrt(shots) whatever the state (here ⟨Z⟩ = 1 exactly)
    assert estimates.std() == pytest.approx(0.1, rel=0.05)
    sampled = sim.expectation(qc, "Z", np.zeros((10, 0)), shots=100, seed=1)
    np.testing.assert_array_equal(sampled, 1.0)  # true sampling: no variance on an eigenstate


def test_bad_shot_arguments(ansatz):
    with pytest.raises(ValueError, match="shots"):
        PTMSimulator().expectation(ansatz, OBS, np.zeros(6), shots=0)
    with pytest.raises(ValueError, match="shot_model"):
        PTMSimulator().expectation(ansatz, OBS, np.zeros(6), shots=10, shot_model="poisson")


def test_readout_error_in_expectation():
    model = noise.NoiseModel()
    model.add_readout_error(noise.readout_error(0.1, 0.2), 0)
    qc = QuantumCircuit(1)
    sim = PTMSimulator(model)
    # |0>: read 1 with prob 0.1 -> <Z> = 0.8
    assert sim.expectation(qc, "Z") == pytest.approx(0.8)
    qc.x(0)
    # |1>: read 0 with prob 0.2 -> <Z> = 0.2 - 0.8
    assert sim.expectation(qc, "Z") == pytest.approx(-0.6)
    np.testing.assert_allclose(sim.probabilities(qc), [0.2, 0.8])


def test_idle_qubits_of_wide_circuits():
    """A 27-qubit circuit touching 3 qubits: only those are simulated."""
    model = noise.NoiseModel()
    model.add_readout_error(noise.readout_error(0.05, 0.0))
    qc = QuantumCircuit(27)
    qc.h(3)
    qc.cx(3, 20)
    sim = PTMSimulator(model)
    compiled = sim.compile(qc)
    assert compiled.active_qubits == [3, 20]
    label = ["I"] * 27
    label[26 - 3] = "Z"
    label[26 - 20] = "Z"
    label[26 - 0] = "Z"  # idle qubit 0 in |0>, read 1 with p = 0.05
    # readout: α = e1 - e0 = -0.05, β = 0.95; Bell pair: α² + β²⟨ZZ⟩; idle Z: 1 - 2 e0
    assert sim.expectation(qc, "".join(label)) == pytest.approx((0.05**2 + 0.95**2) * 0.9)
    probs = sim.probabilities(qc, qubits=[3, 20, 0])
    assert probs.shape == (8,)
    assert probs[0b000] == pytest.approx(0.5 * 0.95**3)
    # |11> is never misread (e1 = 0); |00> reads as 11 with probability 0.05²
    assert probs[0b011] == pytest.approx(0.5 * 0.95 * (1 + 0.05**2))
    with pytest.raises(ValueError, match="too large"):
        sim.probabilities(qc)


def test_parameter_inside_delay_units_and_idle_noise():
    model = noise.NoiseModel()
    model.set_idle_relaxation(t1=100e-6, t2=100e-6)
    qc = QuantumCircuit(1)
    qc.x(0)
    qc.delay(50, 0, unit="us")
    p1 = PTMSimulator(model).probabilities(qc)[1]
    assert p1 == pytest.approx(np.exp(-0.5))
    qc_dt = QuantumCircuit(1)
    qc_dt.delay(10, 0, unit="dt")
    with pytest.raises(ValueError, match="dt"):
        PTMSimulator(model).probabilities(qc_dt)


def test_free_parameter_in_unsupported_gate_expands_definition():
    a = Parameter("a")
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.append(XXPlusYYGate(a, 0.3), [0, 1])
    value = PTMSimulator().expectation(qc, "ZX", [0.8])
    bound = qc.assign_parameters([0.8])
    assert value == pytest.approx(Statevector(bound).expectation_value(SparsePauliOp("ZX")).real)


def test_density_matrix_with_idle_qubits_matches_quantum_info():
    from qiskit.quantum_info import DensityMatrix

    qc = QuantumCircuit(5)
    qc.h(1)
    qc.cx(1, 3)
    qc.ry(0.3, 3)
    assert PTMSimulator().compile(qc).active_qubits == [1, 3]
    np.testing.assert_allclose(
        PTMSimulator().density_matrix(qc), DensityMatrix(qc).data, atol=1e-14, rtol=0
    )


def test_a_circuit_changed_in_place_is_never_served_from_the_identity_cache():
    theta = Parameter("t")
    circuit = QuantumCircuit(2)
    circuit.ry(theta, 0)
    circuit.cx(0, 1)
    sim = PTMSimulator("depolarizing:p1=1e-3,p2=1e-2")
    changes = [
        lambda c: c.assign_parameters([0.7], inplace=True),
        lambda c: c.rx(0.4, 1),
        lambda c: c.data.__setitem__(0, c.data[0].replace(params=[1.3])),
        lambda c: c.data.__setitem__(1, c.data[1].replace(qubits=c.data[1].qubits[::-1])),
        lambda c: c.compose(c.copy(), inplace=True),
        lambda c: c.data.pop(),
    ]
    values = [0.7]
    for change in changes:
        sim.expectation(circuit, "ZZ", values if circuit.num_parameters else None)
        assert sim.compile(circuit) is sim.compile(circuit)  # an unchanged object: one lookup
        change(circuit)
        values = values if circuit.num_parameters else None
        fresh = PTMSimulator("depolarizing:p1=1e-3,p2=1e-2").expectation(circuit, "ZZ", values)
        assert sim.expectation(circuit, "ZZ", values) == pytest.approx(fresh, abs=1e-14)


def test_a_simulator_that_has_seen_circuits_pickles_and_deep_copies():
    import copy
    import pickle

    circuit = QuantumCircuit(1)
    circuit.ry(0.4, 0)
    sim = PTMSimulator()
    value = sim.expectation(circuit, "Z")
    for clone in (pickle.loads(pickle.dumps(sim)), copy.deepcopy(sim)):
        assert clone.expectation(circuit, "Z") == pytest.approx(value, abs=1e-15)
