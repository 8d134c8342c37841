"""Learning-rate schedules against hand-computed sequences of PyTorch's closed forms."""

import math

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import optim
from ferrograd.optim import lr_scheduler as S


def _opt(lr=1.0, groups=1):
    ps = [{"params": [fg.zeros(1, requires_grad=True)], "lr": lr * (i + 1)} for i in range(groups)]
    return optim.SGD(ps, lr=lr)


def _seq(sched, n):
    out = [sched.get_last_lr()[0]]
    for _ in range(n - 1):
        sched.optimizer.step()
        sched.step()
        out.append(sched.get_last_lr()[0])
    return out


def test_step_lr():
    got = _seq(S.StepLR(_opt(), step_size=3, gamma=0.5), 8)
    np.testing.assert_allclose(got, [1, 1, 1, .5, .5, .5, .25, .25])


def test_multistep_lr():
    got = _seq(S.MultiStepLR(_opt(0.1), milestones=[4, 2], gamma=0.1), 6)
    np.testing.assert_allclose(got, [0.1, 0.1, 0.01, 0.01, 0.001, 0.001], rtol=1e-12)


def test_exponential_lr():
    np.testing.assert_allclose(_seq(S.ExponentialLR(_opt(2.0), gamma=0.9), 5),
                               [2 * 0.9 ** k for k in range(5)], rtol=1e-12)


def test_cosine_annealing():
    got = _seq(S.CosineAnnealingLR(_opt(1.0), T_max=4, eta_min=0.1), 6)
    want = [0.1 + 0.9 * (1 + math.cos(math.pi * k / 4)) / 2 for k in range(6)]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(got[:5], [1.0, 0.1 + 0.9 * (1 + 2 ** -0.5) / 2, 0.55,
                                          0.1 + 0.9 * (1 - 2 ** -0.5) / 2, 0.1], rtol=1e-12)


def test_linear_lr_defaults():
    got = _seq(S.LinearLR(_opt(0.3)), 7)
    np.testing.assert_allclose(got, [0.1, 0.14, 0.18, 0.22, 0.26, 0.3, 0.3], rtol=1e-12)


def test_warmup_then_cosine():
    opt = _opt(1.0)
    warm = S.LinearLR(opt, start_factor=0.1, total_iters=2)
    cos = S.CosineAnnealingLR(opt, T_max=3)
    seq = S.SequentialLR(opt, [warm, cos], milestones=[2])
    got = _seq(seq, 6)
    np.testing.assert_allclose(got, [0.1, 0.55, 1.0, 0.75, 0.25, 0.0], atol=1e-12)
    assert opt.param_groups[0]["lr"] == got[-1]


def test_per_group_base_lrs_and_state_dict():
    opt = _opt(1.0, groups=2)
    s = S.StepLR(opt, step_size=1, gamma=0.5)
    s.step()
    assert s.get_last_lr() == [0.5, 1.0]
    sd = s.state_dict()
    assert sd["last_epoch"] == 1 and sd["base_lrs"] == [1.0, 2.0] and "optimizer" not in sd
    s2 = S.StepLR(_opt(1.0, groups=2), step_size=1, gamma=0.5)
    s2.load_state_dict(sd)
    s2.step()
    assert s2.get_last_lr() == [0.25, 0.5]


def test_sequential_state_dict_and_errors():
    opt = _opt()
    seq = S.SequentialLR(opt, [S.LinearLR(opt, total_iters=2), S.ExponentialLR(opt, 0.5)], [2])
    assert len(seq.state_dict()["_schedulers"]) == 2
    with pytest.raises(ValueError, match="number of milestone"):
        S.SequentialLR(opt, [S.LinearLR(opt), S.ExponentialLR(opt, 0.5)], [1, 2])
    with pytest.raises(ValueError, match="same optimizer"):
        S.SequentialLR(opt, [S.LinearLR(opt), S.ExponentialLR(_opt(), 0.5)], [1])
    with pytest.raises(ValueError):
        S.LinearLR(opt, start_factor=0)
    with pytest.raises(KeyError):
        S.StepLR(optim.SGD([fg.zeros(1, requires_grad=True)], lr=1.0), 1, last_epoch=3)
