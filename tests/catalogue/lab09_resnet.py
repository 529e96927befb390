"""Wrong answers that students really write for lab09-resnet.

Each entry replaces one part of the reference solution (``code`` runs after the solution cells,
in the same namespace, with torch, ``nn`` and ``F`` imported) and must make at least the test
cells in ``expect`` fail with a message that points at the mistake. ``hint``, when given, is a
phrase that the message of the hidden check of ``replaces`` must contain (case-insensitive).
"""

from __future__ import annotations

from catalogue import Mistake


_ALEXNET = '''
class AlexNet(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, {c1}, 11, stride=4), nn.ReLU(inplace=True), nn.MaxPool2d({k}, stride=2),
            nn.Conv2d({c1}, {c2}, 5, padding=2{g}), nn.ReLU(inplace=True), nn.MaxPool2d({k}, stride=2),
            nn.Conv2d({c2}, {c3}, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d({c3}, {c4}, 3, padding=1{g}), nn.ReLU(inplace=True),
            nn.Conv2d({c4}, 256, 3, padding=1{g}), nn.ReLU(inplace=True), nn.MaxPool2d({k}, stride=2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            {drop}nn.Linear(256 * 6 * 6, 4096), {relu6}
            {drop}nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))
'''


def _alexnet(c1=96, c2=256, c3=384, c4=384, groups=True, k=3, dropout=True, relu6=True):
    return _ALEXNET.format(c1=c1, c2=c2, c3=c3, c4=c4, g=", groups=2" if groups else "", k=k,
                           drop="nn.Dropout(0.5), " if dropout else "",
                           relu6="nn.ReLU(inplace=True)," if relu6 else "")


_VGG = '''
class VGG16(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        config = {config}
        layers, channels = [], 3
        for v in config:
            if v == "M":
                layers.append({pool})
            else:
                layers += [nn.Conv2d(channels, v, 3, padding={pad}), nn.ReLU(inplace=True)]
                channels = v
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(512 * {side} * {side}, 4096), nn.ReLU(inplace=True), {drop}
            nn.Linear(4096, 4096), nn.ReLU(inplace=True), {drop}
            nn.Linear(4096, num_classes), {last}
        )

    def forward(self, x):
        return self.classifier(self.features(x))
'''
_D = '[64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]'
_E = ('[64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", '
      '512, 512, 512, 512, "M"]')


def _vgg(config=_D, pool="nn.MaxPool2d(2, stride=2)", pad=1, side=7, dropout=True, last=""):
    return _VGG.format(config=config, pool=pool, pad=pad, side=side,
                       drop="nn.Dropout(0.5)," if dropout else "", last=last)


_BLOCK = '''
class ResidualBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride={s1}, padding=1, bias={bias})
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, stride={s2}, padding=1, bias={bias})
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Identity()
        if {needs}:
            self.shortcut = nn.Sequential({projection})

    def forward(self, x):
{forward}
'''
_PROJECTION = "nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels)"
_FORWARD = '''        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))'''


def _block(s1="stride", s2="1", bias="False", needs="stride != 1 or in_channels != out_channels",
           projection=_PROJECTION, forward=_FORWARD):
    return _BLOCK.format(s1=s1, s2=s2, bias=bias, needs=needs, projection=projection, forward=forward)


_RESNET = '''
class SmallResNet(nn.Module):
    def __init__(self, num_classes=10, in_channels=1, widths=(16, 32, 64), blocks_per_stage=3, block=None):
        super().__init__()
        block = ResidualBlock if block is None else block
        self.stem = nn.Sequential(nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False), {stem_bn}nn.ReLU())
        blocks, channels = [], widths[0]
        for stage, width in enumerate(widths):
            for i in range({count}):
                stride = {stride}
                blocks.append({make}(channels, width, stride))
                channels = width
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear({fc_in}, num_classes)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        x = {pool}
        return self.fc(x)
'''


def _resnet(stem_bn="nn.BatchNorm2d(widths[0]), ", count="blocks_per_stage", stride="2 if stage > 0 and i == 0 else 1",
            make="block", fc_in="channels", pool="F.adaptive_avg_pool2d(x, 1).flatten(1)"):
    return _RESNET.format(stem_bn=stem_bn, count=count, stride=stride, make=make, fc_in=fc_in, pool=pool)


MISTAKES: list[Mistake] = [
    # ---------------------------------------------------------------- count_params
    Mistake(
        id="counts_tensors",
        replaces="count_params",
        description="I counted the parameter tensors instead of their entries.",
        code="def count_params(model):\n    return len(list(model.parameters()))\n",
        expect=("test_count_params",),
        hint="entries",
    ),
    Mistake(
        id="counts_buffers",
        replaces="count_params",
        description="I counted everything in the state_dict, running statistics of batch norm included.",
        code="def count_params(model):\n    return sum(v.numel() for v in model.state_dict().values())\n",
        expect=("test_count_params",),
        hint="buffers",
    ),
    Mistake(
        id="sums_over_modules",
        replaces="count_params",
        description="I added up the parameters of every module, so nested ones are counted again.",
        code="def count_params(model):\n    return sum(p.numel() for m in model.modules() for p in m.parameters())\n",
        expect=("test_count_params",),
        hint="counted twice",
    ),
    Mistake(
        id="trainable_only",
        replaces="count_params",
        description="I counted only the parameters with requires_grad=True.",
        code="def count_params(model):\n    return sum(p.numel() for p in model.parameters() if p.requires_grad)\n",
        expect=("test_count_params",),
        hint="frozen",
    ),
    Mistake(
        id="through_numpy",
        replaces="count_params",
        description="I converted every parameter to NumPy to take its size, which fails on the meta device.",
        code="def count_params(model):\n    return sum(p.detach().cpu().numpy().size for p in model.parameters())\n",
        expect=("test_count_params",),
        hint="numel",
    ),
    Mistake(
        id="returns_tensor_sum",
        replaces="count_params",
        description="I returned a float.",
        code="def count_params(model):\n    return float(sum(p.numel() for p in model.parameters()))\n",
        expect=("test_count_params",),
        hint="int",
    ),
    # ---------------------------------------------------------------- AlexNet
    Mistake(
        id="alexnet_no_groups",
        replaces="AlexNet",
        description="I connected every convolution to all channels, forgetting the two-GPU split.",
        code=_alexnet(groups=False),
        expect=("test_AlexNet",),
        hint="groups=2",
    ),
    Mistake(
        id="alexnet_torchvision_widths",
        replaces="AlexNet",
        description="I copied the filter counts of torchvision's single-GPU AlexNet (64, 192, 384, 256, 256).",
        code=_alexnet(c1=64, c2=192, c3=384, c4=256, groups=False),
        expect=("test_AlexNet",),
        hint="(96, 55, 55)",
    ),
    Mistake(
        id="alexnet_non_overlapping_pooling",
        replaces="AlexNet",
        description="I pooled over 2x2 windows; the shapes still fit, but AlexNet pools 3x3 with stride 2.",
        code=_alexnet(k=2),
        expect=("test_AlexNet",),
        hint="overlap",
    ),
    Mistake(
        id="alexnet_no_dropout",
        replaces="AlexNet",
        description="I left out dropout.",
        code=_alexnet(dropout=False),
        expect=("test_AlexNet",),
        hint="dropout",
    ),
    Mistake(
        id="alexnet_missing_relu",
        replaces="AlexNet",
        description="I forgot the ReLU after fc6.",
        code=_alexnet(relu6=False),
        expect=("test_AlexNet",),
        hint="no ReLU",
    ),
    # ---------------------------------------------------------------- VGG16
    Mistake(
        id="vgg19_instead",
        replaces="VGG16",
        description="I wrote configuration E (VGG19), with four convolutions in the last three blocks.",
        code=_vgg(config=_E),
        expect=("test_VGG16",),
        hint="13 convolutions",
    ),
    Mistake(
        id="vgg_no_padding",
        replaces="VGG16",
        description="I left out the padding, so every convolution shrinks the maps.",
        code=_vgg(pad=0, side=1),
        expect=("test_VGG16",),
        hint="padding",
    ),
    Mistake(
        id="vgg_average_pooling",
        replaces="VGG16",
        description="I used average pooling between the blocks.",
        code=_vgg(pool="nn.AvgPool2d(2, stride=2)"),
        expect=("test_VGG16",),
        hint="max pooling",
    ),
    Mistake(
        id="vgg_no_dropout",
        replaces="VGG16",
        description="I left out dropout.",
        code=_vgg(dropout=False),
        expect=("test_VGG16",),
        hint="dropout",
    ),
    Mistake(
        id="vgg_relu_on_logits",
        replaces="VGG16",
        description="I put a ReLU after the last layer.",
        code=_vgg(last="nn.ReLU(),"),
        expect=("test_VGG16",),
        hint="logits",
    ),
    # ---------------------------------------------------------------- ResidualBlock
    Mistake(
        id="no_projection",
        replaces="ResidualBlock",
        description="I always used the identity shortcut, even when the channels or the size change.",
        code=_block(needs="False"),
        expect=("test_ResidualBlock",),
        hint="projection",
    ),
    Mistake(
        id="relu_before_add",
        replaces="ResidualBlock",
        description="I applied the last ReLU to F(x) and added the shortcut afterwards.",
        code=_block(forward='''        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        return out + self.shortcut(x)'''),
        expect=("test_ResidualBlock",),
        hint="after the addition",
    ),
    Mistake(
        id="no_shortcut",
        replaces="ResidualBlock",
        description="I wrote a plain block: the shortcut is built but never added.",
        code=_block(forward='''        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)))'''),
        expect=("test_ResidualBlock",),
        hint="never adds the shortcut",
    ),
    Mistake(
        id="conv_bias",
        replaces="ResidualBlock",
        description="I kept the biases of the convolutions.",
        code=_block(bias="True"),
        expect=("test_ResidualBlock",),
        hint="bias=False",
    ),
    Mistake(
        id="projection_without_bn",
        replaces="ResidualBlock",
        description="My projection is a bare 1x1 convolution.",
        code=_block(projection="nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)"),
        expect=("test_ResidualBlock",),
        hint="followed by batch norm",
    ),
    Mistake(
        id="projection_3x3",
        replaces="ResidualBlock",
        description="My projection is a 3x3 convolution.",
        code=_block(projection="nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False), "
                               "nn.BatchNorm2d(out_channels)"),
        expect=("test_ResidualBlock",),
        hint="1x1",
    ),
    Mistake(
        id="projection_always",
        replaces="ResidualBlock",
        description="I used a projection in every block, even when the shapes agree.",
        code=_block(needs="True"),
        expect=("test_ResidualBlock",),
        hint="identity",
    ),
    Mistake(
        id="stride_on_second_conv",
        replaces="ResidualBlock",
        description="I put the stride on the second convolution instead of the first.",
        code=_block(s1="1", s2="stride"),
        expect=("test_ResidualBlock",),
        hint="first 3x3 convolution should have stride 2",
    ),
    Mistake(
        id="bn_after_relu",
        replaces="ResidualBlock",
        description="I applied batch norm after the ReLU.",
        code=_block(forward='''        out = self.bn1(F.relu(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))'''),
        expect=("test_ResidualBlock",),
        hint="followed by batch norm",
    ),
    Mistake(
        id="projection_ignores_stride",
        replaces="ResidualBlock",
        description="My 1x1 projection has stride 1, so x keeps its size while F(x) shrinks.",
        code=_block(projection="nn.Conv2d(in_channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels)"),
        expect=("test_ResidualBlock",),
        hint="block's stride",
    ),
    # ---------------------------------------------------------------- SmallResNet
    Mistake(
        id="stride_in_first_stage",
        replaces="SmallResNet",
        description="I gave the first block of every stage stride 2, the first stage included.",
        code=_resnet(stride="2 if i == 0 else 1"),
        expect=("test_SmallResNet",),
        hint="first stage keeps",
    ),
    Mistake(
        id="ignores_block_argument",
        replaces="SmallResNet",
        description="I always built ResidualBlock, whatever block was passed in.",
        code=_resnet(make="ResidualBlock"),
        expect=("test_SmallResNet",),
        hint="`block` argument",
    ),
    Mistake(
        id="flatten_without_pooling",
        replaces="SmallResNet",
        description="I flattened the 7x7 maps of a 28x28 image instead of averaging them.",
        code=_resnet(fc_in="channels * 7 * 7", pool="x.flatten(1)"),
        expect=("test_SmallResNet",),
        hint="adaptive_avg_pool2d",
    ),
    Mistake(
        id="global_max_pooling",
        replaces="SmallResNet",
        description="I pooled with the maximum over positions instead of the mean.",
        code=_resnet(pool="F.adaptive_max_pool2d(x, 1).flatten(1)"),
        expect=("test_SmallResNet",),
        hint="AVERAGE",
    ),
    Mistake(
        id="stem_without_bn",
        replaces="SmallResNet",
        description="My stem has no batch norm.",
        code=_resnet(stem_bn=""),
        expect=("test_SmallResNet",),
        hint="stem",
    ),
    Mistake(
        id="three_blocks_always",
        replaces="SmallResNet",
        description="I built three blocks per stage whatever blocks_per_stage says.",
        code=_resnet(count="3"),
        expect=("test_SmallResNet",),
        hint="blocks_per_stage",
    ),
]
