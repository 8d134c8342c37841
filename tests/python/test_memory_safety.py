"""Crash-prone paths, each run in a child process so that a crash (a double free, an
abort on a failed allocation) fails one test instead of killing the run.

DLPack: the producer's deleter must run exactly once on every path (accepted, or
rejected for dtype, device, layout, version), for legacy and versioned capsules. The
capsules here are made with ctypes, with a deleter that counts its calls, so every
path can be checked without torch.

Huge allocations: a request the machine cannot satisfy raises MemoryError naming the
bytes requested, and prints nothing on stderr (no Rust panic text).
"""

import subprocess
import sys
import textwrap

import pytest


def run_child(code, timeout=120):
    """Runs `code` in a fresh interpreter; returns (returncode, stdout, stderr)."""
    r = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return r.returncode, r.stdout, r.stderr


def assert_child_ok(code, expect_lines):
    rc, out, err = run_child(code)
    assert rc == 0, f"child exited with {rc}\nstdout:\n{out}\nstderr:\n{err}"
    assert err == "", f"unexpected stderr:\n{err}"
    lines = out.strip().splitlines()
    assert lines == expect_lines, f"stdout:\n{out}"


# ---------------------------------------------------------------------------
# DLPack
# ---------------------------------------------------------------------------


def test_narrow_numpy_arrays_import_through_dlpack_repeatedly():
    # int8 and float16 used to be rejected (and the rejection once double-freed); now
    # they import, share memory, and the capsules are released exactly once.
    assert_child_ok(
        """
        import gc
        import numpy as np
        import ferrograd as fg
        for dt in (np.int8, np.float16, np.uint16, np.complex64):
            for _ in range(3):
                a = np.arange(6).astype(dt).reshape(2, 3)
                t = fg.from_dlpack(a)
                a[0, 0] = 5
                assert t.dtype == np.dtype(dt), (t.dtype, dt)
                assert t.tolist() == a.tolist()
                del t, a
                gc.collect()
        print(fg.from_dlpack(np.ones((2, 2))).sum().item())
        """,
        ["4.0"],
    )


# A DLPack producer written with ctypes: `make(...)` returns a capsule whose deleter
# counts its calls in DELETES[key]; the capsule's destructor calls the deleter only
# while the capsule is unused, as every producer's does.
PRODUCER = r"""
import ctypes, gc
import numpy as np
import ferrograd as fg

c = ctypes
class DLDevice(c.Structure):
    _fields_ = [("device_type", c.c_int32), ("device_id", c.c_int32)]
class DLDataType(c.Structure):
    _fields_ = [("code", c.c_uint8), ("bits", c.c_uint8), ("lanes", c.c_uint16)]
class DLTensor(c.Structure):
    _fields_ = [("data", c.c_void_p), ("device", DLDevice), ("ndim", c.c_int32),
                ("dtype", DLDataType), ("shape", c.POINTER(c.c_int64)),
                ("strides", c.POINTER(c.c_int64)), ("byte_offset", c.c_uint64)]
DELETER = c.CFUNCTYPE(None, c.c_void_p)
class Legacy(c.Structure):
    _fields_ = [("dl_tensor", DLTensor), ("manager_ctx", c.c_void_p), ("deleter", DELETER)]
class Versioned(c.Structure):
    _fields_ = [("version", c.c_uint32 * 2), ("manager_ctx", c.c_void_p),
                ("deleter", DELETER), ("flags", c.c_uint64), ("dl_tensor", DLTensor)]

api = c.pythonapi
DESTRUCTOR = c.CFUNCTYPE(None, c.c_void_p)
api.PyCapsule_New.restype = c.py_object
api.PyCapsule_New.argtypes = [c.c_void_p, c.c_char_p, DESTRUCTOR]
api.PyCapsule_IsValid.restype = c.c_int
api.PyCapsule_IsValid.argtypes = [c.c_void_p, c.c_char_p]
api.PyCapsule_GetPointer.restype = c.c_void_p
api.PyCapsule_GetPointer.argtypes = [c.c_void_p, c.c_char_p]
api.PyCapsule_GetName.restype = c.c_char_p
api.PyCapsule_GetName.argtypes = [c.c_void_p]

NAMES = {False: c.create_string_buffer(b"dltensor"), True: c.create_string_buffer(b"dltensor_versioned")}
DELETES = {}
KEEP = []  # structs, shapes and buffers stay alive: a second deleter call is counted, not a crash

@DELETER
def deleter(addr):
    DELETES[addr] = DELETES.get(addr, 0) + 1

@DESTRUCTOR
def destructor(cap):
    for versioned, name in NAMES.items():
        if api.PyCapsule_IsValid(cap, name):
            deleter(api.PyCapsule_GetPointer(cap, name))

def make(arr=None, *, shape=None, strides=None, code=2, bits=64, lanes=1, device=1,
         byte_offset=0, data=None, ndim=None, versioned=False, version=(1, 0), flags=0):
    if arr is not None:
        KEEP.append(arr)
        data = arr.ctypes.data if data is None else data
        shape = arr.shape if shape is None else shape
    shape_arr = (c.c_int64 * max(len(shape), 1))(*shape)
    KEEP.append(shape_arr)
    strides_ptr = None
    if strides is not None:
        strides_arr = (c.c_int64 * max(len(strides), 1))(*strides)
        KEEP.append(strides_arr)
        strides_ptr = c.cast(strides_arr, c.POINTER(c.c_int64))
    dl = DLTensor(data, DLDevice(device, 0), len(shape) if ndim is None else ndim,
                  DLDataType(code, bits, lanes), c.cast(shape_arr, c.POINTER(c.c_int64)),
                  strides_ptr, byte_offset)
    if versioned:
        m = Versioned((c.c_uint32 * 2)(*version), None, deleter, flags, dl)
    else:
        m = Legacy(dl, None, deleter)
    KEEP.append(m)
    key = c.addressof(m)
    DELETES[key] = 0
    return api.PyCapsule_New(key, NAMES[versioned], destructor), key

def name(cap):
    return api.PyCapsule_GetName(id(cap)).decode()
"""


def producer_case(body):
    return PRODUCER + textwrap.dedent(body)


@pytest.mark.parametrize("versioned", [False, True])
def test_accepted_capsule_is_deleted_once_when_the_tensor_goes(versioned):
    assert_child_ok(
        producer_case(
            f"""
            a = np.arange(6.0).reshape(2, 3)
            cap, key = make(a, versioned={versioned})
            t = fg.from_dlpack(cap)
            print(t.tolist(), name(cap))
            a[0, 0] = 9.0  # zero-copy: the tensor sees the producer's memory
            print(t[0, 0].item(), DELETES[key])
            v = t[1]  # a view keeps the storage, and so the producer's memory
            del t, cap
            gc.collect()
            print(v.tolist(), DELETES[key])
            del v
            gc.collect()
            print(DELETES[key])
            """
        ),
        [
            "[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]] " + ("used_dltensor_versioned" if versioned else "used_dltensor"),
            "9.0 0",
            "[3.0, 4.0, 5.0] 0",
            "1",
        ],
    )


# (make() keyword arguments, expected exception, a word its message must contain)
REJECTED = [
    (dict(code=0, bits=128), "TypeError", "int128"),
    (dict(code=2, bits=8), "TypeError", "float8"),
    (dict(code=4, bits=32), "TypeError", "type code 4"),
    (dict(code=2, bits=32, lanes=4), "TypeError", "lanes"),
    (dict(device=2), "BufferError", "CPU"),
    (dict(byte_offset=3), "ValueError", "aligned"),
    (dict(ndim=-1), "ValueError", "ndim"),
    (dict(shape=(2, -3)), "ValueError", "negative"),
    (dict(strides=(2**62, 1)), "ValueError", "overflow"),
    (dict(strides=(-(2**62), 1)), "ValueError", "overflow"),
    (dict(data=0), "ValueError", "null"),
    (dict(versioned=True, version=(2, 0)), "BufferError", "version"),
]


@pytest.mark.parametrize("kwargs,exc,word", REJECTED, ids=[f"{e}-{w}" for _, e, w in REJECTED])
def test_rejected_capsule_stays_the_producers(kwargs, exc, word):
    # A rejection leaves the capsule unused: the producer's destructor deletes it,
    # exactly once, when the capsule goes; ferrograd never calls the deleter.
    rc, out, err = run_child(
        producer_case(
            f"""
            a = np.arange(12.0).reshape(4, 3)
            cap, key = make(a, **{kwargs!r})
            before = name(cap)
            try:
                fg.from_dlpack(cap)
            except Exception as e:
                print(type(e).__name__, {word!r} in str(e))
                print("message:", e)
            else:
                print("accepted")
                print()
            print(name(cap) == before, DELETES[key])
            del cap
            gc.collect()
            print(DELETES[key])
            # The process is still sound: a normal import works.
            print(fg.from_dlpack(np.ones((2, 2))).sum().item())
            """
        )
    )
    assert rc == 0 and err == "", f"rc={rc}\nstdout:\n{out}\nstderr:\n{err}"
    lines = out.strip().splitlines()
    assert lines[0] == f"{exc} True", out
    assert lines[2:] == ["True 0", "1", "4.0"], out


def test_negative_strides_view_the_right_elements():
    # data points at the last element and walks back: a[::-1, ::-1] without a copy.
    assert_child_ok(
        producer_case(
            """
            a = np.arange(6.0).reshape(2, 3)
            cap, key = make(a, data=a.ctypes.data + 5 * 8, strides=(-3, -1))
            t = fg.from_dlpack(cap)
            print(t.tolist() == a[::-1, ::-1].tolist(), t.shape)
            del t, cap
            gc.collect()
            print(DELETES[key])
            """
        ),
        ["True (2, 3)", "1"],
    )


def test_broadcast_and_offset_strides():
    assert_child_ok(
        producer_case(
            """
            a = np.arange(8.0)
            # rows of a[2:5] repeated 4 times (stride 0), reached through byte_offset
            cap, key = make(a, shape=(4, 3), strides=(0, 1), byte_offset=16)
            t = fg.from_dlpack(cap)
            print(t.tolist() == [[2.0, 3.0, 4.0]] * 4)
            del t, cap
            gc.collect()
            print(DELETES[key])
            """
        ),
        ["True", "1"],
    )


@pytest.mark.parametrize("versioned", [False, True])
def test_null_data_with_zero_size_is_accepted(versioned):
    assert_child_ok(
        producer_case(
            f"""
            cap, key = make(shape=(2, 0), data=None, versioned={versioned})
            t = fg.from_dlpack(cap)
            print(t.shape, t.numel() if hasattr(t, "numel") else 0)
            del t, cap
            gc.collect()
            print(DELETES[key])
            """
        ),
        ["(2, 0) 0", "1"],
    )


def test_read_only_versioned_capsule_is_copied_and_released_at_once():
    assert_child_ok(
        producer_case(
            """
            a = np.arange(3.0)
            cap, key = make(a, versioned=True, flags=1)
            t = fg.from_dlpack(cap)
            # the copy owns its memory: the producer's tensor was released already
            print(DELETES[key])
            a[0] = 7.0
            print(t.tolist())
            del cap
            gc.collect()
            print(DELETES[key])
            """
        ),
        ["1", "[0.0, 1.0, 2.0]", "1"],
    )


def test_a_used_capsule_is_refused_and_not_deleted_again():
    assert_child_ok(
        producer_case(
            """
            a = np.arange(3.0)
            cap, key = make(a)
            t = fg.from_dlpack(cap)
            try:
                fg.from_dlpack(cap)
            except TypeError as e:
                print("TypeError", "unused" in str(e))
            del cap
            gc.collect()
            print(DELETES[key])
            del t
            gc.collect()
            print(DELETES[key])
            """
        ),
        ["TypeError True", "0", "1"],
    )


def test_exported_capsules_free_cleanly_used_or_not():
    assert_child_ok(
        """
        import gc
        import numpy as np
        import ferrograd as fg
        x = fg.arange(6.0).reshape(2, 3)
        for _ in range(100):
            cap = x.__dlpack__()       # never consumed: its destructor frees it
            del cap
            n = np.from_dlpack(x.T)     # consumed: NumPy calls the deleter later
            del n
            u = fg.from_dlpack(x[:, ::2])
            del u
        gc.collect()
        print(x.sum().item())
        """,
        ["15.0"],
    )


# ---------------------------------------------------------------------------
# Huge allocations
# ---------------------------------------------------------------------------

HUGE = [
    ("one_hot", "fg.one_hot(fg.tensor([0, 1]), 2**40)"),
    ("getitem", "fg.tensor([1.0, 2.0])[fg.broadcast_to(fg.tensor([0]), (2**40,))]"),
    ("take", "fg.take(fg.tensor([1.0, 2.0]), fg.broadcast_to(fg.tensor([0]), (2**40,)))"),
    ("take_axis", "fg.take(fg.ones((2, 2)), fg.broadcast_to(fg.tensor([0]), (2**40,)), axis=1)"),
    ("setitem", "fg.zeros(2).__setitem__(fg.broadcast_to(fg.tensor([0]), (2**40,)), 1.0)"),
    ("nonzero", "fg.nonzero(fg.broadcast_to(fg.tensor([1]), (2**40,)))"),
    ("nonzero_2d", "fg.nonzero(fg.broadcast_to(fg.tensor([[1, 0, 2]]), (2**40, 3)))"),
    ("mask", "fg.broadcast_to(fg.ones(1), (2**38, 3))[fg.broadcast_to(fg.tensor(True), (2**38, 3))]"),
    ("zeros", "fg.zeros((10**12,))"),
    ("elementwise", "fg.broadcast_to(fg.ones(1), (2**40,)).exp()"),
    ("contiguous", "fg.broadcast_to(fg.ones(1), (2**40,)).contiguous()"),
    # Reductions whose output is huge: the accumulators are sized by it.
    ("sum", "fg.broadcast_to(fg.ones(1), (2**40, 2)).sum(axis=1)"),
    ("sum_columns", "fg.broadcast_to(fg.ones((1, 1, 8)), (2, 2**37, 8)).sum(axis=0)"),
    ("sum_int", "fg.broadcast_to(fg.tensor([1]), (2**40, 2)).sum(axis=1)"),
    ("mean", "fg.broadcast_to(fg.ones(1), (2**40, 2)).mean(axis=1)"),
    ("var", "fg.broadcast_to(fg.ones(1), (2**40, 2)).var(axis=1)"),
    ("std", "fg.std(fg.broadcast_to(fg.ones(1), (2**40, 2)), axis=1)"),
    ("prod", "fg.broadcast_to(fg.ones(1), (2**40, 2)).prod(axis=1)"),
    ("max", "fg.broadcast_to(fg.ones(1), (2**40, 2)).max(axis=1)"),
    ("min_columns", "fg.broadcast_to(fg.ones((1, 1, 8)), (2, 2**37, 8)).min(axis=0)"),
    ("argmax", "fg.broadcast_to(fg.ones(1), (2**40, 2)).argmax(axis=1)"),
    ("argmin", "fg.argmin(fg.broadcast_to(fg.ones(1), (2, 2**40)), axis=0)"),
    ("logsumexp", "fg.broadcast_to(fg.ones(1), (2**40, 2)).logsumexp(axis=1)"),
    ("logsumexp_empty", "fg.broadcast_to(fg.ones(1), (2**40, 0)).logsumexp(axis=1)"),
    ("all", "fg.broadcast_to(fg.ones(1), (2**40, 2)).all(axis=1)"),
    ("any", "fg.broadcast_to(fg.tensor([0]), (2**40, 2)).any(axis=1)"),
    ("sum_backward", "x = fg.ones(1, requires_grad=True); "
                     "fg.broadcast_to(x, (2**40, 2)).sum(axis=1).sum().backward()"),
]


@pytest.mark.parametrize("expr", [e for _, e in HUGE], ids=[n for n, _ in HUGE])
def test_huge_allocation_is_a_silent_memory_error(expr):
    # Old main: the first five aborted the process (or ran until the OOM killer), and
    # the others printed Rust panic text on stderr before the MemoryError; so did every
    # reduction (its output was a `vec!` and the tensor made from it was unwrapped).
    rc, out, err = run_child(
        f"""
        import ferrograd as fg
        try:
            {expr}
        except MemoryError as e:
            print("MemoryError", "bytes" in str(e))
        except BaseException as e:
            print("wrong", type(e).__name__, e)
        else:
            print("no error")
        # Nothing was left half-made: ordinary work goes on.
        print(fg.ones((3, 4)).sum().item())
        """,
        timeout=120,
    )
    assert rc == 0, f"child exited with {rc}\nstdout:\n{out}\nstderr:\n{err}"
    assert err == "", f"stderr must be empty, got:\n{err}"
    assert out.strip().splitlines() == ["MemoryError True", "12.0"], out


def test_nonzero_of_broadcast_view_counts_without_walking_every_copy():
    # The count of a broadcast view comes from its data times the repeats; the result
    # itself must still match NumPy.
    import numpy as np

    import ferrograd as fg

    base = np.array([[1, 0, 2]])
    x = fg.broadcast_to(fg.tensor(base), (4, 3))
    got = [c.tolist() for c in fg.nonzero(x)]
    want = [c.tolist() for c in np.nonzero(np.broadcast_to(base, (4, 3)))]
    assert got == want
    z = fg.nonzero(fg.broadcast_to(fg.tensor([0.0]), (2**40,)))
    assert [c.shape for c in z] == [(0,)]
