"""The ``Optimizer`` base class shared by every update rule.

An optimizer only sees :class:`Parameter` objects: it reads ``p.grad`` (never modifies
it) and updates ``p.data`` **in place**, so the arrays a model holds stay the same
objects. State buffers (momentum, squared-gradient averages...) have the dtype of their
parameter, and each parameter has one scratch array so that a step allocates nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .._validation import check_unit_interval
from ..exceptions import ArgumentTypeError, ParameterError
from ..layers.module import Module, Parameter

__all__ = ["Optimizer"]


def check_betas(betas: tuple[float, float], owner: str) -> tuple[float, float]:
    """Return ``betas`` as two floats in ``[0, 1)``, or raise ParameterError naming ``owner``."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ParameterError(f"{owner}: betas must be a pair (beta1, beta2), got {betas!r}")
    return (check_unit_interval(betas[0], f"{owner}: betas[0]"),
            check_unit_interval(betas[1], f"{owner}: betas[1]"))


def _parameter_list(params: object, owner: str) -> list[Parameter]:
    """``params`` as a list of distinct Parameters, or an error saying what was passed."""
    if isinstance(params, (Module, Parameter)):
        what = "the model itself" if isinstance(params, Module) else "a single Parameter"
        raise ArgumentTypeError(f"{owner}: pass model.parameters(), not {what}")
    if callable(params) and not hasattr(params, "__iter__"):
        raise ArgumentTypeError(
            f"{owner}: params is a function or method, not its result: call it, e.g. "
            "model.parameters() with the parentheses"
        )
    if isinstance(params, (str, bytes, dict)) or not hasattr(params, "__iter__"):
        raise ArgumentTypeError(
            f"{owner}: params must be an iterable of Parameter such as model.parameters(), "
            f"got {type(params).__name__}"
        )
    out = list(params)  # type: ignore[call-overload]
    if not out:
        raise ParameterError(f"{owner}: got an empty parameter list")
    first: dict[int, int] = {}
    for i, p in enumerate(out):
        if not isinstance(p, Parameter):
            hint = " (pass model.parameters(), not named_parameters())" \
                if isinstance(p, tuple) else ""
            raise ArgumentTypeError(
                f"{owner}: params[{i}] is a {type(p).__name__}, expected a Parameter{hint}"
            )
        j = first.setdefault(id(p), i)
        if j != i:
            raise ParameterError(
                f"{owner}: params[{i}] is the same Parameter as params[{j}]; pass each parameter "
                "once, or it would be updated twice per step (model.parameters() lists a "
                "shared parameter once)"
            )
    return out


class Optimizer:
    """Base class: holds the parameters, their per-parameter state and the step count.

    Derived in chapter 7, *Optimizers* (``chapters/07_optimizers``).

    Parameters
    ----------
    params : iterable of Parameter
        What to optimize, usually ``model.parameters()``. Each parameter once: a
        parameter listed twice would be stepped twice per step, so it is refused
        (``model.parameters()`` already lists a shared parameter once).

    Attributes
    ----------
    params : list of Parameter
    state : list of dict
        ``state[i]`` holds the buffers of ``params[i]`` (e.g. ``"momentum_buffer"``),
        created on the first :meth:`step`.
    step_count : int
        Number of :meth:`step` calls so far (``t`` in the update formulas).
    """

    #: Attribute names shown by ``repr`` (each subclass lists its hyperparameters).
    _hyperparameter_names: tuple[str, ...] = ()

    def __init__(self, params: Iterable[Parameter]) -> None:
        self.params: list[Parameter] = _parameter_list(params, type(self).__name__)
        self.state: list[dict[str, np.ndarray]] = [{} for _ in self.params]
        self.step_count = 0

    def zero_grad(self) -> None:
        """Set every parameter's gradient to zero (in place)."""
        for p in self.params:
            p.zero_grad()

    def step(self) -> None:
        """Update every parameter in place from its current ``.grad``."""
        self.step_count += 1
        for p, state in zip(self.params, self.state):
            if "scratch" not in state:
                # One scratch array per parameter: every step reuses it for temporaries.
                state["scratch"] = np.empty_like(p.data)
            self._update(p, state, self.step_count)

    def _update(self, p: Parameter, state: dict[str, np.ndarray], t: int) -> None:
        """Apply step ``t`` (1, 2, ...) of the update rule to one parameter."""
        raise NotImplementedError

    @staticmethod
    def _grad(p: Parameter, state: dict[str, np.ndarray], weight_decay: float) -> np.ndarray:
        """``g_t = grad + weight_decay * theta`` (the L2 penalty's gradient folded in).

        Without weight decay this is ``p.grad`` itself (only read, never written);
        otherwise a buffer of its own, so that ``state["scratch"]`` stays free.
        """
        if weight_decay == 0:
            return p.grad
        if "decayed_grad" not in state:
            state["decayed_grad"] = np.empty_like(p.data)
        g = state["decayed_grad"]
        np.multiply(p.data, weight_decay, out=g)
        g += p.grad
        return g

    def __repr__(self) -> str:
        hyper = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._hyperparameter_names)
        return f"{type(self).__name__}({hyper})"
