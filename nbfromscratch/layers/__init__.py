"""Layers: ``Module`` and ``Parameter``, and every layer built from them."""

from .activation import Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh, get_activation
from .container import Sequential
from .dropout import Dropout
from .linear import Linear
from .module import Module, Parameter
from .registry import LAYER_REGISTRY, layer_from_config, register_layer

__all__ = [
    "Parameter",
    "Module",
    "Linear",
    "ReLU",
    "LeakyReLU",
    "Sigmoid",
    "Tanh",
    "Softmax",
    "Identity",
    "Dropout",
    "Sequential",
    "get_activation",
    "layer_from_config",
    "register_layer",
    "LAYER_REGISTRY",
]
