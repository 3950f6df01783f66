"""Stable-Baselines3 / sb3-contrib agents on the architecture-search environment.

``qnoise train --algo maskable_ppo`` (sb3-contrib's ``MaskablePPO``, which reads
``env.action_masks()``) or ``--algo sb3_dqn`` (SB3's ``DQN``, which does not mask: illegal
actions cost −1 and append nothing) write the same run directory as the DDQN trainer:
``config.yaml``, ``metrics.jsonl``, ``best.json``, ``shortest.json`` and ``model.zip``
(written atomically every ``train.checkpoint_every`` episodes, at the end and after Ctrl-C
or SIGTERM). ``model.zip`` records how many episodes it has seen and the environment's
curriculum and random state; resuming restores them, starts a fresh episode and drops the
metrics of later episodes, so a run killed between checkpoints resumes where its model
stopped. Unlike the DDQN trainer it does not restore the replay or rollout buffer or
torch's random state, so a resumed SB3 run is not bit-identical to an uninterrupted one.

Trust: Stable-Baselines3 reads parts of ``model.zip`` with cloudpickle, so loading one can run
code. Resume or evaluate an SB3 run only from a directory you trust (the DDQN trainer's
``checkpoint.pt`` holds tensors and plain data and is safe to read from anywhere).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import gymnasium
import numpy as np
import yaml

from qnoise.agents.parallel import make_env
from qnoise.agents.records import (
    CONFIG,
    CheckpointError,
    KeptCircuits,
    episode_record,
    open_run,
    write_noise_model,
)
from qnoise.agents.run_config import sb3_options
from qnoise.agents.rundir import HoldsRunLock, open_run_dir, read_records, truncate_records
from qnoise.agents.stopping import checkpointed
from qnoise.agents.trainer import METRICS
from qnoise.envs import ArchSearchEnv
from qnoise.files import atomic_write

ALGOS = ("maskable_ppo", "sb3_dqn")
MODEL = "model.zip"
#: the model attributes that ``model.zip`` carries the episode count and the environment's
#: state (:meth:`qnoise.envs.ArchSearchEnv.state_dict`) in
EPISODE_ATTRIBUTE = "qnoise_episodes"
ENV_STATE_ATTRIBUTE = "qnoise_env_state"


class EpisodeRecorder(gymnasium.Wrapper):
    """Writes one metrics line per finished episode and keeps the run's circuits
    (:class:`qnoise.agents.records.KeptCircuits`). As in the DDQN trainer's metrics, an
    episode's ``wall_s`` is the wall time (s) since this process opened the run."""

    def __init__(
        self, env: ArchSearchEnv, run_dir: Path, episode: int = 0, write: bool = True
    ) -> None:
        super().__init__(env)
        self.run_dir = run_dir
        self.episode = episode
        self.write = write
        self.kept = KeptCircuits.read(run_dir)
        self._reward = 0.0
        self._start = time.perf_counter()

    def action_masks(self):
        return self.env.unwrapped.action_masks()

    def reset(self, **kwargs):
        self._reward = 0.0
        return self.env.reset(**kwargs)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._reward += reward
        self.kept.observe(self.env.unwrapped, info, self.episode + 1)
        if terminated or truncated:
            self.episode += 1
            record = {"episode": self.episode, **episode_record(info, self._reward),
                      "wall_s": round(time.perf_counter() - self._start, 3)}  # fmt: skip
            if not self.write:
                return obs, reward, terminated, truncated, info
            with open(self.run_dir / METRICS, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")
        return obs, reward, terminated, truncated, info


def _model_class(algo: str):
    if algo == "maskable_ppo":
        from sb3_contrib import MaskablePPO

        return MaskablePPO
    if algo == "sb3_dqn":
        from stable_baselines3 import DQN

        return DQN
    raise ValueError(f"algo must be ddqn or one of {ALGOS}, got {algo!r}")


class SB3Run(HoldsRunLock):
    """A Stable-Baselines3 training run in ``run_dir`` (resumed when ``model.zip`` exists).

    ``device`` overrides ``agent.device`` (default "cpu") for this process only. A writing run
    holds the directory's lock like :class:`qnoise.agents.trainer.Trainer`; ``read_only=True``
    loads the model without writing anything. ``model.zip`` is read by Stable-Baselines3 with
    cloudpickle: open only runs you trust."""

    def __init__(
        self,
        run_dir: str | Path,
        config: dict | None = None,
        seed: int | None = None,
        device: str | None = None,
        read_only: bool = False,
    ):
        self.run_dir = Path(run_dir)
        self.read_only = read_only
        self._lock = open_run_dir(self.run_dir, read_only, lambda: self._open(config, seed, device))

    def _open(self, config, seed, device) -> None:
        config, resume, self.seed = open_run(self.run_dir, config, seed, MODEL)
        self.config = config
        agent = dict(config.get("agent", {}))
        self.algo = agent["algo"]
        device = device or agent.get("device", "cpu")
        model_class = _model_class(self.algo)
        options = sb3_options(agent, model_class)
        self.checkpoint_every = int(config.get("train", {}).get("checkpoint_every", 100))
        env = make_env(config)
        if not resume:
            atomic_write(self.run_dir / CONFIG, yaml.safe_dump(config).encode())
            write_noise_model(self.run_dir, env.config.noise_model)
            atomic_write(self.run_dir / METRICS, b"")
        self.env = EpisodeRecorder(env, self.run_dir, write=not self.read_only)
        if resume:
            try:
                self.model = model_class.load(self.run_dir / MODEL, env=self.env, device=device)
            except Exception as exc:
                raise CheckpointError(f"cannot resume from {self.run_dir / MODEL}: {exc}") from exc
        else:
            self.model = model_class(
                "MlpPolicy", self.env, seed=self.seed, device=device, **options
            )
        if resume:
            self._restore_environment()
        if self.read_only:
            self.env.episode = len(read_records(self.run_dir / METRICS))
        else:  # drop a torn last line and the episodes after the model's checkpoint
            seen = getattr(self.model, EPISODE_ATTRIBUTE, None)
            self.env.episode = len(truncate_records(self.run_dir / METRICS, seen))

    def _restore_environment(self) -> None:
        """The curriculum and random state saved with the model, and a fresh episode: the
        observation the model saved belongs to an episode the new process did not play.
        Loading re-seeds the vectorized environment's next reset with the run's seed, so
        that reset comes first, then the saved state, then the episode the model starts."""
        vec_env = self.model.get_env()
        vec_env.reset()
        state = getattr(self.model, ENV_STATE_ATTRIBUTE, None)
        if state is not None:
            self.env.unwrapped.load_state_dict(state)
        self.model._last_obs = vec_env.reset()
        self.model._last_episode_starts = np.ones((vec_env.num_envs,), dtype=bool)

    @property
    def episode(self) -> int:
        return self.env.episode

    @property
    def best(self) -> dict | None:
        return self.env.kept.best

    def train(self, episodes: int, progress: bool = True) -> int:
        """Train until ``episodes`` episodes in total; Ctrl-C or SIGTERM stops at the next
        step and saves ``model.zip``."""
        from stable_baselines3.common.callbacks import BaseCallback

        if self.read_only:
            raise RuntimeError(f"{self.run_dir} was opened read-only; it cannot train")
        recorder, run = self.env, self
        with checkpointed(self._lock, self._save) as signals:

            class StopAfterEpisodes(BaseCallback):
                """Stops after ``episodes`` or a signal; saves every ``checkpoint_every``."""

                saved = recorder.episode

                def _on_step(self) -> bool:
                    if recorder.episode >= self.saved + run.checkpoint_every:
                        run._save()
                        self.saved = recorder.episode
                    return recorder.episode < episodes and not signals.requested

            if self.episode < episodes:
                self.model.learn(
                    total_timesteps=10**9,
                    callback=StopAfterEpisodes(),
                    reset_num_timesteps=False,
                    progress_bar=False,
                )
        return self.episode

    def _save(self) -> None:
        tmp = self.run_dir / "model.tmp.zip"
        setattr(self.model, EPISODE_ATTRIBUTE, self.env.episode)
        setattr(self.model, ENV_STATE_ATTRIBUTE, self.env.unwrapped.state_dict())
        self.model.save(tmp)
        os.replace(tmp, self.run_dir / MODEL)
        self.env.kept.write(self.run_dir)
