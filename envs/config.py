"""One validated configuration for the architecture-search environment (YAML-loadable)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qnoise.envs.actions import rotation_names
from qnoise.envs.halting import RandomHalting

TARGETS = ("exact", "lower_bound")
OPTIMIZERS = ("cobyla", "adam_spsa", "spsa", "aqgd", "lbfgsb", "rotosolve")
NEW_ANGLES = ("zero", "random", "best")
ILLEGAL = ("penalize", "raise")
SHOT_MODELS = ("sample", "gaussian")

#: CRLQAS's initial thresholds ξ0 (Ha)
CRLQAS_THRESHOLDS = {"H2-2q": 0.97, "LiH-4q": 2.45, "LiH-6q": 2.90, "H2O-8q": 5.0}
#: The Adam-SPSA preset CRLQAS tuned for a molecule at a qubit count, by
#: (:attr:`qnoise.chem.Problem.formula`, qubits); other problems get ``"crlqas"``
CRLQAS_ADAM_SPSA = {("LiH", 4): "crlqas_lih_4q", ("H2", 2): "crlqas_h2_2q"}


def default_max_steps(num_qubits: int) -> int:
    """CRLQAS's step caps: 40 (≤ 4 qubits), 70 (5–6), 250 (more)."""
    return 40 if num_qubits <= 4 else 70 if num_qubits <= 6 else 250


@dataclass
class ArchSearchConfig:
    """Options of :class:`qnoise.envs.ArchSearchEnv`; every field is checked at construction.

    Attributes
    ----------
    problem : str
        A shipped problem of :mod:`qnoise.chem` (e.g. ``"LiH-4q"``).
    noise : str or NoiseModel or None
        Noise model spec (``"fake_mumbai:median"``, ``"depolarizing:p1=1e-3,p2=5e-3"``,
        ``None``/``"ideal"``).
    max_steps : int, optional
        L, the step cap; default 40 / 70 / 250 for ≤ 4 / ≤ 6 / more qubits.
    threshold : float, optional
        Initial ξ (Ha, > 0); default CRLQAS's table, else ``1.25·|E(|0…0⟩) - μ|``.
    curriculum : bool
        Move ξ with CRLQAS's curriculum (``False``: ξ stays fixed).
    curriculum_options : dict
        Overrides of :meth:`qnoise.envs.curriculum.Curriculum.crlqas` (``delta``,
        ``success_threshold``, ``max_shifts``, ``greedy_every``, ``relax_after``).
    target : {"exact", "lower_bound"}
        μ: the exact ground energy, or CRLQAS code's ``constant - Σ|c|``.
    optimizer : str or qnoise optimizer, optional
        ``"cobyla"`` (default without noise and shots), ``"adam_spsa"`` (default otherwise),
        ``"spsa"`` (a = 0.5, c = 0.1, no calibration), ``"aqgd"``, ``"lbfgsb"`` (exact
        gradients), ``"rotosolve"`` (each angle set to the minimum of its sinusoid, three
        evaluations per angle; works with shots), or an optimizer object.
    maxfev : int, optional
        Evaluation budget per step (defaults: CRLQAS's per problem).
    optimizer_options : dict
        Keyword arguments of the named optimizer's class that override the environment's
        choices, e.g. ``{"shots": 50000, "order": "reverse"}`` for ``"rotosolve"`` (shots
        per evaluation inside the step; the step's shot budget is then ``maxfev`` × those
        shots, and its energy is estimated with them).
    restarts : int
        Per step, the inner optimizer also runs from this many random angle vectors (each
        angle uniform in [−π, π)) besides the warm start, and the step keeps the lowest
        energy (with shots: the lowest estimate). Warm-started local optimizers stay in
        the basin they start in, on a computational-basis state often a saddle where
        every single angle is at its own minimum; random starts reach other basins. Costs
        ``restarts + 1`` optimizations per step. Default 0 (CRLQAS).
    shots : int, optional
        Shots per measurement group; ``None`` for exact energies.
    shot_model : {"sample", "gaussian"}
    confirm_shots : int, optional
        With ``shots``: a step whose estimated energy would succeed (error below ξ) or
        would be the lowest the curriculum has seen is re-estimated at its optimized angles
        with this many shots (a fresh, independent estimate), and the re-estimate is the
        step's energy. The optimizer's estimate is the lowest of many noisy ones, so it
        sits below the circuit's energy by a few standard deviations; without confirmation
        the curriculum and the run's best circuit follow such lucky estimates. Costs one
        estimate of ``confirm_shots`` shots per candidate step (``nfev`` counts it).
    random_halting : bool, dict or RandomHalting
        ``True``: CRLQAS's noisy setting under noise, its noiseless one otherwise.
    coupling_map : None, str or list of (int, int)
        Restrict CNOTs: a fake backend name (edges among its first n qubits) or an edge list
        (undirected: both directions are allowed).
    rotations : list of {"rx", "ry", "rz"}
        The rotation gates the agent may append (default all three, as CRLQAS). ``["ry"]``
        restricts the search to real circuits: RY and CNOT are real gates, and a real
        Hamiltonian (every shipped molecule's) has a real ground state, which RY–CNOT
        circuits reach with fewer gates than circuits that spend actions on phases. The
        observation keeps its RX, RY, RZ rows, so its size does not change.
    include_energy : bool
        Append the current energy to the observation (CRLQAS's input sizes include it).
    angle_rows : bool
        Add three rows with the RX, RY, RZ angles to the tensor.
    new_angle : {"zero", "random", "best"}
        Start angle of a new rotation: 0, uniform in [0, 0.1), or ``"best"``: the exact
        minimizer of the energy along the new angle with the others fixed (the energy is
        ``a + b cos θ + c sin θ`` in it; three evaluations, counted in ``nfev``). At angle 0
        a new rotation is often a stationary point (on a computational-basis state, for a
        real Hamiltonian), where gradient optimizers never move it; ``"best"`` starts them
        past it.
    illegal_action : {"penalize", "raise"}
        For agents that ignore the mask: an illegal action appends nothing and costs −1
        (and a step), or raises.
    mitigation : dict or ZNE, optional
        Reward zero-noise-extrapolated energies: after each step's optimization the energy
        is mitigated (``{"scale_factors": [1, 2, 3], "extrapolation": "richardson"}``, the
        arguments of :class:`qnoise.mitigation.ZNE`); ``info["unmitigated_energy"]`` keeps
        the optimizer's own. Costs one energy per scale factor and step.
    optimize_mitigated : bool
        With ``mitigation`` (a linear extrapolator): the inner optimizer minimizes the
        mitigated energy itself (:meth:`qnoise.mitigation.ZNE.objective`) instead of
        mitigating the noisy optimum afterwards, so the angles are fitted to the noise-free
        optimum rather than to the noise. Each evaluation costs one energy per scale factor
        (``nfev`` counts them; ``maxfev`` counts mitigated evaluations), each with ``shots``
        shots when set (independent shot noise per scale factor).
    """

    problem: str = "LiH-4q"
    noise: Any = "fake_mumbai:median"
    max_steps: int | None = None
    threshold: float | None = None
    curriculum: bool = True
    curriculum_options: dict = field(default_factory=dict)
    target: str = "exact"
    optimizer: Any = None
    maxfev: int | None = None
    optimizer_options: dict = field(default_factory=dict)
    restarts: int = 0
    shots: int | None = None
    shot_model: str = "sample"
    confirm_shots: int | None = None
    random_halting: Any = True
    coupling_map: Any = None
    rotations: Any = field(default_factory=lambda: ["rx", "ry", "rz"])
    include_energy: bool = True
    angle_rows: bool = False
    new_angle: str = "zero"
    illegal_action: str = "penalize"
    mitigation: Any = None
    optimize_mitigated: bool = False

    def __post_init__(self) -> None:
        from qnoise import chem
        from qnoise.noise.resolve import resolve_noise

        if self.problem not in chem.available():
            raise ValueError(
                f"problem: unknown {self.problem!r}; choose from {', '.join(chem.available())}"
            )
        try:
            self.noise_model = resolve_noise(self.noise)
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"noise: {self.noise!r} does not parse ({exc})") from exc
        self.num_qubits = chem.load(self.problem).num_qubits
        if self.max_steps is None:
            self.max_steps = default_max_steps(self.num_qubits)
        _check(isinstance(self.max_steps, int) and self.max_steps >= 1, "max_steps", "an int >= 1")
        if self.threshold is not None:
            _check(float(self.threshold) > 0, "threshold", "a positive energy in Ha")
        _choice(self.target, TARGETS, "target")
        _choice(self.shot_model, SHOT_MODELS, "shot_model")
        _choice(self.new_angle, NEW_ANGLES, "new_angle")
        _choice(self.illegal_action, ILLEGAL, "illegal_action")
        if isinstance(self.optimizer, str):
            _choice(self.optimizer, OPTIMIZERS, "optimizer")
        elif self.optimizer is not None and not hasattr(self.optimizer, "minimize"):
            raise ValueError(f"optimizer: give a name from {OPTIMIZERS} or a qnoise optimizer")
        _check(isinstance(self.optimizer_options, dict), "optimizer_options", "a dict")
        _check(not self.optimizer_options or self.optimizer is None
               or isinstance(self.optimizer, str), "optimizer_options",
               "empty with an optimizer object (configure the object instead)")  # fmt: skip
        _check(isinstance(self.restarts, int) and not isinstance(self.restarts, bool)
               and self.restarts >= 0, "restarts", "an int >= 0")  # fmt: skip
        for name in ("maxfev", "shots", "confirm_shots"):
            value = getattr(self, name)
            _check(value is None or (int(value) == value and value >= 1), name, "None or >= 1")
        _check(self.confirm_shots is None or self.shots is not None, "confirm_shots",
               "None without shots (exact energies need no confirmation)")  # fmt: skip
        self.halting = self._halting()
        self.edges = self._edges()
        self.rotation_names = rotation_names(self.rotations)
        unknown = set(self.curriculum_options) - {
            "delta", "success_threshold", "max_shifts", "greedy_every", "relax_after"
        }  # fmt: skip
        _check(not unknown, "curriculum_options", f"no {sorted(unknown)}")
        self.zne = self._zne()
        if self.optimize_mitigated:
            _check(self.zne is not None, "optimize_mitigated", "used with mitigation")
            _check(self.zne.extrapolator.linear_weights(self.zne.scale_factors) is not None,
                   "optimize_mitigated", "a linear extrapolation (richardson, linear, "
                   "polynomial)")  # fmt: skip

    def _zne(self):
        from qnoise.mitigation import ZNE

        if self.mitigation is None or isinstance(self.mitigation, ZNE):
            return self.mitigation
        _check(isinstance(self.mitigation, dict), "mitigation", "None, a dict or a ZNE")
        _check(self.noise_model is not None and not self.noise_model.is_ideal, "mitigation",
               "a noise model to mitigate (noise is ideal)")  # fmt: skip
        try:
            return ZNE(**self.mitigation)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"mitigation: {exc}") from exc

    @property
    def noisy(self) -> bool:
        return self.shots is not None or (
            self.noise_model is not None and not self.noise_model.is_ideal
        )

    def _halting(self) -> RandomHalting | None:
        value = self.random_halting
        if value is False or value is None:
            return None
        if value is True:
            return RandomHalting.crlqas_noisy() if self.noisy else RandomHalting.crlqas_noiseless()
        if isinstance(value, RandomHalting):
            return value
        if isinstance(value, dict):
            try:
                return RandomHalting(**value)
            except TypeError as exc:
                raise ValueError(f"random_halting: {exc}") from exc
        raise ValueError("random_halting: give True, False, a dict (n, p, low, high, mode_of)")

    def _edges(self) -> list[tuple[int, int]] | None:
        value, n = self.coupling_map, self.num_qubits
        if value is None:
            return None
        if isinstance(value, str):
            from qnoise.noise.named import fake_backend

            try:
                backend = fake_backend(value)
            except (KeyError, ValueError) as exc:
                raise ValueError(f"coupling_map: unknown backend {value!r} ({exc})") from exc
            if backend.num_qubits < n:
                raise ValueError(
                    f"coupling_map: {value} has {backend.num_qubits} qubits, problem "
                    f"{self.problem} needs {n}"
                )
            pairs = [(a, b) for a, b in backend.coupling_map.get_edges() if a < n and b < n]
        else:
            try:
                pairs = [(int(a), int(b)) for a, b in value]
            except (TypeError, ValueError) as exc:
                raise ValueError("coupling_map: give a backend name or (a, b) pairs") from exc
            outside = sorted({q for pair in pairs for q in pair if not 0 <= q < n})
            if outside:
                raise ValueError(
                    f"coupling_map: qubits {outside} do not exist in {self.problem} ({n} qubits)"
                )
            loops = sorted({a for a, b in pairs if a == b})
            if loops:
                raise ValueError(f"coupling_map: an edge joins qubit(s) {loops} to itself")
        edges = sorted(set(pairs) | {(b, a) for a, b in pairs})
        isolated = sorted(set(range(n)) - {q for pair in edges for q in pair})
        if n > 1 and isolated:
            raise ValueError(f"coupling_map: qubits {isolated} have no CNOT edge")
        return edges

    @classmethod
    def from_dict(cls, options: dict) -> ArchSearchConfig:
        """Build from a mapping; unknown keys are an error that lists the valid ones."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(options) - names)
        if unknown:
            raise ValueError(f"unknown option(s) {unknown}; valid: {sorted(names)}")
        return cls(**options)

    @classmethod
    def from_yaml(cls, path: str | Path, section: str | None = "env") -> ArchSearchConfig:
        """Build from a YAML file (the ``section`` mapping, or the whole file if absent)."""
        import yaml

        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        if section is not None and section in data:
            data = data[section]
        return cls.from_dict(data)

    def to_dict(self) -> dict:
        """The options as given (JSON/YAML-friendly when they were)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


def _check(condition: bool, name: str, allowed: str) -> None:
    if not condition:
        raise ValueError(f"{name}: must be {allowed}")


def _choice(value, allowed: tuple[str, ...], name: str) -> None:
    if value not in allowed:
        raise ValueError(f"{name}: {value!r} is not one of {', '.join(allowed)}")
