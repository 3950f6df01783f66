"""The energy function an optimizer sees: compiled once, batched, counted, recorded."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp

from qnoise.sim.simulator import PTMSimulator

EvaluationCallback = Callable[[int, np.ndarray, float], None]


class EnergyObjective:
    """Total energy ``<H>(θ) + constant`` of an ansatz on a simulator.

    The circuit is compiled once; each call runs the compiled program. Calls accept one
    point, shape ``(p,)`` (returns a float), or a batch, shape ``(B, p)`` (returns ``(B,)``,
    evaluated in one pass of the simulator): ``accepts_batch`` is ``True`` so batch-aware
    optimizers can use it.

    Parameters
    ----------
    ansatz : QuantumCircuit
        Parameterized circuit; values are ordered as ``ansatz.parameters``.
    hamiltonian : SparsePauliOp
        Observable on the ansatz's qubits (Ha), without the constant.
    constant : float
        Added to every energy (Ha).
    simulator : PTMSimulator
    shots : int, optional
        Shots per measurement group; ``None`` for exact expectation values.
    shot_model : {"sample", "gaussian"}
        See :mod:`qnoise.sim.shots`.
    seed : int or numpy Generator, optional
        Stream of the shot noise (one stream for the whole run).
    callback : callable, optional
        ``callback(evaluation_index, parameters, energy)`` after every evaluated point.

    Attributes
    ----------
    accepts_batch, accepts_shots : bool
        Declared to optimizers (:mod:`qnoise.optim.base`): batches ``(B, p)`` and
        ``shots=`` per call are accepted.
    nfev : int
        Points evaluated (a batch of B counts B).
    njev : int
        Gradients evaluated.
    energies : list of float
        Total energy of every evaluated point, in order.
    """

    accepts_batch = True
    accepts_shots = True

    def __init__(
        self,
        ansatz: QuantumCircuit,
        hamiltonian: SparsePauliOp,
        constant: float = 0.0,
        simulator: PTMSimulator | None = None,
        *,
        shots: int | None = None,
        shot_model: str = "sample",
        seed=None,
        callback: EvaluationCallback | None = None,
    ) -> None:
        if ansatz.num_qubits != hamiltonian.num_qubits:
            raise ValueError(
                f"the ansatz has {ansatz.num_qubits} qubits, the Hamiltonian "
                f"{hamiltonian.num_qubits}"
            )
        if shots is not None and int(shots) < 1:
            raise ValueError(f"shots must be a positive integer or None, got {shots}")
        self.simulator = simulator if simulator is not None else PTMSimulator()
        self.program = self.simulator.compile(ansatz)
        self.hamiltonian = hamiltonian
        self._prepared = self.program.prepare(hamiltonian)
        self.constant = float(constant)
        self.num_parameters = ansatz.num_parameters
        self.shots = None if shots is None else int(shots)
        self.shot_model = shot_model
        self._rng = np.random.default_rng(seed)
        self.callback = callback
        self.nfev = 0
        self.njev = 0
        self.energies: list[float] = []

    def record(self, points: np.ndarray, energies: np.ndarray) -> None:
        """Count evaluated ``points`` (B, p) and their total ``energies`` (B,) in ``nfev``
        and ``energies`` and call the callback: what every call does, and what optimizers
        that evaluated through :attr:`native_program` report afterwards."""
        if self.callback is None:
            self.nfev += energies.size
            self.energies.extend(energies.tolist())
            return
        for point, energy in zip(points, energies.tolist(), strict=True):
            self.nfev += 1
            self.energies.append(energy)
            self.callback(self.nfev, point.copy(), energy)

    @property
    def native_program(self):
        """The exact energy as a native program for compiled optimizer loops (see
        :meth:`qnoise.sim.program.CompiledCircuit.native_program`), bit-identical to calling
        the objective; ``None`` with shots or a per-evaluation callback, which need Python."""
        if self.shots is not None or self.callback is not None:
            return None
        return self.program.native_program(self._prepared, self.constant)

    @property
    def shift_rule_exact(self) -> bool:
        """Whether parameter-shift gradients of this ansatz are exact (see
        :attr:`qnoise.sim.program.CompiledCircuit.shift_rule_exact`)."""
        return self.program.shift_rule_exact

    def __call__(self, parameters, shots: int | None = None):
        """Total energy at one point ``(p,)`` (float) or a batch ``(B, p)`` (array).

        ``shots`` overrides the objective's shot count for this call (shot schedules).
        """
        points, single = self.program.parameter_batch(parameters)
        shots = self.shots if shots is None else int(shots)
        energies = self.constant + self.program.expectation_batch(
            self._prepared,
            points,
            shots=shots,
            seed=self._rng if shots is not None else None,
            shot_model=self.shot_model,
        )
        self.record(points, energies)
        return float(energies[0]) if single else energies

    def gradient(self, parameters) -> np.ndarray:
        """Exact gradient (Ha per radian) at one point by reverse mode; counted in ``njev``
        only (the energy computed alongside is not recorded as an evaluation)."""
        if self.shots is not None:
            raise ValueError("analytic gradients need exact energies (shots=None)")
        points, single = self.program.parameter_batch(parameters)
        if not single:
            raise ValueError("gradient takes one point of shape (p,)")
        self.njev += 1
        return self.program.value_and_gradient(self.hamiltonian, points[0])[1]

    def value_and_gradient(self, parameters) -> tuple[float, np.ndarray]:
        """Exact energy and gradient (Ha per radian) of one point, by reverse mode.

        Only for exact expectation values: a gradient of a finite-shot estimate is not
        defined, so with ``shots`` set this raises.
        """
        if self.shots is not None:
            raise ValueError("analytic gradients need exact energies (shots=None)")
        points, single = self.program.parameter_batch(parameters)
        if not single:
            raise ValueError("value_and_gradient takes one point of shape (p,)")
        value, gradient = self.program.value_and_gradient(self.hamiltonian, points[0])
        energy = value + self.constant
        self.njev += 1
        self.record(points, np.array([energy]))
        return energy, gradient
