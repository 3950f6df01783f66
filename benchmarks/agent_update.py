"""Cost of one double-DQN update (batch sampling, targets, Huber loss, Adam step).

For the published CRLQAS agent (5×1000 LeakyReLU MLP, batch 1000) in float32 and with the
bfloat16 / fused-Adam speed options, and the fast preset of
``configs/h2_2q_mumbai_median_fast.yaml`` (2×128, batch 64), on the H2-2q and LiH-4q
observation sizes; on the CPU with 1 thread and with all threads, and on CUDA when a GPU is
available. Needs only torch and numpy.

Usage: python benchmarks/agent_update.py [--updates 50]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agents.ddqn import DDQN, DDQNConfig
from agents.replay import Transition

# (observation size, actions): moment tensor L·(n+3)·n with L = 40, and n(n+2) actions
PROBLEMS = {"H2-2q": (40 * 5 * 2, 8), "LiH-4q": (40 * 7 * 4, 24)}
PRESETS = {
    "paper (5×1000, batch 1000)": {},
    "paper, bfloat16 autocast + fused Adam": {"precision": "bfloat16", "fused_adam": True},
    "fast (2×128, batch 64)": {"hidden_layers": 2, "width": 128, "batch_size": 64},
}


def _agent(obs_size: int, actions: int, device: str, preset: dict) -> DDQN:
    config = DDQNConfig(n_step=5, lr=3e-4, learning_starts=0, device=device, **preset)
    agent = DDQN(obs_size, actions, config, seed=0)
    rng = np.random.default_rng(0)
    for _ in range(max(config.batch_size, 2000)):
        obs = (rng.random(obs_size) < 0.05).astype(np.float32)
        agent.replay.add(
            Transition(
                obs=obs,
                action=int(rng.integers(actions)),
                reward=float(rng.normal()),
                next_obs=obs,
                next_mask=np.ones(actions, dtype=bool),
                discount=0.5,
            )
        )
    return agent


def time_update(obs_size: int, actions: int, device: str, preset: dict, updates: int) -> float:
    """Median seconds per update (after 5 warm-up updates)."""
    agent = _agent(obs_size, actions, device, preset)
    times = []
    for i in range(updates + 5):
        start = time.perf_counter()
        agent.update()
        if device == "cuda":
            torch.cuda.synchronize()
        if i >= 5:
            times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=50)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    targets = [("cpu", 1), ("cpu", cores)]
    if torch.cuda.is_available():
        targets.append(("cuda", cores))
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    print(
        f"# DDQN update time ({platform.machine()}, {cores} cores, {gpu}, torch "
        f"{torch.__version__}, {time.strftime('%Y-%m-%d')})\n"
    )
    print("| problem | agent | device | threads | ms per update |")
    print("|---|---|---|---|---|")
    for problem, (obs_size, actions) in PROBLEMS.items():
        for label, preset in PRESETS.items():
            for device, threads in targets:
                torch.set_num_threads(threads)
                seconds = time_update(obs_size, actions, device, preset, args.updates)
                print(
                    f"| {problem} | {label} | {device} | {threads} | {1e3 * seconds:.2f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
