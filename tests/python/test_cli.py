"""The ``ferrograd`` command line: argument errors, a tiny training run, evaluate.

The training runs need ``fg.optim`` and ``F.cross_entropy``.
"""

import gzip
import json
import subprocess
import sys

import pytest

from ferrograd.cli import main

TINY = ["--limit", "400", "--epochs", "1", "--batch-size", "20", "--width", "32",
        "--no-progress", "--seed", "0"]


def test_unknown_option_exits_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "--no-such-option"])
    assert e.value.code == 2
    assert "unrecognized arguments: --no-such-option" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["train", "--norm", "weird"], "invalid choice"),
    (["train", "--dropout", "1.5"], "must lie in [0, 1)"),
    (["train", "--epochs", "0"], "positive integer"),
    (["train", "--lr", "-1"], "must be > 0"),
    ([], "required"),
])
def test_bad_values_exit_2(capsys, args, message):
    with pytest.raises(SystemExit) as e:
        main(args)
    assert e.value.code == 2
    assert message in capsys.readouterr().err


def test_missing_data_dir_exits_1(tmp_path, capsys):
    code = main(["train", "--data-dir", str(tmp_path / "nowhere"), "--run-dir", str(tmp_path / "r")] + TINY)
    assert code == 1
    err = capsys.readouterr().err
    assert "ferrograd: error:" in err and "does not exist" in err and "download_mnist" in err


def test_corrupt_dataset_file_exits_1(tmp_path, capsys):
    from ferrograd.data import EMBEDDED_DIR
    import shutil
    data = tmp_path / "mnist"
    shutil.copytree(EMBEDDED_DIR, data)
    (data / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x03" + b"\x00" * 20))
    code = main(["train", "--data-dir", str(data), "--run-dir", str(tmp_path / "r")] + TINY)
    assert code == 1
    assert "train-images-idx3-ubyte.gz" in capsys.readouterr().err


def test_batchnorm_with_batch_size_1_exits_1(tmp_path, capsys):
    code = main(["train", "--norm", "batch", "--batch-size", "1", "--limit", "10",
                 "--run-dir", str(tmp_path / "r"), "--no-progress"])
    assert code == 1
    err = capsys.readouterr().err
    assert "BatchNorm" in err and "--batch-size" in err


def test_evaluate_missing_run_exits_1(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path)]) == 1
    assert "config.json" in capsys.readouterr().err


def test_tiny_run_writes_files_and_evaluates(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--run-dir", str(run)] + TINY) == 0
    out = capsys.readouterr().out
    assert "epoch 1/1: train loss" in out and "val loss" in out and "test loss" in out
    for name in ("config.json", "history.json", "curves.png", "model.safetensors"):
        assert (run / name).is_file(), name
    config = json.loads((run / "config.json").read_text())
    assert config["limit"] == 400 and config["norm"] == "layer" and config["lr"] == 1e-3
    history = json.loads((run / "history.json").read_text())
    assert len(history["train_loss"]) == 1 and len(history["val_acc"]) == 1

    assert main(["evaluate", str(run)]) == 0
    out1 = capsys.readouterr().out
    assert main(["evaluate", str(run / "model.safetensors")]) == 0
    out2 = capsys.readouterr().out
    assert "test loss" in out1 and "accuracy" in out1 and out1 == out2
    accuracy = float(out1.split("accuracy")[1].split()[0])
    assert accuracy > 0.2  # 18 small steps already beat chance (0.1) clearly


@pytest.mark.parametrize("extra", [
    ["--norm", "batch", "--norm-position", "pre", "--optimizer", "sgd", "--schedule", "step"],
    ["--norm", "rms", "--mixup", "0.2", "--cutmix", "1.0", "--label-smoothing", "0.1",
     "--schedule", "warmup-cosine", "--epochs", "2"],
    ["--norm", "group", "--augment", "--optimizer", "adam", "--init", "xavier",
     "--early-stopping", "1", "--depth", "3"],
    ["--norm", "none", "--dropout", "0", "--init", "normal", "--init-scale", "2"],
])
def test_option_combinations_run(tmp_path, extra):
    assert main(["train", "--run-dir", str(tmp_path / "r")] + TINY + extra) == 0


def test_python_dash_m(tmp_path):
    result = subprocess.run([sys.executable, "-m", "ferrograd", "train", "--bogus"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "--bogus" in result.stderr
    result = subprocess.run([sys.executable, "-m", "ferrograd", "--help"],
                            capture_output=True, text=True)
    assert result.returncode == 0 and "evaluate" in result.stdout


def test_diverging_run_exits_1(tmp_path, capsys):
    code = main(["train", "--run-dir", str(tmp_path / "r"), "--norm", "none",
                 "--init-scale", "1e30"] + TINY)
    assert code == 1
    err = capsys.readouterr().err
    assert "epoch 1, step 1" in err and "lower learning rate" in err
