"""Adam-SPSA's compiled loop: the same numbers, bit for bit, as the Python loop."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.quantum_info import SparsePauliOp

from qnoise import PTMSimulator
from qnoise.optim import AdamSPSA
from qnoise.optim.spsa import RademacherStream
from qnoise.vqe import EnergyObjective
from qnoise.vqe.ansatz import hardware_efficient

HAMILTONIAN = SparsePauliOp.from_list(
    [("ZZI", 0.5), ("XIX", -0.3), ("IYZ", 0.2), ("ZII", -0.7), ("IXX", 0.25)]
)


def _objective(constant: float = -1.25, **options) -> EnergyObjective:
    ansatz = hardware_efficient(3, layers=2)
    simulator = PTMSimulator("fake_mumbai:median")
    return EnergyObjective(ansatz, HAMILTONIAN, constant, simulator, **options)


def _run_both(bounds=None, **options):
    """The same minimization through the compiled loop and (forced by a callback, which
    needs every iteration in Python) through the Python loop."""
    runs = []
    for observed in (False, True):
        objective = _objective()
        callback = (lambda *args: None) if observed else None
        optimizer = AdamSPSA.preset("crlqas_h2_2q", seed=11, callback=callback, **options)
        x0 = np.full(objective.num_parameters, 0.1)
        runs.append((optimizer.minimize(objective, x0, bounds=bounds), objective))
    return runs


CASES = {
    "h2 preset": {},
    "stages": {"stages": (121, 60, 31)},
    "returns last": {"returns": "last", "maxfev": 301},
    "odd budget": {"maxfev": 99},
    "maxiter": {"maxiter": 37},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_compiled_loop_is_bit_identical_to_the_python_loop(case):
    (native, native_objective), (python, python_objective) = _run_both(**CASES[case])
    assert native.fun == python.fun
    assert np.array_equal(native.x, python.x)
    assert (native.nfev, native.nit, native.message) == (python.nfev, python.nit, python.message)
    assert native.history["fun"] == python.history["fun"]
    assert native.history["nfev"] == python.history["nfev"]
    assert np.array_equal(np.array(native.history["x"]), np.array(python.history["x"]))
    assert native_objective.energies == python_objective.energies
    assert native_objective.nfev == python_objective.nfev == native.nfev


def test_compiled_loop_clips_to_bounds_like_the_python_loop():
    bounds = [(-0.05, 0.12)] * 18
    (native, _), (python, _) = _run_both(bounds=bounds)
    assert np.array_equal(native.x, python.x)
    assert native.fun == python.fun
    steps = np.array(native.history["x"])
    assert steps.min() >= -0.05 and steps.max() <= 0.12
    assert np.isclose(steps.min(), -0.05) or np.isclose(steps.max(), 0.12)  # bounds were hit


def test_compiled_loop_is_used_only_for_exact_energies_without_callbacks():
    assert _objective().native_program is not None
    assert _objective(shots=100, seed=1).native_program is None
    assert _objective(callback=lambda *args: None).native_program is None


def test_compiled_loop_reports_a_non_finite_energy_with_its_point():
    objective = _objective(constant=np.nan)
    with pytest.raises(ValueError, match="non-finite value at x"):
        AdamSPSA.preset("crlqas_h2_2q", seed=1).minimize(objective, np.zeros(18))


def test_one_bulk_take_gives_the_rows_of_single_takes():
    single = RademacherStream(np.random.default_rng(3), 5, chunk=8)
    bulk = RademacherStream(np.random.default_rng(3), 5, chunk=8)
    rows = np.array([single.take()[0] for _ in range(45)])
    taken = np.concatenate([bulk.take(3), bulk.take(0), bulk.take(30), bulk.take(12)])
    assert np.array_equal(rows, taken)
