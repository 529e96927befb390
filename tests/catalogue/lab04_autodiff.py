"""Wrong answers that students really write for lab04-autodiff.

Each entry replaces one function of the reference solution (``code`` is run after the solution
cells, in the same namespace, so it may use the lab's imports: np, torch, nn, F) and must make
at least the test cells in ``expect`` fail with a message that points at the mistake. ``hint``,
when given, is a phrase that the message of the hidden check of ``replaces`` must contain
(case-insensitive): the diagnosis a student gets.

Some mistakes can only be seen where a GPU is: data left on the CPU while the model is on the
GPU trains fine on a machine without one. They are not catalogued here, since the catalogue must
fail everywhere; the hidden checks test them when ``cnnbook.device()`` is a GPU.
"""

from __future__ import annotations

from catalogue import Mistake

_TLG = '''
def torch_loss_and_grads(X, y, params, loss="mse"):
    if loss not in ("mse", "ce"):
        raise ValueError(loss)
    t = {name: torch.tensor(value, dtype=torch.float64, requires_grad=True) for name, value in params.items()}
    Xt = torch.as_tensor(X, dtype=torch.float64)
    out = torch.relu(Xt @ t["W"].T + t["b"]) @ t["V"].T + t["c"]
    if loss == "mse":
        L = ((out - torch.as_tensor(y, dtype=torch.float64)) ** 2).sum(dim=1).mean()
    else:
        L = F.cross_entropy(out, torch.as_tensor(y, dtype=torch.long))
    L.backward()
    return L.item(), {name: t[name].grad.detach().cpu().numpy() for name in ("W", "b", "V", "c")}
'''

_TRAIN = '''
def train(model, X, y, epochs, lr, weight_decay, device, batch_size=None, seed=0):
    model.to(device)
    X, y = X.to(device), y.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, weight_decay=weight_decay)
    generator = torch.Generator().manual_seed(seed)
    n = len(y)
    losses = []
    for _ in range(epochs):
        if batch_size is None:
            batches = [torch.arange(n, device=device)]
        else:
            batches = torch.randperm(n, generator=generator).to(device).split(batch_size)
        total = 0.0
        for idx in batches:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(X[idx]), y[idx])
            loss.backward()
            optimizer.step()
            total += loss.item()
        losses.append(total / len(batches))
    return losses
'''


def _edit(base: str, old: str, new: str) -> str:
    assert old in base, old
    return base.replace(old, new)


MISTAKES: list[Mistake] = [
    # ---------------------------------------------------------------- make_mlp
    Mistake(
        id="make_mlp_no_relu",
        replaces="make_mlp",
        description="I stacked the two linear layers without the ReLU between them.",
        code='''
def make_mlp(d_in, hidden, d_out):
    return nn.Sequential(nn.Linear(d_in, hidden), nn.Linear(hidden, d_out))
''',
        expect=("test_make_mlp",),
        hint="ReLU is missing",
    ),
    Mistake(
        id="make_mlp_sigmoid",
        replaces="make_mlp",
        description="I used a sigmoid as the hidden activation.",
        code='''
def make_mlp(d_in, hidden, d_out):
    return nn.Sequential(nn.Linear(d_in, hidden), nn.Sigmoid(), nn.Linear(hidden, d_out))
''',
        expect=("test_make_mlp",),
        hint="sigmoid",
    ),
    Mistake(
        id="make_mlp_relu_on_output",
        replaces="make_mlp",
        description="I put a ReLU after the last layer as well, so the logits cannot be negative.",
        code='''
def make_mlp(d_in, hidden, d_out):
    return nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(), nn.Linear(hidden, d_out), nn.ReLU())
''',
        expect=("test_make_mlp",),
        hint="after the last layer",
    ),
    Mistake(
        id="make_mlp_no_bias",
        replaces="make_mlp",
        description="I created the linear layers with bias=False.",
        code='''
def make_mlp(d_in, hidden, d_out):
    return nn.Sequential(nn.Linear(d_in, hidden, bias=False), nn.ReLU(), nn.Linear(hidden, d_out, bias=False))
''',
        expect=("test_make_mlp",),
        hint="need their bias",
    ),
    # ---------------------------------------------------------------- torch_loss_and_grads
    Mistake(
        id="tlg_float32",
        replaces="torch_loss_and_grads",
        description="I made float32 tensors, PyTorch's default, so the gradients have 7 digits.",
        code=_edit(_edit(_TLG, "dtype=torch.float64, requires_grad=True", "dtype=torch.float32, requires_grad=True"),
                   "Xt = torch.as_tensor(X, dtype=torch.float64)", "Xt = torch.as_tensor(X, dtype=torch.float32)")
        .replace("torch.as_tensor(y, dtype=torch.float64)", "torch.as_tensor(y, dtype=torch.float32)"),
        expect=("test_torch_loss_and_grads",),
        hint="float32",
    ),
    Mistake(
        id="tlg_float32_cast_back",
        replaces="torch_loss_and_grads",
        description="I computed in float32 and converted the gradients to float64 at the end.",
        code=_edit(_edit(_TLG, "dtype=torch.float64, requires_grad=True", "dtype=torch.float32, requires_grad=True"),
                   "Xt = torch.as_tensor(X, dtype=torch.float64)", "Xt = torch.as_tensor(X, dtype=torch.float32)")
        .replace("torch.as_tensor(y, dtype=torch.float64)", "torch.as_tensor(y, dtype=torch.float32)")
        .replace("t[name].grad.detach().cpu().numpy()", "t[name].grad.detach().double().cpu().numpy()"),
        expect=("test_torch_loss_and_grads",),
        hint="float32",
    ),
    Mistake(
        id="tlg_returns_tensors",
        replaces="torch_loss_and_grads",
        description="I returned the .grad tensors themselves instead of NumPy arrays.",
        code=_edit(_TLG, "t[name].grad.detach().cpu().numpy()", "t[name].grad"),
        expect=("test_torch_loss_and_grads",),
        hint="NumPy arrays",
    ),
    Mistake(
        id="tlg_loss_tensor",
        replaces="torch_loss_and_grads",
        description="I returned the loss tensor instead of loss.item().",
        code=_edit(_TLG, "return L.item(),", "return L,"),
        expect=("test_torch_loss_and_grads",),
        hint="loss.item()",
    ),
    Mistake(
        id="tlg_mse_loss_default_mean",
        replaces="torch_loss_and_grads",
        description="I used F.mse_loss, whose mean also divides by the number of outputs.",
        code=_edit(_TLG, "L = ((out - torch.as_tensor(y, dtype=torch.float64)) ** 2).sum(dim=1).mean()",
                   "L = F.mse_loss(out, torch.as_tensor(y, dtype=torch.float64))"),
        expect=("test_torch_loss_and_grads",),
        hint="n * k",
    ),
    Mistake(
        id="tlg_softmax_twice",
        replaces="torch_loss_and_grads",
        description="I applied a softmax before F.cross_entropy, which applies its own.",
        code=_edit(_TLG, "L = F.cross_entropy(out, torch.as_tensor(y, dtype=torch.long))",
                   "L = F.cross_entropy(torch.softmax(out, dim=1), torch.as_tensor(y, dtype=torch.long))"),
        expect=("test_torch_loss_and_grads",),
        hint="softmax is applied twice",
    ),
    Mistake(
        id="tlg_nll_on_logits",
        replaces="torch_loss_and_grads",
        description="I used F.nll_loss on the raw outputs, which expects log-probabilities.",
        code=_edit(_TLG, "L = F.cross_entropy(out, torch.as_tensor(y, dtype=torch.long))",
                   "L = F.nll_loss(out, torch.as_tensor(y, dtype=torch.long))"),
        expect=("test_torch_loss_and_grads",),
        hint="log-probabilities",
    ),
    # ---------------------------------------------------------------- train
    Mistake(
        id="train_no_zero_grad",
        replaces="train",
        description="I never called optimizer.zero_grad(), so the gradients accumulate.",
        code=_edit(_TRAIN, "            optimizer.zero_grad()\n", ""),
        expect=("test_train",),
        hint="pile up",
    ),
    Mistake(
        id="train_ignores_weight_decay",
        replaces="train",
        description="I created the optimizer without weight_decay.",
        code=_edit(_TRAIN, "torch.optim.SGD(model.parameters(), lr=lr, weight_decay=weight_decay)",
                   "torch.optim.SGD(model.parameters(), lr=lr)"),
        expect=("test_train",),
        hint="weight decay is missing",
    ),
    Mistake(
        id="train_penalty_twice",
        replaces="train",
        description="I added the L2 penalty to the loss and also passed weight_decay to the optimizer.",
        code=_edit(_TRAIN, "loss = F.cross_entropy(model(X[idx]), y[idx])",
                   "loss = F.cross_entropy(model(X[idx]), y[idx]) + 0.5 * weight_decay * sum((p ** 2).sum() for p in model.parameters())"),
        expect=("test_train",),
        hint="applied twice",
    ),
    Mistake(
        id="train_hardcoded_cuda",
        replaces="train",
        description="I wrote model.to('cuda'), as in the tutorial I copied.",
        code=_edit(_TRAIN, "    model.to(device)\n    X, y = X.to(device), y.to(device)",
                   "    model.to('cuda')\n    X, y = X.to('cuda'), y.to('cuda')"),
        expect=("test_train",),
        hint="cuda",
    ),
    Mistake(
        id="train_losses_are_tensors",
        replaces="train",
        description="I kept the loss tensors instead of their values.",
        code=_edit(_edit(_TRAIN, "total += loss.item()", "total = total + loss"), "total = 0.0", "total = 0"),
        expect=("test_train",),
        hint="loss.item()",
    ),
    Mistake(
        id="train_same_order_every_epoch",
        replaces="train",
        description="I created the shuffling generator inside the epoch loop, so every epoch has the same order.",
        code=_edit(_TRAIN, "            batches = torch.randperm(n, generator=generator)",
                   "            generator = torch.Generator().manual_seed(seed)\n"
                   "            batches = torch.randperm(n, generator=generator)"),
        expect=("test_train",),
        hint="same order",
    ),
    Mistake(
        id="train_labels_not_shuffled",
        replaces="train",
        description="I shuffled X but took the labels in their original order.",
        code='''
def train(model, X, y, epochs, lr, weight_decay, device, batch_size=None, seed=0):
    model.to(device)
    X, y = X.to(device), y.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, weight_decay=weight_decay)
    generator = torch.Generator().manual_seed(seed)
    n = len(y)
    size = n if batch_size is None else batch_size
    losses = []
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator).to(device) if batch_size is not None else torch.arange(n)
        total, steps = 0.0, 0
        for start in range(0, n, size):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(X[order[start:start + size]]), y[start:start + size])
            loss.backward()
            optimizer.step()
            total += loss.item()
            steps += 1
        losses.append(total / steps)
    return losses
''',
        expect=("test_train",),
        hint="labels do not follow",
    ),
    Mistake(
        id="train_adam",
        replaces="train",
        description="I used torch.optim.Adam because it trains faster.",
        code=_edit(_TRAIN, "torch.optim.SGD(model.parameters(), lr=lr, weight_decay=weight_decay)",
                   "torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)"),
        expect=("test_train",),
        hint="torch.optim.SGD",
    ),
    Mistake(
        id="train_evaluates_every_epoch",
        replaces="train",
        description="I also computed the accuracy on the whole data set after each epoch, inside train.",
        code=_edit(_TRAIN, "        losses.append(total / len(batches))",
                   "        with torch.no_grad():\n"
                   "            accuracy = (model(X).argmax(dim=1) == y).float().mean().item()\n"
                   "        losses.append(total / len(batches))"),
        expect=("test_train",),
        hint="more often than once per step",
    ),
]
