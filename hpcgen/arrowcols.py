"""numpy <-> Arrow columns built from their buffers, without pandas.

Why by hand: pyarrow imports pandas lazily on many convenient calls (``pa.array(ndarray)``,
``pa.array(list)``, ``pq.read_table``, ``Array.to_numpy()``; pyarrow 26), and that import costs 0.2-0.3 s of a
~1 s ``hpcgen qc``. Building an array from its buffers (``pa.Array.from_buffers`` over ``pa.py_buffer``) and
reading them back with ``np.frombuffer`` do not, and cost a copy at most.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

__all__ = ["to_arrow", "strings_to_arrow", "take_strings", "large_strings", "string_buffers", "to_numpy", "table"]


def _bits(values: np.ndarray) -> pa.Buffer:
    """Booleans as Arrow's bitmap: one bit per value, least significant bit first."""
    return pa.py_buffer(np.packbits(values.astype(bool, copy=False), bitorder="little"))


def strings_to_arrow(values: Any, large: bool = True) -> pa.Array:
    """Strings (ndarray of str / object str, or any sequence of str) as an Arrow (large_)string array.

    Parameters
    ----------
    values : array_like of str, shape (n,)
    large : bool
        ``large_string`` (int64 offsets, what pandas' str dtype writes) or ``string`` (int32).
    """
    encoded = [str(v).encode("utf-8") for v in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64 if large else np.int32)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    data = pa.py_buffer(b"".join(encoded))
    typ = pa.large_string() if large else pa.string()
    return pa.Array.from_buffers(typ, len(encoded), [None, pa.py_buffer(offsets), data])


def take_strings(names: Any, codes: np.ndarray) -> pa.Array:
    """``names[codes]`` as a ``large_string`` array, from the bytes of the few names (not string by string).

    Parameters
    ----------
    names : sequence of str
        The distinct values (a handful: class names, labels).
    codes : ndarray of int, shape (n,)
        Indices into ``names``.
    """
    encoded = [str(v).encode("utf-8") for v in names]
    lengths = np.array([len(b) for b in encoded], dtype=np.int64)
    # each name padded to the longest; row i's bytes are the first lengths[code] of padded[code]
    padded = np.zeros((len(encoded), max(1, int(lengths.max(initial=0)))), dtype=np.uint8)
    for k, b in enumerate(encoded):
        padded[k, :len(b)] = np.frombuffer(b, dtype=np.uint8)
    codes = np.asarray(codes, dtype=np.intp)
    row_len = lengths[codes]
    offsets = np.zeros(len(codes) + 1, dtype=np.int64)
    np.cumsum(row_len, out=offsets[1:])
    data = padded[codes][np.arange(padded.shape[1]) < row_len[:, None]]
    return pa.Array.from_buffers(pa.large_string(), len(codes), [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def large_strings(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """A ``string`` column as ``large_string`` (what pandas' str dtype writes), sharing its bytes and nulls.

    ``.cast`` would do it, but imports ``pyarrow.compute`` (~0.03-0.08 s); here only the offsets widen to int64.
    Other types come back as they are.
    """
    if isinstance(values, pa.ChunkedArray):
        if not pa.types.is_string(values.type):
            return values
        return pa.chunked_array([large_strings(c) for c in values.chunks], type=pa.large_string())
    if not pa.types.is_string(values.type):
        return values
    validity, off_buf, data_buf = values.buffers()
    end = values.offset + len(values) + 1
    offsets = np.frombuffer(off_buf, dtype=np.int32, count=end).astype(np.int64) if len(values) else np.zeros(end, np.int64)
    return pa.Array.from_buffers(pa.large_string(), len(values), [validity, pa.py_buffer(offsets), data_buf],
                                 values.null_count, values.offset)


def to_arrow(values: Any) -> pa.Array:
    """A 1-D numeric, bool or str ndarray as an Arrow array without nulls (NaN stays a NaN float).

    Parameters
    ----------
    values : ndarray, shape (n,)
        Integer, unsigned, float or bool dtype; str (``<U``) or object arrays become ``large_string``.
    """
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"a column is 1-D, got shape {arr.shape}")
    if arr.dtype.kind in "UO":
        return strings_to_arrow(arr)
    if arr.dtype.kind == "b":
        return pa.Array.from_buffers(pa.bool_(), len(arr), [None, _bits(arr)])
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"no Arrow column for dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr)
    if arr.dtype.byteorder == ">":  # Arrow buffers are little-endian
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    return pa.Array.from_buffers(pa.from_numpy_dtype(arr.dtype), len(arr), [None, pa.py_buffer(arr)])


def _chunk_to_numpy(arr: pa.Array, fill: Any) -> np.ndarray:
    n, start = len(arr), arr.offset
    if pa.types.is_boolean(arr.type):
        raw = np.frombuffer(arr.buffers()[1], dtype=np.uint8) if n else np.empty(0, np.uint8)
        out = np.unpackbits(raw, bitorder="little")[start:start + n].astype(bool)
    elif pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type):
        dtype = arr.type.to_pandas_dtype()  # a numpy dtype; imports nothing
        out = np.frombuffer(arr.buffers()[1], dtype=dtype)[start:start + n] if n else np.empty(0, dtype)
    else:
        raise TypeError(f"not a numeric or bool Arrow array: {arr.type}")
    if arr.null_count:
        if fill is None:
            raise ValueError(f"{arr.null_count} nulls in an Arrow {arr.type} column and no fill value")
        valid = np.unpackbits(np.frombuffer(arr.buffers()[0], dtype=np.uint8), bitorder="little")[start:start + n]
        out = out.astype(np.result_type(out.dtype, np.asarray(fill).dtype)) if out.dtype != bool else out.copy()
        out[valid == 0] = fill
    return out


def to_numpy(values: pa.Array | pa.ChunkedArray, fill: Any = None) -> np.ndarray:
    """An Arrow numeric or bool (chunked, possibly sliced) array as a 1-D ndarray.

    Parameters
    ----------
    values : pa.Array or pa.ChunkedArray
        Integer, float or bool type.
    fill : scalar, optional
        Value for nulls (the dtype widens if needed, e.g. int64 with ``np.nan`` -> float64); without it, a
        column with nulls raises ``ValueError``.

    Returns
    -------
    ndarray, shape (len(values),)
        A read-only view of the Arrow buffer when there is one chunk without nulls (numbers), else a copy.
    """
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    parts = [_chunk_to_numpy(c, fill) for c in chunks]
    if len(parts) == 1:
        return parts[0]
    if not parts:  # a chunked array of no chunks still has a type
        return _chunk_to_numpy(pa.Array.from_buffers(values.type, 0, [None, None]), fill)
    return np.concatenate(parts)


def string_buffers(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """The offsets and UTF-8 bytes of a string column, for vectorized numpy work on strings.

    Parameters
    ----------
    values : Arrow (large_)string array or chunked array, or any sequence of str (a pandas Series, an ndarray)
        Nulls read as empty strings.

    Returns
    -------
    offsets : ndarray, int64, shape (n + 1,)
        String ``i`` is ``data[offsets[i]:offsets[i + 1]]``.
    data : ndarray, uint8
    """
    if not isinstance(values, (pa.Array, pa.ChunkedArray)):
        values = strings_to_arrow(values)
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    offsets, datas, base = [np.zeros(1, dtype=np.int64)], [], 0
    for arr in chunks:
        if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            raise TypeError(f"not an Arrow string array: {arr.type}")
        n, start = len(arr), arr.offset
        if n == 0:
            continue
        validity, off_buf, data_buf = arr.buffers()
        off = np.frombuffer(off_buf, dtype=np.int64 if pa.types.is_large_string(arr.type) else np.int32)
        off = off[start:start + n + 1].astype(np.int64)
        data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.empty(0, np.uint8)
        lengths = np.diff(off)
        if arr.null_count:  # a null's bytes (normally none) are not its value
            valid = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little")[start:start + n]
            lengths = np.where(valid != 0, lengths, 0)
            keep = np.repeat(np.arange(n), lengths)
            pos = off[:-1][keep] + (np.arange(keep.size) - np.repeat(np.cumsum(lengths) - lengths, lengths))
            datas.append(data[pos])
        else:  # the strings' bytes are one run of the data buffer
            datas.append(data[off[0]:off[-1]])
        offsets.append(base + np.cumsum(lengths))
        base += int(lengths.sum())
    data = np.concatenate(datas) if datas else np.empty(0, np.uint8)
    return np.concatenate(offsets), data


def table(columns: dict[str, Any]) -> pa.Table:
    """A ``pa.Table`` from {name: ndarray or Arrow array}, in the dict's order (ndarrays via :func:`to_arrow`)."""
    return pa.table({k: v if isinstance(v, (pa.Array, pa.ChunkedArray)) else to_arrow(v) for k, v in columns.items()})
