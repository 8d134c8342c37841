"""fg.data: datasets, DataLoader, IDX/MNIST reading, the embedded subset, transforms."""

import gzip
import os

import numpy as np
import pytest

import ferrograd as fg
from ferrograd.data import (MNIST, DataLoader, Dataset, Subset, TensorDataset,
                            check_batchnorm, load_default)
from ferrograd.data import transforms as T
from ferrograd.data.idx import read_idx, write_idx


def _np(t):
    return np.asarray(t)


# ---------------------------------------------------------------- DataLoader

def _xy(n=10):
    x = fg.tensor(np.arange(n * 3, dtype=np.float32).reshape(n, 3))
    y = fg.tensor(np.arange(n, dtype=np.int64))
    return TensorDataset(x, y)


def test_tensordataset_item_and_len():
    ds = _xy(5)
    assert len(ds) == 5
    x, y = ds[2]
    np.testing.assert_array_equal(_np(x), [6, 7, 8])
    assert int(_np(y)) == 2


def test_tensordataset_of_numpy_arrays_gives_tensors():
    ds = TensorDataset(np.ones((6, 2), np.float32), np.arange(6))
    x, y = next(iter(DataLoader(ds, batch_size=4)))
    assert isinstance(x, fg.Tensor) and isinstance(y, fg.Tensor) and tuple(x.shape) == (4, 2)
    np.testing.assert_array_equal(_np(y), [0, 1, 2, 3])


def test_tensordataset_size_mismatch():
    with pytest.raises(ValueError, match="size mismatch"):
        TensorDataset(fg.zeros((3, 2)), fg.zeros((4,)))


def test_loader_batches_in_order():
    batches = list(DataLoader(_xy(10), batch_size=4))
    assert [tuple(b[0].shape) for b in batches] == [(4, 3), (4, 3), (2, 3)]
    np.testing.assert_array_equal(np.concatenate([_np(b[1]) for b in batches]), np.arange(10))
    assert batches[0][1].dtype == fg.int64 and batches[0][0].dtype == fg.float32


def test_loader_len_and_drop_last():
    assert len(DataLoader(_xy(10), batch_size=4)) == 3
    loader = DataLoader(_xy(10), batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert [b[0].shape[0] for b in loader] == [4, 4]
    assert DataLoader(_xy(10), batch_size=4).last_batch_size == 2
    assert DataLoader(_xy(8), batch_size=4).last_batch_size == 4


def test_loader_rejects_bad_batch_size():
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="batch_size"):
            DataLoader(_xy(), batch_size=bad)


def _epoch_labels(loader):
    return np.concatenate([_np(y) for _, y in loader])


def test_shuffle_is_a_permutation_reshuffled_each_epoch():
    loader = DataLoader(_xy(50), batch_size=8, shuffle=True, seed=1)
    e1, e2 = _epoch_labels(loader), _epoch_labels(loader)
    assert sorted(e1) == list(range(50)) and sorted(e2) == list(range(50))
    assert not np.array_equal(e1, e2)
    assert not np.array_equal(e1, np.arange(50))


def test_shuffle_deterministic_per_seed():
    a = DataLoader(_xy(50), batch_size=8, shuffle=True, seed=7)
    b = DataLoader(_xy(50), batch_size=8, shuffle=True, seed=7)
    c = DataLoader(_xy(50), batch_size=8, shuffle=True, seed=8)
    assert np.array_equal(_epoch_labels(a), _epoch_labels(b))
    assert np.array_equal(_epoch_labels(a), _epoch_labels(b))  # second epochs match too
    assert not np.array_equal(_epoch_labels(DataLoader(_xy(50), 8, True, seed=7)), _epoch_labels(c))


def test_seed_none_follows_fg_manual_seed():
    fg.manual_seed(3)
    a = _epoch_labels(DataLoader(_xy(30), batch_size=5, shuffle=True))
    fg.manual_seed(3)
    b = _epoch_labels(DataLoader(_xy(30), batch_size=5, shuffle=True))
    assert np.array_equal(a, b)


def test_generic_dataset_is_stacked():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.array([i, i * i], dtype=np.float32), i

    (x, y), = list(DataLoader(Squares(), batch_size=5))
    assert tuple(x.shape) == (5, 2)
    np.testing.assert_array_equal(_np(x)[:, 1], [0, 1, 4, 9, 16])
    np.testing.assert_array_equal(_np(y), np.arange(5))


def test_subset_batches():
    sub = Subset(_xy(10), [9, 3, 5])
    (x, y), = list(DataLoader(sub, batch_size=3))
    np.testing.assert_array_equal(_np(y), [9, 3, 5])


def test_check_batchnorm():
    bn = fg.nn.Sequential(fg.nn.Linear(3, 4), fg.nn.BatchNorm1d(4))
    with pytest.raises(ValueError, match="batch size|batch_size"):
        check_batchnorm(bn, DataLoader(_xy(10), batch_size=1))
    with pytest.warns(UserWarning, match="drop_last"):
        check_batchnorm(bn, DataLoader(_xy(9), batch_size=4))
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_batchnorm(bn, DataLoader(_xy(9), batch_size=4, drop_last=True))
        check_batchnorm(fg.nn.Linear(3, 4), DataLoader(_xy(9), batch_size=4))


# ---------------------------------------------------------------- IDX / MNIST

def _write_mnist(root, n=20, compress=True, split="train"):
    rng = np.random.default_rng(0)
    prefix = "train" if split == "train" else "t10k"
    write_idx(root / f"{prefix}-images-idx3-ubyte{'.gz' if compress else ''}",
              rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), compress)
    write_idx(root / f"{prefix}-labels-idx1-ubyte{'.gz' if compress else ''}",
              np.arange(n, dtype=np.uint8) % 10, compress)


@pytest.mark.parametrize("compress", [True, False])
def test_idx_roundtrip_and_mnist(tmp_path, compress):
    _write_mnist(tmp_path, compress=compress)
    ds = MNIST(tmp_path)
    assert len(ds) == 20
    x, y = ds[3]
    assert tuple(x.shape) == (1, 28, 28) and x.dtype == fg.float32
    assert int(_np(y)) == 3
    assert 0.0 <= _np(x).min() and _np(x).max() <= 1.0
    np.testing.assert_allclose(_np(x)[0], ds.images[3] / 255.0, rtol=1e-6)


def test_idx_truncated_file(tmp_path):
    _write_mnist(tmp_path, compress=False)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.*truncated"):
        MNIST(tmp_path)


def test_idx_truncated_gzip(tmp_path):
    _write_mnist(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.gz"):
        MNIST(tmp_path)


def test_idx_bad_magic(tmp_path):
    _write_mnist(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"PK\x03\x04 junk"))
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte.gz.*magic"):
        MNIST(tmp_path)


def test_idx_wrong_dimensions(tmp_path):
    _write_mnist(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros((20, 2), np.uint8))
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte.gz.*1-D"):
        MNIST(tmp_path)


def test_idx_length_mismatch(tmp_path):
    _write_mnist(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(19, np.uint8))
    with pytest.raises(ValueError, match="20 images.*19 labels"):
        MNIST(tmp_path)


def test_mnist_missing_dir_and_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist.*download_mnist"):
        MNIST(tmp_path / "nope")
    _write_mnist(tmp_path)
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte.*download_mnist"):
        MNIST(tmp_path, train=False)


def test_read_idx_standalone(tmp_path):
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a.gz", arr)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.gz", ndim=3), arr)


def test_embedded_default_dataset():
    train, test = load_default()
    assert len(train) == 12000 and len(test) == 2000
    assert train.images.dtype == np.uint8 and train.images.shape == (12000, 28, 28)
    assert np.bincount(train.targets).tolist() == [1200] * 10
    assert np.bincount(test.targets).tolist() == [200] * 10
    x, y = next(iter(DataLoader(train, batch_size=64)))
    assert tuple(x.shape) == (64, 1, 28, 28) and x.dtype == fg.float32 and y.dtype == fg.int64
    # Real digits: MNIST's mean pixel is about 0.13, and most pixels are background.
    assert 0.10 < train.images.mean() / 255 < 0.16
    assert os.path.commonpath([train.root, os.path.dirname(fg.__file__)]) == os.path.dirname(fg.__file__)


def test_embedded_dataset_with_transform():
    train, _ = load_default(transform=T.Normalize(0.1307, 0.3081))
    x, _ = train.get_batch(np.arange(256))
    assert abs(float(_np(x).mean())) < 0.3


# ---------------------------------------------------------------- transforms

def _images(n=64, shape=(1, 28, 28), seed=0):
    return np.random.default_rng(seed).random((n,) + shape).astype(np.float32)


def test_random_crop_shapes_and_shift():
    x = _images()
    out = T.RandomCrop(28, padding=4, seed=0)(x)
    assert out.shape == x.shape and out.dtype == np.float32
    # Every output is a shifted copy: its non-padded part matches the input somewhere.
    assert not np.array_equal(out, x)
    out3 = T.RandomCrop((20, 24), seed=0)(x[:, 0])
    assert out3.shape == (64, 20, 24)
    with pytest.raises(ValueError, match="larger"):
        T.RandomCrop(40)(x)


def test_random_crop_no_padding_full_size_is_identity():
    x = _images()
    np.testing.assert_array_equal(T.RandomCrop(28, seed=1)(x), x)


def test_random_horizontal_flip():
    x = _images(200)
    out = T.RandomHorizontalFlip(p=0.5, seed=0)(x)
    flipped = np.array([np.array_equal(o, i[..., ::-1]) for o, i in zip(out, x)])
    kept = np.array([np.array_equal(o, i) for o, i in zip(out, x)])
    assert np.all(flipped | kept) and 60 < flipped.sum() < 140
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0, seed=0)(x), x[..., ::-1])
    assert "6" in T.RandomHorizontalFlip.__doc__


def test_random_affine_identity_and_rotation():
    x = _images(8)
    np.testing.assert_allclose(T.RandomAffine(0, seed=0)(x), x, atol=1e-6)
    # A 90-degree rotation of a square image is exact: force the angle draw to 90.
    t = T.RandomAffine(90, seed=0)

    class NinetyDegrees:
        def uniform(self, low, high, size):
            return np.full(size, 90.0 if high == 90 else 0.0)

    t.rng = NinetyDegrees()
    out = t(x)
    np.testing.assert_allclose(out, np.rot90(x, k=-1, axes=(2, 3)), atol=1e-5)


def test_random_affine_translation_moves_mass():
    x = np.zeros((4, 28, 28), np.float32)
    x[:, 10:18, 10:18] = 1.0
    out = T.RandomAffine(10, translate=(0.1, 0.1), seed=0)(x)
    assert out.shape == x.shape
    assert np.allclose(out.sum(axis=(1, 2)), 64, rtol=0.1)  # nothing falls off the edge
    assert not np.allclose(out, x)


def test_gaussian_noise_statistics():
    x = np.zeros((100, 28, 28), np.float32)
    out = T.GaussianNoise(0.5, seed=0)(x)
    assert abs(out.mean()) < 0.01 and abs(out.std() - 0.5) < 0.01
    with pytest.raises(ValueError):
        T.GaussianNoise(-1)


def test_normalize_and_compose_on_tensors():
    x = _images(32, (3, 8, 8))
    mean, std = x.mean(axis=(0, 2, 3)), x.std(axis=(0, 2, 3))
    out = T.Compose([T.Normalize(mean, std)])(fg.tensor(x))
    assert isinstance(out, fg.Tensor)
    o = _np(out)
    np.testing.assert_allclose(o.mean(axis=(0, 2, 3)), 0, atol=1e-4)
    np.testing.assert_allclose(o.std(axis=(0, 2, 3)), 1, atol=1e-3)
    with pytest.raises(ValueError, match="zero"):
        T.Normalize(0.0, 0.0)


def test_transforms_seeded():
    x = _images(16)
    a = T.RandomAffine(15, (0.1, 0.1), seed=3)(x)
    b = T.RandomAffine(15, (0.1, 0.1), seed=3)(x)
    np.testing.assert_array_equal(a, b)


def test_mixup_lecture_example():
    # Lecture 6: cat [1, 0] and dog [0, 1] mixed at lambda = 0.7 give [0.7, 0.3].
    x = np.stack([np.ones((2, 2), np.float32), np.zeros((2, 2), np.float32)])
    y = np.array([0, 1])
    xm, ym = T.Mixup(0.2, seed=0).mix(x, y, 2, lam=0.7, perm=np.array([1, 0]))
    np.testing.assert_allclose(ym[0], [0.7, 0.3], rtol=1e-6)
    np.testing.assert_allclose(ym[1], [0.3, 0.7], rtol=1e-6)
    np.testing.assert_allclose(xm[0], 0.7, rtol=1e-6)


def test_mixup_soft_targets():
    x, y = fg.tensor(_images(32)), fg.tensor(np.arange(32) % 10)
    mix = T.Mixup(0.4, seed=1)
    xm, ym = mix(x, y, 10)
    assert isinstance(xm, fg.Tensor) and tuple(ym.shape) == (32, 10)
    s = _np(ym)
    np.testing.assert_allclose(s.sum(axis=1), 1.0, rtol=1e-6)
    assert 0.0 < mix.last_lam < 1.0
    assert np.all(s.max(axis=1) >= max(mix.last_lam, 1 - mix.last_lam) - 1e-6)


def test_mixup_lambda_distribution():
    mix = T.Mixup(0.2, seed=0)
    lams = []
    for _ in range(400):
        mix(np.zeros((4, 2)), np.zeros(4, int), 2)
        lams.append(mix.last_lam)
    # Beta(0.2, 0.2) is U-shaped: most draws near 0 or 1, mean 0.5.
    lams = np.array(lams)
    assert abs(lams.mean() - 0.5) < 0.07
    assert np.mean((lams < 0.1) | (lams > 0.9)) > 0.5


def test_cutmix_lambda_is_the_area_fraction():
    x = np.stack([np.ones((1, 10, 10), np.float32), np.zeros((1, 10, 10), np.float32)])
    y = np.array([3, 5])
    xm, ym = T.CutMix(1.0).paste(x, y, 10, box=(0, 5, 0, 4), perm=np.array([1, 0]))
    assert xm[0].sum() == 100 - 20  # a 5x4 box of zeros pasted into the ones
    np.testing.assert_allclose(ym[0, 3], 0.8) and np.testing.assert_allclose(ym[0, 5], 0.2)


def test_cutmix_random_soft_targets():
    x = _images(16, (28, 28))
    y = np.arange(16) % 10
    cut = T.CutMix(1.0, seed=2)
    for _ in range(20):
        xm, ym = cut(x, y, 10)
        assert xm.shape == x.shape
        np.testing.assert_allclose(ym.sum(axis=1), 1.0, rtol=1e-6)
        y0, y1, x0, x1 = cut.last_box
        assert cut.last_lam == pytest.approx(1 - (y1 - y0) * (x1 - x0) / 784)


def test_one_hot_range_check():
    with pytest.raises(ValueError, match="labels"):
        T.one_hot([0, 10], 10)


def _fake_mirror(tmp_path, monkeypatch):
    """A local 'mirror' (file:// URLs) of small IDX files, with their checksums."""
    import hashlib
    import ferrograd.data.mnist as mnist_mod
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    _write_mnist(mirror, n=12, split="train")
    _write_mnist(mirror, n=6, split="test")
    sums = {name: hashlib.sha256(gzip.decompress((mirror / (name + ".gz")).read_bytes())).hexdigest()
            for name in mnist_mod.SHA256}
    monkeypatch.setattr(mnist_mod, "SHA256", sums)
    return mirror


def test_download_mnist_from_mirrors(tmp_path, monkeypatch):
    from ferrograd.data import download_mnist
    mirror = _fake_mirror(tmp_path, monkeypatch)
    out = tmp_path / "out"
    mirrors = [(tmp_path / "dead").as_uri() + "/", mirror.as_uri() + "/"]  # first one fails
    assert download_mnist(out, mirrors=mirrors) == str(out)
    assert len(MNIST(out)) == 12 and len(MNIST(out, train=False)) == 6
    assert not list(out.glob("*.part"))


def test_download_mnist_rejects_bad_checksum(tmp_path, monkeypatch):
    import ferrograd.data.mnist as mnist_mod
    mirror = _fake_mirror(tmp_path, monkeypatch)
    monkeypatch.setitem(mnist_mod.SHA256, "train-labels-idx1-ubyte", "0" * 64)
    with pytest.raises(RuntimeError, match=r"(?s)train-labels-idx1-ubyte.gz.*sha256 mismatch"):
        mnist_mod.download_mnist(tmp_path / "out", mirrors=[mirror.as_uri() + "/"])
