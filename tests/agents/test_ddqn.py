"""Double DQN pieces: n-step returns, targets, masking, ε schedule, replay sampling."""

from __future__ import annotations

from copy import deepcopy

import numpy as np
import pytest
import torch

from qnoise.agents import DDQN, DDQNConfig, NStepBuffer, ReplayBuffer, ReplaySamples, Transition

OBS = np.zeros(3, dtype=np.float32)
MASK = np.ones(4, dtype=bool)


def _steps(buffer, rewards, terminal_last=True):
    out = []
    for i, r in enumerate(rewards):
        terminal = terminal_last and i == len(rewards) - 1
        out += buffer.push(OBS + i, i % 4, r, OBS + i + 1, MASK, terminal)
    return out


def test_n_step_returns_bootstrap_with_gamma_to_the_n():
    buffer = NStepBuffer(n=3, gamma=0.9)
    out = _steps(buffer, [1.0, 2.0, 3.0, 4.0], terminal_last=False)
    assert len(out) == 2
    assert out[0].reward == pytest.approx(1 + 0.9 * 2 + 0.81 * 3)
    assert out[0].discount == pytest.approx(0.9**3)
    assert np.array_equal(out[0].next_obs, OBS + 3)
    assert out[1].reward == pytest.approx(2 + 0.9 * 3 + 0.81 * 4)


def test_n_step_flushes_at_episode_end_without_bootstrap():
    out = _steps(NStepBuffer(n=5, gamma=0.5), [1.0, 1.0, 1.0])
    assert [t.reward for t in out] == pytest.approx([1.75, 1.5, 1.0])
    assert [t.discount for t in out] == [0.0, 0.0, 0.0]
    assert out[0].action == 0 and out[2].action == 2


def test_legacy_gamma_flag_reproduces_crlqas_code():
    out = _steps(NStepBuffer(n=3, gamma=0.9, legacy_gamma=True), [1, 1, 1, 1], False)
    assert out[0].discount == pytest.approx(0.9)


def test_replay_ring_and_sampling():
    replay = ReplayBuffer(capacity=5, obs_size=3, num_actions=4)
    for i in range(7):
        replay.add(Transition(OBS + i, i % 4, float(i), OBS, MASK, 0.5))
    assert replay.size == 5 and replay.position == 2
    assert sorted(replay.rewards.tolist()) == [2, 3, 4, 5, 6]
    batch = replay.sample(1000, np.random.default_rng(0))
    assert set(batch.rewards.tolist()) == {2, 3, 4, 5, 6}
    assert batch.obs.shape == (1000, 3) and batch.next_masks.shape == (1000, 4)
    again = ReplayBuffer(5, 3, 4)
    again.load_state_dict(replay.state_dict())
    assert np.array_equal(again.rewards, replay.rewards) and again.position == 2


def _agent(**overrides):
    config = DDQNConfig(hidden_layers=1, width=8, batch_size=4, learning_starts=4,
                        target_update=3, **overrides)  # fmt: skip
    return DDQN(3, 4, config, seed=0)


def test_masked_actions_are_never_chosen():
    agent = _agent()
    mask = np.array([False, True, False, False])
    agent.epsilon = 1.0
    assert {agent.act(OBS, mask) for _ in range(50)} == {1}
    agent.epsilon = 0.0
    with torch.no_grad():
        agent.policy[-1].bias.copy_(torch.tensor([10.0, 0.0, 5.0, 0.0]))
    assert agent.act(OBS, mask, greedy=True) == 1
    assert agent.act(OBS, np.array([True, True, True, False]), greedy=True) == 0


def test_double_dqn_target_uses_policy_argmax_and_target_values():
    agent = _agent()
    with torch.no_grad():
        for net, bias in ((agent.policy, [0.0, 3.0, 1.0, 2.0]), (agent.target, [9, 4, 7, 5])):
            for p in net.parameters():
                p.zero_()
            net[-1].bias.copy_(torch.tensor(bias, dtype=torch.float32))
    batch = ReplaySamples(
        obs=np.zeros((2, 3), dtype=np.float32),
        actions=np.zeros(2, dtype=np.int64),
        rewards=np.array([1.0, 1.0], dtype=np.float32),
        next_obs=np.zeros((2, 3), dtype=np.float32),
        next_masks=np.array([[True, True, True, True], [True, False, True, True]]),
        discounts=np.array([0.5, 0.0], dtype=np.float32),
    )
    targets = agent.td_targets(batch).numpy()
    # row 0: policy argmax = action 1, target value 4 -> 1 + 0.5 * 4; row 1: terminal
    assert targets.tolist() == pytest.approx([3.0, 1.0])
    batch = batch._replace(discounts=np.array([0.5, 0.5], dtype=np.float32))
    # row 1: action 1 is illegal, policy argmax among legal = action 3, target value 5
    assert agent.td_targets(batch).numpy()[1] == pytest.approx(1 + 0.5 * 5)


def test_epsilon_decays_per_update_to_its_floor_and_target_syncs():
    agent = _agent(epsilon_decay=0.5, epsilon_min=0.2)
    for i in range(8):
        agent.observe(OBS, i % 4, 1.0, OBS, MASK, terminal=i % 4 == 3)
    assert agent.updates == 8 - 4  # learning starts once the buffer holds more than 4
    assert agent.epsilon == pytest.approx(0.2)

    def synced():
        pairs = zip(agent.policy.parameters(), agent.target.parameters(), strict=True)
        return all(torch.equal(p, q) for p, q in pairs)

    assert not synced()  # copied at update 3, trained once since
    agent.update()
    agent.update()  # update 6: copy
    assert synced()


def test_crlqas_hyperparameters():
    h2 = DDQNConfig.crlqas(2, 40, noisy=False)
    assert (h2.gamma, h2.n_step, h2.width, h2.lr) == (0.88, 1, 1000, 1e-4)
    lih = DDQNConfig.crlqas(4, 40, noisy=True)
    assert (lih.n_step, lih.lr) == (5, 3e-4)
    six = DDQNConfig.crlqas(6, 70, noisy=False)
    assert (six.gamma, six.n_step, six.width) == (0.93, 6, 2000)
    assert DDQNConfig.crlqas(8, 250, noisy=False).gamma == 0.98
    with pytest.raises(ValueError, match="activation"):
        DDQNConfig(activation="gelu")


@pytest.mark.parametrize("options", [{}, {"precision": "bfloat16", "fused_adam": True}])
def test_updates_fit_known_action_values(options):
    """Terminal one-step transitions with reward = action index: Q(s, a) → a. The bfloat16
    option (matrix products in bfloat16) fits them as the float32 default does."""
    config = DDQNConfig(hidden_layers=2, width=64, batch_size=32, learning_starts=0,
                        lr=3e-3, **options)  # fmt: skip
    agent = DDQN(3, 4, config, seed=1)
    rng = np.random.default_rng(1)
    for _ in range(64):
        obs = rng.random(3).astype(np.float32)
        action = int(rng.integers(4))
        agent.replay.add(Transition(obs, action, float(action), obs, MASK, 0.0))
    for _ in range(400):
        agent.update()
    assert agent.q_values(OBS) == pytest.approx([0, 1, 2, 3], abs=0.1)
    with pytest.raises(ValueError, match="precision"):
        DDQNConfig(precision="float16")


def test_cached_target_values_equal_direct_ones_through_syncs_and_overwrites():
    """Targets of sampled batches come from the target-value cache; they must equal the
    target network evaluated directly, after ring overwrites and target synchronisations,
    and each slot is computed at most once per synchronisation."""
    config = DDQNConfig(hidden_layers=1, width=16, batch_size=8, learning_starts=0,
                        buffer_size=6, target_update=4, lr=1e-2)  # fmt: skip
    agent = DDQN(3, 4, config, seed=2)
    rng = np.random.default_rng(2)
    computed = []
    compute = agent._target_q
    agent._target_q = lambda slots: computed.append(slots.copy()) or compute(slots)
    for step in range(30):
        obs = rng.random(3).astype(np.float32)
        agent.replay.add(Transition(obs, step % 4, 1.0, obs + 1, MASK, 0.5))
        agent.update()
        batch = agent.replay.sample(8, agent.rng)
        direct = batch._replace(indices=None)
        np.testing.assert_allclose(agent.td_targets(batch), agent.td_targets(direct), rtol=1e-6)
    assert agent.updates == 30 and len(computed) > 7  # refilled after each of 7 syncs
    cycle = np.concatenate(computed[-2:]) if agent.updates % 4 else computed[-1]
    assert len(np.unique(cycle)) == len(cycle)


def test_agent_state_round_trip_continues_identically():
    """A restored agent (replay, target cache, optimizer, RNGs) makes the same updates."""
    config = DDQNConfig(hidden_layers=1, width=16, batch_size=8, learning_starts=0,
                        buffer_size=10, target_update=3)  # fmt: skip
    agent = DDQN(3, 4, config, seed=3)
    rng = np.random.default_rng(3)
    for step in range(12):
        obs = rng.random(3).astype(np.float32)
        agent.replay.add(Transition(obs, step % 4, float(step), obs, MASK, 0.5))
        agent.update()
    copy = DDQN(3, 4, config, seed=99)
    copy.load_state_dict(deepcopy(agent.state_dict()))  # as a checkpoint file would
    assert [agent.update() for _ in range(5)] == [copy.update() for _ in range(5)]


def test_checkpoint_without_target_cache_or_stamps_still_loads():
    """Agent states saved before the target-value cache existed restore with an empty cache."""
    config = DDQNConfig(hidden_layers=1, width=8, batch_size=4, learning_starts=0, buffer_size=8)
    agent = DDQN(3, 4, config, seed=4)
    for step in range(6):
        agent.replay.add(Transition(OBS + step, step % 4, 1.0, OBS, MASK, 0.5))
    state = deepcopy(agent.state_dict())
    del state["target_cache"]
    for key in ("stamps", "adds"):
        del state["replay"][key]
    old = DDQN(3, 4, config, seed=4)
    old.load_state_dict(state)
    assert old.replay.stamps[:6].tolist() == [1, 2, 3, 4, 5, 6] and old.replay.adds == 6
    batch = old.replay.sample(4, old.rng)
    direct = batch._replace(indices=None)
    np.testing.assert_allclose(old.td_targets(batch), old.td_targets(direct), rtol=1e-6)
