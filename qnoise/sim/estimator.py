"""``qnoise.Estimator``: a Qiskit ``BaseEstimatorV2`` backed by the PTM simulator."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from qiskit.circuit import QuantumCircuit
from qiskit.primitives import BaseEstimatorV2, DataBin, PubResult
from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.quantum_info import SparsePauliOp

from qnoise.sim.completed_job import CompletedJob
from qnoise.sim.simulator import PTMSimulator

__all__ = ["Estimator"]


class Estimator(BaseEstimatorV2):
    """Noisy estimator implementing ``BaseEstimatorV2`` on :class:`qnoise.PTMSimulator`.

    Expectation values are exact under the noise model (readout error included). With a
    precision ``ε > 0`` (per PUB, per ``run`` or ``default_precision``) each value gets
    Gaussian noise of standard deviation ε, drawn as Qiskit's ``StatevectorEstimator``
    draws it: a fresh generator from ``seed`` for every PUB, one draw per value in C order
    (so the same seed gives the same numbers as that estimator for the same exact values);
    ``stds`` reports ε. Circuits may contain gates, resets, delays, final measurements and
    non-gate instructions with a definition (appended sub-circuits, ``initialize``), which
    are unrolled; classical control flow is refused.

    The PUBs run when :meth:`run` is called (the simulator is local and fast; no thread is
    started) and the returned job is already complete. Compiled circuits are cached by
    structure, and observables by content, so a loop that changes only parameter values
    pays only for the kernels.

    Parameters
    ----------
    noise : see :class:`qnoise.PTMSimulator`
    default_precision : float
        Precision used when neither the PUB nor ``run`` gives one.
    seed : int or None
        Seed of the precision noise.
    """

    def __init__(self, noise=None, *, default_precision: float = 0.0, seed=None) -> None:
        if default_precision < 0:
            raise ValueError(f"default_precision must be >= 0, got {default_precision}")
        self._simulator = PTMSimulator(noise)
        self._default_precision = float(default_precision)
        self._seed = seed

    @property
    def simulator(self) -> PTMSimulator:
        """The underlying simulator."""
        return self._simulator

    @property
    def default_precision(self) -> float:
        return self._default_precision

    def run(self, pubs: Iterable, *, precision: float | None = None) -> CompletedJob:
        if precision is None:
            precision = self._default_precision
        return CompletedJob.of(lambda pub: self._run_any(pub, precision), pubs)

    def _run_any(self, pub, precision: float) -> PubResult:
        fast = _plain_pub(pub, precision)
        if fast is not None:
            return self._evaluate(*fast)
        return self._run_pub(EstimatorPub.coerce(pub, precision))

    def _evaluate(self, circuit, observable, values, shape, precision) -> PubResult:
        """One observable on ``values`` ``(B, P)``; the result has ``shape``."""
        compiled = self._simulator.compile(circuit)
        evs = compiled.expectation_batch(compiled.prepare(observable), values).reshape(shape)
        return self._result(evs, precision, circuit)

    def _result(self, evs: np.ndarray, precision: float, circuit) -> PubResult:
        stds = np.zeros(evs.shape)
        if precision:
            rng = np.random.default_rng(self._seed)  # fresh per PUB, as Qiskit
            evs = np.asarray(rng.normal(evs, precision), dtype=float)
            stds = np.full(evs.shape, float(precision))
        data = DataBin(evs=evs, stds=stds, shape=evs.shape)
        return PubResult(
            data, metadata={"target_precision": precision, "circuit_metadata": circuit.metadata}
        )

    def _run_pub(self, pub: EstimatorPub) -> PubResult:
        circuit = pub.circuit
        compiled = self._simulator.compile(circuit)
        bindings = pub.parameter_values
        num_params = len(circuit.parameters)
        shape = np.broadcast_shapes(bindings.shape, pub.observables.shape)
        size = int(np.prod(shape, dtype=int))
        if num_params:
            params = bindings.as_array(circuit.parameters)
            flat_params = np.broadcast_to(params, (*shape, num_params)).reshape(-1, num_params)
        else:
            flat_params = np.zeros((size, 0))
        obs_index = np.broadcast_to(
            np.arange(pub.observables.size).reshape(pub.observables.shape), shape
        ).reshape(-1)
        flat_observables = pub.observables.ravel()
        evs = np.empty(size)
        for k in np.unique(obs_index):
            paulis, coeffs = zip(*flat_observables[k].items(), strict=True)
            coeffs = np.asarray(coeffs)
            if np.any(np.abs(np.imag(coeffs)) > 1e-12):
                raise ValueError("the observable is not Hermitian (a coefficient is complex)")
            prepared = compiled.prepare(SparsePauliOp(paulis, np.real(coeffs)))
            rows = np.nonzero(obs_index == k)[0]
            values = flat_params[rows]
            if num_params:
                values, _ = compiled.parameter_batch(values)
            evs[rows] = compiled.expectation_batch(prepared, np.ascontiguousarray(values))
        return self._result(evs.reshape(shape), pub.precision, circuit)


def _plain_pub(pub, precision: float):
    """``(circuit, observable, values (B, P), result shape, precision)`` for the common PUB
    ``(circuit, SparsePauliOp[, array of parameter values[, precision]])``, checked as
    Qiskit checks it; ``None`` for any other form (or any doubt), which then takes Qiskit's
    general coercion."""
    if not isinstance(pub, tuple) or not 2 <= len(pub) <= 4:
        return None
    circuit, observable = pub[0], pub[1]
    if not isinstance(circuit, QuantumCircuit) or type(observable) is not SparsePauliOp:
        return None
    if observable.num_qubits != circuit.num_qubits or np.any(np.imag(observable.coeffs)):
        return None
    if len(pub) == 4 and pub[3] is not None:
        precision = pub[3]
    if not isinstance(precision, (int, float)) or isinstance(precision, bool) or precision < 0:
        return None
    num_params = circuit.num_parameters
    raw = pub[2] if len(pub) > 2 else None
    if raw is None:
        if num_params:
            return None
        return circuit, observable, np.zeros((1, 0)), (), float(precision)
    if not isinstance(raw, (np.ndarray, list)):
        return None
    try:
        values = np.asarray(raw, dtype=float)
    except (TypeError, ValueError):
        return None
    if values.ndim not in (1, 2) or values.shape[-1] != num_params or not num_params:
        return None
    if not np.all(np.isfinite(values)):
        return None
    shape = () if values.ndim == 1 else (values.shape[0],)
    return (
        circuit,
        observable,
        np.ascontiguousarray(values.reshape(-1, num_params)),
        shape,
        float(precision),
    )
