"""Hidden checks of ``ex01-mlp`` (the MLP in vector form, in NumPy).

One ``check_<function>(fn)`` per function of the exercise's contract. Each draws seeded random
inputs (the same sequence of calls on every run), compares the student's function with an
independent oracle in float64 torch (``torch.nn.functional.linear``, ``torch.relu``,
``torch.sigmoid``) and raises ``AssertionError`` with a message that says what was given, what
was expected, what came back and, where the mistake is a known one, its likely cause.

Numerical robustness is part of the contract: ``sigmoid`` runs under :func:`strict_floats`,
where an overflow, a division by zero or an invalid operation (and any warning) is an error.
Underflow is allowed: ``exp(-1e4)`` rounding to ``0.0`` is the correct float64 answer.
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np

from ._common import RTOL, call, call_text, check_array, describe, fail

SEED = 101


def _torch():
    import torch

    return torch


def _t(array):
    return _torch().from_numpy(np.ascontiguousarray(array))


def _rng(salt: int) -> np.random.Generator:
    return np.random.default_rng([SEED, salt])


@contextlib.contextmanager
def strict_floats():
    """Overflow, division by zero, invalid operations and every warning raise inside the block
    (``np.errstate(all="raise")`` minus underflow, which is harmless and expected here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
            yield


def check_values(got, expected: np.ndarray, *, what: str, text: str, atol: float = 1e-12, **kwargs) -> None:
    """Like :func:`_common.check_array`, but an entry within ``atol + RTOL * |expected|`` passes.

    ``check_array``'s relative error allows only ~1e-15 around zero, which a correct result
    can miss by rounding when its entries come from sums of larger numbers (an output of a
    linear layer close to 0, a log-probability of 1e4-sized logits). The failure messages are
    ``check_array``'s.
    """
    if (isinstance(got, np.ndarray) and got.shape == expected.shape and got.dtype == np.float64
            and bool(np.all(np.isfinite(got)))
            and bool(np.all(np.abs(got - expected) <= atol + RTOL * np.abs(expected)))):
        return
    # The candidate answers of known mistakes may overflow (that is often the mistake): no
    # warning of ours should reach the student's notebook.
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        check_array(got, expected, what=what, text=text, **kwargs)


# --------------------------------------------------------------------------------------------
# linear

def _linear_explain(X, W, b):
    n, d = X.shape
    h = W.shape[0]

    def explain(err):
        message = str(err)
        if "broadcast" in message:
            return (f"X @ W.T has shape ({n}, {h}) and b has shape ({h},): `X @ W.T + b` adds b to every row "
                    "by broadcasting along the last axis; do not reshape b.")
        if "mismatch" in message or "not aligned" in message or "shapes" in message:
            return (f"X has shape {X.shape} (one sample per row) and W has shape {W.shape} (one row of "
                    f"{d} weights per output neuron, like torch.nn.Linear.weight): the product is X @ W.T, "
                    f"of shape ({n}, {h}).")
        return None

    return explain


def check_linear(fn):
    """``linear(X, W, b)`` -> ``X @ W.T + b`` against ``torch.nn.functional.linear``."""
    F = _torch().nn.functional
    rng = _rng(1)
    # (n, d, h): the lecture's 3 inputs -> 2 hidden units, square W (X @ W runs silently),
    # n == h (a bias added along the wrong axis runs silently), single samples and neurons.
    shapes = [(4, 3, 2), (5, 3, 3), (2, 4, 2), (3, 3, 3), (1, 1, 1), (1, 5, 4), (6, 1, 3), (7, 10, 4)]
    for _ in range(4):
        shapes.append(tuple(int(s) for s in rng.integers(1, 9, size=3)))
    for n, d, h in shapes:
        X = rng.standard_normal((n, d))
        W = rng.standard_normal((h, d))
        b = rng.standard_normal(h)
        expected = F.linear(_t(X), _t(W), _t(b)).numpy()
        args = [("X", X), ("W", W), ("b", b)]
        text = call_text("linear", args)
        got = call(fn, "linear", args, forbid=True, explain=_linear_explain(X, W, b))
        candidates = [
            ("The bias b is missing: add it to every row, X @ W.T + b.", lambda: X @ W.T),
            ("The bias is subtracted: it is added, X @ W.T + b.", lambda: X @ W.T - b),
            ("The bias is added twice.", lambda: X @ W.T + 2 * b),
        ]
        if d == h:
            candidates += [
                ("You computed X @ W: W has one ROW per output neuron (shape (h, d), like "
                 "torch.nn.Linear.weight), so output j of sample i is the dot product of X[i] with W[j]: "
                 "X @ W.T + b.", lambda: X @ W + b),
                ("You computed X @ W without the bias: use X @ W.T + b.", lambda: X @ W),
            ]
        if n == h:
            candidates.append(("The bias is added along the wrong axis: b[j] belongs to output neuron j, "
                               "which is COLUMN j of X @ W.T; `X @ W.T + b` broadcasts it correctly, "
                               "b[:, None] does not.", lambda: X @ W.T + b[:, None]))
        shape_hints = [((h, n), "That is the transpose of the answer: you computed W @ X.T (+ b), one column per "
                                "sample. The batch has one sample per ROW: return X @ W.T + b, of shape (n, h).")]
        if d != h:
            shape_hints.append(((n, d), "The output has one column per input feature: each of the h rows of W "
                                        "makes one output column, X @ W.T + b has shape (n, h)."))
        check_values(got, expected, what="the output", text=text, candidates=candidates, shape_hints=shape_hints)


# --------------------------------------------------------------------------------------------
# relu

def _relu_explain(err):
    if "truth value" in str(err) and "ambiguous" in str(err):
        return ("Python's max(0, z) (or an `if z > 0`) compares a whole array at once; use np.maximum(z, 0), "
                "which compares entry by entry.")
    return None


def check_relu(fn):
    """``relu(z)`` against ``torch.relu``: any shape, a new float64 array, input untouched."""
    torch = _torch()
    rng = _rng(2)
    inputs = [np.array([-2.0, -0.5, 0.0, 1.5, 3.0]),
              rng.standard_normal((3, 4)),
              rng.standard_normal((2, 3, 4)),
              np.array([[1e4, -1e4], [-0.0, 7.0]]),
              -np.abs(rng.standard_normal(6)),
              rng.standard_normal((5, 1)) * 100]
    for z in inputs:
        expected = torch.relu(_t(z)).numpy()
        args = [("z", z)]
        text = call_text("relu", args)
        got = call(fn, "relu", args, forbid=True, explain=_relu_explain)
        if isinstance(got, np.ndarray) and got.dtype == bool:
            fail(f"{text} returned a boolean array (True where z > 0): that is the mask of the positive "
                 "entries, not the ReLU. Multiply z by it, z * (z > 0), or use np.maximum(z, 0).")
        reduced = np.max(z, axis=0)
        if not (isinstance(got, np.ndarray) and got.shape == z.shape) and np.shape(got) == reduced.shape:
            if np.allclose(np.asarray(got, dtype=float), reduced):
                fail(f"{text} returned {describe(got)}, the largest entry along axis 0: np.max(z, 0) is a "
                     "reduction. The ReLU is elementwise: np.maximum(z, 0).")
        candidates = [
            ("You kept the negative part: relu(z) = max(z, 0) keeps the positive entries (np.maximum, not "
             "np.minimum).", lambda: np.minimum(z, 0)),
            ("You returned |z|: negative entries become 0, they do not change sign.", lambda: np.abs(z)),
            ("You returned the mask (z > 0) as numbers: multiply it by z.", lambda: (z > 0).astype(float)),
        ]
        check_values(got, expected, what="the output", text=text, candidates=candidates,
                     shape_hints=[((z.size,), "The output must keep the shape of z (do not flatten it).")])


# --------------------------------------------------------------------------------------------
# sigmoid

def _sigmoid_explain(z):
    low, high = float(np.min(z)), float(np.max(z))

    def explain(err):
        message = str(err).lower()
        if "overflow" in message:
            return (f"z holds entries from {low:g} to {high:g}, and np.exp(t) overflows to inf for t > 709.78: "
                    "1 / (1 + np.exp(-z)) computes exp(1e4) for z = -1e4 (and exp(z) / (1 + exp(z)) does the "
                    "same for z = +1e4). Only ever exponentiate non-positive numbers: with t = np.exp(-np.abs(z)), "
                    "sigmoid is 1 / (1 + t) where z >= 0 and t / (1 + t) where z < 0. Note that "
                    "np.where(cond, a, b) evaluates BOTH a and b for every entry, so it does not avoid the "
                    "overflow by itself.")
        if "invalid" in message or "divide" in message:
            return (f"z holds entries from {low:g} to {high:g}: an inf / inf or a division by zero happened "
                    "(exp overflowed somewhere). Only ever exponentiate non-positive numbers, "
                    "e.g. t = np.exp(-np.abs(z)).")
        return None

    return explain


def check_sigmoid(fn):
    """``sigmoid(z)`` against ``torch.sigmoid``, under :func:`strict_floats`, for |z| up to 1e4."""
    torch = _torch()
    rng = _rng(3)
    moderate = [np.array([0.0, 1.0, -1.0, np.log(3.0), -np.log(3.0)]),
                rng.standard_normal((3, 4)) * 3,
                rng.standard_normal((2, 2, 3)) * 10,
                np.linspace(-30.0, 30.0, 13)]
    extreme = [np.array([-1e4, 1e4]),
               np.array([-800.0, -745.0, -710.0, 710.0, 745.0, 800.0]),
               np.array([[-1e4, -50.0, 0.0], [50.0, 1e4, -36.5]]),
               rng.standard_normal(20) * 2000]
    for stage, inputs in (("moderate", moderate), ("extreme", extreme)):
        for z in inputs:
            expected = torch.sigmoid(_t(z)).numpy()
            args = [("z", z)]
            text = call_text("sigmoid", args)
            if stage == "extreme":
                text += f" (entries from {np.min(z):g} to {np.max(z):g})"
            with strict_floats():
                got = call(fn, "sigmoid", args, forbid=True, explain=_sigmoid_explain(z))
            if isinstance(got, np.ndarray) and got.shape == z.shape and not np.all(np.isfinite(got)):
                fail(f"{text} returned nan or inf entries (at z = {z[~np.isfinite(got)][:3]}); sigmoid is always "
                     "between 0 and 1. exp overflowed: only ever exponentiate non-positive numbers, "
                     "e.g. t = np.exp(-np.abs(z)).")
            candidates = [
                ("You computed sigmoid(-z): sigmoid(z) = 1 / (1 + exp(-z)), with a minus sign (sigmoid(2) > 0.5).",
                 lambda: torch.sigmoid(-_t(z)).numpy()),
                ("You computed tanh(z): sigmoid(z) = 1 / (1 + exp(-z)) lies between 0 and 1.",
                 lambda: np.tanh(z)),
                ("Right for z >= 0, but for z < 0 you returned sigmoid(-z) (above 0.5): the numerator of the "
                 "stable branch for z < 0 is exp(z) (a small number), sigmoid(z) = exp(z) / (1 + exp(z)), "
                 "not exp(-z) / (1 + exp(-z)).",
                 lambda: torch.sigmoid(_t(np.abs(z))).numpy()),
            ]
            check_values(got, expected, what="the output", text=text, candidates=candidates,
                         shape_hints=[((z.size,), "The output must keep the shape of z (do not flatten it).")])


# --------------------------------------------------------------------------------------------
# mlp_forward

def _np_sigmoid(z):
    """A stable sigmoid (the output activation handed to the student's mlp_forward)."""
    t = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + t), t / (1.0 + t))


def _np_softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _np_leaky(z):
    return np.where(z > 0, z, 0.1 * z)


def _activations():
    """name -> (NumPy function given to the student, torch function of the oracle)."""
    torch = _torch()
    F = torch.nn.functional
    return {
        "relu": (None, torch.relu),
        "np.tanh": (np.tanh, torch.tanh),
        "leaky_relu": (_np_leaky, lambda t: F.leaky_relu(t, 0.1)),
        "sigmoid": (_np_sigmoid, torch.sigmoid),
        "softmax": (_np_softmax, lambda t: torch.softmax(t, dim=1)),
        "None": (None, lambda t: t),
    }


def _named(name: str, fn):
    """The student sees a readable name for our activation in the call text."""
    class Named:
        def __init__(self, f):
            self.f = f

        def __call__(self, z):
            return self.f(z)

        def __repr__(self):
            return name

    return Named(fn)


def _mlp_explain(X, W, V):
    def explain(err):
        message = str(err)
        if "mismatch" in message or "not aligned" in message or "broadcast" in message:
            return (f"The shapes: X {X.shape} (n, d), W {W.shape} (hidden, d), V {V.shape} (k, hidden). Each "
                    "weight matrix has one ROW per output neuron of its layer, so the products are X @ W.T "
                    "(n, hidden) and h @ V.T (n, k), with b and c added to every row.")
        return None

    return explain


def check_mlp_forward(fn):
    """``mlp_forward(X, W, b, V, c, g=relu, o=None)`` -> ``(y, h)`` against torch, for several
    hidden and output activations, the default ``g`` (the student's own relu) included."""
    F = _torch().nn.functional
    rng = _rng(4)
    acts = _activations()
    # (n, d, hidden, k, g, o); g "relu" means: use the default argument.
    cases = [
        (4, 3, 2, 1, "np.tanh", "None"),       # the lecture's 3 -> 2 -> 1 network
        (5, 3, 4, 2, "np.tanh", "sigmoid"),
        (6, 4, 3, 3, "leaky_relu", "softmax"),  # V square: h @ V runs silently
        (3, 2, 5, 5, "np.tanh", "np.tanh"),
        (2, 2, 2, 2, "leaky_relu", "None"),
        (1, 1, 1, 1, "np.tanh", "sigmoid"),
        (8, 5, 6, 3, "relu", "None"),           # default g: the student's relu
        (4, 3, 3, 2, "relu", "sigmoid"),
    ]
    for _ in range(3):
        n, d, hid, k = (int(s) for s in rng.integers(1, 7, size=4))
        cases.append((n, d, hid, k, ["np.tanh", "leaky_relu"][int(rng.integers(0, 2))],
                      ["None", "sigmoid", "np.tanh"][int(rng.integers(0, 3))]))
    for n, d, hid, k, g_name, o_name in cases:
        X = rng.standard_normal((n, d))
        W = rng.standard_normal((hid, d))
        b = rng.standard_normal(hid)
        V = rng.standard_normal((k, hid))
        c = rng.standard_normal(k)
        g_np, g_t = acts[g_name]
        o_np, o_t = acts[o_name]
        a_t = F.linear(_t(X), _t(W), _t(b))
        h_exp = g_t(a_t)
        y_exp = o_t(F.linear(h_exp, _t(V), _t(c))).numpy()
        h_exp = h_exp.numpy()
        args = [("X", X), ("W", W), ("b", b), ("V", V), ("c", c)]
        kwargs = {}
        if g_name != "relu":
            kwargs["g"] = _named(g_name, g_np)
        if o_name != "None":
            kwargs["o"] = _named(o_name, o_np)
        text = call_text("mlp_forward", args, kwargs)
        result = call(fn, "mlp_forward", args, kwargs, forbid=True, explain=_mlp_explain(X, W, V))
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            fail(f"{text} returned {describe(result)}; expected a pair (y, h): the output and the hidden "
                 "activations.")
        y, h = result
        if (isinstance(y, np.ndarray) and isinstance(h, np.ndarray) and y.shape == h_exp.shape
                and h.shape == y_exp.shape and np.allclose(y, h_exp) and np.allclose(h, y_exp)):
            fail(f"{text} returned (h, y): return the output first, then the hidden activations: (y, h).")
        pre = X @ W.T + b
        g_used = g_np if g_np is not None else (lambda z: np.maximum(z, 0))
        text_h = text if g_name != "relu" else (
            text + " (with the default g, which is YOUR relu: make sure test_relu passes)")
        h_cands = [
            ("h is the pre-activation X @ W.T + b: the hidden layer's output is h = g(X @ W.T + b).", lambda: pre),
        ]
        if g_name != "relu":
            h_cands.append((f"You ignored the argument g (here {g_name}) and used the ReLU: call g(...).",
                            lambda: np.maximum(pre, 0)))
        if d == hid:
            h_cands.append(("h = g(X @ W + b): W has one ROW per hidden neuron, the product is X @ W.T.",
                            lambda: g_used(X @ W + b)))
        check_values(h, h_exp, what="h (the second item returned)", text=text_h,
                     candidates=h_cands,
                     shape_hints=[((hid, n), "h must have one row per sample: shape (n, hidden) = X @ W.T + b.")])
        z_out = h_exp @ V.T + c
        o_used = o_np if o_np is not None else (lambda z: z)
        y_cands = [
            ("y was computed from the pre-activation X @ W.T + b instead of h = g(X @ W.T + b).",
             lambda: o_used(pre @ V.T + c)),
            ("The output bias c is missing: y = o(h @ V.T + c).", lambda: o_used(h_exp @ V.T)),
        ]
        if o_name == "None":
            y_cands += [
                ("With o=None the output layer has no activation (the identity): y = h @ V.T + c. You applied "
                 "g to the output too.", lambda: g_used(z_out)),
                ("With o=None the output layer has no activation (the identity): y = h @ V.T + c. You applied "
                 "the ReLU to it.", lambda: np.maximum(z_out, 0)),
                ("With o=None the output layer has no activation (the identity): y = h @ V.T + c. You applied "
                 "a sigmoid to it.", lambda: _np_sigmoid(z_out)),
            ]
        else:
            y_cands += [
                (f"You applied g to the output too: y = o(h @ V.T + c), with only o (here {o_name}) on the "
                 "output layer.", lambda: o_np(g_used(z_out))),
                (f"You applied g to the output too: y = o(h @ V.T + c), with only o (here {o_name}) on the "
                 "output layer.", lambda: g_used(o_np(z_out))),
                (f"You ignored the argument o (here {o_name}): y = o(h @ V.T + c).", lambda: z_out),
            ]
        if k == hid:
            y_cands.append(("y = o(h @ V + c): V has one ROW per output (shape (k, hidden)), the product is "
                            "h @ V.T.", lambda: o_used(h_exp @ V + c)))
        check_values(y, y_exp, what="y (the first item returned)", text=text, candidates=y_cands,
                     shape_hints=[((k, n), "y must have one row per sample: shape (n, k).")])
