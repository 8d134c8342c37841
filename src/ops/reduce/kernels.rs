//! The reduction driver: reduces a strided tensor over a set of axes with a `Reducer`,
//! in parallel, deterministically (fixed chunk boundaries, partials merged in order).

use crate::device::cpu::{for_each_chunk, map_chunks, NdIter, SendPtr, GRAIN};
use crate::ops::simd::simd;
use crate::tensor::{Element, Tensor};

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

/// Returns one accumulator per output (row-major over the kept axes).
pub fn reduce<T: Element, R: Reducer<T>>(x: &Tensor, axes: &[usize], r: &R) -> Vec<R::Acc> {
    let (ks, kt, rs, rt) = split_axes(x, axes);
    let m_total: usize = ks.iter().product();
    let r_total: usize = rs.iter().product();
    let base = SendPtr(unsafe { x.storage().cpu_ptr::<T>().add(x.offset()) as *mut T });
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
            acc = unsafe { r.fold(acc, m, base.get().offset(o + off[0]), len, st[0], pos) };
        });
        acc
    };

    let mut out = vec![r.init(); m_total];
    if m_total == 0 {
        return out;
    }
    let nd = x.ndim();
    if nd > 0
        && !axes.contains(&(nd - 1))
        && x.strides()[nd - 1] == 1
        && ks[ks.len() - 1] >= 8
        && r_total > 1
    {
        reduce_columns(r, base, &ks, &kt, &red, r_total, &mut out);
        return out;
    }
    if r_total >= ROW_SPLIT {
        // Long rows: parallel over (row, chunk) pairs, merged per row in chunk order.
        let chunks = r_total.div_ceil(ROW_CHUNK);
        let partials = map_chunks(m_total * chunks, 1, |i, _| {
            let (m, c) = (i / chunks, i % chunks);
            let p0 = c * ROW_CHUNK;
            fold_range(m, p0, (p0 + ROW_CHUNK).min(r_total), r.init())
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
                unsafe { *op.get().add(m) = acc };
            }
        });
    }
    out
}

/// The column path: the innermost dim is kept and contiguous (e.g. a sum over axis 0 of
/// a row-major matrix). Tasks take a block of consecutive outputs and a chunk of reduced
/// positions, read their rows front to back (as NumPy does), and keep one accumulator
/// per output; the partials of a block are merged in chunk order. Chunk boundaries
/// depend only on the shape, so the result does not depend on the thread count.
fn reduce_columns<T: Element, R: Reducer<T>>(
    r: &R,
    base: SendPtr<T>,
    ks: &[usize],
    kt: &[isize],
    red: &NdIter<1>,
    r_total: usize,
    out: &mut [R::Acc],
) {
    let inner = ks[ks.len() - 1];
    let (outer_shape, outer_strides) = (&ks[..ks.len() - 1], &kt[..kt.len() - 1]);
    let groups = out.len() / inner;
    let cb = COL_BLOCK.min(inner);
    let blocks = inner.div_ceil(cb);
    let rows_per_chunk = (4 * GRAIN / cb).max(1);
    let chunks = r_total.div_ceil(rows_per_chunk);
    let partials = map_chunks(groups * blocks * chunks, 1, |i, _| {
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
        let mut accs = vec![r.init(); c1 - c0];
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
                        r.fold_cols(&mut accs, m0, p, pos + k);
                    }
                }
            },
        );
        accs
    });
    for (gb, part) in partials.chunks(chunks).enumerate() {
        let (g, b) = (gb / blocks, gb % blocks);
        let m0 = g * inner + b * cb;
        for p in part {
            for (o, &v) in out[m0..m0 + p.len()].iter_mut().zip(p) {
                *o = r.merge(*o, v);
            }
        }
    }
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
