//! Turning strided views into the small fixed-size arrays the kernels index with.
//!
//! Kernels walk a view by splitting a linear index into per-dim indices, which costs a
//! division per dim and element. Merging dims that are contiguous relative to each other
//! in every operand (and dropping size-1 dims) shortens that walk, usually to a single
//! dim, and also brings most views under the kernels' 8-dim limit.

use super::storage::WgpuStorage;
use crate::tensor::layout::Layout;
use crate::tensor::shape::fmt_shape;
use crate::{bail, Result};

/// The most dims a kernel parameter block holds.
pub(crate) const MAX_DIMS: usize = 8;

/// A shape after merging, with one stride list per operand walked along it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Collapsed {
    pub shape: Vec<usize>,
    pub strides: Vec<Vec<isize>>,
}

/// Merges adjacent dims of `shape` wherever every operand's strides allow it, and drops
/// size-1 dims. An all-ones shape collapses to no dims (a single element at the offset).
pub(crate) fn collapse(shape: &[usize], strides: &[&[isize]]) -> Collapsed {
    let mut out = Collapsed {
        shape: Vec::new(),
        strides: vec![Vec::new(); strides.len()],
    };
    for d in 0..shape.len() {
        let size = shape[d];
        if size == 1 {
            continue;
        }
        let mergeable = !out.shape.is_empty()
            && strides
                .iter()
                .zip(&out.strides)
                .all(|(s, o)| *o.last().unwrap() == s[d] * size as isize);
        if mergeable {
            *out.shape.last_mut().unwrap() *= size;
            for (s, o) in strides.iter().zip(out.strides.iter_mut()) {
                *o.last_mut().unwrap() = s[d];
            }
        } else {
            out.shape.push(size);
            for (s, o) in strides.iter().zip(out.strides.iter_mut()) {
                o.push(s[d]);
            }
        }
    }
    out
}

/// A shape as the kernels' `array<vec4<u32>, 2>`; unused dims are 1.
pub(crate) fn pack_shape(shape: &[usize]) -> Result<[u32; MAX_DIMS]> {
    if shape.len() > MAX_DIMS {
        bail!(
            Device,
            "wgpu kernels handle views of at most {MAX_DIMS} non-mergeable dims, got shape {}",
            fmt_shape(shape)
        )
    }
    let mut out = [1u32; MAX_DIMS];
    for (o, &d) in out.iter_mut().zip(shape) {
        *o = to_u32(d)?;
    }
    Ok(out)
}

/// Strides as the kernels' `array<vec4<i32>, 2>`; unused dims are 0.
pub(crate) fn pack_strides(strides: &[isize]) -> Result<[i32; MAX_DIMS]> {
    let mut out = [0i32; MAX_DIMS];
    for (o, &s) in out.iter_mut().zip(strides) {
        *o = to_i32(s)?;
    }
    Ok(out)
}

pub(crate) fn to_u32(v: usize) -> Result<u32> {
    u32::try_from(v)
        .map_err(|_| crate::Error::Device(format!("{v} is too large for a wgpu kernel")))
}

pub(crate) fn to_i32(v: isize) -> Result<i32> {
    i32::try_from(v)
        .map_err(|_| crate::Error::Device(format!("{v} is too large for a wgpu kernel")))
}

/// Checks that a non-empty view stays inside its buffer, so that a bad layout is an
/// error here rather than silently clamped reads on the GPU.
pub(crate) fn check_view(storage: &WgpuStorage, l: &Layout) -> Result<()> {
    if l.shape.len() != l.strides.len() {
        bail!(
            Runtime,
            "layout has {} dims but {} strides",
            l.shape.len(),
            l.strides.len()
        )
    }
    if l.numel() == 0 {
        return Ok(());
    }
    let (lo, hi) = l.storage_span();
    if lo < 0 || hi as usize > storage.len() {
        bail!(
            Runtime,
            "view of shape {} (strides {:?}, offset {}) reaches outside its buffer of {} elements",
            fmt_shape(&l.shape),
            l.strides,
            l.offset,
            storage.len()
        )
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collapse_merges_contiguous_and_drops_ones() {
        let c = collapse(&[2, 1, 3, 4], &[&[12, 12, 4, 1]]);
        assert_eq!(c.shape, vec![24]);
        assert_eq!(c.strides, vec![vec![1]]);
        // a transposed operand blocks the merge for both
        let c = collapse(&[3, 4], &[&[4, 1], &[1, 3]]);
        assert_eq!(c.shape, vec![3, 4]);
        // broadcast (stride 0) dims merge with each other
        let c = collapse(&[2, 3, 4], &[&[0, 0, 1]]);
        assert_eq!(
            c,
            Collapsed {
                shape: vec![6, 4],
                strides: vec![vec![0, 1]]
            }
        );
        assert_eq!(collapse(&[1, 1], &[&[5, 7]]).shape, Vec::<usize>::new());
    }
}
