"""Train and ship the pre-trained neural extrapolators (``qnoise/mitigation/models``).

Usage::

    python -m qnoise.mitigation.pretrain [--noise fake_mumbai:median] [--out DIR]

For each noise model: the family of arXiv:2403.07025, the RY-RZ CNOT-ladder ansatz on 2–4
qubits with 1–3 layers measured in Z⊗…⊗Z; 12 000 random circuits per shape, values at
λ = 1, 2, 3 with shot counts drawn from {exact, 10⁵, 10⁴, 10³}; features: qubits, gates,
CNOTs, depth, log10 shots; absolute-error loss; 10 % of the circuits held out.
Deterministic (seeded), about three minutes per model on one core. (A model trained on
random Pauli sums as well, an earlier version, was 1.4× better than linear extrapolation on
this family with 10⁴ shots; 3000 circuits per shape gave 1.99×; this one is 2.0× better, see
``docs/benchmarks.md``.)
"""

from __future__ import annotations

import argparse
from pathlib import Path

from qnoise.mitigation.neural import FEATURES, NeuralExtrapolator, NeuralMetadata
from qnoise.mitigation.training_data import FAMILY, FAMILY_OBSERVABLE, training_set

MODELS = Path(__file__).parent / "models"
DEFAULT_NOISE = ("fake_mumbai:median",)
SCALE_FACTORS = (1.0, 2.0, 3.0)
SHOTS = (None, 100_000, 10_000, 1_000)
SETTINGS = {"qubits": (2, 3, 4), "layers": (1, 2, 3), "circuits_per_shape": 12_000,
            "observables_per_circuit": 1}  # fmt: skip


def model_path(noise: str, directory: Path = MODELS) -> Path:
    """Where the model for ``noise`` lives (``fake_mumbai:median`` → ``fake_mumbai_median``)."""
    return directory / (noise.replace(":", "_").replace(",", "_").replace("=", "") + ".pt")


def pretrain(noise: str, out: Path = MODELS, seed: int = 0, progress: bool = True) -> dict:
    """Generate the data, train, save; returns the held-out report."""
    data = training_set(noise, SCALE_FACTORS, shots=SHOTS, seed=seed, **SETTINGS)
    metadata = NeuralMetadata(
        scale_factors=list(SCALE_FACTORS),
        features=list(FEATURES),
        noise_model=noise,
        family=FAMILY,
        training_set={
            **{k: list(v) if isinstance(v, tuple) else v for k, v in SETTINGS.items()},
            "shots": [s for s in SHOTS],
            "parameters": "uniform in [-pi, pi]",
            "observables": FAMILY_OBSERVABLE,
            "seed": seed,
            "generator": "python -m qnoise.mitigation.pretrain",
            "loss": "absolute error",
        },
    )
    model = NeuralExtrapolator(metadata, seed=seed)
    report = model.train(
        data["values"], data["ideal"], data["features"], groups=data["groups"], epochs=200,
        seed=seed, progress=progress,
    )  # fmt: skip
    model.save(model_path(noise, out))
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--noise", action="append", help="noise model spec (repeatable)")
    parser.add_argument("--out", type=Path, default=MODELS)
    args = parser.parse_args()
    for noise in args.noise or DEFAULT_NOISE:
        report = pretrain(noise, args.out)
        print(f"{noise}: {report}")


if __name__ == "__main__":
    main()
