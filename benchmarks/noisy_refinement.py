"""How far above its optimum does Rotosolve hold a circuit when every energy is a finite-shot
estimate, and how should a fixed shot budget per step be split?

Usage::

    python benchmarks/noisy_refinement.py [--problem LiH-4q]
        [--noise depolarizing:p1=1e-3,p2=5e-3] [--scale-factors 1,3,5]
        [--extrapolation richardson] [--steps 20] [--repeats 6]
        [--circuits docs/results/lih_4q_depol_fast/s101/shortest.json ...]

Each circuit (a run's ``best.json`` or ``shortest.json``) is re-fitted on the exact
zero-noise-extrapolated energy (``--extrapolation`` through ``--scale-factors``), then
``--steps`` environment-like steps are simulated from that optimum: each step is one Rotosolve
call with a fixed budget of mitigated evaluations, every value a Gaussian finite-shot
estimate. Every split spends 1.68e6 shots per step, whatever the number of scale factors;
per split (shots per scale factor × evaluations per step) the table
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
from qnoise.vqe.objective import EnergyObjective
from qnoise.vqe.simplify import parametrize_rotations, refit_angles

DEFAULT_CIRCUITS = (
    "docs/results/lih_4q_depol_fast/s101/shortest.json",
    "docs/results/lih_4q_noiseless_fast/s101/shortest.json",
    "docs/results/lih_4q_depol_fast/s100/best.json",
)
#: (shots per mitigated estimate, all scale factors together; Rotosolve budget of mitigated
#: evaluations per step)
SPLITS = ((30_000, 56), (60_000, 28), (150_000, 11))


def refined_angles(objective, start, budget, steps, seed) -> np.ndarray:
    """The angles after ``steps`` Rotosolve calls on the shot-noise objective."""
    x = start.copy()
    for step in range(steps):
        optimizer = Rotosolve(maxiter=None, maxfev=budget, order="random", seed=(seed, step))
        x = optimizer.minimize(objective, x).x
    return x


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--problem", default="LiH-4q")
    parser.add_argument("--noise", default="depolarizing:p1=1e-3,p2=5e-3")
    parser.add_argument("--scale-factors", default="1,3,5")
    parser.add_argument("--extrapolation", default="richardson", choices=("richardson", "linear"))
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--circuits", nargs="*", default=list(DEFAULT_CIRCUITS))
    args = parser.parse_args()
    problem = chem.load(args.problem)
    simulator = PTMSimulator(resolve_noise(args.noise))
    scale_factors = [float(v) for v in args.scale_factors.split(",")]
    zne = ZNE(scale_factors, args.extrapolation)
    splits = [(shots // len(scale_factors), budget) for shots, budget in SPLITS]
    print(f"{problem.name} under {args.noise}, {args.extrapolation} extrapolation through "
          f"{args.scale_factors}; "
          f"error of the exact mitigated energy after {args.steps} steps (Ha), mean ± std "
          f"over {args.repeats} seeds, and in brackets the mean noiseless error of the same "
          f"angles\n")  # fmt: skip
    header = "| circuit | gates | CNOTs | optimum (noiseless) |"
    for shots, budget in splits:
        header += f" {shots:.2g} shots × {budget} |"
    print(header)
    print("|---" * (4 + len(splits)) + "|")
    for path in args.circuits:
        circuit = best_circuit(json.loads(Path(path).read_text()))
        fitted, optimum = refit_angles(
            circuit, problem.hamiltonian, problem.constant, simulator, zne=zne
        )
        template, start = parametrize_rotations(fitted)
        exact = zne.objective(simulator, template, problem.hamiltonian, problem.constant)
        ideal = EnergyObjective(template, problem.hamiltonian, problem.constant, PTMSimulator())
        label = "/".join(Path(path).parts[-3:]).removesuffix(".json")
        line = (f"| {label} | {len(circuit.data)} | {circuit.count_ops().get('cx', 0)} | "
                f"{optimum - problem.exact_energy:.2e} "
                f"({ideal(start) - problem.exact_energy:.1e}) |")  # fmt: skip
        for shots, budget in splits:
            errors, noiseless = [], []
            for seed in range(args.repeats):
                noisy = zne.objective(simulator, template, problem.hamiltonian,
                                      problem.constant, shots=shots, shot_model="gaussian",
                                      seed=seed)  # fmt: skip
                final = refined_angles(noisy, start, budget, args.steps, seed)
                errors.append(exact(final) - problem.exact_energy)
                noiseless.append(ideal(final) - problem.exact_energy)
            line += (f" {np.mean(errors):.2e} ± {np.std(errors):.1e} "
                     f"({np.mean(noiseless):.1e}) |")  # fmt: skip
        print(line, flush=True)


if __name__ == "__main__":
    main()
