"""Runs the Python Array API standard's conformance suite (data-apis/array-api-tests)
against ferrograd and checks the pass rate.

    python scripts/array_api_conformance.py [--max-examples N] [--min-pass 0.95]

The suite is not part of this repository: point ARRAY_API_TESTS_DIR at a checkout of
it (https://github.com/data-apis/array-api-tests, with its array-api submodule). Without
the variable, a folder named array-api-tests beside the project (or one level further
out) is used when there is one. Without a suite the script says so and exits 0: a fresh
clone has nothing to run.

The suite is copied to a temporary folder (it writes caches next to itself), run with a
bounded number of hypothesis examples per test, and its summary is printed: the counts,
then every failing test with the first line of its error. The exit status is 1 when
fewer than --min-pass of the tests that ran passed.
"""

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def find_suite():
    env = os.environ.get("ARRAY_API_TESTS_DIR")
    if env:
        return env if os.path.isdir(env) else None
    parent = os.path.dirname(ROOT)
    for pattern in ("array-api-tests", os.path.join("*", "array-api-tests")):
        for path in sorted(glob.glob(os.path.join(parent, pattern))):
            if os.path.isdir(os.path.join(path, "array_api_tests")):
                return path
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-examples", type=int, default=10)
    ap.add_argument("--min-pass", type=float, default=0.95)
    ap.add_argument("pytest_args", nargs="*", help="extra pytest arguments (e.g. a test file)")
    args = ap.parse_args()
    suite = find_suite()
    if suite is None:
        print("array-api-tests not found (set ARRAY_API_TESTS_DIR): conformance run skipped")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        work = os.path.join(tmp, "suite")
        shutil.copytree(suite, work)
        for dirpath, _, files in os.walk(work):  # a read-only source stays read-only
            os.chmod(dirpath, 0o755)
            for f in files:
                os.chmod(os.path.join(dirpath, f), 0o644)
        env = dict(os.environ, ARRAY_API_TESTS_MODULE="ferrograd")
        targets = args.pytest_args or ["array_api_tests"]
        cmd = [sys.executable, "-m", "pytest", *targets, f"--max-examples={args.max_examples}",
               "-p", "no:cacheprovider", "-q", "--tb=line", "-W", "ignore", "-rf",
               "--hypothesis-seed=0"]
        print("running:", " ".join(cmd), flush=True)
        proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True)
    out = proc.stdout + proc.stderr
    failed = [line for line in out.splitlines() if line.startswith("FAILED ")]
    counts = {k: int(v) for v, k in re.findall(r"(\d+) (passed|failed|skipped|xfailed|errors?)", out.splitlines()[-1] if out.strip() else "")}
    passed, nfail = counts.get("passed", 0), counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0)
    ran = passed + nfail
    for line in failed:
        print(line)
    print(out.splitlines()[-1] if out.strip() else "no output")
    if ran == 0:
        print("no test ran:\n" + out[-3000:])
        return 1
    rate = passed / ran
    print(f"array-api-tests: {passed} of {ran} passed ({rate:.1%}), {counts.get('skipped', 0)} skipped; "
          f"goal {args.min_pass:.0%}")
    return 0 if rate >= args.min_pass else 1


if __name__ == "__main__":
    sys.exit(main())
