"""``qnoise`` the classification study: classify."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from qnoise.cli.common import progress_bar


def _classify(args: argparse.Namespace) -> int:
    from qnoise.agents.export import check_output_file
    from qnoise.qml.study import (
        classification_study,
        demo_reviews_path,
        format_table,
        plot_study,
        read_table,
    )

    path = demo_reviews_path() if args.data == "demo" else Path(args.data)
    text_column = args.text_column
    if args.data == "demo" and text_column is None:
        text_column = "Review"
    bar = None
    try:
        if args.plot:  # before training, not after it
            check_output_file(args.plot, force=True)
        data, labels = read_table(path, args.label_column, text_column)
        options = {"optimizer": args.optimizer, "epochs": args.epochs, "reps": args.reps,
                   "feature_map": args.feature_map, "ansatz": args.ansatz,
                   "noise": args.noise, "shots": args.shots,
                   "batch_size": args.batch_size}  # fmt: skip
        if not (args.quiet or args.json):  # one tick per optimizer iteration
            total = args.epochs if args.batch_size is None else None
            bar = progress_bar(total, "VQC iterations")
        result = classification_study(
            data, labels, features=args.features, text=text_column is not None,
            vectorizer=args.vectorizer, test_size=args.test_size, seed=args.seed,
            vqc=options, callback=None if bar is None else (lambda *_: bar.update()),
        )  # fmt: skip
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        if bar is not None:
            bar.close()
    if args.plot:
        plot_study(result, args.plot)
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print(f"{path.name}: {result['train_size']} training and {result['test_size']} test "
          f"samples, {result['features']} PCA features, classes {result['classes']}")  # fmt: skip
    print(format_table(result))
    if args.plot:
        print(f"plot: {args.plot}")
    return 0


def add_parsers(commands) -> None:
    """Register this module's commands on the ``qnoise`` subparsers."""
    classify = commands.add_parser(
        "classify", help="VQC against SVM, gradient boosting and random forest on a CSV/TSV"
    )
    classify.add_argument("data", help='CSV or TSV file with a header row, or "demo" (the '
                          "shipped review set)")  # fmt: skip
    classify.add_argument("--label-column", default="Liked", help="label column (default Liked)")
    classify.add_argument("--text-column", help="text column (omit for numeric feature columns)")
    classify.add_argument("--features", type=int, default=5, help="PCA features = qubits (5)")
    classify.add_argument("--vectorizer", choices=("tfidf", "bow"), default="tfidf")
    classify.add_argument("--optimizer", choices=("aqgd", "cobyla", "spsa", "adam"),
                          default="aqgd")  # fmt: skip
    classify.add_argument("--epochs", type=int, default=100, help="passes over the training set")
    classify.add_argument("--batch-size", type=int, help="mini-batch size (default: full set)")
    classify.add_argument("--feature-map", default="zz", choices=("zz", "pauli", "z", "angle"))
    classify.add_argument("--ansatz", default="efficient_su2",
                          choices=("efficient_su2", "real_amplitudes"))  # fmt: skip
    classify.add_argument("--reps", type=int, default=2, help="repetitions of map and ansatz")
    classify.add_argument("--noise", help="noise model, e.g. fake_manila (default: none)")
    classify.add_argument("--shots", type=int, help="shots per sample in training")
    classify.add_argument("--test-size", type=float, default=0.25, help="held-out fraction")
    classify.add_argument("--seed", type=int, default=0)
    classify.add_argument("--plot", help="PNG file: scores per model and the VQC loss curve")
    classify.add_argument("--json", action="store_true", help="print the results as JSON")
    classify.add_argument("--quiet", action="store_true", help="no progress bar")
    classify.set_defaults(handler=_classify)
