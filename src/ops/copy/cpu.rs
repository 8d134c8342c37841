//! The CPU side of the copy family: strided copies with casts, tiled for transposes.

use super::{uninit_cpu, CopyKernels};
use crate::backend::Cpu;
use crate::device::cpu::{for_each_chunk, NdIter, SendPtr, GRAIN};
use crate::tensor::{DType, Element, Layout, Tensor};
use crate::{dispatch, Result};

impl CopyKernels for Cpu {
    fn cast(&self, src: &Tensor, dtype: DType) -> Result<Tensor> {
        let out = uninit_cpu(dtype, src.shape())?;
        src.check_in_bounds()?;
        // SAFETY: out is a fresh contiguous buffer of src.shape() elements of dtype, and
        // src lies inside its storage (checked above).
        dispatch!(src.dtype(), S => dispatch!(dtype, D => unsafe {
            copy_cast_into::<S, D>(src, out.storage().cpu_ptr::<D>(), out.layout())
        }));
        Ok(out)
    }

    fn assign(&self, dst: &Tensor, src: &Tensor) -> Result<()> {
        dst.check_in_bounds()?;
        src.check_in_bounds()?;
        // SAFETY: both views lie inside their storages (checked above), src has dst's
        // shape (the caller broadcast it) and does not overlap dst (the caller copied it
        // if it did), so every write lands in dst's own elements.
        dispatch!(src.dtype(), S => dispatch!(dst.dtype(), D => unsafe {
            copy_cast_into::<S, D>(src, dst.storage().cpu_ptr::<D>(), dst.layout())
        }));
        Ok(())
    }

    fn empty(&self, shape: &[usize], dtype: DType) -> Result<Tensor> {
        uninit_cpu(dtype, shape)
    }
}

/// Copies `src` (already broadcast to `dst`'s shape) into the strided destination,
/// casting element types. SAFETY: `dst` must be valid for every offset of `dst_layout`.
pub(crate) unsafe fn copy_cast_into<S: Element, D: Element>(
    src: &Tensor,
    dst: *mut D,
    dst_layout: &Layout,
) {
    debug_assert_eq!(src.shape(), &dst_layout.shape[..]);
    let sp = SendPtr(src.storage().cpu_ptr::<S>().add(src.offset()));
    let dp = SendPtr(dst.add(dst_layout.offset));
    let it = NdIter::<2>::new(&dst_layout.shape, [&dst_layout.strides, src.strides()]);
    if transposed_2d(&it) {
        copy_tiled(&it, sp, dp);
        return;
    }
    let n = it.numel();
    for_each_chunk(n, GRAIN, |start, end| {
        it.for_each_run(start, end, |off, len, st, _| {
            let (d, s) = (dp.get().offset(off[0]), sp.get().offset(off[1]));
            if st[0] == 1 && st[1] == 1 {
                let (d, s) = (
                    std::slice::from_raw_parts_mut(d, len),
                    std::slice::from_raw_parts(s, len),
                );
                for i in 0..len {
                    d[i] = s[i].cast::<D>();
                }
            } else {
                for i in 0..len as isize {
                    *d.offset(i * st[0]) = (*s.offset(i * st[1])).cast::<D>();
                }
            }
        })
    });
}

/// True when the source's unit stride is on the second-to-last dim while the destination's
/// is on the last (a transpose): a row-by-row copy would then read the source with a
/// large stride and miss the cache on every element.
fn transposed_2d(it: &NdIter<2>) -> bool {
    let (shape, [ds, ss]) = it.dims();
    let n = shape.len();
    n >= 2
        && ds[n - 1] == 1
        && ss[n - 2] == 1
        && ss[n - 1] != 1
        && shape[n - 1] >= 16
        && shape[n - 2] >= 16
}

const TILE: usize = 32;

/// Copies the last two dims in TILE x TILE blocks so both sides stay in L1.
unsafe fn copy_tiled<S: Element, D: Element>(it: &NdIter<2>, sp: SendPtr<S>, dp: SendPtr<D>) {
    let (shape, [ds, ss]) = it.dims();
    let n = shape.len();
    let (rows, cols) = (shape[n - 2], shape[n - 1]);
    let (drs, scs) = (ds[n - 2], ss[n - 1]);
    let outer: usize = shape[..n - 2].iter().product();
    let row_tiles = rows.div_ceil(TILE);
    // 4-byte elements copied unchanged (float32, int32) take the AVX transpose.
    let fast32 = S::DTYPE == D::DTYPE
        && std::mem::size_of::<S>() == 4
        && crate::ops::simd::simd() != crate::ops::simd::Simd::Base;
    for_each_chunk(outer * row_tiles, 1, |s, e| {
        for task in s..e {
            let (o, rt) = (task / row_tiles, task % row_tiles);
            let (mut doff, mut soff, mut rem) = (0isize, 0isize, o);
            for d in (0..n - 2).rev() {
                let i = (rem % shape[d]) as isize;
                rem /= shape[d];
                doff += i * ds[d];
                soff += i * ss[d];
            }
            let (sb, db) = (sp.get().offset(soff), dp.get().offset(doff));
            let (r0, r1) = (rt * TILE, ((rt + 1) * TILE).min(rows));
            if fast32 {
                // Whole 8x8 blocks in registers, the ragged edges staged.
                let (full_r, full_c) = (r0 + (r1 - r0) / 8 * 8, cols / 8 * 8);
                transpose_f32_blocks(
                    sb as *const f32,
                    scs,
                    db as *mut f32,
                    drs,
                    r0..full_r,
                    full_c,
                );
                staged_tile(sb, scs, db, drs, r0..full_r, full_c..cols);
                staged_tile(sb, scs, db, drs, full_r..r1, 0..cols);
            } else {
                staged_tile(sb, scs, db, drs, r0..r1, 0..cols);
            }
        }
    });
}

/// Copies rows `rr` and columns `cr` (fewer than TILE rows): element (r, c) is at
/// `s + c * scs + r` in the source and `d + r * drs + c` in the destination. Each
/// TILE-wide block is staged so that both the reads (down the source's unit-stride dim)
/// and the writes (along the destination's rows) are contiguous.
unsafe fn staged_tile<S: Element, D: Element>(
    s: *const S,
    scs: isize,
    d: *mut D,
    drs: isize,
    rr: std::ops::Range<usize>,
    cr: std::ops::Range<usize>,
) {
    if rr.is_empty() {
        return;
    }
    let mut buf = [[D::default(); TILE]; TILE];
    for c0 in cr.clone().step_by(TILE) {
        let c1 = (c0 + TILE).min(cr.end);
        for c in c0..c1 {
            let col = s.offset(c as isize * scs);
            for r in rr.clone() {
                buf[r - rr.start][c - c0] = (*col.add(r)).cast::<D>();
            }
        }
        for r in rr.clone() {
            let row = d.offset(r as isize * drs + c0 as isize);
            std::ptr::copy_nonoverlapping(buf[r - rr.start].as_ptr(), row, c1 - c0);
        }
    }
}

/// The 8x8 blocks of rows `rr` (a multiple of 8 long) and columns `0..cols` (a multiple
/// of 8), laid out as in `staged_tile`, each transposed in AVX registers.
unsafe fn transpose_f32_blocks(
    s: *const f32,
    scs: isize,
    d: *mut f32,
    drs: isize,
    rr: std::ops::Range<usize>,
    cols: usize,
) {
    #[cfg(target_arch = "x86_64")]
    for r in rr.step_by(8) {
        for c in (0..cols).step_by(8) {
            transpose8x8(
                s.offset(c as isize * scs).add(r),
                scs,
                d.offset(r as isize * drs).add(c),
                drs,
            );
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    staged_tile(s, scs, d, drs, rr, 0..cols);
}

/// Reads 8 vectors of 8 (`s + i * ss`, i < 8) and writes their transpose (`d + j * ds`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn transpose8x8(s: *const f32, ss: isize, d: *mut f32, ds: isize) {
    use std::arch::x86_64::*;
    let r: [__m256; 8] = std::array::from_fn(|i| _mm256_loadu_ps(s.offset(i as isize * ss)));
    for (j, row) in crate::ops::simd::transpose8_ps(r).into_iter().enumerate() {
        _mm256_storeu_ps(d.offset(j as isize * ds), row);
    }
}
