"""The exercises' self-checks accept a right answer and reject a wrong one, saying where.

Every registered check gets a solution written here independently of the chapters (the
chapters' hidden solution cells call the same checks, and their stored output must say
"right": see the last test), and at least one typical mistake.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import nbfromscratch as nbf
from nbfromscratch import selfcheck
from nbfromscratch.selfcheck import EXERCISES, verdict

ROOT = Path(__file__).resolve().parent.parent
rng = np.random.default_rng(2024)
X, W1, b1 = rng.normal(size=(4, 3)), rng.normal(size=(3, 8)), rng.normal(size=8)
W2, b2 = rng.normal(size=(8, 2)), rng.normal(size=2)
V, b = rng.normal(size=(2, 3)), rng.normal(size=2)
x = rng.uniform(-4, 4, size=50)


def sigmoid(v):
    return 0.5 * (1 + np.tanh(v / 2))  # an identity, not the package's formula


class SigmoidRight:
    def forward(self, z):
        self.s = sigmoid(z)
        return self.s

    def backward(self, g):
        return g * self.s * (1 - self.s)


class SigmoidTwice(SigmoidRight):     # applies sigma' to the output s: the chapter 12 bug
    def backward(self, g):
        s2 = sigmoid(self.s)
        return g * s2 * (1 - s2)


class ReLUCopy:
    def forward(self, z):
        self.z = z.copy()
        return np.where(z > 0, z, 0.0)

    def backward(self, g):
        return g * (self.z > 0)


class ReLUInPlace(ReLUCopy):
    def forward(self, z):
        self.z = z
        z[z < 0] = 0
        return z

    def backward(self, g):
        return g * (self.z >= 0)


class SignDescent:
    def __init__(self, params, lr):
        self.params, self.lr = list(params), lr

    def zero_grad(self):
        for p in self.params:
            p.zero_grad()

    def step(self):
        for p in self.params:
            p.data -= self.lr * np.sign(p.grad)


class GradientDescent(SignDescent):
    def step(self):
        for p in self.params:
            p.data -= self.lr * p.grad


def two_layer_grads(p, X_, y_, mask_on_output=False):
    Z1 = X_ @ p["W1"] + p["b1"]
    A1 = np.maximum(Z1, 0)
    Z2 = A1 @ p["W2"] + p["b2"]
    P = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    G2 = (P - np.eye(2)[y_]) / len(y_)
    mask = (A1 >= 0) if mask_on_output else (Z1 > 0)   # the wrong mask is all ones (mistake 3)
    G1 = (G2 @ p["W2"].T) * mask
    return {"W1": X_.T @ G1, "b1": G1.sum(axis=0), "W2": A1.T @ G2, "b2": G2.sum(axis=0)}


two_layer = nbf.Sequential(nbf.Linear(2, 5, rng=1), nbf.Linear(5, 2, rng=2))
A, B = two_layer[0], two_layer[1]
A.bias.data[:] = rng.normal(size=5)   # zero biases would hide a forgotten b1 W2
M = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 9]])
y_digits = np.repeat(np.arange(5), 20)
X_digits = np.arange(100.0)[:, None]
_, _, _, y_test_plain = nbf.train_test_split(X_digits, y_digits, test_size=0.2, stratify=False, rng=1)


def momentum_in_place(W, dW, buf, lr, mu):
    buf *= mu
    buf += dW
    dW[...] = buf
    dW *= lr
    W -= dW


def momentum_with_temporary(W, dW, buf, lr, mu):   # right values, one new array per step
    buf *= mu
    buf += dW
    W -= lr * buf


def he_float32(fan_in, fan_out, rng):
    return rng.standard_normal((fan_in, fan_out), dtype=np.float32) * np.float32(np.sqrt(2.0 / fan_in))


def he_upcast(fan_in, fan_out, rng):              # the NumPy float64 scalar promotes the array
    return rng.standard_normal((fan_in, fan_out), dtype=np.float32) * np.sqrt(2.0 / fan_in)


CASES = {  # name: (inputs, right answer, wrong answer, word the wrong message must contain)
    "1.1": (dict(X=X, W1=W1, b1=b1, W2=W2, b2=b2), np.maximum(X @ W1 + b1, 0) @ W2 + b2,
            (X @ W1 + b1) @ W2 + b2, "entry"),
    "1.2": (dict(X=X, V=V, b=b), X @ V.T + b, V @ X.T, "shape"),
    "1.4": (dict(n=4, d=3, k=2), 24, 4 * 3 * 2 + 4 * 2 * 2, "value"),
    "2.1": (dict(x=x), 4 * sigmoid(2 * x) * (1 - sigmoid(2 * x)), 2 * sigmoid(2 * x) * (1 - sigmoid(2 * x)), "entry"),
    "2.2": ({}, lambda v: np.maximum(v, 0) + np.log1p(np.exp(-np.abs(v))), lambda v: np.log(1 + np.exp(v)), "raised"),
    "2.4": ({}, (0.25**10, 1.0, 1.0), (0.25 * 10, 1.0, 1.0), "entry"),
    "3.2": (dict(z=rng.normal(size=6)), 5, 6, "value"),
    "3.3": ({}, lambda S, G: G - S * G.sum(axis=-1, keepdims=True), lambda S, G: G - S * G, "entry"),
    "3.4": ({}, lambda Z, G, T: nbf.functional.softmax_vjp(nbf.functional.softmax(Z / T), G) / T,
            lambda Z, G, T: nbf.functional.softmax_vjp(nbf.functional.softmax(Z / T), G), "entry"),
    "4.3": ({}, lambda P, Y: (P - Y) / P.size, lambda P, Y: 2 * (P - Y) / P.size, "entry"),
    "4.4": ({}, lambda P, Y: np.sign(P - Y) / P.size, lambda P, Y: (P - Y) / P.size, "entry"),
    "5.2": ({}, lambda X_, W, b_, G: (G * (X_ @ W + b_ > 0)) @ W.T + G,
            lambda X_, W, b_, G: (G * (X_ @ W + b_ > 0)) @ W.T, "entry"),
    "5.3": ({}, lambda W, lam: lam * W, lambda W, lam: lam / 2 * W, "entry"),
    "5.4": ({}, (2, 1), (2, 2), "entry (1,)"),
    "6.1": ({}, SigmoidRight, SigmoidTwice, "backward"),
    "6.2": (dict(n1=2, n=5), (0.4, 0.6), (0.5, 0.5), "entry"),
    "6.4": (dict(alpha=0.5), (1 + 0.25) / 2, 0.5, "value"),
    "7.4": ({}, SignDescent, GradientDescent, "step 1"),
    "8.1": (dict(n=360, epochs=30, batch_sizes=[1, 32, 360]), [10800, 360, 30], [10800, 330, 30], "entry (1,)"),
    "8.2": ({}, lambda gs, sizes: sum(k * g for k, g in zip(sizes, gs)) / sum(sizes),
            lambda gs, sizes: np.mean(gs, axis=0), "entry"),
    "9.4": (dict(model=two_layer), (A.weight.data @ B.weight.data, A.bias.data @ B.weight.data + B.bias.data),
            (A.weight.data @ B.weight.data, B.bias.data), "b"),
    "9.6": ({}, lambda p, X_, y_: two_layer_grads(p, X_, y_),
            lambda p, X_, y_: two_layer_grads(p, X_, y_, mask_on_output=True), "dL/dW1"),
    "11.2": (dict(M=M), (np.diag(M) / M.sum(axis=1), np.diag(M) / M.sum(axis=0)),
             (np.diag(M) / M.sum(axis=0), np.diag(M) / M.sum(axis=1)), "recall"),
    "11.4": (dict(X=X_digits, y=y_digits, rng=1), np.bincount(y_test_plain, minlength=5), np.full(5, 4), "entry"),
    "12.1": ({}, SigmoidRight, SigmoidTwice, "backward"),
    "12.2": (dict(k=4), 2.0, 0.5, "value"),
    "12.3": ({}, ReLUCopy, ReLUInPlace, "in place"),
    "13.2": ({}, momentum_in_place, momentum_with_temporary, "allocates"),
    "13.3": ({}, he_float32, he_upcast, "float64"),
    "13.4": (dict(sizes=(784, 1024, 1024, 10)), 784 * 1024 / (3 * (784 * 1024 + 1024 * 1024 + 1024 * 10)),
             784 * 1024 / (784 * 1024 + 1024 * 1024 + 1024 * 10), "value"),
}


def test_every_registered_check_has_a_case_here():
    assert set(CASES) == set(EXERCISES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_check_accepts_the_right_answer(name):
    inputs, right, _, _ = CASES[name]
    ok, message = verdict(name, right, **inputs)
    assert ok, message
    assert message.endswith("right.")


@pytest.mark.parametrize("name", sorted(CASES))
def test_check_rejects_a_wrong_answer_and_says_where(name):
    inputs, _, wrong, word = CASES[name]
    ok, message = verdict(name, wrong, **inputs)
    assert not ok and "not yet" in message
    assert word in message, message


def test_a_wrong_shape_is_named_without_giving_the_values():
    ok, message = verdict("1.1", np.zeros((4, 3)), X=X, W1=W1, b1=b1, W2=W2, b2=b2)
    assert not ok and "shape (4, 3)" in message and "expected shape (4, 2)" in message
    expected = np.maximum(X @ W1 + b1, 0) @ W2 + b2
    assert f"{expected[0, 0]:.3f}" not in message


def test_check_prints_and_unknown_names_are_refused(capsys):
    selfcheck.check("3.2", 5, z=np.arange(6.0))
    assert "right" in capsys.readouterr().out
    with pytest.raises(KeyError, match="no self-check named"):
        verdict("99.9", 0)


def hidden_solution_outputs() -> list[tuple[str, str]]:
    found = []
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            src = "".join(cell["source"])
            if cell["cell_type"] == "code" and re.search(r"\bcheck\(\"\d+\.\d+\"", src):
                text = "".join("".join(o.get("text", "")) for o in cell.get("outputs", []))
                found.append((f"{path.name}: {src.splitlines()[0]}", text))
    return found


def test_every_hidden_solution_passes_its_own_check():
    outputs = hidden_solution_outputs()
    assert outputs, "no chapter calls a self-check"
    for where, text in outputs:
        assert "right." in text and "not yet" not in text, f"{where}: stored check output {text!r}"
