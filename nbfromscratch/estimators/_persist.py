"""A fitted estimator as JSON (its parameters and fitted attributes), for ``nbf.save``.

The network itself (``model_``) is saved like any model; this adds what makes the
estimator usable again: its constructor parameters, ``classes_`` (labels of any of the
types a classifier accepts: strings, ints, bools, integral floats), ``n_features_in_``, the
training history and the other fitted attributes. No pickle: labels are JSON values.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..exceptions import ArgumentTypeError, WeightsFileError
from .base import BaseMLP
from .mlp import MLPClassifier, MLPRegressor

__all__ = ["estimator_to_json", "estimator_from_json"]

_CLASSES = {"MLPClassifier": MLPClassifier, "MLPRegressor": MLPRegressor}
_NUMBERS = ("n_features_in_", "n_iter_", "loss_", "n_outputs_", "_y_was_1d")


def estimator_to_json(est: BaseMLP) -> dict[str, Any]:
    """``{"type", "params", "attributes", "history"}``; the caller saves ``est.model_``."""
    if type(est).__name__ not in _CLASSES or not hasattr(est, "model_"):
        raise ArgumentTypeError(f"save: expected a fitted MLPClassifier or MLPRegressor, got {est!r}")
    params = est.get_params()
    params["hidden_layer_sizes"] = _jsonable_sizes(params["hidden_layer_sizes"])
    params["dtype"] = np.dtype(params["dtype"]).name
    if isinstance(params["random_state"], np.random.Generator):
        params["random_state"] = None  # a Generator's stream is not a parameter to restore
    elif params["random_state"] is not None:
        params["random_state"] = int(params["random_state"])
    attributes: dict[str, Any] = {
        k: getattr(est, k).item() if isinstance(getattr(est, k), np.generic) else getattr(est, k)
        for k in _NUMBERS if hasattr(est, k)
    }
    if hasattr(est, "classes_"):
        attributes["classes_"] = _labels_to_json(est.classes_)
    history = est.history_
    return {
        "type": type(est).__name__,
        "params": params,
        "attributes": attributes,
        "history": {
            "columns": {c: [v.item() if isinstance(v, np.generic) else v for v in history[c]]
                        for c in history.columns},
            "attrs": {k: v.item() if isinstance(v, np.generic) else v
                      for k, v in history.attrs.items()},
        },
    }


def _jsonable_sizes(sizes: Any) -> Any:
    if isinstance(sizes, (int, np.integer)):
        return int(sizes)
    return [int(s) for s in sizes]


def _labels_to_json(classes: np.ndarray) -> dict[str, Any]:
    if classes.dtype.kind not in "biufUO":
        raise ArgumentTypeError(f"save: class labels of dtype {classes.dtype} cannot be saved")
    values = classes.tolist()
    if not all(isinstance(v, (str, int, float, bool)) for v in values):
        kinds = sorted({type(v).__name__ for v in values})
        raise ArgumentTypeError(
            f"save: class labels must be strings or numbers to be saved, found {kinds}"
        )
    return {"values": values, "dtype": classes.dtype.str}


def estimator_from_json(path: Any, spec: Any, model: Any) -> BaseMLP:
    """Rebuild the estimator described by ``spec`` around the loaded network ``model``."""
    try:
        cls = _CLASSES[spec["type"]]
        est = cls()
        params = dict(spec["params"])
        if isinstance(params.get("hidden_layer_sizes"), list):
            params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
        est.set_params(**params)
        attributes = dict(spec["attributes"])
        for key, value in attributes.items():
            if key not in (*_NUMBERS, "classes_"):
                raise ValueError(f"unknown attribute {key!r}")
            if key == "classes_":
                value = _labels_from_json(value)
            elif isinstance(value, bool) != (key == "_y_was_1d") or \
                    not isinstance(value, (int, float, bool)):
                raise ValueError(f"attribute {key} is {value!r}")
            setattr(est, key, value)
        required = {"MLPClassifier": ("classes_", "n_features_in_"),
                    "MLPRegressor": ("n_outputs_", "_y_was_1d", "n_features_in_")}[spec["type"]]
        if not all(hasattr(est, k) for k in required):
            raise ValueError(f"{spec['type']} needs the attributes {', '.join(required)}")
        history = spec["history"]
        columns = {str(k): list(v) for k, v in dict(history["columns"]).items()}
        if not all(isinstance(x, (int, float)) for v in columns.values() for x in v):
            raise ValueError("the history holds values that are not numbers")
        attrs = dict(history["attrs"])
        import pandas as pd

        est.history_ = pd.DataFrame(columns)
        est.history_.attrs.update(attrs)
        params = model.parameters()
        n_out = len(est.classes_) if hasattr(est, "classes_") else getattr(est, "n_outputs_", None)
        fits = isinstance(est.n_features_in_, int) and params and n_out is not None \
            and params[0].shape[0] == est.n_features_in_ and params[-1].shape[-1] == n_out
    except Exception as err:  # noqa: BLE001 - a damaged description of any kind
        raise WeightsFileError(f"{path}: cannot rebuild the saved estimator ({err!r})") from None
    if not fits:
        raise WeightsFileError(
            f"{path}: the estimator's n_features_in_/classes_ do not fit its network"
        )
    est.model_ = model
    return est


def _labels_from_json(spec: Any) -> np.ndarray:
    dtype = np.dtype(spec["dtype"])
    values = spec["values"]
    if dtype.kind not in "biufUO" or dtype.itemsize > 4096 or not isinstance(values, list) or \
            not all(isinstance(v, (str, int, float, bool)) for v in values):
        raise ValueError(f"class labels {spec!r}")
    return np.array(values, dtype=dtype)
