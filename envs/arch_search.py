"""Quantum architecture search as a Gymnasium environment (CRLQAS)."""

from __future__ import annotations

from functools import partial
from typing import ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from qiskit import QuantumCircuit

from qnoise import PTMSimulator, chem
from qnoise.envs.actions import action_set
from qnoise.envs.circuit_state import CircuitState
from qnoise.envs.config import CRLQAS_ADAM_SPSA, CRLQAS_THRESHOLDS, ArchSearchConfig
from qnoise.envs.curriculum import Curriculum
from qnoise.optim import AQGD, COBYLA, LBFGSB, SPSA, AdamSPSA, Rotosolve
from qnoise.optim.rotosolve import sinusoid_minimum
from qnoise.vqe import EnergyObjective

SUCCESS_REWARD = 5.0
FAILURE_REWARD = -5.0
ILLEGAL_REWARD = -1.0


class ArchSearchEnv(gym.Env[np.ndarray, np.int64]):
    """Build a circuit gate by gate to reach a molecule's ground energy on a noisy device.

    Reproduces CRLQAS: Patel, Koutný, Burkhardt, et al., "Curriculum reinforcement learning
    for quantum architecture search under hardware errors", ICLR 2024 (without the defects of
    its public code: the energy is that of the circuit *with* the new gate, the −5 penalty
    applies at every unsuccessful end, CNOT orientation is the one the agent chose, and the
    inner optimizer sees the configured shot noise).

    ## Action Space
    ``Discrete(n(n+2))``: the CNOTs ``(c, (c+x) mod n)`` for ``c = 0..n-1``, ``x = 1..n-1``,
    then RX, RY, RZ on each qubit (:func:`qnoise.envs.actions.action_set`); with a coupling map
    only the CNOTs on its edges, with ``rotations`` only those axes. ``action_masks()`` (also
    ``info["action_mask"]``) marks illegal repeats
    (:class:`qnoise.envs.circuit_state.CircuitState`).

    ## Observation Space
    ``Box(float32)`` of size ``L·(n+3)·n`` (+ ``L·3·n`` with angle rows, + 1 with the energy
    feature): the flattened moment tensor (angle rows wrapped to [−π, π]), then the current
    energy (Ha, within ``constant ± Σ|c_j|``).

    ## Rewards
    With μ the target and ξ the threshold, after each action all angles are re-optimized
    (warm start; with ``restarts``, also from random angles, keeping the lowest) and
    ``E_t`` is the optimized (noisy) energy — or its zero-noise extrapolation with the
    ``mitigation`` option (with ``optimize_mitigated``, the optimum of the mitigated energy
    itself); with ``confirm_shots``, a step that would succeed or set the lowest energy
    seen is re-estimated with that many shots and the re-estimate is ``E_t`` — and
    ``error = |E_t − μ|``:
    +5 if ``error < ξ`` (success); −5 if the episode ends otherwise (step cap or halting
    step); else ``clip((E_{t−1} − E_t) / |E_{t−1} − μ|, −1, 1)``. ``E_0`` is the energy of
    the empty circuit.

    ## Starting State
    The empty circuit on ``|0…0⟩``; a halting step is drawn (random halting).

    ## Episode End
    Terminated on success, at the step cap ``L`` or at the halting step; ``info["outcome"]``
    says which (``"success"``, ``"cap"``, ``"halt"``).

    ## Arguments
    ``ArchSearchEnv(config=None, **options)`` with the options of
    :class:`qnoise.envs.config.ArchSearchConfig`, plus ``seed``. The curriculum
    (:class:`qnoise.envs.curriculum.Curriculum`) is updated at each episode end;
    ``state_dict()`` / ``load_state_dict()`` save and restore it with the random state.

    ## Version History
    * v0 (``qnoise/ArchSearch-v0``): the rewards of the CRLQAS paper, which differ from its
      public code's in these ways. The step's energy is that of the circuit *with* the new
      gate (the code evaluated the circuit before it, so rewards lagged the actions by one
      step). The −5 penalty applies at every unsuccessful end, the halting step included
      (the code omitted it at early halts). μ is the exact ground energy by default (the
      code used the lower bound ``constant − Σ|c_j|``; ``target="lower_bound"`` restores
      it). The inner optimizer sees the configured shot noise (the code added it only to
      the one reported energy per step). An agent that ignores the mask pays −1 and a step
      for an illegal action (``illegal_action="penalize"``); CRLQAS's agent masks them.
    """

    metadata: ClassVar[dict] = {"render_modes": ["ansi"], "render_fps": 4}  # nominal (text)

    def __init__(
        self,
        config: ArchSearchConfig | None = None,
        seed: int | None = None,
        render_mode: str | None = None,
        **options,
    ):
        super().__init__()
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        self.render_mode = render_mode
        if config is None:
            config = ArchSearchConfig(**options)
        elif options:
            raise TypeError("give either config or keyword options, not both")
        self.config = config
        self.problem = chem.load(config.problem)
        n = self.num_qubits = self.problem.num_qubits
        self.max_steps = config.max_steps
        self.actions = action_set(n, config.edges, config.rotation_names)
        self.action_space = spaces.Discrete(len(self.actions))
        self.state = CircuitState(n, self.max_steps, config.angle_rows)
        size = self.state.tensor.size + int(config.include_energy)
        low = np.zeros(size, dtype=np.float32)
        high = np.ones(size, dtype=np.float32)
        if config.angle_rows:  # angles wrapped to [-π, π]
            angles = np.zeros(self.state.tensor.shape, dtype=bool)
            angles[:, n + 3 :, :] = True
            low[: self.state.tensor.size][angles.reshape(-1)] = -np.pi
            high[: self.state.tensor.size][angles.reshape(-1)] = np.pi
        if config.include_energy:  # |E - constant| <= Σ|c_j|
            spread = float(np.abs(self.problem.hamiltonian.coeffs).sum())
            low[-1] = self.problem.constant - spread
            high[-1] = self.problem.constant + spread
        self.observation_space = spaces.Box(low, high, dtype=np.float32)
        self.simulator = PTMSimulator(config.noise_model)
        self.ideal = PTMSimulator()
        self.target = (
            self.problem.exact_energy if config.target == "exact" else self.problem.lower_bound
        )
        self.curriculum = Curriculum.crlqas(
            self.target,
            self._initial_threshold(),
            n,
            enabled=config.curriculum,
            **config.curriculum_options,
        )
        self._optimizer(0)  # a bad optimizer_options fails here, not at the first step
        self._spec = None
        self._steps = 0
        self._halt_at = None
        self._energy = self._unmitigated = np.nan
        self._done = True
        if seed is not None:
            self.reset(seed=seed)

    # ----------------------------------------------------------------- set-up
    def _initial_threshold(self) -> float:
        if self.config.threshold is not None:
            return float(self.config.threshold)
        if self.config.problem in CRLQAS_THRESHOLDS:
            return CRLQAS_THRESHOLDS[self.config.problem]
        empty = QuantumCircuit(self.num_qubits)
        energy = self.ideal.expectation(empty, self.problem.hamiltonian) + self.problem.constant
        return round(1.25 * abs(energy - self.target), 2)

    def _optimizer(self, seed: int):
        """A fresh optimizer for one step (CRLQAS's budgets unless ``maxfev`` is set), with
        ``optimizer_options`` applied over the defaults."""
        choice, budget = self.config.optimizer, self.config.maxfev
        if choice is not None and not isinstance(choice, str):
            return choice
        name = choice or ("adam_spsa" if self.config.noisy else "cobyla")
        make, defaults = self._optimizer_defaults(name, budget, seed)
        options = self.config.optimizer_options
        try:
            return make(**{**defaults, **options})
        except TypeError as exc:
            raise ValueError(f"optimizer_options {options} do not fit {name!r}: {exc}") from exc

    def _optimizer_defaults(self, name: str, budget: int | None, seed: int):
        """``(constructor, keyword arguments)`` of the named step optimizer."""
        if name == "cobyla":
            return COBYLA, {"maxiter": budget or (100 if self.num_qubits <= 3 else 1000)}
        if name == "adam_spsa":
            if budget is not None:
                return partial(AdamSPSA.preset, "crlqas"), {"maxfev": budget, "seed": seed}
            preset = CRLQAS_ADAM_SPSA.get((self.problem.formula, self.num_qubits))
            if preset == "crlqas_lih_4q":
                return partial(AdamSPSA.preset, preset), {"shots": self.config.shots, "seed": seed}
            if preset is not None:
                return partial(AdamSPSA.preset, preset), {"seed": seed}
            return partial(AdamSPSA.preset, "crlqas"), {"maxfev": 500, "seed": seed}
        if name == "spsa":  # fixed gains: a new gate often starts on a flat landscape
            budget = max(budget or 500, 3)
            return SPSA, {"maxiter": (budget - 1) // 2, "maxfev": budget, "seed": seed,
                          "a": 0.5, "c": 0.1, "A": None}  # fmt: skip
        if name == "rotosolve":  # exact energies: sweep to convergence; shots: the budget
            tol = 1e-10 if self.config.shots is None else None
            return Rotosolve, {"maxiter": 20 if budget is None else None, "maxfev": budget,
                               "tol": tol, "seed": seed}  # fmt: skip
        if name == "aqgd":
            return AQGD, {"maxiter": 10**6, "maxfev": budget or 500, "eta": 0.2}
        return LBFGSB, {"maxiter": 1000, "maxfev": budget}

    # ----------------------------------------------------------------- API
    def action_masks(self) -> np.ndarray:
        """Legal actions (``True``), in action order (sb3-contrib's ``MaskablePPO`` name)."""
        return self.state.mask(self.actions)

    def circuit(self, parametrized: bool = False):
        """The current circuit: bound (default), or ``(circuit with Parameters, angles)``."""
        circuit = self.state.circuit()
        if parametrized:
            return circuit.copy(), self.state.angles.copy()
        return circuit.assign_parameters(self.state.angles) if circuit.num_parameters else circuit

    def _observation(self) -> np.ndarray:
        obs = self.state.tensor.reshape(-1)
        if self.config.include_energy:  # clipped: an extrapolated energy can overshoot
            low, high = self.observation_space.low[-1], self.observation_space.high[-1]
            obs = np.append(obs, np.float32(np.clip(self._energy, low, high)))
        return obs.astype(np.float32)

    def _evaluate(self, optimize: bool, new_rotation: bool = False) -> tuple[float, int]:
        """Optimize (or just evaluate) the current circuit's angles; returns (energy, nfev).

        ``new_rotation`` with ``new_angle="best"``: first set the last angle to the minimum
        of the energy along it (three evaluations). With ``optimize_mitigated`` the
        objective is the mitigated energy (each of its evaluations counts one energy per
        scale factor)."""
        circuit = self.state.circuit()
        seed = int(self.np_random.integers(2**63))
        if self.config.optimize_mitigated:
            objective = self.config.zne.objective(
                self.simulator, circuit, self.problem.hamiltonian, self.problem.constant,
                shots=self.config.shots, shot_model=self.config.shot_model, seed=seed,
            )  # fmt: skip
        else:
            objective = self._energy_objective(circuit, self.config.shots, seed)
        if not optimize or circuit.num_parameters == 0:
            energy, nfev = float(objective(self.state.angles)), 1
        else:
            start, nfev = self.state.angles.copy(), 0
            if new_rotation and self.config.new_angle == "best":
                points = np.tile(start, (3, 1))
                points[:, -1] = (0.0, np.pi / 2, -np.pi / 2)
                start[-1] = sinusoid_minimum(0.0, *objective(points))[0]
                nfev = 3
            starts = [start] + [
                self.np_random.uniform(-np.pi, np.pi, start.size)
                for _ in range(self.config.restarts)
            ]
            results = [self._minimize(objective, x0, seed + k) for k, x0 in enumerate(starts)]
            result = min(results, key=lambda r: r.fun)
            self.state.set_angles(result.x)
            energy, nfev = float(result.fun), nfev + sum(int(r.nfev) for r in results)
        zne = self.config.zne
        if self.config.optimize_mitigated:
            noisy = self._energy_objective(circuit, self.config.shots, seed)
            self._unmitigated = float(noisy(self.state.angles))
            return energy, nfev * len(zne.scale_factors) + 1
        self._unmitigated = energy
        if zne is None:
            return energy, nfev
        return self._mitigated(circuit, self.config.shots, seed), nfev + len(zne.scale_factors)

    def _minimize(self, objective, start: np.ndarray, seed: int):
        """One run of the step optimizer from ``start`` (exact gradients where it uses them)."""
        optimizer = self._optimizer(seed % 2**63)
        uses_gradient = isinstance(optimizer, (LBFGSB, AQGD)) and self.config.shots is None
        return optimizer.minimize(
            objective, start, jac=objective.gradient if uses_gradient else None
        )

    def _energy_objective(self, circuit: QuantumCircuit, shots: int | None, seed: int):
        """The (noisy) energy of ``circuit`` as an objective, with ``shots`` shots."""
        return EnergyObjective(
            circuit, self.problem.hamiltonian, self.problem.constant, self.simulator,
            shots=shots, shot_model=self.config.shot_model, seed=seed,
        )  # fmt: skip

    def _mitigated(self, circuit: QuantumCircuit, shots: int | None, seed: int) -> float:
        """The zero-noise-extrapolated energy of ``circuit`` at the current angles."""
        return self.config.zne.energy(
            self.simulator, circuit, self.problem.hamiltonian, self.state.angles,
            self.problem.constant, shots=shots, seed=seed,
        ).value  # fmt: skip

    def _is_candidate(self, energy: float) -> bool:
        """Whether a step's energy needs confirming (``confirm_shots``): it would succeed or
        be the lowest energy the curriculum has seen."""
        if self.config.confirm_shots is None:
            return False
        curriculum = self.curriculum
        return abs(energy - self.target) < curriculum.threshold or energy < curriculum.lowest_energy

    def _confirm(self) -> float:
        """A fresh estimate of the current circuit's energy at its angles with
        ``confirm_shots`` shots (mitigated when the environment mitigates)."""
        circuit, shots = self.state.circuit(), self.config.confirm_shots
        seed = int(self.np_random.integers(2**63))
        if self.config.zne is not None:
            return self._mitigated(circuit, shots, seed)
        return float(self._energy_objective(circuit, shots, seed)(self.state.angles))

    def _noiseless_energy(self) -> float:
        circuit = self.state.circuit()
        values = self.state.angles if circuit.num_parameters else None
        return float(
            self.ideal.expectation(circuit, self.problem.hamiltonian, values)
            + self.problem.constant
        )

    def _info(self, nfev: int, outcome: str | None, illegal: bool = False) -> dict:
        noiseless = self._noiseless_energy()
        state = self.state
        return {
            "energy": self._energy,
            "unmitigated_energy": self._unmitigated,
            "noiseless_energy": noiseless,
            "error": abs(self._energy - self.target),
            "noiseless_error": abs(noiseless - self.target),
            "threshold": self.curriculum.threshold,
            "gates": len(state.gates),
            "cnots": state.num_cnots,
            "rotations": state.num_rotations,
            "depth": state.depth,
            "parameters": state.angles.copy(),
            "nfev": nfev,
            "outcome": outcome,
            "illegal": illegal,
            "step": self._steps,
            "halting_step": self._halt_at,
            "action_mask": self.action_masks(),
        }

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.state.reset()
        self._steps = 0
        halting = self.config.halting
        self._halt_at = halting.draw(self.np_random) if halting is not None else None
        self._energy, nfev = self._evaluate(optimize=False)
        self._done = False
        return self._observation(), self._info(nfev, None)

    def step(self, action):
        if self._done:
            raise RuntimeError("the episode has ended: call reset()")
        if not self.action_space.contains(action):
            raise ValueError(f"action {action!r} is not in {self.action_space}")
        gate = self.actions[int(action)]
        self._steps += 1
        previous = self._energy
        legal = self.state.is_legal(gate)
        nfev = 0
        if legal:
            angle = 0.0
            if self.config.new_angle == "random" and not gate.is_cnot:
                angle = float(self.np_random.uniform(0.0, 0.1))
            self.state.append(gate, angle)
            self._energy, nfev = self._evaluate(optimize=True, new_rotation=not gate.is_cnot)
            if self._is_candidate(self._energy):
                self._energy = self._confirm()
                nfev += 1 if self.config.zne is None else len(self.config.zne.scale_factors)
            self.curriculum.observe(self._energy)
        elif self.config.illegal_action == "raise":
            self._steps -= 1
            raise ValueError(f"action {int(action)} ({gate}) is illegal here (see action_masks)")
        error = abs(self._energy - self.target)
        outcome = None
        if legal and error < self.curriculum.threshold:
            outcome, reward = "success", SUCCESS_REWARD
        elif self._steps >= self.max_steps:
            outcome, reward = "cap", FAILURE_REWARD
        elif self._halt_at is not None and self._steps >= self._halt_at:
            outcome, reward = "halt", FAILURE_REWARD
        elif not legal:
            reward = ILLEGAL_REWARD
        else:
            gap = abs(previous - self.target)
            reward = float(np.clip((previous - self._energy) / max(gap, 1e-12), -1.0, 1.0))
        if outcome is not None:
            self._done = True
            self.curriculum.end_episode(outcome == "success")
        return (
            self._observation(),
            reward,
            outcome is not None,
            False,
            self._info(nfev, outcome, illegal=not legal),
        )

    def render(self) -> str:
        """The current circuit as text (render mode ``"ansi"``)."""
        return str(self.circuit().draw(output="text"))

    @property
    def spec(self):
        """Gymnasium's ``EnvSpec`` of an environment made by ``gymnasium.make``, with
        ``max_episode_steps`` = this environment's step cap L (the environment ends its
        episodes itself, so no ``TimeLimit`` wrapper is needed)."""
        return self._spec

    @spec.setter
    def spec(self, value) -> None:
        if value is not None and value.max_episode_steps is None:
            import dataclasses

            value = dataclasses.replace(value, max_episode_steps=self.max_steps)
        self._spec = value

    # ----------------------------------------------------------------- state
    def state_dict(self) -> dict:
        """Curriculum and random state, to save beside an agent checkpoint."""
        return {
            "curriculum": self.curriculum.state_dict(),
            "np_random": self.np_random.bit_generator.state,
        }

    def load_state_dict(self, state: dict) -> None:
        self.curriculum.load_state_dict(state["curriculum"])
        self.np_random.bit_generator.state = state["np_random"]
