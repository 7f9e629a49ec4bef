"""``Parameter`` and ``Module``: the two classes every layer is built from.

Derived in the chapter *Building a network* (``chapters/06_building_a_network``).

Conventions (the whole package follows them):

* batch-first: an input ``x`` has shape ``(n_samples, in_features)``;
* ``forward(x)`` computes the output and, in training mode, saves what ``backward`` will
  need (:meth:`Module.save_for_backward`); in evaluation mode it saves nothing, so a model
  used only for predictions holds no data;
* ``backward(grad_output)`` takes ``dL/d(output)`` (same shape as the output), *adds*
  ``dL/d(parameter)`` into each parameter's ``.grad`` and returns ``dL/d(input)``; it
  takes back what its forward saved (:meth:`Module.saved_for_backward`), so each forward
  allows one backward, and a module used twice in one pass gets each use's input back;
* ``backward`` never modifies ``grad_output`` in place (the caller may still need it).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from .._validation import as_array, check_float_dtype, describe
from ..exceptions import BackwardBeforeForwardError, DTypeError, ShapeError
from . import _blocks

__all__ = ["Parameter", "Module", "MAX_PENDING"]

#: At most this many forward passes of one module wait for their backward. A module used k
#: times in one pass needs k; a forward never followed by a backward (a loss computed in
#: training mode just to print it) must not pin its input forever: the oldest is dropped.
MAX_PENDING = 16


class _SaveAlways:
    """``on`` while :func:`save_in_eval_mode` runs (gradient checks of eval-mode models)."""

    on = False


def _pending() -> deque[Any]:
    """An empty stack of what forward passes saved, keeping the last :data:`MAX_PENDING`."""
    return deque(maxlen=MAX_PENDING)


def release_saved(module: Module) -> None:
    """Drop what forward passes of ``module`` and its sub-modules saved for backward."""
    for m in module.modules():
        m.__dict__.get("_saved", []).clear()


@contextmanager
def save_in_eval_mode() -> Iterator[None]:
    """Let forward save for backward in evaluation mode too (used by ``check_gradients``)."""
    before, _SaveAlways.on = _SaveAlways.on, True
    try:
        yield
    finally:
        _SaveAlways.on = before


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

    The gradient is the property :attr:`grad`. Both arrays are made next to those of the
    previous parameter (:mod:`~nbfromscratch.layers._blocks`), so that an optimizer can
    update a whole network as one flat vector (chapter 13, *Making it fast*).
    """

    __slots__ = ("data", "_grad", "_grad_is_zero")

    def __init__(self, data: np.ndarray) -> None:
        data = as_array(data, "Parameter data")
        check_float_dtype(data.dtype, "Parameter data")
        self._store(data)

    def _store(self, values: np.ndarray) -> None:
        """Copy ``values`` into fresh arrays next to the last parameter made, gradient zero.

        A copy, because the optimizer updates ``data`` in place and aliasing the caller's
        array would silently change it too; next to the last parameter, so that an
        optimizer can update a whole network as one flat vector (chapter 13).
        """
        self.data: np.ndarray
        self._grad: np.ndarray
        self.data, self._grad = _blocks.take(values.shape, values.dtype)
        self.data[...] = values
        # True after zero_grad(): the zeros are not written yet (see accumulate_grad).
        self._grad_is_zero = False

    def __getstate__(self) -> dict[str, Any]:
        return {"data": self.data, "grad": self.grad}

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple):  # the default state of a class with __slots__
            state = {**state[1], "grad": state[1]["_grad"]}
        self._store(np.asarray(state["data"]))
        self._grad[...] = state["grad"]

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

    def accumulate_grad(self, op: Callable[..., np.ndarray], a: Any, b: Any) -> None:
        """``grad += op(a, b)``, without a temporary when ``grad`` is zero.

        ``op`` is a NumPy function that takes ``out=``: ``np.matmul`` for ``X^T G``, or
        ``np.add.reduce`` with ``b`` the axis to sum over. Right after :meth:`zero_grad`
        (the usual case: one backward pass per step) the result is written straight into
        ``grad``: no zeros to write first, no temporary array to allocate and add: for the
        first layer of an MNIST network, a fill, an allocation and an addition of 200,704
        numbers per step (chapter 13, *Making it fast*). Exactly two arguments: passing on
        ``*args`` and ``**kwargs`` would add Python work to every call (four per batch in a
        two-layer network).
        """
        if self._grad_is_zero:
            op(a, b, out=self._grad)
            self._grad_is_zero = False
        else:
            self._grad += op(a, b)

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
        self._saved = _pending()  # what forward kept for backward, last call on top

    # -- what forward keeps for backward ------------------------------------------------
    def save_for_backward(self, value: Any) -> None:
        """Keep ``value`` for the :meth:`backward` of this forward (in training mode only).

        Saved values form a stack: each forward pushes, each backward pops. A module used
        twice in one pass (``Sequential(lin, Tanh(), lin)``) thus gets the input of its
        second use back first, as the chain rule runs backwards, and its gradients add up.
        """
        if self.training or _SaveAlways.on:
            self._saved.append(value)  # a deque of MAX_PENDING: the oldest falls out

    def saved_for_backward(self) -> Any:
        """Take back what the matching forward saved (the most recent one not yet used)."""
        try:
            return self._saved.pop()
        except IndexError:
            raise BackwardBeforeForwardError(
                f"{describe(self)}: backward() called before forward(), or once more than "
                "forward() (each forward in training mode keeps what one backward needs, for "
                f"the last {MAX_PENDING} forwards at most; after .eval() nothing is kept: call "
                ".train() before the forward pass)"
            ) from None

    def __getstate__(self) -> dict[str, Any]:
        # Pickles and deep copies carry the weights, never the last batch of data.
        state = self.__dict__.copy()
        state["_saved"] = _pending()
        return state

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
        """The direct sub-modules, in order, each once (a layer used twice is one child)."""
        out: list[Module] = []
        seen: set[int] = set()
        for _, m in self._named_members():
            if isinstance(m, Module) and id(m) not in seen:
                seen.add(id(m))
                out.append(m)
        return out

    def modules(self) -> Iterator[Module]:
        """This module and every sub-module below it, each once, parents first.

        Walked with a stack, not recursion: any depth of nesting works, and a module that
        refers back to its parent does not loop forever.
        """
        seen: set[int] = set()
        stack: list[Module] = [self]
        while stack:
            module = stack.pop()
            if id(module) not in seen:
                seen.add(id(module))
                yield module
                stack.extend(reversed(module.children()))

    def named_parameters(
        self, prefix: str = "", _seen: set[int] | None = None
    ) -> list[tuple[str, Parameter]]:
        """``(name, parameter)`` pairs, names like ``"0.weight"`` (PyTorch's style).

        A parameter reached twice (a layer used twice, tied weights) is listed once, under
        its first name, as in PyTorch: an optimizer then steps it once per step.
        """
        seen = {id(self)} if _seen is None else _seen  # what is listed already, by identity
        out: list[tuple[str, Parameter]] = []
        for name, member in self._named_members():
            if id(member) in seen:
                continue
            seen.add(id(member))
            full = f"{prefix}{name}"
            if isinstance(member, Parameter):
                out.append((full, member))
            else:
                out.extend(member.named_parameters(prefix=f"{full}.", _seen=seen))
        return out

    def parameters(self) -> list[Parameter]:
        """Every trainable :class:`Parameter` of this module and its children, each once."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        """Reset the gradient of every parameter to zero."""
        for p in self.parameters():
            p.zero_grad()

    def train(self, mode: bool = True) -> Module:
        """Put the module and its children in training mode (``mode=False``: evaluation).

        Evaluation mode also drops what forward passes saved for a backward pass.
        """
        for module in self.modules():
            module.training = bool(mode)
            if not mode:
                module.__dict__.get("_saved", []).clear()
        return self

    def eval(self) -> Module:
        """Evaluation mode: e.g. ``Dropout`` becomes the identity; no data is kept."""
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
            p._store(p.data.astype(dtype))
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
