"""Episodes per hour of `qnoise train --workers K` (parallel experience collection).

Trains a config from scratch with K = 1 (the single-process loop) and K = 2, ... worker
processes, and reports the episode rate once learning has started (episodes whose replay
buffer already held ``learning_starts`` transitions), from the run's own ``wall_s`` metric,
so worker start-up and the update-free warm-up are excluded. Each K runs the same seed; the
numbers of different K differ (the workers' episodes are their own), the rates compare.

Usage: python benchmarks/parallel_training.py configs/lih_4q_mumbai_median_fast.yaml \
           [--workers 1,2] [--episodes 60] [--set agent.lr=1e-3]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import torch

from qnoise.agents import Trainer, load_config


def measure(config: dict, workers: int, episodes: int, seed: int) -> dict:
    """Train ``episodes`` episodes with ``workers`` workers; rates after learning starts."""
    config = json.loads(json.dumps(config))
    config["train"].update(workers=workers, test_every=10**9, checkpoint_every=10**9)
    with tempfile.TemporaryDirectory() as run_dir:
        trainer = Trainer(Path(run_dir) / "run", config, seed=seed)
        trainer.train(episodes, progress=False)
        lines = (trainer.run_dir / "metrics.jsonl").read_text().splitlines()
        metrics = [json.loads(line) for line in lines]
        starts = trainer.agent.config.learning_starts
    stored, first = 0, None
    for record in metrics:  # the first episode that began with learning under way
        if stored > starts:
            first = record["episode"]
            break
        stored += record["steps"]
    if first is None or first > episodes - 5:
        raise SystemExit(f"too few episodes after learning starts: raise --episodes ({episodes})")
    timed = metrics[first - 1 :]
    wall = timed[-1]["wall_s"] - metrics[first - 2]["wall_s"]
    steps = sum(record["steps"] for record in timed)
    return {
        "workers": workers,
        "episodes": len(timed),
        "steps": steps,
        "episodes_per_hour": 3600 * len(timed) / wall,
        "steps_per_s": steps / wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("--workers", default="1,2", help="comma-separated K values")
    parser.add_argument("--episodes", type=int, default=60)
    parser.add_argument("--seed", type=int, default=100)
    parser.add_argument("--set", action="append", default=[])
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = load_config(args.config, args.set)
    rows = [measure(config, int(k), args.episodes, args.seed) for k in args.workers.split(",")]
    print(
        f"# {Path(args.config).stem}: {args.episodes} episodes, seed {args.seed}; rates after "
        f"learning starts ({platform.machine()}, {os.cpu_count()} cores, one thread per "
        f"process, {time.strftime('%Y-%m-%d')})\n"
    )
    print("| workers K | episodes timed | steps/s | episodes/hour | vs K = 1 |")
    print("|---|---|---|---|---|")
    base = rows[0]["episodes_per_hour"]
    for row in rows:
        print(
            f"| {row['workers']} | {row['episodes']} | {row['steps_per_s']:.1f} | "
            f"{row['episodes_per_hour']:.0f} | {row['episodes_per_hour'] / base:.2f}× |"
        )


if __name__ == "__main__":
    main()
