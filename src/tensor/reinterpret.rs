//! Views of a CPU tensor's bytes as another dtype: a complex tensor as pairs of reals
//! (PyTorch's `view_as_real`) and back, and a same-width bit view (bfloat16 as uint16
//! for NumPy, which has no bfloat16). The view shares memory: writes go both ways.

use super::storage::CpuStorage;
use super::{DType, Layout, Storage, Tensor};
use crate::{bail, Result};
use std::sync::Arc;

/// Keeps the viewed storage alive for as long as the view's storage lives.
struct ViewOwner(#[allow(dead_code)] Arc<Storage>);

impl Tensor {
    /// A new storage over the same CPU bytes, read as `dtype`, with `layout`.
    fn reinterpret(&self, dtype: DType, layout: Layout) -> Result<Tensor> {
        let cpu = self.storage().cpu()?;
        let bytes = self.storage().len * self.dtype().size();
        if bytes % dtype.size() != 0 {
            bail!(
                Value,
                "{bytes} bytes do not hold a whole number of {dtype} elements"
            );
        }
        let (lo, hi) = layout.storage_span();
        if self.numel() > 0 && (lo < 0 || hi as usize > bytes / dtype.size()) {
            bail!(
                Value,
                "the {dtype} view would reach outside the tensor's storage"
            );
        }
        // SAFETY: the new storage covers exactly the bytes of the old one (same pointer
        // and length), which stay allocated while the owner holds the old storage; the
        // layout was checked above to stay inside them, and every dtype is plain data
        // for which any bit pattern of the right size is a value (bool views are not
        // made here).
        let view = unsafe {
            CpuStorage::foreign(
                cpu.as_ptr(),
                bytes,
                Box::new(ViewOwner(self.storage().clone())),
            )
        };
        let storage = Storage::from_cpu(view, dtype, bytes / dtype.size());
        Ok(Tensor::from_parts(Arc::new(storage), layout))
    }

    /// A complex tensor's elements as (real, imaginary) pairs along a new last axis of 2.
    pub fn view_as_real(&self) -> Result<Tensor> {
        if !self.dtype().is_complex() {
            bail!(
                DType,
                "view_as_real needs a complex tensor, got {}",
                self.dtype()
            );
        }
        let l = self.layout();
        let mut shape = l.shape.clone();
        shape.push(2);
        let mut strides: Vec<isize> = l.strides.iter().map(|s| s * 2).collect();
        strides.push(1);
        let layout = Layout {
            shape,
            strides: strides.into(),
            offset: l.offset * 2,
        };
        self.reinterpret(self.dtype().real_part(), layout)
    }

    /// Pairs of reals along a last axis of 2 (unit stride) as a complex tensor.
    pub fn view_as_complex(&self) -> Result<Tensor> {
        let l = self.layout();
        let dt = match self.dtype() {
            DType::F32 => DType::C64,
            DType::F64 => DType::C128,
            other => bail!(
                DType,
                "view_as_complex needs a float32 or float64 tensor, got {other}"
            ),
        };
        if l.shape.last() != Some(&2) || l.strides.last() != Some(&1) {
            bail!(
                Value,
                "view_as_complex needs a last dimension of size 2 and stride 1, got shape {:?} and strides {:?}",
                l.shape,
                l.strides
            );
        }
        let n = l.shape.len() - 1;
        if l.offset % 2 != 0 || l.strides[..n].iter().any(|s| s % 2 != 0) {
            bail!(
                Value,
                "view_as_complex needs the other strides and the offset to be even"
            );
        }
        let layout = Layout {
            shape: l.shape[..n].into(),
            strides: l.strides[..n].iter().map(|s| s / 2).collect(),
            offset: l.offset / 2,
        };
        self.reinterpret(dt, layout)
    }

    /// The same bytes read as `dtype`, which must have this dtype's width (bool, whose
    /// bytes must be 0 or 1, is refused).
    pub fn view_bits(&self, dtype: DType) -> Result<Tensor> {
        if dtype.size() != self.dtype().size()
            || dtype == DType::Bool
            || self.dtype() == DType::Bool
        {
            bail!(
                DType,
                "can't view {} as {dtype}: a bit view needs two non-bool dtypes of the same width",
                self.dtype()
            );
        }
        self.reinterpret(dtype, self.layout().clone())
    }
}

#[cfg(test)]
mod tests {
    use crate::tensor::{Complex64, DType, Tensor};

    #[test]
    fn complex_views_share_memory() {
        let z = Tensor::from_vec(
            vec![Complex64::new(1.0, 2.0), Complex64::new(3.0, -4.0)],
            &[2],
        )
        .unwrap();
        let r = z.view_as_real().unwrap();
        assert_eq!(r.shape(), &[2, 2]);
        assert_eq!(r.to_vec::<f32>().unwrap(), vec![1.0, 2.0, 3.0, -4.0]);
        let back = r.view_as_complex().unwrap();
        assert_eq!(back.dtype(), DType::C64);
        assert_eq!(
            back.to_vec::<Complex64>().unwrap(),
            z.to_vec::<Complex64>().unwrap()
        );
        assert!(r.permute(&[1, 0]).unwrap().view_as_complex().is_err());
        assert!(Tensor::from_vec(vec![1.0f32, 2.0], &[2])
            .unwrap()
            .view_bits(DType::I16)
            .is_err());
    }
}
