"""Data-parallel scaling on this machine: 1 process x 2 threads against 2 MPI processes
x 1 thread, and what the gradient all-reduce costs.

    .venv/bin/python benches/ddp_scaling.py [--steps N]

Part 1, throughput (images/s) of the MNIST MLP recipe's training step (`ferrograd
train`'s default model: 784-256-256-10, LayerNorm, ReLU, dropout 0.1, AdamW,
cross-entropy) on the embedded MNIST subset:
  * 1 process, 2 threads, batch 128;
  * 2 processes (mpiexec), 1 thread each, DDP, batch 64 per rank (the same global
    batch of 128: strong scaling) and batch 128 per rank (global 256: weak scaling).
Part 2, the 784-1024-1024-10 MLP (1.86 M float32 parameters, 7.5 MB of gradients) under
DDP on 2 ranks x 1 thread, batch 128 per rank: the time of a whole step and of the
all-reduces of its gradient buckets alone (the same buckets DDP reduces, 4 MB cap).

The driver runs each configuration as a subprocess (`--worker ...`) and prints a table.
The numbers are medians over the timed steps after a warm-up; the machine has 2 cores,
so run it with nothing else busy.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SPIN = False  # --spin


def _python():
    venv = HERE.parent / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def _mpiexec():
    local = Path(_python()).parent / "mpiexec"
    return str(local) if local.exists() else "mpiexec"


# ----------------------------------------------------------------------------- worker
def _batches(batch, steps, seed):
    from ferrograd.data import load_default

    train, _ = load_default()
    rng = np.random.default_rng(seed)
    idx = [rng.integers(0, len(train), batch) for _ in range(steps)]
    return [train.get_batch(i) for i in idx]


def worker(args):
    import ferrograd as fg
    from ferrograd.models import build_mlp
    from ferrograd.nn import functional as F

    distributed = args.ranks > 1
    rank = 0
    if distributed:
        fg.distributed.init()
        fg.distributed.install_abort_hook()
        rank = fg.distributed.rank()
    fg.set_num_threads(args.threads)
    fg.manual_seed(0)
    width, depth = (1024, 2) if args.big else (256, 2)
    norm = "none" if args.big else "layer"
    dropout = 0.0 if args.big else 0.1
    net = build_mlp(28 * 28, 10, depth=depth, width=width, norm=norm, dropout=dropout)
    model = fg.nn.parallel.DistributedDataParallel(net) if distributed else net
    opt = fg.optim.AdamW(model.parameters(), lr=1e-3)
    batches = _batches(args.batch, args.steps + args.warmup, seed=rank)
    times = []
    for i, (x, y) in enumerate(batches):
        if distributed:
            fg.distributed.barrier()  # steps start together: time the slowest rank's step
        t0 = time.perf_counter()
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        float(loss.item())
        if i >= args.warmup:
            times.append(time.perf_counter() - t0)
    result = {"step_s": float(np.median(times)), "batch": args.batch, "ranks": args.ranks}
    if distributed and args.big:
        reduce_times = []
        for _ in range(args.steps):
            fg.distributed.barrier()
            t0 = time.perf_counter()
            for b in model._buckets:
                fg.distributed.all_reduce(b.flat, fg.distributed.ReduceOp.AVG)
            reduce_times.append(time.perf_counter() - t0)
        result["allreduce_s"] = float(np.median(reduce_times))
        result["buckets"] = len(model._buckets)
        result["grad_mb"] = sum(b.flat.numel() * b.flat.element_size()
                                for b in model._buckets) / 2**20
    if rank == 0:
        print("RESULT " + json.dumps(result), flush=True)


# ----------------------------------------------------------------------------- driver
def run(ranks, threads, batch, steps, big=False):
    cmd = [_python(), str(Path(__file__).resolve()), "--worker", "--ranks", str(ranks),
           "--threads", str(threads), "--batch", str(batch), "--steps", str(steps)]
    if big:
        cmd.append("--big")
    if ranks > 1:
        cmd = [_mpiexec(), "--allow-run-as-root", "--oversubscribe", "-n", str(ranks)] + cmd
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    if SPIN:
        # Open MPI's own default (fg.distributed.init() makes waiting ranks yield unless
        # told otherwise): waiting ranks spin, taking the core a busy partner needs.
        env["OMPI_MCA_mpi_yield_when_idle"] = "0"
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{r.stderr[-3000:]}")
    line = [ln for ln in r.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--ranks", type=int, default=1, help=argparse.SUPPRESS)
    p.add_argument("--threads", type=int, default=2, help=argparse.SUPPRESS)
    p.add_argument("--batch", type=int, default=128, help=argparse.SUPPRESS)
    p.add_argument("--big", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--warmup", type=int, default=5, help=argparse.SUPPRESS)
    p.add_argument("--steps", type=int, default=60, help="timed steps per configuration")
    p.add_argument("--spin", action="store_true",
                   help="run the MPI jobs with OMPI_MCA_mpi_yield_when_idle=0 (spinning waits)")
    args = p.parse_args()
    if args.worker:
        return worker(args)
    global SPIN
    SPIN = args.spin

    rows = []
    one = run(1, 2, 128, args.steps)
    rows.append(("1 process x 2 threads, batch 128", one, 128))
    for per_rank in (64, 128):
        r = run(2, 1, per_rank, args.steps)
        rows.append((f"2 processes x 1 thread, batch {per_rank}/rank", r, 2 * per_rank))
    print("MNIST MLP recipe (784-256-256-10, LayerNorm, dropout, AdamW), embedded subset")
    print(f"{'configuration':44s} {'step ms':>8s} {'images/s':>9s} {'vs 1x2':>7s}")
    base = 128 / one["step_s"]
    for name, r, global_batch in rows:
        ips = global_batch / r["step_s"]
        print(f"{name:44s} {1e3 * r['step_s']:8.2f} {ips:9.0f} {ips / base:6.2f}x")

    big = run(2, 1, 128, max(10, args.steps // 3), big=True)
    print()
    print(f"784-1024-1024-10 MLP under DDP, 2 ranks x 1 thread, batch 128/rank: "
          f"{big['grad_mb']:.1f} MB of gradients in {big['buckets']} buckets")
    print(f"  step {1e3 * big['step_s']:.1f} ms, all-reduce {1e3 * big['allreduce_s']:.2f} ms "
          f"({100 * big['allreduce_s'] / big['step_s']:.1f}% of the step), "
          f"{big['grad_mb'] / 1024 / big['allreduce_s']:.2f} GB/s of gradients reduced")


if __name__ == "__main__":
    main()
