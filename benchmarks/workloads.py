"""Benchmark workloads shared by the scripts in this folder, and their Aer twins."""

from __future__ import annotations

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import SparsePauliOp, SuperOp, random_pauli_list
from qiskit_aer.noise import NoiseModel as AerNoiseModel
from qiskit_aer.noise import QuantumError

from qnoise import noise
from qnoise.noise.channels import Channel
from qnoise.pauli import pauli_matrices


def crlqas_circuit(num_qubits: int, num_gates: int, seed: int) -> QuantumCircuit:
    """Random RX/RY/RZ/CX circuit as CRLQAS builds them (each rotation its own parameter)."""
    rng = np.random.default_rng(seed)
    theta = ParameterVector("θ", num_gates)
    qc = QuantumCircuit(num_qubits)
    used = 0
    for _ in range(num_gates):
        if num_qubits > 1 and rng.random() < 0.3:
            control, target = rng.choice(num_qubits, 2, replace=False)
            qc.cx(int(control), int(target))
        else:
            axis = rng.integers(3)
            gate = (qc.rx, qc.ry, qc.rz)[axis]
            gate(theta[used], int(rng.integers(num_qubits)))
            used += 1
    return qc


def hardware_efficient(num_qubits: int, layers: int = 20) -> QuantumCircuit:
    """``layers`` × [RY on all, RZ on all, CNOT ladder]: 20·(3n−1) gates for 20 layers."""
    theta = ParameterVector("θ", 2 * num_qubits * layers)
    qc = QuantumCircuit(num_qubits)
    k = 0
    for _ in range(layers):
        for q in range(num_qubits):
            qc.ry(theta[k], q)
            k += 1
        for q in range(num_qubits):
            qc.rz(theta[k], q)
            k += 1
        for q in range(num_qubits - 1):
            qc.cx(q, q + 1)
    return qc


def hea_noise() -> noise.NoiseModel:
    """Depolarizing + amplitude damping after every gate (reference doc §6 workload)."""
    model = noise.NoiseModel(name="depolarizing+amplitude damping")
    one = noise.depolarizing(1e-3).compose(noise.amplitude_damping(1e-3))
    damp = noise.amplitude_damping(1e-3)
    two = noise.depolarizing(1e-2, 2).compose(damp.tensor(damp))
    model.add_gate_error(one, ["ry", "rz"])
    model.add_gate_error(two, "cx")
    return model


def random_observable(num_qubits: int, terms: int = 20, seed: int = 0) -> SparsePauliOp:
    rng = np.random.default_rng(seed)
    paulis = random_pauli_list(num_qubits, terms, seed=seed, phase=False)
    return SparsePauliOp(paulis, rng.normal(size=terms))


def channel_to_aer(channel: Channel) -> QuantumError:
    """An Aer ``QuantumError`` with exactly the channel's action (through its superoperator)."""
    ptm = np.asarray(channel)
    num_qubits = channel.num_qubits
    dim = 2**num_qubits
    paulis = pauli_matrices(num_qubits)
    superop = np.zeros((dim * dim, dim * dim), dtype=complex)
    for a in range(dim):
        for b in range(dim):
            unit = np.zeros((dim, dim), dtype=complex)
            unit[a, b] = 1.0
            x = np.einsum("kij,ji->k", paulis, unit)
            image = np.einsum("k,kij->ij", ptm @ x, paulis) / dim
            superop[:, a + b * dim] = image.reshape(-1, order="F")
    return QuantumError(SuperOp(superop))


def to_aer_model(model: noise.NoiseModel, gates_1q, gates_2q, num_qubits: int) -> AerNoiseModel:
    """Aer twin of a qnoise model on the gates a workload uses (all-qubit errors, taken from
    qubits 0 and (0, 1) — valid for the uniform models benchmarked here)."""
    aer = AerNoiseModel(basis_gates=[*gates_1q, *gates_2q])
    for gate in gates_1q:
        channel = model.gate_error(gate, [0])
        if channel is not None and not channel.is_identity():
            aer.add_all_qubit_quantum_error(channel_to_aer(channel), gate)
    for gate in gates_2q:
        channel = model.gate_error(gate, [0, 1])
        if channel is not None and num_qubits > 1:
            aer.add_all_qubit_quantum_error(channel_to_aer(channel), gate)
    return aer
