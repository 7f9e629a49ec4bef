"""Where ``fit``'s time per batch goes beyond the minimal NumPy loop, piece by piece.

The digits case of ``run.py`` (64-32-10, batch 32, float64, one BLAS thread, 20 epochs per
run, CPU time): the minimal loop, then the package's own objects in a bare loop, then with
each piece ``fit`` adds at every batch, then ``fit`` itself. Variants alternate within every
repeat (each repeat starting with another); the table gives the best and the median
microseconds per batch and, per variant, what it adds to the one before (by the best runs).
Times on a shared machine are noisy; the last column is not: the Python bytecodes a variant
executes per batch (counted once, by a tracer, over one whole run), the same on every run.

    .venv/bin/python benchmarks/overhead.py                 # SGD, 20 repeats
    .venv/bin/python benchmarks/overhead.py --optimizer adam --repeats 30

The bare loops reach into ``fit``'s internals (``seen``, ``_StepGuard``, ``_check_loss``), as
``fit`` runs them; the benchmark README discusses the results.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as bench  # noqa: E402

import nbfromscratch as nbf  # noqa: E402
from nbfromscratch import training  # noqa: E402
from nbfromscratch.layers._checks import seen  # noqa: E402


def layered_loop(case: bench.Case, X: np.ndarray, y: np.ndarray, weights,
                 fit_batches: bool = False, guard: bool = False,
                 accuracy: bool = False) -> Callable[[], None]:
    """The package's layers, loss and optimizer in chapter 8's loop, with some of fit's pieces.

    Every layer check is skipped, as ``fit`` skips it once a batch of that size has passed.
    ``fit_batches``: the batches from ``iterate_minibatches`` and the check of the loss;
    ``guard``: the NaN stop's checked step instead of ``optimizer.step()``; ``accuracy``: the
    arg-max the loss found, kept per batch and compared once per epoch, as ``fit`` counts it.
    """
    model = bench.nbf_model(case, weights)
    loss_fn, optimizer = nbf.CrossEntropyLoss(), bench.nbf_optimizer(case, model)
    named = model.named_parameters()
    params = [p for _, p in named]
    step_guard = training._StepGuard(model, named, params)
    bs, n = case.batch_size, len(X)
    n_batches = -(-n // bs)

    def run() -> None:
        seen.on = True
        try:
            for epoch in range(1, case.epochs + 1):
                predicted, labels = [], []
                batches = nbf.data.iterate_minibatches(X, y, bs, shuffle=False) if fit_batches \
                    else ((X[s:s + bs], y[s:s + bs]) for s in range(0, n, bs))
                if guard:
                    step_guard.begin_epoch(optimizer)
                for batch, (xb, yb) in enumerate(batches, start=1):
                    for p in params:
                        p.zero_grad()
                    loss = loss_fn.forward(model(xb), yb)
                    if fit_batches:
                        training._check_loss(loss, epoch, batch, n_batches, model, xb, yb)
                    model.backward_params(loss_fn.backward())
                    if guard:
                        step_guard.step(optimizer, model, epoch, batch, n_batches)
                    else:
                        optimizer.step()
                    if accuracy:
                        predicted.append(loss_fn._predicted)
                        labels.append(yb)
                if guard:
                    step_guard.end_epoch(optimizer, epoch)
                if accuracy:
                    np.count_nonzero(np.concatenate(predicted) == np.concatenate(labels))
        finally:
            seen.on = False

    return run


def bytecodes(run: Callable[[], None]) -> int:
    """How many Python bytecodes one call of ``run`` executes, in every frame it enters."""
    count = 0

    def tracer(frame, event, arg):  # type: ignore[no-untyped-def]
        nonlocal count
        frame.f_trace_opcodes = True
        if event == "opcode":
            count += 1
        return tracer

    sys.settrace(tracer)
    try:
        run()
    finally:
        sys.settrace(None)
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=20, help="epochs per timed run")
    args = parser.parse_args(argv)
    case = bench.Case(f"digits {args.optimizer} float64 1 thread", (64, 32, 10), args.optimizer,
                      np.float64, 1797, batch_size=32, data="digits", threads=1,
                      epochs=args.epochs)
    X, y = bench.make_data(case)
    weights = bench.initial_weights(case)
    variants = {
        "minimal numpy": bench.make_runner("minimal numpy", case, X, y, weights)[0],
        "layers, bare loop": layered_loop(case, X, y, weights),
        "+ batches, loss check": layered_loop(case, X, y, weights, fit_batches=True),
        "+ NaN stop (checked step)": layered_loop(case, X, y, weights, fit_batches=True,
                                                  guard=True),
        "+ accuracy": layered_loop(case, X, y, weights, fit_batches=True, guard=True,
                                   accuracy=True),
        "nbfromscratch fit": bench.make_runner("nbfromscratch fit", case, X, y, weights)[0],
    }
    names = list(variants)
    times: dict[str, list[float]] = {name: [] for name in names}
    with threadpool_limits(limits=1):
        for repeat in range(args.repeats):
            for name in names[repeat % len(names):] + names[:repeat % len(names)]:
                start = time.process_time()
                variants[name]()
                times[name].append(time.process_time() - start)
        counts = {name: bytecodes(variants[name]) for name in names}
    n_batches = case.epochs * -(-len(X) // case.batch_size)
    per_batch = 1e6 / n_batches
    print(f"{case.name}: microseconds per batch over {args.repeats} repeats of "
          f"{case.epochs} epochs (CPU time), and Python bytecodes per batch")
    print(f"{'variant':28s} {'best':>7s} {'median':>7s} {'adds':>6s} {'minimal/this':>13s} "
          f"{'bytecodes':>10s}")
    best = {name: min(ts) * per_batch for name, ts in times.items()}
    previous = None
    for name in names:
        adds = "" if previous is None else f"{best[name] - best[previous]:+6.1f}"
        print(f"{name:28s} {best[name]:7.1f} {np.median(times[name]) * per_batch:7.1f} "
              f"{adds:>6s} {best['minimal numpy'] / best[name]:13.3f} "
              f"{counts[name] / n_batches:10.0f}")
        previous = name
    return 0


if __name__ == "__main__":
    sys.exit(main())
