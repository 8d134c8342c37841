//! The process-wide wgpu device: created once on first use, shared by every tensor.
//!
//! Creating a device is slow (seconds on a software adapter) and compiling a pipeline is
//! slow too, so both happen once: the device in a `OnceLock`, pipelines in a cache keyed
//! by kernel name. A failed start is remembered as well, so that a machine without a
//! driver answers every later call at once with the same error instead of probing again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

use super::allocator::BufferPool;
use super::stream::{Stats, Stream};

use crate::{bail, Error, Result};

/// Everything the kernels need: device, queue, the adapter's limits and compiled pipelines.
pub struct WgpuContext {
    pub(crate) device: ::wgpu::Device,
    pub(crate) queue: ::wgpu::Queue,
    pub(crate) limits: ::wgpu::Limits,
    info: ::wgpu::AdapterInfo,
    pipelines: Mutex<HashMap<String, ::wgpu::ComputePipeline>>,
    pub(crate) stream: Mutex<Stream>,
    pub(crate) pool: BufferPool,
    pub(crate) stats: Stats,
    /// Why the device was lost (driver reset, GPU removed, `destroy`), once it was:
    /// every later GPU call fails with this instead of reaching a dead device.
    lost: std::sync::Arc<Mutex<Option<String>>>,
    /// An error wgpu reported outside any error scope (on a thread that had none open),
    /// kept for the next scoped call to raise instead of wgpu's default panic.
    uncaptured: std::sync::Arc<Mutex<Option<String>>>,
    /// A lower per-dimension workgroup limit set by tests (0 = the adapter's), so that
    /// small launches exercise the 2-D grid path that only huge tensors reach otherwise.
    grid_limit_override: AtomicU32,
}

impl std::fmt::Debug for WgpuContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WgpuContext")
            .field("adapter", &self.info.name)
            .field("backend", &self.info.backend)
            .finish_non_exhaustive()
    }
}

/// What a user without a GPU driver should do, appended to the no-adapter error.
const NO_ADAPTER_HINT: &str = "install a Vulkan/Metal/DX12 driver, e.g. Debian's \
     mesa-vulkan-drivers for a software one";

/// Set (to anything but "" or "0") to hide every adapter: the process behaves as on a
/// machine without a GPU. Documented in docs/gpu.md.
pub const DISABLE_ENV: &str = "FERROGRAD_DISABLE_WGPU";

static CONTEXT: OnceLock<Result<WgpuContext>> = OnceLock::new();

/// The global context, created on first use. A failed creation is cached and returned again.
pub fn context() -> Result<&'static WgpuContext> {
    match CONTEXT.get_or_init(WgpuContext::create) {
        Ok(ctx) => {
            ctx.check_not_lost()?;
            Ok(ctx)
        }
        Err(e) => Err(e.clone()),
    }
}

/// The context if it was started (and started well), without starting it.
pub fn started() -> Option<&'static WgpuContext> {
    CONTEXT.get().and_then(|r| r.as_ref().ok())
}

/// Whether a wgpu adapter could be opened (starts the context if it was not yet started).
pub fn is_available() -> bool {
    context().is_ok()
}

/// The adapter's name and backend, e.g. "llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan)".
pub fn adapter_name() -> Result<String> {
    let info = &context()?.info;
    Ok(format!("{} ({:?})", info.name, info.backend))
}

impl WgpuContext {
    /// Opens the best adapter of the primary backends (Vulkan, Metal, DX12). GL is left out
    /// on purpose: its compute support and buffer limits are too small for tensors.
    /// `WGPU_BACKEND` still overrides the choice. Panics inside wgpu become errors, so a
    /// broken driver cannot take the host program down.
    fn create() -> Result<WgpuContext> {
        std::panic::catch_unwind(Self::create_inner).unwrap_or_else(|panic| {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            Err(Error::Device(format!(
                "wgpu initialisation panicked: {msg}"
            )))
        })
    }

    fn create_inner() -> Result<WgpuContext> {
        // A switch to act as a machine without a GPU (to test the no-adapter paths of
        // programs, and to keep a broken driver out of a process): any value but "" and
        // "0". Read once, when the context is first created.
        if let Some(v) = std::env::var_os(DISABLE_ENV) {
            if !v.is_empty() && v != "0" {
                bail!(
                    Device,
                    "no wgpu adapter found: GPU adapters are hidden by {DISABLE_ENV}={}",
                    v.to_string_lossy()
                )
            }
        }
        let mut desc = ::wgpu::InstanceDescriptor::new_without_display_handle_from_env();
        desc.backends = ::wgpu::Backends::PRIMARY.with_env();
        let instance = ::wgpu::Instance::new(desc);
        let adapter =
            pollster::block_on(instance.request_adapter(&::wgpu::RequestAdapterOptions {
                power_preference: ::wgpu::PowerPreference::HighPerformance,
                ..Default::default()
            }))
            .map_err(|e| Error::Device(format!("no wgpu adapter found: {e}; {NO_ADAPTER_HINT}")))?;
        // Ask for everything the adapter offers: the WebGPU defaults cap storage bindings at
        // 128 MiB, far below what tensors need.
        let limits = adapter.limits();
        let (device, queue) =
            pollster::block_on(adapter.request_device(&::wgpu::DeviceDescriptor {
                label: Some("ferrograd"),
                required_features: ::wgpu::Features::empty(),
                required_limits: limits.clone(),
                ..Default::default()
            }))
            .map_err(|e| Error::Device(format!("wgpu device request failed: {e}")))?;
        let lost = std::sync::Arc::new(Mutex::new(None));
        let lost_in_callback = lost.clone();
        device.set_device_lost_callback(move |reason, msg| {
            *lost_in_callback.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(format!("{reason:?}: {msg}"));
        });
        let uncaptured = std::sync::Arc::new(Mutex::new(None));
        let uncaptured_in_handler = uncaptured.clone();
        device.on_uncaptured_error(std::sync::Arc::new(move |e: ::wgpu::Error| {
            *uncaptured_in_handler
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
        }));
        Ok(WgpuContext {
            device,
            queue,
            limits,
            info: adapter.get_info(),
            pipelines: Mutex::new(HashMap::new()),
            stream: Mutex::new(Stream::new()),
            pool: BufferPool::new(),
            stats: Stats::default(),
            grid_limit_override: AtomicU32::new(0),
            lost,
            uncaptured,
        })
    }

    /// The compute pipeline `key`, compiled from `source` (entry point `main`) on first use.
    /// `constants` fills the shader's `override` declarations, so one WGSL source serves a
    /// family of kernels (each view rank, say) without runtime branches; `key` must name
    /// the source and the constants uniquely. `source` is only called on a cache miss, so
    /// generated kernels cost their generation once.
    pub(crate) fn pipeline(
        &self,
        key: &str,
        source: impl FnOnce() -> String,
        constants: &[(&str, f64)],
    ) -> Result<::wgpu::ComputePipeline> {
        let mut cache = self.pipelines.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = cache.get(key) {
            return Ok(p.clone());
        }
        let pipeline = self.scoped(|| {
            // Fully checked (bounds, loop bounding): on lavapipe, turning the checks off made
            // no difference beyond noise, so the safety net stays.
            let module = self
                .device
                .create_shader_module(::wgpu::ShaderModuleDescriptor {
                    label: Some(key),
                    source: ::wgpu::ShaderSource::Wgsl(source().into()),
                });
            Ok(self
                .device
                .create_compute_pipeline(&::wgpu::ComputePipelineDescriptor {
                    label: Some(key),
                    layout: None,
                    module: &module,
                    entry_point: Some("main"),
                    compilation_options: ::wgpu::PipelineCompilationOptions {
                        constants,
                        // Every kernel writes its shared memory before reading it.
                        zero_initialize_workgroup_memory: false,
                    },
                    cache: None,
                }))
        })?;
        cache.insert(key.to_string(), pipeline.clone());
        Ok(pipeline)
    }

    /// A RuntimeError once the device is lost: a lost device cannot be recovered in this
    /// process, and its tensors are gone with it.
    pub(crate) fn check_not_lost(&self) -> Result<()> {
        if let Some(why) = &*self.lost.lock().unwrap_or_else(|e| e.into_inner()) {
            return Err(Error::Device(format!(
                "the wgpu device was lost ({why}); its tensors are gone: restart the program to use the GPU again"
            )));
        }
        Ok(())
    }

    /// Destroys the device, as a driver reset would; for testing the lost-device path.
    pub fn lose_for_testing(&self) {
        self.device.destroy();
        let _ = self.device.poll(::wgpu::PollType::Poll);
    }

    /// Runs `f` inside validation and out-of-memory error scopes, turning what wgpu would
    /// otherwise report to its panicking default handler into an `Error::Device`.
    pub(crate) fn scoped<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let oom = self
            .device
            .push_error_scope(::wgpu::ErrorFilter::OutOfMemory);
        let validation = self
            .device
            .push_error_scope(::wgpu::ErrorFilter::Validation);
        let out = f();
        let v = pollster::block_on(validation.pop());
        let o = pollster::block_on(oom.pop());
        if let Some(e) = o.or(v) {
            return Err(Error::Device(format!("wgpu error: {e}")));
        }
        self.check_not_lost()?;
        if let Some(e) = self
            .uncaptured
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            return Err(Error::Device(format!("wgpu error: {e}")));
        }
        out
    }

    /// The most workgroups a launch may use per grid dimension.
    pub(crate) fn grid_limit(&self) -> u32 {
        let limit = self.limits.max_compute_workgroups_per_dimension;
        match self.grid_limit_override.load(Ordering::Relaxed) {
            0 => limit,
            l => l.min(limit),
        }
    }

    /// Lowers the per-dimension workgroup limit (0 restores the adapter's); for tests.
    pub fn set_grid_limit(&self, limit: u32) {
        self.grid_limit_override.store(limit, Ordering::Relaxed);
    }

    /// Cumulative transfer and submission counts.
    pub fn stats(&self) -> Vec<(&'static str, u64)> {
        self.stats.snapshot()
    }

    /// Bytes held by the caching allocator's free buffers.
    pub fn cached_bytes(&self) -> u64 {
        self.pool.cached_bytes()
    }

    /// Releases the caching allocator's free buffers.
    pub fn empty_cache(&self) {
        self.pool.clear()
    }

    /// Waits until every queued kernel has run.
    pub fn synchronize(&self) -> Result<()> {
        self.wait_idle()
    }
}
