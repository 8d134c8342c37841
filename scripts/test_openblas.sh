#!/usr/bin/env bash
# Runs the matmul tests with the optional `openblas` cargo feature (float32/float64
# products on the system's OpenBLAS). Needs libopenblas-dev: installed when missing and
# this runs as root with apt-get (as in CI); elsewhere, without it, says so and stops.
set -eu
has_openblas() { ldconfig -p 2>/dev/null | grep -q 'libopenblas\.so '; }
if ! has_openblas && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    echo "test_openblas: installing libopenblas-dev"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas-dev >/dev/null) || true
fi
if ! has_openblas; then
    echo "test_openblas: no libopenblas.so here (apt-get install libopenblas-dev); openblas feature not tested"
    exit 0
fi
cargo test --release --no-default-features --features openblas --lib ops::matmul
