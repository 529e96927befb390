"""NumPy layers vs PyTorch on the CPU: the exercises' reference implementations against torch.

The NumPy code is the reference solution of ``solutions/ex06-conv`` and ``solutions/ex07-pooling``,
run straight from those sources (``cnnbook.notebooks.source_namespace``): nothing is copied here.
Both sides get the same number of threads (torch's intra-op pool and OpenBLAS, set before NumPy
is imported). Each figure is the median time of ours over the median time of torch's, sampled in
alternation after a warm-up.

- ``conv2d_forward`` vs ``torch.nn.functional.conv2d``: at most 3x;
- ``conv2d_backward`` vs torch autograd (the backward alone: ``torch.autograd.grad`` of an output
  whose graph is kept): at most 5x;
- ``conv2d_forward_naive`` vs ``conv2d_forward``: the speed-up, reported;
- ``maxpool2d_forward`` vs ``F.max_pool2d`` and ``maxpool2d_backward`` vs its autograd backward:
  at most 3x. The exercise's backward is given ``X``, not the forward's argmax, so it must find the
  maxima again, while torch's backward scatters through the indices its forward saved; a second
  line, also held to 3x, compares it with torch computing the same ``dX`` from the same
  ``(dout, X)`` (forward and backward).

The cases are the lecture's layer (64 images 3x32x32, 6 filters 5x5) and LeNet-5's C3 (64 maps
6x14x14, 16 filters 5x5); the pooling cases are LeNet-5's S2 (64x6x28x28) and S4 (64x16x10x10),
2x2 windows with stride 2. Every case runs in float64 (the exercises' dtype) and float32 (the inputs
cast, the same NumPy code called; the dtype it returns is reported).
"""

from __future__ import annotations

import os
import sys

from bench.common import family_main, line, quiet, say, time_pair

CONV_CASES = {
    "lecture": ("lecture", (64, 3, 32, 32), (6, 3, 5, 5)),
    "lenet-c3": ("LeNet C3", (64, 6, 14, 14), (16, 6, 5, 5)),
}
POOL_CASES = {
    "lenet-s2": ("LeNet S2", (64, 6, 28, 28)),
    "lenet-s4": ("LeNet S4", (64, 16, 10, 10)),
}
DTYPES = ("float64", "float32")
QUICK_BATCH = 4

WHY_CONV_FORWARD = (
    "Why: the reference contracts a sliding_window_view of the padded input with np.einsum, which "
    "copies every window into an im2col matrix (N*H'*W' rows of C*HH*WW numbers) before one BLAS "
    "product (OpenBLAS); torch runs oneDNN's convolution kernels in float32 and its own im2col with MKL "
    "in float64. What would close it: avoiding the window copy, e.g. one matrix product per kernel offset "
    "(a, b) on the strided slice X_pad[:, :, a::S, b::S], accumulated into the output; that is a change "
    "to the reference in solutions/ex06-conv (Part 5)."
)
WHY_CONV_BACKWARD = (
    "Why: the reference computes dW with an einsum over the windows (an im2col copy) and dX with one "
    "strided += per kernel offset (HH*WW passes over dX_pad), in NumPy with OpenBLAS; torch's backward "
    "is its tuned convolution-backward kernels (oneDNN in float32). What would close it: computing dX and "
    "dW with one matrix product per kernel offset on strided slices (no im2col copy), a change to the "
    "reference in solutions/ex06-conv (Part 6)."
)
WHY_POOL_FORWARD = (
    "Why: the reference takes np.maximum of size*size strided slices X[:, :, a::stride, b::stride], "
    "one whole-array pass each, where torch's max_pool2d reads the input once in a fused C++ loop. What "
    "would close it: fewer passes, e.g. a reshape to (N, C, H', size, W', size) and one .max over two "
    "axes when stride == size (a change to the reference in solutions/ex07-pooling)."
)
WHY_POOL_BACKWARD = (
    "Why: the exercise's maxpool2d_backward(dout, X) is given X, not the forward's argmax, so it must "
    "pool X again and find each window's first maximum (size*size comparisons over whole arrays) before "
    "routing dout; torch's autograd backward only scatters dout through the indices its forward saved, "
    "a single pass. The like-for-like figure, torch computing the same dX from the same (dout, X), is "
    "the next line. What would close it: a forward that returns its argmax as a cache for the backward, "
    "which changes the exercise's contract (CURRICULUM.md, ex07-pooling)."
)
WHY_POOL_BACKWARD_SAME_INPUTS = (
    "Why: torch runs max_pool2d's forward (keeping the indices) and its backward as two fused C++ "
    "loops; the reference pools X again and routes dout with about five NumPy passes per window offset. "
    "What would close it: fewer passes per offset in solutions/ex07-pooling."
)


def run(args) -> dict:
    threads = args.threads
    import numpy as np
    import torch
    import torch.nn.functional as F

    from cnnbook.notebooks import source_namespace

    torch.set_num_threads(threads)
    blas = os.environ.get("OPENBLAS_NUM_THREADS")
    if blas != str(threads):
        say(f"warning: OPENBLAS_NUM_THREADS is {blas!r}, not {threads}: run through python -m bench")
    with quiet():  # the sources print their worked examples
        conv = source_namespace("ex06-conv")
        pool = source_namespace("ex07-pooling")
    rng = np.random.default_rng(0)
    timing = dict(repeat=3, min_sample_s=0.002, warmup=1) if args.quick else dict(repeat=15, min_sample_s=0.05, warmup=2)
    results = []

    def batch(shape):
        return (QUICK_BATCH, *shape[1:]) if args.quick else shape

    for case, (name, x_shape, w_shape) in CONV_CASES.items():
        x_shape = batch(x_shape)
        label = f"{name} {'x'.join(map(str, x_shape))}, {w_shape[0]} filters {w_shape[2]}x{w_shape[3]}"
        for dtype in DTYPES:
            X = rng.standard_normal(x_shape).astype(dtype)
            W = rng.standard_normal(w_shape).astype(dtype)
            b = rng.standard_normal(w_shape[0]).astype(dtype)
            Xt, Wt, bt = (torch.from_numpy(a) for a in (X, W, b))

            say(f"conv2d_forward, {case}, {dtype}")
            out = conv["conv2d_forward"](X, W, b)
            ref_out = F.conv2d(Xt, Wt, bt).numpy()
            t = time_pair(lambda: conv["conv2d_forward"](X, W, b), lambda: F.conv2d(Xt, Wt, bt), **timing)
            results.append(_ratio_line(
                f"layers.conv2d_forward.{case}.{dtype}", f"conv2d_forward vs torch conv2d, {label}, {dtype}", t,
                "conv2d_forward (ex06 reference)", "torch.nn.functional.conv2d", 3.0, WHY_CONV_FORWARD,
                dict(returned_dtype=str(out.dtype), max_abs_diff=float(np.max(np.abs(out - ref_out))),
                     shape_x=list(x_shape), shape_w=list(w_shape))))

            say(f"conv2d_backward, {case}, {dtype}")
            dout = rng.standard_normal(out.shape).astype(dtype)
            dX, dW, db = conv["conv2d_backward"](dout, X, W)
            xr, wr, br = (a.clone().requires_grad_() for a in (Xt, Wt, bt))
            graph = F.conv2d(xr, wr, br)
            dout_t = torch.from_numpy(dout)
            gx, gw, gb = torch.autograd.grad(graph, (xr, wr, br), dout_t, retain_graph=True)
            diff = max(float(np.max(np.abs(a - g.numpy()))) for a, g in ((dX, gx), (dW, gw), (db, gb)))
            t = time_pair(lambda: conv["conv2d_backward"](dout, X, W),
                          lambda: torch.autograd.grad(graph, (xr, wr, br), dout_t, retain_graph=True), **timing)
            results.append(_ratio_line(
                f"layers.conv2d_backward.{case}.{dtype}", f"conv2d_backward vs torch autograd, {label}, {dtype}", t,
                "conv2d_backward (ex06 reference)", "torch autograd backward of conv2d", 5.0, WHY_CONV_BACKWARD,
                dict(returned_dtype=str(dX.dtype), max_abs_diff=diff)))

        say(f"conv2d_forward_naive, {case}, float64 (slow)")
        X = rng.standard_normal(x_shape)
        W = rng.standard_normal(w_shape)
        b = rng.standard_normal(w_shape[0])
        slow = conv["conv2d_forward_naive"](X, W, b)
        fast = conv["conv2d_forward"](X, W, b)
        t = time_pair(lambda: conv["conv2d_forward_naive"](X, W, b), lambda: conv["conv2d_forward"](X, W, b),
                      repeat=3 if not args.quick else 1, min_sample_s=0.0, warmup=0)
        results.append(line(
            f"layers.naive_speedup.{case}.float64", f"conv2d_forward_naive vs conv2d_forward, {label}, float64",
            ours=t["reference_s"] * 1e3, reference=t["ours_s"] * 1e3, unit="ms",
            ours_label="conv2d_forward (vectorised)", reference_label="conv2d_forward_naive (four loops)",
            figure=t["ours_s"] / t["reference_s"], figure_unit="x speed-up",
            note="Reported, no target (the exercise asks its students for at least 20x).",
            details=dict(max_abs_diff=float(np.max(np.abs(slow - fast))), repeat=t["repeat"], samples_s=t["samples_s"])))

    for case, (name, x_shape) in POOL_CASES.items():
        x_shape = batch(x_shape)
        label = f"{name} {'x'.join(map(str, x_shape))}, 2x2/2"
        for dtype in DTYPES:
            X = rng.standard_normal(x_shape).astype(dtype)
            Xt = torch.from_numpy(X)

            say(f"maxpool2d_forward, {case}, {dtype}")
            Y = pool["maxpool2d_forward"](X, 2, 2)
            ref_Y = F.max_pool2d(Xt, 2, 2).numpy()
            t = time_pair(lambda: pool["maxpool2d_forward"](X, 2, 2), lambda: F.max_pool2d(Xt, 2, 2), **timing)
            results.append(_ratio_line(
                f"layers.maxpool2d_forward.{case}.{dtype}", f"maxpool2d_forward vs torch max_pool2d, {label}, {dtype}", t,
                "maxpool2d_forward (ex07 reference)", "torch.nn.functional.max_pool2d", 3.0, WHY_POOL_FORWARD,
                dict(returned_dtype=str(Y.dtype), max_abs_diff=float(np.max(np.abs(Y - ref_Y))), shape_x=list(x_shape))))

            say(f"maxpool2d_backward, {case}, {dtype}")
            dout = rng.standard_normal(Y.shape).astype(dtype)
            dX = pool["maxpool2d_backward"](dout, X, 2, 2)
            xr = Xt.clone().requires_grad_()
            graph = F.max_pool2d(xr, 2, 2)
            dout_t = torch.from_numpy(dout)
            (gx,) = torch.autograd.grad(graph, (xr,), dout_t, retain_graph=True)
            t = time_pair(lambda: pool["maxpool2d_backward"](dout, X, 2, 2),
                          lambda: torch.autograd.grad(graph, (xr,), dout_t, retain_graph=True), **timing)

            def torch_forward_backward():
                x = Xt.clone().requires_grad_()
                return torch.autograd.grad(F.max_pool2d(x, 2, 2), (x,), dout_t)

            both = time_pair(lambda: pool["maxpool2d_backward"](dout, X, 2, 2), torch_forward_backward, **timing)
            diff = float(np.max(np.abs(dX - gx.numpy())))
            results.append(_ratio_line(
                f"layers.maxpool2d_backward.{case}.{dtype}", f"maxpool2d_backward vs torch autograd, {label}, {dtype}", t,
                "maxpool2d_backward (ex07 reference)", "torch autograd backward of max_pool2d (saved indices)", 3.0,
                WHY_POOL_BACKWARD, dict(returned_dtype=str(dX.dtype), max_abs_diff=diff)))
            results.append(_ratio_line(
                f"layers.maxpool2d_backward_same_inputs.{case}.{dtype}",
                f"maxpool2d_backward vs torch fwd+bwd, {label}, {dtype}", both,
                "maxpool2d_backward (ex07 reference)", "torch max_pool2d forward + autograd backward", 3.0,
                WHY_POOL_BACKWARD_SAME_INPUTS, dict(returned_dtype=str(dX.dtype), max_abs_diff=diff)))

    return {"results": results, "settings": {
        "threads": {"torch": torch.get_num_threads(), "openblas": blas},
        "numpy": np.__version__, "torch": torch.__version__,
        "timing": timing, "quick_batch": QUICK_BATCH if args.quick else None,
    }}


def _ratio_line(id, benchmark, t, ours_label, reference_label, target, missed_note, details):
    given = id.rsplit(".", 1)[1]
    if details.get("returned_dtype") not in (None, given):
        benchmark += f" (returns {details['returned_dtype']})"
    details = {**details, "calls_per_sample": t["calls_per_sample"], "repeat": t["repeat"],
               "samples_ms": {k: [round(s * 1e3, 4) for s in v] for k, v in t["samples_s"].items()}}
    return line(id, benchmark, ours=t["ours_s"] * 1e3, reference=t["reference_s"] * 1e3, unit="ms",
                ours_label=ours_label, reference_label=reference_label,
                figure=t["ours_s"] / t["reference_s"], figure_unit="x torch", op="<=", target=target,
                missed_note=missed_note, details=details)


def main(argv=None):
    family_main("layers", run, argv)


if __name__ == "__main__":
    sys.exit(main())
