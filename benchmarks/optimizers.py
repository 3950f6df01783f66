"""qnoise's optimizers against qiskit-algorithms' on the same objectives, seeds and budgets.

Problems: H2-2q (HEA, 1 layer, 8 parameters) and LiH-4q (HEA, 2 layers, 24 parameters) on
the Hartree-Fock state, noiseless (exact energies) and under fake_mumbai:median noise with
1e4-shot sampling; and a random 8-dimensional quadratic (condition number 10). Every
optimizer gets the same starting points (uniform in [-π, π)) and the same budget of energy
evaluations, counted by one wrapper around the objective (calibration and final
evaluations included, whatever the optimizer reports).

Errors: noiseless runs, |E(x) - E0| at the returned x; noisy runs, the exact noisy energy
at the returned x minus the best noisy energy found by L-BFGS-B with exact noisy gradients
from 20 starts ("noisy optimum"), and in brackets the noiseless error of x. "evals to
target": the evaluation count at which the optimizer's current iterate first has a
noiseless error below 1.6e-3 Ha (for noisy runs: parameters good to chemical accuracy;
quadratic: f < 1e-3). The budget counts evaluations, except for AQGD with exact gradients,
where it counts simulator passes (an iteration = 1 + 3 passes). The current iterate is the
one the optimizer reports per iteration (qnoise), the midpoint of each ± pair after the 50
calibration points (qiskit SPSA, whose callback would cost an extra evaluation per
iteration), every (2p+1)-th point (qiskit AQGD) or the best measured point (COBYLA).
"passes" counts one simulator pass per evaluation and 3 per exact gradient (reverse mode
measured at 2.5-3.1 evaluations for these circuits, docs/benchmarks.md).

A second table runs qiskit-algorithms' ``VQE`` on H2-2q (``real_amplitudes(2, reps=2)``, every
parameter starting at 0.1, ``maxiter=200``, exact energies from ``qnoise.Estimator``) with
qnoise's ``SPSA()`` and qiskit-algorithms' ``SPSA()`` at their defaults, per seed.

Usage: python benchmarks/optimizers.py [--seeds 5] [--quick] [--optimizers SPSA,COBYLA]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import platform
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from qiskit_algorithms import optimizers as qiskit_optimizers
from qiskit_algorithms.utils import algorithm_globals

from qnoise import PTMSimulator, chem
from qnoise.optim import AQGD, COBYLA, SPSA, AdamSPSA
from qnoise.vqe import EnergyObjective, hardware_efficient

ACCURACY = 1.6e-3
GRADIENT_COST = 3


@dataclass
class Tracked:
    """The objective every optimizer sees: counts points and traces the current iterate."""

    fun: object
    mode: str  # "callback", "best", "every:<k>" or "pairs:<skip>"
    count: int = 0
    trace: list = field(default_factory=list)
    best: float = np.inf
    accepts_batch: bool = True
    accepts_shots: bool = True
    _pair: list = field(default_factory=list)

    def __call__(self, x, shots=None):
        x = np.asarray(x, dtype=float)
        points = np.atleast_2d(x)
        values = np.atleast_1d(np.asarray(self.fun(points, shots=shots), dtype=float))
        for point, value in zip(points, values, strict=True):
            if self.mode.startswith("every:") and self.count % int(self.mode[6:]) == 0:
                self.trace.append((self.count + 1, point.copy()))
            self.count += 1
            skip = int(self.mode[6:]) if self.mode.startswith("pairs:") else None
            if skip is not None and self.count > skip and (self.count - skip) % 2 == 0:
                self._pair.append(point.copy())
                self.trace.append((self.count, (self._pair[0] + self._pair[1]) / 2))
            if skip is not None:
                self._pair = [point.copy()] if (self.count - skip) % 2 else []
            if self.mode == "best" and value < self.best:
                self.best = value
                self.trace.append((self.count, point.copy()))
        return float(values[0]) if x.ndim == 1 else values

    def mark(self, x):
        self.trace.append((self.count, np.array(x, dtype=float)))


@dataclass
class Problem:
    name: str
    p: int
    budget: int
    make_objective: object  # seed -> callable(points, shots=None)
    error: object  # x -> error reported in the table
    noiseless_error: object | None  # x -> noiseless error reported beside it (noisy runs)
    target_error: object  # x -> error compared with the target
    target: float
    adam_preset: dict


def _energy_problem(name, layers, noise, shots, budget, adam):
    problem = chem.load(name)
    ansatz = hardware_efficient(problem.num_qubits, layers, initial_state=problem.hf_circuit())
    ideal = EnergyObjective(ansatz, problem.hamiltonian, problem.constant)
    simulator = PTMSimulator(noise)
    exact_noisy = EnergyObjective(ansatz, problem.hamiltonian, problem.constant, simulator)

    def make(seed):
        return EnergyObjective(
            ansatz, problem.hamiltonian, problem.constant, simulator, shots=shots, seed=seed
        )

    noiseless_error = lambda x: ideal(x) - problem.exact_energy  # noqa: E731
    if noise is None:
        return Problem(
            f"{name} noiseless ({budget})", ansatz.num_parameters, budget, make,
            noiseless_error, None, noiseless_error, ACCURACY, adam,
        )  # fmt: skip
    reference = _noisy_optimum(exact_noisy, ansatz.num_parameters)
    return Problem(
        f"{name} {noise} + {shots} shots ({budget})", ansatz.num_parameters, budget, make,
        lambda x: exact_noisy(x) - reference, noiseless_error, noiseless_error, ACCURACY, adam,
    )  # fmt: skip


def _noisy_optimum(objective: EnergyObjective, p: int) -> float:
    from scipy.optimize import minimize

    rng = np.random.default_rng(12345)
    best = np.inf
    for _ in range(20):
        result = minimize(
            objective.value_and_gradient, rng.uniform(-np.pi, np.pi, p), jac=True,
            method="L-BFGS-B",
        )  # fmt: skip
        best = min(best, result.fun)
    return best


def _quadratic(budget: int) -> Problem:
    rng = np.random.default_rng(7)
    q, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    hessian = q @ np.diag(np.logspace(-0.5, 0.5, 8)) @ q.T
    optimum = rng.uniform(-1, 1, 8)

    def make(seed):
        def fun(points, shots=None):
            d = np.atleast_2d(points) - optimum
            return 0.5 * np.einsum("bi,ij,bj->b", d, hessian, d)

        return fun

    def error(x):
        d = np.asarray(x) - optimum
        return 0.5 * d @ hessian @ d

    return Problem(
        f"quadratic 8-d, cond 10 ({budget})",
        8,
        budget,
        make,
        error,
        None,
        error,
        1e-3,
        {"preset": "crlqas"},
    )


# ----------------------------------------------------------------- optimizer runners
def _qnoise(make_optimizer, exact_gradient=False):
    def run(problem, tracked, x0, seed, objective):
        optimizer = make_optimizer(problem, seed, lambda nit, x, f, nfev: tracked.mark(x))
        if not exact_gradient:
            return optimizer.minimize(tracked, x0).x, 0
        # one evaluation + one gradient per iteration: the budget is in simulator passes
        optimizer.maxfev = problem.budget // (1 + GRADIENT_COST)
        result = optimizer.minimize(tracked, x0, jac=objective.gradient)
        tracked.trace = [(count * (1 + GRADIENT_COST), x) for count, x in tracked.trace]
        return result.x, result.njev

    return run


def _qiskit_spsa(problem, tracked, x0, seed, objective):
    algorithm_globals.random_seed = seed
    # no callback: with one, qiskit's SPSA spends an extra evaluation per iteration
    optimizer = qiskit_optimizers.SPSA(maxiter=(problem.budget - 51) // 2)
    return optimizer.minimize(tracked, x0).x, 0


def _qiskit_aqgd(problem, tracked, x0, seed, objective):
    optimizer = qiskit_optimizers.AQGD(maxiter=(problem.budget - 1) // (2 * problem.p + 1))
    return optimizer.minimize(tracked, x0.copy()).x, 0  # it writes into x0


def _qiskit_cobyla(problem, tracked, x0, seed, objective):
    return qiskit_optimizers.COBYLA(maxiter=problem.budget).minimize(tracked, x0).x, 0


def _adam(problem, seed, callback):
    preset = dict(problem.adam_preset)
    name = preset.pop("preset")
    preset.setdefault("maxfev", problem.budget)
    return AdamSPSA.preset(name, seed=seed, callback=callback, **preset)


RUNNERS = {
    "qnoise SPSA": ("callback", _qnoise(
        lambda pr, s, cb: SPSA(maxiter=(pr.budget - 51) // 2, maxfev=pr.budget, seed=s,
                               callback=cb))),
    "qnoise AdamSPSA": ("callback", _qnoise(_adam)),
    "qnoise AdamSPSA c=0.2": ("callback", _qnoise(
        lambda pr, s, cb: AdamSPSA.preset("crlqas", maxfev=pr.budget, c=0.2, seed=s,
                                          callback=cb))),
    "qnoise AQGD (shift)": ("callback", _qnoise(
        lambda pr, s, cb: AQGD(maxiter=10**6, maxfev=pr.budget, callback=cb))),
    "qnoise AQGD (exact grad)": ("callback", _qnoise(
        lambda pr, s, cb: AQGD(maxiter=10**6, maxfev=pr.budget, callback=cb),
        exact_gradient=True)),
    "qnoise COBYLA": ("best", _qnoise(
        lambda pr, s, cb: COBYLA(maxiter=pr.budget, maxfev=pr.budget))),
    "qiskit SPSA": ("pairs:50", _qiskit_spsa),
    "qiskit AQGD": ("every", _qiskit_aqgd),
    "qiskit COBYLA": ("best", _qiskit_cobyla),
}  # fmt: skip


def _evaluate(problem: Problem, name: str, seeds: list[int]) -> dict:
    mode, runner = RUNNERS[name]
    errors, noiseless, to_target, walls, counts = [], [], [], [], []
    for seed in seeds:
        objective = problem.make_objective(seed)
        if mode == "every":
            mode = f"every:{2 * problem.p + 1}"
        tracked = Tracked(objective, mode)
        x0 = np.random.default_rng(seed).uniform(-np.pi, np.pi, problem.p)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            x, njev = runner(problem, tracked, x0, seed, objective)
        walls.append(time.perf_counter() - start)
        counts.append(tracked.count + GRADIENT_COST * njev)
        errors.append(problem.error(x))
        if problem.noiseless_error is not None:
            noiseless.append(problem.noiseless_error(x))
        reached = next(
            (
                count
                for count, point in tracked.trace
                if problem.target_error(point) < problem.target
            ),
            None,
        )
        to_target.append(reached)
    return {
        "errors": np.array(errors),
        "noiseless": np.array(noiseless),
        "to_target": to_target,
        "wall": np.mean(walls),
        "passes": np.mean(counts),
    }


def _format(problem: Problem, name: str, stats: dict) -> str:
    errors = stats["errors"]
    reached = [r for r in stats["to_target"] if r is not None]
    if reached:
        target = f"{np.median(reached):.0f} ({len(reached)}/{len(errors)})"
    else:
        target = f"— (0/{len(errors)})"
    noiseless = ""
    if stats["noiseless"].size:
        noiseless = f" [{stats['noiseless'].mean():.1e}]"
    return (
        f"| {problem.name} | {name} | {errors.mean():.1e} ± {errors.std():.1e}{noiseless} | "
        f"{target} | {stats['passes']:.0f} | {stats['wall']:.2f} |"
    )


def aqgd_gradient_table(seeds: list[int], budget: int = 150_000) -> None:
    """AQGD on noiseless LiH-4q with exact vs parameter-shift gradients, run long enough to
    reach chemical accuracy. The shift rule is exact for this ansatz, so both follow the same
    iterates; the table shows what each iteration costs."""
    problem = _energy_problem("LiH-4q", 2, None, None, budget, {})
    print(
        f"\n## AQGD on LiH-4q noiseless: exact vs parameter-shift gradient (budget {budget} "
        "simulator passes, same starts, eta 1.0, momentum 0.25)\n"
    )
    print(
        "| gradient | runs reaching 1.6e-3 | passes to target (median) | "
        "s to target (median) | final error (mean) | passes/iteration | ms/iteration |"
    )
    print("|---|---|---|---|---|---|---|")
    for label, exact in (
        ("parameter shift (2p+1 = 49 evaluations)", False),
        ("reverse mode (1 evaluation + 1 gradient)", True),
    ):
        reached, seconds, errors, per_iteration_s = [], [], [], []
        for seed in seeds:
            objective = problem.make_objective(seed)
            tracked = Tracked(objective, "callback")
            times = []
            start = time.perf_counter()

            def mark(nit, x, f, nfev, tracked=tracked, times=times, start=start):
                tracked.mark(x)
                times.append(time.perf_counter() - start)

            optimizer = AQGD(
                maxiter=10**6,
                tol=0.0,
                param_tol=0.0,
                callback=mark,
                maxfev=budget // (1 + GRADIENT_COST) if exact else budget,
            )
            x0 = np.random.default_rng(seed).uniform(-np.pi, np.pi, problem.p)
            result = optimizer.minimize(tracked, x0, jac=objective.gradient if exact else None)
            scale = 1 + GRADIENT_COST if exact else 1
            hit = next(
                (
                    i
                    for i, (_, x) in enumerate(tracked.trace)
                    if problem.target_error(x) < problem.target
                ),
                None,
            )
            if hit is not None:
                reached.append(tracked.trace[hit][0] * scale)
                seconds.append(times[hit])
            errors.append(problem.error(result.x))
            per_iteration_s.append(times[-1] / len(times))
        per_iteration = 1 + GRADIENT_COST if exact else 2 * problem.p + 1
        median = f"{np.median(reached):.0f}" if reached else "—"
        median_s = f"{np.median(seconds):.2f}" if seconds else "—"
        print(
            f"| {label} | {len(reached)}/{len(seeds)} | {median} | {median_s} | "
            f"{np.mean(errors):.1e} | {per_iteration} | {1e3 * np.mean(per_iteration_s):.2f} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="H2-2q only")
    parser.add_argument("--optimizers", help="comma-separated words; run rows whose optimizer "
                        "name contains one of them (default: all)")  # fmt: skip
    args = parser.parse_args()
    wanted = args.optimizers.split(",") if args.optimizers else None
    seeds = list(range(100, 100 + args.seeds))
    h2_adam = {"preset": "crlqas_h2_2q", "maxfev": 1000}
    lih_adam = {"preset": "crlqas_lih_4q"}
    problems = [
        _energy_problem("H2-2q", 1, None, None, 1000, h2_adam),
        _energy_problem("H2-2q", 1, "fake_mumbai:median", 10_000, 1000, h2_adam),
    ]
    if not args.quick:
        problems += [
            _energy_problem("LiH-4q", 2, None, None, 10_000, {"preset": "crlqas_lih_4q",
                            "stages": (7143, 2143, 714)}),
            _energy_problem("LiH-4q", 2, "fake_mumbai:median", 10_000, 1667,
                            {**lih_adam, "shots": 10_000}),
            _quadratic(1000),
        ]  # fmt: skip
    print(
        f"# Optimizers, {len(seeds)} seeds ({platform.machine()}, one thread, "
        f"{time.strftime('%Y-%m-%d')})\n"
    )
    print(
        "| problem (budget) | optimizer | final error, mean ± std [noiseless] | "
        "evals to target, median (runs reaching it) | passes/run | s/run |"
    )
    print("|---|---|---|---|---|---|")
    for problem in problems:
        for name in RUNNERS:
            if wanted and not any(word in name for word in wanted):
                continue
            gradient_free_problem = "shots" in problem.name or "quadratic" in problem.name
            if name.endswith("(exact grad)") and gradient_free_problem:
                continue
            stats = _evaluate(problem, name, seeds)
            print(_format(problem, name, stats), flush=True)
    spsa_vqe_table(seeds)
    if not args.quick and (not wanted or any("AQGD" in word for word in wanted)):
        aqgd_gradient_table(seeds)


def spsa_vqe_table(seeds: list[int]) -> None:
    """qiskit-algorithms' VQE on H2-2q with both SPSAs at their defaults (see module doc)."""
    from qiskit.circuit.library import real_amplitudes
    from qiskit_algorithms import VQE
    from qiskit_algorithms.utils import algorithm_globals

    from qnoise import Estimator

    problem = chem.load("H2-2q")
    ansatz = real_amplitudes(2, reps=2)
    start = np.full(ansatz.num_parameters, 0.1)
    ground = problem.exact_energy - problem.constant
    rows = {"qnoise SPSA()": [], "qiskit-algorithms SPSA()": []}
    for seed in seeds:
        algorithm_globals.random_seed = seed
        for name, optimizer in (
            ("qnoise SPSA()", SPSA(maxiter=200, seed=seed)),
            ("qiskit-algorithms SPSA()", qiskit_optimizers.SPSA(maxiter=200)),
        ):
            result = VQE(Estimator(), ansatz, optimizer, initial_point=start)
            value = result.compute_minimum_eigenvalue(problem.hamiltonian).eigenvalue.real
            rows[name].append(value - ground)
    print("\n# qiskit-algorithms VQE, H2-2q, real_amplitudes(2, reps=2), x0 = 0.1, maxiter=200\n")
    print("| optimizer | error per seed (Ha) | mean |")
    print("|---|---|---|")
    for name, errors in rows.items():
        cells = ", ".join(f"{e:.1e}" for e in errors)
        print(f"| {name} | {cells} | {np.mean(errors):.1e} |", flush=True)


if __name__ == "__main__":
    main()
