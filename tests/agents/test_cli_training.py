"""`qnoise train / evaluate / export / plot` on tiny runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from qiskit import qpy

from qnoise import PTMSimulator, chem
from qnoise.cli import main
from qnoise.noise.resolve import resolve_noise

TINY = {
    "env": {
        "problem": "H2-2q",
        "noise": "fake_mumbai:median",
        "max_steps": 6,
        "threshold": 0.03,
        "optimizer": "spsa",
        "maxfev": 60,
        "random_halting": False,
    },
    "agent": {
        "hidden_layers": 1,
        "width": 16,
        "batch_size": 8,
        "learning_starts": 8,
        "target_update": 5,
        "epsilon_decay": 0.9,
    },
    "train": {"seed": 3, "test_every": 2, "checkpoint_every": 2},
}


@pytest.fixture
def config_file(tmp_path, request):
    config = {**TINY}
    if "algo" in getattr(request, "fixturenames", []) and "stable" in request.node.name:
        config["agent"] = {}
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _metrics(run, clock=False):
    """Metrics lines; without ``clock`` the wall-time field is dropped (it differs by run)."""
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return lines if clock else [{k: v for k, v in r.items() if k != "wall_s"} for r in lines]


def test_train_kill_resume_reproduces_an_uninterrupted_run(config_file, tmp_path):
    straight, broken = tmp_path / "straight", tmp_path / "broken"
    assert main(["train", "--config", str(config_file), "--out", str(straight),
                 "--episodes", "6", "--quiet"]) == 0  # fmt: skip
    assert main(["train", "--config", str(config_file), "--out", str(broken),
                 "--episodes", "4", "--quiet"]) == 0  # fmt: skip
    saved = broken / "checkpoint.saved"
    shutil.copy(broken / "checkpoint.pt", saved)
    assert main(["train", "--resume", str(broken), "--episodes", "5", "--quiet"]) == 0
    # a kill after episode 5's metrics line but before its checkpoint
    shutil.copy(saved, broken / "checkpoint.pt")
    assert len(_metrics(broken)) == 5
    assert main(["train", "--resume", str(broken), "--episodes", "6", "--quiet"]) == 0
    assert _metrics(broken) == _metrics(straight)
    assert len(_metrics(straight)) == 6
    first = _metrics(straight, clock=True)[0]
    assert set(first) >= {"episode", "reward", "outcome", "error", "threshold", "epsilon", "wall_s"}


def test_evaluate_export_and_plot(config_file, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--config", str(config_file), "--out", str(run),
                 "--episodes", "4", "--quiet"]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "as found" in printed and "simplified: E = " in printed
    assert main(["evaluate", str(run), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) >= {"energy", "noiseless_energy", "exact_energy", "error",
                           "noiseless_error", "gates", "cnots", "depth", "parameters",
                           "episodes"}  # fmt: skip
    assert report["episodes"] == 4
    assert report["exact_energy"] == pytest.approx(chem.load("H2-2q").exact_energy)

    simplified = report["simplified"]
    assert simplified["gates"] <= simplified["raw_gates"] == report["gates"]
    assert simplified["raw_noiseless_energy"] == pytest.approx(report["noiseless_energy"])

    problem = chem.load("H2-2q")
    best = json.loads((run / "best.json").read_text())
    qpy_args = ["export", str(run), "--format", "qpy", "--out", str(tmp_path / "c.qpy")]
    for extra, energy, noiseless in (
        (["--raw"], None, best["noiseless_energy"]),
        (["--force"], simplified["energy"], simplified["noiseless_energy"]),
    ):
        assert main(qpy_args + extra) == 0
        with open(tmp_path / "c.qpy", "rb") as handle:
            circuit = qpy.load(handle)[0]
        ideal = PTMSimulator().expectation(circuit, problem.hamiltonian) + problem.constant
        assert ideal == pytest.approx(noiseless, abs=1e-10)
        if energy is not None:  # the simplified circuit's exact energy under the run's noise
            noisy = PTMSimulator(resolve_noise("fake_mumbai:median"))
            assert noisy.expectation(circuit, problem.hamiltonian) + problem.constant == (
                pytest.approx(energy, abs=1e-10)
            )
            assert len(circuit.data) == simplified["gates"]
    capsys.readouterr()
    assert main(["export", str(run)]) == 0
    assert capsys.readouterr().out.startswith("OPENQASM 3.0;")

    assert main(["plot", str(run)]) == 0
    png = run / "training.png"
    assert png.exists() and png.stat().st_size > 10_000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_or_corrupt_checkpoints_give_clear_errors(config_file, tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "nothing")]) == 2
    assert "no checkpoint.pt" in capsys.readouterr().err
    run = tmp_path / "run"
    assert main(["train", "--config", str(config_file), "--out", str(run),
                 "--episodes", "2", "--quiet"]) == 0  # fmt: skip
    (run / "checkpoint.pt").write_bytes(b"not a checkpoint")
    assert main(["train", "--resume", str(run), "--episodes", "3", "--quiet"]) == 2
    assert "cannot resume" in capsys.readouterr().err
    assert main(["train", "--config", str(config_file), "--out", str(run), "--quiet"]) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert main(["train", "--config", str(config_file), "--set", "env.threshold=-1",
                 "--out", str(tmp_path / "bad"), "--quiet"]) == 2  # fmt: skip
    assert "threshold" in capsys.readouterr().err


def test_shipped_configs_load():
    from qnoise.agents import load_config
    from qnoise.envs import ArchSearchConfig

    names = sorted(p.stem for p in Path("configs").glob("*.yaml"))
    assert len(names) == 24
    for name in names:
        config = load_config(f"configs/{name}.yaml")
        ArchSearchConfig.from_dict(config["env"])
        assert np.isfinite(config["train"]["episodes"])
    # a fast preset keeps its paper preset's problem, noise, shots and coupling map; it may
    # change the curriculum, the inner optimizer, its budget, start angles and the shots
    # that confirm a candidate step's estimate
    changeable = {"curriculum_options", "optimizer", "maxfev", "new_angle", "confirm_shots"}
    for name in (n for n in names if n.endswith("_fast")):
        fast = load_config(f"configs/{name}.yaml")
        if fast["agent"].get("algo", "ddqn") == "ddqn":
            assert fast["agent"]["width"] < 1000
        if name[:-5] not in names:  # e.g. CRLQAS's depolarizing Ourense model: no paper preset
            continue
        paper = load_config(f"configs/{name[:-5]}.yaml")
        kept = {k: v for k, v in fast["env"].items() if k not in changeable}
        assert kept == {k: v for k, v in paper["env"].items() if k not in changeable}


@pytest.mark.parametrize("algo", ["maskable_ppo", "sb3_dqn"])
def test_stable_baselines3_through_the_same_cli(config_file, tmp_path, capsys, algo):
    run = tmp_path / algo
    own = "{n_steps: 16}" if algo == "maskable_ppo" else "{learning_starts: 8}"
    options = f"agent.{algo}={own}"  # each algorithm's own keys
    assert main(["train", "--config", str(config_file), "--algo", algo, "--out", str(run),
                 "--episodes", "3", "--quiet", "--set", options]) == 0  # fmt: skip
    assert (run / "model.zip").exists() and len(_metrics(run)) >= 3
    clock = [r["wall_s"] for r in _metrics(run, clock=True)]
    assert clock == sorted(clock) and clock[0] >= 0  # the wall time, as DDQN runs record it
    assert main(["train", "--resume", str(run), "--episodes", "5", "--quiet"]) == 0
    assert len(_metrics(run)) >= 5
    capsys.readouterr()
    assert main(["export", str(run)]) == 0
    assert capsys.readouterr().out.startswith("OPENQASM 3.0;")
    assert main(["evaluate", str(run), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["episodes"] >= 5 and report["error"] <= report["greedy_error"]


def test_stable_baselines3_checkpoints_and_resumes_after_a_kill(config_file, tmp_path,
                                                              monkeypatch):  # fmt: skip
    """``model.zip`` is saved every ``checkpoint_every`` episodes with the count it has
    seen; a run killed after writing later metrics resumes from the model's episode."""
    import zipfile

    from qnoise.agents.rundir import TornRecordWarning
    from qnoise.agents.sb3 import SB3Run

    saves = []
    save = SB3Run._save
    monkeypatch.setattr(SB3Run, "_save", lambda run: (saves.append(run.episode), save(run)))
    run = tmp_path / "ppo"
    options = ["--algo", "maskable_ppo", "--set", "agent.maskable_ppo={n_steps: 16}"]
    assert main(["train", "--config", str(config_file), *options, "--out", str(run),
                 "--episodes", "5", "--quiet"]) == 0  # fmt: skip
    assert saves == [2, 4, 5]  # checkpoint_every: 2, then the final save
    with zipfile.ZipFile(run / "model.zip") as archive:
        saved = json.loads(archive.read("data"))
    assert saved["qnoise_episodes"] == 5
    assert saved["qnoise_env_state"]["curriculum"]["episodes"] == 5
    resumed = SB3Run(run)  # the curriculum comes back with the model, on a fresh episode
    assert resumed.env.unwrapped.curriculum.state_dict() == saved["qnoise_env_state"]["curriculum"]
    assert resumed.env.unwrapped.state.gates == []
    resumed.close()
    kept = _metrics(run)
    with open(run / "metrics.jsonl", "a", encoding="utf-8") as handle:  # died unsaved
        handle.write(json.dumps({**kept[-1], "episode": 6}) + "\n" + '{"episode": 7, "rew')
    with pytest.warns(TornRecordWarning, match="incomplete last line"):
        assert main(["train", "--resume", str(run), "--episodes", "7", "--quiet"]) == 0
    episodes = [r["episode"] for r in _metrics(run)]
    assert episodes == [1, 2, 3, 4, 5, 6, 7]
    assert _metrics(run)[:5] == kept


@pytest.mark.parametrize("workers", [1, 2])
def test_ctrl_c_stops_at_an_episode_boundary_and_saves(config_file, tmp_path, workers):
    """Ctrl-C in a terminal signals the whole process group: workers included."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import torch

    run = tmp_path / "interrupted"
    process = subprocess.Popen(
        [sys.executable, "-m", "qnoise.cli", "train", "--config", str(config_file),
         "--out", str(run), "--episodes", "100000", "--quiet", "--workers", str(workers)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    deadline = time.time() + 60
    while time.time() < deadline:
        metrics = run / "metrics.jsonl"
        if metrics.exists() and len(metrics.read_text().splitlines()) >= 3:
            break
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGINT)
    assert process.wait(timeout=60) == 0, process.stderr.read().decode()
    state = torch.load(run / "checkpoint.pt", weights_only=False)
    assert state["episode"] == len(_metrics(run)) >= 3
    assert (run / "best.json").exists()


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="needs a machine without CUDA")
def test_a_gpu_trained_run_loads_on_a_cpu(config_file, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--config", str(config_file), "--out", str(run),
                 "--episodes", "2", "--quiet"]) == 0  # fmt: skip
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["agent"]["device"] = "cuda"  # as if trained on a GPU machine
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    capsys.readouterr()
    assert main(["evaluate", str(run), "--json"]) == 0  # inference loads on the CPU
    assert json.loads(capsys.readouterr().out)["episodes"] == 2
    assert main(["train", "--resume", str(run), "--episodes", "3", "--quiet"]) == 2
    assert "no CUDA device" in capsys.readouterr().err
    assert main(["train", "--resume", str(run), "--episodes", "3", "--quiet",
                 "--device", "cpu"]) == 0  # fmt: skip
    assert len(_metrics(run)) == 3
    assert yaml.safe_load((run / "config.yaml").read_text())["agent"]["device"] == "cuda"


def test_small_agents_learn_on_one_torch_thread(config_file, tmp_path):
    import torch

    from qnoise.agents import Trainer

    config = yaml.safe_load(config_file.read_text())
    before = torch.get_num_threads()
    trainer = Trainer(tmp_path / "auto", config)
    assert trainer.learner_threads == 1  # 1 hidden layer of 16: far below SMALL_AGENT
    seen = []
    original = trainer.agent.update

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return original(*args, **kwargs)

    trainer.agent.update = spy
    trainer.train(3, progress=False)
    trainer.close()
    assert seen and set(seen) == {1}
    assert torch.get_num_threads() == before
    config["train"]["threads"] = 2
    assert Trainer(tmp_path / "set", config).learner_threads == 2
