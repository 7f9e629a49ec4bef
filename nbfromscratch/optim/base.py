"""The ``Optimizer`` base class shared by every update rule.

An optimizer only sees :class:`Parameter` objects: it reads ``p.grad`` (never modifies
it) and updates ``p.data`` **in place**, so the arrays a model holds stay the same
objects. State buffers (momentum, squared-gradient averages...) have the dtype of their
parameter, and one scratch array serves every step, so that a step allocates nothing.
The parameters of a network lie side by side in memory, and every rule is elementwise: a
step runs the rule once on all of them, as one flat vector (:mod:`._groups`, chapter 13).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .._validation import check_nonnegative, check_unit_interval
from ..exceptions import ArgumentTypeError, NonFiniteError, ParameterError, ShapeError
from ..layers.module import Module, Parameter
from ._groups import Group, build_groups

__all__ = ["Optimizer", "NonFiniteStep"]


class NonFiniteStep(NonFiniteError):
    """A step refused by ``Optimizer._step(finite=True)``: it would make a weight NaN or inf.

    No weight was changed. ``fit`` catches it and says which parameter, and why.
    """

    def __init__(self, optimizer: Any, group: Group, delta: np.ndarray) -> None:
        super().__init__("the optimizer step would make a weight NaN or inf")
        self.optimizer, self.group, self.delta = optimizer, group, delta

    def first_bad(self) -> Parameter:
        """The first parameter of the group that the step would make NaN or inf."""
        trial = self.optimizer._tried(self.group.data, self.delta).reshape(-1)
        start = 0
        for p, data in zip(self.group.params, self.group.datas):
            if not np.isfinite(trial[start:start + data.size]).all():
                return p
            start += data.size
        return self.group.params[0]


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

    #: The learning rate (every update rule has one; schedulers set it).
    lr: float
    #: Set by a learning-rate scheduler: the rate its schedule starts from.
    initial_lr: float

    #: Attribute names shown by ``repr`` (each subclass lists its hyperparameters).
    _hyperparameter_names: tuple[str, ...] = ()

    def __init__(self, params: Iterable[Parameter]) -> None:
        self.params: list[Parameter] = _parameter_list(params, type(self).__name__)
        self.state: list[dict[str, np.ndarray]] = [{} for _ in self.params]
        self.step_count = 0
        self._groups: list[Group] = []

    def zero_grad(self) -> None:
        """Set every parameter's gradient to zero (in place)."""
        for p in self.params:
            p.zero_grad()

    def step(self) -> None:
        """Update every parameter in place from its current ``.grad``."""
        self._step(finite=False)

    def _step(self, finite: bool, groups: list[Group] | None = None) -> None:
        """:meth:`step`; with ``finite`` (``fit``), refuse a step that would make a weight NaN/inf.

        Each rule computes its step ``delta`` and :meth:`_apply` subtracts it. With
        ``finite``, every ``delta`` is checked before any is applied, so that a refused step
        (:class:`NonFiniteStep`) leaves every weight as it was; the check is usually one
        ``vdot`` for the whole network (chapter 13). ``groups``: those :meth:`_layout`
        returned, when the caller checks them itself (``fit``: once per epoch, chapter 13);
        ``None`` checks them at this step.
        """
        self.step_count += 1
        # The rule is elementwise: it runs once per group of parameters that lie side by
        # side in memory (usually one group: the whole network, as one flat vector).
        if groups is None:
            groups = self._layout()
        else:
            for group in groups:
                group.write_zeros()
        deltas = []
        for group in groups:
            deltas.append(self._update(group.data, group.grad, group.state, self.step_count))
            group.publish(self.state, self._temporaries)
        if finite:
            for group, delta in zip(groups, deltas):
                if not self._finite_after(group.data, delta):
                    raise NonFiniteStep(self, group, delta)
        for group, delta in zip(groups, deltas):
            self._apply(group.data, delta)

    def _apply(self, theta: np.ndarray, delta: np.ndarray) -> None:
        """The last line of every rule: ``theta -= delta``."""
        theta -= delta

    def _shrinks(self) -> bool:
        """Does :meth:`_apply` only subtract ``delta`` from weights no larger than before?"""
        return True

    def _finite_after(self, theta: np.ndarray, delta: np.ndarray) -> bool:
        """Are the weights ``theta`` (finite) still finite after :meth:`_apply` of ``delta``?"""
        # A finite sum of squares means every |delta_i| < sqrt(largest float): far below the
        # spacing of floats near the largest one, so theta - delta cannot overflow. One BLAS
        # pass, no temporary; only a huge or non-finite step is tried out on a copy.
        if math.isfinite(np.vdot(delta, delta)) and self._shrinks():
            return True
        return bool(np.isfinite(self._tried(theta, delta)).all())

    def _tried(self, theta: np.ndarray, delta: np.ndarray) -> np.ndarray:
        """The weights :meth:`_apply` would make of ``theta``, computed on a copy."""
        trial = theta.copy()
        with np.errstate(over="ignore", invalid="ignore"):
            self._apply(trial, delta)
        return trial

    def _layout(self) -> list[Group]:
        """The groups, built again if a parameter or ``state`` holds new arrays."""
        groups = self._groups
        for group in groups:
            if not group.ready(self.state):
                break
        else:  # every group is still valid (a plain loop: cheaper than all() of a generator)
            if groups:
                return groups
        self._groups = groups = build_groups(self.params, self.state)
        for group in groups:
            # One scratch array: every step reuses it for temporaries (and the step).
            group.state["scratch"] = np.empty_like(group.data)
            group.ready(self.state)
        return groups

    def _update(self, theta: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray],
                t: int) -> np.ndarray:
        """Step ``t`` (1, 2, ...) of the update rule: return ``delta``, for ``theta -= delta``.

        ``theta`` and ``grad`` hold the values and gradients of a run of parameters laid end
        to end, often the whole network as one flat vector (read ``grad``, never write it);
        ``state`` their buffers, made here on the first step (and updated in place). So the
        rule must be elementwise; one that needs a quantity per parameter (a norm, say)
        overrides :meth:`step`. ``delta`` is usually ``state["scratch"]``; :meth:`step`
        applies it (:meth:`_apply`).
        """
        raise NotImplementedError

    @staticmethod
    def _grad(theta: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray],
              weight_decay: float) -> np.ndarray:
        """``g_t = grad + weight_decay * theta`` (the L2 penalty's gradient folded in).

        Without weight decay this is ``grad`` itself (only read, never written);
        otherwise a buffer of its own, so that ``state["scratch"]`` stays free.
        """
        if weight_decay == 0:
            return grad
        if "decayed_grad" not in state:
            state["decayed_grad"] = np.empty_like(theta)
        g = state["decayed_grad"]
        np.multiply(theta, weight_decay, out=g)
        g += grad
        return g

    def __repr__(self) -> str:
        hyper = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._hyperparameter_names)
        return f"{type(self).__name__}({hyper})"

    # -- checkpoints, named and shaped as PyTorch's ----------------------------------------
    #: Per-step temporaries, not state: never saved.
    _temporaries = ("scratch", "decayed_grad")

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state as in PyTorch: ``{"state": {i: {...}}, "param_groups": [...]}``.

        ``state[i]`` holds copies of the buffers of ``params[i]`` (e.g. ``"exp_avg"``) and
        ``"step"`` (the step count, kept for every optimizer once it has stepped);
        ``param_groups`` is one group with the hyperparameters and ``"params": [0, 1, ...]``.
        """
        state: dict[int, dict[str, Any]] = {}
        for i, buffers in enumerate(self.state):
            entry: dict[str, Any] = {
                k: v.copy() for k, v in buffers.items() if k not in self._temporaries
            }
            if self.step_count:
                entry["step"] = self.step_count
            if entry:
                state[i] = entry
        group: dict[str, Any] = {name: getattr(self, name) for name in self._hyperparameter_names}
        if hasattr(self, "initial_lr"):  # set by a learning-rate scheduler, as in PyTorch
            group["initial_lr"] = self.initial_lr
        group["params"] = list(range(len(self.params)))
        return {"state": state, "param_groups": [group]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` output (for the same parameters), all or nothing.

        Raises
        ------
        ParameterError
            Another structure, other parameter indices, a buffer of another shape, or a
            hyperparameter outside its range.
        """
        name = type(self).__name__
        try:
            groups, saved = state_dict["param_groups"], state_dict["state"]
            (group,) = groups
            indices = list(group["params"])
        except (KeyError, TypeError, ValueError):
            raise ParameterError(
                f"{name}.load_state_dict(): expected {{'state': {{...}}, 'param_groups': "
                "[one group]}} as made by state_dict()"
            ) from None
        if indices != list(range(len(self.params))):
            raise ParameterError(
                f"{name}.load_state_dict(): the saved group has parameters {indices}, this "
                f"optimizer has {len(self.params)}"
            )
        hyper = {k: group[k] for k in self._hyperparameter_names if k in group}
        missing = sorted(set(self._hyperparameter_names) - set(hyper))
        if missing:
            raise ParameterError(f"{name}.load_state_dict(): missing hyperparameters {missing}")
        checked = type(self)(self.params, **hyper)  # the constructor validates every value
        initial_lr = None
        if "initial_lr" in group:
            initial_lr = check_nonnegative(group["initial_lr"], f"{name}.load_state_dict(): initial_lr")
        new_state: list[dict[str, np.ndarray]] = [{} for _ in self.params]
        steps = set()
        for key, entry in dict(saved).items():
            i = int(key) if isinstance(key, (int, str)) and str(key).isdigit() else -1
            if not 0 <= i < len(self.params) or not isinstance(entry, dict):
                raise ParameterError(f"{name}.load_state_dict(): no parameter {key!r}")
            p = self.params[i]
            for buf_name, value in entry.items():
                if buf_name == "step":
                    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                        raise ParameterError(
                            f"{name}.load_state_dict(): state[{i}]['step'] must be an int, "
                            f"got {value!r}"
                        )
                    steps.add(int(value))
                    continue
                if not isinstance(buf_name, str) or not isinstance(value, np.ndarray):
                    raise ParameterError(
                        f"{name}.load_state_dict(): state[{i}][{buf_name!r}] is not an array"
                    )
                if value.shape != p.shape or value.dtype.kind != "f" \
                        or buf_name in self._temporaries:
                    raise ShapeError(
                        f"{name}.load_state_dict(): state[{i}][{buf_name!r}] is "
                        f"{value.dtype} {value.shape}, parameter {i} is {p.dtype} {p.shape}"
                    )
                new_state[i][buf_name] = value.astype(p.dtype, copy=True)
        if len(steps) > 1 or any(t < 0 for t in steps):
            raise ParameterError(f"{name}.load_state_dict(): inconsistent step counts {steps}")
        for k in self._hyperparameter_names:
            setattr(self, k, getattr(checked, k))
        if initial_lr is not None:
            self.initial_lr = float(initial_lr)
        # Buffers a constructor creates (Adagrad's "sum") are kept unless the file has them.
        for i, buffers in enumerate(new_state):
            self.state[i] = {**{k: v for k, v in checked.state[i].items()}, **buffers}
        self.step_count = int(steps.pop()) if steps else 0
