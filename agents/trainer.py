"""Training runs: the episode loop, metrics, atomic checkpoints, exact resume."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import numpy as np
import torch
import yaml
from tqdm import tqdm

from agents.ddqn import DDQN, DDQNConfig
from agents.records import CONFIG, CheckpointError, circuit_record, episode_record, open_run
from envs import ArchSearchConfig, ArchSearchEnv
from qnoise.files import atomic_write

CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.jsonl"
TESTS = "tests.jsonl"
BEST = "best.json"


def _override_value(text: str):
    """A ``--set`` value as YAML, with numbers YAML 1.1 reads as strings (``1e-3``) as floats."""
    value = yaml.safe_load(text)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def load_config(path: str | Path, overrides: list[str] | None = None) -> dict:
    """Read a run config (sections ``env``, ``agent``, ``train``) and apply ``key=value``
    overrides such as ``env.noise=ideal`` or ``train.episodes=50`` (values parsed as YAML)."""
    config = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    for item in overrides or []:
        if "=" not in item:
            raise ValueError(f"--set expects key=value, got {item!r}")
        key, value = item.split("=", 1)
        section, _, name = key.partition(".")
        if not name or section not in ("env", "agent", "train"):
            raise ValueError(f"--set key must be env.X, agent.X or train.X, got {key!r}")
        config.setdefault(section, {})[name] = _override_value(value)
    unknown = set(config) - {"env", "agent", "train"}
    if unknown:
        raise ValueError(f"unknown config sections {sorted(unknown)}; use env, agent, train")
    return config


class Trainer:
    """One training run in ``run_dir`` (created on start, resumed when it has a checkpoint).

    Files: ``config.yaml`` (the resolved config), ``metrics.jsonl`` (one line per episode),
    ``tests.jsonl`` (greedy rollouts), ``best.json`` (the lowest-error circuit seen; per
    episode ``wall_s`` is the wall time since this process started training),
    ``checkpoint.pt`` (agent, optimizer, replay buffer, curriculum, RNG states; written
    atomically every ``checkpoint_every`` episodes, at the end, and after Ctrl-C at the next
    episode boundary). Resuming truncates metrics written after the checkpoint, so a run
    resumed after a kill reproduces the metrics of an uninterrupted one.

    ``device`` ("cpu" or "cuda") overrides ``agent.device`` for this process only, e.g. to
    resume or inspect a GPU-trained run on a laptop (checkpoints load on any device; the
    numbers of a run that changes device are not bit-identical to one that does not).
    """

    def __init__(
        self,
        run_dir: str | Path,
        config: dict | None = None,
        seed: int | None = None,
        device: str | None = None,
    ):
        self.run_dir = Path(run_dir)
        config, resume, self.seed = open_run(self.run_dir, config, seed, CHECKPOINT)
        self.config = config
        train = config["train"]
        self.test_every = int(train.get("test_every", 100))
        self.checkpoint_every = int(train.get("checkpoint_every", 100))
        self.env = ArchSearchEnv(ArchSearchConfig.from_dict(dict(config.get("env", {}))))
        agent_options = dict(config.get("agent", {}))
        algo = agent_options.pop("algo", "ddqn")
        if device is not None:
            agent_options["device"] = device
        if algo != "ddqn":
            raise ValueError(f"algo {algo!r}: this trainer runs ddqn")
        env_config = self.env.config
        self.agent = DDQN(
            self.env.observation_space.shape[0],
            self.env.action_space.n,
            DDQNConfig.crlqas(
                self.env.num_qubits, env_config.max_steps, env_config.noisy, **agent_options
            ),
            seed=self.seed,
        )
        self.episode = 0
        self.best: dict | None = None
        self._stop = False
        self.env.reset(seed=self.seed)
        if resume:
            self._load()
        else:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            atomic_write(self.run_dir / CONFIG, yaml.safe_dump(config).encode())
            for name in (METRICS, TESTS):
                (self.run_dir / name).write_text("")

    # ------------------------------------------------------------ checkpoints
    def _save(self) -> None:
        state = {
            "episode": self.episode,
            "agent": self.agent.state_dict(),
            "env": self.env.state_dict(),
            "best": self.best,
        }
        path = self.run_dir / CHECKPOINT
        tmp = path.with_name(path.name + ".tmp")
        torch.save(state, tmp)
        os.replace(tmp, path)

    def _load(self) -> None:
        try:
            state = torch.load(self.run_dir / CHECKPOINT, map_location="cpu", weights_only=False)
            self.agent.load_state_dict(state["agent"])
            self.env.load_state_dict(state["env"])
            self.episode = int(state["episode"])
            self.best = state["best"]
        except Exception as exc:  # any unreadable file: one clear message
            raise CheckpointError(
                f"cannot resume from {self.run_dir / CHECKPOINT}: {type(exc).__name__}: {exc}"
            ) from exc
        for name in (METRICS, TESTS):
            path = self.run_dir / name
            lines = path.read_text().splitlines() if path.exists() else []
            kept = [line for line in lines if json.loads(line)["episode"] <= self.episode]
            atomic_write(path, "".join(line + "\n" for line in kept).encode())

    # ------------------------------------------------------------ episodes
    def _rollout(self, greedy: bool) -> dict:
        env, agent = self.env, self.agent
        obs, info = env.reset()
        total, done = 0.0, False
        while not done:
            mask = info["action_mask"]
            action = agent.act(obs, mask, greedy=greedy)
            next_obs, reward, done, _, info = env.step(action)
            total += reward
            if not greedy:
                agent.observe(obs, action, reward, next_obs, info["action_mask"], done)
                self._track_best(info)
            obs = next_obs
        agent.end_episode()
        return episode_record(info, total)

    def _track_best(self, info: dict) -> None:
        if self.best is None or info["error"] < self.best["error"]:
            self.best = circuit_record(self.env, info, self.episode + 1)

    def _append(self, name: str, record: dict) -> None:
        with open(self.run_dir / name, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")

    def _on_interrupt(self, signum, frame) -> None:
        if self._stop:
            raise KeyboardInterrupt
        self._stop = True

    def train(self, episodes: int, progress: bool = True) -> int:
        """Train until ``episodes`` episodes in total; returns the episodes completed."""
        previous = signal.signal(signal.SIGINT, self._on_interrupt)
        bar = tqdm(total=episodes, initial=self.episode, disable=not progress, unit="ep",
                   dynamic_ncols=True)  # fmt: skip
        successes: list[bool] = []
        start = time.perf_counter()
        done_here = 0
        try:
            while self.episode < episodes and not self._stop:
                record = self._rollout(greedy=False)
                self.episode += 1
                done_here += 1
                record.update(
                    episode=self.episode,
                    epsilon=self.agent.epsilon,
                    wall_s=round(time.perf_counter() - start, 3),  # since this process began
                )
                self._append(METRICS, record)
                successes.append(record["outcome"] == "success")
                if self.episode % self.test_every == 0:
                    test = self._rollout(greedy=True)
                    test["episode"] = self.episode
                    self._append(TESTS, test)
                if self.episode % self.checkpoint_every == 0:
                    self._save()
                best = self.best["error"] if self.best else float("nan")
                bar.set_postfix(
                    eps=f"{self.agent.epsilon:.3f}",
                    xi=f"{record['threshold']:.2e}",
                    best=f"{best:.2e}",
                    success=f"{np.mean(successes[-100:]):.2f}",
                    ep_s=f"{done_here / (time.perf_counter() - start):.2f}",
                )
                bar.update(1)
        finally:
            bar.close()
            signal.signal(signal.SIGINT, previous)
            self._save()
            if self.best is not None:
                atomic_write(self.run_dir / BEST, json.dumps(self.best, indent=1).encode())
        return self.episode
