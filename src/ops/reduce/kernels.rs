//! The reduction driver: reduces a strided tensor over a set of axes with a `Reducer`,
//! in parallel, deterministically (fixed chunk boundaries, partials merged in order).

use crate::device::cpu::{for_each_chunk, NdIter, SendPtr, GRAIN};
use crate::ops::simd::simd;
use crate::tensor::storage::{alloc_error, try_vec, try_with_capacity};
use crate::tensor::{Element, Tensor};
use crate::Result;

/// Rows at least this long are split into chunks reduced in parallel and merged in order.
const ROW_SPLIT: usize = 4 * GRAIN;
const ROW_CHUNK: usize = 2 * GRAIN;

pub trait Reducer<T: Element>: Sync {
    type Acc: Copy + Send + Sync;
    fn init(&self) -> Self::Acc;
    /// Folds `len` elements at `ptr` spaced by `stride`; `m` is the output index and
    /// `pos` the position of the first element in the reduced index space.
    /// SAFETY: the caller guarantees the run is in bounds.
    unsafe fn fold(
        &self,
        acc: Self::Acc,
        m: usize,
        ptr: *const T,
        len: usize,
        stride: isize,
        pos: usize,
    ) -> Self::Acc;
    fn merge(&self, a: Self::Acc, b: Self::Acc) -> Self::Acc;
    /// Folds one element into each of a run of consecutive outputs (`accs[j]` takes
    /// `ptr[j]`), for reductions whose kept innermost dim is contiguous. Reducers
    /// override it with a loop the compiler vectorises.
    /// SAFETY: `ptr` must be valid for `accs.len()` elements.
    unsafe fn fold_cols(&self, accs: &mut [Self::Acc], m0: usize, ptr: *const T, pos: usize) {
        for (j, a) in accs.iter_mut().enumerate() {
            *a = self.fold(*a, m0 + j, ptr.add(j), 1, 1, pos);
        }
    }
}

/// Outputs per task in the column path (4096 f64 accumulators: 32 KB, in L1/L2).
const COL_BLOCK: usize = 4096;
/// The column path keeps one partial per output per chunk of rows. Beyond this many
/// bytes of partials the chunks get longer, so that a small output of a huge (e.g.
/// broadcast) input needs bounded memory instead of a fraction of the input's size.
const COL_PARTIALS_MAX_BYTES: usize = 1 << 30;

/// Rows per chunk in the column path, for `outs` outputs in blocks of `cb` of
/// accumulators of `acc_bytes` each: `4 * GRAIN` elements per task, unless the
/// partials would pass `COL_PARTIALS_MAX_BYTES`. A function of the shape only.
fn column_rows_per_chunk(r_total: usize, outs: usize, cb: usize, acc_bytes: usize) -> usize {
    let rows = (4 * GRAIN / cb).max(1);
    let max_chunks = (COL_PARTIALS_MAX_BYTES / acc_bytes.max(1) / outs.max(1)).max(1);
    if r_total.div_ceil(rows) > max_chunks {
        r_total.div_ceil(max_chunks)
    } else {
        rows
    }
}

/// Splits x's dims into (kept shape, kept strides, reduced shape, reduced strides).
fn split_axes(x: &Tensor, axes: &[usize]) -> (Vec<usize>, Vec<isize>, Vec<usize>, Vec<isize>) {
    let (mut ks, mut kt, mut rs, mut rt) = (vec![], vec![], vec![], vec![]);
    for d in 0..x.ndim() {
        if axes.contains(&d) {
            rs.push(x.shape()[d]);
            rt.push(x.strides()[d]);
        } else {
            ks.push(x.shape()[d]);
            kt.push(x.strides()[d]);
        }
    }
    (ks, kt, rs, rt)
}

/// Returns one accumulator per output (row-major over the kept axes). The output and
/// the partials are sized by the caller's shape (a broadcast view can ask for 2^40
/// outputs at no cost), so their allocations fail with `Error::Memory`, never abort.
pub fn reduce<T: Element, R: Reducer<T>>(x: &Tensor, axes: &[usize], r: &R) -> Result<Vec<R::Acc>> {
    let (ks, kt, rs, rt) = split_axes(x, axes);
    let m_total: usize = ks.iter().product();
    let r_total: usize = rs.iter().product();
    // SAFETY: x is a CPU tensor (the callers check) whose offset lies inside its storage.
    let base = SendPtr(unsafe { x.storage().cpu_ptr::<T>().add(x.offset()) });
    let red = NdIter::<1>::new(&rs, [&rt]);
    // Offset of output m's first element.
    let out_offset = |mut m: usize| -> isize {
        let mut off = 0isize;
        for d in (0..ks.len()).rev() {
            off += (m % ks[d]) as isize * kt[d];
            m /= ks[d];
        }
        off
    };
    let fold_range = |m: usize, p0: usize, p1: usize, mut acc: R::Acc| -> R::Acc {
        let o = out_offset(m);
        red.for_each_run(p0, p1, |off, len, st, pos| {
            // SAFETY: output m's offset plus a run of the reduced index space stays
            // inside x's layout, which is inside its storage.
            acc = unsafe { r.fold(acc, m, base.get().offset(o + off[0]), len, st[0], pos) };
        });
        acc
    };

    let mut out = try_vec(m_total, r.init())?;
    if m_total == 0 {
        return Ok(out);
    }
    let nd = x.ndim();
    if nd > 0
        && !axes.contains(&(nd - 1))
        && x.strides()[nd - 1] == 1
        && ks[ks.len() - 1] >= 8
        && r_total > 1
    {
        reduce_columns(r, base, &ks, &kt, &red, r_total, &mut out)?;
        return Ok(out);
    }
    if r_total >= ROW_SPLIT {
        // Long rows: parallel over (row, chunk) pairs, merged per row in chunk order.
        let chunks = r_total.div_ceil(ROW_CHUNK);
        let n = m_total
            .checked_mul(chunks)
            .ok_or_else(|| alloc_error(usize::MAX))?;
        let mut partials = try_vec(n, r.init())?;
        let pp = SendPtr(partials.as_mut_ptr());
        for_each_chunk(n, 1, |i, _| {
            let (m, c) = (i / chunks, i % chunks);
            let p0 = c * ROW_CHUNK;
            let acc = fold_range(m, p0, (p0 + ROW_CHUNK).min(r_total), r.init());
            // SAFETY: i < n = partials.len(), and each task writes its own slot only.
            unsafe { *pp.get().add(i) = acc };
        });
        for (m, o) in out.iter_mut().enumerate() {
            *o = partials[m * chunks..(m + 1) * chunks]
                .iter()
                .fold(r.init(), |a, &b| r.merge(a, b));
        }
    } else {
        let per_task = (GRAIN / r_total.max(1)).max(1);
        let op = SendPtr(out.as_mut_ptr());
        for_each_chunk(m_total, per_task, |s, e| {
            for m in s..e {
                let acc = fold_range(m, 0, r_total, r.init());
                // SAFETY: m < m_total = out.len(); the chunks are disjoint.
                unsafe { *op.get().add(m) = acc };
            }
        });
    }
    Ok(out)
}

/// The column path: the innermost dim is kept and contiguous (e.g. a sum over axis 0 of
/// a row-major matrix). Tasks take a block of consecutive outputs and a chunk of reduced
/// positions, read their rows front to back (as NumPy does), and keep one accumulator
/// per output; the partials of a block are merged in chunk order. Chunk boundaries
/// depend only on the shape, so the result does not depend on the thread count.
///
/// The partials live in one buffer laid out as [group][chunk][inner], allocated up
/// front (fallibly: its size is the output's times the chunk count, at most the
/// output's or `COL_PARTIALS_MAX_BYTES`) and initialised by the task that owns each
/// slice.
fn reduce_columns<T: Element, R: Reducer<T>>(
    r: &R,
    base: SendPtr<T>,
    ks: &[usize],
    kt: &[isize],
    red: &NdIter<1>,
    r_total: usize,
    out: &mut [R::Acc],
) -> Result<()> {
    let inner = ks[ks.len() - 1];
    let (outer_shape, outer_strides) = (&ks[..ks.len() - 1], &kt[..kt.len() - 1]);
    let groups = out.len() / inner;
    let cb = COL_BLOCK.min(inner);
    let blocks = inner.div_ceil(cb);
    let acc_bytes = std::mem::size_of::<R::Acc>();
    let rows_per_chunk = column_rows_per_chunk(r_total, out.len(), cb, acc_bytes);
    let chunks = r_total.div_ceil(rows_per_chunk);
    let total = out
        .len()
        .checked_mul(chunks)
        .ok_or_else(|| alloc_error(usize::MAX))?;
    let mut partials: Vec<R::Acc> = try_with_capacity(total)?;
    let pp = SendPtr(partials.as_mut_ptr());
    for_each_chunk(groups * blocks * chunks, 1, |i, _| {
        let (gb, c) = (i / chunks, i % chunks);
        let (g, b) = (gb / blocks, gb % blocks);
        let mut goff = 0isize;
        let mut rem = g;
        for d in (0..outer_shape.len()).rev() {
            goff += (rem % outer_shape[d]) as isize * outer_strides[d];
            rem /= outer_shape[d];
        }
        let (c0, c1) = (b * cb, ((b + 1) * cb).min(inner));
        let m0 = g * inner + c0;
        let start = (g * chunks + c) * inner + c0;
        // SAFETY: start + (c1 - c0) <= (g * chunks + c + 1) * inner <= total, the
        // capacity; the (g, c, b) slices are disjoint, so only this task touches it.
        // Acc is Copy: writing over uninitialised slots drops nothing.
        let accs = unsafe {
            for k in 0..c1 - c0 {
                pp.get().add(start + k).write(r.init());
            }
            pp.slice_mut(start, c1 - c0)
        };
        let p0 = c * rows_per_chunk;
        red.for_each_run(
            p0,
            (p0 + rows_per_chunk).min(r_total),
            |off, len, st, pos| {
                for k in 0..len {
                    // SAFETY: the offsets stay inside x's layout.
                    unsafe {
                        let p = base
                            .get()
                            .offset(goff + off[0] + k as isize * st[0] + c0 as isize);
                        r.fold_cols(accs, m0, p, pos + k);
                    }
                }
            },
        );
    });
    // SAFETY: the tasks above (all finished: for_each_chunk returns when every chunk
    // has run) wrote every slot: for each (g, c) the blocks b cover 0..inner.
    unsafe { partials.set_len(total) };
    for g in 0..groups {
        let o = &mut out[g * inner..(g + 1) * inner];
        for c in 0..chunks {
            let p = &partials[(g * chunks + c) * inner..][..inner];
            for (o, &v) in o.iter_mut().zip(p) {
                *o = r.merge(*o, v);
            }
        }
    }
    Ok(())
}

/// Float sum. Contiguous runs vectorise: float32 in f32 lanes per block of 512 with the
/// blocks added in f64 (`lanes::sum_map`: float32 speed, and no drift with length),
/// other types in f64 lanes; strided runs add up in f64 one by one.
pub struct SumF;
impl<T: Element> Reducer<T> for SumF {
    type Acc = f64;
    fn init(&self) -> f64 {
        0.0
    }
    unsafe fn fold(
        &self,
        acc: f64,
        _m: usize,
        ptr: *const T,
        len: usize,
        stride: isize,
        _pos: usize,
    ) -> f64 {
        if stride == 1 {
            let s = std::slice::from_raw_parts(ptr, len);
            if T::DTYPE == crate::tensor::DType::F32 {
                // SAFETY: T is f32.
                let s = std::slice::from_raw_parts(ptr as *const f32, len);
                return acc + with_simd!(simd(), crate::ops::lanes::sum_map(s, |v| v));
            }
            acc + with_simd!(simd(), sum_in_f64_lanes(s))
        } else {
            let mut a = acc;
            for i in 0..len as isize {
                a += (*ptr.offset(i * stride)).to_f64();
            }
            a
        }
    }
    fn merge(&self, a: f64, b: f64) -> f64 {
        a + b
    }
    unsafe fn fold_cols(&self, accs: &mut [f64], _m0: usize, ptr: *const T, _pos: usize) {
        let x = std::slice::from_raw_parts(ptr, accs.len());
        with_simd!(simd(), {
            for (a, &v) in accs.iter_mut().zip(x) {
                *a += v.to_f64();
            }
        })
    }
}

/// Sum of a contiguous run in f64, in `LANES` independent lanes (enough to hide the
/// latency of the adds, so that the loop runs at memory speed with AVX2 or AVX-512),
/// added up in a fixed tree order.
#[inline(always)]
fn sum_in_f64_lanes<T: Element>(s: &[T]) -> f64 {
    const LANES: usize = 16;
    let mut lanes = [0f64; LANES];
    let mut it = s.chunks_exact(LANES);
    for c in &mut it {
        let c: &[T; LANES] = c.try_into().unwrap();
        for j in 0..LANES {
            lanes[j] += c[j].to_f64();
        }
    }
    let mut tail = 0.0;
    for &v in it.remainder() {
        tail += v.to_f64();
    }
    let mut n = LANES;
    while n > 1 {
        n /= 2;
        for j in 0..n {
            lanes[j] += lanes[j + n];
        }
    }
    lanes[0] + tail
}

/// The accumulators of `Plain`: i64 wraps on overflow as NumPy's integer sum and
/// product do; f64 is ordinary float arithmetic.
pub trait PlainAcc: Copy + Send + Sync {
    const ZERO: Self;
    const ONE: Self;
    fn of<T: Element>(v: T) -> Self;
    fn add(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
}
/// `PlainAcc` for a type from its 0, 1, conversion of an element, addition and product.
macro_rules! plain_acc {
    ($t:ty, $zero:expr, $one:expr, $of:ident, $add:path, $mul:path) => {
        impl PlainAcc for $t {
            const ZERO: $t = $zero;
            const ONE: $t = $one;
            #[inline(always)]
            fn of<T: Element>(v: T) -> $t {
                v.$of()
            }
            #[inline(always)]
            fn add(self, o: $t) -> $t {
                $add(self, o)
            }
            #[inline(always)]
            fn mul(self, o: $t) -> $t {
                $mul(self, o)
            }
        }
    };
}
plain_acc!(i64, 0, 1, to_i64, i64::wrapping_add, i64::wrapping_mul);
plain_acc!(
    f64,
    0.0,
    1.0,
    to_f64,
    std::ops::Add::add,
    std::ops::Mul::mul
);

/// A sum (`PROD` false) or product (`PROD` true) folded element by element in the
/// accumulator type `A`. Its instances: `SUM_I` and `PROD_I` (integer and bool input)
/// and `PROD_F` (float input); float sums have their own vectorised `SumF`.
pub struct Plain<A, const PROD: bool>(std::marker::PhantomData<A>);
pub const SUM_I: Plain<i64, false> = Plain(std::marker::PhantomData);
pub const PROD_I: Plain<i64, true> = Plain(std::marker::PhantomData);
pub const PROD_F: Plain<f64, true> = Plain(std::marker::PhantomData);
impl<A: PlainAcc, const PROD: bool> Plain<A, PROD> {
    #[inline(always)]
    fn combine(a: A, b: A) -> A {
        if PROD {
            a.mul(b)
        } else {
            a.add(b)
        }
    }
}
impl<T: Element, A: PlainAcc, const PROD: bool> Reducer<T> for Plain<A, PROD> {
    type Acc = A;
    fn init(&self) -> A {
        if PROD {
            A::ONE
        } else {
            A::ZERO
        }
    }
    unsafe fn fold(&self, acc: A, _m: usize, ptr: *const T, len: usize, st: isize, _p: usize) -> A {
        let mut a = acc;
        for i in 0..len as isize {
            a = Self::combine(a, A::of(*ptr.offset(i * st)));
        }
        a
    }
    fn merge(&self, a: A, b: A) -> A {
        Self::combine(a, b)
    }
}

/// Sum of squared deviations from a per-output centre (for var/std), and of
/// exp(x - shift) (for logsumexp).
pub struct SumShifted<'a> {
    pub shift: &'a [f64],
    pub exp: bool,
}
impl<T: Element> Reducer<T> for SumShifted<'_> {
    type Acc = f64;
    fn init(&self) -> f64 {
        0.0
    }
    unsafe fn fold(
        &self,
        acc: f64,
        m: usize,
        ptr: *const T,
        len: usize,
        stride: isize,
        _pos: usize,
    ) -> f64 {
        let c = self.shift[m];
        let mut a = acc;
        if self.exp {
            for i in 0..len as isize {
                a += ((*ptr.offset(i * stride)).to_f64() - c).exp();
            }
        } else {
            for i in 0..len as isize {
                let d = (*ptr.offset(i * stride)).to_f64() - c;
                a += d * d;
            }
        }
        a
    }
    fn merge(&self, a: f64, b: f64) -> f64 {
        a + b
    }
    unsafe fn fold_cols(&self, accs: &mut [f64], m0: usize, ptr: *const T, _pos: usize) {
        let x = std::slice::from_raw_parts(ptr, accs.len());
        let c = &self.shift[m0..m0 + accs.len()];
        if self.exp {
            for ((a, &v), &c) in accs.iter_mut().zip(x).zip(c) {
                *a += (v.to_f64() - c).exp();
            }
        } else {
            for ((a, &v), &c) in accs.iter_mut().zip(x).zip(c) {
                let d = v.to_f64() - c;
                *a += d * d;
            }
        }
    }
}

/// Max (or min when `MAX` is false), propagating NaN like NumPy.
pub struct Extreme<const MAX: bool>;
impl<T: Element, const MAX: bool> Reducer<T> for Extreme<MAX> {
    type Acc = T;
    fn init(&self) -> T {
        if MAX {
            T::lowest()
        } else {
            T::highest()
        }
    }
    unsafe fn fold(
        &self,
        acc: T,
        _m: usize,
        ptr: *const T,
        len: usize,
        stride: isize,
        _pos: usize,
    ) -> T {
        if stride == 1 {
            // 32 independent lanes and a separate NaN flag: no branch depends on an
            // earlier iteration, so the loop vectorises.
            let s = std::slice::from_raw_parts(ptr, len);
            let (lanes, nan) = with_simd!(simd(), extreme_lanes::<T, MAX>(s, acc));
            let tail = &s[s.len() / EXTREME_LANES * EXTREME_LANES..];
            if nan {
                return s.iter().copied().find(|v| v.is_nan()).unwrap_or(acc);
            }
            let mut a = acc;
            for &v in lanes.iter().chain(tail) {
                a = self.merge(a, v);
            }
            return a;
        }
        let mut a = acc;
        for i in 0..len as isize {
            let v = *ptr.offset(i * stride);
            a = self.merge(a, v);
        }
        a
    }
    #[inline(always)]
    fn merge(&self, a: T, b: T) -> T {
        let better = if MAX { b > a } else { b < a };
        if better || (b.is_nan() && !a.is_nan()) {
            b
        } else {
            a
        }
    }
    unsafe fn fold_cols(&self, accs: &mut [T], _m0: usize, ptr: *const T, _pos: usize) {
        let x = std::slice::from_raw_parts(ptr, accs.len());
        for (a, &v) in accs.iter_mut().zip(x) {
            *a = self.merge(*a, v);
        }
    }
}

const EXTREME_LANES: usize = 32;

/// The lane-wise max (min) of the whole `EXTREME_LANES`-element groups of `s`, each lane
/// starting at `acc`, and whether any of them is NaN.
#[inline(always)]
fn extreme_lanes<T: Element, const MAX: bool>(s: &[T], acc: T) -> ([T; EXTREME_LANES], bool) {
    let mut lanes = [acc; EXTREME_LANES];
    let mut nan = false;
    for c in s.chunks_exact(EXTREME_LANES) {
        let c: &[T; EXTREME_LANES] = c.try_into().unwrap();
        for j in 0..EXTREME_LANES {
            let v = c[j];
            nan |= v.is_nan();
            let better = if MAX { v > lanes[j] } else { v < lanes[j] };
            lanes[j] = if better { v } else { lanes[j] };
        }
    }
    (lanes, nan)
}

/// Argmax/argmin: (best value, position); the first occurrence wins, NaN counts as best.
pub struct ArgExtreme<const MAX: bool>;
impl<T: Element, const MAX: bool> Reducer<T> for ArgExtreme<MAX> {
    type Acc = (T, usize);
    fn init(&self) -> (T, usize) {
        (T::default(), usize::MAX)
    }
    unsafe fn fold(
        &self,
        acc: (T, usize),
        _m: usize,
        ptr: *const T,
        len: usize,
        stride: isize,
        pos: usize,
    ) -> (T, usize) {
        let mut a = acc;
        for i in 0..len {
            a = self.merge(a, (*ptr.offset(i as isize * stride), pos + i));
        }
        a
    }
    #[inline(always)]
    fn merge(&self, a: (T, usize), b: (T, usize)) -> (T, usize) {
        if b.1 == usize::MAX {
            return a;
        }
        if a.1 == usize::MAX || a.0.is_nan() {
            return if a.1 == usize::MAX { b } else { a };
        }
        let better = if MAX { b.0 > a.0 } else { b.0 < a.0 };
        if better || b.0.is_nan() {
            b
        } else {
            a
        }
    }
}

/// all (AND) / any (OR) of truthiness.
pub struct Logical<const ALL: bool>;
impl<T: Element, const ALL: bool> Reducer<T> for Logical<ALL> {
    type Acc = bool;
    fn init(&self) -> bool {
        ALL
    }
    unsafe fn fold(
        &self,
        acc: bool,
        _m: usize,
        ptr: *const T,
        len: usize,
        stride: isize,
        _pos: usize,
    ) -> bool {
        let mut a = acc;
        for i in 0..len as isize {
            let truthy = (*ptr.offset(i * stride)) != T::zero();
            a = if ALL { a & truthy } else { a | truthy };
        }
        a
    }
    fn merge(&self, a: bool, b: bool) -> bool {
        if ALL {
            a & b
        } else {
            a | b
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reduce_column_partials_are_bounded() {
        // Ordinary shapes keep 4 * GRAIN elements per task.
        assert_eq!(column_rows_per_chunk(100_000, 4096, 4096, 8), 32);
        assert_eq!(column_rows_per_chunk(1000, 8, 8, 8), 4 * GRAIN / 8);
        // A 2^16-column sum over 2^24 broadcast rows: 2^19 chunks of 32 rows would keep
        // 256 GiB of partials; longer chunks keep them within the bound.
        let (r, outs) = (1usize << 24, 1usize << 16);
        let rows = column_rows_per_chunk(r, outs, 4096, 8);
        assert!(rows > 32);
        assert!(r.div_ceil(rows) * outs * 8 <= COL_PARTIALS_MAX_BYTES);
        // An output past the bound alone gets one chunk: partials as large as it.
        assert_eq!(column_rows_per_chunk(r, 1 << 28, 4096, 8), r);
    }

    #[test]
    fn reduce_of_a_huge_broadcast_output_is_a_memory_error() {
        let x = Tensor::from_vec(vec![1.0f32], &[1, 1])
            .unwrap()
            .broadcast_to(&[1 << 40, 2])
            .unwrap();
        let e = reduce::<f32, _>(&x, &[1], &SumF).unwrap_err();
        assert!(matches!(e, crate::Error::Memory(_)), "{e}");
        assert!(e.to_string().contains("bytes"), "{e}");
    }

    #[test]
    fn reduce_column_path_merges_chunks_in_order() {
        // 40000 rows of 10 columns: the column path, in 4 chunks of rows (the values
        // are multiples of 1/4, so every order of the adds gives the same sum).
        let (rows, cols) = (40_000usize, 10usize);
        assert_eq!(rows.div_ceil(column_rows_per_chunk(rows, cols, cols, 8)), 4);
        let v: Vec<f64> = (0..rows * cols).map(|i| (i % 7) as f64 * 0.25).collect();
        let x = Tensor::from_vec(v.clone(), &[rows, cols]).unwrap();
        let got = reduce::<f64, _>(&x, &[0], &SumF).unwrap();
        assert_eq!(got.len(), cols);
        for (j, g) in got.iter().enumerate() {
            let want: f64 = (0..rows).map(|i| v[i * cols + j]).sum();
            assert_eq!(*g, want);
        }
    }
}
