"""Noise scaling for zero-noise extrapolation: in the simulator, and by unitary folding.

* :func:`scale_noise` multiplies every error rate of a noise model by λ (relaxation through
  time: T1 and T2 divided by λ); fractions included (a channel without a closed-form rule is
  raised to the real matrix power λ of its PTM). Error probabilities cannot pass 1, so λ runs
  from 0 to the model's :meth:`~qnoise.noise.NoiseModel.max_scale_factor`.
* The folding functions return circuits that implement the same unitary with more gates, so
  that hardware noise grows by about λ: a fold replaces ``G`` by ``G G† G``. Each returns a
  :class:`FoldedCircuit` with the scale actually reached (folds come in whole gates, so a
  requested λ is met only up to one gate's share). Barriers around every inserted ``G† G``
  keep transpilers from cancelling it; transpile folded circuits with those barriers kept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import CircuitInstruction

from qnoise.noise.model import NoiseModel
from qnoise.noise.resolve import resolve_noise

__all__ = [
    "FoldedCircuit",
    "fold_all",
    "fold_gates",
    "fold_global",
    "fold_two_qubit_gates",
    "scale_noise",
]

_NOT_FOLDED = {"barrier", "measure", "delay", "reset"}


class FoldedCircuit(NamedTuple):
    """A folded circuit and the noise scale it reaches (gate count ratio, or error-weighted
    ratio when gates were weighted by their error)."""

    circuit: QuantumCircuit
    scale: float


def scale_noise(noise, factor: float) -> NoiseModel:
    """The noise model (any spec :func:`qnoise.noise.resolve_noise` accepts) with every error
    rate multiplied by ``factor`` (λ); ``factor = 1`` gives an equivalent model."""
    model = resolve_noise(noise)
    if model is None:
        raise ValueError("scale_noise needs a noise model, got None (ideal)")
    return model.scaled(factor)


def _check_scale(scale: float) -> float:
    scale = float(scale)
    if not np.isfinite(scale) or scale < 1:
        raise ValueError(f"scale factors for folding must be >= 1, got {scale}")
    return scale


def _foldable(circuit: QuantumCircuit) -> list[int]:
    if not isinstance(circuit, QuantumCircuit):
        raise TypeError(f"expected a QuantumCircuit, got {type(circuit).__name__}")
    if circuit.num_parameters:
        raise ValueError("fold bound circuits: assign the parameters first")
    indices = [i for i, inst in enumerate(circuit.data) if inst.operation.name not in _NOT_FOLDED]
    for i in indices:
        operation = circuit.data[i].operation
        try:
            operation.inverse()
        except Exception as exc:
            raise ValueError(f"cannot fold '{operation.name}': it has no inverse") from exc
    measured = [i for i, inst in enumerate(circuit.data) if inst.operation.name == "measure"]
    if measured and indices and min(measured) < max(indices):
        raise ValueError("only circuits with final measurements can be folded")
    return indices


def _with_folds(circuit: QuantumCircuit, folds: dict[int, int]) -> QuantumCircuit:
    """``circuit`` with gate ``i`` replaced by ``G (G† G)^folds[i]``."""
    out = circuit.copy_empty_like()
    for i, inst in enumerate(circuit.data):
        out.append(inst)
        for _ in range(folds.get(i, 0)):
            inverse = CircuitInstruction(inst.operation.inverse(), inst.qubits, inst.clbits)
            out.barrier(inst.qubits)
            out.append(inverse)
            out.append(inst)
            out.barrier(inst.qubits)
    return out


def fold_global(circuit: QuantumCircuit, scale: float) -> FoldedCircuit:
    """Global folding ``U (U† U)^k`` followed by a partial fold of the last gates:
    ``k = ⌊(λ − 1)/2⌋`` whole folds, then the last ``s ≈ d (λ − 1 − 2k)/2`` of the ``d``
    gates folded once more. Reached scale ``(d + 2(k d + s))/d`` (odd integers exactly)."""
    scale = _check_scale(scale)
    gates = _foldable(circuit)
    d = len(gates)
    if d == 0:
        return FoldedCircuit(circuit.copy(), 1.0)
    k = int((scale - 1) // 2)
    s = round(d * (scale - 1 - 2 * k) / 2)
    body = circuit.remove_final_measurements(inplace=False)
    measured = circuit.num_clbits and len(body.data) != len(circuit.data)
    unitary = QuantumCircuit(*circuit.qregs, *circuit.cregs, name=circuit.name)
    unitary.compose(body, inplace=True)
    folded = unitary.copy()
    inverse = unitary.inverse()
    for _ in range(k):
        folded.barrier()
        folded.compose(inverse, inplace=True)
        folded.barrier()
        folded.compose(unitary, inplace=True)
    if s:
        tail = QuantumCircuit(*circuit.qregs, *circuit.cregs)
        for i in gates[d - s :]:
            tail.append(circuit.data[i])
        folded.barrier()
        folded.compose(tail.inverse(), inplace=True)
        folded.compose(tail, inplace=True)
    if measured:
        tail_measurements = [inst for inst in circuit.data if inst.operation.name == "measure"]
        for inst in tail_measurements:
            folded.append(inst)
    return FoldedCircuit(folded, (d + 2 * (k * d + s)) / d)


def fold_gates(
    circuit: QuantumCircuit,
    scale: float,
    *,
    weights: Callable[[CircuitInstruction], float] | NoiseModel | None = None,
    seed=None,
    select: Callable[[CircuitInstruction], bool] | None = None,
) -> FoldedCircuit:
    """Fold gates chosen at random, each at most once per round, until the (weighted) scale
    reaches ``λ``: every gate is folded ``⌊(λ − 1)/2⌋`` times, then gates drawn without
    replacement with probability ∝ weight are folded once more until the weighted scale
    ``Σ w_g (1 + 2 f_g) / Σ w_g`` is closest to λ.

    Parameters
    ----------
    weights : NoiseModel or callable, optional
        A noise model weights each gate by its error (``1 − F`` of its PTM's Pauli fidelity,
        so noisy two-qubit gates are folded first); a callable maps a gate to a weight ≥ 0;
        ``None`` weights all gates equally.
    seed : int or numpy Generator, optional
    select : callable, optional
        Only gates for which it returns True are folded (and weighted).
    """
    scale = _check_scale(scale)
    candidates = _foldable(circuit)
    if select is not None:
        candidates = [i for i in candidates if select(circuit.data[i])]
    if not candidates:
        return FoldedCircuit(circuit.copy(), 1.0)
    weight_of = _weight_function(weights, circuit)
    w = np.array([weight_of(circuit.data[i]) for i in candidates], dtype=float)
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise ValueError("gate weights must be finite and >= 0")
    if w.sum() == 0:
        w = np.ones_like(w)
    total = w.sum()
    whole = int((scale - 1) // 2)
    folds = {i: whole for i in candidates}
    reached = 1 + 2 * whole
    rng = np.random.default_rng(seed)
    weighted = np.flatnonzero(w > 0)  # gates without error change no weighted scale
    order = rng.choice(weighted, size=weighted.size, replace=False, p=w[weighted] / total)
    for j in order:
        step = 2 * w[j] / total
        if abs(reached + step - scale) >= abs(reached - scale):
            continue
        folds[candidates[j]] += 1
        reached += step
    return FoldedCircuit(_with_folds(circuit, folds), float(reached))


def fold_two_qubit_gates(circuit: QuantumCircuit, scale: float, seed=None) -> FoldedCircuit:
    """Fold only two-qubit gates (IBM's "gate_folding"): their count scales by about λ, the
    scale reported is that ratio."""
    return fold_gates(circuit, scale, seed=seed, select=lambda inst: len(inst.qubits) == 2)


def _weight_function(weights, circuit: QuantumCircuit) -> Callable[[CircuitInstruction], float]:
    if weights is None:
        return lambda inst: 1.0
    if isinstance(weights, NoiseModel):
        model = weights

        def error(inst: CircuitInstruction) -> float:
            qubits = [circuit.find_bit(q).index for q in inst.qubits]
            ptm = model.gate_error_ptm(inst.operation.name, qubits)
            if ptm is None:
                return 0.0
            dim = ptm.shape[0]
            return float(1 - (np.trace(ptm) - 1) / (dim - 1))  # average Pauli infidelity

        return error
    if callable(weights):
        return weights
    raise TypeError("weights must be a NoiseModel, a callable or None")


def fold_all(
    circuit: QuantumCircuit, scales: Sequence[float], method: str = "global", seed=None
) -> list[FoldedCircuit]:
    """Folded circuits at each scale factor: ``method`` is "global", "random" (gates at
    random, equal weights) or "two_qubit"."""
    if method == "global":
        return [fold_global(circuit, s) for s in scales]
    if method == "random":
        return [fold_gates(circuit, s, seed=seed) for s in scales]
    if method == "two_qubit":
        return [fold_two_qubit_gates(circuit, s, seed=seed) for s in scales]
    raise ValueError(f"method must be 'global', 'random' or 'two_qubit', got {method!r}")
