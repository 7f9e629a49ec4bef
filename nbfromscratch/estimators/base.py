"""What ``MLPClassifier`` and ``MLPRegressor`` share: parameters, network building, training.

Derived in chapter 11, *Digits* (``chapters/11_digits``).
"""

from __future__ import annotations

import inspect
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from .._validation import (
    as_array,
    as_float,
    as_rng,
    check_array,
    check_finite,
    check_float_dtype,
    check_nonnegative,
    check_not_empty,
    check_positive_int,
    check_same_length,
    lookup,
    reported_as,
)
from ..callbacks import Plateau
from ..data import train_test_split
from ..exceptions import (
    ArgumentTypeError,
    DTypeError,
    EmptyInputError,
    ParameterError,
    ShapeError,
    UnknownNameError,
)
from ..layers import Linear, Sequential, get_activation
from ..losses import Loss
from ..optim import _OPTIMIZERS, SGD, Optimizer, get_optimizer
from ..training import fit, predict
from ._sklearn import ComplexDataError, not_fitted_error, sklearn_tags

if TYPE_CHECKING:
    import pandas as pd

    from ..layers import Module

__all__ = ["BaseMLP"]



class BaseMLP:
    """Shared parameters, model building and training of the two estimators."""

    #: Whether the early-stopping validation split keeps the class proportions.
    _stratify = False

    def __init__(
        self,
        hidden_layer_sizes: tuple[int, ...] | int = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float = 1e-3,
        batch_size: int | str = 32,
        learning_rate_init: float = 1e-3,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: np.random.Generator | int | None = None,
        tol: float = 1e-4,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        verbose: bool = False,
        dtype: Any = np.float64,
    ) -> None:
        # Stored exactly as given (scikit-learn's convention): checked in fit().
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.verbose = verbose
        self.dtype = dtype

    # -- scikit-learn's parameter protocol ----------------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [name for name in signature.parameters if name != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor parameters and their current values."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> BaseMLP:
        """Set constructor parameters (``est.set_params(alpha=1e-3)``); returns ``self``."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise UnknownNameError(
                    f"{type(self).__name__}: invalid parameter {name!r}; valid parameters "
                    f"are {', '.join(valid)}"
                )
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {
            name: p.default for name, p in inspect.signature(type(self).__init__).parameters.items()
        }
        changed = [
            f"{name}={value!r}" for name, value in self.get_params().items()
            if not _same(value, defaults.get(name))
        ]
        return f"{type(self).__name__}({', '.join(changed)})"

    # -- scikit-learn's other protocols (scikit-learn imported only when it asks) ---------------
    #: "classifier" or "regressor": read by scikit-learn < 1.6 and by ``is_classifier``.
    _estimator_type: str = ""

    def __sklearn_tags__(self) -> Any:
        """The estimator's tags for scikit-learn's tools (called only by scikit-learn)."""
        return sklearn_tags(self._estimator_type, multi_output=self._estimator_type == "regressor")

    def __sklearn_is_fitted__(self) -> bool:
        """What ``sklearn.utils.validation.check_is_fitted`` asks."""
        return hasattr(self, "model_")

    # -- what the subclasses define -------------------------------------------------------------
    def _encode_targets(self, y: np.ndarray) -> tuple[np.ndarray, int]:
        """Targets as the network trains on them, and the number of network outputs."""
        raise NotImplementedError

    def _loss(self) -> Loss:
        raise NotImplementedError

    # -- training -------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any) -> BaseMLP:
        """Build a fresh network and train it on ``X`` (n, n_features) and ``y``.

        Returns
        -------
        self
            Fitted: ``model_`` (the trained ``Sequential``), ``history_`` (the per-epoch
            DataFrame of :func:`~nbfromscratch.training.fit`), ``n_iter_`` (epochs run),
            ``loss_`` (last training loss), ``n_features_in_``.
        """
        self.__dict__.pop("model_", None)  # a failed fit leaves the estimator unfitted
        dtype = check_float_dtype(self.dtype, "dtype")
        X = self._check_X(X, dtype)
        if y is None:  # the wording scikit-learn's tools look for
            raise ShapeError(
                f"{type(self).__name__} requires y to be passed, but the target y is None"
            )
        y = as_array(y, "y")
        check_same_length(X, y)
        targets, n_outputs = self._encode_targets(y)
        check_positive_int(self.max_iter, "max_iter")
        check_positive_int(self.n_iter_no_change, "n_iter_no_change")
        check_nonnegative(self.tol, "tol")
        rng = as_rng(self.random_state, "random_state")
        self.n_features_in_ = X.shape[1]
        model = self._build_model(X.shape[1], n_outputs, dtype, rng)
        optimizer = self._optimizer(model)
        validation = None
        callbacks = []
        if self.early_stopping:
            try:
                X, X_val, targets, y_val = train_test_split(
                    X, targets, test_size=self.validation_fraction, stratify=self._stratify,
                    rng=rng,
                )
            except ParameterError as err:
                raise ParameterError(
                    f"validation_fraction={self.validation_fraction!r} with early_stopping: {err}"
                ) from None
            validation = (X_val, y_val)
        else:
            callbacks.append(Plateau(tol=self.tol, patience=self.n_iter_no_change))
        history = fit(
            model, self._loss(), optimizer, X, targets,
            epochs=self.max_iter,
            batch_size=self._batch_size(len(X)),
            validation_data=validation,
            shuffle=self.shuffle,
            rng=rng,
            progress=self.verbose,
            early_stopping=self.n_iter_no_change if self.early_stopping else None,
            min_delta=self.tol if self.early_stopping else 0.0,
            callbacks=callbacks,
        )
        self.model_ = model  # only now: a fit that raised leaves the estimator unfitted
        self.history_: pd.DataFrame = history
        self.n_iter_ = len(history)
        self.loss_ = float(history["loss"].iloc[-1])
        return self

    def _check_X(self, X: Any, dtype: np.dtype) -> np.ndarray:
        if _is_sparse(X):
            raise ArgumentTypeError(
                f"X: sparse input ({type(X).__name__}) is not supported by "
                f"{type(self).__name__}; pass a dense array, e.g. X.toarray()"
            )
        X = as_array(X, "X")
        if X.dtype.kind == "c":
            raise ComplexDataError("X: Complex data not supported; pass real numbers")
        X = numbers_from_objects(X, "X", dtype)
        if X.ndim == 1:
            raise ShapeError(
                f"X: expected a 2-D array (n_samples, n_features), got 1-D with shape "
                f"{X.shape}. Reshape your data with X.reshape(-1, 1) if it has a single "
                "feature, or X.reshape(1, -1) if it is a single sample"
            )
        X = check_array(as_float(X, "X", dtype=dtype), "X", ndim=2)
        if X.shape[1] == 0:  # the wording scikit-learn's tools look for
            raise EmptyInputError(
                f"X: found array with 0 feature(s) (shape={X.shape}) while a minimum of 1 "
                "is required."
            )
        check_not_empty(X, "X")
        check_finite(X, "X")
        return X

    def _hidden_sizes(self) -> list[int]:
        given = self.hidden_layer_sizes
        try:
            sizes: list[Any] = [given] if isinstance(given, (int, np.integer)) else list(given)
        except TypeError:
            sizes = [None]  # not a sequence: reported below
        if not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0
                   for s in sizes):
            raise ParameterError(
                f"hidden_layer_sizes must be positive ints, got {self.hidden_layer_sizes!r}"
            )
        return [int(s) for s in sizes]

    def _build_model(
        self, n_in: int, n_out: int, dtype: np.dtype, rng: np.random.Generator
    ) -> Sequential:
        """``Linear -> activation -> ... -> Linear``, He init for ReLUs, Glorot otherwise."""
        get_activation(self.activation)  # unknown names fail here, before any work
        relu_like = isinstance(self.activation, str) and self.activation.lower() in ("relu", "leaky_relu")
        init = "he_normal" if relu_like else "xavier_uniform"
        sizes = [n_in, *self._hidden_sizes(), n_out]
        layers: list[Module] = []
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(Linear(fan_in, fan_out, init=init, rng=rng, dtype=dtype))
            if i < len(sizes) - 2:
                layers.append(get_activation(self.activation))
        return Sequential(*layers)

    def _optimizer(self, model: Module) -> Optimizer:
        # The solvers are the optimizer table's names: a new optimizer is a new solver.
        solver = lookup(_OPTIMIZERS, self.solver, f"{type(self).__name__}: solver").__name__.lower()
        lr = self.learning_rate_init
        if isinstance(lr, bool) or not isinstance(lr, (int, float, np.integer, np.floating)) \
                or not 0 < lr < math.inf:
            raise ParameterError(f"learning_rate_init must be > 0, got {self.learning_rate_init!r}")
        params = model.parameters()
        lr, wd = self.learning_rate_init, self.alpha
        # A bad option is the estimator's (alpha, beta_1, ...), not the optimizer's inside.
        est, opt = type(self).__name__, _OPTIMIZERS[solver].__name__
        names = {f"{opt}: weight_decay": f"{est}: alpha", f"{opt}: betas[0]": f"{est}: beta_1",
                 f"{opt}: betas[1]": f"{est}: beta_2", f"{opt}: eps": f"{est}: epsilon",
                 f"{opt}: momentum": f"{est}: momentum", f"{opt}: lr": f"{est}: learning_rate_init"}
        with reported_as(names):
            if solver == "sgd":
                return SGD(params, lr=lr, momentum=self.momentum, weight_decay=wd,
                           nesterov=self.nesterovs_momentum and self.momentum > 0)
            if solver in ("adam", "adamw"):
                return get_optimizer(solver, params, lr=lr, betas=(self.beta_1, self.beta_2),
                                     eps=self.epsilon, weight_decay=wd)
            return get_optimizer(solver, params, lr=lr, weight_decay=wd)

    def _batch_size(self, n_samples: int) -> int:
        if self.batch_size == "auto":
            return min(200, n_samples)  # scikit-learn's rule
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, (int, np.integer)) \
                or self.batch_size < 1:
            raise ParameterError(f"batch_size must be a positive int or 'auto', got {self.batch_size!r}")
        return min(int(self.batch_size), n_samples)

    def _outputs(self, X: Any) -> np.ndarray:
        """Raw network outputs for ``X``, after checking the estimator is fitted."""
        if not hasattr(self, "model_"):
            raise not_fitted_error(
                f"This {type(self).__name__} instance is not fitted yet; call fit(X, y) first"
            )
        X = self._check_X(X, np.dtype(self.model_.dtype))
        if X.shape[1] != self.n_features_in_:
            raise ShapeError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input"
            )
        return predict(self.model_, X)


def numbers_from_objects(x: np.ndarray, name: str, dtype: np.dtype) -> np.ndarray:
    """An object array of numbers (e.g. a pandas object column) as ``dtype``; else ``x``."""
    if x.dtype.kind != "O":
        return x
    try:
        return x.astype(dtype)
    except (TypeError, ValueError) as err:
        raise DTypeError(f"{name}: every entry must be a number ({err})") from None


def _is_sparse(X: Any) -> bool:
    """A SciPy sparse matrix or array, recognised without importing SciPy."""
    return type(X).__module__.startswith("scipy.sparse") or hasattr(X, "tocsr")


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except (ValueError, TypeError):  # e.g. arrays, whose == is elementwise
        return a is b
