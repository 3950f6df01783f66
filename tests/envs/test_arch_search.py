"""The CRLQAS architecture-search environment: API, encoding, masks, rewards, curriculum."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import Statevector

from qnoise import PTMSimulator, chem, envs
from qnoise.envs import ArchSearchConfig, ArchSearchEnv, Curriculum, RandomHalting, action_set
from qnoise.optim import Rotosolve

NOISELESS = {"problem": "H2-2q", "noise": None}
INFO_KEYS = {
    "energy", "noiseless_energy", "error", "threshold", "gates", "cnots", "rotations",
    "depth", "parameters", "nfev", "outcome", "action_mask",
}  # fmt: skip


def make(**options) -> ArchSearchEnv:
    """A noiseless H2 environment whose episodes do not end by success unless asked to."""
    seed = options.pop("seed", 0)
    defaults = {**NOISELESS, "threshold": 1e-9, "curriculum": False}
    return ArchSearchEnv(**{**defaults, **options}, seed=seed)


def test_gymnasium_and_sb3_checkers():
    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    check_env(ArchSearchEnv(**NOISELESS), skip_render_check=True)
    sb3_check_env(ArchSearchEnv(**NOISELESS), warn=True)


def test_registered_with_gymnasium():
    env = gymnasium.make(envs.ENV_ID, problem="H2-2q", noise=None)
    assert isinstance(env.unwrapped, ArchSearchEnv)
    again = gymnasium.make("qnoise.envs:qnoise/ArchSearch-v0", problem="H2-2q", noise=None)
    assert again.action_space.n == 8


@pytest.mark.parametrize(
    ("problem", "size", "actions"),
    [("H2-2q", 401, 8), ("LiH-4q", 1121, 24), ("LiH-6q", 3781, 48), ("H2O-8q", 22001, 80)],
)
def test_spaces_have_crlqas_sizes(problem, size, actions):
    config = ArchSearchConfig(problem=problem, noise=None)
    env = ArchSearchEnv(config)
    assert env.observation_space.shape == (size,)
    assert env.observation_space.dtype == np.float32
    assert env.action_space.n == actions


def test_action_order_and_coupling_map():
    actions = [str(a) for a in action_set(3)]
    assert actions[:6] == ["cx(0, 1)", "cx(0, 2)", "cx(1, 2)", "cx(1, 0)", "cx(2, 0)", "cx(2, 1)"]
    assert actions[6:9] == ["rx(0,)", "ry(0,)", "rz(0,)"]
    env = ArchSearchEnv(problem="LiH-4q", noise=None, coupling_map="fake_ourense")
    cnots = [a.qubits for a in env.actions if a.is_cnot]
    assert sorted(cnots) == [(0, 1), (1, 0), (1, 2), (1, 3), (2, 1), (3, 1)]
    assert env.action_space.n == 18
    edges = ArchSearchEnv(problem="LiH-4q", noise=None, coupling_map=[(0, 1), (1, 2), (2, 3)])
    assert edges.action_space.n == 6 + 12


def test_rotation_subset_keeps_order_masks_and_observation_size():
    actions = [str(a) for a in action_set(3, rotations=("rz", "rx"))]
    assert actions[6:] == ["rx(0,)", "rz(0,)", "rx(1,)", "rz(1,)", "rx(2,)", "rz(2,)"]
    options = {"problem": "LiH-4q", "noise": None, "max_steps": 8}
    full = ArchSearchEnv(**options)
    real = ArchSearchEnv(**options, rotations=["ry"], coupling_map="fake_ourense",
                         curriculum=False, threshold=1e-9, random_halting=False,
                         optimizer="lbfgsb")  # fmt: skip
    assert [str(a) for a in real.actions] == [
        "cx(0, 1)", "cx(1, 2)", "cx(1, 3)", "cx(1, 0)", "cx(2, 1)", "cx(3, 1)",
        "ry(0,)", "ry(1,)", "ry(2,)", "ry(3,)",
    ]  # fmt: skip
    assert real.action_space.n == 10
    assert real.observation_space.shape == full.observation_space.shape
    real.reset(seed=3)
    ry1 = [str(a) for a in real.actions].index("ry(1,)")
    real.step(ry1)
    assert not real.action_masks()[ry1]
    gates = set()
    for _ in range(24):
        mask = real.action_masks()
        action = int(real.np_random.choice(np.flatnonzero(mask)))
        *_, terminated, truncated, _ = real.step(action)
        if terminated or truncated:
            gates |= {i.operation.name for i in real.circuit().data}
            real.reset()
    assert gates == {"cx", "ry"}
    with pytest.raises(ValueError, match="rotations"):
        action_set(3, rotations=("ry", "rw"))


def test_real_gate_set_reaches_the_ground_state():
    """RY and CNOT only: H2-4q's ground state cos(θ/2)|0101> + sin(θ/2)|1010> in six real
    gates (RY on qubit 0 spread by CNOTs, RY(π) flips on 1 and 3), the energy the
    environment reports being that of the circuit it returns."""
    env = make(problem="H2-4q-0.70", noise=None, optimizer="lbfgsb", restarts=2,
               rotations="ry", random_halting=False, curriculum=False, threshold=1e-12,
               seed=1)  # fmt: skip
    names = [str(a) for a in env.actions]
    sequence = ["ry(0,)", "cx(0, 2)", "ry(1,)", "cx(0, 1)", "ry(3,)", "cx(0, 3)"]
    infos = [env.step(names.index(gate))[-1] for gate in sequence]
    assert infos[-1]["error"] < 1e-8
    exact = Statevector(env.circuit()).expectation_value(env.problem.hamiltonian).real
    assert infos[-1]["energy"] == pytest.approx(exact + env.problem.constant, abs=1e-10)


def test_encoding_moments_and_circuit():
    env = make(problem="LiH-4q", random_halting=False)
    names = {str(a): i for i, a in enumerate(env.actions)}
    for label in ["rx(0,)", "cx(0, 1)", "ry(1,)", "cx(3, 0)", "rz(3,)"]:
        env.step(names[label])
    tensor = env.state.tensor
    n = 4
    assert tensor[0, n + 0, 0] == 1  # RX on 0 at moment 0
    assert tensor[1, 1, 0] == 1  # CX 0->1 at max(1, 0) = 1: [moment, target, control]
    assert tensor[2, n + 1, 1] == 1  # RY on 1 after the CNOT
    assert tensor[2, 0, 3] == 1  # CX 3->0 at max(moment[3]=0, moment[0]=2)
    assert tensor[3, n + 2, 3] == 1  # RZ on 3 at moment 3
    assert tensor.sum() == 5
    assert env.state.moments.tolist() == [3, 3, 0, 4]
    circuit, angles = env.circuit(parametrized=True)
    ops = [(i.operation.name, [circuit.find_bit(q).index for q in i.qubits]) for i in circuit.data]
    assert ops == [("rx", [0]), ("cx", [0, 1]), ("ry", [1]), ("cx", [3, 0]), ("rz", [3])]
    assert angles.shape == (3,) and circuit.num_parameters == 3


def test_cnot_orientation_reaches_the_simulator():
    """The energy the environment reports is that of the circuit it returns, CNOT as chosen."""
    problem = chem.load("H2-2q")
    env = make(threshold=1e-9, curriculum=False, random_halting=False)
    names = {str(a): i for i, a in enumerate(env.actions)}
    env.step(names["ry(1,)"])
    _, _, _, _, info = env.step(names["cx(1, 0)"])
    bound = env.circuit()
    exact = Statevector(bound).expectation_value(problem.hamiltonian).real + problem.constant
    assert info["energy"] == pytest.approx(exact, abs=1e-10)
    reversed_circuit = QuantumCircuit(2)
    reversed_circuit.ry(info["parameters"][0], 1)
    reversed_circuit.cx(0, 1)
    wrong = Statevector(reversed_circuit).expectation_value(problem.hamiltonian).real
    assert abs(wrong + problem.constant - info["energy"]) > 1e-3


def test_illegal_rules():
    env = make(problem="LiH-4q", random_halting=False)
    names = {str(a): i for i, a in enumerate(env.actions)}
    env.step(names["cx(0, 1)"])
    mask = env.action_masks()
    assert not mask[names["cx(0, 1)"]]
    assert mask[names["cx(1, 0)"]] and mask[names["cx(0, 2)"]]
    env.step(names["rz(1,)"])  # touches the target wire: the CNOT is legal again
    assert env.action_masks()[names["cx(0, 1)"]]
    assert not env.action_masks()[names["rz(1,)"]]
    assert env.action_masks()[names["rx(1,)"]]
    env.step(names["cx(0, 2)"])  # a CNOT on qubit 1? no: qubit 1's last gate is still rz
    assert not env.action_masks()[names["rz(1,)"]]
    env.step(names["cx(2, 1)"])
    assert env.action_masks()[names["rz(1,)"]]


def test_masked_rollouts_never_repeat_cancelling_gates():
    env = make(problem="LiH-4q", noise=None, optimizer="cobyla", maxfev=5, seed=3)
    rng = np.random.default_rng(0)
    for _ in range(3):
        env.reset()
        done = False
        while not done:
            action = rng.choice(np.flatnonzero(env.action_masks()))
            *_, done, _, _ = env.step(action)
        last: dict[int, tuple] = {}
        for instruction in env.circuit().data:
            qubits = tuple(env.circuit().find_bit(q).index for q in instruction.qubits)
            key = (instruction.operation.name, qubits)
            assert not all(last.get(q) == key for q in qubits)
            for q in qubits:
                last[q] = key


def test_illegal_action_penalized_or_raised():
    env = make(random_halting=False, curriculum=False, threshold=1e-9)
    env.step(2)
    before = len(env.state.gates)
    _, reward, _, _, info = env.step(2)
    assert reward == -1.0 and info["illegal"] and len(env.state.gates) == before
    strict = make(random_halting=False, illegal_action="raise")
    strict.step(2)
    with pytest.raises(ValueError, match="illegal"):
        strict.step(2)


def test_expert_sequence_solves_h2():
    env = make(threshold=1.6e-3, curriculum=False, random_halting=False)
    names = {str(a): i for i, a in enumerate(env.actions)}
    rewards = []
    for label in ["ry(0,)", "ry(1,)", "cx(1, 0)"]:
        _, reward, done, _, info = env.step(names[label])
        rewards.append(reward)
    assert done and info["outcome"] == "success" and rewards[-1] == 5.0
    assert info["error"] < 1.6e-3 and info["noiseless_error"] < 1.6e-3
    assert set(info) >= INFO_KEYS
    assert (info["gates"], info["cnots"], info["rotations"], info["depth"]) == (3, 1, 2, 2)


def test_shaped_reward_and_failure_ends(monkeypatch):
    env = make(threshold=1e-6, curriculum=False, random_halting=False, max_steps=3)
    energies = iter([-0.5, -2.0, -1.0])
    gap0 = abs(env._energy - env.target)

    def fake_evaluate(optimize, new_rotation=False):
        return next(energies), 7

    monkeypatch.setattr(env, "_evaluate", fake_evaluate)
    first = env._energy
    _, r1, *_ = env.step(2)
    assert r1 == pytest.approx((first - (-0.5)) / gap0)
    _, r2, *_ = env.step(5)  # huge improvement: clipped to +1
    assert r2 == 1.0
    _, r3, done, _, info = env.step(3)  # last step: the cap
    assert done and info["outcome"] == "cap" and r3 == -5.0
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)


def test_random_halting_ends_with_penalty():
    halting = {"n": 1, "p": 1.0, "low": 2, "high": 2}  # always step 2
    env = make(threshold=1e-9, curriculum=False, random_halting=halting)
    _, _, done, _, info = env.step(2)
    assert not done and info["halting_step"] == 2
    _, reward, done, _, info = env.step(5)
    assert done and info["outcome"] == "halt" and reward == -5.0
    noisy = RandomHalting.crlqas_noisy()
    draws = [noisy.draw(np.random.default_rng(s)) for s in range(50)]
    assert 20 <= min(draws) and max(draws) <= 32 and 23 < np.mean(draws) < 28  # mode ≈ 26
    noiseless = RandomHalting.crlqas_noiseless()
    values = [noiseless.draw(np.random.default_rng(s)) for s in range(200)]
    assert min(values) >= 25 and max(values) <= 70 and 45 < np.mean(values) < 60


def test_curriculum_branches():
    c = Curriculum(target=-1.0, initial_threshold=0.1, delta=0.01, success_threshold=2,
                   max_shifts=2, greedy_every=20)  # fmt: skip
    assert c.lowest_energy == pytest.approx(-0.9)
    c.end_episode(True)
    assert c.threshold == 0.1
    c.end_episode(True)  # second success: ξ -= δ / max_shifts
    assert c.threshold == pytest.approx(0.095) and c.shifts == 1 and c.successes == 0
    c.end_episode(True)
    c.end_episode(True)
    assert c.threshold == pytest.approx(0.09) and c.shifts == 2
    c.end_episode(True)
    c.end_episode(True)  # max_shifts reached: no further reduction
    assert c.threshold == pytest.approx(0.09)
    c.observe(-0.97)
    for _ in range(14):
        c.end_episode(False)
    assert c.episodes == 20
    assert c.threshold == pytest.approx(0.03 + 0.01)  # greedy shift: |μ - lowest| + δ
    assert c.shifts == 0 and c.successes == 0
    assert c.failures == 0  # the greedy shift restarts the failure count


def test_curriculum_relaxes_after_a_run_of_failures():
    """``relax_after``: ξ doubles after that many unsuccessful episodes in a row, never
    above ξ0; a success restarts the count, and the greedy shift tightens ξ again."""
    c = Curriculum(target=-1.0, initial_threshold=0.1, delta=0.01, success_threshold=5,
                   greedy_every=100, relax_after=3)  # fmt: skip
    c.threshold = 0.02
    for _ in range(2):
        c.end_episode(False)
    c.end_episode(True)
    for _ in range(2):
        c.end_episode(False)
    assert c.threshold == 0.02 and c.failures == 2
    c.end_episode(False)
    assert c.threshold == pytest.approx(0.04) and c.failures == 0
    for _ in range(6):
        c.end_episode(False)
    assert c.threshold == pytest.approx(0.1)  # 0.08, then ξ0
    c.observe(-0.995)
    for _ in range(100 - c.episodes):
        c.end_episode(False)
    assert c.threshold == pytest.approx(0.005 + 0.01)
    assert Curriculum(-1.0, 0.1, relax_after=None).state_dict()["failures"] == 0
    for bad in (0, 2.5):
        with pytest.raises(ValueError, match="relax_after"):
            Curriculum(-1.0, 0.1, relax_after=bad)


def test_fixed_curriculum():
    fixed = Curriculum(target=-1.0, initial_threshold=0.1, enabled=False)
    for _ in range(600):
        fixed.end_episode(True)
    assert fixed.threshold == 0.1
    with pytest.raises(ValueError, match="threshold"):
        Curriculum(target=-1.0, initial_threshold=-0.5)


def test_environment_updates_and_saves_its_curriculum():
    env = make(threshold=0.97, random_halting=False, curriculum=True,
               curriculum_options={"success_threshold": 1, "greedy_every": 1000})  # fmt: skip
    env.step(2)  # any gate succeeds with ξ = 0.97
    assert env.curriculum.threshold == pytest.approx(0.97 - 5e-4 / 10)
    saved = env.state_dict()
    other = make(threshold=0.97, random_halting=False, curriculum=True,
                 curriculum_options={"success_threshold": 1, "greedy_every": 1000})  # fmt: skip
    other.load_state_dict(saved)
    assert other.curriculum.threshold == env.curriculum.threshold
    assert other.np_random.integers(10**9) == env.np_random.integers(10**9)


def test_same_seed_same_episode():
    def rollout():
        env = ArchSearchEnv(problem="H2-2q", noise="fake_mumbai:median", shots=1000, seed=7)
        rng = np.random.default_rng(1)
        trace = []
        done = False
        while not done:
            action = rng.choice(np.flatnonzero(env.action_masks()))
            _, reward, done, _, info = env.step(action)
            trace.append((int(action), reward, info["energy"], tuple(info["parameters"])))
        return trace

    assert rollout() == rollout()


def test_noisy_energies_and_noiseless_reevaluation():
    env = ArchSearchEnv(problem="H2-2q", noise="fake_mumbai:median", seed=2, threshold=1e-6,
                        curriculum=False, random_halting=False)  # fmt: skip
    _, _, _, _, info = env.step(3)
    circuit = env.circuit()
    problem = chem.load("H2-2q")
    noisy = PTMSimulator("fake_mumbai:median").expectation(circuit, problem.hamiltonian)
    assert info["energy"] <= noisy + problem.constant + 0.05  # Adam-SPSA's best estimate
    ideal = Statevector(circuit).expectation_value(problem.hamiltonian).real + problem.constant
    assert info["noiseless_energy"] == pytest.approx(ideal, abs=1e-10)
    assert info["nfev"] <= 500


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"threshold": -0.5}, "threshold"),
        ({"problem": "CH4-8q"}, "problem: unknown"),
        ({"noise": "fake_nowhere:median"}, "noise"),
        ({"problem": "H2-2q", "coupling_map": [(0, 2)]}, "coupling_map"),
        ({"problem": "LiH-4q", "coupling_map": [(0, 1), (1, 2)]}, "no CNOT edge"),
        ({"problem": "LiH-4q", "coupling_map": [(0, 1), (1, 2), (3, 3)]}, "to itself"),
        ({"rotations": []}, "rotations"),
        ({"rotations": ["ry", "ry"]}, "rotations"),
        ({"rotations": ["ry", "cx"]}, "rotations"),
        ({"rotations": 3}, "rotations"),
        ({"target": "ground"}, "target"),
        ({"optimizer": "bfgs"}, "optimizer"),
        ({"shots": 0}, "shots"),
        ({"random_halting": {"n": -1, "p": 0.5}}, "random halting"),
        ({"curriculum_options": {"speed": 2}}, "curriculum_options"),
    ],
)
def test_bad_options_fail_at_construction(options, message):
    with pytest.raises(ValueError, match=message):
        ArchSearchConfig(**options)


def test_config_from_yaml(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("env:\n  problem: H2-2q\n  noise: fake_mumbai:median\n  max_steps: 20\n")
    config = ArchSearchConfig.from_yaml(path)
    assert config.max_steps == 20 and config.noisy
    path.write_text("env:\n  problem: H2-2q\n  nosie: ideal\n")
    with pytest.raises(ValueError, match="nosie"):
        ArchSearchConfig.from_yaml(path)


def _maskable_ppo_run(timesteps: int, noise=None):
    from sb3_contrib import MaskablePPO

    env = ArchSearchEnv(problem="H2-2q", noise=noise, seed=0, maxfev=30)
    model = MaskablePPO("MlpPolicy", env, n_steps=32, batch_size=32, n_epochs=1, seed=0,
                        policy_kwargs={"net_arch": [32]}, device="cpu")  # fmt: skip
    model.learn(total_timesteps=timesteps)
    assert model.num_timesteps >= timesteps
    return env, model


def test_maskable_ppo_runs():
    env, model = _maskable_ppo_run(64)
    obs, _ = env.reset(seed=1)
    action, _ = model.predict(obs, action_masks=env.action_masks(), deterministic=True)
    assert env.action_masks()[int(action)]


@pytest.mark.slow
def test_maskable_ppo_trains_a_few_hundred_noisy_steps():
    env, _ = _maskable_ppo_run(512, noise="fake_mumbai:median")
    assert env.curriculum.episodes > 0


def test_mitigated_rewards_use_zero_noise_extrapolated_energies():
    options = {"noise": "fake_mumbai:median", "optimizer": "spsa", "maxfev": 60,
               "random_halting": False}  # fmt: skip
    plain = make(**options, seed=5)
    mitigated = make(**options, mitigation={"extrapolation": "richardson"}, seed=5)
    for env in (plain, mitigated):
        env.reset(seed=5)
    actions = [2, 5, 0, 3]  # RX, RY on both qubits and a CNOT: the same circuit in both
    for action in actions:
        _, _, _, _, base = plain.step(action)
        _, _, _, _, info = mitigated.step(action)
    assert info["unmitigated_energy"] == pytest.approx(base["energy"], abs=1e-12)
    assert base["unmitigated_energy"] == base["energy"]
    noisy_gap = abs(info["unmitigated_energy"] - info["noiseless_energy"])
    assert abs(info["energy"] - info["noiseless_energy"]) < 0.2 * noisy_gap
    assert info["nfev"] == base["nfev"] + 3
    with pytest.raises(ValueError, match="mitigation"):
        make(mitigation={"scale_factors": [1, 1]})
    with pytest.raises(ValueError, match="mitigation"):
        make(noise=None, mitigation={})


@pytest.mark.parametrize("shots", [None, 1000])
def test_rotosolve_inner_optimizer(shots):
    """``optimizer="rotosolve"``: with exact energies each step sweeps to convergence (the
    step's energy is the circuit's exact optimum, as L-BFGS-B finds it); with shots it keeps
    to ``maxfev`` evaluations."""
    options = {"problem": "H2-2q", "noise": "depolarizing:p1=1e-3,p2=5e-3", "shots": shots,
               "shot_model": "gaussian", "random_halting": False}  # fmt: skip
    roto = make(**options, optimizer="rotosolve", maxfev=None if shots is None else 40, seed=2)
    names = {str(g): i for i, g in enumerate(roto.actions)}
    for key in ("ry(0,)", "ry(1,)", "cx(0, 1)", "ry(1,)"):
        _, _, _, _, info = roto.step(names[key])
        if shots is not None:
            assert info["nfev"] <= 40
    if shots is None:
        exact = make(**options, optimizer="lbfgsb", seed=2)
        for key in ("ry(0,)", "ry(1,)", "cx(0, 1)", "ry(1,)"):
            _, _, _, _, expected = exact.step(names[key])
        assert info["energy"] == pytest.approx(expected["energy"], abs=1e-8)


def test_optimizer_options_reach_the_step_optimizer():
    """``optimizer_options`` override the environment's choices: with 5000 shots per
    evaluation (budget 10) the step's energies scatter as 5000-shot estimates do."""
    options = {"problem": "H2-2q", "noise": "depolarizing:p1=1e-3,p2=5e-3", "shots": 100,
               "shot_model": "gaussian", "random_halting": False, "optimizer": "rotosolve",
               "maxfev": 10}  # fmt: skip
    env = make(**options, optimizer_options={"shots": 5000, "order": "reverse"}, seed=0)
    optimizer = env._optimizer(0)
    assert (optimizer.shots, optimizer.order, optimizer.maxfev) == (5000, "reverse", 10)
    energies = {}
    for shots, per_evaluation in ((100, None), (5000, {"shots": 5000})):
        env = make(**options, optimizer_options=per_evaluation or {}, seed=0)
        rx0 = next(i for i, g in enumerate(env.actions) if str(g) == "rx(0,)")
        values = []
        for seed in range(30):
            env.reset(seed=seed)
            values.append(env.step(rx0)[4]["energy"])
        energies[shots] = np.std(values)
    assert 4 < energies[100] / energies[5000] < 12  # sqrt(50) = 7.1
    with pytest.raises(ValueError, match="optimizer_options"):
        make(**options, optimizer_options={"no_such_option": 1})
    with pytest.raises(ValueError, match="optimizer_options"):
        make(**{**options, "optimizer": Rotosolve()}, optimizer_options={"shots": 10})


def test_optimized_mitigated_energies():
    """``optimize_mitigated``: the step optimizer minimizes the Richardson energy itself, so
    the step's energy is the mitigated energy at the step's angles (a stationary point of
    it) and the unmitigated energy is the noisy energy there; each mitigated evaluation
    counts three energies."""
    from qnoise.mitigation import ZNE

    options = {"noise": "fake_mumbai:median", "optimizer": "lbfgsb", "random_halting": False,
               "mitigation": {"extrapolation": "richardson"}}  # fmt: skip
    env = make(**options, optimize_mitigated=True, seed=4)
    problem = chem.load("H2-2q")
    for action in (2, 5, 0, 3):
        _, _, _, _, info = env.step(action)
    template, angles = env.circuit(parametrized=True)
    zne = ZNE()
    mitigated = zne.energy(env.simulator, template, problem.hamiltonian, angles, problem.constant)
    assert info["energy"] == pytest.approx(mitigated.value, abs=1e-10)
    objective = zne.objective(env.simulator, template, problem.hamiltonian, problem.constant)
    assert np.abs(objective.gradient(angles)).max() < 1e-5
    noisy = env.simulator.expectation(template, problem.hamiltonian, angles) + problem.constant
    assert info["unmitigated_energy"] == pytest.approx(noisy, abs=1e-12)
    assert info["nfev"] % 3 == 1
    for bad in ({"mitigation": None}, {"mitigation": {"extrapolation": "exponential"}}):
        with pytest.raises(ValueError, match="optimize_mitigated"):
            ArchSearchConfig(**{**options, "problem": "H2-2q", **bad, "optimize_mitigated": True})


def test_confirmed_energies_are_fresh_estimates_of_candidate_steps():
    """``confirm_shots``: a step that would succeed or set the lowest energy is re-estimated
    at its optimized angles (one more evaluation); with 1e12 shots the re-estimate is the
    exact noisy energy, where the optimizer's own 100-shot estimate is off by its shot noise.
    A step that is neither keeps the optimizer's estimate."""
    problem = chem.load("H2-2q")
    options = {"problem": "H2-2q", "noise": "depolarizing:p1=1e-3,p2=5e-3", "shots": 100,
               "shot_model": "gaussian", "random_halting": False, "optimizer": "rotosolve",
               "maxfev": 9, "threshold": 0.5, "curriculum": True}  # fmt: skip
    plain, confirming = make(**options), make(**options, confirm_shots=10**12)
    exact = PTMSimulator(confirming.config.noise_model)
    ry0 = next(i for i, g in enumerate(plain.actions) if str(g) == "ry(0,)")
    offsets, confirmed = [], []
    for seed in range(5):  # the first step of an episode: below the initial lowest energy
        plain.reset(seed=seed)
        confirming.reset(seed=seed)
        base, info = plain.step(ry0)[4], confirming.step(ry0)[4]
        assert info["unmitigated_energy"] == base["energy"] == base["unmitigated_energy"]
        assert info["nfev"] == base["nfev"] + 1
        noisy = exact.expectation(confirming.circuit(), problem.hamiltonian) + problem.constant
        assert info["energy"] == pytest.approx(noisy, abs=1e-5)
        offsets.append(base["energy"] - noisy)
        confirmed.append(info["energy"])
        assert confirming.curriculum.lowest_energy == min(confirmed)  # no estimate enters it
    assert np.std(offsets) > 1e-2  # 100-shot estimates scatter
    confirming.reset(seed=0)
    confirming.curriculum.threshold, confirming.curriculum.lowest_energy = 1e-12, -1e3
    info = confirming.step(ry0)[4]
    assert info["energy"] == info["unmitigated_energy"] and info["nfev"] == base["nfev"]
    with pytest.raises(ValueError, match="confirm_shots"):
        ArchSearchConfig(problem="H2-2q", confirm_shots=1000)
    with pytest.raises(ValueError, match="confirm_shots"):
        ArchSearchConfig(problem="H2-2q", shots=100, confirm_shots=0)


def test_optimized_mitigated_estimates_with_shots_and_confirmation():
    """``optimize_mitigated`` with shots: the step optimizer minimizes finite-shot
    estimates of the Richardson energy, and a confirmed candidate's energy is a fresh
    mitigated estimate: with 1e12 shots per scale, the exact mitigated energy at the step's
    angles, where the optimizer's 200-shot estimates scatter; the unmitigated energy is a
    finite-shot estimate of the noisy energy there."""
    from qnoise.mitigation import ZNE

    problem = chem.load("H2-2q")
    options = {"problem": "H2-2q", "noise": "depolarizing:p1=1e-3,p2=5e-3", "shots": 200,
               "shot_model": "gaussian", "random_halting": False, "optimizer": "rotosolve",
               "maxfev": 9, "threshold": 0.5, "curriculum": True,
               "mitigation": {"scale_factors": [1, 3, 5]}, "optimize_mitigated": True}  # fmt: skip
    plain, confirming = make(**options), make(**options, confirm_shots=10**12)
    zne = ZNE((1, 3, 5))
    ry0 = next(i for i, g in enumerate(plain.actions) if str(g) == "ry(0,)")
    offsets = []
    for seed in range(6):
        plain.reset(seed=seed)
        confirming.reset(seed=seed)
        base, info = plain.step(ry0)[4], confirming.step(ry0)[4]
        assert info["nfev"] == base["nfev"] + 3 and base["nfev"] % 3 == 1
        template, angles = confirming.circuit(parametrized=True)
        exact = zne.energy(confirming.simulator, template, problem.hamiltonian, angles,
                           problem.constant).value  # fmt: skip
        assert info["energy"] == pytest.approx(exact, abs=1e-5)
        template, angles = plain.circuit(parametrized=True)
        exact = zne.energy(plain.simulator, template, problem.hamiltonian, angles,
                           problem.constant).value  # fmt: skip
        offsets.append(base["energy"] - exact)
        noisy = plain.simulator.expectation(template, problem.hamiltonian, angles)
        assert base["unmitigated_energy"] != pytest.approx(noisy + problem.constant, abs=1e-9)
    assert np.std(offsets) > 1e-2  # 200-shot mitigated estimates scatter


def test_best_start_angle_leaves_the_stationary_point_at_zero():
    """A rotation on |0000> is stationary at angle 0 for a particle-conserving Hamiltonian,
    so L-BFGS-B never moves it; ``new_angle="best"`` starts it at the minimum along it."""
    options = {"problem": "H2-4q-0.70", "noise": None, "optimizer": "lbfgsb",
               "random_halting": False}  # fmt: skip
    energies, angles, nfevs = {}, {}, {}
    for start in ("zero", "best"):
        env = make(**options, new_angle=start, seed=0)
        ry0 = next(i for i, g in enumerate(env.actions) if str(g) == "ry(0,)")
        *_, info = env.step(ry0)
        energies[start], nfevs[start] = info["energy"], info["nfev"]
        angles[start] = env.state.angles
    vacuum = make(**options, seed=0)
    empty = vacuum.ideal.expectation(QuantumCircuit(4), vacuum.problem.hamiltonian)
    assert energies["zero"] == pytest.approx(empty + vacuum.problem.constant, abs=1e-12)
    assert angles["zero"][0] == 0.0
    assert abs(angles["best"][0]) == pytest.approx(np.pi, abs=1e-6)
    assert energies["best"] < energies["zero"] - 0.1
    assert nfevs["best"] >= 3 + 1


def test_random_restarts_leave_the_basin_of_the_warm_start():
    """A gate sequence where Rotosolve from the warm start stays 0.61 Ha above E0 and one
    random restart per step finds the ground state; the step keeps the lowest energy, which
    is the exact energy of the circuit at the angles kept, and the same seed repeats it."""
    sequence = ["rx(0,)", "rx(1,)", "rx(2,)", "rx(3,)", "cx(1, 2)", "cx(3, 0)", "rx(2,)",
                "cx(2, 0)", "cx(0, 1)", "ry(1,)", "rz(1,)", "cx(1, 3)"]  # fmt: skip
    options = {"problem": "H2-4q-0.70", "noise": None, "optimizer": "rotosolve",
               "random_halting": False, "curriculum": False, "threshold": 1e-12}  # fmt: skip
    runs = {}
    for restarts in (0, 1, 1):
        env = make(**options, restarts=restarts, seed=0)
        names = [str(g) for g in env.actions]
        infos = [env.step(names.index(gate))[-1] for gate in sequence]
        runs.setdefault(restarts, []).append((env, infos))
    ((_, warm_infos),) = runs[0]
    (env, infos), (_, again) = runs[1]
    assert warm_infos[-1]["error"] == pytest.approx(0.6143038920804763, abs=1e-8)
    assert infos[-1]["error"] < 1e-8
    exact = Statevector(env.circuit()).expectation_value(env.problem.hamiltonian).real
    assert infos[-1]["energy"] == pytest.approx(exact + env.problem.constant, abs=1e-10)
    assert [i["energy"] for i in again] == [i["energy"] for i in infos]
    assert sum(i["nfev"] for i in infos) > sum(i["nfev"] for i in warm_infos)


@pytest.mark.parametrize("restarts", [-1, 1.5, True, "2"])
def test_restarts_must_be_a_count(restarts):
    with pytest.raises(ValueError, match="restarts"):
        ArchSearchConfig(restarts=restarts)


def test_adam_spsa_preset_follows_the_molecule_and_qubit_count():
    """CRLQAS's tuned Adam-SPSA goes to LiH on 4 qubits at any bond length and to H2 on 2
    qubits (by the problem's formula), the generic preset to everything else."""
    from qnoise.optim import AdamSPSA

    noisy = {"noise": "depolarizing:p1=1e-3,p2=5e-3", "shots": 1000, "random_halting": False}
    for problem, preset in (("LiH-4q-1.6", "crlqas_lih_4q"), ("H2-2q", "crlqas_h2_2q"),
                            ("H2-4q", "crlqas")):  # fmt: skip
        optimizer = make(problem=problem, **noisy)._optimizer(0)
        expected = AdamSPSA.preset(preset, **({"shots": 1000} if "lih" in preset else {}))
        assert optimizer.plan == expected.plan or preset == "crlqas"
        if preset == "crlqas":
            assert optimizer.maxfev == 500
