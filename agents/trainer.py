"""Training runs: the episode loop, metrics, atomic checkpoints, exact resume."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
import yaml
from tqdm import tqdm

from qnoise.agents.ddqn import DDQN
from qnoise.agents.parallel import Episode, agent_config, make_env, policy_weights, start_workers
from qnoise.agents.records import (
    CONFIG,
    CheckpointError,
    KeptCircuits,
    episode_record,
    open_run,
    write_noise_model,
)
from qnoise.agents.rundir import (
    HoldsRunLock,
    load_checkpoint,
    open_run_dir,
    save_checkpoint,
    truncate_records,
)
from qnoise.agents.stopping import checkpointed, torch_threads
from qnoise.files import atomic_write

CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.jsonl"
TESTS = "tests.jsonl"


#: agents with fewer parameters than this train on one torch thread by default
SMALL_AGENT = 1_000_000


class Trainer(HoldsRunLock):
    """One training run in ``run_dir`` (created on start, resumed when it has a checkpoint).

    Files: ``config.yaml`` (the resolved config), ``noise_model.json`` (the resolved noise
    model, which resuming and evaluating use), ``metrics.jsonl`` (one line per episode),
    ``tests.jsonl`` (greedy rollouts), ``best.json`` and ``shortest.json`` (the lowest-error
    circuit seen and the shortest one below chemical accuracy without noise, see
    :class:`qnoise.agents.records.KeptCircuits`; written with every checkpoint; per
    episode ``wall_s`` is the wall time since this process started training),
    ``checkpoint.pt`` (agent, optimizer, replay buffer, curriculum, RNG states as tensors and
    plain data, read without unpickling code; written atomically every ``checkpoint_every``
    episodes, at the end, and after Ctrl-C or SIGTERM at the next episode boundary).
    Resuming truncates metrics written after the checkpoint (and a torn last line), so a run
    resumed after a kill reproduces the metrics of an uninterrupted one.

    A writing trainer holds the run directory's lock (:class:`qnoise.agents.rundir.RunLock`) from
    construction to the end of :meth:`train` (or :meth:`close`), and again during each
    later :meth:`train`: a second writer fails at once with
    :class:`qnoise.agents.rundir.RunLockedError`. ``read_only=True`` (what ``evaluate``
    uses) loads the checkpoint without the lock and never writes.

    ``device`` ("cpu" or "cuda") overrides ``agent.device`` for this process only, e.g. to
    resume or inspect a GPU-trained run on a laptop (checkpoints load on any device; the
    numbers of a run that changes device are not bit-identical to one that does not).

    ``train.workers`` K > 1 collects experience in K worker processes
    (:mod:`qnoise.agents.parallel`): each plays whole episodes with a copy of the policy and the
    ε of its episode's start, the learner stores and learns from their steps in round-robin
    order and sends fresh weights with a worker's next episode once ``train.sync_every``
    (default 20) updates have passed; greedy test episodes run on the worker whose episode
    reached the test boundary. ``engine`` ("local" or "ray") and ``address`` (a Ray cluster) say
    where the workers run; the numbers depend on the seed, config and K only. K = 1 (the
    default) is the single-process loop. Resuming a parallel run restarts its workers from the
    checkpoint's environment states; the episodes in flight at the checkpoint are played again
    with the resumed policy, so unlike K = 1 the continuation is not bit-identical to an
    uninterrupted run."""

    def __init__(
        self,
        run_dir: str | Path,
        config: dict | None = None,
        seed: int | None = None,
        device: str | None = None,
        engine: str = "local",
        address: str | None = None,
        read_only: bool = False,
    ):
        self.run_dir = Path(run_dir)
        self.read_only = read_only
        self._lock = open_run_dir(
            self.run_dir, read_only, lambda: self._open(config, seed, device, engine, address)
        )

    def _open(self, config, seed, device, engine, address) -> None:
        config, resume, self.seed = open_run(self.run_dir, config, seed, CHECKPOINT)
        self.config = config
        train = config["train"]
        self.test_every = int(train.get("test_every", 100))
        self.checkpoint_every = int(train.get("checkpoint_every", 100))
        self.workers = int(train.get("workers", 1))
        self.sync_every = int(train.get("sync_every", 20))
        if self.workers < 1 or self.sync_every < 1:
            raise ValueError("train.workers and train.sync_every must be at least 1")
        self.engine, self.address = engine, address
        self.env = make_env(config)
        agent_options = dict(config.get("agent", {}))
        algo = agent_options.get("algo", "ddqn")  # agent_config leaves it out
        if device is not None:
            agent_options["device"] = device
        if algo != "ddqn":
            raise ValueError(f"algo {algo!r}: this trainer runs ddqn")
        self.agent = DDQN(
            self.env.observation_space.shape[0],
            self.env.action_space.n,
            agent_config(self.env, agent_options),
            seed=self.seed,
        )
        self.worker_states: list[dict | None] = [None] * self.workers
        self.episode = 0
        self.kept = KeptCircuits()
        self.env.reset(seed=self.seed)
        if resume:
            self._load()
        else:
            atomic_write(self.run_dir / CONFIG, yaml.safe_dump(config).encode())
            write_noise_model(self.run_dir, self.env.config.noise_model)
            for name in (METRICS, TESTS):
                atomic_write(self.run_dir / name, b"")

    # ------------------------------------------------------------ checkpoints
    @property
    def best(self) -> dict | None:
        """The lowest-error circuit so far (a :func:`qnoise.agents.records.circuit_record`)."""
        return self.kept.best

    def _save(self) -> None:
        """The checkpoint, and ``best.json``/``shortest.json`` beside it (so a run's circuits
        can be read while it trains and survive a crash)."""
        state = {
            "episode": self.episode,
            "agent": self.agent.state_dict(),
            "env": self.env.state_dict(),
            "best": self.kept.best,
            "shortest": self.kept.shortest,
            "workers": self.worker_states,
        }
        save_checkpoint(self.run_dir / CHECKPOINT, state)
        self.kept.write(self.run_dir)

    def _load(self) -> None:
        try:
            state = load_checkpoint(self.run_dir / CHECKPOINT)
        except CheckpointError as exc:
            verb = "open" if self.read_only else "resume from"
            raise CheckpointError(f"cannot {verb} {self.run_dir}: {exc}") from None
        try:
            self.agent.load_state_dict(state["agent"])
            self.env.load_state_dict(state["env"])
            self.episode = int(state["episode"])
            self.kept = KeptCircuits(state["best"], state.get("shortest"))
            self.worker_states = state.get("workers", [None])
        except Exception as exc:  # any unreadable file: one clear message
            if isinstance(exc, RuntimeError) and "size mismatch" in str(exc):  # torch's words
                raise CheckpointError(
                    f"the agent in {self.run_dir / CHECKPOINT} has other network shapes than "
                    f"{self.run_dir / CONFIG} now gives (problem, step cap, observation "
                    "options or agent size changed since training?); restore the config or "
                    "train anew"
                ) from None
            raise CheckpointError(
                f"cannot resume from {self.run_dir / CHECKPOINT}: {type(exc).__name__}: {exc}"
            ) from exc
        if len(self.worker_states) != self.workers:
            raise CheckpointError(
                f"{self.run_dir} was trained with {len(self.worker_states)} workers, "
                f"its config now says {self.workers}"
            )
        if self.read_only:
            return
        for name in (METRICS, TESTS):
            truncate_records(self.run_dir / name, self.episode)

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
                self.kept.observe(self.env, info, self.episode + 1)
            obs = next_obs
        agent.end_episode()
        return episode_record(info, total)

    def _append(self, name: str, record: dict) -> None:
        with open(self.run_dir / name, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")

    def train(self, episodes: int, progress: bool = True) -> int:
        """Train until ``episodes`` episodes in total; returns the episodes completed.

        Ctrl-C (SIGINT) or SIGTERM stops at the next episode boundary and saves a checkpoint
        (a second signal interrupts at once; the checkpoint is still written)."""
        if self.read_only:
            raise RuntimeError(f"{self.run_dir} was opened read-only; it cannot train")
        bar = tqdm(total=episodes, initial=self.episode, disable=not progress, unit="ep",
                   dynamic_ncols=True)  # fmt: skip
        successes: list[bool] = []
        start = time.perf_counter()
        done_here = 0

        def finish(record: dict, run_test) -> None:
            """Book a finished training episode; ``run_test()`` plays a greedy test."""
            nonlocal done_here
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
                test = run_test()
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

        with (
            checkpointed(self._lock, self._save) as self._signals,
            torch_threads(self.learner_threads),
        ):
            try:
                if self.workers == 1:
                    while self.episode < episodes and not self._signals.requested:
                        finish(self._rollout(greedy=False), lambda: self._rollout(greedy=True))
                else:
                    self._train_parallel(episodes, finish)
            finally:
                bar.close()
        return self.episode

    @property
    def learner_threads(self) -> int:
        """torch threads of the agent's updates: ``train.threads``, else 1 for agents under
        :data:`SMALL_AGENT` parameters (a small update gains nothing from threads and loses
        much when they spin against other runs) and torch's default for larger ones."""
        configured = self.config["train"].get("threads")
        if configured is not None:
            return int(configured)
        size = sum(p.numel() for p in self.agent.policy.parameters())
        return 1 if size < SMALL_AGENT else torch.get_num_threads()

    def _train_parallel(self, episodes: int, finish) -> None:
        """The learner's loop over its K workers (round-robin; see the class docstring)."""
        workers = start_workers(
            self.config, self.seed, self.worker_states, self.engine, self.address
        )
        synced: list[int | None] = [None] * self.workers  # agent.updates at each last copy
        pending = [False] * self.workers

        def request(index: int, greedy: bool = False) -> None:
            weights = None
            if synced[index] is None or self.agent.updates - synced[index] >= self.sync_every:
                weights, synced[index] = policy_weights(self.agent.policy), self.agent.updates
            bar_error = self.best["error"] if self.best else float("inf")
            workers.submit(index, weights, self.agent.epsilon, bar_error, greedy)

        def run_test(index: int) -> dict:
            request(index, greedy=True)
            test = workers.result(index)
            self.worker_states[index] = test.state
            return test.record

        try:
            for index in range(min(self.workers, episodes - self.episode)):
                request(index)
                pending[index] = True
            index = 0
            while any(pending) and not self._signals.requested:
                if not pending[index]:
                    index = (index + 1) % self.workers
                    continue
                episode: Episode = workers.result(index)
                pending[index] = False
                for transitions in episode.steps:
                    self.agent.learn(transitions)
                self.worker_states[index] = episode.state
                self.kept.merge(episode.best, episode.shortest, self.episode + 1)
                finish(episode.record, lambda i=index: run_test(i))
                if self.episode + sum(pending) < episodes and not self._signals.requested:
                    request(index)
                    pending[index] = True
                index = (index + 1) % self.workers
        finally:
            workers.close()
