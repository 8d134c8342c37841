"""Every worked numeric example of the lecture notes, computed through ferrograd's API.

The notes' numbers are asserted at the notes' rounding (two decimals unless they give
more). Where a number in the notes is wrong (most often: a value rounded to two
decimals and then multiplied, so the last digit drifts), the test asserts the correct
value and a comment names the error; where it helps, the test also shows how the
notes' number arose.

Sources: 002 = IIT Gandhinagar ES 667 lecture 6, 004 = Berkeley Data 188 discussion 04,
000 = Berkeley Data 188 lecture 09.
"""

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import nn, optim
from ferrograd.data.transforms import Mixup
from ferrograd.nn import functional as F


def at_notes_rounding(values, decimals=2):
    return np.round(np.asarray(values, dtype=np.float64), decimals)


def assert_rounds_to(got, notes, decimals=2):
    """``got`` rounded as the notes round equals the notes' numbers."""
    np.testing.assert_allclose(at_notes_rounding(got, decimals), notes, rtol=0, atol=1e-9)


def set_affine(module, weight, bias=None):
    with fg.no_grad():
        module.weight[...] = fg.tensor(weight)
        if bias is not None:
            module.bias[...] = fg.tensor(bias)


# --------------------------------------------------------------------------------------
# 002 · L2 single-weight update, and the same step regrouped as weight decay
# --------------------------------------------------------------------------------------

W0, DATA_GRAD, LR, LAM = 2.0, 1.5, 0.1, 0.01


def sgd_step_from_loss(lam):
    """One SGD step on L_data + lam/2 w^2 where L_data has slope 1.5 at w = 2."""
    w = fg.tensor([W0], dtype=fg.float64, requires_grad=True)
    loss = (DATA_GRAD * w).sum() + lam / 2 * (w * w).sum()
    loss.backward()
    np.testing.assert_allclose(w.grad.item(), DATA_GRAD + lam * W0, rtol=1e-15)  # 1.52
    optim.SGD([w], lr=LR).step()
    return w.item()


def test_l2_step_002():
    # Without L2: 2.0 - 0.1 * 1.5 = 1.85. With L2: gradient 1.5 + 0.02 = 1.52 -> 1.848.
    assert round(sgd_step_from_loss(0.0), 2) == 1.85
    assert round(sgd_step_from_loss(LAM), 3) == 1.848
    assert sgd_step_from_loss(LAM) < sgd_step_from_loss(0.0)  # "slightly smaller"


def test_l2_equals_weight_decay_002_000():
    # (1 - eta*lambda) w - eta dL/dw: the optimizer's weight_decay gives the same 1.848.
    w = fg.tensor([W0], dtype=fg.float64, requires_grad=True)
    w.grad = fg.tensor([DATA_GRAD], dtype=fg.float64)
    optim.SGD([w], lr=LR, weight_decay=LAM).step()
    regrouped = (1 - LR * LAM) * W0 - LR * DATA_GRAD
    np.testing.assert_allclose(w.item(), regrouped, rtol=1e-15)
    np.testing.assert_allclose(w.item(), sgd_step_from_loss(LAM), rtol=1e-15)
    assert round(w.item(), 3) == 1.848


# --------------------------------------------------------------------------------------
# 002 · Mixup label, and the mixed loss
# --------------------------------------------------------------------------------------

def test_mixup_label_002():
    cat, dog = np.ones((1, 3), np.float32), np.zeros((1, 3), np.float32)
    x = np.concatenate([cat, dog])
    y = np.array([0, 1])
    # lam = 0.7, example 0 (cat) mixed with example 1 (dog)
    x_mix, y_mix = Mixup().mix(x, y, num_classes=2, lam=0.7, perm=np.array([1, 0]))
    assert_rounds_to(y_mix[0], [0.7, 0.3])
    np.testing.assert_allclose(x_mix[0], 0.7 * cat[0] + 0.3 * dog[0], rtol=1e-6)


def test_mixup_loss_is_the_mixed_cross_entropy_002():
    # lam CE(logits, y1) + (1 - lam) CE(logits, y2) == CE(logits, y_mix)
    logits = fg.tensor([[1.2, -0.3]])
    lam = 0.7
    mixed = lam * F.cross_entropy(logits, fg.tensor([0])) + (1 - lam) * F.cross_entropy(
        logits, fg.tensor([1]))
    soft = F.cross_entropy(logits, fg.tensor([[0.7, 0.3]]))
    np.testing.assert_allclose(soft.item(), mixed.item(), rtol=1e-6)


# --------------------------------------------------------------------------------------
# 002 · label smoothing targets and their cross-entropy
# --------------------------------------------------------------------------------------

def smooth_targets(label, num_classes, alpha):
    """(1 - alpha) one_hot + alpha / K, the notes' compact form, with fg ops."""
    hard = fg.one_hot(fg.tensor([label]), num_classes).astype(fg.float32)
    return hard * (1 - alpha) + alpha / num_classes


def test_label_smoothing_targets_002():
    # K = 4, true class 1, alpha = 0.1: [0.025, 0.925, 0.025, 0.025]
    y4 = smooth_targets(1, 4, 0.1).numpy()[0]
    assert_rounds_to(y4, [0.025, 0.925, 0.025, 0.025], decimals=3)
    # K = 10, "class 3" (the third entry), alpha = 0.1: 0.91 there, 0.01 elsewhere
    y10 = smooth_targets(2, 10, 0.1).numpy()[0]
    assert_rounds_to(y10, [0.01, 0.01, 0.91] + [0.01] * 7)
    np.testing.assert_allclose(y10.sum(), 1.0, rtol=1e-6)  # "Sum is still 1"


@pytest.mark.parametrize("num_classes,label", [(4, 1), (10, 2)])
def test_label_smoothing_cross_entropy_002(num_classes, label):
    # CrossEntropyLoss(label_smoothing=0.1) is the cross-entropy against the soft target.
    fg.manual_seed(3)
    logits = fg.randn((1, num_classes)) * 3
    smoothed = nn.CrossEntropyLoss(label_smoothing=0.1)(logits, fg.tensor([label]))
    soft_target = smooth_targets(label, num_classes, 0.1)
    by_hand = -(soft_target * F.log_softmax(logits, dim=1)).sum()
    np.testing.assert_allclose(smoothed.item(), by_hand.item(), rtol=1e-5)
    # and it penalises a confident correct answer more than the hard target does
    confident = fg.full((1, num_classes), -10.0)
    with fg.no_grad():
        confident[0, label] = 10.0
    hard = nn.CrossEntropyLoss()(confident, fg.tensor([label])).item()
    soft = nn.CrossEntropyLoss(label_smoothing=0.1)(confident, fg.tensor([label])).item()
    assert hard < 1e-6 < soft


# --------------------------------------------------------------------------------------
# 002 and 004 · inverted dropout
# --------------------------------------------------------------------------------------

def seed_giving_mask(module, x, wanted_keep):
    """The first seed under which ``module`` (training mode) keeps exactly ``wanted_keep``."""
    for seed in range(5000):
        fg.manual_seed(seed)
        out = module(x).numpy()
        if np.array_equal(out != 0, wanted_keep):
            return seed, out
    raise AssertionError("no seed in range(5000) gave the notes' mask")


def test_inverted_dropout_002():
    # h = [2.0, 1.5, 0.5, 3.0], keep-probability 0.5, mask [1, 0, 1, 0] -> [4.0, 0, 1.0, 0].
    # The notes use p for the KEEP probability; nn.Dropout's p is the DROP probability
    # (the notes warn about this), here both 0.5.
    h = fg.tensor([2.0, 1.5, 0.5, 3.0])
    drop = nn.Dropout(p=0.5)
    _, out = seed_giving_mask(drop, h, np.array([True, False, True, False]))
    assert_rounds_to(out, [4.0, 0.0, 1.0, 0.0], decimals=1)
    drop.eval()  # "Eval pass. No mask, no scaling."
    assert_rounds_to(drop(h).numpy(), [2.0, 1.5, 0.5, 3.0], decimals=1)


def test_inverted_dropout_expectation_002():
    # E[h_drop] = p * h / p + (1 - p) * 0 = h: the mean of many masked passes.
    fg.manual_seed(0)
    h = fg.tensor([2.0, 1.5, 0.5, 3.0])
    many = h.reshape((1, 4)) * fg.ones((20000, 1))
    mean = nn.Dropout(p=0.5)(many).numpy().mean(axis=0)
    # standard error of each mean: h / sqrt(20000) <= 0.021; allow 5 of them
    np.testing.assert_allclose(mean, [2.0, 1.5, 0.5, 3.0], atol=0.11)


def test_dropout_with_and_without_correction_004():
    # x = [2, 6, 4, 4, 5, 3, 4, 4], w = ones, p = 0.75 (drop), the first 6 dropped.
    x = fg.tensor([2.0, 6, 4, 4, 5, 3, 4, 4])
    w = fg.ones((8,))
    keep = np.array([False] * 6 + [True] * 2)
    drop = nn.Dropout(p=0.75)
    _, x_corr = seed_giving_mask(drop, x, keep)
    x_drop = x * fg.tensor(keep.astype(np.float32))  # the same mask, no 1/(1-p)
    y_drop = (w * x_drop).sum().item()
    y_corr = (w * fg.tensor(x_corr)).sum().item()
    drop.eval()
    y_orig = (w * drop(x)).sum().item()
    assert (y_drop, y_corr, y_orig) == (8.0, 32.0, 32.0)
    assert abs(y_corr - y_orig) < abs(y_drop - y_orig)


# --------------------------------------------------------------------------------------
# 002 · BatchNorm of one neuron, x = [1, 3, 5, 7]; its running statistics; RMSNorm
# --------------------------------------------------------------------------------------

X_NEURON = [[1.0], [3.0], [5.0], [7.0]]


def test_batch_norm_one_neuron_002():
    x = fg.tensor(X_NEURON)
    mean = x.mean().item()
    var = ((x - mean) ** 2).mean().item()
    assert (mean, var) == (4.0, 5.0)
    assert round(var ** 0.5, 3) == 2.236
    plain = nn.BatchNorm1d(1, affine=False)
    x_hat = plain(x).numpy().ravel()
    assert_rounds_to(x_hat, [-1.34, -0.45, 0.45, 1.34])
    bn = nn.BatchNorm1d(1)  # eps 1e-5, as the notes
    set_affine(bn, [2.0], [0.5])
    y = bn(x).numpy().ravel()
    # ERROR in the notes: they print y = [-2.18, -0.40, 1.40, 3.18]. The exact values
    # are 2 * [-1.342, -0.447, 0.447, 1.342] + 0.5 = [-2.183, -0.394, 1.394, 3.183],
    # i.e. [-2.18, -0.39, 1.39, 3.18]; the notes multiplied the rounded x_hat.
    assert_rounds_to(y, [-2.18, -0.39, 1.39, 3.18])
    assert_rounds_to(2 * at_notes_rounding(x_hat) + 0.5, [-2.18, -0.40, 1.40, 3.18])


def test_batch_norm_one_neuron_eval_uses_running_stats_002():
    # "At eval time use the running mean/var collected during training". momentum=None is
    # the cumulative average: after one batch the running mean is that batch's mean, 4,
    # and the running variance its UNBIASED variance 20/3 (PyTorch's convention), not
    # the biased 5.0 that normalises in training.
    bn = nn.BatchNorm1d(1, momentum=None)
    set_affine(bn, [2.0], [0.5])
    x = fg.tensor(X_NEURON)
    bn(x)
    assert round(bn.running_mean.item(), 2) == 4.0
    assert round(bn.running_var.item(), 2) == 6.67
    bn.eval()
    y_eval = bn(x).numpy().ravel()
    expected = 2 * (np.array([1, 3, 5, 7]) - 4) / np.sqrt(20 / 3 + 1e-5) + 0.5
    np.testing.assert_allclose(y_eval, expected, rtol=1e-5)
    assert_rounds_to(y_eval, [-1.82, -0.27, 1.27, 2.82])


def test_rms_norm_of_1357_002():
    # x / sqrt(mean(x^2) + eps): mean(x^2) = (1 + 9 + 25 + 49) / 4 = 21, RMS = 4.583
    x = fg.tensor([[1.0, 3.0, 5.0, 7.0]])
    y = nn.RMSNorm(4, eps=1e-5)(x).numpy()[0]
    assert_rounds_to(y, [0.22, 0.65, 1.09, 1.53])
    # no mean subtraction: unlike LayerNorm (same numbers as the BatchNorm column above)
    ln = nn.LayerNorm(4, elementwise_affine=False)(x).numpy()[0]
    assert_rounds_to(ln, [-1.34, -0.45, 0.45, 1.34])
    assert np.all(y > 0)


# --------------------------------------------------------------------------------------
# 002 · "standardizing exam scores"
# --------------------------------------------------------------------------------------

def test_exam_scores_002():
    scores = fg.tensor([[80.0, 85.0, 90.0], [6.0, 7.0, 8.0]])  # one row per student
    centred = scores - scores.mean(axis=1, keepdims=True)
    assert_rounds_to(centred.numpy(), [[-5, 0, 5], [-1, 0, 1]])
    # "Divide by std. Now both have unit scale": both rows become [-1.22, 0, 1.22].
    per_student = nn.LayerNorm(3, elementwise_affine=False)(scores).numpy()
    assert_rounds_to(per_student, [[-1.22, 0, 1.22], [-1.22, 0, 1.22]])
    # ERROR in the notes: the slide calls this BatchNorm, but subtracting "each
    # student's mean" normalises each example over its own features, which is
    # LayerNorm. BatchNorm over this batch of two students normalises each homework
    # across the students instead, and every column becomes [+1, -1]:
    per_homework = nn.BatchNorm1d(3, affine=False)(scores).numpy()
    assert_rounds_to(per_homework, [[1, 1, 1], [-1, -1, -1]])


# --------------------------------------------------------------------------------------
# 004 · model size (Q1)
# --------------------------------------------------------------------------------------

def discussion_model():
    return nn.Sequential(
        nn.Linear(52, 128), nn.LayerNorm(128), nn.ReLU(),
        nn.Linear(128, 256), nn.LayerNorm(256), nn.ReLU(),
        nn.Linear(256, 20), nn.LayerNorm(20), nn.ReLU(),
        nn.Linear(20, 1000),
    )


def test_model_size_004():
    model = discussion_model()
    assert sum(p.numel() for p in model.parameters()) == 66756  # C
    x = fg.randn((4, 52))
    shapes = []
    for layer in model:
        x = layer(x)
        shapes.append(tuple(x.shape))
    assert shapes == [(4, 128)] * 3 + [(4, 256)] * 3 + [(4, 20)] * 3 + [(4, 1000)]
    assert sum(int(np.prod(s)) for s in shapes) == 8848  # Z, z1 .. z10
    # z10 are the logits; softmax gives class probabilities; z11 of shape [4, 1] is the
    # predicted class of each example.
    probs = F.softmax(x, dim=1)
    np.testing.assert_allclose(probs.sum(axis=1).numpy(), np.ones(4), rtol=1e-5)
    assert tuple(fg.argmax(probs, axis=1, keepdims=True).shape) == (4, 1)


# --------------------------------------------------------------------------------------
# 004 · the LayerNorm table (Q2)
# --------------------------------------------------------------------------------------

GAMMA, BETA = [1.0, 2.0, 3.0, 4.0], [0.0, -1.0, 1.0, 0.0]
X_LAYER = [[4.0, 4.0, 8.0, 8.0], [0.0, 2.0, 2.0, 8.0], [1.0, 1.0, 1.0, 5.0]]


def test_layer_norm_table_004():
    x = fg.tensor(X_LAYER)
    assert_rounds_to(x.mean(axis=1).numpy(), [6, 3, 2])
    assert_rounds_to(x.var(axis=1, correction=0).numpy(), [4, 9, 3])
    x_hat = nn.LayerNorm(4, eps=0.0, elementwise_affine=False)(x).numpy()
    assert_rounds_to(x_hat, [[-1, -1, 1, 1], [-1, -0.33, -0.33, 1.67],
                             [-0.58, -0.58, -0.58, 1.73]])
    ln = nn.LayerNorm(4, eps=0.0)
    set_affine(ln, GAMMA, BETA)
    y = ln(x).numpy()
    # ERROR in the notes (rows 2 and 3): they scale the ROUNDED x_hat, printing
    # [-1, -1.66, 0.01, 6.68] and [-0.58, -2.16, -0.74, 6.92]. Exactly, row 2 is
    # [-1, -5/3, 0, 20/3] = [-1, -1.67, 0.00, 6.67] and row 3 [-0.58, -2.15, -0.73, 6.93].
    assert_rounds_to(y, [[-1, -3, 4, 4], [-1, -1.67, 0.0, 6.67], [-0.58, -2.15, -0.73, 6.93]])
    notes_way = at_notes_rounding(x_hat) * GAMMA + BETA
    assert_rounds_to(notes_way, [[-1, -3, 4, 4], [-1, -1.66, 0.01, 6.68],
                                 [-0.58, -2.16, -0.74, 6.92]])


def test_layer_norm_batch_of_one_004():
    # Q2(b): LayerNorm works at batch size 1 and gives each row the same answer alone.
    # It has no running statistics, so train and eval mode agree too.
    ln = nn.LayerNorm(4, eps=0.0)
    set_affine(ln, GAMMA, BETA)
    batched = ln(fg.tensor(X_LAYER)).numpy()
    for i, row in enumerate(X_LAYER):
        np.testing.assert_allclose(ln(fg.tensor([row])).numpy()[0], batched[i], rtol=1e-6)
    assert list(ln.buffers()) == []
    ln.eval()
    np.testing.assert_allclose(ln(fg.tensor(X_LAYER)).numpy(), batched, rtol=1e-6)


# --------------------------------------------------------------------------------------
# 004 · the BatchNorm table (Q3), with its running statistics (000's train/test code)
# --------------------------------------------------------------------------------------

X_BATCH = [[2.0, 2.0, 1.0, 1.0], [2.0, 5.0, 4.0, 1.0], [5.0, 5.0, 10.0, 10.0]]


def test_batch_norm_table_004():
    x = fg.tensor(X_BATCH)
    assert_rounds_to(x.mean(axis=0).numpy(), [3, 4, 5, 4])
    assert_rounds_to(x.var(axis=0, correction=0).numpy(), [2, 2, 14, 18])
    x_hat = nn.BatchNorm1d(4, eps=0.0, affine=False)(x).numpy()
    assert_rounds_to(x_hat.T, [[-0.71, -0.71, 1.41], [-1.41, 0.71, 0.71],
                               [-1.07, -0.27, 1.34], [-0.71, -0.71, 1.41]])
    bn = nn.BatchNorm1d(4, eps=0.0)
    set_affine(bn, GAMMA, BETA)
    y = bn(x).numpy()
    # ERROR in the notes (columns 2-4): they scale the ROUNDED x_hat, printing
    # [[-0.71, -3.82, -2.21, -2.84], [-0.71, 0.42, 0.19, -2.84], [1.41, 0.42, 5.02, 5.64]].
    # Exactly, column 2 is 2 * [-sqrt(2), 1/sqrt(2), 1/sqrt(2)] - 1 = [-3.83, 0.41, 0.41],
    # column 3 [-2.21, 0.20, 5.01] and column 4 4 * [-0.707, -0.707, 1.414] = [-2.83, -2.83, 5.66].
    assert_rounds_to(y, [[-0.71, -3.83, -2.21, -2.83], [-0.71, 0.41, 0.20, -2.83],
                         [1.41, 0.41, 5.01, 5.66]])
    notes_way = at_notes_rounding(x_hat) * GAMMA + BETA
    assert_rounds_to(notes_way, [[-0.71, -3.82, -2.21, -2.84], [-0.71, 0.42, 0.19, -2.84],
                                 [1.41, 0.42, 5.02, 5.64]])


def test_batch_norm_table_running_statistics_004_000():
    bn = nn.BatchNorm1d(4, eps=0.0)  # momentum 0.1, running mean 0, running var 1
    set_affine(bn, GAMMA, BETA)
    bn(fg.tensor(X_BATCH))
    # PyTorch's update: running = 0.9 running + 0.1 batch, with the UNBIASED batch
    # variance (3/2 of the biased [2, 2, 14, 18] at batch size 3 = [3, 3, 21, 27]).
    assert_rounds_to(bn.running_mean.numpy(), [0.3, 0.4, 0.5, 0.4])
    assert_rounds_to(bn.running_var.numpy(), [1.2, 1.2, 3.0, 3.6])
    # Note on 000's batch_norm_fwd_train: with running_weight = 0.1 it keeps 0.1 of the
    # OLD average and takes 0.9 of the batch ([2.7, 3.6, 4.5, 3.6] here), the reverse of
    # PyTorch's momentum = 0.1, and it uses the biased variance. ferrograd follows PyTorch:
    assert not np.allclose(bn.running_mean.numpy(), 0.9 * np.array([3, 4, 5, 4]))
    # ERROR in 000's batch_norm_fwd_test: it normalises with feat_mean / feat_var, names
    # that do not exist there; the text says (and ferrograd does) use the frozen running
    # statistics:
    bn.eval()
    x = np.array(X_BATCH)
    y_eval = bn(fg.tensor(X_BATCH)).numpy()
    rm, rv = np.array([0.3, 0.4, 0.5, 0.4]), np.array([1.2, 1.2, 3.0, 3.6])
    np.testing.assert_allclose(y_eval, (x - rm) / np.sqrt(rv) * GAMMA + BETA, rtol=1e-5)
    # and serving does not change them (they are frozen in eval mode)
    bn(fg.tensor(X_BATCH) * 100)
    assert_rounds_to(bn.running_mean.numpy(), [0.3, 0.4, 0.5, 0.4])


def test_batch_norm_batch_of_one_004():
    # Q3(b): no BatchNorm at batch size 1 in training (a single value has no variance).
    bn = nn.BatchNorm1d(4)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(fg.tensor([X_BATCH[0]]))
    bn.eval()  # with the running statistics it works
    assert tuple(bn(fg.tensor([X_BATCH[0]])).shape) == (1, 4)
