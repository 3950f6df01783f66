"""What runs write about episodes and circuits (one definition for every agent)."""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import fields
from pathlib import Path

from qnoise.chem.problem import CHEMICAL_ACCURACY
from qnoise.envs import ArchSearchConfig, ArchSearchEnv
from qnoise.envs.actions import ROTATIONS
from qnoise.files import atomic_write

CONFIG = "config.yaml"
BEST = "best.json"
SHORTEST = "shortest.json"
NOISE_MODEL = "noise_model.json"
#: the noise of an environment config that names none
DEFAULT_NOISE = next(f.default for f in fields(ArchSearchConfig) if f.name == "noise")

EPISODE_KEYS = (
    "outcome", "energy", "noiseless_energy", "error", "noiseless_error", "gates", "cnots",
    "depth", "threshold",
)  # fmt: skip


class CheckpointError(RuntimeError):
    """A run directory whose checkpoint is missing or unreadable."""


def episode_record(info: dict, reward: float) -> dict:
    """The metrics line of a finished episode, from its last ``info``."""
    return {"reward": reward, "steps": info["step"], **{key: info[key] for key in EPISODE_KEYS}}


def circuit_record(env: ArchSearchEnv, info: dict, episode: int) -> dict:
    """The current circuit of ``env`` (gates, angles, energies, counts) for ``best.json``."""
    circuit, angles = env.circuit(parametrized=True)
    return {
        "episode": episode,
        "gates": [[g.name, list(g.qubits)] for g in env.state.gates],
        "angles": angles.tolist(),
        "energy": info["energy"],
        "noiseless_energy": info["noiseless_energy"],
        "error": info["error"],
        "noiseless_error": info["noiseless_error"],
        "exact_energy": env.problem.exact_energy,
        "num_qubits": env.num_qubits,
        "num_gates": info["gates"],
        "cnots": info["cnots"],
        "depth": info["depth"],
        "parameters": circuit.num_parameters,
    }


def check_circuit_record(
    record: dict, num_qubits: int | None = None
) -> tuple[list[tuple[str, tuple[int, ...]]], list[float], int]:
    """The gates, angles and width of a circuit record (``best.json``, ``shortest.json``),
    checked, so that a damaged or hand-edited file fails here and not as a wrong circuit.

    ``gates`` must be ``[name, [qubits]]`` pairs: ``"cx"`` on two different qubits or a
    rotation in :data:`qnoise.envs.actions.ROTATIONS` on one; qubits are ints in
    ``0..width-1``, where ``width`` is ``num_qubits`` (the run's problem), which must equal
    the record's ``num_qubits`` if it has one, else the record's, else one more than the
    highest qubit used. ``angles`` must hold one finite float (rad) per rotation.

    Raises
    ------
    CheckpointError
        Naming the first entry that breaks these rules.
    """
    if not isinstance(record, dict):
        raise CheckpointError(f"a circuit record is a JSON object, got {type(record).__name__}")
    raw_gates, raw_angles = record.get("gates"), record.get("angles")
    if not isinstance(raw_gates, list) or not isinstance(raw_angles, list):
        raise CheckpointError("a circuit record needs lists 'gates' and 'angles'")
    gates = []
    for index, gate in enumerate(raw_gates):
        name, qubits = gate if isinstance(gate, list) and len(gate) == 2 else (None, None)
        arity = 2 if name == "cx" else 1 if name in ROTATIONS else None
        if (
            arity is None
            or not isinstance(qubits, list)
            or len(qubits) != arity
            or not all(isinstance(q, int) and not isinstance(q, bool) for q in qubits)
            or len(set(qubits)) != arity
        ):
            raise CheckpointError(
                f"gate {index} of the circuit record is {gate!r}; expected ['cx', [control, "
                f"target]] on two different qubits or [rotation, [qubit]] with a rotation "
                f"in {ROTATIONS}"
            )
        gates.append((name, tuple(qubits)))
    stated = record.get("num_qubits", num_qubits)
    if num_qubits is not None and stated != num_qubits:
        raise CheckpointError(
            f"the circuit record has {stated} qubits, its run's problem {num_qubits}"
        )
    used = 1 + max((q for _, qubits in gates for q in qubits), default=0)
    width = used if stated is None else stated
    if not isinstance(width, int) or isinstance(width, bool) or width < 1:
        raise CheckpointError(f"num_qubits of the circuit record is {width!r}")
    outside = sorted({q for _, qubits in gates for q in qubits if not 0 <= q < width})
    if outside:
        raise CheckpointError(
            f"gates of the circuit record act on qubits {outside}, outside 0..{width - 1}"
        )
    rotations = sum(name != "cx" for name, _ in gates)
    if len(raw_angles) != rotations or not all(
        isinstance(a, (int, float)) and not isinstance(a, bool) and math.isfinite(a)
        for a in raw_angles
    ):
        raise CheckpointError(
            f"the circuit record needs {rotations} finite angles (one per rotation), "
            f"got {len(raw_angles)}: {raw_angles[:5]!r}{' ...' if len(raw_angles) > 5 else ''}"
        )
    return gates, [float(a) for a in raw_angles], width


def shorter(candidate: dict, kept: dict | None) -> bool:
    """Whether ``candidate`` (an ``info`` or a circuit record) is below chemical accuracy
    without noise and beats ``kept``: fewer gates, or as many with a lower noiseless error."""
    if not candidate["noiseless_error"] < CHEMICAL_ACCURACY:
        return False
    gates = candidate.get("num_gates", candidate.get("gates"))
    return kept is None or (gates, candidate["noiseless_error"]) < (
        kept["num_gates"],
        kept["noiseless_error"],
    )


class KeptCircuits:
    """The circuits a run keeps, as :func:`circuit_record` dicts (or ``None``).

    ``best``: the lowest-error circuit (the error of the energy the agent is rewarded on,
    noisy where the run is noisy), in ``best.json``. ``shortest``: the circuit with the
    fewest gates whose noiseless error is below chemical accuracy (1.6e-3 Ha; ties: the
    lower noiseless error), in ``shortest.json``.
    """

    def __init__(self, best: dict | None = None, shortest: dict | None = None) -> None:
        self.best = best
        self.shortest = shortest

    def observe(self, env: ArchSearchEnv, info: dict, episode: int) -> None:
        """Keep the current circuit of ``env`` (its step ``info``) if it beats a kept one."""
        if self.best is None or info["error"] < self.best["error"]:
            self.best = circuit_record(env, info, episode)
        if shorter(info, self.shortest):
            self.shortest = circuit_record(env, info, episode)

    def merge(self, best: dict | None, shortest: dict | None, episode: int) -> None:
        """Take circuit records found elsewhere (a worker's episode), numbered ``episode``."""
        if best is not None and (self.best is None or best["error"] < self.best["error"]):
            self.best = {**best, "episode": episode}
        if shortest is not None and shorter(shortest, self.shortest):
            self.shortest = {**shortest, "episode": episode}

    def write(self, run_dir: Path) -> None:
        """``best.json`` and ``shortest.json`` (atomically) for the circuits kept so far."""
        for name, record in ((BEST, self.best), (SHORTEST, self.shortest)):
            if record is not None:
                atomic_write(Path(run_dir) / name, json.dumps(record, indent=1).encode())

    @classmethod
    def read(cls, run_dir: Path) -> KeptCircuits:
        """The circuits a run directory holds (missing files give ``None``)."""
        records = []
        for name in (BEST, SHORTEST):
            path = Path(run_dir) / name
            records.append(json.loads(path.read_text()) if path.exists() else None)
        return cls(*records)


def write_noise_model(run_dir: Path, model) -> None:
    """Store the resolved noise model of a new run (``noise_model.json``; ``null`` for
    none), so that resuming and re-evaluating use the model the run trained with."""
    record = None if model is None else model.to_dict()
    atomic_write(Path(run_dir) / NOISE_MODEL, json.dumps(record).encode())


def _with_stored_noise(run_dir: Path, config: dict) -> dict:
    """``config`` with ``env.noise`` replaced by the run's stored model (a
    ``NoiseModel.to_dict`` record) when the run has one; a warning says when the config's
    noise now resolves to a different model (e.g. a fake backend's calibration snapshot
    changed with a qiskit-ibm-runtime release). Runs without the file are unchanged."""
    from qnoise.noise.model import NoiseModel
    from qnoise.noise.resolve import resolve_noise

    path = Path(run_dir) / NOISE_MODEL
    if not path.is_file():
        return config
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        stored = None if record is None else NoiseModel.from_dict(record)
    except ValueError as exc:
        raise CheckpointError(f"{path} is not a noise-model record: {exc}") from None
    env = config.setdefault("env", {})
    name = env.get("noise", DEFAULT_NOISE)
    try:
        current = resolve_noise(name)
    except (ValueError, KeyError, TypeError):
        current = "unresolvable"
    same = (current is None and stored is None) or (
        current is not None and stored is not None and current == stored
    )
    if not same:
        warnings.warn(
            f"{run_dir}: noise {name!r} now resolves to a different model than the one this "
            f"run trained with; using the stored one ({path.name})",
            UserWarning,
            stacklevel=3,
        )
    env["noise"] = record
    return config


def read_run_config(run_dir: Path) -> dict:
    """A run directory's ``config.yaml``, validated, with ``env.noise`` the noise model the
    run trained with where it stored one (``noise_model.json``); one-line errors name file
    and line."""
    from qnoise.agents.run_config import read_yaml, validate_config

    path = Path(run_dir) / CONFIG
    if not path.is_file():
        raise CheckpointError(f"{run_dir} has no {CONFIG}: not a qnoise run directory")
    try:
        config = read_yaml(path.read_text(encoding="utf-8"), str(path))
        if not isinstance(config, dict):
            raise ValueError(f"{path}: not a run config (a mapping with env, agent, train)")
        config = validate_config(config, str(path), check_device=False)
    except ValueError as exc:
        raise CheckpointError(str(exc)) from None
    return _with_stored_noise(run_dir, config)


def open_run(
    run_dir: Path, config: dict | None, seed: int | None, marker: str
) -> tuple[dict, bool, int]:
    """Resolve a run: ``(config, resuming, seed)``. Without ``config`` the run in
    ``run_dir`` is resumed (its ``marker`` file must exist); ``seed`` overrides the config's."""
    resume = (run_dir / marker).exists()
    if config is None:
        if not resume:
            raise CheckpointError(
                f"{run_dir} has no {marker}: not a run directory, or one whose checkpoint was "
                f"not kept (qnoise export and plot need only {CONFIG}, {BEST} and metrics)"
            )
        config = read_run_config(run_dir)
    train = config.setdefault("train", {})
    if seed is not None:
        train["seed"] = seed
    return config, resume, int(train.setdefault("seed", 0))
