"""Autograd costs, measured (not asserted): per-op bookkeeping from Python, and resident
memory over a long training loop (the graph must be freed after every backward).

    .venv/bin/python benches/autograd_overhead.py [--steps 10000]
"""

import argparse
import statistics
import time

import numpy as np

import ferrograd as fg


def per_call_us(f, calls=20000, reps=7):
    f()
    runs = []
    for _ in range(reps):
        t = time.perf_counter()
        for _ in range(calls):
            f()
        runs.append((time.perf_counter() - t) / calls * 1e6)
    return statistics.median(runs)


def rss_mb():
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * 4096 / 2**20


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=10000)
    args = p.parse_args()

    x_plain = fg.randn((8, 8))
    x_grad = fg.randn((8, 8)).requires_grad_()
    for name, op in [("mul by scalar", lambda x: x * 2.0), ("add", lambda x: x + x), ("tanh", lambda x: x.tanh()),
                     ("matmul 8x8", lambda x: x @ x), ("sum", lambda x: x.sum())]:
        plain = per_call_us(lambda: op(x_plain))
        tracked = per_call_us(lambda: op(x_grad))
        print(f"{name:14s} no grad {plain:6.2f} us   recording {tracked:6.2f} us   bookkeeping {tracked - plain:5.2f} us/op")

    # Memory over a long loop: a small MLP, forward + backward + SGD update each step.
    fg.manual_seed(0)
    w1 = (fg.randn((32, 64)) * 0.1).requires_grad_()
    w2 = (fg.randn((64, 10)) * 0.1).requires_grad_()
    xb = fg.randn((16, 32))
    target = fg.one_hot(fg.randint(0, 10, (16,)), 10).astype(fg.float32)
    samples = []
    t0 = time.perf_counter()
    for step in range(args.steps):
        h = (xb @ w1).relu()
        loss = ((h @ w2 - target) ** 2).mean()
        loss.backward()
        with fg.no_grad():
            for w in (w1, w2):
                w -= 0.01 * w.grad
                w.grad = None
        if step % (args.steps // 10) == 0:
            samples.append(rss_mb())
    dt = time.perf_counter() - t0
    samples.append(rss_mb())
    print(f"{args.steps} steps in {dt:.1f} s ({dt / args.steps * 1e6:.0f} us/step), final loss {loss.item():.4f}")
    print("resident MB at each tenth:", " ".join(f"{s:.1f}" for s in samples))
    print(f"growth after the first tenth: {samples[-1] - samples[1]:+.1f} MB")
    assert np.isfinite(loss.item())


if __name__ == "__main__":
    main()
