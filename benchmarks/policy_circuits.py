"""How good are the circuits a trained policy builds, once fitted as a whole?

Usage::

    python benchmarks/policy_circuits.py RUN_DIR [--episodes 8] [--epsilon 0.05]
        [--max-gates 66] [--starts 10]

Loads the run's agent (read-only) and plays its policy in the run's environment without
random halting or curriculum (so an episode runs to the step cap): episode 0 greedy, the
others ε-greedy with ``--epsilon`` (seeded, so the table repeats). Each episode's circuit,
cut at ``--max-gates`` gates, is then fitted as a whole: L-BFGS-B on exact reverse-mode
gradients of the noiseless energy, from the angles the step optimizer left and from
``--starts`` random angle vectors (uniform in ±π, seeds 0, 1, ...). The table gives, per
episode, the gates and CNOTs, the error the step optimizer reached and the lowest error of
the whole-circuit fit (Ha). When the fitted error stays far from the step optimizer's, the
circuit itself is the limit, not the optimizer that fitted it during the search.
"""

from __future__ import annotations

import argparse

import numpy as np

from qnoise import PTMSimulator
from qnoise.agents import Trainer
from qnoise.agents.ddqn import epsilon_greedy
from qnoise.envs import ArchSearchEnv
from qnoise.optim import LBFGSB
from qnoise.vqe import EnergyObjective


def fitted_error(env: ArchSearchEnv, circuit, angles: np.ndarray, starts: int) -> float:
    """Lowest noiseless error of ``circuit`` over L-BFGS-B runs from ``angles`` and from
    ``starts`` random angle vectors."""
    problem = env.problem
    objective = EnergyObjective(circuit, problem.hamiltonian, problem.constant, PTMSimulator())
    x0s = [angles] + [np.random.default_rng(seed).uniform(-np.pi, np.pi, angles.size)
                      for seed in range(starts)]  # fmt: skip
    fits = [LBFGSB(maxiter=5000).minimize(objective, x0, jac=objective.gradient) for x0 in x0s]
    return min(float(objective(angles)), *(float(r.fun) for r in fits)) - problem.exact_energy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run")
    parser.add_argument("--episodes", type=int, default=8)
    parser.add_argument("--epsilon", type=float, default=0.05)
    parser.add_argument("--max-gates", type=int, default=66)
    parser.add_argument("--starts", type=int, default=10)
    args = parser.parse_args()
    trainer = Trainer(args.run, device="cpu", read_only=True)
    agent = trainer.agent
    options = {**trainer.config["env"], "noise": None, "random_halting": False,
               "curriculum": False, "threshold": 1e-12}  # fmt: skip
    env = ArchSearchEnv(**options, seed=0)
    rng = np.random.default_rng(0)
    print(f"{args.run}: {trainer.episode} episodes trained; circuits cut at {args.max_gates} "
          f"gates, fitted from their angles and {args.starts} random starts\n")  # fmt: skip
    print("| episode | policy | gates | CNOTs | error of the step optimizer | "
          "lowest error, whole-circuit fit |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for episode in range(args.episodes):
        obs, info = env.reset(seed=episode)
        epsilon = 0.0 if episode == 0 else args.epsilon
        done, snapshot = False, None
        while not done and info["gates"] < args.max_gates:
            mask = info["action_mask"]
            action = epsilon_greedy(agent.policy, obs, mask, epsilon, rng, agent.device)
            obs, _, done, _, info = env.step(action)
            snapshot = (info["gates"], info["cnots"], info["error"], env.circuit(parametrized=True))
        gates, cnots, error, (circuit, angles) = snapshot
        fitted = fitted_error(env, circuit, angles, args.starts)
        policy = "greedy" if episode == 0 else f"ε = {epsilon}"
        print(f"| {episode} | {policy} | {gates} | {cnots} | {error:.2e} | {fitted:.2e} |",
              flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
