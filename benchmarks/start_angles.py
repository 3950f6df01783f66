"""Does the inner optimizer leave the Hartree–Fock state? Start angles of new rotations
and random restarts compared on the same gate sequences.

Usage::

    python benchmarks/start_angles.py [--problem LiH-6q] [--sequences 5] [--gates 60]
        [--hea-layers 3]

Each sequence is an RX on every qubit (the step optimizer turns them to 0 or π, which
prepares the Hartree–Fock determinant) followed by ``--gates`` random legal actions, or
(the last column) by the gates of a hardware-efficient ansatz with ``--hea-layers`` layers
(:func:`qnoise.vqe.hardware_efficient`'s order: RY on every qubit, RZ on every qubit, a
CNOT ladder, ..., a final rotation layer), played in the architecture-search environment
without noise, random halting or curriculum, so every variant sees the same circuits.
Per variant (inner optimizer, ``new_angle`` and ``restarts``) the table gives the error
after the RX layer and the lowest error along the sequence, per sequence (Ha). On a
computational-basis state every rotation angle at 0 or π is a minimum of its own sinusoid
for a particle-conserving Hamiltonian, so coordinate sweeps started there (Rotosolve,
``new_angle="zero"``) can stay at Hartree–Fock whatever gates follow; a small random start
angle gives the sweeps a direction out of it, and random restarts reach other basins.
"""

from __future__ import annotations

import argparse

import numpy as np

from qnoise.envs import ArchSearchEnv
from qnoise.vqe import hardware_efficient

VARIANTS = (
    ("rotosolve", "zero", 0),
    ("rotosolve", "random", 0),
    ("lbfgsb", "best", 0),
    ("rotosolve", "zero", 2),
    ("lbfgsb", "zero", 2),
)


def lowest_errors(problem: str, variant: tuple[str, str, int], actions) -> tuple[float, float]:
    """(error after the RX layer, lowest error along the sequence) for one variant."""
    optimizer, new_angle, restarts = variant
    env = ArchSearchEnv(problem=problem, noise=None, optimizer=optimizer, new_angle=new_angle,
                        restarts=restarts, random_halting=False, curriculum=False,
                        threshold=1e-12, max_steps=len(actions), seed=0)  # fmt: skip
    errors = []
    for action in actions:
        if not env.action_masks()[action]:
            continue
        *_, terminated, truncated, info = env.step(action)
        errors.append(info["error"])
        if terminated or truncated:
            break
    return errors[env.num_qubits - 1], min(errors)


def hea_sequence(names: list[str], num_qubits: int, layers: int) -> list[int]:
    """Action indices of :func:`qnoise.vqe.hardware_efficient`'s gates, in its order."""
    ansatz = hardware_efficient(num_qubits, layers)
    gates = [f"{op.operation.name}{tuple(ansatz.find_bit(q).index for q in op.qubits)}"
             for op in ansatz.data]  # fmt: skip
    return [names.index(gate) for gate in gates]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--problem", default="LiH-6q")
    parser.add_argument("--sequences", type=int, default=5)
    parser.add_argument("--gates", type=int, default=60)
    parser.add_argument("--hea-layers", type=int, default=3)
    args = parser.parse_args()
    env = ArchSearchEnv(problem=args.problem, noise=None)
    names = [str(g) for g in env.actions]
    rx_layer = [names.index(f"rx({q},)") for q in range(env.num_qubits)]
    rng = np.random.default_rng(0)
    sequences = [rx_layer + rng.integers(len(names), size=args.gates).tolist()
                 for _ in range(args.sequences)]  # fmt: skip
    sequences.append(rx_layer + hea_sequence(names, env.num_qubits, args.hea_layers))
    print(
        f"{args.problem}, {args.sequences} sequences of an RX layer and {args.gates} random "
        f"actions, and an RX layer and a {args.hea_layers}-layer hardware-efficient "
        "ansatz; error after the RX layer → lowest error along the sequence (Ha)\n"
    )
    print("| inner optimizer | new_angle | restarts | " + " | ".join(
        f"sequence {i}" for i in range(args.sequences)) + " | median lowest (random) | "
        f"HEA, {args.hea_layers} layers |")  # fmt: skip
    print("|---|---|---|" + "---|" * args.sequences + "---|---|")
    for variant in VARIANTS:
        results = [lowest_errors(args.problem, variant, s) for s in sequences]
        cells = [f"{start:.2e} → {low:.2e}" for start, low in results]
        median = np.median([low for _, low in results[:-1]])
        print("| " + " | ".join(str(v) for v in variant) + " | "
              + " | ".join(cells[:-1]) + f" | {median:.2e} | {cells[-1]} |",
              flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
