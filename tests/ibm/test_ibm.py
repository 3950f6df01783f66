"""IBM backends offline: fake backends in local mode, durable jobs, errors; no network."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from qiskit import QuantumCircuit, qasm3

from qnoise import chem
from qnoise.cli import main
from qnoise.ibm import (
    IBMAccountError,
    IBMJobError,
    JobStore,
    energy_on_backend,
    get_backend,
    resume_job,
    with_retries,
)
from qnoise.ibm import run as ibm_run
from tests.reference import h2_circuit


@pytest.fixture(autouse=True)
def _no_account(monkeypatch, tmp_path):
    """No saved account and no token: real backends must fail without the network."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("QISKIT_IBM_TOKEN", raising=False)
    monkeypatch.delenv("QISKIT_IBM_INSTANCE", raising=False)


def test_fake_energy_agrees_with_the_ptm_prediction_and_writes_its_record(tmp_path):
    problem = chem.load("H2-2q")
    report = energy_on_backend(h2_circuit(), problem.hamiltonian, problem.constant,
                               "fake_manila", shots=40_000, seed=3, run_dir=tmp_path)  # fmt: skip
    assert abs(report["energy"] - report["predicted_noisy"]) < 4 * report["stderr"] + 2e-3
    assert abs(report["noiseless"] - report["energy"]) > 0.01  # the device is noisy
    assert len(report["layout"]) == 2
    record = JobStore(tmp_path).read(report["job_id"])
    assert record["status"] == "done" and record["result"]["energy"] == report["energy"]
    assert record["payload"]["shots"] == 40_000
    assert "OPENQASM" in record["payload"]["circuit_qasm3"]
    assert resume_job(report["job_id"], tmp_path)["result"] == record["result"]


def test_the_record_exists_before_the_result_and_failures_carry_the_backend_message(
    tmp_path, monkeypatch
):
    from qiskit_ibm_runtime.exceptions import RuntimeJobFailureError

    class FailingJob:
        def __init__(self, job):
            self._job = job

        def job_id(self):
            return self._job.job_id()

        def result(self):
            raise RuntimeJobFailureError("failed")

        def error_message(self):
            return "Error 1234: the backend is in maintenance"

    original = ibm_run.with_retries

    def submit_then_fail(call, *args, **kwargs):
        outcome = original(call, *args, **kwargs)
        return FailingJob(outcome) if hasattr(outcome, "job_id") else outcome

    monkeypatch.setattr(ibm_run, "with_retries", submit_then_fail)
    problem = chem.load("H2-2q")
    with pytest.raises(IBMJobError, match="maintenance"):
        energy_on_backend(h2_circuit(), problem.hamiltonian, problem.constant, "fake_manila",
                          shots=100, run_dir=tmp_path)  # fmt: skip
    (record,) = JobStore(tmp_path).records()
    assert record["status"] == "submitted" and "result" not in record
    with pytest.raises(IBMJobError, match="no result"):
        resume_job(record["job_id"], tmp_path)


def test_transient_errors_are_retried_with_backoff():
    calls, pauses = [], []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("reset by peer")
        return "ok"

    def fail(error):
        def call():
            raise error

        return call

    assert with_retries(flaky, sleep=pauses.append) == "ok"
    assert pauses == [2.0, 4.0]
    with pytest.raises(ValueError):
        with_retries(fail(ValueError("bad")), sleep=pauses.append)
    with pytest.raises(ConnectionError):
        with_retries(fail(ConnectionError()), attempts=2, sleep=lambda s: None)


def test_backends_by_name_and_missing_accounts():
    assert get_backend("fake_manila").num_qubits == 5
    with pytest.raises(ValueError, match="unknown fake backend"):
        get_backend("fake_nowhere")
    with pytest.raises(IBMAccountError, match="save_account"):
        get_backend("ibm_brisbane")


def test_a_token_is_never_printed(monkeypatch, capsys, tmp_path):
    import qiskit_ibm_runtime

    def refuse(*args, **kwargs):
        raise ConnectionError(f"could not reach the service with {kwargs.get('token')}")

    monkeypatch.setenv("QISKIT_IBM_TOKEN", "s3cr3t-token")
    monkeypatch.setattr(qiskit_ibm_runtime, "QiskitRuntimeService", refuse)
    path = tmp_path / "h2.qasm"
    path.write_text(qasm3.dumps(h2_circuit()))
    assert main(["submit", str(path), "--problem", "H2-2q", "--backend", "ibm_brisbane"]) == 1
    captured = capsys.readouterr()
    assert "s3cr3t" not in captured.out + captured.err
    assert "cannot reach IBM Quantum" in captured.err


def test_submit_command_from_a_circuit_file_and_resume(tmp_path, capsys):
    path = tmp_path / "h2.qasm"
    path.write_text(qasm3.dumps(h2_circuit()))
    assert main(["submit", str(path), "--problem", "H2-2q", "--backend", "fake_manila",
                 "--shots", "20000", "--seed", "1", "--json"]) == 0  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    for key in ("backend", "job_id", "energy", "stderr", "predicted_noisy", "noiseless", "exact"):
        assert key in report
    assert report["backend"] == "fake_manila"
    assert os.path.exists(tmp_path / "jobs" / f"{report['job_id']}.json")
    assert main(["submit", "--resume", report["job_id"], "--out", str(tmp_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["result"]["energy"] == report["energy"]
    assert main(["jobs", str(tmp_path)]) == 0
    assert report["job_id"] in capsys.readouterr().out
    assert main(["submit", str(path), "--backend", "fake_manila"]) == 2
    assert "--problem" in capsys.readouterr().err
    assert main(["submit", "--resume", "nope", "--out", str(tmp_path)]) == 2


def test_submit_a_run_folder_writes_its_job_records_where_out_says(tmp_path, capsys):
    kept = Path(__file__).parents[2] / "docs" / "results" / "h2_4q_ourense_fast" / "s100"
    run = tmp_path / "run"
    run.mkdir()
    for name in ("config.yaml", "best.json"):
        (run / name).write_bytes((kept / name).read_bytes())
    out = tmp_path / "records"
    assert main(["submit", str(run), "--raw", "--backend", "fake_ourense", "--shots", "1000",
                 "--seed", "1", "--out", str(out), "--json"]) == 0  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert report["problem"] == "H2-4q-0.70"
    assert (out / "jobs" / f"{report['job_id']}.json").exists()
    assert not (run / "jobs").exists()
    assert main(["submit", str(run), "--raw", "--backend", "fake_ourense", "--shots", "1000",
                 "--seed", "1", "--json"]) == 0  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert (run / "jobs" / f"{report['job_id']}.json").exists()


@pytest.mark.skipif(not os.environ.get("QNOISE_IBM_REAL_BACKEND"),
                    reason="real hardware: set QNOISE_IBM_REAL_BACKEND and an account")  # fmt: skip
def test_real_backend_energy(tmp_path):  # pragma: no cover - opt-in, needs the network
    problem = chem.load("H2-2q")
    report = energy_on_backend(h2_circuit(), problem.hamiltonian, problem.constant,
                               os.environ["QNOISE_IBM_REAL_BACKEND"], precision=0.02,
                               run_dir=tmp_path)  # fmt: skip
    assert abs(report["energy"] - report["noiseless"]) < 0.5


def test_calibration_noise_from_any_backend_object_without_network_calls():
    """from_backend reads only backend.target, which a service backend already holds."""
    from qiskit.providers.fake_provider import GenericBackendV2

    from qnoise import PTMSimulator
    from qnoise.noise import from_backend

    class ServiceLikeBackend(GenericBackendV2):
        def properties(self, *args, **kwargs):  # a real IBMBackend may refresh over the network
            raise AssertionError("from_backend must not call properties()")

        def defaults(self, *args, **kwargs):
            raise AssertionError("from_backend must not call defaults()")

    backend = ServiceLikeBackend(num_qubits=5, seed=7)
    model = from_backend(backend, level=None)
    assert not model.is_ideal
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    noisy = PTMSimulator(model).expectation(circuit, "ZZ")
    assert 0.8 < noisy < 1.0


def test_counts_on_a_fake_backend_match_the_ptm_prediction(tmp_path):
    from qnoise.ibm import counts_on_backend

    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    report = counts_on_backend(circuit, "fake_manila", shots=8000, seed=2, run_dir=tmp_path)
    counts, predicted = report["counts"], report["predicted"]
    assert sum(counts.values()) == 8000 == sum(predicted.values())
    keys = set(counts) | set(predicted)
    distance = 0.5 * sum(abs(counts.get(k, 0) - predicted.get(k, 0)) for k in keys) / 8000
    assert distance < 0.05
    assert counts.get("00", 0) + counts.get("11", 0) > 0.85 * 8000
    assert JobStore(tmp_path).read(report["job_id"])["result"]["counts"] == counts


def test_submit_a_saved_vqe_result(tmp_path, capsys):
    from qnoise.vqe import VQE, hardware_efficient

    result = VQE(hardware_efficient(2, layers=1), chem.load("H2-2q")).run(seed=1)
    result.save(tmp_path / "vqe.json")
    assert main(["submit", str(tmp_path / "vqe.json"), "--backend", "fake_manila",
                 "--shots", "10000", "--seed", "1", "--json"]) == 0  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert report["problem"] == "H2-2q"
    assert report["noiseless"] == pytest.approx(result.noiseless_energy, abs=1e-9)
    (tmp_path / "other.json").write_text('{"hello": 1}')
    assert main(["submit", str(tmp_path / "other.json"), "--problem", "H2-2q"]) == 2
    assert "not a saved qnoise VQE result" in capsys.readouterr().err


def test_batch_counts_in_one_job_and_a_later_resume(tmp_path, monkeypatch):
    """One Sampler job for all parameter rows; its counts agree with the PTM prediction per
    row, and a real backend's unfinished batch record resumes into the same counts."""
    import numpy as np
    from qiskit.circuit import Parameter

    from qnoise import PTMSimulator
    from qnoise.ibm import counts_batch_on_backend

    a, b = Parameter("a"), Parameter("b")
    qc = QuantumCircuit(2)
    qc.ry(a, 0)
    qc.ry(b, 1)
    qc.cx(0, 1)
    values = np.array([[0.0, 0.0], [np.pi, 0.3], [1.0, 2.0]])
    results = []
    original = ibm_run._result
    monkeypatch.setattr(ibm_run, "_result", lambda job, name: results.append(
        original(job, name)) or results[-1])  # fmt: skip
    out = counts_batch_on_backend(qc, values, "fake_manila", shots=4000, seed=1,
                                  run_dir=tmp_path)  # fmt: skip
    assert len(JobStore(tmp_path).records()) == 1 and len(out["counts"]) == 3
    simulator = PTMSimulator("fake_manila")
    for row, counts in zip(values, out["counts"], strict=True):
        assert sum(counts.values()) == 4000
        measured = np.zeros(4)
        for bits, count in counts.items():
            measured[int(bits, 2)] = count / 4000
        predicted = simulator.probabilities(qc, row)
        assert np.abs(measured - predicted).max() < 0.04
    with pytest.raises(ValueError, match="shape"):
        counts_batch_on_backend(qc, values[:, :1], "fake_manila")
    with pytest.raises(ValueError, match="NaN"):
        counts_batch_on_backend(qc, values * np.nan, "fake_manila")
    record = JobStore(tmp_path).read(out["job_id"])
    record.update(fake=False, status="submitted")
    del record["result"]
    JobStore(tmp_path).write(record)

    class Service:
        def job(self, job_id):
            return object()

    monkeypatch.setattr(ibm_run, "service", Service)
    monkeypatch.setattr(ibm_run, "_result", lambda job, name: results[0])
    assert resume_job(out["job_id"], tmp_path)["result"]["counts"] == out["counts"]


def test_folded_zne_on_a_fake_backend_extrapolates_its_own_jobs(tmp_path):
    import numpy as np

    from qnoise.ibm import folded_zne_on_backend

    problem = chem.load("H2-2q")
    out = folded_zne_on_backend(h2_circuit(), problem.hamiltonian, problem.constant,
                                "fake_manila", [1, 3], "linear", shots=20_000, seed=2,
                                run_dir=tmp_path)  # fmt: skip
    assert out["scale_factors"] == [1, 3] and len(set(out["job_ids"])) == 2
    assert len(JobStore(tmp_path).records()) == 2
    slope = (out["values"][1] - out["values"][0]) / 2
    assert out["mitigated"] == pytest.approx(out["values"][0] - slope, abs=1e-9)
    assert out["values"][1] > out["values"][0]  # more folding, more noise
    assert np.isfinite(out["stderr"]) and out["stderr"] > 0
