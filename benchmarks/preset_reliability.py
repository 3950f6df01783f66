"""Does every seed learn? First chemically accurate episode of a preset over many seeds.

Usage::

    python benchmarks/preset_reliability.py [--presets h2_2q_noiseless_fast,...]
        [--seeds 100-109] [--episodes 200] [--workers 2] [--out docs/results/reliability.json]

Each seed trains the preset (in chunks of 10 episodes, stopping at the first success) until
a training episode's circuit is below chemical accuracy (1.6e-3 Ha) *without noise* (for a
noisy preset: the noiseless re-evaluation of the circuit), or ``--episodes`` have passed.
Prints per preset the successes, the first-success episodes and the wall time per seed.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from qnoise.chem.problem import CHEMICAL_ACCURACY
from qnoise.files import atomic_write

CHUNK = 10  # episodes between checks
DEFAULT_PRESETS = ("h2_2q_noiseless_fast", "h2_2q_mumbai_median_fast")


def first_success(preset: str, seed: int, episodes: int) -> dict:
    """Train ``preset`` with ``seed`` until its first noiseless-accurate episode."""
    import torch

    from qnoise.agents import Trainer
    from qnoise.agents.run_config import load_config
    from qnoise.agents.rundir import read_records

    torch.set_num_threads(1)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        trainer = Trainer(Path(scratch) / "run", load_config(preset), seed=seed)
        found = None
        while found is None and trainer.episode < episodes:
            trainer.train(min(trainer.episode + CHUNK, episodes), progress=False)
            records = read_records(trainer.run_dir / "metrics.jsonl")
            found = next(
                (r["episode"] for r in records if r["noiseless_error"] < CHEMICAL_ACCURACY), None
            )
        trainer.close()
    return {"preset": preset, "seed": seed, "first_success": found,
            "wall_s": round(time.perf_counter() - start, 1)}  # fmt: skip


def seed_list(text: str) -> list[int]:
    if "-" in text:
        low, high = (int(v) for v in text.split("-"))
        return list(range(low, high + 1))
    return [int(v) for v in text.split(",")]


def table(results: list[dict], episodes: int) -> str:
    lines = [
        f"| preset | seeds below 1.6e-3 Ha within {episodes} episodes | first success "
        "(episode, per seed) | median | worst | wall per seed |",
        "|---|---|---|---|---|---|",
    ]
    for preset in dict.fromkeys(r["preset"] for r in results):
        rows = sorted((r for r in results if r["preset"] == preset), key=lambda r: r["seed"])
        found = [r["first_success"] for r in rows if r["first_success"] is not None]
        firsts = ", ".join(str(r["first_success"] or "—") for r in rows)
        walls = [r["wall_s"] for r in rows]
        median = sorted(found)[len(found) // 2] if found else "—"
        lines.append(
            f"| {preset} | {len(found)}/{len(rows)} | {firsts} | {median} | "
            f"{max(found) if found else '—'} | {min(walls):.1f}–{max(walls):.1f} s |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default=",".join(DEFAULT_PRESETS))
    parser.add_argument("--seeds", default="100-109", help="e.g. 100-109 or 100,101")
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", help="JSON file for the results (e.g. for benchmarks/results.py)")
    args = parser.parse_args()
    jobs = [(p, s) for p in args.presets.split(",") for s in seed_list(args.seeds)]
    with ProcessPoolExecutor(args.workers) as pool:
        futures = [pool.submit(first_success, p, s, args.episodes) for p, s in jobs]
        results = [f.result() for f in futures]
    text = table(results, args.episodes)
    print(text)
    if args.out:
        payload = {"episodes": args.episodes, "results": results}
        atomic_write(Path(args.out), json.dumps(payload, indent=1).encode())


if __name__ == "__main__":
    main()
