"""Neural zero-noise extrapolation (after arXiv:2403.07025), in two modes.

* :class:`CurveNeuralExtrapolator` — the paper's per-problem regression: a small MLP is fit
  to the (noise level, value) pairs of one problem and read off at λ = 0. An ensemble of
  independently seeded networks gives the standard error (their spread).
* :class:`NeuralExtrapolator` — a model pre-trained across many circuits of a family under a
  noise model: it maps the noisy values at fixed scale factors (and optional circuit
  features) to the zero-noise value, and is then applied to unseen circuits. Training data
  come from the PTM simulator, which also gives the exact noiseless labels
  (:func:`qnoise.mitigation.training_set`).

Conventions: values are expectation values of Hermitian observables (any unit; the model
works on values divided by their largest magnitude, so a rescaled observable gives a
rescaled prediction). Scale factors are noise multipliers λ ≥ 1 (λ = 1: the device).
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from qnoise.files import atomic_write
from qnoise.mitigation.extrapolation import (
    ExtrapolationError,
    Extrapolator,
    PolynomialExtrapolator,
    check_points,
)

__all__ = [
    "FEATURES",
    "CurveNeuralExtrapolator",
    "NeuralExtrapolator",
    "NeuralMetadata",
    "pretrained",
]

#: circuit features a pre-trained model may take besides the values
FEATURES = ("num_qubits", "gates", "cnots", "depth", "log10_shots")


def _mlp(inputs: int, hidden: Sequence[int], outputs: int = 1) -> nn.Sequential:
    layers: list[nn.Module] = []
    size = inputs
    for width in hidden:
        layers += [nn.Linear(size, width), nn.Tanh()]
        size = width
    layers.append(nn.Linear(size, outputs))
    return nn.Sequential(*layers).double()


class CurveNeuralExtrapolator(Extrapolator):
    """Per-problem neural regression of the values against λ, evaluated at λ = 0.

    The values are first fit by a (weighted) straight line in λ; each of ``ensemble`` tanh
    networks (1 → hidden → 1, weight decay, output layer starting at zero) is then fit by
    full-batch Adam to the line's residuals, and the value is the line at λ = 0 plus the
    network's residual there. So data on a line extrapolate as the line, and curvature in
    the data bends the result. Fits are weighted by 1/σ² when sigmas are given; the value
    is the ensemble mean at λ = 0 and ``stderr`` the ensemble's standard deviation (an
    uncertainty of the extrapolation model, not of the data alone). Deterministic for a
    given ``seed``; needs at least 3 points.
    """

    minimum_points = 3

    def __init__(
        self,
        hidden: Sequence[int] = (16, 16),
        ensemble: int = 5,
        epochs: int = 1500,
        lr: float = 1e-2,
        weight_decay: float = 1e-4,
        seed: int = 0,
    ) -> None:
        if ensemble < 2:
            raise ValueError("ensemble needs at least 2 networks (their spread is the stderr)")
        self.hidden, self.ensemble, self.epochs = tuple(hidden), int(ensemble), int(epochs)
        self.lr, self.weight_decay, self.seed = float(lr), float(weight_decay), int(seed)

    @property
    def name(self) -> str:
        return "neural_curve"

    def extrapolate(self, scale_factors, values, sigmas=None) -> tuple[float, float]:
        x, y, s = check_points(scale_factors, values, sigmas, self.minimum_points, self.name)
        line = PolynomialExtrapolator(1)
        gamma = line.coefficients(x, s)
        slope = PolynomialExtrapolator(1)._slope(x, y, s)
        residuals = y - (gamma @ y + slope * x)
        x_mean, x_scale = x.mean(), x.std() or 1.0
        r_scale = float(np.abs(residuals).max()) or 1.0
        inputs = torch.tensor(((x - x_mean) / x_scale)[:, None])
        targets = torch.tensor((residuals / r_scale)[:, None])
        weights = torch.ones_like(targets) if s is None else torch.tensor((1 / s**2)[:, None])
        weights = weights / weights.mean()
        zero = torch.tensor([[(0.0 - x_mean) / x_scale]])
        predictions = []
        for member in range(self.ensemble):
            torch.manual_seed(self.seed * 1000 + member)
            net = _mlp(1, self.hidden)
            with torch.no_grad():  # starts as the line: no curvature that is not in the data
                net[-1].weight.zero_()
                net[-1].bias.zero_()
            optimizer = torch.optim.Adam(
                net.parameters(), lr=self.lr, weight_decay=self.weight_decay
            )
            for _ in range(self.epochs):
                optimizer.zero_grad()
                loss = (weights * (net(inputs) - targets) ** 2).mean()
                loss.backward()
                optimizer.step()
            with torch.no_grad():
                predictions.append(float(gamma @ y) + float(net(zero)) * r_scale)
        predictions_array = np.array(predictions)
        if not np.all(np.isfinite(predictions_array)):
            raise ExtrapolationError(f"{self.name}: the fit diverged; try 'richardson'")
        return float(predictions_array.mean()), float(predictions_array.std(ddof=1))


@dataclass
class NeuralMetadata:
    """What a pre-trained :class:`NeuralExtrapolator` was trained for (saved as JSON)."""

    scale_factors: list[float]
    features: list[str] = field(default_factory=list)
    hidden: list[int] = field(default_factory=lambda: [64, 64])
    noise_model: str = ""
    family: str = ""
    training_set: dict = field(default_factory=dict)
    shots: int | None = None
    validation: dict = field(default_factory=dict)
    feature_scale: list[float] = field(default_factory=list)


class NeuralExtrapolator(Extrapolator):
    """Pre-trained zero-noise extrapolator: values at fixed scale factors (+ features) →
    zero-noise value.

    The network sees the values divided by their largest magnitude ``m`` (and the features
    divided by fixed scales) and predicts ``(y_0 − y_1)/m``, the correction to the λ = 1
    value; the prediction is multiplied back by ``m``. So its output scales with the
    observable, and it starts from the unmitigated value rather than from nothing.

    Use :meth:`train` on arrays (e.g. from :func:`qnoise.mitigation.training_set`),
    :meth:`save` / :meth:`load` (``.pt`` weights + ``.json`` :class:`NeuralMetadata`), and
    :meth:`extrapolate` (the common signature; the scale factors must be the trained ones)
    or :meth:`predict` for batches with features (rows of all of :data:`FEATURES`, as
    :func:`qnoise.mitigation.circuit_features` gives; the model uses the ones it was built
    with).
    """

    def __init__(self, metadata: NeuralMetadata, seed: int = 0) -> None:
        unknown = set(metadata.features) - set(FEATURES)
        if unknown:
            raise ValueError(f"unknown features {sorted(unknown)}; choose from {FEATURES}")
        if len(metadata.scale_factors) < 2:
            raise ValueError("a neural extrapolator needs at least 2 scale factors")
        self.metadata = metadata
        self.minimum_points = len(metadata.scale_factors)
        torch.manual_seed(seed)
        inputs = len(metadata.scale_factors) + len(metadata.features)
        self.network = _mlp(inputs, metadata.hidden)

    @property
    def name(self) -> str:
        return "neural"

    def __repr__(self) -> str:
        m = self.metadata
        return (
            f"NeuralExtrapolator(scale_factors={m.scale_factors}, features={m.features}, "
            f"noise_model={m.noise_model!r}, family={m.family!r})"
        )

    # ------------------------------------------------------------ inputs
    def _inputs(self, values: np.ndarray, features: np.ndarray | None):
        values = np.atleast_2d(np.asarray(values, dtype=float))
        if values.shape[1] != len(self.metadata.scale_factors):
            raise ExtrapolationError(
                f"the model was trained on {len(self.metadata.scale_factors)} scale factors, "
                f"got {values.shape[1]} values"
            )
        if not np.all(np.isfinite(values)):
            raise ExtrapolationError("values must be finite")
        magnitude = np.maximum(np.abs(values).max(axis=1, keepdims=True), 1e-12)
        columns = [values / magnitude]
        if self.metadata.features:
            if features is None:
                raise ExtrapolationError(
                    f"this model needs the circuit features {self.metadata.features}"
                )
            features = np.atleast_2d(np.asarray(features, dtype=float))
            if features.shape != (values.shape[0], len(FEATURES)):
                raise ExtrapolationError(
                    f"features must be rows of {FEATURES} (as circuit_features gives), "
                    f"got shape {features.shape}"
                )
            chosen = features[:, [FEATURES.index(name) for name in self.metadata.features]]
            columns.append(chosen / np.asarray(self.metadata.feature_scale))
        return torch.tensor(np.hstack(columns)), magnitude[:, 0], values[:, 0]

    # ------------------------------------------------------------ training
    def train(
        self,
        values: np.ndarray,
        ideal: np.ndarray,
        features: np.ndarray | None = None,
        *,
        groups: np.ndarray | None = None,
        epochs: int = 400,
        batch_size: int = 256,
        lr: float = 2e-3,
        validation_fraction: float = 0.1,
        seed: int = 0,
        progress: bool = False,
        loss: str = "absolute",
    ) -> dict:
        """Fit to ``values`` (N, S) at the metadata's scale factors with labels ``ideal``
        (N,); returns and stores ``{"train_mae", "validation_mae", "richardson_mae",
        "unmitigated_mae"}`` on the held-out rows (mean absolute errors, units of the values).
        ``loss``: ``"absolute"`` (the default: the network learns the conditional median of
        the correction, robust to shot-noise outliers; ≈ 5 % lower median error than squared
        error on the shipped family) or ``"squared"``.
        With ``groups`` (a circuit id per row) whole circuits are held out."""
        if loss not in ("absolute", "squared"):
            raise ValueError(f"loss must be 'absolute' or 'squared', got {loss!r}")
        values = np.asarray(values, dtype=float)
        ideal = np.asarray(ideal, dtype=float).reshape(-1)
        if self.metadata.features and features is not None and not self.metadata.feature_scale:
            columns = [FEATURES.index(name) for name in self.metadata.features]
            chosen = np.atleast_2d(np.asarray(features, dtype=float))[:, columns]
            self.metadata.feature_scale = np.maximum(np.abs(chosen).max(axis=0), 1.0).tolist()
        inputs, magnitude, noisy = self._inputs(values, features)
        targets = torch.tensor(((ideal - noisy) / magnitude)[:, None])
        rng = np.random.default_rng(seed)
        if groups is None:
            order = rng.permutation(len(ideal))
            held = order[: round(validation_fraction * len(ideal))]
        else:  # hold out whole circuits: no held-out circuit is seen in training
            groups = np.asarray(groups)
            names = rng.permutation(np.unique(groups))
            held_names = names[: max(1, round(validation_fraction * names.size))]
            held = np.flatnonzero(np.isin(groups, held_names))
        fit = np.setdiff1d(np.arange(len(ideal)), held)
        torch.manual_seed(seed)
        optimizer = torch.optim.Adam(self.network.parameters(), lr=lr)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs)
        iterator = range(epochs)
        if progress:
            from tqdm import tqdm

            iterator = tqdm(iterator, desc="training", unit="epoch")
        for _ in iterator:
            shuffled = torch.as_tensor(rng.permutation(fit))
            for start in range(0, len(fit), batch_size):
                rows = shuffled[start : start + batch_size]
                optimizer.zero_grad()
                residual = self.network(inputs[rows]) - targets[rows]
                objective = (residual.abs() if loss == "absolute" else residual**2).mean()
                objective.backward()
                optimizer.step()
            schedule.step()
        report = self._report(values, ideal, features, fit, held)
        self.metadata.validation = report
        return report

    def _report(self, values, ideal, features, fit, held) -> dict:
        predicted = self.predict(values, features)
        factors = self.metadata.scale_factors
        richardson = PolynomialExtrapolator(len(factors) - 1).coefficients(factors)
        rows = held if len(held) else fit
        return {
            "train_mae": float(np.abs(predicted[fit] - ideal[fit]).mean()),
            "validation_mae": float(np.abs(predicted[rows] - ideal[rows]).mean()),
            "richardson_mae": float(np.abs(values[rows] @ richardson - ideal[rows]).mean()),
            "unmitigated_mae": float(np.abs(values[rows, 0] - ideal[rows]).mean()),
            "rows": len(ideal),
        }

    # ------------------------------------------------------------ inference
    def predict(self, values: np.ndarray, features: np.ndarray | None = None) -> np.ndarray:
        """Zero-noise estimates for a batch of value rows (N, S) (and features (N, F))."""
        inputs, magnitude, noisy = self._inputs(values, features)
        with torch.no_grad():
            correction = self.network(inputs)[:, 0].numpy()
        return noisy + correction * magnitude

    def extrapolate(self, scale_factors, values, sigmas=None, features=None):
        x, y, _ = check_points(scale_factors, values, sigmas, self.minimum_points, self.name)
        if not np.allclose(x, self.metadata.scale_factors):
            raise ExtrapolationError(
                f"the model was trained on scale factors {self.metadata.scale_factors}, "
                f"got {x.tolist()}"
            )
        value = float(self.predict(y[None, :], None if features is None else [features])[0])
        return value, float(self.metadata.validation.get("validation_mae", np.nan))

    # ------------------------------------------------------------ files
    def save(self, path: str | Path) -> None:
        """Write ``path`` (``.pt``, the weights) and ``path`` with ``.json`` (metadata),
        each atomically."""
        path = Path(path).with_suffix(".pt")
        weights = io.BytesIO()
        torch.save(self.network.state_dict(), weights)
        atomic_write(path, weights.getvalue())
        atomic_write(
            path.with_suffix(".json"), json.dumps(asdict(self.metadata), indent=2).encode()
        )

    @classmethod
    def load(cls, path: str | Path) -> NeuralExtrapolator:
        """Read a model written by :meth:`save` (give the ``.pt`` or ``.json`` path)."""
        path = Path(path)
        weights, meta = path.with_suffix(".pt"), path.with_suffix(".json")
        for file in (weights, meta):
            if not file.exists():
                raise FileNotFoundError(f"{file} is missing (a model is a .pt and a .json)")
        metadata = NeuralMetadata(**json.loads(meta.read_text(encoding="utf-8")))
        model = cls(metadata)
        model.network.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
        return model


def pretrained(
    noise_model: str, family: str | None = None, scale_factors: Sequence[float] | None = None
) -> NeuralExtrapolator | None:
    """The shipped model for ``noise_model`` (a spec string such as
    ``"fake_mumbai:median"``), if one matches the family and scale factors; else ``None``."""
    directory = Path(__file__).parent / "models"
    for meta in sorted(directory.glob("*.json")):
        metadata = json.loads(meta.read_text(encoding="utf-8"))
        if metadata["noise_model"] != noise_model:
            continue
        if family is not None and metadata["family"] != family:
            continue
        if scale_factors is not None and not np.allclose(
            metadata["scale_factors"], np.asarray(scale_factors, dtype=float)
        ):
            continue
        return NeuralExtrapolator.load(meta)
    return None
