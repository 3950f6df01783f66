"""The noise floor of a noise model: the lowest noisy energy a noisy VQE reaches.

Usage::

    python benchmarks/noise_floor.py --problem LiH-4q --noise fake_mumbai:median
        [--layers 0,1,2,3] [--starts 5] [--wide-starts 5] [--rotations ry,rz]
        [--out docs/results/noise_floor_lih_4q_mumbai.json]

Under gate noise and readout error the exact noisy energy of any circuit lies above the
ground energy E0; how far depends on the circuit. This script minimizes the exact noisy
energy (no shots) of hardware-efficient ansätze (:func:`qnoise.vqe.hardware_efficient`,
``layers`` RY-RZ + CNOT-ladder layers and a final rotation layer, or with ``--rotations ry``
RY-only layers, a real ansatz; 0 layers is one rotation layer without CNOTs) with L-BFGS-B
on reverse-mode gradients, from ``--starts`` random starts near the product state (angles
uniform in ±0.1 rad, seeds 0, 1, ...) and ``--wide-starts`` spread over the whole torus
(uniform in ±π, the seeds that follow), and prints per ansatz the lowest noisy energy over
all starts, its error, the noiseless error of the same angles and the CNOT count. Both kinds
matter: near-zero starts keep the circuit close to a product state (few gates' worth of
noise), and a deep ansatz's lowest minima are often far from the origin.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from qnoise import PTMSimulator, chem
from qnoise.files import atomic_write
from qnoise.noise.resolve import resolve_noise
from qnoise.optim import LBFGSB
from qnoise.vqe import EnergyObjective, hardware_efficient


def floor(
    problem_name: str,
    noise: str,
    layers: list[int],
    starts: int,
    wide_starts: int = 0,
    rotations: tuple[str, ...] = ("ry", "rz"),
) -> list[dict]:
    problem = chem.load(problem_name)
    noisy, ideal = PTMSimulator(resolve_noise(noise)), PTMSimulator()
    rows = []
    for depth in layers:
        if depth == 0:
            ansatz = hardware_efficient(problem.num_qubits, layers=1, entanglement="none",
                                        final_rotations=False, rotations=rotations)  # fmt: skip
        else:
            ansatz = hardware_efficient(problem.num_qubits, layers=depth, rotations=rotations)
        objective = EnergyObjective(ansatz, problem.hamiltonian, problem.constant, noisy)
        exact = EnergyObjective(ansatz, problem.hamiltonian, problem.constant, ideal)
        best = None
        for seed in range(starts + wide_starts):
            spread = 0.1 if seed < starts else np.pi
            x0 = np.random.default_rng(seed).uniform(-spread, spread, ansatz.num_parameters)
            result = LBFGSB(maxiter=5000).minimize(objective, x0, jac=objective.gradient)
            if best is None or result.fun < best.fun:
                best = result
        rows.append({
            "layers": depth,
            "gates": ansatz.size(),
            "cnots": int(ansatz.count_ops().get("cx", 0)),
            "parameters": ansatz.num_parameters,
            "noisy_energy": best.fun,
            "noisy_error": best.fun - problem.exact_energy,
            "noiseless_error": exact(best.x) - problem.exact_energy,
        })  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problem", default="LiH-4q")
    parser.add_argument("--noise", default="fake_mumbai:median")
    parser.add_argument("--layers", default="0,1,2,3")
    parser.add_argument("--starts", type=int, default=5, help="starts in ±0.1 rad")
    parser.add_argument("--wide-starts", type=int, default=5, help="starts in ±π")
    parser.add_argument("--rotations", default="ry,rz", help="rotation gates of each layer")
    parser.add_argument("--out", help="JSON file for the rows")
    args = parser.parse_args()
    layers = [int(v) for v in args.layers.split(",")]
    rotations = tuple(args.rotations.split(","))
    rows = floor(args.problem, args.noise, layers, args.starts, args.wide_starts, rotations)
    print(f"{args.problem} under {args.noise}, rotation layers {'-'.join(rotations).upper()}: "
          f"E0 = {chem.load(args.problem).exact_energy:.6f} Ha")  # fmt: skip
    print("| ansatz layers | gates | CNOTs | parameters | lowest noisy E (Ha) | noisy error | "
          "noiseless error of those angles |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['layers']} | {r['gates']} | {r['cnots']} | {r['parameters']} | "
              f"{r['noisy_energy']:.5f} | {r['noisy_error']:.3e} | "
              f"{r['noiseless_error']:.3e} |")  # fmt: skip
    if args.out:
        payload = {"problem": args.problem, "noise": args.noise,
                   "rotations": list(rotations), "starts": args.starts,
                   "wide_starts": args.wide_starts, "rows": rows}  # fmt: skip
        atomic_write(Path(args.out), json.dumps(payload, indent=1).encode())


if __name__ == "__main__":
    main()
