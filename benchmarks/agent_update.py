"""Cost of one double-DQN update (batch sampling, targets, Huber loss, Adam step).

For the published CRLQAS agent (5×1000 LeakyReLU MLP, batch 1000) in float32 (the default:
fused Adam, cached target values) and with the bfloat16 speed option, and the fast preset of
``configs/h2_2q_mumbai_median_fast.yaml`` (2×128, batch 64), on the H2-2q and LiH-4q
observation sizes; on the CPU with 1 thread and with all threads, and on CUDA when a GPU is
available. Needs only torch and numpy.

The figure is the mean over ``--updates`` consecutive updates that start right after a
target-network synchronisation, with a full replay buffer and one new transition stored
before each update, as in late training. The default, 500 = ``target_update``, covers one
whole cycle of the target-value cache (recomputed lazily after each synchronisation), so
the mean includes its refill; fewer updates overstate the cost.

Usage: python benchmarks/agent_update.py [--updates 500] [--problems H2-2q,LiH-4q,H2O-8q]

H2O-8q (observation 250·11·8, 80 actions) is timed with its published agent (5×5000) and
the fast one; its published update takes seconds on a CPU, so time it with few updates.
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

from qnoise.agents.ddqn import DDQN, DDQNConfig
from qnoise.agents.replay import Transition

# (observation size, actions): moment tensor L·(n+3)·n with L = 40, and n(n+2) actions
PROBLEMS = {
    "H2-2q": (40 * 5 * 2, 8),
    "LiH-4q": (40 * 7 * 4, 24),
    "H2O-8q": (250 * 11 * 8, 80),  # L = 250
}
PRESETS = {
    "paper (5×1000, batch 1000)": {},
    "paper, bfloat16 autocast": {"precision": "bfloat16"},
    "fast (2×128, batch 64)": {"hidden_layers": 2, "width": 128, "batch_size": 64},
}
#: H2O-8q's published agent instead of the 2-4-qubit one (CRLQAS: 5×5000)
H2O_PRESETS = {
    "paper (5×5000, batch 1000)": {"width": 5000},
    "fast (2×128, batch 64)": {"hidden_layers": 2, "width": 128, "batch_size": 64},
}


def _transition(obs_size: int, actions: int, rng: np.random.Generator) -> Transition:
    obs = (rng.random(obs_size) < 0.02).astype(np.float32)  # ≈ one-hot moment tensor
    return Transition(
        obs=obs,
        action=int(rng.integers(actions)),
        reward=float(rng.normal()),
        next_obs=obs,
        next_mask=np.ones(actions, dtype=bool),
        discount=0.5,
    )


def _agent(obs_size: int, actions: int, device: str, preset: dict) -> DDQN:
    """An agent whose replay buffer is full of random sparse transitions."""
    config = DDQNConfig(n_step=5, lr=3e-4, learning_starts=0, device=device, **preset)
    agent = DDQN(obs_size, actions, config, seed=0)
    for _ in range(config.buffer_size):
        agent.replay.add(_transition(obs_size, actions, agent.rng))
    return agent


def time_update(obs_size: int, actions: int, device: str, preset: dict, updates: int) -> float:
    """Mean seconds per update over ``updates`` updates from a target synchronisation."""
    agent = _agent(obs_size, actions, device, preset)
    for _ in range(3):  # warm-up
        agent.update()
    agent.target.load_state_dict(agent.policy.state_dict())
    agent.target_cache.clear()
    agent.updates = 0  # the agent's next synchronisation ends the timed cycle
    elapsed = 0.0
    for _ in range(updates):
        agent.replay.add(_transition(obs_size, actions, agent.rng))
        start = time.perf_counter()
        agent.update()
        if device == "cuda":
            torch.cuda.synchronize()
        elapsed += time.perf_counter() - start
    return elapsed / updates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=500)
    parser.add_argument("--problems", default="H2-2q,LiH-4q",
                        help=f"comma-separated, from {', '.join(PROBLEMS)}")  # fmt: skip
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
    for problem in args.problems.split(","):
        obs_size, actions = PROBLEMS[problem]
        presets = H2O_PRESETS if problem == "H2O-8q" else PRESETS
        for label, preset in presets.items():
            for device, threads in targets:
                torch.set_num_threads(threads)
                seconds = time_update(obs_size, actions, device, preset, args.updates)
                print(
                    f"| {problem} | {label} | {device} | {threads} | {1e3 * seconds:.2f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
