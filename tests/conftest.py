"""Shared test configuration, and the helpers several test files use."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import matplotlib

# Tests never open windows; the plotting helpers must work headless. (Only this process:
# setting MPLBACKEND in the environment would reach the notebook kernels nbval starts and
# stop their inline figures.)
matplotlib.use("Agg")

import numpy as np  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

from nbfromscratch.layers import Dropout, LeakyReLU, Linear, Module, ReLU, Sequential  # noqa: E402
from nbfromscratch.layers.activation import _ACTIVATIONS  # noqa: E402
from nbfromscratch.layers.registry import LAYER_REGISTRY  # noqa: E402

# Property tests: modest example counts keep `make test` fast; no deadline because the
# first call of a NumPy function can be slow on a busy 2-core machine.
settings.register_profile(
    "book",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("book")

#: The float dtypes every piece supports.
FLOATS = (np.float32, np.float64)


class strict:
    """Every floating-point warning is an error (underflow to 0 is fine and expected)."""

    def __enter__(self):
        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("error")
        self._e = np.errstate(over="raise", invalid="raise", divide="raise", under="ignore")
        self._e.__enter__()

    def __exit__(self, *exc):
        self._e.__exit__(*exc)
        self._w.__exit__(*exc)


def logits(dtype, bound=1e4, min_side=1):
    """(n, C) arrays with values in [-bound, bound], and the edges themselves."""
    bound = float(np.dtype(dtype).type(bound))  # hypothesis wants bounds exact in dtype
    edges = st.sampled_from([bound, -bound, 0.0])
    values = st.floats(-bound, bound, width=np.dtype(dtype).itemsize * 8)
    return hnp.arrays(
        dtype, hnp.array_shapes(min_dims=2, max_dims=2, min_side=min_side, max_side=6),
        elements=st.one_of(edges, values),
    )


# -- layers, from the registry -------------------------------------------------------------------
#: How to build a registered layer whose constructor needs (or is best tested with) arguments;
#: every other registered class is built as ``cls()``. Inputs have 3 features.
LAYER_FACTORIES: dict[str, Callable[[], Module]] = {
    "Linear": lambda: Linear(3, 3, rng=0),
    "Sequential": lambda: Sequential(Linear(3, 3, rng=0), ReLU()),
    "Dropout": lambda: Dropout(0.3, rng=0),
    "LeakyReLU": lambda: LeakyReLU(0.2),
}


def make_layer(name: str) -> Module:
    """A fresh instance of the registered layer ``name``."""
    return LAYER_FACTORIES.get(name, LAYER_REGISTRY[name])()


#: Every registered layer class, by name: a new ``@register_layer`` class joins these tests.
LAYER_NAMES = sorted(LAYER_REGISTRY)
#: The registered layers without parameters (activations, Dropout): any float dtype passes.
PARAMETER_FREE = [name for name in LAYER_NAMES if not make_layer(name).parameters()]
#: The classes ``get_activation`` builds.
ACTIVATION_NAMES = sorted({cls.__name__ for cls in _ACTIVATIONS.values()})
