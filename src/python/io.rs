//! Bindings for `crate::io` (safetensors checkpoints): `_core._save_tensors` and
//! `_core._load_tensors`. The dict handling (types, OrderedDict) is in
//! `python/ferrograd/serialization.py`.

use super::tensor::{run, PyTensor};
use crate::io::CheckpointError;
use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyPermissionError, PyValueError};
use pyo3::prelude::*;
use std::path::PathBuf;

fn to_py(e: CheckpointError) -> PyErr {
    let msg = e.to_string();
    match e {
        CheckpointError::Io { source, .. } => match source.kind() {
            std::io::ErrorKind::NotFound => PyFileNotFoundError::new_err(msg),
            std::io::ErrorKind::PermissionDenied => PyPermissionError::new_err(msg),
            _ => PyOSError::new_err(msg),
        },
        CheckpointError::Format { .. } => PyValueError::new_err(msg),
        CheckpointError::Tensor(e) => e.into(),
    }
}

fn run_io<R: Send>(
    py: Python<'_>,
    f: impl FnOnce() -> Result<R, CheckpointError> + Send,
) -> PyResult<R> {
    // Large files: release the GIL (the work size is unknown up front, so always).
    let mut out = None;
    run(py, usize::MAX, || {
        out = Some(f());
        Ok(())
    })?;
    out.expect("run_io: closure ran").map_err(to_py)
}

/// Saves `names[i] -> tensors[i]` to `path` atomically (safetensors format).
#[pyfunction]
fn _save_tensors(
    py: Python<'_>,
    path: PathBuf,
    names: Vec<String>,
    tensors: Vec<PyRef<'_, PyTensor>>,
) -> PyResult<()> {
    let items: Vec<(String, crate::Tensor)> = names
        .into_iter()
        .zip(tensors.iter().map(|t| t.t.detach()))
        .collect();
    run_io(py, move || crate::io::save(&path, &items))
}

/// Loads a safetensors file as a list of `(name, Tensor)` in the saved order.
#[pyfunction]
fn _load_tensors(py: Python<'_>, path: PathBuf) -> PyResult<Vec<(String, PyTensor)>> {
    let items = run_io(py, move || crate::io::load(&path))?;
    Ok(items
        .into_iter()
        .map(|(n, t)| (n, PyTensor { t }))
        .collect())
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_save_tensors, m)?)?;
    m.add_function(wrap_pyfunction!(_load_tensors, m)?)?;
    Ok(())
}
