"""How far above its optimum does Rotosolve hold a circuit when every energy is a finite-shot
estimate, and how should a fixed shot budget per step be split?

Usage::

    python benchmarks/noisy_refinement.py [--problem LiH-4q]
        [--noise depolarizing:p1=1e-3,p2=5e-3] [--scale-factors 1,3,5] [--steps 20]
        [--repeats 6] [--circuits docs/results/lih_4q_depol_fast/s101/shortest.json ...]

Each circuit (a run's ``best.json`` or ``shortest.json``) is re-fitted on the exact
zero-noise-extrapolated energy (Richardson through ``--scale-factors``), then ``--steps``
environment-like steps are simulated from that optimum: each step is one Rotosolve call with
a fixed budget of mitigated evaluations, every value a Gaussian finite-shot estimate. Per
split of the budget (shots per estimate × evaluations per step, equal products) the table
gives the exact mitigated error of the final angles, mean ± std over ``--repeats`` seeds,
beside the circuit's optimum. A Rotosolve update leaves its angle off by about
σ / amplitude, which costs about σ² / amplitude of energy, so the same shots spent on fewer,
more precise estimates hold a circuit closer to its optimum; with a fixed sweep order a
short budget only ever updates the first angles, hence ``order="random"``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from qnoise import PTMSimulator, chem
from qnoise.agents.export import best_circuit
from qnoise.mitigation import ZNE
from qnoise.noise.resolve import resolve_noise
from qnoise.optim import Rotosolve
from qnoise.vqe.simplify import parametrize_rotations, refit_angles

DEFAULT_CIRCUITS = (
    "docs/results/lih_4q_depol_fast/s101/shortest.json",
    "docs/results/lih_4q_noiseless_fast/s101/shortest.json",
    "docs/results/lih_4q_depol_fast/s100/best.json",
)
#: (shots per mitigated estimate, Rotosolve budget of mitigated evaluations per step)
SPLITS = ((10_000, 56), (20_000, 28), (50_000, 11))


def refined_error(objective, exact, start, budget, steps, seed) -> float:
    """Exact mitigated error after ``steps`` Rotosolve calls on the shot-noise objective."""
    x = start.copy()
    for step in range(steps):
        optimizer = Rotosolve(maxiter=None, maxfev=budget, order="random", seed=(seed, step))
        x = optimizer.minimize(objective, x).x
    return float(exact(x))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--problem", default="LiH-4q")
    parser.add_argument("--noise", default="depolarizing:p1=1e-3,p2=5e-3")
    parser.add_argument("--scale-factors", default="1,3,5")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--circuits", nargs="*", default=list(DEFAULT_CIRCUITS))
    args = parser.parse_args()
    problem = chem.load(args.problem)
    simulator = PTMSimulator(resolve_noise(args.noise))
    zne = ZNE([float(v) for v in args.scale_factors.split(",")], "richardson")
    print(f"{problem.name} under {args.noise}, Richardson through {args.scale_factors}; "
          f"error of the exact mitigated energy after {args.steps} steps (Ha), mean ± std "
          f"over {args.repeats} seeds\n")  # fmt: skip
    header = "| circuit | gates | CNOTs | optimum |"
    for shots, budget in SPLITS:
        header += f" {shots:.0e} shots × {budget} |"
    print(header)
    print("|---" * (4 + len(SPLITS)) + "|")
    for path in args.circuits:
        circuit = best_circuit(json.loads(Path(path).read_text()))
        fitted, optimum = refit_angles(
            circuit, problem.hamiltonian, problem.constant, simulator, zne=zne
        )
        template, start = parametrize_rotations(fitted)
        exact = zne.objective(simulator, template, problem.hamiltonian, problem.constant)
        label = "/".join(Path(path).parts[-3:]).removesuffix(".json")
        line = (f"| {label} | {len(circuit.data)} | {circuit.count_ops().get('cx', 0)} | "
                f"{optimum - problem.exact_energy:.2e} |")  # fmt: skip
        for shots, budget in SPLITS:
            errors = []
            for seed in range(args.repeats):
                noisy = zne.objective(simulator, template, problem.hamiltonian,
                                      problem.constant, shots=shots, shot_model="gaussian",
                                      seed=seed)  # fmt: skip
                final = refined_error(noisy, exact, start, budget, args.steps, seed)
                errors.append(final - problem.exact_energy)
            line += f" {np.mean(errors):.2e} ± {np.std(errors):.1e} |"
        print(line, flush=True)


if __name__ == "__main__":
    main()
