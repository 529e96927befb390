"""Hidden checks of ``ex02-losses`` (loss functions from probabilistic models, in NumPy).

One ``check_<function>(fn)`` per autograded function of the exercise's contract. Each draws seeded
random inputs (the same sequence of calls on every run), compares the student's function with
an independent oracle (float64 torch: ``torch.distributions.Normal.log_prob``,
``F.mse_loss``, ``F.binary_cross_entropy_with_logits``, ``torch.softmax``,
``torch.log_softmax``, ``F.cross_entropy``, ``torch.linalg.vector_norm``) and raises
``AssertionError`` with a message that says what was given, what was expected, what came back
and, where the mistake is a known one, its likely cause.

Every call runs under :func:`~cnnbook.checks.ex01_mlp.strict_floats`: an overflow, a division by
zero, an invalid operation or any warning is an error, so logits of 1e4 must be handled by a
stable formula, not by luck. The written derivation (``map_lambda``) is graded by a person.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ._common import call, call_text, describe, fail
from .ex01_mlp import check_values, strict_floats

SEED = 202

#: Losses are compared with an absolute tolerance of ATOL plus RTOL times their size: a correct
#: float64 loss of 1e4-sized logits may differ from the oracle by ~1e-12 through rounding alone.
ATOL = 1e-9
RTOL = 1e-7


def _torch():
    import torch

    return torch


def _t(array):
    return _torch().from_numpy(np.ascontiguousarray(array))


def _rng(salt: int) -> np.random.Generator:
    return np.random.default_rng([SEED, salt])


def _strict_call(fn, name, args, kwargs=None, *, explain=None):
    with strict_floats():
        return call(fn, name, args, kwargs, forbid=True, explain=explain)


def _as_number(got, text: str, what: str) -> float:
    """The student's scalar result as a float, or a failure that says what came back."""
    if isinstance(got, np.ndarray) and got.ndim == 0:
        got = got[()]
    if isinstance(got, np.ndarray):
        fail(f"{text} returned {describe(got)}; expected one number, {what}. Average (or sum) over ALL the "
             "samples, e.g. with .mean() without an axis, so that a single float comes back.")
    if (type(got).__module__ or "").split(".")[0] == "torch":
        fail(f"{text} returned a torch tensor; return a float (this exercise is NumPy only).")
    if isinstance(got, bool) or not isinstance(got, numbers.Real):
        fail(f"{text} returned {describe(got)} ({type(got).__name__}); expected one number (a float), {what}.")
    return float(got)


def _near(a: float, b: float) -> bool:
    return math.isfinite(a) and math.isfinite(b) and abs(a - b) <= ATOL + RTOL * abs(b)


def check_number(got, expected: float, *, text: str, what: str, hints=(), otherwise: str = "") -> None:
    """A scalar result: a finite float within ATOL + RTOL * |expected| of the oracle.

    ``hints`` are ``(value, explanation)`` pairs: what a known mistake returns, and what to tell
    the student when the answer matches it. ``otherwise`` is said when none matches.
    """
    value = _as_number(got, text, what)
    if not math.isfinite(value):
        fail(f"{text} returned {value}; expected {expected:.10g}. An inf or nan loss means that an exp "
             "overflowed or that log(0) was taken: use the stable formulas (max subtraction, log-sum-exp, "
             "log1p(exp(-|z|))).")
    if _near(value, expected):
        return
    for candidate, explanation in hints:
        try:
            with np.errstate(all="ignore"):
                candidate = float(candidate() if callable(candidate) else candidate)
        except Exception:  # a hint that does not apply to this input
            continue
        if _near(value, candidate) and not _near(candidate, expected):
            fail(f"{text} returned {value:.10g}; expected {expected:.10g}. {explanation}")
    fail(f"{text} returned {value:.10g}; expected {expected:.10g}." + (f" {otherwise}" if otherwise else ""))


def _overflow_explain(formula: str):
    def explain(err):
        message = str(err).lower()
        if "overflow" in message:
            return (f"np.exp(t) overflows to inf for t > 709.78, and the inputs here reach 1e4. {formula}")
        if "divide by zero" in message and "log" in message:
            return (f"log(0): a probability rounded to exactly 0 (exp(-1e4) is 0.0 in float64) and its log is "
                    f"-inf. Never take the log of a probability computed from large logits. {formula}")
        if "invalid" in message:
            return (f"An inf - inf, inf / inf or 0 / 0 happened: an exp overflowed or every exp in a row "
                    f"underflowed to 0. {formula}")
        return None

    return explain


# --------------------------------------------------------------------------------------------
# Regression: the Gaussian negative log-likelihood and the squared error

def check_gaussian_nll(fn):
    """``gaussian_nll(y_pred, y, sigma=1.0)``: the mean over samples of -log N(y | y_pred, sigma^2),
    constant included, against ``torch.distributions.Normal(y_pred, sigma).log_prob(y)``."""
    torch = _torch()
    rng = _rng(1)
    cases = [(5, 0.5, None), (6, 1.0, "default"), (8, 2.0, None), (4, 0.1, None), (7, 3.7, None),
             (1, 1.0, None), ((5, 1), 1.3, None)]
    for _ in range(3):
        cases.append((int(rng.integers(1, 20)), float(rng.uniform(0.05, 5.0)), None))
    for shape, sigma, default in cases:
        y_pred = rng.standard_normal(shape) * 2
        y = y_pred + rng.standard_normal(shape) * sigma
        normal = torch.distributions.Normal(_t(y_pred), torch.tensor(sigma, dtype=torch.float64))
        expected = float(-normal.log_prob(_t(y)).mean())
        args = [("y_pred", y_pred), ("y", y)]
        kwargs = {} if default else {"sigma": sigma}
        text = call_text("gaussian_nll", args, kwargs)
        got = _strict_call(fn, "gaussian_nll", args, kwargs)
        n = y.size
        sq = float(np.mean((y - y_pred) ** 2))
        const = 0.5 * math.log(2 * math.pi * sigma ** 2)
        hints = [
            (sq / (2 * sigma ** 2),
             f"The constant term is missing: -log N(y | y_pred, sigma^2) = (y - y_pred)^2 / (2 sigma^2) "
             f"+ 1/2 log(2 pi sigma^2), and 1/2 log(2 pi sigma^2) = {const:.6g} here. It does not change the "
             "minimiser, but it is part of the negative log-likelihood."),
            (0.5 * math.log(2 * math.pi * sigma) + sq / (2 * sigma),
             "You used sigma where the variance sigma^2 belongs (sigma is the standard deviation): "
             "1/2 log(2 pi sigma^2) + (y - y_pred)^2 / (2 sigma^2)."),
            (const + sq / (2 * sigma),
             "The squared error is divided by 2 sigma; it must be divided by 2 sigma^2."),
            (0.5 * math.log(2 * math.pi * sigma) + sq / (2 * sigma ** 2),
             "The constant must be 1/2 log(2 pi sigma^2), with sigma squared: you wrote log(2 pi sigma)."),
            (n * expected, f"You summed over the {n} samples: return the mean (divide by n)."),
            (math.log(2 * math.pi * sigma ** 2) + sq / (2 * sigma ** 2),
             "The factor 1/2 in front of log(2 pi sigma^2) is missing (the density has sqrt(2 pi sigma^2) "
             "in its denominator)."),
            (const + sq / sigma ** 2, "The squared error must be divided by 2 sigma^2, not sigma^2."),
            (math.log(sigma) + sq / (2 * sigma ** 2),
             "The constant is 1/2 log(2 pi sigma^2) = log(sigma) + 1/2 log(2 pi): you left out 1/2 log(2 pi) "
             "(PyTorch's F.gaussian_nll_loss leaves it out unless full=True)."),
            (-expected, "The sign is flipped: return the NEGATIVE log-likelihood, a number to minimise."),
            (const + float(np.mean(np.abs(y - y_pred))) / (2 * sigma ** 2),
             "Square the residuals y - y_pred."),
        ]
        check_number(got, expected, text=text, what="the mean negative log-likelihood", hints=hints,
                     otherwise="Per sample: 1/2 log(2 pi sigma^2) + (y - y_pred)^2 / (2 sigma^2), then the mean.")


def check_mse_loss(fn):
    """``mse_loss(y_pred, y)``: the mean of the squared errors, against ``F.mse_loss``."""
    torch = _torch()
    F = torch.nn.functional
    rng = _rng(2)
    shapes = [(5,), (1,), (12,), (4, 1), (3, 2)]
    for _ in range(3):
        shapes.append((int(rng.integers(1, 30)),))
    for shape in shapes:
        y_pred = rng.standard_normal(shape) * 3
        y = rng.standard_normal(shape) * 3
        expected = float(F.mse_loss(_t(y_pred), _t(y)))
        args = [("y_pred", y_pred), ("y", y)]
        text = call_text("mse_loss", args)
        got = _strict_call(fn, "mse_loss", args)
        r = y_pred - y
        hints = [
            (float(np.sum(r ** 2)), f"You summed over the {r.size} samples: return the mean."),
            (0.5 * expected, "The factor 1/2 is not part of the mean squared error: mean((y_pred - y)^2)."),
            (math.sqrt(expected), "That is the root of the mean squared error (RMSE): do not take the square root."),
            (float(np.mean(np.abs(r))), "That is the mean absolute error: square the residuals."),
            (float(np.mean(r)) ** 2, "You squared the mean residual: take the mean of the squared residuals."),
            (float(np.mean(r)), "Square the residuals y_pred - y before taking the mean."),
        ]
        check_number(got, expected, text=text, what="the mean squared error", hints=hints,
                     otherwise="mse_loss = mean((y_pred - y)^2).")


# --------------------------------------------------------------------------------------------
# Binary classification: Bernoulli -> logistic loss

_BCE_STABLE = ("Work with the logits directly: -log sigmoid(z) = log(1 + exp(-z)) = max(-z, 0) + "
               "log1p(exp(-|z|)), so the loss of one sample is max(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))); "
               "it only ever exponentiates -|z|.")


def check_bce_with_logits(fn):
    """``bce_with_logits(z, y)``: the mean binary cross-entropy of logits ``z`` and targets ``y``,
    against ``F.binary_cross_entropy_with_logits``, for logits up to +-1e4."""
    torch = _torch()
    F = torch.nn.functional
    rng = _rng(3)
    cases = []
    for n, scale in ((6, 1.0), (10, 4.0), (1, 2.0), (25, 8.0)):
        cases.append((rng.standard_normal(n) * scale, rng.integers(0, 2, n).astype(float), "moderate"))
    cases.append((np.array([-2.0, 0.0, 1.5, 3.0]), np.array([0.3, 0.5, 0.9, 0.0]), "soft targets"))
    # Large logits, one at a time: each has its own right answer, easy to read in a message.
    for z, y in ((1e4, 1.0), (-1e4, 1.0), (1e4, 0.0), (-1e4, 0.0), (800.0, 0.0), (-745.5, 1.0), (40.0, 0.0),
                 (-40.0, 0.0)):
        cases.append((np.array([z]), np.array([y]), "extreme"))
    cases.append((np.array([-1e4, -50.0, 0.0, 50.0, 1e4, 3.0]), np.array([1.0, 0.0, 1.0, 1.0, 0.0, 1.0]),
                  "extreme"))
    cases.append((rng.standard_normal(30) * 3000, rng.integers(0, 2, 30).astype(float), "extreme"))
    for z, y, kind in cases:
        expected = float(F.binary_cross_entropy_with_logits(_t(z), _t(y)))
        args = [("z", z), ("y", y)]
        text = call_text("bce_with_logits", args)
        if z.size <= 6:
            text += f" with z = {np.array2string(z, separator=', ')} and y = {np.array2string(y, separator=', ')}"
        got = _strict_call(fn, "bce_with_logits", args, explain=_overflow_explain(_BCE_STABLE))
        per = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
        hints = [
            (float(np.sum(per)), f"You summed over the {z.size} samples: return the mean."),
            (lambda: float(np.mean(np.maximum(-z, 0) + z * y + np.log1p(np.exp(-np.abs(z))))),
             "You computed the loss of -z: z is the logit of y = 1, p(y = 1 | x) = sigmoid(z), so large positive "
             "z with y = 1 must give a loss near 0."),
            (float(np.mean(np.maximum(z, 0) - z * y)), "The term log1p(exp(-|z|)) is missing."),
            (lambda: float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-z)))),
             "The last term is log1p(np.exp(-np.abs(z))), with the absolute value: you wrote exp(-z), which is "
             "wrong for z < 0 (and overflows for z = -1e4). For z < 0, max(z, 0) = 0 and log(1 + e^z) = "
             "log(1 + e^-|z|)."),
            (float(np.mean(np.maximum(z, 0) - z * y + np.log(2))),
             "You wrote log(1 + exp(-|z|)) as log(2) (or dropped the abs and the exp): it is np.log1p(np.exp(-np.abs(z)))."),
            (-expected, "The sign is flipped: the loss is the NEGATIVE log-likelihood, which is >= 0."),
        ]
        if kind == "extreme":
            big = float(np.max(np.abs(z)))
            hints.append((lambda: float(np.mean(np.minimum(per, -np.log(1e-7)))),
                          f"Your loss is capped: clipping the probabilities (np.clip(p, eps, 1 - eps)) limits each term "
                          f"to -log(eps), but the true loss of a logit of {big:g} on the wrong side is {big:g}. "
                          + _BCE_STABLE))
            for eps in (1e-15, 1e-12, 1e-10, 1e-8):
                hints.append((lambda eps=eps: float(np.mean(np.minimum(per, -np.log(eps)))),
                              f"Your loss is capped at -log({eps:g}) = {-np.log(eps):.4g} per sample: clipping the "
                              f"probabilities (or adding eps inside the log) changes the loss of large logits, "
                              f"which is as large as {big:g} here. " + _BCE_STABLE))
        check_number(got, expected, text=text, what="the mean binary cross-entropy", hints=hints,
                     otherwise="Per sample: -y log sigmoid(z) - (1 - y) log(1 - sigmoid(z)), computed stably as "
                               "max(z, 0) - z * y + log1p(exp(-|z|)); then the mean.")


# --------------------------------------------------------------------------------------------
# Multiclass classification: softmax, log-softmax, cross-entropy

_ROWWISE = ("Subtract each row's own maximum, Z - Z.max(axis=1, keepdims=True): softmax(z - m) = softmax(z) for "
            "any number m, and after the shift the largest exponent is exp(0) = 1, so nothing overflows and the "
            "sum is at least 1.")


def _logit_cases(rng):
    """(Z, kind): moderate logits, square ones (n == K: broadcasting mistakes run silently),
    then large ones, some with rows of very different scales."""
    cases = [(np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]]), "moderate"),
             (rng.standard_normal((4, 5)) * 3, "moderate"),
             (rng.standard_normal((3, 3)) * 2, "square"),
             (rng.standard_normal((1, 4)), "moderate"),
             (rng.standard_normal((6, 2)) * 5, "moderate"),
             (np.array([[1e4, 0.0, -1e4], [1.0, 2.0, 3.0]]), "extreme"),
             (np.array([[-1e4, -1e4 + 1.0], [0.0, 1e4], [800.0, 799.0]]), "extreme"),
             (np.array([[1e4, 1e4 - 30.0, 0.0], [-5.0, 2.0, 1.0], [3.0, 3.0, 3.0]]), "extreme"),
             (rng.standard_normal((5, 4)) * 3000, "extreme")]
    return cases


def _rowwise_explain(Z, formula):
    n, K = Z.shape

    def explain(err):
        if "broadcast" in str(err):
            return (f"Z has shape ({n}, {K}) and a row-wise max or sum, Z.max(axis=1), has shape ({n},), which "
                    f"NumPy lines up with the LAST axis of Z (the {K} classes). Keep the reduced axis with "
                    f"keepdims=True, shape ({n}, 1), so that it is broadcast along each row.")
        return _overflow_explain(formula)(err)

    return explain


def _check_rowwise(fn, name, oracle, candidates_for, formula):
    rng = _rng({"softmax": 4, "log_softmax": 5}[name])
    for Z, kind in _logit_cases(rng):
        expected = oracle(Z)
        args = [("Z", Z)]
        text = call_text(name, args)
        if kind == "extreme":
            text += f" with logits from {Z.min():g} to {Z.max():g}"
        got = _strict_call(fn, name, args, explain=_rowwise_explain(Z, formula))
        n, K = Z.shape
        hints = [((K, n), f"The output must have the shape of Z, (n, K) = {Z.shape}: do not transpose it.")]
        if n * K > 1:
            hints.append(((n * K,), "The output must keep the shape of Z (do not flatten it)."))
        hints += [((n,), f"{name} returns one value per logit, shape (n, K), not one per row."),
                  ((n, 1), f"{name} returns one value per logit, shape (n, K), not one per row.")]
        scale = max(1.0, float(np.max(np.abs(Z))))
        check_values(got, expected, what="the output", text=text, atol=1e-13 * scale,
                     candidates=candidates_for(Z), shape_hints=hints)


def _softmax_np(Z, axis=1):
    e = np.exp(Z - Z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def check_softmax(fn):
    """``softmax(Z)``: row-wise, against ``torch.softmax(Z, dim=1)``, for logits up to +-1e4."""
    torch = _torch()

    def candidates(Z):
        return [
            ("You normalised the columns (axis=0): each ROW is one sample, softmax(Z)[i] must sum to 1 over "
             "the K classes, so use axis=1 (with keepdims=True).", lambda: _softmax_np(Z, axis=0)),
            ("You divided by the sum of ALL the entries: normalise each row by its own sum, "
             "e.sum(axis=1, keepdims=True).", lambda: np.exp(Z - Z.max()) / np.exp(Z - Z.max()).sum()),
            ("The maximum was subtracted along the wrong axis (without keepdims=True, Z.max(axis=1) has shape "
             "(n,) and is broadcast along the columns): use Z.max(axis=1, keepdims=True).",
             lambda: _rowsum_normalised(np.exp(Z - Z.max(axis=1)[None, :]))),
            ("The rows were normalised along the wrong axis (without keepdims=True, e.sum(axis=1) has shape "
             "(n,) and divides the columns): use e.sum(axis=1, keepdims=True).",
             lambda: (lambda e: e / e.sum(axis=1)[None, :])(np.exp(Z - Z.max(axis=1, keepdims=True)))),
            ("You returned exp(Z - max) without dividing by the row sums.",
             lambda: np.exp(Z - Z.max(axis=1, keepdims=True))),
        ]

    _check_rowwise(fn, "softmax", lambda Z: torch.softmax(_t(Z), dim=1).numpy(), candidates, _ROWWISE)


def _rowsum_normalised(e):
    return e / e.sum(axis=1, keepdims=True)


_LOG_SOFTMAX = ("log_softmax(z) = z - logsumexp(z), with the stable log-sum-exp logsumexp(z) = m + "
                "log(sum(exp(z - m))) where m = max(z), taken row by row (keepdims=True). Do not take the log of "
                "softmax: a probability of exp(-1e4) is 0.0 in float64 and log(0) = -inf.")


def check_log_softmax(fn):
    """``log_softmax(Z)``: row-wise, against ``torch.log_softmax(Z, dim=1)``, for logits up to +-1e4."""
    torch = _torch()

    def lse(Z, axis=1):
        m = Z.max(axis=axis, keepdims=True)
        return m + np.log(np.exp(Z - m).sum(axis=axis, keepdims=True))

    def candidates(Z):
        return [
            ("You normalised over the columns (axis=0): each ROW is one sample; use axis=1 with keepdims=True.",
             lambda: Z - lse(Z, axis=0)),
            ("You subtracted the row maximum but forgot to add it back in the log-sum-exp: "
             "logsumexp(z) = m + log(sum(exp(z - m))), so log_softmax(z) = z - m - log(sum(exp(z - m))).",
             lambda: Z - np.log(np.exp(Z - Z.max(axis=1, keepdims=True)).sum(axis=1, keepdims=True))),
            ("You returned the log-sum-exp minus z; log_softmax(z) = z - logsumexp(z) (it is <= 0).",
             lambda: lse(Z) - Z),
            ("That is softmax, not its log.", lambda: _softmax_np(Z)),
            ("The log-sum-exp was taken over ALL the entries: take it row by row, axis=1 with keepdims=True.",
             lambda: Z - (Z.max() + np.log(np.exp(Z - Z.max()).sum()))),
        ]

    _check_rowwise(fn, "log_softmax", lambda Z: torch.log_softmax(_t(Z), dim=1).numpy(), candidates,
                   _LOG_SOFTMAX)


def _ce_explain(n, K):
    stable = ("The loss of sample i is -log_softmax(logits)[i, labels[i]]: pick one entry per row with "
              "ls[np.arange(n), labels]; compute log_softmax stably (z - logsumexp(z)), never log(softmax).")

    def explain(err):
        message = str(err)
        if "broadcast" in message:
            return (f"labels holds n = {n} integer class indices (shape ({n},)), not one-hot rows of length "
                    f"K = {K}: {stable}")
        if "index" in message and "out of bounds" in message:
            return f"labels holds one class index in 0..{K - 1} per sample (row). {stable}"
        return _overflow_explain(stable)(err)

    return explain


def check_cross_entropy(fn):
    """``cross_entropy(logits, labels)``: mean over samples of -log softmax(logits)[i, labels[i]],
    against ``F.cross_entropy``, for logits up to +-1e4."""
    torch = _torch()
    F = torch.nn.functional
    rng = _rng(6)
    cases = [(np.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]]), np.array([0, 1])),
             (rng.standard_normal((5, 4)) * 2, rng.integers(0, 4, 5)),
             (rng.standard_normal((4, 4)) * 2, np.array([3, 0, 0, 2])),       # n == K
             (rng.standard_normal((3, 3)) * 2, np.array([1, 2, 0])),          # n == K, a permutation
             (rng.standard_normal((1, 6)), np.array([5])),
             (rng.standard_normal((7, 2)) * 3, rng.integers(0, 2, 7).astype(np.int32)),
             (np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 0.0]]), np.array([2, 1])),
             (np.array([[-1e4, 1e4], [800.0, -800.0], [1e4, 1e4]]), np.array([0, 0, 1])),
             (rng.standard_normal((6, 3)) * 3000, rng.integers(0, 3, 6))]
    for logits, labels in cases:
        n, K = logits.shape
        expected = float(F.cross_entropy(_t(logits), _t(labels.astype(np.int64))))
        args = [("logits", logits), ("labels", labels)]
        text = call_text("cross_entropy", args)
        if n <= 3:
            text += f" with labels = {labels.tolist()}"
        if np.max(np.abs(logits)) > 100:
            text += f" (logits from {logits.min():g} to {logits.max():g})"
        got = _strict_call(fn, "cross_entropy", args, explain=_ce_explain(n, K))
        ls = torch.log_softmax(_t(logits), dim=1).numpy()
        picked = ls[np.arange(n), labels]
        hints = [
            (-float(np.sum(picked)), f"You summed over the {n} samples: return the mean."),
            (float(np.mean(picked)), "The sign is flipped: the loss is the NEGATIVE log-likelihood, "
                                     "-log_softmax(logits)[i, labels[i]], which is >= 0."),
            (-float(np.mean(ls[:, labels])),
             "logits[:, labels] (or ls[:, labels]) picks the columns labels for EVERY row, an (n, n) array: pick "
             "one entry per row with ls[np.arange(n), labels]."),
            (-float(np.mean(picked)) / K,
             f"You divided by n * K = {n * K} (the mean over all entries of a one-hot product): sum over the "
             "classes, then take the mean over the n samples."),
            (lambda: -float(np.mean(np.sum(labels[None, :] * ls, axis=1))),
             "labels holds integer class indices, not one-hot rows: multiplying labels by the log-probabilities "
             "broadcasts it along the classes. Pick ls[np.arange(n), labels], or build the one-hot matrix "
             "np.eye(K)[labels] first."),
            (-float(np.mean(np.exp(picked))),
             "You averaged -softmax(logits)[i, labels[i]], the probabilities: the loss is MINUS THE LOG of them."),
            (-float(np.mean(ls[np.arange(n), np.argmax(logits, axis=1)])),
             "You used the predicted class argmax(logits) instead of the true labels."),
        ]
        check_number(got, expected, text=text, what="the mean cross-entropy", hints=hints,
                     otherwise="cross_entropy = mean over i of -log_softmax(logits)[i, labels[i]].")


# --------------------------------------------------------------------------------------------
# The prior: the L2 penalty

class _Params(list):
    """A plain list of arrays that a message describes by the shapes, not by every number."""

    def __repr__(self):
        return "[" + ", ".join(f"array of shape {p.shape}" for p in self) + "]"


class _ParamsTuple(tuple):
    def __repr__(self):
        return "(" + ", ".join(f"array of shape {p.shape}" for p in self) + ("," if len(self) == 1 else "") + ")"


def check_l2_penalty(fn):
    """``l2_penalty(params, lam)``: lam times the sum of the squares of every entry of every array,
    against ``torch.linalg.vector_norm``; the arrays must come back unchanged."""
    torch = _torch()
    rng = _rng(7)
    shapes = [[(3, 2), (3,), (1, 3), (1,)], [(4,)], [(2, 5), (5, 5), (5,)], [(1,)], [(3, 3)],
              [(2, 3, 4), (6,)], []]
    lams = [0.1, 1.0, 1e-3, 2.5, 0.0, 0.05, 0.3]
    for _ in range(3):
        shapes.append([tuple(int(s) for s in rng.integers(1, 6, size=int(rng.integers(1, 3))))
                       for _ in range(int(rng.integers(1, 5)))])
        lams.append(float(rng.uniform(0.001, 2.0)))
    for i, (shape_list, lam) in enumerate(zip(shapes, lams)):
        params = _Params(rng.standard_normal(s) * 2 for s in shape_list)
        if i == 5:
            params = _ParamsTuple(params)  # any sequence of arrays
        saved = [p.copy() for p in params]
        expected = lam * float(sum(torch.linalg.vector_norm(_t(p)) ** 2 for p in params))
        shapes_text = ", ".join(str(p.shape) for p in params)
        kind = "tuple" if isinstance(params, tuple) else "list"
        args = [("params", params), ("lam", lam)]
        text = f"l2_penalty(a {kind} of {len(params)} arrays of shapes [{shapes_text}], lam={lam!r})"
        got = _strict_call(fn, "l2_penalty", args)
        for p, before in zip(params, saved):
            if p.shape != before.shape or not np.array_equal(p, before):
                fail(f"{text} modified the parameter array of shape {before.shape} in place: compute the squares in a "
                     "new array (p ** 2), never write into the parameters.")
        sq = [float(np.sum(p ** 2)) for p in params]
        hints = [
            (0.5 * expected, "The factor 1/2 is not part of this penalty: lam * sum of p ** 2 (some books write "
                             "lam / 2 * ||theta||^2; this exercise does not)."),
            (lam * sum(float(np.sum(np.abs(p))) for p in params),
             "That is the L1 penalty (sum of |p|): square the entries."),
            (lam * sum(float(np.sum(p)) for p in params), "Square the entries: lam * sum of p ** 2."),
            (lam * math.sqrt(sum(sq)), "That is lam times the norm ||theta||; the penalty uses the SQUARED norm, "
                                       "the sum of the squares without a square root."),
            (lam * sum(math.sqrt(s) for s in sq),
             "You added up the norms of the arrays; the penalty is the sum of the SQUARED entries of all arrays."),
            (lam * sq[0] if sq else 0.0, "Only the first array was counted: sum over every array in params."),
            (lam * (sq[-1] if sq else 0.0), "Only the last array was counted (a return inside the loop?): sum over "
                                            "every array in params."),
            (lam * sum(float(np.mean(p ** 2)) for p in params),
             "You took the mean of the squares of each array: the penalty is their SUM."),
            (lam ** 2 * sum(sq), "lam multiplies the sum once; do not square it."),
            (sum(sq), "lam is missing: multiply the sum of squares by lam."),
        ]
        check_number(got, expected, text=text, what="the penalty lam * sum of squared entries", hints=hints,
                     otherwise="l2_penalty = lam * (sum over the arrays p of np.sum(p ** 2)).")
