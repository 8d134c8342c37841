"""The parts of the Python Array API standard (2024.12) that are not elementwise and
not linear algebra: constants, data type functions, inspection, creation, manipulation,
searching, set, sorting, statistical and utility functions.

``ferrograd/__init__.py`` re-exports everything in ``__all__``; the functions that
replace earlier, less conforming versions (sum, prod, expand_dims, reshape, squeeze,
nonzero, astype, from_dlpack) are exported under the same names. See docs/array_api.md.
"""

import math as _math

from . import _array_methods, _creation, _dtypes, _info, _manipulation, _searching
from . import _sets, _sorting, _statistics, _utility
from ._array_methods import astype
from ._creation import from_dlpack, meshgrid, tril, triu
from ._dtypes import can_cast, finfo, iinfo, isdtype, result_type
from ._info import __array_namespace_info__
from ._manipulation import expand_dims, moveaxis, repeat, reshape, roll, squeeze, tile, unstack
from ._searching import count_nonzero, nonzero, searchsorted
from ._sets import unique_all, unique_counts, unique_inverse, unique_values
from ._sorting import argsort, sort
from ._statistics import cumulative_prod, cumulative_sum, prod, sum  # noqa: A004
from ._utility import diff

# The standard's constants (Python floats, and None for indexing).
e = _math.e
inf = _math.inf
nan = _math.nan
pi = _math.pi
newaxis = None

__all__ = ["e", "inf", "nan", "pi", "newaxis", "__array_namespace_info__"]
for _m in (_array_methods, _creation, _manipulation, _searching, _sets, _sorting, _statistics, _utility):
    __all__ += _m.__all__
__all__ += ["can_cast", "finfo", "iinfo", "isdtype", "result_type"]
