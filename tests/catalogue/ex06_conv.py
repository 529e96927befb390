"""Wrong answers that students really write for ex06-conv.

Each entry replaces one function of the reference solution (``code`` is run after the solution
cells, in the same namespace, so it may call the other functions of the exercise) and must make
at least the test cells in ``expect`` fail with a message that points at the mistake. ``hint``,
when given, is a phrase that the message of the hidden check of ``replaces`` must contain
(case-insensitive): the diagnosis a student gets.
"""

from __future__ import annotations

from catalogue import Mistake


MISTAKES: list[Mistake] = [
    # ---------------------------------------------------------------- counting parameters
    Mistake(
        id="fc_forgets_bias",
        replaces="fc_num_params",
        description="I counted the weights of the fully connected layer and forgot the biases.",
        code='''
def fc_num_params(in_shape, out_features, bias=True):
    return int(np.prod(in_shape)) * out_features
''',
        expect=("test_fc_num_params",),
        hint="forgot the biases",
    ),
    Mistake(
        id="fc_adds_dims",
        replaces="fc_num_params",
        description="I added the dimensions of the input shape instead of multiplying them.",
        code='''
def fc_num_params(in_shape, out_features, bias=True):
    return sum(in_shape) * out_features + (out_features if bias else 0)
''',
        expect=("test_fc_num_params",),
        hint="multiply",
    ),
    Mistake(
        id="fc_bias_always",
        replaces="fc_num_params",
        description="I always counted the biases, even with bias=False.",
        code='''
def fc_num_params(in_shape, out_features, bias=True):
    return int(np.prod(in_shape)) * out_features + out_features
''',
        expect=("test_fc_num_params",),
        hint="bias=False",
    ),
    Mistake(
        id="conv_params_forgets_bias",
        replaces="conv_num_params",
        description="I counted the filter weights and forgot the one bias per filter.",
        code='''
def conv_num_params(in_channels, out_channels, kernel_size, bias=True):
    k = kernel_size if isinstance(kernel_size, tuple) else (kernel_size, kernel_size)
    return out_channels * in_channels * k[0] * k[1]
''',
        expect=("test_conv_num_params",),
        hint="forgot the biases",
    ),
    Mistake(
        id="conv_params_no_in_channels",
        replaces="conv_num_params",
        description="I thought a 5x5 filter has 25 weights, forgetting that it spans all input channels.",
        code='''
def conv_num_params(in_channels, out_channels, kernel_size, bias=True):
    k = kernel_size if isinstance(kernel_size, tuple) else (kernel_size, kernel_size)
    return out_channels * k[0] * k[1] + (out_channels if bias else 0)
''',
        expect=("test_conv_num_params",),
        hint="spans all",
    ),
    Mistake(
        id="conv_params_bias_per_input_channel",
        replaces="conv_num_params",
        description="I gave each input channel a bias instead of each filter.",
        code='''
def conv_num_params(in_channels, out_channels, kernel_size, bias=True):
    k = kernel_size if isinstance(kernel_size, tuple) else (kernel_size, kernel_size)
    return out_channels * in_channels * k[0] * k[1] + (in_channels if bias else 0)
''',
        expect=("test_conv_num_params",),
        hint="one bias per filter",
    ),
    Mistake(
        id="conv_params_square_kernel_only",
        replaces="conv_num_params",
        description="I squared the first entry of kernel_size, as if every kernel were square.",
        code='''
def conv_num_params(in_channels, out_channels, kernel_size, bias=True):
    k = kernel_size[0] if isinstance(kernel_size, (tuple, list)) else kernel_size
    return out_channels * in_channels * k * k + (out_channels if bias else 0)
''',
        expect=("test_conv_num_params",),
        hint="HH * WW",
    ),
    Mistake(
        id="conv_params_int_kernel_only",
        replaces="conv_num_params",
        description="I wrote kernel_size ** 2, which breaks when kernel_size is a pair.",
        code='''
def conv_num_params(in_channels, out_channels, kernel_size, bias=True):
    return out_channels * in_channels * kernel_size ** 2 + (out_channels if bias else 0)
''',
        expect=("test_conv_num_params",),
        hint="TypeError",
    ),
    # ---------------------------------------------------------------- output size
    Mistake(
        id="output_size_floor",
        replaces="conv_output_size",
        description="I used floor division and never raise when the filter does not fit.",
        code='''
def conv_output_size(W, F, P=0, S=1):
    return (W - F + 2 * P) // S + 1
''',
        expect=("test_conv_output_size", "test_conv2d_forward_naive", "test_conv2d_forward"),
        hint="floor division",
    ),
    Mistake(
        id="output_size_float",
        replaces="conv_output_size",
        description="I used true division, so the size comes back as a float like 28.0.",
        code='''
def conv_output_size(W, F, P=0, S=1):
    if (W - F + 2 * P) % S != 0:
        raise ValueError("does not fit")
    return (W - F + 2 * P) / S + 1
''',
        expect=("test_conv_output_size",),
        hint="return an int",
    ),
    Mistake(
        id="output_size_no_range_check",
        replaces="conv_output_size",
        description="I only check divisibility, so a filter larger than the input gives a size <= 0.",
        code='''
def conv_output_size(W, F, P=0, S=1):
    if S <= 0 or (W - F + 2 * P) % S != 0:
        raise ValueError("the filter does not fit evenly")
    return (W - F + 2 * P) // S + 1
''',
        expect=("test_conv_output_size",),
        hint="should raise ValueError",
    ),
    Mistake(
        id="output_size_one_sided_padding",
        replaces="conv_output_size",
        description="I added the padding once, forgetting it is on both sides.",
        code='''
def conv_output_size(W, F, P=0, S=1):
    if S < 1 or F > W + P or (W - F + P) % S != 0:
        raise ValueError("the filter does not fit")
    return (W - F + P) // S + 1
''',
        expect=("test_conv_output_size",),
    ),
    # ---------------------------------------------------------------- padding and one step
    Mistake(
        id="zero_pad_all_axes",
        replaces="zero_pad",
        description="I called np.pad(X, pad), which pads the batch and channel axes too.",
        code='''
def zero_pad(X, pad):
    return np.pad(X, pad)
''',
        expect=("test_zero_pad",),
        hint="padded all four axes",
    ),
    Mistake(
        id="zero_pad_one_side",
        replaces="zero_pad",
        description="I padded only after the image (bottom and right), not before it.",
        code='''
def zero_pad(X, pad):
    return np.pad(X, ((0, 0), (0, 0), (0, pad), (0, pad)))
''',
        expect=("test_zero_pad",),
        hint="one side only",
    ),
    Mistake(
        id="zero_pad_one_side_double",
        replaces="zero_pad",
        description="I put all 2*pad zeros after the image, so the shape is right but the image is shifted.",
        code='''
def zero_pad(X, pad):
    return np.pad(X, ((0, 0), (0, 0), (0, 2 * pad), (0, 2 * pad)))
''',
        expect=("test_zero_pad",),
        hint="each side",
    ),
    Mistake(
        id="zero_pad_edge",
        replaces="zero_pad",
        description="I used np.pad with mode='edge', repeating the border pixels instead of zeros.",
        code='''
def zero_pad(X, pad):
    return np.pad(X, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="edge")
''',
        expect=("test_zero_pad",),
        hint="mode='constant'",
    ),
    Mistake(
        id="single_step_no_bias",
        replaces="conv_single_step",
        description="I returned the dot product and forgot the bias.",
        code='''
def conv_single_step(x_slice, w, b):
    return float(np.sum(x_slice * w))
''',
        expect=("test_conv_single_step",),
        hint="bias b is missing",
    ),
    Mistake(
        id="single_step_bias_every_product",
        replaces="conv_single_step",
        description="I wrote np.sum(x_slice * w + b), adding the bias to every product.",
        code='''
def conv_single_step(x_slice, w, b):
    return float(np.sum(x_slice * w + b))
''',
        expect=("test_conv_single_step", "test_conv2d_forward_naive"),
        hint="added b to every product",
    ),
    Mistake(
        id="single_step_per_channel",
        replaces="conv_single_step",
        description="I summed over the spatial axes only and returned one number per channel.",
        code='''
def conv_single_step(x_slice, w, b):
    return np.sum(x_slice * w, axis=(1, 2)) + b
''',
        expect=("test_conv_single_step",),
        hint="expected one number",
    ),
    Mistake(
        id="single_step_flipped",
        replaces="conv_single_step",
        description="I flipped the filter as in the mathematical convolution.",
        code='''
def conv_single_step(x_slice, w, b):
    return float(np.sum(x_slice * w[:, ::-1, ::-1]) + b)
''',
        expect=("test_conv_single_step",),
        hint="flipped",
    ),
    # ---------------------------------------------------------------- forward, loops
    Mistake(
        id="naive_flipped_kernel",
        replaces="conv2d_forward_naive",
        description="I flipped the kernel (true convolution) in the loops.",
        code='''
def conv2d_forward_naive(X, W, b, stride=1, pad=0):
    N, C, H, Wd = X.shape
    F, C_w, HH, WW = W.shape
    if C_w != C or b.shape != (F,):
        raise ValueError("shapes do not fit")
    H_out, W_out = conv_output_size(H, HH, pad, stride), conv_output_size(Wd, WW, pad, stride)
    X_pad = zero_pad(X, pad)
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    window = X_pad[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                    out[n, f, i, j] = np.sum(window * W[f, :, ::-1, ::-1]) + b[f]
    return out
''',
        expect=("test_conv2d_forward_naive",),
        hint="flipped",
    ),
    Mistake(
        id="naive_no_bias",
        replaces="conv2d_forward_naive",
        description="I computed the dot products and forgot to add the bias.",
        code='''
def conv2d_forward_naive(X, W, b, stride=1, pad=0):
    N, C, H, Wd = X.shape
    F, C_w, HH, WW = W.shape
    if C_w != C or b.shape != (F,):
        raise ValueError("shapes do not fit")
    H_out, W_out = conv_output_size(H, HH, pad, stride), conv_output_size(Wd, WW, pad, stride)
    X_pad = zero_pad(X, pad)
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    window = X_pad[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                    out[n, f, i, j] = np.sum(window * W[f])
    return out
''',
        expect=("test_conv2d_forward_naive",),
        hint="bias is missing",
    ),
    Mistake(
        id="naive_range_end_off_by_one",
        replaces="conv2d_forward_naive",
        description="I looped over start rows with range(0, Hp - HH, stride), one window short.",
        code='''
def conv2d_forward_naive(X, W, b, stride=1, pad=0):
    N, C, H, Wd = X.shape
    F, C_w, HH, WW = W.shape
    if C_w != C or b.shape != (F,):
        raise ValueError("shapes do not fit")
    H_out, W_out = conv_output_size(H, HH, pad, stride), conv_output_size(Wd, WW, pad, stride)
    X_pad = zero_pad(X, pad)
    Hp, Wp = X_pad.shape[2:]
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i, r in enumerate(range(0, Hp - HH, stride)):
                for j, c in enumerate(range(0, Wp - WW, stride)):
                    out[n, f, i, j] = conv_single_step(X_pad[n, :, r:r + HH, c:c + WW], W[f], b[f])
    return out
''',
        expect=("test_conv2d_forward_naive",),
        hint="one window early",
    ),
    Mistake(
        id="naive_stride_plus_one",
        replaces="conv2d_forward_naive",
        description="I stepped the window by stride + 1 (counting the gap between windows as the stride).",
        code='''
def conv2d_forward_naive(X, W, b, stride=1, pad=0):
    N, C, H, Wd = X.shape
    F, C_w, HH, WW = W.shape
    if C_w != C or b.shape != (F,):
        raise ValueError("shapes do not fit")
    H_out, W_out = conv_output_size(H, HH, pad, stride), conv_output_size(Wd, WW, pad, stride)
    X_pad = zero_pad(X, pad)
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    r, c = i * (stride + 1), j * (stride + 1)
                    out[n, f, i, j] = conv_single_step(X_pad[n, :, r:r + HH, c:c + WW], W[f], b[f])
    return out
''',
        expect=("test_conv2d_forward_naive",),
        hint="raised",
    ),
    Mistake(
        id="naive_ignores_stride",
        replaces="conv2d_forward_naive",
        description="I sized the output with the stride but read the window at (i, j) instead of (i*S, j*S).",
        code='''
def conv2d_forward_naive(X, W, b, stride=1, pad=0):
    N, C, H, Wd = X.shape
    F, C_w, HH, WW = W.shape
    if C_w != C or b.shape != (F,):
        raise ValueError("shapes do not fit")
    H_out, W_out = conv_output_size(H, HH, pad, stride), conv_output_size(Wd, WW, pad, stride)
    X_pad = zero_pad(X, pad)
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    out[n, f, i, j] = conv_single_step(X_pad[n, :, i:i + HH, j:j + WW], W[f], b[f])
    return out
''',
        expect=("test_conv2d_forward_naive",),
        hint="ignored the stride",
    ),
    Mistake(
        id="naive_relies_on_broadcasting",
        replaces="conv2d_forward_naive",
        description="I did not check the channels myself; NumPy broadcasting lets a 1-channel W through.",
        code='''
def conv2d_forward_naive(X, W, b, stride=1, pad=0):
    N, C, H, Wd = X.shape
    F, _, HH, WW = W.shape
    H_out, W_out = conv_output_size(H, HH, pad, stride), conv_output_size(Wd, WW, pad, stride)
    X_pad = zero_pad(X, pad)
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    r, c = i * stride, j * stride
                    out[n, f, i, j] = np.sum(X_pad[n, :, r:r + HH, c:c + WW] * W[f]) + b[f]
    return out
''',
        expect=("test_conv2d_forward_naive",),
        hint="should raise ValueError",
    ),
    # ---------------------------------------------------------------- forward, vectorised
    Mistake(
        id="fast_flipped_kernel",
        replaces="conv2d_forward",
        description="I flipped the kernel before the einsum, as for a true convolution.",
        code='''
def conv2d_forward(X, W, b, stride=1, pad=0):
    N, C, H, Wd = X.shape
    F, C_w, HH, WW = W.shape
    if C_w != C or b.shape != (F,):
        raise ValueError("shapes do not fit")
    conv_output_size(H, HH, pad, stride), conv_output_size(Wd, WW, pad, stride)
    win = np.lib.stride_tricks.sliding_window_view(zero_pad(X, pad), (HH, WW), axis=(2, 3))[:, :, ::stride, ::stride]
    return np.einsum("nchwij,fcij->nfhw", win, W[:, :, ::-1, ::-1]) + b[None, :, None, None]
''',
        expect=("test_conv2d_forward",),
        hint="flipped",
    ),
    Mistake(
        id="fast_bias_wrong_axis",
        replaces="conv2d_forward",
        description="I added b to the output directly (out + b), which broadcasts it along the last axis.",
        code='''
def conv2d_forward(X, W, b, stride=1, pad=0):
    N, C, H, Wd = X.shape
    F, C_w, HH, WW = W.shape
    if C_w != C or b.shape != (F,):
        raise ValueError("shapes do not fit")
    conv_output_size(H, HH, pad, stride), conv_output_size(Wd, WW, pad, stride)
    win = np.lib.stride_tricks.sliding_window_view(zero_pad(X, pad), (HH, WW), axis=(2, 3))[:, :, ::stride, ::stride]
    return np.einsum("nchwij,fcij->nfhw", win, W) + b
''',
        expect=("test_conv2d_forward",),
        hint="b[None, :, None, None]",
    ),
    Mistake(
        id="fast_bias_per_input_channel",
        replaces="conv2d_forward",
        description="I added the bias inside the sum over input channels, so it is counted C times.",
        code='''
def conv2d_forward(X, W, b, stride=1, pad=0):
    N, C, H, Wd = X.shape
    F, C_w, HH, WW = W.shape
    if C_w != C or b.shape != (F,):
        raise ValueError("shapes do not fit")
    conv_output_size(H, HH, pad, stride), conv_output_size(Wd, WW, pad, stride)
    win = np.lib.stride_tricks.sliding_window_view(zero_pad(X, pad), (HH, WW), axis=(2, 3))[:, :, ::stride, ::stride]
    per_channel = np.einsum("nchwij,fcij->nfchw", win, W) + b[None, :, None, None, None]
    return per_channel.sum(axis=2)
''',
        expect=("test_conv2d_forward",),
        hint="once per input channel",
    ),
    Mistake(
        id="fast_ignores_stride",
        replaces="conv2d_forward",
        description="I took every window of sliding_window_view and forgot [::stride, ::stride].",
        code='''
def conv2d_forward(X, W, b, stride=1, pad=0):
    N, C, H, Wd = X.shape
    F, C_w, HH, WW = W.shape
    if C_w != C or b.shape != (F,):
        raise ValueError("shapes do not fit")
    conv_output_size(H, HH, pad, stride), conv_output_size(Wd, WW, pad, stride)
    win = np.lib.stride_tricks.sliding_window_view(zero_pad(X, pad), (HH, WW), axis=(2, 3))
    return np.einsum("nchwij,fcij->nfhw", win, W) + b[None, :, None, None]
''',
        expect=("test_conv2d_forward",),
        hint="ignored the stride",
    ),
    Mistake(
        id="fast_pads_batch_and_channels",
        replaces="conv2d_forward",
        description="I padded X with np.pad(X, pad) myself, which pads the batch and channel axes too.",
        code='''
def conv2d_forward(X, W, b, stride=1, pad=0):
    N, C, H, Wd = X.shape
    F, C_w, HH, WW = W.shape
    if C_w != C or b.shape != (F,):
        raise ValueError("shapes do not fit")
    conv_output_size(H, HH, pad, stride), conv_output_size(Wd, WW, pad, stride)
    win = np.lib.stride_tricks.sliding_window_view(np.pad(X, pad), (HH, WW), axis=(2, 3))[:, :, ::stride, ::stride]
    return np.tensordot(win, W, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2) + b[None, :, None, None]
''',
        expect=("test_conv2d_forward",),
        hint="raised ValueError",
    ),
    Mistake(
        id="fast_nhwc_output",
        replaces="conv2d_forward",
        description="I used tensordot and forgot to transpose its (N, H', W', F) result back to NCHW.",
        code='''
def conv2d_forward(X, W, b, stride=1, pad=0):
    N, C, H, Wd = X.shape
    F, C_w, HH, WW = W.shape
    if C_w != C or b.shape != (F,):
        raise ValueError("shapes do not fit")
    conv_output_size(H, HH, pad, stride), conv_output_size(Wd, WW, pad, stride)
    win = np.lib.stride_tricks.sliding_window_view(zero_pad(X, pad), (HH, WW), axis=(2, 3))[:, :, ::stride, ::stride]
    return np.tensordot(win, W, axes=([1, 4, 5], [1, 2, 3])) + b
''',
        expect=("test_conv2d_forward",),
        hint="NHWC",
    ),
    Mistake(
        id="fast_no_shape_check",
        replaces="conv2d_forward",
        description="I let sliding_window_view decide the output size, so shapes that do not fit pass silently.",
        code='''
def conv2d_forward(X, W, b, stride=1, pad=0):
    HH, WW = W.shape[2:]
    win = np.lib.stride_tricks.sliding_window_view(zero_pad(X, pad), (HH, WW), axis=(2, 3))[:, :, ::stride, ::stride]
    return np.einsum("nchwij,fcij->nfhw", win, W) + b[None, :, None, None]
''',
        expect=("test_conv2d_forward",),
        hint="should raise ValueError",
    ),
    Mistake(
        id="fast_calls_torch",
        replaces="conv2d_forward",
        description="I let torch.nn.functional.conv2d do the work.",
        code='''
def conv2d_forward(X, W, b, stride=1, pad=0):
    import torch
    conv_output_size(X.shape[2], W.shape[2], pad, stride), conv_output_size(X.shape[3], W.shape[3], pad, stride)
    if X.shape[1] != W.shape[1] or b.shape != (W.shape[0],):
        raise ValueError("shapes do not fit")
    out = torch.nn.functional.conv2d(torch.from_numpy(X), torch.from_numpy(W), torch.from_numpy(b),
                                     stride=stride, padding=pad)
    return out.numpy()
''',
        expect=("test_conv2d_forward",),
        hint="it called torch.nn.functional.conv2d",
    ),
    Mistake(
        id="fast_calls_torch_bound_at_import",
        replaces="conv2d_forward",
        description="I imported conv2d from torch at the top of the cell and called it.",
        code='''
from torch.nn.functional import conv2d as _torch_conv2d
from torch import as_tensor as _as_tensor

def conv2d_forward(X, W, b, stride=1, pad=0):
    conv_output_size(X.shape[2], W.shape[2], pad, stride), conv_output_size(X.shape[3], W.shape[3], pad, stride)
    if X.shape[1] != W.shape[1] or b.shape != (W.shape[0],):
        raise ValueError("shapes do not fit")
    return np.asarray(_torch_conv2d(_as_tensor(X), _as_tensor(W), _as_tensor(b), stride=stride, padding=pad))
''',
        expect=("test_conv2d_forward",),
        hint="it called torch.nn.functional.conv2d",
    ),
    Mistake(
        id="fast_calls_naive",
        replaces="conv2d_forward",
        description="My vectorised version just calls the loop version: right answers, but seconds per call.",
        code='''
def conv2d_forward(X, W, b, stride=1, pad=0):
    return conv2d_forward_naive(X, W, b, stride=stride, pad=pad)
''',
        expect=("test_conv2d_forward",),
        hint="took",
    ),
    # ---------------------------------------------------------------- backward
    Mistake(
        id="backward_dX_not_cropped",
        replaces="conv2d_backward",
        description="I returned the gradient of the padded input without cropping the padding.",
        code='''
_reference_conv2d_backward = conv2d_backward

def conv2d_backward(dout, X, W, stride=1, pad=0):
    dX, dW, db = _reference_conv2d_backward(dout, X, W, stride, pad)
    dX_pad = np.zeros((X.shape[0], X.shape[1], X.shape[2] + 2 * pad, X.shape[3] + 2 * pad))
    dX_pad[:, :, pad:pad + X.shape[2], pad:pad + X.shape[3]] = dX
    return dX_pad, dW, db
''',
        expect=("test_conv2d_backward",),
        hint="crop the padding",
    ),
    Mistake(
        id="backward_crop_minus_pad",
        replaces="conv2d_backward",
        description="I cropped with dX_pad[:, :, pad:-pad, pad:-pad], which is empty when pad = 0.",
        code='''
def conv2d_backward(dout, X, W, stride=1, pad=0):
    N, C, H, Wd = X.shape
    F, _, HH, WW = W.shape
    Ho, Wo = dout.shape[2:]
    X_pad = zero_pad(X, pad)
    win = np.lib.stride_tricks.sliding_window_view(X_pad, (HH, WW), axis=(2, 3))[:, :, ::stride, ::stride]
    db = dout.sum(axis=(0, 2, 3))
    dW = np.einsum("nfhw,nchwij->fcij", dout, win)
    dwin = np.einsum("nfhw,fcij->nchwij", dout, W)
    dX_pad = np.zeros_like(X_pad)
    for a in range(HH):
        for c in range(WW):
            dX_pad[:, :, a:a + stride * Ho:stride, c:c + stride * Wo:stride] += dwin[..., a, c]
    return dX_pad[:, :, pad:-pad, pad:-pad], dW, db
''',
        expect=("test_conv2d_backward",),
        hint="empty",
    ),
    Mistake(
        id="backward_dW_mean_over_batch",
        replaces="conv2d_backward",
        description="I averaged dW over the batch instead of summing.",
        code='''
_reference_conv2d_backward = conv2d_backward

def conv2d_backward(dout, X, W, stride=1, pad=0):
    dX, dW, db = _reference_conv2d_backward(dout, X, W, stride, pad)
    return dX, dW / X.shape[0], db
''',
        expect=("test_conv2d_backward",),
        hint="mean over the batch",
    ),
    Mistake(
        id="backward_dW_wrong_axes",
        replaces="conv2d_backward",
        description="In tensordot I paired dout's (H', W') axes with the windows' (W', H') axes.",
        code='''
_reference_conv2d_backward = conv2d_backward

def conv2d_backward(dout, X, W, stride=1, pad=0):
    dX, _, db = _reference_conv2d_backward(dout, X, W, stride, pad)
    HH, WW = W.shape[2:]
    win = np.lib.stride_tricks.sliding_window_view(zero_pad(X, pad), (HH, WW), axis=(2, 3))[:, :, ::stride, ::stride]
    dW = np.tensordot(dout, win, axes=([0, 2, 3], [0, 3, 2]))
    return dX, dW, db
''',
        expect=("test_conv2d_backward",),
        hint="wrong axes",
    ),
    Mistake(
        id="backward_dW_product_of_sums",
        replaces="conv2d_backward",
        description="I summed dout and the windows over the batch first, then multiplied.",
        code='''
_reference_conv2d_backward = conv2d_backward

def conv2d_backward(dout, X, W, stride=1, pad=0):
    dX, _, db = _reference_conv2d_backward(dout, X, W, stride, pad)
    HH, WW = W.shape[2:]
    win = np.lib.stride_tricks.sliding_window_view(zero_pad(X, pad), (HH, WW), axis=(2, 3))[:, :, ::stride, ::stride]
    dW = np.einsum("fhw,chwij->fcij", dout.sum(axis=0), win.sum(axis=0))
    return dX, dW, db
''',
        expect=("test_conv2d_backward",),
        hint="product of sums",
    ),
    Mistake(
        id="backward_db_wrong_axes",
        replaces="conv2d_backward",
        description="I summed dout over the spatial axes only, getting one bias gradient per image.",
        code='''
_reference_conv2d_backward = conv2d_backward

def conv2d_backward(dout, X, W, stride=1, pad=0):
    dX, dW, _ = _reference_conv2d_backward(dout, X, W, stride, pad)
    return dX, dW, dout.sum(axis=(2, 3))
''',
        expect=("test_conv2d_backward",),
        hint="axes (2, 3)",
    ),
    Mistake(
        id="backward_db_per_sample",
        replaces="conv2d_backward",
        description="I summed dout over axes (1, 2, 3): one number per image instead of per filter.",
        code='''
_reference_conv2d_backward = conv2d_backward

def conv2d_backward(dout, X, W, stride=1, pad=0):
    dX, dW, _ = _reference_conv2d_backward(dout, X, W, stride, pad)
    return dX, dW, dout.sum(axis=(1, 2, 3))
''',
        expect=("test_conv2d_backward",),
        hint="axes (1, 2, 3)",
    ),
    Mistake(
        id="backward_ignores_stride",
        replaces="conv2d_backward",
        description="My backward pass reads and writes the window at (i, j) instead of (i*S, j*S).",
        code='''
def conv2d_backward(dout, X, W, stride=1, pad=0):
    N, C, H, Wd = X.shape
    F, _, HH, WW = W.shape
    Ho, Wo = dout.shape[2:]
    X_pad = zero_pad(X, pad)
    win = np.lib.stride_tricks.sliding_window_view(X_pad, (HH, WW), axis=(2, 3))[:, :, :Ho, :Wo]
    db = dout.sum(axis=(0, 2, 3))
    dW = np.einsum("nfhw,nchwij->fcij", dout, win)
    dwin = np.einsum("nfhw,fcij->nchwij", dout, W)
    dX_pad = np.zeros_like(X_pad)
    for a in range(HH):
        for c in range(WW):
            dX_pad[:, :, a:a + Ho, c:c + Wo] += dwin[..., a, c]
    return dX_pad[:, :, pad:pad + H, pad:pad + Wd], dW, db
''',
        expect=("test_conv2d_backward",),
        hint="ignored the stride",
    ),
    Mistake(
        id="backward_assigns_instead_of_adds",
        replaces="conv2d_backward",
        description="I wrote dX_pad[...] = ... instead of +=, so overlapping windows overwrite each other.",
        code='''
def conv2d_backward(dout, X, W, stride=1, pad=0):
    N, C, H, Wd = X.shape
    F, _, HH, WW = W.shape
    Ho, Wo = dout.shape[2:]
    X_pad = zero_pad(X, pad)
    win = np.lib.stride_tricks.sliding_window_view(X_pad, (HH, WW), axis=(2, 3))[:, :, ::stride, ::stride]
    db = dout.sum(axis=(0, 2, 3))
    dW = np.einsum("nfhw,nchwij->fcij", dout, win)
    dX_pad = np.zeros_like(X_pad)
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                r, c = i * stride, j * stride
                dX_pad[n, :, r:r + HH, c:c + WW] = np.einsum("f,fcij->cij", dout[n, :, i, j], W)
    return dX_pad[:, :, pad:pad + H, pad:pad + Wd], dW, db
''',
        expect=("test_conv2d_backward",),
        hint="+=",
    ),
    Mistake(
        id="backward_flipped_kernel_dX",
        replaces="conv2d_backward",
        description="I remembered 'the backward of a convolution is a convolution with the flipped kernel' and flipped it once too often.",
        code='''
_reference_conv2d_backward = conv2d_backward

def conv2d_backward(dout, X, W, stride=1, pad=0):
    dX, _, _ = _reference_conv2d_backward(dout, X, W[:, :, ::-1, ::-1], stride, pad)
    _, dW, db = _reference_conv2d_backward(dout, X, W, stride, pad)
    return dX, dW, db
''',
        expect=("test_conv2d_backward",),
        hint="flipped kernel",
    ),
    Mistake(
        id="backward_with_autograd",
        replaces="conv2d_backward",
        description="I got the gradients from torch autograd instead of deriving them.",
        code='''
def conv2d_backward(dout, X, W, stride=1, pad=0):
    import torch
    Xt = torch.tensor(X, requires_grad=True)
    Wt = torch.tensor(W, requires_grad=True)
    bt = torch.zeros(W.shape[0], dtype=torch.float64, requires_grad=True)
    out = torch.nn.functional.conv2d(Xt, Wt, bt, stride=stride, padding=pad)
    out.backward(torch.from_numpy(dout))
    return Xt.grad.numpy(), Wt.grad.numpy(), bt.grad.numpy()
''',
        expect=("test_conv2d_backward",),
        hint="must be implemented with NumPy",
    ),
]
