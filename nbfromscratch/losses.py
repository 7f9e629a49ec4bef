"""Loss functions: a number saying how wrong the predictions are, and its gradient.

Derived in chapter 4, *Losses* (``chapters/04_losses``).

A loss is called like a function, ``loss = loss_fn(pred, target)``, which returns a Python
``float`` and caches what :meth:`Loss.backward` needs; ``loss_fn.backward()`` then returns
``dL/dpred`` with the shape and dtype of ``pred``. Targets are converted to ``pred``'s dtype
(they are data, not parameters), so a float32 model gets float32 gradients.

``reduction="mean"`` averages over samples (over all elements for ``MSELoss``, like
PyTorch); ``reduction="sum"`` adds them up. The gradient is scaled to match.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import functional as F
from ._labels import check_labels
from ._validation import as_array, check_array, check_choice, describe
from .exceptions import BackwardBeforeForwardError, EmptyInputError, LabelError, ShapeError

__all__ = ["Loss", "MSELoss", "CrossEntropyLoss", "BCEWithLogitsLoss"]

_REDUCTIONS = ("mean", "sum")


class Loss:
    """Base class of the losses.

    Derived in chapter 4, *Losses* (``chapters/04_losses``).

    Parameters
    ----------
    reduction : {"mean", "sum"}
        How per-sample losses are combined.
    """

    def __init__(self, reduction: str = "mean") -> None:
        self.reduction = check_choice(reduction, _REDUCTIONS, f"{type(self).__name__}: reduction")
        self._grad: np.ndarray | None = None

    def __call__(self, pred: np.ndarray, target: Any) -> float:
        # Logits near the float range may overflow to inf on the way: the loss is then inf
        # (fit reports it precisely), without NumPy's RuntimeWarnings.
        with np.errstate(over="ignore", invalid="ignore"):
            return self.forward(pred, target)

    def forward(self, pred: np.ndarray, target: Any) -> float:
        """The loss value for a batch (see the subclass for shapes)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement forward()")

    def backward(self) -> np.ndarray:
        """``dL/dpred`` for the last :meth:`forward`, same shape and dtype as ``pred``.

        Raises
        ------
        BackwardBeforeForwardError
            :meth:`forward` has not been called yet.
        """
        if self._grad is None:
            raise BackwardBeforeForwardError(f"{describe(self)}: backward() called before forward()")
        return self._grad

    def _pred(self, pred: Any, ndim: int | tuple[int, ...]) -> np.ndarray:
        pred = check_array(pred, f"{describe(self)}: pred", ndim=ndim, dtype_kind="f")
        if pred.size == 0:  # the mean of no losses is meaningless: an empty batch is a bug
            raise EmptyInputError(f"{describe(self)}: pred is empty (shape {pred.shape})")
        return pred

    def _float_target(self, target: Any, pred: np.ndarray) -> np.ndarray:
        """``target`` as an array of ``pred``'s dtype and shape ((n,) accepted for (n, 1))."""
        target = check_array(target, f"{describe(self)}: target", ndim=None, dtype_kind="biuf")
        if target.shape != pred.shape:
            if target.ndim == 1 and pred.shape == (target.shape[0], 1):
                target = target[:, None]
            else:
                raise ShapeError(
                    f"{describe(self)}: target has shape {target.shape}, "
                    f"expected {pred.shape} like pred"
                )
        return target.astype(pred.dtype, copy=False)

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments as a JSON-able dict."""
        return {"type": type(self).__name__, "reduction": self.reduction}

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"

    def __repr__(self) -> str:
        return describe(self)


class MSELoss(Loss):
    """Mean squared error ``mean((pred - target)^2)`` over all elements.

    Derived in chapter 4, *Losses* (``chapters/04_losses``).

    Shapes
    ------
    pred : (n,) or (n, k) float; target : same shape (or (n,) when pred is (n, 1)).
    """

    def forward(self, pred: np.ndarray, target: Any) -> float:
        pred = self._pred(pred, (1, 2))
        diff = pred - self._float_target(target, pred)
        flat = diff.ravel()
        total = float(flat @ flat)
        scale = 1.0 / diff.size if self.reduction == "mean" and diff.size else 1.0
        # dL/dpred = 2 (pred - target) / N   (N = number of elements; 1 for "sum")   (chapter 4)
        diff *= 2 * scale
        self._grad = diff
        return total * scale


class CrossEntropyLoss(Loss):
    """Softmax cross-entropy from logits: ``-sum_c y_c log softmax(z)_c`` per sample.

    Takes logits (no softmax layer before it): the log-softmax inside is stable for any
    finite logits, and the fused gradient is simply ``(softmax(z) - y) / n``.

    Derived in chapter 4, *Losses* (``chapters/04_losses``).

    Shapes
    ------
    pred : (n, C) float logits.
    target : (n,) integer labels in ``0..C-1``, or (n, C) one-hot / probabilities.
    """

    def forward(self, pred: np.ndarray, target: Any) -> float:
        z = self._pred(pred, 2)
        n, n_classes = z.shape
        if not isinstance(target, np.ndarray):  # (the message is only built when needed)
            target = as_array(target, f"{describe(self)}: target")
        logp = F.log_softmax(z, axis=1)
        if target.ndim == 1:
            if target.shape[0] != n:
                raise ShapeError(
                    f"{describe(self)}: target has {target.shape[0]} labels for {n} samples"
                )
            labels = check_labels(target, n_classes, f"{describe(self)}: target")
            rows = np.arange(n)
            total = -float(logp[rows, labels].sum())
            # dL/dz = softmax(z) - onehot(y)   (chapter 4), divided by n for "mean"
            grad = np.exp(logp)
            grad[rows, labels] -= 1
        else:
            if target.ndim == 2 and target.shape[1] == 1 and n_classes > 1:
                raise ShapeError(
                    f"{describe(self)}: target has shape {target.shape}; class labels must "
                    f"have shape (n,): pass target.ravel() (or one-hot rows of shape (n, {n_classes}))"
                )
            probs = self._float_target(target, z)
            if probs.min() < 0 or probs.max() > 1:
                raise LabelError(
                    f"{describe(self)}: target probabilities must lie in [0, 1] (one-hot rows "
                    "or class probabilities), or pass integer labels of shape (n,)"
                )
            total = -float(np.vdot(probs, logp))
            if not math.isfinite(total):  # 0 * log(0) is 0 here, not 0 * -inf = NaN
                with np.errstate(invalid="ignore", over="ignore"):
                    total = -float(np.sum(probs * logp, where=probs > 0))
            # dL/dz = softmax(z) * sum_c y_c - y, which is softmax(z) - y for rows summing to 1
            grad = np.exp(logp)
            grad *= probs.sum(axis=1, keepdims=True)
            grad -= probs
        scale = 1.0 / n if self.reduction == "mean" and n else 1.0
        if scale != 1.0:
            grad *= scale
        self._grad = grad
        return total * scale


class BCEWithLogitsLoss(Loss):
    """Binary cross-entropy from logits: ``-y log sigmoid(z) - (1 - y) log(1 - sigmoid(z))``.

    Computed in the overflow-free form ``max(z, 0) - z y + log1p(exp(-|z|))``.

    Derived in chapter 4, *Losses* (``chapters/04_losses``).

    Shapes
    ------
    pred : (n,) or (n, 1) float logits ((n, k) works too: k independent binary outputs).
    target : same shape (or (n,) for (n, 1)), values in ``[0, 1]`` (labels 0/1 or probabilities).
    """

    def forward(self, pred: np.ndarray, target: Any) -> float:
        z = self._pred(pred, (1, 2))
        y = self._float_target(target, z)
        if y.size and (y.min() < 0 or y.max() > 1):
            raise LabelError(f"{describe(self)}: target values must lie in [0, 1]")
        per_elem = np.maximum(z, 0)
        per_elem -= z * y
        per_elem += np.log1p(np.exp(-np.abs(z)))
        total = float(per_elem.sum())
        scale = 1.0 / z.size if self.reduction == "mean" and z.size else 1.0
        # dL/dz = sigmoid(z) - y   (chapter 4), divided by N for "mean"
        grad = F.sigmoid(z)
        grad -= y
        if scale != 1.0:
            grad *= scale
        self._grad = grad
        return total * scale
