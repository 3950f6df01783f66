"""The local-optimizers study (Joshi et al., arXiv 2102.08949) as one function: text or
numeric data → features → a VQC and classical baselines on the same split → metrics.

Pipeline (fitted on the training split only): texts are vectorised (TF-IDF or bag of
words), reduced by PCA to ``features`` components and scaled to [0, π]; numeric columns
go straight to PCA (after standardisation). Every model sees the same features.
"""

from __future__ import annotations

import csv
import time
from importlib import resources
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, StandardScaler
from sklearn.svm import SVC

from qnoise.qml.vqc import VQC

BASELINES = ("svm", "gradient_boosting", "random_forest")
VECTORIZERS = ("tfidf", "bow")


def demo_reviews_path() -> Path:
    """The shipped demo set: 200 short restaurant reviews written for qnoise (columns
    ``Review``, ``Liked`` with 1 = liked), the format of the public restaurant-review file."""
    return Path(str(resources.files("qnoise.qml") / "data" / "reviews_demo.tsv"))


def read_table(path, label_column: str, text_column: str | None = None):
    """Read a CSV or TSV file with a header row.

    Returns ``(data, labels)``: ``data`` is a list of texts when ``text_column`` is given,
    else a float array of every other column. The delimiter is a tab for ``.tsv`` files and
    sniffed otherwise; fields are not quote-processed in TSV files (reviews contain quotes).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    with path.open(encoding="utf-8", newline="") as handle:
        sample = handle.read(65536)
        handle.seek(0)
        if path.suffix.lower() == ".tsv":
            reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        else:
            try:
                dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
            except csv.Error:
                dialect = csv.excel
            reader = csv.reader(handle, dialect)
        rows = [row for row in reader if row]
    if len(rows) < 2:
        raise ValueError(f"{path}: needs a header row and data rows")
    header, body = rows[0], rows[1:]
    for name in filter(None, (label_column, text_column)):
        if name not in header:
            raise ValueError(f"{path}: no column {name!r} (columns: {', '.join(header)})")
    widths = {len(row) for row in body}
    if widths != {len(header)}:
        bad = next(i for i, row in enumerate(body, start=2) if len(row) != len(header))
        raise ValueError(f"{path}: line {bad} has a different number of fields than the header")
    label_index = header.index(label_column)
    labels = np.array([row[label_index] for row in body])
    if text_column is not None:
        text_index = header.index(text_column)
        return [row[text_index] for row in body], labels
    columns = [i for i in range(len(header)) if i != label_index]
    try:
        data = np.array([[float(row[i]) for i in columns] for row in body])
    except ValueError as exc:
        raise ValueError(f"{path}: non-numeric feature ({exc}); give --text-column for "
                         "text data") from None  # fmt: skip
    if not np.isfinite(data).all():
        row, column = np.argwhere(~np.isfinite(data))[0]
        raise ValueError(
            f"{path}: line {row + 2}, column {header[columns[column]]!r} is "
            f"{body[row][columns[column]]!r}, not a finite number (drop or impute such rows)"
        )
    return data, labels


def feature_pipeline(features: int, text: bool, vectorizer: str = "tfidf"):
    """The unfitted transformer from raw data to ``features`` angles in [0, π]."""
    if vectorizer not in VECTORIZERS:
        raise ValueError(f"vectorizer: give one of {VECTORIZERS}, got {vectorizer!r}")
    steps = []
    if text:
        vectorise = TfidfVectorizer() if vectorizer == "tfidf" else CountVectorizer()
        dense = FunctionTransformer(_to_dense, accept_sparse=True)
        steps += [vectorise, dense]
    else:
        steps.append(StandardScaler())
    steps += [PCA(n_components=features), MinMaxScaler(feature_range=(0.0, np.pi))]
    return make_pipeline(*steps)


def _to_dense(matrix):
    return matrix.toarray()


def baseline(name: str, seed: int | None):
    """The classical model ``name`` with scikit-learn's defaults."""
    if name == "svm":
        return SVC(random_state=seed)
    if name == "gradient_boosting":
        return GradientBoostingClassifier(random_state=seed)
    if name == "random_forest":
        return RandomForestClassifier(random_state=seed)
    raise ValueError(f"baseline: give one of {BASELINES}, got {name!r}")


def scores(y_true, y_pred, classes) -> dict:
    """Accuracy, precision, recall and F1 (binary: of ``classes[1]``, the positive label;
    more classes: macro averages) and the confusion matrix (rows: true, columns: predicted,
    both in ``classes`` order)."""
    binary = len(classes) == 2
    precision, recall, f1, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=classes, average="binary" if binary else "macro",
        pos_label=classes[-1] if binary else 1, zero_division=0,
    )  # fmt: skip
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=classes).tolist(),
    }


def classification_study(
    data,
    labels,
    *,
    features: int = 5,
    text: bool | None = None,
    vectorizer: str = "tfidf",
    test_size: float = 0.25,
    seed: int | None = 0,
    vqc: dict | None = None,
    baselines=BASELINES,
    callback=None,
) -> dict:
    """Train a :class:`VQC` and the classical ``baselines`` on one stratified split.

    Parameters
    ----------
    data : list of str or array_like, shape (n_samples, n_columns)
        Texts or numeric features.
    labels : array_like
    features : int
        PCA components, one qubit each.
    text : bool, optional
        Whether ``data`` are texts (default: inferred).
    vectorizer : {"tfidf", "bow"}
    test_size : float
        Fraction held out.
    seed : int, optional
        Seeds the split, the VQC and the baselines.
    vqc : dict, optional
        :class:`VQC` arguments (``seed`` defaults to ``seed``).
    callback : callable, optional
        Passed to the VQC (``callback(iteration, weights, loss)``).

    Returns
    -------
    dict
        ``classes``, ``train_size``, ``test_size``, ``features``, ``models`` (name →
        :func:`scores` plus ``seconds`` of training), ``vqc`` (its arguments, ``loss_curve``,
        ``nfev``, ``n_iter``).
    """
    labels = np.asarray(labels)
    if text is None:
        text = len(data) > 0 and isinstance(data[0], str)
    count = len(labels)
    if len(data) != count:
        raise ValueError(f"{len(data)} samples but {count} labels")
    classes = np.unique(labels)
    if classes.size < 2:
        raise ValueError(f"the labels hold one class only ({classes[0]!r})")
    if not (isinstance(features, int) and features >= 1):
        raise ValueError(f"features must be an integer >= 1, got {features!r}")
    indices = np.arange(count)
    train, test = train_test_split(indices, test_size=test_size, random_state=seed,
                                   stratify=labels)  # fmt: skip
    pick = (lambda rows: [data[i] for i in rows]) if text else (lambda rows: np.asarray(data)[rows])
    prepare = feature_pipeline(features, text, vectorizer)
    x_train = prepare.fit_transform(pick(train))
    x_test = prepare.transform(pick(test))
    y_train, y_test = labels[train], labels[test]
    options = {"seed": seed, **(vqc or {})}
    models = {"vqc": VQC(callback=callback, **options)}
    models.update({name: baseline(name, seed) for name in baselines})
    results = {}
    for name, model in models.items():
        start = time.perf_counter()
        model.fit(x_train, y_train)
        seconds = time.perf_counter() - start
        results[name] = {**scores(y_test, model.predict(x_test), classes), "seconds": seconds}
    fitted = models["vqc"]
    return {
        "classes": classes.tolist(),
        "train_size": len(train),
        "test_size": len(test),
        "features": features,
        "models": results,
        "vqc": {
            **{k: v for k, v in fitted.get_params().items() if k != "callback"},
            "loss_curve": fitted.loss_curve_,
            "nfev": fitted.nfev_,
            "n_iter": fitted.n_iter_,
        },
    }


def plot_study(result: dict, path) -> Path:
    """Bar chart of the four scores per model and the VQC's loss curve, saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(result["models"])
    metrics = ("accuracy", "precision", "recall", "f1")
    figure, (bars, curve) = plt.subplots(1, 2, figsize=(11, 4))
    width = 0.8 / len(names)
    for k, name in enumerate(names):
        values = [result["models"][name][m] for m in metrics]
        bars.bar(np.arange(len(metrics)) + k * width, values, width, label=name)
    bars.set_xticks(np.arange(len(metrics)) + 0.4 - width / 2, metrics)
    bars.set_ylim(0, 1)
    bars.set_title(f"test split ({result['test_size']} samples)")
    bars.legend(fontsize=8)
    loss = result["vqc"]["loss_curve"]
    curve.plot(np.arange(1, len(loss) + 1), loss)
    curve.set_xlabel("optimizer iteration")
    curve.set_ylabel("cross-entropy (nats)")
    curve.set_title(f"VQC training ({result['vqc']['optimizer']})")
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def format_table(result: dict) -> str:
    """The scores as a Markdown table, then each model's confusion matrix."""
    lines = [
        "| model | accuracy | precision | recall | F1 | train s |",
        "|---|---|---|---|---|---|",
    ]
    for name, s in result["models"].items():
        lines.append(f"| {name} | {s['accuracy']:.3f} | {s['precision']:.3f} | "
                     f"{s['recall']:.3f} | {s['f1']:.3f} | {s['seconds']:.1f} |")  # fmt: skip
    lines.append("")
    lines.append(f"confusion matrices (rows true, columns predicted; classes {result['classes']}):")
    for name, s in result["models"].items():
        lines.append(f"  {name}: {s['confusion_matrix']}")
    return "\n".join(lines)
