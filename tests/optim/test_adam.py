"""Adam on exact gradients: the update rule, budgets, and a VQE it solves."""

from __future__ import annotations

import numpy as np
import pytest

from qnoise import PTMSimulator, chem
from qnoise.optim import Adam
from qnoise.vqe import EnergyObjective, hardware_efficient


def test_first_steps_follow_the_update_rule():
    """On f = ½|x|², Adam's first bias-corrected step is lr · sign(x) in every component."""
    x0 = np.array([2.0, -3.0, 0.5])
    result = Adam(maxiter=1, lr=0.1).minimize(lambda x: 0.5 * x @ x, x0, jac=lambda x: x)
    np.testing.assert_allclose(result.x, x0 - 0.1 * np.sign(x0), atol=1e-7)
    assert result.nfev == 2 and result.njev == 1


def test_converges_on_a_quadratic_and_keeps_the_budget():
    target = np.array([0.3, -1.2])
    fun = lambda x: float(np.sum((x - target) ** 2))  # noqa: E731
    jac = lambda x: 2 * (x - target)  # noqa: E731
    result = Adam(maxiter=2000, lr=0.05).minimize(fun, np.zeros(2), jac=jac)
    np.testing.assert_allclose(result.x, target, atol=1e-4)
    limited = Adam(maxiter=None, maxfev=7).minimize(fun, np.zeros(2), jac=jac)
    assert limited.nfev <= 7


def test_solves_h2_vqe_with_reverse_mode_gradients():
    problem = chem.load("H2-4q-0.70")
    ansatz = hardware_efficient(problem.num_qubits, layers=1)
    objective = EnergyObjective(ansatz, problem.hamiltonian, problem.constant, PTMSimulator())
    start = np.random.default_rng(0).uniform(-0.1, 0.1, ansatz.num_parameters)
    result = Adam(maxiter=400, lr=0.05).minimize(objective, start, jac=objective.gradient)
    assert result.fun < problem.exact_energy + 2e-2


def test_needs_a_gradient_and_valid_settings():
    with pytest.raises(ValueError, match="jac"):
        Adam(maxiter=3).minimize(lambda x: float(x @ x), np.ones(2))
    for bad in ({"lr": 0}, {"beta1": 1.0}, {"eps": 0}):
        with pytest.raises(ValueError):
            Adam(**bad)
