"""The notebooks run top to bottom as stored (no outputs kept in the repository)."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))


def test_notebooks_are_stored_without_outputs():
    assert len(NOTEBOOKS) == 5
    for path in NOTEBOOKS:
        book = nbformat.read(path, as_version=4)
        assert all(not cell.get("outputs") for cell in book.cells if cell.cell_type == "code")


@pytest.mark.parametrize("where", ["own folder", "repository root"])
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, where, monkeypatch, tmp_path):
    """Each notebook runs from its own folder (as Jupyter starts it) and from the repository
    root; the ``assert`` lines in its cells check the facts its text states."""
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("HOME", str(tmp_path))  # no saved IBM account: the real cell skips
    monkeypatch.delenv("QISKIT_IBM_TOKEN", raising=False)
    book = nbformat.read(path, as_version=4)
    folder = path.parent if where == "own folder" else path.parents[1]
    client = NotebookClient(book, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}})  # fmt: skip
    client.execute()
