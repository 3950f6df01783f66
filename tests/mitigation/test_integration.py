"""ZNE in VQE, the circuit-file loader and the `qnoise zne` command."""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pytest
from qiskit import qasm3, qpy
from qiskit.quantum_info import SparsePauliOp

from qnoise import PTMSimulator, chem
from qnoise.circuit_files import load_circuit
from qnoise.cli import main
from qnoise.mitigation import ZNE, ExtrapolationWarning, ry_rz_ladder
from qnoise.mitigation.report import in_family
from qnoise.vqe import VQE
from qnoise.vqe.ansatz import hardware_efficient
from tests.reference import h2_circuit


def test_vqe_reports_a_mitigated_final_energy():
    problem = chem.load("H2-2q")
    simulator = PTMSimulator("fake_mumbai:median")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        result = VQE(hardware_efficient(2, layers=1), problem, simulator,
                     mitigation=ZNE(extrapolation="richardson")).run(seed=1)  # fmt: skip
    assert abs(result.energy - result.noiseless_energy) > 0.02
    assert abs(result.mitigated_energy - result.noiseless_energy) < 1e-3
    plain = VQE(hardware_efficient(2, layers=1), problem, simulator).run(seed=1)
    assert plain.mitigated_energy is None and plain.energy == result.energy
    with pytest.raises(TypeError, match="mitigation"):
        VQE(hardware_efficient(2, layers=1), problem, simulator, mitigation="richardson")


def test_circuit_files_round_trip(tmp_path):
    circuit = h2_circuit()
    (tmp_path / "c.qasm").write_text(qasm3.dumps(circuit))
    with open(tmp_path / "c.qpy", "wb") as handle:
        qpy.dump(circuit, handle)
    ideal = PTMSimulator().expectation(circuit, "ZZ")
    for name in ("c.qasm", "c.qpy"):
        assert PTMSimulator().expectation(load_circuit(tmp_path / name), "ZZ") == pytest.approx(
            ideal, abs=1e-12
        )
    (tmp_path / "bad.txt").write_text("hello")
    with pytest.raises(ValueError, match="neither QPY nor OpenQASM"):
        load_circuit(tmp_path / "bad.txt")
    with pytest.raises(FileNotFoundError):
        load_circuit(tmp_path / "missing.qasm")


def test_family_membership():
    member = ry_rz_ladder(3, 2).assign_parameters(np.zeros(18))
    assert in_family(member)
    assert in_family(member, SparsePauliOp("ZZZ", -0.5))
    assert not in_family(member, SparsePauliOp(["ZZZ", "XII"]))
    assert not in_family(member, SparsePauliOp("ZZI"))
    assert not in_family(h2_circuit())


def test_zne_command_json_and_errors(tmp_path, capsys):
    path = tmp_path / "h2.qasm"
    path.write_text(qasm3.dumps(h2_circuit()))
    assert main(["zne", str(path), "--problem", "H2-2q", "--method", "exponential",
                 "--scale-factors", "1,1.5,2,3", "--json"]) == 0  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    for key in ("noisy", "mitigated", "stderr", "ideal", "method", "scale_factors"):
        assert key in report
    assert report["scale_factors"] == [1.0, 1.5, 2.0, 3.0] and report["method"] == "exponential"
    assert abs(report["mitigated"] - report["ideal"]) < 0.1 * abs(report["noisy"] - report["ideal"])
    assert main(["zne", str(path), "--problem", "H2-2q", "--method", "neural", "--json"]) == 0
    assert "per-problem" in json.loads(capsys.readouterr().out)["neural_model"]
    assert main(["zne", str(path), "--problem", "LiH-4q"]) == 2
    assert "needs 4" in capsys.readouterr().err
    assert main(["zne", str(path), "--problem", "H2-2q", "--scale-factors", "1,1"]) == 2
    assert "increase" in capsys.readouterr().err
    assert main(["zne", str(tmp_path / "none.qasm"), "--problem", "H2-2q"]) == 2


def test_zne_command_text_says_when_the_fit_has_no_standard_error(tmp_path, capsys):
    path = tmp_path / "h2.qasm"
    path.write_text(qasm3.dumps(h2_circuit()))
    # Richardson through three exact points: as many points as parameters, no spread
    assert main(["zne", str(path), "--problem", "H2-2q"]) == 0
    captured = capsys.readouterr()
    mitigated = next(line for line in captured.out.splitlines() if line.startswith("mitigated"))
    assert "(no standard error)" in mitigated and "nan" not in mitigated
    assert "standard error is unknown" in captured.err
    # a linear fit through three points has residuals, hence a standard error
    assert main(["zne", str(path), "--problem", "H2-2q", "--method", "linear"]) == 0
    mitigated = next(
        line for line in capsys.readouterr().out.splitlines() if line.startswith("mitigated")
    )
    assert re.search(r"± \d\.\de-\d\d", mitigated)


def test_finite_shot_zne_propagates_the_shot_noise(tmp_path, capsys):
    path = tmp_path / "h2.qasm"
    path.write_text(qasm3.dumps(h2_circuit()))
    assert main(["zne", str(path), "--problem", "H2-2q", "--shots", "10000", "--seed", "3",
                 "--json"]) == 0  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    # Richardson at 1, 2, 3: stderr = sqrt(9 σ1² + 9 σ2² + σ3²) with σ ≈ 1e-2 Ha per value
    assert 0.01 < report["stderr"] < 0.1
    assert abs(report["mitigated"] - report["ideal"]) < 4 * report["stderr"]
