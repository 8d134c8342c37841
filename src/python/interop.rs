//! Zero-copy interop: NumPy's array interface, and DLPack in both directions.

use crate::device::Device;
use crate::tensor::storage::CpuStorage;
use crate::tensor::{DType, Layout, Storage, Tensor};
use pyo3::exceptions::{PyBufferError, PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::ffi::{c_void, CStr};
use std::sync::Arc;

fn typestr(dt: DType) -> &'static str {
    match dt {
        DType::Bool => "|b1",
        DType::I64 => "<i8",
        DType::F32 => "<f4",
        DType::F64 => "<f8",
    }
}

fn data_ptr(t: &Tensor) -> usize {
    let base = t.storage().cpu().map(|c| c.as_ptr() as usize).unwrap_or(0);
    base + t.offset() * t.dtype().size()
}

/// `__array_interface__` (version 3): NumPy builds a view whose base keeps the tensor,
/// and so its storage, alive.
pub fn array_interface<'py>(py: Python<'py>, t: &Tensor) -> PyResult<Bound<'py, PyDict>> {
    if t.device() != Device::Cpu {
        return Err(PyTypeError::new_err(format!(
            "can't convert a {} tensor to numpy; use .to('cpu') to copy it to host memory first",
            t.device()
        )));
    }
    let d = PyDict::new(py);
    d.set_item("shape", pyo3::types::PyTuple::new(py, t.shape())?)?;
    d.set_item("typestr", typestr(t.dtype()))?;
    d.set_item("data", (data_ptr(t), false))?;
    if t.is_contiguous() {
        d.set_item("strides", py.None())?;
    } else {
        let item = t.dtype().size() as isize;
        d.set_item(
            "strides",
            pyo3::types::PyTuple::new(py, t.strides().iter().map(|s| s * item))?,
        )?;
    }
    d.set_item("version", 3)?;
    Ok(d)
}

// ----- DLPack (v0.8 ABI, unversioned "dltensor" capsules) -----

#[repr(C)]
#[derive(Clone, Copy)]
struct DLDevice {
    device_type: i32,
    device_id: i32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct DLDataType {
    code: u8,
    bits: u8,
    lanes: u16,
}

#[repr(C)]
struct DLTensor {
    data: *mut c_void,
    device: DLDevice,
    ndim: i32,
    dtype: DLDataType,
    shape: *mut i64,
    strides: *mut i64,
    byte_offset: u64,
}

#[repr(C)]
struct DLManagedTensor {
    dl_tensor: DLTensor,
    manager_ctx: *mut c_void,
    deleter: Option<unsafe extern "C" fn(*mut DLManagedTensor)>,
}

#[repr(C)]
struct DLManagedTensorVersioned {
    version: [u32; 2],
    manager_ctx: *mut c_void,
    deleter: Option<unsafe extern "C" fn(*mut DLManagedTensorVersioned)>,
    flags: u64,
    dl_tensor: DLTensor,
}

const DL_CPU: i32 = 1;
const VERSIONED_NAME: &CStr = c"dltensor_versioned";
const USED_VERSIONED_NAME: &CStr = c"used_dltensor_versioned";
const FLAG_READ_ONLY: u64 = 1;
const CAPSULE_NAME: &CStr = c"dltensor";
const USED_NAME: &CStr = c"used_dltensor";

/// What an exported DLManagedTensor owns: a handle on the storage and the shape arrays.
struct ExportCtx {
    _tensor: Tensor,
    shape: Vec<i64>,
    strides: Vec<i64>,
}

unsafe extern "C" fn export_deleter(m: *mut DLManagedTensor) {
    if m.is_null() {
        return;
    }
    let m = Box::from_raw(m);
    drop(Box::from_raw(m.manager_ctx as *mut ExportCtx));
}

unsafe extern "C" fn capsule_destructor(cap: *mut ffi::PyObject) {
    // A consumer renames the capsule to "used_dltensor" and owns the tensor from then on.
    if ffi::PyCapsule_IsValid(cap, CAPSULE_NAME.as_ptr()) == 1 {
        let m = ffi::PyCapsule_GetPointer(cap, CAPSULE_NAME.as_ptr()) as *mut DLManagedTensor;
        if let Some(d) = (*m).deleter {
            d(m);
        }
    }
}

fn dl_dtype(dt: DType) -> DLDataType {
    let (code, bits) = match dt {
        DType::Bool => (6, 8),
        DType::I64 => (0, 64),
        DType::F32 => (2, 32),
        DType::F64 => (2, 64),
    };
    DLDataType {
        code,
        bits,
        lanes: 1,
    }
}

pub fn to_dlpack<'py>(py: Python<'py>, t: &Tensor) -> PyResult<Bound<'py, PyAny>> {
    if t.device() != Device::Cpu {
        return Err(PyBufferError::new_err(format!(
            "DLPack export of {} tensors is not supported; call .to('cpu') first",
            t.device()
        )));
    }
    let mut ctx = Box::new(ExportCtx {
        _tensor: t.clone(),
        shape: t.shape().iter().map(|&d| d as i64).collect(),
        strides: t.strides().iter().map(|&s| s as i64).collect(),
    });
    let managed = Box::new(DLManagedTensor {
        dl_tensor: DLTensor {
            data: data_ptr(t) as *mut c_void,
            device: DLDevice {
                device_type: DL_CPU,
                device_id: 0,
            },
            ndim: t.ndim() as i32,
            dtype: dl_dtype(t.dtype()),
            shape: ctx.shape.as_mut_ptr(),
            strides: ctx.strides.as_mut_ptr(),
            byte_offset: 0,
        },
        manager_ctx: Box::into_raw(ctx) as *mut c_void,
        deleter: Some(export_deleter),
    });
    let raw = Box::into_raw(managed);
    // SAFETY: raw is a valid DLManagedTensor; the destructor frees it unless consumed.
    unsafe {
        let cap = ffi::PyCapsule_New(
            raw as *mut c_void,
            CAPSULE_NAME.as_ptr(),
            Some(capsule_destructor),
        );
        if cap.is_null() {
            export_deleter(raw);
            return Err(PyErr::fetch(py));
        }
        Ok(Bound::from_owned_ptr(py, cap))
    }
}

/// Keeps an imported (legacy or versioned) managed tensor alive; dropping calls the
/// producer's deleter.
enum ImportOwner {
    Legacy(*mut DLManagedTensor),
    Versioned(*mut DLManagedTensorVersioned),
}
unsafe impl Send for ImportOwner {}
unsafe impl Sync for ImportOwner {}
impl Drop for ImportOwner {
    fn drop(&mut self) {
        // SAFETY: we own the managed tensor since we renamed its capsule.
        unsafe {
            match *self {
                ImportOwner::Legacy(m) => {
                    if let Some(d) = (*m).deleter {
                        d(m)
                    }
                }
                ImportOwner::Versioned(m) => {
                    if let Some(d) = (*m).deleter {
                        d(m)
                    }
                }
            }
        }
    }
}

/// Asks the producer for a capsule, preferring DLPack 1.0 (which can say "read-only").
fn take_capsule<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    if !obj.hasattr("__dlpack__")? {
        return Ok(obj.clone());
    }
    let kwargs = PyDict::new(obj.py());
    kwargs.set_item("max_version", (1, 0))?;
    match obj.call_method("__dlpack__", (), Some(&kwargs)) {
        Ok(c) => Ok(c),
        Err(e) if e.is_instance_of::<PyTypeError>(obj.py()) => obj.call_method0("__dlpack__"),
        Err(e) => Err(e),
    }
}

/// `fg.from_dlpack(x)`: takes x's DLPack capsule and wraps its memory without copying
/// (a producer that marks its memory read-only gets copied instead).
pub fn from_dlpack(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    if obj.hasattr("__dlpack_device__")? {
        let (dev, _): (i32, i32) = obj.call_method0("__dlpack_device__")?.extract()?;
        if dev != DL_CPU {
            return Err(PyBufferError::new_err(format!(
                "from_dlpack: only CPU memory can be imported (device type {dev})"
            )));
        }
    }
    let cap = take_capsule(obj)?;
    unsafe {
        let p = cap.as_ptr();
        let (dl, owner, readonly, used): (&DLTensor, ImportOwner, bool, &CStr) =
            if ffi::PyCapsule_IsValid(p, VERSIONED_NAME.as_ptr()) == 1 {
                let m = ffi::PyCapsule_GetPointer(p, VERSIONED_NAME.as_ptr())
                    as *mut DLManagedTensorVersioned;
                if (*m).version[0] != 1 {
                    return Err(PyBufferError::new_err(format!(
                        "from_dlpack: unsupported DLPack major version {}",
                        (*m).version[0]
                    )));
                }
                (
                    &(*m).dl_tensor,
                    ImportOwner::Versioned(m),
                    (*m).flags & FLAG_READ_ONLY != 0,
                    USED_VERSIONED_NAME,
                )
            } else if ffi::PyCapsule_IsValid(p, CAPSULE_NAME.as_ptr()) == 1 {
                let m = ffi::PyCapsule_GetPointer(p, CAPSULE_NAME.as_ptr()) as *mut DLManagedTensor;
                (&(*m).dl_tensor, ImportOwner::Legacy(m), false, USED_NAME)
            } else {
                return Err(PyTypeError::new_err(
                    "from_dlpack: expected an object with __dlpack__ or an unused DLPack capsule",
                ));
            };
        if dl.device.device_type != DL_CPU {
            return Err(PyBufferError::new_err(
                "from_dlpack: only CPU memory can be imported",
            ));
        }
        let dt = match (dl.dtype.code, dl.dtype.bits, dl.dtype.lanes) {
            (2, 32, 1) => DType::F32,
            (2, 64, 1) => DType::F64,
            (0, 64, 1) => DType::I64,
            (6, 8, 1) => DType::Bool,
            (c, b, _) => {
                return Err(PyTypeError::new_err(format!(
                    "from_dlpack: unsupported dtype (code {c}, {b} bits); ferrograd supports bool, int64, float32 and float64"
                )))
            }
        };
        let nd = dl.ndim as usize;
        let shape: Vec<usize> = (0..nd).map(|i| *dl.shape.add(i) as usize).collect();
        let strides: Vec<isize> = if dl.strides.is_null() {
            crate::tensor::layout::contiguous_strides(&shape)
        } else {
            (0..nd).map(|i| *dl.strides.add(i) as isize).collect()
        };
        let mut layout = Layout {
            shape,
            strides,
            offset: 0,
        };
        let (lo, hi) = layout.storage_span();
        let len = (hi - lo).max(0) as usize;
        layout.offset = (-lo) as usize;
        let data = (dl.data as *mut u8).add(dl.byte_offset as usize);
        let base = data.offset(lo * dt.size() as isize);
        if (base as usize) % dt.size() != 0 {
            return Err(PyValueError::new_err(
                "from_dlpack: data is not aligned for its dtype",
            ));
        }
        if ffi::PyCapsule_SetName(p, used.as_ptr()) != 0 {
            return Err(PyErr::fetch(py));
        }
        let cpu = CpuStorage::foreign(base, len * dt.size(), Box::new(owner));
        let t = Tensor::from_parts(Arc::new(Storage::from_cpu(cpu, dt, len)), layout);
        if readonly {
            return Ok(t.deep_copy()?);
        }
        Ok(t)
    }
}
