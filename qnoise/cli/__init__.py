"""The ``qnoise`` command line: one module per family of commands, each parsing its
arguments and calling the library."""

from __future__ import annotations

import argparse
import os
import sys

from qnoise import __version__
from qnoise.cli import classify, hardware, info, mitigation, training

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The ``qnoise`` argument parser with every command."""
    parser = argparse.ArgumentParser(
        prog="qnoise",
        description="Noisy quantum simulation (PTM engine), VQE and architecture search.",
    )
    parser.add_argument("-V", "--version", action="version", version=f"qnoise {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for family in (info, training, mitigation, hardware, classify):
        family.add_parsers(commands)
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
