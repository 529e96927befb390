"""Wrong answers that students really write for ex01-mlp.

Each entry replaces one function of the reference solution (``code`` is run after the solution
cells, in the same namespace, so it may call the other functions of the exercise) and must make
at least the test cells in ``expect`` fail with a message that points at the mistake. ``hint``,
when given, is a phrase that the message of the hidden check of ``replaces`` must contain
(case-insensitive): the diagnosis a student gets.
"""

from __future__ import annotations

from catalogue import Mistake


MISTAKES: list[Mistake] = [
    # ---------------------------------------------------------------- linear
    Mistake(
        id="linear_not_transposed",
        replaces="linear",
        description="I multiplied by W as it is, X @ W + b, forgetting that W has one row per neuron.",
        code='''
def linear(X, W, b):
    return X @ W + b
''',
        expect=("test_linear", "test_mlp_forward"),
        hint="X @ W.T",
    ),
    Mistake(
        id="linear_transposed_the_wrong_way",
        replaces="linear",
        description="I wrote the layer as in the lecture, W x + b, with the samples as columns: W @ X.T.",
        code='''
def linear(X, W, b):
    return W @ X.T + b[:, None]
''',
        expect=("test_linear", "test_mlp_forward"),
        hint="transpose of the answer",
    ),
    Mistake(
        id="linear_no_bias",
        replaces="linear",
        description="I forgot to add the bias.",
        code='''
def linear(X, W, b):
    return X @ W.T
''',
        expect=("test_linear", "test_mlp_forward"),
        hint="bias b is missing",
    ),
    Mistake(
        id="linear_bias_wrong_axis",
        replaces="linear",
        description="I reshaped the bias into a column, b[:, None], which adds b[i] to sample i.",
        code='''
def linear(X, W, b):
    return X @ W.T + b[:, None]
''',
        expect=("test_linear",),
        hint="b has shape",
    ),
    # ---------------------------------------------------------------- relu
    Mistake(
        id="relu_boolean_mask",
        replaces="relu",
        description="I returned the mask of the positive entries instead of the entries.",
        code='''
def relu(z):
    return z > 0
''',
        expect=("test_relu",),
        hint="boolean",
    ),
    Mistake(
        id="relu_in_place",
        replaces="relu",
        description="I set the negative entries to zero in place, which changes the caller's array.",
        code='''
def relu(z):
    z[z < 0] = 0
    return z
''',
        expect=("test_relu",),
        hint="in place",
    ),
    Mistake(
        id="relu_np_max",
        replaces="relu",
        description="I wrote np.max(z, 0), which is the largest entry along axis 0, not the ReLU.",
        code='''
def relu(z):
    return np.max(z, 0)
''',
        expect=("test_relu",),
        hint="np.maximum",
    ),
    Mistake(
        id="relu_python_max",
        replaces="relu",
        description="I used Python's max(0, z), which cannot compare an array with 0.",
        code='''
def relu(z):
    return max(0, z)
''',
        expect=("test_relu",),
        hint="entry by entry",
    ),
    Mistake(
        id="relu_minimum",
        replaces="relu",
        description="I used np.minimum instead of np.maximum.",
        code='''
def relu(z):
    return np.minimum(z, 0.0)
''',
        expect=("test_relu",),
        hint="negative part",
    ),
    # ---------------------------------------------------------------- sigmoid
    Mistake(
        id="sigmoid_naive",
        replaces="sigmoid",
        description="I wrote the formula as it stands, 1 / (1 + exp(-z)), which overflows for z = -1e4.",
        code='''
def sigmoid(z):
    return 1 / (1 + np.exp(-z))
''',
        expect=("test_sigmoid",),
        hint="overflow",
    ),
    Mistake(
        id="sigmoid_where_both_branches",
        replaces="sigmoid",
        description="I chose the stable branch with np.where, which still computes both branches.",
        code='''
def sigmoid(z):
    return np.where(z >= 0, 1 / (1 + np.exp(-z)), np.exp(z) / (1 + np.exp(z)))
''',
        expect=("test_sigmoid",),
        hint="np.where",
    ),
    Mistake(
        id="sigmoid_sign",
        replaces="sigmoid",
        description="I dropped the minus sign: 1 / (1 + exp(z)) (stable, but it is sigmoid(-z)).",
        code='''
def sigmoid(z):
    t = np.exp(-np.abs(z))
    return np.where(z >= 0, t / (1 + t), 1 / (1 + t))
''',
        expect=("test_sigmoid",),
        hint="sigmoid(-z)",
    ),
    Mistake(
        id="sigmoid_wrong_numerator",
        replaces="sigmoid",
        description="In the stable branch for z < 0 I wrote exp(-z) / (1 + exp(-z)) instead of exp(z) / (1 + exp(z)).",
        code='''
def sigmoid(z):
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1 / (1 + np.exp(-z[pos]))
    out[~pos] = np.exp(-z[~pos]) / (1 + np.exp(-z[~pos]))
    return out
''',
        expect=("test_sigmoid",),
        hint="numerator",
    ),
    # ---------------------------------------------------------------- mlp_forward
    Mistake(
        id="mlp_returns_preactivation",
        replaces="mlp_forward",
        description="I returned the pre-activation X @ W.T + b as h instead of g of it.",
        code='''
def mlp_forward(X, W, b, V, c, g=relu, o=None):
    a = linear(X, W, b)
    h = g(a)
    y = linear(h, V, c)
    if o is not None:
        y = o(y)
    return y, a
''',
        expect=("test_mlp_forward",),
        hint="pre-activation",
    ),
    Mistake(
        id="mlp_activation_when_o_is_none",
        replaces="mlp_forward",
        description="I used g on the output layer when no output activation was given.",
        code='''
def mlp_forward(X, W, b, V, c, g=relu, o=None):
    if o is None:
        o = g
    h = g(linear(X, W, b))
    return o(linear(h, V, c)), h
''',
        expect=("test_mlp_forward",),
        hint="o=None",
    ),
    Mistake(
        id="mlp_g_on_output_too",
        replaces="mlp_forward",
        description="I applied g after both layers, and then o on top.",
        code='''
def mlp_forward(X, W, b, V, c, g=relu, o=None):
    h = g(linear(X, W, b))
    y = g(linear(h, V, c))
    if o is not None:
        y = o(y)
    return y, h
''',
        expect=("test_mlp_forward",),
        hint="g to the output too",
    ),
    Mistake(
        id="mlp_ignores_g",
        replaces="mlp_forward",
        description="I always used relu in the hidden layer, ignoring the argument g.",
        code='''
def mlp_forward(X, W, b, V, c, g=relu, o=None):
    h = relu(linear(X, W, b))
    y = linear(h, V, c)
    if o is not None:
        y = o(y)
    return y, h
''',
        expect=("test_mlp_forward",),
        hint="ignored the argument g",
    ),
    Mistake(
        id="mlp_swapped_return",
        replaces="mlp_forward",
        description="I returned (h, y) instead of (y, h).",
        code='''
def mlp_forward(X, W, b, V, c, g=relu, o=None):
    h = g(linear(X, W, b))
    y = linear(h, V, c)
    if o is not None:
        y = o(y)
    return h, y
''',
        expect=("test_mlp_forward",),
        hint="(y, h)",
    ),
    Mistake(
        id="mlp_V_not_transposed",
        replaces="mlp_forward",
        description="I multiplied the hidden layer by V instead of V.T.",
        code='''
def mlp_forward(X, W, b, V, c, g=relu, o=None):
    h = g(X @ W.T + b)
    y = h @ V + c
    if o is not None:
        y = o(y)
    return y, h
''',
        expect=("test_mlp_forward",),
        hint="h @ V.T",
    ),
]
