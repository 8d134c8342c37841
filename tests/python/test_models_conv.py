"""fg.models' convolutional networks: the LeNet-style CNN and the small ResNet (shapes,
torchvision's parameter names, the shortcut rule, the norm choices, zero-init blocks),
reachable as ``fg.models`` after ``import ferrograd``."""

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import nn

models = fg.models


def _images(n, seed=0):
    return fg.tensor(np.random.default_rng(seed).random((n, 1, 28, 28)).astype(np.float32))


def _count(model):
    return sum(p.numel() for p in model.parameters())


def test_cnn_shapes_and_parameters():
    fg.manual_seed(0)
    net = models.build_cnn(norm="none")
    assert net(_images(3)).shape == (3, 10)
    # LeNet-5: conv 1->6 (5x5) + conv 6->16 (5x5) + 400-120-84-10
    want = (6 * 25 + 6) + (16 * 6 * 25 + 16) + (400 * 120 + 120) + (120 * 84 + 84) + (84 * 10 + 10)
    assert _count(net) == want
    bn = models.build_cnn(norm="batch")
    assert sum(isinstance(m, nn.BatchNorm2d) for m in bn.modules()) == 2


def test_resnet_follows_torchvision_names_and_shapes():
    fg.manual_seed(0)
    net = models.build_resnet(width=16)
    shapes = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    assert shapes["conv1.weight"] == (16, 1, 3, 3)
    assert shapes["bn1.running_mean"] == (16,)
    assert shapes["layers.0.0.conv1.weight"] == (16, 16, 3, 3)
    # The first stage keeps width and resolution: identity shortcut, no projection.
    assert not any(k.startswith("layers.0.0.downsample") for k in shapes)
    assert shapes["layers.1.0.conv1.weight"] == (32, 16, 3, 3)
    assert shapes["layers.1.0.downsample.0.weight"] == (32, 16, 1, 1)
    assert shapes["layers.2.0.downsample.1.running_var"] == (64,)
    assert shapes["fc.weight"] == (10, 64)
    # BatchNorm follows every convolution, so the convolutions have no bias.
    assert not any(k.endswith("conv1.bias") or k.endswith("conv2.bias") for k in shapes)
    assert _count(net) == 77754
    assert _count(models.build_resnet(width=24)) == 173842
    assert net(_images(2)).shape == (2, 10)


def test_resnet_blocks_per_stage():
    net = models.build_resnet(width=8, blocks=(2, 1, 3))
    assert [len(stage) for stage in net.layers] == [2, 1, 3]
    # only the first block of a stage projects
    assert net.layers[2][0].downsample is not None
    assert all(b.downsample is None for b in list(net.layers[2])[1:])


@pytest.mark.parametrize("norm,layer", [("group", nn.GroupNorm), ("batch", nn.BatchNorm2d)])
def test_resnet_norm_choice(norm, layer):
    net = models.build_resnet(width=8, norm=norm)
    norms = [m for m in net.modules() if isinstance(m, layer)]
    assert len(norms) == 1 + 2 * 3 + 2  # stem, two per block, two projections
    if norm == "group":
        # GroupNorm needs no batch statistics: one image trains.
        x = _images(1)
        net(x).sum().backward()
        assert all(p.grad is not None for p in net.parameters())


def test_resnet_without_norm_has_conv_biases():
    net = models.build_resnet(width=8, norm="none")
    assert "layers.0.0.conv1.bias" in net.state_dict()
    assert not any(isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)) for m in net.modules())


def test_zero_init_residual_makes_each_identity_block_a_relu():
    fg.manual_seed(1)
    net = models.ResNet(width=8, zero_init_residual=True)
    net.eval()
    block = net.layers[0][0]
    x = fg.tensor(np.random.default_rng(2).standard_normal((2, 8, 6, 6)).astype(np.float32))
    np.testing.assert_allclose(block(x).numpy(), np.maximum(x.numpy(), 0), rtol=0, atol=0)
    # without it the block changes its input
    plain = models.ResNet(width=8)
    plain.eval()
    assert not np.allclose(plain.layers[0][0](x).numpy(), np.maximum(x.numpy(), 0))


def test_resnet_state_dict_round_trip(tmp_path):
    fg.manual_seed(3)
    a = models.build_resnet(width=8)
    a.train()
    a(_images(4))  # moves the running statistics
    fg.save(a.state_dict(), str(tmp_path / "r.safetensors"))
    b = models.build_resnet(width=8)
    b.load_state_dict(fg.load(str(tmp_path / "r.safetensors")))
    a.eval()
    b.eval()
    x = _images(3, seed=5)
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())
