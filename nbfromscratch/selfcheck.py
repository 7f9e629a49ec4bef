"""Self-checks for the book's exercises: right or wrong, and where, without the solution.

Each chapter's exercise cell shows a call such as ``check("5.2", my_grad, X=X, W=W, b=b, G=G)``.
The expected result is *computed* here from the package (or from finite differences) for the
inputs the learner passes, never stored, so a check works for any data. A wrong answer gets
a message that says what differs (the shape, the first differing entry, which output of a
function) but not the value it should have.
"""

from __future__ import annotations

import tracemalloc
import warnings
from typing import Any, Callable

import numpy as np

from . import functional as F
from .data import iterate_minibatches, train_test_split
from .gradcheck import numerical_gradient
from .layers import Linear
from .layers.module import Parameter
from .losses import CrossEntropyLoss
from .optim import SGD, Adam

__all__ = ["check", "verdict", "EXERCISES"]

Expected = Callable[..., Any]
EXERCISES: dict[str, tuple[str, Callable[..., tuple[bool, str]]]] = {}


def _exercise(name: str, what: str):
    def register(judge: Callable[..., tuple[bool, str]]):
        EXERCISES[name] = (what, judge)
        return judge
    return register


def _compare(answer: Any, expected: Any, what: str, rtol: float = 1e-6, atol: float = 1e-9) -> tuple[bool, str]:
    """Compare an array-like answer with the expected one; say where they differ, not the values."""
    try:
        got = np.asarray(answer, dtype=np.float64)
    except (TypeError, ValueError):
        return False, f"{what} should be numbers; got {type(answer).__name__}"
    want = np.asarray(expected, dtype=np.float64)
    if got.shape != want.shape:
        return False, f"{what} has shape {got.shape}; expected shape {want.shape}"
    if not np.all(np.isfinite(got)):
        return False, f"{what} contains inf or nan"
    wrong = ~np.isclose(got, want, rtol=rtol, atol=atol)
    if not wrong.any():
        return True, ""
    first = tuple(int(i) for i in np.argwhere(wrong)[0])
    where = f"entry {first}" if got.ndim else "the value"
    others = int(wrong.sum()) - 1
    return False, f"{what}: {where} is not right" + (f" (and {others} more entries)" if others else "")


def _numeric(f: Callable[[np.ndarray], float], x: np.ndarray) -> np.ndarray:
    return numerical_gradient(f, np.array(x, dtype=np.float64))


def _call(fn: Any, *args: Any) -> tuple[bool, Any]:
    if not callable(fn):
        return False, f"the answer should be a function; got {type(fn).__name__}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            return True, fn(*args)
    except Exception as err:  # the learner's code failing is an answer too
        return False, f"calling it raised {type(err).__name__}: {err}"


def _gradient_function(
    answer: Any, inputs: tuple, f: Callable[[np.ndarray], float], of: int, what: str
) -> tuple[bool, str]:
    ok, value = _call(answer, *inputs)
    if not ok:
        return False, value
    return _compare(value, _numeric(f, inputs[of]), what, rtol=1e-5, atol=1e-7)


def _module_with(answer: Any, forward: Callable, backward: Callable, what: str) -> tuple[bool, str]:
    """A class with forward/backward: instantiate it, compare both passes on random data."""
    try:
        layer = answer()
    except Exception as err:
        return False, f"{what}() raised {type(err).__name__}: {err}"
    rng = np.random.default_rng(0)
    z, g = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    z_copy = z.copy()
    ok, out = _call(layer.forward, z)
    if not ok:
        return False, f"forward: {out}"
    if not np.array_equal(z, z_copy):
        return False, "forward changed its input in place"
    right, message = _compare(out, forward(z_copy), "forward's output")
    if not right:
        return False, message
    ok, grad = _call(layer.backward, g.copy())
    if not ok:
        return False, f"backward: {grad}"
    return _compare(grad, backward(z_copy, g), "backward's output")


# --- Chapter 1 --------------------------------------------------------------------------------
@_exercise("1.1", "the output Z of the two-layer network")
def _ch1_ex1(answer, X, W1, b1, W2, b2):
    return _compare(answer, F.relu(X @ W1 + b1) @ W2 + b2, "Z")


@_exercise("1.2", "the batched column-vector layer")
def _ch1_ex2(answer, X, V, b):
    return _compare(answer, (V @ np.asarray(X).T).T + b, "the batched output")


@_exercise("1.4", "the number of multiply-adds of X @ W")
def _ch1_ex4(answer, n, d, k):
    return _compare(answer, np.sum(np.ones((n, d)) @ np.ones((d, k))), "the count")


# --- Chapter 2 --------------------------------------------------------------------------------
@_exercise("2.1", "tanh'(x) computed from the sigmoid")
def _ch2_ex1(answer, x):
    return _compare(answer, F.tanh_grad(x), "tanh'(x)", rtol=1e-9, atol=1e-12)


@_exercise("2.2", "a softplus that never overflows")
def _ch2_ex2(answer):
    x = np.array([-1000.0, -30.0, -1.0, 0.0, 0.5, 30.0, 1000.0])
    ok, value = _call(answer, x)
    if not ok:
        return False, value + " (at x = -1000 or 1000, perhaps)"
    right, message = _compare(value, np.logaddexp(0.0, x), "softplus(x)", rtol=1e-12, atol=1e-300)
    if not right:
        return False, message
    slope = _numeric(lambda v: float(np.sum(answer(v))), x[1:-1])
    return _compare(slope, F.sigmoid(x[1:-1]), "its derivative (by finite differences)", rtol=1e-5)


@_exercise("2.4", "the largest products of 10 slopes (sigmoid, tanh, ReLU)")
def _ch2_ex4(answer):
    slopes = [F.sigmoid_grad(0.0), F.tanh_grad(0.0), F.relu_grad(1.0)]
    return _compare(answer, [float(s) ** 10 for s in slopes], "the three products", rtol=1e-3)


# --- Chapter 3 --------------------------------------------------------------------------------
@_exercise("3.2", "the rank of the softmax Jacobian")
def _ch3_ex2(answer, z):
    return _compare(answer, np.linalg.matrix_rank(F.softmax_jacobian(z), tol=1e-10), "the rank")


@_exercise("3.3", "the VJP of log-softmax, a function of (S, G)")
def _ch3_ex3(answer):
    rng = np.random.default_rng(3)
    Z, G = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    ok, value = _call(answer, F.softmax(Z, axis=1), G)
    if not ok:
        return False, value
    return _compare(value, _numeric(lambda Z_: float(np.sum(G * F.log_softmax(Z_, axis=1))), Z), "the VJP", rtol=1e-5)


@_exercise("3.4", "the VJP of softmax(z / T), a function of (Z, G, T)")
def _ch3_ex4(answer):
    rng = np.random.default_rng(4)
    Z, G, T = rng.normal(size=(4, 5)), rng.normal(size=(4, 5)), 0.5
    return _gradient_function(answer, (Z, G, T), lambda Z_: float(np.sum(G * F.softmax(Z_ / T, axis=1))), 0, "the VJP")


# --- Chapter 4 --------------------------------------------------------------------------------
@_exercise("4.3", "the gradient of (1/2N) sum (P - Y)^2, a function of (P, Y)")
def _ch4_ex3(answer):
    rng = np.random.default_rng(43)
    P, Y = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    return _gradient_function(answer, (P, Y), lambda P_: float(np.sum((P_ - Y) ** 2) / (2 * P_.size)), 0, "dL/dP")


@_exercise("4.4", "the gradient of the mean absolute error, a function of (P, Y)")
def _ch4_ex4(answer):
    rng = np.random.default_rng(44)
    P, Y = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    return _gradient_function(answer, (P, Y), lambda P_: float(np.mean(np.abs(P_ - Y))), 0, "dL/dP")


# --- Chapter 5 --------------------------------------------------------------------------------
@_exercise("5.2", "dL/dX of the residual block, a function of (X, W, b, G)")
def _ch5_ex2(answer):
    rng = np.random.default_rng(52)
    X, W, b, G = rng.normal(size=(5, 3)), rng.normal(size=(3, 3)), rng.normal(size=3), rng.normal(size=(5, 3))
    loss = lambda X_: float(np.sum((F.relu(X_ @ W + b) + X_) * G))  # noqa: E731
    return _gradient_function(answer, (X, W, b, G), loss, 0, "dL/dX")


@_exercise("5.3", "what the L2 penalty adds to dL/dW, a function of (W, lam)")
def _ch5_ex3(answer):
    W, lam = np.random.default_rng(53).normal(size=(3, 4)), 0.1
    return _gradient_function(answer, (W, lam), lambda W_: float(lam / 2 * np.sum(W_**2)), 0, "the added gradient")


@_exercise("5.4", "the cost ratios backward/forward (any layer, first layer)")
def _ch5_ex4(answer):
    n, d, k = 7, 5, 3
    forward = np.ones((n, d)) @ np.ones((d, k))                  # n*d*k multiply-adds, counted
    backward_params, backward_input = np.ones((d, n)) @ np.ones((n, k)), np.ones((n, k)) @ np.ones((k, d))
    full = (backward_params.sum() + backward_input.sum()) / forward.sum()
    return _compare(answer, [full, backward_params.sum() / forward.sum()], "the two ratios")


# --- Chapter 6 --------------------------------------------------------------------------------
@_exercise("6.1", "a Sigmoid module (a class with forward and backward)")
def _ch6_ex1(answer):
    return _module_with(answer, F.sigmoid, lambda z, g: g * F.sigmoid_grad(z), "the class")


@_exercise("6.2", "the weights of the two parts' gradients")
def _ch6_ex2(answer, n1, n):
    return _compare(answer, [np.mean(np.arange(n) < n1), np.mean(np.arange(n) >= n1)], "the two weights")


@_exercise("6.4", "E[A^2] / Var(Z) for LeakyReLU with slope alpha")
def _ch6_ex4(answer, alpha):
    z = np.random.default_rng(64).normal(size=2_000_000)           # Monte Carlo, 0.1% accurate
    return _compare(answer, np.mean(F.leaky_relu(z, alpha) ** 2) / np.var(z), "the factor", rtol=5e-3)


# --- Chapter 7 --------------------------------------------------------------------------------
@_exercise("7.4", "sign descent, an optimizer class built as SignDescent(params, lr)")
def _ch7_ex4(answer):
    rng = np.random.default_rng(74)
    start, H = rng.normal(size=3), np.diag([1.0, 5.0, 30.0])
    theirs, ours = Parameter(start.copy()), Parameter(start.copy())
    try:
        optimizer = answer([theirs], lr=0.1)
    except Exception as err:
        return False, f"building it raised {type(err).__name__}: {err}"
    reference = Adam([ours], lr=0.1, betas=(0.0, 0.0), eps=0.0)     # sign descent in disguise
    for step in range(1, 6):
        for p, opt in ((theirs, optimizer), (ours, reference)):
            opt.zero_grad()
            p.grad[...] = H @ p.data
            ok, message = _call(opt.step)
            if not ok:
                return False, f"step {step}: {message}"
        right, message = _compare(theirs.data, ours.data, f"the parameters after step {step}")
        if not right:
            return False, message
    return True, ""


# --- Chapter 8 --------------------------------------------------------------------------------
@_exercise("8.1", "the number of steps of each run")
def _ch8_ex1(answer, n, epochs, batch_sizes):
    # One step per batch, counted on the package's own batches (the last keeps the remainder).
    data = np.zeros((n, 1))
    per_epoch = [sum(1 for _ in iterate_minibatches(data, data[:, 0], b, shuffle=False)) for b in batch_sizes]
    return _compare(answer, [epochs * k for k in per_epoch], "the step counts")


@_exercise("8.2", "the full gradient from an epoch's batch gradients, a function of (batch_grads, batch_sizes)")
def _ch8_ex2(answer):
    # Real gradients of a layer and a mean loss: five batches of 8 and a last one of 4.
    rng = np.random.default_rng(82)
    X, y = rng.normal(size=(44, 3)), rng.integers(0, 2, size=44)
    layer, loss = Linear(3, 2, rng=0), CrossEntropyLoss()

    def grad(idx: np.ndarray) -> np.ndarray:
        layer.zero_grad()
        loss(layer(X[idx]), y[idx])
        layer.backward(loss.backward())
        return layer.weight.grad.copy()

    batches = [np.arange(start, min(start + 8, 44)) for start in range(0, 44, 8)]
    ok, value = _call(answer, [grad(b) for b in batches], [len(b) for b in batches])
    if not ok:
        return False, value
    return _compare(value, grad(np.arange(44)), "the combined gradient", rtol=1e-9, atol=1e-12)


# --- Chapters 9, 11, 12 -----------------------------------------------------------------------
@_exercise("9.4", "the single linear layer (W, b) equal to the two-layer network")
def _ch9_ex4(answer, model):
    d = model[0].weight.data.shape[0]
    b = model(np.zeros((1, d)))[0]
    W = model(np.eye(d)) - b                                       # the network's response to each input
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        return False, "the answer should be a pair (W, b)"
    right, message = _compare(answer[0], W, "W")
    return (right, message) if not right else _compare(answer[1], b, "b")


@_exercise("9.6", "gradients of the two-layer classifier, from (params, X, y)")
def _ch9_ex6(answer):
    rng = np.random.default_rng(96)
    X, y = rng.normal(size=(6, 2)), rng.integers(0, 2, size=6)
    params = {"W1": rng.normal(size=(2, 5)), "b1": rng.normal(size=5),
              "W2": rng.normal(size=(5, 2)), "b2": rng.normal(size=2)}

    def loss(**p: np.ndarray) -> float:
        z = F.relu(X @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]
        return float(-np.mean(F.log_softmax(z, axis=1)[np.arange(len(y)), y]))

    ok, grads = _call(answer, {k: v.copy() for k, v in params.items()}, X, y)
    if not ok:
        return False, grads
    if not isinstance(grads, dict) or set(grads) != set(params):
        return False, f"the function should return a dict with the keys {sorted(params)}"
    for name in params:
        def loss_of(value: np.ndarray, name: str = name) -> float:
            return loss(**{**params, name: value})
        right, message = _compare(grads[name], _numeric(loss_of, params[name]), f"dL/d{name}", rtol=1e-5, atol=1e-7)
        if not right:
            return False, message
    return True, ""


@_exercise("11.2", "recall and precision per class from the confusion matrix")
def _ch11_ex2(answer, M):
    M = np.asarray(M, dtype=np.float64)
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        return False, "the answer should be a pair (recall, precision)"
    right, message = _compare(answer[0], np.diag(M) / M.sum(axis=1), "recall")
    return (right, message) if not right else _compare(answer[1], np.diag(M) / M.sum(axis=0), "precision")


@_exercise("11.4", "the number of test images per class without stratification")
def _ch11_ex4(answer, X, y, rng):
    _, _, _, y_test = train_test_split(X, y, test_size=0.2, stratify=False, rng=rng)
    return _compare(answer, np.bincount(y_test, minlength=int(np.max(y)) + 1), "the counts")


@_exercise("12.1", "the fixed SigmoidLayer (a class with forward and backward)")
def _ch12_ex1(answer):
    return _module_with(answer, F.sigmoid, lambda z, g: g * F.sigmoid_grad(z), "the class")


@_exercise("12.2", "the gradient check's ratio for the mis-normalised MSE")
def _ch12_ex2(answer, k):
    rng = np.random.default_rng(122)
    pred, target = rng.normal(size=(5, k)), rng.normal(size=(5, k))
    numeric = _numeric(lambda P_: float(np.mean((P_ - target) ** 2)), pred)
    return _compare(answer, np.median((pred - target) / len(pred) / numeric), "the ratio", rtol=1e-4)


@_exercise("12.3", "a ReLU layer that leaves its input alone")
def _ch12_ex3(answer):
    return _module_with(answer, F.relu, lambda z, g: g * F.relu_grad(z), "the class")


# --- Chapter 13 -------------------------------------------------------------------------------
@_exercise("13.2", "momentum_step(W, dW, buf, lr, mu), in place and without temporaries")
def _ch13_ex2(answer):
    rng = np.random.default_rng(132)
    start = rng.normal(size=(200, 100))
    W, buf = start.copy(), np.zeros_like(start)
    reference = Parameter(start.copy())
    optimizer = SGD([reference], lr=0.1, momentum=0.9)
    for step in range(1, 4):
        g = rng.normal(size=start.shape)
        reference.grad[...] = g
        optimizer.step()
        dW = g.copy()  # the answer may use dW as scratch
        tracemalloc.start()
        try:
            ok, value = _call(answer, W, dW, buf, 0.1, 0.9)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        if not ok:
            return False, f"step {step}: {value}"
        right, message = _compare(W, reference.data, f"W after step {step} (changed in place)")
        if not right:
            return False, message
        if peak > W.nbytes // 2:
            return False, f"step {step} allocates a temporary array ({peak / W.nbytes:.1f} x the size of W)"
    return True, ""


@_exercise("13.3", "He-scaled float32 weights, a function of (fan_in, fan_out, rng)")
def _ch13_ex3(answer):
    fan_in, fan_out = 300, 40
    ok, value = _call(answer, fan_in, fan_out, np.random.default_rng(133))
    if not ok:
        return False, value
    dtype = getattr(value, "dtype", None)
    if dtype != np.float32:
        return False, f"it returns {dtype if dtype is not None else type(value).__name__}; expected float32"
    z = np.random.default_rng(133).standard_normal((fan_in, fan_out), dtype=np.float32)
    return _compare(value, z.astype(np.float64) * np.sqrt(2.0 / fan_in), "the weights", rtol=1e-6)


@_exercise("13.4", "the share of a step's FLOPs that backward_params saves (13.2)")
def _ch13_ex4(answer, sizes):
    n = 8  # any batch size: it cancels
    flops = [2 * n * d * k for d, k in zip(sizes[:-1], sizes[1:])]  # one product each, by (13.1)
    step = 3 * sum(flops)                                           # X W, X^T G and G W^T
    return _compare(answer, flops[0] / step, "the share (a fraction)", rtol=1e-3)


def verdict(name: str, answer: Any, **inputs: Any) -> tuple[bool, str]:
    """``(right, message)`` for exercise ``name`` (e.g. ``"5.2"``), without printing."""
    if name not in EXERCISES:
        raise KeyError(f"no self-check named {name!r}; there are: {', '.join(EXERCISES)}")
    what, judge = EXERCISES[name]
    right, message = judge(answer, **inputs)
    if right:
        return True, f"Exercise {name} ({what}): right."
    return False, f"Exercise {name} ({what}): not yet: {message}."


def check(name: str, answer: Any, **inputs: Any) -> None:
    """Print whether ``answer`` solves exercise ``name``, and if not, where it differs.

    ``inputs`` are the arrays the exercise asks you to use (the chapter's call shows them).
    """
    print(verdict(name, answer, **inputs)[1])
