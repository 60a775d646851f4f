"""Bit operations on uint64 words that numba lacks: population count and trailing zeros (LLVM intrinsics).

Shared by the kernels that work on bit-planes (:mod:`kernels.hardcalls`, :mod:`kernels.king`). Under
``NUMBA_DISABLE_JIT=1`` the intrinsics cannot run, so plain Python equivalents take their place.
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import config as numba_config
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .accelerate import jit


@intrinsic
def popcount(typingctx, x):
    # llvm.ctpop: one POPCNT instruction where the CPU has it (numba has no popcount of its own)
    sig = types.uint64(types.uint64)

    def codegen(context, builder, signature, args):
        fnty = ir.FunctionType(ir.IntType(64), [ir.IntType(64)])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.ctpop.i64")
        return builder.call(fn, args)

    return sig, codegen


@intrinsic
def trailing_zeros(typingctx, x):
    # llvm.cttz: index of the lowest set bit (TZCNT/BSF)
    sig = types.uint64(types.uint64)

    def codegen(context, builder, signature, args):
        fnty = ir.FunctionType(ir.IntType(64), [ir.IntType(64), ir.IntType(1)])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.cttz.i64")
        return builder.call(fn, [args[0], ir.Constant(ir.IntType(1), 0)])

    return sig, codegen


if numba_config.DISABLE_JIT:  # intrinsics only compile: plain Python equivalents for NUMBA_DISABLE_JIT=1 runs
    def popcount(x):  # noqa: F811
        return np.uint64(int(x).bit_count())

    def trailing_zeros(x):  # noqa: F811
        return np.uint64((int(x) & -int(x)).bit_length() - 1)


@jit
def popcount64(x):
    """Set bits of a uint64 (exposed for tests)."""
    return popcount(np.uint64(x))
