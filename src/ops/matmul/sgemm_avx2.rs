//! ferrograd's own float32 GEMM for AVX2 + FMA CPUs, where the gemm crate measured slower
//! than NumPy's OpenBLAS (most of all on products with a transposed operand: Linear's
//! `x @ W.T`, the weight gradient's `g.T @ x`). Layout after BLIS (Van Zee and van de
//! Geijn, 2015): a 6x16 register tile (12 ymm accumulators; per k step two loads of B,
//! six broadcasts of A and twelve FMAs), B packed into 16-wide panels of KC rows, A into
//! 6-tall panels, blocks of MC rows.
//!
//! Threads split the output into a grid of rectangles and run independently, each
//! packing the operand panels its rectangle needs: no barriers, and one thread's packing
//! (memory-bound) overlaps the other's arithmetic. Every element's k-sum runs in the same
//! order whatever the grid (KC-blocks in order, each a chain of FMAs), so results don't
//! depend on the thread count.

use std::arch::x86_64::*;
use std::cell::RefCell;

use crate::device::cpu::for_each_chunk;
use crate::ops::simd::transpose8_ps;

const MR: usize = 6;
const NR: usize = 16;
/// k-block (fewer passes over C than BLIS's 256; 256 and 384 measured the same within
/// noise on a Zen 3 EPYC).
const KC: usize = 512;
/// Rows of A per packed block (MC x KC floats = 288 KiB, inside a 512 KiB L2).
const MC: usize = 144;
/// Columns of B per packed block (KC x NC floats = 2 MiB, in L3).
const NC: usize = 1024;

/// Up to this many output columns per thread, a row-major A is read in place.
const IN_PLACE_MAX_COLS: usize = 256;

/// One 64-byte cache line of floats: the packing buffers are built from these so each
/// panel starts on a line and the kernel's loads of B never split one.
#[repr(C, align(64))]
#[derive(Clone, Copy)]
struct Line([f32; 16]);

thread_local! {
    /// Per-thread packing buffers (A block, B block), kept between calls so a product
    /// doesn't page in megabytes of fresh memory each time.
    static PACKS: RefCell<(Vec<Line>, Vec<Line>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// A strided float32 matrix operand.
#[derive(Clone, Copy)]
pub(crate) struct Mat {
    pub ptr: *const f32,
    pub rs: isize,
    pub cs: isize,
}
// SAFETY: read-only access from the worker threads, within the bounds the caller checked.
unsafe impl Send for Mat {}
unsafe impl Sync for Mat {}

impl Mat {
    /// SAFETY: (r, c) must lie inside the matrix.
    #[inline(always)]
    unsafe fn at(self, r: usize, c: usize) -> *const f32 {
        self.ptr.offset(r as isize * self.rs + c as isize * self.cs)
    }
}

#[derive(Clone, Copy)]
struct OutPtr(*mut f32);
// SAFETY: each thread writes its own rectangle of the output only.
unsafe impl Send for OutPtr {}
unsafe impl Sync for OutPtr {}
impl OutPtr {
    /// A method, so closures capture the whole (Sync) wrapper rather than its field.
    fn get(self) -> *mut f32 {
        self.0
    }
}

/// c (m x n, row-major, contiguous) = a (m x k) @ b (k x n), on `threads` threads.
///
/// SAFETY: the caller must check that the CPU has AVX2 and FMA, that every (r, j) of a
/// and (j, c) of b lies inside its allocation, and that c holds m * n floats that
/// nothing else accesses during the call.
pub(crate) unsafe fn sgemm(
    m: usize,
    n: usize,
    k: usize,
    a: Mat,
    b: Mat,
    c: *mut f32,
    threads: usize,
) {
    let (tm, tn) = grid(m, n, threads.max(1), a.cs == 1);
    let (pm, pn) = (m.div_ceil(MR).div_ceil(tm), n.div_ceil(NR).div_ceil(tn));
    let out = OutPtr(c);
    for_each_chunk(tm * tn, 1, |t, _| {
        let (ti, tj) = (t / tn, t % tn);
        let rows = ((ti * pm * MR).min(m), ((ti + 1) * pm * MR).min(m));
        let cols = ((tj * pn * NR).min(n), ((tj + 1) * pn * NR).min(n));
        if rows.0 < rows.1 && cols.0 < cols.1 {
            // SAFETY: rectangles of different t are disjoint; the rest is the caller's.
            PACKS.with_borrow_mut(|(ap, bp)| unsafe {
                rectangle(n, k, a, b, out.get(), rows, cols, ap, bp)
            });
        }
    });
}

/// The thread grid (tm rows x tn columns of rectangles, tm * tn = threads) with the
/// least estimated time: register tiles of the busiest thread (FMA cycles per k step)
/// plus the rows of A and columns of B it packs (about a cycle per element and k step;
/// a row-major A read in place costs no packing).
fn grid(m: usize, n: usize, threads: usize, a_row_major: bool) -> (usize, usize) {
    let (mp, np) = (m.div_ceil(MR), n.div_ceil(NR));
    (1..=threads)
        .filter(|&tm| threads.is_multiple_of(tm))
        .map(|tm| (tm, threads / tm))
        .min_by_key(|&(tm, tn)| {
            let (pm, pn) = (mp.div_ceil(tm), np.div_ceil(tn));
            let a_in_place = a_row_major && pn * NR <= IN_PLACE_MAX_COLS;
            let a_packed = if a_in_place { 0 } else { pm * MR };
            pm * pn * (MR * NR / 16) + a_packed + pn * NR
        })
        .unwrap_or((1, 1))
}

/// One thread's rectangle rows.0..rows.1 x cols.0..cols.1 of c (row stride n).
///
/// SAFETY: sgemm's contract, with the rectangle inside c and no other thread writing it.
/// The packing buffers are sized here for the panels written into them (plus one spare
/// line for pack_a's spill), and every panel read was packed first.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2,fma")]
unsafe fn rectangle(
    n: usize,
    k: usize,
    a: Mat,
    b: Mat,
    c: *mut f32,
    rows: (usize, usize),
    cols: (usize, usize),
    apack: &mut Vec<Line>,
    bpack: &mut Vec<Line>,
) {
    let a_lines = MC * KC.min(k) / 16 + 1;
    let b_lines = NC.min((cols.1 - cols.0).next_multiple_of(NR)) * KC.min(k) / 16 + 1;
    if apack.len() < a_lines {
        apack.resize(a_lines, Line([0.0; 16]));
    }
    if bpack.len() < b_lines {
        bpack.resize(b_lines, Line([0.0; 16]));
    }
    let (ap, bp) = (
        apack.as_mut_ptr() as *mut f32,
        bpack.as_mut_ptr() as *mut f32,
    );
    // A row-major a is read in place by the tile (six row streams) when the rectangle is
    // narrow: a packed panel pays for its packing over many B panels, and measured slower
    // than in-place reads at 128 columns, the same at 256 and faster from 512 on (2-core
    // Zen 3). Only a last panel of fewer than 6 rows is packed then, zero-padded.
    let direct = a.cs == 1 && cols.1 - cols.0 <= IN_PLACE_MAX_COLS;
    for jc in (cols.0..cols.1).step_by(NC) {
        let nc = NC.min(cols.1 - jc);
        for pc in (0..k).step_by(KC) {
            let kc = KC.min(k - pc);
            for jp in 0..nc.div_ceil(NR) {
                let c0 = jc + jp * NR;
                pack_b(
                    kc,
                    NR.min(jc + nc - c0),
                    b.at(pc, c0),
                    b,
                    bp.add(jp * NR * kc),
                );
            }
            for ic in (rows.0..rows.1).step_by(MC) {
                let mc = MC.min(rows.1 - ic);
                for ip in 0..mc.div_ceil(MR) {
                    let r0 = ic + ip * MR;
                    let h = MR.min(ic + mc - r0);
                    if !direct || h < MR {
                        pack_a(kc, h, a.at(r0, pc), a, ap.add(ip * MR * kc));
                    }
                }
                let block = Block {
                    kc,
                    ap,
                    bp,
                    a_rows: direct.then(|| (a.at(ic, pc), a.rs)),
                    accumulate: pc > 0,
                };
                block.multiply(c, n, (ic, ic + mc), (jc, jc + nc));
            }
        }
    }
}

/// Packed panels of one (MC x KC) block of A and one (KC x NC) block of B.
struct Block {
    kc: usize,
    ap: *const f32,
    bp: *const f32,
    /// Where the block's rows of a are read in place (its first element and row
    /// stride), for full 6-row panels.
    a_rows: Option<(*const f32, isize)>,
    /// Add to c (every k-block after the first) rather than overwrite it.
    accumulate: bool,
}

impl Block {
    /// c[rows, cols] (+)= the block's product, one 6x16 tile at a time: for each panel
    /// of B (kept in L1) every panel of A.
    ///
    /// SAFETY: AVX2 + FMA; ap and bp hold the block's packed panels (the A panels that
    /// a_rows does not cover); rows x cols lies inside c (row stride ldc) and belongs
    /// to this thread.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn multiply(&self, c: *mut f32, ldc: usize, rows: (usize, usize), cols: (usize, usize)) {
        let kc = self.kc;
        let mut edge = [Line([0.0; 16]); MR];
        for jp in 0..(cols.1 - cols.0).div_ceil(NR) {
            let c0 = cols.0 + jp * NR;
            let w = NR.min(cols.1 - c0);
            let b = self.bp.add(jp * NR * kc);
            for ip in 0..(rows.1 - rows.0).div_ceil(MR) {
                let r0 = rows.0 + ip * MR;
                let h = MR.min(rows.1 - r0);
                let a = self.ap.add(ip * MR * kc);
                let dst = c.add(r0 * ldc + c0);
                if let (Some((a0, lda)), true, true) = (self.a_rows, h == MR, w == NR) {
                    let a = a0.offset((ip * MR) as isize * lda);
                    tile::<true>(kc, a, lda, b, dst, ldc, self.accumulate);
                } else if h == MR && w == NR {
                    tile::<false>(kc, a, MR as isize, b, dst, ldc, self.accumulate);
                } else {
                    // A partial tile: computed whole (the packed panels are zero-padded)
                    // into a scratch tile, of which the valid h x w corner is stored.
                    let scratch = edge.as_mut_ptr() as *mut f32;
                    match self.a_rows {
                        Some((a0, lda)) if h == MR => {
                            let a = a0.offset((ip * MR) as isize * lda);
                            tile::<true>(kc, a, lda, b, scratch, NR, false)
                        }
                        _ => tile::<false>(kc, a, MR as isize, b, scratch, NR, false),
                    }
                    for i in 0..h {
                        for j in 0..w {
                            let (d, v) = (dst.add(i * ldc + j), *scratch.add(i * NR + j));
                            *d = if self.accumulate { *d + v } else { v };
                        }
                    }
                }
            }
        }
    }
}

/// The 6x16 register tile: c (+)= a_panel (kc x 6) @ b_panel (kc x 16, packed). The A
/// panel is packed (element (p, i) at p * 6 + i) or, when IN_PLACE, six rows of a
/// row-major a (element (p, i) at i * lda + p).
///
/// SAFETY: AVX2 + FMA; a and b address kc steps of their panels, b 32-byte aligned; c
/// addresses 6 rows of 16 floats, ldc apart.
#[target_feature(enable = "avx2,fma")]
unsafe fn tile<const IN_PLACE: bool>(
    kc: usize,
    a: *const f32,
    lda: isize,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
) {
    let mut acc = [_mm256_setzero_ps(); 2 * MR];
    if accumulate {
        // c's rows are read once the k loop is done: start fetching them now.
        for i in 0..MR {
            _mm_prefetch::<_MM_HINT_T0>(c.add(i * ldc) as *const i8);
            _mm_prefetch::<_MM_HINT_T0>(c.add(i * ldc + NR - 1) as *const i8);
        }
    }
    // One k step: a row of the B panel times a column of the A panel.
    macro_rules! step {
        ($p:expr) => {{
            let p = $p;
            let b0 = _mm256_load_ps(b.add(p * NR));
            let b1 = _mm256_load_ps(b.add(p * NR + 8));
            for i in 0..MR {
                let at = if IN_PLACE {
                    a.offset(i as isize * lda + p as isize)
                } else {
                    a.add(p * MR + i)
                };
                let x = _mm256_broadcast_ss(&*at);
                acc[2 * i] = _mm256_fmadd_ps(x, b0, acc[2 * i]);
                acc[2 * i + 1] = _mm256_fmadd_ps(x, b1, acc[2 * i + 1]);
            }
        }};
    }
    // Four steps per loop trip: 1-3% faster than one on a Zen 3 EPYC (fewer loop
    // instructions between the FMAs).
    let whole = kc - kc % 4;
    for p in (0..whole).step_by(4) {
        step!(p);
        step!(p + 1);
        step!(p + 2);
        step!(p + 3);
    }
    for p in whole..kc {
        step!(p);
    }
    for i in 0..MR {
        let row = c.add(i * ldc);
        let (mut lo, mut hi) = (acc[2 * i], acc[2 * i + 1]);
        if accumulate {
            lo = _mm256_add_ps(_mm256_loadu_ps(row), lo);
            hi = _mm256_add_ps(_mm256_loadu_ps(row.add(8)), hi);
        }
        _mm256_storeu_ps(row, lo);
        _mm256_storeu_ps(row.add(8), hi);
    }
}

/// Packs w <= 16 columns of kc rows of b, starting at src, into a kc x 16 panel
/// (zero-padded to 16 columns).
///
/// SAFETY: AVX2; rows 0..kc and columns 0..w from src lie inside b; dst holds kc * 16
/// floats and is 32-byte aligned.
#[target_feature(enable = "avx2,fma")]
unsafe fn pack_b(kc: usize, w: usize, src: *const f32, b: Mat, dst: *mut f32) {
    if b.cs == 1 && w == NR {
        for p in 0..kc {
            let s = src.offset(p as isize * b.rs);
            _mm256_store_ps(dst.add(p * NR), _mm256_loadu_ps(s));
            _mm256_store_ps(dst.add(p * NR + 8), _mm256_loadu_ps(s.add(8)));
        }
    } else if b.rs == 1 && w == NR {
        // Column-major b (a transposed weight): 8x8 blocks read along its columns and
        // transposed in registers; the last kc % 8 rows one by one.
        let whole = kc - kc % 8;
        for p in (0..whole).step_by(8) {
            for half in 0..2 {
                let s = src.offset(half as isize * 8 * b.cs + p as isize);
                let cols: [__m256; 8] =
                    std::array::from_fn(|j| _mm256_loadu_ps(s.offset(j as isize * b.cs)));
                for (i, row) in transpose8_ps(cols).into_iter().enumerate() {
                    _mm256_store_ps(dst.add((p + i) * NR + half * 8), row);
                }
            }
        }
        for p in whole..kc {
            for j in 0..NR {
                *dst.add(p * NR + j) = *src.offset(p as isize + j as isize * b.cs);
            }
        }
    } else {
        for p in 0..kc {
            let s = src.offset(p as isize * b.rs);
            for j in 0..NR {
                *dst.add(p * NR + j) = if j < w {
                    *s.offset(j as isize * b.cs)
                } else {
                    0.0
                };
            }
        }
    }
}

/// Packs h <= 6 rows of kc columns of a, starting at src, into a kc x 6 panel (element
/// (p, i) at p * 6 + i), zero-padded to 6 rows.
///
/// SAFETY: AVX2; rows 0..h and columns 0..kc from src lie inside a; dst holds kc * 6
/// floats plus 2 that may be overwritten (the next panel's or a spare line).
#[target_feature(enable = "avx2,fma")]
unsafe fn pack_a(kc: usize, h: usize, src: *const f32, a: Mat, dst: *mut f32) {
    if a.cs == 1 && h == MR {
        // Row-major a: 8 columns of the 6 rows at a time, transposed in registers (two
        // zero rows make the block 8x8). Each column goes out as 8 floats, the last two
        // of which the next column's store overwrites; the last column's two spill into
        // the next panel's start, packed after this one, or into the buffer's spare line.
        let whole = kc - kc % 8;
        for p in (0..whole).step_by(8) {
            let rows: [__m256; 8] = std::array::from_fn(|i| {
                if i < MR {
                    _mm256_loadu_ps(src.offset(i as isize * a.rs + p as isize))
                } else {
                    _mm256_setzero_ps()
                }
            });
            for (j, col) in transpose8_ps(rows).into_iter().enumerate() {
                _mm256_storeu_ps(dst.add((p + j) * MR), col);
            }
        }
        for p in whole..kc {
            for i in 0..MR {
                *dst.add(p * MR + i) = *src.offset(i as isize * a.rs + p as isize);
            }
        }
        return;
    }
    if a.cs == 1 {
        for i in 0..h {
            let s = src.offset(i as isize * a.rs);
            for p in 0..kc {
                *dst.add(p * MR + i) = *s.add(p);
            }
        }
    } else {
        for p in 0..kc {
            let s = src.offset(p as isize * a.cs);
            for i in 0..h {
                *dst.add(p * MR + i) = *s.offset(i as isize * a.rs);
            }
        }
    }
    for i in h..MR {
        for p in 0..kc {
            *dst.add(p * MR + i) = 0.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(i: usize, salt: usize) -> f32 {
        ((i * 7919 + salt * 104729) % 2003) as f32 / 1001.0 - 1.0
    }

    /// Runs sgemm on m x k and k x n operands stored row-major (`*_t` false) or
    /// column-major, returning the output.
    fn run(m: usize, k: usize, n: usize, a_t: bool, b_t: bool, threads: usize) -> Vec<f32> {
        let a: Vec<f32> = (0..m * k).map(|i| value(i, 1)).collect();
        let b: Vec<f32> = (0..k * n).map(|i| value(i, 2)).collect();
        let strides = |rows: usize, cols: usize, t: bool| {
            if t {
                (1, rows as isize)
            } else {
                (cols as isize, 1)
            }
        };
        let ((ars, acs), (brs, bcs)) = (strides(m, k, a_t), strides(k, n, b_t));
        let mut c = vec![f32::NAN; m * n];
        // SAFETY: checked AVX2 + FMA by the caller; the strides address the m x k and
        // k x n buffers exactly; c holds m * n floats.
        unsafe {
            sgemm(
                m,
                n,
                k,
                Mat {
                    ptr: a.as_ptr(),
                    rs: ars,
                    cs: acs,
                },
                Mat {
                    ptr: b.as_ptr(),
                    rs: brs,
                    cs: bcs,
                },
                c.as_mut_ptr(),
                threads,
            )
        };
        // the same operands' values, for the reference below
        let at = |r: usize, j: usize| a[r * ars as usize + j * acs as usize] as f64;
        let bt = |j: usize, col: usize| b[j * brs as usize + col * bcs as usize] as f64;
        for r in 0..m {
            for col in 0..n {
                let want: f64 = (0..k).map(|j| at(r, j) * bt(j, col)).sum();
                let got = c[r * n + col] as f64;
                assert!(
                    (got - want).abs() <= 1e-5 * k as f64,
                    "({m},{k},{n}) a_t={a_t} b_t={b_t} at ({r},{col}): {got} vs {want}"
                );
            }
        }
        c
    }

    fn cpu_has_avx2() -> bool {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }

    /// Edge tiles (m, n not multiples of 6 and 16), k across the 8-row transpose and the
    /// 512-row k-blocks, every operand layout, against float64 sums of every element.
    #[test]
    fn products_match_float64_sums_at_edges() {
        assert!(cpu_has_avx2(), "this test needs an AVX2 + FMA CPU");
        for (m, k, n) in [
            (1, 1, 1),
            (7, 13, 17),
            (6, 8, 16),
            (13, 515, 33),
            (50, 1030, 70),
        ] {
            for (a_t, b_t) in [(false, false), (true, false), (false, true), (true, true)] {
                run(m, k, n, a_t, b_t, 2);
            }
        }
    }

    /// The thread grid changes which thread packs and multiplies what, not any
    /// element's k-sum: outputs are bitwise the same on 1, 2, 3 and 4 threads.
    #[test]
    fn results_do_not_depend_on_threads() {
        assert!(cpu_has_avx2(), "this test needs an AVX2 + FMA CPU");
        for (m, k, n, b_t) in [(100, 600, 90, true), (37, 1100, 150, false)] {
            let one = run(m, k, n, false, b_t, 1);
            for threads in 2..=4 {
                assert_eq!(one, run(m, k, n, false, b_t, threads), "{threads} threads");
            }
        }
    }

    #[test]
    fn grid_splits_the_longer_side_evenly() {
        assert_eq!(grid(256, 1024, 1, true), (1, 1));
        assert_eq!(grid(256, 1024, 2, true), (1, 2));
        assert_eq!(grid(4096, 64, 2, false), (2, 1));
        let (tm, tn) = grid(2048, 2048, 4, false);
        assert_eq!(tm * tn, 4);
        // 512^3: 1 x 2 leaves each thread 256 columns, where a row-major A is read in
        // place; 2 x 1 would pack it (and all of B on each thread).
        assert_eq!(grid(512, 512, 2, true), (1, 2));
        assert_eq!(grid(512, 512, 2, false), (2, 1));
    }
}
