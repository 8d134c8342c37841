//! Joining and splitting: concat, stack, split.

mod backward;

use crate::tensor::shape::{fmt_shape, normalize_axis};
use crate::tensor::{DType, Tensor};
use crate::{bail, Result};

impl Tensor {
    /// Joins tensors along an existing axis (None: flattens them first).
    pub fn concat(tensors: &[Tensor], axis: Option<isize>) -> Result<Tensor> {
        // Flattening (axis None) is recorded by the reshapes themselves.
        let flat: Vec<Tensor>;
        let (ts, axis) = match axis {
            None => {
                flat = tensors.iter().map(|t| t.flatten()).collect::<Result<_>>()?;
                (&flat[..], 0)
            }
            Some(a) => (tensors, a),
        };
        let out = crate::autograd::untracked(|| Tensor::concat_fwd(ts, Some(axis)))?;
        let ax = normalize_axis(axis, out.ndim())?;
        Ok(backward::record_concat(out, ts, ax))
    }

    fn concat_fwd(tensors: &[Tensor], axis: Option<isize>) -> Result<Tensor> {
        if tensors.is_empty() {
            bail!(Value, "need at least one array to concatenate")
        }
        let flat: Vec<Tensor>;
        let (ts, axis) = match axis {
            None => {
                flat = tensors.iter().map(|t| t.flatten()).collect::<Result<_>>()?;
                (&flat[..], 0)
            }
            Some(a) => (tensors, a),
        };
        let first = &ts[0];
        if first.ndim() == 0 {
            bail!(Value, "zero-dimensional arrays cannot be concatenated")
        }
        let ax = normalize_axis(axis, first.ndim())?;
        let mut dt = first.dtype();
        let mut total = 0usize;
        let refs: Vec<&Tensor> = ts.iter().collect();
        let backend = crate::backend::for_tensors("concat", &refs)?;
        for t in ts {
            if t.ndim() != first.ndim()
                || t.shape()
                    .iter()
                    .zip(first.shape())
                    .enumerate()
                    .any(|(d, (a, b))| d != ax && a != b)
            {
                bail!(
                    Shape,
                    "all the input array dimensions except for the concatenation axis must match exactly, but shapes {} and {} differ",
                    fmt_shape(first.shape()),
                    fmt_shape(t.shape())
                )
            }
            dt = DType::promote(dt, t.dtype());
            total += t.shape()[ax];
        }
        let mut shape = first.shape().to_vec();
        shape[ax] = total;
        let out = backend.empty(&shape, dt)?;
        let mut start = 0usize;
        for t in ts {
            let n = t.shape()[ax];
            // A slice of out's own layout (start + n <= the joined axis's length).
            let dst = out.view_with(out.layout().slice_axis(ax, start, n, 1));
            backend.assign(&dst, t)?;
            start += n;
        }
        Ok(out)
    }

    /// Joins same-shaped tensors along a new axis.
    pub fn stack(tensors: &[Tensor], axis: isize) -> Result<Tensor> {
        if tensors.is_empty() {
            bail!(Value, "need at least one array to stack")
        }
        let s0 = tensors[0].shape();
        for t in tensors {
            if t.shape() != s0 {
                bail!(
                    Shape,
                    "all input arrays must have the same shape, got {} and {}",
                    fmt_shape(s0),
                    fmt_shape(t.shape())
                )
            }
        }
        let ax = normalize_axis(axis, s0.len() + 1)? as isize;
        let us: Vec<Tensor> = tensors
            .iter()
            .map(|t| t.unsqueeze(ax))
            .collect::<Result<_>>()?;
        Tensor::concat(&us, Some(ax))
    }

    /// Splits into `sections` equal parts along `axis` (views).
    pub fn split_sections(&self, sections: usize, axis: isize) -> Result<Vec<Tensor>> {
        let ax = normalize_axis(axis, self.ndim())?;
        let n = self.shape()[ax];
        if sections == 0 || n % sections != 0 {
            bail!(
                Value,
                "array split does not result in an equal division: {n} into {sections}"
            )
        }
        let pts: Vec<usize> = (1..sections).map(|i| i * n / sections).collect();
        self.split_at(&pts, axis)
    }

    /// Splits at the given indices along `axis` (views), as NumPy's `split` with a list:
    /// part i is `x[points[i-1]:points[i]]` along `axis` (from 0, to the end for the
    /// last), with slicing's clamping, so a point smaller than the one before gives an
    /// empty part and the next part starts back at it (`[4, 2]` on 6 elements gives
    /// [0:4], [4:2] (empty) and [2:6]).
    pub fn split_at(&self, points: &[usize], axis: isize) -> Result<Vec<Tensor>> {
        let ax = normalize_axis(axis, self.ndim())?;
        let n = self.shape()[ax];
        let mut out = vec![];
        let mut prev = 0usize;
        for &p in points.iter().chain(std::iter::once(&n)) {
            let s = prev.min(n);
            let e = p.clamp(s, n);
            out.push(self.slice(ax as isize, Some(s as isize), Some(e as isize), 1)?);
            prev = p;
        }
        Ok(out)
    }
}
