"""Loss functions: a number saying how wrong the predictions are, and its gradient.

Derived in chapter 4, *Losses* (``chapters/04_losses``).

The same protocol as the layers: ``loss = loss_fn(pred, target)`` checks and converts its
inputs (``check``) and calls ``forward``, which computes the loss (a Python ``float``) and
saves what ``backward`` needs; ``loss_fn.backward()`` then computes ``dL/dpred``, with the
shape and dtype of ``pred``. So evaluating a loss costs nothing for gradients. ``fit`` checks
the targets once and calls ``forward`` batch after batch. Targets are converted to ``pred``'s
dtype (they are data, not parameters), so a float32 model gets float32 gradients.

``reduction="mean"`` averages over samples (over all elements for ``MSELoss`` and
``BCEWithLogitsLoss``, like PyTorch); ``reduction="sum"`` adds them up. ``Loss._scale`` is
that choice, for the loss and its gradient alike.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import functional as F
from ._constants import ones, row_starts
from ._labels import check_labels
from ._validation import as_array, check_array, check_choice, describe
from .exceptions import BackwardBeforeForwardError, EmptyInputError, LabelError, ShapeError
from .layers._checks import seen

__all__ = ["Loss", "MSELoss", "CrossEntropyLoss", "BCEWithLogitsLoss"]

_REDUCTIONS = ("mean", "sum")


class Loss:
    """Base class: ``loss_fn(pred, target)`` checks its inputs, then :meth:`forward` computes.

    Derived in chapter 4, *Losses* (``chapters/04_losses``).
    """

    def __init__(self, reduction: str = "mean") -> None:
        self.reduction = check_choice(reduction, _REDUCTIONS, f"{type(self).__name__}: reduction")
        self._saved: tuple[Any, ...] | None = None

    def __call__(self, pred: Any, target: Any) -> float:
        """Check and convert ``pred`` and ``target`` (once, here), then :meth:`forward`."""
        pred, target = self.check(pred, target)
        # Values near the float range may overflow to inf on the way: the loss is then inf
        # (fit says where, precisely), without NumPy's RuntimeWarnings.
        with np.errstate(over="ignore", invalid="ignore"):
            return self.forward(pred, target)

    def check(self, pred: Any, target: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(pred, target)`` as arrays :meth:`forward` can use, or an error naming what is wrong.

        This default only makes arrays; the package's losses check shapes, dtypes and labels.
        """
        return as_array(pred, f"{describe(self)}: pred"), as_array(target, f"{describe(self)}: target")

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        """The loss for a batch of checked arrays; saves what :meth:`backward` needs."""
        raise NotImplementedError(f"{type(self).__name__} does not implement forward()")

    def backward(self) -> np.ndarray:
        """``dL/dpred`` for the last :meth:`forward`, same shape and dtype as ``pred``.

        The package's losses compute it here, from what ``forward`` saved. A small loss of
        your own may instead store it as ``self._grad`` in ``forward`` and inherit this.
        """
        grad = getattr(self, "_grad", None)
        if grad is None:
            raise BackwardBeforeForwardError(f"{describe(self)}: backward() called before forward()")
        return grad

    def _scale(self, count: int) -> float:
        """The reduction, in one place: ``1/count`` for "mean" (loss and gradient alike)."""
        return 1.0 / count if self.reduction == "mean" else 1.0

    def _load(self) -> tuple[Any, ...]:
        if self._saved is None:
            raise BackwardBeforeForwardError(f"{describe(self)}: backward() called before forward()")
        return self._saved

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
                self._shape_error(target, pred)
        return target.astype(pred.dtype, copy=False)

    def _checked(self, pred: Any, target: Any) -> tuple[np.ndarray, np.ndarray]:
        """forward's guard: arrays of equal shapes pass for the price of a tuple comparison;
        anything else goes through :meth:`check` (broadcasting (n, 1) against (n,) would
        silently give an (n, n) loss)."""
        if isinstance(pred, np.ndarray) and isinstance(target, np.ndarray) \
                and target.shape == pred.shape and pred.dtype == target.dtype:
            return pred, target
        return self.check(pred, target)

    def _shape_error(self, target: np.ndarray, pred: np.ndarray) -> None:
        raise ShapeError(
            f"{describe(self)}: target has shape {target.shape}, expected {pred.shape} like pred"
        )

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

    Shapes: ``pred`` (n,) or (n, k) float; ``target`` the same shape ((n,) for (n, 1)).
    """

    def check(self, pred: Any, target: Any) -> tuple[np.ndarray, np.ndarray]:
        pred = self._pred(pred, (1, 2))
        return pred, self._float_target(target, pred)

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        pred, target = self._checked(pred, target)
        with np.errstate(over="ignore", invalid="ignore"):  # as in __call__
            diff = (pred - target).ravel()
            # L = (1/N) sum (P - Y)^2, N = number of elements   (4.1)
            total = float(diff @ diff)
        self._saved = (diff, pred.shape)
        return total * self._scale(diff.size)

    def backward(self) -> np.ndarray:
        diff, shape = self._load()
        # dL/dP = (2/N) (P - Y)   (4.2)
        return (diff * (2 * self._scale(diff.size))).reshape(shape)


class CrossEntropyLoss(Loss):
    """Softmax cross-entropy from logits: ``-sum_c y_c log softmax(z)_c`` per sample.

    Takes logits (no softmax layer before it): the log-softmax inside is stable for any
    finite logits, and the fused gradient is ``(softmax(z) - y) / n`` for one-hot or probability
    targets (in general ``softmax(z) * sum_c y_c - y``, divided by n).

    Derived in chapter 4, *Losses* (``chapters/04_losses``).

    Shapes: ``pred`` (n, C) float logits; ``target`` (n,) integer labels in ``0..C-1``, or
    (n, C) one-hot rows or class probabilities.
    """

    def check(self, pred: Any, target: Any) -> tuple[np.ndarray, np.ndarray]:
        z = self._pred(pred, 2)
        n, n_classes = z.shape
        target = as_array(target, f"{describe(self)}: target")
        if target.ndim == 1:
            if target.shape[0] != n:
                raise ShapeError(
                    f"{describe(self)}: target has {target.shape[0]} labels for {n} samples"
                )
            return z, check_labels(target, n_classes, f"{describe(self)}: target")
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
        return z, probs

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        if not isinstance(pred, np.ndarray) or not isinstance(target, np.ndarray) \
                or pred.ndim != 2 or target.shape[0] != len(pred) or target.ndim > 2:
            pred, target = self.check(pred, target)
        n, n_classes = pred.shape
        # Element (i, c) is number i C + c of the flat array: picking one element per row
        # through these flat indices is a single cheap gather.
        starts = row_starts(n, n_classes)
        # log P = Z - logsumexp(Z), with the row maximum shifted out first   (4.5, 4.6):
        # log P = z - log(s), z = Z - max_c Z, s = sum_c e^z (no overflow: z <= 0).
        # The maximum is read at the arg-max (by the gather: cheaper than a max along rows);
        # the arg-max is each row's predicted class, kept: fit counts its accuracy with it.
        self._predicted = pred.argmax(axis=1)
        z = pred - pred.reshape(-1)[starts + self._predicted][:, None]
        e = np.exp(z)
        s = np.dot(e, ones(n_classes, e.dtype))  # the row sums, as one product: e 1
        if target.ndim == 1:
            if not seen.on:  # fit checked every label once, before the first batch
                self._check_range(target, n_classes)  # before any label is used as an index
            picked = starts + target  # the flat index of each sample's label
            # L = -(1/n) sum_i log P_{i, y_i} = (1/n) sum_i (log s_i - z_{i, y_i})   (4.3)
            total = float(np.add.reduce(np.log(s) - z.reshape(-1)[picked]))
            self._saved = (e, s, target, picked)
        else:
            pred, target = self._checked(pred, target)
            logp = z - np.log(s)[:, None]
            # L = -(1/n) sum_i sum_c Y_ic log P_ic   (4.4); 0 log 0 counts as 0
            total = -float(np.vdot(target, logp))
            if not math.isfinite(total):
                total = -float(np.sum(target * logp, where=target > 0))
            self._saved = (e, s, target, None)
        return total * self._scale(n)

    def backward(self) -> np.ndarray:
        e, s, target, picked = self._load()
        grad = e / s[:, None]  # P = softmax(Z) = e^z / s
        if picked is not None:
            grad.reshape(-1)[picked] -= 1  # dL/dZ = (1/n) (P - Y)   (4.7)
        else:
            # P * sum_c Y_ic - Y: the same (4.7) for rows of Y that sum to 1
            grad *= np.add.reduce(target, axis=1, keepdims=True)
            grad -= target
        grad *= self._scale(len(e))
        return grad

    def _check_range(self, labels: np.ndarray, n_classes: int) -> None:
        # One reduction checks both ends: a negative int64 read as uint64 is above any C.
        if labels.dtype != np.int64 or int(labels.view(np.uint64).max()) >= n_classes:
            check_labels(labels, n_classes, f"{describe(self)}: target")
            if labels.dtype != np.int64:
                raise LabelError(f"{describe(self)}: target labels must be int64 here, "
                                 f"got {labels.dtype}; call the loss itself to convert them")


class BCEWithLogitsLoss(Loss):
    """Binary cross-entropy from logits: ``-y log sigmoid(z) - (1 - y) log(1 - sigmoid(z))``.

    Computed in the overflow-free form ``max(z, 0) - z y + log1p(exp(-|z|))``.

    Derived in chapter 4, *Losses* (``chapters/04_losses``).

    Shapes: ``pred`` (n,) or (n, 1) float logits ((n, k): k independent binary outputs);
    ``target`` the same shape ((n,) for (n, 1)), values in ``[0, 1]``.
    """

    def check(self, pred: Any, target: Any) -> tuple[np.ndarray, np.ndarray]:
        z = self._pred(pred, (1, 2))
        y = self._float_target(target, z)
        if y.min() < 0 or y.max() > 1:
            raise LabelError(f"{describe(self)}: target values must lie in [0, 1]")
        return z, y

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        pred, target = self._checked(pred, target)
        with np.errstate(over="ignore", invalid="ignore"):
            # loss per element: max(z, 0) - z y + log(1 + e^{-|z|})   (4.10)
            per_elem = np.maximum(pred, 0)
            per_elem -= pred * target
            per_elem += np.log1p(np.exp(-np.abs(pred)))
            total = float(per_elem.sum())
        self._saved = (pred, target)
        return total * self._scale(pred.size)

    def backward(self) -> np.ndarray:
        z, y = self._load()
        # dL/dz = (1/N) (sigmoid(z) - y)   (4.11)
        grad = F.sigmoid(z)
        grad -= y
        grad *= self._scale(z.size)
        return grad
