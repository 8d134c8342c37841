//! Adam (L2 weight decay: g += wd * p) and AdamW (decoupled: p *= 1 - lr * wd), with
//! optional AMSGrad, PyTorch's formula:
//!   m = lerp(m, g, 1 - beta1); v = beta2 v + (1 - beta2) g^2
//!   denom = sqrt(v or max(v_max, v)) / sqrt(1 - beta2^t) + eps
//!   p -= lr / (1 - beta1^t) * m / denom

use super::{
    adam_step_many, check_buffer, check_param, grad_like, ptr, zeros_like_param, AdamParam,
    Optimizer, Real,
};
use crate::backend::Backend;
use crate::device::cpu::{for_each_chunk, GRAIN};
use crate::tensor::Tensor;
use crate::{bail, dispatch_float, Result};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig {
    pub lr: f64,
    pub betas: (f64, f64),
    pub eps: f64,
    pub weight_decay: f64,
    pub amsgrad: bool,
    /// AdamW's decoupled weight decay instead of Adam's L2 term.
    pub decoupled: bool,
}

impl AdamConfig {
    /// Adam with PyTorch's defaults.
    pub fn adam() -> AdamConfig {
        AdamConfig {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            amsgrad: false,
            decoupled: false,
        }
    }
    /// AdamW with PyTorch's defaults (weight_decay 1e-2).
    pub fn adamw() -> AdamConfig {
        AdamConfig {
            weight_decay: 1e-2,
            decoupled: true,
            ..AdamConfig::adam()
        }
    }

    pub fn validate(&self) -> Result<()> {
        if !(self.lr >= 0.0) {
            bail!(Value, "Invalid learning rate: {}", self.lr);
        }
        if !(self.eps >= 0.0) {
            bail!(Value, "Invalid epsilon value: {}", self.eps);
        }
        if !(0.0..1.0).contains(&self.betas.0) {
            bail!(Value, "Invalid beta parameter at index 0: {}", self.betas.0);
        }
        if !(0.0..1.0).contains(&self.betas.1) {
            bail!(Value, "Invalid beta parameter at index 1: {}", self.betas.1);
        }
        if !(self.weight_decay >= 0.0) {
            bail!(Value, "Invalid weight_decay value: {}", self.weight_decay);
        }
        Ok(())
    }
}

/// One Adam/AdamW update of `param` in place; `step` is the 1-based step count after
/// this update. `max_exp_avg_sq` is required with amsgrad.
pub fn adam_step(
    param: &Tensor,
    grad: &Tensor,
    exp_avg: &Tensor,
    exp_avg_sq: &Tensor,
    max_exp_avg_sq: Option<&Tensor>,
    step: u64,
    c: &AdamConfig,
) -> Result<()> {
    let (backend, grad, vmax) = check(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, c)?;
    backend.adam_step(param, &grad, exp_avg, exp_avg_sq, vmax, step, c)?;
    for t in [param, exp_avg, exp_avg_sq].into_iter().chain(vmax) {
        t.mark_modified();
    }
    Ok(())
}

/// The checks of one update (shared with `adam_step_many`): the parameter's backend,
/// the gradient as a contiguous tensor like the parameter, and the max buffer that
/// amsgrad uses (`None` without amsgrad).
pub(super) fn check<'a>(
    param: &Tensor,
    grad: &Tensor,
    exp_avg: &Tensor,
    exp_avg_sq: &Tensor,
    max_exp_avg_sq: Option<&'a Tensor>,
    step: u64,
    c: &AdamConfig,
) -> Result<(&'static dyn Backend, Tensor, Option<&'a Tensor>)> {
    let backend = check_param(param)?;
    let grad = grad_like(grad, param)?;
    check_buffer("exp_avg", exp_avg, param)?;
    check_buffer("exp_avg_sq", exp_avg_sq, param)?;
    if step == 0 {
        bail!(Value, "adam_step: step counts from 1");
    }
    let vmax = if c.amsgrad {
        match max_exp_avg_sq {
            Some(v) => {
                check_buffer("max_exp_avg_sq", v, param)?;
                Some(v)
            }
            None => bail!(Value, "adam_step: amsgrad needs max_exp_avg_sq"),
        }
    } else {
        None
    };
    Ok((backend, grad, vmax))
}

/// The CPU update (operands checked by `adam_step`).
pub(super) fn cpu_kernel(
    param: &Tensor,
    grad: &Tensor,
    m: &Tensor,
    v: &Tensor,
    vmax: Option<&Tensor>,
    step: u64,
    c: &AdamConfig,
) -> Result<()> {
    dispatch_float!(param.dtype(), "adam_step", T => kernel::<T>(param, grad, m, v, vmax, step, c));
    Ok(())
}

fn kernel<T: Real>(
    param: &Tensor,
    grad: &Tensor,
    m: &Tensor,
    v: &Tensor,
    vmax: Option<&Tensor>,
    step: u64,
    c: &AdamConfig,
) {
    let (pp, gp, mp, vp) = (ptr::<T>(param), ptr::<T>(grad), ptr::<T>(m), ptr::<T>(v));
    let xp = vmax.map(ptr::<T>);
    let f = T::from_f64;
    let (b1, b2) = c.betas;
    // Scalars are computed in f64 like PyTorch's Python-float step sizes.
    let bc1 = 1.0 - b1.powi(step as i32);
    let bc2_sqrt = f((1.0 - b2.powi(step as i32)).sqrt());
    let step_size = f(-(c.lr / bc1));
    let (w1, b2t, one_b2, eps) = (1.0 - b1, f(b2), f(1.0 - b2), f(c.eps));
    let wd = f(c.weight_decay);
    let decay = f(1.0 - c.lr * c.weight_decay);
    let (l2, decoupled) = (
        c.weight_decay != 0.0 && !c.decoupled,
        c.weight_decay != 0.0 && c.decoupled,
    );
    for_each_chunk(param.numel(), GRAIN, |s, e| {
        let n = e - s;
        // SAFETY: chunks are disjoint; all buffers hold numel elements.
        let (p, g, m, v) = unsafe {
            (
                pp.slice_mut(s, n),
                std::slice::from_raw_parts(gp.get().add(s), n),
                mp.slice_mut(s, n),
                vp.slice_mut(s, n),
            )
        };
        let mut x = xp.map(|x| unsafe { x.slice_mut(s, n) });
        if x.is_none() && !l2 && w1 < 0.5 {
            // The common case (no amsgrad, no L2 term, beta1 > 0.5 so torch.lerp takes
            // its first form) as a branch-free loop the compiler vectorises, with AVX2
            // when the CPU has it; every operation rounds as in the general loop below.
            let k = Consts {
                decay: if decoupled { decay } else { T::one() },
                w1: f(w1),
                b2t,
                one_b2,
                bc2_sqrt,
                eps,
                step_size,
            };
            return update_fast(p, g, m, v, &k);
        }
        for i in 0..n {
            let mut gi = g[i];
            if decoupled {
                p[i] = p[i] * decay;
            }
            if l2 {
                gi = gi + wd * p[i];
            }
            // torch.lerp: start + w * (end - start) for w < 0.5, else end - (1 - w) * (end - start).
            m[i] = if w1 < 0.5 {
                m[i] + f(w1) * (gi - m[i])
            } else {
                gi - f(1.0 - w1) * (gi - m[i])
            };
            v[i] = v[i] * b2t + one_b2 * gi * gi;
            let vv = match x.as_mut() {
                Some(x) => {
                    x[i] = x[i].max(v[i]);
                    x[i]
                }
                None => v[i],
            };
            let denom = vv.sqrt() / bc2_sqrt + eps;
            p[i] = p[i] + step_size * (m[i] / denom);
        }
    });
}

struct Consts<T> {
    /// 1 - lr * weight_decay for AdamW, 1 (exact) otherwise.
    decay: T,
    w1: T,
    b2t: T,
    one_b2: T,
    bc2_sqrt: T,
    eps: T,
    step_size: T,
}

fn update_fast<T: Real>(p: &mut [T], g: &[T], m: &mut [T], v: &mut [T], k: &Consts<T>) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2")]
        unsafe fn avx2<T: Real>(p: &mut [T], g: &[T], m: &mut [T], v: &mut [T], k: &Consts<T>) {
            update_loop(p, g, m, v, k)
        }
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2.
            return unsafe { avx2(p, g, m, v, k) };
        }
    }
    update_loop(p, g, m, v, k)
}

#[inline(always)]
fn update_loop<T: Real>(p: &mut [T], g: &[T], m: &mut [T], v: &mut [T], k: &Consts<T>) {
    let n = p.len();
    let (g, m, v) = (&g[..n], &mut m[..n], &mut v[..n]);
    for i in 0..n {
        // p * 1 is exact, so plain Adam rounds like the general loop.
        let pi = p[i] * k.decay;
        let gi = g[i];
        let mi = m[i] + k.w1 * (gi - m[i]);
        let vi = v[i] * k.b2t + k.one_b2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = pi + k.step_size * (mi / (vi.sqrt() / k.bc2_sqrt + k.eps));
    }
}

struct State {
    step: u64,
    m: Tensor,
    v: Tensor,
    vmax: Option<Tensor>,
}

/// Adam or AdamW (see [`AdamConfig::adamw`]) over a list of parameters.
pub struct Adam {
    params: Vec<Tensor>,
    pub config: AdamConfig,
    state: Vec<Option<State>>,
}

impl Adam {
    pub fn new(params: Vec<Tensor>, config: AdamConfig) -> Result<Adam> {
        config.validate()?;
        let state = params.iter().map(|_| None).collect();
        Ok(Adam {
            params,
            config,
            state,
        })
    }
}

impl Optimizer for Adam {
    fn params(&self) -> &[Tensor] {
        &self.params
    }
    fn step(&mut self) -> Result<()> {
        let mut grads = Vec::new();
        for (i, (p, st)) in self.params.iter().zip(self.state.iter_mut()).enumerate() {
            let Some(g) = p.grad() else { continue };
            if st.is_none() {
                *st = Some(State {
                    step: 0,
                    m: zeros_like_param(p)?,
                    v: zeros_like_param(p)?,
                    vmax: None,
                });
            }
            let Some(s) = st.as_mut() else { continue };
            if self.config.amsgrad && s.vmax.is_none() {
                s.vmax = Some(zeros_like_param(p)?);
            }
            s.step += 1;
            grads.push((i, g));
        }
        let items: Vec<AdamParam<'_>> = grads
            .iter()
            .filter_map(|(i, g)| {
                let s = self.state[*i].as_ref()?;
                Some(AdamParam {
                    param: &self.params[*i],
                    grad: g,
                    exp_avg: &s.m,
                    exp_avg_sq: &s.v,
                    max_exp_avg_sq: s.vmax.as_ref(),
                    step: s.step,
                })
            })
            .collect();
        adam_step_many(&items, &self.config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vectorised path (AdamW, plain Adam) rounds exactly like a scalar
    /// transcription of PyTorch's update, element by element.
    #[test]
    fn fast_path_matches_the_scalar_update_bitwise() {
        let n = 70_001; // several chunks and a ragged tail
        for decoupled in [true, false] {
            let c = AdamConfig {
                weight_decay: if decoupled { 0.05 } else { 0.0 },
                decoupled,
                lr: 0.01,
                ..AdamConfig::adam()
            };
            let p0: Vec<f32> = (0..n)
                .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
                .collect();
            let g: Vec<f32> = (0..n)
                .map(|i| ((i * 104_729) % 997) as f32 / 300.0 - 1.6)
                .collect();
            let (mut p, mut m, mut v) = (p0.clone(), vec![0.1f32; n], vec![0.02f32; n]);
            let t = |d: &Vec<f32>| Tensor::from_vec(d.clone(), &[n]).unwrap();
            let (tp, tm, tv) = (t(&p), t(&m), t(&v));
            adam_step(&tp, &t(&g), &tm, &tv, None, 3, &c).unwrap();
            let (b1, b2) = c.betas;
            let bc1 = 1.0 - b1.powi(3);
            let bc2_sqrt = (1.0 - b2.powi(3)).sqrt() as f32;
            let step_size = (-(c.lr / bc1)) as f32;
            for i in 0..n {
                if decoupled {
                    p[i] *= (1.0 - c.lr * c.weight_decay) as f32;
                }
                m[i] = m[i] + (1.0 - b1) as f32 * (g[i] - m[i]);
                v[i] = v[i] * b2 as f32 + (1.0 - b2) as f32 * g[i] * g[i];
                p[i] = p[i] + step_size * (m[i] / (v[i].sqrt() / bc2_sqrt + c.eps as f32));
            }
            assert_eq!(tp.to_vec::<f32>().unwrap(), p);
            assert_eq!(tm.to_vec::<f32>().unwrap(), m);
            assert_eq!(tv.to_vec::<f32>().unwrap(), v);
        }
    }
}
