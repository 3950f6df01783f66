"""qnoise.optim: convergence, honest counting, budgets, seeds, inputs, and protocols."""

from __future__ import annotations

import numpy as np
import pytest

from qnoise.optim import AQGD, COBYLA, LBFGSB, SPSA, AdamSPSA, NelderMead, batched
from qnoise.optim.spsa import RademacherStream

TARGET = np.array([0.3, -0.7, 1.1, 0.2])


def periodic(x):
    """Circuit-like landscape, minimum -4.5 at TARGET; parameter shift is exact here."""
    d = np.asarray(x) - TARGET
    return -np.sum(np.cos(d), axis=-1) - 0.5 * np.cos(d[..., 0]) * np.cos(d[..., 1])


def periodic_gradient(x):
    d = np.asarray(x) - TARGET
    g = np.sin(d)
    g[0] += 0.5 * np.sin(d[0]) * np.cos(d[1])
    g[1] += 0.5 * np.cos(d[0]) * np.sin(d[1])
    return g


def distance(x) -> float:
    """Largest component of x - TARGET modulo 2π (the landscape is periodic)."""
    return float(np.max(np.abs(np.angle(np.exp(1j * (np.asarray(x) - TARGET))))))


class Counting:
    """Objective that counts the points it is asked for (and optionally takes batches)."""

    def __init__(self, fun=periodic, batch=False, shots=False):
        self.fun = fun
        self.points = 0
        self.calls = 0
        self.shots_seen: list = []
        self.accepts_batch = batch
        self.accepts_shots = shots

    def __call__(self, x, shots=None):
        x = np.asarray(x, dtype=float)
        self.calls += 1
        self.points += 1 if x.ndim == 1 else x.shape[0]
        self.shots_seen.append(shots)
        return self.fun(x)


X0 = np.array([1.0, 0.5, -0.5, 1.5])

OPTIMIZERS = {
    "spsa": lambda **kw: SPSA(maxiter=300, seed=3, **kw),
    "spsa_avg_blocking": lambda **kw: SPSA(
        maxiter=300, seed=3, blocking=True, returns="average", **kw
    ),
    "2spsa": lambda **kw: SPSA(maxiter=300, seed=3, second_order=True, **kw),
    "adam_spsa": lambda **kw: AdamSPSA(maxfev=kw.pop("maxfev", 1200), seed=3, a=0.3, c=0.1, **kw),
    "aqgd": lambda **kw: AQGD(maxiter=300, eta=0.5, **kw),
    "cobyla": lambda **kw: COBYLA(**kw),
    "cobyla_scipy": lambda **kw: COBYLA(implementation="scipy", **kw),
    "nelder_mead": lambda **kw: NelderMead(**kw),
    "lbfgsb": lambda **kw: LBFGSB(**kw),
}
TOLERANCE = {"spsa": 1e-3, "spsa_avg_blocking": 1e-3, "2spsa": 1e-3, "adam_spsa": 0.15}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("batch", [False, True])
def test_converges_and_counts_every_point(name, batch):
    fun = Counting(batch=batch)
    result = OPTIMIZERS[name]().minimize(fun, X0)
    assert distance(result.x) < TOLERANCE.get(name, 1e-3)
    assert result.nfev == fun.points
    if batch and name in ("spsa", "aqgd"):
        assert fun.calls < fun.points  # the ± points (or shifts) went as batches
    _assert_value_belongs_to_point(name, result)
    assert len(result.history["fun"]) == result.nit
    assert result.history["nfev"] == sorted(result.history["nfev"])


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("budget", [37, 120])
def test_maxfev_is_never_exceeded(name, budget):
    fun = Counting(batch=True)
    small_setup = {"calibration_steps": 5, "blocking_samples": 3} if "spsa_" in name else {}
    if name == "spsa":
        small_setup = {"calibration_steps": 5}
    result = OPTIMIZERS[name](maxfev=budget, **small_setup).minimize(fun, X0)
    assert fun.points == result.nfev <= budget
    _assert_value_belongs_to_point(name, result)


def _assert_value_belongs_to_point(name, result):
    """``fun`` is f(x) itself, or for Adam-SPSA's best iterate the mean of its ± values."""
    if name == "adam_spsa":
        assert result.fun == pytest.approx(periodic(result.x), abs=0.05)
        iterates = [X0, *result.history["x"]]
        assert any(np.array_equal(result.x, it) for it in iterates)
    else:
        assert result.fun == pytest.approx(periodic(result.x), abs=1e-12)


def test_spsa_budget_too_small_for_calibration_is_an_error():
    with pytest.raises(ValueError, match="calibration"):
        SPSA(maxfev=20).minimize(periodic, X0)


@pytest.mark.parametrize("name", ["spsa", "2spsa", "adam_spsa", "spsa_avg_blocking"])
def test_same_seed_same_run(name):
    first = OPTIMIZERS[name]().minimize(periodic, X0)
    second = OPTIMIZERS[name]().minimize(periodic, X0)
    assert np.array_equal(first.x, second.x)
    assert first.history["fun"] == second.history["fun"]
    other = SPSA(maxiter=300, seed=4).minimize(periodic, X0)
    assert not np.array_equal(SPSA(maxiter=300, seed=3).minimize(periodic, X0).x, other.x)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_inputs_are_not_modified_and_integers_work(name):
    x0 = np.array([1, 0, 0, 1])
    before = x0.copy()
    result = OPTIMIZERS[name]().minimize(periodic, x0)
    assert np.array_equal(x0, before) and x0.dtype.kind == "i"
    assert result.x.dtype == float
    list_start = OPTIMIZERS[name]().minimize(periodic, [1, 0, 0, 1])
    assert np.allclose(list_start.x, result.x)


def test_callback_and_termination_checker():
    seen = []

    def stop_after_five(nit, x, fun, nfev):
        return nit >= 5

    result = SPSA(
        maxiter=100,
        seed=1,
        callback=lambda nit, x, fun, nfev: seen.append((nit, nfev)),
        termination_checker=stop_after_five,
    ).minimize(periodic, X0)
    assert result.nit == 5 and [s[0] for s in seen] == [1, 2, 3, 4, 5]
    assert seen[0][1] == 2 * 25 + 2  # calibration then one iteration's two points
    assert "termination checker" in result.message


def test_spsa_first_order_update_equations():
    """An independent implementation of Spall's update, with the same ±1 draws."""
    a, c, A, alpha, gamma = 0.2, 0.15, 5.0, 0.602, 0.101
    result = SPSA(maxiter=20, seed=11, a=a, c=c, A=A, alpha=alpha, gamma=gamma).minimize(
        periodic, X0
    )
    directions = RademacherStream(np.random.default_rng(11), 4)
    x = X0.copy()
    for k in range(20):
        delta = directions.take()[0]
        ck = c / (k + 1) ** gamma
        g = (periodic(x + ck * delta) - periodic(x - ck * delta)) / (2 * ck) * delta
        x = x - a / (A + k + 1) ** alpha * g
    np.testing.assert_allclose(result.x, x, rtol=0, atol=1e-14)
    assert result.nfev == 41


def test_adam_spsa_update_equations_match_the_crlqas_rule():
    p = dict(a=0.5, alpha=0.602, c=0.2, gamma=0.101, lam=0.4, beta1=0.9, beta2=0.99)
    result = AdamSPSA(maxfev=40, seed=5, returns="last", **p).minimize(periodic, X0)
    directions = RademacherStream(np.random.default_rng(5), 4)
    x, m, v = X0.copy(), np.zeros(4), np.zeros(4)
    for k in range(19):  # floor(40 / 2) = 20 iterations would leave no evaluation for x
        delta = directions.take()[0]
        ak, ck = p["a"] / (k + 1) ** p["alpha"], p["c"] / (k + 1) ** p["gamma"]
        g = (periodic(x + ck * delta) - periodic(x - ck * delta)) / (2 * ck) * delta
        b1 = p["beta1"] / (k + 1) ** p["lam"]
        m = b1 * m + (1 - b1) * g
        v = p["beta2"] * v + (1 - p["beta2"]) * g**2
        if k == 0:
            x = x - ak * g
        else:
            m_hat = m / (1 - b1 ** (k + 1))
            v_hat = v / (1 - p["beta2"] ** (k + 1))
            x = x - ak * m_hat / (np.sqrt(v_hat) + 1e-8)
    np.testing.assert_allclose(result.x, x, rtol=0, atol=1e-13)
    assert result.nfev == 39 and result.fun == pytest.approx(periodic(x), abs=1e-12)


def test_adam_spsa_shot_stages_and_presets():
    fun = Counting(batch=True, shots=True)
    result = AdamSPSA.preset("crlqas_lih_4q", seed=2, shots=10000).minimize(fun, X0)
    assert result.nfev == fun.points == 1191 - 1 + 357 - 1 + 119 - 1
    shots = [s for s in fun.shots_seen]
    assert shots[0] == 100 and shots[-1] == 10000
    assert shots.count(100) == 595 and shots.count(1000) == 178 and shots.count(10000) == 59
    h2 = AdamSPSA.preset("crlqas_h2_2q", seed=2)
    assert h2.maxfev == 500 and h2.a == 1.2104
    with pytest.raises(KeyError, match="crlqas"):
        AdamSPSA.preset("nope")


def test_shot_schedule_without_shot_support_warns():
    with pytest.warns(RuntimeWarning, match="accepts_shots"):
        AdamSPSA(stages=(10, 10), shots=100, seed=1).minimize(periodic, X0)


def test_non_finite_objective_is_an_error():
    with pytest.raises(ValueError, match="non-finite"):
        SPSA(maxiter=5, a=0.1, seed=0).minimize(lambda x: np.nan, X0)


def test_bounds_are_respected():
    bounds = [(0.5, 2.0)] * 4
    for opt in (SPSA(maxiter=100, seed=1), AQGD(maxiter=100, eta=0.5), LBFGSB()):
        result = opt.minimize(periodic, X0, bounds=bounds)
        assert np.all(result.x >= 0.5) and np.all(result.x <= 2.0)
        assert result.x[1] == pytest.approx(0.5, abs=1e-6)  # TARGET[1] = -0.7 is outside


def test_qnoise_optimizers_are_minimizers_for_qiskit_algorithms():
    from qiskit.primitives import StatevectorEstimator
    from qiskit_algorithms import VQE as QiskitVQE

    from qnoise import chem
    from qnoise.vqe import VQE, hardware_efficient

    problem = chem.load("H2-2q")
    ansatz = hardware_efficient(2, 1)
    start = np.random.default_rng(1).uniform(-np.pi, np.pi, ansatz.num_parameters)
    vqe = QiskitVQE(StatevectorEstimator(), ansatz, AQGD(maxiter=300, eta=0.3))
    vqe.initial_point = start
    theirs = vqe.compute_minimum_eigenvalue(problem.hamiltonian)
    ours = VQE(ansatz, problem, optimizer=AQGD(maxiter=300, eta=0.3), use_gradient=False).run(
        initial_point=start
    )
    assert theirs.eigenvalue.real + problem.constant == pytest.approx(ours.energy, abs=1e-10)
    assert theirs.cost_function_evals == ours.nfev  # the same calls, counted by both
    assert ours.error < 1.6e-3


def test_batched_marks_functions():
    fun = batched(lambda x: periodic(x))
    assert fun.accepts_batch


def test_rademacher_stream_is_balanced_and_chunk_independent_in_law():
    stream = RademacherStream(np.random.default_rng(0), 6, chunk=7)
    rows = np.concatenate([stream.take(3) for _ in range(400)])
    assert set(np.unique(rows)) == {-1.0, 1.0}
    assert abs(rows.mean()) < 0.03
    again = RademacherStream(np.random.default_rng(0), 6, chunk=7)
    assert np.array_equal(np.concatenate([again.take(3) for _ in range(400)]), rows)


def test_cobyla_implementations_agree_on_a_vqe_energy():
    """NLopt's and scipy's COBYLA reach the same H2 ground energy (exact diagonalization)."""
    from qnoise import PTMSimulator, chem
    from qnoise.vqe import EnergyObjective
    from qnoise.vqe.ansatz import hardware_efficient

    problem = chem.load("H2-2q")
    ansatz = hardware_efficient(2, layers=1)
    results = {}
    for implementation in ("nlopt", "scipy"):
        objective = EnergyObjective(ansatz, problem.hamiltonian, problem.constant, PTMSimulator())
        x0 = np.full(ansatz.num_parameters, 0.2)
        result = COBYLA(maxiter=2000, tol=1e-6, implementation=implementation).minimize(
            objective, x0
        )
        assert result.nfev == objective.nfev <= 2000
        assert result.fun == min(objective.energies)  # the best evaluated point
        results[implementation] = result.fun
    assert abs(results["nlopt"] - problem.exact_energy) < 1e-6
    assert abs(results["scipy"] - problem.exact_energy) < 1e-6


def test_cobyla_keeps_its_simplex_inside_narrow_bounds():
    def fun(x):
        return float(np.sum((x - 0.3) ** 2) + 0.1 * np.sum(np.cos(3 * x)))

    bounds = [(0.0, 0.1)] * 4 + [(0.2, 0.2)]
    result = COBYLA(maxiter=300).minimize(fun, np.zeros(5), bounds=bounds)
    assert np.allclose(result.x, [0.1, 0.1, 0.1, 0.1, 0.2], atol=1e-6)
    with pytest.raises(ValueError, match="implementation"):
        COBYLA(implementation="fortran")
