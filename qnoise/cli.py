"""The ``qnoise`` command line."""

from __future__ import annotations

import argparse
import sys

from qnoise import __version__


def _demo(args: argparse.Namespace) -> int:
    from qnoise.demo import run_demo

    run_demo(args.backend, seed=args.seed)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qnoise",
        description="Noisy quantum simulation (PTM engine), VQE and architecture search.",
    )
    parser.add_argument("--version", action="version", version=f"qnoise {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo", help="noisy VQE of H2 on the PTM simulator, checked with Aer"
    )
    demo.add_argument("--backend", default="fake_manila", help="fake backend (default fake_manila)")
    demo.add_argument("--seed", type=int, default=7, help="seed of the initial angles")
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
