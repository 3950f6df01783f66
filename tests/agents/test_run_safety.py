"""Run directories under careless or hostile use: planted checkpoints, two writers, readers
during training, torn record lines, overwrites, signals and dying sweeps."""

from __future__ import annotations

import gzip
import json
import os
import pickle
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from qnoise.agents.export import best_circuit
from qnoise.agents.rundir import RunLock, TornRecordWarning, load_checkpoint, read_records
from qnoise.agents.sweep import grid
from qnoise.cli import main
from tests.agents.test_cli_training import TINY as CLI_TINY

TINY = {**CLI_TINY, "env": {**CLI_TINY["env"], "noise": "ideal", "maxfev": 40}}


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    return path


@pytest.fixture
def run(config_file, tmp_path):
    """A trained 4-episode run."""
    out = tmp_path / "run"
    assert main(["train", "--config", str(config_file), "--out", str(out),
                 "--episodes", "4", "--quiet"]) == 0  # fmt: skip
    return out


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("writer", ["torch", "pickle"])
def test_a_planted_checkpoint_runs_nothing_and_is_refused_in_one_line(run, tmp_path, capsys,
                                                                      writer):  # fmt: skip
    marker = tmp_path / "executed"
    state = {"episode": 1, "agent": _Payload(marker)}
    if writer == "torch":
        torch.save(state, run / "checkpoint.pt")
    else:
        (run / "checkpoint.pt").write_bytes(pickle.dumps(state))
    assert main(["train", "--resume", str(run), "--episodes", "6", "--quiet"]) == 2
    assert main(["evaluate", str(run)]) == 2
    err = capsys.readouterr().err
    assert not marker.exists()
    lines = [line for line in err.splitlines() if line]
    assert len(lines) == 2 and all(str(run / "checkpoint.pt") in line for line in lines)
    if writer == "torch":
        assert "posix.system" in err and "could run code" in err


def test_resuming_after_the_config_changed_the_network_says_so_in_one_line(run, capsys):
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["env"]["problem"] = "LiH-4q"  # 4 qubits: other observation and action sizes
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    assert main(["train", "--resume", str(run), "--episodes", "6", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "other network shapes than" in err and "restore the config" in err


def test_checkpoints_round_trip_numpy_and_rng_state_exactly(run):
    state = load_checkpoint(run / "checkpoint.pt")
    replay = state["agent"]["replay"]
    assert type(replay["obs"]).__name__ == "ndarray" and replay["obs"].shape[0] == replay["size"]
    assert isinstance(state["agent"]["rng"]["state"]["state"], int)  # 128-bit PCG64 state


def _hold_lock(run_dir: Path) -> subprocess.Popen:
    code = (
        "import sys, time; from qnoise.agents.rundir import RunLock; "
        f"RunLock({str(run_dir)!r}).acquire(); print('held', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_second_writer_fails_at_once_naming_the_holder(run, capsys):
    holder = _hold_lock(run)
    try:
        start = time.perf_counter()
        assert main(["train", "--resume", str(run), "--episodes", "6", "--quiet"]) == 2
        assert time.perf_counter() - start < 10
        err = capsys.readouterr().err
        assert f"PID {holder.pid}" in err and "another process" in err
        before = (run / "metrics.jsonl").read_bytes()
        assert main(["evaluate", str(run), "--json"]) == 0  # readers need no lock
        assert (run / "metrics.jsonl").read_bytes() == before
    finally:
        holder.kill()
        holder.wait()
    assert main(["train", "--resume", str(run), "--episodes", "6", "--quiet"]) == 0


def test_readers_never_write_a_run_that_is_still_training(run, tmp_path):
    # episodes 5 and 6 were appended after the last checkpoint (episode 4) by a live trainer
    with open(run / "metrics.jsonl", "a") as handle:
        for episode in (5, 6):
            record = {"episode": episode, "outcome": "fail", "error": 0.5, "threshold": 0.03}
            handle.write(json.dumps(record) + "\n")
    files = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    assert main(["evaluate", str(run), "--json"]) == 0
    assert main(["export", str(run)]) == 0
    assert main(["jobs", str(run)]) == 0
    assert main(["plot", str(run), "--out", str(tmp_path / "curves.png")]) == 0
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert {p.name for p in run.iterdir() if p.is_file()} == set(files)
    for name, data in files.items():
        assert (run / name).read_bytes() == data, name


def test_a_torn_last_line_is_skipped_by_readers_and_dropped_on_resume(run, capsys):
    metrics = run / "metrics.jsonl"
    complete = metrics.read_text()
    metrics.write_text(complete + '{"episode": 5, "reward": -0.')
    with pytest.warns(TornRecordWarning, match="metrics.jsonl"):
        assert len(read_records(metrics)) == 4
    with pytest.warns(TornRecordWarning, match="metrics.jsonl"):
        assert main(["plot", str(run)]) == 0
    with pytest.warns(TornRecordWarning, match="metrics.jsonl"):
        assert main(["train", "--resume", str(run), "--episodes", "6", "--quiet"]) == 0
    assert [r["episode"] for r in read_records(metrics)] == [1, 2, 3, 4, 5, 6]


def test_a_corrupt_line_inside_a_record_file_names_file_and_line(run, capsys):
    metrics = run / "metrics.jsonl"
    lines = metrics.read_text().splitlines()
    lines[1] = lines[1][:10]
    metrics.write_text("\n".join(lines) + "\n")
    assert main(["plot", str(run)]) == 2
    assert f"{metrics}, line 2" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda b: b["gates"].insert(0, ["cx", [1, 1]]), "two different qubits"),
        (lambda b: b["gates"].insert(0, ["ccx", [0, 1, 2]]), "gate 0 of the circuit record"),
        (lambda b: b["gates"].insert(0, ["cx", [0, -1]]), r"qubits \[-1\], outside 0\.\.1"),
        (lambda b: b["gates"].insert(0, ["rz", [2]]), r"qubits \[2\], outside 0\.\.1"),
        (lambda b: b["gates"].insert(0, ["rz", [0.5]]), "gate 0 of the circuit record"),
        (lambda b: b["gates"].insert(0, ["ry", [0]]), "finite angles"),
        (lambda b: b["angles"].append(float("nan")), "finite angles"),
        (lambda b: b.update(num_qubits=4), "has 4 qubits, its run's problem 2"),
        (lambda b: b.update(gates="cx"), "needs lists 'gates' and 'angles'"),
    ],
)
def test_a_damaged_best_circuit_is_refused_in_one_line(run, capsys, damage, message):
    best = json.loads((run / "best.json").read_text())
    damage(best)
    (run / "best.json").write_text(json.dumps(best))
    capsys.readouterr()
    assert main(["export", str(run)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert re.search(message, err)


def test_a_best_circuit_record_round_trips_its_gates_and_angles(run):
    best = json.loads((run / "best.json").read_text())
    circuit = best_circuit(best, num_qubits=2)
    assert circuit.num_qubits == 2
    found = [
        (i.operation.name, [circuit.find_bit(q).index for q in i.qubits]) for i in circuit.data
    ]
    assert found == [(name, qubits) for name, qubits in best["gates"]]
    angles = [float(i.operation.params[0]) for i in circuit.data if i.operation.name != "cx"]
    assert angles == best["angles"]


def test_a_kept_run_with_gzipped_metrics_plots_and_exports(run, tmp_path, capsys):
    """The run folders kept in git (docs/results) hold metrics.jsonl.gz, no checkpoint."""
    kept = tmp_path / "kept"
    kept.mkdir()
    for name in ("config.yaml", "best.json"):
        (kept / name).write_bytes((run / name).read_bytes())
    (kept / "metrics.jsonl.gz").write_bytes(gzip.compress((run / "metrics.jsonl").read_bytes()))
    assert read_records(kept / "metrics.jsonl") == read_records(run / "metrics.jsonl")
    assert len(read_records(kept / "metrics.jsonl")) == 4
    assert main(["plot", str(kept), "--out", str(tmp_path / "kept.png")]) == 0
    assert (tmp_path / "kept.png").read_bytes()[:4] == b"\x89PNG"
    capsys.readouterr()
    assert main(["export", str(kept)]) == 0
    assert capsys.readouterr().out.startswith("OPENQASM 3.0;")
    assert main(["evaluate", str(kept)]) == 2
    assert "checkpoint was not kept" in capsys.readouterr().err
    (kept / "metrics.jsonl.gz").write_bytes(b"not gzip")
    assert main(["plot", str(kept), "--out", str(tmp_path / "bad.png")]) == 2
    assert "metrics.jsonl.gz: not a gzip file" in capsys.readouterr().err


def test_nothing_of_the_users_is_overwritten(config_file, run, tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.yaml").write_text("my own file\n")
    (mine / "notes.txt").write_text("keep me\n")
    args = ["train", "--config", str(config_file), "--out", str(mine), "--episodes", "2",
            "--quiet"]  # fmt: skip
    assert main(args) == 2
    assert "--force" in capsys.readouterr().err
    assert (mine / "config.yaml").read_text() == "my own file\n"
    assert main([*args, "--force"]) == 0
    assert (mine / "notes.txt").read_text() == "keep me\n"
    assert len(read_records(mine / "metrics.jsonl")) == 2

    target = tmp_path / "circuit.qasm"
    target.write_text("precious")
    assert main(["export", str(run), "--out", str(target)]) == 2
    assert target.read_text() == "precious"
    assert main(["export", str(run), "--out", str(target), "--force"]) == 0
    assert target.read_text().startswith("OPENQASM 3")
    metrics = (run / "metrics.jsonl").read_bytes()
    assert main(["export", str(run), "--out", str(run / "metrics.jsonl"), "--force"]) == 2
    assert (run / "metrics.jsonl").read_bytes() == metrics
    capsys.readouterr()
    assert main(["export", str(run), "--out", str(tmp_path / "missing" / "c.qasm")]) == 2
    assert main(["export", str(run), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and "does not exist" in err[0] and "is a folder" in err[1]


def test_an_out_path_under_a_file_is_one_line_before_any_work(config_file, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["train", "--config", str(config_file), "--out", str(blocker / "run"),
                 "--quiet"]) == 2  # fmt: skip
    assert main(["train", "--config", str(config_file), "--out", str(blocker), "--quiet"]) == 2
    for out in (blocker, blocker / "sweep"):
        assert main(["sweep", "--config", str(config_file), "--seeds", "1",
                     "--out", str(out)]) == 2  # fmt: skip
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 4 and all("is a file" in line for line in err)


def test_a_failed_start_leaves_no_half_made_run_directory(config_file, tmp_path, capsys):
    out = tmp_path / "never"
    assert main(["train", "--config", str(config_file), "--out", str(out),
                 "--set", "env.problem=NoSuchMolecule", "--quiet"]) == 2  # fmt: skip
    assert not out.exists()


def _spawn(args: list[str], cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "qnoise", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def _wait_for(condition, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.2)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by init) counts as gone
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return True


def _lines(path: Path) -> int:
    return len(read_records(path)) if path.exists() else 0


def test_sigterm_saves_like_ctrl_c(config_file, tmp_path):
    out = tmp_path / "run"
    process = _spawn(["train", "--config", str(config_file), "--out", str(out),
                      "--episodes", "100000", "--set", "train.checkpoint_every=100000",
                      "--quiet"], tmp_path)  # fmt: skip
    _wait_for(lambda: _lines(out / "metrics.jsonl") >= 3)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0, process.stderr.read()
    episodes = load_checkpoint(out / "checkpoint.pt")["episode"]
    assert episodes >= 3 and _lines(out / "metrics.jsonl") == episodes


def test_sweep_workers_end_with_the_sweep_and_a_rerun_is_refused_while_they_live(
    config_file, tmp_path, capsys
):
    out = tmp_path / "sweep"
    config = {**TINY, "train": {**TINY["train"], "checkpoint_every": 100000}}
    config_file.write_text(yaml.safe_dump(config))
    process = _spawn(["sweep", "--config", str(config_file), "--seeds", "1,2",
                      "--episodes", "100000", "--out", str(out)], tmp_path)  # fmt: skip
    runs = [out / "base" / "s1", out / "base" / "s2"]
    _wait_for(lambda: all(_lines(r / "metrics.jsonl") >= 2 for r in runs))
    pids = [int((r / ".lock").read_text()) for r in runs]
    assert process.pid not in pids and all(_alive(pid) for pid in pids)
    # a second sweep on the same folder is refused while the first runs
    assert main(["sweep", "--config", str(config_file), "--seeds", "1,2", "--out", str(out)]) == 2
    assert str(process.pid) in capsys.readouterr().err
    process.kill()  # kill -9: no chance to clean up
    process.wait()
    # each worker finishes its episode and checkpoints first; allow for a loaded machine
    _wait_for(lambda: not any(_alive(pid) for pid in pids), timeout=150)
    for run_dir in runs:  # each worker checkpointed on its way out
        episodes = load_checkpoint(run_dir / "checkpoint.pt")["episode"]
        assert _lines(run_dir / "metrics.jsonl") >= episodes >= 2


def test_a_sweep_refuses_repeated_seeds_and_values(tmp_path):
    with pytest.raises(ValueError, match="seed 100 given twice"):
        grid(tmp_path, [100, 100], [])
    with pytest.raises(ValueError, match=r"agent\.lr"):
        grid(tmp_path, [1], ["agent.lr=1e-3,1e-3"])


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--episodes", "0"], "episodes: must be >= 1, got 0"),
        (["--episodes", "-3"], "episodes: must be >= 1, got -3"),
        (["--workers", "0"], "workers: must be >= 1, got 0"),
        (["--retries", "-1"], "retries: must be >= 0, got -1"),
    ],
)
def test_a_sweep_refuses_counts_below_their_minimum(config_file, tmp_path, capsys, option,
                                                    message):  # fmt: skip
    out = tmp_path / "sweep"
    assert main(["sweep", "--config", str(config_file), "--seeds", "1", "--out", str(out),
                 *option]) == 2  # fmt: skip
    assert capsys.readouterr().err.strip() == f"qnoise sweep: {message}"
    assert not out.exists()


def test_a_sweep_point_held_by_another_process_is_refused(config_file, tmp_path, capsys):
    point = tmp_path / "sweep" / "base" / "s1"
    holder = _hold_lock(point)
    try:
        assert main(["sweep", "--config", str(config_file), "--seeds", "1",
                     "--out", str(tmp_path / "sweep")]) == 2  # fmt: skip
        assert f"PID {holder.pid}" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()


def test_run_lock_is_exclusive_and_released_with_its_holder(tmp_path):
    holder = _hold_lock(tmp_path)
    with pytest.raises(Exception, match=f"PID {holder.pid}"):
        RunLock(tmp_path).acquire()
    holder.kill()
    holder.wait()
    with RunLock(tmp_path) as lock:
        assert lock.held


def test_a_run_keeps_the_noise_model_it_trained_with(config_file, tmp_path):
    """A new run stores its resolved noise model; resuming and evaluating use the stored
    model and warn when the config's name now resolves to a different one (as a fake
    backend's calibration changes between qiskit-ibm-runtime releases)."""
    from qnoise.agents import Trainer
    from qnoise.agents.records import NOISE_MODEL, read_run_config
    from qnoise.noise import NoiseModel
    from qnoise.noise.resolve import resolve_noise

    noisy = {**TINY, "env": {**TINY["env"], "noise": "depolarizing:p1=1e-3,p2=5e-3"}}
    config_file.write_text(yaml.safe_dump(noisy))
    out = tmp_path / "noisy"
    assert main(["train", "--config", str(config_file), "--out", str(out),
                 "--episodes", "2", "--quiet"]) == 0  # fmt: skip
    record = json.loads((out / NOISE_MODEL).read_text())
    assert NoiseModel.from_dict(record) == resolve_noise("depolarizing:p1=1e-3,p2=5e-3")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # unchanged model: no warning
        read_run_config(out)
    # the calibration "changed": the stored model differs from what the name gives now
    record["readout_errors"] = [{"qubit": None, "p_meas1_prep0": 0.1, "p_meas0_prep1": 0.1}]
    (out / NOISE_MODEL).write_text(json.dumps(record))
    with pytest.warns(UserWarning, match="different model"):
        trainer = Trainer(out, read_only=True)
    assert trainer.env.config.noise_model == NoiseModel.from_dict(record)
    with pytest.warns(UserWarning, match="different model"):
        assert main(["train", "--resume", str(out), "--episodes", "3", "--quiet"]) == 0
    (out / NOISE_MODEL).write_text("{not json")
    assert main(["evaluate", str(out)]) == 2
