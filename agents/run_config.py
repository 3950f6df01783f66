"""Run configurations (``env``, ``agent``, ``train``): reading, overrides and validation.

Every key is checked before anything runs: unknown keys are refused with a did-you-mean,
types and ranges are checked, and YAML syntax errors name the file (or ``--set`` item) and
line. Presets ship with the package: :func:`resolve_config_path` finds one by name.
"""

from __future__ import annotations

import dataclasses
import difflib
from importlib import resources
from pathlib import Path

import yaml

__all__ = [
    "ALGOS",
    "RESUMABLE_KEYS",
    "TRAIN_KEYS",
    "available_presets",
    "load_config",
    "read_yaml",
    "resolve_config_path",
    "sb3_options",
    "validate_config",
]

SECTIONS = ("env", "agent", "train")
ALGOS = ("ddqn", "maskable_ppo", "sb3_dqn")
#: train keys: name -> (smallest value, meaning)
TRAIN_KEYS = {
    "episodes": (1, "episodes in total"),
    "seed": (0, "seed of the agent and the environment"),
    "test_every": (1, "a greedy test episode every this many episodes"),
    "checkpoint_every": (1, "a checkpoint every this many episodes"),
    "workers": (1, "experience worker processes (ddqn)"),
    "sync_every": (1, "learner updates between weight copies to a worker"),
    "threads": (1, "torch threads of the learner (default: 1 for small agents)"),
}
#: ranges of the DDQN's float keys: (lowest, highest, lowest excluded)
_FLOAT_RANGES = {
    "epsilon_decay": (0, 1, True),
    "epsilon_start": (0, 1, False),
    "epsilon_min": (0, 1, False),
    "gamma": (0, 1, True),
    "lr": (0, None, True),
    "huber_delta": (0, None, True),
}
#: keys a resumed run may change with --set
RESUMABLE_KEYS = ("train.episodes",)


def _did_you_mean(key: str, choices) -> str:
    close = difflib.get_close_matches(key, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def read_yaml(text: str, where: str) -> object:
    """Parse YAML ``text``; a syntax error becomes one ``ValueError`` line naming ``where``
    and the line."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ValueError(f"{where}{line}: YAML syntax error ({problem})") from None


def presets_folder() -> Path:
    """The folder of the shipped presets: the repository's ``configs/``, installed as the
    data package ``qnoise.presets``."""
    return Path(str(resources.files("qnoise.presets")))


def available_presets() -> dict[str, str]:
    """Shipped presets: name -> first line of the file's leading comment."""
    presets = {}
    for path in sorted(presets_folder().glob("*.yaml")):
        comment = next(
            (line.lstrip("# ").strip() for line in path.read_text().splitlines()
             if line.startswith("#")),
            "",
        )  # fmt: skip
        presets[path.stem] = comment
    return presets


def resolve_config_path(name: str | Path) -> Path:
    """A config file: ``name`` as a path if it exists, else the shipped preset ``name``
    (with or without ``.yaml``). Raises ``ValueError`` (one line) for neither."""
    path = Path(name)
    if path.is_file():
        return path
    if path.exists():
        raise ValueError(f"--config {name}: not a file")
    preset = presets_folder() / f"{path.name.removesuffix('.yaml')}.yaml"
    if len(path.parts) == 1 and preset.is_file():
        return preset
    names = list(available_presets())
    raise ValueError(
        f"--config {name}: no such file or preset{_did_you_mean(path.stem, names)}; "
        "`qnoise configs` lists the presets"
    )


def _override_value(text: str, item: str):
    """A ``--set`` value as YAML, with numbers YAML 1.1 reads as strings (``1e-3``) as floats."""
    value = read_yaml(text, f"--set {item}")
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def parse_overrides(overrides: list[str] | None) -> list[tuple[str, str, object]]:
    """``[(section, key, value)]`` of ``--set section.key=value`` items."""
    parsed = []
    for item in overrides or []:
        if "=" not in item:
            raise ValueError(f"--set expects key=value, got {item!r}")
        key, value = item.split("=", 1)
        section, _, name = key.partition(".")
        if not name or section not in SECTIONS:
            raise ValueError(f"--set key must be env.X, agent.X or train.X, got {key!r}")
        parsed.append((section, name, _override_value(value, item)))
    return parsed


def load_config(path: str | Path, overrides: list[str] | None = None) -> dict:
    """Read a run config (a file or a preset name) and apply ``section.key=value``
    overrides such as ``env.noise=ideal`` or ``train.episodes=50`` (values parsed as YAML);
    the result is validated by :func:`validate_config`."""
    path = resolve_config_path(path)
    config = read_yaml(path.read_text(encoding="utf-8"), str(path)) or {}
    if not isinstance(config, dict):
        raise ValueError(f"{path}: a run config is a mapping with env, agent and train")
    for section, name, value in parse_overrides(overrides):
        if config.get(section) is None:
            config[section] = {}
        config[section][name] = value
    return validate_config(config, str(path))


def check_number(value, kind: type, name: str, low=None, high=None, open_low=False) -> None:
    """Raise ``ValueError`` naming ``name`` unless ``value`` is a ``kind`` (``int``: an int,
    not a bool; ``float``: any real number but NaN) within ``[low, high]`` (``(low, high]``
    with ``open_low``)."""
    ok_type = (
        isinstance(value, int) and not isinstance(value, bool)
        if kind is int
        else isinstance(value, (int, float)) and not isinstance(value, bool)
    )
    if not ok_type:
        what = "an integer" if kind is int else "a number"
        raise ValueError(f"{name}: must be {what}, got {value!r}")
    if value != value:  # NaN
        raise ValueError(f"{name}: must be a number, got NaN")
    if low is not None and (value <= low if open_low else value < low):
        bound = f"> {low}" if open_low else f">= {low}"
        raise ValueError(f"{name}: must be {bound}, got {value!r}")
    if high is not None and value > high:
        raise ValueError(f"{name}: must be <= {high}, got {value!r}")


def _devices() -> tuple[str, ...]:
    import torch

    found = ["cpu"]
    if torch.cuda.is_available():
        found.append("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        found.append("mps")
    return tuple(found)


def _validate_ddqn(agent: dict, where: str, check_device: bool) -> None:
    from qnoise.agents.ddqn import DDQNConfig

    fields = {f.name: f for f in dataclasses.fields(DDQNConfig)}
    allowed = {*fields, "algo", *ALGOS}
    for key, value in agent.items():
        if key not in allowed:
            raise ValueError(f"{where}: unknown agent key {key!r}{_did_you_mean(key, allowed)}")
        if key in ALGOS or key == "algo":
            continue
        name = f"agent.{key}"
        default = fields[key].default
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise ValueError(f"{name}: must be true or false, got {value!r}")
        elif isinstance(default, int):
            check_number(value, int, name, low=0 if key == "learning_starts" else 1)
        elif isinstance(default, float):
            low, high, open_low = _FLOAT_RANGES.get(key, (None, None, False))
            check_number(value, float, name, low, high, open_low)
        elif key == "device":
            if not isinstance(value, str) or (check_device and value not in _devices()):
                raise ValueError(
                    f"{name}: {value!r} is not available here; choose from {', '.join(_devices())}"
                )
        elif not isinstance(value, str):
            raise ValueError(f"{name}: must be a string, got {value!r}")


def validate_config(config: dict, where: str = "config", check_device: bool = True) -> dict:
    """Check a run config's sections, keys, types and ranges; returns it unchanged.

    ``env`` keys are :class:`qnoise.envs.ArchSearchConfig`'s (values checked by building one);
    ``agent`` keys are ``algo`` and :class:`qnoise.agents.ddqn.DDQNConfig`'s fields, plus one
    mapping per Stable-Baselines3 algorithm (``maskable_ppo:``, ``sb3_dqn:``) with that
    algorithm's own keyword arguments; ``train`` keys are :data:`TRAIN_KEYS`.
    ``check_device=False`` accepts an ``agent.device`` this machine lacks (a run trained
    elsewhere, opened here with another device).

    Raises
    ------
    ValueError
        One line naming the key and what is wrong (``where`` names the file).
    """
    from qnoise.envs import ArchSearchConfig

    unknown = [key for key in config if key not in SECTIONS]
    if unknown:
        key = unknown[0]
        raise ValueError(
            f"{where}: unknown section {key!r}{_did_you_mean(str(key), SECTIONS)}; "
            "use env, agent, train"
        )
    for section in SECTIONS:
        if config.get(section) is None:
            config[section] = {}
        if not isinstance(config[section], dict):
            raise ValueError(f"{where}: {section} must be a mapping")
    env_fields = {f.name for f in dataclasses.fields(ArchSearchConfig)}
    for key in config["env"]:
        if key not in env_fields:
            raise ValueError(f"{where}: unknown env key {key!r}{_did_you_mean(key, env_fields)}")
    ArchSearchConfig.from_dict(dict(config["env"]))  # every value checked
    agent = config["agent"]
    algo = agent.get("algo", "ddqn")
    if algo not in ALGOS:
        raise ValueError(f"agent.algo: {algo!r} is not one of {', '.join(ALGOS)}")
    _validate_ddqn(agent, where, check_device)
    for name in ALGOS[1:]:
        if name in agent and not isinstance(agent[name], dict):
            raise ValueError(f"agent.{name}: must be a mapping of {name}'s keyword arguments")
    for key, value in config["train"].items():
        if key not in TRAIN_KEYS:
            raise ValueError(f"{where}: unknown train key {key!r}{_did_you_mean(key, TRAIN_KEYS)}")
        check_number(value, int, f"train.{key}", low=TRAIN_KEYS[key][0])
    return config


def sb3_options(agent: dict, model_class) -> dict:
    """Keyword arguments of a Stable-Baselines3 ``model_class`` from a run's ``agent``
    section: the algorithm's own mapping (``agent.maskable_ppo`` or ``agent.sb3_dqn``).
    The section's other keys are the DDQN agent's and are not passed on, so every shipped
    preset also runs with ``--algo maskable_ppo``. Unknown keys are refused with a
    did-you-mean."""
    import inspect

    algo = agent.get("algo")
    accepted = set(inspect.signature(model_class.__init__).parameters)
    accepted -= {"self", "policy", "env", "seed", "device", "verbose", "tensorboard_log"}
    own = dict(agent.get(algo) or {})
    for key in own:
        if key not in accepted:
            raise ValueError(f"agent.{algo}: unknown key {key!r}{_did_you_mean(key, accepted)}")
    return own
