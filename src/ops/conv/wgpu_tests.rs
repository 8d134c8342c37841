//! The wgpu convolution and max pooling against the CPU kernels: stride, padding,
//! dilation, groups (depthwise too), 1x1, odd sizes, batches of 1 and of many weight
//! gradient parts, the special values of max pooling, and the recorded backward.
//! Skipped without an adapter.

use super::{conv_shape, ConvKernels, ConvParams, PoolShape, Window};
use crate::backend::{Cpu, Wgpu};
use crate::device::Device;
use crate::tensor::Tensor;

/// Deterministic values in about [-1, 1], different for each `seed`.
fn values(len: usize, seed: usize) -> Vec<f32> {
    (0..len)
        .map(|i| (((i * 7919 + seed * 104_729) % 2003) as f32 / 1001.0) - 1.0)
        .collect()
}

fn cpu(shape: &[usize], seed: usize) -> Tensor {
    Tensor::from_vec(values(shape.iter().product(), seed), shape).unwrap()
}

fn gpu(t: &Tensor) -> Tensor {
    t.to_device(Device::Wgpu).unwrap()
}

/// Equal within float32 rounding of sums of `terms` products of values in [-1, 1].
fn close(what: &str, got: &Tensor, want: &Tensor, terms: usize) {
    assert_eq!(got.device(), Device::Wgpu, "{what}");
    assert_eq!(got.shape(), want.shape(), "{what}");
    let (g, w) = (got.to_vec::<f32>().unwrap(), want.to_vec::<f32>().unwrap());
    let tol = 1e-6 * (terms as f32).max(1.0) + 1e-6;
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        assert!(
            (a - b).abs() <= tol * (1.0 + b.abs()),
            "{what}: element {i}: wgpu {a}, cpu {b}"
        );
    }
}

fn params(stride: usize, padding: usize, dilation: usize, groups: usize) -> ConvParams {
    ConvParams {
        stride: (stride, stride),
        padding: (padding, padding),
        dilation: (dilation, dilation),
        groups,
    }
}

/// All three convolution kernels on both backends for x (n, c, h, w) and weight
/// (o, c / groups, kh, kw).
fn check_conv(x_shape: [usize; 4], w_shape: [usize; 4], p: ConvParams) {
    let (x, w) = (cpu(&x_shape, 1), cpu(&w_shape, 2));
    let s = conv_shape("test", &x, &w, p).unwrap();
    let what = format!("x {x_shape:?} w {w_shape:?} {p:?}");
    let y = Cpu.conv2d(&x, &w, &s).unwrap();
    close(
        &format!("conv2d {what}"),
        &Wgpu.conv2d(&gpu(&x), &gpu(&w), &s).unwrap(),
        &y,
        s.patch(),
    );
    let gy = cpu(&s.y_shape(), 3);
    close(
        &format!("input grad {what}"),
        &Wgpu.conv2d_input_grad(&gpu(&gy), &gpu(&w), &s).unwrap(),
        &Cpu.conv2d_input_grad(&gy, &w, &s).unwrap(),
        s.og() * s.win.kh * s.win.kw,
    );
    close(
        &format!("weight grad {what}"),
        &Wgpu.conv2d_weight_grad(&gpu(&x), &gpu(&gy), &s).unwrap(),
        &Cpu.conv2d_weight_grad(&x, &gy, &s).unwrap(),
        s.n * s.oh * s.ow,
    );
}

#[test]
fn conv_kernels_match_the_cpu_over_strides_padding_dilation() {
    if !crate::device::wgpu::is_available() {
        return;
    }
    check_conv([2, 3, 9, 11], [5, 3, 3, 3], params(1, 0, 1, 1));
    check_conv([2, 3, 9, 11], [5, 3, 3, 3], params(2, 1, 1, 1));
    check_conv([1, 4, 13, 10], [6, 4, 3, 2], params(3, 2, 2, 1));
    check_conv([3, 2, 7, 7], [4, 2, 5, 5], params(1, 2, 1, 1));
    // Asymmetric stride, padding and dilation.
    let p = ConvParams {
        stride: (2, 1),
        padding: (0, 3),
        dilation: (1, 2),
        groups: 1,
    };
    check_conv([2, 3, 10, 6], [4, 3, 3, 3], p);
}

#[test]
fn conv_kernels_match_the_cpu_with_groups_depthwise_and_1x1() {
    if !crate::device::wgpu::is_available() {
        return;
    }
    check_conv([2, 6, 8, 9], [4, 3, 3, 3], params(1, 1, 1, 2));
    check_conv([2, 6, 8, 9], [9, 2, 3, 3], params(2, 1, 1, 3));
    // Depthwise, with a channel multiplier of 2.
    check_conv([3, 5, 9, 9], [5, 1, 3, 3], params(1, 1, 1, 5));
    check_conv([3, 5, 9, 9], [10, 1, 3, 3], params(2, 1, 2, 5));
    // 1x1, plain and strided.
    check_conv([2, 7, 5, 5], [3, 7, 1, 1], params(1, 0, 1, 1));
    check_conv([2, 7, 5, 5], [3, 7, 1, 1], params(2, 0, 1, 1));
}

#[test]
fn conv_kernels_match_the_cpu_on_the_tiled_core_past_one_tile() {
    if !crate::device::wgpu::is_available() {
        return;
    }
    // At least 16 rows, so every kernel runs on the tiled core (the thin shapes above
    // run on the direct one). 70 output channels and 10x10 = 100 pixels: two tiles each
    // way, 72 patch rows; then 70 input channels (the input gradient's rows).
    check_conv([2, 8, 10, 10], [70, 8, 3, 3], params(1, 1, 1, 1));
    check_conv([2, 70, 10, 10], [20, 70, 3, 3], params(1, 1, 1, 1));
    check_conv([2, 20, 7, 7], [24, 20, 3, 3], params(2, 1, 1, 1));
    check_conv([2, 36, 6, 6], [36, 18, 3, 3], params(1, 1, 2, 2));
}

#[test]
fn weight_grad_splits_a_large_batch_and_repeats_bitwise() {
    if !crate::device::wgpu::is_available() {
        return;
    }
    // 40 samples, little work per part: the batch splits into many parts, the last
    // short. 8 output channels run on the direct core, 16 on the tiled one.
    for o in [8, 16] {
        weight_grad_parts_repeat([40, 4, 6, 6], [o, 4, 3, 3]);
    }
}

fn weight_grad_parts_repeat(xs: [usize; 4], ws: [usize; 4]) {
    let s = conv_shape("test", &cpu(&xs, 1), &cpu(&ws, 2), params(1, 1, 1, 1)).unwrap();
    let (parts, spp) = super::wgpu::weight_grad_parts(&s);
    assert!(parts > 1 && parts * spp >= s.n && (parts - 1) * spp < s.n);
    check_conv(xs, ws, params(1, 1, 1, 1));
    let (x, gy) = (gpu(&cpu(&xs, 4)), gpu(&cpu(&s.y_shape(), 5)));
    let first = Wgpu.conv2d_weight_grad(&x, &gy, &s).unwrap();
    let first = first.to_vec::<f32>().unwrap();
    for _ in 0..3 {
        let again = Wgpu.conv2d_weight_grad(&x, &gy, &s).unwrap();
        let again = again.to_vec::<f32>().unwrap();
        assert!(first
            .iter()
            .zip(&again)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}

#[test]
fn conv_reads_operands_at_an_offset() {
    if !crate::device::wgpu::is_available() {
        return;
    }
    // Contiguous views that start inside their buffers.
    let big_x = gpu(&cpu(&[3, 3, 7, 7], 1));
    let big_w = gpu(&cpu(&[6, 3, 3, 3], 2));
    let (x, w) = (
        big_x.slice(0, Some(1), Some(3), 1).unwrap(),
        big_w.slice(0, Some(2), Some(6), 1).unwrap(),
    );
    assert!(x.offset() > 0 && x.is_contiguous() && w.offset() > 0);
    let s = conv_shape("test", &x, &w, params(1, 1, 1, 1)).unwrap();
    let (xc, wc) = (
        x.to_device(Device::Cpu).unwrap(),
        w.to_device(Device::Cpu).unwrap(),
    );
    close(
        "conv2d at offsets",
        &Wgpu.conv2d(&x, &w, &s).unwrap(),
        &Cpu.conv2d(&xc, &wc, &s).unwrap(),
        s.patch(),
    );
    let gy = gpu(&cpu(&[3, 4, 7, 7], 3))
        .slice(0, Some(1), Some(3), 1)
        .unwrap();
    let gyc = gy.to_device(Device::Cpu).unwrap();
    close(
        "input grad at offsets",
        &Wgpu.conv2d_input_grad(&gy, &w, &s).unwrap(),
        &Cpu.conv2d_input_grad(&gyc, &wc, &s).unwrap(),
        s.og() * 9,
    );
    close(
        "weight grad at offsets",
        &Wgpu.conv2d_weight_grad(&x, &gy, &s).unwrap(),
        &Cpu.conv2d_weight_grad(&xc, &gyc, &s).unwrap(),
        s.n * 49,
    );
}

fn pool_shape(
    xs: [usize; 4],
    k: usize,
    st: usize,
    pad: usize,
    dil: usize,
    ceil: bool,
) -> PoolShape {
    let win = Window::new((k, k), (st, st), (pad, pad), (dil, dil));
    let (oh, ow) = win.out_size((xs[2], xs[3]), ceil);
    PoolShape {
        n: xs[0],
        c: xs[1],
        h: xs[2],
        w: xs[3],
        win,
        oh,
        ow,
    }
}

/// Max pooling's forward (values and positions exactly) and backward (bitwise: both sum
/// each cell's gradients in output order) on both backends.
fn check_pool(x: &Tensor, s: &PoolShape) {
    let (y, idx) = Cpu.max_pool2d(x, s).unwrap();
    let (gy_, gidx) = Wgpu.max_pool2d(&gpu(x), s).unwrap();
    assert_eq!(gy_.shape(), y.shape());
    let (a, b) = (gy_.to_vec::<f32>().unwrap(), y.to_vec::<f32>().unwrap());
    for (i, (u, v)) in a.iter().zip(&b).enumerate() {
        assert!(
            u.to_bits() == v.to_bits() || (u.is_nan() && v.is_nan()),
            "{s:?} y[{i}]: {u} vs {v}"
        );
    }
    assert_eq!(
        gidx.to_vec::<i64>().unwrap(),
        idx.to_vec::<i64>().unwrap(),
        "{s:?}"
    );
    let g = cpu(&s.y_shape(), 9);
    let want = Cpu.max_pool2d_backward(&g, &idx, s).unwrap();
    let got = Wgpu.max_pool2d_backward(&gpu(&g), &gidx, s).unwrap();
    let (a, b) = (got.to_vec::<f32>().unwrap(), want.to_vec::<f32>().unwrap());
    assert!(
        a.iter().zip(&b).all(|(u, v)| u.to_bits() == v.to_bits()),
        "{s:?}"
    );
}

#[test]
fn max_pool_matches_the_cpu() {
    if !crate::device::wgpu::is_available() {
        return;
    }
    let xs = [2, 3, 9, 8];
    let x = cpu(&xs, 1);
    for (k, st, pad, dil, ceil) in [
        (2, 2, 0, 1, false),
        (3, 2, 1, 1, false),
        (3, 2, 1, 1, true),
        (2, 2, 0, 1, true),
        (3, 1, 1, 2, false),
        (3, 3, 1, 2, true),
        // Overlapping windows: one cell can be the maximum of several.
        (3, 1, 0, 1, false),
    ] {
        check_pool(&x, &pool_shape(xs, k, st, pad, dil, ceil));
    }
}

#[test]
fn max_pool_special_values_match_the_cpu() {
    if !crate::device::wgpu::is_available() {
        return;
    }
    let (inf, nan) = (f32::INFINITY, f32::NAN);
    // A NaN (it wins, and a later NaN takes the position), an all -inf window (the
    // position is the first cell), +inf, and ties (the first maximum wins).
    let v = vec![
        1.0, nan, 2.0, nan, //
        -inf, -inf, 5.0, 5.0, //
        -inf, -inf, inf, 3.0, //
        7.0, 7.0, 7.0, 7.0,
    ];
    let x = Tensor::from_vec(v, &[1, 1, 4, 4]).unwrap();
    check_pool(&x, &pool_shape([1, 1, 4, 4], 2, 2, 0, 1, false));
    check_pool(&x, &pool_shape([1, 1, 4, 4], 2, 1, 1, 1, true));
    check_pool(&x, &pool_shape([1, 1, 4, 4], 3, 2, 1, 1, false));
}

#[test]
fn max_pool_backward_ignores_corrupted_positions() {
    if !crate::device::wgpu::is_available() {
        return;
    }
    let s = pool_shape([1, 1, 4, 4], 2, 2, 0, 1, false);
    let g = gpu(&Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[1, 1, 2, 2]).unwrap());
    // Output 0 points at cell 5, inside its window; the others are corrupted: negative,
    // outside the plane, and a cell (0) outside the window of output 3. None of them
    // writes anywhere (the CPU kernel rejects such positions instead; a GPU kernel
    // cannot report without a host read).
    let idx = gpu(&Tensor::from_vec(vec![5i64, -1, i32::MAX as i64, 0], &[1, 1, 2, 2]).unwrap());
    let dx = Wgpu.max_pool2d_backward(&g, &idx, &s).unwrap();
    let mut want = vec![0.0f32; 16];
    want[5] = 1.0;
    assert_eq!(dx.to_vec::<f32>().unwrap(), want);
}

#[test]
fn recorded_conv_and_pool_backward_run_on_wgpu() {
    if !crate::device::wgpu::is_available() {
        return;
    }
    // y = max_pool(conv(x, w)); the gradients of x and w on wgpu against the CPU's.
    let run = |dev: Device| -> (Tensor, Tensor) {
        let x = cpu(&[2, 3, 8, 8], 1).to_device(dev).unwrap();
        let w = cpu(&[4, 3, 3, 3], 2).to_device(dev).unwrap();
        x.set_requires_grad(true).unwrap();
        w.set_requires_grad(true).unwrap();
        let y = x.conv2d(&w, params(1, 1, 1, 1)).unwrap();
        let (p, _) = y.max_pool2d((2, 2), (2, 2), (0, 0), (1, 1), false).unwrap();
        let g = cpu(&[2, 4, 4, 4], 3).to_device(dev).unwrap();
        p.mul(&g)
            .unwrap()
            .sum(None, false)
            .unwrap()
            .backward()
            .unwrap();
        (x.grad().unwrap(), w.grad().unwrap())
    };
    let (gx, gw) = run(Device::Wgpu);
    let (cx, cw) = run(Device::Cpu);
    close("recorded dx", &gx, &cx, 36);
    close("recorded dw", &gw, &cw, 128);
}

#[test]
fn thin_and_wide_gemms_take_the_two_cores() {
    // The shapes of the tests above reach both cores in every kernel.
    use super::wgpu::Core;
    assert_eq!(Core::for_rows(1), Core::Direct);
    assert_eq!(Core::for_rows(15), Core::Direct);
    assert_eq!(Core::for_rows(16), Core::Tiled);
    assert_eq!(Core::for_rows(70), Core::Tiled);
}
