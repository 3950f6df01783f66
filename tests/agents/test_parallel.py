"""Parallel experience collection (`qnoise train --workers K`) on processes and Ray actors."""

from __future__ import annotations

import itertools
import json
import os
import signal

import numpy as np
import pytest
import torch
import yaml

from qnoise.agents import Trainer
from qnoise.agents.parallel import ExperienceWorker, ProcessWorkers, WorkerError, policy_weights
from qnoise.cli import main
from tests.agents.test_cli_training import TINY


def _lines(path, clock=False):
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return lines if clock else [{k: v for k, v in r.items() if k != "wall_s"} for r in lines]


@pytest.fixture(scope="module")
def config_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("parallel") / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    return path


@pytest.fixture(scope="module")
def two_worker_run(config_file, tmp_path_factory):
    """Eight episodes with two local worker processes, kept as a Trainer for inspection."""
    run = tmp_path_factory.mktemp("parallel") / "k2"
    config = yaml.safe_load(config_file.read_text())
    config["train"]["workers"] = 2
    trainer = Trainer(run, config)
    assert trainer.train(8, progress=False) == 8
    return trainer


def test_the_learner_stores_every_worker_step_once(two_worker_run):
    trainer = two_worker_run
    metrics = _lines(trainer.run_dir / "metrics.jsonl")
    assert [m["episode"] for m in metrics] == list(range(1, 9))
    steps = sum(m["steps"] for m in metrics)
    # one learning step per environment step; the episodes end, so every n-step
    # transition is complete: as many transitions as steps
    assert trainer.agent.steps == steps
    assert trainer.agent.replay.size == steps
    # updates: one per step once the buffer holds more than learning_starts transitions;
    # an L-step episode completes n-step transitions at steps n..L-1 (one each) and the
    # rest at its end
    n, stored, updates = trainer.agent.config.n_step, 0, 0
    for length in (m["steps"] for m in metrics):
        for t in range(1, length + 1):
            stored += (length - max(0, length - n)) if t == length else int(t >= n)
            updates += stored > TINY["agent"]["learning_starts"]
    assert stored == steps
    assert trainer.agent.updates == updates > 0
    assert trainer.agent.epsilon == pytest.approx(max(0.05, 0.9**updates))
    assert [t["episode"] for t in _lines(trainer.run_dir / "tests.jsonl")] == [2, 4, 6, 8]
    best = json.loads((trainer.run_dir / "best.json").read_text())
    assert best["error"] <= min(m["error"] for m in metrics)
    assert 1 <= best["episode"] <= 8
    assert len(trainer.worker_states) == 2 and all(trainer.worker_states)


def test_ray_actors_give_the_numbers_of_local_processes(
    two_worker_run, config_file, tmp_path, ray_capture
):
    run = tmp_path / "ray"
    assert main(["train", "--config", str(config_file), "--out", str(run), "--episodes", "8",
                 "--workers", "2", "--engine", "ray", "--quiet"]) == 0  # fmt: skip
    local = two_worker_run.run_dir
    assert _lines(run / "metrics.jsonl") == _lines(local / "metrics.jsonl")
    assert _lines(run / "tests.jsonl") == _lines(local / "tests.jsonl")
    assert (run / "best.json").read_text() == (local / "best.json").read_text()


def test_a_parallel_run_resumes_and_keeps_its_worker_count(
    two_worker_run, config_file, tmp_path, capsys
):
    run = tmp_path / "run"
    assert main(["train", "--config", str(config_file), "--out", str(run), "--episodes", "4",
                 "--workers", "2", "--quiet"]) == 0  # fmt: skip
    straight = _lines(two_worker_run.run_dir / "metrics.jsonl")
    assert _lines(run / "metrics.jsonl") == straight[:4]  # the same seed, the same numbers
    assert main(["train", "--resume", str(run), "--episodes", "6", "--workers", "1"]) == 2
    assert "keeps its worker count" in capsys.readouterr().err
    assert main(["train", "--resume", str(run), "--episodes", "6", "--quiet"]) == 0
    assert [m["episode"] for m in _lines(run / "metrics.jsonl")] == list(range(1, 7))
    assert yaml.safe_load((run / "config.yaml").read_text())["train"]["workers"] == 2


def test_one_worker_is_the_single_process_loop(config_file, tmp_path):
    """K = 1 runs today's loop: the same numbers as a run without --workers."""
    runs = [tmp_path / "default", tmp_path / "k1"]
    for run, extra in zip(runs, ([], ["--workers", "1"]), strict=True):
        assert main(["train", "--config", str(config_file), "--out", str(run),
                     "--episodes", "3", "--quiet", *extra]) == 0  # fmt: skip
    assert _lines(runs[0] / "metrics.jsonl") == _lines(runs[1] / "metrics.jsonl")
    assert (runs[0] / "best.json").read_text() == (runs[1] / "best.json").read_text()


def test_a_worker_acts_greedily_with_the_weights_it_was_sent(config_file, tmp_path):
    config = yaml.safe_load(config_file.read_text())
    config["agent"]["n_step"] = 1  # transition k's next_mask is the mask of step k+1
    learner = Trainer(tmp_path / "learner", config).agent
    with torch.no_grad():
        for parameter in learner.policy.parameters():
            parameter.normal_()
    worker = ExperienceWorker(config, seed=3, index=0)
    test = worker.episode(policy_weights(learner.policy), 0.5, np.inf, greedy=True)
    assert test.steps == [] and test.best is None
    for key, value in policy_weights(learner.policy).items():
        np.testing.assert_array_equal(worker.policy.state_dict()[key].numpy(), value)
    episode = worker.episode(None, 0.0, np.inf)  # no exploration: the argmax every step
    assert [len(step) for step in episode.steps] == [1] * TINY["env"]["max_steps"]
    assert episode.best is not None and episode.best["error"] <= episode.record["error"]
    transitions = [step[0] for step in episode.steps]
    for previous, current in itertools.pairwise(transitions):
        q = learner.q_values(current.obs)
        q[~previous.next_mask] = -np.inf
        assert current.action == int(np.argmax(q))
    assert transitions[-1].discount == 0.0


def test_a_dead_worker_is_a_clear_error(config_file):
    config = yaml.safe_load(config_file.read_text())
    workers = ProcessWorkers(config, seed=3, states=[None])
    try:
        os.kill(workers.processes[0].pid, signal.SIGKILL)
        workers.processes[0].join()
        with pytest.raises(WorkerError, match="worker 0 died"):
            workers.submit(0, None, 1.0, np.inf, False)
            workers.result(0)
    finally:
        workers.close()
