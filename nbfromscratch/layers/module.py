"""``Parameter`` and ``Module``: the two classes every layer is built from.

Derived in the chapter *Building a network* (``chapters/06_building_a_network``).

Conventions (the whole package follows them):

* batch-first: an input ``x`` has shape ``(n_samples, in_features)``;
* ``forward(x)`` computes the output and caches what ``backward`` will need;
* ``backward(grad_output)`` takes ``dL/d(output)`` (same shape as the output), *adds*
  ``dL/d(parameter)`` into each parameter's ``.grad`` and returns ``dL/d(input)``;
* ``backward`` never modifies ``grad_output`` in place (the caller may still need it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .._validation import as_array, check_float_dtype
from ..exceptions import DTypeError, ShapeError

__all__ = ["Parameter", "Module"]


class Parameter:
    """A trainable array and the gradient of the loss with respect to it.

    Parameters
    ----------
    data : ndarray
        The values. Its dtype (float32 or float64) is kept for the parameter's life.

    Attributes
    ----------
    data : ndarray
        The current values; optimizers update it in place.

    The gradient is the property :attr:`grad`.
    """

    __slots__ = ("data", "_grad", "_grad_is_zero")

    def __init__(self, data: np.ndarray) -> None:
        data = as_array(data, "Parameter data")
        if data.dtype not in (np.float32, np.float64):
            raise DTypeError(
                f"Parameter data must be float32 or float64, got {data.dtype}"
            )
        # Own a contiguous copy: the optimizer updates it in place, and aliasing the
        # caller's array would silently change it too.
        self.data: np.ndarray = np.array(data, order="C", copy=True)
        self._grad: np.ndarray = np.zeros_like(self.data)
        # True after zero_grad(): the zeros are not written yet (see accumulate_grad).
        self._grad_is_zero = False

    @property
    def grad(self) -> np.ndarray:
        """``dL/d(data)``, an array of ``data``'s shape and dtype, updated in place.

        Layers add into it (:meth:`accumulate_grad`), :meth:`zero_grad` resets it, and
        optimizers read it.
        """
        if self._grad_is_zero:
            self._grad.fill(0)  # zero_grad() was lazy: write the zeros now that they are read
            self._grad_is_zero = False
        return self._grad

    @grad.setter
    def grad(self, value: np.ndarray) -> None:
        self._grad = value
        self._grad_is_zero = False

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of ``data`` (and of ``grad``)."""
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        """dtype of ``data`` (and of ``grad``)."""
        return self.data.dtype

    def zero_grad(self) -> None:
        """Set the gradient to zero.

        Lazily: the array is only marked as zero. The next :meth:`accumulate_grad` then
        writes its result straight into it (nothing to add to), and reading :attr:`grad`
        before that writes the zeros. Either way ``grad`` reads as zeros. (An array taken
        from ``grad`` before the call keeps its old values until ``grad`` is next read or
        written: read ``grad`` again rather than holding on to it.)
        """
        self._grad_is_zero = True

    def accumulate_grad(self, op: Callable[..., np.ndarray], *args: Any, **kwargs: Any) -> None:
        """``grad += op(*args, **kwargs)``, without a temporary when ``grad`` is zero.

        ``op`` is a NumPy function that takes ``out=`` (``np.matmul``, ``np.sum``, ...).
        Right after :meth:`zero_grad` (the usual case: one backward pass per step) the
        result is written straight into ``grad``: no zeros to write first, no temporary
        array to allocate and add: for the first layer of an MNIST network, a fill, an
        allocation and an addition of 200,704 numbers per step (chapter 13, *Making it
        fast*).

        Parameters
        ----------
        op : callable
            Computes the contribution, e.g. ``np.matmul`` for ``X^T G``.
        *args, **kwargs
            Its arguments; the result must have ``grad``'s shape and dtype.
        """
        if self._grad_is_zero:
            op(*args, out=self._grad, **kwargs)
            self._grad_is_zero = False
        else:
            self._grad += op(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Parameter(shape={self.shape}, dtype={self.dtype})"


class Module:
    """Base class of layers and networks.

    Subclasses implement :meth:`forward` and :meth:`backward`; everything else
    (finding parameters, train/eval mode, ``repr``, ``state_dict``) is done here by
    looking at the instance's attributes: a :class:`Parameter` attribute is a
    parameter, a :class:`Module` attribute (or a list of them) is a child.
    """

    training: bool

    def __init__(self) -> None:
        self.training = True

    # -- the two methods a layer writes -------------------------------------------------
    def forward(self, x: np.ndarray) -> np.ndarray:
        """Compute the output for a batch ``x`` and cache what ``backward`` needs."""
        raise NotImplementedError(f"{type(self).__name__} does not implement forward()")

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """Accumulate parameter gradients and return ``dL/d(input)``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement backward()")

    def backward_params(self, grad_output: np.ndarray) -> None:
        """Accumulate the parameter gradients of :meth:`backward`, without ``dL/d(input)``.

        When the input is data, as for the first layer of a network, nothing needs its
        gradient (PyTorch skips it too: the input tensor does not require grad), and for
        a ``Linear`` layer that product costs as much as the weight gradient. ``fit`` calls
        this on the whole model. The default runs :meth:`backward` and drops the result;
        layers whose input gradient costs real work override it.
        """
        self.backward(grad_output)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    # -- structure ------------------------------------------------------------------------
    def _named_members(self) -> Iterator[tuple[str, Any]]:
        """Parameters and child modules, in the order the attributes were set."""
        for name, value in vars(self).items():
            if isinstance(value, (Parameter, Module)):
                yield name, value
            elif isinstance(value, (list, tuple)) and value and all(
                isinstance(v, Module) for v in value
            ):
                for i, child in enumerate(value):
                    yield str(i), child

    def children(self) -> list[Module]:
        """The direct sub-modules, in order."""
        return [m for _, m in self._named_members() if isinstance(m, Module)]

    def named_parameters(self, prefix: str = "") -> list[tuple[str, Parameter]]:
        """``(name, parameter)`` pairs, names like ``"0.weight"`` (PyTorch's style)."""
        out: list[tuple[str, Parameter]] = []
        for name, member in self._named_members():
            full = f"{prefix}{name}"
            if isinstance(member, Parameter):
                out.append((full, member))
            else:
                out.extend(member.named_parameters(prefix=f"{full}."))
        return out

    def parameters(self) -> list[Parameter]:
        """Every trainable :class:`Parameter` of this module and its children."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        """Reset the gradient of every parameter to zero."""
        for p in self.parameters():
            p.zero_grad()

    def train(self, mode: bool = True) -> Module:
        """Put the module and its children in training mode (``mode=False``: evaluation)."""
        self.training = mode
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: e.g. ``Dropout`` becomes the identity."""
        return self.train(False)

    # -- dtype ----------------------------------------------------------------------------
    @property
    def dtype(self) -> np.dtype | None:
        """dtype of the parameters (``None`` for a module without parameters)."""
        params = self.parameters()
        return params[0].dtype if params else None

    def to(self, dtype: Any) -> Module:
        """Convert every parameter (and its gradient) to ``dtype`` (float32 or float64)."""
        dtype = check_float_dtype(dtype, f"{type(self).__name__}.to()")
        for p in self.parameters():
            p.data = p.data.astype(dtype)
            p.grad = np.zeros_like(p.data)
        return self

    # -- weights as plain arrays (used by save/load) ---------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter's values, keyed by :meth:`named_parameters` names."""
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy values from ``state`` into the parameters, all or nothing.

        Every key, shape and dtype is checked before anything is written, so a
        mismatched ``state`` raises :class:`ShapeError` or :class:`DTypeError` and
        leaves the module unchanged.
        """
        named = dict(self.named_parameters())
        missing = sorted(set(named) - set(state))
        unexpected = sorted(set(state) - set(named))
        if missing or unexpected:
            raise ShapeError(
                f"{type(self).__name__}.load_state_dict(): missing keys {missing}, "
                f"unexpected keys {unexpected}"
            )
        for name, p in named.items():
            value = as_array(state[name], f"{type(self).__name__}.load_state_dict(): '{name}'")
            if value.shape != p.shape:
                raise ShapeError(
                    f"{type(self).__name__}.load_state_dict(): '{name}' has shape "
                    f"{value.shape}, expected {p.shape}"
                )
            if value.dtype != p.dtype:
                raise DTypeError(
                    f"{type(self).__name__}.load_state_dict(): '{name}' has dtype "
                    f"{value.dtype}, expected {p.dtype}"
                )
        for name, p in named.items():
            p.data[...] = state[name]

    # -- printing -------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """What goes inside the parentheses of ``repr`` (override in subclasses)."""
        return ""

    def __repr__(self) -> str:
        kids = [(n, m) for n, m in self._named_members() if isinstance(m, Module)]
        if not kids:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        for name, child in kids:
            child_repr = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child_repr}")
        lines.append(")")
        return "\n".join(lines)
