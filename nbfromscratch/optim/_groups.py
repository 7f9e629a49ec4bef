"""Runs of parameters that lie side by side in memory, updated as one flat vector.

Derived in chapter 13, *Making it fast* (``chapters/13_making_it_fast``).

Every update rule of chapter 7 is elementwise: applied parameter by parameter or to all the
numbers at once, it computes the same thing. A :class:`Group` is a run of an optimizer's
parameters whose values, and whose gradients, follow each other in memory, as those of a
network built layer after layer do (:mod:`nbfromscratch.layers._blocks`). The rule then runs
once on the group's flat ``data`` and ``grad``, one NumPy call per line of the rule instead of
one per parameter. Its buffers are flat too; each parameter's entry in ``optimizer.state``
holds views of them, shaped like the parameter (as PyTorch's are).

Before every step a group checks that each parameter still has the arrays it was built from
(``p.data = ...`` and ``model.to(...)`` give it new ones) and that ``optimizer.state`` still
holds its views (``load_state_dict`` puts new arrays there); if not, the optimizer builds its
groups again from what the parameters and ``optimizer.state`` hold now. (``fit`` makes this
check once per epoch, before and after it, and hands the groups to each step: within an
epoch nothing gives a parameter new arrays.) Parameters that do not follow each other form
groups of one, updated through their own arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter, is_

import numpy as np

from ..layers.module import Parameter

__all__ = ["Group", "build_groups", "flat_runs", "flat_view"]


def _address(a: np.ndarray) -> int:
    return int(a.__array_interface__["data"][0])


def _follows(a: np.ndarray, b: np.ndarray) -> bool:
    """Does ``b`` start where ``a`` ends, in the same C-contiguous memory, with a's dtype?"""
    return (a.base is not None and b.base is a.base and a.dtype == b.dtype
            and a.flags.c_contiguous and b.flags.c_contiguous and a.base.flags.c_contiguous
            and _address(b) == _address(a) + a.nbytes)


def flat_view(arrays: Sequence[np.ndarray]) -> np.ndarray:
    """One 1-D view of ``arrays``, which follow each other (or the array itself, if one)."""
    if len(arrays) == 1:
        return arrays[0]
    base = arrays[0].base.reshape(-1)  # type: ignore[union-attr]  # a view: base is contiguous
    start = (_address(arrays[0]) - _address(base)) // base.itemsize
    return base[start:start + sum(a.size for a in arrays)]


def flat_runs(arrays: Sequence[np.ndarray]) -> list[list[int]]:
    """The indices of ``arrays``, cut into runs of arrays that follow each other in memory."""
    runs: list[list[int]] = []
    for i, a in enumerate(arrays):
        if runs and _follows(arrays[i - 1], a):
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


class Group:
    """Parameters ``indices`` of an optimizer, as one flat ``data`` and ``grad``.

    ``state`` holds the update rule's buffers for the whole group (flat); ``views[k]`` maps
    each buffer name to its view for parameter ``indices[k]``, as found in ``optimizer.state``.
    """

    __slots__ = ("indices", "params", "datas", "grads", "data", "grad", "state", "views",
                 "published", "counts", "owners", "names", "flat_views")

    def __init__(self, indices: list[int], params: Sequence[Parameter],
                 states: list[dict[str, np.ndarray]]) -> None:
        self.indices = indices
        ps = [params[i] for i in indices]
        self.params, self.datas, self.grads = ps, [p.data for p in ps], [p._grad for p in ps]
        self.data = flat_view(self.datas)
        self.grad = flat_view(self.grads)
        self.state: dict[str, np.ndarray] = {}
        self.views: list[dict[str, np.ndarray]] = [{} for _ in indices]
        self.published = -1  # len(state) when publish() last looked at it
        for name in states[indices[0]]:  # buffers made before: by a constructor, or loaded
            buffers = [states[i][name] for i in indices]
            self.state[name] = (buffers[0] if len(buffers) == 1 else
                                np.concatenate([b.ravel() for b in buffers]))
        self.publish(states, ())

    def publish(self, states: list[dict[str, np.ndarray]], temporaries: Sequence[str]) -> None:
        """Put a view of every new buffer (temporaries aside) into each parameter's ``states``."""
        if len(self.state) == self.published:  # buffers are only ever added
            return
        self.published = len(self.state)
        start = 0
        for i, views, data in zip(self.indices, self.views, self.datas):
            for name, buffer in self.state.items():
                if name not in temporaries and name not in views:
                    view = buffer if len(self.indices) == 1 else \
                        buffer[start:start + data.size].reshape(data.shape)
                    states[i][name] = views[name] = view
            start += data.size
        # What ready() compares, flattened: each parameter's number of buffers, and which
        # parameter (its place in the group), name and view every buffer has.
        self.counts = [len(views) for views in self.views]
        self.owners = [k for k, views in enumerate(self.views) for _ in views]
        self.names = [name for views in self.views for name in views]
        self.flat_views = [view for views in self.views for view in views.values()]

    def write_zeros(self) -> None:
        """Write the zeros a lazy ``zero_grad()`` left pending: the update rule reads them."""
        if any(map(_IS_ZERO, self.params)):  # a parameter no backward pass reached
            for p in self.params:
                if p._grad_is_zero:
                    p._grad.fill(0)
                    p._grad_is_zero = False

    def ready(self, states: list[dict[str, np.ndarray]]) -> bool:
        """Still valid (same arrays everywhere)? Writes the gradients' pending zeros."""
        # At every optimizer.step() (once per epoch in fit): compared in C (map), not in a
        # Python loop over the parameters.
        ps = self.params
        if not (all(map(is_, map(_DATA, ps), self.datas))
                and all(map(is_, map(_GRAD, ps), self.grads))):
            return False
        self.write_zeros()
        # optimizer.state still holds exactly the views publish() put there, no other buffer.
        mine = list(map(states.__getitem__, self.indices))
        return (list(map(len, mine)) == self.counts
                and all(map(is_, map(dict.get, map(mine.__getitem__, self.owners), self.names),
                                self.flat_views)))


_DATA, _GRAD, _IS_ZERO = (attrgetter(name) for name in ("data", "_grad", "_grad_is_zero"))


def build_groups(params: Sequence[Parameter], states: list[dict[str, np.ndarray]]) -> list[Group]:
    """Cut ``params`` into groups of parameters that follow each other in memory.

    Two neighbours share a group when their values follow each other, their gradients too
    (each of its parameter's shape), and they have buffers of the same names and shapes.
    """
    def joins(i: int) -> bool:
        p, q = params[i - 1], params[i]
        return (_follows(p.data, q.data) and _follows(p._grad, q._grad)
                and p._grad.shape == p.data.shape and q._grad.shape == q.data.shape
                and states[i - 1].keys() == states[i].keys()
                and all(isinstance(b, np.ndarray) and b.shape == q.data.shape and b.dtype == q.dtype
                        for b in states[i].values())
                and all(isinstance(b, np.ndarray) and b.shape == p.data.shape and b.dtype == p.dtype
                        for b in states[i - 1].values()))

    runs: list[list[int]] = []
    for i in range(len(params)):
        if runs and joins(i):
            runs[-1].append(i)
        else:
            runs.append([i])
    return [Group(run, params, states) for run in runs]
