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

/// NumPy's type string for a dtype; bfloat16, which NumPy lacks, is exported as its raw
/// 16 bits ("<u2": `t.numpy()` views them as ml_dtypes.bfloat16 when that is installed).
pub fn typestr(dt: DType) -> &'static str {
    use DType::*;
    match dt {
        Bool => "|b1",
        I8 => "|i1",
        I16 => "<i2",
        I32 => "<i4",
        I64 => "<i8",
        U8 => "|u1",
        U16 => "<u2",
        U32 => "<u4",
        U64 => "<u8",
        F16 => "<f2",
        BF16 => "<u2",
        F32 => "<f4",
        F64 => "<f8",
        C64 => "<c8",
        C128 => "<c16",
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
    if t.dtype() == DType::BF16 {
        // NumPy has no bfloat16: without the interface NumPy falls back to __array__,
        // which gives ml_dtypes' bfloat16 or float32 values, never the raw bits.
        return Err(pyo3::exceptions::PyAttributeError::new_err(
            "bfloat16 tensors have no __array_interface__ (NumPy has no bfloat16); use __array__",
        ));
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

/// The deleter of an exported tensor: frees the struct and its context.
///
/// # Safety
/// `m` is null or a pointer made by `to_dlpack` whose deleter has not run yet.
unsafe extern "C" fn export_deleter(m: *mut DLManagedTensor) {
    if m.is_null() {
        return;
    }
    // SAFETY: `to_dlpack` made both boxes with Box::into_raw and the contract says this
    // is the one call, so each is reclaimed exactly once.
    let m = Box::from_raw(m);
    drop(Box::from_raw(m.manager_ctx as *mut ExportCtx));
}

/// Destructor of an exported capsule. A consumer renames the capsule to
/// "used_dltensor" and owns the tensor from then on; an unused one is still ours.
///
/// # Safety
/// Python calls it once, with the capsule being destroyed.
unsafe extern "C" fn capsule_destructor(cap: *mut ffi::PyObject) {
    // SAFETY: IsValid checks the name and a non-null pointer without raising; a valid
    // "dltensor" capsule of ours holds the pointer `to_dlpack` made.
    if ffi::PyCapsule_IsValid(cap, CAPSULE_NAME.as_ptr()) == 1 {
        let m = ffi::PyCapsule_GetPointer(cap, CAPSULE_NAME.as_ptr()) as *mut DLManagedTensor;
        if let Some(d) = (*m).deleter {
            d(m);
        }
    }
}

fn dl_dtype(dt: DType) -> DLDataType {
    use crate::tensor::dtype::Kind;
    // DLPack's type codes: kDLInt 0, kDLUInt 1, kDLFloat 2, kDLBfloat 4, kDLComplex 5,
    // kDLBool 6.
    let code = match dt.kind() {
        Kind::SignedInt => 0,
        Kind::UnsignedInt => 1,
        Kind::Float if dt == DType::BF16 => 4,
        Kind::Float => 2,
        Kind::Complex => 5,
        Kind::Bool => 6,
    };
    let bits = (dt.size() * 8) as u8;
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
    // SAFETY: raw is a valid DLManagedTensor that nothing else references. If the
    // capsule cannot be made, we free it here; otherwise the capsule's destructor frees
    // it unless a consumer renamed the capsule, and then the consumer calls the deleter.
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

/// A producer's managed tensor, legacy or versioned.
#[derive(Clone, Copy)]
enum Managed {
    Legacy(*mut DLManagedTensor),
    Versioned(*mut DLManagedTensorVersioned),
}

/// Owning an imported managed tensor means owing the producer exactly one call of its
/// deleter, which `Drop` makes.
struct ImportOwner(Managed);
// SAFETY: a DLPack deleter may be called from any thread (the spec requires producers
// to take whatever lock, e.g. the GIL, they need), and nothing else touches the struct.
unsafe impl Send for ImportOwner {}
unsafe impl Sync for ImportOwner {}
impl Drop for ImportOwner {
    fn drop(&mut self) {
        // SAFETY: an ImportOwner is only made (in `from_dlpack`) right after the capsule
        // was renamed to "used_...", which hands the managed tensor to us; the capsule's
        // destructor ignores used capsules, so this is the one deleter call.
        unsafe {
            match self.0 {
                Managed::Legacy(m) => {
                    if let Some(d) = (*m).deleter {
                        d(m)
                    }
                }
                Managed::Versioned(m) => {
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

/// A capsule's managed tensor, looked at but not taken: until the capsule is renamed
/// the producer's capsule destructor still owns it, so a rejection just returns.
struct Opened {
    managed: Managed,
    readonly: bool,
    used: &'static CStr,
}

impl Opened {
    /// # Safety
    /// The capsule it came from is alive and unused (so the producer keeps the struct).
    unsafe fn dl_tensor(&self) -> &DLTensor {
        match self.managed {
            Managed::Legacy(m) => &(*m).dl_tensor,
            Managed::Versioned(m) => &(*m).dl_tensor,
        }
    }
}

/// Finds the managed tensor in an unused "dltensor" or "dltensor_versioned" capsule.
///
/// # Safety
/// `p` is a live Python object (the caller holds a reference and the GIL).
unsafe fn open_capsule(p: *mut ffi::PyObject) -> PyResult<Opened> {
    let bad = || {
        PyTypeError::new_err(
            "from_dlpack: expected an object with __dlpack__ or an unused DLPack capsule",
        )
    };
    if ffi::PyCapsule_IsValid(p, VERSIONED_NAME.as_ptr()) == 1 {
        // IsValid checked the name and a non-null pointer, so GetPointer cannot fail.
        let m =
            ffi::PyCapsule_GetPointer(p, VERSIONED_NAME.as_ptr()) as *mut DLManagedTensorVersioned;
        if m.is_null() {
            return Err(bad());
        }
        // Every DLPack major version starts with the version field, so it can be read
        // before we know the rest of the layout.
        let major = (*m).version[0];
        if major != 1 {
            return Err(PyBufferError::new_err(format!(
                "from_dlpack: unsupported DLPack major version {major} (ferrograd reads 1)"
            )));
        }
        Ok(Opened {
            managed: Managed::Versioned(m),
            readonly: (*m).flags & FLAG_READ_ONLY != 0,
            used: USED_VERSIONED_NAME,
        })
    } else if ffi::PyCapsule_IsValid(p, CAPSULE_NAME.as_ptr()) == 1 {
        let m = ffi::PyCapsule_GetPointer(p, CAPSULE_NAME.as_ptr()) as *mut DLManagedTensor;
        if m.is_null() {
            return Err(bad());
        }
        Ok(Opened {
            managed: Managed::Legacy(m),
            readonly: false,
            used: USED_NAME,
        })
    } else {
        Err(bad())
    }
}

fn import_dtype(t: DLDataType) -> PyResult<DType> {
    if t.lanes == 1 {
        let found = DType::ALL
            .into_iter()
            .find(|&d| dl_dtype(d).code == t.code && dl_dtype(d).bits == t.bits);
        if let Some(d) = found {
            return Ok(d);
        }
    }
    let (c, b, l) = (t.code, t.bits, t.lanes);
    let name = match (c, b) {
        (2, b) => format!("float{b}"),
        (0, b) => format!("int{b}"),
        (1, b) => format!("uint{b}"),
        (5, b) => format!("complex{b}"),
        _ => format!("type code {c} with {b} bits"),
    };
    let lanes = if l != 1 {
        format!(" x {l} lanes")
    } else {
        String::new()
    };
    Err(PyTypeError::new_err(format!(
        "from_dlpack: unsupported dtype {name}{lanes}; ferrograd supports bool, int8/16/32/64, uint8/16/32/64, float16, bfloat16, float32, float64, complex64 and complex128"
    )))
}

/// What a DLTensor describes, checked: the view's layout over a buffer that starts at
/// `base` and holds `len` elements.
struct Imported {
    dtype: DType,
    layout: Layout,
    base: *mut u8,
    len: usize,
}

/// Reads and checks a DLTensor's fields. Every size and address is computed with
/// checked arithmetic on integers, so a hostile or corrupt header gets an error, never
/// an out-of-bounds view.
///
/// # Safety
/// `dl.shape` (and `dl.strides`, when not null) point to `dl.ndim` values, as DLPack
/// requires of the producer.
unsafe fn import_layout(dl: &DLTensor) -> PyResult<Imported> {
    if dl.device.device_type != DL_CPU {
        return Err(PyBufferError::new_err(format!(
            "from_dlpack: only CPU memory can be imported (device type {})",
            dl.device.device_type
        )));
    }
    let dtype = import_dtype(dl.dtype)?;
    let item = dtype.size();
    let overflow = || PyValueError::new_err("from_dlpack: the tensor's size overflows");
    let nd = usize::try_from(dl.ndim)
        .map_err(|_| PyValueError::new_err(format!("from_dlpack: negative ndim {}", dl.ndim)))?;
    if nd > 0 && dl.shape.is_null() {
        return Err(PyValueError::new_err("from_dlpack: null shape pointer"));
    }
    let mut shape = Vec::with_capacity(nd);
    for i in 0..nd {
        // SAFETY: shape holds nd values (caller's contract), i < nd.
        let d = *dl.shape.add(i);
        let d = usize::try_from(d).map_err(|_| {
            PyValueError::new_err(format!("from_dlpack: negative dimension {d} in the shape"))
        })?;
        shape.push(d);
    }
    let numel = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(overflow)?;
    // Row-major strides, checked (a zero-size shape may have huge other dimensions).
    let mut compact = vec![0isize; nd];
    let mut acc = 1isize;
    for i in (0..nd).rev() {
        compact[i] = acc;
        acc = acc.saturating_mul(shape[i].max(1) as isize);
    }
    if numel == 0 {
        // Nothing is ever read: no pointer to check (it may be null), no span.
        return Ok(Imported {
            dtype,
            layout: Layout {
                shape: shape.into(),
                strides: compact.into(),
                offset: 0,
            },
            base: std::ptr::null_mut(),
            len: 0,
        });
    }
    let strides: Vec<isize> = if dl.strides.is_null() {
        if acc == isize::MAX {
            return Err(overflow());
        }
        compact
    } else {
        // SAFETY: strides holds nd values when not null (caller's contract).
        (0..nd)
            .map(|i| isize::try_from(*dl.strides.add(i)).map_err(|_| overflow()))
            .collect::<PyResult<_>>()?
    };
    // The element span [lo, hi) the view touches, relative to data + byte_offset.
    let (mut lo, mut hi) = (0isize, 0isize);
    for (&d, &s) in shape.iter().zip(&strides) {
        let ext = (d as isize - 1).checked_mul(s).ok_or_else(overflow)?;
        if ext < 0 {
            lo = lo.checked_add(ext).ok_or_else(overflow)?;
        } else {
            hi = hi.checked_add(ext).ok_or_else(overflow)?;
        }
    }
    let len = hi
        .checked_sub(lo)
        .and_then(|n| n.checked_add(1))
        .ok_or_else(overflow)? as usize;
    len.checked_mul(item)
        .filter(|&b| b <= isize::MAX as usize)
        .ok_or_else(overflow)?;
    if dl.data.is_null() {
        return Err(PyValueError::new_err(
            "from_dlpack: null data pointer for a non-empty tensor",
        ));
    }
    let start = (dl.data as usize)
        .checked_add(usize::try_from(dl.byte_offset).map_err(|_| overflow())?)
        .ok_or_else(overflow)?;
    let base = lo
        .checked_mul(item as isize)
        .and_then(|b| start.checked_add_signed(b))
        .ok_or_else(overflow)?;
    if base % item != 0 {
        return Err(PyValueError::new_err(format!(
            "from_dlpack: data is not aligned for {dtype} (address {base:#x})"
        )));
    }
    Ok(Imported {
        dtype,
        layout: Layout {
            shape: shape.into(),
            strides: strides.into(),
            offset: (-lo) as usize,
        },
        // An integer-to-pointer cast: the producer's allocation, per its header.
        base: base as *mut u8,
        len,
    })
}

/// `fg.from_dlpack(x)`: takes x's DLPack capsule and wraps its memory without copying
/// (a producer that marks its memory read-only gets copied instead).
///
/// Ownership: the capsule stays the producer's (its destructor calls the deleter) until
/// every check has passed and it is renamed "used_..."; from then on an `ImportOwner`
/// inside the storage calls the deleter when the last view goes. So each path calls
/// the deleter exactly once.
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
    let p = cap.as_ptr();
    // SAFETY: `cap` keeps the object alive and we hold the GIL.
    let opened = unsafe { open_capsule(p)? };
    // SAFETY: the capsule is valid and unused, so the producer keeps the managed tensor
    // (and its shape and strides arrays) alive while `cap` lives.
    let im = unsafe { import_layout(opened.dl_tensor())? };
    // SAFETY: p is a valid capsule; renaming it is how DLPack hands ownership over.
    if unsafe { ffi::PyCapsule_SetName(p, opened.used.as_ptr()) } != 0 {
        return Err(PyErr::fetch(py));
    }
    let owner = ImportOwner(opened.managed);
    let bytes = im.len * im.dtype.size();
    // SAFETY: import_layout checked that [base, base + bytes) is the span the view
    // reads, aligned for the dtype; the producer keeps it valid until its deleter runs,
    // which `owner` does when the storage is dropped. For len 0 a null base is allowed
    // (foreign() substitutes a dangling pointer that is never dereferenced).
    let cpu = unsafe { CpuStorage::foreign(im.base, bytes, Box::new(owner)) };
    let t = Tensor::from_parts(
        Arc::new(Storage::from_cpu(cpu, im.dtype, im.len)),
        im.layout,
    );
    if opened.readonly {
        return Ok(t.deep_copy()?);
    }
    Ok(t)
}
