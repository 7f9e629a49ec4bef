"""Gradient-descent optimizers: SGD (with momentum), Adagrad, RMSprop, Adam and AdamW.

Also the learning-rate schedules of :mod:`nbfromscratch.optim.lr_scheduler` (chapter 8).

Every update rule is exactly the pseudo-code of the PyTorch ``torch.optim`` documentation,
so a model trained here and one trained with PyTorch from the same weights follow the same
path (up to floating-point rounding).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any

from .._validation import lookup
from ..exceptions import UnknownNameError
from ..layers.module import Parameter
from .adam import Adam, AdamW
from .adaptive import Adagrad, RMSprop
from .base import Optimizer
from .lr_scheduler import (
    CosineAnnealingLR,
    ExponentialLR,
    LinearLR,
    LRScheduler,
    OneCycleLR,
    StepLR,
)
from .sgd import SGD

__all__ = [
    "Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "get_optimizer",
    "LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR", "OneCycleLR",
]


_OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "adagrad": Adagrad,
    "rmsprop": RMSprop,
    "adam": Adam,
    "adamw": AdamW,
}


def get_optimizer(name: str, params: Iterable[Parameter], **kwargs: Any) -> Optimizer:
    """Build an optimizer from its name (a key of ``_OPTIMIZERS``, case-insensitive, e.g.
    ``"adam"``) and its hyperparameters (``lr=...``, ``momentum=...``).

    Derived in chapter 7, *Optimizers* (``chapters/07_optimizers``).
    """
    cls = lookup(_OPTIMIZERS, name, "optimizer")
    try:
        inspect.signature(cls).bind(params, **kwargs)
    except TypeError as err:  # e.g. momentum= for Adam: name the valid hyperparameters
        valid = [p for p in inspect.signature(cls).parameters if p != "params"]
        raise UnknownNameError(
            f"{cls.__name__}: {err}; its hyperparameters are {', '.join(valid)}"
        ) from None
    return cls(params, **kwargs)
