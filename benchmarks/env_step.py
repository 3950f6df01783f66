"""Steps per second of the architecture-search environment, with the time split.

Random legal actions; the threshold is kept out of reach (1e-9 Ha, no curriculum) so
episodes run to their halting step or cap and circuits reach realistic sizes. Noiseless runs
use COBYLA (CRLQAS: maxiter 100 for 2-3 qubits, 1000 for 4-8); noisy runs use
fake_mumbai:median with Adam-SPSA and CRLQAS's budgets (H2: maxfev 500; LiH: stages
1191/357/119), exact energies. The split: simulator (compiling each new circuit and its
observable, evaluating energies, the noiseless energy included), optimizer overhead (time
inside the optimizer that is not simulation), environment bookkeeping (everything else:
building circuits, encoding, masks, info).

Adam-SPSA on exact energies runs whole stages in compiled code; its simulator share is
measured by replaying the evaluations of each compiled stage (the same points, in batches of
two, through the same kernel) outside the timed wall clock.

Usage: python benchmarks/env_step.py [--steps 200] [--h2o]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import platform
import time
from collections import defaultdict
from contextlib import contextmanager

import numpy as np
from numba import njit

from qnoise.envs import ArchSearchEnv
from qnoise.optim import adam_spsa
from qnoise.optim.base import Optimizer
from qnoise.sim.batched import evaluate_points
from qnoise.sim.program import CompiledCircuit
from qnoise.sim.simulator import PTMSimulator

TIMES: dict[str, float] = defaultdict(float)
_inside_optimizer = [False]


def _timed(owner, name: str, bucket: str) -> None:
    original = getattr(owner, name)

    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            elapsed = time.perf_counter() - start
            if bucket == "simulate" and _inside_optimizer[0]:
                TIMES["simulate (in optimizer)"] += elapsed
            else:
                TIMES[bucket] += elapsed

    setattr(owner, name, wrapper)


@njit(cache=True)
def _replay(program, points, pair_values):
    for i in range(points.shape[0] // 2):
        evaluate_points(program, points[2 * i : 2 * i + 2], pair_values)


def _time_native_simulation(original):
    """Wrap the compiled Adam-SPSA stage: after it ran, time its evaluations alone (replayed)
    as simulation inside the optimizer; the replay itself goes to the "replay" bucket, which
    callers take off their wall clock."""

    def wrapper(program, *args):
        result = original(program, *args)
        points = args[15]  # see _adam_spsa_iterations's signature
        start = time.perf_counter()
        _replay(program, points, np.empty(2))
        elapsed = time.perf_counter() - start
        TIMES["simulate (in optimizer)"] += elapsed
        TIMES["replay"] += elapsed
        return result

    return wrapper


def split(wall: float) -> dict[str, float]:
    """Seconds of the simulator and of optimizer overhead, and the time the work took
    (``wall`` less the replays), from the timers."""
    total = wall - TIMES["replay"]
    simulator = TIMES["compile"] + TIMES["simulate"] + TIMES["simulate (in optimizer)"]
    optimizer = TIMES["optimizer total"] - TIMES["replay"] - TIMES["simulate (in optimizer)"]
    return {"total": total, "simulator": simulator, "optimizer": optimizer}


@contextmanager
def _instrumented():
    saved = {
        (adam_spsa, "_adam_spsa_iterations"): adam_spsa._adam_spsa_iterations,
        (PTMSimulator, "compile"): PTMSimulator.compile,
        (CompiledCircuit, "prepare"): CompiledCircuit.prepare,
        (CompiledCircuit, "expectation_batch"): CompiledCircuit.expectation_batch,
        (CompiledCircuit, "value_and_gradient"): CompiledCircuit.value_and_gradient,
        (Optimizer, "minimize"): Optimizer.minimize,
    }
    adam_spsa._adam_spsa_iterations = _time_native_simulation(adam_spsa._adam_spsa_iterations)
    _timed(PTMSimulator, "compile", "compile")
    _timed(CompiledCircuit, "prepare", "compile")
    _timed(CompiledCircuit, "expectation_batch", "simulate")
    _timed(CompiledCircuit, "value_and_gradient", "simulate")
    original_minimize = Optimizer.minimize

    def minimize(self, *args, **kwargs):
        _inside_optimizer[0] = True
        start = time.perf_counter()
        try:
            return original_minimize(self, *args, **kwargs)
        finally:
            _inside_optimizer[0] = False
            TIMES["optimizer total"] += time.perf_counter() - start

    Optimizer.minimize = minimize
    try:
        yield
    finally:
        for (owner, name), method in saved.items():
            setattr(owner, name, method)


def run(problem: str, noise, steps: int, seed: int = 0, optimizer: str | None = None) -> dict:
    env = ArchSearchEnv(
        problem=problem,
        noise=noise,
        optimizer=optimizer,
        threshold=1e-9,
        curriculum=False,
        seed=seed,
    )
    rng = np.random.default_rng(seed)
    done, count, nfev, gates = True, 0, 0, []
    with _instrumented():
        env.reset()
        env.step(rng.choice(np.flatnonzero(env.action_masks())))  # compiles the replay
        TIMES.clear()
        start = time.perf_counter()
        while count < steps:
            if done:
                env.reset()
            action = rng.choice(np.flatnonzero(env.action_masks()))
            _, _, done, _, info = env.step(action)
            count += 1
            nfev += info["nfev"]
            gates.append(info["gates"])
        parts = split(time.perf_counter() - start)
    total, simulator, optimizer = parts["total"], parts["simulator"], parts["optimizer"]
    return {
        "steps/s": count / total,
        "evals/step": nfev / count,
        "gates": float(np.mean(gates)),
        "simulator": simulator / total,
        "compile": TIMES["compile"] / total,
        "optimizer": optimizer / total,
        "bookkeeping": 1 - (simulator + optimizer) / total,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument(
        "--h2o", action="store_true", help="add H2O-8q with Rotosolve (episodes of 25-70 steps)"
    )
    args = parser.parse_args()
    print(f"# Environment steps ({platform.machine()}, one thread, {time.strftime('%Y-%m-%d')})\n")
    print(
        "| problem | noise / optimizer | steps/s | evaluations/step | mean gates | "
        "simulator (of which compile) | optimizer overhead | bookkeeping |"
    )
    print("|---|---|---|---|---|---|---|---|")
    cases = [
        ("H2-2q", None, None, "COBYLA, maxiter 100"),
        ("H2-2q", None, "lbfgsb", "L-BFGS-B, exact gradients"),
        ("H2-2q", "fake_mumbai:median", None, "Adam-SPSA, maxfev 500"),
        ("LiH-4q", None, None, "COBYLA, maxiter 1000"),
        ("LiH-4q", None, "lbfgsb", "L-BFGS-B, exact gradients"),
        ("LiH-4q", None, "rotosolve", "Rotosolve"),
        ("LiH-4q", "fake_mumbai:median", None, "Adam-SPSA, 1191/357/119"),
        ("LiH-4q", "fake_mumbai:median", "rotosolve", "Rotosolve"),
    ]
    if args.h2o:
        cases.append(("H2O-8q", None, "rotosolve", "Rotosolve"))
    for problem, noise, optimizer, label in cases:
        r = run(problem, noise, args.steps, optimizer=optimizer)
        print(
            f"| {problem} | {noise or 'noiseless'}, {label} | {r['steps/s']:.1f} | "
            f"{r['evals/step']:.0f} | {r['gates']:.1f} | {100 * r['simulator']:.0f} % "
            f"({100 * r['compile']:.0f} %) | {100 * r['optimizer']:.0f} % | "
            f"{100 * r['bookkeeping']:.0f} % |",
            flush=True,
        )


if __name__ == "__main__":
    main()
