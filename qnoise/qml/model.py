"""A classifier circuit compiled once: class probabilities, cross-entropy and its gradient,
each batched over samples (every sample is one parameter set of the same program)."""

from __future__ import annotations

import numpy as np
from qiskit import QuantumCircuit

from qnoise.parameter_columns import ParameterColumns
from qnoise.pauli import zero_state
from qnoise.qml.circuits import class_observables
from qnoise.sim.simulator import PTMSimulator

#: Probabilities below this are clipped before the logarithm of the cross-entropy.
PROBABILITY_FLOOR = 1e-10
#: Most bytes of feature-map states kept between evaluations (8 · samples · 4**n).
ENCODED_BYTES = 2**28


class ClassifierCircuit:
    """``feature_map`` followed by ``ansatz``, measured by the class rule of
    :func:`qnoise.qml.circuits.class_observables`.

    Parameters
    ----------
    feature_map : QuantumCircuit
        Acts on the first ``feature_map.num_qubits`` qubits; its parameters are the inputs.
    ansatz : QuantumCircuit
        Acts on all qubits; its parameters are the weights. Shares no parameter with the
        feature map.
    num_classes : int
    simulator : PTMSimulator
        Its noise (readout error included) applies to every probability.

    Notes
    -----
    With ``shots``, class probabilities are multinomial estimates from ``shots``
    measurements per sample, and gradients use the parameter-shift rule on those estimates
    (``2·P`` shifted evaluations of every sample, P weights), which is exact in expectation
    when every weight enters the ansatz once as a Pauli-rotation angle (checked).
    """

    def __init__(
        self,
        feature_map: QuantumCircuit,
        ansatz: QuantumCircuit,
        num_classes: int,
        simulator: PTMSimulator,
    ) -> None:
        if feature_map.num_qubits > ansatz.num_qubits:
            raise ValueError(
                f"the feature map has {feature_map.num_qubits} qubits, the ansatz only "
                f"{ansatz.num_qubits}"
            )
        shared = set(feature_map.parameters) & set(ansatz.parameters)
        if shared:
            names = sorted(p.name for p in shared)
            raise ValueError(f"feature map and ansatz share parameters {names}")
        circuit = QuantumCircuit(ansatz.num_qubits)
        circuit.compose(feature_map, qubits=range(feature_map.num_qubits), inplace=True)
        circuit.compose(ansatz, inplace=True)
        self.circuit = circuit
        self.num_inputs = feature_map.num_parameters
        self.num_weights = ansatz.num_parameters
        self.num_classes = int(num_classes)
        self._columns = ParameterColumns(circuit, feature_map.parameters, ansatz.parameters)
        self.simulator = simulator
        self.compiled = simulator.compile(circuit)
        self.observables = class_observables(circuit.num_qubits, self.num_classes)
        self._feature_program = simulator.compile(feature_map)
        self._ansatz_program = simulator.compile(ansatz)
        self._splittable = len(self._ansatz_program.active_qubits) == circuit.num_qubits
        self._encoded: dict[bytes, np.ndarray] = {}

    def parameter_values(self, X: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Rows of the compiled circuit's parameters, shape ``(len(X), P)``."""
        return self._columns.values(X, weights)

    def encoded(self, X: np.ndarray) -> np.ndarray | None:
        """Pauli vectors of the samples after the feature map (noise included), on all the
        ansatz's qubits, shape ``(len(X), 4**n)``. Each sample's state is kept (up to
        ``ENCODED_BYTES``), since training evaluates the same samples every epoch, in
        mini-batches or whole. ``None`` where the split does not apply: an ansatz that
        leaves a qubit idle, or one sample's state alone over the limit."""
        size = 4**self.circuit.num_qubits
        if not self._splittable or size * 8 > ENCODED_BYTES:
            return None
        keys = [row.tobytes() for row in X]
        missing = [i for i, key in enumerate(keys) if key not in self._encoded]
        if missing:
            states = self._feature_program.pauli_vector(X[missing])
            states = states.reshape(len(missing), -1)
            extra = self.circuit.num_qubits - self._feature_program.num_qubits
            if extra:  # idle ansatz-only qubits in |0⟩: the most significant Pauli digits
                states = (zero_state(extra)[None, :, None] * states[:, None, :]).reshape(
                    len(missing), size
                )
            if (len(self._encoded) + len(missing)) * size * 8 > ENCODED_BYTES:
                self._encoded.clear()
            for i, state in zip(missing, states, strict=True):
                self._encoded[keys[i]] = state
        return np.stack([self._encoded[key] for key in keys])

    def _exact_probabilities(self, X: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Class probabilities from the stored feature-map states and one run of the ansatz
        per sample where possible, else from the whole circuit."""
        states = self.encoded(X)
        if states is not None:

            def expectation(observable):
                return self._ansatz_program.expectation_from_states(observable, states, weights)
        else:
            values = self.parameter_values(X, weights)

            def expectation(observable):
                return self.compiled.expectation(observable, values)

        if self.num_classes == 2:
            ones = expectation(self.observables[1])
            probs = np.stack([1.0 - ones, ones], axis=1)
        else:
            probs = np.stack([expectation(obs) for obs in self.observables], axis=1)
        probs = np.clip(probs, 0.0, 1.0)  # rounding of order 1e-16
        return probs / probs.sum(axis=1, keepdims=True)

    def probabilities(
        self, X: np.ndarray, weights: np.ndarray, shots: int | None = None, rng=None
    ) -> np.ndarray:
        """Class probabilities, shape ``(len(X), num_classes)``; with ``shots``, estimates
        from that many measurements per sample (``rng``: a numpy Generator)."""
        probs = self._exact_probabilities(X, weights)
        if shots is None:
            return probs
        return rng.multinomial(int(shots), probs) / int(shots)

    def loss(self, X, labels, weights, shots=None, rng=None) -> float:
        """Mean cross-entropy ``-mean_i log p_{y_i}(x_i)`` (natural log); ``labels`` are
        class indices."""
        probs = self.probabilities(X, weights, shots, rng)
        picked = probs[np.arange(len(labels)), labels]
        return float(-np.mean(np.log(np.maximum(picked, PROBABILITY_FLOOR))))

    def loss_gradient(self, X, labels, weights, shots=None, rng=None) -> np.ndarray:
        """Gradient of :meth:`loss` with respect to the weights, shape ``(P,)``: exact
        (reverse mode through the whole circuit, batched over the samples of each class)
        without shots, the parameter-shift rule on shot estimates with them."""
        rows = np.arange(len(labels))
        count = len(labels)
        if shots is None:  # each sweep's values are its samples' probabilities p_{y_i}
            values = self.parameter_values(X, weights)
            gradient = np.zeros(self.num_weights)
            for c in np.unique(labels):
                members = labels == c
                probs, grads = self.compiled.value_and_gradient(
                    self.observables[c], values[members]
                )
                picked = np.clip(probs, 0.0, 1.0)
                scale = -1.0 / (count * np.maximum(picked, PROBABILITY_FLOOR))
                scale[picked < PROBABILITY_FLOOR] = 0.0  # the clipped, flat region
                gradient += scale @ grads[:, self._columns.weights]
            return gradient
        if not self._ansatz_program.shift_rule_exact:
            raise ValueError(
                "gradients with shots use the parameter-shift rule, which needs every weight "
                "to enter the ansatz once as a Pauli-rotation angle; use shots=None or a "
                "gradient-free optimizer (cobyla, spsa)"
            )
        picked = self.probabilities(X, weights, shots, rng)[rows, labels]
        derivative = np.empty((self.num_weights, count))
        for j in range(self.num_weights):
            step = np.zeros(self.num_weights)
            step[j] = np.pi / 2
            plus = self.probabilities(X, weights + step, shots, rng)[rows, labels]
            minus = self.probabilities(X, weights - step, shots, rng)[rows, labels]
            derivative[j] = (plus - minus) / 2
        return derivative @ (-1.0 / (count * np.maximum(picked, PROBABILITY_FLOOR)))
