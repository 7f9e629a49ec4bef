"""What ``fit`` does when a number stops being finite: find where, refuse the step, explain.

Derived in chapter 8, *Training* (``chapters/08_training``); the cheap checks are explained
in chapter 13, *Making it fast* (``chapters/13_making_it_fast``).

Every batch pays for one ``vdot`` of the optimizer's step (:class:`_StepGuard`) and one
``math.isfinite`` of the loss; everything else here runs only once something went wrong,
and may then take its time to say precisely what.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterator
from typing import Any

import numpy as np

from ._validation import describe
from .exceptions import NonFiniteError, ParameterError
from .layers.module import Module, Parameter, release_saved
from .optim._groups import Group, flat_runs, flat_view
from .optim.base import NonFiniteStep, Optimizer

__all__ = ["_check_loss", "_first_nonfinite", "_check_gradients", "_StepGuard", "_modules"]


def _check_loss(
    loss: float, epoch: int, batch: int | None = None, n_batches: int = 0,
    model: Module | None = None, xb: np.ndarray | None = None, yb: np.ndarray | None = None,
) -> None:
    if math.isfinite(loss):
        return
    if batch is None:
        raise NonFiniteError(f"fit: the validation loss is {loss} after epoch {epoch}")
    where = "" if model is None or xb is None else f"; {_first_nonfinite(model, xb, yb)}"
    raise NonFiniteError(
        f"fit: the loss is {loss} at epoch {epoch}, batch {batch} of {n_batches}{where}; the "
        "weights keep their values from before this batch (try a smaller learning rate, or "
        "check the data)"
    )


def _first_nonfinite(model: Module, xb: np.ndarray, yb: np.ndarray | None = None) -> str:
    """Where a non-finite loss comes from: a weight, a layer's output, or the loss itself.

    Runs only after the loss has gone bad, so it may replay the forward pass layer by layer.
    """
    huge = ""
    for name, p in model.named_parameters():
        if not np.isfinite(p.data).all():
            return (
                f"parameter '{name}' of {describe(_owner(model, p))} is already NaN/inf (these "
                "weights are not usable: load or build the model again)"
            )
        top = float(np.max(np.abs(p.data)))
        if not huge and top > _HUGE[p.dtype.char]:
            huge = (f" (parameter '{name}' of {describe(_owner(model, p))} reaches {top:.3g}: "
                    "the weights have diverged)")
    layers = list(model) if hasattr(model, "__iter__") else [model]
    x = xb
    try:
        with np.errstate(all="ignore"):
            for i, layer in enumerate(layers):
                x = layer(x)
                if not np.isfinite(x).all():
                    label = f"layer {i} ({describe(layer)})" if len(layers) > 1 else describe(layer)
                    return f"the output of {label} is the first to hold NaN/inf{huge}"
            top_out = float(np.max(np.abs(x)))
            top_y = float(np.max(np.abs(yb))) if yb is not None and yb.dtype.kind == "f" else 0.0
    finally:
        release_saved(model)  # no backward follows the failed batch or this replay
    if top_y and top_out <= 1e3 * top_y:
        return f"the model's output is finite, but the targets reach {top_y:.3g}: rescale them"
    return (
        f"the model's output is finite but reaches {top_out:.3g}, so the loss overflowed: "
        f"the training diverged{huge}"
    )


_DATA = operator.attrgetter("data")

#: Finite weights above these (float32: 'f', float64: 'd') mean a run has diverged.
_HUGE = {"f": 1e30, "d": 1e150}


def _owner(model: Module, p: Parameter) -> Module:
    return next(m for m in _modules(model) if any(v is p for v in vars(m).values()))


def _modules(module: Module) -> Iterator[Module]:
    return module.modules()


def _check_gradients(
    model: Module, named: list[tuple[str, Parameter]], epoch: int, batch: int, n_batches: int
) -> None:
    """Raise if any gradient holds a NaN or an infinity (run after a step went bad)."""
    for name, p in named:
        # One BLAS dot product, no temporary array: a NaN or inf anywhere makes sum(g * g)
        # non-finite. A huge but finite gradient can overflow it too: confirm element-wise.
        if math.isfinite(np.vdot(p.grad, p.grad)) or np.isfinite(p.grad).all():
            continue
        raise NonFiniteError(
            f"fit: the gradient of parameter '{name}' of {describe(_owner(model, p))} contains "
            f"NaN or inf at epoch {epoch}, batch {batch} of {n_batches}; the weights keep their "
            "values from before this batch (try a smaller learning rate)"
        )


class _StepGuard:
    """Runs the optimizer step, and refuses one that would turn a finite weight into NaN/inf.

    A NaN or inf gradient makes its weight NaN/inf through the step, and so does an update
    that overflows (a huge learning rate, float32's range) from finite gradients. The
    package's optimizers check their step before applying it (``Optimizer._step``): one
    ``vdot`` of the step for the whole network, whose weights lie side by side in memory
    (chapter 13). An optimizer with a ``step`` of its own is checked after it instead: the
    stepped weights are copied first (into buffers allocated once), so the undo is exact.
    The package's optimizers get their groups of weights checked once per epoch, not at every
    step (:meth:`begin_epoch`, :meth:`end_epoch`).
    """

    def __init__(
        self, model: Module, named: list[tuple[str, Parameter]], stepped: list[Parameter]
    ) -> None:
        self.named, self.stepped = named, stepped
        self.datas: list[np.ndarray] = []
        self.groups: list[Group] | None = None  # the package's optimizers: begin_epoch()
        for name, p in named:  # once per fit: training starts from finite weights
            w = p.data
            if not math.isfinite(np.vdot(w, w)) and not np.isfinite(w).all():
                raise NonFiniteError(
                    f"fit: parameter '{name}' of {describe(_owner(model, p))} holds NaN or inf "
                    "before training starts (weights of a run that diverged?); build or load "
                    "the model again"
                )

    def begin_epoch(self, optimizer: Any) -> None:
        """Check the optimizer's arrays once, for the whole epoch (chapter 13).

        Within an epoch only the forward and backward passes and the loss run between two
        steps; what may give a parameter new arrays (``p.data = ...``, ``model.to``,
        ``load_state_dict``) runs in callbacks, after the epoch. So the package's optimizers
        check their groups here rather than at every step; :meth:`end_epoch` makes sure.
        """
        self.groups = optimizer._layout() if type(optimizer).step is Optimizer.step else None

    def end_epoch(self, optimizer: Any, epoch: int) -> None:
        """Refuse an epoch during which a parameter or ``optimizer.state`` got new arrays."""
        if self.groups is None or optimizer._layout() is self.groups:
            return
        changed = [name for group in self.groups
                   for p, data, grad in zip(group.params, group.datas, group.grads)
                   if p.data is not data or p._grad is not grad
                   for name, q in self.named if q is p]
        what = f"parameter '{changed[0]}'" if changed else "a buffer in optimizer.state"
        raise ParameterError(
            f"fit: {what} was given a new array during epoch {epoch}, by a forward or backward "
            "pass or the loss; fit checks the optimizer's arrays once per epoch, so this "
            "epoch's steps may have gone to the old one. Change weights in place "
            "(p.data[...] = values), or between epochs, in a callback"
        )

    def step(self, optimizer: Any, model: Module, epoch: int, batch: int, n_batches: int) -> None:
        if self.groups is not None:  # the package's step checks its own delta
            try:
                optimizer._step(True, self.groups)
            except NonFiniteStep as refused:
                self._explain(refused.first_bad(), optimizer, model, epoch, batch, n_batches)
            return
        self._checked_after(optimizer, model, epoch, batch, n_batches)

    def _checked_after(
        self, optimizer: Any, model: Module, epoch: int, batch: int, n_batches: int
    ) -> None:
        """Copy, step, check the weights (one ``vdot`` per run of them), undo if one went bad."""
        # A weight given a new array (p.data = ...) since the last step: lay out again.
        if not all(map(operator.is_, map(_DATA, self.stepped), self.datas)) or not self.datas:
            self._layout()
        for copy, flat in zip(self.copies, self.flats):
            np.copyto(copy, flat)
        optimizer.step()
        for flat in self.flats:
            # sum(w * w) is NaN/inf if any w is; huge finite weights can overflow it too:
            # confirm element-wise before stopping.
            if not math.isfinite(np.vdot(flat, flat)) and not np.isfinite(flat).all():
                p = next(q for q in self.stepped if not np.isfinite(q.data).all())
                for copy, flat in zip(self.copies, self.flats):
                    np.copyto(flat, copy)
                self._explain(p, optimizer, model, epoch, batch, n_batches)

    def _layout(self) -> None:
        """One flat view (and a buffer for its copy) per run of weights side by side."""
        self.datas = [p.data for p in self.stepped]
        runs = flat_runs(self.datas)
        self.flats = [flat_view([self.datas[i] for i in run]) for run in runs]
        self.copies = [np.empty_like(flat) for flat in self.flats]

    def _explain(self, p: Parameter, optimizer: Any, model: Module, epoch: int, batch: int,
                 n_batches: int) -> None:
        """Raise for the refused step: a non-finite gradient, or else an overflowing update."""
        _check_gradients(model, self.named, epoch, batch, n_batches)
        name = next(n for n, q in self.named if q is p)
        lr = getattr(optimizer, "lr", None)
        raise NonFiniteError(
            f"fit: the optimizer step made parameter '{name}' of "
            f"{describe(_owner(model, p))} NaN or inf at epoch {epoch}, batch {batch} of "
            f"{n_batches}, from finite weights and gradients (the update overflowed"
            + (f" with lr={lr:g}" if isinstance(lr, (int, float)) else "")
            + "); the weights keep their values from before this batch (try a smaller "
            "learning rate)"
        )
