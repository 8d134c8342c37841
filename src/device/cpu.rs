//! CPU execution helpers: the thread pool, fixed-size parallel chunking, and strided
//! n-dimensional iteration.
//!
//! Determinism rule: work is split into chunks whose boundaries depend only on the
//! problem size, never on the thread count, and partial results (float sums above all)
//! are combined in chunk order, never in the order the threads finish. So every CPU
//! result is bitwise identical with 1 or 16 threads, on the same machine and build.
//! Kernels follow it by calling `for_each_chunk` / `map_chunks` with a chunk size
//! computed from the shape alone (usually from `GRAIN`), and never reading
//! `num_threads()` to decide how to split. The one caller of `num_threads()` is
//! matmul's large-gemm path, where the `gemm` crate parallelises over output blocks and
//! each output element's k-sum runs in the same order whatever the thread count.
//! tests/python/test_threads.py checks 1, 2 and 3 threads on every chunked kernel.
//!
//! The chunk size aims at tasks of about 20-50 us (`GRAIN` elements of cheap
//! elementwise work), so that scheduling costs stay small against the work, and small
//! inputs (one chunk) run on the calling thread without waking the pool.

use super::spin_pool::SpinPool;
use std::sync::{Arc, OnceLock, RwLock};

/// Elements per parallel task for cheap elementwise work (~20-50 us of work per task).
pub const GRAIN: usize = 32 * 1024;

/// Two pools of the same size: rayon's for gemm (which schedules its work through
/// rayon), and a `SpinPool` for ferrograd's own chunked kernels (see spin_pool.rs for
/// why). At most one of them is busy at a time, since each op runs one or the other.
struct Pools {
    rayon: Arc<rayon::ThreadPool>,
    chunks: Arc<SpinPool>,
}

fn pool_slot() -> &'static RwLock<Pools> {
    static POOLS: OnceLock<RwLock<Pools>> = OnceLock::new();
    // rayon's builder reads RAYON_NUM_THREADS when no count is given.
    POOLS.get_or_init(|| RwLock::new(build_pools(0)))
}

fn build_pools(n: usize) -> Pools {
    let rayon = build_pool(n);
    let chunks = Arc::new(SpinPool::new(rayon.current_num_threads()));
    Pools {
        rayon: Arc::new(rayon),
        chunks,
    }
}

fn build_pool(n: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .thread_name(|i| format!("ferrograd-{i}"))
        .build()
        .expect("failed to start the thread pool")
}

/// Sets the number of threads ferrograd's CPU kernels use (0 = default: RAYON_NUM_THREADS
/// or the number of cores).
pub fn set_num_threads(n: usize) {
    let pools = build_pools(n);
    *pool_slot().write().unwrap_or_else(|e| e.into_inner()) = pools;
}

pub fn num_threads() -> usize {
    chunk_pool().threads()
}

/// rayon's pool (for gemm).
pub fn pool() -> Arc<rayon::ThreadPool> {
    pool_slot()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .rayon
        .clone()
}

fn chunk_pool() -> Arc<SpinPool> {
    pool_slot()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .chunks
        .clone()
}

/// Runs `f` inside ferrograd's rayon pool (so nested rayon calls, e.g. in gemm, use it
/// too), with the chunk pool's workers asleep rather than spinning on the same cores.
pub fn install<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if rayon::current_thread_index().is_some() {
        return f();
    }
    chunk_pool().rest();
    pool().install(f)
}

/// Calls `f(start, end)` for consecutive chunks of `0..n` of `chunk` items each (the
/// last may be shorter), in parallel when there is more than one chunk.
pub fn for_each_chunk(n: usize, chunk: usize, f: impl Fn(usize, usize) + Sync + Send) {
    let chunk = chunk.max(1);
    if n <= chunk {
        if n > 0 {
            f(0, n);
        }
        return;
    }
    let run = |c: usize| {
        let s = c * chunk;
        f(s, (s + chunk).min(n))
    };
    chunk_pool().run(n.div_ceil(chunk), &run);
}

/// Like `for_each_chunk` but collects one value per chunk, in chunk order.
pub fn map_chunks<R: Send>(
    n: usize,
    chunk: usize,
    f: impl Fn(usize, usize) -> R + Sync + Send,
) -> Vec<R> {
    let chunk = chunk.max(1);
    if n <= chunk {
        return vec![f(0, n)];
    }
    let count = n.div_ceil(chunk);
    let mut out: Vec<Option<R>> = (0..count).map(|_| None).collect();
    let slots = SendPtr(out.as_mut_ptr());
    let run = |c: usize| {
        let s = c * chunk;
        let r = f(s, (s + chunk).min(n));
        // SAFETY: chunk c's slot is written by this call only, and `out` outlives `run`.
        unsafe { *slots.get().add(c) = Some(r) }
    };
    chunk_pool().run(count, &run);
    out.into_iter()
        .map(|r| r.expect("every chunk ran"))
        .collect()
}

/// A raw pointer that may cross threads; each task writes a disjoint range.
pub struct SendPtr<T>(pub *mut T);
// Not derived: the derive would ask for `T: Copy`, and a pointer is Copy for any T.
impl<T> Clone for SendPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for SendPtr<T> {}
unsafe impl<T> Send for SendPtr<T> {}
unsafe impl<T> Sync for SendPtr<T> {}
impl<T> SendPtr<T> {
    /// SAFETY: the range must be in bounds and written by one task only.
    #[inline]
    pub unsafe fn slice_mut<'a>(self, start: usize, len: usize) -> &'a mut [T] {
        std::slice::from_raw_parts_mut(self.0.add(start), len)
    }
    #[inline]
    pub fn get(self) -> *mut T {
        self.0
    }
}

/// Iteration over an n-dimensional index space shared by N operands with their own
/// strides. Dims of size 1 are dropped and dims that are contiguous with their inner
/// neighbour in every operand are merged, so a broadcast (N, C) + (C,) becomes one
/// run per row and a contiguous tensor a single run.
#[derive(Debug, Clone)]
pub struct NdIter<const N: usize> {
    shape: Vec<usize>,
    strides: [Vec<isize>; N],
}

impl<const N: usize> NdIter<N> {
    pub fn new(shape: &[usize], strides: [&[isize]; N]) -> Self {
        let mut dims: Vec<(usize, [isize; N])> = Vec::with_capacity(shape.len());
        for (i, &d) in shape.iter().enumerate() {
            if d == 1 {
                continue;
            }
            let s: [isize; N] = std::array::from_fn(|k| strides[k][i]);
            if let Some(last) = dims.last_mut() {
                if (0..N).all(|k| last.1[k] == s[k] * d as isize) {
                    last.0 *= d;
                    last.1 = s;
                    continue;
                }
            }
            dims.push((d, s));
        }
        if dims.is_empty() {
            dims.push((if shape.contains(&0) { 0 } else { 1 }, [0; N]));
        }
        NdIter {
            shape: dims.iter().map(|d| d.0).collect(),
            strides: std::array::from_fn(|k| dims.iter().map(|d| d.1[k]).collect()),
        }
    }

    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// The merged dims: their sizes and each operand's strides.
    pub fn dims(&self) -> (&[usize], [&[isize]; N]) {
        (&self.shape, std::array::from_fn(|k| &self.strides[k][..]))
    }

    /// Length and per-operand strides of the innermost (run) dimension.
    pub fn inner(&self) -> (usize, [isize; N]) {
        let last = self.shape.len() - 1;
        (
            self.shape[last],
            std::array::from_fn(|k| self.strides[k][last]),
        )
    }

    /// Visits the flat (row-major) positions `start..end` as runs along the innermost dim:
    /// `f(offsets, run_len, inner_strides, flat_position)` with element offsets relative to
    /// each operand's base.
    pub fn for_each_run(
        &self,
        start: usize,
        end: usize,
        mut f: impl FnMut([isize; N], usize, [isize; N], usize),
    ) {
        if start >= end {
            return;
        }
        let nd = self.shape.len();
        let (inner_len, inner_strides) = self.inner();
        // Multi-index of `start`.
        let mut idx = vec![0usize; nd];
        let mut rem = start;
        for d in (0..nd).rev() {
            idx[d] = rem % self.shape[d];
            rem /= self.shape[d];
        }
        let mut offs: [isize; N] =
            std::array::from_fn(|k| (0..nd).map(|d| idx[d] as isize * self.strides[k][d]).sum());
        let mut pos = start;
        while pos < end {
            let run = (inner_len - idx[nd - 1]).min(end - pos);
            f(offs, run, inner_strides, pos);
            pos += run;
            if pos >= end {
                break;
            }
            // Advance the odometer by `run` along the inner dim, carrying outward.
            idx[nd - 1] += run;
            for k in 0..N {
                offs[k] += run as isize * inner_strides[k];
            }
            let mut d = nd - 1;
            while idx[d] == self.shape[d] && d > 0 {
                for k in 0..N {
                    offs[k] -= self.shape[d] as isize * self.strides[k][d];
                }
                idx[d] = 0;
                d -= 1;
                idx[d] += 1;
                for k in 0..N {
                    offs[k] += self.strides[k][d];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nditer_merges_contiguous_dims() {
        let it = NdIter::<1>::new(&[2, 3, 4], [&[12, 4, 1]]);
        assert_eq!(it.inner(), (24, [1]));
        let it = NdIter::<2>::new(&[2, 3], [&[3, 1], &[0, 1]]);
        assert_eq!(it.inner(), (3, [1, 1]));
    }

    #[test]
    fn nditer_visits_every_position_once() {
        // transposed (3, 2) view of a (2, 3) buffer
        let it = NdIter::<1>::new(&[3, 2], [&[1, 3]]);
        let mut seen = vec![];
        it.for_each_run(1, 5, |o, len, s, _| {
            for i in 0..len {
                seen.push(o[0] + i as isize * s[0]);
            }
        });
        assert_eq!(seen, vec![3, 1, 4, 2]);
    }
}
