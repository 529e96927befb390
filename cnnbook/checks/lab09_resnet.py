"""Hidden checks of ``lab09-resnet`` (counting parameters, AlexNet and VGG16 on the meta device, the
residual block and a small ResNet).

Every call of the student's code goes through :func:`cnnbook.checks._common.call`, on the CPU or
the ``meta`` device, with one thread and the check's own seeded random numbers. The oracles are
independent of the reference solution: parameter counts come from the closed form
``K (C F^2 + 1)`` layer by layer (and from torch's own layers for ``count_params``), the layer
shapes from the output-size formula of chapter 6, and the residual block's output is recomputed
with ``torch.nn.functional`` from the block's own weights, after the check has set some of them
to values whose effect it knows (zero weights silence a branch; a fresh batch norm in evaluation
mode is the identity up to ``1 / sqrt(1 + eps)``).
"""

from __future__ import annotations

import math

from ._common import call, check_int, fail
from .lab08_lenet import Trace, isolated, layers_of, short_repr, track, tracked_tensors

SEED = 909

ALEXNET_PARAMS = 60_965_224
VGG16_PARAMS = 138_357_544
ADDS = {"add", "__add__", "__iadd__", "add_", "__radd__"}


def _torch():
    import torch

    return torch


def _x(tensor):
    """The input of a forward call, shown in messages by its dtype and shape."""
    return track(tensor, tracked_tensors(), "x")


def _count(model) -> int:
    return int(sum(p.numel() for p in model.parameters()))


def _conv(c_in, c_out, k, groups=1, bias=True) -> int:
    """Parameters of a convolution: K (C / groups * F^2 + 1)."""
    return c_out * (c_in // groups * k * k + (1 if bias else 0))


def _linear(n_in, n_out, bias=True) -> int:
    return n_out * (n_in + (1 if bias else 0))


# --------------------------------------------------------------------------------------------
# Part 1: count_params

def check_count_params(fn):
    """``count_params(model)`` against models whose counts are known: buffers left out, shared
    layers counted once, frozen parameters counted, meta-device models handled."""
    torch = _torch()
    nn = torch.nn
    with isolated(SEED):
        shared = nn.Linear(4, 4)
        frozen = nn.Sequential(nn.Linear(10, 5), nn.ReLU(), nn.Linear(5, 2))
        for p in frozen[0].parameters():
            p.requires_grad_(False)

        class Scale(nn.Module):
            def __init__(self):
                super().__init__()
                self.gain = nn.Parameter(torch.ones(3, 7))
                self.register_buffer("calls", torch.zeros(100))

            def forward(self, x):
                return x * self.gain

        cases = [
            ("nn.Linear(5, 3)", nn.Linear(5, 3), 18),
            ("nn.Conv2d(3, 8, 3, bias=False) + nn.BatchNorm2d(8)",
             nn.Sequential(nn.Conv2d(3, 8, 3, bias=False), nn.BatchNorm2d(8)), 8 * 27 + 16),
            ("one nn.Linear(4, 4) used twice in an nn.Sequential", nn.Sequential(shared, nn.ReLU(), shared), 20),
            ("an MLP 10 -> 5 -> 2 whose first layer is frozen", frozen, 55 + 12),
            ("a module with an nn.Parameter of shape (3, 7) and a buffer of 100 entries", Scale(), 21),
            ("nn.ReLU()", nn.ReLU(), 0),
            ("nn.Linear(25088, 4096) on the meta device", nn.Linear(25088, 4096, device="meta"), 25088 * 4096 + 4096),
        ]
    for label, model, expected in cases:
        short_repr(model, f"<{label}>")
        result = call(_meta_errors_as_runtime(fn), "count_params", [("model", model)],
                      explain=lambda err: ("Count with p.numel(), which works on every device: a model on the meta "
                                           "device has shapes but no data to convert or copy."
                                           if "meta" in str(err).lower() else None))
        text = f"count_params({label})"
        n_tensors = len(list(model.parameters()))
        with_buffers = expected + sum(b.numel() for b in model.buffers())
        modules_sum = sum(p.numel() for m in model.modules() for p in m.parameters())
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        hints = {}
        if n_tensors != expected:
            hints[n_tensors] = ("You counted the parameter tensors; count their entries (p.numel() for each), "
                                "e.g. a (5, 3) weight has 15.")
        if with_buffers != expected:
            hints[with_buffers] = ("You counted buffers too (running means and variances of batch norm, from "
                                   "state_dict() or buffers()): they are not trained; use model.parameters().")
        if modules_sum != expected:
            hints[modules_sum] = ("Some parameters were counted twice: model.parameters() already includes the "
                                  "parameters of every submodule (once each), so do not add them up over "
                                  "model.modules().")
        if trainable != expected:
            hints[trainable] = ("Frozen parameters (requires_grad=False) are still parameters of the model: "
                                "count them too.")
        if isinstance(result, numbers_like()) and not isinstance(result, bool):
            hint = hints.get(int(result), "") if float(result) == int(result) else ""
        else:
            hint = ""
        check_int(result, expected, text, hint=hint)


def _meta_errors_as_runtime(fn):
    """torch raises NotImplementedError when data is read from a meta tensor; that is the student's
    error, not an unfinished function, so it is passed on as a RuntimeError."""

    def count_params(model):
        try:
            return fn(model)
        except NotImplementedError as err:
            if "meta" in str(err).lower():
                raise RuntimeError(str(err)) from None
            raise

    return count_params


def numbers_like():
    import numbers

    return numbers.Real


# --------------------------------------------------------------------------------------------
# Part 2: AlexNet and VGG16 on the meta device

def _meta_model(cls, name, num_classes):
    torch = _torch()
    with isolated(SEED):
        with torch.device("meta"):
            model = call(cls, name, [], {"num_classes": num_classes})
    if not isinstance(model, torch.nn.Module):
        fail(f"{name}(num_classes={num_classes}) returned {type(model).__name__}; expected a torch.nn.Module.")
    short_repr(model, f"{name}(num_classes={num_classes})")
    return model


def _meta_forward(model, name, shape):
    torch = _torch()
    x = torch.empty(*shape, device="meta")
    tracer = Trace()
    with isolated(SEED), tracer:
        out = call(model, repr(model), [("x", _x(x))])
    return out, tracer.ops


def _check_layers(layers, expected, name, text, pool_kernel=None):
    """``expected``: (output shape per image, activation wanted, pool output or None) per layer."""
    if len(layers) != len(expected):
        seen = ", ".join(f"{layer['op']} -> {layer['shape'][1:] if layer['shape'] else '?'}" for layer in layers)
        fail(f"{text}: expected {len(expected)} layers with weights ({sum(1 for e in expected if len(e[0]) == 3)} "
             f"convolutions and {sum(1 for e in expected if len(e[0]) == 1)} fully connected); your forward pass "
             f"ran {len(layers)}: {seen}.")
    for index, (layer, (shape, act, pool)) in enumerate(zip(layers, expected)):
        where = f"layer {index + 1} ({'convolution' if len(shape) == 3 else 'fully connected'})"
        got = layer["shape"][1:] if layer["shape"] else None
        if got != shape:
            fail(f"{text}: {where} should output {shape} per image; yours gives {got}. Check its kernel size, "
                 "stride and padding against the table.")
        acts = [a for a, _ in layer["acts"]]
        if act and not acts:
            fail(f"{text}: no ReLU after {where}: in {name} every convolution and every fully connected layer "
                 "but the last is followed by a ReLU.")
        if act and acts[0] not in ("relu", "relu_"):
            fail(f"{text}: the activation after {where} is {acts[0]}; {name} uses ReLU.")
        if not act and acts:
            fail(f"{text}: the last layer is followed by {acts[0]}; return the raw scores (logits).")
        pools = layer["pools"]
        if pool is None and pools:
            fail(f"{text}: {pools[0][0]} after {where}: there is no pooling there (see the table).")
        if pool is not None:
            if not pools:
                fail(f"{text}: no max pooling after {where}: it should bring the maps to {pool}.")
            if "max" not in pools[0][0]:
                fail(f"{text}: the pooling after {where} is {pools[0][0]}; {name} uses max pooling.")
            if pools[0][1][1:] != pool:
                fail(f"{text}: the pooling after {where} gives {pools[0][1][1:]}; expected {pool}.")
            kernel = layer["pool_kernels"][0]
            if pool_kernel is not None and kernel is not None and kernel not in (pool_kernel, (pool_kernel, pool_kernel)):
                fail(f"{text}: the pooling after {where} has {kernel}-wide windows; {name} pools over "
                     f"{pool_kernel}x{pool_kernel} windows with stride 2"
                     + (", which overlap (overlapping pooling, one of the paper's points)." if pool_kernel == 3 else "."))


def _check_dropout(ops, name, text, expected=2):
    drops = [extra.get("p") for op, _, extra in ops if op == "dropout"]
    if len(drops) != expected:
        fail(f"{text}: {len(drops)} dropout layers ran; {name} has dropout (p=0.5) in the first two fully "
             "connected layers (nn.Dropout(0.5)).")
    if any(p is not None and abs(float(p) - 0.5) > 1e-12 for p in drops):
        fail(f"{text}: dropout with p={drops}; {name} drops half of the units (p=0.5).")


def _alexnet_counts(classes):
    grouped = (_conv(3, 96, 11) + _conv(96, 256, 5, 2) + _conv(256, 384, 3) + _conv(384, 384, 3, 2)
               + _conv(384, 256, 3, 2) + _linear(9216, 4096) + _linear(4096, 4096) + _linear(4096, classes))
    ungrouped = (_conv(3, 96, 11) + _conv(96, 256, 5) + _conv(256, 384, 3) + _conv(384, 384, 3)
                 + _conv(384, 256, 3) + _linear(9216, 4096) + _linear(4096, 4096) + _linear(4096, classes))
    torchvision = (_conv(3, 64, 11) + _conv(64, 192, 5) + _conv(192, 384, 3) + _conv(384, 256, 3)
                   + _conv(256, 256, 3) + _linear(9216, 4096) + _linear(4096, 4096) + _linear(4096, classes))
    return grouped, {
        ungrouped: "conv2, conv4 and conv5 connect only to the channels on their own GPU: give them groups=2, "
                   "which halves their weights.",
        torchvision: "That is torchvision's single-GPU variant (64, 192, 384, 256, 256 filters); this lab follows the "
                     "paper: 96, 256, 384, 384 and 256 filters, three of them grouped.",
    }


def check_AlexNet(cls):  # noqa: N802
    """``AlexNet(num_classes=1000)`` built on the meta device: its parameters, and the shapes, ReLUs,
    poolings and dropouts of a forward pass on a (2, 3, 227, 227) meta tensor."""
    for classes in (1000, 10):
        model = _meta_model(cls, "AlexNet", classes)
        expected, hints = _alexnet_counts(classes)
        n = _count(model)
        out, ops = _meta_forward(model, "AlexNet", (2, 3, 227, 227))
        text = f"AlexNet(num_classes={classes}) on an input of shape (2, 3, 227, 227)"
        if tuple(getattr(out, "shape", ())) != (2, classes):
            fail(f"{text} returned {tuple(getattr(out, 'shape', ()))}; expected (2, {classes}).")
        before, layers = layers_of(ops)
        if before:
            fail(f"{text}: {before[0][0]} is applied to the image before conv1.")
        _check_layers(layers, [((96, 55, 55), True, (96, 27, 27)), ((256, 27, 27), True, (256, 13, 13)),
                               ((384, 13, 13), True, None), ((384, 13, 13), True, None),
                               ((256, 13, 13), True, (256, 6, 6)), ((4096,), True, None), ((4096,), True, None),
                               ((classes,), False, None)], "AlexNet", text, pool_kernel=3)
        _check_dropout(ops, "AlexNet", text)
        if n != expected:
            fail(f"AlexNet(num_classes={classes}) has {n:,} parameters; expected {expected:,}. "
                 f"{hints.get(n, 'Compare every layer with the table: K (C / groups x F x F + 1) per convolution.')}")


_VGG = {
    "VGG11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "VGG13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "VGG16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "VGG19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


def _vgg_count(config, classes, size=224):
    total, channels, side = 0, 3, size
    for v in config:
        if v == "M":
            side //= 2
        else:
            total += _conv(channels, v, 3)
            channels = v
    return total + _linear(channels * side * side, 4096) + _linear(4096, 4096) + _linear(4096, classes)


def check_VGG16(cls):  # noqa: N802
    """``VGG16(num_classes=1000)`` on the meta device: 138,357,544 parameters, thirteen 3x3 convolutions
    in five blocks, three fully connected layers, for a (2, 3, 224, 224) meta tensor."""
    for classes in (1000, 10):
        model = _meta_model(cls, "VGG16", classes)
        expected = _vgg_count(_VGG["VGG16"], classes)
        n = _count(model)
        out, ops = _meta_forward(model, "VGG16", (2, 3, 224, 224))
        text = f"VGG16(num_classes={classes}) on an input of shape (2, 3, 224, 224)"
        if tuple(getattr(out, "shape", ())) != (2, classes):
            fail(f"{text} returned {tuple(getattr(out, 'shape', ()))}; expected (2, {classes}).")
        before, layers = layers_of(ops)
        if before:
            fail(f"{text}: {before[0][0]} is applied to the image before the first convolution.")
        wanted, side = [], 224
        config = _VGG["VGG16"]
        for i, v in enumerate(config):
            if v == "M":
                continue
            pooled = i + 1 < len(config) and config[i + 1] == "M"
            wanted.append(((v, side, side), True, (v, side // 2, side // 2) if pooled else None))
            if pooled:
                side //= 2
        wanted += [((4096,), True, None), ((4096,), True, None), ((classes,), False, None)]
        _check_layers(layers, wanted, "VGG16", text, pool_kernel=2)
        for layer in layers:
            if layer["op"] == "conv2d" and layer["weight"] and layer["weight"][2:] != (3, 3):
                fail(f"{text}: a convolution has {layer['weight'][2]}x{layer['weight'][3]} filters; VGG16 uses "
                     "3x3 filters with padding 1 everywhere.")
        _check_dropout(ops, "VGG16", text)
        if n != expected:
            others = {_vgg_count(c, classes): f"That is the count of {k}; VGG16 is configuration D: 2, 2, 3, 3 and 3 "
                      "convolutions in its five blocks." for k, c in _VGG.items() if k != "VGG16"}
            fail(f"VGG16(num_classes={classes}) has {n:,} parameters; expected {expected:,}. "
                 f"{others.get(n, 'Compare every layer with the table: K (C x 3 x 3 + 1) per convolution.')}")


# --------------------------------------------------------------------------------------------
# Part 3: ResidualBlock

def _block_count(c_in, c_out, stride, *, projection=None, bias=False, proj_bn=True, proj_kernel=1):
    if projection is None:
        projection = stride != 1 or c_in != c_out
    b = 1 if bias else 0
    total = c_out * (9 * c_in + b) + c_out * (9 * c_out + b) + 4 * c_out
    if projection:
        total += c_out * (proj_kernel * proj_kernel * c_in + b) + (2 * c_out if proj_bn else 0)
    return total


def _block_hints(c_in, c_out, stride):
    needs = stride != 1 or c_in != c_out
    hints = {
        _block_count(c_in, c_out, stride, bias=True):
            "The convolutions should have no bias (bias=False): the batch norm after each has its own shift.",
    }
    if needs:
        hints[_block_count(c_in, c_out, stride, projection=False)] = (
            "There is no projection: when the stride is not 1 or the channels change, the shortcut is a 1x1 "
            "convolution (with that stride) followed by batch norm.")
        hints[_block_count(c_in, c_out, stride, proj_bn=False)] = (
            "The 1x1 projection of the shortcut should be followed by batch norm (nn.BatchNorm2d(out_channels)).")
        hints[_block_count(c_in, c_out, stride, proj_kernel=3)] = (
            "The projection of the shortcut is a 1x1 convolution, not 3x3.")
    else:
        hints[_block_count(c_in, c_out, stride, projection=True)] = (
            "When the shapes agree (stride 1, in_channels == out_channels) the shortcut is the identity: no "
            "projection, no parameters.")
    return hints


def _bn_scale():
    """A fresh batch norm in evaluation mode multiplies by 1 / sqrt(1 + eps)."""
    return 1 / math.sqrt(1 + 1e-5)


def check_ResidualBlock(cls):  # noqa: N802
    """``ResidualBlock(in_channels, out_channels, stride=1)``: shapes, parameters, the order of the
    operations, and three properties with known answers: with its batch norms silenced the block is
    a ReLU of its input; with its 3x3 filters silenced a projection block is a ReLU of its 1x1
    projection; with the projection silenced it is the residual branch recomputed from its weights."""
    torch = _torch()
    nn = torch.nn
    Fn = torch.nn.functional
    cases = [(8, 8, 1), (8, 16, 1), (8, 8, 2), (8, 16, 2)]
    for index, (c_in, c_out, stride) in enumerate(cases):
        kwargs = {"stride": stride} if stride != 1 else {}
        name = f"ResidualBlock({c_in}, {c_out}" + (f", stride={stride})" if stride != 1 else ")")
        needs = stride != 1 or c_in != c_out
        with isolated(SEED + index):
            block = call(cls, "ResidualBlock", [("in_channels", c_in), ("out_channels", c_out)], kwargs)
            if not isinstance(block, nn.Module):
                fail(f"{name} returned {type(block).__name__}; ResidualBlock must be a torch.nn.Module subclass.")
            short_repr(block, name)
            n = _count(block)
            expected = _block_count(c_in, c_out, stride)
            hint = _block_hints(c_in, c_out, stride).get(n, "")
            x = torch.randn(2, c_in, 8, 8)

            def explain(err, needs=needs, hint=hint):
                if needs and ("size of tensor" in str(err) or "must match" in str(err)):
                    return ("F(x) and x have different shapes here: the shortcut must be a projection, a 1x1 "
                            "convolution with the block's stride followed by batch norm, when the stride is not 1 "
                            "or the number of channels changes.")
                return hint or None

            block.train()
            tracer = Trace()
            with tracer:
                out = call(block, name, [("x", _x(x))], explain=explain)
        side = 8 // stride
        text = f"{name} on x of shape {tuple(x.shape)}"
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != (2, c_out, side, side):
            fail(f"{text} returned {tuple(getattr(out, 'shape', ()))}; expected (2, {c_out}, {side}, {side}): "
                 f"out_channels maps, {8}/{stride} = {side} pixels on a side.")
        if n != expected:
            fail(f"{name} has {n:,} parameters; expected {expected:,}. {hint}".rstrip())
        _check_block_order(tracer.ops, text, needs)

        convs = [m for m in block.modules() if isinstance(m, nn.Conv2d)]
        bns = [m for m in block.modules() if isinstance(m, nn.BatchNorm2d)]
        three = [m for m in convs if tuple(m.kernel_size) == (3, 3)]
        ones = [m for m in convs if tuple(m.kernel_size) == (1, 1)]
        if len(three) != 2 or len(ones) != (1 if needs else 0) or len(bns) != (3 if needs else 2):
            fail(f"{name} should contain two 3x3 convolutions, {2 + needs} batch norms"
                 + (" and one 1x1 convolution (the projection)" if needs else " and no other layer with weights")
                 + f"; it has {len(three)} 3x3 and {len(ones)} 1x1 convolutions and {len(bns)} batch norms.")
        block.eval()
        for bn in bns:  # the forward pass in training mode moved the running statistics: back to 0 and 1
            bn.reset_running_stats()
        with torch.no_grad():
            if not needs:
                # Batch norms silenced: the residual branch gives 0, the block gives relu(x).
                for bn in bns:
                    bn.weight.zero_()
                    bn.bias.zero_()
                got = call(block, name, [("x", _x(x))])
                if not torch.allclose(got, torch.relu(x), atol=1e-6):
                    if torch.allclose(got, x, atol=1e-6):
                        cause = "it returned x itself: the ReLU must come after the addition."
                    elif torch.allclose(got, torch.zeros_like(got)):
                        cause = "it returned 0: is x added back (out + x) before the final ReLU?"
                    else:
                        cause = "check that the block returns relu(F(x) + x)."
                    fail(f"{text} in evaluation mode, with every batch norm's weight and bias set to 0 (so that "
                         f"F(x) = 0), should return relu(x); {cause}")
            else:
                # 3x3 filters silenced: the block gives relu(bn(conv1x1(x))).
                saved = [m.weight.clone() for m in three]
                for m in three:
                    m.weight.zero_()
                projection = ones[0]
                if tuple(projection.stride) != (stride, stride):
                    fail(f"{name}: the 1x1 projection has stride {tuple(projection.stride)}; it must have the "
                         f"block's stride, {stride}, so that x shrinks like F(x).")
                want = torch.relu(Fn.conv2d(x, projection.weight, projection.bias, stride=stride) * _bn_scale())
                got = call(block, name, [("x", _x(x))])
                if not torch.allclose(got, want, rtol=1e-4, atol=1e-5):
                    fail(f"{text} in evaluation mode, with both 3x3 convolutions set to 0 (so that F(x) = 0), should "
                         "return relu(BN(conv1x1(x))), the projected shortcut; it did not. Add the shortcut of x, not "
                         "of F(x), and apply the final ReLU after the addition.")
                for m, w in zip(three, saved):
                    m.weight.copy_(w)
                if c_in != c_out:
                    # Projection silenced: the block gives relu(bn2(conv2(relu(bn1(conv1(x)))))).
                    projection.weight.zero_()
                    first = next(m for m in three if m.in_channels == c_in)
                    second = next(m for m in three if m is not first)
                    if tuple(first.stride) != (stride, stride) or tuple(second.stride) != (1, 1):
                        fail(f"{name}: the first 3x3 convolution should have stride {stride} and the second "
                             f"stride 1; they have {tuple(first.stride)} and {tuple(second.stride)}.")
                    h = torch.relu(Fn.conv2d(x, first.weight, stride=stride, padding=1) * _bn_scale())
                    want = torch.relu(Fn.conv2d(h, second.weight, padding=1) * _bn_scale())
                    got = call(block, name, [("x", _x(x))])
                    if not torch.allclose(got, want, rtol=1e-4, atol=1e-5):
                        err = (got - want).abs().max().item()
                        fail(f"{text} in evaluation mode, with the projection set to 0, should return the residual "
                             f"branch relu(BN(conv3x3(relu(BN(conv3x3(x)))))) recomputed from its own weights; the "
                             f"largest difference is {err:.2e}. Check the order: conv, batch norm, ReLU, conv, batch "
                             "norm, then add the shortcut, then ReLU.")


def _check_block_order(ops, text, needs):
    # Only additions of feature maps count (batch norm adds 1 to its counter of batches in training mode).
    names = [op for op, shape, _ in ops
             if op in {"conv2d", "batch_norm", "relu", "relu_"} or (op in ADDS and shape is not None and len(shape) == 4)]
    if not any(op in ADDS for op in names):
        fail(f"{text}: the forward pass never adds the shortcut to F(x): return relu(F(x) + shortcut(x)).")
    last_add = max(i for i, op in enumerate(names) if op in ADDS)
    after = names[last_add + 1:]
    if not after or after[-1] not in ("relu", "relu_"):
        fail(f"{text}: the block must end with a ReLU applied after the addition, relu(F(x) + shortcut(x)); "
             f"after the addition it ran {after or 'nothing'}.")
    convs = [i for i, op in enumerate(names) if op == "conv2d"]
    for i in convs:
        if i + 1 >= len(names) or names[i + 1] != "batch_norm":
            fail(f"{text}: every convolution of the block (the projection's too) is followed by batch norm; "
                 f"the operations ran in the order {', '.join(names)}.")
    relus = [i for i, op in enumerate(names[:last_add]) if op in ("relu", "relu_")]
    if len(relus) != 1:
        fail(f"{text}: inside F there is exactly one ReLU, between the two convolutions (conv, BN, ReLU, conv, BN); "
             f"the operations ran in the order {', '.join(names)}.")


# --------------------------------------------------------------------------------------------
# Part 4: SmallResNet

def _recording_block():
    torch = _torch()
    nn = torch.nn

    class RecordingBlock(nn.Module):
        """A stand-in block: one 3x3 convolution with the given stride; records its arguments."""

        made: list = []

        def __init__(self, in_channels, out_channels, stride=1):
            super().__init__()
            RecordingBlock.made.append((in_channels, out_channels, stride))
            self.conv = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)

        def forward(self, x):
            return torch.relu(self.conv(x))

    RecordingBlock.made = []
    return RecordingBlock


def check_SmallResNet(cls):  # noqa: N802
    """``SmallResNet(num_classes, in_channels, widths, blocks_per_stage, block)`` built with a stand-in
    block: which blocks it makes, the stem, global average pooling, the classifier, and the default
    ``block=None`` that uses ``ResidualBlock``."""
    torch = _torch()
    nn = torch.nn
    for index, (classes, c_in, widths, per_stage) in enumerate([(7, 3, (4, 8, 16), 2), (10, 1, (6, 12, 24), 1)]):
        Block = _recording_block()
        kwargs = {"num_classes": classes, "in_channels": c_in, "widths": widths, "blocks_per_stage": per_stage,
                  "block": Block}
        name = (f"SmallResNet(num_classes={classes}, in_channels={c_in}, widths={widths}, "
                f"blocks_per_stage={per_stage}, block=<a test block>)")
        with isolated(SEED + 50 + index):
            model = call(cls, "SmallResNet", [], kwargs)
        if not isinstance(model, nn.Module):
            fail(f"{name} returned {type(model).__name__}; expected a torch.nn.Module.")
        short_repr(model, name)
        expected_blocks, channels = [], widths[0]
        for stage, width in enumerate(widths):
            for i in range(per_stage):
                expected_blocks.append((channels, width, 2 if stage > 0 and i == 0 else 1))
                channels = width
        made = [(int(a), int(b), int(s)) for a, b, s in Block.made]
        if made != expected_blocks:
            hint = ""
            if not made:
                hint = (" It never called the block it was given: build every block with the `block` argument, "
                        "block(in_channels, out_channels, stride).")
            elif len(made) != len(expected_blocks):
                hint = (f" It made {len(made)} blocks; three stages of blocks_per_stage={per_stage} make "
                        f"{len(expected_blocks)}.")
            elif [s for *_, s in made] != [s for *_, s in expected_blocks]:
                hint = (" The strides are wrong: only the first block of the second and of the third stage has "
                        "stride 2 (the first stage keeps the stem's resolution).")
            fail(f"{name} built the blocks (in_channels, out_channels, stride) {made}; expected {expected_blocks}."
                 + hint)
        n = _count(model)
        want = _conv(c_in, widths[0], 3, bias=False) + 2 * widths[0]
        want += sum(9 * a * b for a, b, _ in expected_blocks) + _linear(widths[-1], classes)
        for size in (32, 28, 20):
            x = torch.randn(2, c_in, size, size)
            tracer = Trace()
            with isolated(SEED + 60), tracer:
                out = call(model, name, [("x", _x(x))],
                           explain=lambda err: ("The classifier must not depend on the image size: average each "
                                                "channel over all positions first (F.adaptive_avg_pool2d(x, 1)), "
                                                "then flatten to (N, widths[-1])."))
            text = f"{name} on x of shape {tuple(x.shape)}"
            if not isinstance(out, torch.Tensor) or tuple(out.shape) != (2, classes):
                fail(f"{text} returned {tuple(getattr(out, 'shape', ()))}; expected (2, {classes}).")
            ops = [op for op, _, _ in tracer.ops]
            pooled = [op for op in ops if op in ("adaptive_avg_pool2d", "mean", "avg_pool2d", "adaptive_max_pool2d",
                                                 "max_pool2d", "amax")]
            if not pooled or pooled[-1] not in ("adaptive_avg_pool2d", "mean", "avg_pool2d"):
                fail(f"{text}: the classifier should see the global AVERAGE of each channel "
                     "(F.adaptive_avg_pool2d(x, 1) or x.mean(dim=(2, 3))); your forward pass used "
                     f"{pooled[-1] if pooled else 'no pooling'}.")
            first = [op for op, _, extra in tracer.ops if op in ("conv2d", "batch_norm", "relu", "relu_")][:3]
            if first[:2] != ["conv2d", "batch_norm"] or first[2] not in ("relu", "relu_"):
                fail(f"{text}: the stem should be a 3x3 convolution, batch norm and ReLU; it ran {first}.")
        if n != want:
            fail(f"{name} has {n:,} parameters; expected {want:,}: the stem (3x3 convolution without bias to "
                 f"widths[0] channels, and its batch norm), the blocks, and one linear layer from widths[-1] to "
                 "num_classes.")

    # The default block is ResidualBlock.
    with isolated(SEED + 70):
        default = call(cls, "SmallResNet", [], {})
    names = [type(m).__name__ for m in default.modules()]
    if names.count("ResidualBlock") != 9:
        fail(f"SmallResNet() should build its 9 blocks with ResidualBlock (block=None means ResidualBlock); it "
             f"contains {names.count('ResidualBlock')} ResidualBlock modules.")
    linears = [m for m in default.modules() if isinstance(m, nn.Linear)]
    if len(linears) != 1 or (linears[0].in_features, linears[0].out_features) != (64, 10):
        fail("SmallResNet() should end with one nn.Linear(64, 10) (widths[-1] to num_classes).")
