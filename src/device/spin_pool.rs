//! The fork-join pool behind `for_each_chunk` and `map_chunks`.
//!
//! Why not rayon's pool for these: a call from a thread outside rayon's pool injects the
//! job, wakes a sleeping worker, which wakes a second to steal, and the caller sleeps
//! until a worker wakes it again. On a VM each futex wake-up costs tens of
//! microseconds, so a 15 us LayerNorm took 28 us on 2 threads, and a 0.65 ms one lost
//! 60 us. Here the calling thread takes chunks itself from the moment the job is
//! published, and workers spin for a short while after each job (as OpenMP's threads
//! do) before they sleep, so back-to-back kernels find them awake.
//!
//! The caller never waits for a worker to start: it claims chunks until none are left
//! and then waits only for chunks a worker has already claimed. A worker that is asleep
//! or descheduled costs parallelism, never progress (and a forked child, whose workers
//! are gone, still finishes every job on its own thread).
//!
//! One job runs at a time. A call made while a job is in flight (a nested call from
//! inside a chunk, or another Python thread's kernel) runs its chunks serially on its
//! own thread; chunk boundaries never depend on who runs them, so results are the same.

use std::any::Any;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long an idle worker spins before it sleeps: longer than the gap between two
/// kernels of a Python loop, short enough that an idle process stops using the CPU at
/// once (OpenMP runtimes spin for 0.2 ms to 200 ms).
const SPIN: Duration = Duration::from_micros(200);

/// One parallel call: chunks `0..count` of `task`, claimed one at a time.
struct Job {
    /// Borrowed from the caller's stack frame, with the lifetime erased. It is called
    /// only for a claimed chunk below `count`, and the caller returns only after every
    /// such chunk is done, so no call outlives the borrow (the `Job` itself may: a late
    /// worker can still hold its `Arc`, find no chunk left and never touch `task`).
    task: *const (dyn Fn(usize) + Sync),
    count: usize,
    next: AtomicUsize,
    done: AtomicUsize,
    panic: Mutex<Option<Box<dyn Any + Send>>>,
}

// SAFETY: `task` is a `Sync` closure, called from several threads only while the
// caller keeps it alive (see the field's comment).
unsafe impl Send for Job {}
unsafe impl Sync for Job {}

impl Job {
    /// Claims and runs chunks until none are left. A panicking chunk still counts as
    /// done (so the caller does not wait forever); the first panic is re-raised by the
    /// caller.
    fn work(&self) {
        loop {
            let c = self.next.fetch_add(1, Ordering::Relaxed);
            if c >= self.count {
                return;
            }
            // SAFETY: c < count, so the caller is still waiting for this chunk.
            let task = unsafe { &*self.task };
            if let Err(p) = catch_unwind(AssertUnwindSafe(|| task(c))) {
                lock(&self.panic).get_or_insert(p);
            }
            self.done.fetch_add(1, Ordering::Release);
        }
    }
}

#[derive(Default)]
struct Slot {
    job: Option<Arc<Job>>,
    /// Workers waiting on `Shared::wake`; read and written under the slot's lock, so a
    /// caller that publishes a job never misses one that is going to sleep.
    sleepers: usize,
}

#[derive(Default)]
struct Shared {
    /// Bumped (under the slot's lock) each time a job is published.
    generation: AtomicU64,
    slot: Mutex<Slot>,
    wake: Condvar,
    /// Bumped by `rest`: spinning workers go to sleep at once.
    rest: AtomicU64,
    /// Whether a job is in flight (the pool runs one at a time).
    busy: AtomicBool,
    shutdown: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic inside a chunk is caught before it can poison anything; recover anyway.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub struct SpinPool {
    shared: Arc<Shared>,
    threads: usize,
    workers: Vec<JoinHandle<()>>,
}

impl SpinPool {
    /// A pool of `threads` threads in all: the calling thread and `threads - 1` workers.
    pub fn new(threads: usize) -> SpinPool {
        let threads = threads.max(1);
        let shared = Arc::new(Shared::default());
        let workers = (1..threads)
            .map(|i| {
                let shared = shared.clone();
                std::thread::Builder::new()
                    .name(format!("ferrograd-chunks-{i}"))
                    .spawn(move || worker(&shared))
                    .expect("failed to start a ferrograd worker thread")
            })
            .collect();
        SpinPool {
            shared,
            threads,
            workers,
        }
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Sends spinning workers to sleep now rather than after `SPIN`: called before work
    /// that other threads will do (gemm on rayon's pool), so that idle spinning does not
    /// take their cores.
    pub fn rest(&self) {
        self.shared.rest.fetch_add(1, Ordering::Relaxed);
    }

    /// Runs `task(c)` for every chunk `c` in `0..count`, in parallel when the pool has
    /// workers and no other job is in flight; returns when all are done. A panic in a
    /// chunk is re-raised here after the other chunks finish.
    pub fn run(&self, count: usize, task: &(dyn Fn(usize) + Sync)) {
        let shared = &*self.shared;
        if self.workers.is_empty() || count < 2 || shared.busy.swap(true, Ordering::Acquire) {
            (0..count).for_each(task);
            return;
        }
        // SAFETY (lifetime erasure): see `Job::task`; we wait below for every chunk.
        let task: *const (dyn Fn(usize) + Sync + '_) = task;
        let job = Arc::new(Job {
            task: unsafe {
                std::mem::transmute::<
                    *const (dyn Fn(usize) + Sync + '_),
                    *const (dyn Fn(usize) + Sync + 'static),
                >(task)
            },
            count,
            next: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
            panic: Mutex::new(None),
        });
        {
            let mut slot = lock(&shared.slot);
            slot.job = Some(job.clone());
            shared.generation.fetch_add(1, Ordering::Release);
            if slot.sleepers > 0 {
                shared.wake.notify_all();
            }
        }
        job.work();
        // Only chunks a worker claimed can be left; they are running now.
        let mut spins = 0u32;
        while job.done.load(Ordering::Acquire) < count {
            if spins < 1 << 16 {
                std::hint::spin_loop();
                spins += 1;
            } else {
                std::thread::yield_now(); // a worker was descheduled mid-chunk
            }
        }
        lock(&shared.slot).job = None;
        shared.busy.store(false, Ordering::Release);
        let panic = lock(&job.panic).take();
        if let Some(p) = panic {
            resume_unwind(p);
        }
    }
}

impl Drop for SpinPool {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::Release);
        {
            let _slot = lock(&self.shared.slot);
            self.shared.wake.notify_all();
        }
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

/// A worker: waits for a new generation (spinning for `SPIN`, then asleep), helps with
/// the job it finds, and repeats until the pool is dropped.
fn worker(shared: &Shared) {
    let mut seen = shared.generation.load(Ordering::Acquire);
    loop {
        let since = Instant::now();
        let rest = shared.rest.load(Ordering::Relaxed);
        let mut polls = 0u32;
        while shared.generation.load(Ordering::Acquire) == seen {
            if shared.shutdown.load(Ordering::Acquire) {
                return;
            }
            std::hint::spin_loop();
            polls += 1;
            let told_to_rest = shared.rest.load(Ordering::Relaxed) != rest;
            if told_to_rest || (polls.is_multiple_of(256) && since.elapsed() > SPIN) {
                let mut slot = lock(&shared.slot);
                slot.sleepers += 1;
                while shared.generation.load(Ordering::Acquire) == seen
                    && !shared.shutdown.load(Ordering::Acquire)
                {
                    slot = shared.wake.wait(slot).unwrap_or_else(|e| e.into_inner());
                }
                slot.sleepers -= 1;
            }
        }
        if shared.shutdown.load(Ordering::Acquire) {
            return;
        }
        seen = shared.generation.load(Ordering::Acquire);
        // The slot may already hold a newer job, or none; either is fine: a job with no
        // chunks left returns at once.
        let job = lock(&shared.slot).job.clone();
        if let Some(job) = job {
            job.work();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn every_chunk_runs_once_nested_calls_included() {
        let pool = SpinPool::new(3);
        let hits: Vec<AtomicUsize> = (0..1000).map(|_| AtomicUsize::new(0)).collect();
        for _ in 0..50 {
            pool.run(10, &|c| {
                // A nested call runs serially on this thread.
                pool.run(100, &|k| {
                    hits[c * 100 + k].fetch_add(1, Ordering::Relaxed);
                })
            });
        }
        assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 50));
    }

    #[test]
    fn a_panicking_chunk_is_reraised_after_the_rest_finish() {
        let pool = SpinPool::new(2);
        let done = AtomicUsize::new(0);
        let r = catch_unwind(AssertUnwindSafe(|| {
            pool.run(64, &|c| {
                if c == 5 {
                    panic!("chunk five");
                }
                done.fetch_add(1, Ordering::Relaxed);
            })
        }));
        let msg = r.unwrap_err().downcast::<&str>().unwrap();
        assert_eq!(*msg, "chunk five");
        assert_eq!(done.load(Ordering::Relaxed), 63);
        // The pool is usable afterwards.
        let n = AtomicUsize::new(0);
        pool.run(8, &|_| {
            n.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(n.load(Ordering::Relaxed), 8);
    }

    #[test]
    fn sleeping_workers_wake_for_the_next_job() {
        let pool = SpinPool::new(2);
        std::thread::sleep(SPIN * 5); // the worker is asleep now
        let seen = Mutex::new(std::collections::HashSet::new());
        // Long enough chunks that the woken worker takes some of them.
        for _ in 0..20 {
            pool.run(16, &|_| {
                lock(&seen).insert(std::thread::current().id());
                std::thread::sleep(Duration::from_millis(1));
            });
            if lock(&seen).len() == 2 {
                break;
            }
        }
        assert_eq!(lock(&seen).len(), 2, "the worker never took a chunk");
    }
}
