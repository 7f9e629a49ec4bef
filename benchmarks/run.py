"""Benchmark: nbfromscratch against PyTorch (CPU), scikit-learn and a textbook NumPy loop.

Every contender trains the *same* network from the *same* initial weights on the *same*
minibatches (the data are shuffled once, outside the timed region, and every contender then
walks through them in order). Contenders alternate inside each repeat, so a slow phase of the
machine hits all of them alike. Printed: samples/s (median, min-max over the repeats), the ratio
to PyTorch, achieved GFLOP/s against the machine's measured NumPy GEMM peak, peak memory, and the
loss after the epoch (nbfromscratch must match PyTorch to 3 significant digits: same computation).

Usage::

    make bench                                   # installs the bench extra, then runs this
    .venv/bin/python benchmarks/run.py --repeats 5 --csv benchmarks/results/latest.csv
    .venv/bin/python benchmarks/run.py --quick   # small data, for a smoke test
    .venv/bin/python benchmarks/run.py --threads 1 --only "mnist-shaped sgd float32"

On a shared machine, other processes make multithreaded code many times slower and the numbers
meaningless, so before each timed epoch the script waits (``--wait-idle``, 120 s at most) until
the cores have been idle for two seconds, and reports runs that had to start on a busy machine.
The short one-thread cases (digits) are the exception: they wait once, then time their runs
back to back, with more repeats (``BACK_TO_BACK_REPEATS``).
Contenders whose library is missing are skipped, and the script says so.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as _dt
import os
import platform
import statistics
import sys
import time
import tracemalloc
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

import nbfromscratch as nbf

HERE = Path(__file__).resolve().parent


# --------------------------------------------------------------------------------------
# Cases and data
# --------------------------------------------------------------------------------------
@dataclass
class Case:
    name: str
    sizes: tuple[int, ...]          # layer widths, input first
    optimizer: str                  # "sgd" (lr 0.1) or "adam" (lr 1e-3)
    dtype: Any
    n_samples: int
    batch_size: int = 128
    data: str = "mnist-shaped"      # or "digits"
    threads: int | None = None      # BLAS threads for this case (default: --threads)
    epochs: int = 1                 # epochs per timed run (one fit call for nbfromscratch fit)
    # Short one-thread runs: timed back to back, with more repeats (see BACK_TO_BACK_REPEATS).
    back_to_back: bool = False

    @property
    def lr(self) -> float:
        return 0.1 if self.optimizer == "sgd" else 1e-3

    @property
    def dtype_name(self) -> str:
        return np.dtype(self.dtype).name

    def flops_per_epoch(self) -> float:
        """The FLOPs one epoch needs, the same for every contender.

        Per sample and layer: forward ``X W`` (2*in*out), backward ``dW = X^T G`` (2*in*out)
        and ``dX = G W^T`` (2*in*out) for every layer but the first: the input is data, and
        its gradient is wasted work (PyTorch, scikit-learn and ``nbfromscratch.fit`` skip it;
        the manual loop and the textbook loop do it anyway, and are not credited for it).
        """
        macs = [a * b for a, b in zip(self.sizes[:-1], self.sizes[1:])]
        return 2.0 * (3 * sum(macs) - macs[0]) * self.n_samples

    def flops_per_run(self) -> float:
        return self.flops_per_epoch() * self.epochs


def make_data(case: Case, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Learnable synthetic data: labels from a fixed random teacher network, then shuffled once."""
    rng = np.random.default_rng(seed)
    if case.data == "digits":
        X, y = nbf.load_digits()
        X = X.astype(case.dtype)
    else:
        d = case.sizes[0]
        X = rng.standard_normal((case.n_samples, d)).astype(case.dtype)
        W1 = rng.standard_normal((d, 64)) / np.sqrt(d)
        W2 = rng.standard_normal((64, case.sizes[-1])) / np.sqrt(64)
        y = np.argmax(np.maximum(X @ W1, 0) @ W2, axis=1)
    perm = rng.permutation(len(X))
    return np.ascontiguousarray(X[perm]), y[perm].astype(np.int64)


def initial_weights(case: Case, seed: int = 1) -> list[tuple[np.ndarray, np.ndarray]]:
    """He-normal weights (in, out) and zero biases, shared by every contender."""
    rng = np.random.default_rng(seed)
    out = []
    for a, b in zip(case.sizes[:-1], case.sizes[1:]):
        W = (rng.standard_normal((a, b)) * np.sqrt(2.0 / a)).astype(case.dtype)
        out.append((W, np.zeros(b, dtype=case.dtype)))
    return out


def mean_loss(logits: np.ndarray, y: np.ndarray) -> float:
    z = logits.astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(y)), y].mean())


# --------------------------------------------------------------------------------------
# Contenders: each returns a "run one epoch" closure and an "evaluate loss" closure
# --------------------------------------------------------------------------------------
Runner = Callable[[], None]
Evaluator = Callable[[], float]


def nbf_model(case: Case, weights) -> nbf.Sequential:
    layers: list[nbf.Module] = []
    for i, (W, b) in enumerate(weights):
        lin = nbf.Linear(W.shape[0], W.shape[1], dtype=case.dtype, rng=0)
        assert lin.bias is not None
        lin.weight.data[...] = W
        lin.bias.data[...] = b
        layers.append(lin)
        if i < len(weights) - 1:
            layers.append(nbf.ReLU())
    return nbf.Sequential(*layers)


def nbf_optimizer(case: Case, model: nbf.Module):
    if case.optimizer == "sgd":
        return nbf.SGD(model.parameters(), lr=case.lr)
    return nbf.Adam(model.parameters(), lr=case.lr)


def contender_nbf_fit(case, X, y, weights):
    model = nbf_model(case, weights)
    loss_fn = nbf.CrossEntropyLoss()
    opt = nbf_optimizer(case, model)

    def run() -> None:  # all the run's epochs in one call, as a user calls fit
        nbf.fit(model, loss_fn, opt, X, y, epochs=case.epochs, batch_size=case.batch_size,
                shuffle=False, progress=False)

    return run, lambda: mean_loss(model.eval()(X), y)


def contender_nbf_loop(case, X, y, weights):
    model = nbf_model(case, weights)
    loss_fn = nbf.CrossEntropyLoss()
    opt = nbf_optimizer(case, model)
    bs = case.batch_size

    def run() -> None:
        for start in range(0, len(X), bs):
            xb, yb = X[start:start + bs], y[start:start + bs]
            loss_fn(model(xb), yb)
            opt.zero_grad()
            model.backward(loss_fn.backward())
            opt.step()

    return run, lambda: mean_loss(model(X), y)


def contender_torch(case, X, y, weights):
    import torch

    tdtype = torch.float32 if case.dtype_name == "float32" else torch.float64
    layers: list[Any] = []
    for i, (W, b) in enumerate(weights):
        lin = torch.nn.Linear(W.shape[0], W.shape[1], dtype=tdtype)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(W.T)))  # torch stores (out, in)
            lin.bias.copy_(torch.from_numpy(b))
        layers.append(lin)
        if i < len(weights) - 1:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    opt = (torch.optim.SGD(model.parameters(), lr=case.lr) if case.optimizer == "sgd"
           else torch.optim.Adam(model.parameters(), lr=case.lr))
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    bs = case.batch_size
    loss_fn = torch.nn.CrossEntropyLoss()

    def run() -> None:
        for start in range(0, len(X), bs):
            opt.zero_grad()
            loss = loss_fn(model(Xt[start:start + bs]), yt[start:start + bs])
            loss.backward()
            opt.step()

    def evaluate() -> float:
        with torch.no_grad():
            return mean_loss(model(Xt).numpy(), y)

    return run, evaluate


#: PyTorch runs from nudged initial weights that estimate the rounding noise of the loss.
N_NUDGES = 4


def torch_loss_from_nudged_weights(case, X, y, weights, seed: int) -> float:
    """PyTorch's loss after one epoch from ``weights`` moved by one ulp, up or down at random."""
    rng = np.random.default_rng(seed)
    nudged = []
    for W, b in weights:
        direction = np.where(rng.random(W.shape) < 0.5, np.inf, -np.inf).astype(W.dtype)
        nudged.append((np.nextafter(W, direction), b))
    run, evaluate = make_runner("pytorch", case, X, y, nudged)
    run()
    return evaluate()


def contender_sklearn(case, X, y, weights):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    # Same sizes, batches in order (shuffle=False), plain SGD or Adam; its own initial weights
    # (scikit-learn has no way to pass them), so its loss is not compared.
    kwargs = dict(hidden_layer_sizes=case.sizes[1:-1], activation="relu", alpha=0.0,
                  batch_size=case.batch_size, learning_rate_init=case.lr, max_iter=1,
                  shuffle=False, random_state=0, tol=0.0)
    if case.optimizer == "sgd":
        kwargs.update(solver="sgd", momentum=0.0, nesterovs_momentum=False)
    else:
        kwargs.update(solver="adam")
    clf = MLPClassifier(**kwargs)

    def run() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)

    return run, lambda: float("nan")


def contender_textbook(case, X, y, weights):
    """The plain loop most tutorials write: new arrays everywhere, one-hot targets, float64 constants."""
    params = [(W.copy(), b.copy()) for W, b in weights]
    bs = case.batch_size
    n_classes = case.sizes[-1]
    adam_state = [[np.zeros_like(W), np.zeros_like(W), np.zeros_like(b), np.zeros_like(b)] for W, b in params]
    step = [0]

    def forward(xb):
        acts = [xb]
        for i, (W, b) in enumerate(params):
            z = acts[-1] @ W + b
            acts.append(np.maximum(z, 0) if i < len(params) - 1 else z)
        return acts

    def run() -> None:
        for start in range(0, len(X), bs):
            xb, yb = X[start:start + bs], y[start:start + bs]
            acts = forward(xb)
            z = acts[-1]
            e = np.exp(z - z.max(axis=1, keepdims=True))
            p = e / e.sum(axis=1, keepdims=True)
            onehot = np.eye(n_classes, dtype=X.dtype)[yb]
            g = (p - onehot) / len(xb)
            grads = []
            for i in range(len(params) - 1, -1, -1):
                W, _ = params[i]
                grads.append((acts[i].T @ g, g.sum(axis=0)))
                g = g @ W.T
                if i > 0:
                    g = g * (acts[i] > 0)
            grads.reverse()
            step[0] += 1
            for (W, b), (dW, db), st in zip(params, grads, adam_state):
                if case.optimizer == "sgd":
                    W -= case.lr * dW
                    b -= case.lr * db
                else:
                    t = step[0]
                    for k, (P, dP) in enumerate(((W, dW), (b, db))):
                        m, v = st[2 * k], st[2 * k + 1]
                        m[...] = 0.9 * m + 0.1 * dP
                        v[...] = 0.999 * v + 0.001 * dP * dP
                        P -= case.lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)

    return run, lambda: mean_loss(forward(X)[-1], y)


def contender_minimal(case, X, y, weights):
    """The same math as ``fit`` in the fewest NumPy calls: the floor of per-batch overhead.

    What a careful reader would write by hand for this one network: forward ``X W + b`` with
    ReLU, the fused softmax cross-entropy gradient ``(p - y) / n`` (chapter 4) and the batch
    loss, backward (chapter 5), and the SGD or Adam update in place (chapter 7). No checks, no
    modules, no history: what ``fit`` does beyond this is its overhead.
    """
    params = [(W.copy(), b.copy()) for W, b in weights]
    bs, lr, last = case.batch_size, case.lr, len(params) - 1
    moments = [[np.zeros_like(P) for P in (W, W, b, b)] for W, b in params]
    step = [0]

    def run() -> None:
        total = 0.0
        for start in range(0, len(X), bs):
            xb, yb = X[start:start + bs], y[start:start + bs]
            m = len(xb)
            acts = [xb]
            for i, (W, b) in enumerate(params):
                h = acts[-1] @ W
                h += b
                if i < last:
                    np.maximum(h, 0, out=h)
                acts.append(h)
            g = acts.pop()
            g -= g.max(axis=1, keepdims=True)
            np.exp(g, out=g)
            norm = g.sum(axis=1, keepdims=True)
            rows = np.arange(m)
            total += float(np.log(norm).sum() - np.log(g[rows, yb]).sum())
            g /= norm
            g[rows, yb] -= 1
            g /= m
            step[0] += 1
            for i in range(last, -1, -1):
                W, b = params[i]
                dW, db = acts[i].T @ g, g.sum(axis=0)
                if i > 0:
                    g = g @ W.T
                    g *= acts[i] > 0
                if case.optimizer == "sgd":
                    W -= lr * dW
                    b -= lr * db
                    continue
                t = step[0]
                for P, dP, mom, vel in ((W, dW, *moments[i][0:2]), (b, db, *moments[i][2:4])):
                    mom *= 0.9
                    mom += 0.1 * dP
                    vel *= 0.999
                    vel += 0.001 * dP * dP
                    P -= (lr / (1 - 0.9**t)) * mom / (np.sqrt(vel / (1 - 0.999**t)) + 1e-8)

    def evaluate() -> float:
        h = X
        for i, (W, b) in enumerate(params):
            h = h @ W + b
            if i < last:
                h = np.maximum(h, 0)
        return mean_loss(h, y)

    return run, evaluate


def contender_matmul_floor(case, X, y, weights):
    """Only the matrix products of an epoch, nothing else: a floor for any NumPy trainer.

    Per batch: the forward products X W, the weight gradients X^T G, and the input gradients
    G W^T of every layer but the first, on stand-in activations and gradients of the right
    shapes. No bias, activation, loss or update: it does not learn (its loss is NaN), it shows
    how fast NumPy's BLAS alone gets through the FLOPs every contender must do.
    """
    rng = np.random.default_rng(2)
    Ws = [W for W, _ in weights]
    bs = case.batch_size
    acts = [rng.standard_normal((bs, W.shape[0])).astype(case.dtype) for W in Ws[1:]]
    grads = [rng.standard_normal((bs, W.shape[1])).astype(case.dtype) for W in Ws]

    def run() -> None:
        for start in range(0, len(X), bs):
            xb = X[start:start + bs]
            m = len(xb)
            inputs = [xb] + [a[:m] for a in acts]
            for a, W in zip(inputs, Ws):
                a @ W
            for i in range(len(Ws) - 1, -1, -1):
                inputs[i].T @ grads[i][:m]
                if i > 0:
                    grads[i][:m] @ Ws[i].T

    return run, lambda: float("nan")


CONTENDERS: dict[str, Callable] = {
    "nbfromscratch fit": contender_nbf_fit,
    "nbfromscratch loop": contender_nbf_loop,
    "pytorch": contender_torch,
    "scikit-learn": contender_sklearn,
    "textbook numpy": contender_textbook,
    "minimal numpy": contender_minimal,
    "matrix products only": contender_matmul_floor,
}


def make_runner(name: str, case: Case, X, y, weights) -> tuple[Runner, Evaluator]:
    """Contender ``name``'s closures for one timed run: ``case.epochs`` epochs.

    ``nbfromscratch fit`` runs them in one call (its checks before the first batch are paid
    once per call, as when a user trains); the others loop over their one-epoch closure.
    """
    run, evaluate = CONTENDERS[name](case, X, y, weights)
    if case.epochs == 1 or name == "nbfromscratch fit":
        return run, evaluate

    def run_epochs() -> None:
        for _ in range(case.epochs):
            run()

    return run_epochs, evaluate


def available_contenders() -> tuple[list[str], dict[str, str]]:
    skipped = {}
    try:
        import torch  # noqa: F401
    except ImportError:
        skipped["pytorch"] = "torch is not installed (pip install '.[bench]')"
    try:
        import sklearn  # noqa: F401
    except ImportError:
        skipped["scikit-learn"] = "scikit-learn is not installed (pip install '.[bench]')"
    return [c for c in CONTENDERS if c not in skipped], skipped


# --------------------------------------------------------------------------------------
# Measurement
# --------------------------------------------------------------------------------------
@dataclass
class Result:
    case: Case
    contender: str
    times: list[float] = field(default_factory=list)
    loss: float = float("nan")
    peak_mb: float = float("nan")

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def samples_per_s(self, t: float) -> float:
        return self.case.n_samples * self.case.epochs / t


def gemm_peak(dtype: Any, n: int = 2048, repeats: int = 3) -> float:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(dtype)
    b = rng.standard_normal((n, n)).astype(dtype)
    a @ b  # warm up
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2.0 * n**3 / best / 1e9


#: The clock the epochs are timed with: wall time, or the CPU time of this process, which a
#: busy neighbour (or the host of a virtual machine) disturbs far less but which counts every
#: thread's busy time, including threads that spin while waiting: only right for one thread.
#: ``--clock auto`` (the default) takes CPU time for the one-thread cases and wall time else.
CLOCK: Callable[[], float] = time.perf_counter
CLOCK_NAME = "wall time"


def case_clock(clock: str, threads: int) -> Callable[[], float]:
    if clock == "cpu" or (clock == "auto" and threads == 1):
        return time.process_time
    return time.perf_counter


def _timed(f: Callable[[], Any]) -> float:
    start = CLOCK()
    f()
    return CLOCK() - start


def _timed_watching_others(f: Callable[[], Any]) -> tuple[float, float]:
    """Time ``f`` and return (seconds, share of the machine other processes used meanwhile).

    The share is the CPU time of all processes (from /proc/stat) minus this process's own
    (all its threads, spinning ones included), over the elapsed time times the core count.
    It is 0 where /proc/stat is missing, and for runs too short for its 10 ms resolution.
    """
    sys_before, self_before = _cpu_times(), os.times()
    wall = time.perf_counter()
    seconds = _timed(f)
    wall = time.perf_counter() - wall
    sys_after, self_after = _cpu_times(), os.times()
    if sys_before is None or sys_after is None or wall < 0.2:
        return seconds, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    busy_all = ((sys_after[1] - sys_after[0]) - (sys_before[1] - sys_before[0])) / tick
    busy_self = (self_after.user + self_after.system) - (self_before.user + self_before.system)
    return seconds, max(busy_all - busy_self, 0.0) / (wall * (os.cpu_count() or 1))


def peak_memory_mb(make: Callable, case, X, y, weights) -> float:
    """Peak memory NumPy allocates during one epoch (tracemalloc sees NumPy's buffers).

    PyTorch's CPU allocator is invisible to tracemalloc, so it is not measured this way.
    """
    run, _ = make(case, X, y, weights)
    tracemalloc.start()
    run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def load_average() -> float:
    """1-minute load average (NaN where the OS has none): other processes skew timings."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return float("nan")


def _cpu_times() -> tuple[int, int] | None:
    """(idle, total) jiffies of all cores since boot, from /proc/stat (Linux only)."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    return fields[3] + fields[4], sum(fields)  # idle + iowait


#: The short one-thread cases (digits, about 60 ms per run) take this many times --repeats,
#: timed back to back: one idle wait and one warm-up for the whole case, then contender after
#: contender. A wait and a warm-up before each of these short runs made them erratic: in a few
#: tries, fit against the minimal loop came out at 0.50x to 0.94x, where back to back it gave
#: 0.86x and 0.87x (benchmarks/README.md, *Noise*).
BACK_TO_BACK_REPEATS = 8


def warm_up(seconds: float = 1.0) -> None:
    """Keep the cores busy for ``seconds`` with matrix products, right before a timed run.

    After waiting for idle cores, the first tens of milliseconds of a run are slow (on the
    benchmark's virtual machine a 25 ms run took 40 ms when started on an idle CPU): short runs,
    the digits cases, would be measured at a speed the CPU has not reached yet. A 0.3 s warm-up
    was not always enough: after it, 50 ms runs of the minimal digits loop took up to 87 ms;
    after 1 s, four of five took 50 to 54 ms (and one 104 ms: the noise is not all gone).
    """
    a = np.ones((512, 512))
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        a @ a


def wait_until_idle(max_wait: float, busy_below: float = 0.1, settle: float = 2.0) -> bool:
    """Wait until other processes leave the cores idle for ``settle`` seconds in a row.

    On a shared machine a busy neighbour makes multithreaded BLAS and OpenMP code many times
    slower (a thread waits for a partner that is off its core), and more so for some
    contenders than others. Returns ``False`` if the machine stayed busy for ``max_wait``
    seconds (or busyness cannot be read), in which case the run goes ahead anyway.
    """
    if max_wait <= 0 or _cpu_times() is None:
        return max_wait <= 0
    deadline = time.monotonic() + max_wait
    quiet_since = None
    while time.monotonic() < deadline:
        before = _cpu_times()
        time.sleep(0.25)
        after = _cpu_times()
        if before is None or after is None:
            return False
        busy = 1.0 - (after[0] - before[0]) / max(after[1] - before[1], 1)
        now = time.monotonic()
        if busy < busy_below:
            quiet_since = quiet_since or now
            if now - quiet_since >= settle:
                return True
        else:
            quiet_since = None
    return False


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "cpu"


def source_fingerprint() -> str:
    """The first 12 hex digits of a SHA-256 of the package's source files (name and bytes).

    Runs with the same fingerprint measured the same code: chapter 13 compares only those.
    """
    import hashlib

    root = Path(nbf.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def environment(threads: int) -> list[str]:
    lines = [
        f"date: {_dt.datetime.now().isoformat(timespec='seconds')}",
        f"machine: {platform.machine()}, {os.cpu_count()} logical cores, {cpu_model()}",
        f"threads used: {threads} (NumPy BLAS via threadpoolctl, torch.set_num_threads)",
        f"clock: {CLOCK_NAME}",
        f"load average: {load_average():.2f}",
        f"python {platform.python_version()}, numpy {np.__version__}, nbfromscratch {getattr(nbf, '__version__', '?')}",
        f"package source: {source_fingerprint()}",
        "OPENBLAS_CORETYPE=" + os.environ.get("OPENBLAS_CORETYPE", "(unset)")
        + ", OPENBLAS_L2_SIZE=" + os.environ.get("OPENBLAS_L2_SIZE", "(unset)"),
    ]
    try:
        from threadpoolctl import threadpool_info

        for info in threadpool_info():
            lines.append(
                f"threadpool: {info.get('internal_api')} {info.get('version')} "
                f"kernel={info.get('architecture')} threads={info.get('num_threads')} ({info.get('prefix')})"
            )
    except ImportError:
        lines.append("threadpoolctl not installed: BLAS kernel unknown")
    try:
        import torch

        lines.append(f"torch {torch.__version__}, threads={torch.get_num_threads()}")
    except ImportError:
        pass
    return lines


TARGETS = (  # (case, contender, reference, minimum ratio of samples/s), from the issues
    ("mnist-shaped sgd float32", "nbfromscratch fit", "pytorch", 1.0),
    ("mnist-shaped adam float32", "nbfromscratch fit", "pytorch", 1.0),
    ("mnist-shaped sgd float32", "nbfromscratch fit", "scikit-learn", 1.5),
    ("mnist-shaped adam float32", "nbfromscratch fit", "scikit-learn", 1.5),
    # What the package's machinery costs: on the book's scale (small batches, one thread) per
    # batch, and on MNIST-shaped data against the matrix products every trainer must do.
    ("digits sgd float64 1 thread", "nbfromscratch fit", "minimal numpy", 0.9),
    ("digits adam float64 1 thread", "nbfromscratch fit", "minimal numpy", 0.9),
    # Judged with one thread, as the digits target is: the machinery's cost, not NumPy's.
    ("mnist-shaped sgd float32 1 thread", "nbfromscratch fit", "matrix products only", 0.85),
)

# Printed with the targets, judged by none (case, contender, reference). With two threads the
# products get faster and nothing else (NumPy runs all elementwise work on one core), so the
# share of the epoch outside them grows for every NumPy loop; these show how far fit and the
# minimal loop, the floor of per-batch overhead, then stand from the products, and fit from
# that floor.
MEASURED_ONLY = (
    ("mnist-shaped sgd float32", "nbfromscratch fit", "matrix products only"),
    ("mnist-shaped sgd float32", "minimal numpy", "matrix products only"),
    ("mnist-shaped sgd float32", "nbfromscratch fit", "minimal numpy"),
)


def limit_threads(threads: int) -> Any:
    """Give NumPy's BLAS (and scikit-learn's) and PyTorch the same number of threads."""
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:
        pass
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        print("threadpoolctl is not installed: NumPy's BLAS uses its default thread count")
        return contextlib.nullcontext()
    return threadpool_limits(limits=threads)


@contextlib.contextmanager
def case_threads(threads: int, default: int):
    """Run one case with its own thread count, then restore the default for the next."""
    if threads == default:
        yield
        return
    with limit_threads(threads):
        try:
            yield
        finally:
            limit_threads(default)  # PyTorch's count is global: set it back


def ratio_line(results: dict[tuple[str, str], Result], case_name: str, name: str, ref: str,
               minimum: float | None = None) -> str:
    """How fast ``name`` ran against ``ref`` in ``case_name``, and how noisy that was.

    The ratio of the medians of samples/s, judged against ``minimum`` (if given), then the
    ratio within each repeat (the two ran in the same round of contenders, seconds apart),
    its median and middle half over the repeats, and the ratio of the best epochs (noise only
    slows runs down: the best epochs are the least disturbed comparison).
    """
    ours, theirs = results.get((case_name, name)), results.get((case_name, ref))
    if ours is None or theirs is None:
        return f"   {case_name}: {name} vs {ref}: not measured"
    ratio = theirs.median / ours.median
    if minimum is None:
        verdict = "(no target)"
    else:
        verdict = f"(target >= {minimum}x) " + ("met" if ratio >= minimum else "MISSED")
    paired = np.array(theirs.times) / np.array(ours.times)
    q1, q2, q3 = np.percentile(paired, [25, 50, 75])
    best = min(theirs.times) / min(ours.times)
    return (f"   {case_name}: {name} vs {ref}: {ratio:.2f}x {verdict}"
            f"   [per repeat: median {q2:.2f}x, middle half {q1:.2f}x-{q3:.2f}x; "
            f"best epochs: {best:.2f}x]")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="6,000 samples instead of 60,000")
    parser.add_argument("--csv", type=Path, default=HERE / "results" / "latest.csv")
    parser.add_argument("--only", nargs="*", default=None, help="case names to run (default: all)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                        help="threads for every contender (default: all logical cores)")
    parser.add_argument("--clock", choices=("auto", "wall", "cpu"), default="auto",
                        help="time epochs by the wall clock, or by this process's CPU time (right only "
                             "for one thread, and far less disturbed by other processes); auto "
                             "(default): CPU time for the one-thread cases, wall time for the others")
    parser.add_argument("--retries", type=int, default=2,
                        help="measure a run again (at most this often) when other processes took "
                             "more than a tenth of the machine while it ran")
    parser.add_argument("--wait-idle", type=float, default=120.0, metavar="SECONDS",
                        help="before each timed epoch, wait up to SECONDS for the other processes "
                             "to leave the cores idle (0: never wait; Linux only)")
    args = parser.parse_args(argv)
    global CLOCK_NAME
    CLOCK_NAME = {"auto": "CPU time of the process for one-thread cases, wall time for the others",
                  "cpu": "CPU time of the process", "wall": "wall time"}[args.clock]
    with limit_threads(args.threads):
        return run(args)


def run(args: argparse.Namespace) -> int:
    n_big = 6_000 if args.quick else 60_000
    cases = [
        Case("mnist-shaped sgd float32", (784, 256, 128, 10), "sgd", np.float32, n_big),
        Case("mnist-shaped adam float32", (784, 256, 128, 10), "adam", np.float32, n_big),
        Case("mnist-shaped sgd float64", (784, 256, 128, 10), "sgd", np.float64, n_big),
        Case("mnist-shaped adam float64", (784, 256, 128, 10), "adam", np.float64, n_big),
        Case("digits sgd float32", (64, 32, 10), "sgd", np.float32, 1797, batch_size=32, data="digits"),
        Case("digits adam float64", (64, 32, 10), "adam", np.float64, 1797, batch_size=32, data="digits"),
        # The book's scale: digits, one BLAS thread, 20 epochs per fit call (chapter 11 trains for 10 to 40).
        Case("digits sgd float64 1 thread", (64, 32, 10), "sgd", np.float64, 1797, batch_size=32,
             data="digits", threads=1, epochs=20, back_to_back=True),
        Case("digits adam float64 1 thread", (64, 32, 10), "adam", np.float64, 1797, batch_size=32,
             data="digits", threads=1, epochs=20, back_to_back=True),
        Case("mnist-shaped sgd float32 1 thread", (784, 256, 128, 10), "sgd", np.float32, n_big,
             threads=1),
    ]
    if args.only:
        unknown = set(args.only) - {c.name for c in cases}
        if unknown:
            print(f"unknown case(s) {sorted(unknown)}; cases are: {[c.name for c in cases]}")
            return 2
        cases = [c for c in cases if c.name in args.only]

    names, skipped = available_contenders()
    env = environment(args.threads)
    print("\n".join(env))
    for name, why in skipped.items():
        print(f"SKIPPED {name}: {why}")
    if load_average() > 0.5 + 0.25 * args.threads:
        print(f"WARNING: load average {load_average():.2f}: other processes are running, "
              "so the timings are noisy (the ratios less so: contenders alternate)")
    wait_until_idle(args.wait_idle)
    peaks = {np.dtype(dt).name: gemm_peak(dt) for dt in (np.float32, np.float64)}
    print("NumPy GEMM peak (2048x2048): " + ", ".join(f"{k} {v:.1f} GFLOP/s" for k, v in peaks.items()))
    print()

    rows = []
    all_results: dict[tuple[str, str], Result] = {}
    for case in cases:
        global CLOCK
        CLOCK = case_clock(args.clock, case.threads or args.threads)
        with case_threads(case.threads or args.threads, args.threads):
            X, y = make_data(case)
            weights = initial_weights(case)
            results = {name: Result(case, name) for name in names}
            for name in names:  # one untimed warm-up run each (imports, BLAS thread start-up)
                CONTENDERS[name](case, X[: 10 * case.batch_size], y[: 10 * case.batch_size], weights)[0]()
            loads = [load_average()]
            busy_runs = disturbed_runs = 0
            repeats = args.repeats * (BACK_TO_BACK_REPEATS if case.back_to_back else 1)
            if case.back_to_back:  # one wait and one warm-up for the whole case
                if not wait_until_idle(args.wait_idle):
                    busy_runs += 1
                warm_up()
            for repeat in range(repeats):
                # Alternate contenders within each repeat, starting with a different one each
                # time, so a slow phase of the machine hits all of them alike.
                k = repeat % len(names)
                for name in names[k:] + names[:k]:
                    for attempt in range(1 + args.retries):
                        run_epoch, evaluate = make_runner(name, case, X, y, weights)
                        if not case.back_to_back:
                            if not wait_until_idle(args.wait_idle):
                                busy_runs += 1
                            warm_up()
                        seconds, others = _timed_watching_others(run_epoch)
                        if others <= 0.1:
                            break
                        # Another process took more than a tenth of the machine during the run:
                        # measure again (the last attempt counts whatever happens).
                        disturbed_runs += 1
                    results[name].times.append(seconds)
                    results[name].loss = evaluate()
                loads.append(load_average())
            for name in names:
                if name != "pytorch":
                    results[name].peak_mb = peak_memory_mb(CONTENDERS[name], case, X, y, weights)
            all_results.update({(case.name, name): r for name, r in results.items()})

            torch_sps = (results["pytorch"].samples_per_s(results["pytorch"].median)
                         if "pytorch" in results else float("nan"))
            print(f"== {case.name}: {case.n_samples} samples, {'-'.join(map(str, case.sizes))}, "
                  f"batch {case.batch_size}, {case.epochs} epoch(s) per run, "
                  f"{'CPU' if CLOCK is time.process_time else 'wall'} time, "
                  f"{case.threads or args.threads} thread(s), "
                  f"{repeats} repeats{' back to back' if case.back_to_back else ''}, "
                  f"load average {max(loads):.2f} at most")
            if disturbed_runs:
                print(f"   note: {disturbed_runs} run(s) were disturbed by other processes and measured again")
            if busy_runs:
                print(f"   WARNING: {busy_runs} of {repeats * len(names)} runs started while other "
                      f"processes kept the cores busy (waited {args.wait_idle:.0f} s each)")
            print(f"   {'contender':20s} {'samples/s (median)':>18s} {'min-max':>19s} {'vs torch':>9s} "
                  f"{'GFLOP/s':>8s} {'% peak':>7s} {'loss':>8s} {'peak MB':>8s}")
            for name in names:
                r = results[name]
                sps = r.samples_per_s(r.median)
                lo, hi = r.samples_per_s(max(r.times)), r.samples_per_s(min(r.times))
                gflops = case.flops_per_run() / r.median / 1e9
                peak = peaks[case.dtype_name]
                ratio = sps / torch_sps
                print(f"   {name:20s} {sps:18,.0f} {lo:9,.0f}-{hi:<9,.0f} {ratio:8.2f}x {gflops:8.1f} "
                      f"{100 * gflops / peak:6.0f}% {r.loss:8.4f} {r.peak_mb:8.1f}")
                rows.append({
                    "case": case.name, "contender": name, "dtype": case.dtype_name, "optimizer": case.optimizer,
                    "n_samples": case.n_samples, "batch_size": case.batch_size, "epochs": case.epochs,
                    "repeats": repeats,
                    "threads": case.threads or args.threads,
                    "clock": "cpu" if CLOCK is time.process_time else "wall",
                    "median_s": round(r.median, 5), "min_s": round(min(r.times), 5), "max_s": round(max(r.times), 5),
                    "samples_per_s": round(sps, 1), "ratio_vs_torch": round(ratio, 3),
                    "gflops": round(gflops, 2), "gemm_peak_gflops": round(peak, 2),
                    "loss_after_epoch": round(r.loss, 6), "peak_mb": round(r.peak_mb, 2),
                    "max_load_avg": round(max(loads), 2), "runs_started_busy": busy_runs,
                    "runs_repeated": disturbed_runs,
                    "loss_rounding_sd": float("nan"),
                    # Every repeat's time, in the order they ran (for how noisy the run was).
                    "times_s": ";".join(f"{t:.5f}" for t in r.times),
                })
            if "pytorch" in results:
                # How much rounding alone moves the result: PyTorch's own loss after the same
                # epoch from initial weights nudged by one unit in the last place (untimed). Two
                # implementations of the same computation differ by rounding, so their losses
                # should differ by no more than a few of these standard deviations.
                losses = [results["pytorch"].loss] + [
                    torch_loss_from_nudged_weights(case, X, y, weights, seed) for seed in range(1, N_NUDGES + 1)]
                noise = float(np.std(losses, ddof=1))
                for name in ("nbfromscratch fit", "nbfromscratch loop"):
                    a, b = results[name].loss, results["pytorch"].loss
                    if f"{a:.3g}" == f"{b:.3g}":
                        verdict = "equal to 3 significant digits"
                    elif abs(a - b) <= 3 * np.sqrt(2) * noise:
                        verdict = "differ in the 3rd digit, within float32 rounding noise"
                    else:
                        verdict = "DIFFERENT beyond rounding noise"
                    print(f"   loss after one epoch, {name} vs pytorch: {a:.6f} vs {b:.6f} ({verdict})")
                print(f"   rounding noise: PyTorch from {N_NUDGES} initial weights nudged by one ulp: "
                      f"losses {min(losses):.6f} to {max(losses):.6f}, standard deviation {noise:.6f}")
                rows[-len(names) + names.index("pytorch")]["loss_rounding_sd"] = round(noise, 6)
            print()

    print("Targets (median samples/s ratios):")
    for case_name, name, ref, minimum in TARGETS:
        print(ratio_line(all_results, case_name, name, ref, minimum))
    for case_name in dict.fromkeys(t[0] for t in TARGETS):
        ours, theirs = all_results.get((case_name, "nbfromscratch fit")), all_results.get((case_name, "pytorch"))
        if ours is not None and theirs is not None:
            verdict = "met" if f"{ours.loss:.3g}" == f"{theirs.loss:.3g}" else "MISSED (see the rounding noise above)"
            print(f"   {case_name}: loss after one epoch equal to PyTorch's to 3 significant digits: {verdict}")
    print("Measured, no target (two threads speed up the products, not NumPy's elementwise work):")
    for case_name, name, ref in MEASURED_ONLY:
        print(ratio_line(all_results, case_name, name, ref))

    args.csv.parent.mkdir(parents=True, exist_ok=True)
    with open(args.csv, "w", newline="") as f:
        f.write("# " + " | ".join(env) + "\n")
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"results written to {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
