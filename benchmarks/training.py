"""Episodes per hour of `qnoise train` and where each step's time goes, next to CRLQAS.

For each configuration and preset (the published hyperparameters on one torch thread, as
CRLQAS's code runs, and on all cores, as ``qnoise train`` runs by default; the published
hyperparameters with the bfloat16 update; and the ``_fast`` preset)
the DDQN trainer runs from scratch until learning has started (the replay buffer holds more
than ``learning_starts`` transitions), then ``--episodes`` more episodes are timed with
timers on:

- simulator: compiling circuits and evaluating energies (the noiseless energy included);
- optimizer: time inside the optimizer that is not simulation (its own Python);
- environment: the rest of ``reset``/``step`` (circuit building, encoding, masks, info);
- action selection: ``DDQN.act`` (ε draw, one forward pass, masking);
- agent update: ``DDQN.update`` (batch sampling, double-DQN targets, loss, Adam step);
- logging/checkpoints: metrics and test lines, the checkpoint of the timed window;
- other: replay storage, n-step accumulation, the loop itself.

The timed episodes run in the late-curriculum regime (``env.threshold`` 1e-9 Ha, curriculum
off) so they run to their random-halting step, as late training does; early training (large
ξ) has shorter episodes and more of them per hour. CRLQAS's figures are those measured on
this kind of machine in the reference document (§6): H2-2q Mumbai median 1.17 s per step
and 29 s per episode once agent updates run; LiH-4q 3.5–35 s per step, 1–6 min per episode.

Usage: python benchmarks/training.py [--episodes 10] [--fast-episodes 60] [--only h2]
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

import torch

sys.path.insert(0, str(Path(__file__).parent))

from env_step import TIMES, _instrumented, _timed, split

from qnoise.agents import Trainer, load_config
from qnoise.agents.ddqn import DDQN
from qnoise.envs import ArchSearchEnv

CONFIGS = Path(__file__).resolve().parent.parent / "configs"

# CRLQAS's public code on this kind of machine, once agent updates run (reference §6):
# seconds per step and per episode, (low, high) where a range was measured.
CRLQAS = {
    "h2_2q_mumbai_median": {"step": (1.17, 1.17), "episode": (29.0, 29.0)},
    "lih_4q_mumbai_median": {"step": (3.5, 35.0), "episode": (60.0, 360.0)},
}

# the published agent with the update's products in bfloat16 (DDQNConfig)
BFLOAT16 = ["agent.precision=bfloat16"]

PARTS = (
    "simulator", "optimizer", "environment", "action selection", "agent update",
    "logging/checkpoints", "other",
)  # fmt: skip


def measure(config: dict, episodes: int, seed: int) -> dict:
    """Warm up until learning starts, then time ``episodes`` episodes; seconds per part."""
    config["env"].update(threshold=1e-9, curriculum=False)
    saved = {(DDQN, name): getattr(DDQN, name) for name in ("act", "update")}
    saved |= {(ArchSearchEnv, name): getattr(ArchSearchEnv, name) for name in ("reset", "step")}
    saved |= {(Trainer, name): getattr(Trainer, name) for name in ("_append", "_save")}
    with tempfile.TemporaryDirectory() as run_dir, _instrumented():
        try:
            _timed(DDQN, "act", "action selection")
            _timed(DDQN, "update", "agent update")
            _timed(ArchSearchEnv, "reset", "environment total")
            _timed(ArchSearchEnv, "step", "environment total")
            _timed(Trainer, "_append", "logging/checkpoints")
            _timed(Trainer, "_save", "logging/checkpoints")
            trainer = Trainer(Path(run_dir) / "run", config, seed=seed)
            agent = trainer.agent
            while agent.replay.size <= agent.config.learning_starts:
                trainer.train(trainer.episode + 1, progress=False)
            first, steps, updates = trainer.episode, agent.steps, agent.updates
            TIMES.clear()
            start = time.perf_counter()
            trainer.train(first + episodes, progress=False)
            parts = split(time.perf_counter() - start)
        finally:
            for (owner, name), method in saved.items():
                setattr(owner, name, method)
    total = parts["total"]
    seconds = {
        "simulator": parts["simulator"],
        "optimizer": parts["optimizer"],
        # the environment's own time: its wall time less what it spent simulating and
        # optimizing (and less the benchmark's replays, which are not part of the run)
        "environment": TIMES["environment total"] - TIMES["replay"] - parts["simulator"]
        - parts["optimizer"],
        "action selection": TIMES["action selection"],
        "agent update": TIMES["agent update"],
        "logging/checkpoints": TIMES["logging/checkpoints"],
    }  # fmt: skip
    seconds["other"] = total - sum(seconds.values())
    return {
        "total": total,
        "steps": agent.steps - steps,
        "updates": agent.updates - updates,
        "episodes": episodes,
        "warmup": first,
        "seconds": seconds,
    }


def _ratio(crlqas: tuple[float, float], ours: float) -> str:
    low, high = crlqas[0] / ours, crlqas[1] / ours
    spec = ".1f" if low < 20 else ".0f"
    return f"{low:{spec}}×" if low == high else f"{low:{spec}}–{high:.0f}×"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=10, help="timed, published preset")
    parser.add_argument("--fast-episodes", type=int, default=60, help="timed, fast preset")
    parser.add_argument("--seed", type=int, default=100)
    parser.add_argument("--only", help="run only configs whose name contains this")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    print(
        f"# `qnoise train` throughput ({platform.machine()}, {cores} cores, torch "
        f"{torch.__version__}, {time.strftime('%Y-%m-%d')}); one torch thread unless the "
        f"preset says otherwise; seed {args.seed}, episodes timed after learning starts, run "
        "to the halting step\n"
    )
    header = "| config | preset | timed episodes | steps/episode | s/step | s/episode "
    header += "| episodes/hour | vs CRLQAS (per step) | vs CRLQAS (per episode) | "
    header += " | ".join(PARTS) + " |"
    print(header)
    print("|" + "---|" * (9 + len(PARTS)))
    for name, crlqas in CRLQAS.items():
        if args.only and args.only not in name:
            continue
        for preset, suffix, overrides, episodes, threads in (
            ("published", "", [], args.episodes, 1),
            (f"published, {cores} threads", "", [], args.episodes, cores),
            ("published, bfloat16", "", BFLOAT16, args.episodes, 1),
            ("fast", "_fast", [], args.fast_episodes, 1),
        ):
            if threads > 1 and cores == 1:
                continue
            config = load_config(CONFIGS / f"{name}{suffix}.yaml", overrides)
            torch.set_num_threads(threads)
            row = measure(config, episodes, args.seed)
            total, steps = row["total"], row["steps"]
            per_step, per_episode = total / steps, total / episodes
            shares = " | ".join(f"{100 * row['seconds'][p] / total:.0f} %" for p in PARTS)
            print(
                f"| {name} | {preset} | {episodes} | {steps / episodes:.1f} | {per_step:.3f} | "
                f"{per_episode:.2f} | {3600 / per_episode:.0f} | "
                f"{_ratio(crlqas['step'], per_step)} | {_ratio(crlqas['episode'], per_episode)} "
                f"| {shares} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
