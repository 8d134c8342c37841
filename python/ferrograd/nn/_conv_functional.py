"""Convolution, pooling, padding and resizing over NCHW tensors, as in
``torch.nn.functional`` (re-exported from ``ferrograd.nn.functional``).

``conv2d``, ``conv_transpose2d`` and ``max_pool2d`` are Rust kernels (CPU and wgpu, with
their backward). The rest is composed from them and from tensor ops, so it runs, and
differentiates, wherever those do:

- ``avg_pool2d`` is a depthwise convolution with a kernel of ones, divided by PyTorch's
  divisor (which depends on ``count_include_pad`` and on ``ceil_mode``'s partial
  windows);
- ``adaptive_avg_pool2d`` is two matrix products with averaging matrices (a mean for a
  (1, 1) output);
- ``pad`` concatenates constant blocks or gathers reflected/replicated/circular
  positions; ``interpolate`` (nearest) gathers positions.
"""

import math

from .. import _core

__all__ = [
    "conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d",
    "pad", "interpolate",
]


def _pair(value, name, what, allow_zero=True):
    """An int or a pair of ints as a (height, width) tuple, checked."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ValueError(f"{what}: {name} must be an int or a pair of ints, got {value!r}")
        pair = tuple(value)
    else:
        pair = (value, value)
    for v in pair:
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"{what}: {name} must be an int or a pair of ints, got {value!r}")
        if v < 0 or (v == 0 and not allow_zero):
            kind = "non-negative" if allow_zero else "positive"
            raise ValueError(f"{what}: {name} must be {kind}, got {value!r}")
    return pair


def _batched(input, what, spatial=2):
    """(input with a batch dim, whether one was added): PyTorch accepts unbatched
    (C, H, W) inputs and returns unbatched outputs."""
    if not isinstance(input, _core.Tensor):
        raise TypeError(f"{what}: input must be a Tensor, got {type(input).__name__}")
    if input.ndim == spatial + 1:
        return input.unsqueeze(0), True
    if input.ndim != spatial + 2:
        raise ValueError(f"{what}: expected a {spatial + 1}-d (unbatched) or {spatial + 2}-d "
                         f"(batched) input, got shape {tuple(input.shape)}")
    return input, False


def _add_bias(out, bias, what):
    if bias is None:
        return out
    if bias.ndim != 1 or bias.shape[0] != out.shape[1]:
        raise ValueError(f"{what}: bias must have shape ({out.shape[1]},), got {tuple(bias.shape)}")
    return out + bias.reshape((1, -1, 1, 1))


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation, as PyTorch) of ``input`` (N, C, H, W) or
    (C, H, W) with ``weight`` (O, C/groups, KH, KW). ``padding`` is an int, a pair, or
    ``"valid"`` (none) or ``"same"`` (output size = input size; stride 1 only; an odd
    total is split with the extra row/column at the bottom/right, as PyTorch)."""
    what = "conv2d"
    x, unbatched = _batched(input, what)
    stride = _pair(stride, "stride", what, allow_zero=False)
    dilation = _pair(dilation, "dilation", what, allow_zero=False)
    if isinstance(padding, str):
        if weight.ndim != 4:
            raise ValueError(f"{what}: expected a 4-d weight, got shape {tuple(weight.shape)}")
        if padding == "valid":
            padding = (0, 0)
        elif padding == "same":
            if stride != (1, 1):
                raise ValueError(f"{what}: padding='same' is not supported for strided "
                                 f"convolutions (stride={stride})")
            totals = [d * (k - 1) for d, k in zip(dilation, weight.shape[2:])]
            lows = [t // 2 for t in totals]
            if any(t % 2 for t in totals):
                highs = [t - lo for t, lo in zip(totals, lows)]
                x = pad(x, (lows[1], highs[1], lows[0], highs[0]))
                lows = [0, 0]
            padding = tuple(lows)
        else:
            raise ValueError(f"{what}: padding must be an int, a pair, 'same' or 'valid', "
                             f"got {padding!r}")
    else:
        padding = _pair(padding, "padding", what)
    out = _core.conv2d(x, weight, stride, padding, dilation, groups)
    out = _add_bias(out, bias, what)
    return out.squeeze(0) if unbatched else out


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1):
    """The transpose of ``conv2d`` (its gradient with respect to the input), with
    ``weight`` (C_in, C_out/groups, KH, KW): the output is (N, C_out, H_out, W_out) with
    H_out = (H - 1) * stride - 2 * padding + dilation * (KH - 1) + output_padding + 1."""
    what = "conv_transpose2d"
    x, unbatched = _batched(input, what)
    out = _core.conv_transpose2d(
        x, weight, _pair(stride, "stride", what, allow_zero=False),
        _pair(padding, "padding", what), _pair(output_padding, "output_padding", what),
        groups, _pair(dilation, "dilation", what, allow_zero=False))
    out = _add_bias(out, bias, what)
    return out.squeeze(0) if unbatched else out


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """The maximum of each window (padding never wins). With ``return_indices`` also the
    int64 position h * W + w of each maximum within its plane."""
    what = "max_pool2d"
    x, unbatched = _batched(input, what)
    kernel = _pair(kernel_size, "kernel_size", what, allow_zero=False)
    stride = kernel if stride is None or stride == [] else _pair(stride, "stride", what,
                                                                 allow_zero=False)
    out, idx = _core.max_pool2d(x, kernel, stride, _pair(padding, "padding", what),
                                _pair(dilation, "dilation", what, allow_zero=False),
                                bool(ceil_mode))
    if unbatched:
        out, idx = out.squeeze(0), idx.squeeze(0)
    return (out, idx) if return_indices else out


def _pool_len(size, k, s, p, ceil_mode):
    """PyTorch's pooling output length (see max_pool2d's kernel)."""
    span = size + 2 * p - k
    if span < 0:
        return 0
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _avg_divisors(size, out, k, s, p, count_include_pad):
    """Per output position along one axis: the window length PyTorch divides by (the
    window clipped to the padded input, or to the input without padding)."""
    divs = []
    for o in range(out):
        start = o * s - p
        end = min(start + k, size + p)
        if count_include_pad:
            divs.append(end - start)
        else:
            divs.append(min(end, size) - max(start, 0))
    return divs


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """The mean of each window, with PyTorch's divisors: the window clipped to the padded
    input when ``count_include_pad`` (the default), else to the input itself; or
    ``divisor_override``."""
    what = "avg_pool2d"
    x, unbatched = _batched(input, what)
    kernel = _pair(kernel_size, "kernel_size", what, allow_zero=False)
    stride = kernel if stride is None or stride == [] else _pair(stride, "stride", what,
                                                                 allow_zero=False)
    padding = _pair(padding, "padding", what)
    if any(2 * p > k for p, k in zip(padding, kernel)):
        raise ValueError(f"{what}: padding {padding} must be at most half of kernel_size {kernel}")
    if divisor_override is not None and divisor_override == 0:
        raise ValueError(f"{what}: divisor_override must be non-zero")
    n, c, h, w = x.shape
    outs = [_pool_len(size, k, s, p, ceil_mode)
            for size, k, s, p in zip((h, w), kernel, stride, padding)]
    if min(outs) <= 0:
        raise ValueError(f"{what}: the output would be empty: input {tuple(x.shape)}, "
                         f"kernel_size {kernel}, stride {stride}, padding {padding}")
    # ceil_mode's last window may reach past the padding: pad zeros so the convolution
    # sees it (they add nothing; the divisor below is PyTorch's).
    extra = [max(0, (o - 1) * s + k - (size + 2 * p))
             for o, s, k, size, p in zip(outs, stride, kernel, (h, w), padding)]
    xp = x
    if any(padding) or any(extra):
        xp = pad(x, (padding[1], padding[1] + extra[1], padding[0], padding[0] + extra[0]))
    ones = _core.ones((1, 1) + kernel, dtype=x.dtype, device=x.device)
    sums = conv2d(xp.reshape((n * c, 1) + tuple(xp.shape[2:])), ones, stride=stride)
    sums = sums[:, :, :outs[0], :outs[1]].reshape((n, c, outs[0], outs[1]))
    if divisor_override is not None:
        out = sums / divisor_override
    else:
        rows = _avg_divisors(h, outs[0], kernel[0], stride[0], padding[0], count_include_pad)
        cols = _avg_divisors(w, outs[1], kernel[1], stride[1], padding[1], count_include_pad)
        div = _core._tensor([[float(r * q) for q in cols] for r in rows], dtype=x.dtype,
                           device=x.device)
        out = sums / div
    return out.squeeze(0) if unbatched else out


def _adaptive_matrix(size, out, like):
    """(out, size) averaging matrix of PyTorch's adaptive bins: row i averages
    floor(i * size / out) .. ceil((i + 1) * size / out)."""
    rows = []
    for i in range(out):
        start, end = (i * size) // out, -(-((i + 1) * size) // out)
        rows.append([1.0 / (end - start) if start <= j < end else 0.0 for j in range(size)])
    return _core._tensor(rows, dtype=like.dtype, device=like.device)


def adaptive_avg_pool2d(input, output_size):
    """Averages over PyTorch's adaptive bins so the output is ``output_size`` (an int, a
    pair, with None meaning the input's size)."""
    what = "adaptive_avg_pool2d"
    x, unbatched = _batched(input, what)
    h, w = x.shape[2:]
    sizes = output_size if isinstance(output_size, (list, tuple)) else (output_size,) * 2
    if len(sizes) != 2:
        raise ValueError(f"{what}: output_size must be an int or a pair, got {output_size!r}")
    oh, ow = (h if sizes[0] is None else sizes[0]), (w if sizes[1] is None else sizes[1])
    for v in (oh, ow):
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise ValueError(f"{what}: output_size must be positive ints, got {output_size!r}")
    if (oh, ow) == (1, 1):
        out = x.mean(axis=(-2, -1), keepdims=True)
    elif h % oh == 0 and w % ow == 0:
        out = avg_pool2d(x, (h // oh, w // ow))
    else:
        out = _adaptive_matrix(h, oh, x) @ x @ _adaptive_matrix(w, ow, x).mT
    return out.squeeze(0) if unbatched else out


def _positions(size, before, after, mode):
    """Source positions of a padded axis for the gathering modes."""
    idx = range(-before, size + after)
    if mode == "reflect":
        return [abs(i) if i < 0 else (2 * (size - 1) - i if i >= size else i) for i in idx]
    if mode == "replicate":
        return [min(max(i, 0), size - 1) for i in idx]
    return [i % size for i in idx]  # circular


def pad(input, pad, mode="constant", value=None):
    """Pads the last ``len(pad) // 2`` dims; ``pad`` lists (before, after) pairs from the
    last dim backwards, as PyTorch. Modes: constant (negative amounts crop), reflect,
    replicate, circular."""
    what = "pad"
    if not isinstance(input, _core.Tensor):
        raise TypeError(f"{what}: input must be a Tensor, got {type(input).__name__}")
    pad = tuple(pad)
    if len(pad) % 2 or any(isinstance(p, bool) or not isinstance(p, int) for p in pad):
        raise ValueError(f"{what}: pad must be an even-length sequence of ints, got {pad!r}")
    if len(pad) // 2 > input.ndim:
        raise ValueError(f"{what}: pad {pad} has more pairs than input {tuple(input.shape)} has dims")
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise ValueError(f"{what}: mode must be constant, reflect, replicate or circular, got {mode!r}")
    if mode != "constant" and value not in (None, 0):
        raise ValueError(f"{what}: padding value {value!r} is only for mode='constant'")
    out = input
    for i in range(len(pad) // 2):
        axis = input.ndim - 1 - i
        before, after = pad[2 * i], pad[2 * i + 1]
        size = out.shape[axis]
        if mode == "constant":
            out = _pad_constant(out, axis, before, after, 0.0 if value is None else value)
            continue
        if before < 0 or after < 0:
            raise ValueError(f"{what}: negative padding {pad} is only for mode='constant'")
        limit = size - 1 if mode == "reflect" else size
        if max(before, after) > limit or size == 0:
            raise ValueError(f"{what}: {mode} padding ({before}, {after}) must be less than the "
                             f"padded dim's size {size} (input {tuple(input.shape)})")
        if before or after:
            idx = _core._tensor(_positions(size, before, after, mode), dtype=_core.int64,
                               device=out.device)
            out = out.take(idx, axis=axis)
    return out


def _pad_constant(x, axis, before, after, value):
    size = x.shape[axis]
    if before + size + after < 0 or -before > size or -after > size:
        raise ValueError(f"pad: cropping ({before}, {after}) is more than dim {axis}'s size {size}")
    if before < 0 or after < 0:
        index = [slice(None)] * x.ndim
        index[axis] = slice(max(-before, 0), size - max(-after, 0))
        x = x[tuple(index)]
        before, after = max(before, 0), max(after, 0)
    parts = []
    for amount in (before, after):
        shape = list(x.shape)
        shape[axis] = amount
        parts.append(_core.full(tuple(shape), value, dtype=x.dtype, device=x.device)
                     if amount else None)
    blocks = [b for b in (parts[0], x, parts[1]) if b is not None]
    return blocks[0] if len(blocks) == 1 else _core.concat(blocks, axis=axis)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resizes the spatial dims of (N, C, L) or (N, C, H, W) inputs. Modes "nearest"
    (source = floor(dst * in / out), PyTorch's legacy rule) and "nearest-exact"
    (source = floor((dst + 0.5) * in / out))."""
    what = "interpolate"
    if mode not in ("nearest", "nearest-exact"):
        raise ValueError(f"{what}: mode {mode!r} is not supported; ferrograd has 'nearest' "
                         f"and 'nearest-exact'")
    if align_corners is not None:
        raise ValueError(f"{what}: align_corners is only for the linear modes")
    if antialias:
        raise ValueError(f"{what}: antialias is only for the linear modes")
    if not isinstance(input, _core.Tensor) or input.ndim not in (3, 4):
        raise ValueError(f"{what}: expected a 3-d (N, C, L) or 4-d (N, C, H, W) tensor")
    spatial = input.shape[2:]
    nd = len(spatial)
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{what}: give exactly one of size and scale_factor")
    if size is not None:
        outs = tuple(size) if isinstance(size, (list, tuple)) else (size,) * nd
        scales = [i / o if o else 0.0 for i, o in zip(spatial, outs)]
    else:
        factors = (tuple(scale_factor) if isinstance(scale_factor, (list, tuple))
                   else (scale_factor,) * nd)
        if len(factors) != nd or any(f <= 0 for f in factors):
            raise ValueError(f"{what}: scale_factor must be positive, one per spatial dim")
        outs = tuple(int(math.floor(i * f)) for i, f in zip(spatial, factors))
        scales = ([i / o if o else 0.0 for i, o in zip(spatial, outs)] if recompute_scale_factor
                  else [1.0 / f for f in factors])
    if len(outs) != nd or any(isinstance(o, bool) or not isinstance(o, int) or o <= 0
                              for o in outs):
        raise ValueError(f"{what}: the output size must be positive ints, got {outs!r}")
    out = input
    for d, (i, o, s) in enumerate(zip(spatial, outs, scales)):
        shift = 0.5 if mode == "nearest-exact" else 0.0
        src = [min(int(math.floor((j + shift) * s)), i - 1) for j in range(o)]
        if src != list(range(i)):
            idx = _core._tensor(src, dtype=_core.int64, device=input.device)
            out = out.take(idx, axis=2 + d)
    return out
