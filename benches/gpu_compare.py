"""Compare ferrograd on wgpu with ferrograd on the CPU and, where CUDA is present,
PyTorch on CUDA (TF32 off), in one run.

Run from the repository root, after `maturin develop`:

    .venv/bin/python benches/gpu_compare.py                 # full sizes (for a real GPU)
    .venv/bin/python benches/gpu_compare.py --quick         # small sizes: lavapipe, smoke runs
    .venv/bin/python benches/gpu_compare.py --json out.json --backends wgpu,torch

Rows: elementwise (add, mul, exp) and reductions (sum, max) on 2^24 elements, softmax
over the last axis of (4096, 4096), matmul 1024^3 and 4096^3, a chain of 1,000 small
ops on an (8, 8) tensor (the host cost per op, in microseconds), and a device copy
(clone) whose GB/s is the yardstick of the memory-bound rows: each of those shows its
GB/s and that as a percentage of the same backend's copy bandwidth. Matmul rows show
GFLOP/s (2 m n k / time). --quick uses 2^18 elements, (512, 512) softmax, matmul 256^3
and 512^3 and a chain of 200 ops.

Every timing is the median of several repetitions; each repetition runs the op enough
times to last >= 20 ms and is bracketed by a device synchronisation (`fg.synchronize`
for wgpu where it exists, else reading back one element; `torch.cuda.synchronize`).
A backend that raises on a row prints "n/a (error)" there (the message goes to the
JSON); a wgpu result that differs from the CPU's prints MISMATCH.
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

BACKENDS = ("cpu", "wgpu", "torch")
LABELS = {"cpu": "fg cpu", "wgpu": "fg wgpu", "torch": "torch cuda"}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes and few repetitions")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    p.add_argument("--backends", default=",".join(BACKENDS),
                   help="comma-separated subset of cpu,wgpu,torch (default: all available)")
    p.add_argument("--reps", type=int, help="repetitions per timing (default 7, --quick 3)")
    return p.parse_args()


# ----------------------------------------------------------------------------- backends

def load_torch():
    """torch with CUDA, or None. TF32 is switched off so matmul is true float32."""
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    return torch


class Backend:
    """Moves NumPy inputs onto one device and waits for its queued work."""

    def __init__(self, name, torch=None):
        self.name, self.torch = name, torch

    def put(self, a):
        if self.name == "torch":
            return self.torch.from_numpy(a).cuda()
        t = fg.tensor(a)
        return t if self.name == "cpu" else t.to("wgpu")

    def host(self, r):
        """A NumPy copy of a result (for the correctness check, outside the timings)."""
        if self.name == "torch":
            return r.cpu().numpy()
        return np.array((r if self.name == "cpu" else r.to("cpu")).numpy(), copy=True)

    def sync(self, last):
        if self.name == "torch":
            self.torch.cuda.synchronize()
        elif self.name == "wgpu":
            if hasattr(fg, "synchronize"):
                fg.synchronize(device="wgpu")
            else:  # reading one element back waits for everything queued before it
                last.reshape(-1)[:1].to("cpu")


def available_backends(wanted):
    out, notes = [], []
    for name in wanted:
        if name == "cpu":
            out.append(Backend("cpu"))
        elif name == "wgpu":
            try:
                fg.device("wgpu")
                out.append(Backend("wgpu"))
            except RuntimeError as e:
                notes.append(f"wgpu unavailable: {e}")
        elif name == "torch":
            torch = load_torch()
            if torch is None:
                notes.append("torch cuda unavailable (torch not importable or no CUDA device)")
            else:
                out.append(Backend("torch", torch))
        else:
            raise SystemExit(f"unknown backend {name!r}; pick from {','.join(BACKENDS)}")
    return out, notes


# ----------------------------------------------------------------------------- timing

def time_op(be, fn, reps, warmup, min_rep_seconds=0.02):
    """Median seconds per call of `fn` on backend `be`, each repetition bracketed by a
    synchronisation so queued GPU work is counted."""
    last = None
    t0 = time.perf_counter()
    for _ in range(warmup):
        last = fn()
    be.sync(last)
    per_call = (time.perf_counter() - t0) / max(warmup, 1)
    inner = max(1, math.ceil(min_rep_seconds / max(per_call, 1e-9)))
    if per_call > 2.0:  # a multi-second call: a few repetitions are plenty
        reps = min(reps, 3)
    times = []
    for _ in range(reps):
        be.sync(last)
        t0 = time.perf_counter()
        for _ in range(inner):
            last = fn()
        be.sync(last)
        times.append((time.perf_counter() - t0) / inner)
    return statistics.median(times)


# ----------------------------------------------------------------------------- workloads

class Row:
    """One table row. `make(*device_inputs)` returns the zero-argument op; `bytes` is the
    minimal traffic of one call (memory-bound rows), `flops` its arithmetic (matmul);
    `per_op` divides the time into per-op microseconds (the small-op chain)."""

    def __init__(self, name, inputs, make, bytes=None, flops=None, per_op=None, tol=(1e-5, 1e-6)):
        self.name, self.inputs, self.make = name, inputs, make
        self.bytes, self.flops, self.per_op, self.tol = bytes, flops, per_op, tol


def chain(n_ops):
    """n_ops small elementwise ops in a row (alternately * and +, so values stay put)."""

    def make(x):
        def run():
            y = x
            for _ in range(n_ops // 2):
                y = y * 0.999
                y = y + 0.001
            return y

        return run

    return make


def rows(quick, rng):
    n = 1 << (18 if quick else 24)
    side = 512 if quick else 4096
    mm = (256, 512) if quick else (1024, 4096)
    n_chain = 200 if quick else 1000
    exp_n = "2^18" if quick else "2^24"

    a = rng.standard_normal(n, dtype=np.float32)
    b = rng.standard_normal(n, dtype=np.float32)
    u = rng.random(n, dtype=np.float32)  # positive: the sum doesn't cancel
    s = rng.standard_normal((side, side), dtype=np.float32)
    x8 = rng.standard_normal((8, 8), dtype=np.float32)
    f4 = 4  # bytes per float32
    out = [
        Row(f"copy {exp_n}", [a], lambda x: (lambda: x.clone()), bytes=2 * f4 * n, tol=(0, 0)),
        Row(f"add {exp_n}", [a, b], lambda x, y: (lambda: x + y), bytes=3 * f4 * n),
        Row(f"mul {exp_n}", [a, b], lambda x, y: (lambda: x * y), bytes=3 * f4 * n),
        Row(f"exp {exp_n}", [a], lambda x: (lambda: x.exp()), bytes=2 * f4 * n, tol=(1e-5, 1e-6)),
        Row(f"sum {exp_n}", [u], lambda x: (lambda: x.sum()), bytes=f4 * n, tol=(1e-4, 1e-3)),
        Row(f"max {exp_n}", [u], lambda x: (lambda: x.max()), bytes=f4 * n),
        Row(f"softmax ({side},{side})", [s], lambda x: (lambda: x.softmax(-1)),
            bytes=2 * f4 * side * side, tol=(1e-4, 1e-7)),
    ]
    for k in mm:
        p, q = rng.standard_normal((k, k), dtype=np.float32), rng.standard_normal((k, k), dtype=np.float32)
        out.append(Row(f"matmul {k}^3", [p, q], lambda x, y: (lambda: x @ y),
                       flops=2 * k**3, tol=(1e-3, 1e-3)))
    out.append(Row(f"chain of {n_chain} ops (8,8)", [x8], chain(n_chain), per_op=n_chain, tol=(1e-4, 1e-5)))
    return out


def torch_op(row, torch):
    """The same op in PyTorch (softmax needs dim=; the others share fg's method names)."""
    if row.name.startswith("softmax"):
        return lambda x: (lambda: torch.softmax(x, dim=-1))
    return row.make


# ----------------------------------------------------------------------------- running

def run_row(row, be, reps, warmup, reference):
    """Time one row on one backend; returns a result dict (an error is a result too)."""
    try:
        ins = [be.put(x) for x in row.inputs]
        make = torch_op(row, be.torch) if be.name == "torch" else row.make
        fn = make(*ins)
        res = {"seconds": time_op(be, fn, reps, warmup)}
        got = be.host(fn())
        if reference is not None and not np.allclose(got, reference, rtol=row.tol[0], atol=row.tol[1]):
            res["mismatch"] = True
        return res, got
    except Exception as e:  # noqa: BLE001 - a missing op is a row result, not a crash
        return {"error": f"{type(e).__name__}: {e}"}, None


def metrics(row, res, copy_gbs):
    """Derived numbers: GB/s and % of copy, GFLOP/s, or microseconds per op."""
    t = res.get("seconds")
    if t is None:
        return
    if row.bytes:
        res["gb_per_s"] = row.bytes / t / 1e9
        if copy_gbs:
            res["pct_of_copy"] = 100.0 * res["gb_per_s"] / copy_gbs
    if row.flops:
        res["gflop_per_s"] = row.flops / t / 1e9
    if row.per_op:
        res["us_per_op"] = t / row.per_op * 1e6


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
    if "us_per_op" in res:
        parts = [f"{res['us_per_op']:.2f} us/op"]
    if "gb_per_s" in res:
        parts.append(f"{res['gb_per_s']:.1f} GB/s")
        if "pct_of_copy" in res and not res.get("is_copy"):
            parts.append(f"{res['pct_of_copy']:.0f}%")
    if "gflop_per_s" in res:
        parts.append(f"{res['gflop_per_s']:.1f} GFLOP/s")
    if res.get("mismatch"):
        parts.append("MISMATCH")
    return " ".join(parts)


def print_table(table, backends):
    names = [LABELS[b.name] for b in backends]
    widths = [max(len("workload"), *(len(r) for r in table))]
    cells = {r: [fmt_cell(table[r].get(b.name)) for b in backends] for r in table}
    for i, nm in enumerate(names):
        widths.append(max(len(nm), *(len(c[i]) for c in cells.values())))
    line = "  ".join(h.ljust(w) for h, w in zip(["workload"] + names, widths))
    print(line)
    print("-" * len(line))
    for r, cs in cells.items():
        print("  ".join(x.ljust(w) for x, w in zip([r] + cs, widths)))


def print_goals(table, rows_):
    """The issue's goals for a real GPU, where the numbers for them exist."""
    print("\ngoals (meaningful on a real GPU, not on lavapipe):")
    chain_row = next(r for r in rows_ if r.per_op)
    w = table[chain_row.name].get("wgpu", {})
    if "us_per_op" in w:
        print(f"  host cost per op on wgpu: {w['us_per_op']:.2f} us (goal < 3 us)")
    pcts = [(r.name, table[r.name].get("wgpu", {}).get("pct_of_copy")) for r in rows_
            if r.bytes and not r.name.startswith("copy")]
    shown = [f"{n}: {p:.0f}%" for n, p in pcts if p is not None]
    if shown:
        print("  memory-bound ops on wgpu, % of copy bandwidth (goal >= 60%): " + ", ".join(shown))
    big = [r for r in rows_ if r.flops][-1]
    w, t = table[big.name].get("wgpu", {}), table[big.name].get("torch", {})
    if "seconds" in w and "seconds" in t:
        print(f"  {big.name} on wgpu: {100 * t['seconds'] / w['seconds']:.0f}% of PyTorch CUDA (goal >= 40%)")


def main():
    args = parse_args()
    reps = args.reps or (3 if args.quick else 7)
    warmup = 1 if args.quick else 2
    backends, notes = available_backends([b.strip() for b in args.backends.split(",") if b.strip()])
    for note in notes:
        print(f"note: {note}")
    if not backends:
        raise SystemExit("no backend to run")
    rng = np.random.default_rng(0)
    rows_ = rows(args.quick, rng)
    table = {}
    copy_gbs = {}
    started = time.perf_counter()
    for row in rows_:
        table[row.name] = {}
        reference = None
        for be in backends:
            res, got = run_row(row, be, reps, warmup, reference if be.name == "wgpu" else None)
            if be.name == "cpu" and got is not None:
                reference = got  # the wgpu result must equal the CPU's
            if row.name.startswith("copy"):
                res["is_copy"] = True
                if "seconds" in res:
                    copy_gbs[be.name] = row.bytes / res["seconds"] / 1e9
            metrics(row, res, copy_gbs.get(be.name))
            table[row.name][be.name] = res
    elapsed = time.perf_counter() - started

    info = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "quick": args.quick,
        "reps": reps,
        "wgpu_adapter": fg._core.wgpu_adapter_name() if any(b.name == "wgpu" for b in backends) else None,
        "torch_device": (backends[-1].torch.cuda.get_device_name(0)
                         if any(b.name == "torch" for b in backends) else None),
        "synchronize": "fg.synchronize" if hasattr(fg, "synchronize") else "read back one element",
        "notes": notes,
    }
    print(f"\nferrograd on {', '.join(LABELS[b.name] for b in backends)}; medians of {reps} "
          f"repetitions; wgpu adapter: {info['wgpu_adapter']}; sync: {info['synchronize']}\n")
    print_table(table, backends)
    print_goals(table, rows_)
    errors = [(r, b, res["error"]) for r, d in table.items() for b, res in d.items() if "error" in res]
    if errors:
        print("\nerrors:")
        for r, b, e in errors:
            print(f"  {r} on {LABELS[b]}: {e[:160]}")
    print(f"\ntotal {elapsed:.1f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"info": info, "results": table}, f, indent=2)
        print(f"wrote {args.json}")
    mismatches = [r for r, d in table.items() for res in d.values() if res.get("mismatch")]
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
