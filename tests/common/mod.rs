//! Shared by the integration tests.

use std::sync::{Mutex, MutexGuard};

/// The generator is global, as in PyTorch, and cargo runs a file's tests on parallel
/// threads: a test that seeds the generator and then draws from it holds this lock, so
/// no other test's draws land in between and its numbers are the same on every run.
pub fn rng_lock() -> MutexGuard<'static, ()> {
    static RNG: Mutex<()> = Mutex::new(());
    RNG.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
