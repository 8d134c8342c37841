//! The CPU side of matmul: float32/float64 run on the `gemm` crate, which takes arbitrary
//! row/column strides, so transposed views are multiplied without materialising them
//! (matmul's backward relies on that); small float products and the integer and complex
//! dtypes on a row-accumulating loop of ferrograd's own; on AVX2 CPUs, float32 products
//! run on ferrograd's own GEMM (sgemm_avx2.rs).

use super::MatmulKernels;
use crate::backend::Cpu;
use crate::device::cpu::{for_each_chunk, install, num_threads, SendPtr};
use crate::ops::copy::uninit_cpu;
use crate::ops::elementwise::math::Arith;
use crate::tensor::shape::numel;
use crate::tensor::{DType, Element, Layout, Tensor};
use crate::Result;

/// Up to this many multiply-adds per matrix, a product runs on ferrograd's own loop
/// instead of gemm, whose set-up (kernel choice, packing buffers) costs more than an
/// 8x8 product itself.
const TINY_FLOPS: usize = 16 * 16 * 16;
/// Below this many multiply-adds a single gemm call runs on one thread.
const PAR_FLOPS: usize = 64 * 64 * 64;
/// From PAR_FLOPS up to this many multiply-adds, one product is split into
/// SPLIT_BLOCKS blocks of output rows or columns run in parallel on the chunk pool.
const SPLIT_FLOPS_BELOW: usize = 512 << 20;
const SPLIT_BLOCKS: usize = 4;

impl MatmulKernels for Cpu {
    fn linear(
        &self,
        _: &Tensor,
        _: &Tensor,
        _: Option<&Tensor>,
        _: bool,
    ) -> Result<Option<Tensor>> {
        Ok(None)
    }
    fn matmul(&self, a: &Tensor, b: &Tensor, out_shape: &[usize]) -> Result<Tensor> {
        let nd = out_shape.len();
        let k = a.shape()[a.ndim() - 1];
        let tiny = out_shape[nd - 2]
            .saturating_mul(out_shape[nd - 1])
            .saturating_mul(k)
            <= TINY_FLOPS;
        match a.dtype() {
            #[cfg(target_arch = "x86_64")]
            DType::F32 if !tiny && own_sgemm_fits(a, out_shape) => own_sgemm(a, b, out_shape),
            DType::F32 if tiny => rowwise_batched::<f32>(a, b, out_shape),
            DType::F64 if tiny => rowwise_batched::<f64>(a, b, out_shape),
            DType::F32 => gemm_batched::<f32>(a, b, out_shape),
            DType::F64 => gemm_batched::<f64>(a, b, out_shape),
            DType::C64 => rowwise_batched::<crate::tensor::Complex64>(a, b, out_shape),
            DType::C128 => rowwise_batched::<crate::tensor::Complex128>(a, b, out_shape),
            DType::U64 => rowwise_batched::<u64>(a, b, out_shape),
            _ => rowwise_batched::<i64>(a, b, out_shape),
        }
    }
}

/// Whether a float32 product goes to ferrograd's own AVX2 GEMM (sgemm_avx2.rs): on CPUs
/// whose best level is AVX2 (or held there by FERROGRAD_CPU_CAPABILITY), for matrices of
/// at least PAR_FLOPS multiply-adds. On a 2-core Zen 3 EPYC it measured level with or
/// ahead of the gemm crate on every shape tried (medians, GFLOP/s: 1024^3 185 against
/// 170, 2048^3 187 against 170, x @ W.T and g.T @ x 170-175 against 143-149, where gemm
/// fell furthest behind NumPy's OpenBLAS).
#[cfg(target_arch = "x86_64")]
fn own_sgemm_fits(a: &Tensor, out_shape: &[usize]) -> bool {
    use crate::ops::simd::{simd, Simd};
    let nd = out_shape.len();
    let (m, n) = (out_shape[nd - 2], out_shape[nd - 1]);
    let k = a.shape()[nd - 1];
    simd() == Simd::Avx2 && m.saturating_mul(n).saturating_mul(k) >= PAR_FLOPS
}

/// Float32 products on ferrograd's own AVX2 GEMM, one matrix of the batch at a time, each
/// on all threads.
#[cfg(target_arch = "x86_64")]
fn own_sgemm(a: &Tensor, b: &Tensor, out_shape: &[usize]) -> Result<Tensor> {
    use super::sgemm_avx2::{sgemm, Mat};
    let nd = out_shape.len();
    let (m, n) = (out_shape[nd - 2], out_shape[nd - 1]);
    let k = a.shape()[nd - 1];
    let out = uninit_cpu(DType::F32, out_shape)?;
    let ((a, oa), (b, ob)) = (strided_operand(a)?, strided_operand(b)?);
    let mat = |t: &Tensor, offset: isize| Mat {
        // SAFETY: a batch entry's offset lies inside the storage (strided_operand checked).
        ptr: unsafe { t.storage().cpu_ptr::<f32>().offset(offset) },
        rs: t.strides()[nd - 2],
        cs: t.strides()[nd - 1],
    };
    let op = out.storage().cpu_ptr::<f32>();
    for (i, (&xa, &xb)) in oa.iter().zip(&ob).enumerate() {
        // SAFETY: simd() == Avx2 (own_sgemm_fits) means the CPU has AVX2 and FMA; every
        // (row, col) of a and b lies in their layouts (strided_operand checked); out is a fresh
        // contiguous (batch, m, n) buffer nothing else holds, of which matrix i is
        // written here.
        unsafe {
            sgemm(
                m,
                n,
                k,
                mat(&a, xa),
                mat(&b, xb),
                op.add(i * m * n),
                num_threads(),
            )
        };
    }
    Ok(out)
}

/// Offsets of each batch entry for a layout whose last two dims are the matrix.
pub(crate) fn batch_offsets(l: &Layout) -> Vec<isize> {
    let nb = l.ndim() - 2;
    let count = numel(&l.shape[..nb]);
    let mut out = Vec::with_capacity(count);
    for mut i in 0..count {
        let mut off = l.offset as isize;
        for d in (0..nb).rev() {
            off += (i % l.shape[d]) as isize * l.strides[d];
            i /= l.shape[d];
        }
        out.push(off);
    }
    out
}

/// Row and column strides of the matrix part, making sure gemm never sees a 0 or
/// negative stride (broadcast or flipped views are copied first).
fn matrix_operand(t: &Tensor) -> Result<Tensor> {
    let nd = t.ndim();
    let (rs, cs) = (t.strides()[nd - 2], t.strides()[nd - 1]);
    let ok = |s: isize, d: usize| s > 0 || d <= 1;
    if ok(rs, t.shape()[nd - 2]) && ok(cs, t.shape()[nd - 1]) {
        Ok(t.clone())
    } else {
        t.deep_copy()
    }
}

/// An operand ready for raw-pointer GEMM calls: no 0 or negative matrix strides
/// (matrix_operand), its layout checked to lie inside its storage (the soundness of every
/// (batch, row, col) read the GEMMs make), and each batch entry's offset.
fn strided_operand(t: &Tensor) -> Result<(Tensor, Vec<isize>)> {
    let t = matrix_operand(t)?;
    assert!(t.check_in_bounds().is_ok());
    let offsets = batch_offsets(t.layout());
    Ok((t, offsets))
}

fn gemm_batched<T: Element + GemmScalar>(
    a: &Tensor,
    b: &Tensor,
    out_shape: &[usize],
) -> Result<Tensor> {
    let nd = out_shape.len();
    let (m, n) = (out_shape[nd - 2], out_shape[nd - 1]);
    let k = a.shape()[a.ndim() - 1];
    if numel(out_shape) == 0 || k == 0 {
        return crate::tensor::Tensor::zeros_dtype(out_shape, T::DTYPE);
    }
    // Every element is written below: gemm is told not to read the output (read_dst
    // false).
    let out = uninit_cpu(T::DTYPE, out_shape)?;
    // Operands go to gemm in the layout they come in: copying a right operand to the
    // layout gemm's kernels were thought to prefer (row-major for AVX-512, column-major
    // for AVX2) measured slower or no faster on both kinds of CPU (2 threads, float32):
    // on a 2-core AMD EPYC (AVX2), 139-141 against 164-170 GFLOP/s at (256, 1024) @
    // (1024, 1024); on a Sapphire Rapids Xeon (AVX-512), Linear's x @ W.T at (256, 784) @
    // (784, 1024) ran at 174 GFLOP/s with the copy to row-major and 218 without (medians
    // of 3 interleaved processes).
    let ((a, oa), (b, ob)) = (strided_operand(a)?, strided_operand(b)?);
    let (ars, acs) = (a.strides()[nd - 2], a.strides()[nd - 1]);
    let (brs, bcs) = (b.strides()[nd - 2], b.strides()[nd - 1]);
    let ap = SendPtr(a.storage().cpu_ptr::<T>());
    let bp = SendPtr(b.storage().cpu_ptr::<T>());
    let op = SendPtr(out.storage().cpu_ptr::<T>());
    let flops = m * n * k;
    // Batch i's output block rows r0..r1, columns c0..c1.
    // SAFETY: a and b lie inside their storages (strided_operand asserted), and batch_offsets plus
    // rows r0..r1 < m, columns c0..c1 < n and k-steps < k stay inside their layouts; the
    // output is a fresh contiguous (batch, m, n) buffer and each call writes a disjoint
    // block of it, so the parallel calls never alias.
    let run_block = |i: usize, (r0, r1): (usize, usize), (c0, c1): (usize, usize), par| unsafe {
        gemm::gemm(
            r1 - r0,
            c1 - c0,
            k,
            op.get().add(i * m * n + r0 * n + c0),
            1,
            n as isize,
            false,
            ap.get().offset(oa[i] + r0 as isize * ars),
            acs,
            ars,
            bp.get().offset(ob[i] + c0 as isize * bcs),
            bcs,
            brs,
            T::zero(),
            T::one(),
            false,
            false,
            false,
            par,
        )
    };
    let run = |i: usize, par| run_block(i, (0, m), (0, n), par);
    let batches = oa.len();
    if (PAR_FLOPS..SPLIT_FLOPS_BELOW).contains(&flops) && batches == 1 {
        // Mid-sized: SPLIT_BLOCKS blocks of the longer output side, each a single-threaded
        // gemm on the chunk pool, whose threads are awake (rayon's would first have to
        // be woken). Each block repacks the shared operand, which is why large products
        // stay with gemm's own parallelism. A block's k-sums run in the same order as in
        // the whole product, so results do not depend on the split.
        let side = m.max(n);
        let block = side.div_ceil(SPLIT_BLOCKS).next_multiple_of(16);
        for_each_chunk(side, block, |s, e| {
            if n >= m {
                run_block(0, (0, m), (s, e), gemm::Parallelism::None)
            } else {
                run_block(0, (s, e), (0, n), gemm::Parallelism::None)
            }
        });
    } else if flops >= PAR_FLOPS {
        // Large matrices: one at a time, gemm parallelises inside (over output blocks,
        // so the k-sum order, and with it the result, doesn't depend on the threads).
        let threads = num_threads();
        install(|| {
            for i in 0..batches {
                run(i, gemm::Parallelism::Rayon(threads));
            }
        });
    } else {
        // Many small matrices: parallel over the batch.
        let per_task = (PAR_FLOPS / flops.max(1)).max(1);
        for_each_chunk(batches, per_task, |s, e| {
            for i in s..e {
                run(i, gemm::Parallelism::None);
            }
        });
    }
    Ok(out)
}

/// Products without gemm: the integer and complex dtypes, and small float products (up to
/// TINY_FLOPS multiply-adds each). Each output row accumulates a[r, j] * b[j, :] for
/// j = 0, 1, ..., so the k-sum of every element runs in order and the loop over a
/// contiguous row of b vectorises. Parallel over the batch, in chunks fixed by the sizes
/// only.
fn rowwise_batched<T: Element + Arith>(
    a: &Tensor,
    b: &Tensor,
    out_shape: &[usize],
) -> Result<Tensor> {
    let out = uninit_cpu(T::DTYPE, out_shape)?;
    // Soundness of the raw reads below: the layouts lie inside their storages.
    assert!(a.check_in_bounds().is_ok() && b.check_in_bounds().is_ok());
    let nd = out_shape.len();
    let (m, n) = (out_shape[nd - 2], out_shape[nd - 1]);
    let k = a.shape()[a.ndim() - 1];
    let (oa, ob) = (batch_offsets(a.layout()), batch_offsets(b.layout()));
    let (ars, acs) = (a.strides()[nd - 2], a.strides()[nd - 1]);
    let (brs, bcs) = (b.strides()[nd - 2], b.strides()[nd - 1]);
    let ap = SendPtr(a.storage().cpu_ptr::<T>());
    let bp = SendPtr(b.storage().cpu_ptr::<T>());
    let op = SendPtr(out.storage().cpu_ptr::<T>());
    let per_task = (PAR_FLOPS / m.saturating_mul(n).saturating_mul(k).max(1)).max(1);
    for_each_chunk(oa.len(), per_task, |s, e| {
        // b's row j gathered here when its columns are not contiguous
        let mut brow = if bcs == 1 {
            Vec::new()
        } else {
            vec![T::zero(); n]
        };
        for i in s..e {
            for r in 0..m {
                // SAFETY: rows i * m + r of the fresh (batch, m, n) output, disjoint
                // between chunks.
                let row = unsafe { op.slice_mut((i * m + r) * n, n) };
                row.fill(T::zero());
                for j in 0..k {
                    // SAFETY: (r, j) and (j, c < n) lie in the matrices' layouts, which
                    // lie inside their storages (asserted above).
                    let x =
                        unsafe { *ap.get().offset(oa[i] + r as isize * ars + j as isize * acs) };
                    let src = unsafe { bp.get().offset(ob[i] + j as isize * brs) };
                    let y: &[T] = if bcs == 1 {
                        // SAFETY: as above, a contiguous row of n elements.
                        unsafe { std::slice::from_raw_parts(src, n) }
                    } else {
                        for (c, v) in brow.iter_mut().enumerate() {
                            // SAFETY: as above.
                            *v = unsafe { *src.offset(c as isize * bcs) };
                        }
                        &brow
                    };
                    for (o, &v) in row.iter_mut().zip(y) {
                        *o = Arith::add(*o, Arith::mul(x, v));
                    }
                }
            }
        }
    });
    Ok(out)
}

/// Element types `gemm` handles.
pub(crate) trait GemmScalar: 'static {}
impl GemmScalar for f32 {}
impl GemmScalar for f64 {}

#[cfg(test)]
mod tests {
    use super::*;

    /// A float32 view (offset, transposed or flipped) times a float64 operand: the cast
    /// copy must be read with its own layout, not the view's.
    #[test]
    fn mixed_dtype_views_read_their_own_values() {
        let a = Tensor::from_vec((0..16).map(|v| v as f32).collect(), &[4, 4]).unwrap();
        let eye = Tensor::eye(4, None, 0, DType::F64).unwrap();
        let cases = [
            (a.t(), vec![0.0, 4.0, 8.0, 12.0]),
            (
                a.slice(0, Some(1), None, 1).unwrap(),
                vec![4.0, 5.0, 6.0, 7.0],
            ),
            (a.flip(Some(&[0])).unwrap(), vec![12.0, 13.0, 14.0, 15.0]),
        ];
        for (view, first_row) in cases {
            let got = view.matmul(&eye).unwrap();
            assert_eq!(got.dtype(), DType::F64);
            assert_eq!(got.to_vec::<f64>().unwrap()[..4], first_row[..]);
        }
    }

    /// Transposed right operands, float64 (the small-product loop gathering b's columns)
    /// and int64, against sums written out here.
    #[test]
    fn matmul_transposed_views_match_sums() {
        let a = Tensor::from_vec((0..12).map(|v| v as f64).collect(), &[3, 4]).unwrap();
        let b = Tensor::from_vec((0..8).map(|v| v as f64 * 0.5).collect(), &[2, 4]).unwrap();
        // c[r][c] = sum_j a[r][j] * b[c][j], exact in float64 (halves of small integers)
        let want: Vec<f64> = (0..3)
            .flat_map(|r| {
                (0..2).map(move |c| {
                    (0..4)
                        .map(|j| (r * 4 + j) as f64 * (c * 4 + j) as f64 * 0.5)
                        .sum()
                })
            })
            .collect();
        assert_eq!(a.matmul(&b.t()).unwrap().to_vec::<f64>().unwrap(), want);
        let (ai, bi) = (
            a.astype(DType::I64).unwrap(),
            b.mul(2.0).unwrap().astype(DType::I64).unwrap(),
        );
        let got: Vec<f64> = ai
            .matmul(&bi.t())
            .unwrap()
            .to_vec::<i64>()
            .unwrap()
            .iter()
            .map(|&v| v as f64 * 0.5)
            .collect();
        assert_eq!(got, want);
    }

    /// Products in each regime (ferrograd's own loop, gemm split over the chunk pool, and
    /// one gemm call on gemm's own threads), with row-major, transposed and batched
    /// operands, against float64 sums of sampled entries.
    #[test]
    fn products_of_every_size_and_layout_match_float64_sums() {
        let val = |i: usize, salt: usize| ((i * 7919 + salt * 104729) % 2003) as f32 / 1001.0 - 1.0;
        let make = |shape: &[usize], salt: usize| {
            let n = shape.iter().product::<usize>();
            Tensor::from_vec((0..n).map(|i| val(i, salt)).collect(), shape).unwrap()
        };
        // (m, k, n): 8^3 (one thread), 128^3 (split), 1024 x 512 x 1024 (from
        // SPLIT_FLOPS_BELOW on)
        for (m, k, n) in [(8, 8, 8), (128, 128, 128), (1024, 512, 1024)] {
            let a = make(&[m, k], 1);
            let b = make(&[k, n], 2);
            let bt = make(&[n, k], 3);
            let a2 = make(&[2, m, k], 4);
            let cases = [
                ("a @ b", a.clone(), b.clone()),
                ("a @ bt.T", a.clone(), bt.t()),
                ("a.T.T @ b.T.T", a.t().contiguous().unwrap().t(), b.clone()),
                ("batched a2 @ b", a2.clone(), b.clone()),
            ];
            for (what, x, y) in cases {
                let got = x.matmul(&y).unwrap();
                let (xs, ys) = (
                    x.to_vec::<f32>().unwrap(),
                    y.contiguous().unwrap().to_vec::<f32>().unwrap(),
                );
                let out = got.to_vec::<f32>().unwrap();
                let batches = out.len() / (m * n);
                let xr = |bi: usize, r: usize, j: usize| {
                    // x's logical (batch, r, j) element, from its row-major copy
                    xs[bi * m * k + r * k + j] as f64
                };
                for s in 0..64 {
                    let (bi, r, c) = (s % batches, (s * 37) % m, (s * 101) % n);
                    let want: f64 = (0..k).map(|j| xr(bi, r, j) * ys[j * n + c] as f64).sum();
                    let err = (out[bi * m * n + r * n + c] as f64 - want).abs();
                    assert!(
                        err <= 1e-4 * k as f64,
                        "{what} ({m},{k},{n}) at ({bi},{r},{c}): {err}"
                    );
                }
            }
        }
    }
}
