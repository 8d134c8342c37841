"""Fused norms and dropout: ferrograd vs PyTorch CPU, 2 threads each.

    make build && PYTHONPATH=python python3 benches/nn_compare.py

LayerNorm, RMSNorm and BatchNorm (training, 2-D (N, C)) forward and forward+backward
at (4096, 1024) and (16384, 1024) float32, and dropout forward on 2^24 elements.
Medians of REPEAT runs after warm-up. Bandwidth = bytes that must move (forward:
read x, write y; forward+backward: that plus read x, dy and write dx) / time, next to
a plain single-pass copy of x (read + write) measured the same way.
"""

import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

import ferrograd as fg
from ferrograd import _core as C

REPEAT = 11
torch.set_num_threads(2)
fg.set_num_threads(2)


def bench(fn, repeat=REPEAT, warmup=2):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts) * 1e3


def bench_pair(f_fg, f_t, repeat=REPEAT, warmup=2):
    """Medians (ms) of both, runs interleaved so that background load hits both alike."""
    for _ in range(warmup):
        f_fg()
        f_t()
    a, b = [], []
    for _ in range(repeat):
        for fn, ts in ((f_fg, a), (f_t, b)):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
    return statistics.median(a) * 1e3, statistics.median(b) * 1e3


def norm_cases(n, c):
    rng = np.random.default_rng(0)
    xn = rng.standard_normal((n, c)).astype(np.float32)
    gn = rng.standard_normal((n, c)).astype(np.float32)
    wn, bn = rng.standard_normal(c).astype(np.float32), rng.standard_normal(c).astype(np.float32)
    fx, fgy, fw, fb = fg.tensor(xn), fg.tensor(gn), fg.tensor(wn), fg.tensor(bn)
    tx, tgy, tw, tb = torch.from_numpy(xn), torch.from_numpy(gn), torch.from_numpy(wn), torch.from_numpy(bn)
    frm, frv = fg.zeros((c,)), fg.ones((c,))
    trm, trv = torch.zeros(c), torch.ones(c)
    ops = {
        "LayerNorm": (lambda x, w, b: C.layer_norm(x, c, w, b, 1e-5),
                      lambda x, w, b: F.layer_norm(x, (c,), w, b, 1e-5)),
        "RMSNorm": (lambda x, w, b: C.rms_norm(x, c, w, 1e-6),
                    lambda x, w, b: F.rms_norm(x, (c,), w, 1e-6)),
        "BatchNorm": (lambda x, w, b: C.batch_norm(x, frm, frv, w, b, True, 0.1, 1e-5),
                      lambda x, w, b: F.batch_norm(x, trm, trv, w, b, True, 0.1, 1e-5)),
    }
    for name, (f_fg, f_t) in ops.items():
        yield (f"{name} fwd ({n}, {c})", 2,
               lambda: f_fg(fx, fw, fb),
               lambda: f_t(tx, tw, tb))

        def fg_fb(f=f_fg):
            x, w, b = fx.detach().requires_grad_(), fw.detach().requires_grad_(), fb.detach().requires_grad_()
            fg.autograd.grad([f(x, w, b)], [x, w, b], [fgy], allow_unused=True)

        def t_fb(f=f_t):
            x, w, b = tx.detach().requires_grad_(), tw.detach().requires_grad_(), tb.detach().requires_grad_()
            torch.autograd.grad([f(x, w, b)], [x, w, b], [tgy], allow_unused=True)

        yield (f"{name} fwd+bwd ({n}, {c})", 5, fg_fb, t_fb)


def main():
    rows = []
    for n, c in [(4096, 1024), (16384, 1024)]:
        src = np.random.default_rng(1).standard_normal((n, c)).astype(np.float32)
        dst = np.empty_like(src)
        copy_ms = bench(lambda: np.copyto(dst, src))
        copy_gbs = 2 * src.nbytes / copy_ms / 1e6
        for name, passes, f_fg, f_t in norm_cases(n, c):
            a, b = bench_pair(f_fg, f_t)
            gbs = passes * src.nbytes / a / 1e6
            rows.append((name, a, b, f"{gbs:.1f} GB/s (copy {copy_gbs:.1f})"))
            print(f"  {name}: fg {a:.2f} ms, torch {b:.2f} ms", file=sys.stderr)
    n = 1 << 24
    xn = np.random.default_rng(2).standard_normal(n).astype(np.float32)
    fx, tx = fg.tensor(xn), torch.from_numpy(xn)
    a, b = bench_pair(lambda: C.dropout(fx, 0.5, True), lambda: F.dropout(tx, 0.5, True))
    rows.append(("Dropout fwd (2^24)", a, b, f"{2 * xn.nbytes / a / 1e6:.1f} GB/s"))

    print(f"\nferrograd vs PyTorch {torch.__version__} CPU, 2 threads each, float32, median of {REPEAT}\n")
    print("| case | fg ms | torch ms | torch/fg | fg bandwidth |")
    print("|---|---:|---:|---:|---|")
    for name, a, b, bw in rows:
        print(f"| {name} | {a:.2f} | {b:.2f} | {b / a:.2f}x | {bw} |")


if __name__ == "__main__":
    main()
