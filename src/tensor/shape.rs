//! Shape arithmetic: broadcasting and axis normalisation, with NumPy's rules and errors.

use crate::{bail, Result};

pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// The element count of a user-supplied shape, or an error when it overflows.
pub fn checked_numel(shape: &[usize]) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= (isize::MAX as usize) / 8)
        .ok_or_else(|| {
            crate::Error::Value(format!(
                "array is too big: shape {} has too many elements",
                fmt_shape(shape)
            ))
        })
}

/// `(2, 3)` style text for error messages.
pub fn fmt_shape(shape: &[usize]) -> String {
    match shape.len() {
        1 => format!("({},)", shape[0]),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The broadcast shape of two shapes (NumPy rules: align right, 1 stretches).
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    if a == b {
        return Ok(a.to_vec());
    }
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i + a.len() >= n {
            a[i + a.len() - n]
        } else {
            1
        };
        let db = if i + b.len() >= n {
            b[i + b.len() - n]
        } else {
            1
        };
        out[i] = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            bail!(
                Shape,
                "operands could not be broadcast together with shapes {} {}",
                fmt_shape(a),
                fmt_shape(b)
            )
        };
    }
    Ok(out)
}

/// Turns a possibly negative axis into an index in `0..ndim`, as NumPy does.
pub fn normalize_axis(axis: isize, ndim: usize) -> Result<usize> {
    let n = ndim as isize;
    if axis < -n || axis >= n {
        bail!(
            Axis,
            "axis {axis} is out of bounds for array of dimension {ndim}"
        )
    }
    Ok(if axis < 0 {
        (axis + n) as usize
    } else {
        axis as usize
    })
}

/// Normalises a list of axes (None = all), rejecting repeats.
pub fn normalize_axes(axes: Option<&[isize]>, ndim: usize) -> Result<Vec<usize>> {
    match axes {
        None => Ok((0..ndim).collect()),
        Some(list) => {
            let mut out = Vec::with_capacity(list.len());
            for &a in list {
                let ax = normalize_axis(a, ndim)?;
                if out.contains(&ax) {
                    bail!(Value, "repeated axis {a} in axes {list:?}")
                }
                out.push(ax);
            }
            out.sort_unstable();
            Ok(out)
        }
    }
}

/// Resolves a reshape target that may hold one -1.
pub fn infer_reshape(target: &[isize], total: usize, from: &[usize]) -> Result<Vec<usize>> {
    let mut unknown = None;
    let mut known: usize = 1;
    for (i, &d) in target.iter().enumerate() {
        if d == -1 {
            if unknown.is_some() {
                bail!(
                    Value,
                    "can only specify one unknown dimension (-1) in reshape"
                )
            }
            unknown = Some(i);
        } else if d < 0 {
            bail!(Value, "invalid dimension {d} in reshape target {target:?}")
        } else {
            known = known.checked_mul(d as usize).ok_or_else(|| {
                crate::Error::Value(format!("reshape target {target:?} is too big"))
            })?;
        }
    }
    let mut out: Vec<usize> = target.iter().map(|&d| d.max(0) as usize).collect();
    if let Some(i) = unknown {
        if known == 0 || total % known != 0 {
            bail!(
                Shape,
                "cannot reshape array of size {total} (shape {}) into shape {target:?}",
                fmt_shape(from)
            )
        }
        out[i] = total / known;
    } else if known != total {
        bail!(
            Shape,
            "cannot reshape array of size {total} (shape {}) into shape {}",
            fmt_shape(from),
            fmt_shape(&out)
        )
    }
    Ok(out)
}
