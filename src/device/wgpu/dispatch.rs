//! Recording one kernel launch: the parameter uniform, the bind group and the grid.
//!
//! Every kernel follows one binding convention (binding 0 = a uniform parameter struct,
//! bindings 1.. = storage buffers in order) and one grid convention: workgroups are
//! numbered linearly as `id.x + id.y * num_workgroups.x`, and a kernel returns early for
//! numbers past its total. That lets a launch exceed the 65535-per-dimension limit by
//! spilling into y, which the shaders never need to know about.

use super::context::WgpuContext;
use crate::{bail, Result};

/// Splits `groups` workgroups into an (x, y) grid with at most `max_per_dim` per side.
pub(crate) fn grid(max_per_dim: u32, groups: u64) -> Result<(u32, u32)> {
    let max = max_per_dim.max(1) as u64;
    if groups <= max {
        return Ok((groups as u32, 1));
    }
    let y = groups.div_ceil(max);
    if y > max {
        bail!(
            Device,
            "wgpu launch of {groups} workgroups exceeds the device's grid limit"
        )
    }
    Ok((max as u32, y as u32))
}

/// Records one kernel launch into the stream (see `dispatch`).
pub(crate) fn launch(
    ctx: &WgpuContext,
    pipeline: &::wgpu::ComputePipeline,
    params: &[u8],
    buffers: &[&::wgpu::Buffer],
    groups: u64,
) -> Result<()> {
    if groups == 0 {
        return Ok(());
    }
    ctx.record_dispatch(pipeline, params, buffers, groups)
}

#[cfg(test)]
mod tests {
    use super::grid;

    #[test]
    fn grid_spills_into_y() {
        assert_eq!(grid(65535, 65535).unwrap(), (65535, 1));
        assert_eq!(grid(65535, 65536).unwrap(), (65535, 2));
        let (x, y) = grid(65535, 1 << 24).unwrap();
        assert!(x as u64 * y as u64 >= 1 << 24 && y == 257);
        assert!(grid(65535, 65535 * 65535 + 1).is_err());
    }
}
