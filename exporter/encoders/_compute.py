"""``pyarrow.compute`` kernels typed as pyarrow runs them, where pyarrow-stubs types them wrong.

pyarrow's kernels take a Python value wherever they take a scalar, and sum booleans as 0 and 1.
pyarrow-stubs (20.x) declares the kernels below without that, so calling them as pyarrow
documents does not type-check. Each function here calls the kernel unchanged, with the
signature the encoders rely on; its ``type: ignore`` says what the stub gets wrong. Delete one
once the stub is right.
"""

from __future__ import annotations

from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.compute as pc

_ArrayT = TypeVar("_ArrayT", bound="pa.Array[Any]")


def fill_null(values: _ArrayT, fill_value: str | bool) -> _ArrayT:
    """``values`` with each null replaced by ``fill_value`` (an array of the same type)."""
    # The stub's fill_null (coalesce) takes one type for every argument: an array and the
    # Python value for its nulls never match it.
    return pc.fill_null(values, fill_value)  # type: ignore[type-var, return-value]


def sum_booleans(mask: pa.BooleanArray) -> pa.UInt64Scalar:
    """``pc.sum`` of a boolean array: how many values are true (null when all are null)."""
    # The stub's sum takes numeric arrays only and returns their scalar type.
    return pc.sum(mask)  # type: ignore[type-var, return-value]


def binary_join_element_wise(*strings: str | pa.Array[Any]) -> pa.StringArray:
    """``pc.binary_join_element_wise`` of string arrays and Python strings, the last one the
    separator: one string array (at least one argument is an array)."""
    # The stub wants every argument of one type, all arrays or all scalars; pyarrow takes
    # Python strings among arrays (as scalars) and returns an array.
    return pc.binary_join_element_wise(*strings)  # type: ignore[type-var, return-value]
