"""A tour of ferrograd's tensor core: NumPy-style ops, zero-copy interop, and a small
model fitted with plain gradient descent (gradients written out by hand until autograd
lands). Run with `make demo`."""

import time

import numpy as np

import ferrograd as fg

fg.manual_seed(0)
print(f"ferrograd {fg.__version__}, {fg.get_num_threads()} threads")

# Tensors behave like NumPy arrays, with PyTorch's dtype conventions.
x = fg.arange(12).reshape(3, 4)
print("x =", x)
print("x.T @ x =", x.T @ x)
print("mean over rows:", x.astype(fg.float32).mean(axis=0))
print("x[x % 2 == 0] =", x[x % 2 == 0])

# NumPy shares memory with the tensor; no copies.
a = np.linspace(0.0, 1.0, 5, dtype=np.float32)
t = fg.from_numpy(a)
a[0] = 42.0
print("from_numpy sees the write:", t[0].item() == 42.0)

# A two-layer network fitted to y = sin(3x) with hand-written gradients.
n, hidden, lr = 256, 64, 0.01
xs = fg.linspace(-1.0, 1.0, n).reshape(n, 1)
ys = fg.sin(3.0 * xs)
w1 = fg.randn((1, hidden)) * 2.0
b1 = fg.zeros((hidden,))
w2 = fg.randn((hidden, 1)) * (1.0 / hidden**0.5)
b2 = fg.zeros((1,))
start = time.perf_counter()
for step in range(3001):
    h_pre = xs @ w1 + b1
    h = fg.tanh(h_pre)
    pred = h @ w2 + b2
    err = pred - ys
    loss = (err * err).mean()
    # backward by hand: d(loss)/d(pred) = 2 err / n
    g_pred = err * (2.0 / n)
    g_w2 = h.T @ g_pred
    g_b2 = g_pred.sum(axis=0)
    g_h = g_pred @ w2.T
    g_hpre = g_h * (1.0 - h * h)
    g_w1 = xs.T @ g_hpre
    g_b1 = g_hpre.sum(axis=0)
    for p, g in ((w1, g_w1), (b1, g_b1), (w2, g_w2), (b2, g_b2)):
        p -= lr * g
    if step % 1000 == 0:
        print(f"step {step:5d}  mse {loss.item():.5f}")
print(f"fit sin(3x) in {time.perf_counter() - start:.2f}s, final mse {loss.item():.5f}")

# The GPU slice, when a wgpu adapter exists.
if fg._core.wgpu_is_available():
    g = fg.randn((256, 256))
    on_gpu = (g.to("wgpu") @ g.to("wgpu")).to("cpu")
    print("wgpu matmul matches CPU:", np.allclose(on_gpu.numpy(), (g @ g).numpy(), atol=1e-3),
          f"({fg._core.wgpu_adapter_name()})")
else:
    print("no wgpu adapter found; skipping the GPU part")
