"""The acceptance recipe on full MNIST in ferrograd and in PyTorch, same run.

784-256-256-10 MLP (Linear -> LayerNorm -> ReLU -> Dropout(0.1), Kaiming-normal init),
AdamW (lr 1e-3, weight decay 0.01 on matrices only), cosine schedule over 10 epochs,
batch 128, 10% of the training set held out for picking the best epoch; test accuracy
of the best epoch. Both libraries use 2 threads.

    make build
    PYTHONPATH=python python3 benches/mnist_recipe.py [MNIST_DIR] [EPOCHS]

ferrograd runs as `python -m ferrograd train` in a subprocess (the command users run),
with the repository's .venv Python when there is one (it has tqdm and matplotlib);
PyTorch is optional (the ferrograd half runs without it).
"""

import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "shared", "data", "mnist")
EPOCHS = int(sys.argv[2]) if len(sys.argv) > 2 else 10
SEED, BATCH, THREADS = 0, 128, 2


def run_ferrograd():
    venv = os.path.join(HERE, "..", ".venv", "bin", "python")
    python = venv if os.path.exists(venv) else sys.executable
    with tempfile.TemporaryDirectory() as run_dir:
        cmd = [python, "-m", "ferrograd", "train", "--data-dir", DATA,
               "--epochs", str(EPOCHS), "--threads", str(THREADS), "--no-progress",
               "--run-dir", run_dir, "--seed", str(SEED)]
        t0 = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"ferrograd train failed:\n{r.stderr[-3000:]}")
    out = r.stdout
    acc = float(re.search(r"test loss \S+ accuracy (\S+)", out).group(1))
    return acc, seconds


def run_torch():
    import torch
    from torch import nn

    from ferrograd.data import MNIST

    torch.set_num_threads(THREADS)
    torch.manual_seed(SEED)
    train, test = MNIST(DATA, train=True), MNIST(DATA, train=False)
    x = torch.from_numpy(train.images.reshape(len(train), -1).astype(np.float32) / 255)
    y = torch.from_numpy(train.targets)
    xt = torch.from_numpy(test.images.reshape(len(test), -1).astype(np.float32) / 255)
    yt = torch.from_numpy(test.targets)
    order = np.random.default_rng(SEED).permutation(len(train))  # the CLI's split
    n_val = int(round(0.1 * len(train)))
    tr, va = torch.from_numpy(np.sort(order[n_val:])), torch.from_numpy(np.sort(order[:n_val]))

    layers, features = [], 784
    for _ in range(2):
        lin = nn.Linear(features, 256)
        nn.init.kaiming_normal_(lin.weight, nonlinearity="relu")
        nn.init.zeros_(lin.bias)
        layers += [lin, nn.LayerNorm(256), nn.ReLU(), nn.Dropout(0.1)]
        features = 256
    head = nn.Linear(256, 10)
    nn.init.xavier_normal_(head.weight)
    nn.init.zeros_(head.bias)
    model = nn.Sequential(*layers, head)
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": no_decay, "weight_decay": 0.0}], lr=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=EPOCHS)
    gen = torch.Generator().manual_seed(SEED)

    def accuracy(xs, ys):
        model.eval()
        with torch.no_grad():
            return (model(xs).argmax(-1) == ys).double().mean().item()

    t0 = time.perf_counter()
    best_val, best_state = -1.0, None
    for _ in range(EPOCHS):
        model.train()
        perm = tr[torch.randperm(len(tr), generator=gen)]
        for i in range(0, len(perm), BATCH):
            idx = perm[i:i + BATCH]
            loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        val = accuracy(x[va], y[va])
        if val > best_val:
            best_val, best_state = val, {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    acc = accuracy(xt, yt)
    return acc, time.perf_counter() - t0


def main():
    fg_acc, fg_s = run_ferrograd()
    print(f"ferrograd: test accuracy {fg_acc:.4f}, {fg_s:.1f} s (whole command)")
    try:
        import torch  # noqa: F401
    except ImportError:
        print("PyTorch is not installed: no comparison")
        return
    t_acc, t_s = run_torch()
    print(f"pytorch:   test accuracy {t_acc:.4f}, {t_s:.1f} s (training loop only)")
    print(f"accuracy difference {100 * (fg_acc - t_acc):+.2f} points; "
          f"time ratio pytorch/ferrograd {t_s / fg_s:.2f}")


if __name__ == "__main__":
    main()
