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


# --- Errors after parsing: one "ferrograd: error:" line on stderr, exit code 1. ---

def _one_error_line(capsys):
    """The single line main() printed on stderr (and nothing else)."""
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ferrograd: error: "), err
    return lines[0]


def test_run_dir_that_is_a_file(tmp_path, capsys):
    f = tmp_path / "taken"
    f.write_text("x")
    assert main(["train", "--run-dir", str(f)] + TINY) == 1
    line = _one_error_line(capsys)
    assert f"--run-dir {f} is a file" in line
    assert f.read_text() == "x"


def test_run_dir_under_a_file(tmp_path, capsys):
    f = tmp_path / "taken"
    f.write_text("x")
    assert main(["train", "--run-dir", str(f / "a" / "b")] + TINY) == 1
    line = _one_error_line(capsys)
    assert f"lies under {f}, which is a file" in line


def test_run_dir_the_kernel_refuses(capsys):
    # sysfs takes no new directories, even from root (chmod would not stop root).
    run = "/sys/ferrograd-test-run"
    assert main(["train", "--run-dir", run] + TINY) == 1
    line = _one_error_line(capsys)
    assert run in line and ("not permitted" in line or "denied" in line or "Read-only" in line)


def test_full_disk_while_writing_config(tmp_path, capsys):
    # Writes to /dev/full fail with ENOSPC, as on a full disk.
    run = tmp_path / "r"
    run.mkdir()
    (run / "config.json").symlink_to("/dev/full")
    assert main(["train", "--run-dir", str(run)] + TINY) == 1
    line = _one_error_line(capsys)
    assert str(run / "config.json") in line and "No space left on device" in line
    assert "disk is full" in line


def _run_cli(args, limits=()):
    """Runs the command line in a child process, with resource limits set in the child;
    a file size limit raises EFBIG (SIGXFSZ is ignored, and stays ignored across exec)."""
    import resource
    import signal

    def preexec():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        for which, value in limits:
            resource.setrlimit(which, (value, value))

    return subprocess.run([sys.executable, "-m", "ferrograd"] + args, capture_output=True,
                          text=True, timeout=300, preexec_fn=preexec)


def test_checkpoint_write_failure_mid_run(tmp_path):
    # config.json fits under the limit, the checkpoint (~100 kB) does not: the write
    # fails inside fg.save, in the Rust writer.
    import resource

    run = tmp_path / "r"
    result = _run_cli(["train", "--run-dir", str(run)] + TINY,
                      limits=[(resource.RLIMIT_FSIZE, 16384)])
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ferrograd: error: "), result.stderr
    assert str(run / "model.safetensors") in lines[0] and "too large" in lines[0]
    assert sorted(p.name for p in run.iterdir()) == ["config.json"]  # no temporary left


def test_model_too_large_for_memory(tmp_path):
    # Address space capped at 4 GiB: the first layer alone (784 x 10**7 float32) needs
    # 31 GB, so the allocation fails the same way on any machine.
    import resource

    result = _run_cli(["train", "--run-dir", str(tmp_path / "r"), "--width", "10000000"]
                      + TINY[:6] + TINY[8:], limits=[(resource.RLIMIT_AS, 4 << 30)])
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    # One line: no traceback, and no Rust panic text from the failed allocation either.
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ferrograd: error: out of memory"), (
        result.stderr)
    assert "--width" in lines[0]


@pytest.mark.parametrize("seed", [str(2**64), str(2**100), "-1"])
def test_seed_out_of_range(tmp_path, capsys, seed):
    assert main(["train", "--run-dir", str(tmp_path / "r"), "--seed", seed] + TINY[:-2]) == 1
    line = _one_error_line(capsys)
    assert f"--seed must be an integer in [0, 2**64), got {seed}" in line
    assert not (tmp_path / "r").exists()


def test_largest_seed_trains(tmp_path):
    assert main(["train", "--run-dir", str(tmp_path / "r"), "--seed", str(2**64 - 1)]
                + TINY[:-2]) == 0


def test_data_dir_that_is_a_file(tmp_path, capsys):
    f = tmp_path / "mnist.tar"
    f.write_text("x")
    assert main(["train", "--data-dir", str(f), "--run-dir", str(tmp_path / "r")] + TINY) == 1
    line = _one_error_line(capsys)
    assert f"--data-dir {f} is not a directory (it is a file)" in line
    assert "does not exist" not in line


VALID_CONFIG = {"depth": 1, "width": 8, "norm": "layer", "norm_position": "post",
                "dropout": 0.0, "init": "kaiming", "init_scale": 1.0, "data_dir": None,
                "limit": 50}


def _fake_run(tmp_path, config_text):
    """A run directory with the given config.json text and a placeholder checkpoint."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(config_text)
    (run / "model.safetensors").write_bytes(b"")
    return run


@pytest.mark.parametrize("config, message", [
    ("[1, 2]", "must hold a JSON object (written by 'ferrograd train'), it holds an array"),
    ("42", "it holds a number"),
    ("null", "it holds null"),
    ("{not json", "is not valid JSON"),
    (json.dumps({**VALID_CONFIG, "width": "abc"}), "'width' must be a positive integer, got 'abc'"),
    (json.dumps({**VALID_CONFIG, "depth": 1.5}), "'depth' must be a positive integer, got 1.5"),
    (json.dumps({**VALID_CONFIG, "width": True}), "'width' must be a positive integer, got True"),
    (json.dumps({**VALID_CONFIG, "norm": 3}), "'norm' must be one of 'none', 'layer'"),
    (json.dumps({**VALID_CONFIG, "dropout": "0.1"}), "'dropout' must be a number in [0, 1)"),
    (json.dumps({**VALID_CONFIG, "init_scale": -1}), "'init_scale' must be a number > 0"),
    (json.dumps({**VALID_CONFIG, "data_dir": 7}), "'data_dir' must be a path or null"),
    (json.dumps({**VALID_CONFIG, "limit": "all"}), "'limit' must be a positive integer or null"),
    (json.dumps({k: v for k, v in VALID_CONFIG.items() if k != "width"}),
     "has no 'width' entry; evaluate needs the config.json that 'ferrograd train' writes"),
])
def test_evaluate_bad_config(tmp_path, capsys, config, message):
    run = _fake_run(tmp_path, config)
    assert main(["evaluate", str(run)]) == 1
    line = _one_error_line(capsys)
    assert str(run / "config.json") in line and message in line


def test_evaluate_data_dir_that_is_a_file(tmp_path, capsys):
    f = tmp_path / "data.bin"
    f.write_text("x")
    run = _fake_run(tmp_path, json.dumps(VALID_CONFIG))
    assert main(["evaluate", str(run), "--data-dir", str(f)]) == 1
    assert f"--data-dir {f} is not a directory" in _one_error_line(capsys)
    (run / "config.json").write_text(json.dumps({**VALID_CONFIG, "data_dir": str(f)}))
    assert main(["evaluate", str(run)]) == 1
    assert f"{f} is not a directory" in _one_error_line(capsys)


def test_evaluate_corrupt_checkpoint(tmp_path, capsys):
    run = _fake_run(tmp_path, json.dumps(VALID_CONFIG))
    assert main(["evaluate", str(run)]) == 1
    assert "model.safetensors" in _one_error_line(capsys)
