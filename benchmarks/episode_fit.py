"""Can one episode fit a good circuit's angles at a preset's shot budget per step?

Usage::

    python benchmarks/episode_fit.py [--configs lih_4q_depol_fast,lih_4q_depol_zne_fast]
        [--seeds 4] [--circuits docs/results/lih_4q_depol_fast/s101/shortest.json ...]

Each circuit (a run's ``best.json`` or ``shortest.json``: the gates as the agent placed them)
is played action by action in the environment of each config, as an agent would play it:
every step appends the next gate (a new rotation at angle 0, or where the config puts it)
and runs the config's step optimizer on the whole circuit with the config's shot budget.
Random halting and success are switched off so the episode plays every gate. The table
gives the noiseless error (Ha) of the circuit at the end of the episode, mean ± std over
``--seeds`` environment seeds, beside the circuit's own noiseless optimum (its angles
re-fitted on exact energies) and the same play with the config's reward on exact energies,
its step optimizer run to convergence (no shots); the rewarded energy's error is that of
the energy the config rewards (noisy, or zero-noise-extrapolated), as estimated at the end of
the episode, mean over the seeds. The gap between the last two columns
is what the shot budget per step costs a circuit within one episode: a circuit that cannot
reach the curriculum's threshold in an episode never earns the success reward, however
well its reward ranks it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from noisy_refinement import DEFAULT_CIRCUITS

from qnoise import PTMSimulator, chem
from qnoise.agents.export import best_circuit
from qnoise.agents.parallel import make_env
from qnoise.agents.run_config import load_config
from qnoise.vqe.simplify import refit_angles

DEFAULT_CONFIGS = ("lih_4q_depol_fast", "lih_4q_depol_zne_fast", "lih_4q_depol_zne_reward_fast")
#: environment options that let an episode play every gate of the circuit
PLAY_EVERY_GATE = {"random_halting": False, "curriculum": False, "threshold": 1e-12}


def exact_variant(env_options: dict) -> dict:
    """The same reward on exact energies, the step optimizer run to convergence."""
    options = {key: value for key, value in env_options.items()
               if key not in ("shots", "shot_model", "confirm_shots", "maxfev")}  # fmt: skip
    tuned = dict(options.get("optimizer_options", {}))
    tuned.pop("shots", None)
    options["optimizer_options"] = tuned
    return options


def play(env_options: dict, gates: list, seed: int) -> tuple[float, float]:
    """Noiseless error and the error of the rewarded energy (noisy, or mitigated with
    ``mitigation``; an estimate under shots) after playing ``gates`` (``[name, qubits]``
    pairs) in one episode."""
    env = make_env({"env": {**env_options, **PLAY_EVERY_GATE, "max_steps": len(gates)}})
    index = {(action.name, tuple(action.qubits)): i for i, action in enumerate(env.actions)}
    env.reset(seed=seed)
    for step, (name, qubits) in enumerate(gates, start=1):
        _, _, done, _, info = env.step(index[(name, tuple(qubits))])
        if done and step < len(gates):
            raise RuntimeError(f"the episode ended after {step} of {len(gates)} gates")
    return float(info["noiseless_error"]), float(info["error"])


def noiseless_optimum(record: dict, problem_name: str) -> float:
    """The circuit's noiseless error with its angles re-fitted on exact noiseless energies."""
    problem = chem.load(problem_name)
    _, optimum = refit_angles(
        best_circuit(record), problem.hamiltonian, problem.constant, PTMSimulator()
    )
    return optimum - problem.exact_energy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", default=",".join(DEFAULT_CONFIGS))
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--circuits", nargs="*", default=list(DEFAULT_CIRCUITS))
    args = parser.parse_args()
    configs = {name: load_config(name)["env"] for name in args.configs.split(",")}
    print("Noiseless error (Ha) at the end of one episode that plays the circuit's gates in "
          f"order, mean ± std over {args.seeds} seeds\n")  # fmt: skip
    print("| circuit | gates | CNOTs | noiseless optimum | config | at the config's shot "
          "budget | rewarded energy's error | exact energies, converged |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for path in args.circuits:
        record = json.loads(Path(path).read_text())
        gates = record["gates"]
        label = "/".join(Path(path).parts[-3:]).removesuffix(".json")
        cnots = sum(name == "cx" for name, _ in gates)
        optimum = noiseless_optimum(record, next(iter(configs.values()))["problem"])
        for name, options in configs.items():
            noiseless, rewarded = np.array(
                [play(options, gates, seed) for seed in range(args.seeds)]
            ).T
            converged, _ = play(exact_variant(options), gates, seed=0)
            print(f"| {label} | {len(gates)} | {cnots} | {optimum:.2e} | {Path(name).stem} | "
                  f"{noiseless.mean():.2e} ± {noiseless.std():.1e} | {rewarded.mean():.2e} | "
                  f"{converged:.2e} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
