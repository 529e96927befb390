"""Wrong answers that students really write for ex03-sgd.

Each entry replaces one function of the reference solution (``code`` is run after the solution
cells, in the same namespace, so it may call the other functions of the exercise) and must make
at least the test cells in ``expect`` fail with a message that points at the mistake. ``hint``,
when given, is a phrase that the message of the hidden check of ``replaces`` must contain
(case-insensitive): the diagnosis a student gets.
"""

from __future__ import annotations

from catalogue import Mistake

MISTAKES: list[Mistake] = [
    # ---------------------------------------------------------------- minibatches
    Mistake(
        id="minibatches_with_replacement",
        replaces="minibatches",
        description="I drew each batch's indices with rng.integers, so some examples come twice and others never.",
        code='''
def minibatches(n, batch_size, rng):
    for start in range(0, n, batch_size):
        yield rng.integers(0, n, size=min(batch_size, n - start))
''',
        expect=("test_minibatches",),
        hint="with replacement",
    ),
    Mistake(
        id="minibatches_choice_default_replace",
        replaces="minibatches",
        description="I used rng.choice(n, size=n), not knowing that choice samples with replacement by default.",
        code='''
def minibatches(n, batch_size, rng):
    order = rng.choice(n, size=n)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]
''',
        expect=("test_minibatches",),
        hint="with replacement",
    ),
    Mistake(
        id="minibatches_drop_last",
        replaces="minibatches",
        description="I only yielded full batches, dropping the short last one.",
        code='''
def minibatches(n, batch_size, rng):
    order = rng.permutation(n)
    for start in range(0, n - batch_size + 1, batch_size):
        yield order[start:start + batch_size]
''',
        expect=("test_minibatches",),
        hint="dropped the last",
    ),
    Mistake(
        id="minibatches_no_shuffle",
        replaces="minibatches",
        description="I forgot to shuffle: the batches are 0..b-1, b..2b-1, ... every epoch.",
        code='''
def minibatches(n, batch_size, rng):
    order = np.arange(n)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]
''',
        expect=("test_minibatches",),
        hint="must be shuffled",
    ),
    Mistake(
        id="minibatches_global_random",
        replaces="minibatches",
        description="I shuffled with np.random.permutation, the global random state, instead of rng.",
        code='''
def minibatches(n, batch_size, rng):
    order = np.random.permutation(n)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]
''',
        expect=("test_minibatches",),
        hint="global NumPy random state",
    ),
    Mistake(
        id="minibatches_fixed_seed",
        replaces="minibatches",
        description="I created my own generator with a fixed seed inside the function, ignoring rng.",
        code='''
def minibatches(n, batch_size, rng):
    order = np.random.default_rng(0).permutation(n)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]
''',
        expect=("test_minibatches",),
        hint="fixed seed",
    ),
    Mistake(
        id="minibatches_shuffle_batches_only",
        replaces="minibatches",
        description="I cut 0..n-1 into batches and shuffled the order of the batches, not the examples.",
        code='''
def minibatches(n, batch_size, rng):
    batches = [np.arange(start, min(start + batch_size, n)) for start in range(0, n, batch_size)]
    for k in rng.permutation(len(batches)):
        yield batches[k]
''',
        expect=("test_minibatches",),
        hint="consecutive indices",
    ),
    Mistake(
        id="minibatches_returns_none",
        replaces="minibatches",
        description="I built the list of batches and forgot to return it.",
        code='''
def minibatches(n, batch_size, rng):
    order = rng.permutation(n)
    batches = [order[start:start + batch_size] for start in range(0, n, batch_size)]
''',
        expect=("test_minibatches",),
        hint="not iterable",
    ),
    # ---------------------------------------------------------------- sgd_step
    Mistake(
        id="sgd_step_in_place",
        replaces="sgd_step",
        description="I updated the arrays in place with -= and returned the same list.",
        code='''
def sgd_step(params, grads, lr, weight_decay=0.0):
    if len(params) != len(grads):
        raise ValueError("lengths differ")
    for p, g in zip(params, grads):
        if p.shape != g.shape:
            raise ValueError("shapes differ")
        p -= lr * (g + weight_decay * p)
    return params
''',
        expect=("test_sgd_step",),
        hint="in place",
    ),
    Mistake(
        id="sgd_step_decay_wrong_sign",
        replaces="sgd_step",
        description="I subtracted the weight-decay term from the gradient instead of adding it.",
        code='''
def sgd_step(params, grads, lr, weight_decay=0.0):
    if len(params) != len(grads):
        raise ValueError("lengths differ")
    if any(p.shape != g.shape for p, g in zip(params, grads)):
        raise ValueError("shapes differ")
    return [p - lr * (g - weight_decay * p) for p, g in zip(params, grads)]
''',
        expect=("test_sgd_step",),
        hint="wrong sign",
    ),
    Mistake(
        id="sgd_step_decay_not_scaled",
        replaces="sgd_step",
        description="I read the lecture's update literally and did not multiply the decay by the learning rate.",
        code='''
def sgd_step(params, grads, lr, weight_decay=0.0):
    if len(params) != len(grads):
        raise ValueError("lengths differ")
    if any(p.shape != g.shape for p, g in zip(params, grads)):
        raise ValueError("shapes differ")
    return [p - lr * g - weight_decay * p for p, g in zip(params, grads)]
''',
        expect=("test_sgd_step",),
        hint="not multiplied by the learning rate",
    ),
    Mistake(
        id="sgd_step_no_decay",
        replaces="sgd_step",
        description="I forgot the weight_decay argument altogether.",
        code='''
def sgd_step(params, grads, lr, weight_decay=0.0):
    if len(params) != len(grads):
        raise ValueError("lengths differ")
    if any(p.shape != g.shape for p, g in zip(params, grads)):
        raise ValueError("shapes differ")
    return [p - lr * g for p, g in zip(params, grads)]
''',
        expect=("test_sgd_step", "test_fit_linear_regression_sgd"),
        hint="weight decay is missing",
    ),
    Mistake(
        id="sgd_step_uphill",
        replaces="sgd_step",
        description="I added the gradient instead of subtracting it.",
        code='''
def sgd_step(params, grads, lr, weight_decay=0.0):
    if len(params) != len(grads):
        raise ValueError("lengths differ")
    if any(p.shape != g.shape for p, g in zip(params, grads)):
        raise ValueError("shapes differ")
    return [p + lr * (g + weight_decay * p) for p, g in zip(params, grads)]
''',
        expect=("test_sgd_step", "test_fit_linear_regression_sgd"),
        hint="uphill",
    ),
    Mistake(
        id="sgd_step_zip_truncates",
        replaces="sgd_step",
        description="I zipped params and grads without checking them, so a missing gradient goes unnoticed.",
        code='''
def sgd_step(params, grads, lr, weight_decay=0.0):
    return [p - lr * (g + weight_decay * p) for p, g in zip(params, grads)]
''',
        expect=("test_sgd_step",),
        hint="should raise ValueError",
    ),
    # ---------------------------------------------------------------- fit_linear_regression_sgd
    Mistake(
        id="fit_decays_bias",
        replaces="fit_linear_regression_sgd",
        description="I passed both w and b to sgd_step with the same weight decay, so the bias is penalised too.",
        code='''
def fit_linear_regression_sgd(X, y, lr, epochs, batch_size, lam=0.0, seed=0):
    n, d = X.shape
    rng = np.random.default_rng(seed)
    w, b = np.zeros(d), np.zeros(())
    losses = []
    for _ in range(epochs):
        for idx in minibatches(n, batch_size, rng):
            r = X[idx] @ w + b - y[idx]
            w, b = sgd_step([w, b], [2 * X[idx].T @ r / len(idx), 2 * r.mean()], lr, weight_decay=2 * lam)
        losses.append(float(np.mean((X @ w + b - y) ** 2) + lam * w @ w))
    return w, float(b), losses
''',
        expect=("test_fit_linear_regression_sgd",),
        hint="penalised the bias",
    ),
    Mistake(
        id="fit_sums_gradient",
        replaces="fit_linear_regression_sgd",
        description="I summed the gradients over the batch instead of averaging them.",
        code='''
def fit_linear_regression_sgd(X, y, lr, epochs, batch_size, lam=0.0, seed=0):
    n, d = X.shape
    rng = np.random.default_rng(seed)
    w, b = np.zeros(d), 0.0
    losses = []
    for _ in range(epochs):
        for idx in minibatches(n, batch_size, rng):
            r = X[idx] @ w + b - y[idx]
            w = w - lr * (2 * X[idx].T @ r + 2 * lam * w)
            b = b - lr * 2 * r.sum()
        losses.append(float(np.mean((X @ w + b - y) ** 2) + lam * w @ w))
    return w, float(b), losses
''',
        expect=("test_fit_linear_regression_sgd",),
        hint="diverged",
    ),
    Mistake(
        id="fit_penalty_gradient_not_doubled",
        replaces="fit_linear_regression_sgd",
        description="I used weight_decay=lam, forgetting that the gradient of lam * ||w||^2 is 2 * lam * w.",
        code='''
def fit_linear_regression_sgd(X, y, lr, epochs, batch_size, lam=0.0, seed=0):
    n, d = X.shape
    rng = np.random.default_rng(seed)
    w, b = np.zeros(d), np.zeros(())
    losses = []
    for _ in range(epochs):
        for idx in minibatches(n, batch_size, rng):
            r = X[idx] @ w + b - y[idx]
            w, = sgd_step([w], [2 * X[idx].T @ r / len(idx)], lr, weight_decay=lam)
            b, = sgd_step([b], [2 * r.mean()], lr)
        losses.append(float(np.mean((X @ w + b - y) ** 2) + lam * w @ w))
    return w, float(b), losses
''',
        expect=("test_fit_linear_regression_sgd",),
        hint="factor of 2",
    ),
    Mistake(
        id="fit_losses_without_penalty",
        replaces="fit_linear_regression_sgd",
        description="I recorded the mean squared error only, without the penalty.",
        code='''
def fit_linear_regression_sgd(X, y, lr, epochs, batch_size, lam=0.0, seed=0):
    n, d = X.shape
    rng = np.random.default_rng(seed)
    w, b = np.zeros(d), np.zeros(())
    losses = []
    for _ in range(epochs):
        for idx in minibatches(n, batch_size, rng):
            r = X[idx] @ w + b - y[idx]
            w, = sgd_step([w], [2 * X[idx].T @ r / len(idx)], lr, weight_decay=2 * lam)
            b, = sgd_step([b], [2 * r.mean()], lr)
        losses.append(float(np.mean((X @ w + b - y) ** 2)))
    return w, float(b), losses
''',
        expect=("test_fit_linear_regression_sgd",),
        hint="leave out the penalty",
    ),
    Mistake(
        id="fit_losses_of_last_batch",
        replaces="fit_linear_regression_sgd",
        description="I recorded the loss of the last batch of each epoch, computed before its step.",
        code='''
def fit_linear_regression_sgd(X, y, lr, epochs, batch_size, lam=0.0, seed=0):
    n, d = X.shape
    rng = np.random.default_rng(seed)
    w, b = np.zeros(d), np.zeros(())
    losses = []
    for _ in range(epochs):
        for idx in minibatches(n, batch_size, rng):
            r = X[idx] @ w + b - y[idx]
            batch_loss = float(np.mean(r ** 2) + lam * w @ w)
            w, = sgd_step([w], [2 * X[idx].T @ r / len(idx)], lr, weight_decay=2 * lam)
            b, = sgd_step([b], [2 * r.mean()], lr)
        losses.append(batch_loss)
    return w, float(b), losses
''',
        expect=("test_fit_linear_regression_sgd",),
        hint="before each epoch",
    ),
    Mistake(
        id="fit_global_seed",
        replaces="fit_linear_regression_sgd",
        description="I seeded the global state with np.random.seed(seed) and shuffled with the np.random module.",
        code='''
def fit_linear_regression_sgd(X, y, lr, epochs, batch_size, lam=0.0, seed=0):
    n, d = X.shape
    np.random.seed(seed)
    w, b = np.zeros(d), np.zeros(())
    losses = []
    for _ in range(epochs):
        for idx in minibatches(n, batch_size, np.random):
            r = X[idx] @ w + b - y[idx]
            w, = sgd_step([w], [2 * X[idx].T @ r / len(idx)], lr, weight_decay=2 * lam)
            b, = sgd_step([b], [2 * r.mean()], lr)
        losses.append(float(np.mean((X @ w + b - y) ** 2) + lam * w @ w))
    return w, float(b), losses
''',
        expect=("test_fit_linear_regression_sgd",),
        hint="global NumPy random state",
    ),
    Mistake(
        id="fit_ignores_seed",
        replaces="fit_linear_regression_sgd",
        description="I created the generator without the seed, so every run shuffles differently.",
        code='''
def fit_linear_regression_sgd(X, y, lr, epochs, batch_size, lam=0.0, seed=0):
    n, d = X.shape
    rng = np.random.default_rng()
    w, b = np.zeros(d), np.zeros(())
    losses = []
    for _ in range(epochs):
        for idx in minibatches(n, batch_size, rng):
            r = X[idx] @ w + b - y[idx]
            w, = sgd_step([w], [2 * X[idx].T @ r / len(idx)], lr, weight_decay=2 * lam)
            b, = sgd_step([b], [2 * r.mean()], lr)
        losses.append(float(np.mean((X @ w + b - y) ** 2) + lam * w @ w))
    return w, float(b), losses
''',
        expect=("test_fit_linear_regression_sgd",),
        hint="same seed",
    ),
    Mistake(
        id="fit_no_factor_two",
        replaces="fit_linear_regression_sgd",
        description="I differentiated (x.w + b - y)^2 as (x.w + b - y) x, dropping the factor 2.",
        code='''
def fit_linear_regression_sgd(X, y, lr, epochs, batch_size, lam=0.0, seed=0):
    n, d = X.shape
    rng = np.random.default_rng(seed)
    w, b = np.zeros(d), np.zeros(())
    losses = []
    for _ in range(epochs):
        for idx in minibatches(n, batch_size, rng):
            r = X[idx] @ w + b - y[idx]
            w, = sgd_step([w], [X[idx].T @ r / len(idx)], lr, weight_decay=2 * lam)
            b, = sgd_step([b], [r.mean()], lr)
        losses.append(float(np.mean((X @ w + b - y) ** 2) + lam * w @ w))
    return w, float(b), losses
''',
        expect=("test_fit_linear_regression_sgd",),
        hint="lacks its factor 2",
    ),
    Mistake(
        id="fit_forgets_bias",
        replaces="fit_linear_regression_sgd",
        description="I never updated the bias, so b stays 0.",
        code='''
def fit_linear_regression_sgd(X, y, lr, epochs, batch_size, lam=0.0, seed=0):
    n, d = X.shape
    rng = np.random.default_rng(seed)
    w, b = np.zeros(d), 0.0
    losses = []
    for _ in range(epochs):
        for idx in minibatches(n, batch_size, rng):
            r = X[idx] @ w + b - y[idx]
            w, = sgd_step([w], [2 * X[idx].T @ r / len(idx)], lr, weight_decay=2 * lam)
        losses.append(float(np.mean((X @ w + b - y) ** 2) + lam * w @ w))
    return w, float(b), losses
''',
        expect=("test_fit_linear_regression_sgd",),
        hint="never updated",
    ),
]
