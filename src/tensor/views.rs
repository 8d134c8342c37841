//! View operations (no data moves) and the copies that make a view contiguous or move it.

use super::shape::{fmt_shape, infer_reshape, normalize_axes, normalize_axis};
use super::{DType, Tensor};
use crate::autograd::formulas::record_view;
use crate::autograd::untracked;
use crate::device::Device;
use crate::ops::copy;
use crate::ops::copy::backward::record_cast;
use crate::ops::index::backward::record_index;
use crate::tensor::index::TensorIndex;
use crate::{bail, Result};

impl Tensor {
    /// Reshape with at most one -1; a view when the layout allows it, else a copy.
    pub fn reshape(&self, shape: &[isize]) -> Result<Tensor> {
        let target = infer_reshape(shape, self.numel(), self.shape())?;
        if target == self.shape() {
            return Ok(self.clone());
        }
        let out = match self.layout().reshape_view(&target) {
            Some(l) => self.view_with(l),
            None => {
                let c = untracked(|| self.contiguous())?;
                let l = c
                    .layout()
                    .reshape_view(&target)
                    .expect("contiguous reshape");
                c.view_with(l)
            }
        };
        let from = self.shape().to_vec();
        Ok(record_view(out, "ViewBackward", self, move |g| {
            g.reshape_usize(&from)
        }))
    }

    pub fn reshape_usize(&self, shape: &[usize]) -> Result<Tensor> {
        let s: Vec<isize> = shape.iter().map(|&d| d as isize).collect();
        self.reshape(&s)
    }

    pub fn flatten(&self) -> Result<Tensor> {
        self.reshape(&[-1])
    }

    /// Reorders axes (`axes` may hold negative values).
    pub fn permute(&self, axes: &[isize]) -> Result<Tensor> {
        let n = self.ndim();
        if axes.len() != n {
            bail!(Value, "axes {axes:?} don't match array of dimension {n}")
        }
        let ax: Vec<usize> = axes
            .iter()
            .map(|&a| normalize_axis(a, n))
            .collect::<Result<_>>()?;
        let out = self.view_with(self.layout().permute(&ax)?);
        let mut inv = vec![0isize; n];
        for (i, &a) in ax.iter().enumerate() {
            inv[a] = i as isize;
        }
        Ok(record_view(out, "PermuteBackward", self, move |g| {
            g.permute(&inv)
        }))
    }

    /// Swaps two axes.
    pub fn transpose(&self, a: isize, b: isize) -> Result<Tensor> {
        let (a, b) = (
            normalize_axis(a, self.ndim())?,
            normalize_axis(b, self.ndim())?,
        );
        let out = self.view_with(self.layout().transpose(a, b));
        Ok(record_view(out, "TransposeBackward", self, move |g| {
            g.transpose(a as isize, b as isize)
        }))
    }

    /// Reverses all axes (NumPy's `.T`).
    pub fn t(&self) -> Tensor {
        let ax: Vec<isize> = (0..self.ndim() as isize).rev().collect();
        self.permute(&ax).expect("reversed axes are a permutation")
    }

    /// Swaps the last two axes (`.mT`).
    pub fn mt(&self) -> Result<Tensor> {
        if self.ndim() < 2 {
            bail!(
                Value,
                "mT needs a tensor of at least 2 dimensions, got shape {}",
                fmt_shape(self.shape())
            )
        }
        self.transpose(-2, -1)
    }

    pub fn unsqueeze(&self, axis: isize) -> Result<Tensor> {
        let a = normalize_axis(axis, self.ndim() + 1)?;
        let out = self.view_with(self.layout().unsqueeze(a));
        let from = self.shape().to_vec();
        Ok(record_view(out, "UnsqueezeBackward", self, move |g| {
            g.reshape_usize(&from)
        }))
    }

    /// Removes the given size-1 axes (None: all of them).
    pub fn squeeze(&self, axes: Option<&[isize]>) -> Result<Tensor> {
        let ax = match axes {
            Some(a) => normalize_axes(Some(a), self.ndim())?,
            None => (0..self.ndim()).filter(|&i| self.shape()[i] == 1).collect(),
        };
        let out = self.view_with(self.layout().squeeze_axes(&ax)?);
        let from = self.shape().to_vec();
        Ok(record_view(out, "SqueezeBackward", self, move |g| {
            g.reshape_usize(&from)
        }))
    }

    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Tensor> {
        if shape == self.shape() {
            return Ok(self.clone());
        }
        let out = self.view_with(self.layout().broadcast_to(shape)?);
        let from = self.shape().to_vec();
        Ok(record_view(out, "ExpandBackward", self, move |g| {
            crate::autograd::sum_to(g, &from)
        }))
    }

    /// Basic slicing of one axis: Python's `start:stop:step` with NumPy clamping rules.
    pub fn slice(
        &self,
        axis: isize,
        start: Option<isize>,
        stop: Option<isize>,
        step: isize,
    ) -> Result<Tensor> {
        let ax = normalize_axis(axis, self.ndim())?;
        let (first, len) = slice_indices(self.shape()[ax], start, stop, step)?;
        // A step beyond the axis (x[::2**62]) selects at most one element, whose stride
        // does not matter; keep stride * step from overflowing.
        let layout_step = if self.strides()[ax].checked_mul(step).is_some() {
            step
        } else {
            step.signum()
        };
        let out = self.view_with(self.layout().slice_axis(ax, first, len, layout_step));
        Ok(record_index(
            out,
            self,
            axis_index(ax, TensorIndex::Slice(start, stop, step)),
        ))
    }

    /// Integer indexing of one axis (negative counts from the end).
    pub fn select(&self, axis: isize, index: isize) -> Result<Tensor> {
        let ax = normalize_axis(axis, self.ndim())?;
        let n = self.shape()[ax] as isize;
        let i = if index < 0 { index + n } else { index };
        if i < 0 || i >= n {
            bail!(
                Index,
                "index {index} is out of bounds for axis {ax} with size {n}"
            )
        }
        let out = self.view_with(self.layout().select(ax, i as usize));
        Ok(record_index(out, self, axis_index(ax, TensorIndex::Int(i))))
    }

    /// Reverses the given axes (None: all) as a view with negative strides.
    pub fn flip(&self, axes: Option<&[isize]>) -> Result<Tensor> {
        let ax = normalize_axes(axes, self.ndim())?;
        let mut l = self.layout().clone();
        for &a in &ax {
            let n = l.shape[a];
            if n > 1 {
                l.offset = (l.offset as isize + (n as isize - 1) * l.strides[a]) as usize;
            }
            l.strides[a] = -l.strides[a];
        }
        let out = self.view_with(l);
        let axes: Vec<isize> = ax.iter().map(|&a| a as isize).collect();
        Ok(record_view(out, "FlipBackward", self, move |g| {
            g.flip(Some(&axes))
        }))
    }

    /// A contiguous version: the tensor itself when it already is, else a copy.
    pub fn contiguous(&self) -> Result<Tensor> {
        if self.is_contiguous() {
            return Ok(self.clone());
        }
        self.deep_copy()
    }

    /// A contiguous copy with its own storage.
    pub fn deep_copy(&self) -> Result<Tensor> {
        let out = copy::to_contiguous(self)?;
        Ok(record_view(out, "CloneBackward", self, |g| Ok(g.clone())))
    }

    /// Casts to another dtype (always a new tensor, like NumPy's `astype(copy=True)`).
    pub fn astype(&self, dtype: DType) -> Result<Tensor> {
        Ok(record_cast(copy::cast(self, dtype)?, self))
    }

    /// Casts only when the dtype differs.
    pub fn to_dtype(&self, dtype: DType) -> Result<Tensor> {
        if dtype == self.dtype() {
            Ok(self.clone())
        } else {
            self.astype(dtype)
        }
    }

    /// Moves to a device (no copy when already there).
    pub fn to_device(&self, device: Device) -> Result<Tensor> {
        if device == self.device() {
            return Ok(self.clone());
        }
        Ok(record_cast(copy::to_device(self, device)?, self))
    }
}

/// An index that applies `item` to axis `ax` and takes everything else.
fn axis_index(ax: usize, item: TensorIndex) -> Vec<TensorIndex> {
    let mut idx = vec![TensorIndex::Slice(None, None, 1); ax];
    idx.push(item);
    idx
}

/// NumPy's slice resolution: returns (first index, number of elements).
pub fn slice_indices(
    n: usize,
    start: Option<isize>,
    stop: Option<isize>,
    step: isize,
) -> Result<(usize, usize)> {
    if step == 0 {
        bail!(Value, "slice step cannot be zero")
    }
    // In i128 so that bounds and steps anywhere in isize (x[2**62::2**62]) cannot overflow.
    let (n, step) = (n as i128, step as i128);
    let clamp = |v: i128, lo: i128, hi: i128| v.max(lo).min(hi);
    let norm = |v: isize| {
        let v = v as i128;
        if v < 0 {
            v + n
        } else {
            v
        }
    };
    let (first, len) = if step > 0 {
        let s = clamp(start.map(norm).unwrap_or(0), 0, n);
        let e = clamp(stop.map(norm).unwrap_or(n), 0, n);
        (s, if e > s { (e - s + step - 1) / step } else { 0 })
    } else {
        let s = clamp(start.map(norm).unwrap_or(n - 1), -1, n - 1);
        let e = clamp(stop.map(norm).unwrap_or(-1), -1, n - 1);
        (
            s,
            if s > e {
                (s - e + (-step) - 1) / (-step)
            } else {
                0
            },
        )
    };
    Ok((if len > 0 { first as usize } else { 0 }, len as usize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_indices_match_python() {
        assert_eq!(slice_indices(10, None, None, 1).unwrap(), (0, 10));
        assert_eq!(slice_indices(10, Some(-3), None, 1).unwrap(), (7, 3));
        assert_eq!(slice_indices(10, None, None, -1).unwrap(), (9, 10));
        assert_eq!(slice_indices(10, Some(8), Some(2), -3).unwrap(), (8, 2));
        assert_eq!(slice_indices(10, Some(5), Some(2), 1).unwrap().1, 0);
        assert_eq!(slice_indices(5, None, None, 2).unwrap(), (0, 3));
        assert!(slice_indices(5, None, None, 0).is_err());
    }

    #[test]
    fn slice_indices_take_extreme_bounds() {
        let (lo, hi) = (isize::MIN, isize::MAX);
        assert_eq!(slice_indices(3, Some(hi), None, 1).unwrap().1, 0);
        assert_eq!(slice_indices(3, Some(lo), None, 1).unwrap(), (0, 3));
        assert_eq!(slice_indices(3, None, Some(hi), 1).unwrap(), (0, 3));
        assert_eq!(slice_indices(3, None, None, hi).unwrap(), (0, 1));
        assert_eq!(slice_indices(3, None, None, -hi).unwrap(), (2, 1));
        assert_eq!(slice_indices(3, None, None, lo).unwrap(), (2, 1));
        assert_eq!(slice_indices(3, Some(hi), Some(lo), -1).unwrap(), (2, 3));
    }
}
