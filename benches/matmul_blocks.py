"""matmul 1024^3 float32, ferrograd vs NumPy, timed in alternating blocks.

Back-to-back timing is unfair on a 2-core machine: OpenBLAS's worker threads spin for a
while after each call and steal a core from whatever runs next. Here each library runs
blocks of 15 calls after a short pause, six blocks each, and the medians are compared.

    .venv/bin/python benches/matmul_blocks.py [--n 1024] [--threads 2]
"""

import argparse
import os
import statistics
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=1024)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import numpy as np

    import ferrograd as fg

    fg.set_num_threads(args.threads)
    n = args.n
    a = np.random.rand(n, n).astype(np.float32)
    b = np.random.rand(n, n).astype(np.float32)
    fa, fb = fg.tensor(a), fg.tensor(b)
    assert np.allclose((fa @ fb).numpy(), a @ b, rtol=1e-4, atol=1e-3)
    runs = {"ferrograd": lambda: fa @ fb, "numpy": lambda: a @ b}
    times = {k: [] for k in runs}
    for _ in range(6):
        for name, f in runs.items():
            time.sleep(0.3)
            f()
            f()
            for _ in range(15):
                t = time.perf_counter()
                f()
                times[name].append(time.perf_counter() - t)
    for name, ts in times.items():
        m = statistics.median(ts)
        print(f"{name:10s} median of {len(ts)}: {m * 1e3:7.2f} ms  {2 * n**3 / m / 1e9:6.1f} GFLOP/s")
    ratio = statistics.median(times["numpy"]) / statistics.median(times["ferrograd"])
    print(f"ferrograd GFLOP/s / numpy GFLOP/s = {ratio:.3f}")


if __name__ == "__main__":
    main()
