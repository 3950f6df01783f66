"""Mitigate the energy of a circuit file on a noise model (the ``qnoise zne`` command)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from qiskit import QuantumCircuit

from qnoise.mitigation.extrapolation import ExtrapolationWarning
from qnoise.mitigation.neural import CurveNeuralExtrapolator, pretrained
from qnoise.mitigation.training_data import FAMILY, ry_rz_ladder
from qnoise.mitigation.zne import ZNE

__all__ = ["in_family", "mitigate_energy"]

METHODS = ("richardson", "linear", "polynomial", "exponential", "ibm_exponential",
           "double_exponential", "neural")  # fmt: skip


def in_family(circuit: QuantumCircuit, observable=None) -> bool:
    """Whether ``circuit`` has the gate structure of the RY-RZ CNOT-ladder family and, when
    ``observable`` (a ``SparsePauliOp``) is given, whether it is the family's observable:
    Z⊗…⊗Z on all qubits, any coefficient (what the shipped models were trained on)."""
    n = circuit.num_qubits
    if observable is not None:
        paulis = observable.simplify().paulis
        if len(paulis) != 1 or paulis[0].to_label() != "Z" * n:
            return False
    gates = [(inst.operation.name, tuple(circuit.find_bit(q).index for q in inst.qubits))
             for inst in circuit.data if inst.operation.name != "barrier"]  # fmt: skip
    per_layer = 2 * n + (n - 1)
    if n < 2 or (len(gates) - 2 * n) % per_layer:
        return False
    layers = (len(gates) - 2 * n) // per_layer
    if layers < 1:
        return False
    template = ry_rz_ladder(n, layers)
    expected = [(inst.operation.name, tuple(template.find_bit(q).index for q in inst.qubits))
                for inst in template.data]  # fmt: skip
    return gates == expected


def mitigate_energy(
    circuit: QuantumCircuit,
    problem,
    noise: str,
    method: str = "richardson",
    scale_factors: Sequence[float] = (1.0, 2.0, 3.0),
    shots: int | None = None,
    seed: int | None = None,
) -> dict:
    """Noisy, mitigated and noiseless energy (Ha) of a bound ``circuit`` for a
    :class:`qnoise.chem.Problem` under the noise model ``noise`` (a spec string).

    ``method="neural"`` uses the shipped pre-trained model when one matches the noise model,
    the scale factors and the family (circuit structure and a Z⊗…⊗Z observable), and
    otherwise fits the per-problem neural curve on the spot; the report's ``neural_model``
    says which (molecular Hamiltonians are never the family's observable).
    """
    from qnoise.sim.simulator import PTMSimulator

    if circuit.num_parameters:
        raise ValueError("the circuit has unbound parameters; export it with its angles")
    if circuit.num_qubits != problem.num_qubits:
        raise ValueError(
            f"the circuit has {circuit.num_qubits} qubits, {problem.name} needs "
            f"{problem.num_qubits}"
        )
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    report: dict = {}
    extrapolation = method
    if method == "neural":
        matches = in_family(circuit, problem.hamiltonian)
        model = pretrained(noise, FAMILY, scale_factors) if matches else None
        if model is not None:
            extrapolation = model
            report["neural_model"] = f"pre-trained ({FAMILY}, {noise})"
        else:
            extrapolation = CurveNeuralExtrapolator()
            report["neural_model"] = (
                "per-problem fit (no shipped model matches this circuit and Hamiltonian)"
            )
    body = circuit.remove_final_measurements(inplace=False)
    simulator = PTMSimulator(noise)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ExtrapolationWarning)
        result = ZNE(scale_factors, extrapolation).energy(
            simulator, body, problem.hamiltonian, None, problem.constant, shots=shots, seed=seed
        )
    ideal = PTMSimulator().expectation(body, problem.hamiltonian) + problem.constant
    report.update({
        "problem": problem.name,
        "noise": noise,
        "method": result.method,
        "scale_factors": result.scale_factors.tolist(),
        "values": result.values.tolist(),
        "shots": shots,
        "noisy": result.noisy,
        "mitigated": result.value,
        "stderr": result.stderr,
        "ideal": float(ideal),
        "exact": problem.exact_energy,
        "warnings": [str(w.message) for w in caught],
    })  # fmt: skip
    return report
