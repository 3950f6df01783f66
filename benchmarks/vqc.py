"""Variational quantum classifiers: the local-optimizers study on bundled data sets, and
qnoise's VQC against qiskit-machine-learning's, seconds per epoch, in the same run.

Usage::

    python benchmarks/vqc.py grid [--splits 5] [--datasets breast_cancer,wine]
        [--feature-map angle] [--out docs/results/vqc_grid.json]
    python benchmarks/vqc.py speed [--samples 100] [--epochs-qiskit 3]

``grid``: the study of Joshi et al. (arXiv 2102.08949) on scikit-learn's bundled data sets:
standardised, 5 PCA features scaled to [0, π]; VQC (EfficientSU2, reps 2) trained with AQGD
and COBYLA for 100 and 150 epochs, noiseless and under ``fake_manila``, against an SVM,
gradient boosting and a random forest on the same features; test accuracy and F1 (binary:
of class 1; more classes: macro) as mean ± std over ``--splits`` stratified 75/25 splits
(seeds 0, 1, ...).

``speed``: both libraries train the same classifier (ZZ feature map and EfficientSU2, reps 2,
5 qubits, parity of the bitstring as the class, cross-entropy, the same initial weights) on
the same ``--samples``
breast-cancer samples with COBYLA (one loss evaluation per epoch). qiskit-machine-learning
runs its ``VQC`` on the reference ``StatevectorSampler`` (noiseless) and on Aer's
``SamplerV2`` with the density-matrix method and ``NoiseModel.from_backend(FakeManilaV2())``
(noisy), 1024 shots per circuit, both circuits transpiled to the backend's basis gates
(rz, sx, x, cx) so the noise applies; qnoise runs the same transpiled circuits with its
``fake_manila`` model and exact probabilities. Two optimizers: COBYLA (one loss evaluation
per epoch; qiskit-machine-learning's epochs are counted by its callback) and AQGD (an epoch
is a loss and its gradient: the parameter-shift rule on the loss, 2P + 1 loss evaluations,
in qiskit-machine-learning; one reverse-mode sweep per sample in qnoise). Seconds per epoch
are steady-state: the time between consecutive iteration callbacks (qiskit-machine-learning's
COBYLA and both of qnoise's optimizers), or the whole fit for qiskit-machine-learning's one
AQGD epoch. qnoise's set-up before its first callback (compilation, the feature-map states,
the first epoch) is its own column.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer, load_iris, load_wine
from sklearn.decomposition import PCA
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from qnoise.files import atomic_write
from qnoise.qml import VQC
from qnoise.qml.study import BASELINES, baseline

DATASETS = {"breast_cancer": load_breast_cancer, "wine": load_wine, "iris": load_iris}


def features(X_train, X_test, count: int, high: float = np.pi):
    prepare = make_pipeline(StandardScaler(), PCA(min(count, X_train.shape[1])),
                            MinMaxScaler((0.0, high)))  # fmt: skip
    return prepare.fit_transform(X_train), prepare.transform(X_test)


def f1(y_true, y_pred) -> float:
    average = "binary" if len(np.unique(y_true)) == 2 else "macro"
    return float(f1_score(y_true, y_pred, average=average))


def grid(args) -> dict:
    results: dict = {}
    for name in args.datasets.split(","):
        X, y = DATASETS[name](return_X_y=True)
        for split in range(args.splits):
            tr, te = train_test_split(np.arange(len(y)), test_size=0.25, random_state=split,
                                      stratify=y)  # fmt: skip
            Xtr, Xte = features(X[tr], X[te], 5)
            models = {m: baseline(m, split) for m in BASELINES}
            for noise in ("none", "fake_manila"):
                for optimizer in ("aqgd", "cobyla"):
                    for epochs in (100, 150):
                        models[f"vqc {optimizer} {epochs} {noise}"] = VQC(
                            feature_map=args.feature_map, optimizer=optimizer, epochs=epochs,
                            noise=None if noise == "none" else noise, seed=split,
                        )  # fmt: skip
            for label, model in models.items():
                start = time.perf_counter()
                model.fit(Xtr, y[tr])
                seconds = time.perf_counter() - start
                predicted = model.predict(Xte)
                entry = results.setdefault(name, {}).setdefault(label, [])
                entry.append({"accuracy": float(accuracy_score(y[te], predicted)),
                              "f1": f1(y[te], predicted), "seconds": seconds})  # fmt: skip
                print(f"{name} split {split} {label}: {entry[-1]}", flush=True)
    return results


def print_grid(results: dict) -> None:
    for name, models in results.items():
        print(f"\n{name}\n")
        print("| model | test accuracy | test F1 | fit s |\n|---|---|---|---|")
        for label, runs in models.items():
            acc = np.array([r["accuracy"] for r in runs])
            score = np.array([r["f1"] for r in runs])
            secs = np.mean([r["seconds"] for r in runs])
            print(f"| {label} | {acc.mean():.3f} ± {acc.std():.3f} | "
                  f"{score.mean():.3f} ± {score.std():.3f} | {secs:.1f} |")  # fmt: skip


def speed(args) -> None:
    from qiskit import transpile
    from qiskit.circuit.library import efficient_su2, zz_feature_map
    from qiskit.primitives import StatevectorSampler
    from qiskit_aer.noise import NoiseModel
    from qiskit_aer.primitives import SamplerV2 as AerSampler
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2
    from qiskit_machine_learning.algorithms import VQC as QiskitVQC
    from qiskit_machine_learning.optimizers import AQGD as QiskitAQGD
    from qiskit_machine_learning.optimizers import COBYLA as QiskitCOBYLA

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    X, y = load_breast_cancer(return_X_y=True)
    X, y = features(X[: args.samples], X[:1], 5, high=1.0)[0], y[: args.samples]
    noise_model = NoiseModel.from_backend(FakeManilaV2())
    basis = noise_model.basis_gates
    feature_map = transpile(zz_feature_map(5, reps=2), basis_gates=basis, optimization_level=0)
    ansatz = transpile(efficient_su2(5, reps=2), basis_gates=basis, optimization_level=0)
    parity = lambda b: bin(b).count("1") % 2  # noqa: E731
    samplers = {
        "noiseless": StatevectorSampler(default_shots=1024, seed=1),
        "fake_manila": AerSampler(default_shots=1024, seed=1, options={"backend_options": {
            "method": "density_matrix", "noise_model": noise_model}}),
    }  # fmt: skip
    print(f"\n{args.samples} samples, 5 qubits, ZZ feature map + EfficientSU2 (reps 2); "
          "seconds per epoch\n")  # fmt: skip
    print(
        "| noise | optimizer | qiskit-machine-learning s | qnoise s | ratio | "
        "qnoise set-up s | qnoise train acc | qiskit-ml train acc |"
    )
    print("|---|---|---|---|---|---|---|---|")
    start_point = np.random.default_rng(0).uniform(-np.pi, np.pi, ansatz.num_parameters)
    for noise, sampler in samplers.items():
        qnoise_noise = None if noise == "noiseless" else noise
        for optimizer, theirs_optimizer in (
            ("cobyla", QiskitCOBYLA(maxiter=args.epochs_qiskit)),
            ("aqgd", QiskitAQGD(maxiter=1)),
        ):
            stamps: list[float] = []
            theirs = QiskitVQC(
                sampler=sampler, feature_map=feature_map, ansatz=ansatz,
                optimizer=theirs_optimizer, interpret=parity, output_shape=2,
                initial_point=start_point,
                callback=lambda w, loss, seen=stamps: seen.append(time.perf_counter()),
            )  # fmt: skip
            start = time.perf_counter()
            theirs.fit(X, y)
            if optimizer == "cobyla":  # one loss per epoch, between consecutive callbacks
                their_epoch = (stamps[-1] - stamps[0]) / (len(stamps) - 1)
            else:  # the whole fit is one epoch: 2P + 1 losses
                their_epoch = time.perf_counter() - start
            our_stamps: list[float] = []
            ours = VQC(
                feature_map=feature_map, ansatz=ansatz, optimizer=optimizer,
                epochs=args.epochs_qnoise, noise=qnoise_noise, initial_point=start_point,
                callback=lambda *_, seen=our_stamps: seen.append(time.perf_counter()),
            )  # fmt: skip
            start = time.perf_counter()
            ours.fit(X, y)
            setup = our_stamps[0] - start  # compilation, feature-map states, first epoch
            our_epoch = (our_stamps[-1] - our_stamps[0]) / (len(our_stamps) - 1)
            print(
                f"| {noise} | {optimizer} | {their_epoch:.3f} | {our_epoch:.4f} | "
                f"{their_epoch / our_epoch:.0f}x | {setup:.2f} | {ours.score(X, y):.2f} | "
                f"{theirs.score(X, y):.2f} |",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    g = commands.add_parser("grid")
    g.add_argument("--splits", type=int, default=5)
    g.add_argument("--datasets", default="breast_cancer,wine")
    g.add_argument("--feature-map", default="angle")
    g.add_argument("--out", help="JSON file of every split's scores")
    s = commands.add_parser("speed")
    s.add_argument("--samples", type=int, default=100)
    s.add_argument("--epochs-qiskit", type=int, default=3)
    s.add_argument("--epochs-qnoise", type=int, default=30)
    args = parser.parse_args()
    if args.command == "speed":
        speed(args)
        return
    results = grid(args)
    if args.out:
        atomic_write(Path(args.out), json.dumps(results, indent=1).encode())
    print_grid(results)


if __name__ == "__main__":
    main()
