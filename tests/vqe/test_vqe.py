"""The VQE engine: accuracy, noisy runs, agreement with Qiskit references, protocols."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import transpile
from qiskit.primitives import StatevectorEstimator
from qiskit.quantum_info import SparsePauliOp
from scipy.optimize import minimize

from qnoise import PTMSimulator, chem
from qnoise.chem import CHEMICAL_ACCURACY
from qnoise.chem._extra import chem_extra_available
from qnoise.noise import from_backend
from qnoise.noise.named import fake_backend
from qnoise.vqe import VQE, EnergyObjective, hardware_efficient, uccsd
from tests.reference import aer_density_matrix

NOISE = "fake_mumbai:median"


@pytest.mark.parametrize(("name", "layers"), [("H2-2q", 1), ("LiH-4q", 2)])
def test_noiseless_vqe_reaches_chemical_accuracy(name, layers):
    problem = chem.load(name)
    ansatz = hardware_efficient(problem.num_qubits, layers, initial_state=problem.hf_circuit())
    result = VQE(ansatz, problem, optimizer="L-BFGS-B").run(seed=1)
    assert result.error < CHEMICAL_ACCURACY
    assert result.energy == pytest.approx(result.noiseless_energy, abs=1e-12)
    assert result.energy >= problem.exact_energy - 1e-10
    assert result.njev == result.nfev > 0
    assert result.evaluation_energies.shape == (result.nfev,)
    assert result.iteration_energies.size == result.nit
    assert result.iteration_energies[-1] == pytest.approx(result.energy, abs=1e-10)


def test_noisy_finite_shot_vqe_finds_parameters_within_chemical_accuracy():
    problem = chem.load("H2-2q")
    ansatz = hardware_efficient(2, 1, initial_state=problem.hf_circuit())
    vqe = VQE(
        ansatz,
        problem,
        PTMSimulator(NOISE),
        optimizer="COBYLA",
        shots=10**6,
        options={"rhobeg": 0.3},
    )
    result = vqe.run(initial_point=np.zeros(ansatz.num_parameters), seed=3)
    assert result.noiseless_error < CHEMICAL_ACCURACY
    # noise raises the energy: the measured and the exact noisy values sit well above E0
    assert result.expected_energy > problem.exact_energy + 0.03
    assert abs(result.energy - result.expected_energy) < 2e-3  # one fresh 1e6-shot estimate
    assert result.njev == 0


def test_same_seed_same_run():
    problem = chem.load("H2-2q")
    ansatz = hardware_efficient(2, 1)
    vqe = VQE(ansatz, problem, PTMSimulator(NOISE), optimizer="COBYLA", shots=1000)
    first, second = vqe.run(seed=5), vqe.run(seed=5)
    assert np.array_equal(first.evaluation_energies, second.evaluation_energies)
    assert np.array_equal(first.parameters, second.parameters)
    assert not np.array_equal(first.evaluation_energies, vqe.run(seed=6).evaluation_energies)


def _random_hea(problem, seed):
    ansatz = hardware_efficient(problem.num_qubits, 2, initial_state=problem.hf_circuit())
    values = np.random.default_rng(seed).uniform(-np.pi, np.pi, (3, ansatz.num_parameters))
    return ansatz, values


def test_energy_matches_statevector_estimator():
    problem = chem.load("LiH-4q")
    ansatz, values = _random_hea(problem, 11)
    objective = EnergyObjective(ansatz, problem.hamiltonian, problem.constant)
    ours = objective(values)
    job = StatevectorEstimator().run([(ansatz, problem.hamiltonian, values)])
    reference = job.result()[0].data.evs + problem.constant
    np.testing.assert_allclose(ours, reference, atol=1e-10, rtol=0)
    assert objective.nfev == 3


def test_noisy_energy_matches_aer_density_matrix():
    from qiskit_aer.noise import NoiseModel as AerNoiseModel

    problem = chem.load("LiH-4q")
    ansatz, values = _random_hea(problem, 12)
    # in the device's basis, so that every gate carries its calibrated error
    ansatz = transpile(ansatz, basis_gates=["rz", "sx", "x", "cx"], optimization_level=0)
    backend = fake_backend("fake_mumbai")
    noise = from_backend(backend, level=None).without_readout()
    aer_model = AerNoiseModel.from_backend(backend, readout_error=False)
    objective = EnergyObjective(ansatz, problem.hamiltonian, problem.constant, PTMSimulator(noise))
    matrix = problem.hamiltonian.to_matrix()
    for row in values:
        rho = aer_density_matrix(ansatz.assign_parameters(row), aer_model)
        reference = np.trace(rho @ matrix).real + problem.constant
        assert objective(row) == pytest.approx(reference, abs=1e-10)


def test_batch_counts_every_point_and_matches_single_calls():
    problem = chem.load("H2-4q")
    ansatz, values = _random_hea(problem, 13)
    seen = []
    objective = EnergyObjective(
        ansatz, problem.hamiltonian, problem.constant, callback=lambda i, x, e: seen.append(i)
    )
    batch = objective(values)
    singles = [objective(row) for row in values]
    np.testing.assert_allclose(batch, singles, atol=1e-13, rtol=0)
    assert objective.nfev == 6 and seen == [1, 2, 3, 4, 5, 6]
    assert objective.accepts_batch


class _CountingMinimizer:
    """A Minimizer-protocol optimizer (as qiskit-algorithms' optimizers) around scipy."""

    def minimize(self, fun, x0, jac=None, bounds=None):
        result = minimize(fun, x0, jac=jac, method="BFGS")
        result.history = {"fun": [result.fun]}
        return result


def test_minimizer_protocol_objects_and_callables():
    problem = chem.load("H2-2q")
    ansatz = hardware_efficient(2, 1)
    x0 = np.full(ansatz.num_parameters, 0.1)
    before = x0.copy()
    by_object = VQE(ansatz, problem, optimizer=_CountingMinimizer()).run(initial_point=x0)
    assert np.array_equal(x0, before)
    assert by_object.error < 1e-6 and by_object.njev > 0
    assert by_object.iteration_energies.tolist() == [by_object.optimizer_result.fun]

    def nelder_mead(fun, x0, jac, bounds):
        return minimize(fun, x0, method="Nelder-Mead", options={"maxfev": 50})

    by_callable = VQE(ansatz, problem, optimizer=nelder_mead).run(initial_point=x0)
    assert by_callable.njev == 0
    assert by_callable.nfev == by_callable.optimizer_result.nfev


def test_bare_operator_gets_its_exact_reference():
    op = SparsePauliOp(["ZZ", "XI", "IX"], coeffs=[1.0, 0.5, 0.5])
    result = VQE(hardware_efficient(2, 2), op).run(seed=2)
    exact = np.linalg.eigvalsh(op.to_matrix())[0]
    assert result.reference_energy == pytest.approx(exact)
    assert result.error < 1e-8


def test_clear_errors():
    problem = chem.load("LiH-4q")
    with pytest.raises(ValueError, match="qubits"):
        VQE(hardware_efficient(3, 1), problem)
    with pytest.raises(TypeError, match="Problem or SparsePauliOp"):
        VQE(hardware_efficient(4, 1), "ZZZZ")
    vqe = VQE(hardware_efficient(4, 1), problem)
    with pytest.raises(ValueError, match="initial_point"):
        vqe.run(initial_point=np.zeros(3))
    objective = EnergyObjective(hardware_efficient(4, 1), problem.hamiltonian, shots=100)
    with pytest.raises(ValueError, match="shots=None"):
        objective.value_and_gradient(np.zeros(objective.num_parameters))
    with pytest.raises(ValueError, match="NaN"):
        objective(np.full(objective.num_parameters, np.nan))
    with pytest.raises(ValueError, match="layers"):
        hardware_efficient(4, 0)
    with pytest.raises(ValueError, match="entanglement"):
        hardware_efficient(4, 1, entanglement="full")
    for rotations in [(), ("ry", "ry"), ("ry", "cx"), "ry"]:
        with pytest.raises(ValueError, match="rotations"):
            hardware_efficient(4, 1, rotations=rotations)


def test_hardware_efficient_structure():
    ansatz = hardware_efficient(3, 2, entanglement="circular")
    assert ansatz.num_parameters == 2 * 3 * 3
    assert ansatz.count_ops() == {"ry": 9, "rz": 9, "cx": 6}
    names = [p.name for p in ansatz.parameters]
    assert names[:3] == ["θ[0]", "θ[1]", "θ[2]"]
    first = ansatz.data[0]
    assert first.operation.name == "ry" and first.params[0].name == "θ[0]"


def test_real_hardware_efficient_is_qiskits_real_amplitudes():
    """``rotations=("ry",)`` is RealAmplitudes with linear entanglement: the same unitary
    at the same parameter values (both order them layer by layer, qubit 0 first)."""
    from qiskit.circuit.library import real_amplitudes
    from qiskit.quantum_info import Operator

    ours = hardware_efficient(4, 3, rotations=("ry",))
    theirs = real_amplitudes(4, entanglement="linear", reps=3)
    assert ours.num_parameters == theirs.num_parameters == 16
    assert ours.count_ops() == {"ry": 16, "cx": 9}
    values = np.random.default_rng(5).uniform(-np.pi, np.pi, 16)
    assert Operator(ours.assign_parameters(values)).equiv(
        Operator(theirs.assign_parameters(values))
    )
    assert not Operator(ours.assign_parameters(values)).equiv(
        Operator(theirs.assign_parameters(values[::-1]))
    )


@pytest.mark.skipif(not chem_extra_available(), reason="needs qnoise[chem]")
@pytest.mark.parametrize("name", ["H2-4q", "LiH-4q"])
def test_uccsd_reaches_the_exact_energy(name):
    problem = chem.load(name)
    ansatz = uccsd(problem)
    result = VQE(ansatz, problem).run(initial_point=np.zeros(ansatz.num_parameters))
    assert result.error < 1e-6


def test_convergence_plot():
    import matplotlib

    matplotlib.use("Agg")
    problem = chem.load("H2-2q")
    result = VQE(hardware_efficient(2, 1), problem).run(seed=4)
    ax = result.plot()
    lines = ax.get_lines()
    assert len(lines) == 3  # evaluations, iterations, exact
    np.testing.assert_allclose(lines[0].get_ydata(), result.evaluation_energies)
    assert ax.get_ylabel() == "energy (Ha)"


@pytest.mark.parametrize("library", ["efficient_su2", "real_amplitudes"])
def test_qiskit_library_ansatze(library):
    import qiskit.circuit.library as lib

    problem = chem.load("H2-2q")
    ansatz = getattr(lib, library)(2, reps=1)
    result = VQE(ansatz, problem, PTMSimulator(NOISE)).run(seed=0)
    assert result.noiseless_error < CHEMICAL_ACCURACY
    reference = StatevectorEstimator().run([(ansatz, problem.hamiltonian, result.parameters)])
    noiseless = reference.result()[0].data.evs + problem.constant
    assert result.noiseless_energy == pytest.approx(float(noiseless), abs=1e-10)


def test_default_finite_shot_optimizer_is_seeded_spsa():
    from qnoise.optim import OptimizerResult

    problem = chem.load("H2-2q")
    ansatz = hardware_efficient(2, 1, initial_state=problem.hf_circuit())
    vqe = VQE(ansatz, problem, PTMSimulator(NOISE), shots=10_000)
    first, second = vqe.run(seed=8), vqe.run(seed=8)
    assert isinstance(first.optimizer_result, OptimizerResult)
    assert first.nfev == first.optimizer_result.nfev + 1  # plus the fresh final estimate
    assert np.array_equal(first.parameters, second.parameters)
    assert first.noiseless_error < 0.02


def test_adam_spsa_shot_stages_reach_the_energy_objective():
    from qnoise.optim import AdamSPSA

    problem = chem.load("H2-2q")
    ansatz = hardware_efficient(2, 1)
    seen = []
    objective = EnergyObjective(ansatz, problem.hamiltonian, problem.constant, shots=1000)
    original = objective.program.expectation_batch

    def spy(*args, **kwargs):
        seen.append(kwargs["shots"])
        return original(*args, **kwargs)

    objective.program.expectation_batch = spy
    optimizer = AdamSPSA(stages=(20, 10), shots=1000, seed=1)
    result = optimizer.minimize(objective, np.zeros(ansatz.num_parameters))
    assert seen[:10] == [100] * 10 and seen[10:] == [1000] * (len(seen) - 10)
    assert result.nfev == objective.nfev <= 30
