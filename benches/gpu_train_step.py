"""One training step of the MLP recipe on the GPU (ferrograd on wgpu) against PyTorch
CUDA on the same GPU, plus the fused norms and dropout, in one run.

Run from the repository root, after `maturin develop`:

    .venv/bin/python benches/gpu_train_step.py            # full sizes (for a real GPU)
    .venv/bin/python benches/gpu_train_step.py --quick    # lavapipe / smoke run, ~1 minute
    .venv/bin/python benches/gpu_train_step.py --json out.json

Rows:
- `MLP step`: 784-1024-1024-10 (Linear, LayerNorm, ReLU, Dropout 0.1 per hidden layer),
  cross-entropy with label smoothing 0.1, AdamW, batch 256: zero_grad + forward +
  backward + update on a batch already on the device (the full size in --quick too: it
  is the row the issue's goal is about, and it takes seconds, not minutes, on lavapipe).
- `copy`, `LayerNorm fwd`, `RMSNorm fwd` on (16384, 1024) float32 (--quick: (1024, 1024))
  with GB/s (read x, write y) and, for the norms, that as a % of the copy's GB/s on the
  same device: the issue's yardstick (goal >= 70% on a real GPU).
- `dropout fwd` (p=0.1) on 2^24 elements (--quick: 2^20), GB/s as read + write.

Columns: fg wgpu and torch cuda (when torch with CUDA is importable) are the contest;
fg cpu and torch cpu are reference lines (torch cpu only where torch is importable).
Timings are medians over repetitions; each repetition runs the op enough times to last
>= 20 ms and is bracketed by a device synchronisation (`fg.synchronize("wgpu")`,
`torch.cuda.synchronize()`). A backend that raises on a row (an op without a wgpu
kernel yet) prints "n/a (error)" there, with the message in the JSON.
"""

import argparse
import json
import math
import platform
import statistics
import sys
import time

import numpy as np

import ferrograd as fg

LABELS = {"wgpu": "fg wgpu", "cuda": "torch cuda", "cpu": "fg cpu", "torch-cpu": "torch cpu"}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes, few repetitions")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    p.add_argument("--reps", type=int, help="repetitions per timing (default 7, --quick 3)")
    p.add_argument("--no-cpu", action="store_true", help="leave out the CPU reference lines")
    return p.parse_args()


# ----------------------------------------------------------------------------- backends

class Backend:
    """One library on one device: the module namespaces, moving NumPy data there, and
    waiting for the device."""

    def __init__(self, name, torch=None):
        self.name, self.torch = name, torch
        self.lib = torch if name in ("cuda", "torch-cpu") else fg

    def put(self, a):
        if self.name == "cuda":
            return self.torch.from_numpy(a).cuda()
        if self.name == "torch-cpu":
            return self.torch.from_numpy(a)
        t = fg.tensor(a)
        return t.to("wgpu") if self.name == "wgpu" else t

    def to_device(self, module):
        if self.name == "cuda":
            return module.cuda()
        return module.to("wgpu") if self.name == "wgpu" else module

    def sync(self):
        if self.name == "cuda":
            self.torch.cuda.synchronize()
        elif self.name == "wgpu":
            fg.synchronize("wgpu")


def load_torch():
    try:
        import torch
    except ImportError:
        return None
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    return torch


def backends(no_cpu):
    out, notes = [], []
    try:
        fg.device("wgpu")
        out.append(Backend("wgpu"))
    except RuntimeError as e:
        notes.append(f"wgpu unavailable: {e}")
    torch = load_torch()
    if torch is not None and torch.cuda.is_available():
        out.append(Backend("cuda", torch))
    else:
        notes.append("torch cuda unavailable (torch not importable or no CUDA device)")
    if not no_cpu:
        out.append(Backend("cpu"))
        if torch is not None:
            out.append(Backend("torch-cpu", torch))
    return out, notes


# ----------------------------------------------------------------------------- timing

def time_op(be, fn, reps, warmup, min_rep_seconds=0.02):
    """Median seconds per call of ``fn``, each repetition bracketed by a sync."""
    t0 = time.perf_counter()
    for _ in range(warmup):
        fn()
    be.sync()
    per_call = (time.perf_counter() - t0) / max(warmup, 1)
    inner = max(1, math.ceil(min_rep_seconds / max(per_call, 1e-9)))
    times = []
    for _ in range(reps):
        be.sync()
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        be.sync()
        times.append((time.perf_counter() - t0) / inner)
    return statistics.median(times)


# ----------------------------------------------------------------------------- workloads

def mlp_step(be, width, batch, rng):
    """A zero-argument training step of the recipe on ``be``, and the model's loss
    (read once, after warm-up, as a sanity check that both libraries train)."""
    lib = be.lib
    nn = lib.nn
    lib.manual_seed(0)
    layers = []
    for i, o in ((784, width), (width, width)):
        layers += [nn.Linear(i, o), nn.LayerNorm(o), nn.ReLU(), nn.Dropout(0.1)]
    layers.append(nn.Linear(width, 10))
    model = be.to_device(nn.Sequential(*layers))
    opt = lib.optim.AdamW(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    x = be.put(rng.standard_normal((batch, 784)).astype(np.float32))
    y = be.put(rng.integers(0, 10, batch).astype(np.int64))
    last = []

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        last[:] = [loss]

    return step, last


def elementwise_rows(be, shape, n_drop, rng):
    """(name, fn, bytes moved) of the memory-bound rows on ``be``."""
    lib = be.lib
    rows_, cols = shape
    x = be.put(rng.standard_normal(shape).astype(np.float32))
    w = be.put(np.ones(cols, np.float32))
    b = be.put(np.zeros(cols, np.float32))
    d = be.put(rng.standard_normal(n_drop).astype(np.float32))
    F = lib.nn.functional
    f4 = 4
    size = f"({rows_},{cols})"
    exp = int(round(math.log2(n_drop)))
    # The same calls in both libraries (fg.nn.functional mirrors torch's signatures).
    return [
        (f"copy {size}", lambda: x.clone(), 2 * f4 * rows_ * cols),
        (f"LayerNorm fwd {size}", lambda: F.layer_norm(x, (cols,), w, b, 1e-5),
         2 * f4 * rows_ * cols),
        (f"RMSNorm fwd {size}", lambda: F.rms_norm(x, (cols,), w, 1e-6), 2 * f4 * rows_ * cols),
        (f"dropout fwd 2^{exp}", lambda: F.dropout(d, 0.1, True), 2 * f4 * n_drop),
    ]


def run(be, quick, reps, rng_seed=0):
    """{row name: result dict} for one backend."""
    width, batch = 1024, 256
    shape = (1024, 1024) if quick else (16384, 1024)
    n_drop = 1 << (20 if quick else 24)
    warmup = 2 if quick else 5
    out = {}
    name = f"MLP step 784-{width}-{width}-10, batch {batch}"
    try:
        step, last = mlp_step(be, width, batch, np.random.default_rng(rng_seed))
        seconds = time_op(be, step, reps, warmup)
        out[name] = {"seconds": seconds, "loss": float(last[0].item())}
    except Exception as e:  # noqa: BLE001 - a missing kernel is a row result
        out[name] = {"error": f"{type(e).__name__}: {e}"}
    try:
        mem_rows = elementwise_rows(be, shape, n_drop, np.random.default_rng(rng_seed))
    except Exception as e:  # noqa: BLE001
        return out, {"error": f"{type(e).__name__}: {e}"}
    with be.lib.no_grad():
        for row, fn, nbytes in mem_rows:
            try:
                t = time_op(be, fn, reps, warmup)
                out[row] = {"seconds": t, "gb_per_s": nbytes / t / 1e9}
            except Exception as e:  # noqa: BLE001
                out[row] = {"error": f"{type(e).__name__}: {e}"}
    copy = next(v for k, v in out.items() if k.startswith("copy"))
    for k, v in out.items():
        if ("Norm" in k) and "gb_per_s" in v and "gb_per_s" in copy:
            v["pct_of_copy"] = 100.0 * v["gb_per_s"] / copy["gb_per_s"]
    return out, None


# ----------------------------------------------------------------------------- output

def fmt_time(t):
    if t >= 1.0:
        return f"{t:.2f} s"
    if t >= 1e-3:
        return f"{t * 1e3:.2f} ms"
    return f"{t * 1e6:.1f} us"


def fmt_cell(res):
    if res is None:
        return "-"
    if "error" in res:
        return "n/a (error)"
    parts = [fmt_time(res["seconds"])]
    if "gb_per_s" in res:
        parts.append(f"{res['gb_per_s']:.1f} GB/s")
    if "pct_of_copy" in res:
        parts.append(f"({res['pct_of_copy']:.0f}% of copy)")
    return " ".join(parts)


def print_table(table, bes):
    names = [LABELS[b.name] for b in bes]
    print("| workload | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for row, cells in table.items():
        print(f"| {row} | " + " | ".join(fmt_cell(cells.get(b.name)) for b in bes) + " |")


def print_goals(table):
    print("\ngoals (meaningful on a real GPU, not on lavapipe):")
    for row, cells in table.items():
        w, c = cells.get("wgpu", {}), cells.get("cuda", {})
        if row.startswith("MLP") and "seconds" in w and "seconds" in c:
            print(f"- {row}: wgpu {w['seconds'] / c['seconds']:.2f}x PyTorch CUDA's time "
                  "(goal <= 1.5x)")
        if "Norm" in row and "pct_of_copy" in w:
            print(f"- {row} on wgpu: {w['pct_of_copy']:.0f}% of copy bandwidth (goal >= 70%)")
        if row.startswith("dropout") and "seconds" in w and "seconds" in c:
            print(f"- {row}: wgpu {w['seconds'] / c['seconds']:.2f}x PyTorch CUDA's time "
                  "(goal < 1x)")


def main():
    args = parse_args()
    reps = args.reps or (3 if args.quick else 7)
    bes, notes = backends(args.no_cpu)
    adapter = None
    if any(b.name == "wgpu" for b in bes):
        adapter = fg._core.wgpu_adapter_name()
    print(f"ferrograd {fg.__version__} | wgpu adapter: {adapter} | {platform.machine()} | "
          f"{'quick' if args.quick else 'full'} sizes, {reps} repetitions")
    for n in notes:
        print(f"note: {n}")
    table, errors = {}, {}
    for be in bes:
        results, err = run(be, args.quick, reps)
        if err:
            errors[be.name] = err
        for row, res in results.items():
            table.setdefault(row, {})[be.name] = res
        print(f"  ({LABELS[be.name]} done)", file=sys.stderr, flush=True)
    print()
    print_table(table, bes)
    print_goals(table)
    for row, cells in table.items():
        for b, res in cells.items():
            if "error" in res:
                print(f"note: {row} on {LABELS[b]}: {res['error']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"adapter": adapter, "quick": args.quick, "reps": reps,
                       "results": table, "errors": errors, "notes": notes}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
