"""Do the committed result runs come from the code as it is? Replay their first episodes.

Usage::

    python benchmarks/replay_results.py [--rows lih_4q_noiseless_fast,...] [--episodes 60]

Each run directory under ``docs/results/<row>/s<seed>/`` holds the config it was trained
with (``config.yaml``) and its per-episode metrics (``metrics.jsonl.gz``). This trains the
same config and seed again for ``--episodes`` episodes and compares every episode's record
with the committed one: outcome, steps, gate and CNOT counts, curriculum threshold and the
energies, with the run's own agent (the DDQN trainer, or the Stable-Baselines3 algorithm
that ``agent.algo`` names). Training is deterministic by seed (with the torch threads
``qnoise train`` uses), so with unchanged code the records agree to rounding; the first
episode that differs says from where a row no longer reproduces. Prints one line per run:
episodes compared, episodes identical before the first difference (all of them when nothing
differs), the first differing episode and field, and the largest energy difference (Ha) over
all episodes compared.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import tempfile
from pathlib import Path

RESULTS = Path(__file__).resolve().parent.parent / "docs" / "results"
#: per-episode fields compared exactly
EXACT_FIELDS = ("outcome", "steps", "gates", "cnots", "depth")
#: per-episode fields compared to a relative tolerance (floating-point rounding)
FLOAT_FIELDS = ("energy", "noiseless_energy", "threshold", "reward")
RELATIVE_TOLERANCE = 1e-9


def committed_runs(rows: list[str] | None = None) -> list[Path]:
    """The run directories under ``docs/results`` (optionally only the given rows)."""
    runs = sorted(path.parent for path in RESULTS.glob("*/s*/metrics.jsonl.gz"))
    if rows is not None:
        runs = [run for run in runs if run.parent.name in rows]
    return runs


def first_difference(committed: dict, replayed: dict) -> str | None:
    """The first field in which two episode records differ, or None."""
    for field in EXACT_FIELDS:
        if committed.get(field) != replayed.get(field):
            return field
    for field in FLOAT_FIELDS:
        a, b = committed.get(field), replayed.get(field)
        if (a is None) != (b is None):
            return field
        if a is not None and not math.isclose(a, b, rel_tol=RELATIVE_TOLERANCE, abs_tol=1e-12):
            return field
    return None


def replay(run: Path, episodes: int) -> dict:
    """Train ``run``'s config and seed for ``episodes`` episodes and compare the records."""
    from qnoise.agents import Trainer
    from qnoise.agents.run_config import load_config
    from qnoise.agents.rundir import read_records
    from qnoise.agents.sb3 import SB3Run
    from qnoise.agents.stopping import torch_threads

    with gzip.open(run / "metrics.jsonl.gz", "rt", encoding="utf-8") as handle:
        committed = [json.loads(line) for line in handle if line.strip()]
    episodes = min(episodes, len(committed))
    config = load_config(run / "config.yaml")
    seed = int(config["train"]["seed"])
    with tempfile.TemporaryDirectory() as scratch:
        if config.get("agent", {}).get("algo", "ddqn") == "ddqn":
            with torch_threads(1):  # as qnoise train runs the small agents
                training = Trainer(Path(scratch) / "run", config, seed=seed)
                training.train(episodes, progress=False)
        else:  # a Stable-Baselines3 agent, on torch's default threads as qnoise train runs it
            training = SB3Run(Path(scratch) / "run", config, seed=seed)
            training.train(episodes, progress=False)
        training.close()
        replayed = read_records(Path(scratch) / "run" / "metrics.jsonl")
    identical, first, largest = 0, None, 0.0
    for old, new in zip(committed[:episodes], replayed, strict=True):
        field = first_difference(old, new)
        largest = max(largest, abs(old["energy"] - new["energy"]))
        if first is None:
            if field is None:
                identical += 1
            else:
                first = (old["episode"], field)
    return {"run": f"{run.parent.name}/{run.name}", "episodes": episodes,
            "identical": identical, "first_difference": first,
            "largest_energy_difference": largest}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", help="comma-separated row names (default: all)")
    parser.add_argument("--episodes", type=int, default=60)
    args = parser.parse_args()
    rows = args.rows.split(",") if args.rows else None
    runs = committed_runs(rows)
    if not runs:
        raise SystemExit(f"no run directories with metrics.jsonl.gz under {RESULTS}")
    print(
        "| run | episodes replayed | identical before the first difference | first difference "
        "| largest ΔE (Ha) |"
    )
    print("|---|---|---|---|---|")
    for run in runs:
        result = replay(run, args.episodes)
        first = result["first_difference"]
        where = "—" if first is None else f"episode {first[0]}: {first[1]}"
        print(f"| {result['run']} | {result['episodes']} | {result['identical']} | {where} | "
              f"{result['largest_energy_difference']:.1e} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
