"""Hidden checks of ``ex06-conv`` (the convolution layer in NumPy).

One ``check_<function>(fn)`` per function of the exercise's contract. Each draws seeded random
shapes, strides and paddings, compares the student's function with an independent oracle
(``torch.nn.functional.conv2d``, ``F.pad``, torch autograd, torch's own layer parameter counts,
or a brute-force count) and raises ``AssertionError`` with a message that says what was given,
what was expected, what came back and, where the mistake is a known one, its likely cause.
"""

from __future__ import annotations

import itertools
import math
import numbers

import numpy as np

from ._common import (
    attempt,
    call,
    call_text,
    best_time,
    check_array,
    check_int,
    close,
    describe,
    expect_error,
    fail,
)

SEED = 606

#: The lecture's example: a batch of 64 images 32x32x3, 6 filters 5x5x3.
LECTURE_SHAPE = {"N": 64, "C": 3, "H": 32, "W": 32, "F": 6, "HH": 5, "WW": 5}

#: Best-of-3 wall time allowed to ``conv2d_forward`` on the lecture's example. A vectorised
#: version takes ~10 ms, torch ~4 ms, four nested Python loops ~2 s: only loops miss it.
SPEED_BOUND_S = 0.5


def _torch():
    import torch

    return torch


def _t(array):
    return _torch().from_numpy(np.ascontiguousarray(array))


def _rng(salt: int) -> np.random.Generator:
    return np.random.default_rng([SEED, salt])


# --------------------------------------------------------------------------------------------
# Counting parameters

def _hint(hints: dict, result) -> str:
    if isinstance(result, bool) or not isinstance(result, numbers.Integral):
        return ""
    return hints.get(int(result), "")


def _torch_num_params(module) -> int:
    return int(sum(p.numel() for p in module.parameters()))


def check_fc_num_params(fn):
    """``fc_num_params(in_shape, out_features, bias=True)`` against ``torch.nn.Linear``."""
    nn = _torch().nn
    rng = _rng(1)
    cases = [((3, 32, 32), 10, True), ((3, 32, 32), 10, False), ((3072,), 100, True),
             ((1, 28, 28), 120, True), ((16, 5, 5), 120, False), ((7,), 1, True), ((2, 3, 4, 5), 6, True)]
    for _ in range(6):
        shape = tuple(int(d) for d in rng.integers(1, 40, size=rng.integers(1, 4)))
        cases.append((shape, int(rng.integers(1, 200)), bool(rng.integers(0, 2))))
    for in_shape, out_features, bias in cases:
        n_in = math.prod(in_shape)
        expected = _torch_num_params(nn.Linear(n_in, out_features, bias=bias, device="meta"))
        args = [("in_shape", in_shape), ("out_features", out_features)]
        result = call(fn, "fc_num_params", args, {"bias": bias})
        text = call_text("fc_num_params", args, {"bias": bias})
        hints = {
            n_in * out_features: "You forgot the biases: with bias=True each output neuron has one.",
            n_in * out_features + out_features: "bias=False means no bias terms: do not count them.",
            n_in * out_features + n_in: "There is one bias per OUTPUT neuron, not per input.",
            sum(in_shape) * out_features + bias * out_features:
                f"Multiply the dimensions of in_shape to flatten it ({' * '.join(map(str, in_shape))} = {n_in}), do not add them.",
            in_shape[-1] * out_features + bias * out_features:
                f"Flatten the whole in_shape ({n_in} inputs), not only its last axis.",
        }
        hints.pop(expected, None)
        check_int(result, expected, text, hint=_hint(hints, result))


def check_conv_num_params(fn):
    """``conv_num_params(in_channels, out_channels, kernel_size, bias=True)`` against ``torch.nn.Conv2d``."""
    nn = _torch().nn
    rng = _rng(2)
    cases = [(3, 6, 5, True), (3, 6, 5, False), (1, 6, (5, 5), True), (6, 16, 5, True),
             (3, 64, (3, 3), True), (3, 4, (3, 5), True), (5, 2, (1, 7), False), (1, 1, 1, True),
             (96, 256, (5, 5), True)]
    for _ in range(6):
        k = (int(rng.integers(1, 8)), int(rng.integers(1, 8)))
        cases.append((int(rng.integers(1, 64)), int(rng.integers(1, 64)), k if rng.integers(0, 2) else k[0],
                      bool(rng.integers(0, 2))))
    for c_in, c_out, kernel_size, bias in cases:
        expected = _torch_num_params(nn.Conv2d(c_in, c_out, kernel_size, bias=bias, device="meta"))
        hh, ww = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
        args = [("in_channels", c_in), ("out_channels", c_out), ("kernel_size", kernel_size)]
        result = call(fn, "conv_num_params", args, {"bias": bias})
        text = call_text("conv_num_params", args, {"bias": bias})
        weights = c_out * c_in * hh * ww
        hints = {
            weights: "You forgot the biases: each filter (output channel) has one bias.",
            weights + c_out: "bias=False means no bias terms: do not count them.",
            weights + c_in: "There is one bias per filter (out_channels), not per input channel.",
            c_out * hh * ww + bias * c_out:
                f"Each filter spans all {c_in} input channels: it has in_channels * HH * WW = {c_in * hh * ww} weights.",
            c_out * (c_in + hh * ww) + bias * c_out: "Multiply in_channels by HH * WW, do not add them.",
            c_out * c_in * hh * hh + bias * c_out: "A (HH, WW) kernel has HH * WW weights per channel, not HH * HH.",
            c_out * c_in * ww * ww + bias * c_out: "A (HH, WW) kernel has HH * WW weights per channel, not WW * WW.",
        }
        hints.pop(expected, None)
        check_int(result, expected, text, hint=_hint(hints, result))


# --------------------------------------------------------------------------------------------
# Output size

def _positions(W, F, P, S):
    """Brute force: the filter's start positions on the padded input, and whether the last one
    ends exactly at the border (the filter fits evenly)."""
    starts = list(range(0, W + 2 * P - F + 1, S))
    return len(starts), bool(starts) and starts[-1] + F == W + 2 * P


def check_conv_output_size(fn):
    """``conv_output_size(W, F, P=0, S=1)``: exact ints where the filter fits, ValueError elsewhere."""
    rng = _rng(3)
    lecture = [(32, 5, 0, 1), (4, 3, 0, 1), (5, 3, 1, 2), (5, 3, 1, 1), (5, 3, 2, 1), (227, 11, 0, 4),
               (224, 3, 1, 1), (28, 5, 2, 1), (1, 1, 0, 1), (3, 5, 1, 1), (7, 7, 0, 3)]
    valid, uneven = list(lecture), []
    while len(valid) < 60 or len(uneven) < 30:
        W, P, S = int(rng.integers(1, 65)), int(rng.integers(0, 5)), int(rng.integers(1, 5))
        F = int(rng.integers(1, W + 2 * P + 1))
        (valid if _positions(W, F, P, S)[1] else uneven).append((W, F, P, S))
    for W, F, P, S in valid:
        expected, fits = _positions(W, F, P, S)
        assert fits
        args = [("W", W), ("F", F), ("P", P), ("S", S)]
        result = call(fn, "conv_output_size", args)
        hint = ""
        if result == (W - F + P) // S + 1 and P:
            hint = "The padding P is added on BOTH sides: the padded width is W + 2P."
        elif result == (W - F + 2 * P) // S:
            hint = "You forgot the '+ 1' (the first position counts too)."
        check_int(result, expected, call_text("conv_output_size", args), hint=hint)
    for W, F, P, S in uneven[:30]:
        args = [("W", W), ("F", F), ("P", P), ("S", S)]
        text = call_text("conv_output_size", args)
        why = (f"the filter does not fit evenly: (W - F + 2P) / S = ({W} - {F} + {2 * P}) / {S} "
               f"= {(W - F + 2 * P) / S:g} is not an integer")
        outcome = attempt(fn, "conv_output_size", args)
        err, result = outcome.error, outcome.result
        if isinstance(err, ValueError):
            continue
        if err is not None:
            fail(f"{text} should raise ValueError because {why}; it raised {type(err).__name__}: {err}.")
        if result == (W - F + 2 * P) // S + 1:
            fail(f"{text} returned {result!r}; it should raise ValueError because {why}. Floor division "
                 "(//) silently drops the last input rows: check (W - F + 2P) % S == 0 and raise ValueError "
                 "when it is not.")
        fail(f"{text} returned {result!r}; it should raise ValueError because {why}.")
    out_of_range = [
        ((0, 3, 0, 1), "W must be a positive int"),
        ((-5, 3, 0, 1), "W must be a positive int"),
        ((32, 0, 0, 1), "F must be a positive int"),
        ((32, 5, -1, 1), "P must be >= 0"),
        ((32, 5, 0, 0), "S must be a positive int (and S = 0 would divide by zero)"),
        ((32, 5, 0, -1), "S must be a positive int"),
        ((3, 5, 0, 1), "the filter (F=5) is larger than the input (W + 2P = 3)"),
        ((3, 6, 1, 1), "the filter (F=6) is larger than the padded input (W + 2P = 5)"),
        ((32.5, 5, 0, 1), "W must be an int"),
        ((32, 5, 0, 1.5), "S must be an int"),
        ((32, 5, 0.5, 1), "P must be an int"),
    ]
    for (W, F, P, S), why in out_of_range:
        expect_error(fn, "conv_output_size", [("W", W), ("F", F), ("P", P), ("S", S)], error=ValueError, why=why)


# --------------------------------------------------------------------------------------------
# Padding and one step

def check_zero_pad(fn):
    """``zero_pad(X, pad)`` against ``torch.nn.functional.pad``."""
    F = _torch().nn.functional
    rng = _rng(4)
    shapes = [((2, 3, 4, 5), 2), ((1, 1, 3, 3), 1), ((2, 2, 5, 5), 0), ((3, 1, 1, 6), 3), ((1, 4, 6, 2), 1)]
    for _ in range(4):
        shapes.append((tuple(int(d) for d in rng.integers(1, 7, size=4)), int(rng.integers(0, 4))))
    for shape, p in shapes:
        X = rng.standard_normal(shape)
        expected = F.pad(_t(X), (p, p, p, p)).numpy()
        args = [("X", X), ("pad", p)]
        text = call_text("zero_pad", args)
        got = call(fn, "zero_pad", args, forbid=True)
        N, C, H, W = shape
        hints = [
            ((N + 2 * p, C + 2 * p, H + 2 * p, W + 2 * p),
             "You padded all four axes: pad only H and W (axes 2 and 3 of NCHW), e.g. "
             "np.pad(X, ((0, 0), (0, 0), (pad, pad), (pad, pad)))."),
            ((N, C, H + p, W + p), "You padded one side only: pad rows on top AND bottom, columns left AND right."),
            ((N, C, H + 2 * p, W), "You padded H but not W."),
            ((N, C, H, W + 2 * p), "You padded W but not H."),
            ((N + 2 * p, C + 2 * p, H, W), "You padded the batch and channel axes instead of H and W."),
        ]
        candidates = [
            ("The border must be zeros (mode='constant'); you copied edge values.",
             lambda: np.pad(X, ((0, 0), (0, 0), (p, p), (p, p)), mode="edge")),
            ("All the zeros are on one side: put `pad` zeros on EACH side.",
             lambda: np.pad(X, ((0, 0), (0, 0), (0, 2 * p), (0, 2 * p)))),
            ("All the zeros are on one side: put `pad` zeros on EACH side.",
             lambda: np.pad(X, ((0, 0), (0, 0), (2 * p, 0), (2 * p, 0)))),
        ]
        check_array(got, expected, what="the padded array", text=text, candidates=candidates if p else (),
                    shape_hints=hints if p else ())


def check_conv_single_step(fn):
    """``conv_single_step(x_slice, w, b)``: one dot product plus the bias, as a scalar."""
    torch = _torch()
    rng = _rng(5)
    shapes = [(3, 5, 5), (1, 1, 1), (2, 3, 4), (4, 2, 2), (1, 3, 1)]
    for i in range(3):
        shapes.append(tuple(int(d) for d in rng.integers(1, 6, size=3)))
    for i, shape in enumerate(shapes):
        x = rng.standard_normal(shape)
        w = rng.standard_normal(shape)
        b = float(rng.standard_normal()) if i % 2 == 0 else np.float64(rng.standard_normal())
        expected = float(torch.sum(_t(x) * _t(w)).item()) + float(b)
        args = [("x_slice", x), ("w", w), ("b", b)]
        text = call_text("conv_single_step", args)
        got = call(fn, "conv_single_step", args, forbid=True)
        if isinstance(got, np.ndarray) and got.ndim == 0:
            got = got[()]
        if isinstance(got, bool) or not isinstance(got, (float, int, np.floating, np.integer)):
            fail(f"{text} returned {describe(got)}; expected one number (a float), "
                 "the sum over ALL entries of x_slice * w, plus b.")
        got = float(got)
        if close(got, np.float64(expected)):
            continue
        dot = float(np.sum(x * w))
        C, HH, WW = shape
        hints = [
            (dot, "The bias b is missing: add it once, after the sum."),
            (dot + b * x.size, "You added b to every product (np.sum(x * w + b)): add it once, after the sum."),
            (dot + b * C, "You added b once per channel: add it once, after the sum over all channels."),
            (float(np.sum(x * w[:, ::-1, ::-1])) + b,
             "You flipped the filter: a CNN layer computes cross-correlation, the plain elementwise product."),
            (float(np.mean(x * w)) + b, "Use the sum of the products, not their mean."),
            (dot - b, "The bias is added, not subtracted."),
        ]
        for value, hint in hints:
            if close(got, np.float64(value)) and not close(np.float64(value), np.float64(expected)):
                fail(f"{text} returned {got:.6g}; expected {expected:.6g}. {hint}")
        fail(f"{text} returned {got:.6g}; expected {expected:.6g} = sum(x_slice * w) + b.")


# --------------------------------------------------------------------------------------------
# Forward pass

def _forward_cases(rng: np.random.Generator, n_random: int, max_side: int) -> list[dict]:
    """Fixed cases covering the contract's special shapes, then seeded random ones."""
    fixed = [
        # N, C, H, W, F, HH, WW, S, P
        (2, 3, 32, 32, 6, 5, 5, 1, 0),   # the lecture: 6 filters 5x5x3 -> 6x28x28
        (1, 1, 4, 4, 1, 3, 3, 1, 0),     # the four animations of the lecture
        (1, 1, 5, 5, 1, 3, 3, 2, 1),
        (1, 1, 5, 5, 1, 3, 3, 1, 1),
        (1, 1, 5, 5, 1, 3, 3, 1, 2),
        (2, 3, 7, 9, 4, 3, 5, 2, 1),     # non-square input, rectangular kernel, stride and pad, F == H' == W'
        (3, 2, 8, 6, 5, 2, 2, 2, 0),     # non-square, stride 2 without padding
        (2, 4, 6, 6, 3, 3, 3, 3, 0),     # stride 3
        (1, 2, 5, 7, 2, 5, 7, 1, 0),     # the kernel covers the whole input: 1x1 output
        (2, 3, 4, 5, 3, 1, 1, 1, 0),     # 1x1 kernel
        (1, 3, 6, 4, 2, 4, 2, 2, 2),     # stride 2 with pad 2
    ]
    cases = [dict(zip(("N", "C", "H", "W", "F", "HH", "WW", "S", "P"), c)) for c in fixed]
    while len(cases) < len(fixed) + n_random:
        S, P = int(rng.integers(1, 4)), int(rng.integers(0, 3))
        HH, WW = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        Ho, Wo = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        H, W = (Ho - 1) * S + HH - 2 * P, (Wo - 1) * S + WW - 2 * P
        if H < 1 or W < 1 or H > max_side or W > max_side:
            continue
        cases.append({"N": int(rng.integers(1, 4)), "C": int(rng.integers(1, 4)), "H": H, "W": W,
                      "F": int(rng.integers(1, 5)), "HH": HH, "WW": WW, "S": S, "P": P})
    return cases


def _draw(rng, case):
    X = rng.standard_normal((case["N"], case["C"], case["H"], case["W"]))
    W = rng.standard_normal((case["F"], case["C"], case["HH"], case["WW"]))
    b = rng.standard_normal(case["F"])
    return X, W, b


def _conv(X, W, b=None, S=1, P=0):
    F = _torch().nn.functional
    return F.conv2d(_t(X), _t(W), None if b is None else _t(b), stride=S, padding=P).numpy()


def _forward_candidates(X, W, b, S, P, expected):
    """Outputs that the common mistakes produce, with what to tell the student."""
    N, C, H, Wd = X.shape
    F, _, HH, WW = W.shape
    Ho, Wo = expected.shape[2:]
    nobias = lambda: _conv(X, W, None, S, P)  # noqa: E731
    cands = [
        ("Your output equals the oracle with the kernel flipped: you computed a true convolution. CNN layers "
         "compute cross-correlation: out[n, f, i, j] = sum(X_pad[n, :, i*S:i*S+HH, j*S:j*S+WW] * W[f]) + b[f], "
         "without flipping W.", lambda: _conv(X, W[:, :, ::-1, ::-1].copy(), b, S, P)),
        ("The bias is missing: add b[f] to every output value of filter f.", nobias),
    ]
    for k, where in ((C, f"once per input channel (C={C} times)"), (HH * WW, f"once per kernel position ({HH * WW} times)"),
                     (C * HH * WW, f"to every product ({C * HH * WW} times)")):
        if k > 1:
            cands.append((f"The bias was added {where}: add b[f] once, after the sum over channels and kernel positions.",
                          lambda k=k: nobias() + k * b[None, :, None, None]))
    for axis, size in ((3, Wo), (2, Ho), (0, N)):
        if size == F and axis != 1:
            shape = [1, 1, 1, 1]
            shape[axis] = F
            cands.append((f"The bias is broadcast along axis {axis} instead of the filter axis 1: use "
                          "b[None, :, None, None] (or b.reshape(1, -1, 1, 1)).",
                          lambda shape=tuple(shape): nobias() + b.reshape(shape)))
    if HH == WW:
        cands.append(("Your output equals the oracle with the kernel transposed: W[f, c, a, b] multiplies "
                      "X_pad[n, c, i*S + a, j*S + b] (a runs along the height).",
                      lambda: _conv(X, W.transpose(0, 1, 3, 2).copy(), b, S, P)))
    if C > 1:
        cands.append(("Only the first input channel is used: the dot product runs over all C channels.",
                      lambda: _conv(X[:, :1].copy(), W[:, :1].copy(), b, S, P)))
    if P:
        cands.append(("The padding is all on one side: put P zeros on EACH side (top and bottom, left and right).",
                      lambda: _conv(np.pad(X, ((0, 0), (0, 0), (0, 2 * P), (0, 2 * P))), W, b, S, 0)))
        cands.append(("The padding is all on one side: put P zeros on EACH side (top and bottom, left and right).",
                      lambda: _conv(np.pad(X, ((0, 0), (0, 0), (2 * P, 0), (2 * P, 0))), W, b, S, 0)))
    zeroed = expected.copy()
    zeroed[:, :, -1, :] = 0.0
    zeroed[:, :, :, -1] = 0.0
    cands.append(("The last output row and column are zero: your loops stop one window early "
                  f"(the last window starts at row (H' - 1) * S = {(Ho - 1) * S}; loop over i in range(H'), "
                  "or over start rows in range(0, H + 2P - HH + 1, S)).", lambda: zeroed))
    full = None
    for step in range(1, S + 3):
        for offset in range(0, S + 1):
            if (step, offset) == (S, 0):
                continue

            def sampled(step=step, offset=offset):
                nonlocal full
                if full is None:
                    full = _conv(X, W, b, 1, P)
                return full[:, :, offset::step, offset::step][:, :, :Ho, :Wo]

            if step == 1 and offset == 0:
                explanation = (f"You ignored the stride: output (i, j) must read the window starting at input row "
                               f"i*S and column j*S (S={S}), not at (i, j).")
            else:
                explanation = (f"Your windows start at input rows {offset}, {offset + step}, {offset + 2 * step}, ...; "
                               f"with stride S={S} they start at 0, {S}, {2 * S}, ...: row i*S, column j*S.")
            cands.append((explanation, sampled))
    return cands


def _forward_shape_hints(case, expected_shape):
    N, F, Ho, Wo = expected_shape
    S, P, HH, WW, H, W = (case[k] for k in ("S", "P", "HH", "WW", "H", "W"))
    hints = [((N, Ho, Wo, F), "That is NHWC: return NCHW, shape (N, F, H', W') (transpose the axes back).")]
    if S > 1:
        hints.append(((N, F, H + 2 * P - HH + 1, W + 2 * P - WW + 1),
                      f"That is the stride-1 output: you ignored the stride S={S}."))
    if P:
        hints.append(((N, F, (H - HH) // S + 1, (W - WW) // S + 1),
                      f"That is the output without padding: you ignored pad={P} (zero_pad X first)."))
    hints += [((F, N, Ho, Wo), "The batch and filter axes are swapped: the output is (N, F, H', W')."),
              ((N, F, Ho + 1, Wo + 1), "One output position too many: H' = (H - HH + 2P) / S + 1."),
              ((N, F, Ho - 1, Wo - 1), "One output position too few: H' = (H - HH + 2P) / S + 1.")]
    return hints


def _check_forward_values(fn, name, cases, rng):
    for case in cases:
        X, W, b = _draw(rng, case)
        S, P = case["S"], case["P"]
        expected = _conv(X, W, b, S, P)
        args = [("X", X), ("W", W), ("b", b)]
        kwargs = {"stride": S, "pad": P}
        F = W.shape[0]

        def explain(err, F=F):
            if "could not be broadcast" in str(err) and f"({F},)" in str(err):
                return ("Likely the bias: b has shape (F,) and must be added along the filter axis, "
                        "b[None, :, None, None], not along the last axis.")
            return None

        got = call(fn, name, args, kwargs, forbid=True, explain=explain)
        check_array(got, expected, what="the output", text=call_text(name, args, kwargs),
                    candidates=_forward_candidates(X, W, b, S, P, expected),
                    shape_hints=_forward_shape_hints(case, expected.shape))


def _check_forward_errors(fn, name, rng):
    def arrays(xs, ws, bs):
        return [("X", rng.standard_normal(xs)), ("W", rng.standard_normal(ws)), ("b", rng.standard_normal(bs))]

    bad = [
        (arrays((2, 3, 6, 6), (4, 3, 3, 3), (4,)), {"stride": 2, "pad": 0},
         "the filter does not fit evenly: (6 - 3 + 0) / 2 = 1.5 (use conv_output_size for H and W)"),
        (arrays((1, 2, 7, 8), (3, 2, 3, 3), (3,)), {"stride": 2, "pad": 0},
         "the filter fits the height ((7 - 3) / 2 = 2) but not the width ((8 - 3) / 2 = 2.5): check both"),
        (arrays((1, 1, 3, 3), (1, 1, 5, 5), (1,)), {"stride": 1, "pad": 0},
         "the 5x5 filter is larger than the 3x3 input"),
        (arrays((2, 3, 5, 5), (4, 2, 3, 3), (4,)), {"stride": 1, "pad": 0},
         "X has 3 channels but W has 2 (W must be (F, C, HH, WW) with X's C)"),
        (arrays((2, 3, 5, 5), (4, 1, 3, 3), (4,)), {"stride": 1, "pad": 0},
         "X has 3 channels but W has 1 (NumPy broadcasting would hide this: compare the shapes yourself)"),
        (arrays((2, 3, 5, 5), (4, 3, 3, 3), (5,)), {"stride": 1, "pad": 0},
         "b must have shape (F,) = (4,), not (5,)"),
        (arrays((2, 3, 5, 5), (4, 3, 3, 3), (4, 1)), {"stride": 1, "pad": 1},
         "b must have shape (F,) = (4,), not (4, 1)"),
    ]
    for args, kwargs, why in bad:
        expect_error(fn, name, args, kwargs, error=ValueError, why=why)


def check_conv2d_forward_naive(fn):
    """``conv2d_forward_naive(X, W, b, stride=1, pad=0)`` against ``torch.nn.functional.conv2d``."""
    rng = _rng(6)
    cases = _forward_cases(rng, n_random=4, max_side=9)
    cases[0] = dict(cases[0], N=1, H=12, W=12)  # loops are slow: the lecture's filters on one smaller image
    _check_forward_values(fn, "conv2d_forward_naive", cases, rng)
    _check_forward_errors(fn, "conv2d_forward_naive", rng)


def check_conv2d_forward(fn):
    """``conv2d_forward(X, W, b, stride=1, pad=0)``: equal to ``torch.nn.functional.conv2d`` on many
    shapes, NumPy only, and fast enough that it cannot be four nested Python loops."""
    rng = _rng(7)
    cases = _forward_cases(rng, n_random=14, max_side=14)
    _check_forward_values(fn, "conv2d_forward", cases, rng)
    _check_forward_errors(fn, "conv2d_forward", rng)
    _check_speed(fn, rng)


def _check_speed(fn, rng):
    s = LECTURE_SHAPE
    X = rng.standard_normal((s["N"], s["C"], s["H"], s["W"]))
    W = rng.standard_normal((s["F"], s["C"], s["HH"], s["WW"]))
    b = rng.standard_normal(s["F"])
    args = [("X", X), ("W", W), ("b", b)]
    seconds = best_time(lambda: call(fn, "conv2d_forward", args, mutation=False), bound=SPEED_BOUND_S)
    if seconds > SPEED_BOUND_S:
        fail(f"{call_text('conv2d_forward', args)} took {seconds:.2f} s (best of up to 3 runs); a vectorised "
             f"version takes a few milliseconds, and {SPEED_BOUND_S} s is the most allowed. Replace the Python "
             "loops over images, filters and positions by one array operation: im2col + a matrix product, or "
             "np.lib.stride_tricks.sliding_window_view + np.einsum / np.tensordot.")


# --------------------------------------------------------------------------------------------
# Backward pass

def _autograd(X, W, b, dout, S, P, *, ignore_stride=False):
    """dX, dW, db of sum(out * dout) by torch autograd; with ``ignore_stride`` the gradients of the
    mistaken layer that reads window (i, j) at input (i, j) whatever the stride."""
    torch = _torch()
    F = torch.nn.functional
    Xt, Wt, bt = (_t(a).clone().requires_grad_(True) for a in (X, W, b))
    if ignore_stride:
        Ho, Wo = dout.shape[2:]
        out = F.conv2d(F.pad(Xt, (P, P, P, P)), Wt, bt, stride=1)[:, :, :Ho, :Wo]
    else:
        out = F.conv2d(Xt, Wt, bt, stride=S, padding=P)
    out.backward(_t(dout))
    return Xt.grad.numpy(), Wt.grad.numpy(), bt.grad.numpy()


def _backward_cases(rng):
    cases = _forward_cases(rng, n_random=10, max_side=12)
    cases[0] = dict(cases[0], N=2)
    cases.append({"N": 3, "C": 2, "H": 5, "W": 5, "F": 3, "HH": 3, "WW": 3, "S": 1, "P": 0})  # N == F
    return cases


def check_conv2d_backward(fn):
    """``conv2d_backward(dout, X, W, stride=1, pad=0)`` -> ``(dX, dW, db)`` against torch autograd."""
    rng = _rng(8)
    name = "conv2d_backward"
    for case in _backward_cases(rng):
        X, W, b = _draw(rng, case)
        S, P = case["S"], case["P"]
        N, C, H, Wd = X.shape
        F, _, HH, WW = W.shape
        Ho, Wo = (H - HH + 2 * P) // S + 1, (Wd - WW + 2 * P) // S + 1
        dout = rng.standard_normal((N, F, Ho, Wo))
        dX, dW, db = _autograd(X, W, b, dout, S, P)
        args = [("dout", dout), ("X", X), ("W", W)]
        kwargs = {"stride": S, "pad": P}
        text = call_text(name, args, kwargs)
        result = call(fn, name, args, kwargs, forbid=True)
        if not isinstance(result, (tuple, list)) or len(result) != 3:
            fail(f"{text} returned {describe(result)}; expected a tuple (dX, dW, db).")
        got_dX, got_dW, got_db = result

        lazy = {}

        def flipped():
            if "flip" not in lazy:
                lazy["flip"] = _autograd(X, W[:, :, ::-1, ::-1].copy(), b, dout, S, P)
            return lazy["flip"]

        def no_stride():
            if "stride" not in lazy:
                lazy["stride"] = _autograd(X, W, b, dout, S, P, ignore_stride=True)
            return lazy["stride"]

        def transposed_dout():
            if Ho != Wo:
                raise ValueError("only for square outputs")
            return _autograd(X, W, b, dout.transpose(0, 1, 3, 2).copy(), S, P)

        stride_hint = (f"You ignored the stride in the backward pass: output (i, j) came from the window at "
                       f"input row i*S, column j*S (S={S}), so its gradient goes back there.")
        dXp_shape = (N, C, H + 2 * P, Wd + 2 * P)
        dX_hints = [(dXp_shape, f"That is the padded shape: crop the padding, dX = dX_pad[:, :, P:P+H, P:P+W] (P={P}).")]
        if P == 0:
            dX_hints.append(((N, C, 0, 0), "dX_pad[:, :, P:-P, P:-P] is EMPTY when P = 0 (-0 is 0): crop with "
                                           "dX_pad[:, :, P:P+H, P:P+W] instead."))
        dX_cands = [
            ("dX was computed with the flipped kernel: X_pad[n, c, i*S + a, j*S + b] receives "
             "dout[n, f, i, j] * W[f, c, a, b], the same W entry the forward pass used.", lambda: flipped()[0]),
            (stride_hint, lambda: no_stride()[0]),
        ]
        if S > 1:
            dX_cands = dX_cands[::-1]
        if P:
            Xpad = np.pad(X, ((0, 0), (0, 0), (P, P), (P, P)))
            padded = lambda: _autograd(Xpad, W, b, dout, S, 0)[0]  # noqa: E731  (the gradient of X_pad)
            dX_cands += [
                ("You cropped the wrong border: remove P rows at the top AND P at the bottom (dX_pad[:, :, P:P+H, P:P+W]).",
                 lambda: padded()[:, :, :H, :Wd]),
                ("You cropped the wrong border: remove P rows at the top AND P at the bottom (dX_pad[:, :, P:P+H, P:P+W]).",
                 lambda: padded()[:, :, 2 * P:, 2 * P:]),
            ]
        def overlap(got):
            """Right where one window covers an input pixel, wrong only where several overlap."""
            coverage = _autograd(X, np.ones_like(W), b, np.ones_like(dout), S, P)[0] / F
            wrong = np.abs(got - dX) > 1e-7 * (1 + np.abs(dX))
            if wrong.any() and not wrong[coverage <= 1].any() and (coverage > 1).any():
                return ("Every wrong entry is covered by several overlapping windows: their contributions to "
                        "dX_pad must be ADDED (+=), not assigned (=).")
            return None

        check_array(got_dX, dX, what="dX", text=text, candidates=dX_cands, shape_hints=dX_hints, diagnose=overlap)

        dW_hints = [((C, F, HH, WW), "dW must have the shape of W, (F, C, HH, WW): the filter and channel axes are swapped."),
                    ((N, F, C, HH, WW), "dW has a batch axis: sum the contributions of all N images.")]
        dW_cands = [
            (f"dW is the mean over the batch (divided by N={N}): the gradient of a sum is the SUM of the gradients.",
             lambda: dW / N),
            ("dW is flipped: dW[f, c, a, b] = sum over n, i, j of dout[n, f, i, j] * X_pad[n, c, i*S + a, j*S + b].",
             lambda: dW[:, :, ::-1, ::-1]),
            (stride_hint, lambda: no_stride()[1]),
            ("dW pairs dout's H' axis with the windows' W' axis and vice versa (sums over the wrong axes): "
             "dW[f, c, a, b] = sum over n, i, j of dout[n, f, i, j] * X_pad[n, c, i*S + a, j*S + b].",
             lambda: transposed_dout()[1]),
        ]
        if N > 1:
            dW_cands.append(("dW only has the first image's contribution: sum over all n.",
                             lambda: _autograd(X[:1].copy(), W, b, dout[:1].copy(), S, P)[1]))
            dW_cands.append(("dW is the product of sums over the batch, not the sum over n of products: sum "
                             "dout[n, f, i, j] * X_pad[n, c, ...] over n, i and j together.",
                             lambda: _autograd(X.sum(0, keepdims=True), W, b, dout.sum(0, keepdims=True), S, P)[1]))
        check_array(got_dW, dW, what="dW", text=text, candidates=dW_cands, shape_hints=dW_hints)

        db_hints, db_cands = [], [(f"db is a mean (divided by N*H'*W' = {N * Ho * Wo}); it is the SUM of dout over "
                                   "axes (0, 2, 3).", lambda: db / (N * Ho * Wo)),
                                  (f"db is divided by N={N}: it is the SUM of dout over axes (0, 2, 3).", lambda: db / N)]
        for r in range(0, 5):
            for axes in itertools.combinations(range(4), r):
                if axes == (0, 2, 3):
                    continue
                summed = dout.sum(axis=axes) if axes else dout
                message = (f"You summed dout over axes {axes}; db[f] is the sum of dout[:, f, :, :], "
                           "i.e. over axes (0, 2, 3) (the batch and both spatial axes).")
                if summed.shape == (F,):
                    db_cands.append((message, lambda summed=summed: summed))
                db_hints.append((summed.shape, message))
        check_array(got_db, db, what="db", text=text, candidates=db_cands, shape_hints=db_hints)
