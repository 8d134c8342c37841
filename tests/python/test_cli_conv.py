"""``ferrograd train --model cnn|resnet``: tiny runs that train and evaluate, the norm
choices of the conv models, and run directories written before --model existed."""

import json

import pytest

from ferrograd.cli import main

TINY = ["--limit", "300", "--epochs", "1", "--batch-size", "30", "--no-progress",
        "--seed", "0"]


def _accuracy(out):
    return float(out.split("accuracy")[1].split()[0])


@pytest.mark.parametrize("extra", [
    ["--model", "cnn", "--norm", "group", "--augment"],
    ["--model", "resnet", "--channels", "4", "--crop", "2", "--mixup", "0.2"],
    ["--model", "cnn", "--norm", "none", "--optimizer", "sgd"],
])
def test_conv_models_train_and_evaluate(tmp_path, capsys, extra):
    run = tmp_path / "run"
    assert main(["train", "--run-dir", str(run)] + TINY + extra) == 0
    trained = capsys.readouterr().out
    config = json.loads((run / "config.json").read_text())
    assert config["model"] == extra[1]
    assert config["norm"] == (extra[3] if "--norm" in extra else "batch")
    assert main(["evaluate", str(run)]) == 0
    evaluated = capsys.readouterr().out
    # evaluate rebuilds the same architecture from config.json and loads the checkpoint
    assert _accuracy(evaluated) == _accuracy(trained.split("test loss")[1])


def test_cnn_learns_within_one_epoch(tmp_path, capsys):
    assert main(["train", "--run-dir", str(tmp_path / "r"), "--model", "cnn",
                 "--limit", "1000", "--epochs", "1", "--batch-size", "25",
                 "--no-progress"]) == 0
    assert _accuracy(capsys.readouterr().out.split("test loss")[1]) > 0.5  # chance is 0.1


@pytest.mark.parametrize("norm", ["layer", "rms"])
def test_conv_models_refuse_the_mlp_norms(tmp_path, capsys, norm):
    assert main(["train", "--run-dir", str(tmp_path / "r"), "--model", "resnet",
                 "--norm", norm] + TINY) == 1
    assert f"--norm {norm} is for the MLP" in capsys.readouterr().err


def test_runs_from_before_model_option_evaluate_as_mlp(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--run-dir", str(run), "--width", "16"] + TINY) == 0
    config = json.loads((run / "config.json").read_text())
    for key in ("model", "channels", "blocks", "crop"):
        del config[key]
    (run / "config.json").write_text(json.dumps(config))
    capsys.readouterr()
    assert main(["evaluate", str(run)]) == 0
    assert "accuracy" in capsys.readouterr().out
