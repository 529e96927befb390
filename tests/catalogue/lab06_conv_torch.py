"""Wrong answers that students really write for lab06-conv-torch.

Each entry replaces one function of the reference solution (``code`` is run after the solution
cells, in the same namespace) and must make at least the test cells in ``expect`` fail with a
message that points at the mistake; ``hint`` is a phrase the hidden check's message must contain.
"""

from __future__ import annotations

from catalogue import Mistake


MISTAKES: list[Mistake] = [
    # ---------------------------------------------------------------- numpy_weights
    Mistake(
        id="weights_float32",
        replaces="numpy_weights",
        description="I returned the weights as they are, float32.",
        code='''
def numpy_weights(conv):
    W = conv.weight.detach().cpu().numpy().copy()
    b = np.zeros(conv.out_channels, dtype=W.dtype) if conv.bias is None else conv.bias.detach().cpu().numpy().copy()
    return W, b
''',
        expect=("test_numpy_weights",),
        hint="expected float64",
    ),
    Mistake(
        id="weights_view_of_float64_layer",
        replaces="numpy_weights",
        description="I used .double().numpy(), which copies a float32 layer but not a float64 one.",
        code='''
def numpy_weights(conv):
    W = conv.weight.detach().cpu().double().numpy()
    b = np.zeros(conv.out_channels) if conv.bias is None else conv.bias.detach().cpu().double().numpy()
    return W, b
''',
        expect=("test_numpy_weights",),
        hint="shares the layer's memory",
    ),
    Mistake(
        id="weights_bias_none",
        replaces="numpy_weights",
        description="I forgot that a layer built with bias=False has conv.bias = None.",
        code='''
def numpy_weights(conv):
    W = conv.weight.detach().cpu().numpy().astype(np.float64)
    b = conv.bias.detach().cpu().numpy().astype(np.float64)
    return W, b
''',
        expect=("test_numpy_weights",),
        hint="conv.bias is None",
    ),
    Mistake(
        id="weights_no_detach",
        replaces="numpy_weights",
        description="I called .numpy() on the parameter directly.",
        code='''
def numpy_weights(conv):
    W = conv.weight.cpu().numpy().astype(np.float64)
    b = np.zeros(conv.out_channels) if conv.bias is None else conv.bias.cpu().numpy().astype(np.float64)
    return W, b
''',
        expect=("test_numpy_weights",),
        hint=".detach()",
    ),
    Mistake(
        id="weights_flattened",
        replaces="numpy_weights",
        description="I reshaped the weights into a matrix, one filter per row, as for im2col.",
        code='''
def numpy_weights(conv):
    W = conv.weight.detach().cpu().numpy().astype(np.float64).reshape(conv.out_channels, -1)
    b = np.zeros(conv.out_channels) if conv.bias is None else conv.bias.detach().cpu().numpy().astype(np.float64)
    return W, b
''',
        expect=("test_numpy_weights",),
        hint="has shape",
    ),
    # ---------------------------------------------------------------- conv2d_numpy
    Mistake(
        id="conv_raises_when_uneven",
        replaces="conv2d_numpy",
        description="I pasted my exercise 6 convolution, which raises when the filter does not fit evenly.",
        code='''
def conv2d_numpy(X, W, b, stride=1, pad=0):
    N, C, H, Wd = X.shape
    F_, C_w, HH, WW = W.shape
    if C_w != C or b.shape != (F_,) or HH > H + 2 * pad or WW > Wd + 2 * pad:
        raise ValueError("shapes do not fit")
    if (H + 2 * pad - HH) % stride or (Wd + 2 * pad - WW) % stride:
        raise ValueError("the filter does not fit evenly")
    X_pad = np.pad(X, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = np.lib.stride_tricks.sliding_window_view(X_pad, (HH, WW), axis=(2, 3))[:, :, ::stride, ::stride]
    return np.einsum("nchwij,fcij->nfhw", windows, W) + b[None, :, None, None]
''',
        expect=("test_conv2d_numpy",),
        hint="floors",
    ),
    Mistake(
        id="conv_flipped",
        replaces="conv2d_numpy",
        description="I flipped the filters, computing a true convolution.",
        code='''
def conv2d_numpy(X, W, b, stride=1, pad=0):
    N, C, H, Wd = X.shape
    F_, C_w, HH, WW = W.shape
    if C_w != C or b.shape != (F_,) or HH > H + 2 * pad or WW > Wd + 2 * pad:
        raise ValueError("shapes do not fit")
    X_pad = np.pad(X, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = np.lib.stride_tricks.sliding_window_view(X_pad, (HH, WW), axis=(2, 3))[:, :, ::stride, ::stride]
    return np.einsum("nchwij,fcij->nfhw", windows, W[:, :, ::-1, ::-1]) + b[None, :, None, None]
''',
        expect=("test_conv2d_numpy",),
        hint="flipped",
    ),
    Mistake(
        id="conv_naive_loops",
        replaces="conv2d_numpy",
        description="I kept four nested Python loops.",
        code='''
def conv2d_numpy(X, W, b, stride=1, pad=0):
    N, C, H, Wd = X.shape
    F_, C_w, HH, WW = W.shape
    if C_w != C or b.shape != (F_,) or HH > H + 2 * pad or WW > Wd + 2 * pad:
        raise ValueError("shapes do not fit")
    X_pad = np.pad(X, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    Ho, Wo = (H + 2 * pad - HH) // stride + 1, (Wd + 2 * pad - WW) // stride + 1
    out = np.zeros((N, F_, Ho, Wo))
    for n in range(N):
        for f in range(F_):
            for i in range(Ho):
                for j in range(Wo):
                    r, c = i * stride, j * stride
                    out[n, f, i, j] = np.sum(X_pad[n, :, r:r + HH, c:c + WW] * W[f]) + b[f]
    return out
''',
        expect=("test_conv2d_numpy",),
        hint="took",
    ),
    Mistake(
        id="conv_calls_torch",
        replaces="conv2d_numpy",
        description="I let torch compute the NumPy convolution.",
        code='''
def conv2d_numpy(X, W, b, stride=1, pad=0):
    return F.conv2d(torch.from_numpy(X), torch.from_numpy(W), torch.from_numpy(b), stride=stride, padding=pad).numpy()
''',
        expect=("test_conv2d_numpy",),
        hint="must be implemented with NumPy",
    ),
    # ---------------------------------------------------------------- conv_layer_numpy
    Mistake(
        id="layer_ignores_padding",
        replaces="conv_layer_numpy",
        description="I passed the stride but forgot the layer's padding.",
        code='''
def conv_layer_numpy(conv, X):
    if isinstance(conv.padding, str) or conv.dilation != (1, 1) or conv.groups != 1 or conv.padding_mode != "zeros":
        raise ValueError("unsupported layer")
    if conv.stride[0] != conv.stride[1] or conv.padding[0] != conv.padding[1]:
        raise ValueError("unsupported layer")
    W, b = numpy_weights(conv)
    return conv2d_numpy(X, W, b, stride=conv.stride[0])
''',
        expect=("test_conv_layer_numpy",),
        hint="conv.padding",
    ),
    Mistake(
        id="layer_runs_torch",
        replaces="conv_layer_numpy",
        description="I ran the layer itself in float64 instead of using my NumPy convolution.",
        code='''
def conv_layer_numpy(conv, X):
    with torch.no_grad():
        return F.conv2d(torch.from_numpy(X), conv.weight.double(), None if conv.bias is None else conv.bias.double(),
                        stride=conv.stride, padding=conv.padding, dilation=conv.dilation, groups=conv.groups).numpy()
''',
        expect=("test_conv_layer_numpy",),
        hint="never called conv2d_numpy",
    ),
    Mistake(
        id="layer_no_validation",
        replaces="conv_layer_numpy",
        description="I never check whether the layer is one that conv2d_numpy can reproduce.",
        code='''
def conv_layer_numpy(conv, X):
    W, b = numpy_weights(conv)
    return conv2d_numpy(X, W, b, stride=conv.stride[0], pad=conv.padding[0])
''',
        expect=("test_conv_layer_numpy",),
        hint="should raise ValueError",
    ),
    # ---------------------------------------------------------------- apply_filter
    Mistake(
        id="filter_flipped",
        replaces="apply_filter",
        description="I flipped the kernel, thinking a filter must be convolved, not correlated.",
        code='''
def apply_filter(image, kernel, device=None):
    device = cnnbook.device() if device is None else torch.device(device)
    kernel = np.asarray(kernel, dtype=np.float64)
    if kernel.ndim != 2 or kernel.shape[0] != kernel.shape[1] or kernel.shape[0] % 2 == 0:
        raise ValueError("bad kernel")
    planes = image[None] if image.ndim == 2 else image.transpose(2, 0, 1)
    x = torch.tensor(planes, dtype=torch.float32, device=device)[:, None]
    k = torch.tensor(kernel[::-1, ::-1].copy(), dtype=torch.float32, device=device)[None, None]
    out = F.conv2d(x, k, padding=kernel.shape[0] // 2)[:, 0].cpu().numpy().astype(np.float64)
    return out[0] if image.ndim == 2 else out.transpose(1, 2, 0)
''',
        expect=("test_apply_filter",),
        hint="flipped",
    ),
    Mistake(
        id="filter_no_padding",
        replaces="apply_filter",
        description="I left out the padding, so the result is smaller than the image.",
        code='''
def apply_filter(image, kernel, device=None):
    device = cnnbook.device() if device is None else torch.device(device)
    kernel = np.asarray(kernel, dtype=np.float64)
    if kernel.ndim != 2 or kernel.shape[0] != kernel.shape[1] or kernel.shape[0] % 2 == 0:
        raise ValueError("bad kernel")
    planes = image[None] if image.ndim == 2 else image.transpose(2, 0, 1)
    x = torch.tensor(planes, dtype=torch.float32, device=device)[:, None]
    k = torch.tensor(kernel, dtype=torch.float32, device=device)[None, None]
    out = F.conv2d(x, k)[:, 0].cpu().numpy().astype(np.float64)
    return out[0] if image.ndim == 2 else out.transpose(1, 2, 0)
''',
        expect=("test_apply_filter",),
        hint="pad with k // 2 zeros",
    ),
    Mistake(
        id="filter_mixes_channels",
        replaces="apply_filter",
        description="I used the kernel as one filter over all channels, repeated for every output channel.",
        code='''
def apply_filter(image, kernel, device=None):
    device = cnnbook.device() if device is None else torch.device(device)
    kernel = np.asarray(kernel, dtype=np.float64)
    if kernel.ndim != 2 or kernel.shape[0] != kernel.shape[1] or kernel.shape[0] % 2 == 0:
        raise ValueError("bad kernel")
    if image.ndim == 2:
        image = image[:, :, None]
        squeeze = True
    else:
        squeeze = False
    C = image.shape[2]
    x = torch.tensor(image.transpose(2, 0, 1)[None], dtype=torch.float32, device=device)  # (1, C, H, W)
    k = torch.tensor(kernel, dtype=torch.float32, device=device).expand(C, C, *kernel.shape)
    out = F.conv2d(x, k, padding=kernel.shape[0] // 2)[0].cpu().numpy().astype(np.float64).transpose(1, 2, 0)
    return out[:, :, 0] if squeeze else out
''',
        expect=("test_apply_filter",),
        hint="channels were mixed",
    ),
    Mistake(
        id="filter_returns_float32",
        replaces="apply_filter",
        description="I returned torch's float32 result as it is.",
        code='''
def apply_filter(image, kernel, device=None):
    device = cnnbook.device() if device is None else torch.device(device)
    kernel = np.asarray(kernel, dtype=np.float64)
    if kernel.ndim != 2 or kernel.shape[0] != kernel.shape[1] or kernel.shape[0] % 2 == 0:
        raise ValueError("bad kernel")
    planes = image[None] if image.ndim == 2 else image.transpose(2, 0, 1)
    x = torch.tensor(planes, dtype=torch.float32, device=device)[:, None]
    k = torch.tensor(kernel, dtype=torch.float32, device=device)[None, None]
    out = F.conv2d(x, k, padding=kernel.shape[0] // 2)[:, 0].cpu().numpy()
    return out[0] if image.ndim == 2 else out.transpose(1, 2, 0)
''',
        expect=("test_apply_filter",),
        hint="expected float64",
    ),
    # ---------------------------------------------------------------- train_conv
    Mistake(
        id="train_unseeded_order",
        replaces="train_conv",
        description="I shuffled the examples with torch's global random generator, which is not reset by seed.",
        code='''
def train_conv(X, y, epochs=20, lr=0.05, seed=0, device=None):
    device = cnnbook.device() if device is None else torch.device(device)
    model = BarNet(n_classes=int(y.max()) + 1).to(device)
    X, y = X.to(device), y.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(epochs):
        order = torch.randperm(len(X)).to(device)
        total = 0.0
        for start in range(0, len(X), 64):
            batch = order[start:start + 64]
            loss = F.cross_entropy(model(X[batch]), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        losses.append(total / len(X))
    return model, losses
''',
        expect=("test_train_conv",),
        hint="different losses",
    ),
    Mistake(
        id="train_loss_per_step",
        replaces="train_conv",
        description="I recorded the loss of every minibatch instead of one mean per epoch.",
        code='''
def train_conv(X, y, epochs=20, lr=0.05, seed=0, device=None):
    device = cnnbook.device() if device is None else torch.device(device)
    torch.manual_seed(seed)
    model = BarNet(n_classes=int(y.max()) + 1).to(device)
    X, y = X.to(device), y.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(epochs):
        order = torch.randperm(len(X), generator=g).to(device)
        for start in range(0, len(X), 64):
            batch = order[start:start + 64]
            loss = F.cross_entropy(model(X[batch]), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return model, losses
''',
        expect=("test_train_conv",),
        hint="one per epoch",
    ),
    Mistake(
        id="train_tensor_losses",
        replaces="train_conv",
        description="I appended the loss tensors themselves, not loss.item().",
        code='''
def train_conv(X, y, epochs=20, lr=0.05, seed=0, device=None):
    device = cnnbook.device() if device is None else torch.device(device)
    torch.manual_seed(seed)
    model = BarNet(n_classes=int(y.max()) + 1).to(device)
    X, y = X.to(device), y.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(epochs):
        order = torch.randperm(len(X), generator=g).to(device)
        total = 0.0
        for start in range(0, len(X), 64):
            batch = order[start:start + 64]
            loss = F.cross_entropy(model(X[batch]), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total = total + loss.detach() * len(batch)
        losses.append(total / len(X))
    return model, losses
''',
        expect=("test_train_conv",),
        hint="Python floats",
    ),
    Mistake(
        id="train_lr_too_small",
        replaces="train_conv",
        description="I used plain SGD with a tiny learning rate, so the network hardly trains in 20 epochs.",
        code='''
def train_conv(X, y, epochs=20, lr=0.05, seed=0, device=None):
    device = cnnbook.device() if device is None else torch.device(device)
    torch.manual_seed(seed)
    model = BarNet(n_classes=int(y.max()) + 1).to(device)
    X, y = X.to(device), y.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4)
    g = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(epochs):
        order = torch.randperm(len(X), generator=g).to(device)
        total = 0.0
        for start in range(0, len(X), 64):
            batch = order[start:start + 64]
            loss = F.cross_entropy(model(X[batch]), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        losses.append(total / len(X))
    return model, losses
''',
        expect=("test_train_conv",),
        hint="did not fall",
    ),
]
