"""bn-train-vs-eval: BatchNorm's two modes, and what goes wrong when a model is served
in training mode.

Lecture 000 ("BatchNorm: test time", "train vs test"): in training BatchNorm normalizes
with the batch's own mean and variance (so a prediction depends on the rest of the
batch) and updates running averages; at test time it must use the frozen running
averages. Batch size 1 is impossible in training mode ("can't calculate the variance of
a single sample"). "Lots of stories where people forgot to freeze the batch norm running
mean/var average. 'Why is my model getting worse after serving it for a week??'"

Measured on an MLP with BatchNorm trained on MNIST:
1. eval mode: the outputs of the test set batched and one example at a time agree;
2. training mode with a batch of one example is an error (ValueError);
3. training-mode inference on class-sorted batches (every batch one digit) against
   shuffled batches and eval mode: the batch statistics subtract the class itself;
4. "serving a week" in training mode: seven days of requests, each day's traffic
   dominated by other digits (batches of 32), pass through the model left in training
   mode; after each day the model is tested in eval mode on the normal test set.

Error in the notes: the lecture's ``batch_norm_fwd_test`` normalizes with ``feat_mean``
and ``feat_var`` (the batch statistics, not even defined in that function) where it
should use ``running_mean`` and ``running_var``; and its running-average update gives
weight 0.1 to the old average and 0.9 to the new batch, the reverse of PyTorch's
``momentum=0.1`` (new = 0.9 old + 0.1 batch) that ferrograd follows, so the notes'
"running average" mostly remembers the last batch.
"""

import numpy as np

import ferrograd as fg

from ._common import accuracy, claim, normed_mlp, restore, sgd_steps, snapshot, to_numpy

NAME = "bn-train-vs-eval"
SEED = "000"
DESCRIPTION = ("BatchNorm eval vs train mode: batched = one by one, batch 1 error, "
               "class-sorted batches, 'serving a week' in train mode (notes' test code "
               "uses batch stats: an error)")


def predictions(model, x, batch_size):
    """Argmax predictions over consecutive batches of ``x`` (the model's current mode)."""
    out = []
    with fg.no_grad():
        for i in range(0, x.shape[0], batch_size):
            out.append(to_numpy(model(x[i:i + batch_size])).argmax(axis=1))
    return np.concatenate(out)


def run(ctx):
    quick = ctx.quick
    settings = {"depth": 2, "width": 128, "optimizer": "SGD", "lr": 0.05, "momentum": 0.9,
                "batch_size": 64, "train_steps": 300 if quick else 1500,
                "n_train": 5000 if quick else 12000, "n_test": 1000 if quick else 2000,
                "one_by_one": 100 if quick else 500, "serving_days": 7,
                "serving_batches_per_day": 20 if quick else 60, "serving_batch_size": 32,
                "bn_momentum": 0.1}
    x, y, xt, yt = ctx.mnist(settings["n_train"], settings["n_test"])
    x, y, xt_dev = x.to(ctx.device), y.to(ctx.device), xt.to(ctx.device)
    labels = to_numpy(yt)
    m = {}
    steps = settings["train_steps"]
    with ctx.progress(steps + settings["serving_days"], NAME) as bar:
        fg.manual_seed(ctx.seed)
        model = normed_mlp("batch", settings["depth"], settings["width"]).to(ctx.device)
        opt = fg.optim.SGD(model.parameters(), lr=settings["lr"],
                           momentum=settings["momentum"])
        sgd_steps(model, opt, x, y, steps, settings["batch_size"],
                  np.random.default_rng(ctx.seed), bar)

        # 1. eval mode: batched == one by one
        model.eval()
        k = settings["one_by_one"]
        with fg.no_grad():
            batched = to_numpy(model(xt_dev[:k]))
            single = np.concatenate([to_numpy(model(xt_dev[i:i + 1])) for i in range(k)])
        m["eval_max_abs_diff_batched_vs_single"] = float(np.abs(batched - single).max())
        m["eval_accuracy"] = accuracy(model, xt_dev, yt.to(ctx.device))

        # 2. training mode with one example
        model.train()
        try:
            with fg.no_grad():
                model(xt_dev[:1])
            m["train_mode_batch_1_error"] = None
        except (ValueError, RuntimeError) as e:
            m["train_mode_batch_1_error"] = f"{type(e).__name__}: {e}"

        # 3. training-mode inference, shuffled vs class-sorted batches of 100. The
        # running statistics are saved and restored: this probe must not change them.
        saved = snapshot(model)
        shuffled = predictions(model, xt_dev, 100)
        order = np.argsort(labels, kind="stable")
        sorted_x = xt[fg.from_numpy(order)].to(ctx.device)
        sorted_pred = predictions(model, sorted_x, 100)
        m["train_mode_accuracy_shuffled_batches"] = float((shuffled == labels).mean())
        m["train_mode_accuracy_class_sorted_batches"] = float(
            (sorted_pred == labels[order]).mean())
        restore(model, saved)

        # 4. serving a week in training mode. Each day's traffic: 80% from two digits
        # that change from day to day, 20% from the rest (a skewed, drifting stream).
        rng = np.random.default_rng(ctx.seed + 1)
        by_class = [np.flatnonzero(labels == d) for d in range(10)]
        m["serving_eval_accuracy_by_day"] = [m["eval_accuracy"]]
        m["serving_running_mean_shift_by_day"] = [0.0]
        first_bn = next(mod for mod in model if isinstance(mod, fg.nn.BatchNorm1d))
        mean0 = to_numpy(first_bn.running_mean)
        bs = settings["serving_batch_size"]
        for day in range(settings["serving_days"]):
            popular = [(2 * day) % 10, (2 * day + 1) % 10]
            model.train()  # the bug: left in training mode while serving
            with fg.no_grad():
                for _ in range(settings["serving_batches_per_day"]):
                    n_pop = int(0.8 * bs)
                    idx = np.concatenate([rng.choice(np.concatenate([by_class[d] for d in popular]),
                                                     n_pop),
                                          rng.choice(len(labels), bs - n_pop)])
                    model(xt[fg.from_numpy(idx)].to(ctx.device))
            model.eval()  # the nightly check, in eval mode, on the normal test set
            m["serving_eval_accuracy_by_day"].append(accuracy(model, xt_dev, yt.to(ctx.device)))
            drift = to_numpy(first_bn.running_mean) - mean0
            m["serving_running_mean_shift_by_day"].append(
                float(np.linalg.norm(drift) / np.linalg.norm(mean0)))
            bar.update(1)

    acc = m["eval_accuracy"]
    week = m["serving_eval_accuracy_by_day"]
    worst_day = min(week[1:])
    claims = [
        claim("At test time (eval mode, frozen running statistics) a prediction does not "
              "depend on the rest of the batch", SEED,
              "max |logit| difference, test examples batched vs one at a time",
              m["eval_max_abs_diff_batched_vs_single"], "< 1e-4",
              m["eval_max_abs_diff_batched_vs_single"] < 1e-4),
        claim("Batch size 1 is impossible in training mode (the variance of one sample)",
              SEED, "error raised by a training-mode forward of one example",
              m["train_mode_batch_1_error"], "a ValueError or RuntimeError is raised",
              m["train_mode_batch_1_error"] is not None),
        claim("In training mode predictions depend on the batch: batches of one class "
              "collapse", SEED, "training-mode accuracy on class-sorted batches of 100",
              {"class_sorted": m["train_mode_accuracy_class_sorted_batches"],
               "shuffled": m["train_mode_accuracy_shuffled_batches"], "eval": acc},
              "class-sorted accuracy at least 30 points below eval-mode accuracy",
              m["train_mode_accuracy_class_sorted_batches"] < acc - 0.30),
        claim("'Why is my model getting worse after serving it for a week?': serving in "
              "training mode corrupts the running statistics", SEED,
              "eval-mode test accuracy after each day of train-mode serving",
              {"before": acc, "worst_day": worst_day, "after_week": week[-1]},
              "some day's accuracy is at least 5 points below the accuracy before serving",
              worst_day < acc - 0.05),
    ]
    notes = ("The notes' batch_norm_fwd_test normalizes with feat_mean/feat_var (batch "
             "statistics, undefined in that function) instead of running_mean/running_var, "
             "and their running-average update weights the old average by 0.1 and the batch "
             "by 0.9, the reverse of PyTorch's momentum=0.1 (which ferrograd follows).")
    return {"settings": settings, "measurements": m, "claims": claims, "notes": notes}


def plot(result, fig):
    m = result["measurements"]
    ax_bar, ax_week = fig.subplots(1, 2)
    names = ["eval mode", "train mode,\nshuffled batches", "train mode,\nclass-sorted batches"]
    values = [m["eval_accuracy"], m["train_mode_accuracy_shuffled_batches"],
              m["train_mode_accuracy_class_sorted_batches"]]
    bars = ax_bar.bar(names, values, color=["tab:green", "tab:blue", "tab:red"],
                      label="test accuracy")
    ax_bar.bar_label(bars, fmt="%.3f")
    ax_bar.set(ylabel="test accuracy", ylim=(0, 1.05),
               title="inference mode and batch composition")
    ax_bar.legend(loc="lower left", fontsize=8)
    days = range(len(m["serving_eval_accuracy_by_day"]))
    ax_week.plot(days, m["serving_eval_accuracy_by_day"], "o-", color="tab:red",
                 label="eval accuracy after the day")
    ax_week.axhline(m["eval_accuracy"], color="gray", ls="--", label="before serving")
    ax_week.set(xlabel="day of serving in training mode", ylabel="test accuracy (eval mode)",
                title="'serving a week' with BatchNorm left in train mode", ylim=(0, 1.05))
    twin = ax_week.twinx()
    twin.plot(days, m["serving_running_mean_shift_by_day"], "s:", color="tab:purple",
              label="running-mean drift (1st BN)")
    twin.set_ylabel("||running_mean - before|| / ||before||")
    lines = ax_week.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    ax_week.legend(lines[0] + more[0], lines[1] + more[1], fontsize=8, loc="lower left")
    fig.suptitle("bn-train-vs-eval (seed 000): BatchNorm must be frozen (eval mode) at "
                 "serving time")
    fig.tight_layout(rect=(0, 0, 1, 0.95))
