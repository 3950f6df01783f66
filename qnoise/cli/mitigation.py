"""``qnoise`` zero-noise extrapolation of a circuit file: zne."""

from __future__ import annotations

import argparse
import json
import sys


def _zne(args: argparse.Namespace) -> int:
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
    stderr = report["stderr"]  # NaN where the fit cannot say (the warning gives the reason)
    spread = "(no standard error)" if math.isnan(stderr) else f"± {stderr:.1e}"
    print(f"mitigated  {report['mitigated']:.6f} Ha {spread}   error "
          f"{report['mitigated'] - report['ideal']:+.2e}")  # fmt: skip
    print(f"noiseless  {report['ideal']:.6f} Ha   (exact ground energy {report['exact']:.6f})")
    return 0


def add_parsers(commands) -> None:
    """Register this module's commands on the ``qnoise`` subparsers."""
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
