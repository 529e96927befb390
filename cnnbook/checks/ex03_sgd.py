"""Hidden checks of ``ex03-sgd`` (minibatches, one SGD step, ridge regression by SGD).

One ``check_<function>(fn)`` per function of the exercise's contract. The oracles are
independent of the reference solution: ``torch.optim.SGD`` for one step, the closed-form ridge
solution and a full-batch gradient-descent loop written out here for the training loop, and
plain counting for the minibatches. Every call of the student's function goes through
``_common.call`` under the NumPy-only guard; every random input is drawn from a seeded
generator, so the checks make the same calls, in the same order, on every run.
"""

from __future__ import annotations

import contextlib
import numbers

import numpy as np

from ._common import call, call_text, check_array, describe, expect_error, fail, rel_error

SEED = 303


def _rng(salt: int) -> np.random.Generator:
    return np.random.default_rng([SEED, salt])


class _Generator(np.random.Generator):
    """A ``numpy.random.Generator`` (PCG64, like ``default_rng``) that prints as ``rng`` in messages."""

    def __init__(self, salt: int):
        super().__init__(np.random.PCG64([SEED, salt]))

    def __repr__(self) -> str:
        return "rng"


class _Arrays(list):
    """A plain list of arrays that prints by the shapes of its arrays in messages."""

    def __repr__(self) -> str:
        return "[" + ", ".join(f"array of shape {np.shape(a)}" for a in self) + "]"


# --------------------------------------------------------------------------------------------
# Randomness: the student's code must draw from the generator it is given, never from the
# global np.random state.

def _global_state():
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return name, keys.copy(), pos, has_gauss, cached


def _same_state(a, b) -> bool:
    return a[0] == b[0] and np.array_equal(a[1], b[1]) and a[2:] == b[2:]


@contextlib.contextmanager
def _global_random_untouched(name: str):
    """Fail when the code inside draws from (or reseeds) the global ``np.random`` state."""
    before = _global_state()
    yield
    after = _global_state()
    if not _same_state(before, after):
        np.random.set_state(before)  # leave the student's kernel as it was
        fail(f"{name} used the global NumPy random state (np.random.shuffle, np.random.permutation, "
             "np.random.seed, np.random.rand...). Draw every random number from the generator you are "
             "given (rng.permutation(n)) or that you create from the seed (np.random.default_rng(seed)): "
             "results that depend on hidden global state cannot be reproduced.")


# --------------------------------------------------------------------------------------------
# minibatches

def _epoch(fn, n, batch_size, rng):
    """Run ``minibatches`` for one epoch (inside ``call``): its batches as a list, and whether it
    drew anything from ``rng``."""
    state = rng.bit_generator.state
    result = fn(n, batch_size, rng)
    try:
        iterator = iter(result)
    except TypeError:
        fail(f"minibatches(n={n}, batch_size={batch_size}, rng) returned {describe(result)}, which is not "
             "iterable: `yield` each batch (a generator) or return a list of index arrays.")
    batches = list(iterator)
    return batches, rng.bit_generator.state != state


def _one_epoch(fn, n, batch_size, rng, *, drew: list | None = None):
    """The batches of one epoch; ``drew`` (a list) gets whether the epoch drew from ``rng``."""
    args = [("n", n), ("batch_size", batch_size), ("rng", rng)]
    with _global_random_untouched("minibatches"):
        batches, used = call(lambda *a: _epoch(fn, *a), "minibatches", args, forbid=True)
    if drew is not None:
        drew.append(used)
    return batches


def _expected_sizes(n: int, batch_size: int) -> list[int]:
    return [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])


def _check_epoch(batches, n, batch_size, text):
    for k, idx in enumerate(batches):
        if not isinstance(idx, np.ndarray):
            fail(f"{text}: batch {k} is {describe(idx)}; every batch must be a 1-D NumPy array of integer "
                 "indices (a piece of rng.permutation(n)).")
        if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
            fail(f"{text}: batch {k} is {describe(idx)}; every batch must be a 1-D array of integer indices "
                 "that can index the data (X[idx]).")
    sizes = [len(idx) for idx in batches]
    expected = _expected_sizes(n, batch_size)
    every = np.concatenate(batches) if batches else np.array([], dtype=int)
    counts = np.bincount(every[(every >= 0) & (every < n)], minlength=n) if every.size else np.zeros(n, int)
    out_of_range = every[(every < 0) | (every >= n)]
    if out_of_range.size:
        fail(f"{text}: index {int(out_of_range[0])} is out of range; the indices are 0, 1, ..., n - 1 = {n - 1}.")
    if sizes != expected:
        if n % batch_size and sizes == expected[:-1]:
            fail(f"{text} gave batch sizes {sizes}; expected {expected}. You dropped the last, short batch: keep "
                 f"it, or the last {n % batch_size} examples of each shuffled order are never trained on.")
        if sorted(sizes) == sorted(expected):
            if all(np.array_equal(np.sort(idx), np.arange(idx.min(), idx.min() + len(idx))) for idx in batches):
                fail(f"{text} gave batch sizes {sizes}: every batch holds consecutive indices and the short one is "
                     "not last. You shuffled the order of the batches but not the examples across batches: shuffle "
                     "the indices first (rng.permutation(n)), then cut them into batches.")
            fail(f"{text} gave batch sizes {sizes}; expected {expected}: only the LAST batch may be short.")
        if batch_size > n and not sizes:
            fail(f"{text} gave no batch; with batch_size >= n there is one batch of all {n} indices.")
        shown = sizes if len(sizes) <= 12 else sizes[:12] + ["..."]
        fail(f"{text} gave {len(sizes)} batches of sizes {shown}; expected {len(expected)} batches of sizes "
             f"{expected if len(expected) <= 12 else expected[:12] + ['...']} (all of batch_size except a shorter "
             "last one).")
    if not np.all(counts == 1):
        twice = int(np.argmax(counts > 1)) if np.any(counts > 1) else None
        missing = int(np.argmin(counts)) if np.any(counts == 0) else None
        fail(f"{text}: every index 0..{n - 1} must appear exactly once per epoch, but "
             + (f"index {twice} appears {int(counts[twice])} times" if twice is not None else "")
             + (" and " if twice is not None and missing is not None else "")
             + (f"index {missing} never appears" if missing is not None else "")
             + ". You sampled WITH replacement (rng.integers, rng.choice(n, size) with replace=True): cut "
               "one permutation, rng.permutation(n), into pieces instead.")


def check_minibatches(fn):
    """``minibatches(n, batch_size, rng)``: a permutation drawn from ``rng``, cut into pieces."""
    cases = [(10, 4), (12, 4), (7, 1), (5, 8), (5, 5), (1, 1), (100, 32), (33, 10), (64, 64), (65, 64)]
    rng = _rng(1)
    for _ in range(4):
        cases.append((int(rng.integers(2, 120)), int(rng.integers(1, 40))))
    unused = []  # the calls that drew nothing from rng
    for k, (n, batch_size) in enumerate(cases):
        text = f"minibatches(n={n}, batch_size={batch_size}, rng)"
        drew: list[bool] = []
        batches = _one_epoch(fn, n, batch_size, _Generator(100 + k), drew=drew)
        _check_epoch(batches, n, batch_size, text)
        if n > 1 and not drew[0]:
            unused.append(text)

    # Shuffled: the examples, not only the batches.
    n, batch_size = 20, 6
    text = f"minibatches(n={n}, batch_size={batch_size}, rng)"
    runs = [_one_epoch(fn, n, batch_size, _Generator(200 + s)) for s in range(10)]
    orders = [np.concatenate(batches) for batches in runs]
    if all(np.array_equal(o, np.arange(n)) for o in orders):
        fail(f"{text} returns the indices in order 0, 1, 2, ... for every seed: the examples must be shuffled "
             "(rng.permutation(n)), or every epoch sees the same batches in the same order.")
    if all(np.array_equal(np.sort(idx), np.arange(idx.min(), idx.min() + len(idx))) for batches in runs for idx in batches):
        fail(f"{text}: every batch holds consecutive indices (0-5, 6-11, ...) for every seed: you shuffled the "
             "order of the batches (or within them) but not the examples across batches. Shuffle the indices "
             "first (rng.permutation(n)), then cut them into batches.")
    first_positions = {int(o[0]) for o in orders}
    if len(first_positions) == 1:
        fail(f"{text}: the first index is {first_positions.pop()} for ten different seeds; the whole order must "
             "be random and drawn from rng (rng.permutation(n)); a generator of your own with a fixed seed gives "
             "the same order every time.")

    # Reproducible: the same seed gives the same batches; successive epochs differ.
    first = _one_epoch(fn, n, batch_size, _Generator(7))
    again = _one_epoch(fn, n, batch_size, _Generator(7))
    if len(first) != len(again) or not all(np.array_equal(a, b) for a, b in zip(first, again)):
        fail(f"{text}: two generators created with the same seed gave different batches. Draw the order from "
             "rng only, not from a generator of your own or from the clock.")
    shared = _Generator(8)
    epochs = [np.concatenate(_one_epoch(fn, n, batch_size, shared)) for _ in range(3)]
    if all(np.array_equal(epochs[0], e) for e in epochs[1:]):
        fail(f"{text}: three successive epochs with the same rng gave the same order. Draw a new permutation "
             "from rng at every call, e.g. rng.permutation(n); do not create a new generator with a fixed seed "
             "inside minibatches.")
    if unused:
        fail(f"{unused[0]} did not draw anything from rng: the order must come from the generator you are given "
             "(rng.permutation(n)), so that a new epoch gets a new order and a seed reproduces it.")


# --------------------------------------------------------------------------------------------
# sgd_step

def _torch_sgd(params, grads, lr, weight_decay):
    """The oracle: one step of ``torch.optim.SGD`` in float64."""
    import torch

    tensors = [torch.nn.Parameter(torch.tensor(p, dtype=torch.float64)) for p in params]
    for t, g in zip(tensors, grads):
        t.grad = torch.tensor(g, dtype=torch.float64)
    torch.optim.SGD(tensors, lr=lr, weight_decay=weight_decay).step()
    return [t.detach().numpy().copy() for t in tensors]


def check_sgd_step(fn):
    """``sgd_step(params, grads, lr, weight_decay=0.0)`` against one step of ``torch.optim.SGD``."""
    rng = _rng(2)
    settings = [(0.1, None), (0.1, 0.0), (0.05, 0.5), (1.0, 0.1), (0.01, 5e-4), (0.3, 2.0), (0.0, 0.3)]
    for lr, weight_decay in settings:
        count = int(rng.integers(1, 5))
        shapes = [tuple(int(s) for s in rng.integers(1, 5, size=rng.integers(1, 4))) for _ in range(count)]
        params = _Arrays(rng.standard_normal(s) for s in shapes)
        grads = _Arrays(rng.standard_normal(s) for s in shapes)
        saved = {"params": [a.copy() for a in params], "grads": [a.copy() for a in grads]}
        args = [("params", params), ("grads", grads), ("lr", lr)]
        kwargs = {} if weight_decay is None else {"weight_decay": weight_decay}
        wd = 0.0 if weight_decay is None else weight_decay
        text = call_text("sgd_step", args, kwargs)
        result = call(fn, "sgd_step", args, kwargs, forbid=True)
        for label, arrays in (("params", params), ("grads", grads)):
            for i, (a, original) in enumerate(zip(arrays, saved[label])):
                if a.shape != original.shape or not np.array_equal(a, original):
                    fail(f"{text} modified {label}[{i}] in place. Return new arrays: "
                         "`p - lr * (g + weight_decay * p)` creates one, `p -= ...` overwrites the caller's array.")
        if not isinstance(result, (list, tuple)):
            fail(f"{text} returned {describe(result)}; expected a list of {count} arrays, one per parameter.")
        if len(result) != count:
            fail(f"{text} returned {len(result)} arrays; expected {count}, one per parameter, in the same order.")
        expected = _torch_sgd(params, grads, lr, wd)
        for i, (got, exp) in enumerate(zip(result, expected)):
            p, g = params[i], grads[i]
            candidates = [
                ("You stepped uphill: gradient DESCENT subtracts lr * gradient.",
                 lambda p=p, g=g: p + lr * (g + wd * p)),
                ("You returned the step lr * (g + weight_decay * theta) only; return the new parameters "
                 "theta - lr * (g + weight_decay * theta).", lambda p=p, g=g: lr * (g + wd * p)),
            ]
            if wd:
                candidates += [
                    ("The weight decay has the wrong sign: the penalty's gradient weight_decay * theta is ADDED to "
                     "g, so the step shrinks theta: theta - lr * (g + weight_decay * theta).",
                     lambda p=p, g=g: p - lr * (g - wd * p)),
                    ("The weight decay is not multiplied by the learning rate: it is part of the gradient, "
                     "theta - lr * (g + weight_decay * theta), as in torch.optim.SGD.",
                     lambda p=p, g=g: p - lr * g - wd * p),
                    ("The weight decay is missing: add weight_decay * theta to the gradient.",
                     lambda p=p, g=g: p - lr * g),
                    ("The decay uses theta squared: the gradient of (weight_decay / 2) * ||theta||^2 is "
                     "weight_decay * theta.", lambda p=p, g=g: p - lr * (g + wd * p ** 2)),
                ]
            check_array(got, exp, what=f"the new params[{i}]", text=text, candidates=candidates,
                        shape_hints=[((), "Return one array per parameter, of its shape: did you sum something?")])
            if np.shares_memory(got, p) or np.shares_memory(got, g):
                fail(f"{text}: the new params[{i}] shares memory with an input array; return new arrays.")
    # The arguments must fit together.
    a, b = rng.standard_normal((2, 3)), rng.standard_normal(3)
    bad = [
        (_Arrays([a, b]), _Arrays([a.copy()]), "params has 2 arrays but grads only 1 (zip would silently skip one)"),
        (_Arrays([a]), _Arrays([a.copy(), b.copy()]), "params has 1 array but grads has 2"),
        (_Arrays([a, b]), _Arrays([a.copy(), rng.standard_normal((2, 3))]),
         "params[1] has shape (3,) but grads[1] has shape (2, 3) (broadcasting would silently change the shape)"),
        (_Arrays([a]), _Arrays([rng.standard_normal(3)]), "params[0] has shape (2, 3) but grads[0] has shape (3,)"),
    ]
    for params, grads, why in bad:
        expect_error(fn, "sgd_step", [("params", params), ("grads", grads), ("lr", 0.1)], why=why)


# --------------------------------------------------------------------------------------------
# fit_linear_regression_sgd

def _objective(X, y, w, b, lam):
    return float(np.mean((X @ w + b - y) ** 2) + lam * w @ w)


def _ridge(X, y, lam, *, penalise_bias=False):
    """The exact minimiser of mean((X w + b - y)^2) + lam ||w||^2 (+ lam b^2), from the normal equations."""
    n, d = X.shape
    A = np.hstack([X, np.ones((n, 1))])
    R = lam * np.eye(d + 1)
    if not penalise_bias:
        R[d, d] = 0.0
    theta = np.linalg.solve(A.T @ A / n + R, A.T @ y / n)
    return theta[:d], float(theta[d])


def _gradient_descent(X, y, lr, epochs, lam, *, decay=2.0, bias_decay=0.0, grad_factor=2.0, bias=True):
    """Full-batch gradient descent on the objective, written out: the oracle of the full-batch cases.

    Returns the final ``(w, b)`` and the list of ``(w, b)`` after each epoch. The keyword
    arguments reproduce common mistakes: ``decay`` the factor of lam in the gradient of the
    penalty (2 is right), ``bias_decay`` a penalty on b, ``grad_factor`` the 2 of the squared error,
    ``bias=False`` a bias that is never updated.
    """
    n, d = X.shape
    w, b = np.zeros(d), 0.0
    path = []
    with np.errstate(all="ignore"):
        for _ in range(epochs):
            r = X @ w + b - y
            gw = grad_factor * X.T @ r / n + decay * lam * w
            gb = grad_factor * r.mean() + bias_decay * lam * b
            w, b = w - lr * gw, (b - lr * gb if bias else b)
            path.append((w, b))
    return w, b, path


def _data(rng, n, d, noise=0.1):
    X = rng.standard_normal((n, d))
    w_true = rng.uniform(-2.0, 2.0, size=d)
    b_true = float(rng.choice([-1.0, 1.0]) * rng.uniform(1.5, 3.0))
    return X, X @ w_true + b_true + noise * rng.standard_normal(n)


def _as_scalar(b, text):
    if isinstance(b, bool) or not (isinstance(b, numbers.Real) or (isinstance(b, np.ndarray) and b.ndim == 0)):
        fail(f"{text} returned b = {describe(b)}; b must be one number (a float), the bias.")
    return float(b)


def _fit(fn, X, y, lr, epochs, batch_size, lam, seed):
    args = [("X", X), ("y", y), ("lr", lr), ("epochs", epochs), ("batch_size", batch_size)]
    kwargs = {"lam": lam, "seed": seed}
    text = call_text("fit_linear_regression_sgd", args, kwargs)
    with _global_random_untouched("fit_linear_regression_sgd"):
        result = call(fn, "fit_linear_regression_sgd", args, kwargs, forbid=True)
    if not isinstance(result, (tuple, list)) or len(result) != 3:
        fail(f"{text} returned {describe(result)}; expected a tuple (w, b, losses).")
    w, b, losses = result
    d = X.shape[1]
    if not isinstance(w, np.ndarray) or w.shape != (d,):
        fail(f"{text} returned w = {describe(w)}; expected an array of shape (d,) = ({d},)"
             + (" (flatten it: one weight per input feature)." if isinstance(w, np.ndarray) and w.size == d else "."))
    b = _as_scalar(b, text)
    try:
        losses_arr = np.asarray(losses, dtype=np.float64)
    except (TypeError, ValueError):
        fail(f"{text} returned losses = {describe(losses)}; expected a list of {epochs} floats, one per epoch.")
    if losses_arr.shape != (epochs,):
        fail(f"{text} returned {losses_arr.size} losses (shape {losses_arr.shape}); expected one per epoch, "
             f"{epochs} in all. Append the objective on the whole data set once, after each epoch.")
    if not (np.all(np.isfinite(w)) and np.isfinite(b)):
        fail(f"{text} diverged: w = {w}, b = {b}. This learning rate is stable for the MEAN gradient over the "
             "batch; did you sum the batch's gradients instead of averaging them (divide by the batch size)?")
    return text, w, b, losses_arr


def check_fit_linear_regression_sgd(fn):
    """``fit_linear_regression_sgd``: full-batch runs against gradient descent written out here, minibatch
    runs against the closed-form ridge solution, reproducible with the seed, never using global state."""
    rng = _rng(3)

    # 1. batch_size >= n is plain gradient descent: deterministic, compared step for step.
    full = [(100, 3, 0.2, 0.05, 15, 100), (200, 3, 0.0, 0.1, 150, 200), (150, 2, 0.5, 0.1, 150, 150), (120, 4, 0.3, 0.05, 200, 500),
            (90, 1, 1.0, 0.1, 120, 90)]
    for n, d, lam, lr, epochs, batch_size in full:
        X, y = _data(rng, n, d)
        text, w, b, losses = _fit(fn, X, y, lr, epochs, batch_size, lam, seed=int(rng.integers(100)))
        w_gd, b_gd, path = _gradient_descent(X, y, lr, epochs, lam)
        w_star, b_star = _ridge(X, y, lam)
        theta_gd = np.append(w_gd, b_gd)
        if np.linalg.norm(np.append(w, b)) > 1e3 * (1 + np.linalg.norm(theta_gd)):
            fail(f"{text} diverged: |w| and |b| grew to {np.linalg.norm(np.append(w, b)):.1e}, while gradient descent "
                 f"with this learning rate converges to w = {np.round(w_star, 4)}, b = {b_star:.4f}. The rate is "
                 "stable for the MEAN gradient over the batch; did you sum the batch's gradients instead of "
                 "averaging them (divide by the batch size)?")
        mistakes = [
            ("The gradient of the squared error lacks its factor 2: d/dw (x.w + b - y)^2 = 2 (x.w + b - y) x.",
             dict(grad_factor=1.0)),
            ("The bias b is never updated: it needs its own step, with the gradient 2 * mean(x.w + b - y).",
             dict(bias=False)),
        ]
        if lam:
            mistakes += [
                ("You penalised the bias too: the objective has lam * ||w||^2 only; b is not decayed.",
                 dict(bias_decay=2.0)),
                ("The penalty's gradient is off by a factor of 2: the gradient of lam * ||w||^2 is 2 * lam * w "
                 "(with sgd_step, weight_decay=2 * lam).", dict(decay=1.0)),
                ("The penalty's gradient has the wrong sign: 2 * lam * w is ADDED to the gradient.", dict(decay=-2.0)),
                ("The penalty is missing from the gradient: add 2 * lam * w (sgd_step(..., weight_decay=2 * lam)).",
                 dict(decay=0.0)),
                ("The gradient of the squared error lacks its factor 2 (and so does the penalty's): "
                 "d/dw (x.w + b - y)^2 = 2 (x.w + b - y) x.", dict(grad_factor=1.0, decay=1.0)),
            ]
        candidates = [(why, lambda kw=kw: np.append(*_gradient_descent(X, y, lr, epochs, lam, **kw)[:2]))
                      for why, kw in mistakes]
        check_array(np.append(w, b), theta_gd, what="(w, b) with batch_size >= n (plain gradient descent)",
                    text=text, candidates=candidates,
                    diagnose=lambda got: (f"The closed-form minimiser is w = {np.round(w_star, 4)}, b = {b_star:.4f}, "
                                          f"which {epochs} steps of gradient descent from w = 0, b = 0 reach to a "
                                          f"relative error of {rel_error(theta_gd, np.append(w_star, b_star)):.0e}."))
        expected = np.array([_objective(X, y, ww, bb, lam) for ww, bb in path])
        before = [(np.zeros(d), 0.0)] + path[:-1]
        loss_candidates = [
            ("losses leave out the penalty: record mean((X w + b - y)**2) + lam * ||w||^2.",
             lambda: np.array([_objective(X, y, ww, bb, 0.0) for ww, bb in path])),
            ("losses are sums over the data, not means: record mean((X w + b - y)**2) + lam * ||w||^2.",
             lambda: np.array([n * _objective(X, y, ww, bb, 0.0) + lam * ww @ ww for ww, bb in path])),
            ("losses are recorded before each epoch; record the objective AFTER each epoch's updates.",
             lambda: np.array([_objective(X, y, ww, bb, lam) for ww, bb in before])),
        ]
        check_array(losses, expected, what="losses (the objective on the whole data set after each epoch)",
                    text=text, candidates=loss_candidates)

    # 2. Minibatches: near the closed form, reproducible with the seed, different for another seed.
    mini = [(240, 3, 0.3, 0.01, 100, 20), (200, 2, 0.0, 0.01, 100, 25), (180, 4, 0.5, 0.01, 100, 16)]
    for n, d, lam, lr, epochs, batch_size in mini:
        X, y = _data(rng, n, d)
        seed = int(rng.integers(1000))
        text, w, b, losses = _fit(fn, X, y, lr, epochs, batch_size, lam, seed)
        w_star, b_star = _ridge(X, y, lam)
        theta, theta_star = np.append(w, b), np.append(w_star, b_star)
        scale = max(1.0, float(np.linalg.norm(theta_star)))
        distance = float(np.linalg.norm(theta - theta_star)) / scale
        if distance > 0.03:
            causes = [("You penalised the bias too: the objective has lam * ||w||^2 only.",
                       _ridge(X, y, lam, penalise_bias=True)),
                      ("The penalty's gradient is off by a factor of 2: the gradient of lam * ||w||^2 is 2 * lam * w.",
                       _ridge(X, y, lam / 2))]
            why = ""
            for message, (w_m, b_m) in causes if lam else []:
                if np.linalg.norm(theta - np.append(w_m, b_m)) / scale < distance / 2:
                    why = " " + message
                    break
            if not why:
                why = (" Check the gradient of the batch objective (the MEAN over the batch, 2 * X_B.T @ r / |B| and "
                       "2 * mean(r), plus 2 * lam * w) and that every epoch loops over all the minibatches.")
            fail(f"{text} returned w = {np.round(w, 4)}, b = {b:.4f}; expected close to the closed-form minimiser "
                 f"w = {np.round(w_star, 4)}, b = {b_star:.4f} (relative distance {distance:.3f}, at most 0.03 "
                 f"allowed; a correct SGD lands within about 0.01).{why}")
        J = _objective(X, y, w, b, lam)
        if abs(losses[-1] - J) > 1e-8 * (1 + abs(J)):
            fail(f"{text}: losses[-1] = {losses[-1]:.6g} but the objective mean((X w + b - y)**2) + lam * ||w||^2 "
                 f"at the returned w, b is {J:.6g}: record the objective on the WHOLE data set after each epoch "
                 "(not the last batch's loss, not a running mean).")
        if not losses[-1] < losses[0]:
            fail(f"{text}: the objective went from {losses[0]:.4g} after the first epoch to {losses[-1]:.4g} after "
                 "the last; it should decrease.")
        _, w2, b2, _ = _fit(fn, X, y, lr, epochs, batch_size, lam, seed)
        if not (np.array_equal(w, w2) and b == b2):
            fail(f"{text}: a second run with the same seed gave w = {np.round(w2, 6)}, b = {b2:.6f} instead of "
                 f"w = {np.round(w, 6)}, b = {b:.6f}. Create ONE generator, rng = np.random.default_rng(seed), "
                 "before the epochs and pass it to minibatches.")
        _, w3, b3, _ = _fit(fn, X, y, lr, epochs, batch_size, lam, seed + 1)
        if np.array_equal(w, w3) and b == b3:
            fail(f"{text}: seed={seed} and seed={seed + 1} gave exactly the same result: the shuffling must come "
                 "from np.random.default_rng(seed), passed to minibatches.")
