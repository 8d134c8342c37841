//! View operations (no data moves) and the copies that make a view contiguous or move it.

use super::shape::{fmt_shape, infer_reshape, normalize_axes, normalize_axis};
use super::{DType, Tensor};
use crate::device::Device;
use crate::ops::copy;
use crate::{bail, Result};

impl Tensor {
    /// Reshape with at most one -1; a view when the layout allows it, else a copy.
    pub fn reshape(&self, shape: &[isize]) -> Result<Tensor> {
        let target = infer_reshape(shape, self.numel(), self.shape())?;
        if target == self.shape() {
            return Ok(self.clone());
        }
        match self.layout().reshape_view(&target) {
            Some(l) => Ok(self.view_with(l)),
            None => {
                let c = self.contiguous()?;
                Ok(c.view_with(
                    c.layout()
                        .reshape_view(&target)
                        .expect("contiguous reshape"),
                ))
            }
        }
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
        Ok(self.view_with(self.layout().permute(&ax)?))
    }

    /// Swaps two axes.
    pub fn transpose(&self, a: isize, b: isize) -> Result<Tensor> {
        let (a, b) = (
            normalize_axis(a, self.ndim())?,
            normalize_axis(b, self.ndim())?,
        );
        Ok(self.view_with(self.layout().transpose(a, b)))
    }

    /// Reverses all axes (NumPy's `.T`).
    pub fn t(&self) -> Tensor {
        let ax: Vec<usize> = (0..self.ndim()).rev().collect();
        self.view_with(self.layout().permute(&ax).expect("valid permutation"))
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
        Ok(self.view_with(self.layout().unsqueeze(a)))
    }

    /// Removes the given size-1 axes (None: all of them).
    pub fn squeeze(&self, axes: Option<&[isize]>) -> Result<Tensor> {
        let ax = match axes {
            Some(a) => normalize_axes(Some(a), self.ndim())?,
            None => (0..self.ndim()).filter(|&i| self.shape()[i] == 1).collect(),
        };
        Ok(self.view_with(self.layout().squeeze_axes(&ax)?))
    }

    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Tensor> {
        if shape == self.shape() {
            return Ok(self.clone());
        }
        Ok(self.view_with(self.layout().broadcast_to(shape)?))
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
        Ok(self.view_with(self.layout().slice_axis(ax, first, len, step)))
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
        Ok(self.view_with(self.layout().select(ax, i as usize)))
    }

    /// Reverses the given axes (None: all) as a view with negative strides.
    pub fn flip(&self, axes: Option<&[isize]>) -> Result<Tensor> {
        let ax = normalize_axes(axes, self.ndim())?;
        let mut l = self.layout().clone();
        for a in ax {
            let n = l.shape[a];
            if n > 1 {
                l.offset = (l.offset as isize + (n as isize - 1) * l.strides[a]) as usize;
            }
            l.strides[a] = -l.strides[a];
        }
        Ok(self.view_with(l))
    }

    /// A contiguous version: the tensor itself when it already is, else a copy.
    pub fn contiguous(&self) -> Result<Tensor> {
        if self.is_contiguous() {
            return Ok(self.clone());
        }
        copy::to_contiguous(self)
    }

    /// A contiguous copy with its own storage.
    pub fn deep_copy(&self) -> Result<Tensor> {
        copy::to_contiguous(self)
    }

    /// Casts to another dtype (always a new tensor, like NumPy's `astype(copy=True)`).
    pub fn astype(&self, dtype: DType) -> Result<Tensor> {
        copy::cast(self, dtype)
    }

    /// Casts only when the dtype differs.
    pub fn to_dtype(&self, dtype: DType) -> Result<Tensor> {
        if dtype == self.dtype() {
            Ok(self.clone())
        } else {
            copy::cast(self, dtype)
        }
    }

    /// Moves to a device (no copy when already there).
    pub fn to_device(&self, device: Device) -> Result<Tensor> {
        if device == self.device() {
            return Ok(self.clone());
        }
        copy::to_device(self, device)
    }
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
    let n = n as isize;
    let clamp = |v: isize, lo: isize, hi: isize| v.max(lo).min(hi);
    let norm = |v: isize| if v < 0 { v + n } else { v };
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
}
