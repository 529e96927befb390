"""Hidden checks of ``ex04-backprop`` (backpropagation through a two-layer ReLU network, the
numerical gradient, the relative error).

One ``check_<function>(fn)`` per function of the exercise's contract. The oracles are
independent of the reference solution: PyTorch's autograd in float64 for the network's loss
and gradients, exact derivatives and exact central differences of polynomials for the
numerical gradient, and the formula of the contract, evaluated here, for the relative error.
Wrong answers are recognised by recomputing the gradients with the mistake put in on purpose
(``_backprop`` below, NumPy), only to word the message. Every call of the student's function
goes through ``_common.call`` under the NumPy-only guard, with seeded inputs.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._common import call, call_text, check_array, describe, expect_error, fail, rel_error

SEED = 404
NAMES = ("W", "b", "V", "c")


def _rng(salt: int) -> np.random.Generator:
    return np.random.default_rng([SEED, salt])


class _Params(dict):
    """The params dict, printed by the shapes of its arrays in messages."""

    def __repr__(self) -> str:
        return "{" + ", ".join(f"{k!r}: array of shape {np.shape(v)}" for k, v in self.items()) + "}"


# --------------------------------------------------------------------------------------------
# The oracle: torch autograd in float64

def _autograd(X, y, params, loss):
    import torch

    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    Xt = torch.tensor(X, dtype=torch.float64)
    O = torch.relu(Xt @ t["W"].T + t["b"]) @ t["V"].T + t["c"]
    if loss == "mse":
        L = ((O - torch.tensor(y, dtype=torch.float64)) ** 2).sum(dim=1).mean()
    else:
        L = torch.nn.functional.cross_entropy(O, torch.tensor(y, dtype=torch.long))
    L.backward()
    return float(L.item()), {k: t[k].grad.numpy().copy() for k in NAMES}


# --------------------------------------------------------------------------------------------
# The gradients that common mistakes produce (NumPy; used only to recognise a wrong answer)

def _backprop(X, y, params, loss, *, mask="gt", n_scale=True, mse_factor=2.0, mse_mean_all=False,
              relu_grad=True, bias_axis=0):
    W, b, V, c = (params[k] for k in NAMES)
    n, k = X.shape[0], V.shape[0]
    Z = X @ W.T + b
    H = np.maximum(Z, 0)
    O = H @ V.T + c
    if loss == "mse":
        dO = mse_factor * (O - y) / (n * k if mse_mean_all else 1)
    else:
        P = np.exp(O - O.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        dO = P.copy()
        dO[np.arange(n), y] -= 1
    if n_scale:
        dO = dO / n
    dH = dO @ V
    masks = {"gt": Z > 0, "ge": Z >= 0, "lt": Z < 0, "h": H > 0}
    dZ = dH * masks[mask] if relu_grad else dH
    return {"W": dZ.T @ X, "b": dZ.sum(axis=bias_axis), "V": dO.T @ H, "c": dO.sum(axis=bias_axis)}


def _mistakes(X, y, params, loss, expected):
    """(name of the gradient, explanation, array) for the mistakes students make, lazily."""
    n = X.shape[0]
    k = params["V"].shape[0]
    lazy = {}

    def variant(**kw):
        key = tuple(sorted(kw.items()))
        if key not in lazy:
            lazy[key] = _backprop(X, y, params, loss, **kw)
        return lazy[key]

    out = {name: [] for name in NAMES}
    for name in NAMES:
        out[name].append((f"grads[{name!r}] is n = {n} times too large: the loss is a MEAN over the examples, so "
                          "dL/dO carries a factor 1/n (and dW, db, dV, dc are sums over the batch of it).",
                          lambda name=name: expected[name] * n))
        out[name].append((f"grads[{name!r}] has the wrong sign: the gradient points uphill, dL/dO = "
                          + ("2 (O - Y) / n." if loss == "mse" else "(softmax(O) - onehot(y)) / n."),
                          lambda name=name: -expected[name]))
    if n == params["b"].shape[0]:
        out["b"].append(("db was summed over the wrong axis: sum dZ over the examples (axis 0), one entry per "
                         "hidden unit.", lambda: variant(bias_axis=1)["b"]))
    if n == k:
        out["c"].append(("dc was summed over the wrong axis: sum dL/dO over the examples (axis 0), one entry per "
                         "output.", lambda: variant(bias_axis=1)["c"]))
    for name in ("W", "b"):
        out[name] += [
            (f"grads[{name!r}]: the ReLU's derivative at exactly 0 must be 0 (as in PyTorch); you used 1 "
             "(a mask Z >= 0): use Z > 0.", lambda name=name: variant(mask="ge")[name]),
            (f"grads[{name!r}]: the ReLU mask is inverted: the gradient flows where Z > 0, not where Z < 0.",
             lambda name=name: variant(mask="lt")[name]),
            (f"grads[{name!r}]: the ReLU's derivative is missing: multiply dL/dH by (Z > 0) before going back "
             "through W.", lambda name=name: variant(relu_grad=False)[name]),
        ]
    h, d = params["W"].shape
    if h == d:
        out["W"].append(("dW is transposed: dW = dZ.T @ X (shape (h, d), like W), not X.T @ dZ.",
                         lambda: expected["W"].T))
    if k == h:
        out["V"].append(("dV is transposed: dV = dO.T @ H (shape (k, h), like V), not H.T @ dO.",
                         lambda: expected["V"].T))
    if loss == "mse":
        for name in NAMES:
            out[name] += [
                (f"grads[{name!r}] is half what it should be: d/dO (O - Y)^2 = 2 (O - Y).",
                 lambda name=name: variant(mse_factor=1.0)[name]),
                (f"grads[{name!r}] is divided by n * k = {n * k}: the squared error is SUMMED over the k = {k} "
                 "outputs and averaged over the n examples only.", lambda name=name: variant(mse_mean_all=True)[name]),
            ]
    return out


def _shape_hints(name, params, X):
    h, d = params["W"].shape
    k = params["V"].shape[0]
    n = X.shape[0]
    hints = {
        "W": [((d, h), "dW is transposed: it has W's shape (h, d); dW = dZ.T @ X, not X.T @ dZ.")],
        "V": [((h, k), "dV is transposed: it has V's shape (k, h); dV = dO.T @ H, not H.T @ dO.")],
        "b": [((n,), "db was summed over the wrong axis: sum dZ over the examples (axis 0), one entry per "
                     "hidden unit."), ((1, h), "db should be 1-D, shape (h,): sum over axis 0 without keepdims."),
              ((n, h), "db must be summed over the examples (axis 0): the bias is shared by all of them.")],
        "c": [((n,), "dc was summed over the wrong axis: sum dL/dO over the examples (axis 0), one entry per "
                     "output."), ((1, k), "dc should be 1-D, shape (k,): sum over axis 0 without keepdims."),
              ((n, k), "dc must be summed over the examples (axis 0): the bias is shared by all of them.")],
    }
    return [(s, why) for s, why in hints[name] if s != np.shape(params[name])]


def _draw(rng, n, d, h, k, loss, offset=0.0):
    X = rng.standard_normal((n, d))
    params = _Params(W=rng.standard_normal((h, d)), b=rng.standard_normal(h),
                     V=rng.standard_normal((k, h)), c=offset + rng.standard_normal(k))
    y = rng.standard_normal((n, k)) if loss == "mse" else rng.integers(0, k, size=n)
    return X, y, params


def _kink_case(loss):
    """Integer inputs and weights chosen so that several hidden pre-activations are exactly 0."""
    X = np.array([[1.0, 2.0, 0.0], [2.0, -1.0, 1.0], [0.0, 1.0, -1.0], [1.0, 1.0, 1.0]])
    W = np.array([[1.0, -1.0, 1.0], [2.0, -1.0, 0.0], [0.0, 1.0, 1.0], [1.0, 1.0, -2.0]])
    b = np.array([1.0, 0.0, 0.0, -2.0])  # Z = X W^T + b has zeros at (0, 0), (0, 1), (1, 2) and (2, 2)
    V = np.array([[1.0, -2.0, 0.5, 1.5], [0.5, 1.0, -1.0, 2.0]])
    c = np.array([0.25, -0.5])
    y = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, -1.0], [0.5, 0.5]]) if loss == "mse" else np.array([0, 1, 1, 0])
    return X, y, _Params(W=W, b=b, V=V, c=c)


_PRECISION = ("Close, but only to a relative error of {error:.0e}: is part of the computation done in float32 "
              "(about 7 significant digits)? Work in float64 throughout.")


def _closed_form(X, y, params, loss):
    """The loss and the gradients by the matrix formulas of chapter 4, in NumPy (an oracle for code
    that uses autograd itself, such as the lab's)."""
    n = X.shape[0]
    O = np.maximum(X @ params["W"].T + params["b"], 0) @ params["V"].T + params["c"]
    if loss == "mse":
        L = float(np.sum((O - y) ** 2) / n)
    else:
        shifted = O - O.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        L = float(-log_p[np.arange(n), y].mean())
    return L, _backprop(X, y, params, loss)


def _check_one(fn, X, y, params, loss, *, name="mlp_loss_and_grads", forbid=True, oracle=_autograd,
               inspect=None):
    """One call of ``fn(X, y, params, loss=loss)``, its loss and gradients compared with ``oracle``.

    ``inspect(text, L, grads)`` may look at the raw result first (types, dtypes) and fail with a
    message of its own.
    """
    saved = {k: v.copy() for k, v in params.items()}
    args = [("X", X), ("y", y), ("params", params)]
    kwargs = {"loss": loss}
    text = call_text(name, args, kwargs)
    result = call(fn, name, args, kwargs, forbid=forbid)
    for k, v in params.items():
        if not np.array_equal(v, saved[k]):
            fail(f"{text} modified params[{k!r}] in place; compute new arrays and leave the parameters alone.")
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        fail(f"{text} returned {describe(result)}; expected a tuple (loss, grads).")
    L, grads = result
    if inspect is not None:
        inspect(text, L, grads)
    L_exp, expected = oracle(X, y, params, loss)
    if isinstance(L, np.ndarray) and L.ndim == 0:
        L = L[()]
    if isinstance(L, bool) or not isinstance(L, (numbers.Real, np.floating)):
        fail(f"{text} returned the loss as {describe(L)}; expected one number (a float), {L_exp:.6g}.")
    L = float(L)
    if not np.isfinite(L):
        fail(f"{text} returned the loss {L}; expected {L_exp:.6g}."
             + (" The logits are around 1000 here: compute the softmax stably, subtracting each row's maximum "
                "before np.exp (np.exp(1000) overflows to inf)." if loss == "ce" else ""))
    if rel_error(L, L_exp) > 1e-7:
        n, k = X.shape[0], params["V"].shape[0]
        hints = []
        if loss == "mse":
            hints = [(L_exp * n, "The loss is a SUM over the examples; average it: divide by n."),
                     (L_exp / k, f"The loss is divided by n * k: sum the squared errors over the k = {k} outputs, "
                                 "average over the n examples only (np.sum(...) / n, not np.mean(...)).")]
        else:
            O = np.maximum(X @ params["W"].T + params["b"], 0) @ params["V"].T + params["c"]
            P = np.exp(O - O.max(axis=1, keepdims=True))
            P /= P.sum(axis=1, keepdims=True)
            twice = np.log(np.exp(P).sum(axis=1)) - P[np.arange(n), y]
            hints = [(L_exp * n, "The loss is a SUM over the examples; average it: divide by n."),
                     (float(twice.mean()), "The softmax is applied twice: the cross-entropy takes the raw "
                                           "outputs O (logits) and applies the softmax itself."),
                     (float(-O[np.arange(n), y].mean()), "That is -mean(O[i, y_i]): the negative log-likelihood "
                                                         "needs log-probabilities, log_softmax(O), not the raw O "
                                                         "(F.nll_loss expects log-probabilities; "
                                                         "F.cross_entropy takes logits).")]
        why = next((w for value, w in hints if rel_error(L, value) < 1e-7), "")
        if not why and rel_error(L, L_exp) < 1e-4:
            why = _PRECISION.format(error=rel_error(L, L_exp))
        fail(f"{text} returned the loss {L:.8g}; expected {L_exp:.8g}." + (f" {why}" if why else ""))
    if not isinstance(grads, dict):
        fail(f"{text} returned grads as {describe(grads)}; expected a dict with the keys 'W', 'b', 'V', 'c'.")
    missing = [k for k in NAMES if k not in grads]
    if missing:
        fail(f"{text}: grads has the keys {sorted(grads)}; expected 'W', 'b', 'V', 'c' (the keys of params), "
             f"missing {missing}.")
    mistakes = _mistakes(X, y, params, loss, expected)
    for k in ("V", "c", "W", "b"):  # in the order of the backward pass
        def precision(got, k=k):
            error = rel_error(got, expected[k])
            return _PRECISION.format(error=error) if error < 1e-4 else None

        check_array(grads[k], expected[k], what=f"grads[{k!r}]", text=text, candidates=mistakes[k],
                    shape_hints=_shape_hints(k, params, X), diagnose=precision)


def check_mlp_loss_and_grads(fn):
    """``mlp_loss_and_grads(X, y, params, loss)`` against torch autograd (float64) on random shapes."""
    check_loss_and_grads(fn)


def check_loss_and_grads(fn, **kw):
    """The cases shared by ``mlp_loss_and_grads`` (here) and ``torch_loss_and_grads`` (lab 4);
    ``kw`` goes to :func:`_check_one` (the name, the guard, the oracle)."""
    name = kw.get("name", "mlp_loss_and_grads")
    rng = _rng(1)
    for loss in ("mse", "ce"):
        _check_one(fn, *_kink_case(loss), loss, **kw)
    shapes = [(1, 2, 3, 1), (5, 3, 4, 2), (7, 4, 6, 3), (3, 5, 2, 4), (8, 2, 8, 2), (4, 6, 6, 6)]
    for _ in range(4):
        shapes.append(tuple(int(v) for v in rng.integers(1, 9, size=4)))
    for n, d, h, k in shapes:
        for loss in ("mse", "ce"):
            if loss == "ce" and k == 1:
                continue
            _check_one(fn, *_draw(rng, n, d, h, k, loss), loss, **kw)
    # Logits around 1000: np.exp overflows unless each row's maximum is subtracted first.
    X, y, params = _draw(rng, 6, 3, 5, 4, "ce", offset=1000.0)
    _check_one(fn, X, y, params, "ce", **kw)
    X, y, params = _draw(rng, 3, 2, 3, 2, "mse")
    expect_error(fn, name, [("X", X), ("y", y), ("params", params)], {"loss": "hinge"},
                 why="the loss must be 'mse' or 'ce'")


# --------------------------------------------------------------------------------------------
# numerical_gradient

class _Function:
    """A scalar function of an array of a fixed shape, which refuses arrays of another shape."""

    def __init__(self, shape, formula, value):
        self.shape, self.formula, self.value = shape, formula, value

    def __call__(self, a):
        a = np.asarray(a)
        if a.shape != self.shape:
            fail(f"numerical_gradient called f with an array of shape {a.shape}; f takes arrays of x's shape "
                 f"{self.shape}. Perturb one entry of (a copy of) x and pass the whole array to f.")
        return float(self.value(a))

    def __repr__(self) -> str:
        return self.formula


def _check_numerical(fn, f, x, eps, expected, text_eps, forward=None, default_eps=None):
    name = "numerical_gradient"
    saved = x.copy()
    args = [("f", f), ("x", x)]
    kwargs = {} if eps is None else {"eps": eps}
    text = call_text(name, args, kwargs)
    got = call(fn, name, args, kwargs, forbid=True, mutation=False)
    if x.shape != saved.shape or not np.array_equal(x, saved):
        changed = np.argwhere(x != saved)
        first = tuple(int(i) for i in changed[0]) if changed.size else ()
        size = float(np.max(np.abs(x - saved))) if changed.size else 0.0
        e = text_eps
        if size < 1e-3 * e:
            fail(f"{text} left x changed at index {first} by {size:.1e}, a rounding error: adding and then "
                 f"subtracting eps does not always give back the same float. Save the entry and put it back "
                 f"(old = x[i]; ...; x[i] = old), or perturb a copy of x.")
        fail(f"{text} left x modified in place (x{list(first)} changed by {size:.3g}, about eps = {e:g}): after "
             f"evaluating f at x + eps and x - eps, restore the entry (old = x[i]; ...; x[i] = old), or perturb a "
             f"copy of x (x = x.copy()).")
    h = 1e-6 if eps is None else eps
    candidates = []
    if forward is not None:
        candidates.append(("That is a one-sided (forward) difference, (f(x + eps) - f(x)) / eps: use the central "
                           "difference (f(x + eps e_j) - f(x - eps e_j)) / (2 eps), whose error is O(eps^2) instead "
                           "of O(eps).", forward))
    if default_eps is not None:
        candidates.append((f"You ignored eps={eps}: use the eps you are given (the default 1e-6 applies only when "
                           "none is passed).", default_eps))
    candidates += [
        ("The central difference is divided by eps instead of 2 * eps: the two points are 2 * eps apart.",
         lambda: 2 * expected),
        ("Every entry got the same value: you perturbed ALL entries of x at once (x + eps) instead of one entry "
         "at a time (x + eps * e_j).", lambda: np.full(x.shape, (f(x + h) - f(x - h)) / (2 * h))),
    ]
    def rows(got):
        if x.ndim > 1 and x.shape[-1] > 1 and np.allclose(got, got[..., :1]):
            return ("Along each row your gradient is constant: you perturbed a whole row x[i] at a time. Perturb "
                    "one entry at a time, visiting every index of x with np.ndindex(x.shape).")
        return None

    check_array(got, expected, what="the numerical gradient", text=text, candidates=candidates,
                shape_hints=[((x.size,), "Return an array of x's shape (reshape the flat result).")],
                diagnose=rows, rtol=1e-6)


def check_numerical_gradient(fn):
    """``numerical_gradient(f, x, eps)`` on polynomials, whose central differences are known exactly."""
    rng = _rng(2)
    # 1. A quadratic: the central difference is exact (up to rounding) whatever eps; the forward one is not.
    for shape, eps in (((3, 4), 1e-3), ((5,), 1e-2), ((2, 3, 2), None), ((1,), 1e-3), ((4, 1), 1e-4)):
        size = int(np.prod(shape))
        A = rng.standard_normal((size, size)) + 2 * np.eye(size)
        g = rng.standard_normal(size)
        x = rng.standard_normal(shape)
        f = _Function(shape, f"0.5 * |A a|^2 + g.a with A {size}x{size}",
                      lambda a, A=A, g=g: 0.5 * np.sum((A @ a.ravel()) ** 2) + g @ a.ravel())
        exact = (A.T @ A @ x.ravel() + g).reshape(shape)
        h = 1e-6 if eps is None else eps
        # forward difference of a quadratic: exact gradient + (h/2) * diag(A^T A)
        forward = (exact.ravel() + 0.5 * h * np.diag(A.T @ A)).reshape(shape)
        _check_numerical(fn, f, x, eps, exact, h, forward=lambda forward=forward: forward)
    # 2. A cubic with a large eps: the central difference is exactly 3 x^2 + eps^2, so the eps given must be used.
    for shape, eps in (((2, 3), 0.1), ((4,), 0.05)):
        x = rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
        f = _Function(shape, "sum(a**3)", lambda a: np.sum(a ** 3))
        expected = 3 * x ** 2 + eps ** 2
        forward = 3 * x ** 2 + 3 * x * eps + eps ** 2
        _check_numerical(fn, f, x, eps, expected, eps, forward=lambda forward=forward: forward,
                         default_eps=lambda x=x: 3 * x ** 2 + 1e-12)


# --------------------------------------------------------------------------------------------
# relative_error

def _formula(a, b):
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def check_relative_error(fn):
    """``relative_error(a, b)``: max |a - b| / max(1e-8, |a| + |b|), elementwise, as one float."""
    rng = _rng(3)
    cases = []
    for shape in ((5,), (3, 4), (2, 3, 2), (1,)):
        a = rng.standard_normal(shape)
        cases.append((a, a + 1e-6 * rng.standard_normal(shape)))
        cases.append((a, rng.standard_normal(shape)))
    a = rng.standard_normal(6) * np.array([1e3, 1e-5, 1.0, 1e2, 1e-3, 10.0])
    cases.append((a, a * (1 + np.array([1e-9, 0.3, 1e-6, 1e-8, 1e-4, 0.0]))))  # small entries matter most
    a = rng.standard_normal((3, 3))
    a[0, 1] = 0.0
    a[2, 2] = 0.0
    cases.append((a, a + 1e-7 * (a != 0)))  # entries that are 0 in both arrays
    cases.append((np.zeros(4), np.zeros(4)))
    cases.append((np.array([0.0, 1e-9]), np.array([0.0, 0.0])))  # below the floor
    for a, b in cases:
        expected = _formula(a, b)
        args = [("a", a), ("b", b)]
        text = call_text("relative_error", args)

        def explain(err):
            if "integer scalar" in str(err) or "axis" in str(err):
                return ("np.max(x, y) reads y as an axis: the elementwise maximum of two arrays is "
                        "np.maximum(1e-8, np.abs(a) + np.abs(b)).")
            return None

        got = call(fn, "relative_error", args, forbid=True, explain=explain)
        if isinstance(got, np.ndarray) and got.ndim > 0:
            fail(f"{text} returned {describe(got)}; expected one number: the LARGEST elementwise relative error "
                 f"({expected:.6g}), np.max(...).")
        if isinstance(got, bool) or not isinstance(got, (numbers.Real, np.floating, np.ndarray)):
            fail(f"{text} returned {describe(got)}; expected one number, {expected:.6g}.")
        got = float(got)
        if np.isfinite(got) and abs(got - expected) <= 1e-12 * max(1e-300, abs(expected)) + 1e-300:
            continue
        if not np.isfinite(got):
            fail(f"{text} returned {got}; expected {expected:.6g}. Where a and b are both 0 the ratio is 0 / 0: "
                 "divide by np.maximum(1e-8, np.abs(a) + np.abs(b)), not by np.abs(a) + np.abs(b).")
        with np.errstate(all="ignore"):
            variants = [
                (float(np.max(np.abs(a - b)) / max(1e-8, float(np.max(np.abs(a) + np.abs(b))))),
                 "You divided the largest difference by the largest |a| + |b|; divide elementwise first, then take "
                 "the max: np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b)))."),
                (float(np.mean(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b)))),
                 "That is the mean of the elementwise errors; the relative error is their maximum."),
                (float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a)))),
                 "You divided by |a| only; the denominator is |a| + |b| (symmetric in a and b)."),
                (float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a + b)))),
                 "You divided by |a + b|; the denominator is |a| + |b| (entries of opposite signs!)."),
                (float(np.max(np.abs(a - b) / np.maximum(1e-8, np.maximum(np.abs(a), np.abs(b))))),
                 "You divided by max(|a|, |b|); the denominator is |a| + |b|."),
                (float(np.max(np.abs(a - b))), "That is the absolute error; divide by max(1e-8, |a| + |b|)."),
            ]
        why = next((w for value, w in variants
                    if np.isfinite(value) and abs(got - value) <= 1e-12 * abs(value) + 1e-300
                    and abs(value - expected) > 1e-12 * abs(expected)), "")
        fail(f"{text} returned {got:.6g}; expected {expected:.6g}." + (f" {why}" if why else ""))
