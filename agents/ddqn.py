"""Double DQN with n-step returns and action masking, as in CRLQAS."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from qnoise.agents.replay import (
    NStepBuffer,
    ReplayBuffer,
    ReplaySamples,
    TargetValueCache,
    Transition,
)

ACTIVATIONS = {"leaky_relu": nn.LeakyReLU, "relu": nn.ReLU, "tanh": nn.Tanh}


@dataclass
class DDQNConfig:
    """Hyperparameters; :meth:`crlqas` gives the published ones for a qubit count and cap.

    CRLQAS: γ = round(0.005^(1/L), 2); MLP of 5 hidden layers with LeakyReLU, width 1000
    (2–4 qubits), 2000 (6), 5000 (8); Adam, lr 1e-4 (3e-4 for noisy runs and LiH-4q);
    batch 1000, replay 20 000, one update per step once the buffer holds more than 1000;
    target copy every 500 updates; ε from 1 multiplied by 0.99995 per update, floor 0.05;
    n-step 5 (noisy, LiH-4q) or 6 (6–8 qubits), 1 for small noiseless H2.

    Arithmetic: float32 with torch's fused Adam kernel (``fused_adam=True``, the default: the
    same Adam rule up to float32 rounding, ≈ 3× cheaper optimizer step than the ``foreach``
    kernel that ``fused_adam=False`` selects). Target-network values of stored transitions
    are cached between target synchronisations (:class:`qnoise.agents.replay.TargetValueCache`),
    which removes one of the update's three forward passes without changing the targets.
    ``precision="bfloat16"`` (a speed option, not CRLQAS's; numbers differ from float32)
    runs the update's matrix products in bfloat16 under ``torch.autocast`` (weights, Adam
    state, targets and loss stay float32); on CPUs with AMX / AVX-512-BF16 it makes the
    published 5×1000 update ≈ 3× cheaper, elsewhere it can be slower (measure with
    ``benchmarks/agent_update.py``). Action selection always runs in float32.
    """

    gamma: float = 0.88
    n_step: int = 1
    legacy_gamma: bool = False
    hidden_layers: int = 5
    width: int = 1000
    activation: str = "leaky_relu"
    lr: float = 1e-4
    batch_size: int = 1000
    buffer_size: int = 20_000
    learning_starts: int = 1000
    updates_per_step: int = 1
    target_update: int = 500
    epsilon_start: float = 1.0
    epsilon_decay: float = 0.99995
    epsilon_min: float = 0.05
    huber_delta: float = 1.0
    device: str = "cpu"
    precision: str = "float32"
    fused_adam: bool = True

    def __post_init__(self) -> None:
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}")
        if self.precision not in ("float32", "bfloat16"):
            raise ValueError(f"precision must be 'float32' or 'bfloat16', got {self.precision!r}")
        if not 0 < self.gamma <= 1 or self.n_step < 1 or self.batch_size < 1:
            raise ValueError("need 0 < gamma <= 1, n_step >= 1, batch_size >= 1")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ValueError("device='cuda' but no CUDA device is available")

    @classmethod
    def crlqas(cls, num_qubits: int, max_steps: int, noisy: bool, **overrides) -> DDQNConfig:
        width = 1000 if num_qubits <= 4 else 2000 if num_qubits <= 6 else 5000
        if num_qubits >= 6:
            n_step = 6
        elif noisy or num_qubits == 4:
            n_step = 5
        else:
            n_step = 1
        lr = 3e-4 if noisy or num_qubits == 4 else 1e-4
        values = {
            "gamma": round(0.005 ** (1 / max_steps), 2),
            "n_step": n_step,
            "width": width,
            "lr": lr,
        }
        return cls(**{**values, **overrides})


def mlp(inputs: int, outputs: int, config: DDQNConfig) -> nn.Sequential:
    layers: list[nn.Module] = []
    size = inputs
    for _ in range(config.hidden_layers):
        layers += [nn.Linear(size, config.width), ACTIVATIONS[config.activation]()]
        size = config.width
    layers.append(nn.Linear(size, outputs))
    return nn.Sequential(*layers)


def q_values(policy: nn.Module, obs: np.ndarray, device: torch.device) -> np.ndarray:
    """The Q-values of one observation, as a float32 numpy vector."""
    with torch.no_grad():
        tensor = torch.as_tensor(obs, dtype=torch.float32, device=device)
        return policy(tensor[None, :])[0].cpu().numpy()


def epsilon_greedy(
    policy: nn.Module,
    obs: np.ndarray,
    mask: np.ndarray,
    epsilon: float,
    rng: np.random.Generator,
    device: torch.device,
) -> int:
    """With probability ``epsilon`` a uniformly random legal action, else the legal action
    of highest Q (illegal actions set to −∞). ``rng`` is drawn once when ``epsilon > 0``."""
    legal = np.flatnonzero(mask)
    if legal.size == 0:
        raise ValueError("no legal action")
    if epsilon > 0 and rng.random() < epsilon:
        return int(rng.choice(legal))
    q = q_values(policy, obs, device)
    q[~np.asarray(mask, dtype=bool)] = -np.inf
    return int(np.argmax(q))


class DDQN:
    """Double DQN agent for environments with ``action_masks()``.

    Update: with the n-step transition ``(s, a, R, s', mask', d)``,
    ``y = R + d · Q_target(s', argmax_{a' legal} Q_policy(s', a'))`` (d = γ^n, 0 at the end),
    Huber loss between ``Q_policy(s, a)`` and ``y``, Adam. ε decays per update; exploration
    samples uniformly among legal actions; greedy choice sets illegal actions to −∞.
    """

    def __init__(self, obs_size: int, num_actions: int, config: DDQNConfig, seed: int = 0):
        self.config = config
        self.num_actions = num_actions
        self.rng = np.random.default_rng(seed)
        torch.manual_seed(seed)
        self.device = torch.device(config.device)
        self.policy = mlp(obs_size, num_actions, config).to(self.device)
        self.target = mlp(obs_size, num_actions, config).to(self.device)
        self.target.load_state_dict(self.policy.state_dict())
        self.optimizer = torch.optim.Adam(
            self.policy.parameters(), lr=config.lr, fused=True if config.fused_adam else None
        )
        self.replay = ReplayBuffer(config.buffer_size, obs_size, num_actions)
        self.target_cache = TargetValueCache(config.buffer_size, num_actions)
        self.nstep = NStepBuffer(config.n_step, config.gamma, config.legacy_gamma)
        self.epsilon = config.epsilon_start
        self.updates = 0
        self.steps = 0

    # ------------------------------------------------------------- acting
    def q_values(self, obs: np.ndarray) -> np.ndarray:
        return q_values(self.policy, obs, self.device)

    def act(self, obs: np.ndarray, mask: np.ndarray, greedy: bool = False) -> int:
        """ε-greedy among legal actions (``greedy=True``: no exploration)."""
        epsilon = 0.0 if greedy else self.epsilon
        return epsilon_greedy(self.policy, obs, mask, epsilon, self.rng, self.device)

    # ------------------------------------------------------------- learning
    def observe(self, obs, action, reward, next_obs, next_mask, terminal: bool) -> None:
        """Store a step (as n-step transitions) and run the scheduled updates."""
        self.learn(self.nstep.push(obs, action, reward, next_obs, next_mask, terminal))

    def learn(self, transitions: list[Transition]) -> None:
        """One environment step's worth of learning: store the n-step ``transitions`` that
        step completed and run the scheduled updates (what :meth:`observe` does after its
        n-step accumulation; parallel workers accumulate themselves and stream the result)."""
        for transition in transitions:
            self.replay.add(transition)
        self.steps += 1
        if self.replay.size > self.config.learning_starts:
            for _ in range(self.config.updates_per_step):
                self.update()

    def td_targets(self, batch: ReplaySamples) -> torch.Tensor:
        """Double-DQN targets ``R + d · Q_target(s', argmax_legal Q_policy(s'))``.

        A batch from :meth:`ReplayBuffer.sample` (with ``indices``) takes ``Q_target(s')``
        from :attr:`target_cache`, computing only the slots not cached since the last target
        synchronisation; a batch without indices evaluates the target network directly.
        """
        next_obs = torch.as_tensor(batch.next_obs, device=self.device)
        masks = torch.as_tensor(batch.next_masks, device=self.device)
        with torch.no_grad():
            online = self.policy(next_obs).masked_fill(~masks, -torch.inf)
            best = online.argmax(dim=1, keepdim=True)
            if batch.indices is not None:
                cached = self.target_cache.lookup(batch.indices, self.replay, self._target_q)
                target_q = torch.as_tensor(cached, device=self.device)
            else:
                target_q = self.target(next_obs).float()
            bootstrap = target_q.gather(1, best).squeeze(1)
            discounts = torch.as_tensor(batch.discounts, device=self.device)
            bootstrap = torch.where(discounts > 0, bootstrap, torch.zeros_like(bootstrap))
            rewards = torch.as_tensor(batch.rewards, device=self.device)
            return rewards + discounts * bootstrap

    def _target_q(self, slots: np.ndarray) -> np.ndarray:
        """``Q_target`` of the replay slots' next observations, float32 numpy."""
        next_obs = torch.as_tensor(self.replay.next_obs[slots], device=self.device)
        return self.target(next_obs).float().cpu().numpy()

    def update(self) -> float:
        """One gradient step on a sampled batch; returns the loss."""
        batch = self.replay.sample(self.config.batch_size, self.rng)
        obs = torch.as_tensor(batch.obs, device=self.device)
        actions = torch.as_tensor(batch.actions, device=self.device)
        low_precision = self.config.precision == "bfloat16"
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=low_precision):
            targets = self.td_targets(batch)
            q = self.policy(obs).gather(1, actions[:, None]).squeeze(1)
        loss = nn.functional.huber_loss(q.float(), targets, delta=self.config.huber_delta)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.updates += 1
        self.epsilon = max(self.config.epsilon_min, self.epsilon * self.config.epsilon_decay)
        if self.updates % self.config.target_update == 0:
            self.target.load_state_dict(self.policy.state_dict())
            self.target_cache.clear()
        return float(loss.detach())

    def end_episode(self) -> None:
        self.nstep.clear()

    # ------------------------------------------------------------- state
    def state_dict(self) -> dict:
        return {
            "config": asdict(self.config),
            "policy": self.policy.state_dict(),
            "target": self.target.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "replay": self.replay.state_dict(),
            "target_cache": self.target_cache.state_dict(),
            "epsilon": self.epsilon,
            "updates": self.updates,
            "steps": self.steps,
            "rng": self.rng.bit_generator.state,
            "torch_rng": torch.get_rng_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.policy.load_state_dict(state["policy"])
        self.target.load_state_dict(state["target"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.replay.load_state_dict(state["replay"])
        if "target_cache" in state:
            self.target_cache.load_state_dict(state["target_cache"])
        else:  # a checkpoint from before the cache existed
            self.target_cache.clear()
        self.epsilon = float(state["epsilon"])
        self.updates, self.steps = int(state["updates"]), int(state["steps"])
        self.rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
