"""Do circuits that are chemically accurate without noise stay so when their angles are fitted
under noise, and which circuits does a noisy-energy reward prefer?

Usage::

    python benchmarks/accurate_under_noise.py [--problem LiH-4q]
        [--accurate docs/results/lih_4q_noiseless_fast]
        [--found docs/results/lih_4q_depol_fast docs/results/lih_4q_mumbai_median_fast]
        [--noise depolarizing:p1=1e-3,p2=5e-3 fake_mumbai:median]

For every circuit (the shortest chemically accurate circuits of the ``--accurate`` runs, the
best circuits by noisy energy of the ``--found`` runs) and every noise model, the angles are
re-fitted on the exact noisy energy (:func:`qnoise.vqe.simplify.refit_angles`: L-BFGS-B on
reverse-mode gradients from the circuit's own angles). The table gives the noisy error of
the re-fitted circuit and the noiseless error of the same angles (the "noiseless
re-evaluation"). A circuit can only be an agent's answer under a noisy-energy reward if its
noisy error is the lowest; it meets a noiseless-accuracy goal only if the second number is
below chemical accuracy.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from qnoise import PTMSimulator, chem
from qnoise.chem.problem import CHEMICAL_ACCURACY
from qnoise.vqe import EnergyObjective
from qnoise.vqe.simplify import refit_angles


def circuits(folder: Path, name: str):
    """``(label, circuit)`` of ``name`` (best.json or shortest.json) in each seed folder."""
    from qnoise.agents.export import best_circuit

    for seed in sorted(p for p in folder.glob("s*") if (p / name).is_file()):
        record = json.loads((seed / name).read_text())
        yield f"{folder.name}/{seed.name} {name.split('.')[0]}", best_circuit(record)


def energy(circuit, problem, simulator) -> float:
    objective = EnergyObjective(circuit, problem.hamiltonian, problem.constant, simulator)
    return float(objective(np.zeros(0)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--problem", default="LiH-4q")
    parser.add_argument("--accurate", nargs="*", default=["docs/results/lih_4q_noiseless_fast"])
    parser.add_argument("--found", nargs="*", default=["docs/results/lih_4q_depol_fast",
                        "docs/results/lih_4q_mumbai_median_fast"])  # fmt: skip
    parser.add_argument("--noise", nargs="*",
                        default=["depolarizing:p1=1e-3,p2=5e-3", "fake_mumbai:median"])  # fmt: skip
    args = parser.parse_args()
    problem = chem.load(args.problem)
    ideal = PTMSimulator()
    rows = [c for f in args.accurate for c in circuits(Path(f), "shortest.json")]
    rows += [c for f in args.found for c in circuits(Path(f), "best.json")]
    header = "| circuit | gates | CNOTs | noiseless error |"
    rule = "|---|---|---|---|"
    for noise in args.noise:
        header += f" {noise}: noisy error after re-fit | its noiseless error |"
        rule += "---|---|"
    print(f"{problem.name}, E0 = {problem.exact_energy:.6f} Ha, chemical accuracy "
          f"{CHEMICAL_ACCURACY:.1e} Ha\n")  # fmt: skip
    print(header)
    print(rule)
    simulators = [PTMSimulator(noise) for noise in args.noise]
    for label, circuit in rows:
        cnots = circuit.count_ops().get("cx", 0)
        line = (f"| {label} | {len(circuit.data)} | {cnots} | "
                f"{energy(circuit, problem, ideal) - problem.exact_energy:.2e} |")  # fmt: skip
        for simulator in simulators:
            refit, noisy = refit_angles(circuit, problem.hamiltonian, problem.constant, simulator)
            noiseless = energy(refit, problem, ideal) - problem.exact_energy
            line += f" {noisy - problem.exact_energy:.2e} | {noiseless:.2e} |"
        print(line, flush=True)


if __name__ == "__main__":
    main()
