"""Private: how a model's cosine scores become match probabilities (one rule per model family)."""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

# A result whose match probability is at least this is called a match.
MATCH_PROBABILITY = 0.5
# Where a model folder keeps its fitted calibration (beside its weights).
CALIBRATION_FILE = "calibration.json"
_METHODS = ("sigmoid", "zscore")


def match_words(n: int, total: int | None = None) -> str:
    """How many pictures match, as the app and the command say it.

    ``match_words(1)`` is "1 picture matches", ``match_words(23)`` "23 pictures match",
    ``match_words(1, 50)`` "1 of 50 pictures matches".
    """
    if total is None:
        return "1 picture matches" if n == 1 else f"{n} pictures match"
    return f"1 of {total} pictures matches" if n == 1 else f"{n} of {total} pictures match"


@dataclass(frozen=True)
class Calibration:
    """How cosine scores of one model become match probabilities ``p_match``.

    ``method="sigmoid"``: ``p = sigmoid(scale * cos + bias)``, SigLIP's own rule
    (its learned ``logit_scale`` and ``logit_bias``).
    ``method="zscore"``: each query's scores are first standardised over the whole
    collection, ``z = (cos - mean) / std``, then ``p = sigmoid(scale * z + bias)``.
    A CLIP model has no bias and its cosines shift from query to query, so what
    holds across queries is how far a picture stands out from the rest.

    A calibration may hold a second rule, ``detail``, for text queries that name a
    colour or a count ("a red car"): their right pictures are a few among many of
    the same kind, which all stand out. It has a method of its own: for the course
    CLIP the raw cosine judges such queries better than the z-score.
    :meth:`for_query` picks the rule for a query's words; :meth:`logits` and
    :meth:`probabilities` use the first, the rule for every other query.

    Attributes
    ----------
    method : {"sigmoid", "zscore"}
    scale, bias : float
    source : str
        One line saying where the numbers come from (shown to the user).
    detail : Calibration or None
        The rule for queries that name a detail (None: the same rule for all). A
        mapping with ``method``, ``scale`` and ``bias`` is read as one.
    """

    method: str
    scale: float
    bias: float
    source: str = ""
    detail: "Calibration | None" = None

    def __post_init__(self):
        if self.method not in _METHODS:
            raise ValueError(f"method must be one of {_METHODS}, not {self.method!r}")
        if not (math.isfinite(self.scale) and math.isfinite(self.bias)) or self.scale <= 0:
            raise ValueError(f"scale must be a positive number and bias finite, "
                             f"not {self.scale!r}, {self.bias!r}")
        detail = self.detail
        if isinstance(detail, dict):
            detail = Calibration(**detail)
        if detail is not None and (not isinstance(detail, Calibration)
                                   or detail.detail is not None):
            raise ValueError(f"detail must be a Calibration with one rule, not {self.detail!r}")
        object.__setattr__(self, "detail", detail)

    def for_query(self, text: str | None) -> "Calibration":
        """The rule for one query: the ``detail`` one when ``text`` names a colour or a count.

        Parameters
        ----------
        text : str or None
            The query's words; None or "" for a picture query (the general rule).

        Returns
        -------
        Calibration
            A calibration with a single rule (``detail`` None).
        """
        from ._detail import names_a_detail

        if self.detail is None:
            return self
        if names_a_detail(text):
            return replace(self.detail, source=f"{self.source}; the rule for queries that "
                                               "name a colour or a count")
        return replace(self, detail=None)

    def cut(self) -> str:
        """Where a match starts, in words: "z >= 1.44" or "cosine >= 0.509"."""
        measure = "z" if self.method == "zscore" else "cosine"
        return f"{measure} >= {-self.bias / self.scale:.3g}"

    def logits(self, scores: np.ndarray, collection: np.ndarray | None = None) -> np.ndarray:
        """The match logits of ``scores`` (a query's cosines; rows: queries).

        Parameters
        ----------
        scores : np.ndarray, (n,) or (q, n)
            The cosines to judge.
        collection : np.ndarray, optional
            The same queries' cosines against every picture of the collection
            (default: ``scores`` itself); "zscore" standardises on them.

        Returns
        -------
        np.ndarray, the shape of ``scores``.
        """
        scores = np.asarray(scores, np.float64)
        if self.method == "sigmoid":
            return self.scale * scores + self.bias
        z = standardise(scores, scores if collection is None else collection)
        return self.scale * z + self.bias

    def probabilities(self, scores, collection=None) -> np.ndarray:
        """``sigmoid(logits)``: each score's probability of being a match (see :meth:`logits`)."""
        return _sigmoid(self.logits(scores, collection))

    def query_probabilities(self, queries, scores) -> np.ndarray:
        """Each text query's scores through its own rule (:meth:`for_query`).

        Parameters
        ----------
        queries : sequence of str, length q
        scores : np.ndarray, (q, n)
            Each query's cosines against the whole collection.
        """
        scores = np.asarray(scores, np.float64)
        if len(queries) != len(scores):
            raise ValueError(f"{len(queries)} queries but {len(scores)} rows of scores")
        return np.stack([self.for_query(q).probabilities(row) for q, row in zip(queries, scores)]) \
            if len(scores) else np.zeros_like(scores)

    def save(self, path, weights_sha256: str = "") -> None:
        """Write the calibration as JSON, with the hash of the weights it was fitted to."""
        data = dict(asdict(self), weights_sha256=weights_sha256)
        if self.detail is None:
            del data["detail"]
        else:
            data["detail"] = {key: data["detail"][key] for key in ("method", "scale", "bias")}
        Path(path).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path, weights_sha256: str | None = None) -> "Calibration | None":
        """Read a saved calibration; None when it is missing or made for other weights.

        Raises
        ------
        ValueError
            The file exists but is not a calibration.
        """
        path = Path(path)
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            saved_for = data.pop("weights_sha256", "")
            calibration = cls(**data)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, TypeError,
                AttributeError, ValueError) as err:
            raise ValueError(f"{path} is not a calibration file ({err})") from err
        if weights_sha256 is not None and saved_for != weights_sha256:
            return None
        return calibration


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, np.float64)))   # overflow-free


def standardise(scores: np.ndarray, collection: np.ndarray) -> np.ndarray:
    """``(scores - mean) / std`` with the mean and std of each query's ``collection`` row."""
    scores = np.asarray(scores, np.float64)
    collection = np.asarray(collection, np.float64)
    axis = -1
    mean = collection.mean(axis=axis, keepdims=True)
    std = collection.std(axis=axis, keepdims=True)
    return (scores - mean) / np.maximum(std, 1e-6)


def fit_logistic(x: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None,
                 steps: int = 200) -> tuple[float, float]:
    """``(scale, bias)`` of the one-feature logistic regression ``p = sigmoid(scale*x + bias)``.

    Newton's method on the (weighted) log-loss, with a tiny ridge so that
    perfectly separated data still gives a finite answer (:func:`fit_logistic_features`).

    Parameters
    ----------
    x : np.ndarray, (m,)
    y : np.ndarray of bool, (m,)
    weight : np.ndarray, optional
        One weight per example (e.g. to give each query the same total weight).
    """
    scale, bias = fit_logistic_features(np.asarray(x, np.float64).reshape(-1, 1), y, weight, steps)
    return float(scale), float(bias)


def fit_logistic_features(x: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None,
                          steps: int = 200) -> np.ndarray:
    """Coefficients and bias of ``p = sigmoid(x @ coef + bias)``, fitted as :func:`fit_logistic`.

    Parameters
    ----------
    x : np.ndarray, (m, f)
        One row of f features per example.
    y : np.ndarray of bool, (m,)
    weight : np.ndarray, optional
        One weight per example.

    Returns
    -------
    np.ndarray, (f + 1,)
        The f coefficients, then the bias (the ridge spares the bias).
    """
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64).ravel()
    w = np.ones(len(x)) if weight is None else np.asarray(weight, np.float64).ravel()
    if not (0 < y.sum() < len(y)):
        raise ValueError("fitting a calibration needs both matching and other pictures")
    X = np.concatenate([x, np.ones((len(x), 1))], axis=1)
    theta = np.zeros(X.shape[1])
    ridge = 1e-4 * w.sum()
    spare_bias = np.r_[np.ones(x.shape[1]), 0.0]
    for _ in range(steps):
        p = _sigmoid(X @ theta)
        grad = X.T @ (w * (p - y)) + ridge * spare_bias * theta
        hess = ((X * (w * p * (1 - p))[:, None]).T @ X
                + ridge * np.diag(np.r_[spare_bias[:-1], 1e-9]))
        step = np.linalg.solve(hess, grad)
        theta -= step
        if np.abs(step).max() < 1e-9:
            break
    return theta


def weights_sha256(model_dir) -> str:
    """SHA-256 of a model folder's weights file, so a calibration knows what it was fitted to."""
    for name in ("model.safetensors", "pytorch_model.bin"):
        path = Path(model_dir) / name
        if path.is_file():
            digest = hashlib.sha256()
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
            return digest.hexdigest()
    return ""
