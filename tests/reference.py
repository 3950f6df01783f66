"""Independent references for the simulator tests: qiskit-aer and qiskit.quantum_info."""

from __future__ import annotations

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.circuit.library import UnitaryGate, get_standard_gate_name_mapping
from qiskit.quantum_info import DensityMatrix, Operator, SparsePauliOp, SuperOp
from qiskit_aer import AerSimulator
from qiskit_aer import noise as aer_noise

STANDARD = get_standard_gate_name_mapping()
#: every standard gate on 1–2 qubits (the measure/delay/reset/global_phase instructions aside)
GATES = sorted(
    name
    for name, gate in STANDARD.items()
    if gate.num_qubits in (1, 2) and name not in ("measure", "delay", "reset", "global_phase")
)
AER_NATIVE = set(AerSimulator(method="density_matrix").configuration().basis_gates)


def random_circuit(
    num_qubits: int,
    num_gates: int,
    rng: np.random.Generator,
    gates=GATES,
    parametrize: bool = True,
) -> tuple[QuantumCircuit, np.ndarray]:
    """Random circuit over ``gates``; rotation angles are free ``Parameter``s (sometimes inside
    affine expressions) when ``parametrize``. Returns the circuit and parameter values."""
    gates = [g for g in gates if STANDARD[g].num_qubits <= num_qubits]
    num_params = sum(len(STANDARD[g].params) for g in gates) * num_gates
    theta = ParameterVector("θ", num_params)
    qc = QuantumCircuit(num_qubits)
    used = 0
    for _ in range(num_gates):
        name = gates[rng.integers(len(gates))]
        template = STANDARD[name]
        qubits = rng.choice(num_qubits, size=template.num_qubits, replace=False).tolist()
        params = []
        for _ in template.params:
            if parametrize and rng.random() < 0.8:
                p = theta[used]
                used += 1
                kind = rng.integers(3)
                params.append(p if kind == 0 else 2 * p - 0.4 if kind == 1 else 0.5 * p + 1.1)
            else:
                params.append(float(rng.uniform(-np.pi, np.pi)))
        qc.append(type(template)(*params) if params else template, qubits)
    values = rng.uniform(-np.pi, np.pi, len(qc.parameters))
    return qc, values


def aer_compatible(circuit: QuantumCircuit) -> QuantumCircuit:
    """Bound circuit with gates Aer lacks replaced by ``UnitaryGate``s (no noise on those)."""
    out = QuantumCircuit(*circuit.qregs, *circuit.cregs)
    for inst in circuit.data:
        op = inst.operation
        if op.name not in AER_NATIVE and op.name not in ("barrier", "measure", "reset"):
            op = UnitaryGate(Operator(op), label=op.name)
        out.append(op, inst.qubits, inst.clbits)
    return out


def aer_density_matrix(circuit: QuantumCircuit, noise_model=None) -> np.ndarray:
    qc = aer_compatible(circuit)
    qc.save_density_matrix()
    sim = AerSimulator(method="density_matrix", noise_model=noise_model)
    return np.asarray(sim.run(qc).result().data()["density_matrix"])


def aer_probabilities_with_readout(circuit: QuantumCircuit, noise_model) -> np.ndarray:
    """Exact probabilities of Aer's density matrix with Aer's readout matrices applied."""
    rho = aer_density_matrix(circuit, noise_model)
    probs = np.real(np.diag(rho))
    n = circuit.num_qubits
    tensor = probs.reshape((2,) * n)
    for q in range(n):
        error = _aer_readout(noise_model, q)
        if error is None:
            continue
        matrix = np.asarray(error.probabilities)  # [prepared, measured]
        axis = n - 1 - q
        tensor = np.moveaxis(np.tensordot(matrix.T, tensor, axes=([1], [axis])), 0, axis)
    return tensor.reshape(-1)


def _aer_readout(noise_model, qubit):
    if noise_model is None:
        return None
    local = noise_model._local_readout_errors.get((qubit,))
    return local if local is not None else noise_model._default_readout_error


_HADAMARD = np.array([[1, 1], [1, -1]]) / np.sqrt(2)
_S_DAGGER = np.diag([1, -1j])


def aer_expectation_with_readout(circuit, observable: SparsePauliOp, noise_model) -> float:
    """Term-by-term measurement in Aer: rotate to each term's basis, apply readout, average
    the parity — what a device with this noise would estimate with infinitely many shots."""
    total = 0.0
    n = circuit.num_qubits
    for label, coeff in zip(observable.paulis.to_labels(), observable.coeffs, strict=True):
        rotated = circuit.copy()
        support = []
        for q in range(n):
            char = label[n - 1 - q]
            # noiseless basis changes: a "unitary" instruction carries no error in the model
            if char == "X":
                rotated.append(UnitaryGate(_HADAMARD), [q])
            elif char == "Y":
                rotated.append(UnitaryGate(_HADAMARD @ _S_DAGGER), [q])
            if char != "I":
                support.append(q)
        probs = aer_probabilities_with_readout(rotated, noise_model)
        outcomes = np.arange(2**n)
        parity = np.zeros(2**n, dtype=int)
        for q in support:
            parity ^= (outcomes >> q) & 1
        total += coeff.real * float(probs @ (1 - 2 * parity))
    return total


def exact_noisy_density_matrix(circuit: QuantumCircuit, errors) -> np.ndarray:
    """quantum_info evolution: each gate, then ``errors[(name, qubits)]`` (an Aer
    ``QuantumError``) exactly as its superoperator. An exact reference for Aer's own model."""
    rho = DensityMatrix.from_int(0, 2**circuit.num_qubits)
    for inst in circuit.data:
        qubits = [circuit.find_bit(q).index for q in inst.qubits]
        rho = rho.evolve(Operator(inst.operation), qubits)
        error = errors.get((inst.operation.name, tuple(qubits)))
        if error is not None:
            rho = rho.evolve(SuperOp(error.to_quantumchannel()), qubits)
    return rho.data


def random_aer_noise(num_qubits: int, rng: np.random.Generator, gates) -> aer_noise.NoiseModel:
    """An Aer noise model using every channel type on a random selection of ``gates``."""
    model = aer_noise.NoiseModel()
    from qiskit.quantum_info import Kraus, random_quantum_channel

    one_qubit = [
        lambda: aer_noise.depolarizing_error(rng.uniform(0, 0.05), 1),
        lambda: aer_noise.pauli_error(
            list(zip(["I", "X", "Y", "Z"], rng.dirichlet([20, 1, 1, 1]), strict=True))
        ),
        lambda: aer_noise.amplitude_damping_error(rng.uniform(0, 0.1)),
        lambda: aer_noise.phase_damping_error(rng.uniform(0, 0.1)),
        lambda: aer_noise.thermal_relaxation_error(
            t1 := rng.uniform(50, 100), rng.uniform(10, 2 * t1), rng.uniform(0.1, 5)
        ),
        lambda: aer_noise.thermal_relaxation_error(
            t1 := rng.uniform(50, 100),
            rng.uniform(10, 2 * t1),
            rng.uniform(0.1, 5),
            excited_state_population=rng.uniform(0, 0.2),
        ),
        lambda: aer_noise.kraus_error(
            Kraus(random_quantum_channel(2, seed=int(rng.integers(1 << 30)))).data
        ),
    ]
    two_qubit = [
        lambda: aer_noise.depolarizing_error(rng.uniform(0, 0.1), 2),
        lambda: aer_noise.amplitude_damping_error(rng.uniform(0, 0.1)).tensor(
            aer_noise.phase_damping_error(rng.uniform(0, 0.1))
        ),
        lambda: aer_noise.pauli_error(
            list(zip(["II", "XZ", "YY", "ZI"], rng.dirichlet([20, 1, 1, 1]), strict=True))
        ),
    ]
    for name in gates:
        if name not in AER_NATIVE:
            continue
        arity = STANDARD[name].num_qubits
        if arity > num_qubits:
            continue
        makers = one_qubit if arity == 1 else two_qubit
        if rng.random() < 0.5:
            model.add_all_qubit_quantum_error(makers[rng.integers(len(makers))](), name)
        else:
            for _ in range(2):
                qubits = rng.choice(num_qubits, size=arity, replace=False).tolist()
                model.add_quantum_error(makers[rng.integers(len(makers))](), name, qubits)
    for q in range(num_qubits):
        if rng.random() < 0.7:
            e0, e1 = rng.uniform(0, 0.08, 2)
            model.add_readout_error(aer_noise.ReadoutError([[1 - e0, e0], [e1, 1 - e1]]), [q])
    return model


def h2_circuit(angle: float = 0.22) -> QuantumCircuit:
    """X on qubit 0, RY(angle) on qubit 1, CNOT(1 → 0): the 3-gate H2-2q ansatz (bound)."""
    circuit = QuantumCircuit(2)
    circuit.x(0)
    circuit.ry(angle, 1)
    circuit.cx(1, 0)
    return circuit


def feed_forward_circuit(num_qubits: int = 2) -> QuantumCircuit:
    """H, a mid-circuit measurement of qubit 0 and an X on the last qubit conditioned on it
    (an ``if_else``): the circuit that every qnoise front door must refuse by name."""
    circuit = QuantumCircuit(num_qubits, 1)
    circuit.h(0)
    circuit.measure(0, 0)
    with circuit.if_test((circuit.clbits[0], 1)):
        circuit.x(num_qubits - 1)
    return circuit
