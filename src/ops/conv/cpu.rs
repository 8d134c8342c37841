//! The CPU convolution: per sample and group, the input is unfolded (im2col) into a
//! (cg*kh*kw, oh*ow) buffer the size of one sample's patches, which the `gemm` crate
//! multiplies with the weight. Samples with small outputs (under MIN_GEMM_COLUMNS
//! positions, e.g. 7x7) share one buffer, side by side, so the gemm is wide enough.
//! Blocks of samples run in parallel, one buffer per task, so the unfolded input never
//! exists for the whole batch. A 1x1, stride-1, unpadded convolution skips the
//! unfolding: the input already is that matrix.
//!
//! The weight gradient sums over samples: each of at most WEIGHT_GRAD_PARTS consecutive
//! runs of samples accumulates its own partial sum (in sample order), and the partials
//! are added in run order. The runs depend on the batch size only, so the result is the
//! same on any thread count.

use super::{ConvKernels, ConvShape, PoolShape, Window};
use crate::backend::Cpu;
use crate::device::cpu::{for_each_chunk, install, map_chunks, num_threads, SendPtr};
use crate::ops::util::{slice, slice_mut};
use crate::tensor::{DType, Element, Tensor};
use crate::{bail, Result};
use std::ops::AddAssign;

/// Partial sums of the weight gradient (see the module docs).
const WEIGHT_GRAD_PARTS: usize = 8;

/// The float element types the CPU convolution runs on.
trait Float: Element + AddAssign {}
impl Float for f32 {}
impl Float for f64 {}

impl ConvKernels for Cpu {
    fn conv2d(&self, x: &Tensor, w: &Tensor, s: &ConvShape) -> Result<Tensor> {
        match x.dtype() {
            DType::F32 => forward::<f32>(x, w, s),
            _ => forward::<f64>(x, w, s),
        }
    }
    fn conv2d_input_grad(&self, gy: &Tensor, w: &Tensor, s: &ConvShape) -> Result<Tensor> {
        match gy.dtype() {
            DType::F32 => input_grad::<f32>(gy, w, s),
            _ => input_grad::<f64>(gy, w, s),
        }
    }
    fn conv2d_weight_grad(&self, x: &Tensor, gy: &Tensor, s: &ConvShape) -> Result<Tensor> {
        match x.dtype() {
            DType::F32 => weight_grad::<f32>(x, gy, s),
            _ => weight_grad::<f64>(x, gy, s),
        }
    }
    fn max_pool2d(&self, x: &Tensor, s: &PoolShape) -> Result<(Tensor, Tensor)> {
        match x.dtype() {
            DType::F32 => max_pool::<f32>(x, s),
            _ => max_pool::<f64>(x, s),
        }
    }
    fn max_pool2d_backward(&self, gy: &Tensor, idx: &Tensor, s: &PoolShape) -> Result<Tensor> {
        match gy.dtype() {
            DType::F32 => max_pool_backward::<f32>(gy, idx, s),
            _ => max_pool_backward::<f64>(gy, idx, s),
        }
    }
}

/// A 1x1 kernel with stride 1 and no padding reads the input as the patch matrix.
fn pointwise(s: &ConvShape) -> bool {
    let w = &s.win;
    w.kh == 1 && w.kw == 1 && w.sh == 1 && w.sw == 1 && w.ph == 0 && w.pw == 0
}

/// The outputs o in 0..outs whose input position o * stride + off - pad lies in 0..len.
fn valid_range(len: usize, outs: usize, stride: usize, off: usize, pad: usize) -> (usize, usize) {
    let lo = if pad > off {
        (pad - off).div_ceil(stride)
    } else {
        0
    };
    let hi = if len + pad > off {
        (len + pad - off).div_ceil(stride)
    } else {
        0
    };
    let lo = lo.min(outs);
    (lo, hi.clamp(lo, outs))
}

/// Calls `f(row, oy, iy_or_none, ox_range, ix_of_first)` for every patch row and output
/// row of one group's cg channels: the walk im2col and col2im share.
fn for_each_patch_row(
    s: &ConvShape,
    mut f: impl FnMut(usize, usize, usize, Option<usize>, (usize, usize), usize),
) {
    let Window {
        kh,
        kw,
        sh,
        sw,
        ph,
        pw,
        dh,
        dw,
    } = s.win;
    for ci in 0..s.cg() {
        for i in 0..kh {
            for j in 0..kw {
                let row = (ci * kh + i) * kw + j;
                let (lo, hi) = valid_range(s.w, s.ow, sw, j * dw, pw);
                // the input column of output column lo
                let ix0 = (lo * sw + j * dw).saturating_sub(pw);
                for oy in 0..s.oh {
                    let iy = (oy * sh + i * dh).checked_sub(ph).filter(|&y| y < s.h);
                    f(ci, row, oy, iy, (lo, hi), ix0);
                }
            }
        }
    }
}

/// For stride 1 with output rows as wide as input rows (3x3 with padding 1, ...), a
/// patch row is the input plane shifted by a constant offset: `Some` of the shifted
/// span as (first output index, end, source offset), with the valid columns lo..hi and
/// valid output rows ylo..yhi. Copying or adding that span in one pass replaces a
/// short copy per output row, whose overhead dominated at 28-wide rows.
struct FlatSpan {
    start: usize,
    end: usize,
    src: usize,
    cols: (usize, usize),
    rows: (usize, usize),
}

fn flat_span(s: &ConvShape, i: usize, j: usize) -> Option<FlatSpan> {
    let Window {
        sh,
        sw,
        ph,
        pw,
        dh,
        dw,
        ..
    } = s.win;
    if sh != 1 || sw != 1 || s.ow != s.w {
        return None;
    }
    let (lo, hi) = valid_range(s.w, s.ow, 1, j * dw, pw);
    let (ylo, yhi) = valid_range(s.h, s.oh, 1, i * dh, ph);
    if lo >= hi || ylo >= yhi {
        return Some(FlatSpan {
            start: 0,
            end: 0,
            src: 0,
            cols: (0, 0),
            rows: (0, 0),
        });
    }
    let (start, end) = (ylo * s.w + lo, (yhi - 1) * s.w + hi);
    // the input position of output (ylo, lo): row ylo + i*dh - ph, column lo + j*dw - pw
    let src = (ylo + i * dh - ph) * s.w + (lo + j * dw - pw);
    Some(FlatSpan {
        start,
        end,
        src,
        cols: (lo, hi),
        rows: (ylo, yhi),
    })
}

/// Zeroes the entries of one flat patch row outside the valid rows and columns.
fn zero_outside<T: Float>(row: &mut [T], f: &FlatSpan, w: usize) {
    let (lo, hi) = f.cols;
    let (ylo, yhi) = f.rows;
    if ylo >= yhi {
        row.fill(T::zero());
        return;
    }
    row[..ylo * w + lo].fill(T::zero());
    for oy in ylo..yhi {
        let r = &mut row[oy * w..(oy + 1) * w];
        if oy > ylo {
            r[..lo].fill(T::zero());
        }
        if oy + 1 < yhi {
            r[hi..].fill(T::zero());
        }
    }
    row[(yhi - 1) * w + hi..].fill(T::zero());
}

/// Unfolds one sample's group `x` (cg, h, w) into `cols` (cg*kh*kw, oh*ow), whose rows
/// are `ld` apart (ld > oh*ow when several samples share one patch matrix).
fn im2col<T: Float>(x: &[T], cols: &mut [T], s: &ConvShape, ld: usize) {
    let (l, ow, sw) = (s.oh * s.ow, s.ow, s.win.sw);
    if flat_span(s, 0, 0).is_some() {
        let (kh, kw, hw) = (s.win.kh, s.win.kw, s.h * s.w);
        for ci in 0..s.cg() {
            let plane = &x[ci * hw..][..hw];
            for i in 0..kh {
                for j in 0..kw {
                    let f = flat_span(s, i, j).expect("flat geometry");
                    let row = &mut cols[((ci * kh + i) * kw + j) * ld..][..l];
                    let n = f.end - f.start;
                    row[f.start..f.end].copy_from_slice(&plane[f.src..f.src + n]);
                    zero_outside(row, &f, s.w);
                }
            }
        }
        return;
    }
    for_each_patch_row(s, |ci, row, oy, iy, (lo, hi), ix0| {
        let out = &mut cols[row * ld + oy * ow..][..ow];
        let Some(iy) = iy else {
            out.fill(T::zero());
            return;
        };
        let src = &x[(ci * s.h + iy) * s.w..][..s.w];
        out[..lo].fill(T::zero());
        out[hi..].fill(T::zero());
        if sw == 1 {
            out[lo..hi].copy_from_slice(&src[ix0..ix0 + (hi - lo)]);
        } else {
            for (k, o) in out[lo..hi].iter_mut().enumerate() {
                *o = src[ix0 + k * sw];
            }
        }
    });
}

/// Adds `cols` (cg*kh*kw, oh*ow, rows `ld` apart) back onto one sample's group `x`
/// (cg, h, w): the transpose of `im2col`. `cols` is scratch: the flat path zeroes its
/// invalid entries (which then add nothing where they wrap into a neighbouring row).
fn col2im<T: Float>(cols: &mut [T], x: &mut [T], s: &ConvShape, ld: usize) {
    let (l, ow, sw) = (s.oh * s.ow, s.ow, s.win.sw);
    if flat_span(s, 0, 0).is_some() {
        let (kh, kw, hw) = (s.win.kh, s.win.kw, s.h * s.w);
        for ci in 0..s.cg() {
            let plane = &mut x[ci * hw..][..hw];
            for i in 0..kh {
                for j in 0..kw {
                    let f = flat_span(s, i, j).expect("flat geometry");
                    let row = &mut cols[((ci * kh + i) * kw + j) * ld..][..l];
                    zero_outside(row, &f, s.w);
                    let n = f.end - f.start;
                    for (d, &v) in plane[f.src..f.src + n].iter_mut().zip(&row[f.start..f.end]) {
                        *d += v;
                    }
                }
            }
        }
        return;
    }
    for_each_patch_row(s, |ci, row, oy, iy, (lo, hi), ix0| {
        let Some(iy) = iy else { return };
        let src = &cols[row * ld + oy * ow..][lo..hi];
        let dst = &mut x[(ci * s.h + iy) * s.w..][..s.w];
        if sw == 1 {
            for (d, &v) in dst[ix0..ix0 + src.len()].iter_mut().zip(src) {
                *d += v;
            }
        } else {
            for (k, &v) in src.iter().enumerate() {
                dst[ix0 + k * sw] += v;
            }
        }
    });
}

/// A matrix operand: pointer, row stride and column stride (in elements).
#[derive(Clone, Copy)]
struct Mat<T> {
    ptr: *const T,
    rs: isize,
    cs: isize,
}

/// dst (m x n, strides `dst_rs`, `dst_cs`) = a (m x k) b (k x n), or += with
/// `accumulate`.
///
/// # Safety
/// Every (row, col) of `dst`, `a` and `b` addressed through their strides lies in a live
/// allocation, and `dst` overlaps neither operand nor another task's destination.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_into<T: Float>(
    (m, n, k): (usize, usize, usize),
    dst: *mut T,
    (dst_rs, dst_cs): (isize, isize),
    accumulate: bool,
    a: Mat<T>,
    b: Mat<T>,
    par: gemm::Parallelism,
) {
    gemm::gemm(
        m,
        n,
        k,
        dst,
        dst_cs,
        dst_rs,
        accumulate,
        a.ptr,
        a.cs,
        a.rs,
        b.ptr,
        b.cs,
        b.rs,
        T::one(),
        T::one(),
        false,
        false,
        false,
        par,
    )
}

/// Below this many output positions per sample, several samples share one patch matrix
/// so each gemm is at least this wide: one 7x7 sample alone (49 columns) leaves most of
/// a gemm kernel's width idle.
const MIN_GEMM_COLUMNS: usize = 256;

/// Samples per patch matrix: a function of the shape only, so sums run in the same order
/// on any thread count. A pointwise convolution reads the input in place (one sample).
fn samples_per_block(s: &ConvShape) -> usize {
    let l = (s.oh * s.ow).max(1);
    if pointwise(s) || l >= MIN_GEMM_COLUMNS {
        1
    } else {
        MIN_GEMM_COLUMNS.div_ceil(l).min(s.n.max(1))
    }
}

/// Runs `per_block(first, end, scratch, parallelism)` over consecutive blocks of `bs`
/// samples: in parallel over blocks with single-threaded gemms when there are enough
/// blocks to keep the threads busy, else one block at a time with gemm's own
/// parallelism. Either way each block's sums run in the same order, so results do not
/// depend on the choice.
fn for_each_block<T: Float>(
    n: usize,
    bs: usize,
    scratch_len: usize,
    per_block: impl Fn(usize, usize, &mut [T], gemm::Parallelism) + Sync + Send,
) {
    let threads = num_threads();
    let blocks = n.div_ceil(bs);
    let bounds = |b: usize| (b * bs, ((b + 1) * bs).min(n));
    if blocks >= threads {
        // Two runs of blocks per thread: each run allocates its scratch once (a buffer
        // per block would cost a fresh, page-faulting allocation each time).
        for_each_chunk(blocks, blocks.div_ceil(2 * threads), |b0, b1| {
            let mut scratch = vec![T::zero(); scratch_len];
            for b in b0..b1 {
                let (first, end) = bounds(b);
                per_block(first, end, &mut scratch, gemm::Parallelism::None);
            }
        });
    } else {
        let mut scratch = vec![T::zero(); scratch_len];
        install(|| {
            for b in 0..blocks {
                let (first, end) = bounds(b);
                per_block(first, end, &mut scratch, gemm::Parallelism::Rayon(threads));
            }
        });
    }
}

/// Scratch lengths of one block of `bs` samples: the patch matrix (k, bs*l), none for
/// a pointwise convolution, and with bs > 1 a (og, bs*l) buffer for the block's rows
/// of y or gy.
fn block_scratch(s: &ConvShape, bs: usize) -> (usize, usize) {
    let l = s.oh * s.ow;
    let cols = if pointwise(s) { 0 } else { s.patch() * bs * l };
    (cols, if bs > 1 { s.og() * bs * l } else { 0 })
}

/// Group g's patch matrix (k x m*l, row-major) of samples first..first+m: unfolded into
/// `cols`, or the input itself for a pointwise convolution (where m == 1).
fn block_patches<T: Float>(
    xs: &[T],
    cols: &mut [T],
    s: &ConvShape,
    (first, m, g): (usize, usize, usize),
) -> *const T {
    let (cg, hw, l) = (s.cg(), s.h * s.w, s.oh * s.ow);
    if pointwise(s) {
        return xs[(first * s.c + g * cg) * hw..][..cg * hw].as_ptr();
    }
    for si in 0..m {
        let xg = &xs[((first + si) * s.c + g * cg) * hw..][..cg * hw];
        im2col(xg, &mut cols[si * l..], s, m * l);
    }
    cols.as_ptr()
}

/// Group g's rows of `gy` (n, o, l) for samples first..first+m as one og x m*l
/// row-major matrix: in place when m == 1, else gathered into `tmp` (sample si's row ro
/// at ro*m*l + si*l).
fn block_rows<T: Float>(
    gys: &[T],
    tmp: &mut [T],
    s: &ConvShape,
    (first, m, g): (usize, usize, usize),
) -> *const T {
    let (og, l) = (s.og(), s.oh * s.ow);
    if m == 1 {
        return gys[(first * s.o + g * og) * l..][..og * l].as_ptr();
    }
    for si in 0..m {
        for ro in 0..og {
            let from = &gys[((first + si) * s.o + g * og + ro) * l..][..l];
            tmp[ro * m * l + si * l..][..l].copy_from_slice(from);
        }
    }
    tmp.as_ptr()
}

fn forward<T: Float>(x: &Tensor, w: &Tensor, s: &ConvShape) -> Result<Tensor> {
    let y = crate::ops::copy::uninit_cpu(T::DTYPE, &s.y_shape())?;
    let (xs, ws) = (slice::<T>(x), slice::<T>(w));
    let yp = SendPtr(slice_mut::<T>(&y).as_mut_ptr());
    let (og, k, l) = (s.og(), s.patch(), s.oh * s.ow);
    let bs = samples_per_block(s);
    let (cols_len, tmp_len) = block_scratch(s, bs);
    for_each_block::<T>(s.n, bs, cols_len + tmp_len, |first, end, scratch, par| {
        let (cols, tmp) = scratch.split_at_mut(cols_len);
        let (m, ld) = (end - first, (end - first) * l);
        for g in 0..s.groups {
            let rhs = block_patches(xs, cols, s, (first, m, g));
            let wg = &ws[g * og * k..][..og * k];
            let dst = if m == 1 {
                // SAFETY: sample `first`'s group g block (og x l) of the fresh output
                // lies inside it (first < n, g < groups); only this task writes it.
                unsafe { yp.get().add((first * s.o + g * og) * l) }
            } else {
                tmp.as_mut_ptr()
            };
            // SAFETY: wg is og x k row-major; rhs is k x ld row-major (cols holds
            // k * bs * l >= k * ld elements; xg when pointwise, where m == 1 and
            // cg * h * w = k * l); dst is og x ld row-major: the output block when
            // m == 1, else tmp, which holds og * bs * l >= og * ld elements.
            unsafe {
                gemm_into(
                    (og, ld, k),
                    dst,
                    (ld as isize, 1),
                    false,
                    Mat {
                        ptr: wg.as_ptr(),
                        rs: k as isize,
                        cs: 1,
                    },
                    Mat {
                        ptr: rhs,
                        rs: ld as isize,
                        cs: 1,
                    },
                    par,
                )
            }
            if m > 1 {
                for si in 0..m {
                    for ro in 0..og {
                        // SAFETY: row ro of sample first+si's group g lies inside the
                        // output and is written by this task only.
                        let out =
                            unsafe { yp.slice_mut(((first + si) * s.o + g * og + ro) * l, l) };
                        out.copy_from_slice(&tmp[ro * ld + si * l..][..l]);
                    }
                }
            }
        }
    });
    Ok(y)
}

/// For a stride-1 convolution whose output is as large as its input (3x3 with padding
/// 1, ...), the input gradient is itself such a convolution: of gy with the kernel
/// flipped in space and transposed in channels, padded by d*(k-1) - p. That runs the
/// forward's contiguous im2col and a gemm with cg*kh*kw inner products instead of
/// og-long ones followed by col2im's scattered adds (measured 1.3-1.8x faster with 16
/// output channels at 28x28). `None` where the shape does not qualify.
fn input_grad_as_conv<T: Float>(gy: &Tensor, w: &Tensor, s: &ConvShape) -> Option<Result<Tensor>> {
    let win = s.win;
    let reach = (win.dh * (win.kh - 1), win.dw * (win.kw - 1));
    let same = s.oh == s.h && s.ow == s.w;
    // Only for few output channels per group: with og >= 32 the og-long products are
    // efficient already and the col2im path measured as fast or faster.
    let short = s.og() < 32;
    if !short
        || win.sh != 1
        || win.sw != 1
        || !same
        || pointwise(s)
        || reach.0 < win.ph
        || reach.1 < win.pw
    {
        return None;
    }
    let (cg, og, kh, kw) = (s.cg(), s.og(), win.kh, win.kw);
    let ws = slice::<T>(w);
    let mut flipped: Vec<T> = Vec::with_capacity(ws.len());
    for g in 0..s.groups {
        for ci in 0..cg {
            for o in 0..og {
                let src = &ws[((g * og + o) * cg + ci) * kh * kw..][..kh * kw];
                flipped.extend(src.iter().rev());
            }
        }
    }
    let s2 = ConvShape {
        n: s.n,
        c: s.o,
        h: s.oh,
        w: s.ow,
        o: s.c,
        groups: s.groups,
        win: Window::new(
            (kh, kw),
            (1, 1),
            (reach.0 - win.ph, reach.1 - win.pw),
            (win.dh, win.dw),
        ),
        oh: s.h,
        ow: s.w,
    };
    Some(Tensor::from_vec(flipped, &s2.w_shape()).and_then(|wt| forward::<T>(gy, &wt, &s2)))
}

fn input_grad<T: Float>(gy: &Tensor, w: &Tensor, s: &ConvShape) -> Result<Tensor> {
    if let Some(gx) = input_grad_as_conv::<T>(gy, w, s) {
        return gx;
    }
    let gx = Tensor::zeros_dtype(&s.x_shape(), T::DTYPE)?;
    let (gys, ws) = (slice::<T>(gy), slice::<T>(w));
    let gxp = SendPtr(slice_mut::<T>(&gx).as_mut_ptr());
    let (cg, og, k, l, hw) = (s.cg(), s.og(), s.patch(), s.oh * s.ow, s.h * s.w);
    let direct = pointwise(s);
    let bs = samples_per_block(s);
    let (cols_len, tmp_len) = block_scratch(s, bs);
    for_each_block::<T>(s.n, bs, cols_len + tmp_len, |first, end, scratch, par| {
        let (cols, tmp) = scratch.split_at_mut(cols_len);
        let (m, ld) = (end - first, (end - first) * l);
        for g in 0..s.groups {
            let rhs = block_rows(gys, tmp, s, (first, m, g));
            let wg = &ws[g * og * k..][..og * k];
            let dst = if direct {
                // SAFETY: sample `first`'s group g of gx (cg * h * w = k * l elements
                // when pointwise, where m == 1) is written by this task only.
                unsafe { gxp.get().add((first * s.c + g * cg) * hw) }
            } else {
                cols.as_mut_ptr()
            };
            // SAFETY: wg read transposed is k x og (row stride 1, column stride k); rhs
            // is og x ld row-major (gy's block when m == 1, else tmp with og * bs * l
            // elements); dst is k x ld row-major (cols holds k * bs * l elements).
            unsafe {
                gemm_into(
                    (k, ld, og),
                    dst,
                    (ld as isize, 1),
                    false,
                    Mat {
                        ptr: wg.as_ptr(),
                        rs: 1,
                        cs: k as isize,
                    },
                    Mat {
                        ptr: rhs,
                        rs: ld as isize,
                        cs: 1,
                    },
                    par,
                )
            }
            if !direct {
                for si in 0..m {
                    // SAFETY: sample first+si's group g of gx is written by this task only.
                    let gxg = unsafe { gxp.slice_mut(((first + si) * s.c + g * cg) * hw, cg * hw) };
                    col2im(&mut cols[si * l..], gxg, s, ld);
                }
            }
        }
    });
    Ok(gx)
}

fn weight_grad<T: Float>(x: &Tensor, gy: &Tensor, s: &ConvShape) -> Result<Tensor> {
    let (xs, gys) = (slice::<T>(x), slice::<T>(gy));
    let (og, k, l) = (s.og(), s.patch(), s.oh * s.ow);
    let wlen = s.o * k;
    let run = s.n.div_ceil(WEIGHT_GRAD_PARTS).max(1);
    let threads = num_threads();
    let parts_count = s.n.div_ceil(run);
    // With fewer runs than threads, each gemm gets the threads instead.
    let par = if parts_count >= threads {
        gemm::Parallelism::None
    } else {
        gemm::Parallelism::Rayon(threads)
    };
    let bs = samples_per_block(s);
    let partial = |first: usize, end: usize| -> Vec<T> {
        let mut acc = vec![T::zero(); wlen];
        let (cols_len, tmp_len) = block_scratch(s, bs);
        let (mut cols, mut tmp) = (vec![T::zero(); cols_len], vec![T::zero(); tmp_len]);
        for b0 in (first..end).step_by(bs) {
            let m = bs.min(end - b0);
            let ld = m * l;
            for g in 0..s.groups {
                let rhs = block_patches(xs, &mut cols, s, (b0, m, g));
                let lhs = block_rows(gys, &mut tmp, s, (b0, m, g));
                // SAFETY: lhs is og x ld row-major (gy's block when m == 1, else tmp
                // with og * bs * l elements), the patches (k x ld row-major in cols, or
                // the input when pointwise, where m == 1) read transposed are ld x k
                // (row stride 1, column stride ld), and acc's group g block is og x k.
                unsafe {
                    gemm_into(
                        (og, k, ld),
                        acc.as_mut_ptr().add(g * og * k),
                        (k as isize, 1),
                        true,
                        Mat {
                            ptr: lhs,
                            rs: ld as isize,
                            cs: 1,
                        },
                        Mat {
                            ptr: rhs,
                            rs: 1,
                            cs: ld as isize,
                        },
                        par,
                    )
                }
            }
        }
        acc
    };
    let parts = if parts_count >= threads {
        map_chunks(s.n, run, partial)
    } else {
        install(|| {
            (0..parts_count)
                .map(|p| partial(p * run, ((p + 1) * run).min(s.n)))
                .collect()
        })
    };
    let gw = crate::ops::copy::uninit_cpu(T::DTYPE, &s.w_shape())?;
    let out = slice_mut::<T>(&gw);
    out.copy_from_slice(&parts[0]);
    for p in &parts[1..] {
        for (o, &v) in out.iter_mut().zip(p) {
            *o += v;
        }
    }
    Ok(gw)
}

/// For each output position along one axis, the in-bounds input positions of its
/// window, in window order: computed once per call, not per plane or per output.
fn window_taps(
    outs: usize,
    len: usize,
    k: usize,
    stride: usize,
    pad: usize,
    dil: usize,
) -> Vec<Vec<usize>> {
    (0..outs)
        .map(|o| {
            (0..k)
                .filter_map(|i| (o * stride + i * dil).checked_sub(pad).filter(|&v| v < len))
                .collect()
        })
        .collect()
}

/// Planes per task for the pooling kernels: about 64K input elements.
fn planes_per_task(s: &PoolShape) -> usize {
    ((1 << 16) / (s.h * s.w).max(1)).max(1)
}

fn max_pool<T: Float>(x: &Tensor, s: &PoolShape) -> Result<(Tensor, Tensor)> {
    let y = crate::ops::copy::uninit_cpu(T::DTYPE, &s.y_shape())?;
    let idx = crate::ops::copy::uninit_cpu(DType::I64, &s.y_shape())?;
    let xs = slice::<T>(x);
    let yp = SendPtr(slice_mut::<T>(&y).as_mut_ptr());
    let ip = SendPtr(slice_mut::<i64>(&idx).as_mut_ptr());
    let (hw, ohw) = (s.h * s.w, s.oh * s.ow);
    let w = s.win;
    let row_taps = window_taps(s.oh, s.h, w.kh, w.sh, w.ph, w.dh);
    let col_taps = window_taps(s.ow, s.w, w.kw, w.sw, w.pw, w.dw);
    for_each_chunk(s.n * s.c, planes_per_task(s), |p0, p1| {
        for p in p0..p1 {
            let plane = &xs[p * hw..][..hw];
            // SAFETY: plane p's outputs are written by this task only.
            let (yo, io) = unsafe { (yp.slice_mut(p * ohw, ohw), ip.slice_mut(p * ohw, ohw)) };
            for (oy, rows) in row_taps.iter().enumerate() {
                for (ox, cols) in col_taps.iter().enumerate() {
                    let mut best = T::from_f64(f64::NEG_INFINITY);
                    // -1: a window entirely in the padding (possible with dilation) has
                    // no input to route its gradient to; its output is -inf.
                    let mut at = -1i64;
                    for &iy in rows {
                        let row = &plane[iy * s.w..][..s.w];
                        for &ix in cols {
                            let v = row[ix];
                            // PyTorch's rule: the first cell, then a larger value or a
                            // NaN takes the position (so ties keep the first, NaN the last).
                            if at < 0 || v > best || v.is_nan() {
                                best = v;
                                at = (iy * s.w + ix) as i64;
                            }
                        }
                    }
                    let o = oy * s.ow + ox;
                    yo[o] = best;
                    io[o] = at;
                }
            }
        }
    });
    Ok((y, idx))
}

fn max_pool_backward<T: Float>(gy: &Tensor, idx: &Tensor, s: &PoolShape) -> Result<Tensor> {
    let idx = idx.contiguous()?;
    let positions = slice::<i64>(&idx);
    let hw = (s.h * s.w) as i64;
    if let Some(bad) = positions.iter().find(|&&i| i < -1 || i >= hw) {
        bail!(
            Index,
            "max_pool2d backward: saved index {bad} is outside the {}x{} input plane",
            s.h,
            s.w
        )
    }
    // Zeroed plane by plane inside the tasks (in parallel, and while the plane is hot).
    let gx = crate::ops::copy::uninit_cpu(T::DTYPE, &s.x_shape())?;
    let gys = slice::<T>(gy);
    let gxp = SendPtr(slice_mut::<T>(&gx).as_mut_ptr());
    let (hw, ohw) = (s.h * s.w, s.oh * s.ow);
    for_each_chunk(s.n * s.c, planes_per_task(s), |p0, p1| {
        for p in p0..p1 {
            // SAFETY: plane p of gx is written by this task only.
            let plane = unsafe { gxp.slice_mut(p * hw, hw) };
            plane.fill(T::zero());
            for (&g, &i) in gys[p * ohw..][..ohw]
                .iter()
                .zip(&positions[p * ohw..][..ohw])
            {
                if i >= 0 {
                    plane[i as usize] += g;
                }
            }
        }
    });
    Ok(gx)
}
