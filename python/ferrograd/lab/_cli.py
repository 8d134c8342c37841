"""``ferrograd lab [NAME|all] [--quick] [--out DIR] [--seed S] [--device cpu|wgpu]``."""

import argparse

from . import _registry
from ._runner import DEFAULT_OUT

__all__ = ["add_parser", "main"]


def _seed(text):
    value = int(text)
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"must be an integer in [0, 2**32), got {text}")
    return value


def add_parser(sub):
    p = sub.add_parser("lab", help="rerun the lecture notes' experiments (list them without NAME)",
                       description="Rerun an experiment of the lecture notes and say whether "
                       "its claims reproduced. Without NAME, list the experiments.")
    p.add_argument("name", nargs="?", metavar="NAME",
                   help="an experiment (see the list), or 'all'")
    p.add_argument("--quick", action="store_true",
                   help="small settings, about 10 s an experiment (what CI runs)")
    p.add_argument("--out", default=DEFAULT_OUT, metavar="DIR",
                   help=f"where NAME.json and NAME.png go (default: {DEFAULT_OUT})")
    p.add_argument("--seed", type=_seed, default=0, help="in [0, 2**32) (default: 0)")
    p.add_argument("--device", choices=("cpu", "wgpu"), default="cpu",
                   help="where experiments that train nets train (default: cpu)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def _print(line):
    print(line, flush=True)


def _list():
    rows = _registry.available()
    width = max(len(name) for name, _, _ in rows)
    print("experiments (run one with 'ferrograd lab NAME', all with 'ferrograd lab all'):")
    for name, module, reason in rows:
        if module is None:
            print(f"  {name:<{width}}  (not available: {reason.split(': ', 1)[-1]})")
        else:
            print(f"  {name:<{width}}  seed {module.SEED:<8} {module.DESCRIPTION}")
    return 0


def main(args):
    """Runs the ``lab`` subcommand; returns the exit code. Errors (an unknown name, an
    unavailable experiment or device) are raised for cli.main to print as one line."""
    from ._runner import run, run_all

    if args.name is None:
        return _list()
    options = dict(quick=args.quick, out=args.out, seed=args.seed, device=args.device,
                   progress=not args.no_progress, echo=_print)
    if args.name != "all":
        run(args.name, **options)
        print(f"wrote {args.out}/{_registry.load(args.name).NAME}.json and .png")
        return 0
    records, problems = run_all(**options)
    ok = sum(c["verdict"] == "reproduced" for r in records for c in r["claims"])
    total = sum(len(r["claims"]) for r in records)
    print(f"ran {len(records)} experiments in {sum(r['runtime_s'] for r in records):.1f} s: "
          f"{ok} of {total} claims reproduced; results in {args.out}/")
    missing = [n for n, m in problems if "not available" in m]
    failed = [(n, m) for n, m in problems if "not available" not in m]
    if missing:
        print(f"  not available ({len(missing)}): {', '.join(missing)}")
    for name, message in failed:
        print(f"  FAILED {name}: {message}")
    return 1 if failed else 0
