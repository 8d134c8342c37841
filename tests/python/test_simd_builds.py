"""The vectorised CPU kernels have three builds (baseline SSE2, AVX2, AVX-512), picked at
run time; FERROGRAD_CPU_CAPABILITY lowers the pick. Each build is run in its own process
on the same inputs and checked against float64 NumPy, and the builds against each other,
so a build this machine would not pick by itself is still tested."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import ferrograd as fg
from test_cross_entropy_cpu import ref as ref_cross_entropy

LEVELS = ["default", "avx2", "avx512"]

# Run in a child process: computes every kernel with a SIMD build on the inputs in
# inputs.npz and saves the results.
CHILD = r"""
import sys, json
import numpy as np
import ferrograd as fg
import ferrograd.nn.functional as F
d = np.load(sys.argv[1])
out = {}
x = fg.tensor(d["x"])
out["exp"] = fg.exp(x).numpy()
out["softmax"] = fg.softmax(x, axis=-1).numpy()
out["log_softmax"] = fg.log_softmax(x, axis=-1).numpy()
out["special_softmax"] = fg.softmax(fg.tensor(d["special"]), axis=-1).numpy()
out["special_exp"] = fg.exp(fg.tensor(d["special"])).numpy()
h = fg.tensor(d["h"], requires_grad=True)
w = fg.tensor(d["w"], requires_grad=True)
b = fg.tensor(d["b"], requires_grad=True)
y = F.layer_norm(h, (h.shape[-1],), w, b)
(y * fg.tensor(d["g"])).sum().backward()
out["layer_norm"], out["ln_dx"], out["ln_dw"] = y.detach().numpy(), h.grad.numpy(), w.grad.numpy()
out["rms_norm"] = F.rms_norm(fg.tensor(d["h"]), (h.shape[-1],), fg.tensor(d["w"])).numpy()
out["batch_norm"] = F.batch_norm(fg.tensor(d["h"]), None, None, training=True).numpy()
out["transpose"] = fg.tensor(d["x"]).T.contiguous().numpy()
out["transpose_int"] = fg.tensor(d["m"]).mT.contiguous().numpy()
# cross-entropy, forward and backward: class indices with ignored rows (weights and
# smoothing, smoothing only, neither), probabilities with smoothing, rows with inf/NaN
for key, t, kw in [
    ("ce_index", d["ce_y"], dict(weight=fg.tensor(d["ce_w"]), label_smoothing=0.1)),
    ("ce_plain", d["ce_y"], dict(label_smoothing=0.1)),
    ("ce_nosmooth", d["ce_y"], dict()),
    ("ce_prob", d["ce_p"], dict(label_smoothing=0.1)),
]:
    xc = fg.tensor(d["x"], requires_grad=True)
    loss = F.cross_entropy(xc, fg.tensor(t), reduction="none", **kw)
    loss.backward(fg.tensor(d["ce_g"]))
    out[key], out[key + "_dx"] = loss.detach().numpy(), xc.grad.numpy()
xc = fg.tensor(d["special"], requires_grad=True)
loss = F.cross_entropy(xc, fg.tensor([1, 1, 1, 0]), reduction="sum", label_smoothing=0.1)
loss.backward()
out["ce_special"], out["ce_special_dx"] = loss.detach().numpy(), xc.grad.numpy()
# float32 matmul: ferrograd's own GEMM at the avx2 level, the gemm crate at the others
ma, mb = fg.tensor(d["ma"]), fg.tensor(d["mb"])
out["matmul"] = (ma @ mb).numpy()
out["matmul_rhs_t"] = (ma @ fg.tensor(d["mbt"]).T).numpy()
out["matmul_lhs_t"] = (fg.tensor(d["mat"]).T @ mb).numpy()
out["matmul_batched"] = (fg.tensor(d["ma3"]) @ mb).numpy()
np.savez(sys.argv[2], **out)
print(json.dumps(fg.get_cpu_capability()))
"""


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    rng = np.random.default_rng(5)
    d = {
        # 1000 columns: full vectors and a remainder at every lane width
        "x": rng.uniform(-30, 30, (37, 1000)).astype(np.float32),
        "special": np.array([[np.inf, 1.0, 2.0], [np.nan, 0.0, 1.0], [-np.inf, -np.inf, -np.inf],
                             [-100.0, 0.0, 100.0]], dtype=np.float32),
        "h": (rng.standard_normal((64, 333)) * 3 + 2).astype(np.float32),
        "w": rng.standard_normal(333).astype(np.float32),
        "b": rng.standard_normal(333).astype(np.float32),
        "g": rng.standard_normal((64, 333)).astype(np.float32),
        "m": rng.integers(-2**31, 2**31 - 1, (3, 45, 70), dtype=np.int64).astype(np.int32),
        "ce_y": np.where(np.arange(37) % 5 == 0, -100, rng.integers(0, 1000, 37)),
        "ce_w": rng.uniform(0.5, 2.0, 1000).astype(np.float32),
        "ce_p": rng.dirichlet(np.ones(1000), 37).astype(np.float32),
        "ce_g": rng.standard_normal(37).astype(np.float32),
        # (131, 301) @ (301, 75): above 64^3 multiply-adds, every tile edge ragged
        "ma": rng.uniform(-1, 1, (131, 301)).astype(np.float32),
        "mb": rng.uniform(-1, 1, (301, 75)).astype(np.float32),
        "mbt": rng.uniform(-1, 1, (75, 301)).astype(np.float32),
        "mat": rng.uniform(-1, 1, (301, 131)).astype(np.float32),
        "ma3": rng.uniform(-1, 1, (2, 131, 301)).astype(np.float32),
    }
    path = tmp_path_factory.mktemp("simd") / "inputs.npz"
    np.savez(path, **d)
    return path, d


@pytest.fixture(scope="module")
def results(inputs, tmp_path_factory):
    path, _ = inputs
    res = {}
    for level in LEVELS:
        out = tmp_path_factory.mktemp(level) / "out.npz"
        env = dict(os.environ, FERROGRAD_CPU_CAPABILITY=level)
        run = subprocess.run([sys.executable, "-c", CHILD, str(path), str(out)], env=env,
                             capture_output=True, text=True, check=True)
        used = json.loads(run.stdout.strip().splitlines()[-1])
        res[level] = (used, dict(np.load(out)))
    return res


def test_capability_is_lowered_never_raised(results):
    order = {name: i for i, name in enumerate(LEVELS)}
    best = fg.get_cpu_capability()
    assert best in order
    for level, (used, _) in results.items():
        assert order[used] == min(order[level], order[best]), (level, used)


def np_softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@pytest.mark.parametrize("level", LEVELS)
def test_each_build_matches_float64(level, inputs, results):
    _, d = inputs
    _, r = results[level]
    x = d["x"].astype(np.float64)
    np.testing.assert_allclose(r["exp"], np.exp(x), rtol=2e-6)
    np.testing.assert_allclose(r["softmax"], np_softmax(x), rtol=1e-5, atol=1e-30)
    lse = np.log(np.exp(x - x.max(-1, keepdims=True)).sum(-1, keepdims=True)) + x.max(-1, keepdims=True)
    np.testing.assert_allclose(r["log_softmax"], x - lse, rtol=1e-5, atol=1e-5)
    # PyTorch's answers for rows with inf, NaN and all -inf: exp(x - max) has a NaN
    # (inf - inf, or the NaN itself), so the row's sum and then every entry is NaN
    s = r["special_softmax"]
    assert np.isnan(s[0]).all() and np.isnan(s[1]).all() and np.isnan(s[2]).all()
    np.testing.assert_allclose(s[3], np_softmax(np.array([-100.0, 0.0, 100.0])), rtol=1e-6, atol=1e-30)
    with np.errstate(over="ignore"):
        np.testing.assert_allclose(r["special_exp"], np.exp(d["special"]), rtol=2e-6)  # float32 range
    h, w, b = (d[k].astype(np.float64) for k in ("h", "w", "b"))
    mu, var = h.mean(-1, keepdims=True), h.var(-1, keepdims=True)
    xhat = (h - mu) / np.sqrt(var + 1e-5)
    np.testing.assert_allclose(r["layer_norm"], xhat * w + b, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(r["ln_dw"], (d["g"] * xhat).sum(0), rtol=1e-4, atol=1e-4)
    rms = h / np.sqrt((h * h).mean(-1, keepdims=True) + np.finfo(np.float32).eps) * w
    np.testing.assert_allclose(r["rms_norm"], rms, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(r["transpose"], d["x"].T)
    np.testing.assert_array_equal(r["transpose_int"], np.swapaxes(d["m"], 1, 2))
    bm, bv = h.mean(0), h.var(0)
    np.testing.assert_allclose(r["batch_norm"], (h - bm) / np.sqrt(bv + 1e-5), rtol=1e-4, atol=1e-5)
    g = d["ce_g"].astype(np.float64)
    for key, t, w, ignore in [("ce_index", d["ce_y"], d["ce_w"], -100), ("ce_plain", d["ce_y"], None, -100),
                              ("ce_nosmooth", d["ce_y"], None, -100), ("ce_prob", d["ce_p"], None, -100)]:
        eps = 0.0 if key == "ce_nosmooth" else 0.1
        want, dx, mag = ref_cross_entropy(d["x"], t, w, ignore, eps, "none", g)
        np.testing.assert_allclose(r[key], want, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(r[key + "_dx"], dx, rtol=1e-4, atol=1e-6 * mag.max())
    # rows with +inf, NaN, all -inf: NaN; the last row is finite
    assert np.isnan(r["ce_special"]) and np.isnan(r["ce_special_dx"][:3]).all()
    assert np.isfinite(r["ce_special_dx"][3]).all()
    f64 = {k: d[k].astype(np.float64) for k in ("ma", "mb", "mbt", "mat", "ma3")}
    for key, want in [("matmul", f64["ma"] @ f64["mb"]), ("matmul_rhs_t", f64["ma"] @ f64["mbt"].T),
                      ("matmul_lhs_t", f64["mat"].T @ f64["mb"]), ("matmul_batched", f64["ma3"] @ f64["mb"])]:
        assert r[key].shape == want.shape, key
        np.testing.assert_allclose(r[key], want, rtol=1e-5, atol=1e-4, err_msg=key)


def test_builds_agree_bitwise(results):
    # The lanes are fixed-size arrays and nothing is reassociated or fused into FMAs, so
    # every build does the same arithmetic in the same order, only more of it at once.
    # Matmul is the exception (README: the gemm crate's kernels differ by CPU, and the
    # avx2 level has a GEMM of its own), checked against float64 above instead.
    base = results["default"][1]
    for level in LEVELS[1:]:
        other = results[level][1]
        for key, v in base.items():
            if not key.startswith("matmul"):
                assert other[key].tobytes() == v.tobytes(), f"{level} {key}"
