//! The complex element types: a (real, imaginary) pair laid out as C's, NumPy's and
//! DLPack's complex numbers, so buffers cross those boundaries without conversion.
//!
//! They are ferrograd's own types rather than `num_complex::Complex` because a tensor
//! element must be `PartialOrd`: these order lexicographically (real part first), the
//! order NumPy sorts complex arrays in. The math is done by `num_complex` (see
//! `ops::complex`), to which these convert for free.

macro_rules! complex_type {
    ($name:ident, $f:ty, $doc:expr) => {
        #[doc = $doc]
        #[derive(Clone, Copy, Debug, Default, PartialEq)]
        #[repr(C)]
        pub struct $name {
            pub re: $f,
            pub im: $f,
        }

        impl $name {
            pub const fn new(re: $f, im: $f) -> Self {
                $name { re, im }
            }
            pub fn to_num(self) -> num_complex::Complex<$f> {
                num_complex::Complex::new(self.re, self.im)
            }
            pub fn from_num(c: num_complex::Complex<$f>) -> Self {
                $name::new(c.re, c.im)
            }
        }

        impl PartialOrd for $name {
            fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
                match self.re.partial_cmp(&o.re)? {
                    std::cmp::Ordering::Equal => self.im.partial_cmp(&o.im),
                    ord => Some(ord),
                }
            }
        }
    };
}

complex_type!(Complex64, f32, "A complex64 element: two float32.");
complex_type!(Complex128, f64, "A complex128 element: two float64.");
