"""The ``qnoise`` command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from qnoise import __version__


def _configs(args: argparse.Namespace) -> int:
    from qnoise.agents.run_config import available_presets, presets_folder

    presets = available_presets()
    width = max(map(len, presets))
    for name, description in presets.items():
        print(f"{name:<{width}}  {description}")
    print(f"\n{len(presets)} presets in {presets_folder()}; use one with "
          "`qnoise train --config NAME` (a file path works too)")  # fmt: skip
    return 0


def _demo(args: argparse.Namespace) -> int:
    from qnoise.demo import run_demo

    run_demo(args.backend, seed=args.seed)
    return 0


def _molecules(args: argparse.Namespace) -> int:
    from qnoise import chem

    if args.name:
        try:
            problem = chem.load(args.name)
        except KeyError as exc:
            print(f"qnoise molecules: {exc.args[0]}", file=sys.stderr)
            return 2
        print(repr(problem))
        print(f"  constant   {problem.constant:.10f} Ha (nuclear repulsion + frozen core)")
        for key, value in problem.energies.items():
            print(f"  {key + ' energy':<18} {value:.10f} Ha")
        print(f"  HF state   |{problem.hf_bitstring}>")
        for key, value in problem.metadata.items():
            print(f"  {key:<20} {value}")
        return 0
    header = (
        f"{'name':<12}{'qubits':>7}{'terms':>7}  {'mapping':<15}"
        f"{'HF (Ha)':>15}{'exact (Ha)':>15}{'FCI (Ha)':>15}"
    )
    print(header)
    print("-" * len(header))
    for name in chem.available():
        p = chem.load(name)
        mapping = p.metadata["mapping"] + ("+2q" if p.metadata["two_qubit_reduction"] else "")
        print(
            f"{name:<12}{p.num_qubits:>7}{p.num_terms:>7}  {mapping:<15}"
            f"{p.hf_energy:>15.8f}{p.exact_energy:>15.8f}{p.fci_energy:>15.8f}"
        )
    print("\nexact: lowest eigenvalue of the qubit Hamiltonian + constant; FCI: whole molecule.")
    return 0


def _make_run(run_dir, config=None, seed=None, device=None, engine="local", address=None):
    """The DDQN trainer or the Stable-Baselines3 run that ``agent.algo`` names; without
    ``config`` the run in ``run_dir`` is resumed; ``device`` overrides the agent's device;
    ``engine`` and ``address`` say where a DDQN run's experience workers run."""
    from qnoise.agents import Trainer
    from qnoise.agents.records import read_run_config
    from qnoise.agents.sb3 import SB3Run

    resume = config is None
    if resume:
        config = read_run_config(Path(run_dir))
    if config.get("agent", {}).get("algo", "ddqn") == "ddqn":
        return Trainer(run_dir, None if resume else config, seed=seed, device=device,
                       engine=engine, address=address)  # fmt: skip
    if int(config.get("train", {}).get("workers", 1)) != 1:
        raise ValueError("parallel experience workers need the ddqn agent")
    return SB3Run(run_dir, None if resume else config, seed=seed, device=device)


def _resume_episodes(args: argparse.Namespace) -> int | None:
    """``--episodes`` or ``--set train.episodes=N`` of a resumed run; other ``--set`` keys
    and ``--seed`` would be silently ignored by a resumed run, so they are refused."""
    from qnoise.agents.run_config import RESUMABLE_KEYS, parse_overrides

    if args.seed is not None:
        raise ValueError("--seed cannot change a resumed run (its seed is in its checkpoint)")
    episodes = args.episodes
    for section, key, value in parse_overrides(args.set):
        if f"{section}.{key}" not in RESUMABLE_KEYS:
            raise ValueError(
                f"--set {section}.{key} cannot change a resumed run; a resumed run may "
                f"change only {', '.join(RESUMABLE_KEYS)}"
            )
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"--set {section}.{key}: must be an integer >= 1, got {value!r}")
        episodes = episodes or value
    return episodes


def _check_output_folder(out: Path) -> None:
    """Refuse (``ValueError``, one line) an ``--out`` folder that cannot be made or written."""
    from qnoise.files import check_writable_folder

    try:
        check_writable_folder(out)
    except ValueError as exc:
        raise ValueError(f"--out {out}: {exc}") from None


def _check_new_run_dir(out: Path, force: bool) -> None:
    """Refuse (``ValueError``, one line) an ``--out`` that is not a fresh folder for a run."""
    _check_output_folder(out)
    if force or not out.is_dir() or not any(out.iterdir()):
        return
    from qnoise.agents.records import CONFIG
    from qnoise.agents.sb3 import MODEL
    from qnoise.agents.trainer import CHECKPOINT

    if (out / CHECKPOINT).exists() or (out / MODEL).exists():
        hint = f"use --resume {out}, another --out, or --force to start it over"
        raise ValueError(f"{out} already holds a run; {hint}")
    kind = "a run" if (out / CONFIG).exists() else "files that are not a qnoise run"
    raise ValueError(
        f"--out {out} is not empty (it holds {kind}); choose another folder or --force to "
        "replace its run files"
    )


def _clear_run_dir(out: Path) -> None:
    """``--force``: remove the run files of ``out`` (other files are left alone)."""
    from qnoise.agents.export import RUN_FILES
    from qnoise.agents.rundir import LOCK, RunLock

    with RunLock(out):  # refuses while another process writes there
        for name in RUN_FILES:
            if name != LOCK:
                (out / name).unlink(missing_ok=True)


def _train(args: argparse.Namespace) -> int:
    from qnoise.agents import CheckpointError, load_config

    episodes = args.episodes
    try:
        if episodes is not None and episodes < 1:
            raise ValueError(f"--episodes must be at least 1, got {episodes}")
        where = {"engine": args.engine, "address": args.address}
        if args.resume:
            episodes = _resume_episodes(args)
            trainer = _make_run(args.resume, device=args.device, **where)
            trained_with = trainer.config["train"].get("workers", 1)
            if args.workers is not None and args.workers != trained_with:
                raise ValueError(f"{args.resume} was trained with {trained_with} workers; "
                                 "a run keeps its worker count")  # fmt: skip
        else:
            if not args.config:
                print("qnoise train: give --config FILE or --resume RUN_DIR", file=sys.stderr)
                return 2
            chosen = [f"agent.algo={args.algo}"] if args.algo else []
            if args.workers is not None:
                chosen.append(f"train.workers={args.workers}")
            config = load_config(args.config, [*args.set, *chosen])
            name = Path(args.config).stem
            out = Path(args.out) if args.out else Path("runs") / name
            _check_new_run_dir(out, args.force)
            if args.force and out.exists():
                _clear_run_dir(out)
            trainer = _make_run(out, config, seed=args.seed, device=args.device, **where)
    except (CheckpointError, ValueError) as exc:
        print(f"qnoise train: {exc}", file=sys.stderr)
        return 2
    episodes = episodes or int(trainer.config["train"].get("episodes", 100))
    done = trainer.train(episodes, progress=not args.quiet)
    print(f"run {trainer.run_dir}: {done} episodes")
    if trainer.best is not None:
        _print_best(trainer.best, trainer.config["env"])
    return 0


def _print_best(best: dict, env_config: dict) -> None:
    """The best circuit simplified (angles re-fitted), with its energies and the search's."""
    from qnoise.agents.export import simplify_best

    simplified = simplify_best(best, env_config)
    counts = simplified.counts
    print(simplified.circuit.draw(output="text"))
    print(
        f"best circuit: E = {best['energy']:.6f} Ha (noiseless {best['noiseless_energy']:.6f}), "
        f"error {best['error']:.2e} Ha (noiseless {best['noiseless_error']:.2e}), "
        f"{best['num_gates']} gates, {best['cnots']} CNOTs, depth {best['depth']} as found"
    )
    print(
        f"simplified: E = {simplified.energy:.6f} Ha (noiseless "
        f"{simplified.noiseless_energy:.6f}, exact), {counts.gates} gates, {counts.cnots} "
        f"CNOTs, depth {counts.depth} (qnoise export/evaluate --raw: the circuit as found)"
    )


def _for_run(command: str, action):
    """``(action(), 0)``, or ``(None, 2)`` with a one-line message for a bad run directory."""
    from qnoise.agents import CheckpointError

    try:
        return action(), 0
    except CheckpointError as exc:
        print(f"qnoise {command}: {exc}", file=sys.stderr)
        return None, 2


def _evaluate(args: argparse.Namespace) -> int:
    from qnoise.agents.export import evaluate_run

    report, status = _for_run("evaluate", lambda: evaluate_run(args.run, args.raw))
    if status:
        return status
    drawing = report.pop("drawing")
    if args.json:
        print(json.dumps(report))
        return 0
    print(drawing)
    circuits = {
        "best circuit": report.pop("simplified"),
        "shortest circuit below chemical accuracy": report.pop("shortest"),
    }
    for key, value in report.items():
        print(f"  {key:<18} {value}")
    for name, summary in circuits.items():
        if summary is None:
            print(f"  {name}: none yet")
            continue
        print(f"  {name}, simplified (exact energies; raw_: as found):")
        for key, value in summary.items():
            print(f"    {key:<24} {value}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from qnoise.agents.export import export_run

    try:
        text, status = _for_run(
            "export",
            lambda: export_run(
                args.run, args.format, args.out, args.force, args.raw, args.shortest
            ),
        )
    except ValueError as exc:
        print(f"qnoise export: {exc}", file=sys.stderr)
        return 2
    if text is not None:
        print(text)
    return status


def _plot(args: argparse.Namespace) -> int:
    from qnoise.agents.export import plot_run

    try:
        paths, status = _for_run("plot", lambda: plot_run(args.run, args.out))
    except ValueError as exc:
        print(f"qnoise plot: {exc}", file=sys.stderr)
        return 2
    for path in paths or []:
        print(path)
    return status


def _zne(args: argparse.Namespace) -> int:
    import json
    import math

    from qnoise import chem
    from qnoise.circuit_files import load_circuit
    from qnoise.mitigation.extrapolation import ExtrapolationError
    from qnoise.mitigation.report import mitigate_energy

    try:
        scales = [float(v) for v in args.scale_factors.split(",")]
        circuit = load_circuit(args.circuit)
        problem = chem.load(args.problem)
        report = mitigate_energy(
            circuit, problem, args.noise, args.method, scales, shots=args.shots, seed=args.seed
        )
    except (FileNotFoundError, KeyError, ValueError, ExtrapolationError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"qnoise zne: {message}", file=sys.stderr)
        return 2
    if args.json:
        clean = {k: (None if isinstance(v, float) and math.isnan(v) else v)
                 for k, v in report.items()}  # fmt: skip
        print(json.dumps(clean))
        return 0
    for text in report["warnings"]:
        print(f"warning: {text}", file=sys.stderr)
    print(f"{report['problem']} under {report['noise']}, {report['method']} extrapolation "
          f"from scale factors {report['scale_factors']}"
          + (f" ({report['neural_model']})" if "neural_model" in report else ""))  # fmt: skip
    for lam, value in zip(report["scale_factors"], report["values"], strict=True):
        print(f"  λ = {lam:g}: {value:.6f} Ha")
    print(f"noisy      {report['noisy']:.6f} Ha   error {report['noisy'] - report['ideal']:+.2e}")
    print(f"mitigated  {report['mitigated']:.6f} Ha ± {report['stderr']:.1e}   error "
          f"{report['mitigated'] - report['ideal']:+.2e}")  # fmt: skip
    print(f"noiseless  {report['ideal']:.6f} Ha   (exact ground energy {report['exact']:.6f})")
    return 0


def _scale_factors(text: str, option: str) -> list[float]:
    """Comma-separated noise scale factors: finite, >= 1, distinct, at least two."""
    import math

    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise ValueError(f"{option} must be comma-separated numbers, got {text!r}") from None
    if len(values) < 2:
        raise ValueError(f"{option} needs at least two scale factors, got {text!r}")
    if any(not math.isfinite(v) or v < 1 for v in values):
        raise ValueError(f"{option} must be finite numbers >= 1, got {text!r}")
    if len(set(values)) != len(values):
        raise ValueError(f"{option} repeats a scale factor: {text!r}")
    return values


def _submission_target(args):
    """``(circuit, problem, run_dir)`` from a run directory or a circuit file."""
    from qnoise import chem
    from qnoise.circuit_files import load_circuit

    target = Path(args.target)
    if target.is_dir():
        from qnoise.agents.export import run_best_circuit
        from qnoise.agents.records import read_run_config

        config = read_run_config(target)
        name = args.problem or config.get("env", {}).get("problem", "LiH-4q")
        return run_best_circuit(target, args.raw, args.shortest), chem.load(name), target
    from qnoise.circuit_files import problem_of

    name = args.problem or problem_of(target)
    if not name:
        raise ValueError("a circuit file does not name its Hamiltonian: add --problem NAME")
    circuit = load_circuit(target)
    return circuit, chem.load(name), Path(args.out or target.parent)


def _submit(args: argparse.Namespace) -> int:
    import json

    from qnoise.agents import CheckpointError
    from qnoise.ibm import IBMAccountError, IBMJobError, energy_on_backend, resume_job
    from qnoise.ibm.run import check_circuit, check_run_dir

    try:
        if args.resume:
            record = resume_job(args.resume, args.out or ".")
            result = record["result"]
            print(json.dumps(record) if args.json else
                  f"job {record['job_id']} on {record['backend']}: "
                  f"E = {result['energy']:.6f} ± {result['stderr']:.1e} Ha")  # fmt: skip
            return 0
        if not args.target:
            print("qnoise submit: give a run directory or circuit file, or --resume JOB_ID",
                  file=sys.stderr)  # fmt: skip
            return 2
        zne_scales = _scale_factors(args.zne_scale_factors, "--zne-scale-factors")
        circuit, problem, run_dir = _submission_target(args)
        check_circuit(circuit, problem.num_qubits)
        check_run_dir(run_dir)
        options = {"optimization_level": args.optimization_level, "shots": args.shots,
                   "precision": args.precision, "resilience_level": args.resilience_level,
                   "mode": args.mode, "seed": args.seed, "run_dir": run_dir}  # fmt: skip
        if args.runtime_zne:
            options["runtime_zne"] = {"noise_factors": (1, 3, 5), "extrapolator": "exponential"}
        report = energy_on_backend(circuit, problem.hamiltonian, problem.constant,
                                   args.backend, **options)  # fmt: skip
        report["exact"] = problem.exact_energy
        report["problem"] = problem.name
        if args.zne:
            report["zne"] = _folded_zne(circuit, problem, args, options, zne_scales)
    except (CheckpointError, FileNotFoundError, KeyError, ValueError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"qnoise submit: {message}", file=sys.stderr)
        return 2
    except (IBMAccountError, IBMJobError) as exc:
        print(f"qnoise submit: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"{report['problem']} on {report['backend']} (job {report['job_id']}, layout "
          f"{report['layout']}, ISA depth {report['isa_depth']})")  # fmt: skip
    print(f"backend          {report['energy']:.6f} ± {report['stderr']:.1e} Ha")
    print(f"PTM prediction   {report['predicted_noisy']:.6f} Ha (backend's calibration)")
    if "zne" in report:
        z = report["zne"]
        print(f"ZNE ({z['method']}, folding {z['scale_factors']}) "
              f"{z['mitigated']:.6f} ± {z['stderr']:.1e} Ha")  # fmt: skip
    print(f"noiseless        {report['noiseless']:.6f} Ha")
    print(f"exact ground     {report['exact']:.6f} Ha")
    return 0


def _folded_zne(circuit, problem, args, options, zne_scales) -> dict:
    """qnoise's ZNE on the backend: globally folded circuits at each scale, extrapolated."""
    from qnoise.ibm import energy_on_backend
    from qnoise.mitigation import extrapolator, fold_global

    scales, values, sigmas, jobs = [], [], [], []
    for lam in zne_scales:
        folded, reached = fold_global(circuit, lam)
        result = energy_on_backend(folded, problem.hamiltonian, problem.constant, args.backend,
                                   **options, extra={"fold_scale": reached})  # fmt: skip
        scales.append(reached)
        values.append(result["energy"])
        sigmas.append(max(result["stderr"], 1e-12))
        jobs.append(result["job_id"])
    method = extrapolator(args.zne)
    value, stderr = method.extrapolate(scales, values, sigmas)
    return {"method": method.name, "scale_factors": scales, "values": values,
            "sigmas": sigmas, "job_ids": jobs, "mitigated": value, "stderr": stderr}  # fmt: skip


def _jobs(args: argparse.Namespace) -> int:
    import warnings

    from qnoise.ibm import JobStore

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        records = JobStore(args.run).records()
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    if not records:
        print(f"no jobs recorded in {args.run}")
        return 0
    for r in records:
        result = r.get("result") or {}
        try:
            energy = f"{float(result['energy']):.6f} ± {float(result['stderr']):.1e} Ha"
        except (KeyError, TypeError, ValueError):
            energy = str(r.get("status", "unknown"))
        submitted = str(r.get("submitted_at", "?"))[:19]
        print(f"{submitted}  {r['job_id']}  {r.get('backend', '?')!s:<14} {energy}")
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from qnoise.agents.records import CheckpointError
    from qnoise.agents.sweep import sweep

    try:
        try:
            seeds = [int(s) for s in args.seeds.split(",")]
        except ValueError:
            raise ValueError(
                f"--seeds must be comma-separated integers, got {args.seeds!r}"
            ) from None
        out = args.out or str(Path("runs") / f"sweep_{Path(args.config).stem}")
        _check_output_folder(Path(out))
        sweep(args.config, out, seeds, args.set, episodes=args.episodes, workers=args.workers,
              retries=args.retries, engine=args.engine, address=args.address)  # fmt: skip
    except (CheckpointError, FileNotFoundError, ValueError, RuntimeError) as exc:
        print(f"qnoise sweep: {exc}", file=sys.stderr)
        return 2
    print((Path(out) / "summary.md").read_text(encoding="utf-8"), end="")
    print(f"summary: {Path(out) / 'summary.json'}")
    return 0


def _classify(args: argparse.Namespace) -> int:
    from qnoise.qml.study import (
        classification_study,
        demo_reviews_path,
        format_table,
        plot_study,
        read_table,
    )

    path = demo_reviews_path() if args.data == "demo" else Path(args.data)
    text_column = args.text_column
    if args.data == "demo" and text_column is None:
        text_column = "Review"
    try:
        data, labels = read_table(path, args.label_column, text_column)
        options = {"optimizer": args.optimizer, "epochs": args.epochs, "reps": args.reps,
                   "feature_map": args.feature_map, "ansatz": args.ansatz,
                   "noise": args.noise, "shots": args.shots,
                   "batch_size": args.batch_size}  # fmt: skip
        bar = None if args.quiet or args.json else _progress(args.epochs, "VQC epochs")
        result = classification_study(
            data, labels, features=args.features, text=text_column is not None,
            vectorizer=args.vectorizer, test_size=args.test_size, seed=args.seed,
            vqc=options, callback=None if bar is None else (lambda *_: bar.update()),
        )  # fmt: skip
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        if "bar" in locals() and bar is not None:
            bar.close()
    if args.plot:
        plot_study(result, args.plot)
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print(f"{path.name}: {result['train_size']} training and {result['test_size']} test "
          f"samples, {result['features']} PCA features, classes {result['classes']}")  # fmt: skip
    print(format_table(result))
    if args.plot:
        print(f"plot: {args.plot}")
    return 0


def _progress(total: int, description: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=description, unit="it", leave=False)


SHORTEST_HELP = (
    "a run's shortest circuit below chemical accuracy without noise (default: the lowest-error one)"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qnoise",
        description="Noisy quantum simulation (PTM engine), VQE and architecture search.",
    )
    parser.add_argument("-V", "--version", action="version", version=f"qnoise {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo", help="noisy VQE of H2 on the PTM simulator, checked with Aer"
    )
    demo.add_argument("--backend", default="fake_manila", help="fake backend (default fake_manila)")
    demo.add_argument("--seed", type=int, default=7, help="seed of the initial angles")
    demo.set_defaults(handler=_demo)
    molecules = commands.add_parser(
        "molecules", help="list the shipped molecular Hamiltonians (or describe one)"
    )
    molecules.add_argument("name", nargs="?", help="show the details of this problem")
    molecules.set_defaults(handler=_molecules)

    configs = commands.add_parser("configs", help="list the shipped run-config presets")
    configs.set_defaults(handler=_configs)

    train = commands.add_parser("train", help="train a CRLQAS agent (double DQN)")
    train.add_argument("--config", help="run config: a preset name (qnoise configs) or YAML file")
    train.add_argument("--episodes", type=int, help="episodes in total (default: config)")
    train.add_argument("--seed", type=int, help="seed (default: config)")
    train.add_argument("--out", help="run directory (default runs/<config name>)")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override, e.g. env.noise=ideal or agent.lr=1e-3")  # fmt: skip
    train.add_argument("--resume", metavar="RUN_DIR", help="continue a run where it stopped")
    train.add_argument("--force", action="store_true",
                       help="start over in an --out folder that already holds files")  # fmt: skip
    train.add_argument("--algo", choices=("ddqn", "maskable_ppo", "sb3_dqn"),
                       help="agent (default: the config's agent.algo, else ddqn)")  # fmt: skip
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.add_argument("--device", choices=("cpu", "cuda"),
                       help="where the agent runs (default: the config's agent.device, "
                       "else cpu); also when resuming")  # fmt: skip
    train.add_argument("--workers", type=int,
                       help="environment worker processes feeding the learner (default: the "
                            "config's train.workers, else 1 = single process)")  # fmt: skip
    train.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="where the workers run: local processes or Ray actors",
    )
    train.add_argument("--address", help="Ray cluster address (with --engine ray)")
    train.set_defaults(handler=_train)

    evaluate = commands.add_parser("evaluate", help="greedy rollout and best circuit of a run")
    evaluate.add_argument("run", help="run directory")
    evaluate.add_argument("--json", action="store_true", help="one JSON object on stdout")
    evaluate.add_argument(
        "--raw",
        action="store_true",
        help="the circuit as the search found it (default: simplified, angles re-fitted)",
    )
    evaluate.set_defaults(handler=_evaluate)

    export = commands.add_parser("export", help="the best circuit as OpenQASM 3 or QPY")
    export.add_argument("run", help="run directory")
    export.add_argument("--format", choices=("qasm3", "qpy"), default="qasm3")
    export.add_argument("--out", help="file (QASM 3 goes to stdout without it)")
    export.add_argument("--force", action="store_true", help="overwrite an existing --out file")
    export.add_argument(
        "--raw",
        action="store_true",
        help="the circuit as the search found it (default: simplified, angles re-fitted)",
    )
    export.add_argument("--shortest", action="store_true", help=SHORTEST_HELP)
    export.set_defaults(handler=_export)

    plot = commands.add_parser("plot", help="PNG figures of a run")
    plot.add_argument("run", help="run directory")
    plot.add_argument("--out", help="PNG file (default RUN/training.png)")
    plot.set_defaults(handler=_plot)

    zne = commands.add_parser("zne", help="zero-noise-extrapolated energy of a circuit file")
    zne.add_argument("circuit", help="OpenQASM 3 or QPY file (e.g. from qnoise export)")
    zne.add_argument("--problem", required=True, help="shipped Hamiltonian (qnoise molecules)")
    zne.add_argument("--noise", default="fake_mumbai:median", help="noise model spec")
    zne.add_argument("--method", default="richardson",
                     choices=("richardson", "linear", "polynomial", "exponential",
                              "ibm_exponential", "double_exponential", "neural"))  # fmt: skip
    zne.add_argument("--scale-factors", default="1,2,3", help="comma-separated λ >= 1")
    zne.add_argument("--shots", type=int, help="shots per measurement group (default: exact)")
    zne.add_argument("--seed", type=int, help="seed of the shot noise")
    zne.add_argument("--json", action="store_true", help="one JSON object on stdout")
    zne.set_defaults(handler=_zne)

    submit = commands.add_parser(
        "submit", help="energy of a run's best circuit (or a circuit file) on an IBM backend"
    )
    submit.add_argument("target", nargs="?",
                        help="run directory, QASM 3 or QPY file, or VQE result JSON")  # fmt: skip
    submit.add_argument("--backend", default="fake_manila",
                        help="fake_manila, fake_mumbai, ... or a real device")  # fmt: skip
    submit.add_argument("--problem", help="Hamiltonian (needed for circuit files)")
    submit.add_argument(
        "--raw", action="store_true", help="a run's circuit as found (default: simplified)"
    )
    submit.add_argument("--shortest", action="store_true", help=SHORTEST_HELP)
    submit.add_argument("--shots", type=int, help="shots (default: the primitive's)")
    submit.add_argument("--precision", type=float, help="target precision instead of shots")
    submit.add_argument("--optimization-level", type=int, default=1, choices=(0, 1, 2, 3))
    submit.add_argument("--resilience-level", type=int, choices=(0, 1, 2),
                        help="runtime error mitigation (real backends)")  # fmt: skip
    submit.add_argument("--runtime-zne", action="store_true",
                        help="IBM's ZNE (noise factors 1, 3, 5; real backends)")  # fmt: skip
    submit.add_argument("--zne", choices=("linear", "richardson", "exponential"),
                        help="qnoise's ZNE with globally folded circuits")  # fmt: skip
    submit.add_argument("--zne-scale-factors", default="1,3,5")
    submit.add_argument("--mode", choices=("job", "session", "batch"), default="job")
    submit.add_argument("--seed", type=int, help="seeds transpilation and local simulation")
    submit.add_argument("--out", help="where job records go (default: the run directory or "
                        "the circuit file's folder)")  # fmt: skip
    submit.add_argument("--resume", metavar="JOB_ID", help="fetch a submitted job's result")
    submit.add_argument("--json", action="store_true", help="one JSON object on stdout")
    submit.set_defaults(handler=_submit)

    jobs = commands.add_parser("jobs", help="list the IBM jobs recorded in a directory")
    jobs.add_argument("run", help="run directory (or --out folder of qnoise submit)")
    jobs.set_defaults(handler=_jobs)

    classify = commands.add_parser(
        "classify", help="VQC against SVM, gradient boosting and random forest on a CSV/TSV"
    )
    classify.add_argument("data", help='CSV or TSV file with a header row, or "demo" (the '
                          "shipped review set)")  # fmt: skip
    classify.add_argument("--label-column", default="Liked", help="label column (default Liked)")
    classify.add_argument("--text-column", help="text column (omit for numeric feature columns)")
    classify.add_argument("--features", type=int, default=5, help="PCA features = qubits (5)")
    classify.add_argument("--vectorizer", choices=("tfidf", "bow"), default="tfidf")
    classify.add_argument("--optimizer", choices=("aqgd", "cobyla", "spsa", "adam"),
                          default="aqgd")  # fmt: skip
    classify.add_argument("--epochs", type=int, default=100, help="passes over the training set")
    classify.add_argument("--batch-size", type=int, help="mini-batch size (default: full set)")
    classify.add_argument("--feature-map", default="zz", choices=("zz", "pauli", "z", "angle"))
    classify.add_argument("--ansatz", default="efficient_su2",
                          choices=("efficient_su2", "real_amplitudes"))  # fmt: skip
    classify.add_argument("--reps", type=int, default=2, help="repetitions of map and ansatz")
    classify.add_argument("--noise", help="noise model, e.g. fake_manila (default: none)")
    classify.add_argument("--shots", type=int, help="shots per sample in training")
    classify.add_argument("--test-size", type=float, default=0.25, help="held-out fraction")
    classify.add_argument("--seed", type=int, default=0)
    classify.add_argument("--plot", help="PNG file: scores per model and the VQC loss curve")
    classify.add_argument("--json", action="store_true", help="print the results as JSON")
    classify.add_argument("--quiet", action="store_true", help="no progress bar")
    classify.set_defaults(handler=_classify)

    sweep = commands.add_parser("sweep", help="train a grid of seeds and settings in parallel")
    sweep.add_argument("--config", required=True, help="run config: preset name or YAML file")
    sweep.add_argument("--seeds", required=True, help="comma-separated seeds, e.g. 100,101,102")
    sweep.add_argument("--set", action="append", default=[], metavar="KEY=V1,V2",
                       help="a grid axis, e.g. agent.lr=1e-4,3e-4 (repeatable)")  # fmt: skip
    sweep.add_argument("--episodes", type=int, help="episodes per run (default: config)")
    sweep.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    sweep.add_argument("--retries", type=int, default=2,
                       help="restarts of a crashed run from its checkpoint")  # fmt: skip
    sweep.add_argument("--out", help="sweep directory (default runs/sweep_<config name>)")
    sweep.add_argument("--engine", choices=("local", "ray"), default="local",
                       help="process pool here, or Ray (local instance or --address)")  # fmt: skip
    sweep.add_argument("--address", help="Ray cluster address (with --engine ray)")
    sweep.set_defaults(handler=_sweep)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.handler(args)
    except BrokenPipeError:  # output piped into e.g. `head`, which closed early
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
