//! `Element`: the Rust types tensors hold, and NumPy's `astype` conversions between them.

use super::complex::{Complex128, Complex64};
use super::dtype::{bf16, f16, DType, Kind};

/// A Rust type that can be a tensor element.
///
/// Conversions go through the widest type of the source's kind (i64, u64, f64 or a
/// pair of f64), so each conversion is one rounding, as NumPy's: int to float rounds
/// to nearest, float to int truncates toward zero (saturating, as Rust's `as`), an
/// integer wraps into a narrower one, complex to real drops the imaginary part.
pub trait Element:
    Copy + Send + Sync + PartialOrd + PartialEq + Default + std::fmt::Debug + 'static
{
    const DTYPE: DType;
    /// The value as f64 (the real part of a complex).
    fn to_f64(self) -> f64;
    fn from_f64(v: f64) -> Self;
    fn from_i64(v: i64) -> Self;
    /// The value as i64 (wrapping for uint64, truncating for floats).
    fn to_i64(self) -> i64;
    fn to_u64(self) -> u64 {
        self.to_i64() as u64
    }
    fn from_u64(v: u64) -> Self {
        Self::from_i64(v as i64)
    }
    fn to_complex(self) -> (f64, f64) {
        (self.to_f64(), 0.0)
    }
    fn from_complex(re: f64, _im: f64) -> Self {
        Self::from_f64(re)
    }
    fn is_nonzero(self) -> bool {
        self != Self::zero()
    }
    /// The value in every form a caller may want it: (real, imaginary, as i64, as u64).
    /// For Python's `item()`, which picks by the dtype's kind.
    fn to_complex_parts(self) -> (f64, f64, i64, u64) {
        let (re, im) = self.to_complex();
        (re, im, self.to_i64(), self.to_u64())
    }
    fn zero() -> Self;
    fn one() -> Self;
    /// Casting between element types with NumPy's `astype` semantics.
    #[inline(always)]
    fn cast<U: Element>(self) -> U {
        match (Self::DTYPE.kind(), U::DTYPE.kind()) {
            (_, Kind::Bool) => U::from_i64(self.is_nonzero() as i64),
            (_, Kind::Complex) => {
                let (re, im) = self.to_complex();
                U::from_complex(re, im)
            }
            (Kind::Float | Kind::Complex, _) => U::from_f64(self.to_f64()),
            (Kind::UnsignedInt, _) => U::from_u64(self.to_u64()),
            _ => U::from_i64(self.to_i64()),
        }
    }
    fn is_nan(self) -> bool {
        false
    }
    /// The identity of max (-inf for floats, the minimum for integers).
    fn lowest() -> Self;
    /// The identity of min.
    fn highest() -> Self;
}

macro_rules! float_element {
    ($t:ty, $dt:ident) => {
        impl Element for $t {
            const DTYPE: DType = DType::$dt;
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn from_i64(v: i64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn to_i64(self) -> i64 {
                self as i64
            }
            fn to_u64(self) -> u64 {
                self as u64
            }
            fn from_u64(v: u64) -> Self {
                v as $t
            }
            fn zero() -> Self {
                0.0
            }
            fn one() -> Self {
                1.0
            }
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
            fn lowest() -> Self {
                <$t>::NEG_INFINITY
            }
            fn highest() -> Self {
                <$t>::INFINITY
            }
        }
    };
}
float_element!(f32, F32);
float_element!(f64, F64);

macro_rules! half_element {
    ($t:ty, $dt:ident) => {
        impl Element for $t {
            const DTYPE: DType = DType::$dt;
            fn to_f64(self) -> f64 {
                <$t>::to_f64(self)
            }
            /// One rounding, straight from f64 (not through f32).
            fn from_f64(v: f64) -> Self {
                <$t>::from_f64(v)
            }
            fn from_i64(v: i64) -> Self {
                <$t>::from_f64(v as f64)
            }
            fn to_i64(self) -> i64 {
                <$t>::to_f64(self) as i64
            }
            fn to_u64(self) -> u64 {
                <$t>::to_f64(self) as u64
            }
            fn from_u64(v: u64) -> Self {
                <$t>::from_f64(v as f64)
            }
            fn zero() -> Self {
                <$t>::ZERO
            }
            fn one() -> Self {
                <$t>::ONE
            }
            fn is_nonzero(self) -> bool {
                <$t>::to_f64(self) != 0.0
            }
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
            fn lowest() -> Self {
                <$t>::NEG_INFINITY
            }
            fn highest() -> Self {
                <$t>::INFINITY
            }
        }
    };
}
half_element!(f16, F16);
half_element!(bf16, BF16);

macro_rules! int_element {
    ($t:ty, $dt:ident) => {
        impl Element for $t {
            const DTYPE: DType = DType::$dt;
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn from_i64(v: i64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn to_i64(self) -> i64 {
                self as i64
            }
            #[inline(always)]
            fn to_u64(self) -> u64 {
                self as u64
            }
            #[inline(always)]
            fn from_u64(v: u64) -> Self {
                v as $t
            }
            fn zero() -> Self {
                0
            }
            fn one() -> Self {
                1
            }
            fn lowest() -> Self {
                <$t>::MIN
            }
            fn highest() -> Self {
                <$t>::MAX
            }
        }
    };
}
int_element!(i8, I8);
int_element!(i16, I16);
int_element!(i32, I32);
int_element!(i64, I64);
int_element!(u8, U8);
int_element!(u16, U16);
int_element!(u32, U32);
int_element!(u64, U64);

impl Element for bool {
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
    fn from_complex(re: f64, im: f64) -> Self {
        re != 0.0 || im != 0.0
    }
    fn zero() -> Self {
        false
    }
    fn one() -> Self {
        true
    }
    fn lowest() -> Self {
        false
    }
    fn highest() -> Self {
        true
    }
}

macro_rules! complex_element {
    ($t:ty, $f:ty, $dt:ident) => {
        impl Element for $t {
            const DTYPE: DType = DType::$dt;
            fn to_f64(self) -> f64 {
                self.re as f64
            }
            fn from_f64(v: f64) -> Self {
                <$t>::new(v as $f, 0.0)
            }
            fn from_i64(v: i64) -> Self {
                <$t>::new(v as $f, 0.0)
            }
            fn to_i64(self) -> i64 {
                self.re as i64
            }
            fn to_u64(self) -> u64 {
                self.re as u64
            }
            fn from_u64(v: u64) -> Self {
                <$t>::new(v as $f, 0.0)
            }
            fn to_complex(self) -> (f64, f64) {
                (self.re as f64, self.im as f64)
            }
            fn from_complex(re: f64, im: f64) -> Self {
                <$t>::new(re as $f, im as $f)
            }
            fn zero() -> Self {
                <$t>::new(0.0, 0.0)
            }
            fn one() -> Self {
                <$t>::new(1.0, 0.0)
            }
            fn is_nan(self) -> bool {
                self.re.is_nan() || self.im.is_nan()
            }
            /// Complex numbers have no order; these are only the identities of the
            /// lexicographic order used for sorting.
            fn lowest() -> Self {
                <$t>::new(<$f>::NEG_INFINITY, <$f>::NEG_INFINITY)
            }
            fn highest() -> Self {
                <$t>::new(<$f>::INFINITY, <$f>::INFINITY)
            }
        }
    };
}
complex_element!(Complex64, f32, C64);
complex_element!(Complex128, f64, C128);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casts_follow_numpy_astype() {
        assert_eq!((-1i64).cast::<u8>(), 255);
        assert_eq!(300i64.cast::<i8>(), 44);
        assert_eq!(u64::MAX.cast::<f64>(), 18446744073709551615.0);
        assert_eq!(u64::MAX.cast::<i64>(), -1);
        assert_eq!((-1i8).cast::<u64>(), u64::MAX);
        assert_eq!(2.9f64.cast::<i16>(), 2);
        assert_eq!((-2.9f32).cast::<i32>(), -2);
        assert!(0.5f32.cast::<bool>());
        assert!(!Complex64::new(0.0, 0.0).cast::<bool>());
        assert!(Complex64::new(0.0, -1.0).cast::<bool>());
        assert_eq!(Complex128::new(2.5, 7.0).cast::<f32>(), 2.5);
        assert_eq!(3i32.cast::<Complex64>(), Complex64::new(3.0, 0.0));
        assert_eq!(
            Complex64::new(1.5, -2.0).cast::<Complex128>(),
            Complex128::new(1.5, -2.0)
        );
        // float16 rounds once from f64: 2049 is not representable, ties to even 2048
        assert_eq!(2049.0f64.cast::<f16>().to_f64(), 2048.0);
        assert_eq!(1.0f64.cast::<bf16>(), bf16::ONE);
        assert_eq!(f16::from_f32(-3.0).cast::<i8>(), -3);
        assert!(f16::NAN.cast::<f32>().is_nan());
    }
}
