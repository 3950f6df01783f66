"""The variational quantum eigensolver on the PTM simulator."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.optimize
from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp

from qnoise.chem.problem import DENSE_LIMIT, Problem, ground_energy
from qnoise.sim.simulator import PTMSimulator
from qnoise.vqe.objective import EnergyObjective, EvaluationCallback

#: scipy methods that use a gradient; they get the reverse-mode gradient with exact energies
GRADIENT_METHODS = frozenset(
    {"bfgs", "l-bfgs-b", "cg", "slsqp", "tnc", "newton-cg", "trust-constr"}
)


@dataclass
class VQEResult:
    """Outcome of :meth:`VQE.run`; energies in Hartree, constant included.

    Attributes
    ----------
    energy : float
        Final energy: exact under the simulator's noise, or with ``shots`` a fresh finite-shot
        estimate at ``parameters`` (not the optimizer's best noisy sample, which is biased low).
    parameters : ndarray
        Final parameters, ordered as ``ansatz.parameters``.
    expected_energy : float
        Exact (infinite-shot) energy of ``parameters`` under the simulator's noise.
    noiseless_energy : float
        Energy of ``parameters`` without any noise.
    reference_energy : float or None
        Exact ground energy of the Hamiltonian (plus constant).
    evaluation_energies : ndarray
        Energy of every evaluated point, in order.
    iteration_energies : ndarray
        Energy per optimizer iteration, where the optimizer reports it.
    nfev, njev, nit : int
        Energy evaluations (points), gradient evaluations, optimizer iterations.
    wall_time : float
        Seconds spent in :meth:`VQE.run`.
    optimizer_result : object
        What the optimizer returned.
    mitigation : ZNEResult or None
        With ``VQE(mitigation=...)``: the zero-noise extrapolation of the final parameters'
        energy (``mitigation.value``, ``mitigation.stderr``; shots as the run's).
    circuit : QuantumCircuit
        The ansatz bound to ``parameters``.
    problem : str or None
        The :class:`qnoise.chem.Problem`'s name when the VQE was given one.
    """

    energy: float
    parameters: np.ndarray
    expected_energy: float
    noiseless_energy: float
    reference_energy: float | None
    evaluation_energies: np.ndarray
    iteration_energies: np.ndarray
    nfev: int
    njev: int
    nit: int
    wall_time: float
    optimizer_result: Any = field(repr=False)
    mitigation: Any = None
    circuit: QuantumCircuit | None = field(default=None, repr=False)
    problem: str | None = None

    @property
    def mitigated_energy(self) -> float | None:
        """The zero-noise-extrapolated energy (Ha), ``None`` without mitigation."""
        return None if self.mitigation is None else float(self.mitigation.value)

    @property
    def error(self) -> float | None:
        """``|energy - reference_energy|`` (Ha), ``None`` without a reference."""
        return None if self.reference_energy is None else abs(self.energy - self.reference_energy)

    @property
    def noiseless_error(self) -> float | None:
        """``|noiseless_energy - reference_energy|`` (Ha): the quality of the parameters."""
        if self.reference_energy is None:
            return None
        return abs(self.noiseless_energy - self.reference_energy)

    def save(self, path) -> None:
        """Write the result as JSON (energies in Ha, the bound circuit as OpenQASM 3, the
        problem's name): what ``qnoise submit RESULT.json`` sends to a backend."""
        import json

        from qiskit import qasm3

        from qnoise.files import atomic_write

        record = {
            "kind": "qnoise.vqe.VQEResult",
            "problem": self.problem,
            "energy": self.energy,
            "expected_energy": self.expected_energy,
            "noiseless_energy": self.noiseless_energy,
            "reference_energy": self.reference_energy,
            "mitigated_energy": self.mitigated_energy,
            "parameters": self.parameters.tolist(),
            "nfev": self.nfev,
            "circuit_qasm3": qasm3.dumps(self.circuit),
        }
        atomic_write(path, json.dumps(record, indent=2).encode())

    def plot(self, ax=None):
        """Energy per evaluation (and per iteration) against the reference; returns the axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        ax.plot(
            np.arange(1, self.nfev + 1),
            self.evaluation_energies,
            ".",
            ms=2,
            alpha=0.4,
            label="evaluations",
        )
        if self.iteration_energies.size:
            spacing = self.nfev / self.iteration_energies.size
            ax.plot(
                spacing * np.arange(1, self.iteration_energies.size + 1),
                self.iteration_energies,
                "-",
                label="iterations",
            )
        if self.reference_energy is not None:
            ax.axhline(self.reference_energy, color="k", ls="--", lw=1, label="exact")
        ax.set_xlabel("energy evaluations")
        ax.set_ylabel("energy (Ha)")
        ax.legend()
        return ax


class VQE:
    """Variational quantum eigensolver on :class:`qnoise.PTMSimulator`.

    Parameters
    ----------
    ansatz : QuantumCircuit
        Parameterized circuit (any gates the simulator accepts).
    hamiltonian : Problem or SparsePauliOp
        A :class:`qnoise.chem.Problem` (its constant and exact energy are used) or an operator.
    simulator : PTMSimulator, optional
        Noise lives here, e.g. ``PTMSimulator(noise="fake_mumbai:median")``; default noiseless.
    optimizer : str, object or callable, optional
        A scipy ``minimize`` method name (``"L-BFGS-B"``, ``"COBYLA"``, …); an object with
        ``minimize(fun, x0, jac=None, bounds=None)`` (qnoise and qiskit-algorithms optimizers);
        or a callable with that signature (qiskit-algorithms' ``Minimizer``). Default:
        ``"L-BFGS-B"`` with the exact reverse-mode gradient, or with shots
        :class:`qnoise.optim.SPSA` (500 iterations, seeded by :meth:`run`'s seed).
    shots : int, optional
        Finite-shot energies (shots per measurement group); ``None`` for exact values.
    shot_model : {"sample", "gaussian"}
    callback : callable, optional
        ``callback(evaluation_index, parameters, energy)`` after every evaluated point.
    reference_energy : float, optional
        Overrides the problem's exact energy; for a bare operator up to 12 qubits the exact
        ground energy is computed when not given.
    options : dict, optional
        Passed to ``scipy.optimize.minimize`` as ``options`` (scipy methods only).
    bounds : sequence of (low, high), optional
        Parameter bounds passed to the optimizer.
    use_gradient : bool
        With exact energies, give optimizers that use a gradient the reverse-mode gradient
        (``jac``); ``False`` leaves them to their own (e.g. AQGD's parameter shift).
    mitigation : qnoise.mitigation.ZNE, optional
        Zero-noise extrapolation of the final energy (the optimization itself runs on the
        unmitigated energies); the result's ``mitigated_energy`` and ``mitigation``.
    """

    def __init__(
        self,
        ansatz: QuantumCircuit,
        hamiltonian: Problem | SparsePauliOp,
        simulator: PTMSimulator | None = None,
        optimizer=None,
        *,
        shots: int | None = None,
        shot_model: str = "sample",
        callback: EvaluationCallback | None = None,
        reference_energy: float | None = None,
        options: dict | None = None,
        bounds=None,
        use_gradient: bool = True,
        mitigation=None,
    ) -> None:
        if isinstance(hamiltonian, Problem):
            operator, constant = hamiltonian.hamiltonian, hamiltonian.constant
            reference = hamiltonian.exact_energy
            self.problem_name = hamiltonian.name
        elif isinstance(hamiltonian, SparsePauliOp):
            operator, constant = hamiltonian, 0.0
            self.problem_name = None
            reference = ground_energy(operator) if operator.num_qubits <= DENSE_LIMIT else None
        else:
            raise TypeError(
                f"hamiltonian must be a qnoise.chem.Problem or SparsePauliOp, got "
                f"{type(hamiltonian).__name__}"
            )
        if ansatz.num_qubits != operator.num_qubits:
            raise ValueError(
                f"the ansatz has {ansatz.num_qubits} qubits, the Hamiltonian {operator.num_qubits}"
            )
        self.ansatz = ansatz
        self.hamiltonian = operator
        self.constant = float(constant)
        self.reference_energy = reference if reference_energy is None else float(reference_energy)
        self.simulator = simulator if simulator is not None else PTMSimulator()
        self.optimizer = optimizer
        self.shots = shots
        self.shot_model = shot_model
        self.callback = callback
        self.options = dict(options or {})
        self.bounds = bounds
        self.use_gradient = bool(use_gradient)
        if mitigation is not None and not hasattr(mitigation, "energy"):
            raise TypeError("mitigation must be a qnoise.mitigation.ZNE (or None)")
        self.mitigation = mitigation

    def objective(self, seed=None) -> EnergyObjective:
        """A fresh :class:`EnergyObjective` for this problem (shot noise seeded by ``seed``)."""
        return EnergyObjective(
            self.ansatz,
            self.hamiltonian,
            self.constant,
            self.simulator,
            shots=self.shots,
            shot_model=self.shot_model,
            seed=seed,
            callback=self.callback,
        )

    def _default_optimizer(self, rng: np.random.Generator):
        if self.shots is None:
            return "L-BFGS-B"
        from qnoise.optim import SPSA

        return SPSA(maxiter=500, seed=rng)

    def _minimize(self, objective: EnergyObjective, x0: np.ndarray, rng: np.random.Generator):
        iterations: list[float] = []
        optimizer = self.optimizer if self.optimizer is not None else self._default_optimizer(rng)
        if isinstance(optimizer, str):
            method = optimizer.lower()
            use_gradient = method in GRADIENT_METHODS and self.shots is None and self.use_gradient
            fun = objective.value_and_gradient if use_gradient else objective

            def record(intermediate_result: scipy.optimize.OptimizeResult) -> None:
                iterations.append(float(intermediate_result.fun))

            result = scipy.optimize.minimize(
                fun,
                x0,
                jac=use_gradient or None,
                method=optimizer,
                bounds=self.bounds,
                options=self.options or None,
                callback=record,
            )
            return result, iterations
        jac = objective.gradient if self.shots is None and self.use_gradient else None
        if hasattr(optimizer, "minimize"):
            result = optimizer.minimize(objective, x0, jac=jac, bounds=self.bounds)
        elif callable(optimizer):
            result = optimizer(objective, x0, jac, self.bounds)
        else:
            raise TypeError(
                "optimizer must be a scipy method name, an object with minimize(), or a "
                f"callable minimizer; got {type(optimizer).__name__}"
            )
        history = getattr(result, "history", None)
        if history is not None and "fun" in history:
            iterations = [float(v) for v in history["fun"]]
        return result, iterations

    def run(self, initial_point=None, seed=None) -> VQEResult:
        """Optimize the parameters.

        Parameters
        ----------
        initial_point : array_like, optional
            Starting parameters (not modified). Default: uniform in ``[-π, π)`` from ``seed``.
        seed : int, optional
            Seeds the default initial point and the shot noise; the same seed gives the same
            result.
        """
        start = time.perf_counter()
        rng = np.random.default_rng(seed)
        p = self.ansatz.num_parameters
        if initial_point is None:
            x0 = rng.uniform(-np.pi, np.pi, p)
        else:
            x0 = np.array(initial_point, dtype=float, copy=True)
            if x0.shape != (p,):
                raise ValueError(f"initial_point must have shape ({p},), got {x0.shape}")
        objective = self.objective(seed=rng)
        result, iterations = self._minimize(objective, x0, rng)
        parameters = np.asarray(result.x, dtype=float).reshape(p)
        expected = objective.program.expectation(self.hamiltonian, parameters) + self.constant
        # With shots the optimizer's best value is biased low (the minimum of noisy samples):
        # report a fresh estimate at the final parameters instead (counted in nfev).
        energy = expected if self.shots is None else objective(parameters)
        ideal = PTMSimulator().compile(self.ansatz)
        noiseless = ideal.expectation(self.hamiltonian, parameters) + self.constant
        mitigated = None
        if self.mitigation is not None:
            mitigated = self.mitigation.energy(
                self.simulator, self.ansatz, self.hamiltonian, parameters, self.constant,
                shots=self.shots, seed=rng,
            )  # fmt: skip
        return VQEResult(
            energy=float(energy),
            parameters=parameters,
            expected_energy=float(expected),
            noiseless_energy=float(noiseless),
            reference_energy=self.reference_energy,
            evaluation_energies=np.array(objective.energies),
            iteration_energies=np.array(iterations),
            nfev=objective.nfev,
            njev=objective.njev,
            nit=int(getattr(result, "nit", len(iterations)) or len(iterations)),
            wall_time=time.perf_counter() - start,
            optimizer_result=result,
            mitigation=mitigated,
            circuit=self.ansatz.assign_parameters(parameters),
            problem=self.problem_name,
        )
