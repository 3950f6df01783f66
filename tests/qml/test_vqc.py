"""VQC as a scikit-learn estimator: conventions, training, bad input, hardware path."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_iris, make_classification
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.svm import SVC
from sklearn.utils.estimator_checks import check_estimator

from qnoise.optim import COBYLA, Adam
from qnoise.qml import VQC

SMALL = {"feature_map": "angle", "ansatz": "real_amplitudes", "reps": 1}


def blobs(n=40, seed=0):
    X, y = make_classification(n, n_features=2, n_redundant=0, n_clusters_per_class=1,
                               class_sep=2.0, random_state=seed)  # fmt: skip
    return MinMaxScaler((0, np.pi)).fit_transform(X), y


def prepared(features):
    return [StandardScaler(), PCA(features), MinMaxScaler((0, np.pi))]


# Skipped check and why: with the 3 epochs that keep this test fast, training cannot reach
# the 83 % accuracy check_classifiers_train asks; the slow test below runs it with 40 epochs.
FAST_SKIPS = {"check_classifiers_train": "3 epochs are too few to reach its 83 % accuracy"}


def test_scikit_learn_estimator_checks():
    check_estimator(VQC(**SMALL, epochs=3, seed=0), expected_failed_checks=FAST_SKIPS)


@pytest.mark.slow
def test_scikit_learn_estimator_checks_with_training():
    check_estimator(VQC(**SMALL, epochs=40, seed=0))


def test_params_clone_and_not_fitted_errors():
    vqc = VQC(optimizer="cobyla", epochs=7, noise="fake_manila", seed=3)
    params = vqc.get_params()
    assert params["epochs"] == 7 and params["noise"] == "fake_manila"
    twin = clone(vqc)
    assert twin.get_params() == params and twin is not vqc
    assert vqc.set_params(epochs=9).epochs == 9
    for method in (vqc.predict, vqc.predict_proba):
        with pytest.raises(NotFittedError):
            method(np.zeros((2, 2)))


def test_same_seed_same_model_and_pickle_round_trip():
    X, y = blobs()
    a = VQC(**SMALL, epochs=10, seed=5).fit(X, y)
    b = VQC(**SMALL, epochs=10, seed=5).fit(X, y)
    np.testing.assert_array_equal(a.weights_, b.weights_)
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_allclose(c.predict_proba(X), a.predict_proba(X), atol=1e-14)
    assert VQC(**SMALL, epochs=10, seed=6).fit(X, y).weights_.tolist() != a.weights_.tolist()


def test_epochs_batches_and_history():
    X, y = blobs(30)
    seen = []
    full = VQC(**SMALL, epochs=4, seed=0, callback=lambda *a: seen.append(a)).fit(X, y)
    assert full.n_iter_ == 4 and len(full.loss_curve_) == 4 and len(seen) == 4
    assert full.nfev_ == 5  # one loss per iteration and the final point
    mini = VQC(**SMALL, epochs=3, batch_size=8, optimizer="adam", seed=0).fit(X, y)
    assert mini.n_iter_ == 3 * 4  # ceil(30 / 8) batches per epoch
    cobyla = VQC(**SMALL, epochs=15, optimizer="cobyla", seed=0).fit(X, y)
    assert cobyla.nfev_ == 15
    with pytest.raises(ValueError, match="batch_size"):
        VQC(**SMALL, optimizer="cobyla", batch_size=4).fit(X, y)


@pytest.mark.parametrize("optimizer", ["aqgd", "adam", "cobyla", "spsa"])
def test_every_optimizer_lowers_the_loss_under_noise(optimizer):
    X, y = blobs(24)
    vqc = VQC(**SMALL, optimizer=optimizer, epochs=25, noise="fake_manila", seed=2).fit(X, y)
    assert min(vqc.loss_curve_[-3:]) < vqc.loss_curve_[0] - 0.05
    assert vqc.score(X, y) >= 0.75


def test_optimizer_object_is_used_and_not_modified():
    X, y = blobs(20)
    optimizer = COBYLA(maxiter=6)
    vqc = VQC(**SMALL, optimizer=optimizer, seed=0).fit(X, y)
    assert vqc.nfev_ == 6 and optimizer.callback is None
    # a gradient optimizer given as an object gets the exact gradient too
    by_name = VQC(**SMALL, optimizer="adam", epochs=5, learning_rate=0.1, seed=0).fit(X, y)
    as_object = VQC(**SMALL, optimizer=Adam(maxiter=5, lr=0.1, seed=0), seed=0).fit(X, y)
    np.testing.assert_allclose(as_object.weights_, by_name.weights_, atol=1e-12)


def test_shots_train_on_estimates():
    X, y = blobs(24)
    vqc = VQC(**SMALL, epochs=20, shots=500, noise="fake_manila", seed=1).fit(X, y)
    assert vqc.score(X, y) >= 0.75


def test_breast_cancer_close_to_classical_baselines():
    """4 PCA features, angle encoding, AQGD: within 10 points of an SVM on the same split
    (measured: VQC 0.895, SVM 0.944 at 100 epochs with 5 features, docs/benchmarks.md)."""
    X, y = load_breast_cancer(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    vqc = make_pipeline(*prepared(4), VQC(feature_map="angle", epochs=60, seed=1))
    svm = make_pipeline(*prepared(4), SVC())
    vqc_score = vqc.fit(Xtr, ytr).score(Xte, yte)
    svm_score = svm.fit(Xtr, ytr).score(Xte, yte)
    assert vqc_score >= 0.85 and vqc_score >= svm_score - 0.10


def test_three_classes_on_iris_in_grid_search_and_cross_validation():
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(*prepared(2), VQC(**SMALL, epochs=30, seed=0))
    search = GridSearchCV(pipe, {"vqc__reps": [1, 2]}, cv=2).fit(X, y)
    assert set(search.best_estimator_[-1].classes_) == {0, 1, 2}
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.mean() > 0.6  # chance is 1/3
    assert search.predict_proba(X[:4]).shape == (4, 3)


def test_bad_input_gives_clear_errors():
    X, y = blobs(10)
    with pytest.raises(ValueError, match="NaN"):
        VQC(**SMALL).fit(np.where(np.eye(10, 2) > 0, np.nan, X), y)
    with pytest.raises(ValueError, match="one class"):
        VQC(**SMALL).fit(X, np.zeros(10))
    with pytest.raises(ValueError, match="at most 12"):
        VQC(**SMALL).fit(np.zeros((4, 13)), [0, 1, 0, 1])
    fitted = VQC(**SMALL, epochs=2).fit(X, y)
    with pytest.raises(ValueError, match="not seen in fit"):
        fitted.score(X, np.where(y == 1, 7, y))
    with pytest.raises(ValueError, match="features"):
        fitted.predict(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="noise"):
        VQC(**SMALL, noise="no_such_backend").fit(X, y)
    with pytest.raises(ValueError, match="optimizer"):
        VQC(**SMALL, optimizer="lbfgs").fit(X, y)
    with pytest.raises(ValueError, match="epochs"):
        VQC(**SMALL, epochs=0).fit(X, y)
    with pytest.raises(ValueError, match="num_qubits"):
        VQC(**SMALL, num_qubits=1).fit(X, y)


def test_more_qubits_than_features():
    X, y = blobs(16)
    vqc = VQC(feature_map="zz", ansatz="efficient_su2", reps=1, num_qubits=3, epochs=3).fit(X, y)
    assert vqc.circuit_.num_qubits == 3 and vqc.weights_.size == 12


def test_prediction_on_a_fake_backend_in_one_job(tmp_path):
    """Offline through qiskit-ibm-runtime's local mode: one Sampler job for all samples;
    measured class frequencies agree with the PTM prediction for the same calibration."""
    X, y = blobs(24)
    vqc = VQC(**SMALL, epochs=15, noise="fake_manila", seed=0).fit(X, y)
    out = vqc.predict_on_backend(X[:12], "fake_manila", shots=4000, seed=2, run_dir=tmp_path)
    assert len(list((tmp_path / "jobs").glob("*.json"))) == 1
    assert out["probabilities"].shape == (12, 2)
    sigma = np.sqrt(0.25 / 4000)
    assert np.abs(out["probabilities"] - out["simulated"]).max() < 6 * sigma + 0.02
    clear = np.abs(out["simulated"][:, 1] - 0.5) > 0.1
    np.testing.assert_array_equal(out["predictions"][clear], vqc.predict(X[:12])[clear])
