#!/usr/bin/env bash
# Runs every CPU benchmark table (compare.py, nn_compare.py, train_step.py) at one CPU
# capability level, so one AVX-512 machine gives both the AVX-512 and the AVX2 tables.
#
#   benches/cpu_levels.sh LEVEL OUTDIR [CPUS]
#
# LEVEL: `best` (what the CPU has) or `avx2`. With `avx2` every library is held to
# AVX2, not only ferrograd's own kernels:
#   FERROGRAD_CPU_CAPABILITY=avx2  ferrograd's kernels, float32 matmul included (its own
#                                  AVX2 GEMM; float64 stays on the gemm crate, which
#                                  keeps its AVX-512 kernels)
#   OPENBLAS_CORETYPE=Haswell      NumPy's OpenBLAS
#   ATEN_CPU_CAPABILITY=avx2       PyTorch's own kernels
#   MKL_ENABLE_INSTRUCTIONS=AVX2   PyTorch's MKL
#   ONEDNN_MAX_CPU_ISA=AVX2        PyTorch's oneDNN
# CPUS (optional, e.g. 2,3): pins the whole run to those CPUs with taskset, so that two
# levels can run side by side on separate cores of a larger machine.
# PYTHON (default python3) must have numpy and torch; the ferrograd package is taken
# from PYTHONPATH (default: python/ of this checkout). QUICK=1: a smoke run (compare.py
# --quick, nn_compare.py's cross-entropy cases only, 5 training steps).
set -euo pipefail
level=${1:?level: best or avx2}
out=${2:?output directory}
cpus=${3:-}
py=${PYTHON:-python3}
cd "$(dirname "$0")/.."
export PYTHONPATH=${PYTHONPATH:-python} PYTHONUNBUFFERED=1
case $level in
    best) ;;
    avx2)
        export FERROGRAD_CPU_CAPABILITY=avx2 OPENBLAS_CORETYPE=Haswell ATEN_CPU_CAPABILITY=avx2 \
            MKL_ENABLE_INSTRUCTIONS=AVX2 ONEDNN_MAX_CPU_ISA=AVX2 ;;
    *) echo "level must be best or avx2" >&2; exit 2 ;;
esac
pin=()
if [ -n "$cpus" ]; then
    if command -v taskset >/dev/null; then pin=(taskset -c "$cpus"); else echo "no taskset: not pinned" >&2; fi
fi
quick=()
nn=()
steps=20
if [ "${QUICK:-0}" = 1 ]; then quick=(--quick); nn=(CrossEntropy); steps=5; fi
mkdir -p "$out"
run() {  # name, script and arguments
    local name=$1; shift
    echo "== $level: $name" >&2
    "${pin[@]}" "$py" "$@" >"$out/$name.txt" 2>"$out/$name.err" || {
        echo "$name failed:" >&2; tail -5 "$out/$name.err" >&2; return 1; }
}
"$py" -c "import ferrograd as fg; print('ferrograd capability:', fg.get_cpu_capability())" >"$out/level.txt"
run compare benches/compare.py "${quick[@]}" --json "$out/compare.json"
run nn_compare benches/nn_compare.py "${nn[@]}"
run train_step benches/train_step.py --steps $steps
