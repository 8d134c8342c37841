"""Runs one family of the fuzz sweep in this process (see docs/fuzzing.md).

    python tests/python/fuzz_runner.py FAMILY [--examples N] [--collect] [--devices cpu,wgpu]
    python tests/python/fuzz_runner.py --replay "{'family': 'binary', ...}"

test_fuzz_sweep.py starts one such process per family, so that a crash (a segfault, an
abort) fails that family's test instead of killing pytest. Without --collect the first
failing case is shrunk and printed as a replayable dict (exit status 1). With --collect
every failing case is recorded and the search goes on; the distinct failures (by family,
op, dtypes and message) are printed at the end as JSON lines prefixed `FAILURE `.
FG_FUZZ_EXAMPLES scales the example count (the big sweep sets it, CI does not).
"""

import argparse
import ast
import json
import os
import re
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import warnings  # noqa: E402

from hypothesis import HealthCheck, given, settings  # noqa: E402

import ferrograd as fg  # noqa: E402
import fuzz_backward  # noqa: E402
import fuzz_families as ff  # noqa: E402
from fuzz_known import known_open  # noqa: E402
from fuzz_support import SweepFailure  # noqa: E402

# family -> (strategy factory taking the device list, run function, CI example count)
FAMILIES = {
    "binary": (ff.binary_case, ff.binary_run, 300),
    "unary": (ff.unary_case, ff.unary_run, 250),
    "matmul": (ff.matmul_case, ff.matmul_run, 250),
    "reduce": (ff.reduce_case, ff.reduce_run, 250),
    "where": (ff.where_case, ff.where_run, 100),
    "join": (ff.join_case, ff.join_run, 150),
    "getitem": (ff.getitem_case, ff.getitem_run, 250),
    "gather": (ff.gather_case, ff.gather_run, 150),
    "shape": (ff.shape_case, ff.shape_run, 200),
    "softmax": (ff.softmax_case, ff.softmax_run, 100),
    "cast": (ff.cast_case, ff.cast_run, 100),
    "backward": (fuzz_backward.backward_case, fuzz_backward.backward_run, 120),
    "interop": (ff.interop_case, ff.interop_run, 150),
}


def _selftest_case(devices):
    from hypothesis import strategies as st

    return st.fixed_dictionaries({"family": st.just("selftest"), "n": st.integers(0, 100)})


def _selftest_run(case):
    """A family that fails on purpose (n > 5): test_fuzz_sweep checks that the runner
    reports it with the shrunk case."""
    if case["n"] > 5:
        raise SweepFailure(f"selftest mismatch at n={case['n']}")


# Not in FAMILIES: test_fuzz_sweep runs it only to check the runner's reporting.
SELFTEST = (_selftest_case, _selftest_run, 50)


def available_devices():
    """cpu, plus wgpu when an adapter exists (lavapipe counts)."""
    try:
        fg.device("wgpu")
        fg.ones((1,)).to("wgpu")
    except RuntimeError:
        return ["cpu"]
    return ["cpu", "wgpu"]


def _signature(case, err):
    """What makes two failures the same bug: the op, the dtypes and the message with
    its numbers blanked out."""
    dts = [s[1] if s[0] == "t" else "scalar" for s in case.get("specs", [])] or [case.get("dtype")]
    msg = str(err).split("\n")[0]
    msg = re.sub(r"[-+]?\d[\d.e+-]*", "#", msg)
    msg = re.sub(r"\(# of #\).*", "", msg)
    return f"{case['family']}|{case.get('op', '')}|{','.join(map(str, dts))}|{type(err).__name__}|{msg[:160]}"


def run_family(name, examples, devices, collect):
    strategy, run, _ = SELFTEST if name == "selftest" else FAMILIES[name]
    trace = os.environ.get("FG_FUZZ_TRACE")
    failures = {}
    left_out = {}
    count = [0]

    def body(case):
        count[0] += 1
        known = known_open(case)
        if known and not collect:
            left_out[known] = left_out.get(known, 0) + 1
            return
        # A crash kills the process; this file then names the case that did it.
        if trace:
            with open(trace, "w") as f:
                f.write(repr(case))
        if collect:
            try:
                run(case)
            except (SweepFailure, AssertionError, Exception) as e:  # noqa: BLE001
                sig = _signature(case, e)
                if sig not in failures:
                    failures[sig] = (case, f"{type(e).__name__}: {e}", known)
            return
        run(case)

    test = settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=False,
        suppress_health_check=list(HealthCheck),
    )(given(case=strategy(devices))(body))
    try:
        test()
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        print(f"{name}: FAILED after {count[0]} examples (the falsifying case is printed above; "
              f"replay it with fuzz_runner.py --replay)", flush=True)
        return 1
    print(f"{name}: {count[0]} examples, {len(failures)} distinct failures", flush=True)
    for why, n in left_out.items():
        print(f"  left out {n} cases of a known open discrepancy: {why}", flush=True)
    for sig, (case, msg, known) in failures.items():
        print("FAILURE " + json.dumps({"signature": sig, "known": known, "case": repr(case), "error": msg[:2000]}), flush=True)
    return 1 if failures else 0


def replay(text):
    case = ast.literal_eval(text)
    FAMILIES[case["family"]][1](case)
    print("passed")


def main():
    # References compute NaN and inf on purpose; the sweep compares them explicitly.
    warnings.simplefilter("ignore", RuntimeWarning)
    p = argparse.ArgumentParser()
    p.add_argument("family", nargs="?")
    p.add_argument("--examples", type=int)
    p.add_argument("--collect", action="store_true")
    p.add_argument("--devices")
    p.add_argument("--replay")
    args = p.parse_args()
    if args.replay:
        replay(args.replay)
        return 0
    scale = float(os.environ.get("FG_FUZZ_EXAMPLES", "1"))
    default = SELFTEST[2] if args.family == "selftest" else FAMILIES[args.family][2]
    examples = args.examples or int(default * scale)
    devices = args.devices.split(",") if args.devices else available_devices()
    return run_family(args.family, examples, devices, args.collect)


if __name__ == "__main__":
    sys.exit(main())
