"""``qnoise`` architecture-search runs: train, evaluate, export, plot, sweep."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from qnoise.cli.common import SHORTEST_HELP


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


def _add_raw_argument(parser) -> None:
    parser.add_argument(
        "--raw",
        action="store_true",
        help="the circuit as the search found it (default: simplified, angles re-fitted)",
    )


def add_parsers(commands) -> None:
    """Register this module's commands on the ``qnoise`` subparsers."""
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
    _add_raw_argument(evaluate)
    evaluate.set_defaults(handler=_evaluate)

    export = commands.add_parser("export", help="the best circuit as OpenQASM 3 or QPY")
    export.add_argument("run", help="run directory")
    export.add_argument("--format", choices=("qasm3", "qpy"), default="qasm3")
    export.add_argument("--out", help="file (QASM 3 goes to stdout without it)")
    export.add_argument("--force", action="store_true", help="overwrite an existing --out file")
    _add_raw_argument(export)
    export.add_argument("--shortest", action="store_true", help=SHORTEST_HELP)
    export.set_defaults(handler=_export)

    plot = commands.add_parser("plot", help="PNG figures of a run")
    plot.add_argument("run", help="run directory")
    plot.add_argument("--out", help="PNG file (default RUN/training.png)")
    plot.set_defaults(handler=_plot)

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
