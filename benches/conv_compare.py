"""Convolutions, max pooling and a ResNet training step: ferrograd vs PyTorch CPU,
2 threads each, float32.

    make build && PYTHONPATH=python python3 benches/conv_compare.py [--quick]

Cases: conv2d forward and forward+backward (input and weight gradients) for
(64, 32, 28, 28) x (64, 32, 3, 3) and (128, 64, 14, 14) x (128, 64, 3, 3), padding 1;
max_pool2d 2x2 on (64, 32, 28, 28), forward and forward+backward; and one training step
(forward, cross-entropy, backward, SGD with momentum) of fg.models' small ResNet
(BatchNorm, 16-32-64 channels) at batch 128 on 28x28 images. PyTorch runs the same
network, built in this file with the same parameter names; before timing, the check
loads ferrograd's initial weights into it and compares the logits.

As in nn_compare.py, each library runs in processes of its own, ROUNDS of them
alternating, each warming up and then timing REPEAT runs; the table gives medians over
all rounds. PyTorch is optional: without it only ferrograd's column is printed.
"""

import json
import statistics
import subprocess
import sys

import numpy as np

from nn_compare import samples  # warm-up, then REPEAT timed calls, in ms

QUICK = "--quick" in sys.argv
REPEAT = 3 if QUICK else 9
ROUNDS = 1 if QUICK else 3
CONVS = [((64, 32, 28, 28), (64, 32, 3, 3)), ((128, 64, 14, 14), (128, 64, 3, 3))]
POOL = (64, 32, 28, 28)
BATCH = 128


def data():
    rng = np.random.default_rng(0)
    convs = [(rng.standard_normal(x).astype(np.float32), rng.standard_normal(w).astype(np.float32))
             for x, w in CONVS]
    pool = rng.standard_normal(POOL).astype(np.float32)
    images = rng.random((BATCH, 1, 28, 28)).astype(np.float32)
    labels = rng.integers(0, 10, BATCH).astype(np.int64)
    return convs, pool, images, labels


def fg_cases():
    import ferrograd as fg
    import ferrograd.nn.functional as F
    from ferrograd.models import build_resnet

    fg.set_num_threads(2)
    convs, pool, images, labels = data()
    for (xn, wn), (xs, ws) in zip(convs, CONVS):
        x, w = fg.tensor(xn), fg.tensor(wn)
        yield f"conv2d fwd {xs}x{ws}", lambda x=x, w=w: F.conv2d(x, w, padding=1)

        def fwd_bwd(x=x, w=w):
            xr, wr = x.detach().requires_grad_(), w.detach().requires_grad_()
            y = F.conv2d(xr, wr, padding=1)
            fg.autograd.grad([y], [xr, wr], [fg.ones(y.shape)])
        yield f"conv2d fwd+bwd {xs}x{ws}", fwd_bwd
    p = fg.tensor(pool)
    yield f"max_pool2d fwd {POOL}", lambda: F.max_pool2d(p, 2)

    def pool_bwd():
        pr = p.detach().requires_grad_()
        y = F.max_pool2d(pr, 2)
        fg.autograd.grad([y], [pr], [fg.ones(y.shape)])
    yield f"max_pool2d fwd+bwd {POOL}", pool_bwd
    fg.manual_seed(0)
    model = build_resnet()
    opt = fg.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    xb, yb = fg.tensor(images), fg.tensor(labels)

    def step():
        opt.zero_grad()
        F.cross_entropy(model(xb), yb).backward()
        opt.step()
    yield f"ResNet train step (batch {BATCH})", step


def torch_resnet(width=16, norm=True):
    """fg.models.ResNet's architecture in PyTorch, with the same parameter names."""
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                                nn.BatchNorm2d(cout))

        def forward(self, x):
            out = torch.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return torch.relu(out + (x if self.downsample is None else self.downsample(x)))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, width, 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(width)
            self.layers = nn.ModuleList([nn.Sequential(Block(width * 2 ** max(i - 1, 0), width * 2 ** i,
                                                             1 if i == 0 else 2)) for i in range(3)])
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(width * 4, 10)

        def forward(self, x):
            x = torch.relu(self.bn1(self.conv1(x)))
            for stage in self.layers:
                x = stage(x)
            return self.fc(self.pool(x).flatten(1))

    return Net()


def torch_cases():
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(2)
    convs, pool, images, labels = data()
    for (xn, wn), (xs, ws) in zip(convs, CONVS):
        x, w = torch.from_numpy(xn), torch.from_numpy(wn)
        yield f"conv2d fwd {xs}x{ws}", lambda x=x, w=w: F.conv2d(x, w, padding=1)

        def fwd_bwd(x=x, w=w):
            xr, wr = x.detach().requires_grad_(), w.detach().requires_grad_()
            y = F.conv2d(xr, wr, padding=1)
            torch.autograd.grad([y], [xr, wr], [torch.ones(y.shape)])
        yield f"conv2d fwd+bwd {xs}x{ws}", fwd_bwd
    p = torch.from_numpy(pool)
    yield f"max_pool2d fwd {POOL}", lambda: F.max_pool2d(p, 2)

    def pool_bwd():
        pr = p.detach().requires_grad_()
        y = F.max_pool2d(pr, 2)
        torch.autograd.grad([y], [pr], [torch.ones(y.shape)])
    yield f"max_pool2d fwd+bwd {POOL}", pool_bwd
    model = torch_resnet()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    xb, yb = torch.from_numpy(images), torch.from_numpy(labels)

    def step():
        opt.zero_grad()
        F.cross_entropy(model(xb), yb).backward()
        opt.step()
    yield f"ResNet train step (batch {BATCH})", step


def check_same_network():
    """Loads ferrograd's ResNet weights into the PyTorch twin; returns the largest
    logit difference (eval mode) — a state_dict with PyTorch's names loads as is."""
    import ferrograd as fg
    import torch
    from ferrograd.models import build_resnet

    fg.manual_seed(0)
    ours = build_resnet()
    theirs = torch_resnet()
    theirs.load_state_dict({k: torch.from_numpy(np.array(v.numpy())) for k, v in ours.state_dict().items()})
    ours.eval(), theirs.eval()
    images = data()[2][:8]
    with torch.no_grad():
        want = theirs(torch.from_numpy(images)).numpy()
    return float(np.abs(ours(fg.tensor(images)).numpy() - want).max())


def child(lib):
    cases = fg_cases() if lib == "fg" else torch_cases()
    print(json.dumps({name: samples(fn, REPEAT) for name, fn in cases}))


def main():
    try:
        import torch
        libs = ("fg", "torch")
    except ImportError:
        torch, libs = None, ("fg",)
    runs = {lib: {} for lib in libs}
    for r in range(ROUNDS):
        for lib in libs:
            res = subprocess.run([sys.executable, __file__, "--child", lib],
                                 capture_output=True, text=True, check=True)
            for name, ts in json.loads(res.stdout.strip().splitlines()[-1]).items():
                runs[lib].setdefault(name, []).extend(ts)
            print(f"  round {r + 1}/{ROUNDS}: {lib} done", file=sys.stderr)
    med = {lib: {k: statistics.median(ts) for k, ts in d.items()} for lib, d in runs.items()}
    if torch is None:
        print("\nferrograd alone (PyTorch is not installed), 2 threads, float32\n")
        print("| case | fg ms |\n|---|---:|")
        for name, a in med["fg"].items():
            print(f"| {name} | {a:.2f} |")
        return
    print(f"\nthe same ResNet in both: largest eval-mode logit difference after loading "
          f"ferrograd's state_dict into PyTorch: {check_same_network():.2e}")
    print(f"\nferrograd vs PyTorch {torch.__version__} CPU, 2 threads each, float32, "
          f"median of {ROUNDS} processes x {REPEAT} runs\n")
    print("| case | fg ms | torch ms | torch/fg |\n|---|---:|---:|---:|")
    for name, a in med["fg"].items():
        b = med["torch"][name]
        print(f"| {name} | {a:.2f} | {b:.2f} | {b / a:.2f}x |")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])
    else:
        main()
