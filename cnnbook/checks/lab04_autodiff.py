"""Hidden checks of ``lab04-autodiff`` (the two-layer network with torch.autograd and torch.optim).

One ``check_<function>(fn)`` per graded function of the lab. The oracles are independent of the
reference solution: the forward formula evaluated in float64 from the module's own parameters
for ``make_mlp``; the matrix formulas of chapter 4 in NumPy for ``torch_loss_and_grads``; and,
for ``train``, gradient descent written out step by step here (autograd for the gradients, a
hand-written update instead of ``torch.optim.SGD``), with the shuffling recipe of the lab.

The checks run on ``cnnbook.device()`` (a GPU when there is one) and on the CPU, watch every
forward pass of the model through a hook (batch sizes, the device of the inputs and of the
weights), leave the global torch random state as it was and, on the CPU, use one thread.
Every call of the student's function goes through ``_common.call``.
"""

from __future__ import annotations

import contextlib
import copy
import numbers

import numpy as np

from . import ex04_backprop
from ._common import call, call_text, describe, fail

SEED = 414


@contextlib.contextmanager
def _quiet_torch():
    """A private torch random state (seeded) and, on the CPU, a single thread."""
    import torch

    threads = torch.get_num_threads()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        torch.set_num_threads(1)
        try:
            yield torch
        finally:
            torch.set_num_threads(threads)


class _Shown:
    """An argument as a message shows it (a tensor's repr would print all its values)."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _tensor_text(t) -> str:
    return f"<{str(t.dtype).replace('torch.', '')} tensor {tuple(t.shape)} on {t.device.type}>"


def _device():
    import cnnbook

    return cnnbook.device()


# --------------------------------------------------------------------------------------------
# make_mlp

def check_make_mlp(fn):
    """``make_mlp(d_in, hidden, d_out)``: a module with parameters [W, b, V, c] computing
    relu(X W^T + b) V^T + c."""
    with _quiet_torch() as torch:
        for d_in, hidden, d_out in [(2, 5, 3), (1, 1, 1), (7, 16, 4), (3, 100, 2), (5, 3, 5)]:
            args = [("d_in", d_in), ("hidden", hidden), ("d_out", d_out)]
            text = call_text("make_mlp", args)
            model = call(fn, "make_mlp", args)
            if not isinstance(model, torch.nn.Module):
                fail(f"{text} returned {describe(model)}; expected a torch.nn.Module, e.g. nn.Sequential(...).")
            params = list(model.parameters())
            shapes = [tuple(p.shape) for p in params]
            expected = [(hidden, d_in), (hidden,), (d_out, hidden), (d_out,)]
            if shapes != expected:
                why = ""
                if len(shapes) == 2:
                    why = " Two arrays only: both linear layers need their bias (nn.Linear has bias=True by default)."
                elif len(shapes) > 4:
                    why = " More than two layers: the network is Linear, ReLU, Linear."
                elif shapes == [(d_in, hidden), (hidden,), (hidden, d_out), (d_out,)]:
                    why = " The weights are transposed: nn.Linear(in_features, out_features) stores (out, in)."
                fail(f"{text} has parameters of shapes {shapes}; expected W {expected[0]}, b {expected[1]}, "
                     f"V {expected[2]}, c {expected[3]}, in this order.{why}")
            if any(p.dtype != torch.float32 for p in params):
                fail(f"{text} has parameters of dtype {params[0].dtype}; leave PyTorch's default, float32.")
            X = torch.randn(6, d_in) * 2
            with torch.no_grad():
                got = call(lambda _: model(X.to(params[0].device)), f"{text}, called", [("X", _Shown(_tensor_text(X)))],
                           mutation=False)
            if not isinstance(got, torch.Tensor) or tuple(got.shape) != (6, d_out):
                fail(f"{text}: model(X of shape (6, {d_in})) returned {describe(got)}; expected a tensor of shape "
                     f"(6, {d_out}).")
            W, b, V, c = (p.detach().cpu().double().numpy() for p in params)
            x = X.double().numpy()
            z = x @ W.T + b
            out = got.detach().cpu().double().numpy()
            variants = [
                (np.maximum(z, 0) @ V.T + c, None),
                (z @ V.T + c, "The ReLU is missing: the network is Linear, ReLU, Linear (nn.ReLU())."),
                (np.maximum(np.maximum(z, 0) @ V.T + c, 0),
                 "There is a ReLU after the last layer too: the outputs are logits (any real number), so the last "
                 "layer has no activation."),
                (1 / (1 + np.exp(-z)) @ V.T + c, "The activation is a sigmoid; the lab's network uses nn.ReLU()."),
                (np.tanh(z) @ V.T + c, "The activation is tanh; the lab's network uses nn.ReLU()."),
            ]
            for value, why in variants:
                if np.allclose(out, value, rtol=1e-4, atol=1e-5):
                    if why is None:
                        break
                    fail(f"{text}: model(X) is not relu(X W^T + b) V^T + c. {why}")
            else:
                fail(f"{text}: model(X) is not relu(X W^T + b) V^T + c computed from its own parameters "
                     "[W, b, V, c] (the first row differs: got "
                     f"{np.round(out[0], 4).tolist()}, expected {np.round(variants[0][0][0], 4).tolist()}).")


# --------------------------------------------------------------------------------------------
# torch_loss_and_grads

def _inspect(text, L, grads):
    """Types first: a tensor where a float or a NumPy array is expected, float32 gradients."""
    if (type(L).__module__ or "").split(".")[0] == "torch":
        fail(f"{text} returned the loss as {describe(L)}; return a Python float: loss.item().")
    if isinstance(grads, dict):
        for name in ex04_backprop.NAMES:
            g = grads.get(name)
            if (type(g).__module__ or "").split(".")[0] == "torch":
                fail(f"{text}: grads[{name!r}] is {describe(g)}; return NumPy arrays: t.grad.detach().cpu().numpy().")
            if isinstance(g, np.ndarray) and g.dtype == np.float32:
                fail(f"{text}: grads[{name!r}] has dtype float32; create the tensors in float64 "
                     "(torch.tensor(value, dtype=torch.float64, requires_grad=True)): float32 keeps only about 7 "
                     "significant digits.")


def check_torch_loss_and_grads(fn):
    """``torch_loss_and_grads(X, y, params, loss)`` against the matrix formulas of chapter 4 (NumPy)."""
    with _quiet_torch():
        ex04_backprop.check_loss_and_grads(fn, name="torch_loss_and_grads", forbid=False,
                                           oracle=ex04_backprop._closed_form, inspect=_inspect)


# --------------------------------------------------------------------------------------------
# train

def _blobs(rng, n, classes=3):
    """Three overlapping Gaussian blobs in the plane: X float32 (n, 2), y int64 (n,)."""
    centres = np.array([[1.0, 0.0], [-0.5, 0.9], [-0.5, -0.9]])[:classes]
    y = np.arange(n) % classes
    X = centres[y] + 0.6 * rng.standard_normal((n, 2))
    return X.astype(np.float32), y.astype(np.int64)


def _network(torch, hidden=8):
    nn = torch.nn
    return nn.Sequential(nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, 3))


def _cross_entropy(torch, logits, y):
    """Mean softmax cross-entropy, written out."""
    return (torch.logsumexp(logits, dim=1) - logits.gather(1, y[:, None])[:, 0]).mean()


def _descend(torch, model, X, y, epochs, lr, weight_decay, batch_size=None, seed=0, *, accumulate=False,
             record_after=False, penalty_in_loss=False, extra_decay=0.0, new_generator=False,
             shuffle_labels=True):
    """Gradient descent written out (the oracle of ``train``), on the CPU, on a copy of ``model``.

    The keyword arguments reproduce mistakes: ``accumulate`` never zeroes the gradients,
    ``record_after`` records the loss after the step, ``penalty_in_loss`` records the loss plus
    the L2 penalty (weight_decay / 2) ||theta||^2, ``extra_decay`` is added to the decay of the
    update (a penalty applied twice, or not at all), ``new_generator`` re-seeds the shuffling every
    epoch, ``shuffle_labels=False`` shuffles X but not y. Returns the copy and its epoch losses.
    """
    model = copy.deepcopy(model).cpu()
    params = list(model.parameters())
    grads = [torch.zeros_like(p) for p in params]
    generator = torch.Generator().manual_seed(seed)
    n = len(y)
    losses = []
    for _ in range(epochs):
        if new_generator:
            generator = torch.Generator().manual_seed(seed)
        if batch_size is None:
            batches = [torch.arange(n)]
        else:
            batches = torch.randperm(n, generator=generator).split(batch_size)
        total, start = 0.0, 0
        for idx in batches:
            labels = y[idx] if shuffle_labels else y[start:start + len(idx)]
            start += len(idx)
            loss = _cross_entropy(torch, model(X[idx]), labels)
            new = torch.autograd.grad(loss, params)
            with torch.no_grad():
                recorded = float(loss)
                if penalty_in_loss:
                    recorded += 0.5 * weight_decay * float(sum((p ** 2).sum() for p in params))
                for k, (p, g) in enumerate(zip(params, new)):
                    grads[k] = grads[k] + g if accumulate else g
                    p -= lr * (grads[k] + (weight_decay + extra_decay) * p)
                if record_after:
                    recorded = float(_cross_entropy(torch, model(X[idx]), y[idx]))
            total += recorded
        losses.append(total / len(batches))
    return model, losses


class _Watch:
    """A forward pre-hook that records, for every call of the model, the batch it got and where
    the batch and the weights were."""

    def __init__(self, model):
        self.calls = []
        self.handle = model.register_forward_pre_hook(self)

    def __call__(self, module, inputs):
        x = inputs[0]
        weight = next(module.parameters())
        self.calls.append((x.detach().cpu().clone(), x.device, weight.device))

    def remove(self):
        self.handle.remove()


def _close(a, b, *, rtol=1e-4, atol=1e-5) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.all(np.isfinite(a))) and bool(np.max(np.abs(a - b), initial=0.0)
                                                                        <= atol + rtol * np.max(np.abs(b), initial=0.0))


def _run_train(torch, fn, model, X, y, epochs, lr, weight_decay, device, batch_size, seed):
    shown = [("model", _Shown("<Linear(2, 8), ReLU, Linear(8, 3)>")), ("X", _Shown(_tensor_text(X))),
             ("y", _Shown(_tensor_text(y))), ("epochs", epochs), ("lr", lr), ("weight_decay", weight_decay),
             ("device", device)]
    kwargs = {"batch_size": batch_size, "seed": seed}
    text = call_text("train", shown, kwargs)
    watch = _Watch(model)
    try:
        losses = call(lambda *_, **__: fn(model, X, y, epochs, lr, weight_decay, device, **kwargs), "train", shown,
                      kwargs, mutation=False, explain=_explain_device)
    finally:
        watch.remove()
    if not isinstance(losses, (list, tuple)):
        fail(f"{text} returned {describe(losses)}; expected a list of {epochs} floats, one per epoch.")
    if len(losses) != epochs:
        fail(f"{text} returned {len(losses)} losses; expected {epochs}, one per epoch (the mean of its steps' "
             "losses).")
    for value in losses:
        if (type(value).__module__ or "").split(".")[0] == "torch":
            fail(f"{text} returned losses that are {describe(value)}; record Python floats, loss.item() (a "
                 "tensor keeps its whole graph, and on a GPU its memory, alive).")
        if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating)):
            fail(f"{text} returned a loss {describe(value)}; expected Python floats.")
    return text, [float(v) for v in losses], watch.calls


def _explain_device(err) -> str | None:
    text = str(err)
    if "CUDA" in text or "cuda" in text:
        return ("Never name a device yourself ('cuda', .cuda()): use the device you are given, model.to(device) "
                "and X.to(device), so that the code runs on any machine.")
    if "same device" in text or "Expected all tensors" in text:
        return "The model and the data are on different devices: move both to the device you are given."
    return None


def _check_devices(text, model, calls, device):
    wanted = device.type
    for x, x_device, w_device in calls:
        if x_device.type != wanted:
            fail(f"{text}: the model was called on data on {x_device.type}, not on the device {wanted}: move the "
                 "data there first, X = X.to(device) and y = y.to(device).")
        if w_device.type != wanted:
            fail(f"{text}: the model's weights were on {w_device.type} during training, not on the device "
                 f"{wanted}: call model.to(device) before creating the optimizer.")
    where = {p.device.type for p in model.parameters()}
    if where != {wanted}:
        fail(f"{text}: after training the model is on {sorted(where)}; it must stay on the device it was trained "
             f"on, {wanted} (model.to(device)).")


def _check_steps(text, calls, n, epochs, batch_size, X):
    sizes = [len(x) for x, _, _ in calls]
    per_epoch = [n] if batch_size is None else [len(b) for b in np.array_split(np.arange(n), range(batch_size, n, batch_size))]
    expected = per_epoch * epochs
    if sizes != expected:
        shown = sizes if len(sizes) <= 16 else sizes[:16] + ["..."]
        why = ""
        if len(sizes) > len(expected):
            why = (" The model was called more often than once per step: do not evaluate anything else (accuracy, "
                   "a second forward pass for the loss) inside train.")
        elif batch_size is None and sizes and all(s == n for s in sizes):
            why = " With batch_size=None an epoch is ONE step on the whole data set."
        fail(f"{text}: the model was called on batches of sizes {shown}; expected {len(expected)} calls, one per "
             f"step, of sizes {per_epoch} in every epoch.{why}")
    if batch_size is not None:
        rows = np.sort(X.numpy().view([("a", np.float32), ("b", np.float32)]).ravel(), order=["a", "b"])
        k = len(per_epoch)
        for e in range(epochs):
            seen = np.concatenate([calls[e * k + j][0].numpy() for j in range(k)])
            got = np.sort(seen.view([("a", np.float32), ("b", np.float32)]).ravel(), order=["a", "b"])
            if not np.array_equal(got, rows):
                fail(f"{text}: in epoch {e} the model did not see every example exactly once: shuffle with ONE "
                     "permutation per epoch, torch.randperm(n, generator=generator), and cut it into batches.")


def _short(values, count=4) -> str:
    flat = np.asarray(values, dtype=np.float64).ravel()
    return "[" + ", ".join(f"{v:.5g}" for v in flat[:count]) + (", ...]" if flat.size > count else "]")


def _compare(text, model, losses, oracle_model, oracle_losses, variants):
    """The losses and the trained weights against the oracle; ``variants`` recognise mistakes."""
    got_params = [p.detach().cpu().numpy() for p in model.parameters()]
    exp_params = [p.detach().numpy() for p in oracle_model.parameters()]
    params_ok = all(_close(g, e) for g, e in zip(got_params, exp_params))
    losses_ok = _close(losses, oracle_losses)
    if params_ok and losses_ok:
        return
    for why, make in variants:
        v_model, v_losses = make()
        v_params = [p.detach().numpy() for p in v_model.parameters()]
        if all(_close(g, e) for g, e in zip(got_params, v_params)) and _close(losses, v_losses):
            fail(f"{text}: {why}")
    if not params_ok:
        worst = max(range(4), key=lambda k: float(np.max(np.abs(got_params[k] - exp_params[k]))))
        name = "WbVc"[worst]
        fail(f"{text}: the trained weights differ from {len(oracle_losses)} epochs of SGD written out step by step "
             f"(the first difference in {name}: got {_short(got_params[worst])}, expected "
             f"{_short(exp_params[worst])}). Each step: "
             "optimizer.zero_grad(), loss = F.cross_entropy(model(X_batch), y_batch), loss.backward(), "
             "optimizer.step(), with torch.optim.SGD(model.parameters(), lr=lr, weight_decay=weight_decay).")
    fail(f"{text}: the trained weights are right but the losses are not: got {_short(losses)}, "
         f"expected {_short(oracle_losses)}. Record, for each epoch, the mean of its steps' "
         "cross-entropy losses, each computed before its step (loss.item()).")


def check_train(fn):
    """``train(model, X, y, epochs, lr, weight_decay, device, batch_size=None, seed=0)`` against SGD
    written out here, on ``cnnbook.device()`` and on the CPU."""
    with _quiet_torch() as torch:
        device = _device()
        cpu = torch.device("cpu")
        rng = np.random.default_rng([SEED, 3])
        settings = [
            # n, epochs, lr, weight_decay, batch_size, seed, device, start on
            (30, 6, 0.5, 0.05, None, 0, device, cpu),
            (30, 3, 0.3, 0.1, 8, 5, device, cpu),
            (24, 4, 0.2, 0.0, 5, 11, cpu, device),
            (27, 2, 0.4, 0.02, 32, 2, device, device),
        ]
        for n, epochs, lr, weight_decay, batch_size, seed, dev, start in settings:
            X_np, y_np = _blobs(rng, n)
            X, y = torch.from_numpy(X_np), torch.from_numpy(y_np)
            model = _network(torch)
            initial = copy.deepcopy(model)
            model.to(start)
            text, losses, calls = _run_train(torch, fn, model, X.to(start), y.to(start), epochs, lr, weight_decay,
                                             dev, batch_size, seed)
            _check_devices(text, model, calls, dev)
            _check_steps(text, calls, n, epochs, batch_size, X)
            oracle = _descend(torch, initial, X, y, epochs, lr, weight_decay, batch_size, seed)

            def variant(**kw):
                return lambda: _descend(torch, initial, X, y, epochs, lr, weight_decay, batch_size, seed, **kw)

            variants = [
                ("The gradients pile up from step to step: call optimizer.zero_grad() before every "
                 "loss.backward() (backward ADDS to .grad).", variant(accumulate=True)),
                ("The losses are recorded after each step; record each step's loss before its step (the value "
                 "loss.backward() was called on).", variant(record_after=True)),
            ]
            if weight_decay:
                variants += [
                    ("The weight decay is missing: pass it to the optimizer, torch.optim.SGD(model.parameters(), "
                     "lr=lr, weight_decay=weight_decay).", variant(extra_decay=-weight_decay)),
                    ("The weight decay is applied twice (an L2 term added to the loss AND weight_decay in the "
                     "optimizer?): use the optimizer's weight_decay only.", variant(extra_decay=weight_decay)),
                    ("The recorded losses include the L2 penalty: pass weight_decay to torch.optim.SGD and record "
                     "the cross-entropy alone.", variant(penalty_in_loss=True)),
                    ("The L2 penalty is applied twice (added to the loss AND passed as weight_decay), and recorded "
                     "with the loss: pass weight_decay to torch.optim.SGD only and record the cross-entropy alone.",
                     variant(extra_decay=weight_decay, penalty_in_loss=True)),
                ]
            if batch_size is not None and batch_size < n:
                variants += [
                    ("Every epoch visits the examples in the same order: create the generator once, before the "
                     "first epoch, and draw a new torch.randperm(n, generator=generator) at the start of each "
                     "epoch.", variant(new_generator=True)),
                    ("The labels do not follow the examples: index X and y with the same permutation, "
                     "X[idx] and y[idx].", variant(shuffle_labels=False)),
                ]
            _compare(text, model, losses, *oracle, variants)
