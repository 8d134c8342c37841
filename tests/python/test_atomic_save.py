"""fg.save under SIGKILL: the target is always the complete old or the complete new file,
and the temporary file a killed save leaves behind is removed by the next save."""

import os
import random
import re
import signal
import subprocess
import sys
import time

import numpy as np

import ferrograd as fg

N = 5_000_000  # float32 elements: a 20 MB tensor, so a save takes a while
TARGET = "ckpt.safetensors"
TEMP = re.compile(r"^\.ckpt\.safetensors\.tmp\.(\d+)\.(\d+)$")

# Saves generation g, g+1, ... to argv[1] until killed; generation g holds
# w = arange(N) + g % 2 (so consecutive files differ in every element) and gen = [g].
CHILD = f"""
import sys
import ferrograd as fg
path, gen = sys.argv[1], int(sys.argv[2])
versions = [fg.arange({N}, dtype=fg.float32) + k for k in (0, 1)]
print("ready", flush=True)
while True:
    fg.save({{"gen": fg.tensor([gen]), "w": versions[gen % 2]}}, path)
    print("saved", gen, flush=True)
    gen += 1
"""


def _state(gen):
    return {"gen": fg.tensor([gen]), "w": fg.arange(N, dtype=fg.float32) + gen % 2}


def _check_complete(path, allowed):
    """Loads `path` and checks it is exactly generation `allowed[0]` or `allowed[1]`."""
    back = fg.load(path)
    assert list(back) == ["gen", "w"]
    gen = int(back["gen"].item())
    assert gen in allowed, (gen, allowed)
    w = back["w"].numpy()
    assert w.dtype == np.float32 and w.shape == (N,)
    assert np.array_equal(w, np.arange(N, dtype=np.float32) + gen % 2), gen
    return gen


def _temps(d):
    """The pids of the temporaries of the target left in `d`."""
    return [int(m.group(1)) for m in map(TEMP.match, os.listdir(d)) if m]


def test_sigkill_during_save_never_tears_the_target(tmp_path):
    path = tmp_path / TARGET
    fg.save(_state(0), path)
    rng = random.Random(1234)
    gen, kills, torn, deadline = 0, 0, 0, time.monotonic() + 14
    may_have_temps = set()  # pids of the killed children whose temporaries may remain
    while kills < 25 and time.monotonic() < deadline:
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(gen + 1)],
                                 stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline() == "ready\n"
        time.sleep(rng.uniform(0.0, 0.5))
        child.send_signal(signal.SIGKILL)
        out, _ = child.communicate()
        kills += 1
        assert child.returncode == -signal.SIGKILL, out
        saved = [int(line.split()[1]) for line in out.splitlines()]
        last_done = saved[-1] if saved else gen
        # The save in flight was either not renamed yet (old file) or renamed (new file).
        gen = _check_complete(path, (last_done, last_done + 1))
        # Temporaries never pile up: a child that finished a save had removed those of
        # the children before it (a child killed before its first save may not have).
        may_have_temps = {child.pid} | (set() if saved else may_have_temps)
        pids = _temps(tmp_path)
        assert set(pids) <= may_have_temps, (pids, may_have_temps)
        torn += child.pid in pids
    assert kills >= 8, "too slow to kill the writer enough times"
    # Some kill must have hit a save in the middle of writing, or this test tests nothing.
    assert torn >= 1, f"none of {kills} kills interrupted a write"
    # The next save removes what the last killed one left.
    fg.save(_state(gen + 1), path)
    assert sorted(os.listdir(tmp_path)) == [TARGET]
    _check_complete(path, (gen + 1,))


def test_stale_temporaries_go_but_live_ones_stay(tmp_path):
    """A temporary whose writer is dead (no lock held) is removed on the next save to the
    same target; one whose writer still runs (locked) is left alone, and files that only
    look alike are never touched."""
    import fcntl

    path = tmp_path / TARGET
    stale = [tmp_path / ".ckpt.safetensors.tmp.4000000.0", tmp_path / ".ckpt.safetensors.tmp.1.9"]
    for p in stale:
        p.write_bytes(b"torn")
    live = tmp_path / f".ckpt.safetensors.tmp.{os.getpid()}.123456"
    others = [".other.safetensors.tmp.1.0", ".ckpt.safetensors.tmp.x.0", "ckpt.safetensors.bak"]
    for name in others:
        (tmp_path / name).write_bytes(b"keep")
    with open(live, "wb") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # as a running save holds it
        fg.save(_state(7), path)
        assert sorted(os.listdir(tmp_path)) == sorted([TARGET, live.name] + others)
    fg.save(_state(8), path)  # the lock is gone with the file closed: now stale
    assert sorted(os.listdir(tmp_path)) == sorted([TARGET] + others)
    _check_complete(path, (8,))
