"""Hot unsafe paths at small sizes: matmul with views and mixed dtypes, indexing and
index assignment, take / take_along_axis, from_numpy / from_dlpack round trips and
rejected dtypes, backward through views. test_fuzz_sweep runs it in a subprocess; run it
under valgrind as docs/fuzzing.md says."""
import numpy as np
import ferrograd as fg

fg.set_num_threads(1)
rng = np.random.default_rng(0)
a = rng.standard_normal((40, 30)).astype(np.float32)
b = rng.standard_normal((30, 20))
ta, tb = fg.tensor(a), fg.tensor(b)
# matmul with views, mixed dtypes, 1-D and batched operands
for x, y in [(ta, tb), (ta.T.T, tb), (ta[1:], tb[:, ::-1]), (ta[::2], fg.tensor(b.astype(np.float32))), (ta[::-1], tb), (fg.ones((2, 3, 4)), fg.ones((4,))), (fg.ones((4,), dtype=fg.int64), fg.ones((2, 4, 3)))]:
    out = (x @ y).numpy()
    ref = np.asarray(x.numpy(), np.float64) @ np.asarray(y.numpy(), np.float64)
    assert np.allclose(out, ref, rtol=1e-4, atol=1e-4)
# indexing
t = fg.tensor(np.arange(60.0).reshape(3, 4, 5))
for idx in [(slice(None), [0, 2]), ([0, 2], slice(None, None, -1), 1), (t > 30,), (Ellipsis, fg.tensor([4, 0])), (None, 1, slice(1, 3))]:
    n = tuple(np.asarray(i.numpy()) if isinstance(i, fg.Tensor) else i for i in idx)
    assert np.array_equal(t[idx].numpy(), np.arange(60.0).reshape(3, 4, 5)[n])
t[t > 50] = 0.0
t[:, 1] = fg.ones((5,))
assert fg.take(t, fg.tensor([0, -1])).shape == (2,)
assert fg.take_along_axis(t, fg.tensor(np.zeros((3, 4, 2), np.int64)), -1).shape == (3, 4, 2)
# from_numpy / dlpack round trips, including the rejected dtypes (issue 10 item 10)
for arr in [np.ones((3, 4)), np.ones((3, 4), np.float32)[:, ::2], np.arange(6).reshape(2, 3), np.zeros((0, 3)), np.array(True)]:
    s = fg.from_numpy(arr) if arr.flags.writeable and all(st >= 0 for st in arr.strides) else fg.tensor(arr)
    assert np.array_equal(s.numpy(), arr)
    d = fg.from_dlpack(arr)
    assert np.array_equal(np.from_dlpack(d), arr)
for bad in [np.ones((2, 2), np.int8), np.ones(3, np.float16), np.ones(2, np.complex64)]:
    try:
        fg.from_dlpack(bad)
    except TypeError:
        pass
    assert fg.from_dlpack(np.ones((2, 2))).shape == (2, 2)
# reductions, softmax, backward through views
x = fg.tensor(rng.standard_normal((6, 7)), requires_grad=True)
y = (fg.softmax(x[::2, 1:], axis=-1) * fg.take_along_axis(x.T, fg.tensor(np.zeros((7, 1), np.int64)), 1)[:3].T[:, :6].T.T[:, :6].sum()).sum()
y.backward()
assert x.grad.shape == (6, 7)
print("smoke ok")
