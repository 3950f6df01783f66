"""What runs write about episodes and circuits (one definition for every agent)."""

from __future__ import annotations

from pathlib import Path

from envs import ArchSearchEnv

CONFIG = "config.yaml"

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


def read_run_config(run_dir: Path) -> dict:
    """A run directory's ``config.yaml``, validated; one-line errors name file and line."""
    from agents.run_config import read_yaml, validate_config

    path = Path(run_dir) / CONFIG
    if not path.is_file():
        raise CheckpointError(f"{run_dir} has no {CONFIG}: not a qnoise run directory")
    try:
        config = read_yaml(path.read_text(encoding="utf-8"), str(path))
        if not isinstance(config, dict):
            raise ValueError(f"{path}: not a run config (a mapping with env, agent, train)")
        return validate_config(config, str(path), check_device=False)
    except ValueError as exc:
        raise CheckpointError(str(exc)) from None


def open_run(
    run_dir: Path, config: dict | None, seed: int | None, marker: str
) -> tuple[dict, bool, int]:
    """Resolve a run: ``(config, resuming, seed)``. Without ``config`` the run in
    ``run_dir`` is resumed (its ``marker`` file must exist); ``seed`` overrides the config's."""
    resume = (run_dir / marker).exists()
    if config is None:
        if not resume:
            raise CheckpointError(f"{run_dir} has no {marker} to resume from")
        config = read_run_config(run_dir)
    train = config.setdefault("train", {})
    if seed is not None:
        train["seed"] = seed
    return config, resume, int(train.setdefault("seed", 0))
