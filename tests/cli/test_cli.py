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


def test_molecules_table_lists_the_registry(capsys):
    assert main(["molecules"]) == 0
    out = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line.split() for line in out[2:] if line and line[0].isalpha()}
    assert set(rows) >= {"H2-2q", "LiH-4q", "H2O-8q", "BeH2-6q"}
    assert rows["LiH-4q"][1:3] == ["4", "100"]
    assert float(rows["LiH-4q"][5]) == -7.78908890


def test_molecules_detail_and_unknown_name(capsys):
    assert main(["molecules", "H2O-8q"]) == 0
    out = capsys.readouterr().out
    assert "bohr" in out and "-73.294106" in out
    assert main(["molecules", "CH4"]) == 2
    assert "unknown problem" in capsys.readouterr().err
