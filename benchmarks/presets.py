"""Learning outcome of two presets side by side: the table and learning curves of
`qnoise sweep`'s summary, for run directories trained elsewhere.

Usage: python benchmarks/presets.py --out docs/presets_h2_mumbai \
           "paper=runs/h2_mumbai_pub_s100,runs/h2_mumbai_pub_s101,runs/h2_mumbai_pub_s102" \
           "fast=runs/evidence/h2_mumbai_fast_s100,..."

Every run of a group is cut to the episodes all runs of the command have, so the presets
are compared over the same number of episodes. Writes ``summary.md``, ``summary.json`` and
``summary.png`` in ``--out`` and prints the table.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

import yaml

from qnoise.agents.sweep import SweepPoint, aggregate
from qnoise.files import atomic_write


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("groups", nargs="+", help="LABEL=RUN_DIR,RUN_DIR,...")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    runs = []
    for group in args.groups:
        label, _, dirs = group.partition("=")
        if not dirs:
            raise SystemExit(f"expected LABEL=RUN_DIR,...; got {group!r}")
        runs += [(label, Path(d)) for d in dirs.split(",")]
    metrics = {d: (d / "metrics.jsonl").read_text().splitlines() for _, d in runs}
    episodes = min(len(lines) for lines in metrics.values())
    with tempfile.TemporaryDirectory() as scratch:
        points, sources = [], {}
        for label, run in runs:  # a copy of each run cut to the common episode count
            seed = int(yaml.safe_load((run / "config.yaml").read_text())["train"]["seed"])
            copy = Path(scratch) / label / run.name
            copy.mkdir(parents=True)
            kept = metrics[run][:episodes]
            (copy / "metrics.jsonl").write_text("".join(line + "\n" for line in kept))
            best = json.loads((run / "best.json").read_text())
            if best["episode"] > episodes:
                raise SystemExit(f"{run}: its best circuit came after episode {episodes}")
            shutil.copy(run / "best.json", copy / "best.json")
            points.append(SweepPoint((label,), seed, str(copy)))
            sources[str(copy)] = str(run)
        summary = aggregate(args.out, points)
    # name the runs by their directories, not by the temporary cut copies
    summary["runs"] = {sources[name]: run for name, run in summary["runs"].items()}
    atomic_write(Path(args.out) / "summary.json", json.dumps(summary, indent=2).encode())
    print(f"{episodes} episodes per run\n")
    print((Path(args.out) / "summary.md").read_text())
    for name, run in summary["runs"].items():
        print(name, {k: run[k] for k in ("best_noiseless_error", "gates", "first_success")})


if __name__ == "__main__":
    main()
