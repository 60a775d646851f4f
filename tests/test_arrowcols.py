"""hpcgen.arrowcols: numpy <-> Arrow columns by their buffers, checked against pyarrow's own conversions."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest

from hpcgen.arrowcols import (large_strings, string_buffers, strings_to_arrow, table, take_strings, to_arrow,
                              to_numpy)

NUMERIC = [np.int8, np.int32, np.int64, np.uint8, np.uint64, np.float32, np.float64]


@pytest.mark.parametrize("dtype", NUMERIC)
def test_numeric_round_trip(dtype):
    values = (np.arange(-5, 12) % 7 * 3).astype(dtype)
    arr = to_arrow(values)
    assert arr.type == pa.from_numpy_dtype(np.dtype(dtype)) and arr.null_count == 0
    assert arr.equals(pa.array(values))
    back = to_numpy(arr)
    assert back.dtype == np.dtype(dtype) and np.array_equal(back, values)


def test_nan_stays_nan_not_null():
    values = np.array([1.5, np.nan, -np.inf, 0.0])
    arr = to_arrow(values)
    assert arr.null_count == 0 and arr.type == pa.float64()
    np.testing.assert_array_equal(to_numpy(arr), values)  # NaN == NaN here


def test_non_contiguous_and_big_endian():
    grid = np.arange(12, dtype=np.int64).reshape(4, 3)
    assert np.array_equal(to_numpy(to_arrow(grid[:, 1])), grid[:, 1])
    big = np.arange(5, dtype=">i4")
    assert np.array_equal(to_numpy(to_arrow(big)), np.arange(5))


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 64, 131])
def test_bool_round_trip(n):
    rng = np.random.default_rng(n)
    values = rng.random(n) < 0.5
    arr = to_arrow(values)
    assert arr.type == pa.bool_() and arr.equals(pa.array(values, type=pa.bool_()))
    back = to_numpy(arr)
    assert back.dtype == bool and np.array_equal(back, values)


@pytest.mark.parametrize("dtype", [bool, np.int64, np.float64])
def test_sliced_and_chunked(dtype):
    values = (np.arange(50) % 3 == 0).astype(dtype)
    arr = to_arrow(values)
    for a, b in [(0, 50), (3, 17), (9, 9), (13, 50), (49, 50)]:
        assert np.array_equal(to_numpy(arr.slice(a, b - a)), values[a:b])
    chunked = pa.chunked_array([arr.slice(5, 10), arr.slice(0, 3), arr.slice(21)])
    want = np.concatenate([values[5:15], values[:3], values[21:]])
    assert np.array_equal(to_numpy(chunked), want)
    empty = to_numpy(pa.chunked_array([], type=arr.type))
    assert empty.shape == (0,) and empty.dtype == np.dtype(dtype)


def test_nulls_raise_or_fill():
    arr = pa.array([1, None, 3, None], type=pa.int64()).slice(1)
    with pytest.raises(ValueError, match="nulls"):
        to_numpy(arr)
    filled = to_numpy(arr, fill=np.nan)
    assert filled.dtype == np.float64 and np.isnan(filled[0]) and filled[1] == 3 and np.isnan(filled[2])
    assert np.array_equal(to_numpy(pa.array([True, None, False]), fill=False), [True, False, False])
    assert np.array_equal(to_numpy(arr, fill=-1), [-1, 3, -1])


@pytest.mark.parametrize("large", [True, False])
def test_strings(large):
    ids = np.array(["P00ab", "", "Ünïcödé-β", "日本語", "x" * 300, "trailing\x00nul"])
    arr = strings_to_arrow(ids, large=large)
    assert arr.type == (pa.large_string() if large else pa.string())
    assert arr.to_pylist() == ids.tolist()
    assert to_arrow(ids).equals(pa.array(ids.tolist(), type=pa.large_string()))
    assert to_arrow(ids.astype(object)).to_pylist() == ids.tolist()
    assert strings_to_arrow([]).to_pylist() == [] and len(to_arrow(np.array([], dtype=str))) == 0


def test_table_keeps_order_and_arrays():
    t = table({"sample": np.array(["b", "a"]), "n": np.array([2, 1]), "ok": np.array([True, False]),
               "x": pa.array([0.5, 1.5])})
    assert t.column_names == ["sample", "n", "ok", "x"]
    assert t.schema.types == [pa.large_string(), pa.int64(), pa.bool_(), pa.float64()]


def test_bad_input():
    with pytest.raises(ValueError):
        to_arrow(np.zeros((2, 2)))
    with pytest.raises(TypeError):
        to_arrow(np.array(["2020-01-01"], dtype="datetime64[D]"))
    with pytest.raises(TypeError):
        to_numpy(pa.array(["a"]))


def test_no_pandas_import():
    """The point of the module: none of these conversions loads pandas (pyarrow's own do, lazily)."""
    code = (
        "import sys, numpy as np, pyarrow as pa\n"
        "from hpcgen.arrowcols import to_arrow, to_numpy, table\n"
        "t = table({'s': np.array(['a', 'é']), 'b': np.array([True, False]), 'f': np.array([1.0, np.nan])})\n"
        "to_numpy(t.column('b')); to_numpy(t.column('f').slice(1)); to_numpy(t.column('f'), fill=0.0)\n"
        "print('pandas' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize("large", [True, False])
def test_string_buffers(large):
    """Offsets and bytes of sliced, chunked and null-holding string columns, and of plain sequences."""
    words = ["ab", "", "cdé", "f", "ghij", "x"]
    arr = strings_to_arrow(words, large=large)
    for values, want in [(arr, words), (arr.slice(1, 3), words[1:4]), (words, words),
                         (pa.chunked_array([arr.slice(2), strings_to_arrow(["yz"], large=large)]), words[2:] + ["yz"])]:
        off, data = string_buffers(values)
        assert off.dtype == np.int64 and data.dtype == np.uint8
        assert [bytes(data[a:b]).decode() for a, b in zip(off[:-1], off[1:])] == want
    nulls = pa.Array.from_buffers(pa.string(), 3, [pa.py_buffer(np.packbits([1, 0, 1], bitorder="little")),
                                                    pa.py_buffer(np.array([0, 2, 4, 5], np.int32)), pa.py_buffer(b"abzzc")])
    off, data = string_buffers(nulls)
    assert off.tolist() == [0, 2, 2, 3] and bytes(data) == b"abc"  # a null reads as ""
    off, data = string_buffers(strings_to_arrow([]))
    assert off.tolist() == [0] and data.size == 0
    with pytest.raises(TypeError):
        string_buffers(to_arrow(np.arange(3)))


def test_take_strings():
    """names[codes] as large_string, equal to pyarrow's take; non-ASCII and empty names, no rows."""
    names = ["other", "snv_ts", "", "é"]
    codes = np.array([1, 0, 3, 2, 1, 1, 3], dtype=np.uint8)
    arr = take_strings(names, codes)
    arr.validate(full=True)
    assert arr.type == pa.large_string() and arr.null_count == 0
    assert arr.to_pylist() == [names[c] for c in codes]
    assert arr.equals(strings_to_arrow(names).take(pa.array(codes)))
    assert take_strings(names, codes[:0]).to_pylist() == []


def test_large_strings_share_bytes_and_nulls():
    """string -> large_string as .cast gives it, for sliced, chunked and null-holding columns; others unchanged."""
    small = pa.array(["ab", None, "cdé", "", "f"], type=pa.string())
    for values in [small, small.slice(1, 3), small.slice(0, 0), pa.chunked_array([small, small.slice(2)]),
                   pa.chunked_array([], type=pa.string())]:
        got = large_strings(values)
        got.validate(full=True)
        assert got.type == pa.large_string() and got.equals(values.cast(pa.large_string()))
    ints = to_arrow(np.arange(3))
    assert large_strings(ints) is ints
    big = strings_to_arrow(["a"])
    assert large_strings(big) is big


def test_no_compute_import():
    """Nor pyarrow.compute (its import wraps ~300 functions, 0.03-0.08 s): the QC tables do without it."""
    code = (
        "import sys, numpy as np, pyarrow as pa\n"
        "from hpcgen.arrowcols import large_strings, strings_to_arrow, take_strings\n"
        "large_strings(pa.chunked_array([strings_to_arrow(['a', 'bc'], large=False)]))\n"
        "take_strings(['x', 'yz'], np.array([1, 0]))\n"
        "print('pyarrow.compute' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
