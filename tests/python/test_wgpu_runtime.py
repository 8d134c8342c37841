"""The GPU runtime: the caching allocator, the lazy command stream (no waiting until a
value is read), the counters, and the lost-device error. Skipped, with the adapter error
as the reason, where there is no wgpu adapter."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import ferrograd as fg


pytestmark = pytest.mark.usefixtures("wgpu_device")


def _stats():
    return dict(fg._core._wgpu_stats())


def test_freed_buffers_are_reused_not_created():
    x = fg.tensor(np.ones(1000, np.float32)).to("wgpu")
    (x * 2).sum()  # warm: creates what this chain needs
    before = _stats()
    for _ in range(20):
        y = (x * 2 + 1).exp()
        del y
    after = _stats()
    assert after["dispatches"] - before["dispatches"] >= 60
    # Each iteration frees its buffers before the next allocates the same sizes.
    assert after["buffers_created"] - before["buffers_created"] <= 2


def test_empty_cache_releases_and_cached_bytes_counts_the_gpu():
    x = fg.tensor(np.ones(1 << 16, np.float32)).to("wgpu")
    y = x * 3
    del y
    assert fg.cached_bytes("wgpu") >= 4 << 16
    assert fg.cached_bytes() >= fg.cached_bytes("wgpu")
    fg.empty_cache()
    assert fg.cached_bytes("wgpu") == 0
    assert float((x * 3).sum().item()) == 3.0 * (1 << 16)


def test_ops_are_batched_and_only_reads_wait():
    x = fg.tensor(np.arange(64, dtype=np.float32)).to("wgpu")
    fg.synchronize("wgpu")
    before = _stats()
    y = x
    for _ in range(40):
        y = y * 1.0 + 0.0
    mid = _stats()
    # 80 kernels (and their scalar fills) recorded: fewer submissions than kernels, and
    # nothing read back.
    assert mid["dispatches"] - before["dispatches"] >= 80
    assert mid["submits"] - before["submits"] < (mid["dispatches"] - before["dispatches"]) / 10
    assert mid["readbacks"] == before["readbacks"]
    np.testing.assert_array_equal(y.to("cpu").numpy(), np.arange(64, dtype=np.float32))
    assert _stats()["readbacks"] == mid["readbacks"] + 1


def test_synchronize_accepts_devices():
    fg.synchronize()
    fg.synchronize("wgpu")
    fg.synchronize("cpu")
    with pytest.raises(RuntimeError, match="unknown device"):
        fg.synchronize("tpu")


def test_lost_device_raises_runtime_error_not_a_crash():
    # A lost device cannot come back in this process: run it in a child.
    code = textwrap.dedent(
        """
        import numpy as np, ferrograd as fg
        x = fg.tensor(np.ones(8, np.float32)).to("wgpu")
        fg._core._wgpu_lose_device_for_testing()
        for f in (lambda: x + x, lambda: x.to("cpu"), lambda: fg.tensor(np.ones(3, np.float32)).to("wgpu")):
            try:
                f()
            except fg.InternalError as e:
                raise SystemExit("internal error: %s" % e)
            except RuntimeError as e:
                assert "lost" in str(e), str(e)
            else:
                raise SystemExit("no error after the device was lost")
        print("ok")
        """
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stdout + r.stderr
