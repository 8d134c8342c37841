"""One training step of a 784-1024-1024-10 MLP (Linear, LayerNorm, ReLU, Dropout(0.1)),
cross-entropy with label smoothing 0.1 and AdamW, batch 256: ferrograd vs PyTorch on
the CPU, 2 threads each, median milliseconds per step (forward + backward + update).

    make build && PYTHONPATH=python python3 benches/train_step.py [--steps 20]

LayerNorm and Dropout are fused kernels that live on other branches; where
``_core.layer_norm`` / ``_core.dropout`` are missing, both libraries run without that
layer and the output says so.
"""

import argparse
import json
import statistics
import subprocess
import sys
import time

import numpy as np

import ferrograd as fg


def has(name):
    return hasattr(fg._core, name)


def build(lib, use_ln, use_do):
    nn = lib.nn
    layers = []
    for i, o in ((784, 1024), (1024, 1024)):
        layers.append(nn.Linear(i, o))
        if use_ln:
            layers.append(nn.LayerNorm(o))
        layers.append(nn.ReLU())
        if use_do:
            layers.append(nn.Dropout(0.1))
    layers.append(nn.Linear(1024, 10))
    return nn.Sequential(*layers)


def bench(lib, steps, use_ln, use_do, x, y):
    lib.manual_seed(0)
    model = build(lib, use_ln, use_do)
    opt = lib.optim.AdamW(model.parameters(), lr=1e-3)
    loss_fn = lib.nn.CrossEntropyLoss(label_smoothing=0.1)
    times = []
    for i in range(steps + 3):
        t = time.perf_counter()
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        loss.item()
        if i >= 3:
            times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times), float(loss.item())


def run_one(lib_name, steps):
    """Times one library in this process; each library gets its own process so that one
    pool's idle spinning threads (rayon, OpenMP) do not slow the other down."""
    use_ln, use_do = has("layer_norm"), has("dropout")
    rng = np.random.default_rng(0)
    xn = rng.standard_normal((256, 784)).astype(np.float32)
    yn = rng.integers(0, 10, 256)
    if lib_name == "torch":
        import torch

        torch.set_num_threads(2)
        return bench(torch, steps, use_ln, use_do, torch.from_numpy(xn), torch.from_numpy(yn))
    fg.set_num_threads(2)
    return bench(fg, steps, use_ln, use_do, fg.tensor(xn), fg.tensor(yn))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--only", choices=["fg", "torch"])
    args = p.parse_args()
    if args.only:
        print(json.dumps(run_one(args.only, args.steps)))
        return
    res = {}
    for lib in ("fg", "torch"):
        out = subprocess.run([sys.executable, __file__, "--steps", str(args.steps), "--only", lib],
                             check=True, capture_output=True, text=True).stdout
        res[lib] = json.loads(out.strip().splitlines()[-1])
    (fg_ms, fg_loss), (th_ms, th_loss) = res["fg"], res["torch"]
    use_ln, use_do = has("layer_norm"), has("dropout")
    print(f"layers: LayerNorm={'yes' if use_ln else 'no (not on this branch)'}, "
          f"Dropout={'yes' if use_do else 'no (not on this branch)'}")
    print(f"ferrograd: {fg_ms:8.2f} ms/step (last loss {fg_loss:.4f})")
    print(f"pytorch:   {th_ms:8.2f} ms/step (last loss {th_loss:.4f})")
    print(f"ratio ferrograd/pytorch: {fg_ms / th_ms:.2f}")


if __name__ == "__main__":
    main()
