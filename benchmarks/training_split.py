"""Episodes per hour of `qnoise train` and where the time goes.

Runs the DDQN trainer on a config for a number of episodes (in a temporary run directory)
with timers on the simulator (compiling and evaluating circuits), the optimizer (its own
Python: time inside the optimizer that is not simulation), the agent update (one gradient
step on a batch) and the rest (action selection, environment bookkeeping, logging).

Usage: python benchmarks/training_split.py configs/h2_2q_mumbai_median_fast.yaml [--episodes 150]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from env_step import TIMES, _instrumented, _timed, split

from agents import Trainer, load_config
from agents.ddqn import DDQN


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("--episodes", type=int, default=150)
    parser.add_argument("--seed", type=int, default=100)
    parser.add_argument("--set", action="append", default=[])
    args = parser.parse_args()
    config = load_config(args.config, args.set)
    update = DDQN.update
    with tempfile.TemporaryDirectory() as run_dir, _instrumented():
        TIMES.clear()
        _timed(DDQN, "update", "agent update")
        trainer = Trainer(Path(run_dir) / "run", config, seed=args.seed)
        start = time.perf_counter()
        trainer.train(args.episodes, progress=False)
        parts = split(time.perf_counter() - start)
        updates = trainer.agent.updates
        steps = trainer.agent.steps
    DDQN.update = update
    total, simulator, optimizer = parts["total"], parts["simulator"], parts["optimizer"]
    agent = TIMES["agent update"]
    rest = total - simulator - optimizer - agent
    print(
        f"# {Path(args.config).stem}: {args.episodes} episodes, seed {args.seed} "
        f"({platform.machine()}, one thread, {time.strftime('%Y-%m-%d')})\n"
    )
    print("| episodes/hour | steps | updates | simulator | optimizer | agent update | rest |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {3600 * args.episodes / total:.0f} | {steps} | {updates} | "
        f"{100 * simulator / total:.0f} % | {100 * optimizer / total:.0f} % | "
        f"{100 * agent / total:.0f} % ({1e3 * agent / max(updates, 1):.1f} ms/update) | "
        f"{100 * rest / total:.0f} % |"
    )


if __name__ == "__main__":
    main()
