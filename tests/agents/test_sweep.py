"""Sweeps on a local process pool: grid, aggregation, retry of a crashed run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import yaml

from qnoise.agents.sweep import aggregate, grid, run_point, sweep
from qnoise.cli import main
from tests.agents.test_cli_training import TINY


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    return path


def crash_once(config_path, point, episodes):
    """A worker that dies (process killed) the first time it trains seed 4, after a
    checkpoint exists, then behaves."""
    marker = Path(point.run_dir).parent / "crashed"
    if point.seed == 4 and not marker.exists():
        run_point(config_path, point, 2)  # leaves a checkpoint at episode 2
        marker.write_text("1")
        os._exit(1)
    return run_point(config_path, point, episodes)


def test_grid_names_every_run():
    points = grid("out", [1, 2], ["agent.lr=1e-3,3e-4", "env.maxfev=40"])
    assert len(points) == 4
    assert points[0].run_dir == str(Path("out") / "agent.lr=1e-3,env.maxfev=40" / "s1")
    with pytest.raises(ValueError, match="key=v1,v2"):
        grid("out", [1], ["agent.lr"])


def test_two_seed_sweep_aggregates_its_runs_and_survives_a_killed_worker(config_file, tmp_path):
    out = tmp_path / "sweep"
    summary = sweep(config_file, out, [3, 4], episodes=4, workers=2, runner=crash_once,
                    progress=False)  # fmt: skip
    assert (out / "base" / "crashed").exists()  # seed 4's worker died once and was retried
    for seed in (3, 4):
        metrics = (out / "base" / f"s{seed}" / "metrics.jsonl").read_text().splitlines()
        assert [json.loads(line)["episode"] for line in metrics] == [1, 2, 3, 4]
    entry = summary["settings"]["base"]
    errors = [summary["runs"][str(out / "base" / f"s{s}")]["best_error"] for s in (3, 4)]
    assert entry["best_error"][0] == pytest.approx(np.mean(errors))
    assert entry["best_error"][1] == pytest.approx(np.std(errors))
    assert aggregate(out, grid(out, [3, 4], [])) == summary  # recomputed from the files
    assert "| base | 2 |" in (out / "summary.md").read_text()
    assert (out / "summary.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sweep_command(config_file, tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["sweep", "--config", str(config_file), "--seeds", "5", "--episodes", "2",
                 "--set", "agent.lr=1e-3,2e-3", "--out", str(out)]) == 0  # fmt: skip
    text = capsys.readouterr().out
    assert "agent.lr=1e-3" in text and "agent.lr=2e-3" in text
    assert main(["sweep", "--config", str(config_file), "--seeds", "x"]) == 2


def test_overrides_read_exponent_numbers_as_floats(config_file):
    from qnoise.agents import load_config

    config = load_config(config_file, ["agent.lr=1e-3", "env.noise=ideal", "train.seed=7"])
    assert config["agent"]["lr"] == 1e-3 and isinstance(config["agent"]["lr"], float)
    assert config["env"]["noise"] == "ideal" and config["train"]["seed"] == 7


def test_ray_sweep_retries_a_killed_worker_and_matches_the_local_pool(
    config_file, tmp_path, ray_capture
):
    ray_out, local_out = tmp_path / "ray", tmp_path / "local"
    summary = sweep(config_file, ray_out, [3, 4], episodes=3, workers=2, runner=crash_once,
                    progress=False, engine="ray")  # fmt: skip
    assert (ray_out / "base" / "crashed").exists()
    local = sweep(config_file, local_out, [3, 4], episodes=3, workers=2, progress=False)
    for seed in (3, 4):  # the same seeds give the same metrics on either engine
        ray_lines = (ray_out / "base" / f"s{seed}" / "metrics.jsonl").read_text().splitlines()
        local_lines = (local_out / "base" / f"s{seed}" / "metrics.jsonl").read_text().splitlines()
        strip = [{k: v for k, v in json.loads(x).items() if k != "wall_s"} for x in ray_lines]
        assert strip == [
            {k: v for k, v in json.loads(x).items() if k != "wall_s"} for x in local_lines
        ]
    assert summary["settings"]["base"]["best_error"] == local["settings"]["base"]["best_error"]
