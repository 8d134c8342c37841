//! The wgpu softmax against the CPU's: rows longer than a workgroup, along a strided
//! axis, and the special values. Skipped without an adapter.

use crate::device::Device;
use crate::tensor::Tensor;

fn close(got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let ok = (g.is_nan() && w.is_nan()) || g == w || (g - w).abs() <= 1e-5 * (1.0 + w.abs());
        assert!(ok, "element {i}: wgpu {g}, cpu {w}");
    }
}

fn both(x: &Tensor, axis: isize, log: bool) {
    let g = x.to_device(Device::Wgpu).unwrap();
    let f = |t: &Tensor| {
        if log {
            t.log_softmax(axis)
        } else {
            t.softmax(axis)
        }
    };
    let got = f(&g).unwrap();
    assert_eq!(got.device(), Device::Wgpu);
    close(
        &got.to_vec::<f32>().unwrap(),
        &f(x).unwrap().to_vec::<f32>().unwrap(),
    );
}

#[test]
fn softmax_of_long_strided_rows_matches_the_cpu() {
    if !crate::device::wgpu::is_available() {
        return;
    }
    // Rows of 1000 along axis 0 of a (1000, 3) tensor: strided, longer than 256 threads.
    let v: Vec<f32> = (0..3000)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
        .collect();
    let x = Tensor::from_vec(v, &[1000, 3]).unwrap();
    for log in [false, true] {
        both(&x, 0, log);
        both(&x.transpose(0, 1).unwrap(), -1, log);
    }
}

#[test]
fn softmax_special_values_match_the_cpu() {
    if !crate::device::wgpu::is_available() {
        return;
    }
    let (inf, nan) = (f32::INFINITY, f32::NAN);
    // A masked logit (-inf next to finite ones), a +inf row, a NaN row, an all -inf row.
    let v = vec![
        1.0, -inf, 2.0, 0.5, //
        1.0, inf, 2.0, 0.5, //
        nan, 1.0, 2.0, 0.5, //
        -inf, -inf, -inf, -inf,
    ];
    let x = Tensor::from_vec(v, &[4, 4]).unwrap();
    for log in [false, true] {
        both(&x, -1, log);
    }
}
