"""The single place numba is configured for every kernel in this package.

Kernels import :func:`jit` from here, never numba directly, so compile options stay consistent:
``cache=True`` (compiled machine code is written to ``$NUMBA_CACHE_DIR`` or beside the source, so a
new process does not recompile), ``nogil=True`` (Dask threads run kernels in parallel) and
``nopython`` mode. With ``NUMBA_DISABLE_JIT=1`` the decorated functions run as plain Python, which is
how the test suite measures kernel coverage and checks them against their reference twins.
"""
from __future__ import annotations

from typing import Any, Callable

import numba

DEFAULT_OPTIONS: dict[str, Any] = {"cache": True, "nogil": True, "error_model": "numpy"}


def jit(func: Callable | None = None, **options: Any) -> Callable:
    """``numba.njit`` with this package's defaults (cache, nogil, numpy error model).

    Usable bare (``@jit``) or with extra options (``@jit(fastmath=True)``).
    """
    merged = {**DEFAULT_OPTIONS, **options}
    if func is None:
        return lambda f: numba.njit(**merged)(f)
    return numba.njit(**merged)(func)


def jit_disabled() -> bool:
    """True when numba compilation is switched off (``NUMBA_DISABLE_JIT=1``): kernels run as Python."""
    return bool(numba.config.DISABLE_JIT)


__all__ = ["jit", "jit_disabled", "DEFAULT_OPTIONS"]
