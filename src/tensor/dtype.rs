//! Element types and the promotion rules between them.

use crate::{bail, Result};

/// The element types a tensor can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    Bool,
    I64,
    F32,
    F64,
}

impl DType {
    pub fn size(self) -> usize {
        match self {
            DType::Bool => 1,
            DType::I64 | DType::F64 => 8,
            DType::F32 => 4,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::I64 => "int64",
            DType::F32 => "float32",
            DType::F64 => "float64",
        }
    }
    pub fn from_name(name: &str) -> Result<DType> {
        Ok(match name {
            "bool" | "bool_" => DType::Bool,
            "int64" | "long" | "int" => DType::I64,
            "float32" | "float" => DType::F32,
            "float64" | "double" => DType::F64,
            other => bail!(
                DType,
                "unsupported dtype '{other}': ferrograd supports bool, int64, float32 and float64"
            ),
        })
    }
    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F64)
    }
    pub fn is_int(self) -> bool {
        self == DType::I64
    }
    fn kind_rank(self) -> u8 {
        match self {
            DType::Bool => 0,
            DType::I64 => 1,
            DType::F32 | DType::F64 => 2,
        }
    }
    /// The dtype of `a op b` for two tensors (PyTorch's category rule: the higher kind
    /// wins, so int64 with float32 gives float32; within floats the wider one wins).
    pub fn promote(a: DType, b: DType) -> DType {
        if a == b {
            return a;
        }
        match a.kind_rank().cmp(&b.kind_rank()) {
            std::cmp::Ordering::Greater => a,
            std::cmp::Ordering::Less => b,
            std::cmp::Ordering::Equal => a.max(b),
        }
    }
    /// The dtype of `tensor op scalar`, where Python scalars are "weak": they only
    /// change the result when they are of a higher kind than the tensor.
    pub fn promote_weak(t: DType, s: &Scalar) -> DType {
        let sk = s.kind_dtype();
        if sk.kind_rank() > t.kind_rank() {
            sk
        } else {
            t
        }
    }
    /// The float dtype that true division, mean, exp... produce for this dtype.
    pub fn to_float(self) -> DType {
        if self.is_float() {
            self
        } else {
            DType::F32
        }
    }
}

impl std::fmt::Display for DType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A Python-style scalar operand: its kind matters for promotion, not its width.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar {
    Bool(bool),
    Int(i64),
    Float(f64),
}

impl Scalar {
    /// The default dtype for a scalar of this kind (float32 for floats, as in PyTorch).
    pub fn kind_dtype(&self) -> DType {
        match self {
            Scalar::Bool(_) => DType::Bool,
            Scalar::Int(_) => DType::I64,
            Scalar::Float(_) => DType::F32,
        }
    }
    pub fn to_f64(self) -> f64 {
        match self {
            Scalar::Bool(b) => b as i64 as f64,
            Scalar::Int(i) => i as f64,
            Scalar::Float(f) => f,
        }
    }
    pub fn to_i64(self) -> i64 {
        match self {
            Scalar::Bool(b) => b as i64,
            Scalar::Int(i) => i,
            Scalar::Float(f) => f as i64,
        }
    }
    pub fn cast<T: Element>(self) -> T {
        match self {
            Scalar::Int(i) => T::from_i64(i),
            Scalar::Bool(b) => T::from_i64(b as i64),
            Scalar::Float(f) => T::from_f64(f),
        }
    }
}

impl From<f64> for Scalar {
    fn from(v: f64) -> Self {
        Scalar::Float(v)
    }
}
impl From<f32> for Scalar {
    fn from(v: f32) -> Self {
        Scalar::Float(v as f64)
    }
}
impl From<i64> for Scalar {
    fn from(v: i64) -> Self {
        Scalar::Int(v)
    }
}
impl From<i32> for Scalar {
    fn from(v: i32) -> Self {
        Scalar::Int(v as i64)
    }
}
impl From<bool> for Scalar {
    fn from(v: bool) -> Self {
        Scalar::Bool(v)
    }
}

/// A Rust type that can be a tensor element.
pub trait Element:
    Copy + Send + Sync + PartialOrd + PartialEq + Default + std::fmt::Debug + 'static
{
    const DTYPE: DType;
    fn to_f64(self) -> f64;
    fn from_f64(v: f64) -> Self;
    fn from_i64(v: i64) -> Self;
    fn to_i64(self) -> i64;
    fn zero() -> Self;
    fn one() -> Self;
    /// Casting between element types with NumPy's `astype` semantics.
    fn cast<U: Element>(self) -> U;
    fn is_nan(self) -> bool {
        false
    }
    /// The identity of max (-inf for floats, the minimum for integers).
    fn lowest() -> Self;
    /// The identity of min.
    fn highest() -> Self;
}

impl Element for f32 {
    fn lowest() -> Self {
        f32::NEG_INFINITY
    }
    fn highest() -> Self {
        f32::INFINITY
    }
    const DTYPE: DType = DType::F32;
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    fn from_i64(v: i64) -> Self {
        v as f32
    }
    fn to_i64(self) -> i64 {
        self as i64
    }
    fn zero() -> Self {
        0.0
    }
    fn one() -> Self {
        1.0
    }
    fn cast<U: Element>(self) -> U {
        if U::DTYPE == DType::Bool {
            return U::from_i64((self != 0.0) as i64);
        }
        U::from_f64(self as f64)
    }
    fn is_nan(self) -> bool {
        self.is_nan()
    }
}

impl Element for f64 {
    fn lowest() -> Self {
        f64::NEG_INFINITY
    }
    fn highest() -> Self {
        f64::INFINITY
    }
    const DTYPE: DType = DType::F64;
    fn to_f64(self) -> f64 {
        self
    }
    fn from_f64(v: f64) -> Self {
        v
    }
    fn from_i64(v: i64) -> Self {
        v as f64
    }
    fn to_i64(self) -> i64 {
        self as i64
    }
    fn zero() -> Self {
        0.0
    }
    fn one() -> Self {
        1.0
    }
    fn cast<U: Element>(self) -> U {
        if U::DTYPE == DType::Bool {
            return U::from_i64((self != 0.0) as i64);
        }
        U::from_f64(self)
    }
    fn is_nan(self) -> bool {
        self.is_nan()
    }
}

impl Element for i64 {
    fn lowest() -> Self {
        i64::MIN
    }
    fn highest() -> Self {
        i64::MAX
    }
    const DTYPE: DType = DType::I64;
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn from_f64(v: f64) -> Self {
        v as i64
    }
    fn from_i64(v: i64) -> Self {
        v
    }
    fn to_i64(self) -> i64 {
        self
    }
    fn zero() -> Self {
        0
    }
    fn one() -> Self {
        1
    }
    fn cast<U: Element>(self) -> U {
        if U::DTYPE == DType::Bool {
            return U::from_i64((self != 0) as i64);
        }
        U::from_i64(self)
    }
}

impl Element for bool {
    fn lowest() -> Self {
        false
    }
    fn highest() -> Self {
        true
    }
    const DTYPE: DType = DType::Bool;
    fn to_f64(self) -> f64 {
        self as i64 as f64
    }
    fn from_f64(v: f64) -> Self {
        v != 0.0
    }
    fn from_i64(v: i64) -> Self {
        v != 0
    }
    fn to_i64(self) -> i64 {
        self as i64
    }
    fn zero() -> Self {
        false
    }
    fn one() -> Self {
        true
    }
    fn cast<U: Element>(self) -> U {
        U::from_i64(self as i64)
    }
}

/// Runs `$body` with `$T` bound to the Rust type of `$dtype`.
#[macro_export]
macro_rules! dispatch {
    ($dtype:expr, $T:ident => $body:expr) => {
        match $dtype {
            $crate::DType::F32 => {
                type $T = f32;
                $body
            }
            $crate::DType::F64 => {
                type $T = f64;
                $body
            }
            $crate::DType::I64 => {
                type $T = i64;
                $body
            }
            $crate::DType::Bool => {
                type $T = bool;
                $body
            }
        }
    };
}

/// Like `dispatch!` but only for float dtypes; other dtypes return a TypeError.
#[macro_export]
macro_rules! dispatch_float {
    ($dtype:expr, $what:expr, $T:ident => $body:expr) => {
        match $dtype {
            $crate::DType::F32 => {
                type $T = f32;
                $body
            }
            $crate::DType::F64 => {
                type $T = f64;
                $body
            }
            other => {
                return Err($crate::Error::DType(format!(
                    "{} needs a floating-point tensor, got {}",
                    $what, other
                )))
            }
        }
    };
}
