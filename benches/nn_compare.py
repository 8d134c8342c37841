"""Fused norms, dropout and cross-entropy: ferrograd vs PyTorch CPU, 2 threads each.

    make build && PYTHONPATH=python python3 benches/nn_compare.py [NAME]

LayerNorm, RMSNorm and BatchNorm (training, 2-D (N, C)) forward and forward+backward
at (4096, 1024) and (16384, 1024) float32, dropout forward on 2^24 elements, and
F.cross_entropy (class-index targets, label_smoothing=0.1, mean) forward and
forward+backward at (4096, 1000), (256, 10) and (64, 32000) float32. NAME (e.g.
CrossEntropy) runs only the cases whose name contains it.

Each library runs in processes of its own, ROUNDS of them alternating (fg, torch, fg,
torch, ...): in one process the two disturb each other (PyTorch's OpenMP threads spin
for a while after each parallel region and take the cores from ferrograd's pool, and
the two share glibc's heap, so one's frees decide whether the other's next large
output page-faults). Each process warms up every case, then times REPEAT runs; the
table gives the median over all rounds. Bandwidth = bytes that must move (forward:
read x, write y; forward+backward: that plus read x, dy and write dx; cross-entropy:
read x, and for the backward read x and write dx) / time, next to a plain copy of x
(read + write: the library's clone(), 2 threads) measured the same way.
"""

import json
import statistics
import subprocess
import sys
import time

import numpy as np

REPEAT = 11
ROUNDS = 3
SHAPES = [(4096, 1024), (16384, 1024)]
CE_SHAPES = [(4096, 1000), (256, 10), (64, 32000)]


def samples(fn, repeat=REPEAT, warmup_s=0.3):
    # Warm up for a while, not a few calls: a fresh process needs tens of calls before
    # its buffers, page mappings and thread pool reach their steady state.
    t0, calls = time.perf_counter(), 0
    while calls < 5 or time.perf_counter() - t0 < warmup_s:
        fn()
        calls += 1
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1e3)
    return ts


def fg_library():
    """ferrograd's side: (from_numpy, zeros, ones, ops(c, rm, rv), autograd.grad, dropout)."""
    import ferrograd as fg
    from ferrograd import _core as C

    fg.set_num_threads(2)

    def ops(c, rm, rv):
        return {
            "LayerNorm": lambda x, w, b: C.layer_norm(x, c, w, b, 1e-5),
            "RMSNorm": lambda x, w, b: C.rms_norm(x, c, w, 1e-6),
            "BatchNorm": lambda x, w, b: C.batch_norm(x, rm, rv, w, b, True, 0.1, 1e-5),
        }

    def cross_entropy(x, y):
        return fg.nn.functional.cross_entropy(x, y, label_smoothing=0.1)

    return (fg.tensor, lambda c: fg.zeros((c,)), lambda c: fg.ones((c,)), ops,
            fg.autograd.grad, lambda x: C.dropout(x, 0.5, True), cross_entropy)


def torch_library():
    """PyTorch's side, the same ops."""
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(2)

    def ops(c, rm, rv):
        return {
            "LayerNorm": lambda x, w, b: F.layer_norm(x, (c,), w, b, 1e-5),
            "RMSNorm": lambda x, w, b: F.rms_norm(x, (c,), w, 1e-6),
            "BatchNorm": lambda x, w, b: F.batch_norm(x, rm, rv, w, b, True, 0.1, 1e-5),
        }

    def cross_entropy(x, y):
        return F.cross_entropy(x, y, label_smoothing=0.1)

    return (torch.from_numpy, torch.zeros, torch.ones, ops, torch.autograd.grad,
            lambda x: F.dropout(x, 0.5, True), cross_entropy)


def cases(library):
    """(name, bytes moved, fn) for one library, the same cases in the same order."""
    tensor, zeros, ones, make_ops, grad, dropout, cross_entropy = library
    for n, c in SHAPES:
        xn, gn, wn, bn = inputs(n, c)
        x, gy, w, b = (tensor(a) for a in (xn, gn, wn, bn))
        for name, f in make_ops(c, zeros(c), ones(c)).items():
            yield f"{name} fwd ({n}, {c})", 2 * xn.nbytes, lambda f=f: f(x, w, b)

            def fwd_bwd(f=f):
                xr, wr, br = (t.detach().requires_grad_() for t in (x, w, b))
                grad([f(xr, wr, br)], [xr, wr, br], [gy], allow_unused=True)

            yield f"{name} fwd+bwd ({n}, {c})", 5 * xn.nbytes, fwd_bwd
    xd = dropout_input()
    xt = tensor(xd)
    yield "Dropout fwd (2^24)", 2 * xd.nbytes, lambda: dropout(xt)
    for n, c in CE_SHAPES:
        rng = np.random.default_rng(3)
        xn = rng.standard_normal((n, c)).astype(np.float32)
        x, y = tensor(xn), tensor(rng.integers(0, c, n))
        yield f"CrossEntropy fwd ({n}, {c})", xn.nbytes, lambda x=x, y=y: cross_entropy(x, y)

        def ce_fwd_bwd(x=x, y=y):
            xr = x.detach().requires_grad_()
            grad([cross_entropy(xr, y)], [xr])

        yield f"CrossEntropy fwd+bwd ({n}, {c})", 3 * xn.nbytes, ce_fwd_bwd


def inputs(n, c):
    rng = np.random.default_rng(0)
    xn = rng.standard_normal((n, c)).astype(np.float32)
    gn = rng.standard_normal((n, c)).astype(np.float32)
    wn, bn = rng.standard_normal(c).astype(np.float32), rng.standard_normal(c).astype(np.float32)
    return xn, gn, wn, bn


def dropout_input():
    return np.random.default_rng(2).standard_normal(1 << 24).astype(np.float32)


def child(lib, only):
    """Times every case of one library whose name contains `only`; prints
    {name: [bytes, [ms, ...]]} as JSON."""
    library = fg_library() if lib == "fg" else torch_library()
    out = {name: [nbytes, samples(fn)] for name, nbytes, fn in cases(library) if only in name}
    tensor = library[0]
    for n, c in SHAPES:
        if not any(k.endswith(f"({n}, {c})") for k in out):
            continue
        # the plain copy: the library's own clone() of x, on its 2 threads
        src = np.random.default_rng(1).standard_normal((n, c)).astype(np.float32)
        x = tensor(src)
        out[f"copy ({n}, {c})"] = [2 * src.nbytes, samples(x.clone)]
    print(json.dumps(out))


def main(only):
    runs = {"fg": {}, "torch": {}}
    for r in range(ROUNDS):
        for lib in ("fg", "torch"):
            res = subprocess.run([sys.executable, __file__, "--child", lib, only],
                                 capture_output=True, text=True, check=True)
            for name, (nbytes, ts) in json.loads(res.stdout.strip().splitlines()[-1]).items():
                runs[lib].setdefault(name, [nbytes, []])[1].extend(ts)
            print(f"  round {r + 1}/{ROUNDS}: {lib} done", file=sys.stderr)
    import torch

    med = {lib: {k: (nb, statistics.median(ts)) for k, (nb, ts) in d.items()} for lib, d in runs.items()}
    print(f"\nferrograd vs PyTorch {torch.__version__} CPU, 2 threads each, float32, "
          f"median of {ROUNDS} processes x {REPEAT} runs\n")
    print("| case | fg ms | torch ms | torch/fg | fg bandwidth |")
    print("|---|---:|---:|---:|---|")
    for name, (nbytes, a) in med["fg"].items():
        b = med["torch"][name][1]
        gbs = f"{nbytes / a / 1e6:.1f} GB/s"
        shape = name[name.find("("):] if "(" in name and "2^" not in name else None
        if shape and not name.startswith("copy") and f"copy {shape}" in med["fg"]:
            cb, cm = med["fg"][f"copy {shape}"]
            gbs += f" (copy {cb / cm / 1e6:.1f})"
        print(f"| {name} | {a:.2f} | {b:.2f} | {b / a:.2f}x | {gbs} |")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
    else:
        main(sys.argv[1] if len(sys.argv) > 1 else "")
