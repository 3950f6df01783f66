"""The zero-noise-extrapolated energy as an objective: the same number as ZNE.energy, its
gradient, and optimizers that minimize it directly."""

import numpy as np
import pytest
from qiskit.circuit.library import real_amplitudes

from qnoise import PTMSimulator, chem
from qnoise.mitigation import ZNE, RichardsonExtrapolator
from qnoise.optim import LBFGSB

PROBLEM = chem.load("H2-4q-0.70")
ANSATZ = real_amplitudes(4, reps=1, entanglement="linear")


@pytest.mark.parametrize(
    ("scales", "extrapolation"), [((1, 2, 3), "richardson"), ((1, 1.5, 2, 3), "linear")]
)
def test_value_and_gradient_match_zne_and_finite_differences(scales, extrapolation):
    sim = PTMSimulator("fake_mumbai:median")
    zne = ZNE(scales, extrapolation)
    objective = zne.objective(sim, ANSATZ, PROBLEM.hamiltonian, PROBLEM.constant)
    x = np.random.default_rng(1).uniform(-np.pi, np.pi, ANSATZ.num_parameters)
    expected = zne.energy(sim, ANSATZ, PROBLEM.hamiltonian, x, PROBLEM.constant).value
    assert objective(x) == pytest.approx(expected, abs=1e-12)
    batch = np.array([x, -x, 0.5 * x])
    np.testing.assert_allclose(objective(batch), [objective(p) for p in batch], atol=1e-13)
    assert objective.nfev == 1 + 3 + 3
    step = 1e-6
    finite = [(objective(x + step * e) - objective(x - step * e)) / (2 * step)
              for e in np.eye(x.size)]  # fmt: skip
    np.testing.assert_allclose(objective.gradient(x), finite, atol=1e-7)
    value, gradient = objective.value_and_gradient(x)
    assert value == pytest.approx(expected, abs=1e-12)
    np.testing.assert_allclose(gradient, objective.gradient(x), atol=1e-14)


def test_richardson_weights():
    np.testing.assert_allclose(RichardsonExtrapolator().linear_weights([1, 2, 3]), [3, -3, 1])


def test_minimizing_the_mitigated_energy_fits_the_noise_free_angles():
    """On H2-4q under Mumbai's calibrated noise, the angles that minimize the Richardson
    energy are accurate without noise (2.7e-7 Ha from E0), those that minimize the noisy
    energy are not (3.5e-4 Ha): they are fitted to the noise."""
    ideal, noisy = PTMSimulator(), PTMSimulator("fake_mumbai:median")
    objective = ZNE().objective(noisy, ANSATZ, PROBLEM.hamiltonian, PROBLEM.constant)
    start = np.random.default_rng(1).uniform(-1, 1, ANSATZ.num_parameters)
    mitigated = LBFGSB(maxiter=500).minimize(objective, start, jac=objective.gradient)
    from qnoise.vqe import EnergyObjective

    plain = EnergyObjective(ANSATZ, PROBLEM.hamiltonian, PROBLEM.constant, noisy)
    fitted = LBFGSB(maxiter=500).minimize(plain, start, jac=plain.gradient)
    errors = [
        abs(ideal.expectation(ANSATZ, PROBLEM.hamiltonian, result.x) + PROBLEM.constant
            - PROBLEM.exact_energy)
        for result in (mitigated, fitted)
    ]  # fmt: skip
    assert errors[0] < 1e-6 and errors[1] > 1e-4


def test_shot_estimates_are_unbiased_with_independent_noise_per_scale():
    """With shots, each scaled energy gets its own shot noise: the estimates average to the
    exact mitigated energy and scatter by sqrt(Σ γ_i² σ_i²) (19 σ² for Richardson on equal
    σ; one stream shared by the scales would give (Σ γ_i)² σ² = σ²), and a seed repeats
    them."""
    sim = PTMSimulator("fake_mumbai:median")
    zne = ZNE((1, 2, 3), "richardson")
    x = np.random.default_rng(2).uniform(-np.pi, np.pi, ANSATZ.num_parameters)
    exact = zne.objective(sim, ANSATZ, PROBLEM.hamiltonian, PROBLEM.constant)(x)
    options = {"shots": 1000, "shot_model": "gaussian", "seed": 7}
    objective = zne.objective(sim, ANSATZ, PROBLEM.hamiltonian, PROBLEM.constant, **options)
    assert objective.shots == 1000 and objective.accepts_shots
    estimates = objective(np.tile(x, (4000, 1)))
    sigmas = [
        s.compile(ANSATZ).shot_standard_error(PROBLEM.hamiltonian, x, 1000, "gaussian")
        for s in zne.simulators(sim)
    ]
    expected_spread = np.sqrt(np.sum((np.array([3, -3, 1]) * sigmas) ** 2))
    assert np.std(estimates) == pytest.approx(expected_spread, rel=0.06)
    assert np.mean(estimates) == pytest.approx(exact, abs=4 * expected_spread / np.sqrt(4000))
    again = zne.objective(sim, ANSATZ, PROBLEM.hamiltonian, PROBLEM.constant, **options)
    np.testing.assert_array_equal(again(np.tile(x, (4000, 1))), estimates)
    many = objective(x, shots=10**12)  # per-call shots reach every scale
    assert many == pytest.approx(exact, abs=1e-4)
    with pytest.raises(ValueError, match="exact energies"):
        objective.gradient(x)


def test_nonlinear_extrapolators_and_mixed_shots_are_refused():
    sim = PTMSimulator("fake_mumbai:median")
    with pytest.raises(ValueError, match="linear combination"):
        ZNE(extrapolation="exponential").objective(sim, ANSATZ, PROBLEM.hamiltonian)
    from qnoise.mitigation.objective import MitigatedEnergyObjective
    from qnoise.vqe import EnergyObjective

    shot_objective = EnergyObjective(ANSATZ, PROBLEM.hamiltonian, 0.0, sim, shots=100)
    exact_objective = EnergyObjective(ANSATZ, PROBLEM.hamiltonian, 0.0, sim)
    with pytest.raises(ValueError, match="same shots"):
        MitigatedEnergyObjective([shot_objective, exact_objective], [2.0, -1.0])
