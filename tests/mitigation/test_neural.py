"""Neural extrapolators: per-problem curve fits, pre-trained models, files, shipped model."""

from __future__ import annotations

import numpy as np
import pytest

from qnoise.mitigation import (
    CurveNeuralExtrapolator,
    ExtrapolationError,
    LinearExtrapolator,
    NeuralExtrapolator,
    NeuralMetadata,
    circuit_features,
    pretrained,
    ry_rz_ladder,
    training_set,
)
from qnoise.mitigation.neural import FEATURES
from qnoise.mitigation.training_data import FAMILY_OBSERVABLE


def test_curve_fit_extrapolates_a_line_and_a_decay_at_least_as_a_line_does():
    x = np.linspace(1, 4, 8)
    method = CurveNeuralExtrapolator(ensemble=3, epochs=800)
    value, stderr = method.extrapolate(x, 0.9 - 0.1 * x)
    assert value == pytest.approx(0.9, abs=5e-3) and 0 <= stderr < 5e-3
    decay = 0.1 + 0.8 * np.exp(-0.3 * x)
    value, stderr = method.extrapolate(x, decay)
    line_error = abs(LinearExtrapolator().extrapolate(x, decay)[0] - 0.9)
    assert abs(value - 0.9) <= line_error + 0.01
    assert CurveNeuralExtrapolator(ensemble=3, epochs=800).extrapolate(x, decay) == (
        value,
        stderr,
    )  # deterministic by seed
    with pytest.raises(ValueError, match="at least 2 networks"):
        CurveNeuralExtrapolator(ensemble=1)


def _synthetic_family(rows: int, seed: int):
    """Values y_λ = y0·f^λ with a row-dependent decay f: the label is y0."""
    rng = np.random.default_rng(seed)
    ideal = rng.uniform(-1, 1, rows)
    decay = rng.uniform(0.7, 0.95, rows)
    lambdas = np.array([1.0, 2.0, 3.0])
    values = ideal[:, None] * decay[:, None] ** lambdas
    return values, ideal


@pytest.mark.parametrize("loss", ["absolute", "squared"])
def test_pretrained_mode_learns_a_family_and_round_trips_through_files(tmp_path, loss):
    values, ideal = _synthetic_family(2000, seed=0)
    model = NeuralExtrapolator(NeuralMetadata(scale_factors=[1.0, 2.0, 3.0], hidden=[32, 32]))
    report = model.train(values, ideal, epochs=60, seed=0, loss=loss)
    assert report["validation_mae"] < 0.2 * report["unmitigated_mae"]
    with pytest.raises(ValueError, match="loss must be"):
        model.train(values, ideal, epochs=1, loss="huber")
    test_values, test_ideal = _synthetic_family(200, seed=1)
    predicted = model.predict(test_values)
    assert (
        np.abs(predicted - test_ideal).mean() < 0.2 * np.abs(test_values[:, 0] - test_ideal).mean()
    )
    # scale covariance: a rescaled observable gives a rescaled prediction
    assert np.allclose(model.predict(3.0 * test_values), 3.0 * predicted, atol=1e-12)
    model.save(tmp_path / "model")
    loaded = NeuralExtrapolator.load(tmp_path / "model.json")
    assert np.array_equal(loaded.predict(test_values), predicted)
    assert loaded.metadata.validation == report
    value, stderr = loaded.extrapolate([1, 2, 3], test_values[0])
    assert value == pytest.approx(predicted[0]) and stderr == report["validation_mae"]


def test_neural_inputs_are_checked():
    model = NeuralExtrapolator(NeuralMetadata(scale_factors=[1.0, 2.0, 3.0], features=["depth"]))
    with pytest.raises(ExtrapolationError, match="trained on scale factors"):
        model.extrapolate([1, 2, 4], [0.5, 0.4, 0.3])
    with pytest.raises(ExtrapolationError, match="needs the circuit features"):
        model.predict(np.array([[0.5, 0.4, 0.3]]))
    with pytest.raises(ExtrapolationError, match="rows of"):
        model.predict(np.array([[0.5, 0.4, 0.3]]), np.array([[1.0, 2.0]]))
    with pytest.raises(ExtrapolationError, match="finite"):
        model.predict(np.array([[0.5, np.nan, 0.3]]), np.ones((1, len(FEATURES))))
    with pytest.raises(ValueError, match="unknown features"):
        NeuralExtrapolator(NeuralMetadata(scale_factors=[1.0, 2.0], features=["colour"]))
    with pytest.raises(FileNotFoundError, match="missing"):
        NeuralExtrapolator.load("/nonexistent/model.pt")


def test_training_set_labels_are_the_noiseless_values():
    data = training_set("depolarizing:p1=1e-3,p2=1e-2", qubits=(2,), layers=(1,),
                        circuits_per_shape=4, observables_per_circuit=2, seed=3)  # fmt: skip
    assert data["values"].shape == (8, 3) and data["features"].shape == (8, len(FEATURES))
    # more noise, smaller magnitude, for Z...Z rows (the first observable of each circuit)
    zz = data["values"][:4]
    assert np.all(np.abs(zz[:, 0]) >= np.abs(zz[:, 2]) - 1e-12)
    assert circuit_features(ry_rz_ladder(2, 1)) == list(data["features"][0])


def test_shipped_model_beats_unmitigated_on_unseen_circuits():
    model = pretrained("fake_mumbai:median", scale_factors=[1, 2, 3])
    assert model is not None and model.metadata.features == list(FEATURES)
    assert pretrained("fake_mumbai:median", scale_factors=[1, 3, 5]) is None
    assert pretrained("depolarizing:p1=1e-3") is None
    assert model.metadata.training_set["observables"] == FAMILY_OBSERVABLE
    data = training_set("fake_mumbai:median", circuits_per_shape=40, observables_per_circuit=1,
                        shots=10_000, seed=12345)  # fmt: skip
    predicted = model.predict(data["values"], data["features"])
    mitigated = np.median(np.abs(predicted - data["ideal"]))
    unmitigated = np.median(np.abs(data["values"][:, 0] - data["ideal"]))
    linear = LinearExtrapolator()
    fitted = [linear.extrapolate([1, 2, 3], row)[0] for row in data["values"]]
    # measured on 6 × 1800 held-out circuits: 1.83-2.20× better than linear, pooled 1.99×
    assert mitigated < 0.25 * unmitigated
    assert mitigated < 0.7 * np.median(np.abs(np.array(fitted) - data["ideal"]))
