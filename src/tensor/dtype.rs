//! Element types and the promotion rules between them.
//!
//! Every dtype can be stored, copied, cast, indexed and moved to and from NumPy. The
//! kernels that compute (arithmetic, math, reductions, matmul) exist for the *compute*
//! dtypes only: bool, int64, uint64, float32, float64 and the two complex types. The
//! narrower types run through the compute dtype of their kind (`DType::compute`) and
//! are rounded back on store: int8 + int8 computes in int64 and wraps to int8, which is
//! bitwise what a native int8 kernel gives (two's complement arithmetic is a ring
//! homomorphism mod 2^n); float16 computes in float32 and rounds once, which is what
//! PyTorch's CPU kernels do for half.

use crate::{bail, Result};

pub use super::complex::{Complex128, Complex64};
pub use super::element::Element;

/// The element types a tensor can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    Bool,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    F16,
    BF16,
    F32,
    F64,
    C64,
    C128,
}

/// The kinds of the Array API standard's type promotion: promotion happens within a
/// kind by width, and across kinds by the rules in `DType::promote`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bool,
    SignedInt,
    UnsignedInt,
    Float,
    Complex,
}

impl DType {
    /// Every dtype, in the order of the standard's listing.
    pub const ALL: [DType; 15] = [
        DType::Bool,
        DType::I8,
        DType::I16,
        DType::I32,
        DType::I64,
        DType::U8,
        DType::U16,
        DType::U32,
        DType::U64,
        DType::F16,
        DType::BF16,
        DType::F32,
        DType::F64,
        DType::C64,
        DType::C128,
    ];

    pub const fn size(self) -> usize {
        use DType::*;
        match self {
            Bool | I8 | U8 => 1,
            I16 | U16 | F16 | BF16 => 2,
            I32 | U32 | F32 => 4,
            I64 | U64 | F64 | C64 => 8,
            C128 => 16,
        }
    }

    pub const fn kind(self) -> Kind {
        use DType::*;
        match self {
            Bool => Kind::Bool,
            I8 | I16 | I32 | I64 => Kind::SignedInt,
            U8 | U16 | U32 | U64 => Kind::UnsignedInt,
            F16 | BF16 | F32 | F64 => Kind::Float,
            C64 | C128 => Kind::Complex,
        }
    }

    pub fn name(self) -> &'static str {
        use DType::*;
        match self {
            Bool => "bool",
            I8 => "int8",
            I16 => "int16",
            I32 => "int32",
            I64 => "int64",
            U8 => "uint8",
            U16 => "uint16",
            U32 => "uint32",
            U64 => "uint64",
            F16 => "float16",
            BF16 => "bfloat16",
            F32 => "float32",
            F64 => "float64",
            C64 => "complex64",
            C128 => "complex128",
        }
    }

    /// The dtype named `name` (NumPy's and PyTorch's names and aliases).
    pub fn from_name(name: &str) -> Result<DType> {
        use DType::*;
        Ok(match name {
            "bool" | "bool_" => Bool,
            "int8" | "char" => I8,
            "int16" | "short" => I16,
            "int32" => I32,
            "int64" | "long" | "int" => I64,
            "uint8" | "ubyte" => U8,
            "uint16" | "ushort" => U16,
            "uint32" | "uint" => U32,
            "uint64" | "ulong" => U64,
            "float16" | "half" => F16,
            "bfloat16" => BF16,
            "float32" | "float" => F32,
            "float64" | "double" => F64,
            "complex64" | "cfloat" => C64,
            "complex128" | "cdouble" => C128,
            other => bail!(
                DType,
                "unsupported dtype '{other}': ferrograd supports bool, int8/16/32/64, \
                 uint8/16/32/64, float16, bfloat16, float32, float64, complex64 and complex128"
            ),
        })
    }

    /// A real floating-point dtype (float16, bfloat16, float32, float64).
    pub fn is_float(self) -> bool {
        self.kind() == Kind::Float
    }
    pub fn is_complex(self) -> bool {
        self.kind() == Kind::Complex
    }
    /// Any integer dtype, signed or unsigned.
    pub fn is_int(self) -> bool {
        matches!(self.kind(), Kind::SignedInt | Kind::UnsignedInt)
    }
    pub fn is_unsigned(self) -> bool {
        self.kind() == Kind::UnsignedInt
    }
    /// Floating point, real or complex: the dtypes true division and exp produce.
    pub fn is_inexact(self) -> bool {
        self.is_float() || self.is_complex()
    }

    /// The dtype the kernels compute in for this dtype (see the module docs): int64 for
    /// the narrower integers, float32 for the half types, itself otherwise.
    pub fn compute(self) -> DType {
        use DType::*;
        match self {
            I8 | I16 | I32 | U8 | U16 | U32 => I64,
            F16 | BF16 => F32,
            other => other,
        }
    }
    /// True for the dtypes kernels exist for.
    pub fn is_compute(self) -> bool {
        self.compute() == self
    }

    /// The real dtype of a complex one's components (itself for real dtypes).
    pub fn real_part(self) -> DType {
        match self {
            DType::C64 => DType::F32,
            DType::C128 => DType::F64,
            other => other,
        }
    }
    /// The complex dtype with this float dtype's precision (complex64 below float64).
    pub fn to_complex(self) -> DType {
        match self {
            DType::F64 | DType::C128 => DType::C128,
            _ => DType::C64,
        }
    }

    /// The dtype of `a op b` for two tensors: the Array API standard's table within a
    /// kind (signed with unsigned widens to the signed type that holds both, and int64
    /// with uint64 gives float64 as in NumPy), and PyTorch's rules across kinds where the
    /// standard is silent (bool gives way to anything, an integer to a float, a real to
    /// a complex; float16 with bfloat16 gives float32).
    pub fn promote(a: DType, b: DType) -> DType {
        use Kind as K;
        if a == b {
            return a;
        }
        match (a.kind(), b.kind()) {
            (K::Bool, _) => b,
            (_, K::Bool) => a,
            (K::Complex, _) | (_, K::Complex) => {
                let wide = |d: DType| d == DType::C128 || d == DType::F64;
                if wide(a) || wide(b) {
                    DType::C128
                } else if a.is_complex() {
                    a
                } else {
                    b
                }
            }
            (K::Float, K::Float) => {
                if a == DType::F64 || b == DType::F64 {
                    DType::F64
                } else if a == DType::F32 || b == DType::F32 {
                    DType::F32
                } else {
                    DType::F32 // float16 with bfloat16: neither holds the other
                }
            }
            (K::Float, _) => a,
            (_, K::Float) => b,
            (ka, kb) if ka == kb => {
                if a.size() >= b.size() {
                    a
                } else {
                    b
                }
            }
            _ => {
                let (s, u) = if a.kind() == K::SignedInt {
                    (a, b)
                } else {
                    (b, a)
                };
                if u.size() < s.size() {
                    s
                } else {
                    match u.size() {
                        1 => DType::I16,
                        2 => DType::I32,
                        4 => DType::I64,
                        _ => DType::F64,
                    }
                }
            }
        }
    }

    /// The dtype of `tensor op scalar`, where Python scalars are "weak": they only
    /// change the result when they are of a higher kind than the tensor (then the
    /// default dtype of that kind: int64, float32, complex64, or complex128 for a
    /// float64 tensor with a complex scalar).
    pub fn promote_weak(t: DType, s: &Scalar) -> DType {
        match s {
            Scalar::Bool(_) => t,
            Scalar::Int(_) if t == DType::Bool => DType::I64,
            Scalar::Int(_) => t,
            Scalar::Float(_) if t == DType::Bool || t.is_int() => DType::F32,
            Scalar::Float(_) => t,
            Scalar::Complex(..) if t.is_complex() => t,
            Scalar::Complex(..) if t == DType::F64 => DType::C128,
            Scalar::Complex(..) => DType::C64,
        }
    }

    /// The inexact dtype that true division, mean, exp... produce for this dtype.
    pub fn to_float(self) -> DType {
        if self.is_inexact() {
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
    /// (real, imaginary)
    Complex(f64, f64),
}

impl Scalar {
    /// The default dtype for a scalar of this kind (float32 for floats, as in PyTorch).
    pub fn kind_dtype(&self) -> DType {
        match self {
            Scalar::Bool(_) => DType::Bool,
            Scalar::Int(_) => DType::I64,
            Scalar::Float(_) => DType::F32,
            Scalar::Complex(..) => DType::C64,
        }
    }
    /// The real value (the real part of a complex scalar).
    pub fn to_f64(self) -> f64 {
        match self {
            Scalar::Bool(b) => b as i64 as f64,
            Scalar::Int(i) => i as f64,
            Scalar::Float(f) => f,
            Scalar::Complex(re, _) => re,
        }
    }
    pub fn to_i64(self) -> i64 {
        match self {
            Scalar::Bool(b) => b as i64,
            Scalar::Int(i) => i,
            Scalar::Float(f) => f as i64,
            Scalar::Complex(re, _) => re as i64,
        }
    }
    pub fn cast<T: Element>(self) -> T {
        match self {
            Scalar::Int(i) => T::from_i64(i),
            Scalar::Bool(b) => T::from_i64(b as i64),
            Scalar::Float(f) => T::from_f64(f),
            Scalar::Complex(re, im) => T::from_complex(re, im),
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

pub use half::{bf16, f16};

/// Runs `$body` with `$T` bound to the Rust type of `$dtype`, for every dtype (for
/// kernels that only move or convert elements).
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
            $crate::DType::I8 => {
                type $T = i8;
                $body
            }
            $crate::DType::I16 => {
                type $T = i16;
                $body
            }
            $crate::DType::I32 => {
                type $T = i32;
                $body
            }
            $crate::DType::U8 => {
                type $T = u8;
                $body
            }
            $crate::DType::U16 => {
                type $T = u16;
                $body
            }
            $crate::DType::U32 => {
                type $T = u32;
                $body
            }
            $crate::DType::U64 => {
                type $T = u64;
                $body
            }
            $crate::DType::F16 => {
                type $T = $crate::tensor::dtype::f16;
                $body
            }
            $crate::DType::BF16 => {
                type $T = $crate::tensor::dtype::bf16;
                $body
            }
            $crate::DType::C64 => {
                type $T = $crate::tensor::dtype::Complex64;
                $body
            }
            $crate::DType::C128 => {
                type $T = $crate::tensor::dtype::Complex128;
                $body
            }
        }
    };
}

/// Like `dispatch!` for the real compute dtypes (bool, int64, uint64, float32,
/// float64), the ones arithmetic kernels exist for; the op layer casts the narrower
/// dtypes to these first (`DType::compute`), so another dtype here is an error.
#[macro_export]
macro_rules! dispatch_real {
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
            $crate::DType::U64 => {
                type $T = u64;
                $body
            }
            $crate::DType::Bool => {
                type $T = bool;
                $body
            }
            other => {
                return Err($crate::Error::DType(format!(
                    "this operation does not support {} tensors",
                    other
                )))
            }
        }
    };
}

/// Like `dispatch_real!` plus the two complex dtypes: for arithmetic kernels.
#[macro_export]
macro_rules! dispatch_numeric {
    ($dtype:expr, $T:ident => $body:expr) => {
        match $dtype {
            $crate::DType::C64 => {
                type $T = $crate::tensor::dtype::Complex64;
                $body
            }
            $crate::DType::C128 => {
                type $T = $crate::tensor::dtype::Complex128;
                $body
            }
            other => $crate::dispatch_real!(other, $T => $body),
        }
    };
}

/// Like `dispatch!` but only for float32 and float64; other dtypes return a TypeError.
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
                    "{} needs a floating-point tensor (float32 or float64), got {}",
                    $what, other
                )))
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use DType::*;

    #[test]
    fn promotion_is_symmetric_and_idempotent() {
        for a in DType::ALL {
            assert_eq!(DType::promote(a, a), a);
            for b in DType::ALL {
                assert_eq!(DType::promote(a, b), DType::promote(b, a), "{a} {b}");
            }
        }
    }

    #[test]
    fn promotion_follows_the_standards_table() {
        let cases = [
            (I8, U8, I16),
            (I8, U16, I32),
            (I16, U32, I64),
            (I64, U64, F64),
            (U8, U32, U32),
            (I32, I8, I32),
            (F16, BF16, F32),
            (F16, F64, F64),
            (C64, F64, C128),
            (C64, F32, C64),
            (I64, F16, F16),
            (Bool, U8, U8),
            (U16, C64, C64),
        ];
        for (a, b, want) in cases {
            assert_eq!(DType::promote(a, b), want, "{a} with {b}");
        }
    }

    #[test]
    fn weak_scalars_only_change_the_kind() {
        assert_eq!(DType::promote_weak(I8, &Scalar::Int(1000)), I8);
        assert_eq!(DType::promote_weak(U8, &Scalar::Float(0.5)), F32);
        assert_eq!(DType::promote_weak(F16, &Scalar::Float(0.5)), F16);
        assert_eq!(DType::promote_weak(F64, &Scalar::Complex(0.0, 1.0)), C128);
        assert_eq!(DType::promote_weak(F32, &Scalar::Complex(0.0, 1.0)), C64);
        assert_eq!(DType::promote_weak(Bool, &Scalar::Int(1)), I64);
    }

    #[test]
    fn compute_dtypes_and_names_round_trip() {
        for d in DType::ALL {
            assert_eq!(DType::from_name(d.name()).unwrap(), d);
            assert!(d.compute().is_compute());
            assert_eq!(d.compute().kind() == d.kind() || d.is_int(), true);
        }
        assert_eq!(U16.compute(), I64);
        assert_eq!(BF16.compute(), F32);
        assert!(DType::from_name("float8").is_err());
    }
}
