"""The inner optimizer of architecture search on the same circuits: the published choice
beside qnoise's levers.

Usage::

    python benchmarks/inner_optimizers.py [--episodes 5] [--steps 20]

Every setting plays the same episodes: ``--episodes`` sequences of ``--steps`` random legal
actions (seeds 0, 1, ...) on LiH-4q, with the curriculum and random halting off, so each
optimizer is asked for the same circuits one gate at a time, warm-started from its own
previous angles as in training. Reported per setting: the mean noiseless error of the final
circuits (and of the exact noisy energy where there is noise), how many of the episodes
end below chemical accuracy without noise, evaluations per step and wall time per step.

Settings (CRLQAS's published choice first in each group):

* noiseless: COBYLA (maxiter 1000) | L-BFGS-B, exact gradients | L-BFGS-B with each new
  angle started at its sinusoid's minimum (``new_angle="best"``) | Rotosolve (sweeps to
  1e-10 Ha, at most 20);
* fake_mumbai:median, exact energies: Adam-SPSA (tuned LiH stages) | L-BFGS-B | Rotosolve;
* depolarizing 1e-3 / 5e-3 with 1e4 shots (Gaussian): Adam-SPSA (stages 1191/357/119 at
  N/100, N/10, N shots) | Rotosolve with the same shot budget (167 evaluations of 1e4 shots).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import platform
import time

import numpy as np

from qnoise.chem.problem import CHEMICAL_ACCURACY
from qnoise.envs import ArchSearchEnv

DEPOLARIZING = "depolarizing:p1=1e-3,p2=5e-3"
SHOTS = {"shots": 10_000, "shot_model": "gaussian"}

SETTINGS = (
    ("noiseless", "COBYLA (published)", {"noise": None, "optimizer": "cobyla"}),
    ("noiseless", "L-BFGS-B", {"noise": None, "optimizer": "lbfgsb"}),
    ("noiseless", "L-BFGS-B, best start", {"noise": None, "optimizer": "lbfgsb",
                                           "new_angle": "best"}),
    ("noiseless", "Rotosolve", {"noise": None, "optimizer": "rotosolve"}),
    ("fake_mumbai:median", "Adam-SPSA (published)", {"noise": "fake_mumbai:median",
                                                     "optimizer": "adam_spsa"}),
    ("fake_mumbai:median", "L-BFGS-B", {"noise": "fake_mumbai:median", "optimizer": "lbfgsb"}),
    ("fake_mumbai:median", "Rotosolve", {"noise": "fake_mumbai:median",
                                         "optimizer": "rotosolve"}),
    ("depolarizing + 1e4 shots", "Adam-SPSA (published)", {"noise": DEPOLARIZING,
                                                           "optimizer": "adam_spsa", **SHOTS}),
    ("depolarizing + 1e4 shots", "Rotosolve, same shots", {"noise": DEPOLARIZING,
                                                           "optimizer": "rotosolve",
                                                           "maxfev": 167, **SHOTS}),
)  # fmt: skip


def action_sequences(episodes: int, steps: int) -> list[list[int]]:
    """Random legal action sequences (masked by a noiseless environment)."""
    env = ArchSearchEnv(problem="LiH-4q", noise=None, optimizer="cobyla", maxfev=1,
                        random_halting=False, curriculum=False, threshold=1e-9)  # fmt: skip
    sequences = []
    for episode in range(episodes):
        rng = np.random.default_rng(episode)
        env.reset(seed=episode)
        actions = []
        for _ in range(steps):
            action = int(rng.choice(np.flatnonzero(env.action_masks())))
            env.step(action)
            actions.append(action)
        sequences.append(actions)
    return sequences


def play(options: dict, sequences: list[list[int]]) -> dict:
    env = ArchSearchEnv(problem="LiH-4q", random_halting=False, curriculum=False,
                        threshold=1e-9, max_steps=100, **options)  # fmt: skip
    noiseless, noisy, nfev, seconds = [], [], [], 0.0
    for episode, actions in enumerate(sequences):
        env.reset(seed=episode)
        start = time.perf_counter()
        for action in actions:
            *_, info = env.step(action)
            nfev.append(info["nfev"])
        seconds += time.perf_counter() - start
        noiseless.append(info["noiseless_error"])
        circuit = env.circuit()
        exact = env.simulator.expectation(circuit, env.problem.hamiltonian) + env.problem.constant
        noisy.append(abs(exact - env.target))
    steps = sum(len(a) for a in sequences)
    return {
        "noiseless_error": float(np.mean(noiseless)),
        "noisy_error": float(np.mean(noisy)),
        "accurate": sum(e < CHEMICAL_ACCURACY for e in noiseless),
        "nfev_per_step": float(np.mean(nfev)),
        "ms_per_step": 1e3 * seconds / steps,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    sequences = action_sequences(args.episodes, args.steps)
    print(f"{platform.processor() or platform.machine()}, LiH-4q, {args.episodes} episodes of "
          f"{args.steps} random legal gates (seeds 0-{args.episodes - 1})")  # fmt: skip
    print("| noise | inner optimizer | final noiseless error (Ha, mean) | final exact noisy "
          "error | episodes below 1.6e-3 | evaluations per step | ms per step |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for noise, name, options in SETTINGS:
        r = play(options, sequences)
        noisy = "—" if options["noise"] is None else f"{r['noisy_error']:.2e}"
        print(f"| {noise} | {name} | {r['noiseless_error']:.2e} | {noisy} | "
              f"{r['accurate']}/{args.episodes} | {r['nfev_per_step']:.0f} | "
              f"{r['ms_per_step']:.1f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
