"""VQE on every shipped molecule: noiseless and under fake_mumbai:median noise.

For each problem the hardware-efficient ansatz (RY-RZ + CNOT ladder on the Hartree-Fock
state) is optimized with L-BFGS-B and the exact reverse-mode gradient from several seeded
random starts; UCCSD (from qiskit-nature, if installed) starts from the Hartree-Fock point.
Noisy runs use exact (infinite-shot) noisy energies. Errors are against the exact ground
energy of the qubit Hamiltonian; "noiseless err" re-evaluates the final parameters without
noise. Prints a Markdown table.

Usage: python benchmarks/vqe_molecules.py [--seeds 3] [--noise fake_mumbai:median]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import platform
import time

import numpy as np

from qnoise import PTMSimulator, chem
from qnoise.chem._extra import chem_extra_available
from qnoise.vqe import VQE, hardware_efficient, uccsd

#: hardware-efficient layers per qubit count
LAYERS = {2: 1, 4: 2, 6: 3, 8: 3}


def _runs(problem, ansatz, simulator, starts):
    results = []
    for initial_point in starts:
        results.append(VQE(ansatz, problem, simulator).run(initial_point=initial_point))
    return results


def _row(name, label, ansatz, noise, results) -> str:
    errors = np.array([r.error for r in results])
    noiseless = np.array([r.noiseless_error for r in results])
    best = int(np.argmin(errors))
    cx = ansatz.count_ops().get("cx", 0)
    return (
        f"| {name} | {label} | {ansatz.num_parameters} | {cx} | {noise} | "
        f"{errors[best]:.1e} | {np.median(errors):.1e} | {noiseless[best]:.1e} | "
        f"{np.mean([r.nfev for r in results]):.0f} | "
        f"{np.mean([r.wall_time for r in results]):.2f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="random starts per HEA run")
    parser.add_argument("--noise", default="fake_mumbai:median")
    args = parser.parse_args()
    print(
        f"# VQE on the shipped molecules ({platform.processor() or platform.machine()}, "
        f"one thread, {time.strftime('%Y-%m-%d')})\n"
    )
    print(
        "| problem | ansatz | params | CX | noise | best err (Ha) | median err (Ha) | "
        "noiseless err of best (Ha) | evaluations/run | s/run |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    simulators = {"none": PTMSimulator(), args.noise: PTMSimulator(args.noise)}
    for name in chem.available():
        problem = chem.load(name)
        layers = LAYERS[problem.num_qubits]
        hea = hardware_efficient(problem.num_qubits, layers, initial_state=problem.hf_circuit())
        rng = np.random.default_rng(2026)
        starts = [rng.uniform(-np.pi, np.pi, hea.num_parameters) for _ in range(args.seeds)]
        ansatze = [(f"HEA L={layers}", hea, starts)]
        if chem_extra_available():
            ucc = uccsd(problem)
            ansatze.append(("UCCSD", ucc, [np.zeros(ucc.num_parameters)]))
        for label, ansatz, points in ansatze:
            for noise, simulator in simulators.items():
                results = _runs(problem, ansatz, simulator, points)
                print(_row(name, label, ansatz, noise, results), flush=True)


if __name__ == "__main__":
    main()
