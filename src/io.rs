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
//!   fsynced and then renamed over the target (and the directory fsynced), so a crash or
//!   an error never leaves a half-written checkpoint at the target and an existing file
//!   survives a failed save. A killed save leaves its temporary
//!   (`.<name>.tmp.<pid>.<n>`) behind; the next save to the same path removes it
//!   (see [`atomic`]).
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
use std::path::{Path, PathBuf};

pub mod atomic;

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

// The byte copies below write tensors in the host's byte order; safetensors files are
// little-endian, as every platform ferrograd builds for.
#[cfg(not(target_endian = "little"))]
compile_error!("ferrograd's safetensors I/O assumes a little-endian host");

/// The safetensors dtype of each ferrograd dtype (complex128 has none).
const ST_DTYPES: [(DType, Dtype); 14] = [
    (DType::Bool, Dtype::BOOL),
    (DType::I8, Dtype::I8),
    (DType::I16, Dtype::I16),
    (DType::I32, Dtype::I32),
    (DType::I64, Dtype::I64),
    (DType::U8, Dtype::U8),
    (DType::U16, Dtype::U16),
    (DType::U32, Dtype::U32),
    (DType::U64, Dtype::U64),
    (DType::F16, Dtype::F16),
    (DType::BF16, Dtype::BF16),
    (DType::F32, Dtype::F32),
    (DType::F64, Dtype::F64),
    (DType::C64, Dtype::C64),
];

fn st_dtype(d: DType) -> crate::Result<Dtype> {
    match ST_DTYPES.iter().find(|(f, _)| *f == d) {
        Some(&(_, s)) => Ok(s),
        None => crate::bail!(
            DType,
            "safetensors has no {d} dtype; cast the tensor (e.g. to a pair of float64 with .real and .imag) before saving"
        ),
    }
}

/// The tensor's elements in row-major order as bytes (copies to the CPU).
fn tensor_bytes(t: &Tensor) -> crate::Result<Vec<u8>> {
    let c = t.to_device(crate::Device::Cpu)?.contiguous()?;
    let bytes = c.numel() * c.dtype().size();
    let mut out = crate::tensor::storage::try_with_capacity::<u8>(bytes)?;
    if bytes > 0 {
        let p = c.storage().cpu_byte_ptr();
        // SAFETY: `c` is a contiguous CPU tensor, so its numel elements of dtype size
        // bytes each start at offset * size inside its storage; every element type is
        // plain data without padding (bool is one byte, 0 or 1).
        out.extend_from_slice(unsafe {
            std::slice::from_raw_parts(p.add(c.offset() * c.dtype().size()), bytes)
        });
    }
    Ok(out)
}

fn from_bytes(dtype: Dtype, shape: &[usize], data: &[u8]) -> Result<Tensor, String> {
    let Some(&(dt, _)) = ST_DTYPES.iter().find(|(_, s)| *s == dtype) else {
        return Err(format!(
            "unsupported dtype {dtype:?} (ferrograd reads BOOL, I8/16/32/64, U8/16/32/64, F16, BF16, F32, F64 and C64)"
        ));
    };
    if dt == DType::Bool {
        if let Some(b) = data.iter().find(|&&b| b > 1) {
            return Err(format!("invalid bool byte {b}"));
        }
    }
    let n: usize = shape.iter().product();
    if data.len() != n * dt.size() {
        return Err(format!(
            "{} bytes of data for a {dt} tensor of shape {shape:?}",
            data.len()
        ));
    }
    let t = crate::ops::copy::uninit_cpu(dt, shape).map_err(|e| e.to_string())?;
    if !data.is_empty() {
        // SAFETY: `t` is a fresh contiguous buffer of exactly data.len() bytes (checked
        // above), and the bytes are valid elements of dt (bools checked to be 0 or 1).
        unsafe {
            std::ptr::copy_nonoverlapping(data.as_ptr(), t.storage().cpu_byte_ptr(), data.len())
        };
    }
    Ok(t)
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
        .map(|(_, t)| Ok((t.shape().to_vec(), st_dtype(t.dtype())?, tensor_bytes(t)?)))
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

/// Checks that the saved order names every tensor of the file exactly once: a repeated
/// name would load one tensor twice and drop another without a word.
fn check_order(names: &[String], st: &SafeTensors<'_>) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for name in names {
        if !seen.insert(name.as_str()) {
            return Err(format!(
                "{ORDER_KEY} metadata names '{name}' more than once"
            ));
        }
    }
    let held: std::collections::HashSet<&str> = st.names().into_iter().collect();
    if let Some(name) = names.iter().find(|n| !held.contains(n.as_str())) {
        return Err(format!(
            "{ORDER_KEY} metadata names '{name}', which the file does not hold"
        ));
    }
    let mut missing: Vec<&str> = held.into_iter().filter(|n| !seen.contains(n)).collect();
    if !missing.is_empty() {
        missing.sort_unstable();
        return Err(format!(
            "the file holds tensors missing from its {ORDER_KEY} metadata: '{}'",
            missing.join("', '")
        ));
    }
    Ok(())
}

/// Parses safetensors bytes into named CPU tensors, in the saved order.
pub fn from_safetensors_bytes(data: &[u8]) -> Result<Vec<(String, Tensor)>, String> {
    let (_, meta) = SafeTensors::read_metadata(data).map_err(|e| e.to_string())?;
    let st = SafeTensors::deserialize(data).map_err(|e| e.to_string())?;
    let names: Vec<String> = match meta.metadata().as_ref().and_then(|m| m.get(ORDER_KEY)) {
        Some(order) => {
            let names: Vec<String> = serde_json::from_str(order)
                .map_err(|e| format!("bad {ORDER_KEY} metadata: {e}"))?;
            check_order(&names, &st)?;
            names
        }
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
    names
        .into_iter()
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

/// Writes `bytes` to `path` atomically (see [`atomic`]): a locked temporary file in the
/// same directory, fsync, rename over `path`, fsync of the directory. Temporaries left
/// by killed saves to `path` are removed first.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    atomic::write_atomic(path, bytes).map_err(|source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    })
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

    /// A file holding tensors `a` and `b` whose metadata says `order` (raw JSON).
    fn with_order(order: &str) -> Vec<u8> {
        let data = [0u8; 8];
        let views = ["a", "b"].map(|n| (n, TensorView::new(Dtype::F32, vec![2], &data).unwrap()));
        let meta = HashMap::from([(ORDER_KEY.to_string(), order.to_string())]);
        safetensors::serialize(views, Some(meta)).unwrap()
    }

    #[test]
    fn order_metadata_must_name_each_tensor_once() {
        let names = |order: &str| {
            from_safetensors_bytes(&with_order(order))
                .map(|v| v.into_iter().map(|(n, _)| n).collect::<Vec<_>>())
        };
        assert_eq!(names(r#"["b", "a"]"#).unwrap(), ["b", "a"]);
        let err = names(r#"["a", "a"]"#).unwrap_err();
        assert!(err.contains("'a' more than once"), "{err}");
        let err = names(r#"["a", "b", "c"]"#).unwrap_err();
        assert!(err.contains("'c', which the file does not hold"), "{err}");
        let err = names(r#"["b"]"#).unwrap_err();
        assert!(
            err.contains("missing from its __order__ metadata: 'a'"),
            "{err}"
        );
        let err = names(r#"{"a": 1}"#).unwrap_err();
        assert!(err.contains("bad __order__ metadata"), "{err}");
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
