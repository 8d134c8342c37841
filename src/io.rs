//! Checkpoints in the [safetensors](https://github.com/huggingface/safetensors) format:
//! a list of named tensors (a state dict) saved to and loaded from one file.
//!
//! - dtypes map one to one: float32 `F32`, float64 `F64`, int64 `I64`, bool `BOOL`, so
//!   every value round-trips bit for bit. Files holding other dtypes (F16, I32, ...)
//!   are refused with a clear error rather than converted silently.
//! - safetensors sorts its header by name; the original order is kept in the header
//!   metadata under `"__order__"` (a JSON list of names) and restored by [`load`].
//!   Files written by other tools (no `"__order__"`) load in the order of their data.
//! - Writes are atomic: the bytes go to a temporary file in the same directory, which is
//!   fsynced and then renamed over the target, so a crash or an error never leaves a
//!   half-written checkpoint and an existing file survives a failed save.
//!
//! ```
//! use ferrograd::{io, Tensor};
//! let dir = std::env::temp_dir().join(format!("fg-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("ckpt.safetensors");
//! let w = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3]).unwrap();
//! io::save(&path, &[("w".to_string(), w)]).unwrap();
//! let back = io::load(&path).unwrap();
//! assert_eq!(back[0].0, "w");
//! assert_eq!(back[0].1.to_vec::<f32>().unwrap(), vec![1.0, 2.0, 3.0]);
//! std::fs::remove_dir_all(&dir).unwrap();
//! ```

use crate::tensor::{DType, Tensor};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The metadata key that stores the original order of the names.
pub const ORDER_KEY: &str = "__order__";

/// What can go wrong saving or loading a checkpoint.
#[derive(Debug)]
pub enum CheckpointError {
    /// The file system refused (missing file, permissions, disk full...).
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not a valid safetensors file (truncated, garbage, bad header) or
    /// holds something ferrograd cannot represent.
    Format { path: PathBuf, msg: String },
    /// A tensor-level error (for instance a GPU tensor that cannot be read back).
    Tensor(crate::Error),
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckpointError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            CheckpointError::Format { path, msg } => write!(
                f,
                "'{}' is not a valid safetensors checkpoint: {msg}",
                path.display()
            ),
            CheckpointError::Tensor(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for CheckpointError {}

impl From<crate::Error> for CheckpointError {
    fn from(e: crate::Error) -> Self {
        CheckpointError::Tensor(e)
    }
}

fn st_dtype(d: DType) -> Dtype {
    match d {
        DType::Bool => Dtype::BOOL,
        DType::I64 => Dtype::I64,
        DType::F32 => Dtype::F32,
        DType::F64 => Dtype::F64,
    }
}

/// Little-endian bytes of a tensor's elements in row-major order (copies to the CPU).
fn tensor_bytes(t: &Tensor) -> crate::Result<Vec<u8>> {
    Ok(match t.dtype() {
        DType::F32 => t
            .to_vec::<f32>()?
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect(),
        DType::F64 => t
            .to_vec::<f64>()?
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect(),
        DType::I64 => t
            .to_vec::<i64>()?
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect(),
        DType::Bool => t.to_vec::<bool>()?.iter().map(|&v| v as u8).collect(),
    })
}

fn from_bytes(dtype: Dtype, shape: &[usize], data: &[u8]) -> Result<Tensor, String> {
    fn chunks<const N: usize>(data: &[u8]) -> impl Iterator<Item = [u8; N]> + '_ {
        data.chunks_exact(N).map(|c| c.try_into().unwrap())
    }
    let r = match dtype {
        Dtype::F32 => Tensor::from_vec(chunks::<4>(data).map(f32::from_le_bytes).collect(), shape),
        Dtype::F64 => Tensor::from_vec(chunks::<8>(data).map(f64::from_le_bytes).collect(), shape),
        Dtype::I64 => Tensor::from_vec(chunks::<8>(data).map(i64::from_le_bytes).collect(), shape),
        Dtype::BOOL => {
            if let Some(b) = data.iter().find(|&&b| b > 1) {
                return Err(format!("invalid bool byte {b}"));
            }
            Tensor::from_vec(data.iter().map(|&b| b != 0).collect::<Vec<bool>>(), shape)
        }
        other => {
            return Err(format!(
                "unsupported dtype {other:?} (ferrograd reads BOOL, I64, F32 and F64)"
            ))
        }
    };
    r.map_err(|e| e.to_string())
}

/// Serializes named tensors to safetensors bytes, keeping their order in the metadata.
pub fn to_bytes(tensors: &[(String, Tensor)]) -> Result<Vec<u8>, CheckpointError> {
    let fmt_err = |msg: String| CheckpointError::Format {
        path: PathBuf::from("<memory>"),
        msg,
    };
    let mut seen = std::collections::HashSet::new();
    for (name, _) in tensors {
        if !seen.insert(name.as_str()) {
            return Err(fmt_err(format!("duplicate tensor name '{name}'")));
        }
    }
    let bytes: Vec<(Vec<usize>, Dtype, Vec<u8>)> = tensors
        .iter()
        .map(|(_, t)| Ok((t.shape().to_vec(), st_dtype(t.dtype()), tensor_bytes(t)?)))
        .collect::<crate::Result<_>>()?;
    let views = tensors
        .iter()
        .zip(&bytes)
        .map(|((name, _), (shape, dt, data))| {
            TensorView::new(*dt, shape.clone(), data)
                .map(|v| (name.clone(), v))
                .map_err(|e| fmt_err(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let order: Vec<&str> = tensors.iter().map(|(n, _)| n.as_str()).collect();
    let order = serde_json::to_string(&order).map_err(|e| fmt_err(e.to_string()))?;
    let meta = HashMap::from([(ORDER_KEY.to_string(), order)]);
    safetensors::serialize(views, Some(meta)).map_err(|e| fmt_err(e.to_string()))
}

/// Parses safetensors bytes into named CPU tensors, in the saved order.
pub fn from_safetensors_bytes(data: &[u8]) -> Result<Vec<(String, Tensor)>, String> {
    let (_, meta) = SafeTensors::read_metadata(data).map_err(|e| e.to_string())?;
    let st = SafeTensors::deserialize(data).map_err(|e| e.to_string())?;
    let mut names: Vec<String> = match meta.metadata().as_ref().and_then(|m| m.get(ORDER_KEY)) {
        Some(order) => serde_json::from_str(order).map_err(|e| format!("bad {ORDER_KEY}: {e}"))?,
        None => {
            let infos = meta.tensors();
            let mut v: Vec<(usize, String)> = infos
                .iter()
                .map(|(n, info)| (info.data_offsets.0, n.clone()))
                .collect();
            v.sort();
            v.into_iter().map(|(_, n)| n).collect()
        }
    };
    if names.len() != st.len() {
        return Err(format!(
            "{ORDER_KEY} lists {} names but the file holds {} tensors",
            names.len(),
            st.len()
        ));
    }
    names
        .drain(..)
        .map(|name| {
            let view = st
                .tensor(&name)
                .map_err(|e| format!("tensor '{name}': {e}"))?;
            let t = from_bytes(view.dtype(), view.shape(), view.data())
                .map_err(|e| format!("tensor '{name}': {e}"))?;
            Ok((name, t))
        })
        .collect()
}

static TMP_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Writes `bytes` to `path` atomically: temporary file in the same directory, fsync,
/// rename, then (best effort) fsync of the directory so the rename itself is durable.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    let io_err = |source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| io_err(std::io::Error::other("the path names no file")))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{}",
        file_name.to_string_lossy(),
        std::process::id(),
        TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_err(e));
    }
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Saves named tensors to `path` (atomically; see the module docs). Names must be unique.
pub fn save(path: impl AsRef<Path>, tensors: &[(String, Tensor)]) -> Result<(), CheckpointError> {
    let path = path.as_ref();
    let bytes = to_bytes(tensors).map_err(|e| match e {
        CheckpointError::Format { msg, .. } => CheckpointError::Format {
            path: path.to_path_buf(),
            msg,
        },
        e => e,
    })?;
    write_atomic(path, &bytes)
}

/// Loads the named tensors of a safetensors file, in the order they were saved.
pub fn load(path: impl AsRef<Path>) -> Result<Vec<(String, Tensor)>, CheckpointError> {
    let path = path.as_ref();
    let data = std::fs::read(path).map_err(|source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    from_safetensors_bytes(&data).map_err(|msg| CheckpointError::Format {
        path: path.to_path_buf(),
        msg,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("fg-io-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn round_trip_keeps_order_and_dtypes() {
        let d = tmpdir("rt");
        let p = d.join("a.safetensors");
        let items = vec![
            (
                "z".to_string(),
                Tensor::from_vec(vec![1.5f64, -2.0], &[2]).unwrap(),
            ),
            (
                "a".to_string(),
                Tensor::from_vec(vec![true, false, true], &[3]).unwrap(),
            ),
            ("m".to_string(), Tensor::scalar(7i64)),
            (
                "b".to_string(),
                Tensor::from_vec(vec![0.25f32; 6], &[2, 3]).unwrap(),
            ),
        ];
        save(&p, &items).unwrap();
        let back = load(&p).unwrap();
        let names: Vec<&str> = back.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["z", "a", "m", "b"]);
        assert_eq!(back[0].1.to_vec::<f64>().unwrap(), vec![1.5, -2.0]);
        assert_eq!(back[1].1.to_vec::<bool>().unwrap(), vec![true, false, true]);
        assert_eq!(back[2].1.shape(), &[] as &[usize]);
        assert_eq!(back[2].1.to_vec::<i64>().unwrap(), vec![7]);
        assert_eq!(back[3].1.shape(), &[2, 3]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn truncated_and_missing_files_error() {
        let d = tmpdir("bad");
        let p = d.join("t.safetensors");
        save(
            &p,
            &[("w".into(), Tensor::from_vec(vec![1f32; 8], &[8]).unwrap())],
        )
        .unwrap();
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() - 3]).unwrap();
        assert!(matches!(load(&p), Err(CheckpointError::Format { .. })));
        assert!(matches!(
            load(d.join("nope")),
            Err(CheckpointError::Io { .. })
        ));
        std::fs::remove_dir_all(&d).unwrap();
    }
}
