//! Conversions between tensors and `ndarray` arrays (feature `ndarray`): round trips per
//! dtype, non-standard layouts in both directions, zero-copy proofs, and the errors.
#![cfg(feature = "ndarray")]

use ferrograd::ndarray::{self, arr0, s, Array, Array2, ArrayD, Axis, IxDyn};
use ferrograd::{DType, Device, Element, Error, Tensor, TensorIndex};

/// Address of the first logical element of a CPU tensor.
fn data_ptr<T: Element>(t: &Tensor) -> *const T {
    let base = t.storage().cpu().unwrap().as_ptr() as *const T;
    base.wrapping_add(t.offset())
}

fn arange_f32(shape: &[usize]) -> ArrayD<f32> {
    let n = shape.iter().product::<usize>();
    ArrayD::from_shape_vec(IxDyn(shape), (0..n).map(|i| i as f32).collect()).unwrap()
}

/// Array -> tensor -> (row-major values, copy back, view back), all equal to the array.
fn round_trip<T: Element>(a: ArrayD<T>) {
    let want: Vec<T> = a.iter().copied().collect();
    let t = Tensor::from(a.clone());
    assert_eq!(t.dtype(), T::DTYPE);
    assert_eq!(t.shape(), a.shape());
    assert_eq!(t.to_vec::<T>().unwrap(), want);
    assert_eq!(t.to_ndarray::<T>().unwrap(), a);
    assert_eq!(t.as_ndarray_view::<T>().unwrap(), a.view());
}

#[test]
fn round_trips_for_every_dtype() {
    round_trip(arange_f32(&[2, 3, 4]).mapv(|v| v * 0.5 - 3.0));
    round_trip(ArrayD::from_shape_fn(IxDyn(&[3, 5]), |i| {
        (i[0] as f64).powi(3) - i[1] as f64 * 1e-3
    }));
    round_trip(ArrayD::from_shape_fn(IxDyn(&[4, 2]), |i| {
        i64::MAX - (i[0] * 2 + i[1]) as i64 * 1_000_000_007
    }));
    round_trip(ArrayD::from_shape_fn(IxDyn(&[2, 2, 3]), |i| {
        (i[0] + i[1] * i[2]) % 3 == 0
    }));
}

#[test]
fn from_array_takes_over_the_buffer() {
    let a = arange_f32(&[3, 4]);
    let ptr = a.as_ptr();
    let t = Tensor::from(a);
    assert_eq!(data_ptr::<f32>(&t), ptr, "the Vec's buffer was copied");
    assert!(t.is_contiguous());
    // A view outlives the tensor it came from: the storage owns the Vec.
    let col = t.select(1, 2).unwrap();
    drop(t);
    assert_eq!(col.to_vec::<f32>().unwrap(), vec![2.0, 6.0, 10.0]);
    // Writes through the tensor land in the adopted buffer.
    col.index_put(&[TensorIndex::Int(1)], &Tensor::scalar(-1.0f32))
        .unwrap();
    assert_eq!(col.to_vec::<f32>().unwrap(), vec![2.0, -1.0, 10.0]);
}

#[test]
fn from_array_keeps_non_standard_layouts_without_copying() {
    // Column-major (transposed) owned array.
    let a = Array2::from_shape_fn((2, 3), |(i, j)| (10 * i + j) as f64).reversed_axes();
    let (ptr, want) = (a.as_ptr(), a.iter().copied().collect::<Vec<_>>());
    let t = Tensor::from(a);
    assert_eq!(t.shape(), &[3, 2]);
    assert_eq!(t.strides(), &[1, 3]);
    assert!(!t.is_contiguous());
    assert_eq!(data_ptr::<f64>(&t), ptr);
    assert_eq!(t.to_vec::<f64>().unwrap(), want);

    // An inverted axis: negative stride, first element at the end of the Vec.
    let mut b = Array::from_shape_vec((3, 2), vec![1i64, 2, 3, 4, 5, 6]).unwrap();
    b.invert_axis(Axis(0));
    let ptr = b.as_ptr();
    let t = Tensor::from(b);
    assert_eq!(t.strides(), &[-2, 1]);
    assert_eq!(data_ptr::<i64>(&t), ptr);
    assert_eq!(t.to_vec::<i64>().unwrap(), vec![5, 6, 3, 4, 1, 2]);

    // A sliced owned array: an offset into the Vec and a step.
    let c = arange_f32(&[4, 6]).slice_move(s![1.., 1..;2]);
    let (ptr, want) = (c.as_ptr(), c.iter().copied().collect::<Vec<_>>());
    let t = Tensor::from(c);
    assert_eq!(t.shape(), &[3, 3]);
    assert_eq!(t.offset(), 7);
    assert_eq!(data_ptr::<f32>(&t), ptr);
    assert_eq!(t.to_vec::<f32>().unwrap(), want);
    // And ops on it compute from the strided layout.
    assert_eq!(
        t.sum(None, false).unwrap().item().unwrap(),
        want.iter().sum::<f32>() as f64
    );
}

/// A tensor view and the same transformation done by ndarray on the same data agree,
/// element for element and in strides; the view aliases the tensor's memory.
fn check_view(t: &Tensor, want: ndarray::ArrayViewD<'_, f32>) {
    let v = t.as_ndarray_view::<f32>().unwrap();
    assert_eq!(v, want);
    assert_eq!(v.strides(), t.strides());
    assert_eq!(v.as_ptr(), data_ptr::<f32>(t));
    assert_eq!(t.to_ndarray::<f32>().unwrap(), want);
    assert!(t.to_ndarray::<f32>().unwrap().is_standard_layout());
}

#[test]
fn views_of_non_contiguous_tensors() {
    let a = arange_f32(&[3, 4]);
    let t = Tensor::from(a.clone());
    check_view(&t.t(), a.t().into_dyn());
    check_view(
        &t.slice(1, Some(3), None, -2).unwrap(),
        a.slice(s![.., ..;-2]).into_dyn(),
    );
    check_view(&t.flip(None).unwrap(), a.slice(s![..;-1, ..;-1]).into_dyn());
    let row = Tensor::from(arange_f32(&[4]));
    check_view(
        &row.broadcast_to(&[3, 4]).unwrap(),
        a.index_axis(Axis(0), 0).broadcast(IxDyn(&[3, 4])).unwrap(),
    );
    assert_eq!(
        row.broadcast_to(&[3, 4])
            .unwrap()
            .as_ndarray_view::<f32>()
            .unwrap()
            .strides(),
        &[0, 1]
    );
    let three = Tensor::from(arange_f32(&[2, 3, 4]));
    let want = arange_f32(&[2, 3, 4]);
    check_view(
        &three.permute(&[2, 0, 1]).unwrap().select(2, 1).unwrap(),
        want.view()
            .permuted_axes(vec![2, 0, 1])
            .index_axis_move(Axis(2), 1),
    );
}

#[test]
fn a_write_through_the_tensor_is_seen_in_the_view() {
    let t = Tensor::from(arange_f32(&[2, 3]));
    let tt = t.t();
    let view = tt.as_ndarray_view::<f32>().unwrap();
    assert_eq!(view[[2, 1]], 5.0);
    t.index_put(
        &[TensorIndex::Int(1), TensorIndex::Int(2)],
        &Tensor::scalar(42.0f32),
    )
    .unwrap();
    assert_eq!(view[[2, 1]], 42.0);
    assert_eq!(view.as_ptr(), data_ptr::<f32>(&t));
}

#[test]
fn dtype_mismatches_are_errors() {
    let f = Tensor::from(arange_f32(&[2, 2]));
    assert!(matches!(f.to_ndarray::<f64>(), Err(Error::DType(_))));
    assert!(matches!(f.as_ndarray_view::<i64>(), Err(Error::DType(_))));
    let b = Tensor::from_vec(vec![true, false], &[2]).unwrap();
    let err = b.to_ndarray::<i64>().unwrap_err();
    assert!(matches!(err, Error::DType(_)));
    assert!(err.to_string().contains("bool"), "{err}");
    assert!(matches!(b.as_ndarray_view::<f32>(), Err(Error::DType(_))));
    // After an explicit cast the same conversion works.
    let i = b.astype(DType::I64).unwrap().to_ndarray::<i64>().unwrap();
    assert_eq!(i.as_slice().unwrap(), &[1, 0]);
}

#[test]
fn zero_dimensional_arrays() {
    let t = Tensor::from(arr0(2.5f64));
    assert_eq!(t.shape(), &[] as &[usize]);
    assert_eq!(t.item().unwrap(), 2.5);
    let back = t.to_ndarray::<f64>().unwrap();
    assert_eq!(back.ndim(), 0);
    assert_eq!(back[IxDyn(&[])], 2.5);
    let s = Tensor::scalar(7i64);
    let v = s.as_ndarray_view::<i64>().unwrap();
    assert_eq!((v.ndim(), v[IxDyn(&[])]), (0, 7));
    // A 0-d view picked out of a larger tensor points at its element.
    let m = Tensor::from(arange_f32(&[2, 3]));
    let e = m.select(0, 1).unwrap().select(0, 2).unwrap();
    let v = e.as_ndarray_view::<f32>().unwrap();
    assert_eq!(v[IxDyn(&[])], 5.0);
    assert_eq!(v.as_ptr(), data_ptr::<f32>(&e));
}

#[test]
fn empty_arrays() {
    for shape in [&[0][..], &[0, 3], &[2, 0, 4]] {
        let t = Tensor::from(ArrayD::<f32>::zeros(IxDyn(shape)));
        assert_eq!(t.shape(), shape);
        assert_eq!(t.numel(), 0);
        assert_eq!(t.to_ndarray::<f32>().unwrap().shape(), shape);
        assert_eq!(t.as_ndarray_view::<f32>().unwrap().shape(), shape);
    }
    // An owned array sliced down to nothing, and an empty slice of a full tensor.
    let a = arange_f32(&[3, 2]).slice_move(s![3.., ..]);
    assert_eq!(Tensor::from(a).shape(), &[0, 2]);
    let t = Tensor::from(arange_f32(&[3, 2]));
    let e = t.slice(0, Some(3), None, 1).unwrap();
    assert_eq!(e.as_ndarray_view::<f32>().unwrap().shape(), &[0, 2]);
    assert_eq!(e.to_ndarray::<f32>().unwrap().len(), 0);
}

#[test]
fn gpu_tensors_copy_back_but_do_not_view() {
    if Device::Wgpu.check_available().is_err() {
        return; // no wgpu adapter on this machine (CI installs lavapipe)
    }
    let a = arange_f32(&[3, 4]);
    let g = Tensor::from(a.clone()).to_device(Device::Wgpu).unwrap();
    assert_eq!(g.to_ndarray::<f32>().unwrap(), a);
    assert_eq!(g.t().to_ndarray::<f32>().unwrap(), a.t().into_dyn());
    let err = g.as_ndarray_view::<f32>().unwrap_err();
    assert!(matches!(err, Error::Device(_)), "{err:?}");
    assert!(matches!(g.to_ndarray::<f64>(), Err(Error::DType(_))));
}
