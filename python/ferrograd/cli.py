"""The ``ferrograd`` command line (also ``python -m ferrograd``).

    ferrograd train                        # MLP on the embedded MNIST subset, ~1 minute
    ferrograd train --norm batch --optimizer sgd --lr 0.05 --schedule cosine
    ferrograd train --data-dir ~/data/mnist --epochs 10 --mixup 0.2
    ferrograd train --device wgpu          # the same, trained on the GPU
    ferrograd train --model resnet --crop 2   # a small ResNet with BatchNorm, shifted crops
    ferrograd evaluate runs/mlp            # test accuracy of a saved run
    ferrograd lab                          # the lecture notes' experiments (docs/lab.md)

``train`` prints each epoch's train and validation loss/accuracy and writes into the
run directory: ``config.json`` (every option), ``history.json``, ``curves.png`` and
``model.safetensors`` (the weights of the epoch with the lowest validation loss).
The validation set is 10% of the training images, held out with the seed; the test
split is only used for the final report and by ``evaluate``.

``--device wgpu`` trains (or evaluates) on the GPU; ``config.json`` records the device,
and ``evaluate`` uses it unless given ``--device``. A checkpoint loads on either device.
Without a usable GPU adapter ``--device wgpu`` is one ``ferrograd: error:`` line saying
so (``FERROGRAD_DISABLE_WGPU=1`` hides the adapters, to try that path).

Errors: argparse reports malformed options (unknown, not a number, ``--epochs 0``) with
its usage line and exit code 2. Everything that goes wrong after parsing (a ``--seed``
outside [0, 2**64), missing or corrupt dataset files, a run directory that cannot be
written, a full disk, a model too large for memory, a bad ``config.json``, BatchNorm
with batch size 1, a diverging loss) prints one ``ferrograd: error: ...`` line and exits
with code 1, never a traceback.
"""

import argparse
import contextlib
import errno
import json
import os
import sys
import time

import numpy as np

NUM_CLASSES = 10
IN_FEATURES = 28 * 28
DEVICES = ("cpu", "wgpu")


def _positive_int(text):
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _probability(text):
    value = float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must lie in [0, 1), got {text}")
    return value


def _non_negative_int(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _non_negative(text):
    value = float(text)
    if not value >= 0.0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _positive_float(text):
    value = float(text)
    if not value > 0.0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def build_parser():
    from .models import INITS, MODELS, NORMS

    parser = argparse.ArgumentParser(prog="ferrograd", description="Train and evaluate "
                                     "MLP, CNN and ResNet classifiers on MNIST with ferrograd.")
    sub = parser.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a classifier (MLP, CNN or ResNet)",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    t.add_argument("--data-dir", help="directory with the MNIST IDX files (default: the "
                   "subset embedded in ferrograd)")
    t.add_argument("--run-dir", help="output directory (default: runs/<date-time>)")
    t.add_argument("--model", choices=MODELS, default="mlp",
                   help="mlp: Linear layers; cnn: LeNet-style; resnet: a small ResNet")
    t.add_argument("--depth", type=_positive_int, default=2, help="MLP hidden layers")
    t.add_argument("--width", type=_positive_int, default=256, help="units per MLP hidden layer")
    t.add_argument("--channels", type=_positive_int, default=16,
                   help="ResNet channels in the first stage (doubled in each of the next two)")
    t.add_argument("--blocks", type=_positive_int, default=1,
                   help="ResNet BasicBlocks per stage (three stages)")
    t.add_argument("--norm", choices=NORMS, default=None,
                   help="normalization layers (default: layer for the MLP, batch for cnn "
                   "and resnet, which take batch, group or none)")
    t.add_argument("--norm-position", choices=("pre", "post"), default="post")
    t.add_argument("--dropout", type=_probability, default=0.1, metavar="P")
    t.add_argument("--init", choices=INITS, default="kaiming")
    t.add_argument("--init-scale", type=_positive_float, default=1.0,
                   help="multiplies the initial weights")
    t.add_argument("--optimizer", choices=("sgd", "adam", "adamw"), default="adamw")
    t.add_argument("--lr", type=_positive_float, default=None,
                   help="learning rate (default: 1e-3 for adam/adamw, 0.05 for sgd)")
    t.add_argument("--weight-decay", type=_non_negative, default=0.01, metavar="L",
                   help="weight decay, never applied to biases and norm parameters")
    t.add_argument("--schedule", choices=("none", "step", "cosine", "warmup-cosine"),
                   default="cosine", help="learning-rate schedule, stepped per epoch")
    t.add_argument("--label-smoothing", type=_probability, default=0.0)
    t.add_argument("--mixup", type=_non_negative, default=0.0, metavar="ALPHA",
                   help="Mixup with lambda ~ Beta(ALPHA, ALPHA) (0: off)")
    t.add_argument("--cutmix", type=_non_negative, default=0.0, metavar="ALPHA",
                   help="CutMix with lambda ~ Beta(ALPHA, ALPHA) (0: off); with --mixup "
                   "too, each batch uses one of the two at random")
    t.add_argument("--augment", action="store_true",
                   help="random rotations (10 degrees) and shifts (10%%) of the images")
    t.add_argument("--crop", type=_non_negative_int, default=0, metavar="PAD",
                   help="random 28x28 crops of the images padded by PAD pixels (0: off)")
    t.add_argument("--early-stopping", type=_positive_int, default=None, metavar="PATIENCE",
                   help="stop after PATIENCE epochs without a better validation loss")
    t.add_argument("--epochs", type=_positive_int, default=8)
    t.add_argument("--batch-size", type=_positive_int, default=128)
    t.add_argument("--seed", type=int, default=0, help="in [0, 2**64)")
    t.add_argument("--device", choices=DEVICES, default="cpu",
                   help="where to train: the CPU or the GPU (wgpu)")
    t.add_argument("--threads", type=_positive_int, default=None,
                   help="CPU threads (default: all cores)")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument("--distributed", action="store_true",
                   help="data-parallel over the ranks of `mpiexec -n N ferrograd train ...`; "
                        "--batch-size is per rank")
    t.add_argument("--sync-bn", action="store_true",
                   help="with --distributed and --norm batch: SyncBatchNorm")
    t.add_argument("--limit", type=_positive_int, default=None, help=argparse.SUPPRESS)

    e = sub.add_parser("evaluate", help="test accuracy of a trained run")
    e.add_argument("path", help="a run directory, or the model.safetensors inside one")
    e.add_argument("--data-dir", help="MNIST directory (default: the run's own data)")
    e.add_argument("--batch-size", type=_positive_int, default=512)
    e.add_argument("--device", choices=DEVICES, default=None,
                   help="where to evaluate (default: the device the run trained on)")

    from .lab._cli import add_parser as add_lab_parser

    add_lab_parser(sub)
    return parser


class CliError(Exception):
    """A problem the user can fix, reported as one ``ferrograd: error:`` line."""


def _check_data_dir(data_dir, source="--data-dir"):
    # MNIST reports any non-directory as "does not exist": say what is really wrong.
    if data_dir is not None and os.path.exists(data_dir) and not os.path.isdir(data_dir):
        raise CliError(f"{source} {data_dir} is not a directory (it is a file)")


def _check_run_dir(run_dir):
    """Fails early (before loading data and training) when ``run_dir`` is a file or lies
    under one; permissions and full disks are reported when the files are written."""
    path = os.path.abspath(run_dir)
    if os.path.exists(path) and not os.path.isdir(path):
        raise CliError(f"--run-dir {run_dir} is a file, not a directory")
    parent = os.path.dirname(path)
    while not os.path.exists(parent):  # up to the nearest existing ancestor ("/" exists)
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise CliError(f"--run-dir {run_dir} lies under {parent}, which is a file, "
                       "not a directory")


@contextlib.contextmanager
def _writing(path):
    """Names ``path`` in the OSError of a failed write: an error at flush or close time
    (a full disk) carries no file name of its own."""
    try:
        yield
    except OSError as e:
        if e.filename is None:
            raise OSError(e.errno, e.strerror or str(e), path) from None
        raise


def _open_device(name):
    """The device ``name``, started now so that a missing GPU is reported before any
    work, as one line."""
    import ferrograd as fg

    try:
        return fg.device(name)
    except RuntimeError as e:
        if name == "cpu":
            raise
        raise CliError(f"--device {name}: no GPU adapter is available ({e}); "
                       "use --device cpu") from None


def _datasets(data_dir, limit, transform=None):
    from .data import MNIST, Subset, load_default

    if data_dir is None:
        train, test = load_default(transform)
    else:
        train = MNIST(data_dir, train=True, transform=transform)
        test = MNIST(data_dir, train=False)
    if limit is not None:
        train = Subset(train, np.arange(min(limit, len(train))))
        test = Subset(test, np.arange(min(limit, len(test))))
    return train, test


def _split(train, seed, fraction=0.1):
    from .data import Subset

    order = np.random.default_rng(seed).permutation(len(train))
    n_val = max(1, int(round(fraction * len(train))))
    return Subset(train, np.sort(order[n_val:])), Subset(train, np.sort(order[:n_val]))


def _model(cfg):
    from .models import build_cnn, build_mlp, build_resnet

    kind = cfg.get("model") or "mlp"
    if kind == "cnn":
        return build_cnn(NUM_CLASSES, norm=cfg["norm"], dropout=cfg["dropout"])
    if kind == "resnet":
        return build_resnet(NUM_CLASSES, norm=cfg["norm"], width=cfg.get("channels") or 16,
                            blocks=(cfg.get("blocks") or 1,) * 3)
    return build_mlp(IN_FEATURES, NUM_CLASSES, depth=cfg["depth"], width=cfg["width"],
                     norm=cfg["norm"], norm_position=cfg["norm_position"],
                     dropout=cfg["dropout"], init=cfg["init"], init_scale=cfg["init_scale"])


def _optimizer(model, cfg):
    from . import optim
    from .nn.utils import decay_groups

    groups = decay_groups(model, cfg["weight_decay"])
    if cfg["optimizer"] == "sgd":
        return optim.SGD(groups, lr=cfg["lr"], momentum=0.9)
    if cfg["optimizer"] == "adam":
        return optim.Adam(groups, lr=cfg["lr"])
    return optim.AdamW(groups, lr=cfg["lr"])


def _scheduler(optimizer, cfg):
    from .optim import lr_scheduler as S

    epochs, kind = cfg["epochs"], cfg["schedule"]
    if kind == "none":
        return None
    if kind == "step":
        return S.StepLR(optimizer, step_size=max(1, epochs // 3), gamma=0.1)
    if kind == "cosine":
        return S.CosineAnnealingLR(optimizer, T_max=epochs)
    warmup = max(1, epochs // 5)
    return S.SequentialLR(optimizer, [
        S.LinearLR(optimizer, start_factor=0.1, total_iters=warmup),
        S.CosineAnnealingLR(optimizer, T_max=max(1, epochs - warmup)),
    ], milestones=[warmup])


def _batch_transform(cfg):
    from .data.transforms import CutMix, Mixup

    mixers = []
    if cfg["mixup"] > 0:
        mixers.append(Mixup(cfg["mixup"], seed=cfg["seed"] + 1))
    if cfg["cutmix"] > 0:
        mixers.append(CutMix(cfg["cutmix"], seed=cfg["seed"] + 2))
    if not mixers:
        return None
    pick = np.random.default_rng(cfg["seed"] + 3)
    return lambda x, y: mixers[int(pick.integers(len(mixers)))](x, y, NUM_CLASSES)


def _loss_fn(label_smoothing):
    from .nn import functional as F

    def loss(output, target):
        return F.cross_entropy(output, target, label_smoothing=label_smoothing)

    return loss


class _DistributedRun:
    """``ferrograd train --distributed``: joins the MPI job, makes a failing rank abort
    the whole job, and builds the per-rank pieces (sampler-driven loader, DDP model)."""

    def __init__(self, cfg):
        from . import distributed as dist

        if cfg["device"] != "cpu":
            raise CliError("--distributed trains on the CPU only; drop --device")
        dist.init()
        dist.install_abort_hook()
        self.dist, self.cfg = dist, cfg
        self.rank, self.world = dist.rank(), dist.world_size()

    def same_on_all_ranks(self, value):
        return self.dist.state.comm().bcast(value, root=0)

    def loader(self, train_set, batch_size, drop_last):
        from .data import DataLoader, DistributedSampler

        sampler = DistributedSampler(train_set, shuffle=True, seed=self.cfg["seed"],
                                     drop_last=drop_last)
        return DataLoader(train_set, batch_size, drop_last=drop_last, sampler=sampler)

    def wrap(self, net):
        """(the DDP model to train, the plain model inside it)."""
        import ferrograd as fg

        if self.cfg["sync_bn"]:
            net = fg.nn.SyncBatchNorm.convert_sync_batchnorm(net)
        model = fg.nn.parallel.DistributedDataParallel(net)
        # Same initial weights (broadcast), but each rank its own dropout masks.
        fg.manual_seed((self.cfg["seed"] + self.rank) % 2**64)
        return model, net

    def describe(self, batch_size):
        sync = ", SyncBatchNorm" if self.cfg["sync_bn"] else ""
        return (f"distributed: {self.world} ranks x batch {batch_size} = effective batch size "
                f"{self.world * batch_size}{sync}")

    @staticmethod
    def abort_if_running(code):
        """A rank that reports an error ends the job: the others would wait forever."""
        from . import distributed as dist

        if dist.is_initialized() and dist.world_size() > 1:
            sys.stderr.flush()
            dist.state.comm().Abort(code)


def train(args):
    import ferrograd as fg
    from .data import DataLoader
    from .train import EarlyStopping, evaluate, fit

    cfg = {k: v for k, v in vars(args).items() if k not in ("command", "no_progress")}
    if cfg["lr"] is None:
        cfg["lr"] = 0.05 if cfg["optimizer"] == "sgd" else 1e-3
    _resolve_norm(cfg)
    if not 0 <= cfg["seed"] < 2**64:  # fg.manual_seed's range; NumPy takes no negatives
        raise CliError(f"--seed must be an integer in [0, 2**64), got {cfg['seed']}")
    if cfg["norm"] == "batch" and cfg["batch_size"] == 1:
        raise ValueError("BatchNorm needs at least 2 samples per batch to compute batch "
                         "statistics; use --batch-size 2 or more (the last batch is "
                         "dropped with BatchNorm), or --norm layer")
    ddp = _DistributedRun(cfg) if cfg["distributed"] else None
    if cfg["sync_bn"] and not (ddp and cfg["norm"] == "batch"):
        raise CliError("--sync-bn needs --distributed and --norm batch")
    run_dir = cfg["run_dir"] or os.path.join("runs", time.strftime("%Y%m%d-%H%M%S"))
    if ddp:
        run_dir = ddp.same_on_all_ranks(run_dir)  # rank 0's clock names the run
    cfg["run_dir"] = run_dir
    _check_run_dir(run_dir)
    if cfg["data_dir"] is not None:  # evaluate may run from another directory
        cfg["data_dir"] = os.path.abspath(os.path.expanduser(cfg["data_dir"]))
        _check_data_dir(cfg["data_dir"])
    if cfg["threads"]:
        fg.set_num_threads(cfg["threads"])
    device = _open_device(cfg["device"])
    fg.manual_seed(cfg["seed"])

    augment = _augmentation(cfg)
    train_set, test_set = _datasets(cfg["data_dir"], cfg["limit"], augment)
    train_set, val_set = _split(train_set, cfg["seed"])
    if augment is not None:  # validation images are not augmented
        val_set.dataset = _datasets(cfg["data_dir"], cfg["limit"])[0]
    if ddp:
        train_loader = ddp.loader(train_set, cfg["batch_size"], drop_last=cfg["norm"] == "batch")
    else:
        train_loader = DataLoader(train_set, cfg["batch_size"], shuffle=True,
                                  drop_last=cfg["norm"] == "batch", seed=cfg["seed"])
    val_loader = DataLoader(val_set, 512)
    test_loader = DataLoader(test_set, 512)

    model = net = _model(cfg).to(device)  # before the optimizer: it keeps these parameters
    if ddp:
        model, net = ddp.wrap(net)
    optimizer = _optimizer(model, cfg)
    scheduler = _scheduler(optimizer, cfg)
    loss_fn = _loss_fn(cfg["label_smoothing"])
    stopper = EarlyStopping(cfg["early_stopping"]) if cfg["early_stopping"] else None

    lead = ddp is None or ddp.rank == 0  # only rank 0 prints and writes files
    checkpoint = os.path.join(run_dir, "model.safetensors")
    if lead:
        os.makedirs(run_dir, exist_ok=True)
        config_path = os.path.join(run_dir, "config.json")
        with _writing(config_path), open(config_path, "w") as f:
            json.dump(cfg, f, indent=2)
        print(f"training on {len(train_set)} images, validating on {len(val_set)}; "
              f"{sum(p.size for p in model.parameters())} parameters on {_device_name(device)}; "
              f"run dir {run_dir}")
        if ddp:
            print(ddp.describe(cfg["batch_size"]))
    history = fit(model, optimizer, loss_fn, train_loader, val_loader, epochs=cfg["epochs"],
                  scheduler=scheduler, early_stopping=stopper,
                  progress=lead and not args.no_progress,
                  checkpoint_path=checkpoint if lead else None,
                  batch_transform=_batch_transform(cfg), log=_print if lead else None)
    if not lead:
        return 0
    history_path, curves_path = (os.path.join(run_dir, n) for n in ("history.json", "curves.png"))
    with _writing(history_path):
        history.to_json(history_path)
    with _writing(curves_path):
        history.plot(curves_path, title=f"{cfg['model'].upper()}, norm={cfg['norm']}")
    net.load_state_dict(fg.load(checkpoint))
    test_loss, test_acc = evaluate(net, test_loader, _loss_fn(0.0))
    print(f"test loss {test_loss:.4f} accuracy {test_acc:.4f} ({len(test_set)} images, "
          f"best checkpoint)")
    print(f"wrote {run_dir}/: config.json history.json curves.png model.safetensors")
    return 0


def _resolve_norm(cfg):
    """The --norm default depends on the model; the conv models take only the norms
    that act on feature maps."""
    from .models import CONV_NORMS

    if cfg["norm"] is None:
        cfg["norm"] = "layer" if cfg["model"] == "mlp" else "batch"
    if cfg["model"] != "mlp" and cfg["norm"] not in CONV_NORMS:
        raise CliError(f"--norm {cfg['norm']} is for the MLP; --model {cfg['model']} takes "
                       f"{', '.join(CONV_NORMS)}")


def _augmentation(cfg):
    from .data.transforms import Compose, RandomAffine, RandomCrop

    steps = []
    if cfg["crop"]:
        steps.append(RandomCrop(28, padding=cfg["crop"], seed=cfg["seed"] + 4))
    if cfg["augment"]:
        steps.append(RandomAffine(10, (0.1, 0.1), seed=cfg["seed"]))
    if not steps:
        return None
    return steps[0] if len(steps) == 1 else Compose(steps)


def _device_name(device):
    import ferrograd as fg

    if device.type == "cpu":
        return "cpu"
    try:
        return f"wgpu ({fg._core.wgpu_adapter_name()})"
    except RuntimeError:
        return "wgpu"


def _print(line):
    print(line, flush=True)


def evaluate_run(args):
    import ferrograd as fg
    from .data import DataLoader
    from .train import evaluate

    path = args.path
    if os.path.isdir(path):
        run_dir, checkpoint = path, os.path.join(path, "model.safetensors")
    else:
        run_dir, checkpoint = os.path.dirname(os.path.abspath(path)), path
    config_path = os.path.join(run_dir, "config.json")
    if not os.path.isfile(config_path):
        raise FileNotFoundError(f"{config_path} not found: evaluate needs a run directory "
                                "written by 'ferrograd train' (or a checkpoint inside one)")
    if not os.path.isfile(checkpoint):
        raise FileNotFoundError(f"checkpoint {checkpoint} not found")
    cfg = read_config(config_path)
    if args.data_dir is not None:
        _check_data_dir(args.data_dir)
    else:
        _check_data_dir(cfg["data_dir"], f"the data_dir of {config_path},")
    device = _open_device(args.device or cfg["device"] or "cpu")
    model = _model(cfg).to(device)
    model.load_state_dict(fg.load(checkpoint))
    _, test_set = _datasets(args.data_dir or cfg["data_dir"], cfg["limit"])
    loss, acc = evaluate(model, DataLoader(test_set, args.batch_size), _loss_fn(0.0))
    print(f"test loss {loss:.4f} accuracy {acc:.4f} ({len(test_set)} images)")
    return 0


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _config_schema():
    from .models import INITS, MODELS, NORMS

    def one_of(choices):
        return (lambda v: v in choices), "one of " + ", ".join(map(repr, choices))

    positive_int = (lambda v: _is_int(v) and v > 0), "a positive integer"
    return {  # key: (required, valid, what a valid value is)
        "depth": (True, *positive_int),
        "width": (True, *positive_int),
        "norm": (True, *one_of(NORMS)),
        "norm_position": (True, *one_of(("pre", "post"))),
        "dropout": (True, lambda v: _is_number(v) and 0 <= v < 1, "a number in [0, 1)"),
        "init": (True, *one_of(INITS)),
        "init_scale": (True, lambda v: _is_number(v) and v > 0, "a number > 0"),
        "model": (False, lambda v: v is None or v in MODELS,
                  "one of " + ", ".join(map(repr, MODELS)) + " or null"),
        "channels": (False, lambda v: v is None or positive_int[0](v), "a positive integer or null"),
        "blocks": (False, lambda v: v is None or positive_int[0](v), "a positive integer or null"),
        "data_dir": (False, lambda v: v is None or isinstance(v, str), "a path or null"),
        "limit": (False, lambda v: v is None or positive_int[0](v), "a positive integer or null"),
        "device": (False, lambda v: v is None or v in DEVICES,
                   "one of " + ", ".join(map(repr, DEVICES)) + " or null"),
    }


def read_config(path):
    """The ``config.json`` of a run, checked: CliError naming the file and the key for
    invalid JSON, a value that is not an object, a missing key or a wrong-typed value.
    Optional keys that are absent come back as None."""
    try:
        with open(path, encoding="utf-8") as f:
            cfg = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CliError(f"{path} is not valid JSON ({e})") from None
    if not isinstance(cfg, dict):
        kinds = {list: "an array", str: "a string", int: "a number", float: "a number",
                 bool: "a boolean"}
        raise CliError(f"{path} must hold a JSON object (written by 'ferrograd train'), "
                       f"it holds {kinds.get(type(cfg), 'null')}")
    for key, (required, valid, what) in _config_schema().items():
        if key not in cfg:
            if required:
                raise CliError(f"{path} has no '{key}' entry; evaluate needs the config.json "
                               "that 'ferrograd train' writes")
            cfg[key] = None
        elif not valid(cfg[key]):
            raise CliError(f"{path}: '{key}' must be {what}, got {cfg[key]!r}")
    return cfg


def _os_error_message(e):
    """One line for an OSError, whether Python (errno, strerror, filename) or ferrograd's
    checkpoint writer (message only) raised it."""
    if e.strerror and e.filename is not None:
        message = f"{e.filename}: {e.strerror}"
    else:
        message = str(e)
    if e.errno == errno.ENOSPC or "No space left" in message:
        message += " (the disk is full)"
    return message


def _error_line(e):
    if isinstance(e, MemoryError):
        detail = str(e) or "an allocation failed"
        return (f"out of memory ({detail}); try a smaller --width, --depth or "
                "--batch-size")
    if isinstance(e, OSError):
        return _os_error_message(e)
    return str(e)


def main(argv=None):
    """Entry point; returns the exit code (argparse itself exits with 2)."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "lab":
            from .lab._cli import main as lab_main

            return lab_main(args)
        return train(args) if args.command == "train" else evaluate_run(args)
    except (CliError, OSError, MemoryError, ValueError, RuntimeError) as e:
        line = " ".join(_error_line(e).splitlines())
        print(f"ferrograd: error: {line}", file=sys.stderr)
        _DistributedRun.abort_if_running(1)
        return 1
    except KeyboardInterrupt:
        print("ferrograd: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
