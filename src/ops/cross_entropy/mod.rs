//! Cross-entropy between logits and targets, as `torch.nn.functional.cross_entropy`,
//! fused: one pass per row computes log-softmax and the loss, and the backward is one
//! pass computing `(softmax * a - T) * scale` (T: the weighted, label-smoothed target).
//!
//! With class indices y and smoothing eps over C classes:
//!   loss_n = (1-eps) w[y_n] (-log p[n,y_n]) + eps/C sum_c w[c] (-log p[n,c]),
//! ignored targets give 0, and 'mean' divides by sum_n w[y_n] over non-ignored targets.
//! With probabilities t: loss_n = -sum_c w[c] t'[n,c] log p[n,c], t' = (1-eps) t + eps/C,
//! and 'mean' divides by the number of rows.
//!
//! This file validates and lays the operands out as (M, C) rows; the backend's
//! `CrossEntropyKernels` does the rest: the CPU (`fused` below, cpu.rs, rows.rs)
//! computes in lanes of the input's dtype with f64 row totals and checks class indices
//! on the host; wgpu (wgpu.rs, cross_entropy.wgsl) works in f32 and checks them in the
//! kernel (an IndexError at the next readback).

mod cpu;
mod rows;
#[cfg(feature = "wgpu")]
mod wgpu;

use crate::backend::Cpu;
use crate::tensor::shape::fmt_shape;
use crate::tensor::{DType, Element, Tensor};
use crate::{bail, dispatch_float, Result};
use cpu::{Params, Targets};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduction {
    None,
    Sum,
    Mean,
}

impl Reduction {
    pub fn parse(s: &str) -> Result<Reduction> {
        Ok(match s {
            "none" => Reduction::None,
            "sum" => Reduction::Sum,
            "mean" => Reduction::Mean,
            _ => bail!(Value, "{s} is not a valid value for reduction"),
        })
    }
}

/// The fused cross-entropy a backend provides (see `backend`).
pub trait CrossEntropyKernels {
    /// The loss of (M, C) contiguous float rows `x` against `t`: (M) int64 class indices
    /// (not yet range-checked) or, when `probs`, (M, C) probabilities of x's dtype; `o`'s
    /// weight has C entries (checked) on x's device. Returns the (M) losses for
    /// reduction 'none', else a 0-d tensor, with its own backward recorded.
    fn cross_entropy_rows(
        &self,
        x: Tensor,
        t: Tensor,
        probs: bool,
        o: &CrossEntropyOptions,
    ) -> Result<Tensor>;
}

/// Options of [`cross_entropy`], with PyTorch's defaults.
#[derive(Clone, Debug)]
pub struct CrossEntropyOptions {
    pub weight: Option<Tensor>,
    pub ignore_index: i64,
    pub reduction: Reduction,
    pub label_smoothing: f64,
}

impl Default for CrossEntropyOptions {
    fn default() -> Self {
        CrossEntropyOptions {
            weight: None,
            ignore_index: -100,
            reduction: Reduction::Mean,
            label_smoothing: 0.0,
        }
    }
}

/// Cross-entropy of `input` (C), (N, C) or (N, C, d1, ...) logits against int64 class
/// indices of shape (), (N) or (N, d1, ...), or float probabilities of the input's shape.
pub fn cross_entropy(input: &Tensor, target: &Tensor, o: &CrossEntropyOptions) -> Result<Tensor> {
    let mut operands = vec![input, target];
    operands.extend(o.weight.as_ref());
    // One device for all operands (the kernels read them all there).
    let backend = crate::backend::for_tensors("cross_entropy", &operands)?;
    if !input.dtype().is_float() {
        bail!(
            DType,
            "cross_entropy needs floating-point logits, got {}",
            input.dtype()
        );
    }
    let eps = o.label_smoothing;
    if !(0.0..=1.0).contains(&eps) {
        bail!(
            Value,
            "label_smoothing must be between 0.0 and 1.0. Got: {eps}"
        );
    }
    let shape = input.shape().to_vec();
    let nd = shape.len();
    if nd == 0 {
        bail!(
            Shape,
            "cross_entropy: input must have at least 1 dimension (classes), got a scalar"
        );
    }
    let c = if nd == 1 { shape[0] } else { shape[1] };
    let probs = target.dtype().is_float();
    // Output shape of reduction='none': the input's without the class dim.
    let out_shape: Vec<usize> = if nd == 1 {
        vec![]
    } else {
        std::iter::once(shape[0])
            .chain(shape[2..].iter().copied())
            .collect()
    };
    if probs {
        if target.shape() != shape.as_slice() {
            bail!(
                Shape,
                "Expected target of the input's shape {} for class probabilities, got {}",
                fmt_shape(&shape),
                fmt_shape(target.shape())
            );
        }
    } else if target.dtype() != DType::I64 {
        bail!(
            DType,
            "cross_entropy: target must be int64 class indices or float probabilities, got {}",
            target.dtype()
        );
    } else if target.shape() != out_shape.as_slice() {
        bail!(
            Shape,
            "Expected target size {}, got {}",
            fmt_shape(&out_shape),
            fmt_shape(target.shape())
        );
    }
    if let Some(w) = &o.weight {
        if w.shape() != [c] {
            bail!(
                Shape,
                "weight tensor should be defined either for all {c} classes or no classes but got weight tensor of shape: {}",
                fmt_shape(w.shape())
            )
        }
    }
    // Classes last, rows flattened: (M, C). These are differentiable views/copies.
    let to_rows = |t: &Tensor| -> Result<Tensor> {
        let t = match nd {
            1 | 2 => t.clone(),
            _ => {
                let mut perm: Vec<isize> = vec![0];
                perm.extend((2..nd as isize).chain(std::iter::once(1)));
                t.permute(&perm)?
            }
        };
        t.reshape(&[-1, c as isize])?.contiguous()
    };
    let x = to_rows(input)?;
    let t = if probs {
        to_rows(&target.to_dtype(input.dtype())?)?
    } else {
        target.reshape(&[-1])?.contiguous()?
    };
    let out = backend.cross_entropy_rows(x, t, probs, o)?;
    match o.reduction {
        Reduction::None => out.reshape_usize(&out_shape),
        _ => Ok(out),
    }
}

impl CrossEntropyKernels for Cpu {
    fn cross_entropy_rows(
        &self,
        x: Tensor,
        t: Tensor,
        probs: bool,
        o: &CrossEntropyOptions,
    ) -> Result<Tensor> {
        let c = x.shape()[1];
        let weight = match &o.weight {
            Some(w) => Some(w.detach().to_dtype(DType::F64)?.to_vec::<f64>()?),
            None => None,
        };
        if !probs {
            let ys = t.to_vec::<i64>()?;
            if let Some(&bad) = ys
                .iter()
                .find(|&&y| y != o.ignore_index && (y < 0 || y as usize >= c))
            {
                bail!(Index, "Target {bad} is out of bounds.");
            }
        }
        fused(x, t, probs, weight, o.label_smoothing, o)
    }
}

/// The fused op on (M, C) rows; records its own backward.
fn fused(
    x: Tensor,
    t: Tensor,
    probs: bool,
    weight: Option<Vec<f64>>,
    eps: f64,
    o: &CrossEntropyOptions,
) -> Result<Tensor> {
    let c = x.shape()[1];
    let m = x.shape()[0];
    let (ignore_index, reduction) = (o.ignore_index, o.reduction);
    let cpu::Forward { loss, rw, stats } = dispatch_float!(x.dtype(), "cross_entropy", T => {
        let p = Params { c, eps, ignore_index, weight: weight.as_deref() };
        let xs = x.contiguous_slice::<T>().expect("contiguous rows");
        if probs {
            cpu::forward(xs, &Targets::Prob(t.contiguous_slice::<T>().expect("contiguous")), &p)
        } else {
            cpu::forward(xs, &Targets::<T>::Index(t.contiguous_slice::<i64>().expect("contiguous")), &p)
        }
    });
    // 'mean' divides by the summed target weights (indices) or the row count (probs).
    let denom = if probs {
        m as f64
    } else {
        rw.iter().sum::<f64>()
    };
    let out = dispatch_float!(x.dtype(), "cross_entropy", T => match reduction {
        Reduction::None => Tensor::from_vec(loss.iter().map(|&v| T::from_f64(v)).collect(), &[m])?,
        Reduction::Sum => Tensor::scalar(T::from_f64(loss.iter().sum::<f64>())),
        Reduction::Mean => Tensor::scalar(T::from_f64(loss.iter().sum::<f64>() / denom)),
    });
    let (x2, t2) = (x.clone(), t.clone());
    Ok(crate::autograd::record(
        out,
        "CrossEntropyBackward",
        &[&x, &t],
        &[&x, &t],
        move |g| {
            let scale_of = |g: &Tensor| -> Result<Tensor> {
                match reduction {
                    Reduction::None => g.reshape(&[-1, 1]),
                    Reduction::Sum => Ok(g.clone()),
                    Reduction::Mean => g.div(denom),
                }
            };
            let gx = if crate::autograd::is_grad_enabled() {
                // create_graph: the same math in differentiable tensor ops.
                let tm = target_matrix(&x2, &t2, probs, weight.as_deref(), eps, ignore_index)?;
                let a = tm.sum(Some(&[-1]), true)?;
                x2.softmax(-1)?.mul(&a)?.sub(&tm)?.mul(&scale_of(g)?)?
            } else {
                let scale = match reduction {
                    Reduction::None => g.to_dtype(DType::F64)?.contiguous()?.to_vec::<f64>()?,
                    Reduction::Sum => vec![g.item()?],
                    Reduction::Mean => vec![g.item()? / denom],
                };
                dispatch_float!(x2.dtype(), "cross_entropy", T => {
                    let p = Params { c, eps, ignore_index, weight: weight.as_deref() };
                    let xs = x2.contiguous_slice::<T>().expect("contiguous rows");
                    if probs {
                        cpu::backward(xs, &Targets::Prob(t2.contiguous_slice::<T>().expect("contiguous")), &p, &stats, &scale)?
                    } else {
                        cpu::backward(xs, &Targets::<T>::Index(t2.contiguous_slice::<i64>().expect("contiguous")), &p, &stats, &scale)?
                    }
                })
            };
            // Probability targets are differentiable too: d/dt = -(1-eps) w log p * scale.
            let gt = if probs && t2.requires_grad() {
                let mut lp = x2.log_softmax(-1)?.mul(-(1.0 - eps))?;
                if let Some(w) = &weight {
                    lp = lp.mul(&weight_tensor(w, x2.dtype())?)?;
                }
                Some(lp.mul(&scale_of(g)?)?)
            } else {
                None
            };
            Ok(vec![Some(gx), gt])
        },
    ))
}

fn weight_tensor(w: &[f64], dtype: DType) -> Result<Tensor> {
    Tensor::from_vec(w.to_vec(), &[w.len()])?.to_dtype(dtype)
}

/// T[n, c]: the weighted, smoothed target whose row sums scale the softmax in the
/// gradient (`grad = softmax * rowsum(T) - T`). Built from `t` with tensor ops for
/// probabilities (so it is differentiable in t), as a constant for class indices.
fn target_matrix(
    x: &Tensor,
    t: &Tensor,
    probs: bool,
    w: Option<&[f64]>,
    eps: f64,
    ignore_index: i64,
) -> Result<Tensor> {
    let (m, c) = (x.shape()[0], x.shape()[1]);
    let wk = |k: usize| w.map_or(1.0, |w| w[k]);
    if probs {
        let tp = t.mul(1.0 - eps)?.add(eps / c as f64)?;
        return match w {
            Some(w) => tp.mul(&weight_tensor(w, x.dtype())?),
            None => Ok(tp),
        };
    }
    let ys = t.to_vec::<i64>()?;
    let mut tm = vec![0.0f64; m * c];
    for (r, &y) in ys.iter().enumerate() {
        if y == ignore_index {
            continue;
        }
        for k in 0..c {
            tm[r * c + k] = eps / c as f64 * wk(k);
        }
        tm[r * c + y as usize] += (1.0 - eps) * wk(y as usize);
    }
    Tensor::from_vec(tm, &[m, c])?.to_dtype(x.dtype())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(x: &[f64], y: &[i64], c: usize, eps: f64) -> f64 {
        let m = y.len();
        let mut total = 0.0;
        for r in 0..m {
            let row = &x[r * c..(r + 1) * c];
            let lse = row.iter().map(|v| v.exp()).sum::<f64>().ln();
            let nll = lse - row[y[r] as usize];
            let smooth: f64 = row.iter().map(|v| lse - v).sum::<f64>() / c as f64;
            total += (1.0 - eps) * nll + eps * smooth;
        }
        total / m as f64
    }

    #[test]
    fn matches_naive_reference() {
        let x: Vec<f64> = (0..12).map(|i| ((i * 7) % 5) as f64 * 0.3 - 0.5).collect();
        let y = vec![0i64, 3, 2];
        let xt = Tensor::from_vec(x.clone(), &[3, 4]).unwrap();
        let yt = Tensor::from_vec(y.clone(), &[3]).unwrap();
        let o = CrossEntropyOptions {
            label_smoothing: 0.1,
            ..Default::default()
        };
        let l = cross_entropy(&xt, &yt, &o).unwrap().item().unwrap();
        assert!((l - naive(&x, &y, 4, 0.1)).abs() < 1e-12);
    }

    #[test]
    fn out_of_range_target_is_an_index_error() {
        let xt = Tensor::zeros(&[2, 3]).unwrap();
        let yt = Tensor::from_vec(vec![0i64, 12], &[2]).unwrap();
        let e = cross_entropy(&xt, &yt, &Default::default()).unwrap_err();
        assert_eq!(e, crate::Error::Index("Target 12 is out of bounds.".into()));
    }
}
