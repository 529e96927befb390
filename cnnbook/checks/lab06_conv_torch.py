"""Hidden checks of ``lab06-conv-torch`` (from ``torch.nn.Conv2d`` to NumPy and back).

One ``check_<function>(fn)`` per graded function of the lab. The oracles are independent of the
student's code: ``torch.nn.functional.conv2d`` in float64 for the convolutions, an explicit
float64 NumPy sum over the kernel's offsets for the filters, and held-out accuracy on a data set
of oriented bars drawn here (not the lab's own generator) for the training. Every call of the
student's functions goes through ``_common.call``, with seeded inputs, in the same order on
every run. The checks run on ``cnnbook.device()``, the CPU when there is no GPU.
"""

from __future__ import annotations

import contextlib
import numbers
import time

import numpy as np

from ._common import (
    best_time,
    call,
    call_text,
    check_array,
    describe,
    expect_error,
    fail,
    rel_error,
)

SEED = 6006

#: Best-of-3 wall time allowed to ``conv2d_numpy`` on the lecture's example (64 images 32x32x3,
#: 6 filters 5x5x3): a vectorised version takes ~10 ms, four nested Python loops seconds.
SPEED_BOUND_S = 0.5

#: Longest a training run of ``train_conv`` on the checks' data set may take, in seconds (the
#: reference takes well under one second on one CPU core).
TRAIN_BOUND_S = 12.0

#: Held-out accuracy a trained bar classifier must reach (the reference reaches 1.0).
MIN_ACCURACY = 0.9

#: Largest error accepted from a float32 computation, relative to the largest output value.
FLOAT32_TOL = 2e-5


def _torch():
    import torch

    return torch


def _device():
    from cnnbook import device

    return device()


def _rng(salt: int) -> np.random.Generator:
    return np.random.default_rng([SEED, salt])


def _make_conv(rng, c_in, c_out, k, *, stride=1, padding=0, bias=True, dtype=None, device=None, **kw):
    """A ``Conv2d`` whose parameters are drawn from ``rng`` (torch's global RNG is left alone)."""
    torch = _torch()
    conv = torch.nn.Conv2d(c_in, c_out, k, stride=stride, padding=padding, bias=bias, dtype=dtype, **kw)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(rng.standard_normal(tuple(conv.weight.shape))))
        if conv.bias is not None:
            conv.bias.copy_(torch.from_numpy(rng.standard_normal(tuple(conv.bias.shape))))
    return conv.to(device) if device is not None else conv


def _conv64(X, W, b, stride, pad):
    """The oracle: torch's cross-correlation in float64 on the CPU (floors like every torch layer)."""
    torch = _torch()
    F = torch.nn.functional
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64))  # noqa: E731
    return F.conv2d(t(X), t(W), t(b), stride=stride, padding=pad).numpy()


# --------------------------------------------------------------------------------------------
# numpy_weights

def check_numpy_weights(fn):
    """``numpy_weights(conv)`` -> ``(W, b)``: float64 NumPy copies of the layer's parameters."""
    torch = _torch()
    rng = _rng(1)
    name = "numpy_weights"
    dev = _device()
    cases = [
        ("Conv2d(3, 6, 5)", dict(c_in=3, c_out=6, k=5)),
        ("Conv2d(1, 4, 3, bias=False)", dict(c_in=1, c_out=4, k=3, bias=False)),
        ("Conv2d(2, 3, (3, 5), dtype=torch.float64)", dict(c_in=2, c_out=3, k=(3, 5), dtype=torch.float64)),
        (f"Conv2d(4, 2, 1) on device {dev.type!r}", dict(c_in=4, c_out=2, k=1, device=dev)),
        ("Conv2d(3, 8, 3, stride=2, padding=1)", dict(c_in=3, c_out=8, k=3, stride=2, padding=1)),
    ]
    for label, kw in cases:
        conv = _make_conv(rng, **kw)
        W_true = conv.weight.detach().cpu().double().numpy().copy()
        b_true = (np.zeros(conv.out_channels) if conv.bias is None
                  else conv.bias.detach().cpu().double().numpy().copy())
        text = f"{name}({label})"

        def explain(err):
            msg = str(err)
            if "requires grad" in msg:
                return "A parameter requires grad: call .detach() before .numpy()."
            if "cuda" in msg.lower() or "mps" in msg.lower() or "device" in msg.lower():
                return "The layer is on a GPU: move the tensors to the CPU with .cpu() before .numpy()."
            if isinstance(err, AttributeError) and "NoneType" in msg:
                return "This layer has no bias (conv.bias is None): return b = np.zeros(conv.out_channels)."
            return None

        result = call(fn, name, [("conv", conv)], explain=explain)
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            fail(f"{text} returned {describe(result)}; expected a tuple (W, b) of NumPy arrays.")
        W, b = result
        for what, got in (("W", W), ("b", b)):
            if isinstance(got, np.ndarray) and got.dtype != np.float64:
                fail(f"{text}: {what} has dtype {got.dtype}; expected float64. The layer's parameters are "
                     f"{str(conv.weight.dtype).replace('torch.', '')}: convert them with .astype(np.float64) "
                     "(float32 to float64 is exact).")
        flat = int(np.prod(W_true.shape[1:]))
        layout = "W keeps the layer's own layout (F, C, HH, WW): no reshape, no transpose."
        check_array(W, W_true, what="W", text=text,
                    shape_hints=[((W_true.shape[0], flat), layout), ((flat, W_true.shape[0]), layout)])
        check_array(b, b_true, what="b", text=text,
                    shape_hints=[((0,), "A layer without bias has b = np.zeros(conv.out_channels)."),
                                 ((), "A layer without bias has b = np.zeros(conv.out_channels).")])
        # Copies, not views: changing the arrays must leave the layer alone, and the other way round.
        W += 1.0
        b += 1.0
        if not np.array_equal(conv.weight.detach().cpu().double().numpy(), W_true):
            fail(f"{text}: adding 1 to the returned W changed conv.weight: W shares the layer's memory "
                 "(.numpy() returns a view, and .double() or np.asarray(..., dtype=np.float64) do not copy a "
                 "tensor or an array that is float64 already). Return a copy, e.g. with .copy(), "
                 ".astype(np.float64) or np.array(...).")
        if conv.bias is not None and not np.array_equal(conv.bias.detach().cpu().double().numpy(), b_true):
            fail(f"{text}: adding 1 to the returned b changed conv.bias: b shares the layer's memory. "
                 "Return a copy, e.g. with .copy() or np.array(...).")


# --------------------------------------------------------------------------------------------
# conv2d_numpy

_CONV_CASES = [
    # N, C, H, W, F, HH, WW, S, P
    (2, 3, 32, 32, 6, 5, 5, 1, 0),   # the lecture
    (1, 1, 5, 5, 1, 3, 3, 2, 1),
    (2, 3, 7, 9, 4, 3, 5, 2, 1),     # rectangular kernel
    (1, 2, 7, 7, 3, 3, 3, 3, 0),     # stride 3 on 7: the last column is dropped, as in torch
    (2, 1, 8, 6, 2, 3, 3, 2, 0),     # 8 - 3 = 5 is odd: torch floors
    (1, 3, 6, 5, 2, 2, 2, 2, 1),     # floors along the width only
    (2, 2, 5, 5, 3, 1, 1, 1, 0),     # 1x1 kernel
    (1, 2, 4, 4, 2, 4, 4, 1, 0),     # kernel as large as the input
    (3, 1, 9, 9, 2, 3, 3, 1, 2),     # more padding than needed
]


def _conv_candidates(X, W, b, S, P, expected):
    Ho, Wo = expected.shape[2:]
    cands = [
        ("Your output equals the oracle with the kernel flipped: torch (and every CNN library) computes a "
         "cross-correlation, out[n, f, i, j] = sum(X_pad[n, :, i*S:i*S+HH, j*S:j*S+WW] * W[f]) + b[f].",
         lambda: _conv64(X, W[:, :, ::-1, ::-1], b, S, P)),
        ("The bias is missing: add b[f] to every output value of filter f.",
         lambda: _conv64(X, W, np.zeros_like(b), S, P)),
    ]
    if S > 1:
        cands.append((f"You ignored the stride: output (i, j) reads the window at input row i*S, column j*S (S={S}).",
                      lambda: _conv64(X, W, b, 1, P)[:, :, :Ho, :Wo]))
    return cands


def check_conv2d_numpy(fn):
    """``conv2d_numpy(X, W, b, stride=1, pad=0)``: NumPy only, equal to ``torch.nn.functional.conv2d``
    in float64 (flooring the output size as torch does), and vectorised."""
    rng = _rng(2)
    name = "conv2d_numpy"
    for N, C, H, Wd, F, HH, WW, S, P in _CONV_CASES:
        X = rng.standard_normal((N, C, H, Wd))
        W = rng.standard_normal((F, C, HH, WW))
        b = rng.standard_normal(F)
        expected = _conv64(X, W, b, S, P)
        args = [("X", X), ("W", W), ("b", b)]
        kwargs = {"stride": S, "pad": P}
        uneven = (H + 2 * P - HH) % S or (Wd + 2 * P - WW) % S

        def explain(err, uneven=uneven, Ho=expected.shape[2], Wo=expected.shape[3]):
            if uneven and isinstance(err, ValueError):
                return (f"Here the filter does not fit evenly; the lab's convolution must match torch, which "
                        f"floors: H' = (H - HH + 2P) // S + 1 = {Ho}, W' = {Wo}, and the leftover rows and "
                        "columns are never read. Do not raise, as exercise 6 did: floor.")
            return None

        got = call(fn, name, args, kwargs, forbid=True, explain=explain)
        N_, F_, Ho, Wo = expected.shape
        hints = [((N, F, Ho + 1, Wo + 1), "One output position too many: torch floors, H' = (H - HH + 2P) // S + 1."),
                 ((N, Ho, Wo, F), "That is NHWC: return NCHW, (N, F, H', W').")]
        if S > 1:
            hints.append(((N, F, H + 2 * P - HH + 1, Wd + 2 * P - WW + 1),
                          f"That is the stride-1 output: you ignored the stride S={S}."))
        if P:
            hints.append(((N, F, (H - HH) // S + 1, (Wd - WW) // S + 1),
                          f"That is the output without padding: you ignored pad={P}."))
        check_array(got, expected, what="the output", text=call_text(name, args, kwargs),
                    candidates=_conv_candidates(X, W, b, S, P, expected),
                    shape_hints=[(s, m) for s, m in hints if s != expected.shape])
    for xs, ws, bs, why in [((2, 3, 5, 5), (4, 2, 3, 3), (4,), "X has 3 channels but W has 2"),
                            ((2, 3, 5, 5), (4, 1, 3, 3), (4,), "X has 3 channels but W has 1 (broadcasting would hide it)"),
                            ((2, 3, 5, 5), (4, 3, 3, 3), (5,), "b must have shape (F,) = (4,)"),
                            ((1, 1, 3, 3), (1, 1, 5, 5), (1,), "the 5x5 filter is larger than the 3x3 input")]:
        args = [("X", rng.standard_normal(xs)), ("W", rng.standard_normal(ws)), ("b", rng.standard_normal(bs))]
        expect_error(fn, name, args, error=ValueError, why=why)
    X = rng.standard_normal((64, 3, 32, 32))
    W = rng.standard_normal((6, 3, 5, 5))
    b = rng.standard_normal(6)
    args = [("X", X), ("W", W), ("b", b)]
    seconds = best_time(lambda: call(fn, name, args, mutation=False), bound=SPEED_BOUND_S)
    if seconds > SPEED_BOUND_S:
        fail(f"{call_text(name, args)} took {seconds:.2f} s (best of up to 3 runs); a vectorised version takes a "
             f"few milliseconds, and {SPEED_BOUND_S} s is the most allowed. Use "
             "np.lib.stride_tricks.sliding_window_view and np.einsum (or im2col and one matrix product).")


# --------------------------------------------------------------------------------------------
# conv_layer_numpy

class _Spy:
    """Wraps the student's ``conv2d_numpy`` to see whether ``conv_layer_numpy`` calls it."""

    def __init__(self, inner):
        self.inner = inner
        self.calls = 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.inner(*args, **kwargs)


def check_conv_layer_numpy(fn):
    """``conv_layer_numpy(conv, X)``: the layer's output computed by ``conv2d_numpy`` in float64,
    equal to the layer's own computation in float64."""
    torch = _torch()
    rng = _rng(3)
    name = "conv_layer_numpy"
    namespace = getattr(fn, "__globals__", {})
    inner = namespace.get("conv2d_numpy")
    if inner is None:
        fail(f"{name} must use your conv2d_numpy, but no function conv2d_numpy is defined in the notebook.")
    cases = [
        ("Conv2d(3, 6, 5)", dict(c_in=3, c_out=6, k=5), (2, 3, 12, 12)),
        ("Conv2d(3, 4, 3, stride=2, padding=1)", dict(c_in=3, c_out=4, k=3, stride=2, padding=1), (2, 3, 9, 9)),
        ("Conv2d(1, 2, 3, padding=2, bias=False)", dict(c_in=1, c_out=2, k=3, padding=2, bias=False), (1, 1, 6, 7)),
        ("Conv2d(2, 3, (3, 5), stride=(2, 2), padding=(1, 1))",
         dict(c_in=2, c_out=3, k=(3, 5), stride=(2, 2), padding=(1, 1)), (1, 2, 7, 9)),
        ("Conv2d(2, 2, 3, stride=2)", dict(c_in=2, c_out=2, k=3, stride=2), (2, 2, 8, 8)),  # torch floors
    ]
    for label, kw, x_shape in cases:
        conv = _make_conv(rng, **kw)
        X = rng.standard_normal(x_shape)
        W = conv.weight.detach().double().numpy().copy()
        b = np.zeros(conv.out_channels) if conv.bias is None else conv.bias.detach().double().numpy().copy()
        S, P = conv.stride[0], conv.padding[0]
        expected = _conv64(X, W, b, S, P)
        text = f"{name}(conv={label}, X of shape {x_shape})"
        spy = _Spy(inner)
        namespace["conv2d_numpy"] = spy
        try:
            got = call(fn, name, [("conv", conv), ("X", X)])
        finally:
            namespace["conv2d_numpy"] = inner
        if spy.calls == 0:
            fail(f"{text} never called conv2d_numpy: convert the layer's weights with numpy_weights and compute "
                 "the output with YOUR NumPy convolution (torch computing the layer is what it is compared with).")
        if next(conv.parameters()).dtype != torch.float32:
            fail(f"{text} changed the layer's dtype to {next(conv.parameters()).dtype}: conv.double() converts the "
                 "layer in place. Leave the layer alone; convert copies of its weights with numpy_weights.")
        N, F = x_shape[0], conv.out_channels
        Ho, Wo = expected.shape[2:]
        hints = []
        if P:
            hints.append(((N, F, (x_shape[2] - W.shape[2]) // S + 1, (x_shape[3] - W.shape[3]) // S + 1),
                          f"That is the output without padding: pass the layer's padding, conv.padding = {conv.padding}."))
        if S > 1:
            hints.append(((N, F, x_shape[2] + 2 * P - W.shape[2] + 1, x_shape[3] + 2 * P - W.shape[3] + 1),
                          f"That is the stride-1 output: pass the layer's stride, conv.stride = {conv.stride}."))
        cands = [("The layer's bias is missing: add it (numpy_weights gives it).",
                  lambda: _conv64(X, W, np.zeros_like(b), S, P))]
        check_array(got, expected, what="the output", text=text, candidates=cands,
                    shape_hints=[(s, m) for s, m in hints if s != expected.shape])
    unsupported = [
        ("Conv2d(2, 2, 3, dilation=2)", dict(dilation=2), "the layer is dilated (conv.dilation == (2, 2))"),
        ("Conv2d(2, 2, 3, groups=2)", dict(groups=2), "the layer has groups=2 (each filter sees one channel)"),
        ("Conv2d(2, 2, 3, padding=1, padding_mode='reflect')", dict(padding=1, padding_mode="reflect"),
         "the layer pads by reflection, not with zeros (conv.padding_mode == 'reflect')"),
        ("Conv2d(2, 2, 3, stride=(1, 2))", dict(stride=(1, 2)), "the strides along H and W differ"),
        ("Conv2d(2, 2, 3, padding=(0, 1))", dict(padding=(0, 1)), "the paddings along H and W differ"),
        ("Conv2d(2, 2, 3, padding='same')", dict(padding="same"), "the padding is the string 'same'"),
    ]
    for label, kw, why in unsupported:
        conv = _make_conv(rng, 2, 2, 3, **kw)
        X = rng.standard_normal((1, 2, 6, 6))
        expect_error(fn, name, [("conv", conv), ("X", X)], error=ValueError,
                     why=f"{why}, which conv2d_numpy does not implement: {label}")


# --------------------------------------------------------------------------------------------
# apply_filter

def _filter_oracle(image, kernel, *, flip=False, mode="constant", mix=False):
    """Cross-correlation of every channel with ``kernel``, zero padding k // 2: a float64 sum
    over the kernel's offsets. ``flip``, ``mode`` and ``mix`` reproduce common mistakes."""
    k = kernel[::-1, ::-1] if flip else kernel
    planes = image[..., None] if image.ndim == 2 else image
    r = k.shape[0] // 2
    padded = np.pad(planes, ((r, r), (r, r), (0, 0)), mode=mode)
    H, W = planes.shape[:2]
    out = np.zeros(planes.shape)
    for u in range(k.shape[0]):
        for v in range(k.shape[1]):
            out += k[u, v] * padded[u:u + H, v:v + W]
    if mix:
        out = np.repeat(out.sum(axis=2, keepdims=True), out.shape[2], axis=2)
    return out[..., 0] if image.ndim == 2 else out


def _check_float32_close(got, expected, text, candidates, k):
    if not isinstance(got, np.ndarray):
        if (type(got).__module__ or "").split(".")[0] == "torch":
            fail(f"{text} returned a torch tensor; return a NumPy array: .cpu().numpy(), then .astype(np.float64).")
        fail(f"{text} returned {describe(got)}; expected a NumPy array of shape {expected.shape}.")
    if got.shape != expected.shape:
        extra = ""
        if got.shape[:2] == tuple(e - k + 1 for e in expected.shape[:2]):
            extra = (" The output is smaller than the image: pad with k // 2 zeros on each side "
                     "(padding=k // 2 in conv2d).")
        elif expected.ndim == 3 and got.shape == (expected.shape[2],) + expected.shape[:2]:
            extra = " That is channels first: return (H, W, C), the layout of the image."
        fail(f"{text} returned an array of shape {got.shape}; expected the image's shape {expected.shape}.{extra}")
    if got.dtype != np.float64:
        fail(f"{text} returned dtype {got.dtype}; expected float64: convert the result with .astype(np.float64).")
    scale = max(1.0, float(np.abs(expected).max()))
    err = float(np.abs(got - expected).max()) / scale
    if err <= FLOAT32_TOL:
        return
    for explanation, make in candidates:
        cand = make()
        if float(np.abs(got - cand).max()) / scale <= FLOAT32_TOL:
            fail(f"{text} is wrong (error {err:.1e} relative to the largest value). {explanation}")
    first = tuple(int(i) for i in np.unravel_index(np.argmax(np.abs(got - expected)), got.shape))
    fail(f"{text} is wrong: the largest difference is at index {first}: got {got[first]:.6g}, expected "
         f"{expected[first]:.6g} (error {err:.1e} relative to the largest value; float32 gives ~1e-7).")


def check_apply_filter(fn):
    """``apply_filter(image, kernel, device=None)``: every channel cross-correlated with the kernel,
    zero padding, the image's shape, float64 NumPy; compared with a float64 NumPy sum."""
    rng = _rng(4)
    name = "apply_filter"
    sobel = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])
    cases = [
        (rng.random((9, 11)), sobel, None),
        (rng.random((8, 7, 3)), sobel.T, None),
        (rng.random((10, 10)), np.full((5, 5), 1 / 25), "cpu"),
        (rng.random((6, 9, 3)), rng.standard_normal((3, 3)), None),
        (rng.random((7, 7, 2)), rng.standard_normal((5, 5)), None),
        (rng.random((12, 5)), np.array([[0.0, -1.0, 0.0], [-1.0, 5.0, -1.0], [0.0, -1.0, 0.0]]), None),
        (rng.random((4, 4)), np.array([[2.0]]), None),
    ]
    for image, kernel, device in cases:
        args = [("image", image), ("kernel", kernel)]
        kwargs = {} if device is None else {"device": device}
        text = call_text(name, args, kwargs)
        got = call(fn, name, args, kwargs)
        expected = _filter_oracle(image, kernel)
        cands = [
            ("The kernel was flipped (a true convolution): torch's conv2d is a cross-correlation; pass the kernel "
             "as it is.", lambda: _filter_oracle(image, kernel, flip=True)),
            ("The border is not zero-padded: use padding=k // 2 with zeros (torch's default), not reflection.",
             lambda: _filter_oracle(image, kernel, mode="reflect")),
            ("The border is not zero-padded: use padding=k // 2 with zeros (torch's default), not replication.",
             lambda: _filter_oracle(image, kernel, mode="edge")),
        ]
        if image.ndim == 3:
            cands.append(("The channels were mixed: each output channel is the sum over all input channels. Filter "
                          "every channel separately (e.g. put the channels on the batch axis, (C, 1, H, W)).",
                          lambda: _filter_oracle(image, kernel, mix=True)))
        _check_float32_close(got, expected, text, cands, kernel.shape[0])
    for image, kernel, why in [(rng.random((6, 6)), np.ones((2, 2)), "an even kernel has no centre pixel"),
                               (rng.random((6, 6)), np.ones((3, 5)), "the kernel must be square")]:
        expect_error(fn, name, [("image", image), ("kernel", kernel)], error=ValueError, why=why)


# --------------------------------------------------------------------------------------------
# train_conv

def make_bars_for_checks(n, size=12, seed=0, noise=0.15):
    """Oriented bars (0 horizontal, 1 vertical, 2 diagonal down, 3 diagonal up) drawn here, apart from
    the lab's own generator: a trained layer must generalise to them."""
    torch = _torch()
    rng = np.random.default_rng([SEED, 50, seed])
    X = rng.normal(0.0, noise, (n, 1, size, size)).astype(np.float32)
    y = rng.integers(0, 4, n)
    steps = [(0, 1), (1, 0), (1, 1), (-1, 1)]
    for i in range(n):
        length = int(rng.integers(4, 8))
        dr, dc = steps[int(y[i])]
        rows = (length - 1, size - 1) if dr < 0 else (0, size - 1 - dr * (length - 1))
        r0 = int(rng.integers(rows[0], rows[1] + 1))
        c0 = int(rng.integers(0, size - dc * (length - 1)))
        for t in range(length):
            X[i, 0, r0 + dr * t, c0 + dc * t] += 1.0
    return torch.from_numpy(X), torch.from_numpy(y)


@contextlib.contextmanager
def _one_thread():
    """Train with one CPU thread (restored afterwards): the bar networks are tiny, and several threads
    on a busy machine spend their time waiting for each other (seen: 16 s instead of 0.4 s)."""
    torch = _torch()
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _accuracy(model, X, y, device):
    torch = _torch()
    with torch.no_grad():
        logits = model(X.to(device))
    return float((logits.argmax(dim=1).cpu() == y).float().mean())


def check_train_conv(fn):
    """``train_conv(X, y, epochs=20, lr=0.05, seed=0, device=None)`` -> ``(model, losses)``: trains
    in bounded time, reproducibly, on the device, to a held-out accuracy of at least 0.9."""
    torch = _torch()
    name = "train_conv"
    dev = _device()
    X, y = make_bars_for_checks(600, seed=1)
    X_test, y_test = make_bars_for_checks(400, seed=2)
    args = [("X", X), ("y", y)]
    text = f"{name}(X of shape {tuple(X.shape)}, y of shape {tuple(y.shape)}, seed=3)"
    runs = []
    for _ in range(2):
        start = time.perf_counter()
        with _one_thread():
            result = call(fn, name, args, {"seed": 3})
        seconds = time.perf_counter() - start
        if seconds > TRAIN_BOUND_S:
            fail(f"{text} took {seconds:.1f} s; at most {TRAIN_BOUND_S:.0f} s are allowed (the reference needs "
                 "under one second on a CPU). Train on minibatches of the whole tensor, not one image at a time.")
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            fail(f"{text} returned {describe(result)}; expected a tuple (model, losses).")
        runs.append(result)
    model, losses = runs[0]
    if not isinstance(model, torch.nn.Module):
        fail(f"{text} returned {describe(model)} as the model; expected the trained torch.nn.Module.")
    if not isinstance(losses, (list, tuple)) or not all(isinstance(v, numbers.Real) and not isinstance(v, bool)
                                                        for v in losses):
        kinds = sorted({type(v).__name__ for v in losses}) if isinstance(losses, (list, tuple)) else []
        fail(f"{text} returned losses as {describe(losses)}" + (f" of {', '.join(kinds)}" if kinds else "")
             + "; expected a list of Python floats, one per epoch (loss.item()).")
    if len(losses) != 20:
        fail(f"{text} returned {len(losses)} losses; expected one per epoch, 20 with the default epochs=20 "
             "(the mean loss of the epoch, not one per minibatch).")
    if not all(np.isfinite(losses)):
        fail(f"{text} returned losses that are not finite: {list(losses)[:5]}...; lower the learning rate.")
    if not losses[-1] < 0.5 * losses[0]:
        fail(f"{text}: the loss did not fall (first epoch {losses[0]:.4g}, last {losses[-1]:.4g}); check "
             "optimizer.zero_grad(), loss.backward() and optimizer.step() in every step, and the learning rate.")
    params = list(model.parameters())
    if not params:
        fail(f"{text} returned a model without parameters.")
    if any(p.device.type != dev.type for p in params):
        where = sorted({p.device.type for p in params})
        fail(f"{text}: the model's parameters are on {where}; expected the device {dev.type!r} "
             "(cnnbook.device() when device=None): move the model and the data with .to(device).")
    other = runs[1][1]
    if isinstance(other, (list, tuple)) and len(other) == len(losses):
        if rel_error(np.asarray(other, dtype=float), np.asarray(losses, dtype=float)) > 1e-3:
            fail(f"{text} called twice gave different losses ({losses[0]:.6g}, ... vs {other[0]:.6g}, ...): seed "
                 "every random thing from `seed` (torch.manual_seed(seed) before building the model, and a "
                 "torch.Generator seeded with `seed` for the order of the examples).")
    accuracy = _accuracy(model, X_test, y_test, dev)
    if accuracy < MIN_ACCURACY:
        fail(f"{text}: the trained model classifies {accuracy:.1%} of 400 new bars correctly; at least "
             f"{MIN_ACCURACY:.0%} is expected (the reference reaches 100%). Check the loss (cross-entropy on "
             "the logits), the learning rate and that every epoch goes through all the examples.")
