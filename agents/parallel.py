"""Parallel experience collection: K environment workers, one learner.

Each worker owns a copy of the architecture-search environment (its own curriculum and random
streams) and a copy of the learner's policy network. It plays whole episodes ε-greedily among
the legal actions and returns them to the learner as, per environment step, the n-step
transitions that step completed, so the learner stores and learns exactly as a
single-process run does after each step (:meth:`qnoise.agents.ddqn.DDQN.learn`).

The learner serves its workers in a fixed round-robin order (worker 0, 1, …, K−1, 0, …), and
sends its current policy weights with a worker's next episode once ``sync_every`` updates
have passed since that worker's last copy. A run is therefore deterministic for a given seed,
config and K, whichever engine carries the workers: ``"local"`` (processes on this machine,
started with ``spawn``) or ``"ray"`` (Ray actors, one CPU each, on a local instance or the
cluster at ``address``).
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
import traceback
from contextlib import ExitStack
from dataclasses import dataclass

import numpy as np
import torch

from qnoise.agents.ddqn import DDQNConfig, epsilon_greedy, mlp
from qnoise.agents.records import circuit_record, episode_record, shorter
from qnoise.agents.replay import NStepBuffer, Transition
from qnoise.envs import ArchSearchConfig, ArchSearchEnv

ENGINES = ("local", "ray")


class WorkerError(RuntimeError):
    """An experience worker failed or died; the message carries its traceback."""


@dataclass
class Episode:
    """One episode played by a worker.

    ``steps`` holds, per environment step, the n-step transitions that step completed (empty
    for greedy test episodes); ``record`` is the episode's metrics line; ``best`` the circuit
    record (episode number 0) of the episode's lowest-error circuit when that error is below
    the bar the learner sent, else ``None``; ``shortest`` the episode's shortest circuit
    below chemical accuracy without noise (see :class:`qnoise.agents.records.KeptCircuits`), else
    ``None``; ``state`` the worker's state after the episode.
    """

    steps: list[list[Transition]]
    record: dict
    best: dict | None
    shortest: dict | None
    state: dict


def make_env(config: dict) -> ArchSearchEnv:
    """The environment of a run config (its ``env`` section)."""
    return ArchSearchEnv(ArchSearchConfig.from_dict(dict(config.get("env", {}))))


def agent_config(env: ArchSearchEnv, agent_options: dict) -> DDQNConfig:
    """CRLQAS's hyperparameters for ``env`` with the run's ``agent`` options (``algo`` removed)."""
    options = {key: value for key, value in agent_options.items() if key != "algo"}
    return DDQNConfig.crlqas(env.num_qubits, env.config.max_steps, env.config.noisy, **options)


def worker_seed(seed: int, index: int) -> int:
    """The seed of worker ``index`` of a run seeded ``seed`` (independent streams)."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def policy_weights(policy: torch.nn.Module) -> dict[str, np.ndarray]:
    """A policy's parameters as CPU numpy arrays (what workers receive)."""
    return {key: value.detach().cpu().numpy().copy() for key, value in policy.state_dict().items()}


class ExperienceWorker:
    """An environment copy that plays episodes with a copy of the learner's policy.

    ``config`` is the run config; the worker's environment and action draws are seeded by
    :func:`worker_seed` (``seed``, ``index``); ``state`` (from :meth:`state_dict`) restores a
    worker of a resumed run. The policy runs on the CPU with one thread.
    """

    def __init__(self, config: dict, seed: int, index: int, state: dict | None = None):
        torch.set_num_threads(1)
        self.env = make_env(config)
        options = dict(config.get("agent", {}), device="cpu")
        hyper = agent_config(self.env, options)
        self.policy = mlp(self.env.observation_space.shape[0], self.env.action_space.n, hyper)
        self.nstep = NStepBuffer(hyper.n_step, hyper.gamma, hyper.legacy_gamma)
        self.device = torch.device("cpu")
        own_seed = worker_seed(seed, index)
        self.rng = np.random.default_rng(own_seed)
        self.env.reset(seed=own_seed)
        if state is not None:
            self.load_state_dict(state)

    def episode(
        self,
        weights: dict[str, np.ndarray] | None,
        epsilon: float,
        best_error: float,
        greedy: bool = False,
    ) -> Episode:
        """Play one episode (``greedy``: no exploration and no experience returned) with
        ``weights`` loaded first when given, exploring with probability ``epsilon``."""
        if weights is not None:
            self.policy.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
        env = self.env
        obs, info = env.reset()
        steps: list[list[Transition]] = []
        total, done, best, shortest = 0.0, False, None, None
        while not done:
            mask = info["action_mask"]
            action = epsilon_greedy(
                self.policy, obs, mask, 0.0 if greedy else epsilon, self.rng, self.device
            )
            next_obs, reward, done, _, info = env.step(action)
            total += reward
            if not greedy:
                steps.append(
                    self.nstep.push(obs, action, reward, next_obs, info["action_mask"], done)
                )
                if info["error"] < best_error:
                    best_error = info["error"]
                    best = circuit_record(env, info, 0)
                if shorter(info, shortest):
                    shortest = circuit_record(env, info, 0)
            obs = next_obs
        self.nstep.clear()
        return Episode(steps, episode_record(info, total), best, shortest, self.state_dict())

    def state_dict(self) -> dict:
        """Environment (curriculum, random state) and action-draw state."""
        return {"env": self.env.state_dict(), "rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.env.load_state_dict(state["env"])
        self.rng.bit_generator.state = state["rng"]


def _serve(connection, config: dict, seed: int, index: int, state: dict | None) -> None:
    """A worker process: build the worker, then play each requested episode until ``None``.
    Ctrl-C is the learner's to handle (it stops after the episode it waits for)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        worker = ExperienceWorker(config, seed, index, state)
        while (request := connection.recv()) is not None:
            connection.send(("ok", worker.episode(*request)))
    except Exception:
        connection.send(("error", traceback.format_exc()))
    finally:
        connection.close()


class ProcessWorkers:
    """K worker processes on this machine, one pipe each."""

    def __init__(self, config: dict, seed: int, states: list[dict | None]):
        context = multiprocessing.get_context("spawn")
        self.pipes, self.processes = [], []
        # children start with Ctrl-C ignored (an ignored signal stays ignored across exec, and
        # Python then installs no KeyboardInterrupt handler), so an early Ctrl-C cannot kill
        # a worker that is still importing
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
        try:
            for index, state in enumerate(states):
                parent, child = context.Pipe()
                process = context.Process(
                    target=_serve, args=(child, config, seed, index, state), daemon=True
                )
                process.start()
                child.close()
                self.pipes.append(parent)
                self.processes.append(process)
        finally:
            if main:
                signal.signal(signal.SIGINT, previous)

    def submit(self, index: int, *request) -> None:
        try:
            self.pipes[index].send(request)
        except (BrokenPipeError, ConnectionError):
            raise self._died(index) from None

    def result(self, index: int) -> Episode:
        try:
            status, payload = self.pipes[index].recv()
        except (EOFError, ConnectionError):
            raise self._died(index) from None
        if status == "error":
            raise WorkerError(f"experience worker {index} failed:\n{payload}")
        return payload

    def _died(self, index: int) -> WorkerError:
        self.processes[index].join(timeout=5)
        code = self.processes[index].exitcode
        return WorkerError(f"experience worker {index} died (exit code {code})")

    def close(self) -> None:
        for pipe, process in zip(self.pipes, self.processes, strict=True):
            try:
                pipe.send(None)
            except (BrokenPipeError, OSError):
                pass
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
                process.join()
            pipe.close()


class RayWorkers:
    """K Ray actors (one CPU each) on a local Ray instance or the cluster at ``address``."""

    def __init__(self, config: dict, seed: int, states: list[dict | None], address: str | None):
        from qnoise.agents.ray_session import ray_session

        self._stack = ExitStack()  # the Ray session, closed in close()
        ray = self._ray = self._stack.enter_context(ray_session(address, len(states)))
        actor = ray.remote(num_cpus=1)(ExperienceWorker)
        self.actors = [actor.remote(config, seed, i, state) for i, state in enumerate(states)]
        self.pending: dict[int, object] = {}

    def submit(self, index: int, *request) -> None:
        self.pending[index] = self.actors[index].episode.remote(*request)

    def result(self, index: int) -> Episode:
        try:
            return self._ray.get(self.pending.pop(index))
        except Exception as exc:
            raise WorkerError(f"experience worker {index} failed: {exc}") from exc

    def close(self) -> None:
        for actor in self.actors:
            self._ray.kill(actor)
        self._stack.close()


def start_workers(
    config: dict, seed: int, states: list[dict | None], engine: str, address: str | None
) -> ProcessWorkers | RayWorkers:
    """Start ``len(states)`` workers on ``engine`` ("local" or "ray")."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    if address is not None and engine != "ray":
        raise ValueError("an address needs engine='ray'")
    if engine == "ray":
        return RayWorkers(config, seed, states, address)
    return ProcessWorkers(config, seed, states)
