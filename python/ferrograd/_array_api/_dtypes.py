"""Data type functions of the Array API: ``result_type``, ``can_cast``, ``isdtype``,
``finfo`` and ``iinfo``.

The promotion rules are the standard's table, with PyTorch's answers where the standard
is silent: bool promotes to any other dtype, an integer with a floating dtype gives that
floating dtype, float16 with bfloat16 gives float32, and int64 with uint64 gives float64
(as NumPy). Python scalars are "weak": they only matter when their kind is higher than
the arrays' (an int scalar turns bool into the default integer dtype, a float scalar
turns integers into the default floating dtype, a complex scalar makes the result
complex). Every dtype is looked up by name, so the functions cover whichever dtypes
this build of ferrograd exposes.
"""

import builtins
import math
from collections import namedtuple

from .. import _core

Tensor = _core.Tensor

# name -> (kind, bits). Kinds are the standard's atomic kinds.
_DTYPE_INFO = {
    "bool": ("bool", 8),
    "int8": ("signed integer", 8),
    "int16": ("signed integer", 16),
    "int32": ("signed integer", 32),
    "int64": ("signed integer", 64),
    "uint8": ("unsigned integer", 8),
    "uint16": ("unsigned integer", 16),
    "uint32": ("unsigned integer", 32),
    "uint64": ("unsigned integer", 64),
    "float16": ("real floating", 16),
    "bfloat16": ("real floating", 16),
    "float32": ("real floating", 32),
    "float64": ("real floating", 64),
    "complex64": ("complex floating", 64),
    "complex128": ("complex floating", 128),
}

# The dtypes the standard names; float16/bfloat16 are ferrograd extensions, which
# isdtype counts as "real floating" but __array_namespace_info__().dtypes() leaves out.
STANDARD_NAMES = tuple(n for n in _DTYPE_INFO if n not in ("float16", "bfloat16"))

# The composite kinds, as unions of atomic kinds.
_KIND_UNIONS = {
    "bool": {"bool"},
    "signed integer": {"signed integer"},
    "unsigned integer": {"unsigned integer"},
    "integral": {"signed integer", "unsigned integer"},
    "real floating": {"real floating"},
    "complex floating": {"complex floating"},
    "numeric": {"signed integer", "unsigned integer", "real floating", "complex floating"},
}
KINDS = tuple(_KIND_UNIONS)


def dtype_of_name(name):
    """The ``fg.<name>`` dtype object, or None when this build lacks it."""
    import ferrograd  # the package re-exports the dtypes; imported late (it imports us)

    dt = getattr(ferrograd, name, None)
    return dt if isinstance(dt, _core.dtype) else None


def available_names():
    """The dtype names this build exposes as ``fg.<name>``, in the table's order."""
    return [n for n in _DTYPE_INFO if dtype_of_name(n) is not None]


def name_of(obj, what="dtype"):
    """The ferrograd dtype name of a dtype object or an array (NumPy dtypes and dtype
    names are accepted too, as ferrograd's dtypes compare equal to them)."""
    if isinstance(obj, Tensor):
        return obj.dtype.name
    if isinstance(obj, _core.dtype):
        return obj.name
    if isinstance(obj, (builtins.bool, int, float, complex)) or obj is None:
        raise TypeError(f"{what} must be a dtype or an array, not {type(obj).__name__}")
    for name in available_names():
        try:
            if dtype_of_name(name) == obj:
                return name
        except Exception:  # an object whose __eq__ refuses our dtype is not a dtype
            pass
    raise TypeError(f"{what} must be a ferrograd dtype or an array, not {obj!r}")


def kind_of(name):
    return _DTYPE_INFO[name][0]


def bits_of(name):
    return _DTYPE_INFO[name][1]


def _join_int(a, b):
    """Promotion of two integer dtypes (the standard's table; int64 with uint64 gives
    float64 as NumPy, since no integer dtype holds both ranges)."""
    ka, kb = kind_of(a), kind_of(b)
    if ka == kb:
        return a if bits_of(a) >= bits_of(b) else b
    signed, unsigned = (a, b) if ka == "signed integer" else (b, a)
    if bits_of(signed) > bits_of(unsigned):
        return signed
    wider = f"int{2 * bits_of(unsigned)}"
    return wider if wider in _DTYPE_INFO else "float64"


def _component_bits(name):
    """Bits of a floating dtype's real component (complex64 -> 32)."""
    return bits_of(name) // 2 if kind_of(name) == "complex floating" else bits_of(name)


def _join_float(a, b):
    """Promotion of two floating dtypes, real or complex."""
    if a == b:
        return a
    if "complex floating" in (kind_of(a), kind_of(b)):
        # No complex32: a complex result has at least float32 components.
        return "complex128" if builtins.max(_component_bits(a), _component_bits(b)) > 32 else "complex64"
    if {a, b} == {"float16", "bfloat16"}:
        return "float32"
    return a if bits_of(a) >= bits_of(b) else b


def promote_names(names):
    """The promoted dtype name of a non-empty sequence of dtype names. Independent of
    the order: integers (and bool) only count when no floating dtype is present."""
    floats = [n for n in names if kind_of(n) in ("real floating", "complex floating")]
    if floats:
        out = floats[0]
        for n in floats[1:]:
            out = _join_float(out, n)
        return out
    ints = [n for n in names if kind_of(n) != "bool"]
    if not ints:
        return "bool"
    out = ints[0]
    for n in ints[1:]:
        out = _join_int(out, n)
    return out


def _default_name(kind):
    """Ferrograd's default dtype of a kind: what ``fg.asarray`` makes of a Python
    scalar of that kind (PyTorch's defaults: int64, float32, complex64)."""
    return {"integral": "int64", "real floating": "float32", "complex floating": "complex64"}[kind]


def _with_scalar(name, scalar):
    """The promotion of a dtype with a weak Python scalar."""
    kind = kind_of(name)
    if isinstance(scalar, builtins.bool):
        return name
    if isinstance(scalar, int):
        return _default_name("integral") if kind == "bool" else name
    if isinstance(scalar, float):
        return _default_name("real floating") if kind in ("bool", "signed integer", "unsigned integer") else name
    # complex
    if kind == "complex floating":
        return name
    if kind == "real floating":
        return "complex128" if bits_of(name) > 32 else "complex64"
    return _default_name("complex floating")


def _checked(name):
    """The dtype object of ``name``, or a TypeError when this build lacks it."""
    dt = dtype_of_name(name)
    if dt is None:
        raise TypeError(f"the promoted dtype {name} is not available in this build of ferrograd")
    return dt


def result_type_name(*arrays_and_dtypes):
    strong, scalars = [], []
    for i, a in enumerate(arrays_and_dtypes):
        if isinstance(a, (builtins.bool, int, float, complex)):
            scalars.append(a)
        else:
            strong.append(name_of(a, f"result_type() argument {i}"))
    if not strong:
        raise ValueError("result_type() needs at least one array or dtype (Python scalars alone have no dtype)")
    out = promote_names(strong)
    for s in scalars:
        out = _with_scalar(out, s)
    return out


def result_type(*arrays_and_dtypes):
    """The dtype an operation on these arrays, dtypes and Python scalars returns."""
    return _checked(result_type_name(*arrays_and_dtypes))


def device_dtype_names(device):
    """The dtype names tensors on ``device`` can hold (see ``_info``)."""
    from ._info import supported_names

    return supported_names(device)


def can_cast(from_, to, /):
    """Whether ``from_`` (a dtype or an array) promotes to ``to`` under the promotion
    rules above: e.g. int8 -> int16 and int64 -> float32 are allowed, float32 -> int64
    and uint64 -> int64 are not. For an array, ``to`` must also exist on its device."""
    src = name_of(from_, "can_cast() argument 'from_'")
    if isinstance(to, Tensor):
        raise TypeError("can_cast() argument 'to' must be a dtype, not an array")
    dst = name_of(to, "can_cast() argument 'to'")
    if isinstance(from_, Tensor) and dst not in device_dtype_names(from_.device):
        return False
    return promote_names([src, dst]) == dst


def isdtype(dtype, kind):
    """Whether ``dtype`` is ``kind``: a dtype, a kind name ('bool', 'signed integer',
    'unsigned integer', 'integral', 'real floating', 'complex floating', 'numeric'), or
    a tuple of those. float16 and bfloat16 count as 'real floating'."""
    if isinstance(dtype, Tensor):
        raise TypeError("isdtype() takes a dtype, not an array (pass x.dtype)")
    name = name_of(dtype, "isdtype() argument 'dtype'")
    kinds = kind if isinstance(kind, tuple) else (kind,)
    for k in kinds:
        if isinstance(k, str):
            if k not in _KIND_UNIONS:
                raise ValueError(f"isdtype(): unknown kind {k!r}; expected a dtype or one of {', '.join(KINDS)}")
            if kind_of(name) in _KIND_UNIONS[k]:
                return True
        elif name_of(k, "isdtype() kind") == name:
            return True
    return False


finfo_object = namedtuple("finfo", ["bits", "eps", "max", "min", "smallest_normal", "dtype"])
iinfo_object = namedtuple("iinfo", ["bits", "max", "min", "dtype"])

# (bits, mantissa bits, largest exponent, smallest normal exponent) of IEEE-754 binary
# formats and bfloat16; the limits follow from them exactly.
_FLOAT_FORMATS = {
    "float16": (16, 10, 15, -14),
    "bfloat16": (16, 7, 127, -126),
    "float32": (32, 23, 127, -126),
    "float64": (64, 52, 1023, -1022),
}


def _finfo_values(name):
    """(bits, eps, max, min, smallest_normal) of a real floating dtype name."""
    bits, mant, emax, emin = _FLOAT_FORMATS[name]
    largest = math.ldexp(2.0 - math.ldexp(1.0, -mant), emax)
    return bits, math.ldexp(1.0, -mant), largest, -largest, math.ldexp(1.0, emin)


def _iinfo_values(name):
    """(bits, max, min) of an integer dtype name."""
    bits = bits_of(name)
    if kind_of(name) == "signed integer":
        return bits, 2 ** (bits - 1) - 1, -(2 ** (bits - 1))
    return bits, 2**bits - 1, 0


def finfo(type, /):  # noqa: A002 (the standard's argument name)
    """Machine limits of a floating dtype (of its real component for a complex one)."""
    name = name_of(type, "finfo() argument")
    if kind_of(name) == "complex floating":
        name = "float32" if name == "complex64" else "float64"
    if kind_of(name) != "real floating":
        raise TypeError(f"finfo() needs a floating-point dtype, got {name} (use iinfo for integers)")
    return finfo_object(*_finfo_values(name), _checked(name))


def iinfo(type, /):  # noqa: A002
    """Machine limits of an integer dtype."""
    name = name_of(type, "iinfo() argument")
    if kind_of(name) not in ("signed integer", "unsigned integer"):
        raise TypeError(f"iinfo() needs an integer dtype, got {name} (use finfo for floating types)")
    return iinfo_object(*_iinfo_values(name), _checked(name))
