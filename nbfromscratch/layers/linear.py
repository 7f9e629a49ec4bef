"""The fully connected layer ``Y = X W + b``."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._constants import ones
from .._validation import as_rng, check_float_dtype, check_positive_int, shown
from ..exceptions import ParameterError, ShapeError
from ..init import INITIALIZERS, Initializer, get_initializer
from ._checks import check_grad_output, check_layer_input, seen
from .module import Module, Parameter
from .registry import register_layer

__all__ = ["Linear", "MAX_WEIGHTS"]

#: The most weights one layer may have (2**31: 16 GiB in float64). Larger sizes are a typo
#: (in_features and out_features swapped with a sample count, say), and are refused before
#: NumPy tries to allocate them.
MAX_WEIGHTS = 2**31


@register_layer
class Linear(Module):
    """Fully connected layer: ``Y = X @ W + b`` (batch-first, like ``torch.nn.Linear``).

    Derived in chapter 5, *Backpropagation* (``chapters/05_backpropagation``).

    Parameters
    ----------
    in_features : int
        Number of input features (columns of ``X``).
    out_features : int
        Number of outputs (columns of ``Y``).
    bias : bool
        Whether to add a learnable bias ``b``.
    init : str or callable
        Weight initialiser: a name from :data:`nbfromscratch.init.INITIALIZERS`
        (``"he_normal"``, ``"xavier_uniform"``, ...) or ``f(shape, rng=..., dtype=...)``.
        The bias always starts at zero.
    rng : np.random.Generator, int or None
        Randomness of the initialiser (an int is a seed).
    dtype : float32 or float64
        dtype of the parameters; the layer only accepts input of this dtype.

    Attributes
    ----------
    weight : Parameter, shape (in_features, out_features)
    bias : Parameter, shape (out_features,), or None

    Shapes
    ------
    input ``(n, in_features)`` -> output ``(n, out_features)``.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        init: str | Initializer = "he_normal",
        rng: np.random.Generator | int | None = None,
        dtype: Any = np.float64,
    ) -> None:
        super().__init__()
        self.in_features = check_positive_int(in_features, "Linear: in_features", ShapeError)
        self.out_features = check_positive_int(out_features, "Linear: out_features", ShapeError)
        dtype = check_float_dtype(dtype, "Linear")
        n_weights = self.in_features * self.out_features
        if n_weights > MAX_WEIGHTS:
            count = f"{n_weights:.3g}" if n_weights < 10**300 else f"~1e{len(str(n_weights)) - 1}"
            raise ParameterError(
                f"Linear: {shown(self.in_features)} x {shown(self.out_features)} = {count} "
                f"weights is more than the {MAX_WEIGHTS:.3g} a layer may have; check "
                "in_features and out_features"
            )
        initializer = get_initializer(init)
        # Recorded for get_config(); a custom callable has no name to record.
        self._init_name: str | None = (
            init.lower() if isinstance(init, str)
            else next((k for k, f in INITIALIZERS.items() if f is init), None)
        )
        shape = (self.in_features, self.out_features)
        try:
            w = np.asarray(initializer(shape, rng=as_rng(rng), dtype=dtype))
        except MemoryError:
            raise ParameterError(
                f"Linear: not enough memory for {n_weights:.3g} weights of {dtype}"
            ) from None
        if w.shape != shape or w.dtype != dtype:
            raise ShapeError(
                f"Linear: initializer returned shape {w.shape} dtype {w.dtype}, "
                f"expected shape {shape} dtype {dtype}"
            )
        self.weight = Parameter(w)
        self.bias = Parameter(np.zeros(self.out_features, dtype=dtype)) if bias else None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Compute ``X @ W + b``.

        Parameters
        ----------
        x : ndarray, shape (n, in_features), same dtype as the weights

        Returns
        -------
        ndarray, shape (n, out_features)

        Raises
        ------
        ShapeError
            ``x`` is not 2-D or has the wrong number of features.
        DTypeError
            ``x`` is not a float array of the layer's dtype.
        """
        if not seen.on:
            check_layer_input(x, self, self.in_features, self.weight.data.dtype)
        self.save_for_backward(x)  # backward needs X for dL/dW = X^T G
        out = x @ self.weight.data
        if self.bias is not None:
            out += self.bias.data  # in place on the fresh product: no second (n, out) array
        return out

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """Accumulate ``dL/dW`` and ``dL/db``; return ``dL/dX``.

        ``grad_output`` is ``G = dL/dY``, shape (n, out_features); returns (n, in_features).
        """
        self.backward_params(grad_output)
        # dL/dX = G W^T   (5.5)
        return grad_output @ self.weight.data.T

    def backward_params(self, grad_output: np.ndarray) -> None:
        """Accumulate ``dL/dW`` and ``dL/db``: :meth:`backward` without ``dL/dX``.

        For the first layer of a network (its input is data) the product ``G W^T`` is
        wasted work, as many FLOPs as ``X^T G``: :func:`~nbfromscratch.fit` calls this.
        """
        x = self.saved_for_backward()
        if not seen.on:
            check_grad_output(grad_output, (x.shape[0], self.out_features), x.dtype, self)
        # accumulate_grad(op, a, b) is grad += op(a, b), written in place after zero_grad().
        # dL/dW = X^T G: the sum over the batch is in the matrix product   (5.3)
        self.weight.accumulate_grad(np.matmul, x.T, grad_output)
        if self.bias is not None:
            # dL/db = the sum over the batch (axis 0) of G = 1^T G   (5.4): a product with
            # ones, one BLAS call like X^T G (a reduction would loop over the rows)
            self.bias.accumulate_grad(np.dot, ones(len(grad_output), grad_output.dtype), grad_output)

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments as a JSON-able dict (no weights); see ``layer_from_config``."""
        config: dict[str, Any] = {
            "type": "Linear",
            "in_features": self.in_features,
            "out_features": self.out_features,
            "bias": self.bias is not None,
        }
        if self._init_name is not None:
            config["init"] = self._init_name
        config["dtype"] = self.weight.data.dtype.name
        return config

    def extra_repr(self) -> str:
        text = f"in_features={self.in_features}, out_features={self.out_features}"
        if self.bias is None:
            text += ", bias=False"
        if self.weight.data.dtype != np.float64:
            text += f", dtype={self.weight.data.dtype.name}"
        return text
