"""Wrong answers that students really write for ex04-backprop.

Each entry replaces one function of the reference solution (``code`` is run after the solution
cells, in the same namespace) and must make at least the test cells in ``expect`` fail with a
message that points at the mistake. ``hint``, when given, is a phrase that the message of the
hidden check of ``replaces`` must contain (case-insensitive): the diagnosis a student gets.
"""

from __future__ import annotations

from catalogue import Mistake

# The backward pass of the reference, with one line to change per mistake.
_MLP = '''
def mlp_loss_and_grads(X, y, params, loss="mse"):
    W, b, V, c = params["W"], params["b"], params["V"], params["c"]
    n = X.shape[0]
    Z = X @ W.T + b
    H = np.maximum(Z, 0.0)
    O = H @ V.T + c
    if loss == "mse":
        diff = O - y
        L = float(np.sum(diff ** 2) / n)
        dO = 2.0 * diff / n
    elif loss == "ce":
        shifted = O - O.max(axis=1, keepdims=True)
        P = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
        L = float(-np.log(P[np.arange(n), y]).mean())
        dO = P.copy()
        dO[np.arange(n), y] -= 1.0
        dO /= n
    else:
        raise ValueError(loss)
    dV = dO.T @ H
    dc = dO.sum(axis=0)
    dH = dO @ V
    dZ = dH * (Z > 0)
    dW = dZ.T @ X
    db = dZ.sum(axis=0)
    return L, {"W": dW, "b": db, "V": dV, "c": dc}
'''


def _mlp(old: str, new: str) -> str:
    assert old in _MLP, old
    return _MLP.replace(old, new)


_NUMERICAL = '''
def numerical_gradient(f, x, eps=1e-6):
    x = np.array(x, dtype=float)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        plus = f(x)
        x[i] = old - eps
        minus = f(x)
        x[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad
'''


def _numerical(old: str, new: str) -> str:
    assert old in _NUMERICAL, old
    return _NUMERICAL.replace(old, new)


MISTAKES: list[Mistake] = [
    # ---------------------------------------------------------------- mlp_loss_and_grads
    Mistake(
        id="mlp_dW_transposed",
        replaces="mlp_loss_and_grads",
        description="I wrote dW = X.T @ dZ, which has the shape of W transposed.",
        code=_mlp("dW = dZ.T @ X", "dW = X.T @ dZ"),
        expect=("test_mlp_loss_and_grads",),
        hint="transposed",
    ),
    Mistake(
        id="mlp_dV_transposed",
        replaces="mlp_loss_and_grads",
        description="I wrote dV = H.T @ dO, which has the shape of V transposed.",
        code=_mlp("dV = dO.T @ H", "dV = H.T @ dO"),
        expect=("test_mlp_loss_and_grads",),
        hint="transposed",
    ),
    Mistake(
        id="mlp_gradient_not_divided_by_n",
        replaces="mlp_loss_and_grads",
        description="I averaged the loss over the examples but forgot the 1/n in the gradient.",
        code=_mlp("dO = 2.0 * diff / n", "dO = 2.0 * diff").replace("dO /= n", "pass"),
        expect=("test_mlp_loss_and_grads",),
        hint="times too large",
    ),
    Mistake(
        id="mlp_db_wrong_axis",
        replaces="mlp_loss_and_grads",
        description="I summed dZ over the hidden units (axis 1) to get db.",
        code=_mlp("db = dZ.sum(axis=0)", "db = dZ.sum(axis=1)"),
        expect=("test_mlp_loss_and_grads",),
        hint="wrong axis",
    ),
    Mistake(
        id="mlp_dc_keepdims",
        replaces="mlp_loss_and_grads",
        description="I kept the summed axis in dc, so it has shape (1, k) instead of (k,).",
        code=_mlp("dc = dO.sum(axis=0)", "dc = dO.sum(axis=0, keepdims=True)"),
        expect=("test_mlp_loss_and_grads",),
        hint="without keepdims",
    ),
    Mistake(
        id="mlp_relu_derivative_one_at_zero",
        replaces="mlp_loss_and_grads",
        description="I used the mask Z >= 0, so the ReLU's derivative at exactly 0 is 1 instead of 0.",
        code=_mlp("dZ = dH * (Z > 0)", "dZ = dH * (Z >= 0)"),
        expect=("test_mlp_loss_and_grads",),
        hint="at exactly 0",
    ),
    Mistake(
        id="mlp_relu_mask_inverted",
        replaces="mlp_loss_and_grads",
        description="I let the gradient through where Z < 0, the wrong side of the ReLU.",
        code=_mlp("dZ = dH * (Z > 0)", "dZ = dH * (Z < 0)"),
        expect=("test_mlp_loss_and_grads",),
        hint="inverted",
    ),
    Mistake(
        id="mlp_no_relu_derivative",
        replaces="mlp_loss_and_grads",
        description="I went from dH straight to dW, skipping the ReLU.",
        code=_mlp("dZ = dH * (Z > 0)", "dZ = dH"),
        expect=("test_mlp_loss_and_grads",),
        hint="derivative is missing",
    ),
    Mistake(
        id="mlp_mse_no_factor_two",
        replaces="mlp_loss_and_grads",
        description="I differentiated (O - Y)^2 as (O - Y), dropping the 2.",
        code=_mlp("dO = 2.0 * diff / n", "dO = diff / n"),
        expect=("test_mlp_loss_and_grads",),
        hint="half what it should be",
    ),
    Mistake(
        id="mlp_mse_mean_over_outputs",
        replaces="mlp_loss_and_grads",
        description="I used np.mean over all entries, which also divides by the number of outputs k.",
        code=_mlp("L = float(np.sum(diff ** 2) / n)\n        dO = 2.0 * diff / n",
                  "L = float(np.mean(diff ** 2))\n        dO = 2.0 * diff / diff.size"),
        expect=("test_mlp_loss_and_grads",),
        hint="n * k",
    ),
    Mistake(
        id="mlp_ce_unstable_softmax",
        replaces="mlp_loss_and_grads",
        description="I computed the softmax with np.exp(O) directly, which overflows for large logits.",
        code=_mlp("shifted = O - O.max(axis=1, keepdims=True)", "shifted = O"),
        expect=("test_mlp_loss_and_grads",),
        hint="stably",
    ),
    Mistake(
        id="mlp_ce_loss_summed",
        replaces="mlp_loss_and_grads",
        description="I summed the cross-entropy over the examples instead of averaging it.",
        code=_mlp("L = float(-np.log(P[np.arange(n), y]).mean())", "L = float(-np.log(P[np.arange(n), y]).sum())"),
        expect=("test_mlp_loss_and_grads",),
        hint="sum over the examples",
    ),
    Mistake(
        id="mlp_ce_gradient_sign",
        replaces="mlp_loss_and_grads",
        description="I wrote dL/dO = onehot(y) - softmax(O), the negative of the gradient.",
        code=_mlp("dO = P.copy()\n        dO[np.arange(n), y] -= 1.0\n        dO /= n",
                  "dO = -P.copy()\n        dO[np.arange(n), y] += 1.0\n        dO /= n"),
        expect=("test_mlp_loss_and_grads",),
        hint="wrong sign",
    ),
    Mistake(
        id="mlp_no_value_error",
        replaces="mlp_loss_and_grads",
        description="Any loss other than 'mse' is treated as cross-entropy, without an error.",
        code=_mlp('    elif loss == "ce":', '    elif True:').replace("raise ValueError(loss)", "pass"),
        expect=("test_mlp_loss_and_grads",),
        hint="should raise ValueError",
    ),
    # ---------------------------------------------------------------- numerical_gradient
    Mistake(
        id="numerical_forward_difference",
        replaces="numerical_gradient",
        description="I used the one-sided difference (f(x + eps) - f(x)) / eps.",
        code=_numerical("        x[i] = old - eps\n        minus = f(x)\n        x[i] = old\n        grad[i] = (plus - minus) / (2 * eps)",
                        "        x[i] = old\n        minus = f(x)\n        grad[i] = (plus - minus) / eps"),
        expect=("test_numerical_gradient",),
        hint="forward",
    ),
    Mistake(
        id="numerical_x_not_restored",
        replaces="numerical_gradient",
        description="I perturbed the caller's x in place and never put the entry back.",
        code='''
def numerical_gradient(f, x, eps=1e-6):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        x[i] += eps
        plus = f(x)
        x[i] -= 2 * eps
        minus = f(x)
        grad[i] = (plus - minus) / (2 * eps)
    return grad
''',
        expect=("test_numerical_gradient",),
        hint="modified in place",
    ),
    Mistake(
        id="numerical_restored_by_arithmetic",
        replaces="numerical_gradient",
        description="I perturbed x in place and restored it by adding eps back, which leaves rounding errors.",
        code='''
def numerical_gradient(f, x, eps=1e-6):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        x[i] += eps
        plus = f(x)
        x[i] -= 2 * eps
        minus = f(x)
        x[i] += eps
        grad[i] = (plus - minus) / (2 * eps)
    return grad
''',
        expect=("test_numerical_gradient",),
        hint="rounding error",
    ),
    Mistake(
        id="numerical_divides_by_eps",
        replaces="numerical_gradient",
        description="I divided the central difference by eps instead of 2 * eps.",
        code=_numerical("grad[i] = (plus - minus) / (2 * eps)", "grad[i] = (plus - minus) / eps"),
        expect=("test_numerical_gradient",),
        hint="2 * eps",
    ),
    Mistake(
        id="numerical_all_entries_at_once",
        replaces="numerical_gradient",
        description="I perturbed every entry at once with x + eps.",
        code='''
def numerical_gradient(f, x, eps=1e-6):
    slope = (f(x + eps) - f(x - eps)) / (2 * eps)
    return np.full(x.shape, slope)
''',
        expect=("test_numerical_gradient",),
        hint="ALL entries",
    ),
    Mistake(
        id="numerical_fixed_eps",
        replaces="numerical_gradient",
        description="I hard-coded h = 1e-6 and ignored the eps argument.",
        code=_numerical("def numerical_gradient(f, x, eps=1e-6):\n", "def numerical_gradient(f, x, eps=1e-6):\n    eps = 1e-6\n"),
        expect=("test_numerical_gradient",),
        hint="ignored eps",
    ),
    Mistake(
        id="numerical_rows_only",
        replaces="numerical_gradient",
        description="I looped over range(len(x)), which perturbs whole rows of a 2-D x.",
        code='''
def numerical_gradient(f, x, eps=1e-6):
    x = x.copy()
    grad = np.zeros_like(x)
    for i in range(len(x)):
        old = x[i].copy()
        x[i] = old + eps
        plus = f(x)
        x[i] = old - eps
        minus = f(x)
        x[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad
''',
        expect=("test_numerical_gradient",),
        hint="whole row",
    ),
    # ---------------------------------------------------------------- relative_error
    Mistake(
        id="relative_error_no_floor",
        replaces="relative_error",
        description="I divided by |a| + |b| without the floor, so 0 / 0 gives nan.",
        code='''
def relative_error(a, b):
    return float(np.max(np.abs(a - b) / (np.abs(a) + np.abs(b))))
''',
        expect=("test_relative_error",),
        hint="0 / 0",
    ),
    Mistake(
        id="relative_error_global_ratio",
        replaces="relative_error",
        description="I divided the largest difference by the largest |a| + |b|.",
        code='''
def relative_error(a, b):
    return float(np.max(np.abs(a - b)) / max(1e-8, np.max(np.abs(a) + np.abs(b))))
''',
        expect=("test_relative_error",),
        hint="elementwise first",
    ),
    Mistake(
        id="relative_error_returns_array",
        replaces="relative_error",
        description="I returned the elementwise relative errors without taking their maximum.",
        code='''
def relative_error(a, b):
    return np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))
''',
        expect=("test_relative_error",),
        hint="one number",
    ),
    Mistake(
        id="relative_error_np_max",
        replaces="relative_error",
        description="I wrote np.max(1e-8, |a| + |b|) for the elementwise maximum.",
        code='''
def relative_error(a, b):
    return float(np.max(np.abs(a - b) / np.max(1e-8, np.abs(a) + np.abs(b))))
''',
        expect=("test_relative_error",),
        hint="np.maximum",
    ),
    Mistake(
        id="relative_error_divides_by_a",
        replaces="relative_error",
        description="I divided by |a| only.",
        code='''
def relative_error(a, b):
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a))))
''',
        expect=("test_relative_error",),
        hint="|a| only",
    ),
]
