"""A `ferrograd train` recipe on full MNIST in ferrograd and in PyTorch, same run.

    make build
    PYTHONPATH=python python3 benches/mnist_recipe.py MNIST_DIR                 # the MLP
    PYTHONPATH=python python3 benches/mnist_recipe.py MNIST_DIR --model resnet  # the ResNet

MNIST_DIR holds the four IDX gzip files (or set FERROGRAD_MNIST).

mlp: 784-256-256-10 (Linear -> LayerNorm -> ReLU -> Dropout(0.1), Kaiming-normal init),
AdamW lr 1e-3, 10 epochs.
resnet: fg.models.ResNet (24-48-96 channels, one BasicBlock per stage, BatchNorm), random
28x28 crops of the images zero-padded by 2 pixels, AdamW lr 3e-3, 5 epochs.

Both: weight decay 0.01 on weight matrices and kernels only, cosine schedule stepped per
epoch, batch 128, 10% of the training set held out (the CLI's split) for picking the
epoch with the lowest validation loss; test accuracy of that epoch. Both libraries use
2 threads.

ferrograd runs as `python -m ferrograd train` in a subprocess (the command users run),
with the repository's .venv Python when there is one (it has tqdm and matplotlib);
PyTorch is optional (the ferrograd half runs without it).
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SEED, BATCH, THREADS = 0, 128, 2
RECIPES = {
    "mlp": {"epochs": 10, "lr": 1e-3, "crop": 0, "channels": 0},
    "resnet": {"epochs": 5, "lr": 3e-3, "crop": 2, "channels": 24},
}


def run_ferrograd(args):
    venv = os.path.join(HERE, "..", ".venv", "bin", "python")
    python = venv if os.path.exists(venv) else sys.executable
    with tempfile.TemporaryDirectory() as run_dir:
        cmd = [python, "-m", "ferrograd", "train", "--model", args.model,
               "--data-dir", args.data_dir, "--epochs", str(args.epochs),
               "--lr", str(args.lr), "--crop", str(args.crop),
               *(["--channels", str(args.channels)] if args.model == "resnet" else []),
               "--threads", str(THREADS), "--no-progress", "--run-dir", run_dir,
               "--seed", str(SEED)]
        t0 = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"ferrograd train failed:\n{r.stderr[-3000:]}")
    print(r.stdout, end="")
    acc = float(re.search(r"test loss \S+ accuracy (\S+)", r.stdout).group(1))
    return acc, seconds


def torch_mlp():
    from torch import nn

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
    return nn.Sequential(nn.Flatten(), *layers, head)


def torch_resnet(channels):
    from torch import nn

    from conv_compare import torch_resnet as resnet

    model = resnet(width=channels)
    for m in model.modules():  # fg.models.ResNet's initialization (torchvision's)
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
    return model


def random_crops(x, pad, gen):
    """Each image of ``x`` (N, 1, 28, 28) cut at a random offset out of its zero-padded
    copy, as fg.data.transforms.RandomCrop(28, padding=pad) does."""
    import torch

    if pad == 0:
        return x
    padded = torch.nn.functional.pad(x, (pad, pad, pad, pad))
    offsets = torch.randint(0, 2 * pad + 1, (len(x), 2), generator=gen).tolist()
    return torch.stack([padded[i, :, r:r + 28, c:c + 28] for i, (r, c) in enumerate(offsets)])


def run_torch(args):
    import torch
    from torch import nn

    from ferrograd.data import MNIST

    torch.set_num_threads(THREADS)
    torch.manual_seed(SEED)
    train, test = MNIST(args.data_dir, train=True), MNIST(args.data_dir, train=False)
    x = torch.from_numpy(train.images.reshape(-1, 1, 28, 28).astype(np.float32) / 255)
    y = torch.from_numpy(train.targets)
    xt = torch.from_numpy(test.images.reshape(-1, 1, 28, 28).astype(np.float32) / 255)
    yt = torch.from_numpy(test.targets)
    order = np.random.default_rng(SEED).permutation(len(train))  # the CLI's split
    n_val = int(round(0.1 * len(train)))
    tr, va = torch.from_numpy(np.sort(order[n_val:])), torch.from_numpy(np.sort(order[:n_val]))

    model = torch_resnet(args.channels) if args.model == "resnet" else torch_mlp()
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    gen = torch.Generator().manual_seed(SEED)

    def evaluate(xs, ys):
        model.eval()
        with torch.no_grad():
            losses, hits = 0.0, 0
            for i in range(0, len(xs), 1000):
                logits = model(xs[i:i + 1000])
                losses += nn.functional.cross_entropy(logits, ys[i:i + 1000], reduction="sum").item()
                hits += (logits.argmax(-1) == ys[i:i + 1000]).sum().item()
        return losses / len(xs), hits / len(xs)

    t0 = time.perf_counter()
    best_loss, best_state = float("inf"), None
    for epoch in range(args.epochs):
        model.train()
        perm = tr[torch.randperm(len(tr), generator=gen)]
        for i in range(0, len(perm), BATCH):
            idx = perm[i:i + BATCH]
            loss = nn.functional.cross_entropy(model(random_crops(x[idx], args.crop, gen)), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        val_loss, val_acc = evaluate(x[va], y[va])
        print(f"pytorch epoch {epoch + 1}/{args.epochs}: val loss {val_loss:.4f} acc {val_acc:.4f}",
              flush=True)
        if val_loss < best_loss:
            best_loss, best_state = val_loss, {k: v.clone() for k, v in model.state_dict().items()}
    seconds = time.perf_counter() - t0
    model.load_state_dict(best_state)
    return evaluate(xt, yt)[1], seconds


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("data_dir", nargs="?", default=os.environ.get("FERROGRAD_MNIST"),
                   help="directory of the MNIST IDX gzip files (default: $FERROGRAD_MNIST)")
    p.add_argument("--model", choices=sorted(RECIPES), default="mlp")
    p.add_argument("--epochs", type=int, help="default: the recipe's")
    p.add_argument("--lr", type=float, help="default: the recipe's")
    p.add_argument("--crop", type=int, help="default: the recipe's")
    p.add_argument("--channels", type=int, help="the ResNet's width (default: the recipe's)")
    p.add_argument("--skip-ferrograd", action="store_true", help="train only the PyTorch half")
    args = p.parse_args()
    if not args.data_dir:
        p.error("give MNIST_DIR or set FERROGRAD_MNIST")
    for key, value in RECIPES[args.model].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def main():
    args = parse_args()
    print(f"recipe {args.model}: {args.epochs} epochs, lr {args.lr}, crop {args.crop}, "
          f"channels {args.channels}, {THREADS} threads")
    fg_acc = fg_s = None
    if not args.skip_ferrograd:
        fg_acc, fg_s = run_ferrograd(args)
        print(f"ferrograd: test accuracy {fg_acc:.4f}, {fg_s:.1f} s (whole command)")
    try:
        import torch  # noqa: F401
    except ImportError:
        print("PyTorch is not installed: no comparison")
        return
    t_acc, t_s = run_torch(args)
    print(f"pytorch:   test accuracy {t_acc:.4f}, {t_s:.1f} s (training loop only)")
    if fg_acc is not None:
        print(f"accuracy difference {100 * (fg_acc - t_acc):+.2f} points; "
              f"time ratio pytorch/ferrograd {t_s / fg_s:.2f}")


if __name__ == "__main__":
    main()
