//! The lazy command stream: kernels are recorded into one command encoder and submitted
//! in batches. The host waits for the GPU only when it reads a value back (`to_host`)
//! or when the user asks (`synchronize`); forward and backward passes never wait.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Error, Result};

/// Recorded commands are submitted once this many are pending, so that the GPU starts
/// on a long chain of ops before the host reaches a read, and an encoder never grows
/// without bound.
const MAX_PENDING: usize = 64;

/// The open encoder and how many commands it holds.
pub(crate) struct Stream {
    encoder: Option<::wgpu::CommandEncoder>,
    pending: usize,
}

impl Stream {
    pub(crate) fn new() -> Stream {
        Stream {
            encoder: None,
            pending: 0,
        }
    }
}

/// Cumulative counts, for tests and benchmarks (`_wgpu_stats` in Python).
#[derive(Default)]
pub(crate) struct Stats {
    pub uploads: AtomicU64,
    pub readbacks: AtomicU64,
    pub submits: AtomicU64,
    pub dispatches: AtomicU64,
    pub buffers_created: AtomicU64,
}

impl Stats {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn snapshot(&self) -> Vec<(&'static str, u64)> {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        vec![
            ("uploads", g(&self.uploads)),
            ("readbacks", g(&self.readbacks)),
            ("submits", g(&self.submits)),
            ("dispatches", g(&self.dispatches)),
            ("buffers_created", g(&self.buffers_created)),
        ]
    }
}

impl super::context::WgpuContext {
    /// Records commands into the shared encoder (opening one if none is open). Errors
    /// from recording are caught by an error scope around the call; the batch is
    /// submitted when it is full.
    pub(crate) fn record<T>(
        &self,
        record: impl FnOnce(&mut ::wgpu::CommandEncoder) -> Result<T>,
    ) -> Result<T> {
        let mut stream = self.stream.lock().unwrap_or_else(|e| e.into_inner());
        let out = self.scoped(|| {
            let enc = stream.encoder.get_or_insert_with(|| {
                self.device
                    .create_command_encoder(&::wgpu::CommandEncoderDescriptor {
                        label: Some("ferrograd stream"),
                    })
            });
            record(enc)
        });
        stream.pending += 1;
        if out.is_err() || stream.pending >= MAX_PENDING {
            // An error leaves the encoder invalid; submitting drops it either way.
            let flushed = self.submit_pending(&mut stream);
            return out.and_then(|v| flushed.map(|_| v));
        }
        out
    }

    /// Submits whatever is recorded, without waiting for it to run.
    pub(crate) fn flush(&self) -> Result<()> {
        let mut stream = self.stream.lock().unwrap_or_else(|e| e.into_inner());
        self.submit_pending(&mut stream)
    }

    fn submit_pending(&self, stream: &mut Stream) -> Result<()> {
        stream.pending = 0;
        let Some(enc) = stream.encoder.take() else {
            return Ok(());
        };
        Stats::bump(&self.stats.submits);
        self.scoped(|| {
            self.queue.submit([enc.finish()]);
            Ok(())
        })
    }

    /// Submits pending work and blocks until the GPU has finished all of it.
    pub(crate) fn wait_idle(&self) -> Result<()> {
        self.flush()?;
        self.device
            .poll(::wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Device(format!("waiting for the wgpu device failed: {e}")))?;
        Ok(())
    }
}
