"""NoiseModel semantics, named models and backend levels."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from qiskit import QuantumCircuit
from qiskit.quantum_info import DensityMatrix

from qnoise import PTMSimulator, noise
from qnoise.noise.named import fake_backend
from tests.reference import random_circuit


def test_local_error_overrides_all_qubit_error():
    model = noise.NoiseModel()
    everywhere, local = noise.depolarizing(0.1), noise.depolarizing(0.2)
    model.add_gate_error(everywhere, "x")
    model.add_gate_error(local, "x", [1])
    assert model.gate_error("x", [0]) is everywhere
    assert model.gate_error("x", [1]) is local
    assert model.gate_error("h", [0]) is None


def test_errors_added_twice_compose():
    model = noise.NoiseModel()
    model.add_gate_error(noise.depolarizing(0.1), "x")
    model.add_gate_error(noise.depolarizing(0.1), "x")
    assert np.asarray(model.gate_error("x", [0]))[3, 3] == pytest.approx(0.81)


def test_gate_error_ptm_is_memoized_until_the_model_changes():
    model = noise.NoiseModel()
    assert model.gate_error_ptm("cx", (0, 1)) is None
    revision = model.revision
    model.add_gate_error(noise.depolarizing(0.01, 2), "cx")
    assert model.revision > revision
    ptm = model.gate_error_ptm("cx", (0, 1))
    assert np.allclose(ptm, np.asarray(noise.depolarizing(0.01, 2)))
    assert model.gate_error_ptm("cx", (0, 1)) is ptm
    model.add_gate_error(noise.depolarizing(0.0, 1), "x")
    assert model.gate_error_ptm("x", (0,)) is None  # identity channels are dropped
    assert not model.is_ideal and model.scaled(0.0).is_ideal
    assert noise.NoiseModel().is_ideal
    model.add_readout_error(noise.readout_error(0.02))
    assert not model.without_readout().is_ideal
    assert model.scaled(0.0).without_readout().is_ideal


def test_wildcard_by_arity_and_precedence():
    model = noise.named_model("depolarizing:p1=1e-3,p2=5e-3")
    assert np.asarray(model.gate_error("ry", [2]))[1, 1] == pytest.approx(1 - 1e-3)
    assert np.asarray(model.gate_error("cz", [2, 0]))[5, 5] == pytest.approx(1 - 5e-3)
    assert model.gate_error("reset", [0], wildcard=False) is None


def test_arity_mismatch_raises():
    model = noise.NoiseModel()
    with pytest.raises(ValueError, match="cannot be attached"):
        model.add_gate_error(noise.depolarizing(0.1), "cx", [0, 1])
    model.add_gate_error(noise.depolarizing(0.1), "cx")
    with pytest.raises(ValueError, match="acts on 2 qubit"):
        model.gate_error("cx", [0, 1])


@pytest.mark.parametrize("name", noise.available_models())
def test_every_named_model_builds_and_runs(name):
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    value = PTMSimulator(name).expectation(qc, "ZZ")
    if name == "ideal":
        assert value == pytest.approx(1.0)
    else:
        assert -1.0 <= value < 1.0 - 1e-6


def test_unknown_names_raise():
    with pytest.raises(ValueError, match="unknown noise model"):
        noise.named_model("gaussian_blur:median")
    with pytest.raises(ValueError, match="unknown fake backend"):
        noise.named_model("fake_nowhere")
    with pytest.raises(ValueError, match="unknown level"):
        noise.named_model("fake_mumbai:min")
    with pytest.raises(ValueError, match="unknown depolarizing options"):
        noise.named_model("depolarizing:p3=0.1")


def test_mumbai_levels_use_device_statistics():
    backend = fake_backend("fake_mumbai")
    target = backend.target
    sx_errors = [target["sx"][(q,)].error for q in range(target.num_qubits)]
    t1s = [target.qubit_properties[q].t1 for q in range(target.num_qubits)]
    median = noise.from_backend(backend, "median").calibration
    worst = noise.from_backend(backend, "max").calibration
    tenfold = noise.from_backend(backend, "10max").calibration
    assert median["error_1q"] == pytest.approx(np.median(sx_errors))
    assert median["t1_s"] == pytest.approx(np.median(t1s))
    assert worst["error_1q"] == pytest.approx(max(sx_errors))
    assert worst["t1_s"] == pytest.approx(min(t1s))
    assert tenfold["error_2q"] == pytest.approx(10 * worst["error_2q"])
    assert tenfold["t1_s"] == pytest.approx(worst["t1_s"] / 10)


def test_level_model_average_gate_error_equals_calibration():
    """The depolarizing part is chosen so the total gate infidelity equals the reported error."""
    model = noise.named_model("fake_mumbai:median")
    for name, arity, key in [("sx", 1, "error_1q"), ("cx", 2, "error_2q")]:
        ptm = np.asarray(model.gate_error(name, list(range(arity))))
        dim = 2**arity
        fidelity = (np.trace(ptm) / dim + 1) / (dim + 1)
        assert 1 - fidelity == pytest.approx(model.calibration[key], rel=1e-10)
    assert model.gate_error("rz", [0]).is_identity()


def test_from_backend_rejects_unknown_level():
    with pytest.raises(ValueError, match="level"):
        noise.from_backend(fake_backend("fake_manila"), level="mean")


@given(seed=st.integers(0, 10_000))
@settings(max_examples=10, deadline=None)
def test_zero_scale_equals_ideal_statevector(seed):
    rng = np.random.default_rng(seed)
    qc, values = random_circuit(3, 12, rng, gates=["rx", "ry", "rz", "cx", "h", "ecr", "rzz"])
    ideal = DensityMatrix(qc.assign_parameters(values)).data
    scaled = noise.named_model("fake_mumbai:10max").scaled(0.0)
    assert scaled.is_ideal
    rho = PTMSimulator(scaled).density_matrix(qc, values)
    np.testing.assert_allclose(rho, ideal, atol=1e-12)


@given(seed=st.integers(0, 10_000), scale=st.floats(0.5, 3.0))
@settings(max_examples=10, deadline=None)
def test_noisy_density_matrices_are_physical(seed, scale):
    rng = np.random.default_rng(seed)
    qc, values = random_circuit(3, 12, rng, gates=["rx", "ry", "rz", "cx", "h", "ecr", "rzz"])
    model = noise.named_model("fake_mumbai:max").scaled(scale)
    rho = PTMSimulator(model).density_matrix(qc, values)
    assert np.trace(rho).real == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(rho, rho.conj().T, atol=1e-14)
    assert np.linalg.eigvalsh(rho).min() > -1e-12


@pytest.mark.parametrize(
    "name", ["fake_mumbai:median", "fake_manila", "depolarizing:p1=1e-3,p2=5e-3", "ideal"]
)
def test_to_dict_round_trips_through_json_to_an_equal_model(name):
    import json

    from qnoise import PTMSimulator
    from qnoise.noise.resolve import resolve_noise

    model = resolve_noise(name)
    if model is None:
        return
    record = json.loads(json.dumps(model.to_dict()))
    again = noise.NoiseModel.from_dict(record)
    assert again == model and resolve_noise(record) == model
    circuit = QuantumCircuit(3)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.rx(0.4, 2)
    circuit.cx(1, 2)
    circuit.measure_all()
    expected = PTMSimulator(model).probabilities(circuit.remove_final_measurements(False))
    got = PTMSimulator(again).probabilities(circuit.remove_final_measurements(False))
    np.testing.assert_array_equal(got, expected)


def test_equality_sees_every_kind_of_error():
    base = noise.NoiseModel()
    base.add_gate_error(noise.depolarizing(1e-3), "rx")
    base.add_readout_error(noise.readout_error(0.02), [1])
    assert base == base.copy() and base != noise.NoiseModel()
    variants = [base.copy() for _ in range(4)]
    variants[0].add_gate_error(noise.depolarizing(1e-3), "rx", [0])
    variants[1].add_readout_error(noise.readout_error(0.03), [2])
    variants[2].set_idle_relaxation(t1=1e-4, t2=1e-4)
    variants[3].dt = 1e-9
    assert all(v != base for v in variants)
    with pytest.raises(TypeError):
        hash(base)


def test_from_dict_refuses_foreign_or_broken_records():
    record = noise.NoiseModel().to_dict()
    with pytest.raises(ValueError, match="format"):
        noise.NoiseModel.from_dict({**record, "format": 99})
    with pytest.raises(ValueError, match="malformed"):
        noise.NoiseModel.from_dict({k: v for k, v in record.items() if k != "readout_errors"})
    bad_entry = {"gate": "x", "qubits": None, "channel": {"name": "c", "ptm": [[1.0, 0.0]]}}
    broken = {**record, "gate_errors": [bad_entry]}
    with pytest.raises(ValueError, match="malformed"):
        noise.NoiseModel.from_dict(broken)
