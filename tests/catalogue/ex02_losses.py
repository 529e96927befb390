"""Wrong answers that students really write for ex02-losses.

Each entry replaces one function of the reference solution (``code`` is run after the solution
cells, in the same namespace, so it may call the other functions of the exercise) and must make
at least the test cells in ``expect`` fail with a message that points at the mistake. ``hint``,
when given, is a phrase that the message of the hidden check of ``replaces`` must contain
(case-insensitive): the diagnosis a student gets.
"""

from __future__ import annotations

from catalogue import Mistake


MISTAKES: list[Mistake] = [
    # ---------------------------------------------------------------- gaussian_nll
    Mistake(
        id="gaussian_nll_no_constant",
        replaces="gaussian_nll",
        description="I dropped the constant 1/2 log(2 pi sigma^2) because it does not depend on the prediction.",
        code='''
def gaussian_nll(y_pred, y, sigma=1.0):
    return float(np.mean((y - y_pred) ** 2 / (2 * sigma ** 2)))
''',
        expect=("test_gaussian_nll",),
        hint="constant term is missing",
    ),
    Mistake(
        id="gaussian_nll_sigma_not_squared",
        replaces="gaussian_nll",
        description="I used sigma as if it were the variance.",
        code='''
def gaussian_nll(y_pred, y, sigma=1.0):
    return float(np.mean(0.5 * np.log(2 * np.pi * sigma) + (y - y_pred) ** 2 / (2 * sigma)))
''',
        expect=("test_gaussian_nll",),
        hint="variance sigma^2",
    ),
    Mistake(
        id="gaussian_nll_sum",
        replaces="gaussian_nll",
        description="I summed the negative log-likelihood over the samples instead of averaging it.",
        code='''
def gaussian_nll(y_pred, y, sigma=1.0):
    return float(np.sum(0.5 * np.log(2 * np.pi * sigma ** 2) + (y - y_pred) ** 2 / (2 * sigma ** 2)))
''',
        expect=("test_gaussian_nll",),
        hint="summed",
    ),
    Mistake(
        id="gaussian_nll_no_half_in_log",
        replaces="gaussian_nll",
        description="I forgot the 1/2 in front of log(2 pi sigma^2) (the square root in the density).",
        code='''
def gaussian_nll(y_pred, y, sigma=1.0):
    return float(np.mean(np.log(2 * np.pi * sigma ** 2) + (y - y_pred) ** 2 / (2 * sigma ** 2)))
''',
        expect=("test_gaussian_nll",),
        hint="factor 1/2",
    ),
    Mistake(
        id="gaussian_nll_torch_convention",
        replaces="gaussian_nll",
        description="I copied PyTorch's gaussian_nll_loss, which leaves out log(2 pi) by default.",
        code='''
def gaussian_nll(y_pred, y, sigma=1.0):
    var = sigma ** 2
    return float(np.mean(0.5 * (np.log(var) + (y - y_pred) ** 2 / var)))
''',
        expect=("test_gaussian_nll",),
        hint="log(2 pi)",
    ),
    # ---------------------------------------------------------------- mse_loss
    Mistake(
        id="mse_sum",
        replaces="mse_loss",
        description="I summed the squared errors instead of averaging them.",
        code='''
def mse_loss(y_pred, y):
    return float(np.sum((y_pred - y) ** 2))
''',
        expect=("test_mse_loss",),
        hint="summed",
    ),
    Mistake(
        id="mse_half",
        replaces="mse_loss",
        description="I put the 1/2 of the Gaussian likelihood into the mean squared error.",
        code='''
def mse_loss(y_pred, y):
    return float(0.5 * np.mean((y_pred - y) ** 2))
''',
        expect=("test_mse_loss",),
        hint="factor 1/2",
    ),
    Mistake(
        id="mse_rmse",
        replaces="mse_loss",
        description="I returned the root of the mean squared error.",
        code='''
def mse_loss(y_pred, y):
    return float(np.sqrt(np.mean((y_pred - y) ** 2)))
''',
        expect=("test_mse_loss",),
        hint="square root",
    ),
    # ---------------------------------------------------------------- bce_with_logits
    Mistake(
        id="bce_naive_sigmoid_then_log",
        replaces="bce_with_logits",
        description="I computed p = sigmoid(z), then -y log p - (1 - y) log(1 - p).",
        code='''
def bce_with_logits(z, y):
    p = 1 / (1 + np.exp(-z))
    return float(np.mean(-y * np.log(p) - (1 - y) * np.log(1 - p)))
''',
        expect=("test_bce_with_logits",),
        hint="log1p(np.exp(-np.abs(z)))",
    ),
    Mistake(
        id="bce_clipped_probabilities",
        replaces="bce_with_logits",
        description="I clipped the probabilities to [eps, 1 - eps] to avoid log(0).",
        code='''
def bce_with_logits(z, y):
    t = np.exp(-np.abs(z))
    p = np.where(z >= 0, 1 / (1 + t), t / (1 + t))
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return float(np.mean(-y * np.log(p) - (1 - y) * np.log(1 - p)))
''',
        expect=("test_bce_with_logits",),
        hint="capped",
    ),
    Mistake(
        id="bce_forgot_abs",
        replaces="bce_with_logits",
        description="I wrote the stable formula with exp(-z) instead of exp(-|z|).",
        code='''
def bce_with_logits(z, y):
    return float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-z))))
''',
        expect=("test_bce_with_logits",),
        hint="np.abs(z)",
    ),
    Mistake(
        id="bce_sum",
        replaces="bce_with_logits",
        description="I summed the losses of the samples instead of averaging them.",
        code='''
def bce_with_logits(z, y):
    return float(np.sum(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))
''',
        expect=("test_bce_with_logits",),
        hint="summed",
    ),
    Mistake(
        id="bce_logit_of_the_other_class",
        replaces="bce_with_logits",
        description="I mixed up the sign and computed the loss as if z were the logit of y = 0.",
        code='''
def bce_with_logits(z, y):
    return float(np.mean(np.maximum(-z, 0) + z * y + np.log1p(np.exp(-np.abs(z)))))
''',
        expect=("test_bce_with_logits",),
        hint="loss of -z",
    ),
    # ---------------------------------------------------------------- softmax
    Mistake(
        id="softmax_no_max",
        replaces="softmax",
        description="I exponentiated the logits directly, without subtracting the maximum.",
        code='''
def softmax(Z):
    e = np.exp(Z)
    return e / e.sum(axis=1, keepdims=True)
''',
        expect=("test_softmax",),
        hint="overflows",
    ),
    Mistake(
        id="softmax_wrong_axis",
        replaces="softmax",
        description="I normalised over axis 0, the samples, instead of over the classes.",
        code='''
def softmax(Z):
    e = np.exp(Z - Z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)
''',
        expect=("test_softmax",),
        hint="axis=1",
    ),
    Mistake(
        id="softmax_global_max",
        replaces="softmax",
        description="I subtracted the largest logit of the whole batch instead of each row's maximum.",
        code='''
def softmax(Z):
    e = np.exp(Z - Z.max())
    return e / e.sum(axis=1, keepdims=True)
''',
        expect=("test_softmax",),
        hint="underflowed",
    ),
    Mistake(
        id="softmax_no_keepdims",
        replaces="softmax",
        description="I forgot keepdims=True, so the row maxima and sums broadcast along the wrong axis.",
        code='''
def softmax(Z):
    e = np.exp(Z - Z.max(axis=1))
    return e / e.sum(axis=1)
''',
        expect=("test_softmax",),
        hint="keepdims=True",
    ),
    # ---------------------------------------------------------------- log_softmax
    Mistake(
        id="log_softmax_log_of_softmax",
        replaces="log_softmax",
        description="I computed np.log(softmax(Z)), which is -inf where a probability underflows to 0.",
        code='''
def log_softmax(Z):
    return np.log(softmax(Z))
''',
        expect=("test_log_softmax", "test_cross_entropy"),
        hint="log(0)",
    ),
    Mistake(
        id="log_softmax_no_max",
        replaces="log_softmax",
        description="I wrote z - log(sum(exp(z))) without the max shift.",
        code='''
def log_softmax(Z):
    return Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
''',
        expect=("test_log_softmax", "test_cross_entropy"),
        hint="overflows",
    ),
    Mistake(
        id="log_softmax_forgot_max_back",
        replaces="log_softmax",
        description="I subtracted the row maximum inside the log-sum-exp but did not add it back.",
        code='''
def log_softmax(Z):
    m = Z.max(axis=1, keepdims=True)
    return Z - np.log(np.exp(Z - m).sum(axis=1, keepdims=True))
''',
        expect=("test_log_softmax", "test_cross_entropy"),
        hint="add it back",
    ),
    Mistake(
        id="log_softmax_wrong_axis",
        replaces="log_softmax",
        description="I took the log-sum-exp over axis 0.",
        code='''
def log_softmax(Z):
    m = Z.max(axis=0, keepdims=True)
    return Z - m - np.log(np.exp(Z - m).sum(axis=0, keepdims=True))
''',
        expect=("test_log_softmax",),
        hint="axis=1",
    ),
    # ---------------------------------------------------------------- cross_entropy
    Mistake(
        id="cross_entropy_column_indexing",
        replaces="cross_entropy",
        description="I picked the true classes with L[:, labels], which selects whole columns.",
        code='''
def cross_entropy(logits, labels):
    return float(-np.mean(log_softmax(logits)[:, labels]))
''',
        expect=("test_cross_entropy",),
        hint="np.arange(n)",
    ),
    Mistake(
        id="cross_entropy_labels_as_one_hot",
        replaces="cross_entropy",
        description="I treated the integer labels as one-hot rows, as in the lecture's formula.",
        code='''
def cross_entropy(logits, labels):
    return float(-np.mean(np.sum(labels * log_softmax(logits), axis=1)))
''',
        expect=("test_cross_entropy",),
        hint="not one-hot",
    ),
    Mistake(
        id="cross_entropy_sum",
        replaces="cross_entropy",
        description="I summed over the samples instead of averaging.",
        code='''
def cross_entropy(logits, labels):
    n = logits.shape[0]
    return float(-np.sum(log_softmax(logits)[np.arange(n), labels]))
''',
        expect=("test_cross_entropy",),
        hint="summed",
    ),
    Mistake(
        id="cross_entropy_no_minus",
        replaces="cross_entropy",
        description="I returned the mean log-likelihood, forgetting the minus sign.",
        code='''
def cross_entropy(logits, labels):
    n = logits.shape[0]
    return float(np.mean(log_softmax(logits)[np.arange(n), labels]))
''',
        expect=("test_cross_entropy",),
        hint="sign is flipped",
    ),
    Mistake(
        id="cross_entropy_one_hot_mean",
        replaces="cross_entropy",
        description="I built the one-hot matrix correctly but averaged over all n * K entries.",
        code='''
def cross_entropy(logits, labels):
    one_hot = np.eye(logits.shape[1])[labels]
    return float(-np.mean(one_hot * log_softmax(logits)))
''',
        expect=("test_cross_entropy",),
        hint="n * K",
    ),
    Mistake(
        id="cross_entropy_log_of_softmax",
        replaces="cross_entropy",
        description="I took the log of the softmax probability of the true class.",
        code='''
def cross_entropy(logits, labels):
    n = logits.shape[0]
    return float(-np.mean(np.log(softmax(logits)[np.arange(n), labels])))
''',
        expect=("test_cross_entropy",),
        hint="log(0)",
    ),
    # ---------------------------------------------------------------- l2_penalty
    Mistake(
        id="l2_half",
        replaces="l2_penalty",
        description="I used lam / 2 * ||theta||^2, the convention of some books.",
        code='''
def l2_penalty(params, lam):
    return 0.5 * lam * sum(float(np.sum(p ** 2)) for p in params)
''',
        expect=("test_l2_penalty",),
        hint="1/2",
    ),
    Mistake(
        id="l2_not_squared",
        replaces="l2_penalty",
        description="I summed the absolute values (the L1 penalty) instead of the squares.",
        code='''
def l2_penalty(params, lam):
    return lam * sum(float(np.sum(np.abs(p))) for p in params)
''',
        expect=("test_l2_penalty",),
        hint="L1",
    ),
    Mistake(
        id="l2_norm_not_squared",
        replaces="l2_penalty",
        description="I used the norm of all the parameters, not its square.",
        code='''
def l2_penalty(params, lam):
    return lam * float(np.sqrt(sum(np.sum(p ** 2) for p in params)))
''',
        expect=("test_l2_penalty",),
        hint="SQUARED norm",
    ),
    Mistake(
        id="l2_sum_of_norms",
        replaces="l2_penalty",
        description="I added up np.linalg.norm of each array.",
        code='''
def l2_penalty(params, lam):
    return lam * sum(float(np.linalg.norm(p)) for p in params)
''',
        expect=("test_l2_penalty",),
        hint="added up the norms",
    ),
    Mistake(
        id="l2_return_in_loop",
        replaces="l2_penalty",
        description="My return statement is inside the loop, so only the first array counts.",
        code='''
def l2_penalty(params, lam):
    total = 0.0
    for p in params:
        total += np.sum(p ** 2)
        return lam * total
    return 0.0
''',
        expect=("test_l2_penalty",),
        hint="first array",
    ),
    Mistake(
        id="l2_squares_in_place",
        replaces="l2_penalty",
        description="I squared the arrays in place with **=, which changes the network's weights.",
        code='''
def l2_penalty(params, lam):
    total = 0.0
    for p in params:
        p **= 2
        total += p.sum()
    return lam * total
''',
        expect=("test_l2_penalty",),
        hint="in place",
    ),
]
