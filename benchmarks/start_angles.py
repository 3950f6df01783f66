"""Does the inner optimizer leave the Hartree–Fock state? Start angles of new rotations
compared on the same gate sequences.

Usage::

    python benchmarks/start_angles.py [--problem LiH-6q] [--sequences 5] [--gates 60]

Each sequence is an RX on every qubit (the step optimizer turns them to 0 or π, which
prepares the Hartree–Fock determinant) followed by ``--gates`` random legal actions, played
in the architecture-search environment without noise, random halting or curriculum, so
every variant sees the same circuits. Per variant (inner optimizer and ``new_angle``) the
table gives the error after the RX layer and the lowest error along the sequence, per
sequence (Ha). On a computational-basis state every rotation angle at 0 or π is a minimum
of its own sinusoid for a particle-conserving Hamiltonian, so coordinate sweeps started
there (Rotosolve, ``new_angle="zero"``) can stay at Hartree–Fock whatever gates follow;
a small random start angle gives the sweeps a direction out of it.
"""

from __future__ import annotations

import argparse

import numpy as np

from qnoise.envs import ArchSearchEnv

VARIANTS = (("rotosolve", "zero"), ("rotosolve", "random"), ("lbfgsb", "best"))


def lowest_errors(problem: str, optimizer: str, new_angle: str, actions) -> tuple[float, float]:
    """(error after the RX layer, lowest error along the sequence) for one variant."""
    env = ArchSearchEnv(problem=problem, noise=None, optimizer=optimizer, new_angle=new_angle,
                        random_halting=False, curriculum=False, threshold=1e-12,
                        seed=0)  # fmt: skip
    errors = []
    for action in actions:
        if not env.action_masks()[action]:
            continue
        *_, terminated, truncated, info = env.step(action)
        errors.append(info["error"])
        if terminated or truncated:
            break
    return errors[env.num_qubits - 1], min(errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--problem", default="LiH-6q")
    parser.add_argument("--sequences", type=int, default=5)
    parser.add_argument("--gates", type=int, default=60)
    args = parser.parse_args()
    env = ArchSearchEnv(problem=args.problem, noise=None)
    names = [str(g) for g in env.actions]
    rx_layer = [names.index(f"rx({q},)") for q in range(env.num_qubits)]
    rng = np.random.default_rng(0)
    sequences = [rx_layer + rng.integers(len(names), size=args.gates).tolist()
                 for _ in range(args.sequences)]  # fmt: skip
    print(f"{args.problem}, {args.sequences} sequences of an RX layer and {args.gates} random "
          "actions; error after the RX layer → lowest error along the sequence (Ha)\n")  # fmt: skip
    print("| inner optimizer | new_angle | " + " | ".join(
        f"sequence {i}" for i in range(args.sequences)) + " | median lowest |")  # fmt: skip
    print("|---|---|" + "---|" * args.sequences + "---|")
    for optimizer, new_angle in VARIANTS:
        results = [lowest_errors(args.problem, optimizer, new_angle, s) for s in sequences]
        cells = [f"{start:.2e} → {low:.2e}" for start, low in results]
        median = np.median([low for _, low in results])
        print(f"| {optimizer} | {new_angle} | " + " | ".join(cells) + f" | {median:.2e} |",
              flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
