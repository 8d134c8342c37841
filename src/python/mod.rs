//! PyO3 bindings: the `ferrograd._core` extension module. Only argument parsing, error
//! mapping and wrapping live here; all the math is in the crate.

mod conv;
mod convert;
mod custom_function;
mod dtype;
mod errors;
mod functions;
mod interop;
mod io;
mod linalg;
mod losses;
mod memory;
mod nn_ops;
mod optim;
mod tensor;

use pyo3::prelude::*;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    use functions::*;
    let py = m.py();
    m.add_class::<tensor::PyTensor>()?;
    m.add_class::<dtype::PyDType>()?;
    m.add_class::<PyDevice>()?;
    for dt in crate::DType::ALL {
        m.add(dt.name(), dtype::dtype_object(py, dt)?)?;
    }
    m.add("AxisError", errors::axis_error_type(py)?)?;
    m.add("InternalError", errors::internal_error_type(py)?)?;
    m.add_function(wrap_pyfunction!(errors::_internal_error_count, m)?)?;
    m.add_function(wrap_pyfunction!(errors::_panic_for_testing, m)?)?;
    m.add_function(wrap_pyfunction!(_tensor, m)?)?;
    m.add_function(wrap_pyfunction!(tensor::_op_names, m)?)?;
    m.add_function(wrap_pyfunction!(from_numpy, m)?)?;
    m.add_function(wrap_pyfunction!(from_dlpack, m)?)?;
    m.add_function(wrap_pyfunction!(full, m)?)?;
    m.add_function(wrap_pyfunction!(zeros, m)?)?;
    m.add_function(wrap_pyfunction!(ones, m)?)?;
    m.add_function(wrap_pyfunction!(empty, m)?)?;
    m.add_function(wrap_pyfunction!(arange, m)?)?;
    m.add_function(wrap_pyfunction!(linspace, m)?)?;
    m.add_function(wrap_pyfunction!(eye, m)?)?;
    m.add_function(wrap_pyfunction!(rand, m)?)?;
    m.add_function(wrap_pyfunction!(randn, m)?)?;
    m.add_function(wrap_pyfunction!(randint, m)?)?;
    m.add_function(wrap_pyfunction!(concat, m)?)?;
    m.add_function(wrap_pyfunction!(stack, m)?)?;
    m.add_function(wrap_pyfunction!(where_, m)?)?;
    m.add_function(wrap_pyfunction!(split, m)?)?;
    m.add_function(wrap_pyfunction!(one_hot, m)?)?;
    m.add_function(wrap_pyfunction!(take_along_axis, m)?)?;
    m.add_function(wrap_pyfunction!(manual_seed, m)?)?;
    m.add_function(wrap_pyfunction!(_grad, m)?)?;
    m.add_function(wrap_pyfunction!(_set_grad_enabled, m)?)?;
    m.add_function(wrap_pyfunction!(_is_grad_enabled, m)?)?;
    m.add_function(wrap_pyfunction!(initial_seed, m)?)?;
    m.add_function(wrap_pyfunction!(set_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(get_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(get_cpu_capability, m)?)?;
    m.add_function(wrap_pyfunction!(wgpu_is_available, m)?)?;
    m.add_function(wrap_pyfunction!(wgpu_adapter_name, m)?)?;
    memory::register(m)?;
    io::register(m)?;
    nn_ops::register(m)?;
    conv::register(m)?;
    losses::register(m)?;
    optim::register(m)?;
    custom_function::register(m)?;
    linalg::register(m)?;
    Ok(())
}
