"""nbfromscratch: the neural-network library the book *Neural Networks from Scratch* derives.

Everything is plain NumPy, batch-first (``X`` has shape ``(n_samples, n_features)``), with
PyTorch's names for the building blocks and scikit-learn's for the estimators::

    import nbfromscratch as nbf

    model = nbf.Sequential(nbf.Linear(2, 32, rng=0), nbf.ReLU(), nbf.Linear(32, 2, rng=1))
    history = nbf.fit(model, nbf.CrossEntropyLoss(), nbf.Adam(model.parameters(), lr=1e-2),
                      X, y, epochs=30, rng=0)

or simply ``nbf.MLPClassifier().fit(X, y)``. The functions of chapters 2-4 live in
``nbf.functional`` (also ``nbf.F``). Importing the package imports NumPy only; pandas and
tqdm are loaded by :func:`fit` and matplotlib/seaborn by the plotting helpers; scikit-learn
is never imported (the estimators answer its questions only when it asks).
"""

from __future__ import annotations

from . import autograd, callbacks, data, functional, gradcheck, init, io, layers, losses, metrics, optim, plotting
from . import functional as F
from ._source import show_source
from .callbacks import Callback, EarlyStopping, LambdaCallback, Plateau
from .data import (
    Standardizer,
    iterate_minibatches,
    load_digits,
    load_mnist,
    make_moons,
    make_sinc,
    one_hot,
    train_test_split,
)
from .estimators import MLPClassifier, MLPRegressor
from .exceptions import (
    ArgumentTypeError,
    BackwardBeforeForwardError,
    DataFileError,
    DTypeError,
    EmptyInputError,
    LabelError,
    NBFSError,
    NonFiniteError,
    NotFittedError,
    ParameterError,
    ShapeError,
    UnknownNameError,
    WeightsFileError,
)
from .gradcheck import GradCheckResult, check_gradients, numerical_gradient, relative_error
from .io import load, load_training_state, load_weights, save
from .layers import (
    Dropout,
    Identity,
    LeakyReLU,
    Linear,
    Module,
    Parameter,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
    get_activation,
    layer_from_config,
)
from .losses import BCEWithLogitsLoss, CrossEntropyLoss, Loss, MSELoss
from .metrics import accuracy, confusion_matrix, mean_squared_error, r2_score
from .optim import (
    SGD,
    Adagrad,
    Adam,
    AdamW,
    CosineAnnealingLR,
    ExponentialLR,
    LinearLR,
    LRScheduler,
    OneCycleLR,
    Optimizer,
    RMSprop,
    StepLR,
    get_optimizer,
)
from .plotting import (
    plot_confusion_matrix,
    plot_decision_boundary,
    plot_function_and_derivative,
    plot_history,
    plot_regression,
    use_book_style,
)
from .training import evaluate, fit, predict

__version__ = "0.1.0"

__all__ = [
    # submodules
    "F",
    "functional",
    "init",
    "layers",
    "losses",
    "optim",
    "data",
    "metrics",
    "gradcheck",
    "io",
    "plotting",
    "autograd",
    # layers
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
    # losses
    "Loss",
    "MSELoss",
    "CrossEntropyLoss",
    "BCEWithLogitsLoss",
    # optimizers
    "Optimizer",
    "SGD",
    "Adagrad",
    "RMSprop",
    "Adam",
    "AdamW",
    "get_optimizer",
    # learning-rate schedules
    "LRScheduler",
    "StepLR",
    "ExponentialLR",
    "CosineAnnealingLR",
    "LinearLR",
    "OneCycleLR",
    # training and estimators
    "callbacks",
    "Callback",
    "EarlyStopping",
    "LambdaCallback",
    "Plateau",
    "fit",
    "evaluate",
    "predict",
    "MLPClassifier",
    "MLPRegressor",
    # data
    "one_hot",
    "train_test_split",
    "iterate_minibatches",
    "Standardizer",
    "make_moons",
    "make_sinc",
    "load_digits",
    "load_mnist",
    # metrics
    "accuracy",
    "confusion_matrix",
    "mean_squared_error",
    "r2_score",
    # gradient checking
    "numerical_gradient",
    "relative_error",
    "check_gradients",
    "GradCheckResult",
    # saving and loading
    "save",
    "load",
    "load_weights",
    "load_training_state",
    # plotting
    "use_book_style",
    "plot_function_and_derivative",
    "plot_decision_boundary",
    "plot_regression",
    "plot_history",
    "plot_confusion_matrix",
    # exceptions
    "NBFSError",
    "ShapeError",
    "DTypeError",
    "LabelError",
    "EmptyInputError",
    "NonFiniteError",
    "BackwardBeforeForwardError",
    "UnknownNameError",
    "NotFittedError",
    "WeightsFileError",
    "DataFileError",
    "ParameterError",
    "ArgumentTypeError",
    # book tooling
    "show_source",
    "__version__",
]
