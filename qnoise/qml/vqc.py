"""The variational quantum classifier as a scikit-learn estimator."""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
from qiskit import QuantumCircuit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from qnoise.optim import AQGD, COBYLA, SPSA, Adam, Optimizer
from qnoise.qml.circuits import build_ansatz, build_feature_map
from qnoise.qml.model import ClassifierCircuit
from qnoise.sim.simulator import PTMSimulator

#: Most qubits a VQC simulates: a PTM state holds 4**n numbers per sample.
MAX_QUBITS = 12
OPTIMIZERS = ("aqgd", "cobyla", "spsa", "adam")


class VQC(ClassifierMixin, BaseEstimator):
    """Variational quantum classifier: a feature map encodes each sample, a trained ansatz
    follows, and the measured bitstring gives the class.

    Training minimises the mean cross-entropy of the class probabilities over the training
    set. The feature map's output state of each sample (noise included) is computed once
    and kept, so a loss evaluation runs only the ansatz on those states, batched over the
    samples; its gradient is one reverse-mode sweep per sample through the whole circuit
    (exact, with any noise model). ``epochs`` are full passes over the training set.

    Parameters
    ----------
    feature_map : {"zz", "pauli", "z", "angle"} or QuantumCircuit
        See :func:`qnoise.qml.circuits.build_feature_map`. A circuit's parameters, in
        ``circuit.parameters`` order, take the features in column order (a
        ``ParameterVector`` ``x``: feature ``j`` to ``x[j]``). Features are angles in
        radians: scale them first (``MinMaxScaler(feature_range=(0, np.pi))``).
    ansatz : {"efficient_su2", "real_amplitudes"} or QuantumCircuit
        The trained circuit, on ``num_qubits`` qubits; its parameters are the weights.
    reps : int
        Repetitions of the named feature map and ansatz.
    optimizer : {"aqgd", "cobyla", "spsa", "adam"} or qnoise Optimizer
        ``"aqgd"``: gradient descent with momentum (η = ``learning_rate`` or 1.0, μ = 0.25, as
        qiskit-algorithms' AQGD) on exact gradients; ``"cobyla"``: one loss evaluation per
        iteration; ``"spsa"``: two per iteration plus calibration; ``"adam"``: Adam on exact
        gradients (lr = ``learning_rate`` or 0.05). An optimizer object is used as given
        (its own ``maxiter``; ``epochs`` and ``batch_size`` are then ignored).
    epochs : int
        Full passes over the training set; with the full batch, optimizer iterations.
    batch_size : int, optional
        Mini-batch size for ``"aqgd"``, ``"adam"`` and ``"spsa"`` (an iteration per batch,
        the training set reshuffled each epoch); ``None``: the full set.
    noise : str, NoiseModel, backend or None
        Any noise model :class:`~qnoise.PTMSimulator` accepts (``"fake_manila"``,
        ``"depolarizing:p1=1e-3,p2=1e-2"``); readout error applies to the probabilities.
    shots : int, optional
        Training sees multinomial estimates of the class probabilities from ``shots``
        measurements per sample, and gradients by the parameter-shift rule on them.
        Predictions use exact probabilities under ``noise`` (their expectation).
    seed : int, optional
        Seeds the initial weights, batches, shots and stochastic optimizers.
    num_qubits : int, optional
        Qubits of the ansatz (default: one per feature); the feature map acts on the first.
    learning_rate : float, optional
        Step size of ``"aqgd"`` and ``"adam"``.
    initial_point : array_like, optional
        Initial weights (default: uniform in [-π, π)).
    callback : callable, optional
        ``callback(iteration, weights, loss)`` after every optimizer iteration.

    Attributes
    ----------
    classes_ : ndarray
        Labels seen in ``fit``; class ``classes_[c]`` is measured by rule ``c`` of
        :func:`qnoise.qml.circuits.class_observables` (two classes: even / odd parity of the
        bitstring; more: the outcome integer modulo the number of classes).
    weights_ : ndarray
        Trained ansatz parameters.
    loss_curve_ : list of float
        Loss (cross-entropy, nats) per optimizer iteration, as the optimizer evaluated it.
    n_iter_ : int
        Optimizer iterations.
    nfev_ : int
        Loss evaluations (each one evaluates every training sample once).
    circuit_ : QuantumCircuit
        Feature map followed by ansatz, with unbound parameters.

    Notes
    -----
    scikit-learn's ``check_estimator`` passes in full with 40 epochs (a slow test); the
    default test run uses 3 epochs and expects ``check_classifiers_train`` to fail, since
    it asks for 83 % training accuracy.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> X, y = make_classification(40, n_features=2, n_redundant=0, random_state=0)
    >>> clf = VQC(feature_map="angle", ansatz="real_amplitudes", epochs=20, seed=1).fit(X, y)
    >>> clf.predict(X[:3]).shape
    (3,)
    """

    def __init__(
        self,
        feature_map="zz",
        ansatz="efficient_su2",
        reps: int = 2,
        optimizer="aqgd",
        epochs: int = 100,
        batch_size: int | None = None,
        noise=None,
        shots: int | None = None,
        seed: int | None = None,
        num_qubits: int | None = None,
        learning_rate: float | None = None,
        initial_point=None,
        callback: Callable | None = None,
    ) -> None:
        self.feature_map = feature_map
        self.ansatz = ansatz
        self.reps = reps
        self.optimizer = optimizer
        self.epochs = epochs
        self.batch_size = batch_size
        self.noise = noise
        self.shots = shots
        self.seed = seed
        self.num_qubits = num_qubits
        self.learning_rate = learning_rate
        self.initial_point = initial_point
        self.callback = callback

    # ------------------------------------------------------------------ checks
    def _check_params(self) -> None:
        if not (isinstance(self.epochs, (int, np.integer)) and self.epochs >= 1):
            raise ValueError(f"epochs must be an integer >= 1, got {self.epochs!r}")
        if not (isinstance(self.reps, (int, np.integer)) and self.reps >= 1):
            raise ValueError(f"reps must be an integer >= 1, got {self.reps!r}")
        if self.shots is not None and not (int(self.shots) == self.shots and self.shots >= 1):
            raise ValueError(f"shots must be None or an integer >= 1, got {self.shots!r}")
        if self.batch_size is not None:
            if not (int(self.batch_size) == self.batch_size and self.batch_size >= 1):
                raise ValueError(f"batch_size must be None or >= 1, got {self.batch_size!r}")
            if self.optimizer == "cobyla":
                raise ValueError("batch_size needs a stochastic optimizer (aqgd, adam, spsa), "
                                 "not cobyla")  # fmt: skip
        if isinstance(self.optimizer, str):
            if self.optimizer not in OPTIMIZERS:
                raise ValueError(f"optimizer: give one of {OPTIMIZERS} or a qnoise Optimizer, "
                                 f"got {self.optimizer!r}")  # fmt: skip
        elif not isinstance(self.optimizer, Optimizer):
            raise ValueError("optimizer: give a name or a qnoise.optim.Optimizer")
        if self.learning_rate is not None and not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate!r}")

    def _build(self, num_features: int) -> ClassifierCircuit:
        qubits = num_features if self.num_qubits is None else int(self.num_qubits)
        if qubits < num_features:
            raise ValueError(f"num_qubits={qubits} is fewer than the {num_features} features")
        if qubits > MAX_QUBITS:
            raise ValueError(
                f"{qubits} qubits: a VQC simulates at most {MAX_QUBITS} (a PTM state holds "
                f"4**n numbers); reduce the features, e.g. with PCA"
            )
        feature_map = build_feature_map(self.feature_map, num_features, self.reps)
        if feature_map.num_qubits > qubits:
            raise ValueError(f"the feature map needs {feature_map.num_qubits} qubits, "
                             f"num_qubits is {qubits}")  # fmt: skip
        ansatz = build_ansatz(self.ansatz, qubits, self.reps)
        try:
            simulator = PTMSimulator(self.noise)
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"noise: {self.noise!r} does not resolve ({exc})") from exc
        return ClassifierCircuit(feature_map, ansatz, len(self.classes_), simulator)

    # ------------------------------------------------------------------ training
    def fit(self, X, y) -> VQC:
        """Train on ``X`` (shape ``(n_samples, n_features)``, angles in radians) and labels
        ``y`` (at least two classes)."""
        self._check_params()
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        self.classes_, labels = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"VQC needs at least two classes; y has one class only ({self.classes_[0]!r})"
            )
        model = self._build(X.shape[1])
        rng = np.random.default_rng(self.seed)
        if self.initial_point is None:
            start = rng.uniform(-np.pi, np.pi, model.num_weights)
        else:
            start = np.asarray(self.initial_point, dtype=float)
            if start.shape != (model.num_weights,):
                raise ValueError(f"initial_point has shape {start.shape}; the ansatz has "
                                 f"{model.num_weights} weights")  # fmt: skip
        batches = _Batches(len(X), self.batch_size, rng)
        losses: list[float] = []

        def loss(weights):
            rows = batches.current
            return model.loss(X[rows], labels[rows], weights, self.shots, rng)

        def gradient(weights):
            rows = batches.current
            return model.loss_gradient(X[rows], labels[rows], weights, self.shots, rng)

        def after_iteration(nit, weights, value, nfev):
            losses.append(float(value))
            batches.advance()
            if self.callback is not None:
                self.callback(nit, np.array(weights), float(value))

        optimizer = self._optimizer(batches.per_epoch, after_iteration)
        # gradient-free optimizers (COBYLA, SPSA) never call jac
        result = optimizer.minimize(loss, start, jac=gradient)
        self.weights_ = np.asarray(result.x, dtype=float)
        self.loss_curve_ = losses
        self.n_iter_ = int(result.nit)
        self.nfev_ = int(result.nfev)
        self.circuit_ = model.circuit
        self._model = model
        return self

    def _optimizer(self, batches_per_epoch: int, callback) -> Optimizer:
        if isinstance(self.optimizer, Optimizer):
            optimizer = copy.deepcopy(self.optimizer)  # the parameter itself stays untouched
            optimizer.callback = callback
            return optimizer
        iterations = int(self.epochs) * batches_per_epoch
        if self.optimizer == "aqgd":
            eta = 1.0 if self.learning_rate is None else self.learning_rate
            return AQGD(maxiter=iterations, eta=eta, momentum=0.25, callback=callback)
        if self.optimizer == "adam":
            lr = 0.05 if self.learning_rate is None else self.learning_rate
            return Adam(maxiter=iterations, lr=lr, seed=self.seed, callback=callback)
        if self.optimizer == "spsa":
            return SPSA(maxiter=iterations, seed=self.seed, callback=callback)
        return COBYLA(maxiter=iterations, callback=callback)

    # ------------------------------------------------------------------ prediction
    def _fitted_model(self) -> ClassifierCircuit:
        check_is_fitted(self, "weights_")
        if getattr(self, "_model", None) is None:  # after unpickling
            self._model = self._build(self.n_features_in_)
        return self._model

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities under ``noise`` (exact expectations), shape
        ``(n_samples, n_classes)``, columns in ``classes_`` order."""
        model = self._fitted_model()
        X = validate_data(self, X, reset=False)
        return model.probabilities(X, self.weights_)

    def predict(self, X) -> np.ndarray:
        """The most probable class of each sample."""
        probabilities = self.predict_proba(X)
        return self.classes_[np.argmax(probabilities, axis=1)]

    def score(self, X, y, sample_weight=None) -> float:
        """Mean accuracy; labels not seen in ``fit`` are an error, not a silent miss."""
        check_is_fitted(self, "weights_")
        unseen = np.setdiff1d(np.unique(np.asarray(y)), self.classes_)
        if unseen.size:
            raise ValueError(f"labels {unseen.tolist()} were not seen in fit "
                             f"(classes_ = {self.classes_.tolist()})")  # fmt: skip
        return super().score(X, y, sample_weight=sample_weight)

    def predict_on_backend(
        self, X, backend="fake_manila", *, shots: int = 1024, seed: int | None = None,
        run_dir=None, optimization_level: int = 1,
    ) -> dict:  # fmt: skip
        """Predict through an IBM backend (:func:`qnoise.ibm.counts_batch_on_backend`): the
        classifier circuit is transpiled once and all samples go in one Sampler job.

        ``backend`` is a fake backend name (offline, e.g. ``"fake_manila"``) or a real one
        (needs an IBM Quantum account). Returns ``{"predictions", "probabilities"`` (the
        measured class frequencies, ``(n_samples, n_classes)``), ``"simulated"`` (this
        estimator's :meth:`predict_proba`), ``"job_id", "backend", "layout"}``.
        """
        from qnoise.ibm import counts_batch_on_backend
        from qnoise.qml.circuits import class_of_outcome

        model = self._fitted_model()
        X = validate_data(self, X, reset=False)
        run = counts_batch_on_backend(
            model.circuit, model.parameter_values(X, self.weights_), backend, shots=shots,
            seed=seed, run_dir=run_dir, optimization_level=optimization_level,
        )  # fmt: skip
        frequencies = np.zeros((len(X), len(self.classes_)))
        for row, counts in enumerate(run["counts"]):
            for bits, count in counts.items():
                outcome = int(bits.replace(" ", ""), 2)
                frequencies[row, class_of_outcome(outcome, len(self.classes_))] += count
        frequencies /= frequencies.sum(axis=1, keepdims=True)
        return {
            "predictions": self.classes_[np.argmax(frequencies, axis=1)],
            "probabilities": frequencies,
            "simulated": model.probabilities(X, self.weights_),
            "job_id": run["job_id"],
            "backend": run["backend"],
            "layout": run["layout"],
        }

    def bound_circuits(self, X) -> list[QuantumCircuit]:
        """One bound circuit per sample (feature map with the sample, trained ansatz)."""
        model = self._fitted_model()
        X = validate_data(self, X, reset=False)
        values = model.parameter_values(X, self.weights_)
        return [model.circuit.assign_parameters(row) for row in values]

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state.pop("_model", None)  # compiled programs are rebuilt on first use
        return state


class _Batches:
    """Row indices of the current mini-batch; ``advance`` moves to the next, reshuffling
    at each epoch's end. Without a batch size, every row, always."""

    def __init__(self, count: int, batch_size: int | None, rng: np.random.Generator) -> None:
        self.count, self.rng = count, rng
        self.size = count if batch_size is None else min(int(batch_size), count)
        self.per_epoch = -(-count // self.size)
        self._order = np.arange(count) if batch_size is None else rng.permutation(count)
        self._index = 0

    @property
    def current(self) -> np.ndarray:
        start = self._index * self.size
        return self._order[start : start + self.size]

    def advance(self) -> None:
        if self.per_epoch == 1:
            return
        self._index += 1
        if self._index == self.per_epoch:
            self._index = 0
            self._order = self.rng.permutation(self.count)
