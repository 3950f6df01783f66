"""``qnoise.Estimator``: a Qiskit ``BaseEstimatorV2`` backed by the PTM simulator."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from qiskit.primitives import BaseEstimatorV2, DataBin, PrimitiveJob, PrimitiveResult, PubResult
from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.quantum_info import SparsePauliOp

from qnoise.sim.simulator import PTMSimulator

__all__ = ["Estimator"]


class Estimator(BaseEstimatorV2):
    """Noisy estimator implementing ``BaseEstimatorV2`` on :class:`qnoise.PTMSimulator`.

    Expectation values are exact under the noise model (readout error included); with a
    precision ``ε > 0`` (per PUB, per ``run`` or ``default_precision``) each value gets
    Gaussian noise of standard deviation ε, as Qiskit's reference ``StatevectorEstimator``
    does, and ``stds`` reports ε.

    Parameters
    ----------
    noise : see :class:`qnoise.PTMSimulator`
    default_precision : float
        Precision used when neither the PUB nor ``run`` gives one.
    seed : int or numpy Generator, optional
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

    def run(self, pubs: Iterable, *, precision: float | None = None) -> PrimitiveJob:
        if precision is None:
            precision = self._default_precision
        coerced = [EstimatorPub.coerce(pub, precision) for pub in pubs]
        job = PrimitiveJob(self._run, coerced)
        job._submit()
        return job

    def _run(self, pubs: list[EstimatorPub]) -> PrimitiveResult:
        rng = np.random.default_rng(self._seed)
        return PrimitiveResult([self._run_pub(pub, rng) for pub in pubs], metadata={"version": 2})

    def _run_pub(self, pub: EstimatorPub, rng: np.random.Generator) -> PubResult:
        circuit = pub.circuit
        compiled = self._simulator.compile(circuit)
        bindings = pub.parameter_values
        params = bindings.as_array(circuit.parameters) if circuit.parameters else None
        shape = np.broadcast_shapes(bindings.shape, pub.observables.shape)
        num_params = len(circuit.parameters)
        flat_params = (
            np.broadcast_to(params, (*shape, num_params)).reshape(-1, num_params)
            if num_params
            else np.zeros((int(np.prod(shape, dtype=int)), 0))
        )
        obs_index = np.broadcast_to(
            np.arange(int(np.prod(pub.observables.shape, dtype=int))).reshape(
                pub.observables.shape
            ),
            shape,
        ).reshape(-1)
        evs = np.empty(obs_index.size)
        for k in np.unique(obs_index):
            observable = pub.observables.ravel()[k] if pub.observables.ndim else pub.observables[()]
            paulis, coeffs = zip(*observable.items(), strict=True)
            op = SparsePauliOp(paulis, coeffs)
            rows = np.nonzero(obs_index == k)[0]
            values = flat_params[rows] if num_params else None
            if values is None:
                evs[rows] = compiled.expectation(op)
            else:
                evs[rows] = compiled.expectation(op, values)
        evs = evs.reshape(shape)
        precision = pub.precision
        stds = np.zeros(shape)
        if precision:
            evs = rng.normal(evs, precision)
            stds = np.full(shape, precision)
        data = DataBin(evs=evs, stds=stds, shape=shape)
        return PubResult(
            data,
            metadata={
                "target_precision": precision,
                "circuit_metadata": circuit.metadata,
            },
        )
