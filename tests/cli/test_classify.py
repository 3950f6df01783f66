"""qnoise classify: the local-optimizers study from the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qnoise.cli import main
from qnoise.qml.study import classification_study, demo_reviews_path, read_table


def test_demo_reviews_study_as_json(capsys, tmp_path):
    plot = tmp_path / "study.png"
    code = main(["classify", "demo", "--text-column", "Review", "--label-column", "Liked",
                 "--features", "5", "--optimizer", "cobyla", "--epochs", "20",
                 "--feature-map", "angle", "--json", "--plot", str(plot)])  # fmt: skip
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["models"]) == {"vqc", "svm", "gradient_boosting", "random_forest"}
    assert result["train_size"] + result["test_size"] == 200
    for scores in result["models"].values():
        matrix = np.array(scores["confusion_matrix"])
        assert matrix.sum() == result["test_size"]
        assert scores["accuracy"] == pytest.approx(np.trace(matrix) / matrix.sum())
    assert result["models"]["svm"]["accuracy"] > 0.8  # the demo set is learnable
    assert result["vqc"]["nfev"] == 20 and len(result["vqc"]["loss_curve"]) == 20
    assert plot.stat().st_size > 10_000


def test_numeric_csv_and_table_output(capsys, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = np.where(X[:, 0] + 0.5 * X[:, 1] > 0, "pos", "neg")
    path = tmp_path / "data.csv"
    lines = ["a,b,c,label"] + [f"{r[0]},{r[1]},{r[2]},{t}" for r, t in zip(X, y, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    code = main(["classify", str(path), "--label-column", "label", "--features", "2",
                 "--optimizer", "adam", "--epochs", "15", "--feature-map", "angle",
                 "--quiet"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0 and "| vqc |" in out and "classes ['neg', 'pos']" in out


def test_bad_files_and_columns(capsys, tmp_path):
    assert main(["classify", str(tmp_path / "missing.tsv"), "--quiet"]) == 2
    assert "no such file" in capsys.readouterr().err
    # an unwritable plot path is refused before any training
    assert main(["classify", "demo", "--plot", str(tmp_path / "no" / "p.png"), "--quiet"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["classify", "demo", "--text-column", "Text", "--quiet"]) == 2
    assert "no column 'Text'" in capsys.readouterr().err
    ragged = tmp_path / "ragged.tsv"
    ragged.write_text("Review\tLiked\ngood\t1\nbad\t0\textra\n")
    with pytest.raises(ValueError, match="line 3"):
        read_table(ragged, "Liked", "Review")
    text = tmp_path / "text.csv"
    text.write_text("Review,Liked\ngood food,1\nbad food,0\n")
    with pytest.raises(ValueError, match="text-column"):
        read_table(text, "Liked")


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN"])
def test_a_feature_that_is_not_finite_is_named_with_its_line(tmp_path, value):
    table = tmp_path / "features.csv"
    table.write_text(f"a,b,Liked\n0.1,0.2,1\n0.3,{value},0\n0.5,0.6,1\n")
    with pytest.raises(ValueError, match=rf"line 3, column 'b' is '{value}', not a finite"):
        read_table(table, "Liked")


def test_study_refuses_one_class():
    texts, _labels = read_table(demo_reviews_path(), "Liked", "Review")
    with pytest.raises(ValueError, match="one class"):
        classification_study(texts, np.zeros(len(texts)), vqc={"epochs": 1})
