"""Reverse-mode automatic differentiation on NumPy arrays: a graph that writes its own backward.

Every operation on a :class:`Tensor` computes its value with NumPy and records, in the new
tensor, its parents and its vector-Jacobian product (VJP): a function taking ``G = dL/d(out)``
and returning ``dL/d(parent)`` for each parent. :meth:`Tensor.backward` visits the recorded
graph in reverse topological order and **adds** the contributions of every use of a value.
Each VJP sits right under its forward, with the equation it implements.

Batch-first like the rest of the package; values keep their dtype (float32 or float64);
shapes broadcast as in NumPy, and a broadcast operand's gradient is summed back to its shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import functional as F
from ._labels import check_labels
from ._validation import check_choice, float_input
from .exceptions import DTypeError, ShapeError

__all__ = ["Tensor", "topological_order", "cross_entropy"]

Axis = int | tuple[int, ...] | None
VJP = Callable[[np.ndarray], tuple[np.ndarray, ...]]


class Tensor:
    """An array that remembers how it was computed, so ``backward()`` can find its gradient.

    Derived in chapter 14, *Automatic differentiation* (``chapters/14_automatic_differentiation``).

    Parameters
    ----------
    data : array_like, any shape
        The value; float32 and float64 are kept, numbers, lists and ints become float64.
    parents, op, vjp
        Set by the operations that create tensors; a leaf (an input) has none.

    Attributes
    ----------
    data : ndarray
    grad : ndarray or None
        ``dL/d(data)``, same shape and dtype, filled (added to) by :meth:`backward`.
    op : str
        The operation that produced this tensor (``""`` for a leaf).
    parents : tuple of Tensor
        Its inputs: the edges of the recorded graph.
    """

    __array_ufunc__ = None  # ndarray + Tensor calls Tensor.__radd__ (no elementwise object math)

    def __init__(self, data: Any, parents: tuple[Tensor, ...] = (), op: str = "",
                 vjp: VJP | None = None) -> None:
        self.data: np.ndarray = float_input(data, "Tensor: data")
        self.grad: np.ndarray | None = None
        self.parents = parents
        self.op = op
        self._vjp = vjp

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of ``data``."""
        return self.data.shape

    def __repr__(self) -> str:
        return f"Tensor(shape={self.shape}, dtype={self.data.dtype}, op={self.op or 'leaf'!r})"

    def _lift(self, other: Any) -> Tensor:
        """``other`` as a Tensor of our dtype: numbers are converted, arrays must match."""
        if isinstance(other, Tensor):
            t = other
        elif isinstance(other, (int, float)):  # a Python 2.0 must not upcast float32
            return Tensor(np.asarray(other, dtype=self.data.dtype))
        else:
            t = Tensor(other)
        if t.data.dtype != self.data.dtype:
            raise DTypeError(
                f"Tensor: cannot combine {self.data.dtype} and {t.data.dtype} "
                "(convert one of them explicitly: dtypes never change silently)"
            )
        return t

    # -- elementwise arithmetic, with broadcasting -------------------------------------------
    def __add__(self, other: Any) -> Tensor:
        other = self._lift(other)
        a, b = self, other
        out = _broadcast(np.add, a, b, "add")
        # d(a + b)/da = d(a + b)/db = 1: G flows to both, summed back to each shape   (14.3)
        return Tensor(out, (a, b), "add",
                      lambda g: (_unbroadcast(g, a.shape), _unbroadcast(g, b.shape)))

    def __mul__(self, other: Any) -> Tensor:
        other = self._lift(other)
        a, b = self, other
        out = _broadcast(np.multiply, a, b, "mul")
        # d(ab)/da = b, d(ab)/db = a (elementwise), summed back to each shape   (14.3)
        return Tensor(out, (a, b), "mul",
                      lambda g: (_unbroadcast(g * b.data, a.shape),
                                 _unbroadcast(g * a.data, b.shape)))

    def __neg__(self) -> Tensor:
        return self * -1.0

    def __sub__(self, other: Any) -> Tensor:
        return self + (-self._lift(other))

    def __radd__(self, other: Any) -> Tensor:
        return self._lift(other) + self

    def __rmul__(self, other: Any) -> Tensor:
        return self._lift(other) * self

    def __rsub__(self, other: Any) -> Tensor:
        return self._lift(other) - self

    # -- matrix product ---------------------------------------------------------------------
    def __matmul__(self, other: Any) -> Tensor:
        other = self._lift(other)
        a, b = self, other
        if a.data.ndim != 2 or b.data.ndim != 2 or a.shape[1] != b.shape[0]:
            raise ShapeError(
                f"Tensor matmul: need (n, k) @ (k, m), got {a.shape} @ {b.shape}")
        # For Z = A B: dL/dA = G B^T, dL/dB = A^T G   (5.3), (5.5)
        return Tensor(a.data @ b.data, (a, b), "matmul",
                      lambda g: (g @ b.data.T, a.data.T @ g))

    # -- reductions -------------------------------------------------------------------------
    def sum(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Sum over ``axis`` (all axes by default); ``keepdims`` keeps them with size 1."""
        axes = _axes(axis, self.data.ndim)
        shape = self.shape

        def vjp(g: np.ndarray) -> tuple[np.ndarray]:
            # Every summed entry gets the same G: put the reduced axes back, (14.3) read backwards
            return (np.broadcast_to(g if keepdims else np.expand_dims(g, axes), shape),)

        return Tensor(self.data.sum(axis=axes, keepdims=keepdims), (self,), "sum", vjp)

    def mean(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Mean over ``axis``: the sum times ``1 / (number of entries averaged)``."""
        axes = _axes(axis, self.data.ndim)
        count = int(np.prod([self.shape[i] for i in axes]))
        return self.sum(axis, keepdims) * (1.0 / max(count, 1))

    # -- elementwise functions --------------------------------------------------------------
    def exp(self) -> Tensor:
        """``e^x`` elementwise."""
        out = np.exp(self.data)
        # d e^x / dx = e^x: reuse the output
        return Tensor(out, (self,), "exp", lambda g: (g * out,))

    def log(self) -> Tensor:
        """Natural logarithm elementwise."""
        x = self.data
        # d log x / dx = 1 / x
        return Tensor(np.log(x), (self,), "log", lambda g: (g / x,))

    def relu(self) -> Tensor:
        """``max(x, 0)`` elementwise."""
        x = self.data
        # G * 1[x > 0], a mask on the input; 0 at x == 0   (2.4), (5.6)
        return Tensor(np.maximum(x, 0), (self,), "relu", lambda g: (g * (x > 0),))

    def tanh(self) -> Tensor:
        """Hyperbolic tangent elementwise."""
        t = np.tanh(self.data)
        # tanh'(x) = 1 - tanh(x)^2, from the output   (2.8)
        return Tensor(t, (self,), "tanh", lambda g: (g * (1 - t * t),))

    def sigmoid(self) -> Tensor:
        """Logistic sigmoid elementwise, without overflow (chapter 2)."""
        s = F.sigmoid(self.data)
        # sigma'(x) = sigma(x) (1 - sigma(x)), from the output   (2.7)
        return Tensor(s, (self,), "sigmoid", lambda g: (g * s * (1 - s),))

    def log_softmax(self, axis: int = -1) -> Tensor:
        """``z - logsumexp(z)`` along ``axis``, shifted by the max so nothing overflows."""
        out = F.log_softmax(self.data, axis=axis)  # (4.5), (4.6)
        # d out_c / d z_j = delta_cj - p_j, so dL/dz = G - p * sum_c G_c   (4.5, 4.8)
        return Tensor(out, (self,), "log_softmax",
                      lambda g: (g - np.exp(out) * g.sum(axis=axis, keepdims=True),))

    # -- the backward pass ------------------------------------------------------------------
    def backward(self, grad: Any = None) -> None:
        """Add ``dL/d(node)`` into ``.grad`` of every tensor this one was computed from.

        Parameters
        ----------
        grad : array_like, optional
            The seed ``dL/d(self)``, same shape as ``self``; may be omitted when ``self``
            holds one number (a loss), for which it is 1.

        Raises
        ------
        ShapeError
            ``self`` holds several numbers and no seed was given, or the seed's shape
            differs.
        """
        if grad is None:
            if self.data.size != 1:
                raise ShapeError(
                    f"Tensor.backward: this tensor has shape {self.shape}, not one number; "
                    "pass the seed gradient dL/d(tensor), or reduce it to a loss first"
                )
            seed = np.ones_like(self.data)
        else:
            seed = np.array(grad, dtype=self.data.dtype)  # a copy: .grad must not alias it
            if seed.shape != self.shape:
                raise ShapeError(
                    f"Tensor.backward: the seed gradient has shape {seed.shape}, "
                    f"expected {self.shape}"
                )
        grads: dict[int, np.ndarray] = {id(self): seed}
        for node in reversed(topological_order(self)):  # users of a node come before it
            g = grads.pop(id(node))
            node.grad = g if node.grad is None else node.grad + g  # never added to in place
            if node._vjp is None:
                continue
            for parent, pg in zip(node.parents, node._vjp(g)):
                # A value used several times gets the SUM of its users' shares   (14.2)
                grads[id(parent)] = grads[id(parent)] + pg if id(parent) in grads else pg


def topological_order(root: Tensor) -> list[Tensor]:
    """Every tensor ``root`` depends on, each listed after all of its parents (``root`` last).

    Derived in chapter 14, *Automatic differentiation* (``chapters/14_automatic_differentiation``).
    Depth-first, without recursion (a long chain of operations must not hit Python's limit).
    """
    order: list[Tensor] = []
    seen: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p in node.parents if id(p) not in seen)
    return order


def cross_entropy(logits: Tensor, labels: Any, reduction: str = "mean") -> Tensor:
    """Softmax cross-entropy of ``logits`` (n, C) against integer ``labels`` (n,): one number.

    Derived in chapter 14, *Automatic differentiation* (``chapters/14_automatic_differentiation``),
    from the stable form of chapter 4: ``l_i = -log_softmax(z_i)[y_i]``, averaged or summed.
    """
    reduction = check_choice(reduction, ("mean", "sum"), "cross_entropy: reduction")
    if logits.data.ndim != 2:
        raise ShapeError(f"cross_entropy: logits must have shape (n, C), got {logits.shape}")
    n, n_classes = logits.shape
    labels = check_labels(np.asarray(labels), n_classes, "cross_entropy: labels")
    if labels.shape != (n,):
        raise ShapeError(f"cross_entropy: labels must have shape ({n},), got {labels.shape}")
    logp = F.log_softmax(logits.data, axis=1)  # (4.5), (4.6)
    rows = np.arange(n)
    scale = 1.0 / n if reduction == "mean" else 1.0
    loss = -logp[rows, labels].sum() * scale

    def vjp(g: np.ndarray) -> tuple[np.ndarray]:
        # dL/dZ = (P - Y) / n   (4.7), times the incoming scalar G
        grad = np.exp(logp)
        grad[rows, labels] -= 1
        return (grad * (g * scale),)

    return Tensor(np.asarray(loss, dtype=logits.data.dtype), (logits,), "cross_entropy", vjp)


# -- broadcasting --------------------------------------------------------------------------------
def _broadcast(op: Callable[..., np.ndarray], a: Tensor, b: Tensor, name: str) -> np.ndarray:
    try:
        return op(a.data, b.data)
    except ValueError:
        raise ShapeError(
            f"Tensor {name}: shapes {a.shape} and {b.shape} do not broadcast") from None


def _unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` back to ``shape``, the shape of an operand that was broadcast.

    Derived in chapter 14 (``chapters/14_automatic_differentiation``). NumPy aligns shapes
    on the right, prepends axes and stretches axes of size 1; undo both   (14.3).
    """
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))  # axes that were prepended
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=stretched, keepdims=True) if stretched else grad


def _axes(axis: Axis, ndim: int) -> tuple[int, ...]:
    """``axis`` as a tuple of non-negative axes (``None``: all of them)."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    if any(not -ndim <= a < ndim for a in axes):
        raise ShapeError(f"Tensor.sum: axis {axis} does not exist for {ndim} dimensions")
    return tuple(sorted(a % ndim for a in axes))
