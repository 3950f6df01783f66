"""The qnoise command line."""

import subprocess
import sys

import qnoise
from qnoise.cli import main


def test_version(capsys):
    try:
        main(["--version"])
    except SystemExit as exit_:
        assert exit_.code == 0
    assert capsys.readouterr().out.strip() == f"qnoise {qnoise.__version__}"


def test_help_lists_demo(capsys):
    assert main([]) == 0
    assert "demo" in capsys.readouterr().out


def test_console_script_runs_demo():
    """The main-job command of the README until training lands: qnoise demo."""
    result = subprocess.run(
        [sys.executable, "-m", "qnoise.cli", "demo"], capture_output=True, text=True, check=True
    )
    assert "|qnoise - aer|" in result.stdout
    line = next(x for x in result.stdout.splitlines() if "|qnoise - aer|" in x)
    assert float(line.split()[-2]) < 1e-7
