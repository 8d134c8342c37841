"""nn.Parameter and nn.Module: registration, discovery, modes, conversion, state dicts
and repr, against PyTorch's documented behaviour."""

from collections import OrderedDict

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.scale = nn.Parameter(fg.ones((4,)))
        self.register_buffer("count", fg.zeros((), dtype=fg.int64))
        self.register_buffer("cache", fg.zeros((4,)), persistent=False)

    def forward(self, x):
        return self.fc(x) * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = Block()
        self.b = Block()
        self.head = nn.Linear(4, 2, bias=False)

    def forward(self, x):
        return self.head(self.b.fc(self.a(x)[:, :3]))


# ----------------------------------------------------------------------------- Parameter


def test_parameter_is_tensor_sharing_data():
    t = fg.tensor([1.0, 2.0, 3.0])
    p = nn.Parameter(t)
    assert isinstance(p, fg.Tensor) and isinstance(p, nn.Parameter)
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    assert p._shares_storage(t)
    with fg.no_grad():
        p[0] = 10.0
    assert t.tolist() == [10.0, 2.0, 3.0]
    assert not t.requires_grad  # the source tensor is untouched


def test_parameter_ops_return_plain_tensors_and_methods_work():
    p = nn.Parameter(fg.tensor([[1.0, -2.0], [3.0, 4.0]]))
    for r in (p + 1, p * p, p @ p, p.relu(), p.sum(), p.reshape(4), p.T, p.detach(), -p):
        assert type(r) is fg.Tensor
    assert p.requires_grad_(False) is p
    assert not p.requires_grad
    p.requires_grad_(True)
    (p * p).sum().backward()
    np.testing.assert_allclose(p.grad.numpy(), 2 * np.array([[1.0, -2.0], [3.0, 4.0]]))
    assert type(p.grad) is fg.Tensor
    assert p.shape == (2, 2) and p.dtype == fg.float32 and len(p) == 2


def test_in_place_methods_keep_the_parameter():
    p = nn.Parameter(fg.tensor([1.0, 2.0]))
    ref = p
    with fg.no_grad():
        p -= fg.tensor([0.5, 0.5])
        p *= 2
        p += 1
        assert p is ref and isinstance(p, nn.Parameter)
        assert p.tolist() == [2.0, 4.0]
        assert p.fill_(3.0) is p and p.zero_() is p
    assert p.tolist() == [0.0, 0.0] and p.is_leaf and p.requires_grad


def test_tensor_constructor_aliases_and_copies():
    t = fg.tensor([1.0, 2.0])
    a = fg.Tensor(t)
    assert type(a) is fg.Tensor and a._shares_storage(t) and not a.requires_grad
    b = fg.Tensor([1.0, 2.0], requires_grad=True)
    assert b.requires_grad and b.is_leaf and b.tolist() == [1.0, 2.0]


def test_parameter_repr_and_flags():
    p = nn.Parameter(fg.tensor([1.0]))
    assert repr(p).startswith("Parameter containing:\ntensor([1.]")
    q = nn.Parameter(fg.tensor([1.0]), requires_grad=False)
    assert not q.requires_grad and q.is_leaf
    assert nn.Parameter().shape == (0,)


def test_parameter_from_non_leaf_is_a_new_leaf():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    p = nn.Parameter(y)
    assert p.is_leaf and p.requires_grad
    (p * 3).sum().backward()
    assert x.grad is None
    np.testing.assert_allclose(p.grad.numpy(), [3.0, 3.0])


def test_int_parameter_needs_requires_grad_false():
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(fg.tensor([1, 2]))
    assert nn.Parameter(fg.tensor([1, 2]), requires_grad=False).dtype == fg.int64


# ----------------------------------------------------------------------------- registration


def test_init_must_be_called():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(fg.ones((2,)))

    with pytest.raises(AttributeError, match=r"cannot assign parameter before Module.__init__\(\) call"):
        Bad()

    class BadChild(nn.Module):
        def __init__(self):
            self.l = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match=r"cannot assign module before Module.__init__\(\) call"):
        BadChild()

    class BadBuffer(nn.Module):
        def __init__(self):
            self.register_buffer("b", fg.ones((1,)))

    with pytest.raises(AttributeError, match=r"cannot assign buffer before Module.__init__\(\) call"):
        BadBuffer()

    class NoInit(nn.Module):
        def __init__(self):
            self.x = 1

    m = NoInit()
    with pytest.raises(AttributeError, match="Module.__init__"):
        list(m.parameters())


def test_registration_and_getattr():
    b = Block()
    assert list(b._parameters) == ["scale"]
    assert list(b._modules) == ["fc"]
    assert list(b._buffers) == ["count", "cache"]
    assert "scale" not in b.__dict__  # stored only in _parameters
    assert isinstance(b.scale, nn.Parameter) and isinstance(b.fc, nn.Linear)
    with pytest.raises(AttributeError, match="'Block' object has no attribute 'nope'"):
        b.nope


def test_register_functions_and_errors():
    m = nn.Module()
    m.register_parameter("w", nn.Parameter(fg.zeros((2,))))
    m.register_parameter("absent", None)
    m.add_module("child", nn.Identity())
    m.register_module("child2", nn.ReLU())
    m.register_buffer("buf", fg.ones((1,)))
    assert [n for n, _ in m.named_parameters()] == ["w"]
    assert m.absent is None
    assert [n for n, _ in m.named_children()] == ["child", "child2"]
    with pytest.raises(TypeError, match="Parameter or None"):
        m.register_parameter("x", fg.zeros((2,)))
    with pytest.raises(KeyError, match=r'contain "\."'):
        m.register_parameter("a.b", nn.Parameter(fg.zeros((1,))))
    with pytest.raises(KeyError, match="empty"):
        m.register_buffer("", fg.zeros((1,)))
    with pytest.raises(TypeError, match="Tensor or None"):
        m.register_buffer("b2", [1, 2])
    with pytest.raises(TypeError, match="not a Module"):
        m.add_module("c", 3)
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("train", fg.zeros((1,)))
    # Assigning a plain tensor to a parameter slot is an error, None is allowed.
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'w'"):
        m.w = fg.zeros((2,))
    m.w = None
    assert m.w is None and list(m.parameters()) == []
    # Buffers are reassigned through setattr.
    m.buf = fg.full((1,), 5.0)
    assert m.buf.item() == 5.0 and "buf" in m._buffers
    with pytest.raises(TypeError, match="as buffer"):
        m.buf = 3


def test_reassignment_moves_between_kinds_and_delattr():
    m = nn.Module()
    m.x = nn.Parameter(fg.zeros((1,)))
    with pytest.raises(TypeError, match="cannot assign 'Linear' as parameter 'x'"):
        m.x = nn.Linear(1, 1)  # as PyTorch: a parameter slot takes Parameters or None
    del m.x
    assert "x" not in m._parameters
    m.register_buffer("x", fg.zeros((1,)))
    m.x = nn.Linear(1, 1)  # a buffer slot replaced by a module
    assert "x" not in m._buffers and "x" in m._modules
    m.x = nn.Parameter(fg.zeros((1,)))  # and a module by a parameter
    assert "x" not in m._modules and "x" in m._parameters
    del m.x
    assert "x" not in m._modules
    with pytest.raises(AttributeError):
        m.x
    m.plain = 3
    del m.plain
    assert not hasattr(m, "plain")


def test_forward_and_call():
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        nn.Module()(1)
    b = Block()
    x = fg.randn((5, 3))
    np.testing.assert_allclose(b(x).numpy(), b.forward(x).numpy())


# ----------------------------------------------------------------------------- discovery


def test_named_parameters_dotted_and_ordered():
    n = Net()
    names = [k for k, _ in n.named_parameters()]
    assert names == ["a.scale", "a.fc.weight", "a.fc.bias", "b.scale", "b.fc.weight",
                     "b.fc.bias", "head.weight"]
    assert len(list(n.parameters())) == 7
    assert [k for k, _ in n.named_parameters(recurse=False)] == []
    assert [k for k, _ in n.a.named_parameters(prefix="x")] == ["x.scale", "x.fc.weight", "x.fc.bias"]


def test_shared_parameters_are_deduplicated():
    n = Net()
    n.b.fc.weight = n.a.fc.weight  # tie
    names = [k for k, _ in n.named_parameters()]
    assert "b.fc.weight" not in names and len(names) == 6
    assert len(list(n.parameters())) == 6
    assert len([k for k, _ in n.named_parameters(remove_duplicate=False)]) == 7
    # Shared submodule: visited once.
    shared = nn.Linear(2, 2)
    s = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(s.parameters())) == 2
    assert len(list(s.modules())) == 3  # Sequential, Linear, ReLU
    assert len(list(s.children())) == 2
    # state_dict keeps every name, as in PyTorch.
    assert list(s.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_buffers_children_modules():
    n = Net()
    assert [k for k, _ in n.named_buffers()] == ["a.count", "a.cache", "b.count", "b.cache"]
    assert len(list(n.buffers())) == 4
    assert [k for k, _ in n.named_children()] == ["a", "b", "head"]
    assert [k for k, _ in n.named_modules()] == ["", "a", "a.fc", "b", "b.fc", "head"]
    assert list(n.modules())[0] is n
    assert n.get_submodule("a.fc") is n.a.fc
    with pytest.raises(AttributeError):
        n.get_submodule("a.nope")


# ----------------------------------------------------------------------------- modes


def test_train_eval_propagate_and_return_self():
    n = Net()
    assert all(m.training for m in n.modules())
    assert n.eval() is n
    assert not any(m.training for m in n.modules())
    assert n.train() is n
    assert all(m.training for m in n.modules())
    n.a.train(False)
    assert not n.a.fc.training and n.b.training
    with pytest.raises(ValueError, match="boolean"):
        n.train("yes")


def test_zero_grad_and_requires_grad_():
    n = Net()
    x = fg.randn((2, 3))
    n(x).sum().backward()
    assert all(p.grad is not None for p in [n.a.fc.weight, n.head.weight])
    n.zero_grad(set_to_none=False)
    for p in n.parameters():
        if p.grad is not None:
            assert np.all(p.grad.numpy() == 0) and p.grad.shape == p.shape
    n.zero_grad()
    assert all(p.grad is None for p in n.parameters())
    assert n.requires_grad_(False) is n
    assert not any(p.requires_grad for p in n.parameters())


def test_apply_visits_children_first():
    n = Net()
    seen = []
    assert n.apply(lambda m: seen.append(type(m).__name__)) is n
    assert seen == ["Linear", "Block", "Linear", "Block", "Linear", "Net"]

    def init_fn(m):
        if isinstance(m, nn.Linear):
            nn.init.constant_(m.weight, 0.5)

    n.apply(init_fn)
    assert np.all(n.head.weight.numpy() == 0.5)


def test_to_float64_converts_params_and_float_buffers():
    n = Net()
    n.b.fc.weight = n.a.fc.weight  # tie
    n.a.fc.weight.requires_grad_(False)
    before = n.head.weight.numpy().copy()
    old = n.head.weight
    assert n.to(fg.float64) is n
    assert all(p.dtype == fg.float64 for p in n.parameters())
    assert isinstance(n.head.weight, nn.Parameter) and n.head.weight is not old
    np.testing.assert_array_equal(n.head.weight.numpy(), before.astype(np.float64))
    assert n.head.weight.requires_grad and not n.a.fc.weight.requires_grad
    assert n.b.fc.weight is n.a.fc.weight  # still tied
    assert n.a.cache.dtype == fg.float64
    assert n.a.count.dtype == fg.int64  # integer buffers keep their dtype
    y = n(fg.randn((2, 3), dtype=fg.float64))
    assert y.dtype == fg.float64
    n.float()
    assert n.head.weight.dtype == fg.float32
    with pytest.raises(TypeError, match="floating point"):
        n.to(fg.int64)


# ----------------------------------------------------------------------------- state dict


def test_state_dict_contents_and_order():
    n = Net()
    sd = n.state_dict()
    assert isinstance(sd, OrderedDict)
    assert list(sd) == ["a.scale", "a.count", "a.fc.weight", "a.fc.bias", "b.scale",
                        "b.count", "b.fc.weight", "b.fc.bias", "head.weight"]
    assert "a.cache" not in sd  # non-persistent
    assert all(type(v) is fg.Tensor and not v.requires_grad for v in sd.values())
    assert sd["head.weight"]._shares_storage(n.head.weight)


def test_state_dict_round_trip():
    fg.manual_seed(0)
    src, dst = Net(), Net()
    with fg.no_grad():
        src.a.count[...] = 7
    x = fg.randn((4, 3))
    assert not np.allclose(src(x).numpy(), dst(x).numpy())
    res = dst.load_state_dict(src.state_dict())
    assert res.missing_keys == [] and res.unexpected_keys == []
    assert repr(res) == "<All keys matched successfully>"
    np.testing.assert_array_equal(src(x).numpy(), dst(x).numpy())
    assert dst.a.count.item() == 7
    # A copy, not an alias; parameters keep their identity and requires_grad.
    assert not dst.head.weight._shares_storage(src.head.weight)
    assert isinstance(dst.head.weight, nn.Parameter) and dst.head.weight.requires_grad


def test_load_state_dict_converts_dtype():
    a, b = nn.Linear(2, 3), nn.Linear(2, 3)
    sd = {k: v.to(fg.float64) for k, v in a.state_dict().items()}
    b.load_state_dict(sd)
    assert b.weight.dtype == fg.float32
    np.testing.assert_allclose(b.weight.numpy(), a.weight.numpy())


def test_load_state_dict_missing_and_unexpected():
    m = nn.Linear(2, 3)
    sd = m.state_dict()
    del sd["bias"]
    sd["extra"] = fg.zeros((1,))
    before = m.weight.numpy().copy()
    with pytest.raises(RuntimeError) as e:
        m.load_state_dict({"weight": fg.zeros((3, 2)), "extra": fg.zeros((1,))})
    msg = str(e.value)
    assert "Error(s) in loading state_dict for Linear" in msg
    assert 'Missing key(s) in state_dict: "bias"' in msg
    assert 'Unexpected key(s) in state_dict: "extra"' in msg
    np.testing.assert_array_equal(m.weight.numpy(), before)  # nothing copied
    res = m.load_state_dict({"weight": fg.zeros((3, 2)), "extra": fg.zeros((1,))}, strict=False)
    assert res.missing_keys == ["bias"] and res.unexpected_keys == ["extra"]
    assert np.all(m.weight.numpy() == 0)


def test_load_state_dict_only_missing_or_only_unexpected():
    m = nn.Linear(2, 3)
    with pytest.raises(RuntimeError, match="Missing key") as e:
        m.load_state_dict({"weight": fg.zeros((3, 2))})
    assert "Unexpected" not in str(e.value)
    sd = m.state_dict()
    sd["x.y"] = fg.zeros(())
    with pytest.raises(RuntimeError, match=r'Unexpected key\(s\) in state_dict: "x.y"') as e:
        m.load_state_dict(sd)
    assert "Missing" not in str(e.value)


def test_load_state_dict_shape_mismatch_always_raises():
    m = nn.Linear(2, 3)
    for strict in (True, False):
        with pytest.raises(RuntimeError) as e:
            m.load_state_dict({"weight": fg.zeros((2, 3)), "bias": fg.zeros((3,))}, strict=strict)
        msg = str(e.value)
        assert "size mismatch for weight" in msg
        assert "(2, 3)" in msg and "(3, 2)" in msg


def test_load_state_dict_bad_values():
    m = nn.Linear(2, 3)
    with pytest.raises(RuntimeError, match='parameter named "bias"'):
        m.load_state_dict({"weight": fg.zeros((3, 2)), "bias": [0.0, 0.0, 0.0]})
    with pytest.raises(TypeError, match="dict-like"):
        m.load_state_dict([1, 2])


def test_load_state_dict_nested_buffers_and_none_params():
    src = Block()
    with fg.no_grad():
        src.count[...] = 3
    dst = Block()
    dst.load_state_dict(src.state_dict())
    assert dst.count.item() == 3 and dst.count.dtype == fg.int64
    lin = nn.Linear(2, 2, bias=False)
    assert list(lin.state_dict()) == ["weight"]
    lin.load_state_dict({"weight": fg.ones((2, 2))})


# ----------------------------------------------------------------------------- repr


def test_repr_tree():
    model = nn.Sequential(
        nn.Linear(3, 4),
        nn.ReLU(),
        nn.Sequential(nn.Linear(4, 4, bias=False), nn.GELU(approximate="tanh")),
        nn.Dropout(0.1),
    )
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=3, out_features=4, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Sequential(\n"
        "    (0): Linear(in_features=4, out_features=4, bias=False)\n"
        "    (1): GELU(approximate='tanh')\n"
        "  )\n"
        "  (3): Dropout(p=0.1, inplace=False)\n"
        ")"
    )
    assert repr(Block()) == (
        "Block(\n  (fc): Linear(in_features=3, out_features=4, bias=True)\n)"
    )
    assert repr(nn.Module()) == "Module()"


def test_to_wgpu_and_load_state_dict_on_device():
    """On a machine with a wgpu adapter (lavapipe counts) the module moves and loads;
    without one, moving raises a RuntimeError (never a panic)."""
    try:
        fg.zeros((1,)).to("wgpu")
    except RuntimeError:
        with pytest.raises(RuntimeError):
            nn.Linear(2, 2).to("wgpu")
        return
    fg.manual_seed(0)
    m = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2))
    m.add_module("tied", m[0])
    src = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2))
    sd = src.state_dict()
    sd["tied.weight"], sd["tied.bias"] = sd["0.weight"], sd["0.bias"]
    assert m.to("wgpu") is m
    on_gpu = nn.Linear(2, 2, device="wgpu")
    assert on_gpu.weight.device.type == "wgpu" and isinstance(on_gpu.weight, nn.Parameter)
    assert all(p.device.type == "wgpu" and isinstance(p, nn.Parameter) for p in m.parameters())
    m.load_state_dict(sd)
    assert m.tied is m[0] and m[0].weight.device.type == "wgpu" and m[0].weight.requires_grad
    x = fg.randn((4, 2))
    got = m[2](m[1](m[0](x.to("wgpu")))).to("cpu").numpy()
    np.testing.assert_allclose(got, src(x).numpy(), rtol=1e-5, atol=1e-6)
    back = m.to("cpu").state_dict()
    np.testing.assert_array_equal(back["2.weight"].numpy(), src[2].weight.numpy())


def test_deepcopy_module():
    import copy

    m = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    m.add_module("tied", m[0])
    m[0].weight.grad = fg.ones((3, 2))
    c = copy.deepcopy(m)
    assert isinstance(c[0].weight, nn.Parameter) and c[0].weight.requires_grad
    assert not c[0].weight._shares_storage(m[0].weight)
    assert not c[1].running_mean._shares_storage(m[1].running_mean)
    assert c.tied is c[0]  # ties survive
    np.testing.assert_array_equal(c[0].weight.numpy(), m[0].weight.numpy())
    assert c[0].weight.grad.tolist() == [[1.0, 1.0]] * 3
    with pytest.raises(RuntimeError, match="deepcopy"):
        copy.deepcopy(m[0].weight * 2)


def test_names_cannot_be_registered_twice_as_different_kinds():
    m = nn.Module()
    m.w = nn.Parameter(fg.zeros((1,)))
    m.plain = 1
    with pytest.raises(KeyError, match="attribute 'w' already exists"):
        m.register_buffer("w", fg.zeros((1,)))
    with pytest.raises(KeyError, match="attribute 'plain' already exists"):
        m.register_parameter("plain", nn.Parameter(fg.zeros((1,))))
    with pytest.raises(KeyError, match="attribute 'w' already exists"):
        m.add_module("w", nn.ReLU())
    m.register_parameter("w", nn.Parameter(fg.ones((1,))))  # same kind: replaced
    assert m.w.item() == 1.0
