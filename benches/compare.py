"""Compare ferrograd's CPU kernels with NumPy and (if installed) PyTorch.

Run from the repository root, after `maturin develop`:

    .venv/bin/python benches/compare.py                 # full run (~2-4 min on 2 cores)
    .venv/bin/python benches/compare.py --quick         # smoke run: few repetitions
    .venv/bin/python benches/compare.py --threads 4 --json results.json
    .venv/bin/python benches/compare.py --filter matmul # only workloads whose name matches

torch is optional: without it the torch columns read "-". To include it, install it in
the same interpreter (`.venv/bin/pip install torch`), or use a Python that has torch and
point it at the package: `PYTHONPATH=python python3 benches/compare.py` (the compiled
`_core.abi3.so` that `maturin develop` puts in python/ferrograd/ is built for the stable
ABI, so any CPython 3.9 or later can load it).

Every library gets the same float32 inputs (made with NumPy, then shared through
`fg.from_numpy` / `torch.from_numpy`) and the same thread count (`--threads`, default 2).
NumPy's elementwise ufuncs are single-threaded whatever the setting; its matmul uses
BLAS threads, which are set through OMP_NUM_THREADS / OPENBLAS_NUM_THREADS / MKL_NUM_THREADS
before NumPy is imported.

Each library is timed in its own process, one after the other, and that round is
repeated (`--rounds`, default 3): a row's time is the median over the rounds of each
process's median, so a burst of load from other machines on a shared host hits every
library alike instead of whichever process was running. Each timing is the
median of repeated calls after a warm-up; small ops are timed as loops
of many calls and reported in microseconds per call. Speedup = other time / ferrograd
time, so > 1 means ferrograd is faster. Each ferrograd result is checked against NumPy's;
a row whose result differs is marked MISMATCH (its timing is then meaningless).
"""

import argparse
import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time

BLAS_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
LIBS = ("fg", "np", "torch")
N = 1 << 24
SIDE = 4096
MATMUL_SIDES = (64, 128, 256, 512, 1024, 2048, 4096)
_rhs = lambda lib, x, y: (lambda: x @ y)  # noqa: E731
_rhs_t = lambda lib, x, w: (lambda: x @ w.T)  # noqa: E731
_lhs_t = lambda lib, g, x: (lambda: g.T @ x)  # noqa: E731
# (name, (m, k, n), lhs shape, rhs shape, make)
MLP_PRODUCTS = (
    ("x@W.T", (256, 784, 1024), (256, 784), (1024, 784), _rhs_t),
    ("x@W.T", (256, 1024, 1024), (256, 1024), (1024, 1024), _rhs_t),
    ("g@W", (256, 1024, 1024), (256, 1024), (1024, 1024), _rhs),
    ("g@W", (256, 1024, 784), (256, 1024), (1024, 784), _rhs),
    ("g.T@x", (1024, 256, 1024), (256, 1024), (256, 1024), _lhs_t),
    ("g.T@x", (1024, 256, 784), (256, 1024), (256, 784), _lhs_t),
)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="few repetitions (smoke run)")
    p.add_argument("--threads", type=int, default=2, help="threads for every library (default 2)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    p.add_argument("--filter", metavar="TEXT", help="only run workloads whose name contains TEXT")
    p.add_argument("--rounds", type=int, default=3,
                   help="rounds of one process per library, alternating (default 3; 1 with --quick)")
    p.add_argument("--child", choices=LIBS, help=argparse.SUPPRESS)  # one library's timings
    return p.parse_args()


ARGS = parse_args()
# Must happen before NumPy (or torch, which imports NumPy) loads its BLAS.
for _var in BLAS_THREAD_VARS:
    os.environ[_var] = str(ARGS.threads)

import numpy as np  # noqa: E402

import ferrograd as fg  # noqa: E402

torch = None
if ARGS.child in (None, "torch"):  # the other children must not start torch's threads
    try:
        import torch  # noqa: E402
    except ImportError:
        pass


# ----------------------------------------------------------------------------- timing

def warm_up(fn, calls, min_seconds):
    """Calls `fn` at least `calls` times and for at least `min_seconds` (so caches, thread
    pools and the allocator have settled, and another library's spinning threads have gone
    to sleep); returns the mean seconds per call."""
    n, t0 = 0, time.perf_counter()
    while n < calls or time.perf_counter() - t0 < min_seconds:
        fn()
        n += 1
    return (time.perf_counter() - t0) / n


def median_seconds(fn, reps, warmup, inner=None, min_rep_seconds=0.02):
    """Median wall time of one call of `fn`, over `reps` timings of `inner` calls each.

    Without `inner`, a rep repeats the call often enough to last `min_rep_seconds`, so a
    sub-millisecond call isn't timed alone (timer and scheduler noise would dominate)."""
    per_call = warm_up(fn, warmup, min_seconds=0.1 * warmup)
    if inner is None:
        inner = max(1, math.ceil(min_rep_seconds / per_call))
    times = []
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(reps):
            t0 = time.perf_counter()
            for _ in range(inner):
                fn()
            times.append((time.perf_counter() - t0) / inner)
    finally:
        if gc_was_enabled:
            gc.enable()
    return statistics.median(times)


# -------------------------------------------------------------------------- workloads

class Workload:
    """One benchmark row: a callable per library over shared inputs.

    `make(lib, *inputs)` returns a zero-argument callable computing the result with `lib`
    ("fg", "np" or "torch"); `inputs` are NumPy arrays, converted once per library.
    """

    def __init__(self, name, inputs, make, rtol=1e-5, atol=1e-6, flops=None, small=False):
        self.name, self.inputs, self.make = name, inputs, make
        self.rtol, self.atol, self.flops, self.small = rtol, atol, flops, small


def convert(lib, a):
    if lib == "fg":
        return fg.from_numpy(a)
    if lib == "torch":
        return torch.from_numpy(a)
    return a


def np_softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def binary(op):
    return lambda lib, a, b: (lambda: op(a, b))


def unary(fg_fn, np_fn, torch_fn):
    fns = {"fg": fg_fn, "np": np_fn, "torch": torch_fn}
    return lambda lib, a: (lambda: fns[lib](a))


def by_lib(fg_fn, np_fn, torch_fn=None):
    """Like `unary` but the torch function defaults to the fg one (same method API)."""
    return unary(fg_fn, np_fn, torch_fn or fg_fn)


def workloads(rng):
    def randn(*shape):
        return rng.standard_normal(shape, dtype=np.float32)

    def rand(*shape):  # positive: sums don't cancel, so relative tolerances work
        return rng.random(shape, dtype=np.float32)

    a, b = randn(N), randn(N)
    u = rand(N)
    m = rand(SIDE, SIDE)
    s = randn(4096, 1024)
    m1k, n1k = randn(1024, 1024), randn(1024, 1024)
    t = randn(SIDE, SIDE)
    x8, y8 = randn(8, 8), randn(8, 8)
    v64 = rand(64)
    red = dict(rtol=1e-4, atol=1e-3)
    mm = dict(rtol=1e-3, atol=1e-3)

    return [
        Workload("add 2^24", [a, b], binary(lambda x, y: x + y)),
        Workload("mul 2^24", [a, b], binary(lambda x, y: x * y)),
        Workload("mul scalar 2^24", [a], lambda lib, x: (lambda: x * 2.0)),
        Workload("exp 2^24", [a], by_lib(lambda x: x.exp(), np.exp),
                 rtol=1e-6, atol=0),
        Workload("relu 2^24", [a], by_lib(lambda x: x.relu(), lambda x: np.maximum(x, 0))),
        Workload("sum 2^24", [u], by_lib(lambda x: x.sum(), np.sum), **red),
        Workload("max 2^24", [u], by_lib(lambda x: x.max(), np.max)),
        Workload("mean 2^24", [u], by_lib(lambda x: x.mean(), np.mean), **red),
        Workload("sum axis=1 (4096,4096)", [m],
                 unary(lambda x: x.sum(axis=1), lambda x: x.sum(axis=1),
                       lambda x: x.sum(dim=1)), **red),
        Workload("sum axis=0 (4096,4096)", [m],
                 unary(lambda x: x.sum(axis=0), lambda x: x.sum(axis=0),
                       lambda x: x.sum(dim=0)), **red),
        Workload("softmax -1 (4096,1024)", [s],
                 unary(lambda x: x.softmax(axis=-1), np_softmax,
                       lambda x: torch.softmax(x, dim=-1)), rtol=1e-4, atol=1e-7),
        *[Workload(f"matmul {n}^3", [randn(n, n), randn(n, n)], binary(lambda x, y: x @ y),
                   flops=2 * n**3, **mm) for n in MATMUL_SIDES],
        Workload("matmul 1024^3 (rhs.T)", [m1k, n1k], binary(lambda x, y: x @ y.T),
                 flops=2 * 1024**3, **mm),
        # the products of one step of benches/train_step.py's MLP at batch 256:
        # forward x @ W.T, backward g @ W (input gradient) and g.T @ x (weight gradient)
        *[Workload(f"matmul mlp {name} ({m},{k})x({k},{n})", [randn(*sa), randn(*sb)], make,
                   flops=2 * m * n * k, **mm)
          for name, (m, k, n), sa, sb, make in MLP_PRODUCTS],
        Workload("transpose+copy (4096,4096)", [t],
                 unary(lambda x: x.T.contiguous(), lambda x: np.ascontiguousarray(x.T),
                       lambda x: x.T.contiguous()), rtol=0, atol=0),
        Workload("reshape of .T (4096,4096)", [t],
                 by_lib(lambda x: x.T.reshape(-1), lambda x: x.T.reshape(-1)),
                 rtol=0, atol=0),
        Workload("add 8x8 [us/call]", [x8, y8], binary(lambda x, y: x + y), small=True),
        Workload("matmul 8x8 [us/call]", [x8, y8], binary(lambda x, y: x @ y), small=True,
                 **mm),
        Workload("sum 64 [us/call]", [v64], by_lib(lambda x: x.sum(), np.sum), small=True,
                 **red),
    ]


# -------------------------------------------------------------------------- running

def to_numpy(result):
    if torch is not None and isinstance(result, torch.Tensor):
        return result.numpy()
    return np.asarray(result)


def check(w, fg_result, np_result):
    got, want = to_numpy(fg_result), np.asarray(np_result)
    if got.shape != want.shape:
        return f"shape {got.shape} != {want.shape}"
    if not np.allclose(got, want, rtol=w.rtol, atol=w.atol, equal_nan=True):
        err = np.max(np.abs(got.astype(np.float64) - want))
        return f"max abs err {err:.3g}"
    return None


def time_workload(w, lib, reps, warmup, small_calls):
    """Seconds per call of `lib` on `w`, and for ferrograd whether its result differs
    from NumPy's (None when it matches)."""
    fn = w.make(lib, *[convert(lib, x) for x in w.inputs])
    error = check(w, fn(), w.make("np", *w.inputs)()) if lib == "fg" else None
    if w.small:
        return median_seconds(fn, reps, warmup=1, inner=small_calls), error
    return median_seconds(fn, reps, warmup), error


def run_child(lib):
    """Runs every workload of one library in a fresh process: in one process, one
    library's idle threads (torch's OpenMP threads spin after each call, ferrograd's
    briefly too) and its allocator state would slow the next library down."""
    cmd = [sys.executable, __file__, "--child", lib, "--threads", str(ARGS.threads)]
    cmd += ["--quick"] if ARGS.quick else []
    cmd += ["--filter", ARGS.filter] if ARGS.filter else []
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def child_main(lib, reps, warmup, small_calls):
    res = {}
    for w in workloads(np.random.default_rng(0)):
        if ARGS.filter and ARGS.filter not in w.name:
            continue
        print(f"  running {lib}: {w.name} ...", file=sys.stderr, flush=True)
        res[w.name] = time_workload(w, lib, reps, warmup, small_calls)
    print(json.dumps(res))


# -------------------------------------------------------------------------- reporting

def library_versions():
    v = {"python": platform.python_version(), "ferrograd": fg.__version__,
         "numpy": np.__version__, "torch": torch.__version__ if torch else None}
    try:
        v["numpy_blas"] = np.__config__.CONFIG["Build Dependencies"]["blas"]["name"]
    except (AttributeError, KeyError, TypeError):
        pass
    return v


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_facts(threads):
    facts = {"cpu": cpu_model(), "cores": os.cpu_count(), "threads": threads,
             "fg_threads": fg.get_num_threads(),
             "torch_threads": torch.get_num_threads() if torch else None,
             "platform": platform.platform(),
             "loadavg_1min": round(os.getloadavg()[0], 2)}
    facts.update(library_versions())
    return facts


def busy_cpu_seconds():
    """CPU seconds all processes have spent busy since boot (Linux), or None."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    idle = ticks[3] + ticks[4]  # idle + iowait
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")


def cpu_snapshot():
    t = os.times()  # this process and its (finished) children
    return time.perf_counter(), busy_cpu_seconds(), t.user + t.system + t.children_user + t.children_system


def report_contention(start):
    """Prints how much CPU other processes took during the run: on a small machine a
    background compile skews every number, so say so next to the table."""
    wall0, busy0, own0 = start
    wall1, busy1, own1 = cpu_snapshot()
    if busy0 is None or busy1 is None:
        return
    other = max(0.0, (busy1 - busy0) - (own1 - own0))
    share = other / (wall1 - wall0)
    print(f"other processes used {other:.1f} CPU-s during the {wall1 - wall0:.0f} s run "
          f"({share:.2f} cores on average){'  <-- noisy: rerun on a quiet machine' if share > 0.2 else ''}")


def fmt_time(seconds, small):
    if seconds is None:
        return "-"
    return f"{seconds * 1e6:.2f}" if small else f"{seconds * 1e3:.2f}"


def speedup(row, other):
    t = row["seconds"]
    if other not in t:
        return None
    return t[other] / t["fg"]


def table(rows):
    head = ["workload", "ferrograd ms", "numpy ms", "torch ms", "fg/numpy", "fg/torch",
            "GFLOP/s fg / np / torch", "check"]
    lines = []
    for r in rows:
        t = r["seconds"]
        cells = [r["workload"]] + [fmt_time(t.get(lib), r["small"]) for lib in LIBS]
        for other in ("np", "torch"):
            s = speedup(r, other)
            cells.append("-" if s is None else f"{s:.2f}x")
        if r["flops"]:
            cells.append(" / ".join("-" if lib not in t else f"{r['flops'] / t[lib] / 1e9:.1f}"
                                    for lib in LIBS))
        else:
            cells.append("")
        cells.append("MISMATCH: " + r["mismatch"] if r["mismatch"] else "ok")
        lines.append(cells)
    widths = [max(len(str(c)) for c in col) for col in zip(head, *lines)]

    def fmt(cells):
        return "| " + " | ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                                 for i, (c, w) in enumerate(zip(cells, widths))) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([fmt(head), sep] + [fmt(c) for c in lines])


def main():
    threads = ARGS.threads
    fg.set_num_threads(threads)
    if torch is not None:
        torch.set_num_threads(threads)
    reps, warmup, small_calls = (3, 1, 1000) if ARGS.quick else (9, 2, 10000)
    if ARGS.child:
        return child_main(ARGS.child, reps, warmup, small_calls)

    facts = machine_facts(threads)
    print("machine: " + ", ".join(f"{k}={v}" for k, v in facts.items()))
    rounds = 1 if ARGS.quick else max(1, ARGS.rounds)
    print(f"timing: median over {rounds} round(s) of one process per library, each the median "
          f"of {reps} reps after {warmup} warm-up(s); small ops: loops of "
          f"{small_calls} calls, microseconds per call")
    if torch is None:
        print("note: torch is not importable from this Python; torch columns skipped "
              "(pip install torch into this interpreter to include it)")
    print("elementwise/reductions on 2^24 float32; speedup = other / ferrograd (>1: fg faster)")
    sys.stdout.flush()

    start = cpu_snapshot()
    libs = [lib for lib in LIBS if lib != "torch" or torch is not None]
    per_round = []  # per round: {lib: {workload: (seconds, mismatch)}}
    for r in range(rounds):
        per_lib = {}
        for lib in libs:
            print(f"  round {r + 1}/{rounds}: timing {lib} in its own process ...",
                  file=sys.stderr, flush=True)
            per_lib[lib] = run_child(lib)
        per_round.append(per_lib)
    rows = []
    for w in workloads(np.random.default_rng(0)):
        if w.name not in per_round[0]["fg"]:
            continue
        seconds = {lib: statistics.median(p[lib][w.name][0] for p in per_round) for lib in libs}
        # a mismatch in any round marks the row
        mismatch = next((p["fg"][w.name][1] for p in per_round if p["fg"][w.name][1]), None)
        rows.append({"workload": w.name, "seconds": seconds, "mismatch": mismatch,
                     "flops": w.flops, "small": w.small,
                     "rounds": {lib: [p[lib][w.name][0] for p in per_round] for lib in libs}})
    print(table(rows))
    report_contention(start)

    bad = [r["workload"] for r in rows if r["mismatch"]]
    if bad:
        print(f"\nMISMATCH in: {', '.join(bad)} -- those ferrograd kernels are wrong")
    if ARGS.json:
        with open(ARGS.json, "w") as f:
            json.dump({"machine": facts, "reps": reps, "rounds": rounds, "quick": ARGS.quick,
                       "rows": rows},
                      f, indent=2)
        print(f"results written to {ARGS.json}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
