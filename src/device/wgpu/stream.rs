//! The lazy command stream: kernels are recorded into one command encoder and submitted
//! in batches. The host waits for the GPU only when it reads a value back (`to_host`)
//! or when the user asks (`synchronize`); forward and backward passes never wait.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Error, Result};

/// Recorded commands are submitted once this many are pending, so that the GPU starts
/// on a long chain of ops before the host reaches a read, and an encoder never grows
/// without bound.
const MAX_PENDING: usize = 64;

/// The open encoder and how many commands it holds, with the batch's kernel parameters.
///
/// Parameters go into one uniform buffer per batch (the arena), each launch binding its
/// own 256-byte-aligned slot, and are written with one `write_buffer` just before the
/// batch is submitted (the queue runs that write before the batch's commands). Creating
/// a uniform buffer per launch cost more host time than the launch itself.
pub(crate) struct Stream {
    encoder: Option<::wgpu::CommandEncoder>,
    pending: usize,
    params: Vec<u8>,
    arena: Option<::wgpu::Buffer>,
}

impl Stream {
    pub(crate) fn new() -> Stream {
        Stream {
            encoder: None,
            pending: 0,
            params: Vec::new(),
            arena: None,
        }
    }
}

/// Bytes of one batch's parameter arena: room for every launch of a full batch.
fn arena_bytes(slot: u64) -> u64 {
    slot * MAX_PENDING as u64 * 2
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

    /// Records one kernel launch: its parameters into the batch's arena, a bind group of
    /// (parameter slot, `buffers`...) and the dispatch over `groups` workgroups laid out
    /// by `grid` (see dispatch.rs). Validation errors surface when the batch is submitted.
    pub(crate) fn record_dispatch(
        &self,
        pipeline: &::wgpu::ComputePipeline,
        params: &[u8],
        buffers: &[&::wgpu::Buffer],
        groups: u64,
    ) -> Result<()> {
        let (x, y) = super::dispatch::grid(self.grid_limit(), groups)?;
        let slot = u64::from(self.limits.min_uniform_buffer_offset_alignment).max(256);
        let size = (params.len() as u64).div_ceil(16) * 16;
        if size > slot {
            return Err(Error::Device(format!(
                "kernel parameters of {size} bytes exceed a {slot}-byte slot"
            )));
        }
        let mut stream = self.stream.lock().unwrap_or_else(|e| e.into_inner());
        if stream.pending >= MAX_PENDING || stream.params.len() as u64 + slot > arena_bytes(slot) {
            self.submit_pending(&mut stream)?;
        }
        if stream.arena.is_none() {
            let arena = self.device.create_buffer(&::wgpu::BufferDescriptor {
                label: Some("ferrograd params"),
                size: arena_bytes(slot),
                usage: ::wgpu::BufferUsages::UNIFORM | ::wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            stream.arena = Some(arena);
        }
        let offset = stream.params.len() as u64;
        stream.params.extend_from_slice(params);
        stream.params.resize((offset + slot) as usize, 0);
        let arena = stream.arena.as_ref().expect("arena made above");
        let mut entries = vec![::wgpu::BindGroupEntry {
            binding: 0,
            resource: ::wgpu::BindingResource::Buffer(::wgpu::BufferBinding {
                buffer: arena,
                offset,
                size: std::num::NonZeroU64::new(size),
            }),
        }];
        for (i, b) in buffers.iter().enumerate() {
            entries.push(::wgpu::BindGroupEntry {
                binding: i as u32 + 1,
                resource: b.as_entire_binding(),
            });
        }
        let bind_group = self.device.create_bind_group(&::wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        let enc = stream.encoder.get_or_insert_with(|| {
            self.device
                .create_command_encoder(&::wgpu::CommandEncoderDescriptor {
                    label: Some("ferrograd stream"),
                })
        });
        {
            let mut pass = enc.begin_compute_pass(&::wgpu::ComputePassDescriptor {
                label: None,
                timestamp_writes: None,
            });
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, &bind_group, &[]);
            pass.dispatch_workgroups(x, y, 1);
        }
        Stats::bump(&self.stats.dispatches);
        stream.pending += 1;
        if stream.pending >= MAX_PENDING {
            self.submit_pending(&mut stream)?;
        }
        Ok(())
    }

    /// Submits whatever is recorded, without waiting for it to run.
    pub(crate) fn flush(&self) -> Result<()> {
        let mut stream = self.stream.lock().unwrap_or_else(|e| e.into_inner());
        self.submit_pending(&mut stream)
    }

    fn submit_pending(&self, stream: &mut Stream) -> Result<()> {
        stream.pending = 0;
        let arena = stream.arena.take();
        let Some(enc) = stream.encoder.take() else {
            stream.params.clear();
            return Ok(());
        };
        Stats::bump(&self.stats.submits);
        let out = self.scoped(|| {
            if let Some(arena) = &arena {
                if !stream.params.is_empty() {
                    self.queue.write_buffer(arena, 0, &stream.params);
                }
            }
            self.queue.submit([enc.finish()]);
            Ok(())
        });
        stream.params.clear();
        out
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
