"""Hidden checks of ``lab08-lenet`` (LeNet-5 in PyTorch, its training loop and its evaluation).

One ``check_<name>(...)`` per part of the lab's contract, plus :func:`check_accuracy`, the bar
the whole lab must clear. Every call of the student's code goes through
:func:`cnnbook.checks._common.call`; every check runs on the CPU with one thread and its own
seeded random numbers (the global generator of the notebook is saved and restored), so the same
notebook gets the same verdict on every machine. The oracles are independent of the reference
solution: LeNet-5's output is recomputed from the student's own weights with
``torch.nn.functional``, a training epoch is replayed on a copy of the model by the check's own
loop, accuracy is counted by the check's own loop.

The helpers that follow a student's code from the outside, :class:`Trace` (which torch functions
a forward pass calls, with their output shapes) and :func:`tracked_tensors` (whether a batch was
moved with ``.to(device)``), serve ``lab09_resnet`` as well.
"""

from __future__ import annotations

import contextlib
import copy
import math
import numbers

from ._common import call, fail

SEED = 808
NUM_PARAMS = 61_706

#: The layers of the lab's LeNet-5 for a (N, 1, 32, 32) input: name, output shape per image.
LAYERS = (("C1", (6, 28, 28)), ("C3", (16, 10, 10)), ("C5", (120,)), ("F6", (84,)), ("output", None))
POOLED = {"C1": (6, 14, 14), "C3": (16, 5, 5)}  # S2 and S4

#: The accuracy bar of the lab on the book's MNIST test set, and the recipe it is measured with.
BAR = 0.97
RECIPE = {"epochs": 10, "batch_size": 32, "lr": 2e-3, "seed": 0}

ACTIVATIONS = {"relu", "relu_", "clamp", "clamp_min", "threshold", "tanh", "tanh_", "sigmoid",
               "sigmoid_", "softmax", "log_softmax", "gelu", "elu", "leaky_relu", "hardtanh", "silu",
               "selu", "softplus", "relu6"}
RELU_LIKE = {"relu", "relu_", "clamp", "clamp_min", "threshold"}
POOLS = {"max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d",
         "max_pool2d_with_indices", "lp_pool2d", "fractional_max_pool2d"}
WEIGHTED = {"conv2d", "linear", "matmul", "mm", "addmm", "__matmul__", "conv1d"}


def _torch():
    import torch

    return torch


# --------------------------------------------------------------------------------------------
# Reproducibility: one thread, the check's own random numbers

@contextlib.contextmanager
def isolated(seed: int):
    """Run a block on one CPU thread with the global torch generator seeded with ``seed``; the
    number of threads and the generator's state are restored afterwards."""
    torch = _torch()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            yield
    finally:
        torch.set_num_threads(threads)


def short_repr(obj, text: str):
    """Make ``repr(obj)`` return ``text`` (messages quote the arguments of a call)."""
    cls = type(obj)
    obj.__class__ = type(cls.__name__, (cls,), {"__repr__": lambda self: text, "__module__": cls.__module__,
                                                "__qualname__": cls.__qualname__})
    return obj


# --------------------------------------------------------------------------------------------
# Following a forward pass: which torch functions run, in which order, with which shapes

def _trace_class():
    from torch.overrides import TorchFunctionMode

    class Trace(TorchFunctionMode):
        """Records ``(name, output shape, kwargs)`` of every torch function a block calls."""

        def __init__(self):
            super().__init__()
            self.ops = []

        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            name = getattr(func, "__name__", repr(func))
            shape = tuple(out.shape) if hasattr(out, "shape") and not isinstance(out, tuple) else None
            if isinstance(out, tuple) and out and hasattr(out[0], "shape"):
                shape = tuple(out[0].shape)
            extra = {}
            if name in ("conv2d", "linear") and len(args) > 1 and hasattr(args[1], "shape"):
                extra["weight"] = tuple(args[1].shape)
            if name in POOLS and name.startswith(("max_pool", "avg_pool")):
                kernel = kwargs.get("kernel_size", args[1] if len(args) > 1 else None)
                extra["kernel"] = kernel if isinstance(kernel, int) or kernel is None else tuple(kernel)
            if name == "dropout":
                extra["p"] = kwargs.get("p", args[1] if len(args) > 1 else 0.5)
            if name in ("clamp", "clamp_min"):
                extra["min"] = kwargs.get("min", args[1] if len(args) > 1 else None)
            self.ops.append((name, shape, extra))
            return out

    return Trace


def Trace():  # noqa: N802 -- used like a class
    return _trace_class()()


def layers_of(ops, *, relu_only=True):
    """Group a trace into layers: each weighted op (conv2d, linear, ...) with the activations and
    pools that follow it. Returns ``(before, layers)``: ops met before the first weighted op, and
    a list of dicts ``{"op", "shape", "acts", "pools"}``."""
    before, layers = [], []
    for name, shape, extra in ops:
        if name in WEIGHTED:
            layers.append({"op": name, "shape": shape, "acts": [], "pools": [], "pool_kernels": [],
                           "weight": extra.get("weight")})
        elif name in ACTIVATIONS or name in POOLS:
            if name in ("clamp", "clamp_min") and extra.get("min") not in (0, 0.0):
                continue
            target = layers[-1] if layers else None
            entry = (name, shape)
            if target is None:
                before.append(entry)
            elif name in POOLS:
                target["pools"].append(entry)
                target["pool_kernels"].append(extra.get("kernel"))
            else:
                target["acts"].append(entry)
    return before, layers


# --------------------------------------------------------------------------------------------
# Following tensors and models: were they moved to the device passed in?

def tracked_tensors():
    """A fresh tensor subclass that records its ``.to``/``.cuda``/``.cpu`` calls in ``cls.moves``.

    Any other torch function applied to it runs on plain tensors and returns plain tensors, so a
    model never sees the subclass. ``repr`` of a tracked tensor is a short description.
    """
    torch = _torch()

    class TrackedTensor(torch.Tensor):
        moves: list = []
        movers = (torch.Tensor.to, torch.Tensor.cuda, torch.Tensor.cpu)

        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            if func in cls.movers:
                label = getattr(args[0], "label", "?")
                cls.moves.append((label, _target_device(func, args[1:], kwargs)))
            with torch._C.DisableTorchFunctionSubclass():
                return func(*args, **kwargs)

        def __repr__(self):
            with torch._C.DisableTorchFunctionSubclass():
                return f"<{str(self.dtype).replace('torch.', '')} tensor of shape {tuple(self.shape)}>"

    TrackedTensor.moves = []
    return TrackedTensor


def _target_device(func, args, kwargs):
    torch = _torch()
    name = getattr(func, "__name__", "")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda":
        index = args[0] if args else kwargs.get("device")
        return torch.device("cuda", index) if isinstance(index, int) else torch.device(index or "cuda")
    try:
        device = torch._C._nn._parse_to(*args, **kwargs)[0]
    except Exception:
        return None
    return device


def track(tensor, cls, label: str):
    t = tensor.as_subclass(cls)
    t.label = label
    return t


def same_device(a, b) -> bool:
    torch = _torch()
    if a is None or b is None:
        return False
    a, b = torch.device(a), torch.device(b)
    return a.type == b.type and (a.index is None or b.index is None or a.index == b.index)


class Loader:
    """A list of ``(x, y)`` batches that looks like a ``DataLoader``: ``len`` (batches),
    ``.dataset`` (``len`` = samples), ``.batch_size``; ``repr`` is a short description."""

    def __init__(self, batches, batch_size: int, name: str = "loader"):
        self.batches = list(batches)
        self.batch_size = batch_size
        self.dataset = _Sized(sum(len(y) for _, y in self.batches))
        self.name = name

    def __iter__(self):
        return iter(self.batches)

    def __len__(self):
        return len(self.batches)

    def __repr__(self):
        sizes = [len(y) for _, y in self.batches]
        return f"<{self.name}: {len(sizes)} batches of sizes {sizes}>"


class _Sized:
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n


class DataLoaderView:
    """Wraps a real ``DataLoader`` so that messages show a short, stable description."""

    def __init__(self, loader, text: str):
        self.loader, self.text = loader, text

    def __iter__(self):
        return iter(self.loader)

    def __len__(self):
        return len(self.loader)

    def __getattr__(self, name):
        return getattr(self.loader, name)

    def __repr__(self):
        return self.text


# --------------------------------------------------------------------------------------------
# The small network the training and evaluation checks run the student's loops on

def _small_net_class():
    torch = _torch()
    nn = torch.nn

    class SmallNet(nn.Module):
        """conv 3x3 -> BatchNorm -> ReLU -> max pool -> dropout -> linear, for (B, 1, 8, 8) inputs.

        BatchNorm and dropout behave differently in training and evaluation mode, which is what
        lets a check see ``model.train()`` or ``model.eval()`` forgotten. Every forward pass
        records the mode, whether gradients were on and the device of its input; ``.to`` calls
        are recorded too.
        """

        def __init__(self, dropout: float = 0.0):
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3, padding=1)
            self.bn = nn.BatchNorm2d(4)
            self.drop = nn.Dropout(dropout)
            self.fc = nn.Linear(4 * 4 * 4, 3)
            self.calls = []
            self.moves = []

        def forward(self, x):
            self.calls.append({"training": self.training, "grad": torch.is_grad_enabled(),
                               "device": x.device if isinstance(x, torch.Tensor) else None})
            x = torch.nn.functional.max_pool2d(torch.relu(self.bn(self.conv(x))), 2)
            return self.fc(self.drop(torch.flatten(x, 1)))

        def to(self, *args, **kwargs):
            try:
                device = torch._C._nn._parse_to(*args, **kwargs)[0]
            except Exception:
                device = None
            self.moves.append(device)
            return super().to(*args, **kwargs)

        def cuda(self, device=None):
            self.moves.append(torch.device("cuda") if device is None else torch.device("cuda", device))
            return super().cuda(device)

        def __repr__(self):
            mode = "training" if self.training else "evaluation"
            return f"<a small CNN with BatchNorm, in {mode} mode>"

    return SmallNet


def _data(gen, sizes, *, noise: float = 0.8):
    """Learnable batches: three classes, each a fixed 8x8 pattern plus noise."""
    torch = _torch()
    patterns = torch.randn(3, 1, 8, 8, generator=gen)
    batches = []
    for size in sizes:
        y = torch.randint(0, 3, (size,), generator=gen)
        x = patterns[y] + noise * torch.randn(size, 1, 8, 8, generator=gen)
        batches.append((x, y))
    return batches


def _state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _state_close(a, b, rtol=1e-4, atol=1e-6) -> bool:
    torch = _torch()
    return a.keys() == b.keys() and all(torch.allclose(a[k].double(), b[k].double(), rtol=rtol, atol=atol) for k in a)


def _as_number(result, text: str, what: str, name: str):
    """A Python number (not a tensor, not a bool): the value as a float."""
    module = (type(result).__module__ or "").split(".")[0]
    if module == "torch":
        fail(f"{text} returned a torch tensor ({result!r}); {name} should return {what} as a Python float: "
             "call `.item()` on a one-number tensor to get it (a tensor that comes out of the loss also keeps "
             "the whole computation graph alive).")
    if isinstance(result, bool) or not isinstance(result, numbers.Real):
        fail(f"{text} returned {result!r} ({type(result).__name__}); {name} should return {what} as a float.")
    value = float(result)
    if not math.isfinite(value):
        fail(f"{text} returned {value}; expected a finite number.")
    return value


def _moves_report(model_moves, tensor_moves, device, text: str, labels) -> None:
    """The model and every batch must have been moved to ``device`` with ``.to(device)``."""
    if not any(same_device(d, device) for d in model_moves):
        fail(f"{text} never moved the model to the device passed in: call `model.to(device)` at the start "
             "(it does nothing when the model is already there). The function must work for a model "
             "that arrives on the CPU while device is a GPU.")
    moved = {label for label, d in tensor_moves if same_device(d, device)}
    missing = [label for label in labels if label not in moved]
    if missing:
        fail(f"{text} did not move {missing[0]} to the device passed in ({len(missing)} of {len(labels)} "
             "tensors were not moved). Inside the loop write `x, y = x.to(device), y.to(device)`: on a GPU, "
             "a batch left on the CPU makes the model fail.")


# --------------------------------------------------------------------------------------------
# Part 1: LeNet5

def _lenet_count(c1=6, c3=16, c5=120, f6=84, classes=10, k=5, c5_in=16 * 5 * 5, bias=True) -> int:
    b = 1 if bias else 0
    return ((1 * k * k + b) * c1 + (c1 * k * k + b) * c3 + (c5_in + b) * c5 + (c5 + b) * f6 + (f6 + b) * classes)


def _count_hints(n: int, classes: int) -> str:
    hints = {
        _lenet_count(classes=classes, bias=False):
            "Every layer has one bias per output: leave bias=True (the default) in every layer.",
        _lenet_count(classes=classes, c5_in=16 * 4 * 4):
            "Your network is sized for 28x28 inputs: the lab feeds 32x32 images (28x28 digits padded "
            "by 2), so C1 gives 6@28x28 and S4 leaves 16x5x5 = 400 inputs for C5.",
        _lenet_count(classes=classes, c5_in=16 * 6 * 6):
            "C5 sees 16x6x6 inputs: did you pad C1 (padding=2)? The input is already padded to "
            "32x32; C1 uses no padding and gives 6@28x28.",
        _lenet_count(classes=classes, c5_in=16 * 10 * 10):
            "C5 sees 16x10x10 = 1600 inputs: the second pooling layer (S4, 2x2 max pooling after C3) is "
            "missing.",
        _lenet_count(classes=classes) - (120 + 1) * 84 - (84 + 1) * classes + (120 + 1) * classes:
            "F6 (84 units) is missing: C5 (120) -> F6 (84) -> output.",
    }
    return hints.get(n, "")


def _named_params(model):
    return [(name, tuple(p.shape), p) for name, p in model.named_parameters()]


def _lenet_oracle(params_by_shape, x, classes):
    """LeNet-5 recomputed from the student's own weights, in float64."""
    torch = _torch()
    F = torch.nn.functional
    g = {k: v.detach().double() for k, v in params_by_shape.items()}
    h = F.max_pool2d(F.relu(F.conv2d(x.double(), g[(6, 1, 5, 5)], g[(6,)])), 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, g[(16, 6, 5, 5)], g[(16,)])), 2)
    w5 = g[(120, 16, 5, 5)] if (120, 16, 5, 5) in g else g[(120, 400)].reshape(120, 16, 5, 5)
    h = F.relu(F.conv2d(h, w5, g[(120,)])).flatten(1)
    h = F.relu(F.linear(h, g[(84, 120)], g[(84,)]))
    return F.linear(h, g[(classes, 84)], g[(classes,)])


def _check_lenet_structure(layers, before, n, classes, text):
    if before:
        names = ", ".join(name for name, _ in before)
        fail(f"{text}: {names} is applied to the input image before C1. LeNet-5 starts with the "
             "convolution C1 (6 filters 5x5) on the 32x32 image; pooling comes after each convolution.")
    expected = [("C1", (n, 6, 28, 28)), ("C3", (n, 16, 10, 10)), ("C5", (n, 120)), ("F6", (n, 84)),
                ("output", (n, classes))]
    got = [(layer["op"], layer["shape"]) for layer in layers]
    if len(layers) != 5:
        seen = ", ".join(f"{op} -> {shape[1:] if shape else '?'}" for op, shape in got)
        fail(f"{text}: expected 5 layers with weights (C1, C3 convolutions, C5, F6 and the output "
             f"layer); your forward pass ran {len(layers)}: {seen}.")
    for (name, shape), layer in zip(expected, layers):
        got_shape = layer["shape"]
        if name == "C5" and got_shape == (n, 120, 1, 1):
            continue
        if got_shape != shape:
            hint = ""
            if name == "C1" and got_shape == (n, 6, 32, 32):
                hint = " C1 has no padding: the 28x28 digits are already padded to 32x32."
            fail(f"{text}: layer {name} should output {shape[1:]} per image; yours gives "
                 f"{got_shape[1:] if got_shape else '?'}.{hint}")
    for index, (name, _) in enumerate(expected):
        layer = layers[index]
        pools = layer["pools"]
        if name in POOLED:
            if not pools:
                fail(f"{text}: no pooling after {name}. LeNet-5 halves the maps with 2x2 max pooling "
                     f"after each of the two convolutions (S2 after C1, S4 after C3).")
            if len(pools) > 1:
                fail(f"{text}: {len(pools)} poolings after {name}; there is one, 2x2 with stride 2.")
            pool, shape = pools[0]
            if not pool.startswith("max") and "max" not in pool:
                fail(f"{text}: the pooling after {name} is {pool}; this lab's LeNet-5 uses max pooling "
                     "(nn.MaxPool2d(2) or F.max_pool2d(x, 2)), as modern versions do; the 1998 network "
                     "used a trainable average.")
            if shape[1:] != POOLED[name]:
                fail(f"{text}: the pooling after {name} gives {shape[1:]}; expected {POOLED[name]} "
                     "(2x2 windows with stride 2 halve the height and the width).")
        elif pools:
            fail(f"{text}: pooling ({pools[0][0]}) after {name}: LeNet-5 pools only after C1 and C3.")
        acts = [a for a, _ in layer["acts"]]
        if name != "output":
            if not acts:
                fail(f"{text}: no activation after {name}: every layer except the output is followed "
                     "by a ReLU. Without it, two layers in a row are a single linear map.")
            if not all(a in RELU_LIKE for a in acts):
                fail(f"{text}: the activation after {name} is {acts[0]}; this lab's LeNet-5 uses ReLU "
                     "(torch.relu or nn.ReLU) everywhere; the 1998 original used a scaled tanh.")
        elif acts:
            if any("softmax" in a for a in acts):
                fail(f"{text}: the output goes through {acts[0]}. Return the raw scores (logits): "
                     "F.cross_entropy applies log-softmax itself, and a softmax before it slows "
                     "learning badly.")
            fail(f"{text}: the output layer is followed by {acts[0]}. Return the raw scores (logits) "
                 "of the last linear layer: a ReLU there cuts every negative score to 0.")


def check_LeNet5(cls):  # noqa: N802 -- the name of the class it checks
    """``LeNet5(num_classes=10)``: layer by layer shapes, ReLU and max pooling in the right places,
    the number of parameters, and an output equal to LeNet-5 recomputed from the model's own
    weights."""
    torch = _torch()
    for classes in (10, 7):
        with isolated(SEED + classes):
            model = call(cls, "LeNet5", [], {"num_classes": classes})
            name = f"LeNet5(num_classes={classes})"
            if not isinstance(model, torch.nn.Module):
                fail(f"{name} returned {type(model).__name__}; LeNet5 must be a torch.nn.Module subclass.")
            short_repr(model, name)
            n_params = sum(p.numel() for p in model.parameters())
            expected = _lenet_count(classes=classes)
            hint = _count_hints(n_params, classes)
            if not hint and classes != 10 and n_params == NUM_PARAMS:
                hint = "The output layer must have num_classes units: use nn.Linear(84, num_classes)."
            shapes = ", ".join(str(s) for _, s, _ in _named_params(model))
            count_text = (f"{name} has {n_params:,} parameters; expected {expected:,}. Its parameter shapes: "
                          f"{shapes}. {hint}").rstrip()

            model.eval()
            Tracked = tracked_tensors()
            n = 3
            x = track(torch.randn(n, 1, 32, 32), Tracked, "x")
            tracer = Trace()

            def explain(err, n_params=n_params, expected=expected, hint=hint):
                if n_params != expected:
                    return f"The model has {n_params:,} parameters instead of {expected:,}. {hint}".rstrip()
                return "The input is a batch of shape (N, 1, 32, 32): 28x28 digits padded by 2."

            with tracer:
                out = call(model, name, [("x", x)], explain=explain)
            text = f"{name}(x of shape {tuple(x.shape)})"
            if not isinstance(out, torch.Tensor):
                fail(f"{text} returned {type(out).__name__}; forward must return the tensor of scores.")
            if tuple(out.shape) != (n, classes):
                extra = " Use num_classes for the output layer." if out.ndim == 2 and out.shape[1] == 10 else ""
                fail(f"{text} returned shape {tuple(out.shape)}; expected ({n}, {classes}): one score per "
                     f"class for each image.{extra}")
            before, layers = layers_of(tracer.ops)
            _check_lenet_structure(layers, before, n, classes, text)
            if n_params != expected:
                fail(count_text)
            by_shape = {}
            for _, shape, p in _named_params(model):
                by_shape.setdefault(shape, p)
            needed = [(6, 1, 5, 5), (6,), (16, 6, 5, 5), (16,), (120,), (84, 120), (84,), (classes, 84), (classes,)]
            if all(s in by_shape for s in needed) and ((120, 16, 5, 5) in by_shape or (120, 400) in by_shape):
                with torch.no_grad():
                    expected_out = _lenet_oracle(by_shape, x.as_subclass(torch.Tensor), classes)
                if not torch.allclose(out.detach().double(), expected_out, rtol=1e-4, atol=1e-5):
                    err = (out.detach().double() - expected_out).abs().max().item()
                    fail(f"{text}: the scores differ from LeNet-5 recomputed with your own weights (largest "
                         f"difference {err:.2e}): conv C1 -> ReLU -> max pool -> conv C3 -> ReLU -> max pool -> "
                         "flatten -> C5 -> ReLU -> F6 -> ReLU -> output. Flatten each image with "
                         "torch.flatten(x, 1) (or x.view(x.size(0), -1)), never across the batch.")
            first = track(x.as_subclass(torch.Tensor)[:1].clone(), Tracked, "x[:1]")
            single = call(model, name, [("x", first)])
            if not torch.allclose(single.detach(), out.detach()[:1], rtol=1e-4, atol=1e-5):
                fail(f"{text}: the scores of the first image change when it is passed alone: the images of "
                     "a batch must not mix. Flatten with torch.flatten(x, 1), keeping the batch axis.")


# --------------------------------------------------------------------------------------------
# Part 2: train_one_epoch

def _optimizer(kind: str, params):
    torch = _torch()
    if kind == "sgd":
        opt = torch.optim.SGD(params, lr=0.1)
        return short_repr(opt, "SGD(lr=0.1)")
    opt = torch.optim.Adam(params, lr=0.01)
    return short_repr(opt, "Adam(lr=0.01)")


def _replay_epoch(model, batches, opt, *, zero_grad=True, reduction="mean", train=True):
    """The check's own epoch: ``(mean loss over the samples, per-batch losses)``."""
    torch = _torch()
    F = torch.nn.functional
    model.train(train)
    losses = []
    if not zero_grad:
        opt.zero_grad()
    for x, y in batches:
        if zero_grad:
            opt.zero_grad()
        loss = F.cross_entropy(model(x), y, reduction=reduction)
        loss.backward()
        opt.step()
        losses.append((loss.item() / (len(y) if reduction == "sum" else 1), len(y)))
    total = sum(value * size for value, size in losses)
    return total / sum(size for _, size in losses), losses


def _train_case(fn, *, seed, sizes, kind, start_training):
    """Run ``fn`` and the check's replay on copies of one model; return what both produced."""
    torch = _torch()
    SmallNet = _small_net_class()
    with isolated(seed):
        gen = torch.Generator().manual_seed(seed)
        plain = _data(gen, sizes)
        model = SmallNet()
        model.train(start_training)
        start = _state(model)
        ref = copy.deepcopy(model)
        ref.moves, ref.calls = [], []
    Tracked = tracked_tensors()
    batches, labels = [], []
    for i, (x, y) in enumerate(plain):
        batches.append((track(x.clone(), Tracked, f"x of batch {i}"), track(y.clone(), Tracked, f"y of batch {i}")))
        labels += [f"x of batch {i}", f"y of batch {i}"]
    loader = Loader(batches, max(sizes))
    opt = _optimizer(kind, model.parameters())
    device = torch.device("cpu")
    args = [("model", model), ("loader", loader), ("optimizer", opt), ("device", device)]
    from ._common import call_text

    text = call_text("train_one_epoch", args)
    with isolated(seed + 1):
        result = call(fn, "train_one_epoch", args)
    with isolated(seed + 1):
        expected, losses = _replay_epoch(ref, plain, _optimizer(kind, ref.parameters()))
    return {"model": model, "ref": ref, "start": start, "plain": plain, "result": result, "text": text,
            "expected": expected, "losses": losses, "moves": Tracked.moves, "labels": labels,
            "kind": kind, "seed": seed, "start_training": start_training}


def _variant_state(case, **options):
    """The model's state after an epoch replayed with one known mistake."""
    SmallNet = _small_net_class()
    with isolated(case["seed"]):
        model = SmallNet()
    model.load_state_dict(case["start"])
    with isolated(case["seed"] + 1):
        _replay_epoch(model, case["plain"], _optimizer(case["kind"], model.parameters()), **options)
    return _state(model)


def _diagnose_training(case) -> str:
    model, text = case["model"], case["text"]
    got = _state(model)
    names = [name for name, _ in model.named_parameters()]
    if all(_torch().equal(got[k], case["start"][k]) for k in names):
        return ("The parameters did not change at all. In every step: optimizer.zero_grad(), "
                "loss = F.cross_entropy(model(x), y), loss.backward(), optimizer.step(), in this order.")
    if model.calls and not all(c["training"] for c in model.calls):
        return ("The model ran in evaluation mode: call model.train() at the start of the epoch (the "
                "model may arrive in evaluation mode, e.g. right after evaluate), so that BatchNorm and "
                "dropout behave as in training.")
    if _state_close(got, _variant_state(case, zero_grad=False)):
        return ("The gradients were never reset: loss.backward() ADDS to .grad, so call "
                "optimizer.zero_grad() before each backward pass.")
    if _state_close(got, _variant_state(case, reduction="sum")):
        return ("Your loss is summed over the batch (reduction='sum'), which multiplies every gradient "
                "by the batch size: use the mean over the batch (F.cross_entropy's default).")
    if len(model.calls) != len(case["plain"]):
        return (f"The model was called {len(model.calls)} times for {len(case['plain'])} batches: call it "
                "once per batch, and compute the loss and the step from that one output.")
    return ("Compare your loop with: for each batch, move it to the device, zero the gradients, "
            "compute F.cross_entropy(model(x), y) (mean over the batch), call backward, then step.")


def check_train_one_epoch(fn):
    """``train_one_epoch(model, loader, optimizer, device)`` against the check's own replay of the
    epoch: the same parameters afterwards, the mean loss over the samples, the model and every batch
    moved to ``device``, training mode switched on, and a loss that falls from epoch to epoch."""
    torch = _torch()
    cases = [dict(seed=SEED + 20, sizes=(8, 8, 8, 8, 5), kind="sgd", start_training=True),
             dict(seed=SEED + 21, sizes=(6, 6, 6, 3), kind="adam", start_training=False)]
    for options in cases:
        case = _train_case(fn, **options)
        text = case["text"]
        value = _as_number(case["result"], text, "the mean loss of the epoch", "train_one_epoch")
        got = _state(case["model"])
        if not _state_close(got, _state(case["ref"])):
            fail(f"{text}: after the epoch the model's parameters differ from those of a correct training "
                 f"loop started from the same weights with the same batches. {_diagnose_training(case)}")
        expected, losses = case["expected"], case["losses"]
        if not math.isclose(value, expected, rel_tol=1e-5, abs_tol=1e-7):
            n_samples = sum(size for _, size in losses)
            candidates = [
                (sum(v for v, _ in losses) / len(losses),
                 "You averaged the batch means: the last batch is shorter, so weight each batch's loss by "
                 "its size (loss.item() * len(y)) and divide the total by the number of samples."),
                (sum(v * s for v, s in losses),
                 "You returned the total: divide the sum of loss.item() * len(y) by the number of samples."),
                (sum(v for v, _ in losses),
                 "You returned the sum of the batch means: the mean loss of the epoch is the sum of "
                 "loss.item() * len(y) divided by the number of samples."),
                (losses[-1][0],
                 "You returned the loss of the last batch only: return the mean over the whole epoch."),
                (sum(v * s for v, s in losses) / (len(losses) * max(s for _, s in losses)),
                 "You divided by len(loader) * batch_size, which overcounts the last, shorter batch: "
                 "divide by the number of samples actually seen (len(loader.dataset))."),
                (sum(v * s for v, s in losses) / len(losses),
                 "You divided the total by the number of batches: divide by the number of samples."),
            ]
            hint = next((h for c, h in candidates if math.isclose(value, c, rel_tol=1e-5, abs_tol=1e-7)), "")
            fail(f"{text} returned {value:.6g}; expected the mean loss over the {n_samples} samples of the "
                 f"epoch, {expected:.6g}. {hint}".rstrip())
        _moves_report(case["model"].moves, case["moves"], torch.device("cpu"), text, case["labels"])
        if not case["model"].training:
            fail(f"{text} left the model in evaluation mode: call model.train() at the start.")

    # Training lowers the loss: three epochs in a row on learnable data.
    SmallNet = _small_net_class()
    with isolated(SEED + 30):
        gen = torch.Generator().manual_seed(SEED + 30)
        plain = _data(gen, (16, 16, 16, 16), noise=0.5)
        model = SmallNet()
        opt = _optimizer("adam", model.parameters())
        values = []
        for epoch in range(3):
            loader = Loader([(x.clone(), y.clone()) for x, y in plain], 16, "loader of learnable data")
            args = [("model", model), ("loader", loader), ("optimizer", opt), ("device", torch.device("cpu"))]
            values.append(_as_number(call(fn, "train_one_epoch", args), "train_one_epoch(...)",
                                     "the mean loss of the epoch", "train_one_epoch"))
    if not values[2] < values[0]:
        fail(f"three epochs of train_one_epoch on learnable data returned mean losses {values[0]:.4f}, "
             f"{values[1]:.4f}, {values[2]:.4f}: the loss should fall. Is optimizer.step() called after "
             "loss.backward() in every batch?")


# --------------------------------------------------------------------------------------------
# Part 3: evaluate

def _eval_model(seed):
    """A trained SmallNet with dropout, its evaluation batches, and the check's own accuracy."""
    torch = _torch()
    SmallNet = _small_net_class()
    with isolated(seed):
        gen = torch.Generator().manual_seed(seed)
        train = _data(gen, (16, 16, 16, 16), noise=1.4)
        model = SmallNet(dropout=0.5)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for _ in range(3):
            for x, y in train:
                opt.zero_grad()
                torch.nn.functional.cross_entropy(model(x), y).backward()
                opt.step()
        for p in model.parameters():
            p.grad = None
        test = _data(gen, (10, 10, 10, 7), noise=1.4)
    model.calls, model.moves = [], []
    return model, test


def _oracle_accuracy(model, batches):
    """Fraction of correct predictions, model in evaluation mode, no gradients; mode restored."""
    torch = _torch()
    was = model.training
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for x, y in batches:
            x = x.as_subclass(torch.Tensor) if isinstance(x, torch.Tensor) else x
            y = y.as_subclass(torch.Tensor) if isinstance(y, torch.Tensor) else y
            correct += int((model(x).argmax(dim=1) == y).sum())
            total += len(y)
    model.train(was)
    return correct, total


def check_evaluate(fn):
    """``evaluate(model, loader, device)``: the fraction of correct predictions, computed in evaluation
    mode without gradients, with the model's mode, parameters and buffers left as they were."""
    torch = _torch()
    for start_training in (True, False):
        model, plain = _eval_model(SEED + 40)
        reference = copy.deepcopy(model)
        correct, total = _oracle_accuracy(reference, plain)
        with torch.no_grad():
            per_batch = [(int((reference.eval()(x).argmax(1) == y).sum()), len(y)) for x, y in plain]
        model.train(start_training)
        model.calls, model.moves = [], []
        before = _state(model)
        Tracked = tracked_tensors()
        batches, labels = [], []
        for i, (x, y) in enumerate(plain):
            batches.append((track(x.clone(), Tracked, f"x of batch {i}"), track(y.clone(), Tracked, f"y of batch {i}")))
            labels += [f"x of batch {i}", f"y of batch {i}"]
        loader = Loader(batches, 10)
        args = [("model", model), ("loader", loader), ("device", torch.device("cpu"))]
        from ._common import call_text

        text = call_text("evaluate", args)
        with isolated(SEED + 41):
            result = call(fn, "evaluate", args)
        value = _as_number(result, text, "the accuracy", "evaluate")
        if any(c["grad"] for c in model.calls):
            fail(f"{text} ran the model with gradients on: wrap the loop in `with torch.no_grad():` "
                 "(evaluation needs no graph; building one wastes memory and time).")
        if any(c["training"] for c in model.calls):
            fail(f"{text} ran the model in training mode: call model.eval() before the loop, so that "
                 "dropout is off and BatchNorm uses its running statistics.")
        if model.training != start_training:
            was = "training" if start_training else "evaluation"
            now = "training" if model.training else "evaluation"
            fail(f"{text}: the model arrived in {was} mode and left in {now} mode. Restore the mode it "
                 "came in: `was_training = model.training` first, `model.train(was_training)` at the end.")
        after = _state(model)
        if not _state_close(after, before, rtol=0, atol=0):
            fail(f"{text} changed the model's parameters or buffers: evaluation must not modify the model.")
        if any(p.grad is not None for p in model.parameters()):
            fail(f"{text} left gradients in the model's .grad: evaluation computes no gradients.")
        expected = correct / total
        if not math.isclose(value, expected, rel_tol=1e-9, abs_tol=1e-12):
            candidates = [
                (100 * expected, "Return a fraction in [0, 1], not a percentage."),
                (sum(c / n for c, n in per_batch) / len(per_batch),
                 "You averaged the accuracies of the batches: the last batch is shorter; count the correct "
                 "predictions over all batches and divide by the number of samples."),
                (correct / len(per_batch), "You divided by the number of batches: divide by the number of samples."),
                (float(correct), "You returned the number of correct predictions: divide it by the number of samples."),
                (correct / (len(per_batch) * 10), "You divided by len(loader) * batch_size, which overcounts the "
                 "last, shorter batch: divide by the number of samples."),
                (per_batch[-1][0] / per_batch[-1][1], "You returned the accuracy of the last batch only."),
            ]
            hint = next((h for c, h in candidates if math.isclose(value, c, rel_tol=1e-6, abs_tol=1e-9)), "")
            fail(f"{text} returned {value:.6g}; expected {correct}/{total} = {expected:.6g}, the fraction of "
                 f"the {total} samples whose highest score is the true class. {hint}".rstrip())
        _moves_report(model.moves, Tracked.moves, torch.device("cpu"), text, labels)


# --------------------------------------------------------------------------------------------
# The bar: LeNet5 trained with the student's own loop

def lr_at(epoch: int, epochs: int, lr: float) -> float:
    """The recipe's learning rate in a given epoch: a cosine from ``lr`` down towards 0."""
    return lr * 0.5 * (1 + math.cos(math.pi * epoch / epochs))


def check_accuracy(LeNet5, train_one_epoch, evaluate, *, epochs: int | None = None,  # noqa: N803
                   n_train: int | None = None, bar: float = BAR, report: dict | None = None):
    """LeNet5 trained with ``train_one_epoch`` by the lab's recipe reaches ``bar`` test accuracy.

    The recipe: seed 0, batches of 32 with random shifts of up to 2 pixels, Adam with a learning
    rate of 0.002 decayed along a cosine, 10 epochs, on the CPU with one thread. The accuracy is
    counted by the check's own loop, then ``evaluate`` must report the same number. ``epochs``,
    ``n_train`` and ``bar`` exist for quick tests of the check itself; the grader uses the
    defaults. The accuracy reached is stored in ``report["accuracy"]`` when a dict is given.
    """
    torch = _torch()
    from ..data import mnist_loaders

    epochs = RECIPE["epochs"] if epochs is None else epochs
    seed = RECIPE["seed"]
    device = torch.device("cpu")
    with isolated(seed):
        model = call(LeNet5, "LeNet5", [])
        if not isinstance(model, torch.nn.Module):
            fail(f"LeNet5() returned {type(model).__name__}; expected a torch.nn.Module.")
        short_repr(model, "LeNet5()")
        train, test = mnist_loaders(RECIPE["batch_size"], seed, augment=True, n_train=n_train)
        train = DataLoaderView(train, "<the book's MNIST training loader>")
        optimizer = short_repr(torch.optim.Adam(model.parameters(), lr=RECIPE["lr"]), "Adam(lr=0.002)")
        losses = []
        for epoch in range(epochs):
            for group in optimizer.param_groups:
                group["lr"] = lr_at(epoch, epochs, RECIPE["lr"])
            result = call(train_one_epoch, "train_one_epoch",
                          [("model", model), ("loader", train), ("optimizer", optimizer), ("device", device)])
            losses.append(_as_number(result, "train_one_epoch(model, loader, optimizer, device)",
                                     "the mean loss of the epoch", "train_one_epoch"))
        correct, total = _oracle_accuracy(model, test)
        accuracy = correct / total
        trail = ", ".join(f"{v:.3f}" for v in losses)
        if accuracy < bar:
            fail(f"LeNet5 trained with your train_one_epoch for {epochs} epochs (batches of 32 with random "
                 f"shifts, Adam with a learning rate of 0.002 along a cosine, seed 0) reached a test accuracy "
                 f"of {accuracy:.2%} ({correct}/{total}); the bar is {bar:.0%}. The mean losses per epoch "
                 f"were {trail}. The reference reaches about 98%: check the tests of LeNet5 and "
                 "train_one_epoch above.")
        view = DataLoaderView(test, "<the book's MNIST test loader>")
        reported = call(evaluate, "evaluate", [("model", model), ("loader", view), ("device", device)])
        reported = _as_number(reported, "evaluate(model, test_loader, device)", "the accuracy", "evaluate")
        if not math.isclose(reported, accuracy, rel_tol=1e-9, abs_tol=1e-12):
            fail(f"evaluate(model, test_loader, device) returned {reported:.6g} for the trained LeNet5, whose "
                 f"test accuracy is {correct}/{total} = {accuracy:.6g}: see the test of evaluate.")
    if report is not None:
        report["accuracy"] = accuracy
    # Nothing is returned: a number left as the value of a test cell is read by nbgrader as a
    # partial score.
