//! One error type for the whole crate. The Python bindings map each variant to the
//! Python exception a NumPy/PyTorch user expects (see `python/errors.rs`).

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// Shapes that do not fit together (broadcasting, matmul, reshape, concat). -> ValueError
    Shape(String),
    /// A bad value or argument (an axis out of range, a negative size, ...). -> ValueError
    Value(String),
    /// A dtype an operation does not support. -> TypeError
    DType(String),
    /// An index out of range. -> IndexError
    Index(String),
    /// An axis out of range. -> ferrograd.AxisError (a ValueError and an IndexError, as NumPy's)
    Axis(String),
    /// A device problem: no adapter, a dtype the device cannot hold, mixed devices. -> RuntimeError
    Device(String),
    /// Anything else that is the program's state rather than the caller's input. -> RuntimeError
    Runtime(String),
    /// An allocation the system refused, or a size too large to allocate. -> MemoryError
    Memory(String),
    /// A linear-algebra failure: a singular matrix, one that is not positive-definite,
    /// not square. -> ferrograd.linalg.LinAlgError (a ValueError, as NumPy's)
    LinAlg(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Shape(m)
            | Error::Value(m)
            | Error::DType(m)
            | Error::Index(m)
            | Error::Axis(m)
            | Error::Device(m)
            | Error::Runtime(m)
            | Error::Memory(m)
            | Error::LinAlg(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

/// `bail!(Shape, "...", args)` returns early with the given variant.
#[macro_export]
macro_rules! bail {
    ($kind:ident, $($arg:tt)*) => {
        return Err($crate::Error::$kind(format!($($arg)*)))
    };
}
