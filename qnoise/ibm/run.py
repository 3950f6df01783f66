"""Energies of circuits on IBM backends through Qiskit Runtime, with PTM predictions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
from qiskit import QuantumCircuit, qasm3
from qiskit.quantum_info import SparsePauliOp
from qiskit.transpiler import generate_preset_pass_manager

from qnoise.files import check_writable_folder
from qnoise.ibm.backends import get_backend, is_fake, service
from qnoise.ibm.jobs import IBMJobError, JobStore, with_retries
from qnoise.ibm.primitives import estimator, execution_mode, sampler

__all__ = [
    "check_circuit",
    "check_run_dir",
    "counts_batch_on_backend",
    "counts_on_backend",
    "energy_on_backend",
    "folded_zne_on_backend",
    "resume_job",
    "to_isa",
]


def check_circuit(circuit: QuantumCircuit, num_qubits: int | None = None, backend=None) -> None:
    """Refuse, before anything is submitted, a circuit the backend path cannot run.

    Checks: no unbound parameters; no classical control flow (``if_else``, loops, ``switch``)
    and no measurement or reset before the end (the energy path estimates the final state);
    ``num_qubits`` (the observable's width) equal to the circuit's; at most as many qubits
    as ``backend`` has.

    Raises
    ------
    ValueError
        Naming the first thing that is not supported.
    """
    from qiskit.circuit import ControlFlowOp

    if circuit.num_parameters:
        raise ValueError("the circuit has unbound parameters; assign them first")
    body = circuit.remove_final_measurements(inplace=False)
    for instruction in body.data:
        operation = instruction.operation
        if isinstance(operation, ControlFlowOp):
            raise ValueError(
                f"the circuit uses classical control flow ({operation.name}), which the "
                "energy path does not support; submit a circuit without feed-forward"
            )
        if operation.name in ("measure", "reset"):
            raise ValueError(
                f"the circuit has a mid-circuit {operation.name}; only final measurements "
                "are supported"
            )
    if num_qubits is not None and circuit.num_qubits != num_qubits:
        raise ValueError(
            f"the circuit has {circuit.num_qubits} qubits and the observable "
            f"{num_qubits}; they must match"
        )
    if backend is not None:
        _check_fits(circuit, backend)


def _check_fits(circuit: QuantumCircuit, backend) -> None:
    if circuit.num_qubits > backend.num_qubits:
        raise ValueError(
            f"the circuit has {circuit.num_qubits} qubits; {backend.name} has {backend.num_qubits}"
        )


def check_run_dir(run_dir) -> None:
    """Refuse a job-record folder that cannot be written, before a job is submitted (a job
    whose id is recorded nowhere is lost)."""
    folder = Path(run_dir)
    try:
        check_writable_folder(folder / "jobs" if (folder / "jobs").is_dir() else folder)
    except ValueError as exc:
        raise ValueError(f"job records cannot go to {folder}: {exc}") from None


def to_isa(circuit: QuantumCircuit, backend, optimization_level: int = 1, seed=None):
    """``(isa_circuit, layout)``: the circuit transpiled for ``backend`` and the physical
    qubit of each virtual qubit (``layout[i]`` for circuit qubit ``i``)."""
    manager = generate_preset_pass_manager(
        backend=backend, optimization_level=optimization_level, seed_transpiler=seed
    )
    isa = manager.run(circuit.remove_final_measurements(inplace=False))
    layout = (
        isa.layout.final_index_layout()
        if isa.layout is not None
        else list(range(circuit.num_qubits))
    )
    return isa, [int(q) for q in layout[: circuit.num_qubits]]


def _predicted(isa, observable, backend) -> float:
    """The PTM simulator's value of the ISA circuit under the backend's calibration."""
    from qnoise.sim.simulator import PTMSimulator

    return float(PTMSimulator(backend).expectation(isa, observable))


def energy_on_backend(
    circuit: QuantumCircuit,
    observable: SparsePauliOp,
    constant: float = 0.0,
    backend="fake_manila",
    *,
    optimization_level: int = 1,
    shots: int | None = None,
    precision: float | None = None,
    resilience_level: int | None = None,
    runtime_zne: dict | None = None,
    mode: str = "job",
    seed: int | None = None,
    run_dir=None,
    extra: dict | None = None,
) -> dict:
    """Estimate ``<observable> + constant`` of a bound ``circuit`` on an IBM backend.

    Transpiles to ISA (layout reported), applies the layout to the observable, runs the
    runtime Estimator (local mode for fake backends), and returns a report with ``backend``,
    ``job_id``, ``energy``, ``stderr``, ``predicted_noisy`` (the PTM simulator under the
    backend's calibration, same ISA circuit), ``noiseless`` and ``layout``. With ``run_dir``
    the job's record (payload included) is written to ``run_dir/jobs/<job_id>.json``
    before waiting, and completed with the result. Everything is checked before the job is
    submitted (:func:`check_circuit`, :func:`check_run_dir`).
    """
    check_circuit(circuit, observable.num_qubits)
    if run_dir is not None:
        check_run_dir(run_dir)
    if isinstance(backend, str):
        backend = get_backend(backend)
    check_circuit(circuit, observable.num_qubits, backend)
    isa, layout = to_isa(circuit, backend, optimization_level, seed)
    isa_observable = observable.apply_layout(isa.layout)
    primitive = estimator(
        execution_mode(backend, mode), shots=shots, precision=precision,
        resilience_level=resilience_level, zne=runtime_zne, seed=seed,
    )  # fmt: skip
    job = with_retries(lambda: primitive.run([(isa, isa_observable)]))
    payload = {
            "circuit_qasm3": qasm3.dumps(circuit),
            "observable": [[label, float(np.real(c))] for label, c in observable.to_list()],
            "constant": constant,
            "layout": layout,
            "optimization_level": optimization_level,
            "shots": shots,
            "precision": precision,
            "resilience_level": resilience_level,
            "runtime_zne": runtime_zne,
            "mode": mode,
            **(extra or {}),
    }  # fmt: skip
    record = _track(job, backend.name, "estimator", payload, run_dir,
                    lambda result: _energy(result, constant))  # fmt: skip
    ideal = _noiseless(circuit, observable) + constant
    return {
        "backend": backend.name,
        "job_id": record["job_id"],
        **record["result"],
        "predicted_noisy": _predicted(isa, isa_observable, backend) + constant,
        "noiseless": ideal,
        "layout": layout,
        "isa_depth": isa.depth(),
        "isa_ops": dict(isa.count_ops()),
    }


def folded_zne_on_backend(
    circuit: QuantumCircuit,
    observable: SparsePauliOp,
    constant: float,
    backend,
    scale_factors,
    method: str = "richardson",
    **options,
) -> dict:
    """qnoise's zero-noise extrapolation on a backend: ``circuit`` globally folded to each
    scale factor (:func:`qnoise.mitigation.fold_global`; one Estimator job each, through
    :func:`energy_on_backend` with ``options``), the energies extrapolated to zero noise by
    ``method`` (:func:`qnoise.mitigation.extrapolator`), weighted by their standard errors.

    Returns ``{"method", "scale_factors"`` (as reached by folding), ``"values", "sigmas",
    "job_ids", "mitigated", "stderr"}`` (energies in Ha).
    """
    from qnoise.mitigation import extrapolator, fold_global

    scales, values, sigmas, jobs = [], [], [], []
    for factor in scale_factors:
        folded, reached = fold_global(circuit, factor)
        result = energy_on_backend(folded, observable, constant, backend, **options,
                                   extra={"fold_scale": reached})  # fmt: skip
        scales.append(reached)
        values.append(result["energy"])
        sigmas.append(max(result["stderr"], 1e-12))
        jobs.append(result["job_id"])
    extrapolation = extrapolator(method)
    value, stderr = extrapolation.extrapolate(scales, values, sigmas)
    return {"method": extrapolation.name, "scale_factors": scales, "values": values,
            "sigmas": sigmas, "job_ids": jobs, "mitigated": value, "stderr": stderr}  # fmt: skip


def _measured_isa(circuit: QuantumCircuit, backend, optimization_level: int, seed):
    """``(measured circuit, ISA circuit, layout)``: measured on all qubits unless it measures."""
    _check_fits(circuit, backend)
    measured = circuit if circuit.num_clbits else circuit.measure_all(inplace=False)
    manager = generate_preset_pass_manager(
        backend=backend, optimization_level=optimization_level, seed_transpiler=seed
    )
    isa = manager.run(measured)
    layout = isa.layout.final_index_layout()[: circuit.num_qubits] if isa.layout else None
    return measured, isa, layout


def counts_on_backend(
    circuit: QuantumCircuit,
    backend="fake_manila",
    *,
    shots: int = 4096,
    optimization_level: int = 1,
    mode: str = "job",
    seed: int | None = None,
    run_dir=None,
) -> dict:
    """Measurement counts of ``circuit`` (measured on all its qubits when it has no
    measurements) on an IBM backend through the runtime Sampler: ``{"backend", "job_id",
    "counts" (Qiskit bit order), "shots", "layout", "predicted" (the PTM simulator's
    probabilities under the backend's calibration, same ISA circuit)}``; the job record is
    written to ``run_dir/jobs`` before waiting when ``run_dir`` is given."""
    if circuit.num_parameters:
        raise ValueError("the circuit has unbound parameters; assign them first")
    if run_dir is not None:
        check_run_dir(run_dir)
    if isinstance(backend, str):
        backend = get_backend(backend)
    measured, isa, layout = _measured_isa(circuit, backend, optimization_level, seed)
    primitive = sampler(execution_mode(backend, mode), shots=shots, seed=seed)
    job = with_retries(lambda: primitive.run([isa]))
    payload = {"circuit_qasm3": qasm3.dumps(measured), "shots": shots, "layout": layout}
    record = _track(job, backend.name, "sampler", payload, run_dir, _counts)
    counts = record["result"]["counts"]
    from qnoise.sim.simulator import PTMSimulator

    predicted = PTMSimulator(backend).compile(isa).sample_counts(shots, seed=seed)
    return {"backend": backend.name, "job_id": record["job_id"], "counts": counts,
            "shots": shots, "layout": layout, "predicted": predicted}  # fmt: skip


def counts_batch_on_backend(
    circuit: QuantumCircuit,
    parameter_values,
    backend="fake_manila",
    *,
    shots: int = 1024,
    optimization_level: int = 1,
    mode: str = "job",
    seed: int | None = None,
    run_dir=None,
) -> dict:
    """Counts of one parameterized ``circuit`` at every row of ``parameter_values`` (shape
    ``(B, P)``, columns in ``circuit.parameters`` order), in **one** Sampler job: the circuit
    is transpiled once and sent as one PUB with all the rows.

    Returns ``{"backend", "job_id", "counts" (a list of B dicts, Qiskit bit order),
    "shots", "layout"}``; the job record is written to ``run_dir/jobs`` when given.
    """
    values = np.asarray(parameter_values, dtype=float)
    if values.ndim != 2 or values.shape[1] != circuit.num_parameters:
        raise ValueError(
            f"parameter_values must have shape (B, {circuit.num_parameters}), got {values.shape}"
        )
    if not np.all(np.isfinite(values)):
        raise ValueError("parameter_values contain NaN or infinity")
    if run_dir is not None:
        check_run_dir(run_dir)
    if isinstance(backend, str):
        backend = get_backend(backend)
    measured, isa, layout = _measured_isa(circuit, backend, optimization_level, seed)
    # transpiling keeps the Parameter objects; put the columns in the ISA circuit's order
    position = {p: i for i, p in enumerate(circuit.parameters)}
    columns = [position[p] for p in isa.parameters]
    primitive = sampler(execution_mode(backend, mode), shots=shots, seed=seed)
    job = with_retries(lambda: primitive.run([(isa, values[:, columns])]))
    payload = {"circuit_qasm3": qasm3.dumps(measured), "parameter_values": values.tolist(),
               "shots": shots, "layout": layout}  # fmt: skip
    record = _track(job, backend.name, "sampler_batch", payload, run_dir, _batch_counts)
    return {"backend": backend.name, "job_id": record["job_id"],
            "counts": record["result"]["counts"], "shots": shots, "layout": layout}  # fmt: skip


def _track(job, backend_name: str, kind: str, payload: dict, run_dir, read) -> dict:
    """The job's record: written to ``run_dir/jobs`` (when given) before waiting, then
    completed with ``read(primitive result)`` once the job is done."""
    record = {
        "job_id": str(job.job_id()),
        "backend": backend_name,
        "fake": is_fake(backend_name),
        "submitted_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        "status": "submitted",
        "kind": kind,
        "payload": payload,
    }
    store = JobStore(run_dir) if run_dir is not None else None
    if store is not None:
        store.write(record)
    record.update(status="done", result=read(_result(job, backend_name)))
    if store is not None:
        store.write(record)
    return record


def _energy(result, constant: float) -> dict:
    """Energy (observable + constant) and its standard error from an Estimator result."""
    return {
        "energy": float(np.real(result[0].data.evs)) + constant,
        "stderr": float(np.real(result[0].data.stds)),
    }


def _counts(result) -> dict:
    """Counts of the (only) classical register of a Sampler result."""
    register = next(iter(result[0].data.values()))
    return {"counts": {str(k): int(v) for k, v in register.get_counts().items()}}


def _batch_counts(result) -> dict:
    """Counts of every parameter row of a one-PUB Sampler result."""
    register = next(iter(result[0].data.values()))
    rows = int(np.prod(register.shape))
    return {"counts": [{str(k): int(v) for k, v in register.get_counts(loc=i).items()}
                       for i in range(rows)]}  # fmt: skip


def _noiseless(circuit, observable) -> float:
    from qnoise.sim.simulator import PTMSimulator

    body = circuit.remove_final_measurements(inplace=False)
    return float(PTMSimulator().expectation(body, observable))


def _result(job, backend_name: str):
    from qiskit_ibm_runtime.exceptions import RuntimeJobFailureError

    try:
        return with_retries(job.result)
    except RuntimeJobFailureError as exc:
        message = getattr(job, "error_message", lambda: None)() or str(exc)
        raise IBMJobError(f"job {job.job_id()} failed on {backend_name}: {message}") from exc


def resume_job(job_id: str, run_dir) -> dict:
    """The record of a submitted job with its result: read from ``run_dir`` when it is
    there (always for fake-backend jobs, which run synchronously), else fetched from the
    service (real backends; needs the account that submitted it)."""
    store = JobStore(run_dir)
    record = store.read(job_id)
    if record.get("result") is not None:
        return record
    if record.get("fake"):
        raise IBMJobError(
            f"job {job_id} ran locally on {record['backend']} and left no result (it was "
            "interrupted); submit again"
        )
    job = with_retries(lambda: service().job(job_id))
    result = _result(job, record["backend"])
    if record.get("kind") == "sampler":
        read = _counts(result)
    elif record.get("kind") == "sampler_batch":
        read = _batch_counts(result)
    else:
        read = _energy(result, record["payload"]["constant"])
    record.update(status="done", result=read)
    store.write(record)
    return record
