"""Bad input gets one clear line, never a traceback: configs, presets, circuit files, job
records, noise specs and the IBM service."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import yaml
from qiskit import QuantumCircuit, qasm3
from qiskit.quantum_info import SparsePauliOp

from qnoise import Estimator, PTMSimulator, __version__
from qnoise.agents.run_config import available_presets, load_config, validate_config
from qnoise.circuit_files import load_circuit
from qnoise.cli import main
from qnoise.mitigation import scale_noise
from qnoise.noise import channels, resolve_noise
from tests.reference import feed_forward_circuit

BASE = {
    "env": {
        "problem": "H2-2q",
        "noise": "ideal",
        "max_steps": 4,
        "optimizer": "spsa",
        "maxfev": 20,
        "random_halting": False,
    },
    "agent": {"hidden_layers": 1, "width": 8, "batch_size": 4, "learning_starts": 4},
    "train": {"seed": 1, "test_every": 2, "checkpoint_every": 2},
}


def _config(tmp_path, **sections):
    config = {key: {**BASE[key], **sections.get(key, {})} for key in BASE}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _one_line_error(capsys) -> str:
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    return lines[0]


@pytest.mark.parametrize(
    ("section", "key", "value", "expected"),
    [
        ("agent", "widht", 3, "did you mean 'width'"),
        ("train", "test_evry", 3, "did you mean 'test_every'"),
        ("env", "problm", "H2-2q", "did you mean 'problem'"),
        ("agent", "epsilon_decay", 1.5, "agent.epsilon_decay: must be <= 1"),
        ("agent", "epsilon_decay", 0, "agent.epsilon_decay: must be > 0"),
        ("agent", "width", 0, "agent.width: must be >= 1"),
        ("agent", "lr", -1e-3, "agent.lr: must be > 0"),
        ("agent", "lr", "fast", "agent.lr: must be a number"),
        ("train", "test_every", 0, "train.test_every: must be >= 1"),
        ("train", "episodes", 2.5, "train.episodes: must be an integer"),
        ("agent", "device", "tpu", "agent.device: 'tpu' is not available"),
        ("agent", "algo", "a2c", "agent.algo: 'a2c' is not one of"),
    ],
)
def test_config_keys_types_and_ranges_are_checked_before_anything_runs(
    tmp_path, capsys, section, key, value, expected
):
    out = tmp_path / "run"
    path = _config(tmp_path, **{section: {key: value}})
    assert main(["train", "--config", str(path), "--out", str(out), "--quiet"]) == 2
    assert expected in _one_line_error(capsys)
    assert not out.exists()


def test_an_unknown_section_and_a_sb3_key_get_a_did_you_mean():
    with pytest.raises(ValueError, match="did you mean 'agent'"):
        validate_config({"agnet": {}})
    config = load_config("h2_2q_noiseless_fast")
    config["agent"].update(algo="maskable_ppo", maskable_ppo={"n_step": 64})
    from sb3_contrib import MaskablePPO

    from qnoise.agents.run_config import sb3_options

    with pytest.raises(ValueError, match="did you mean 'n_steps'"):
        sb3_options(config["agent"], MaskablePPO)


def test_yaml_syntax_errors_name_file_and_line(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("env:\n  problem: H2-2q\n  noise: [ideal\nagent: {}\n")
    assert main(["train", "--config", str(bad), "--quiet"]) == 2
    line = _one_line_error(capsys)
    assert str(bad) in line and "line 4" in line
    good = _config(tmp_path)
    assert main(["train", "--config", str(good), "--set", "agent.lr=[1,", "--quiet"]) == 2
    assert "--set agent.lr=[1," in _one_line_error(capsys)
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("env: {problem: H2-2q\n")
    (run / "checkpoint.pt").write_bytes(b"")
    for command in (["train", "--resume", str(run), "--quiet"], ["evaluate", str(run)],
                    ["submit", str(run)]):  # fmt: skip
        assert main(command) == 2
        line = _one_line_error(capsys)
        assert str(run / "config.yaml") in line and "line 2" in line


def test_a_missing_config_is_one_line_and_presets_load_by_name(tmp_path, capsys):
    assert main(["train", "--config", str(tmp_path / "none.yaml"), "--quiet"]) == 2
    assert "no such file or preset" in _one_line_error(capsys)
    assert main(["train", "--config", "h2_2q_mumbai_mediun", "--quiet"]) == 2
    assert "did you mean 'h2_2q_mumbai_median'" in _one_line_error(capsys)
    assert load_config("h2_2q_mumbai_median")["env"]["problem"] == "H2-2q"
    assert main(["configs"]) == 0
    listing = capsys.readouterr().out
    for name in ("h2_2q_mumbai_median", "lih_4q_depol", "h2o_8q_noiseless"):
        assert name in listing


@pytest.mark.parametrize("name", sorted(available_presets()))
def test_every_preset_is_valid_and_builds_a_maskable_ppo_run(name, tmp_path):
    from qnoise.agents.sb3 import SB3Run

    config = load_config(name)
    config["agent"]["algo"] = "maskable_ppo"
    run = SB3Run(tmp_path / "run", validate_config(config))
    run.close()
    assert run.model.__class__.__name__ == "MaskablePPO"


def test_maskable_ppo_trains_from_a_shipped_preset_by_name(tmp_path, capsys):
    out = tmp_path / "ppo"
    args = ["train", "--config", "h2_2q_noiseless_fast", "--algo", "maskable_ppo",
            "--episodes", "2", "--out", str(out), "--quiet"]  # fmt: skip
    assert main(args) == 0
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 2


def test_resume_refuses_settings_it_would_ignore(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--config", str(_config(tmp_path)), "--out", str(run),
                 "--episodes", "2", "--quiet"]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--set", "agent.lr=1e-3", "--quiet"]) == 2
    assert "train.episodes" in _one_line_error(capsys)
    assert main(["train", "--resume", str(run), "--seed", "5", "--quiet"]) == 2
    assert "--seed" in _one_line_error(capsys)
    assert main(["train", "--resume", str(run), "--set", "train.episodes=3", "--quiet"]) == 0
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 3


def test_version_and_python_dash_m():
    for flag in ("-V", "--version"):
        result = subprocess.run([sys.executable, "-m", "qnoise", flag], capture_output=True,
                                text=True, check=True)  # fmt: skip
        assert result.stdout.strip() == f"qnoise {__version__}"


# ----------------------------------------------------------------- circuit files
def test_openqasm2_is_read_as_openqasm2(tmp_path):
    path = tmp_path / "bell.qasm"
    path.write_text('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nh q[0];\n'
                    "cx q[0],q[1];\nu3(0.1,0.2,0.3) q[1];\n")  # fmt: skip
    circuit = load_circuit(path)
    assert [i.operation.name for i in circuit.data] == ["h", "cx", "u3"]
    expected = QuantumCircuit(2)
    expected.h(0)
    expected.cx(0, 1)
    expected.u(0.1, 0.2, 0.3, 1)
    ops = SparsePauliOp(["ZZ", "XX", "YI"])
    assert PTMSimulator().expectation(circuit, ops) == pytest.approx(
        PTMSimulator().expectation(expected, ops), abs=1e-12
    )


def test_truncated_openqasm_names_the_line(tmp_path):
    cut = {
        "3.0": 'include "stdgates.inc";\nqubit[2] q;\nh q[0];\ncx q[0], q[1',
        "2.0": 'include "qelib1.inc";\nqreg q[2];\nh q[0];\ncx q[0],q[1]',
    }
    for version, body in cut.items():
        path = tmp_path / f"cut{version[0]}.qasm"
        path.write_text(f"OPENQASM {version};\n{body}\n")
        with pytest.raises(ValueError, match=r"line 6|:5,|:6,") as info:
            load_circuit(path)
        assert str(path) in str(info.value)


@pytest.mark.parametrize("command", ["submit", "zne"])
def test_a_vqe_result_whose_circuit_is_not_text_is_refused(tmp_path, capsys, command):
    path = tmp_path / "result.json"
    path.write_text(json.dumps({"kind": "qnoise.vqe.VQEResult", "problem": "H2-2q",
                                "circuit_qasm3": {"not": "text"}}))  # fmt: skip
    assert main([command, str(path), "--problem", "H2-2q"]) == 2
    assert "'circuit_qasm3' must be OpenQASM 3 text" in _one_line_error(capsys)


# ----------------------------------------------------------------- submit checks
def _write_qasm(tmp_path, circuit) -> str:
    path = tmp_path / "c.qasm"
    path.write_text(qasm3.dumps(circuit))
    return str(path)


def test_submit_refuses_unsupported_circuits_before_any_job(tmp_path, capsys):
    feed_forward = feed_forward_circuit(2)
    mid = QuantumCircuit(2, 2)
    mid.h(0)
    mid.measure(0, 0)
    mid.cx(0, 1)
    wide = QuantumCircuit(3)
    wide.h(0)
    for circuit, expected in ((feed_forward, "control flow (if_else)"),
                              (mid, "mid-circuit measure"),
                              (wide, "3 qubits and the observable 2")):  # fmt: skip
        out = tmp_path / "records"
        assert main(["submit", _write_qasm(tmp_path, circuit), "--problem", "H2-2q",
                     "--out", str(out)]) == 2  # fmt: skip
        assert expected in _one_line_error(capsys)
        assert not (out / "jobs").exists()


def test_submit_checks_scale_factors_and_the_record_folder_first(tmp_path, capsys):
    bell = QuantumCircuit(2)
    bell.h(0)
    bell.cx(0, 1)
    qasm = _write_qasm(tmp_path, bell)
    for factors in ("1,abc", "0.5,1", "1", "1,1"):
        args = ["submit", qasm, "--problem", "H2-2q", "--zne", "linear",
                "--zne-scale-factors", factors, "--out", str(tmp_path / "r")]  # fmt: skip
        assert main(args) == 2
        assert "--zne-scale-factors" in _one_line_error(capsys)
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["submit", qasm, "--problem", "H2-2q", "--out", str(blocker / "sub")]) == 2
    assert "is a file" in _one_line_error(capsys)
    assert not (tmp_path / "r").exists()


def test_jobs_lists_every_readable_record_and_warns_once_per_corrupt_one(tmp_path, capsys):
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    good = {"job_id": "j1", "backend": "fake_manila", "submitted_at": "2026-01-01T00:00:00",
            "status": "done", "result": {"energy": -1.1, "stderr": 0.01}}  # fmt: skip
    (jobs / "j1.json").write_text(json.dumps(good))
    (jobs / "j2.json").write_text('{"job_id": "j2", "backe')
    (jobs / "j3.json").write_text("[1, 2]")
    assert main(["jobs", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "j1" in captured.out and "-1.100000" in captured.out
    warnings = captured.err.splitlines()
    assert len(warnings) == 2 and "j2.json" in warnings[0] and "j3.json" in warnings[1]


# ----------------------------------------------------------------- noise and circuits
@pytest.mark.parametrize(
    "build",
    [
        lambda: channels.pauli_channel([np.nan, 0, 0, 0]),
        lambda: channels.pauli_channel({"X": float("nan")}),
        lambda: channels.depolarizing(float("nan")),
        lambda: channels.amplitude_damping(float("nan")),
        lambda: channels.phase_damping(float("nan")),
        lambda: channels.thermal_relaxation(float("nan"), 1.0, 1.0),
        lambda: channels.thermal_relaxation(1.0, 1.0, float("nan")),
        lambda: channels.kraus([np.eye(2) * np.nan]),
        lambda: channels.Channel(np.diag([1.0, np.nan, 1.0, 1.0])),
        lambda: channels.readout_error(float("nan")),
    ],
)
def test_every_channel_constructor_refuses_nan(build):
    with pytest.raises(ValueError):
        build()


def test_scale_noise_beyond_the_physical_maximum_names_that_maximum():
    model = resolve_noise("depolarizing:p1=1e-3,p2=5e-3")
    limit = model.max_scale_factor()
    assert limit == pytest.approx((1 + 1 / 15) / 5e-3, rel=1e-6)  # 2-qubit p_max = 16/15
    scale_noise(model, 0.999 * limit)
    with pytest.raises(ValueError, match=f"largest physical factor is {limit:.6g}"):
        scale_noise(model, 1.01 * limit)
    readout = resolve_noise("fake_manila")
    worst = max(max(r.p_meas1_prep0, r.p_meas0_prep1) for r in readout._readout.values())
    assert readout.max_scale_factor() <= 1 / worst * (1 + 1e-6)


def test_a_circuit_without_qubits_gives_the_observables_constant():
    empty = QuantumCircuit(0)
    constant = SparsePauliOp([""], [2.5])
    for noise in (None, "fake_manila"):
        assert PTMSimulator(noise).expectation(empty, constant) == pytest.approx(2.5, abs=1e-14)
    result = Estimator().run([(empty, constant)]).result()
    assert float(result[0].data.evs) == pytest.approx(2.5, abs=1e-14)


# ----------------------------------------------------------------- IBM service
def _raise_chain(*types):
    error = None
    for kind in reversed(types):
        try:
            raise kind("inner") from error
        except BaseException as exc:
            error = exc
    return error


def test_an_unreachable_service_and_a_malformed_instance_say_so(monkeypatch):
    import socket

    import qiskit_ibm_runtime

    from qnoise.ibm import IBMAccountError
    from qnoise.ibm.backends import service

    token = "secret-token-123456789"
    monkeypatch.setenv("QISKIT_IBM_TOKEN", token)
    monkeypatch.setenv("QISKIT_IBM_INSTANCE", "my-instance")

    def offline(**kwargs):
        raise _raise_chain(ValueError, ConnectionError, socket.gaierror)

    monkeypatch.setattr(qiskit_ibm_runtime, "QiskitRuntimeService", offline)
    with pytest.raises(IBMAccountError, match="does not resolve") as info:
        service()
    assert token not in str(info.value)

    def malformed(**kwargs):
        raise AttributeError("'NoneType' object has no attribute 'group'")

    monkeypatch.setattr(qiskit_ibm_runtime, "QiskitRuntimeService", malformed)
    monkeypatch.setenv("QISKIT_IBM_INSTANCE", "crn:v1:oops")
    with pytest.raises(IBMAccountError, match="'crn:v1:oops' is not a valid CRN"):
        service()
