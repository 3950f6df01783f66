"""What a finished run offers: its best circuit, a greedy evaluation, exports and plots."""

from __future__ import annotations

import io
import json
from pathlib import Path

from qiskit import QuantumCircuit

from qnoise import chem
from qnoise.agents.records import (
    BEST,
    CONFIG,
    SHORTEST,
    CheckpointError,
    check_circuit_record,
    circuit_record,
    read_run_config,
)
from qnoise.agents.rundir import LOCK, read_records
from qnoise.agents.sb3 import MODEL, SB3Run
from qnoise.agents.trainer import CHECKPOINT, METRICS, TESTS, Trainer
from qnoise.envs import ArchSearchConfig
from qnoise.files import atomic_write, check_writable_folder
from qnoise.vqe.simplify import SimplifiedCircuit, simplify_and_refit

#: files a run directory owns; nothing may be exported over them
RUN_FILES = (CONFIG, METRICS, TESTS, BEST, SHORTEST, CHECKPOINT, MODEL, LOCK)


def best_circuit(best: dict, num_qubits: int | None = None) -> QuantumCircuit:
    """The bound circuit of a ``best.json`` record (angles in radians).

    ``num_qubits`` (the run's problem) must agree with the record's own ``num_qubits``
    where it has one; without either, the highest qubit a gate acts on sets the width.
    Raises :class:`CheckpointError` for a record qnoise cannot have written (see
    :func:`qnoise.agents.records.check_circuit_record`)."""
    gates, angles, width = check_circuit_record(best, num_qubits)
    circuit = QuantumCircuit(width, name="qnoise-best")
    rotation_angles = iter(angles)
    for name, qubits in gates:
        if name == "cx":
            circuit.cx(*qubits)
        else:
            getattr(circuit, name)(next(rotation_angles), qubits[0])
    return circuit


def simplify_best(best: dict, env_config: dict) -> SimplifiedCircuit:
    """The circuit of a ``best.json`` record, simplified and re-fitted on the energy its run
    minimized (the problem and noise model of ``env_config``, a run config's ``env``
    section; the mitigated energy where its step optimizer minimized that); see
    :func:`qnoise.vqe.simplify_and_refit`."""
    config = ArchSearchConfig.from_dict(dict(env_config))
    problem = chem.load(config.problem)
    circuit = best_circuit(best, problem.num_qubits)
    zne = config.zne if config.optimize_mitigated else None
    return simplify_and_refit(
        circuit, problem.hamiltonian, problem.constant, config.noise_model, zne=zne
    )


def run_best_circuit(run: str | Path, raw: bool = False, shortest: bool = False) -> QuantumCircuit:
    """The best circuit of a run (``shortest=True``: its shortest circuit below chemical
    accuracy, see :class:`qnoise.agents.records.KeptCircuits`): simplified with re-fitted angles
    (default), or as the search found it (``raw=True``)."""
    best = read_best(run, shortest)
    if raw:
        return best_circuit(best)
    return simplify_best(best, read_run_config(Path(run))["env"]).circuit


def read_best(run: str | Path, shortest: bool = False) -> dict:
    """A run's ``best.json`` record (``shortest.json`` with ``shortest``);
    :class:`CheckpointError` when missing or unreadable."""
    path = Path(run) / (SHORTEST if shortest else BEST)
    if shortest and not path.exists():
        raise CheckpointError(
            f"{path} is missing: no circuit of this run has been below chemical accuracy "
            "without noise"
        )
    if not path.exists():
        raise CheckpointError(f"{path} is missing: has this run trained any episode?")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path} is not valid JSON: {exc}") from exc


def _greedy_rollout(run: str | Path):
    """Load the run (DDQN or Stable-Baselines3) read-only and play one greedy episode."""
    algo = "ddqn"
    if (Path(run) / CONFIG).exists():  # else Trainer says what is missing
        algo = read_run_config(Path(run))["agent"].get("algo", algo)
    if algo == "ddqn":
        trainer = Trainer(run, device="cpu", read_only=True)  # any run loads on a CPU
        return trainer, trainer._rollout(greedy=True)
    sb3 = SB3Run(run, read_only=True)
    env = sb3.env.unwrapped
    obs, info = env.reset()
    done = False
    while not done:
        kwargs = {"action_masks": env.action_masks()} if sb3.algo == "maskable_ppo" else {}
        action, _ = sb3.model.predict(obs, deterministic=True, **kwargs)
        obs, _, done, _, info = env.step(int(action))
    keys = ("energy", "noiseless_energy", "error", "noiseless_error", "gates", "cnots", "depth")
    return sb3, {key: info[key] for key in keys}


def evaluate_run(run: str | Path, raw: bool = False) -> dict:
    """Greedy rollout of the trained policy and the best circuit of the run.

    Returns the best of the two (lowest error) with ``energy``, ``noiseless_energy``,
    ``exact_energy``, ``error``, ``noiseless_error``, ``gates``, ``cnots``, ``depth``,
    ``parameters`` (as found; energies as the run measured them), ``episodes``,
    ``greedy_error``, ``simplified`` (the simplified circuit's sizes and exact energies
    beside the found circuit's, keys prefixed ``raw_``: see
    :meth:`qnoise.vqe.SimplifiedCircuit.summary`), ``shortest`` (the same for the run's
    shortest circuit below chemical accuracy, or ``None``) and a text ``drawing`` of the
    simplified circuit (of the circuit as found with ``raw=True``).
    """
    trainer, greedy = _greedy_rollout(run)
    best = read_best(run)
    source = "training"
    if greedy["error"] < best["error"]:
        best = circuit_record(trainer.env.unwrapped, greedy, trainer.episode)
        source = "greedy rollout"
    env = trainer.env.unwrapped
    simplified = simplify_best(best, trainer.config["env"])
    circuit = simplified.raw if raw else simplified.circuit
    return {
        "energy": best["energy"],
        "noiseless_energy": best["noiseless_energy"],
        "exact_energy": env.problem.exact_energy,
        "error": best["error"],
        "noiseless_error": best["noiseless_error"],
        "gates": best["num_gates"],
        "cnots": best["cnots"],
        "depth": best["depth"],
        "parameters": best["parameters"],
        "episodes": trainer.episode,
        "greedy_error": greedy["error"],
        "source": source,
        "simplified": simplified.summary(env.problem.exact_energy),
        "shortest": _shortest_summary(run, trainer.config["env"], env.problem.exact_energy),
        "drawing": str(circuit.draw(output="text")),
    }


def _shortest_summary(run: str | Path, env_config: dict, exact_energy: float) -> dict | None:
    path = Path(run) / SHORTEST
    if not path.exists():
        return None
    return simplify_best(read_best(run, shortest=True), env_config).summary(exact_energy)


def check_output_file(path: str | Path, force: bool = False) -> Path:
    """``path`` as a file qnoise may write: its folder exists and is writable, it is not a
    folder, and it does not exist yet (unless ``force``); a run's own record files are never
    overwritten. Raises ``ValueError`` with one line saying what is wrong."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder; give a file name")
    parent = path.parent
    if not parent.exists():
        raise ValueError(f"{parent} does not exist; create it first")
    check_writable_folder(parent)
    if path.exists():
        if path.name in RUN_FILES and (parent / CONFIG).exists():
            raise ValueError(f"{path} is a file of the run in {parent}; it is never overwritten")
        if not force:
            raise ValueError(f"{path} exists; use --force to overwrite it")
    return path


def export_run(
    run: str | Path,
    fmt: str = "qasm3",
    out: str | Path | None = None,
    force: bool = False,
    raw: bool = False,
    shortest: bool = False,
) -> str | None:
    """The best circuit as OpenQASM 3 text (returned when ``out`` is None) or QPY (a file,
    ``<run>/best.qpy`` by default): simplified with re-fitted angles, or as found with
    ``raw=True``; ``shortest=True`` exports the shortest circuit below chemical accuracy
    instead of the lowest-error one. An existing ``out`` is refused unless ``force``; a
    run's own files are never overwritten."""
    if fmt not in ("qasm3", "qpy"):
        raise ValueError(f"format must be qasm3 or qpy, got {fmt!r}")
    if out is None and fmt == "qpy":
        out, force = Path(run) / "best.qpy", True  # the export's own file, refreshed
    if out is not None:
        out = check_output_file(out, force)
    circuit = run_best_circuit(run, raw, shortest)
    if fmt == "qasm3":
        from qiskit import qasm3

        text = qasm3.dumps(circuit)
        if out is None:
            return text
        atomic_write(out, text.encode())
        return None
    from qiskit import qpy

    buffer = io.BytesIO()
    qpy.dump(circuit, buffer)
    atomic_write(out, buffer.getvalue())
    return str(out)


def plot_run(run: str | Path, out: str | Path | None = None) -> list[Path]:
    """PNG figures: error and threshold per episode, success rate, gates and depth of the
    successful circuits, and the best circuit's diagram, written to ``out`` (a file;
    default ``<run>/training.png``). Reads the run without changing it; returns the files
    written."""
    target = Path(run) / "training.png" if out is None else check_output_file(out, force=True)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    path = Path(run) / METRICS
    records = read_records(path)
    if not records:
        raise CheckpointError(f"{path} is missing or empty: nothing to plot")
    episodes = np.array([r["episode"] for r in records])
    success = np.array([r["outcome"] == "success" for r in records], dtype=float)
    figure, axes = plt.subplots(2, 2, figsize=(11, 7))
    ax = axes[0, 0]
    ax.semilogy(episodes, [r["error"] for r in records], ".", ms=3, label="error")
    ax.semilogy(episodes, [r["threshold"] for r in records], "-", label="threshold ξ")
    ax.axhline(1.6e-3, color="k", ls="--", lw=1, label="chemical accuracy")
    ax.set(xlabel="episode", ylabel="Ha", title="error at episode end")
    ax.legend()
    window = max(1, min(100, len(records) // 5))
    rate = np.convolve(success, np.ones(window) / window, mode="valid")
    axes[0, 1].plot(episodes[window - 1 :], rate)
    axes[0, 1].set(xlabel="episode", ylabel=f"success rate ({window}-episode mean)", ylim=(0, 1))
    won = [r for r in records if r["outcome"] == "success"]
    axes[1, 0].plot([r["episode"] for r in won], [r["gates"] for r in won], ".", label="gates")
    axes[1, 0].plot([r["episode"] for r in won], [r["depth"] for r in won], ".", label="depth")
    axes[1, 0].set(xlabel="episode", title="successful circuits")
    axes[1, 0].legend()
    axes[1, 1].axis("off")
    if (Path(run) / BEST).exists():
        drawing = best_circuit(read_best(run)).draw(output="text")
        axes[1, 1].text(0, 1, str(drawing), family="monospace", fontsize=7, va="top")
        axes[1, 1].set_title("best circuit (as found)")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120)
    plt.close(figure)
    return [atomic_write(target, buffer.getvalue())]
