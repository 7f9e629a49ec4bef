"""``Sequential``: layers applied one after the other."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, overload

import numpy as np

from ..exceptions import ArgumentTypeError
from .module import Module
from .registry import layer_from_config, register_layer

__all__ = ["Sequential"]


@register_layer
class Sequential(Module):
    """A chain of layers: ``forward`` runs them in order, ``backward`` in reverse order.

    Parameter names follow PyTorch: ``"0.weight"``, ``"0.bias"``, ``"2.weight"``, ...

    Derived in chapter 6, *Building a network* (``chapters/06_building_a_network``).

    Parameters
    ----------
    *layers : Module
        The layers, first applied first.

    Examples
    --------
    >>> from nbfromscratch.layers import Linear, ReLU, Sequential
    >>> model = Sequential(Linear(2, 16, rng=0), ReLU(), Linear(16, 2, rng=1))
    >>> len(model), [name for name, _ in model.named_parameters()]
    (3, ['0.weight', '0.bias', '2.weight', '2.bias'])
    """

    def __init__(self, *layers: Module) -> None:
        super().__init__()
        for i, layer in enumerate(layers):
            self._check_layer(layer, i)
        self.layers: list[Module] = list(layers)

    @staticmethod
    def _check_layer(layer: Any, index: int) -> None:
        if isinstance(layer, type) and issubclass(layer, Module):
            raise ArgumentTypeError(
                f"Sequential: layer {index} is the class {layer.__name__}, not a layer: "
                f"create one with {layer.__name__}(...)"
            )
        if not isinstance(layer, Module):
            raise ArgumentTypeError(
                f"Sequential: layer {index} must be a Module, got {type(layer).__name__}"
            )

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Apply every layer in order: input of the first layer -> output of the last."""
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """Chain rule through the layers in reverse order; returns ``dL/d(input)``."""
        # dL/dx_{k} = backward_k(dL/dx_{k+1})   (chapter 6)
        grad = grad_output
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad

    def backward_params(self, grad_output: np.ndarray) -> None:
        """Like :meth:`backward`, but the first layer skips ``dL/d(input)`` (the input is data)."""
        grad = grad_output
        for layer in reversed(self.layers[1:]):
            grad = layer.backward(grad)
        if self.layers:
            self.layers[0].backward_params(grad)

    # -- container protocol ------------------------------------------------------------
    @overload
    def __getitem__(self, index: int) -> Module: ...
    @overload
    def __getitem__(self, index: slice) -> Sequential: ...

    def __getitem__(self, index: int | slice) -> Module:
        """``model[i]`` is a layer; ``model[i:j]`` a new Sequential sharing those layers."""
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    def append(self, layer: Module) -> Sequential:
        """Add ``layer`` at the end; returns ``self`` so calls can be chained."""
        self._check_layer(layer, len(self.layers))
        if any(m is self for m in layer.modules()):
            raise ArgumentTypeError(
                "Sequential.append: the layer contains this Sequential; a network inside "
                "itself would recurse forever"
            )
        self.layers.append(layer)
        return self

    # -- configuration -----------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """``{"type": "Sequential", "layers": [each layer's config]}`` (JSON-able, no weights)."""
        configs = []
        for i, layer in enumerate(self.layers):
            get_config = getattr(layer, "get_config", None)
            if get_config is None:
                raise ArgumentTypeError(
                    f"Sequential.get_config: layer {i} ({type(layer).__name__}) has no get_config()"
                )
            configs.append(get_config())
        return {"type": "Sequential", "layers": configs}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        """Rebuild from ``get_config()`` output (without its ``"type"`` key)."""
        return cls(*(layer_from_config(c) for c in config.get("layers", [])))
