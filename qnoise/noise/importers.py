"""Build qnoise noise models from qiskit-aer noise models and from backend calibrations."""

from __future__ import annotations

import statistics
from collections.abc import Iterable

import numpy as np

from qnoise.noise.channels import (
    Channel,
    depolarizing,
    kraus,
    pauli_channel,
    readout_error,
    thermal_relaxation,
)
from qnoise.noise.model import ANY_GATE, NoiseModel

__all__ = ["LEVELS", "VIRTUAL_GATES", "from_aer", "from_backend"]

LEVELS = ("median", "max", "10max")
#: Gates IBM devices implement in software (frame changes): no error, no duration.
VIRTUAL_GATES = ("rz", "p", "u1", "z", "s", "sdg", "t", "tdg", "id", "delay")


def _quantum_error_to_channel(error) -> Channel:
    """Translate an Aer ``QuantumError``; a mixture of Pauli circuits becomes a Pauli channel
    (so that it scales linearly), anything else a Kraus channel."""
    from qiskit.quantum_info import Kraus, Pauli

    num_qubits = error.num_qubits
    pauli_probs: dict[str, float] = {}
    for circuit, prob in zip(error.circuits, error.probabilities, strict=True):
        product = Pauli("I" * num_qubits)
        for inst in circuit.data:
            name = inst.operation.name
            qubits = [circuit.find_bit(b).index for b in inst.qubits]
            if name in ("id", "i"):
                continue
            if name in ("x", "y", "z"):
                factor = Pauli(name.upper())
            elif name == "pauli":
                factor = Pauli(inst.operation.params[0])
            else:
                return kraus(Kraus(error.to_quantumchannel()).data)
            # the phase of a Kraus operator does not change the channel
            product = product.compose(factor, qargs=qubits)
        label = product.to_label().lstrip("-i")
        pauli_probs[label] = pauli_probs.get(label, 0.0) + float(prob)
    pauli_probs.setdefault("I" * num_qubits, 0.0)
    return pauli_channel(pauli_probs)


def from_aer(noise_model) -> NoiseModel:
    """Translate a ``qiskit_aer.noise.NoiseModel`` (gate errors and readout errors).

    Local (qubit-specific) and all-qubit errors keep Aer's precedence. Pauli-mixture errors
    become :func:`~qnoise.noise.pauli_channel` (linear scaling), others Kraus channels
    (fractional-power scaling).

    Raises
    ------
    ValueError
        For non-local errors or multi-qubit readout errors, which qnoise does not model.
    """
    model = NoiseModel(name="from_aer")
    cache: dict[int, Channel] = {}

    def channel(error) -> Channel:
        if id(error) not in cache:
            cache[id(error)] = _quantum_error_to_channel(error)
        return cache[id(error)]

    for name, error in noise_model._default_quantum_errors.items():
        model.add_gate_error(channel(error), name)
    for name, per_qubits in noise_model._local_quantum_errors.items():
        for qubits, error in per_qubits.items():
            model.add_gate_error(channel(error), name, qubits)
    if getattr(noise_model, "_nonlocal_quantum_errors", None):
        raise ValueError("non-local quantum errors are not supported")
    readouts = [
        (None, noise_model._default_readout_error),
        *list(noise_model._local_readout_errors.items()),
    ]
    for qubits, error in readouts:
        if error is None:
            continue
        if error.number_of_qubits != 1:
            raise ValueError("only single-qubit readout errors are supported")
        probs = np.asarray(error.probabilities)
        target = None if qubits is None else qubits[0]
        model.add_readout_error(readout_error(probs[0, 1], probs[1, 0]), target)
    return model


def _truncate_t2(t1: float | None, t2: float | None) -> tuple[float, float]:
    t1 = np.inf if t1 is None else float(t1)
    t2 = 2 * t1 if t2 is None else float(t2)
    return t1, min(t2, 2 * t1)


def _relaxation(qubits: Iterable[int], t1t2: dict, duration: float) -> Channel | None:
    if not duration:
        return None
    channel = None
    for q in qubits:
        t1, t2 = t1t2[q]
        single = thermal_relaxation(t1, t2, duration)
        channel = single if channel is None else channel.expand(single)
    return channel


def _average_gate_fidelity(channel: Channel) -> float:
    """F_avg = (d F_pro + 1)/(d + 1) with process fidelity F_pro = Tr(R)/d²."""
    dim = 2**channel.num_qubits
    process_fidelity = np.trace(channel.ptm) / dim**2
    return float((dim * process_fidelity + 1) / (dim + 1))


def _gate_channel(error: float | None, relax: Channel | None, num_qubits: int) -> Channel | None:
    """Depolarizing error (after which relaxation acts) that makes the gate's average gate
    infidelity equal the calibrated ``error``, as qiskit-aer's device model does."""
    dim = 2**num_qubits
    relax_fid = 1.0 if relax is None else _average_gate_fidelity(relax)
    depol = None
    if error is not None and error > 1 - relax_fid:
        error = min(error, dim / (dim + 1))
        param = dim * (error - (1 - relax_fid)) / (dim * relax_fid - 1)
        depol = depolarizing(min(param, 4**num_qubits / (4**num_qubits - 1)), num_qubits)
    if depol is not None and relax is not None:
        return depol.compose(relax)
    return depol if depol is not None else relax


def _calibration(backend):
    target = backend.target
    t1t2 = {}
    for q in range(target.num_qubits):
        props = target.qubit_properties[q] if target.qubit_properties else None
        t1t2[q] = _truncate_t2(getattr(props, "t1", None), getattr(props, "t2", None))
    gates = []  # (name, qubits, error, duration)
    readouts = {}
    for name in target.operation_names:
        props_by_qubits = target[name]
        if props_by_qubits is None:
            continue
        for qubits, props in props_by_qubits.items():
            if props is None or qubits is None:
                continue
            if name == "measure":
                e0 = getattr(props, "prob_meas1_prep0", None)
                e1 = getattr(props, "prob_meas0_prep1", None)
                if e0 is None or e1 is None:
                    e0 = e1 = props.error
                if e0 is not None:
                    readouts[qubits[0]] = (float(e0), float(e1))
                continue
            gates.append((name, tuple(qubits), props.error, props.duration))
    return t1t2, gates, readouts


def from_backend(backend, level: str | None = "median", virtual_z: bool = True) -> NoiseModel:
    """Noise model from a ``BackendV2``'s calibration: thermal relaxation during each gate,
    a depolarizing error matching the gate's reported error, and readout errors.

    Parameters
    ----------
    backend : qiskit.providers.BackendV2
        A real or fake backend (``qiskit_ibm_runtime.fake_provider``), read offline.
    level : {"median", "max", "10max"} or None
        ``None`` reproduces qiskit-aer's ``NoiseModel.from_backend`` per gate and qubit
        (circuits must then be transpiled to the backend's gates and qubits).
        The levels reproduce CRLQAS's device settings: one uniform model applied to every
        qubit of any circuit, from the device-wide median (``"median"``) or worst (``"max"``)
        values of T1, T2, 1-qubit (``sx``) and 2-qubit gate error and duration, and readout
        error; ``"10max"`` multiplies the worst error rates by 10 (gate errors and readout
        flips ×10, T1 and T2 ÷10). In a level model every non-virtual 1-qubit gate (rx, ry,
        h, sx, …) carries the 1-qubit error and every 2-qubit gate the 2-qubit error.
    virtual_z : bool
        Level models only: ``rz``-type gates (see :data:`VIRTUAL_GATES`) stay noiseless, as
        on IBM hardware. Set False to give them the 1-qubit error too.

    Raises
    ------
    ValueError
        For an unknown level, or a backend without the calibration data a level needs.
    """
    if level not in (None, *LEVELS):
        raise ValueError(f"level must be one of {LEVELS} or None, got {level!r}")
    t1t2, gates, readouts = _calibration(backend)
    name = getattr(backend, "name", type(backend).__name__)
    model = NoiseModel(name=f"{name}:{level}" if level else name)
    model.dt = getattr(backend, "dt", None)
    if level is None:
        for gate, qubits, error, duration in gates:
            relax = _relaxation(qubits, t1t2, duration)
            is_gate = gate not in ("reset", "delay")
            channel = _gate_channel(error if is_gate else None, relax, len(qubits))
            if channel is not None:
                model.add_gate_error(channel, gate, qubits)
        for q, (e0, e1) in readouts.items():
            model.add_readout_error(readout_error(e0, e1), q)
        for q, (t1, t2) in t1t2.items():
            if np.isfinite(t1):
                model.set_idle_relaxation(t1, t2, q)
        return model
    return _level_model(model, level, t1t2, gates, readouts, virtual_z)


def _level_model(model, level, t1t2, gates, readouts, virtual_z) -> NoiseModel:
    pick = statistics.median if level == "median" else max
    pick_time = statistics.median if level == "median" else min
    one_q = [(e, d) for g, q, e, d in gates if g == "sx" and e is not None]
    two_q = [(e, d) for g, q, e, d in gates if len(q) == 2 and e is not None]
    if not one_q or not two_q or not readouts:
        raise ValueError("the backend lacks sx, 2-qubit gate or readout calibration data")
    factor = 10.0 if level == "10max" else 1.0
    t1 = pick_time([v[0] for v in t1t2.values()]) / factor
    t2 = min(pick_time([v[1] for v in t1t2.values()]) / factor, 2 * t1)
    e1q = pick([e for e, _ in one_q]) * factor
    e2q = pick([e for e, _ in two_q]) * factor
    d1q = statistics.median([d for _, d in one_q])
    d2q = statistics.median([d for _, d in two_q])
    flips = [e for pair in readouts.values() for e in pair]
    ro = min(pick(flips) * factor, 1.0)
    t1t2_uniform = {0: (t1, t2), 1: (t1, t2)}
    one = _gate_channel(e1q, _relaxation([0], t1t2_uniform, d1q), 1)
    two = _gate_channel(e2q, _relaxation([0, 1], t1t2_uniform, d2q), 2)
    model.add_gate_error(one, ANY_GATE)
    model.add_gate_error(two, ANY_GATE)
    if virtual_z:
        identity = Channel(np.eye(4), name="virtual")
        for gate in VIRTUAL_GATES:
            model.add_gate_error(identity, gate)
    model.add_readout_error(readout_error(ro, ro))
    model.set_idle_relaxation(t1, t2)
    model.calibration = {
        "level": level,
        "t1_s": t1,
        "t2_s": t2,
        "error_1q": e1q,
        "error_2q": e2q,
        "duration_1q_s": d1q,
        "duration_2q_s": d2q,
        "readout_error": ro,
    }
    return model
