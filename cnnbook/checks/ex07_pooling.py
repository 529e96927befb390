"""Hidden checks of ``ex07-pooling`` (pooling layers and receptive fields in NumPy).

One ``check_<function>(fn)`` per function of the exercise's contract. Each draws seeded random
shapes, window sizes and strides (windows that overlap, touch or leave gaps), compares the
student's function with an independent oracle (``torch.nn.functional.max_pool2d`` and
``avg_pool2d`` in float64 and their autograd, a brute-force count of window positions, the
gradient support of a stack of 1-D convolutions) and raises ``AssertionError`` with a message
that says what was given, what was expected, what came back and, where the mistake is a known
one, its likely cause.

Ties in max pooling follow PyTorch: the gradient of a window goes to its first maximum in
row-major order (checked on the CPU, where these checks run), and only there.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ._common import (
    attempt,
    call,
    call_text,
    check_array,
    check_int,
    describe,
    expect_error,
    fail,
)

SEED = 707

#: The layers of LeNet-5 (C1, S2, C3, S4, C5) and VGG16 (13 convolutions 3x3, 5 poolings 2x2)
#: as (kernel, stride) pairs.
LENET5 = [(5, 1), (2, 2), (5, 1), (2, 2), (5, 1)]
VGG16 = [layer for n in (2, 2, 3, 3, 3) for layer in [(3, 1)] * n + [(2, 2)]]


def _torch():
    import torch

    return torch


def _t(array):
    return _torch().from_numpy(np.ascontiguousarray(array, dtype=np.float64))


def _rng(salt: int) -> np.random.Generator:
    return np.random.default_rng([SEED, salt])


# --------------------------------------------------------------------------------------------
# Output size

def _positions(W, F, S):
    """Brute force: the window's start positions, and whether the last one ends on the border."""
    starts = list(range(0, W - F + 1, S))
    return len(starts), bool(starts) and starts[-1] + F == W


def check_pool_output_size(fn):
    """``pool_output_size(W, F, S)``: exact ints where the window fits, ValueError elsewhere."""
    rng = _rng(1)
    lecture = [(4, 2, 2), (224, 2, 2), (32, 2, 2), (28, 2, 2), (10, 2, 2), (55, 3, 2), (27, 3, 2),
               (13, 3, 2), (5, 3, 1), (7, 1, 3), (6, 6, 1), (6, 6, 4), (1, 1, 1), (9, 3, 3)]
    valid, uneven = list(lecture), []
    while len(valid) < 50 or len(uneven) < 25:
        W, S = int(rng.integers(1, 65)), int(rng.integers(1, 5))
        F = int(rng.integers(1, W + 1))
        (valid if _positions(W, F, S)[1] else uneven).append((W, F, S))
    for W, F, S in valid:
        expected, fits = _positions(W, F, S)
        assert fits
        args = [("W", W), ("F", F), ("S", S)]

        def explain(err, W=W, F=F, S=S):
            if isinstance(err, ValueError):
                return (f"But the window fits: (W - F) / S = ({W} - {F}) / {S} = {(W - F) // S} is an integer. "
                        "Test the divisibility by the stride, (W - F) % S, and divide by the stride S, "
                        "not by the window size F.")
            return None

        result = call(fn, "pool_output_size", args, explain=explain)
        hint = ""
        if result == (W - F) // S and not isinstance(result, bool):
            hint = "You forgot the '+ 1' (the first position counts too)."
        elif result == W // F and S != F:
            hint = "W // F counts the windows only when the stride equals the window: use (W - F) / S + 1."
        elif result == (W - F) // F + 1 and S != F:
            hint = "You divided by the window size F; divide by the stride S: (W - F) / S + 1."
        elif result == W // S and W // S != expected:
            hint = "W / S ignores the window's width: the last window must fit, (W - F) / S + 1."
        check_int(result, expected, call_text("pool_output_size", args), hint=hint)
    for W, F, S in uneven[:25]:
        args = [("W", W), ("F", F), ("S", S)]
        text = call_text("pool_output_size", args)
        why = (f"the window does not fit evenly: (W - F) / S = ({W} - {F}) / {S} = {(W - F) / S:g} "
               "is not an integer")
        outcome = attempt(fn, "pool_output_size", args)
        err, result = outcome.error, outcome.result
        if isinstance(err, ValueError):
            continue
        if isinstance(err, NotImplementedError):
            fail(f"pool_output_size is not implemented yet: {text} raised NotImplementedError.")
        if err is not None:
            fail(f"{text} should raise ValueError because {why}; it raised {type(err).__name__}: {err}.")
        if result == (W - F) // S + 1:
            fail(f"{text} returned {result!r}; it should raise ValueError because {why}. Floor division "
                 "(//) silently drops the last input rows (PyTorch's floor): check (W - F) % S == 0 and "
                 "raise ValueError when it is not.")
        fail(f"{text} returned {describe(result)}; it should raise ValueError because {why}.")
    out_of_range = [
        ((0, 2, 2), "W must be a positive int"),
        ((-4, 2, 2), "W must be a positive int"),
        ((4, 0, 1), "F must be a positive int"),
        ((4, -2, 2), "F must be a positive int"),
        ((4, 2, 0), "S must be a positive int (and S = 0 would divide by zero)"),
        ((4, 2, -2), "S must be a positive int"),
        ((3, 4, 1), "the window (F=4) is larger than the input (W=3)"),
        ((2, 3, 2), "the window (F=3) is larger than the input (W=2)"),
        ((4.0, 2, 2), "W must be an int"),
        ((4, 2, 2.0), "S must be an int"),
        ((6, 2.5, 1), "F must be an int"),
    ]
    for (W, F, S), why in out_of_range:
        expect_error(fn, "pool_output_size", [("W", W), ("F", F), ("S", S)], error=ValueError, why=why)


# --------------------------------------------------------------------------------------------
# Cases shared by the forward and backward checks

_FIXED = [
    # N, C, H, W, size, stride
    (1, 1, 4, 4, 2, 2),    # the lecture
    (2, 3, 8, 8, 2, 2),
    (1, 2, 5, 5, 3, 2),    # overlapping 3x3 windows with stride 2 (AlexNet)
    (2, 1, 6, 4, 2, 1),    # overlapping 2x2 windows with stride 1, non-square input
    (1, 2, 7, 10, 1, 3),   # 1x1 windows with gaps between them
    (2, 2, 8, 5, 2, 3),    # 2x2 windows with a gap of one pixel
    (1, 3, 6, 9, 3, 3),    # 3x3 windows that touch, non-square
    (3, 1, 4, 4, 4, 1),    # the window covers the whole input: 1x1 output
    (1, 1, 9, 9, 3, 2),
    (2, 3, 5, 7, 3, 1),
    (3, 3, 6, 6, 2, 2),    # N == C
    (2, 2, 6, 4, 3, 1),    # H' == 4 == W' + 2, C == N
]


def _cases(rng, n_random):
    cases = [dict(zip(("N", "C", "H", "W", "size", "stride"), c)) for c in _FIXED]
    while len(cases) < len(_FIXED) + n_random:
        size, stride = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        Ho, Wo = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        cases.append({"N": int(rng.integers(1, 4)), "C": int(rng.integers(1, 4)),
                      "H": (Ho - 1) * stride + size, "W": (Wo - 1) * stride + size,
                      "size": size, "stride": stride})
    return cases


def _draw(rng, case, index):
    """Normal values, all-negative values, or small integers (many tied maxima), in turn."""
    shape = (case["N"], case["C"], case["H"], case["W"])
    kind = index % 3
    if kind == 0:
        return rng.standard_normal(shape)
    if kind == 1:
        return -np.abs(rng.standard_normal(shape)) - 1.0
    return rng.integers(0, 3, size=shape).astype(np.float64)


def _out_shape(case):
    size, stride = case["size"], case["stride"]
    return (case["N"], case["C"], (case["H"] - size) // stride + 1, (case["W"] - size) // stride + 1)


def _max(X, size, stride):
    return _torch().nn.functional.max_pool2d(_t(X), size, stride).numpy()


def _avg(X, size, stride):
    return _torch().nn.functional.avg_pool2d(_t(X), size, stride).numpy()


def _loop_pool(X, Ho, Wo, size, reduce, start):
    """What a loop does whose window at output (i, j) starts at ``start(i), start(j)`` and has
    ``size`` rows and columns (NumPy slicing cuts windows that run past the border); ``None``
    when a window is empty (the student's code would have crashed)."""
    N, C = X.shape[:2]
    out = np.zeros((N, C, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            window = X[:, :, start(i):start(i) + size, start(j):start(j) + size]
            if window.size == 0 or size < 1:
                return None
            out[:, :, i, j] = reduce(window, axis=(2, 3))
    return out


def _forward_candidates(X, size, stride, expected, kind):
    """Outputs that the common mistakes produce, with what to tell the student."""
    reduce = np.max if kind == "max" else np.mean
    Ho, Wo = expected.shape[2:]
    C = X.shape[1]
    cands = []
    if stride != size:
        cands.append((f"Your windows start at rows 0, {size}, {2 * size}, ... (multiples of the window size); "
                      f"they start at multiples of the stride S={stride}: row i*S, column j*S.",
                      lambda: _loop_pool(X, Ho, Wo, size, reduce, lambda i: i * size)))
    if stride != 1:
        cands.append((f"You ignored the stride: output (i, j) reads the window starting at input row i*S and "
                      f"column j*S (S={stride}), not at (i, j).",
                      lambda: _loop_pool(X, Ho, Wo, size, reduce, lambda i: i)))
    if size > 1:
        cands.append((f"Your windows are one pixel too small: a window covers rows i*S to i*S + size - 1, "
                      f"that is X[:, :, i*S:i*S + size] ({size} rows), not i*S + size - 1 as the slice's end.",
                      lambda: _loop_pool(X, Ho, Wo, size - 1, reduce, lambda i: i * stride)))
    cands.append(("Your windows are one pixel too large: X[:, :, i*S:i*S + size] already has `size` rows "
                  "(a slice's end is excluded).",
                  lambda: _loop_pool(X, Ho, Wo, size + 1, reduce, lambda i: i * stride)))
    if kind == "max":
        cands.append(("Negative maxima came back as 0: a running maximum must start at the first value of "
                      "the window (or -inf), not at 0; or use window.max().",
                      lambda: np.maximum(expected, 0.0)))
        if C > 1:
            cands.append(("You took the maximum over all channels as well: pool every channel separately, "
                          "reducing over the window's two spatial axes only.",
                          lambda: np.broadcast_to(expected.max(axis=1, keepdims=True), expected.shape)))
    else:
        if size > 1:
            cands.append((f"You divided the window's sum by size={size}; a window has size**2 = {size * size} "
                          "values: divide by size**2 (or use .mean()).", lambda: expected * size))
            cands.append((f"That is the window's sum: average pooling divides it by the number of values, "
                          f"size**2 = {size * size}.", lambda: expected * size * size))
        if C > 1:
            cands.append(("You averaged over all channels as well: pool every channel separately, over the "
                          "window's two spatial axes only.",
                          lambda: np.broadcast_to(expected.mean(axis=1, keepdims=True), expected.shape)))
    if Ho == Wo and Ho > 1:
        cands.append(("Rows and columns are swapped: Y[n, c, i, j] pools the window at input row i*S, column j*S.",
                      lambda: expected.transpose(0, 1, 3, 2)))
    return cands


def _forward_shape_hints(case, expected_shape):
    N, C, Ho, Wo = expected_shape
    H, W, size, stride = case["H"], case["W"], case["size"], case["stride"]
    hints = [((N, Ho, Wo, C), "That is NHWC: return NCHW, shape (N, C, H', W')."),
             ((C, N, Ho, Wo), "The batch and channel axes are swapped: the output is (N, C, H', W')."),
             ((Ho, Wo), "The batch and channel axes are missing: pool every channel of every image, (N, C, H', W')."),
             ((N, Ho, Wo), "The channel axis is missing: pool every channel separately, (N, C, H', W')."),
             ((N, 1, Ho, Wo), "You pooled over the channels too: pool every channel separately, (N, C, H', W')."),
             ((N, C, Ho + 1, Wo + 1), "One output position too many: H' = (H - size) / stride + 1."),
             ((N, C, Ho - 1, Wo - 1), "One output position too few: H' = (H - size) / stride + 1.")]
    if stride != 1:
        hints.insert(0, ((N, C, H - size + 1, W - size + 1),
                         f"That is the stride-1 output: you ignored the stride S={stride}."))
    if stride != size:
        hints.insert(0, ((N, C, H // size, W // size),
                         "That is H // size: the number of windows depends on the stride, "
                         "H' = (H - size) / stride + 1."))
    return [(s, m) for s, m in hints if s != expected_shape]


def _check_forward(fn, name, kind, salt):
    rng = _rng(salt)
    oracle = _max if kind == "max" else _avg
    for index, case in enumerate(_cases(rng, n_random=12)):
        X = _draw(rng, case, index)
        size, stride = case["size"], case["stride"]
        expected = oracle(X, size, stride)
        args = [("X", X)]
        kwargs = {"size": size, "stride": stride}
        got = call(fn, name, args, kwargs, forbid=True, explain=_explain_empty)
        check_array(got, expected, what="the output", text=call_text(name, args, kwargs),
                    candidates=_forward_candidates(X, size, stride, expected, kind),
                    shape_hints=_forward_shape_hints(case, expected.shape))
    bad = [
        ((1, 1, 5, 5), 2, 2, "the window does not fit evenly: (5 - 2) / 2 = 1.5 (use pool_output_size for H and W)"),
        ((2, 2, 6, 7), 2, 2, "the window fits the height ((6 - 2) / 2 = 2) but not the width ((7 - 2) / 2 = 2.5): check both"),
        ((1, 3, 7, 6), 3, 2, "the window fits the height ((7 - 3) / 2 = 2) but not the width ((6 - 3) / 2 = 1.5): check both"),
        ((1, 1, 3, 3), 4, 1, "the 4x4 window is larger than the 3x3 input"),
    ]
    for shape, size, stride, why in bad:
        X = rng.standard_normal(shape)
        expect_error(fn, name, [("X", X)], {"size": size, "stride": stride}, error=ValueError, why=why)


def _explain_empty(err):
    text = str(err)
    if "zero-size array" in text or "empty" in text:
        return ("A window came out empty: the window at output (i, j) starts at row i*stride and column "
                "j*stride (multiples of the stride, not of the window size) and has `size` rows and columns; "
                "check the loop bounds and the slices.")
    return None


def check_maxpool2d_forward(fn):
    """``maxpool2d_forward(X, size=2, stride=2)`` against ``torch.nn.functional.max_pool2d``."""
    _check_forward(fn, "maxpool2d_forward", "max", 2)


def check_avgpool2d_forward(fn):
    """``avgpool2d_forward(X, size=2, stride=2)`` against ``torch.nn.functional.avg_pool2d``."""
    _check_forward(fn, "avgpool2d_forward", "avg", 3)


# --------------------------------------------------------------------------------------------
# Backward passes

def _max_grad(X, dout, size, stride):
    """dL/dX by torch autograd for L = sum(max_pool2d(X) * dout)."""
    torch = _torch()
    Xt = _t(X).clone().requires_grad_(True)
    torch.nn.functional.max_pool2d(Xt, size, stride).backward(_t(dout))
    return Xt.grad.numpy()


def _avg_grad(X_shape, dout, size, stride):
    """dL/dX by torch autograd for L = sum(avg_pool2d(X) * dout)."""
    torch = _torch()
    Xt = torch.zeros(X_shape, dtype=torch.float64, requires_grad=True)
    torch.nn.functional.avg_pool2d(Xt, size, stride).backward(_t(dout))
    return Xt.grad.numpy()


def _route(X, dout, size, stride, *, tie="first", accumulate=True, assign_window=False,
           swap=False, ones=False, start=None):
    """A max-pooling backward pass written the way a student might, mistakes included:
    ``tie`` first / last / all / split, assignment instead of accumulation, the window's row and
    column swapped when unravelling the argmax, ones instead of dout, windows started elsewhere."""
    N, C, Ho, Wo = dout.shape
    start = start or (lambda i: i * stride)
    dX = np.zeros(X.shape)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    r0, c0 = start(i), start(j)
                    window = X[n, c, r0:r0 + size, c0:c0 + size]
                    if window.shape != (size, size):
                        return None
                    g = 1.0 if ones else dout[n, c, i, j]
                    flat = window.ravel()
                    tied = np.flatnonzero(flat == flat.max())
                    if tie == "first":
                        chosen, share = tied[:1], g
                    elif tie == "last":
                        chosen, share = tied[-1:], g
                    elif tie == "all":
                        chosen, share = tied, g
                    else:
                        chosen, share = tied, g / len(tied)
                    if assign_window:
                        mask = np.zeros(size * size)
                        mask[chosen] = share
                        dX[n, c, r0:r0 + size, c0:c0 + size] = mask.reshape(size, size)
                        continue
                    for k in chosen:
                        a, b = divmod(int(k), size)
                        if swap:
                            a, b = b, a
                        if accumulate:
                            dX[n, c, r0 + a, c0 + b] += share
                        else:
                            dX[n, c, r0 + a, c0 + b] = share
    return dX


def _channel_argmax(X, dout):
    """The gradient of every window sent to the maximum of the whole channel."""
    N, C = X.shape[:2]
    dX = np.zeros(X.shape)
    for n in range(N):
        for c in range(C):
            a, b = np.unravel_index(np.argmax(X[n, c]), X.shape[2:])
            dX[n, c, a, b] = dout[n, c].sum()
    return dX


def _spread(X_shape, dout, size, stride, *, scale=1.0, accumulate=True, start=None):
    """An average-pooling backward pass written with loops: share ``dout * scale`` of each window."""
    N, C, Ho, Wo = dout.shape
    start = start or (lambda i: i * stride)
    dX = np.zeros(X_shape)
    for i in range(Ho):
        for j in range(Wo):
            r0, c0 = start(i), start(j)
            if r0 + size > X_shape[2] or c0 + size > X_shape[3]:
                return None
            share = (dout[:, :, i, j] * scale)[:, :, None, None]
            if accumulate:
                dX[:, :, r0:r0 + size, c0:c0 + size] += share
            else:
                dX[:, :, r0:r0 + size, c0:c0 + size] = share
    return dX


def _coverage(X_shape, size, stride):
    """How many windows contain each input position."""
    N, C, H, W = X_shape
    Ho, Wo = (H - size) // stride + 1, (W - size) // stride + 1
    return _avg_grad(X_shape, np.ones((N, C, Ho, Wo)), size, stride) * size * size


def _overlap_diagnosis(expected, X_shape, size, stride):
    def diagnose(got):
        coverage = _coverage(X_shape, size, stride)
        wrong = np.abs(got - expected) > 1e-7 * (1 + np.abs(expected))
        if wrong.any() and (coverage > 1).any() and not wrong[coverage <= 1].any():
            return ("Every wrong entry lies where several windows overlap: the contributions of all the "
                    "windows that contain an input must be ADDED (+=), not assigned (=).")
        return None
    return diagnose


def _dout_shape_errors(fn, name, first_arg, rng):
    """dout of a shape that is not the forward output's must raise ValueError."""
    X_shape = (2, 3, 6, 4)
    first = rng.standard_normal(X_shape) if first_arg == "X" else X_shape
    for dshape, why in [((2, 3, 4, 3), "dout must have the output's shape (2, 3, 3, 2), not (2, 3, 4, 3)"),
                        ((2, 3, 2, 3), "dout must have the output's shape (2, 3, 3, 2), not its transpose (2, 3, 2, 3)"),
                        ((3, 2, 3, 2), "dout must have the output's shape (2, 3, 3, 2): its N and C come from X")]:
        dout = rng.standard_normal(dshape)
        expect_error(fn, name, [("dout", dout), (first_arg, first)], {"size": 2, "stride": 2},
                     error=ValueError, why=why)


def check_maxpool2d_backward(fn):
    """``maxpool2d_backward(dout, X, size=2, stride=2)`` against torch autograd of ``max_pool2d``
    (ties: the first maximum of a window in row-major order receives its gradient)."""
    rng = _rng(4)
    name = "maxpool2d_backward"
    cases = _cases(rng, n_random=10)
    cases.append({"N": 2, "C": 2, "H": 4, "W": 6, "size": 2, "stride": 2, "constant": True})
    cases.append({"N": 1, "C": 2, "H": 5, "W": 5, "size": 3, "stride": 1, "constant": True})
    for index, case in enumerate(cases):
        X = np.full((case["N"], case["C"], case["H"], case["W"]), 1.5) if case.get("constant") \
            else _draw(rng, case, index)
        size, stride = case["size"], case["stride"]
        dout = rng.standard_normal(_out_shape(case))
        expected = _max_grad(X, dout, size, stride)
        args = [("dout", dout), ("X", X)]
        kwargs = {"size": size, "stride": stride}
        text = call_text(name, args, kwargs)
        got = call(fn, name, args, kwargs, forbid=True, explain=_explain_empty)
        tie_note = " (this input has tied maxima)" if index % 3 == 2 or case.get("constant") else ""
        cands = [
            ("Every tied maximum of a window received the gradient: with ties, only the FIRST maximum in "
             "row-major order gets it, as in PyTorch (np.argmax on the window flattened row by row), not "
             "a mask window == window.max()." + tie_note,
             lambda: _route(X, dout, size, stride, tie="all")),
            ("With tied maxima you sent the gradient to the LAST maximum of the window: PyTorch and this "
             "exercise give it to the FIRST one in row-major order (np.argmax returns it)." + tie_note,
             lambda: _route(X, dout, size, stride, tie="last")),
            ("You split the gradient evenly among tied maxima: the FIRST maximum in row-major order gets "
             "all of it, as in PyTorch." + tie_note,
             lambda: _route(X, dout, size, stride, tie="split")),
            ("Every window's gradient went to the maximum of the WHOLE channel: take the argmax inside each "
             "window, X[n, c, i*S:i*S+size, j*S:j*S+size], not over X[n, c].",
             lambda: _channel_argmax(X, dout)),
            ("The gradient must be dout[n, c, i, j], not 1: max pooling passes the upstream gradient on "
             "unchanged to the maximum.", lambda: _route(X, dout, size, stride, ones=True)),
            ("The row and the column of the maximum are swapped: for a window flattened row by row, "
             "position k is at row k // size and column k % size.",
             lambda: _route(X, dout, size, stride, swap=True)),
        ]
        if stride < size:
            cands += [
                ("Where windows overlap, an input that is the maximum of several windows receives the SUM of "
                 "their gradients: accumulate with += at the maximum, never assign with = (neither at the "
                 "maximum nor over the whole window, which erases what earlier windows put there).",
                 lambda: _route(X, dout, size, stride, accumulate=False)),
                ("You assigned each window's gradient to the whole window (dX[..., window] = ...): where windows "
                 "overlap this erases what earlier windows put there. Accumulate with += at the maximum only, "
                 "never assign (=) to the whole window.",
                 lambda: _route(X, dout, size, stride, assign_window=True)),
            ]
        if stride != size:
            cands.append((f"Your windows start at multiples of the window size; they start at multiples of the "
                          f"stride S={stride}: row i*S, column j*S.",
                          lambda: _route(X, dout, size, stride, start=lambda i: i * size)))
        if stride != 1:
            cands.append((f"You ignored the stride: window (i, j) starts at input row i*S, column j*S (S={stride}).",
                          lambda: _route(X, dout, size, stride, start=lambda i: i)))
        N, C, Ho, Wo = dout.shape
        hints = [((N, C, Ho, Wo), "That is dout's shape: dX has the shape of X."),
                 ((N, C, Ho * size, Wo * size), "dX must have X's shape (N, C, H, W), not H' * size by W' * size.")]
        check_array(got, expected, what="dX", text=text, candidates=cands,
                    shape_hints=[(s, m) for s, m in hints if s != expected.shape],
                    diagnose=_overlap_diagnosis(expected, X.shape, size, stride))
    _dout_shape_errors(fn, name, "X", rng)


def check_avgpool2d_backward(fn):
    """``avgpool2d_backward(dout, X_shape, size=2, stride=2)`` against torch autograd of ``avg_pool2d``."""
    rng = _rng(5)
    name = "avgpool2d_backward"
    for case in _cases(rng, n_random=10):
        X_shape = (case["N"], case["C"], case["H"], case["W"])
        size, stride = case["size"], case["stride"]
        dout = rng.standard_normal(_out_shape(case))
        expected = _avg_grad(X_shape, dout, size, stride)
        args = [("dout", dout), ("X_shape", X_shape)]
        kwargs = {"size": size, "stride": stride}
        text = call_text(name, args, kwargs)
        got = call(fn, name, args, kwargs, forbid=True)
        cands = []
        if size > 1:
            cands += [
                (f"The gradient was not divided by the window's size**2 = {size * size}: each input of a window "
                 f"enters its mean with weight 1 / size**2, so it receives dout / size**2.",
                 lambda: expected * size * size),
                (f"You divided by size = {size}; a window has size**2 = {size * size} inputs: divide by size**2.",
                 lambda: expected * size),
            ]
        if stride < size:
            cands.append(("Where windows overlap, an input receives the SUM of the shares of every window that "
                          "contains it: accumulate with +=, do not assign with =.",
                          lambda: _spread(X_shape, dout, size, stride, scale=1 / size ** 2, accumulate=False)))
        if stride != size:
            cands.append((f"Your windows start at multiples of the window size; they start at multiples of the "
                          f"stride S={stride}: row i*S, column j*S.",
                          lambda: _spread(X_shape, dout, size, stride, scale=1 / size ** 2,
                                          start=lambda i: i * size)))
        if stride != 1:
            cands.append((f"You ignored the stride: window (i, j) starts at input row i*S, column j*S (S={stride}).",
                          lambda: _spread(X_shape, dout, size, stride, scale=1 / size ** 2, start=lambda i: i)))
        N, C, Ho, Wo = dout.shape
        hints = [((N, C, Ho, Wo), "That is dout's shape: dX has the shape X_shape."),
                 ((N, C, Ho * size, Wo * size), "dX must have the shape X_shape = (N, C, H, W), not H' * size by W' * size.")]
        check_array(got, expected, what="dX", text=text, candidates=cands,
                    shape_hints=[(s, m) for s, m in hints if s != expected.shape],
                    diagnose=_overlap_diagnosis(expected, X_shape, size, stride))
    _dout_shape_errors(fn, name, "X_shape", rng)


# --------------------------------------------------------------------------------------------
# Receptive field

def brute_force_receptive_field(layers) -> int:
    """The receptive field measured, not computed: the span of the support of the gradient of one
    output unit of a stack of 1-D convolutions with all-ones kernels (square windows act on rows and columns
    alike, so the 2-D receptive field is this many pixels on each side)."""
    torch = _torch()
    F = torch.nn.functional
    length = math.prod(s for _, s in layers) * (sum(k for k, _ in layers) + 1) + 1
    x = torch.zeros(1, 1, length, dtype=torch.float64, requires_grad=True)
    y = x
    for k, s in layers:
        y = F.conv1d(y, torch.ones(1, 1, k, dtype=torch.float64), stride=s)
    y[0, 0, 0].backward()
    support = torch.nonzero(x.grad[0, 0]).flatten()
    # The span from the first to the last input that reaches the unit. (When a stride exceeds its
    # kernel, some inputs inside the span are skipped; the receptive field is still the span.)
    return int(support[-1] - support[0]) + 1


def _rf_hints(layers, expected):
    ks = [k for k, _ in layers]
    ss = [s for _, s in layers]
    before = [math.prod(ss[:l]) for l in range(len(layers))]   # product of the strides BEFORE layer l
    upto = [math.prod(ss[:l + 1]) for l in range(len(layers))]  # ... including layer l's own stride
    hints = {
        1 + sum(k - 1 for k in ks):
            "You added up the kernels without the strides: after a layer of stride s, its neighbouring units "
            "are s pixels apart, so the next kernel spans (k - 1) * (product of the earlier strides) more pixels.",
        sum(ks): "Adding up the kernels ignores both the overlap of neighbouring windows (k - 1, not k) and the "
                 "strides: r = 1 + sum of (k_l - 1) * (product of the strides before layer l).",
        1 + sum((k - 1) * u for k, u in zip(ks, upto)):
            "You multiplied each kernel by a product that includes the layer's OWN stride: a layer's stride "
            "spreads the units of the NEXT layer, so use the product of the strides of the layers before it.",
        sum((k - 1) * b for k, b in zip(ks, before)): "You forgot the '+ 1': with no layer a unit sees 1 pixel.",
        1 + sum(k * b for k, b in zip(ks, before)):
            "Each layer adds (k - 1) * jump pixels, not k * jump: neighbouring windows share k - 1 positions.",
        math.prod(ks): "Multiplying the kernels overcounts: each layer ADDS (k_l - 1) * (product of earlier strides).",
    }
    rev = list(reversed(layers))
    hints.setdefault(1 + sum((k - 1) * math.prod(s for _, s in rev[:l]) for l, (k, _) in enumerate(rev)),
                     "You went through the layers from the last to the first: the list starts with the layer "
                     "next to the input, and a layer's jump is the product of the strides of the layers BEFORE it.")
    hints.pop(expected, None)
    return hints


def check_receptive_field(fn):
    """``receptive_field(layers)`` against the gradient support of a stack of convolutions."""
    rng = _rng(6)
    alexnet = [(11, 4), (3, 2), (5, 1), (3, 2), (3, 1), (3, 1), (3, 1), (3, 2)]
    cases = [[], [(3, 1)], [(5, 1)], [(3, 1), (3, 1)], [(2, 2), (3, 1)], [(3, 1), (2, 2)], [(1, 1)],
             [(1, 2), (1, 2), (3, 1)], [(7, 2), (3, 2), (3, 1)], LENET5, LENET5[:3], VGG16, VGG16[:-1],
             VGG16[:7], alexnet, [(2, 2)] * 5, [(3, 3), (3, 3), (3, 3)]]
    for _ in range(10):
        n = int(rng.integers(1, 7))
        cases.append([(int(rng.integers(1, 8)), int(rng.integers(1, 4))) for _ in range(n)])
    for layers in cases:
        expected = brute_force_receptive_field(layers)
        args = [("layers", layers)]
        text = call_text("receptive_field", args)
        if len(text) > 140:
            text = f"receptive_field(layers={layers!r})"
        result = call(fn, "receptive_field", args)
        hint = ""
        if isinstance(result, numbers.Integral) and not isinstance(result, bool):
            hint = _rf_hints(layers, expected).get(int(result), "")
        check_int(result, expected, text, hint=hint)
    result = call(fn, "receptive_field", [("layers", [[3, 1], [2, 2], [3, 1]])])
    check_int(result, 8, "receptive_field([[3, 1], [2, 2], [3, 1]]) (pairs given as lists)")
    for layers, why in [([(0, 1)], "a kernel of 0 is not a positive int"),
                        ([(3, 1), (3, 0)], "a stride of 0 is not a positive int"),
                        ([(-3, 1)], "a kernel of -3 is not a positive int"),
                        ([(3, 1), (2, -2)], "a stride of -2 is not a positive int"),
                        ([(2.5, 1)], "a kernel of 2.5 is not an int")]:
        expect_error(fn, "receptive_field", [("layers", layers)], error=ValueError, why=why)
