"""AQGD: regression tests for each defect of qiskit-algorithms' AQGD (reference doc §4),
gradients, epochs and the parameter-shift check."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter

from qnoise import chem
from qnoise.optim import AQGD
from qnoise.vqe import VQE, EnergyObjective, hardware_efficient
from tests.optim.test_optimizers import TARGET, X0, Counting, distance, periodic, periodic_gradient


def test_regression_x0_is_not_mutated():
    x0 = X0.copy()
    AQGD(maxiter=50, eta=0.5).minimize(periodic, x0)
    assert np.array_equal(x0, X0)


def test_regression_integer_x0():
    result = AQGD(maxiter=300, eta=0.5).minimize(periodic, np.array([1, 0, 0, 1]))
    assert distance(result.x) < 1e-3


def test_regression_final_value_belongs_to_final_point():
    for maxiter in (1, 7, 300):
        result = AQGD(maxiter=maxiter, eta=0.5).minimize(periodic, X0)
        assert result.fun == periodic(result.x)


def test_regression_parameter_tolerance_compares_consecutive_iterates():
    """Far from x0 but with tiny steps near the minimum, the run must stop on the parameter
    criterion (qiskit's compares with the initial point and would run to maxiter)."""
    result = AQGD(maxiter=100_000, eta=0.5, tol=0.0, param_tol=1e-5).minimize(periodic, X0)
    assert result.message == "parameters converged"
    assert result.nit < 1000
    assert distance(result.x) < 1e-4


def test_regression_maxfev_is_honoured():
    fun = Counting()
    result = AQGD(maxiter=1000, maxfev=100, eta=0.5).minimize(fun, X0)
    assert fun.points == result.nfev <= 100
    assert result.nfev == 11 * 9 + 1  # 11 iterations of 2p + 1 = 9 points, then x itself


def test_parameter_shift_gradient_is_exact_here():
    fun = Counting()
    AQGD(maxiter=1, eta=0.0).minimize(fun, X0)
    shifted = []
    for i in range(4):
        e = np.zeros(4)
        e[i] = np.pi / 2
        shifted.append((periodic(X0 + e) - periodic(X0 - e)) / 2)
    np.testing.assert_allclose(shifted, periodic_gradient(X0), atol=1e-14)


def test_exact_gradient_path_uses_jac_once_per_iteration():
    calls = []

    def jac(x):
        calls.append(1)
        return periodic_gradient(x)

    result = AQGD(maxiter=400, eta=0.5).minimize(periodic, X0, jac=jac)
    assert distance(result.x) < 1e-4
    assert result.njev == len(calls) == result.nit
    assert result.nfev == result.nit + 1


def test_epochs_and_momentum_lists():
    result = AQGD(maxiter=[20, 200], eta=[1.0, 0.2], momentum=[0.5, 0.1]).minimize(periodic, X0)
    assert distance(result.x) < 1e-3
    with pytest.raises(ValueError, match="epochs"):
        AQGD(maxiter=[10, 10], eta=[0.1])
    with pytest.raises(ValueError, match="momentum"):
        AQGD(momentum=1.0)


def test_shift_rule_check_on_circuits():
    problem = chem.load("H2-2q")
    theta = Parameter("θ")
    doubled = QuantumCircuit(2)
    doubled.x(0)
    doubled.ry(2 * theta, 1)
    doubled.cx(1, 0)
    objective = EnergyObjective(doubled, problem.hamiltonian, problem.constant)
    assert not objective.shift_rule_exact
    with pytest.warns(RuntimeWarning, match="parameter-shift rule is not exact"):
        AQGD(maxiter=5, eta=0.1).minimize(objective, np.zeros(1))
    hea = EnergyObjective(hardware_efficient(2, 2), problem.hamiltonian, problem.constant)
    assert hea.shift_rule_exact
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        AQGD(maxiter=5, eta=0.1).minimize(hea, np.zeros(hea.num_parameters))


def test_vqe_passes_the_exact_gradient_to_aqgd():
    problem = chem.load("LiH-4q")
    ansatz = hardware_efficient(4, 2, initial_state=problem.hf_circuit())
    start = np.random.default_rng(2).uniform(-np.pi, np.pi, ansatz.num_parameters)
    exact = VQE(ansatz, problem, optimizer=AQGD(maxiter=400, eta=0.2)).run(initial_point=start)
    shifted = VQE(ansatz, problem, optimizer=AQGD(maxiter=400, eta=0.2), use_gradient=False).run(
        initial_point=start
    )
    assert exact.njev == exact.nit and shifted.njev == 0
    assert shifted.nfev == shifted.nit * (2 * 24 + 1) + 1
    # the same trajectory: parameter shift is exact for this ansatz
    np.testing.assert_allclose(exact.parameters, shifted.parameters, atol=1e-8)


def test_target_is_the_periodic_minimum():
    assert periodic(TARGET) == pytest.approx(-4.5)
