//! Generic elementwise kernels over strided, broadcast operands. Outputs are always
//! fresh contiguous tensors. Each kernel has a contiguous fast path (a plain slice loop
//! the compiler vectorises) and a strided fallback, chunked by `GRAIN` for rayon. They
//! fail only when the output cannot be allocated.

use crate::device::cpu::{for_each_chunk, NdIter, SendPtr, GRAIN};
use crate::ops::copy::uninit_cpu;
use crate::tensor::{Element, Tensor};
use crate::Result;

#[inline]
unsafe fn base<T: Element>(t: &Tensor) -> SendPtr<T> {
    SendPtr(t.storage().cpu_ptr::<T>().add(t.offset()))
}

/// out[i] = f(x[i]).
pub fn map_unary<T: Element, U: Element>(
    x: &Tensor,
    f: impl Fn(T) -> U + Sync + Send,
) -> Result<Tensor> {
    let out = uninit_cpu(U::DTYPE, x.shape())?;
    let n = out.numel();
    x.check_in_bounds()?;
    // SAFETY: x's layout lies inside its storage (checked above) and the contiguous path
    // reads x's n elements from its offset; out is a fresh contiguous buffer of n elements
    // and each chunk writes only its own range s..e of it.
    unsafe {
        let (xp, op) = (base::<T>(x), base::<U>(&out));
        if x.is_contiguous() {
            for_each_chunk(n, GRAIN, |s, e| {
                let src = std::slice::from_raw_parts(xp.get().add(s), e - s);
                let dst = op.slice_mut(s, e - s);
                for (d, &v) in dst.iter_mut().zip(src) {
                    *d = f(v);
                }
            });
        } else {
            let it = NdIter::<2>::new(x.shape(), [out.strides(), x.strides()]);
            for_each_chunk(n, GRAIN, |s, e| {
                it.for_each_run(s, e, |off, len, st, _| {
                    let d = op.get().offset(off[0]);
                    let src = xp.get().offset(off[1]);
                    for i in 0..len as isize {
                        *d.offset(i) = f(*src.offset(i * st[1]));
                    }
                })
            });
        }
    }
    Ok(out)
}

/// out = f(a, b) with both operands broadcast to `shape` (dtypes already unified).
pub fn map_binary<T: Element, U: Element>(
    a: &Tensor,
    b: &Tensor,
    shape: &[usize],
    f: impl Fn(T, T) -> U + Sync + Send,
) -> Result<Tensor> {
    let out = uninit_cpu(U::DTYPE, shape)?;
    let n = out.numel();
    a.check_in_bounds()?;
    b.check_in_bounds()?;
    // SAFETY: a and b lie inside their storages (checked above) and their broadcast
    // layouts address only elements of the original layouts (stride 0 on the new dims);
    // out is a fresh contiguous buffer of n elements, each chunk writing its own range.
    unsafe {
        let (ap, bp, op) = (base::<T>(a), base::<T>(b), base::<U>(&out));
        // Same shape, both contiguous: the common case, checked before any broadcast
        // layout is built (two allocations each, a third of a small op's time).
        let plain = |t: &Tensor| t.shape() == shape && t.layout().is_contiguous();
        if plain(a) && plain(b) {
            for_each_chunk(n, GRAIN, |s, e| {
                let (x, y) = (
                    std::slice::from_raw_parts(ap.get().add(s), e - s),
                    std::slice::from_raw_parts(bp.get().add(s), e - s),
                );
                let d = op.slice_mut(s, e - s);
                for i in 0..d.len() {
                    d[i] = f(x[i], y[i]);
                }
            });
            return Ok(out);
        }
        let (la, lb) = (
            a.layout().broadcast_to(shape).expect("broadcast"),
            b.layout().broadcast_to(shape).expect("broadcast"),
        );
        let it = NdIter::<3>::new(shape, [out.strides(), &la.strides, &lb.strides]);
        for_each_chunk(n, GRAIN, |s, e| {
            it.for_each_run(s, e, |off, len, st, _| {
                let d = std::slice::from_raw_parts_mut(op.get().offset(off[0]), len);
                let (x, y) = (ap.get().offset(off[1]), bp.get().offset(off[2]));
                match (st[1], st[2]) {
                    (1, 1) => {
                        let (x, y) = (
                            std::slice::from_raw_parts(x, len),
                            std::slice::from_raw_parts(y, len),
                        );
                        for i in 0..len {
                            d[i] = f(x[i], y[i]);
                        }
                    }
                    (1, 0) => {
                        let (x, y) = (std::slice::from_raw_parts(x, len), *y);
                        for i in 0..len {
                            d[i] = f(x[i], y);
                        }
                    }
                    (0, 1) => {
                        let (x, y) = (*x, std::slice::from_raw_parts(y, len));
                        for i in 0..len {
                            d[i] = f(x, y[i]);
                        }
                    }
                    (sa, sb) => {
                        for i in 0..len {
                            d[i] = f(*x.offset(i as isize * sa), *y.offset(i as isize * sb));
                        }
                    }
                }
            })
        });
    }
    Ok(out)
}

/// out = cond ? a : b, all three broadcast to `shape`.
pub fn map_where<T: Element>(
    cond: &Tensor,
    a: &Tensor,
    b: &Tensor,
    shape: &[usize],
) -> Result<Tensor> {
    let out = uninit_cpu(T::DTYPE, shape)?;
    let n = out.numel();
    let lc = cond.layout().broadcast_to(shape).expect("broadcast");
    let la = a.layout().broadcast_to(shape).expect("broadcast");
    let lb = b.layout().broadcast_to(shape).expect("broadcast");
    cond.check_in_bounds()?;
    a.check_in_bounds()?;
    b.check_in_bounds()?;
    // SAFETY: as in map_binary: every input lies inside its storage (checked above), the
    // broadcast layouts address only its elements, and each chunk writes its own range of
    // the fresh output.
    unsafe {
        let (cp, ap, bp, op) = (
            base::<bool>(cond),
            base::<T>(a),
            base::<T>(b),
            base::<T>(&out),
        );
        let it = NdIter::<4>::new(
            shape,
            [out.strides(), &lc.strides, &la.strides, &lb.strides],
        );
        for_each_chunk(n, GRAIN, |s, e| {
            it.for_each_run(s, e, |off, len, st, _| {
                let d = op.get().offset(off[0]);
                let (c, x, y) = (
                    cp.get().offset(off[1]),
                    ap.get().offset(off[2]),
                    bp.get().offset(off[3]),
                );
                for i in 0..len as isize {
                    *d.offset(i) = if *c.offset(i * st[1]) {
                        *x.offset(i * st[2])
                    } else {
                        *y.offset(i * st[3])
                    };
                }
            })
        });
    }
    Ok(out)
}
