//! float32/float64 products on OpenBLAS (cargo feature `openblas`, off by default).
//!
//! The pure-Rust gemm crate is the default. On AVX2 its kernels reach 85-95% of
//! OpenBLAS's single-thread speed at 1024^3-2048^3 (measured on a 2-core AMD EPYC), so
//! users who want the last 5-15% can link the system's OpenBLAS instead
//! (`libopenblas-dev` on Debian/Ubuntu). Only products whose operands have a unit stride
//! in one of their two matrix dimensions go here; anything else (and every other dtype)
//! stays on the gemm crate.

use std::ffi::c_int;
use std::sync::atomic::{AtomicUsize, Ordering};

// CBLAS's enums (cblas.h): CblasRowMajor = 101, CblasNoTrans = 111, CblasTrans = 112.
const ROW_MAJOR: c_int = 101;
const NO_TRANS: c_int = 111;
const TRANS: c_int = 112;

#[link(name = "openblas")]
extern "C" {
    #[allow(clippy::too_many_arguments)]
    fn cblas_sgemm(
        layout: c_int,
        trans_a: c_int,
        trans_b: c_int,
        m: c_int,
        n: c_int,
        k: c_int,
        alpha: f32,
        a: *const f32,
        lda: c_int,
        b: *const f32,
        ldb: c_int,
        beta: f32,
        c: *mut f32,
        ldc: c_int,
    );
    #[allow(clippy::too_many_arguments)]
    fn cblas_dgemm(
        layout: c_int,
        trans_a: c_int,
        trans_b: c_int,
        m: c_int,
        n: c_int,
        k: c_int,
        alpha: f64,
        a: *const f64,
        lda: c_int,
        b: *const f64,
        ldb: c_int,
        beta: f64,
        c: *mut f64,
        ldc: c_int,
    );
    fn openblas_set_num_threads(n: c_int);
}

/// The thread count last given to OpenBLAS (0: never set).
static THREADS: AtomicUsize = AtomicUsize::new(0);

/// How CBLAS reads one operand: transposed or not, and its leading dimension.
#[derive(Clone, Copy)]
pub(crate) struct Operand {
    trans: c_int,
    ld: c_int,
}

impl Operand {
    /// A `rows x cols` matrix with row stride `rs` and column stride `cs`, as CBLAS's
    /// row-major interface reads it, or None when neither stride is 1 (or the leading
    /// dimension is out of CBLAS's range).
    pub(crate) fn new(rows: usize, cols: usize, rs: isize, cs: isize) -> Option<Operand> {
        // The stride of a dimension of size 1 is never used: such a dimension counts as
        // unit-stride, and its leading dimension is the smallest CBLAS accepts.
        let (trans, ld, min_ld) = if cs == 1 || cols == 1 {
            (
                NO_TRANS,
                if rows == 1 { cols as isize } else { rs },
                cols.max(1),
            )
        } else if rs == 1 || rows == 1 {
            (TRANS, cs, rows.max(1))
        } else {
            return None;
        };
        let ld = c_int::try_from(ld).ok()?;
        (ld as usize >= min_ld).then_some(Operand { trans, ld })
    }
}

/// Element types CBLAS multiplies.
pub(crate) trait BlasScalar: Copy {
    /// `c = a @ b` for one (m, k) x (k, n) product into a contiguous (m, n) output.
    ///
    /// # Safety
    /// `a` and `b` must address matrices of the shapes and strides their `Operand`s were
    /// made from, inside live allocations, and `c` m * n writable elements.
    #[allow(clippy::too_many_arguments)]
    unsafe fn gemm(
        dims: (usize, usize, usize),
        a: *const Self,
        oa: Operand,
        b: *const Self,
        ob: Operand,
        c: *mut Self,
    );
}

macro_rules! blas_scalar {
    ($t:ty, $f:ident) => {
        impl BlasScalar for $t {
            unsafe fn gemm(
                (m, n, k): (usize, usize, usize),
                a: *const $t,
                oa: Operand,
                b: *const $t,
                ob: Operand,
                c: *mut $t,
            ) {
                // SAFETY: the caller's contract; dims fit c_int (checked by `fits`).
                unsafe {
                    $f(
                        ROW_MAJOR,
                        oa.trans,
                        ob.trans,
                        m as c_int,
                        n as c_int,
                        k as c_int,
                        1.0,
                        a,
                        oa.ld,
                        b,
                        ob.ld,
                        0.0,
                        c,
                        n.max(1) as c_int,
                    )
                }
            }
        }
    };
}
blas_scalar!(f32, cblas_sgemm);
blas_scalar!(f64, cblas_dgemm);

/// Whether m, n and k fit CBLAS's int arguments.
pub(crate) fn fits(m: usize, n: usize, k: usize) -> bool {
    [m, n, k].iter().all(|&d| c_int::try_from(d).is_ok())
}

/// Gives OpenBLAS ferrograd's thread count (`fg.set_num_threads`) when it has changed.
pub(crate) fn sync_threads(threads: usize) {
    if THREADS.swap(threads, Ordering::Relaxed) != threads {
        let n = c_int::try_from(threads.max(1)).unwrap_or(c_int::MAX);
        // SAFETY: a plain setter of OpenBLAS's thread count; any positive value is valid.
        unsafe { openblas_set_num_threads(n) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operand_reads_row_and_column_major_and_refuses_other_strides() {
        let row = Operand::new(3, 4, 4, 1).unwrap();
        assert_eq!((row.trans, row.ld), (NO_TRANS, 4));
        let col = Operand::new(3, 4, 1, 3).unwrap();
        assert_eq!((col.trans, col.ld), (TRANS, 3));
        // a padded row-major view (every other column of an 8-wide array) has no unit stride
        assert!(Operand::new(3, 4, 8, 2).is_none());
        // a leading dimension smaller than the row would make CBLAS read overlapping rows
        assert!(Operand::new(3, 4, 2, 1).is_none());
        // one row: the row stride is meaningless
        assert!(Operand::new(1, 4, 0, 1).is_some());
        // one column of a 5-wide row-major matrix: read as rows of one element
        let column = Operand::new(3, 1, 5, 7).unwrap();
        assert_eq!((column.trans, column.ld), (NO_TRANS, 5));
        // one row of a column-major matrix (stride 3 along it)
        let row = Operand::new(1, 4, 1, 3).unwrap();
        assert_eq!((row.trans, row.ld), (TRANS, 3));
    }

    #[test]
    fn sgemm_matches_the_naive_product() {
        let (m, n, k) = (5usize, 3usize, 4usize);
        let a: Vec<f32> = (0..m * k).map(|i| i as f32 * 0.5 - 3.0).collect();
        let b: Vec<f32> = (0..k * n).map(|i| 1.0 - i as f32 * 0.25).collect();
        let mut c = vec![f32::NAN; m * n];
        let oa = Operand::new(m, k, k as isize, 1).unwrap();
        // b read through its transpose: (n, k) storage viewed as (k, n) column-major
        let bt: Vec<f32> = (0..n * k).map(|i| b[(i % k) * n + i / k]).collect();
        let ob = Operand::new(k, n, 1, k as isize).unwrap();
        // SAFETY: the vectors hold exactly the matrices the operands describe.
        unsafe { f32::gemm((m, n, k), a.as_ptr(), oa, bt.as_ptr(), ob, c.as_mut_ptr()) };
        for r in 0..m {
            for col in 0..n {
                let want: f32 = (0..k).map(|j| a[r * k + j] * b[j * n + col]).sum();
                assert!((c[r * n + col] - want).abs() < 1e-4, "({r}, {col})");
            }
        }
    }
}
