"""Wrong answers that students really write for ex07-pooling.

Each entry replaces one function of the reference solution (``code`` is run after the solution
cells, in the same namespace, so it may call the other functions of the exercise) and must make
at least the test cells in ``expect`` fail with a message that points at the mistake. ``hint``,
when given, is a phrase that the message of the hidden check of ``replaces`` must contain
(case-insensitive): the diagnosis a student gets.
"""

from __future__ import annotations

from catalogue import Mistake


MISTAKES: list[Mistake] = [
    # ---------------------------------------------------------------- output size
    Mistake(
        id="pool_size_floor",
        replaces="pool_output_size",
        description="I used floor division, as PyTorch does, and never raise when the window does not fit.",
        code='''
def pool_output_size(W, F, S):
    return (W - F) // S + 1
''',
        expect=("test_pool_output_size", "test_maxpool2d_forward", "test_avgpool2d_forward"),
        hint="floor division",
    ),
    Mistake(
        id="pool_size_float",
        replaces="pool_output_size",
        description="I used true division, so the size comes back as a float like 2.0.",
        code='''
def pool_output_size(W, F, S):
    if S < 1 or F > W or (W - F) % S != 0:
        raise ValueError("the window does not fit")
    return (W - F) / S + 1
''',
        expect=("test_pool_output_size",),
        hint="return an int",
    ),
    Mistake(
        id="pool_size_divides_by_window",
        replaces="pool_output_size",
        description="I divided by the window size instead of the stride (they are equal in the lecture).",
        code='''
def pool_output_size(W, F, S):
    if S < 1 or F > W or (W - F) % F != 0:
        raise ValueError("the window does not fit")
    return (W - F) // F + 1
''',
        expect=("test_pool_output_size",),
        hint="divide by the stride",
    ),
    Mistake(
        id="pool_size_no_plus_one",
        replaces="pool_output_size",
        description="I forgot the + 1 for the first window position.",
        code='''
def pool_output_size(W, F, S):
    if S < 1 or F > W or (W - F) % S != 0:
        raise ValueError("the window does not fit")
    return (W - F) // S
''',
        expect=("test_pool_output_size",),
        hint="+ 1",
    ),
    Mistake(
        id="pool_size_no_range_check",
        replaces="pool_output_size",
        description="I only check divisibility, so a window larger than the input gives a size <= 0.",
        code='''
def pool_output_size(W, F, S):
    if S <= 0 or (W - F) % S != 0:
        raise ValueError("the window does not fit evenly")
    return (W - F) // S + 1
''',
        expect=("test_pool_output_size",),
        hint="should raise ValueError",
    ),
    # ---------------------------------------------------------------- forward passes
    Mistake(
        id="maxpool_stride_is_size",
        replaces="maxpool2d_forward",
        description="My windows start at i * size: I assumed the stride always equals the window size.",
        code='''
def maxpool2d_forward(X, size=2, stride=2):
    N, C, H, W = X.shape
    H_out, W_out = pool_output_size(H, size, stride), pool_output_size(W, size, stride)
    out = np.zeros((N, C, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            out[:, :, i, j] = X[:, :, i * size:i * size + size, j * size:j * size + size].max(axis=(2, 3))
    return out
''',
        expect=("test_maxpool2d_forward",),
        hint="multiples of the stride",
    ),
    Mistake(
        id="maxpool_window_off_by_one",
        replaces="maxpool2d_forward",
        description="I sliced X[r:r + size - 1], thinking of the last row of the window as the slice's end.",
        code='''
def maxpool2d_forward(X, size=2, stride=2):
    N, C, H, W = X.shape
    H_out, W_out = pool_output_size(H, size, stride), pool_output_size(W, size, stride)
    out = np.zeros((N, C, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            r, c = i * stride, j * stride
            out[:, :, i, j] = X[:, :, r:r + size - 1 + (size == 1), c:c + size - 1 + (size == 1)].max(axis=(2, 3))
    return out
''',
        expect=("test_maxpool2d_forward",),
        hint="one pixel too small",
    ),
    Mistake(
        id="maxpool_running_max_from_zero",
        replaces="maxpool2d_forward",
        description="I kept a running maximum that starts at 0, so all-negative windows give 0.",
        code='''
def maxpool2d_forward(X, size=2, stride=2):
    N, C, H, W = X.shape
    H_out, W_out = pool_output_size(H, size, stride), pool_output_size(W, size, stride)
    out = np.zeros((N, C, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            for a in range(size):
                for b in range(size):
                    out[:, :, i, j] = np.maximum(out[:, :, i, j], X[:, :, i * stride + a, j * stride + b])
    return out
''',
        expect=("test_maxpool2d_forward",),
        hint="start at",
    ),
    Mistake(
        id="maxpool_over_channels",
        replaces="maxpool2d_forward",
        description="I took the maximum over the channels as well as over the window.",
        code='''
def maxpool2d_forward(X, size=2, stride=2):
    N, C, H, W = X.shape
    H_out, W_out = pool_output_size(H, size, stride), pool_output_size(W, size, stride)
    out = np.zeros((N, C, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            r, c = i * stride, j * stride
            out[:, :, i, j] = X[:, :, r:r + size, c:c + size].max(axis=(1, 2, 3))[:, None]
    return out
''',
        expect=("test_maxpool2d_forward",),
        hint="all channels",
    ),
    Mistake(
        id="maxpool_calls_torch",
        replaces="maxpool2d_forward",
        description="I let PyTorch do the pooling.",
        code='''
def maxpool2d_forward(X, size=2, stride=2):
    import torch
    N, C, H, W = X.shape
    pool_output_size(H, size, stride), pool_output_size(W, size, stride)
    return torch.nn.functional.max_pool2d(torch.from_numpy(X), size, stride).numpy()
''',
        expect=("test_maxpool2d_forward",),
        hint="must be implemented with NumPy",
    ),
    Mistake(
        id="avgpool_divides_by_size",
        replaces="avgpool2d_forward",
        description="I divided the window's sum by size instead of size ** 2.",
        code='''
def avgpool2d_forward(X, size=2, stride=2):
    N, C, H, W = X.shape
    H_out, W_out = pool_output_size(H, size, stride), pool_output_size(W, size, stride)
    out = np.zeros((N, C, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            r, c = i * stride, j * stride
            out[:, :, i, j] = X[:, :, r:r + size, c:c + size].sum(axis=(2, 3)) / size
    return out
''',
        expect=("test_avgpool2d_forward",),
        hint="divided the window's sum by size",
    ),
    Mistake(
        id="avgpool_ignores_stride",
        replaces="avgpool2d_forward",
        description="My window (i, j) starts at input row i and column j, whatever the stride.",
        code='''
def avgpool2d_forward(X, size=2, stride=2):
    N, C, H, W = X.shape
    H_out, W_out = pool_output_size(H, size, stride), pool_output_size(W, size, stride)
    out = np.zeros((N, C, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            out[:, :, i, j] = X[:, :, i:i + size, j:j + size].mean(axis=(2, 3))
    return out
''',
        expect=("test_avgpool2d_forward",),
        hint="ignored the stride",
    ),
    Mistake(
        id="avgpool_nhwc",
        replaces="avgpool2d_forward",
        description="I moved the channels last to pool and forgot to move them back.",
        code='''
def avgpool2d_forward(X, size=2, stride=2):
    N, C, H, W = X.shape
    pool_output_size(H, size, stride), pool_output_size(W, size, stride)
    windows = np.lib.stride_tricks.sliding_window_view(X.transpose(0, 2, 3, 1), (size, size), axis=(1, 2))
    return windows[:, ::stride, ::stride].mean(axis=(4, 5))
''',
        expect=("test_avgpool2d_forward",),
        hint="NHWC",
    ),
    # ---------------------------------------------------------------- backward passes
    Mistake(
        id="maxpool_back_every_tie",
        replaces="maxpool2d_backward",
        description="I built the mask window == window.max(), which sends the gradient to every tied maximum.",
        code='''
def maxpool2d_backward(dout, X, size=2, stride=2):
    N, C, H, W = X.shape
    H_out, W_out = pool_output_size(H, size, stride), pool_output_size(W, size, stride)
    dX = np.zeros(X.shape)
    for i in range(H_out):
        for j in range(W_out):
            r, c = i * stride, j * stride
            window = X[:, :, r:r + size, c:c + size]
            mask = window == window.max(axis=(2, 3), keepdims=True)
            dX[:, :, r:r + size, c:c + size] += mask * dout[:, :, i, j][:, :, None, None]
    return dX
''',
        expect=("test_maxpool2d_backward",),
        hint="FIRST maximum",
    ),
    Mistake(
        id="maxpool_back_last_tie",
        replaces="maxpool2d_backward",
        description="I scanned the window with >= and kept the last maximum found.",
        code='''
def maxpool2d_backward(dout, X, size=2, stride=2):
    N, C, H, W = X.shape
    H_out, W_out = pool_output_size(H, size, stride), pool_output_size(W, size, stride)
    dX = np.zeros(X.shape)
    for n in range(N):
        for ch in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    r, c = i * stride, j * stride
                    best, pos = -np.inf, None
                    for a in range(size):
                        for b in range(size):
                            if X[n, ch, r + a, c + b] >= best:
                                best, pos = X[n, ch, r + a, c + b], (r + a, c + b)
                    dX[n, ch, pos[0], pos[1]] += dout[n, ch, i, j]
    return dX
''',
        expect=("test_maxpool2d_backward",),
        hint="LAST maximum",
    ),
    Mistake(
        id="maxpool_back_channel_argmax",
        replaces="maxpool2d_backward",
        description="I took the argmax over the whole channel instead of inside each window.",
        code='''
def maxpool2d_backward(dout, X, size=2, stride=2):
    N, C, H, W = X.shape
    H_out, W_out = pool_output_size(H, size, stride), pool_output_size(W, size, stride)
    dX = np.zeros(X.shape)
    for n in range(N):
        for ch in range(C):
            a, b = np.unravel_index(np.argmax(X[n, ch]), (H, W))
            for i in range(H_out):
                for j in range(W_out):
                    dX[n, ch, a, b] += dout[n, ch, i, j]
    return dX
''',
        expect=("test_maxpool2d_backward",),
        hint="WHOLE channel",
    ),
    Mistake(
        id="maxpool_back_assigns",
        replaces="maxpool2d_backward",
        description="I assigned the gradient at the maximum (=) instead of adding it (+=).",
        code='''
def maxpool2d_backward(dout, X, size=2, stride=2):
    N, C, H, W = X.shape
    H_out, W_out = pool_output_size(H, size, stride), pool_output_size(W, size, stride)
    dX = np.zeros(X.shape)
    n_idx, c_idx = np.meshgrid(np.arange(N), np.arange(C), indexing="ij")
    for i in range(H_out):
        for j in range(W_out):
            r, c = i * stride, j * stride
            k = np.argmax(X[:, :, r:r + size, c:c + size].reshape(N, C, -1), axis=2)
            dX[n_idx, c_idx, r + k // size, c + k % size] = dout[:, :, i, j]
    return dX
''',
        expect=("test_maxpool2d_backward",),
        hint="accumulate with +=",
    ),
    Mistake(
        id="maxpool_back_assigns_window",
        replaces="maxpool2d_backward",
        description="I wrote each window's gradient into dX with =, the zeros of the mask included.",
        code='''
def maxpool2d_backward(dout, X, size=2, stride=2):
    N, C, H, W = X.shape
    H_out, W_out = pool_output_size(H, size, stride), pool_output_size(W, size, stride)
    dX = np.zeros(X.shape)
    for i in range(H_out):
        for j in range(W_out):
            r, c = i * stride, j * stride
            flat = X[:, :, r:r + size, c:c + size].reshape(N, C, -1)
            mask = np.arange(size * size) == np.argmax(flat, axis=2)[:, :, None]
            dX[:, :, r:r + size, c:c + size] = (mask * dout[:, :, i, j][:, :, None]).reshape(N, C, size, size)
    return dX
''',
        expect=("test_maxpool2d_backward",),
        hint="whole window",
    ),
    Mistake(
        id="maxpool_back_swapped_unravel",
        replaces="maxpool2d_backward",
        description="I turned the flat argmax k into (k % size, k // size): row and column swapped.",
        code='''
def maxpool2d_backward(dout, X, size=2, stride=2):
    N, C, H, W = X.shape
    H_out, W_out = pool_output_size(H, size, stride), pool_output_size(W, size, stride)
    dX = np.zeros(X.shape)
    n_idx, c_idx = np.meshgrid(np.arange(N), np.arange(C), indexing="ij")
    for i in range(H_out):
        for j in range(W_out):
            r, c = i * stride, j * stride
            k = np.argmax(X[:, :, r:r + size, c:c + size].reshape(N, C, -1), axis=2)
            np.add.at(dX, (n_idx, c_idx, r + k % size, c + k // size), dout[:, :, i, j])
    return dX
''',
        expect=("test_maxpool2d_backward",),
        hint="swapped",
    ),
    Mistake(
        id="avgpool_back_not_divided",
        replaces="avgpool2d_backward",
        description="I copied dout into every position of the window without dividing by the window size.",
        code='''
def avgpool2d_backward(dout, X_shape, size=2, stride=2):
    N, C, H, W = X_shape
    H_out, W_out = pool_output_size(H, size, stride), pool_output_size(W, size, stride)
    dX = np.zeros(X_shape)
    for i in range(H_out):
        for j in range(W_out):
            r, c = i * stride, j * stride
            dX[:, :, r:r + size, c:c + size] += dout[:, :, i, j][:, :, None, None]
    return dX
''',
        expect=("test_avgpool2d_backward",),
        hint="not divided by the window's size**2",
    ),
    Mistake(
        id="avgpool_back_assigns",
        replaces="avgpool2d_backward",
        description="I assigned each window's share (=), so overlapping windows overwrite each other.",
        code='''
def avgpool2d_backward(dout, X_shape, size=2, stride=2):
    N, C, H, W = X_shape
    H_out, W_out = pool_output_size(H, size, stride), pool_output_size(W, size, stride)
    dX = np.zeros(X_shape)
    for i in range(H_out):
        for j in range(W_out):
            r, c = i * stride, j * stride
            dX[:, :, r:r + size, c:c + size] = dout[:, :, i, j][:, :, None, None] / size ** 2
    return dX
''',
        expect=("test_avgpool2d_backward",),
        hint="accumulate with +=",
    ),
    Mistake(
        id="avgpool_back_divides_by_size",
        replaces="avgpool2d_backward",
        description="I divided the gradient by size instead of size ** 2.",
        code='''
def avgpool2d_backward(dout, X_shape, size=2, stride=2):
    N, C, H, W = X_shape
    H_out, W_out = pool_output_size(H, size, stride), pool_output_size(W, size, stride)
    dX = np.zeros(X_shape)
    for i in range(H_out):
        for j in range(W_out):
            r, c = i * stride, j * stride
            dX[:, :, r:r + size, c:c + size] += dout[:, :, i, j][:, :, None, None] / size
    return dX
''',
        expect=("test_avgpool2d_backward",),
        hint="divided by size",
    ),
    # ---------------------------------------------------------------- receptive field
    Mistake(
        id="rf_no_stride_product",
        replaces="receptive_field",
        description="I added up k - 1 for every layer, without the product of the strides.",
        code='''
def receptive_field(layers):
    r = 1
    for kernel, stride in layers:
        if kernel < 1 or stride < 1:
            raise ValueError("kernel and stride must be positive")
        r += kernel - 1
    return r
''',
        expect=("test_receptive_field",),
        hint="without the strides",
    ),
    Mistake(
        id="rf_own_stride",
        replaces="receptive_field",
        description="I updated the jump before adding the layer's kernel, so its own stride counts.",
        code='''
def receptive_field(layers):
    r, jump = 1, 1
    for kernel, stride in layers:
        if kernel < 1 or stride < 1:
            raise ValueError("kernel and stride must be positive")
        jump *= stride
        r += (kernel - 1) * jump
    return r
''',
        expect=("test_receptive_field",),
        hint="OWN stride",
    ),
    Mistake(
        id="rf_sums_kernels",
        replaces="receptive_field",
        description="I added up the kernel sizes.",
        code='''
def receptive_field(layers):
    if any(k < 1 or s < 1 for k, s in layers):
        raise ValueError("kernel and stride must be positive")
    return max(1, sum(k for k, s in layers))
''',
        expect=("test_receptive_field",),
        hint="Adding up the kernels",
    ),
    Mistake(
        id="rf_no_plus_one",
        replaces="receptive_field",
        description="I started the sum at 0 instead of 1.",
        code='''
def receptive_field(layers):
    r, jump = 0, 1
    for kernel, stride in layers:
        if kernel < 1 or stride < 1:
            raise ValueError("kernel and stride must be positive")
        r += (kernel - 1) * jump
        jump *= stride
    return r
''',
        expect=("test_receptive_field",),
        hint="forgot the '+ 1'",
    ),
    Mistake(
        id="rf_no_validation",
        replaces="receptive_field",
        description="The formula is right but I never check the kernels and strides.",
        code='''
def receptive_field(layers):
    r, jump = 1, 1
    for kernel, stride in layers:
        r += (kernel - 1) * jump
        jump *= stride
    return r
''',
        expect=("test_receptive_field",),
        hint="should raise ValueError",
    ),
]
