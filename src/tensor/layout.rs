//! Layout: how a shape maps onto a flat storage buffer (strides and offset, in elements).
//! Every view operation is a pure function from one layout to another; no data moves.

use super::shape::{fmt_shape, normalize_axis, numel};
use crate::{bail, Result};

/// Dimensions stored inline up to this many (no heap allocation for a layout of that
/// rank or less): a tensor's shape and strides were two of the five allocations every
/// small op made.
pub const INLINE_DIMS: usize = 6;
/// A shape, inline up to `INLINE_DIMS` dimensions; derefs to `[usize]`.
pub type Dims = smallvec::SmallVec<[usize; INLINE_DIMS]>;
/// Strides, inline up to `INLINE_DIMS` dimensions; derefs to `[isize]`.
pub type Strides = smallvec::SmallVec<[isize; INLINE_DIMS]>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub shape: Dims,
    pub strides: Strides,
    pub offset: usize,
}

pub fn contiguous_strides(shape: &[usize]) -> Strides {
    let mut strides = smallvec::smallvec![0isize; shape.len()];
    let mut acc: isize = 1;
    for i in (0..shape.len()).rev() {
        strides[i] = acc;
        acc *= shape[i].max(1) as isize;
    }
    strides
}

impl Layout {
    pub fn contiguous(shape: &[usize]) -> Layout {
        Layout {
            shape: Dims::from_slice(shape),
            strides: contiguous_strides(shape),
            offset: 0,
        }
    }

    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    pub fn numel(&self) -> usize {
        numel(&self.shape)
    }

    /// Row-major contiguous (size-1 dims may have any stride).
    pub fn is_contiguous(&self) -> bool {
        // An empty view touches no memory: contiguous whatever its strides (NumPy and
        // PyTorch agree).
        if self.shape.contains(&0) {
            return true;
        }
        let mut expected: isize = 1;
        for i in (0..self.shape.len()).rev() {
            if self.shape[i] != 1 {
                if self.strides[i] != expected {
                    return false;
                }
                expected *= self.shape[i] as isize;
            }
        }
        true
    }

    /// The range of storage elements this layout touches: (min, max+1), empty for an
    /// empty view. One pass over the dims: kernels check every view's span before their
    /// unsafe loops.
    pub fn storage_span(&self) -> (isize, isize) {
        let mut lo = self.offset as isize;
        let mut hi = self.offset as isize;
        for (&d, &s) in self.shape.iter().zip(&self.strides) {
            if d == 0 {
                return (self.offset as isize, self.offset as isize);
            }
            let ext = (d as isize - 1) * s;
            if ext < 0 {
                lo += ext
            } else {
                hi += ext
            }
        }
        (lo, hi + 1)
    }

    pub fn permute(&self, axes: &[usize]) -> Result<Layout> {
        let n = self.ndim();
        if axes.len() != n {
            bail!(Value, "axes {axes:?} don't match array of dimension {n}")
        }
        let mut seen = vec![false; n];
        for &a in axes {
            if a >= n || seen[a] {
                bail!(Value, "axes {axes:?} are not a permutation of 0..{n}")
            }
            seen[a] = true;
        }
        Ok(Layout {
            shape: axes.iter().map(|&a| self.shape[a]).collect(),
            strides: axes.iter().map(|&a| self.strides[a]).collect(),
            offset: self.offset,
        })
    }

    pub fn transpose(&self, a: usize, b: usize) -> Layout {
        let mut l = self.clone();
        l.shape.swap(a, b);
        l.strides.swap(a, b);
        l
    }

    /// Basic slicing of one axis with a (possibly negative) step; `start` is the first
    /// index taken and `len` how many are taken.
    pub fn slice_axis(&self, axis: usize, start: usize, len: usize, step: isize) -> Layout {
        let mut l = self.clone();
        if len > 0 {
            l.offset = (self.offset as isize + start as isize * self.strides[axis]) as usize;
        }
        l.shape[axis] = len;
        l.strides[axis] = self.strides[axis] * step;
        l
    }

    /// Integer indexing of one axis (the axis disappears).
    pub fn select(&self, axis: usize, index: usize) -> Layout {
        let mut l = self.clone();
        l.offset = (self.offset as isize + index as isize * self.strides[axis]) as usize;
        l.shape.remove(axis);
        l.strides.remove(axis);
        l
    }

    pub fn unsqueeze(&self, axis: usize) -> Layout {
        let mut l = self.clone();
        let stride = if axis < self.ndim() {
            self.strides[axis] * self.shape[axis] as isize
        } else {
            1
        };
        l.shape.insert(axis, 1);
        l.strides.insert(axis, stride);
        l
    }

    pub fn squeeze_axes(&self, axes: &[usize]) -> Result<Layout> {
        for &a in axes {
            if self.shape[a] != 1 {
                bail!(
                    Value,
                    "cannot select an axis to squeeze out which has size not equal to one (axis {a} of shape {})",
                    fmt_shape(&self.shape)
                )
            }
        }
        let mut l = Layout {
            shape: Dims::new(),
            strides: Strides::new(),
            offset: self.offset,
        };
        for i in 0..self.ndim() {
            if !axes.contains(&i) {
                l.shape.push(self.shape[i]);
                l.strides.push(self.strides[i]);
            }
        }
        Ok(l)
    }

    /// A broadcast view: new leading dims and stretched size-1 dims get stride 0.
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Layout> {
        let n = shape.len();
        if n < self.ndim() {
            bail!(
                Shape,
                "cannot broadcast an array of shape {} to shape {}",
                fmt_shape(&self.shape),
                fmt_shape(shape)
            )
        }
        let lead = n - self.ndim();
        let mut strides: Strides = smallvec::smallvec![0isize; n];
        for i in 0..self.ndim() {
            let (d, t) = (self.shape[i], shape[lead + i]);
            strides[lead + i] = if d == t {
                self.strides[i]
            } else if d == 1 {
                0
            } else {
                bail!(
                    Shape,
                    "cannot broadcast an array of shape {} to shape {}",
                    fmt_shape(&self.shape),
                    fmt_shape(shape)
                )
            };
        }
        Ok(Layout {
            shape: shape.into(),
            strides,
            offset: self.offset,
        })
    }

    /// Strides for viewing this layout with a new shape of the same size, when that is
    /// possible without copying (each group of merged/split dims must be contiguous
    /// within itself). Returns None when a copy is needed.
    pub fn reshape_view(&self, new_shape: &[usize]) -> Option<Layout> {
        if self.is_contiguous() {
            return Some(Layout {
                shape: new_shape.into(),
                strides: contiguous_strides(new_shape),
                offset: self.offset,
            });
        }
        if self.numel() == 0 {
            return Some(Layout::contiguous(new_shape)).map(|mut l| {
                l.offset = self.offset;
                l
            });
        }
        // Walk the old non-unit dims in chunks that are contiguous within themselves and
        // lay the new non-unit dims over each chunk; size-1 dims take any stride.
        let old: Vec<(usize, isize)> = self
            .shape
            .iter()
            .zip(&self.strides)
            .filter(|(&d, _)| d != 1)
            .map(|(&d, &s)| (d, s))
            .collect();
        let new_idx: Vec<usize> = (0..new_shape.len())
            .filter(|&i| new_shape[i] != 1)
            .collect();
        let mut new_strides: Strides = smallvec::smallvec![1isize; new_shape.len()];
        let mut ni = 0usize;
        let mut oi = 0usize;
        while oi < old.len() {
            let mut oj = oi + 1;
            while oj < old.len() && old[oj - 1].1 == old[oj].1 * old[oj].0 as isize {
                oj += 1;
            }
            let chunk_size: usize = old[oi..oj].iter().map(|p| p.0).product();
            let start = ni;
            let mut prod = 1usize;
            while ni < new_idx.len() && prod < chunk_size {
                prod *= new_shape[new_idx[ni]];
                ni += 1;
            }
            if prod != chunk_size {
                return None;
            }
            let mut acc = old[oj - 1].1;
            for k in (start..ni).rev() {
                new_strides[new_idx[k]] = acc;
                acc *= new_shape[new_idx[k]] as isize;
            }
            oi = oj;
        }
        if ni != new_idx.len() {
            return None;
        }
        Some(Layout {
            shape: new_shape.into(),
            strides: new_strides,
            offset: self.offset,
        })
    }

    pub fn axis(&self, axis: isize) -> Result<usize> {
        normalize_axis(axis, self.ndim())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reshape_view_of_transposed_needs_copy() {
        let l = Layout::contiguous(&[2, 3]).transpose(0, 1);
        assert!(l.reshape_view(&[6]).is_none());
        // splitting a dim of a transposed layout is fine
        let l2 = Layout::contiguous(&[4, 3]).transpose(0, 1); // shape (3,4) strides (1,3)
        let v = l2.reshape_view(&[3, 2, 2]).unwrap();
        assert_eq!(&v.strides[..], [1, 6, 3]);
    }

    #[test]
    fn broadcast_strides_are_zero() {
        let l = Layout::contiguous(&[3, 1])
            .broadcast_to(&[2, 3, 4])
            .unwrap();
        assert_eq!(&l.strides[..], [0, 1, 0]);
        assert!(Layout::contiguous(&[3]).broadcast_to(&[4]).is_err());
    }
}
