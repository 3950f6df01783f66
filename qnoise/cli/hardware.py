"""``qnoise`` IBM backends: submit, jobs."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from qnoise.cli.common import SHORTEST_HELP, scale_factors


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
        circuit = run_best_circuit(target, args.raw, args.shortest)
        return circuit, chem.load(name), Path(args.out or target)
    from qnoise.circuit_files import problem_of

    name = args.problem or problem_of(target)
    if not name:
        raise ValueError("a circuit file does not name its Hamiltonian: add --problem NAME")
    circuit = load_circuit(target)
    return circuit, chem.load(name), Path(args.out or target.parent)


def _submit(args: argparse.Namespace) -> int:

    from qnoise.agents import CheckpointError
    from qnoise.ibm import (
        IBMAccountError,
        IBMJobError,
        energy_on_backend,
        folded_zne_on_backend,
        resume_job,
    )
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
        zne_scales = scale_factors(args.zne_scale_factors, "--zne-scale-factors")
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
            report["zne"] = folded_zne_on_backend(
                circuit, problem.hamiltonian, problem.constant, args.backend, zne_scales,
                args.zne, **options,
            )  # fmt: skip
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


def add_parsers(commands) -> None:
    """Register this module's commands on the ``qnoise`` subparsers."""
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
