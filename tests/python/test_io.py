"""fg.save / fg.load: the safetensors round trip, order, atomic writes, bad files."""

import json
import os
import struct
import subprocess
import sys
from collections import OrderedDict

import numpy as np
import pytest

import ferrograd as fg
from ferrograd import nn


def test_round_trip_all_dtypes_exactly(tmp_path):
    rng = np.random.default_rng(0)
    sd = OrderedDict(
        [
            ("zeta.f32", fg.tensor(rng.normal(size=(3, 4)).astype(np.float32))),
            ("alpha.f64", fg.tensor(rng.normal(size=(5,)))),
            ("mid.i64", fg.tensor(np.array([[-(2**62), 0, 2**62 + 7]], dtype=np.int64))),
            ("b.bool", fg.tensor(np.array([True, False, True, True]))),
            ("scalar", fg.tensor(3.5)),
            ("empty", fg.zeros((0, 3))),
            ("special", fg.tensor([np.nan, np.inf, -np.inf, -0.0, 1e-45], dtype=fg.float32)),
        ]
    )
    path = tmp_path / "ckpt.safetensors"
    fg.save(sd, path)
    back = fg.load(path)
    assert isinstance(back, OrderedDict)
    assert list(back) == list(sd)  # file order, not sorted
    for k, v in sd.items():
        b = back[k]
        assert type(b) is fg.Tensor
        assert b.dtype == v.dtype and b.shape == v.shape, k
        np.testing.assert_array_equal(
            np.atleast_1d(b.numpy()).view(np.uint8), np.atleast_1d(v.numpy()).view(np.uint8)
        )
    assert not back["alpha.f64"].requires_grad


def test_model_state_dict_round_trip(tmp_path):
    fg.manual_seed(0)
    src = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    dst = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    fg.save(src.state_dict(), str(tmp_path / "m.safetensors"))  # str paths work too
    dst.load_state_dict(fg.load(str(tmp_path / "m.safetensors")))
    x = fg.randn((2, 3))
    np.testing.assert_array_equal(src(x).numpy(), dst(x).numpy())


def test_non_contiguous_and_parameter_values(tmp_path):
    base = fg.tensor(np.arange(12, dtype=np.float64).reshape(3, 4))
    p = nn.Parameter(fg.ones((2,)))
    fg.save({"t": base.T, "s": base[:, ::2], "p": p}, tmp_path / "v.safetensors")
    back = fg.load(tmp_path / "v.safetensors")
    np.testing.assert_array_equal(back["t"].numpy(), base.numpy().T)
    np.testing.assert_array_equal(back["s"].numpy(), base.numpy()[:, ::2])
    assert type(back["p"]) is fg.Tensor and not back["p"].requires_grad


def test_file_is_standard_safetensors(tmp_path):
    path = tmp_path / "x.safetensors"
    fg.save({"b": fg.tensor([1.0, 2.0]), "a": fg.tensor([3], dtype=fg.int64)}, path)
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    assert header["b"]["dtype"] == "F32" and header["b"]["shape"] == [2]
    assert header["a"]["dtype"] == "I64"
    assert json.loads(header["__metadata__"]["__order__"]) == ["b", "a"]
    start, end = header["b"]["data_offsets"]
    np.testing.assert_array_equal(
        np.frombuffer(raw[8 + n + start : 8 + n + end], dtype="<f4"), [1.0, 2.0]
    )


def _write_safetensors(path, tensors, metadata=None, dtype_code=None):
    """A minimal independent safetensors writer (NumPy arrays, little endian);
    ``dtype_code`` overrides the dtype written for every tensor."""
    header, blobs, offset = {}, [], 0
    codes = {np.dtype("<f4"): "F32", np.dtype("<f8"): "F64", np.dtype("<i8"): "I64",
             np.dtype("bool"): "BOOL", np.dtype("<f2"): "F16"}
    for name, a in tensors.items():
        data = np.ascontiguousarray(a).tobytes()
        header[name] = {"dtype": dtype_code or codes[a.dtype], "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata is not None:
        header["__metadata__"] = metadata
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    path.write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def test_loads_files_from_other_writers_in_data_order(tmp_path):
    path = tmp_path / "other.safetensors"
    _write_safetensors(path, {"z": np.arange(3, dtype="<f8"), "a": np.array([True, False])})
    back = fg.load(path)
    assert list(back) == ["z", "a"]
    np.testing.assert_array_equal(back["z"].numpy(), [0.0, 1.0, 2.0])
    assert back["a"].dtype == fg.bool


def test_unsupported_dtype_in_file(tmp_path):
    path = tmp_path / "fp8.safetensors"
    _write_safetensors(path, {"h": np.array([True, False])}, dtype_code="F8_E4M3")
    with pytest.raises(ValueError, match="F8_E4M3") as e:
        fg.load(path)
    assert "fp8.safetensors" in str(e.value)


def test_invalid_bool_bytes(tmp_path):
    path = tmp_path / "bool.safetensors"
    _write_safetensors(path, {"b": np.array([True, False])})
    raw = bytearray(path.read_bytes())
    raw[-1] = 7
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="bool"):
        fg.load(path)


@pytest.mark.parametrize("order, message", [
    (["a", "a"], "names 'a' more than once"),  # used to load 'a' twice and drop 'b'
    (["b", "a", "a"], "names 'a' more than once"),
    (["a", "c"], "names 'c', which the file does not hold"),
    (["a"], "missing from its __order__ metadata: 'b'"),
    ([], "missing from its __order__ metadata: 'a', 'b'"),
    ({"a": 0}, "bad __order__ metadata"),
])
def test_order_metadata_must_name_each_tensor_once(tmp_path, order, message):
    path = tmp_path / "order.safetensors"
    tensors = {"a": np.zeros(2, "<f4"), "b": np.ones(3, "<f4")}
    _write_safetensors(path, tensors, {"__order__": json.dumps(order)})
    with pytest.raises(ValueError, match="order.safetensors") as e:
        fg.load(path)
    assert message in str(e.value)
    _write_safetensors(path, tensors, {"__order__": json.dumps(["b", "a"])})
    assert list(fg.load(path)) == ["b", "a"]


def _listing(d):
    return sorted(os.listdir(d))


def test_atomic_write_leaves_no_temp_files(tmp_path):
    path = tmp_path / "a.safetensors"
    for i in range(3):
        fg.save({"w": fg.full((4,), float(i))}, path)
    assert _listing(tmp_path) == ["a.safetensors"]
    assert fg.load(path)["w"].numpy().tolist() == [2.0] * 4


def test_failing_save_keeps_the_existing_file(tmp_path):
    path = tmp_path / "keep.safetensors"
    fg.save({"w": fg.ones((3,))}, path)
    before = path.read_bytes()
    # Type errors are raised before anything is written.
    with pytest.raises(TypeError):
        fg.save({"w": fg.zeros((3,)), "bad": 1.0}, path)
    assert path.read_bytes() == before
    # An error while writing (the target is a directory: the rename fails).
    d = tmp_path / "dir.safetensors"
    d.mkdir()
    with pytest.raises(OSError):
        fg.save({"w": fg.zeros((3,))}, d)
    assert d.is_dir()
    assert _listing(tmp_path) == ["dir.safetensors", "keep.safetensors"]
    with pytest.raises(FileNotFoundError):
        fg.save({"w": fg.zeros((3,))}, tmp_path / "no" / "such" / "dir.safetensors")


# Saves over argv[1] with a file size limit far below the checkpoint's size, so that the
# write itself fails half-way (EFBIG); prints the error.
_FSIZE_CHILD = """
import resource, signal, sys
import ferrograd as fg
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
try:
    fg.save({"w": fg.zeros((100_000,))}, sys.argv[1])
except OSError as e:
    print("OSError:", e)
"""


def test_write_error_keeps_the_same_target_and_removes_the_temporary(tmp_path):
    path = tmp_path / "keep.safetensors"
    fg.save({"w": fg.ones((3,))}, path)
    before = path.read_bytes()
    result = subprocess.run([sys.executable, "-c", _FSIZE_CHILD, str(path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "OSError:" in result.stdout and "keep.safetensors" in result.stdout, result.stdout
    assert path.read_bytes() == before  # the save that failed targeted this very file
    assert _listing(tmp_path) == ["keep.safetensors"]


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.safetensors"):
        fg.load(tmp_path / "nope.safetensors")


@pytest.mark.parametrize("cut", [1, 7, 8, 20, -1, -5])
def test_truncated_file(tmp_path, cut):
    path = tmp_path / "t.safetensors"
    fg.save({"w": fg.ones((16,)), "b": fg.zeros((4,), dtype=fg.int64)}, path)
    raw = path.read_bytes()
    n = cut if cut > 0 else len(raw) + cut
    path.write_bytes(raw[:n])
    with pytest.raises(ValueError, match="t.safetensors"):
        fg.load(path)


@pytest.mark.parametrize("content", [b"", b"hello world, not a checkpoint", b"\xff" * 64,
                                     struct.pack("<Q", 10) + b"{not json}"])
def test_garbage_file(tmp_path, content):
    path = tmp_path / "junk.bin"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="junk.bin"):
        fg.load(path)


def test_type_errors():
    with pytest.raises(TypeError, match="dict of str -> Tensor"):
        fg.save([fg.ones((1,))], "x.safetensors")
    with pytest.raises(TypeError, match="keys must be str"):
        fg.save({1: fg.ones((1,))}, "x.safetensors")
    with pytest.raises(TypeError, match="'w' is a ndarray"):
        fg.save({"w": np.ones(2)}, "x.safetensors")
    assert not os.path.exists("x.safetensors")
