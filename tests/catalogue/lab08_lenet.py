"""Wrong answers that students really write for lab08-lenet.

Each entry replaces one part of the reference solution (``code`` runs after the solution cells,
in the same namespace, with torch, ``nn`` and ``F`` imported) and must make at least the test
cells in ``expect`` fail with a message that points at the mistake. ``hint``, when given, is a
phrase that the message of the hidden check of ``replaces`` must contain (case-insensitive).
"""

from __future__ import annotations

from catalogue import Mistake


_LENET_INIT = '''
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)
'''


def _lenet(forward: str, init: str = _LENET_INIT) -> str:
    return "class LeNet5(nn.Module):" + init + "\n    def forward(self, x):\n" + forward


_TRAIN = '''
def train_one_epoch(model, loader, optimizer, device):
    model.to(device)
    model.train()
    total, count = 0.0, 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
{body}
'''

_EVAL = '''
def evaluate(model, loader, device):
    was_training = model.training
    model.to(device)
    model.eval()
    correct, count = 0, 0
    with torch.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            correct += (model(x).argmax(dim=1) == y).sum().item()
            count += len(y)
    model.train(was_training)
    return correct / count
'''

MISTAKES: list[Mistake] = [
    # ---------------------------------------------------------------- LeNet5
    Mistake(
        id="no_relu",
        replaces="LeNet5",
        description="I stacked the layers and forgot the activations.",
        code=_lenet('''
        x = F.max_pool2d(self.conv1(x), 2)
        x = F.max_pool2d(self.conv2(x), 2)
        x = torch.flatten(x, 1)
        return self.fc3(self.fc2(self.fc1(x)))
'''),
        expect=("test_LeNet5",),
        hint="no activation after C1",
    ),
    Mistake(
        id="tanh_like_1998",
        replaces="LeNet5",
        description="I used tanh, as in the 1998 paper, instead of the lab's ReLU.",
        code=_lenet('''
        x = F.max_pool2d(torch.tanh(self.conv1(x)), 2)
        x = F.max_pool2d(torch.tanh(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc3(torch.tanh(self.fc2(torch.tanh(self.fc1(x)))))
'''),
        expect=("test_LeNet5",),
        hint="uses ReLU",
    ),
    Mistake(
        id="average_pooling",
        replaces="LeNet5",
        description="I used average pooling instead of max pooling.",
        code=_lenet('''
        x = F.avg_pool2d(F.relu(self.conv1(x)), 2)
        x = F.avg_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))
'''),
        expect=("test_LeNet5",),
        hint="max pooling",
    ),
    Mistake(
        id="pool_input_first",
        replaces="LeNet5",
        description="I pooled the image before the first convolution instead of after it.",
        code=_lenet('''
        x = F.relu(self.conv1(F.max_pool2d(x, 2)))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))
''', init=_LENET_INIT.replace("nn.Linear(400, 120)", "nn.Linear(16 * 4 * 4, 120)")),
        expect=("test_LeNet5",),
        hint="before C1",
    ),
    Mistake(
        id="no_second_pool",
        replaces="LeNet5",
        description="I pooled only once, after C1, and made C5 big enough for what came out of C3.",
        code=_lenet('''
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.relu(self.conv2(x))
        x = torch.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))
''', init=_LENET_INIT.replace("nn.Linear(400, 120)", "nn.Linear(1600, 120)")),
        expect=("test_LeNet5",),
        hint="no pooling after C3",
    ),
    Mistake(
        id="sized_for_28x28",
        replaces="LeNet5",
        description="I sized C5 for 28x28 digits (16x4x4 inputs) although the lab pads them to 32x32.",
        code=_lenet('''
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))
''', init=_LENET_INIT.replace("nn.Linear(400, 120)", "nn.Linear(16 * 4 * 4, 120)")),
        expect=("test_LeNet5",),
        hint="32x32",
    ),
    Mistake(
        id="padded_c1",
        replaces="LeNet5",
        description="I padded C1 by 2 (\"same\" padding), so C3 and S4 give larger maps.",
        code=_lenet('''
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))
''', init=_LENET_INIT.replace("nn.Conv2d(1, 6, 5)", "nn.Conv2d(1, 6, 5, padding=2)")
          .replace("nn.Linear(400, 120)", "nn.Linear(16 * 6 * 6, 120)")),
        expect=("test_LeNet5",),
        hint="padding",
    ),
    Mistake(
        id="relu_on_logits",
        replaces="LeNet5",
        description="I put a ReLU after the output layer too.",
        code=_lenet('''
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return F.relu(self.fc3(F.relu(self.fc2(F.relu(self.fc1(x))))))
'''),
        expect=("test_LeNet5",),
        hint="logits",
    ),
    Mistake(
        id="softmax_in_forward",
        replaces="LeNet5",
        description="I returned probabilities (a softmax) from forward.",
        code=_lenet('''
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return F.softmax(self.fc3(F.relu(self.fc2(F.relu(self.fc1(x))))), dim=1)
'''),
        expect=("test_LeNet5",),
        hint="cross_entropy applies log-softmax",
    ),
    Mistake(
        id="no_bias",
        replaces="LeNet5",
        description="I turned the biases off everywhere.",
        code=_lenet('''
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))
''', init=_LENET_INIT.replace("5)", "5, bias=False)").replace("120)", "120, bias=False)")
          .replace("84)", "84, bias=False)").replace("num_classes)", "num_classes, bias=False)")),
        expect=("test_LeNet5",),
        hint="bias=True",
    ),
    Mistake(
        id="ten_classes_hard_coded",
        replaces="LeNet5",
        description="I wrote nn.Linear(84, 10) and ignored num_classes.",
        code=_lenet('''
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))
''', init=_LENET_INIT.replace("nn.Linear(84, num_classes)", "nn.Linear(84, 10)")),
        expect=("test_LeNet5",),
        hint="num_classes",
    ),
    Mistake(
        id="flatten_across_batch",
        replaces="LeNet5",
        description="I flattened with x.view(-1, 400) after a wrong reshape that mixes the images of a batch.",
        code=_lenet('''
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.permute(1, 0, 2, 3).reshape(-1, 400)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))
'''),
        expect=("test_LeNet5",),
        hint="batch",
    ),
    # ---------------------------------------------------------------- train_one_epoch
    Mistake(
        id="no_zero_grad",
        replaces="train_one_epoch",
        description="I never reset the gradients, so they pile up from batch to batch.",
        code=_TRAIN.format(body='''
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(y)
        count += len(y)
    return total / count
'''),
        expect=("test_train_one_epoch",),
        hint="zero_grad",
    ),
    Mistake(
        id="mean_of_batch_means",
        replaces="train_one_epoch",
        description="I averaged the batch losses, although the last batch is shorter.",
        code=_TRAIN.format(body='''
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        total += loss.item()
        count += 1
    return total / count
'''),
        expect=("test_train_one_epoch",),
        hint="averaged the batch means",
    ),
    Mistake(
        id="divides_by_batches_times_batch_size",
        replaces="train_one_epoch",
        description="I divided the total by len(loader) * batch_size.",
        code=_TRAIN.format(body='''
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(y)
    return total / (len(loader) * loader.batch_size)
'''),
        expect=("test_train_one_epoch",),
        hint="len(loader) * batch_size",
    ),
    Mistake(
        id="returns_last_loss",
        replaces="train_one_epoch",
        description="I returned the loss of the last batch.",
        code=_TRAIN.format(body='''
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
    return loss.item()
'''),
        expect=("test_train_one_epoch",),
        hint="last batch",
    ),
    Mistake(
        id="train_returns_tensor",
        replaces="train_one_epoch",
        description="I accumulated the loss tensors and returned a tensor.",
        code=_TRAIN.format(body='''
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        total = total + loss.detach() * len(y)
        count += len(y)
    return total / count
'''),
        expect=("test_train_one_epoch",),
        hint="Python float",
    ),
    Mistake(
        id="no_model_train",
        replaces="train_one_epoch",
        description="I never called model.train(), so a model that arrives in evaluation mode trains in it.",
        code='''
def train_one_epoch(model, loader, optimizer, device):
    model.to(device)
    total, count = 0.0, 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(y)
        count += len(y)
    return total / count
''',
        expect=("test_train_one_epoch",),
        hint="model.train()",
    ),
    Mistake(
        id="step_before_backward",
        replaces="train_one_epoch",
        description="I called optimizer.step() before loss.backward().",
        code=_TRAIN.format(body='''
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        optimizer.step()
        loss.backward()
        total += loss.item() * len(y)
        count += len(y)
    return total / count
'''),
        expect=("test_train_one_epoch",),
        hint="did not change",
    ),
    Mistake(
        id="summed_loss",
        replaces="train_one_epoch",
        description="I summed the loss over the batch (reduction='sum') and divided only when reporting.",
        code=_TRAIN.format(body='''
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y, reduction="sum")
        loss.backward()
        optimizer.step()
        total += loss.item()
        count += len(y)
    return total / count
'''),
        expect=("test_train_one_epoch",),
        hint="reduction='sum'",
    ),
    Mistake(
        id="train_batches_not_moved",
        replaces="train_one_epoch",
        description="I moved the model but not the batches to the device.",
        code='''
def train_one_epoch(model, loader, optimizer, device):
    model.to(device)
    model.train()
    total, count = 0.0, 0
    for x, y in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(y)
        count += len(y)
    return total / count
''',
        expect=("test_train_one_epoch",),
        hint="did not move x of batch 0",
    ),
    Mistake(
        id="model_not_moved",
        replaces="train_one_epoch",
        description="I moved the batches but assumed the model was already on the device.",
        code='''
def train_one_epoch(model, loader, optimizer, device):
    model.train()
    total, count = 0.0, 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(y)
        count += len(y)
    return total / count
''',
        expect=("test_train_one_epoch",),
        hint="model.to(device)",
    ),
    # ---------------------------------------------------------------- evaluate
    Mistake(
        id="no_eval_mode",
        replaces="evaluate",
        description="I forgot model.eval(), so dropout and BatchNorm act as in training.",
        code=_EVAL.replace("    model.eval()\n", ""),
        expect=("test_evaluate",),
        hint="model.eval()",
    ),
    Mistake(
        id="no_no_grad",
        replaces="evaluate",
        description="I evaluated with gradients on.",
        code='''
def evaluate(model, loader, device):
    was_training = model.training
    model.to(device)
    model.eval()
    correct, count = 0, 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        correct += (model(x).argmax(dim=1) == y).sum().item()
        count += len(y)
    model.train(was_training)
    return correct / count
''',
        expect=("test_evaluate",),
        hint="torch.no_grad()",
    ),
    Mistake(
        id="mode_not_restored",
        replaces="evaluate",
        description="I switched to evaluation mode and left the model there.",
        code=_EVAL.replace("    model.train(was_training)\n", ""),
        expect=("test_evaluate",),
        hint="restore",
    ),
    Mistake(
        id="always_back_to_training",
        replaces="evaluate",
        description="I called model.train() at the end, whatever mode the model came in.",
        code=_EVAL.replace("    model.train(was_training)\n", "    model.train()\n"),
        expect=("test_evaluate",),
        hint="arrived in evaluation mode",
    ),
    Mistake(
        id="percentage",
        replaces="evaluate",
        description="I returned a percentage.",
        code=_EVAL.replace("return correct / count", "return 100 * correct / count"),
        expect=("test_evaluate",),
        hint="not a percentage",
    ),
    Mistake(
        id="mean_of_batch_accuracies",
        replaces="evaluate",
        description="I averaged the accuracies of the batches.",
        code='''
def evaluate(model, loader, device):
    was_training = model.training
    model.to(device)
    model.eval()
    accuracies = []
    with torch.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            accuracies.append((model(x).argmax(dim=1) == y).float().mean().item())
    model.train(was_training)
    return sum(accuracies) / len(accuracies)
''',
        expect=("test_evaluate",),
        hint="averaged the accuracies of the batches",
    ),
    Mistake(
        id="counts_correct_only",
        replaces="evaluate",
        description="I returned the number of correct predictions.",
        code=_EVAL.replace("return correct / count", "return float(correct)"),
        expect=("test_evaluate",),
        hint="number of correct predictions",
    ),
    Mistake(
        id="eval_returns_tensor",
        replaces="evaluate",
        description="I summed the comparisons as tensors and returned a tensor.",
        code=_EVAL.replace("(model(x).argmax(dim=1) == y).sum().item()", "(model(x).argmax(dim=1) == y).sum()"),
        expect=("test_evaluate",),
        hint="Python float",
    ),
    Mistake(
        id="eval_batches_not_moved",
        replaces="evaluate",
        description="I forgot to move the batches to the device.",
        code=_EVAL.replace("            x, y = x.to(device), y.to(device)\n", ""),
        expect=("test_evaluate",),
        hint="did not move x of batch 0",
    ),
]
