"""The VCF text kernel: genotype codes -> bytes, one pass, no temporaries (numba).

Pure function on numpy arrays; :meth:`hpcgen.demo.vcf_writer.BlockFormatter.format_reference` is its plain-numpy
twin and the tests check they write the same bytes.
"""
from __future__ import annotations

import numpy as np

from hpcgen.kernels.accelerate import jit


@jit
def format_block(prefix: np.ndarray, prefix_off: np.ndarray, haps: np.ndarray, phased: np.ndarray, rand: np.ndarray,
                 depth_q: np.ndarray, table: np.ndarray, lengths: np.ndarray, slots: int, haploid_base: int,
                 n_dp: int, n_gq: int, with_depth: bool, out: np.ndarray) -> int:
    """Write VCF lines into ``out``; return the number of bytes written.

    Parameters
    ----------
    prefix : uint8, shape (total,)
        The fixed columns (CHROM..FORMAT) of every record, concatenated.
    prefix_off : int64, shape (n + 1,)
        Record i's prefix is ``prefix[prefix_off[i]:prefix_off[i + 1]]``.
    haps : int8, shape (n, n_samples, 2)
        Allele indexes; -1 missing; -2 in the second slot for a haploid call.
    phased : bool, shape (n_samples,)
    rand : uint16, shape (n, n_samples)
        Random bits: low 8 pick a depth quantile, the next 2 a GQ level (ignored without depth).
    depth_q : uint8, shape (n_samples, 256)
    table : uint8, shape (n_cells, width)
        Cell texts (tab first); ``lengths`` their lengths.
    out : uint8, shape (>= bytes needed,)
    """
    n, s = haps.shape[0], haps.shape[1]
    k = 0
    for i in range(n):
        for b in range(prefix_off[i], prefix_off[i + 1]):
            out[k] = prefix[b]
            k += 1
        for j in range(s):
            a = np.int64(haps[i, j, 0]) + 1
            c = np.int64(haps[i, j, 1]) + 1
            if c < 0:
                code = haploid_base + a
            else:
                code = a * slots + c
                if phased[j]:
                    code += slots * slots
            if with_depth:
                r = np.int64(rand[i, j])
                code = (code * n_dp + np.int64(depth_q[j, r & 255])) * n_gq + (r >> 8)
            for t in range(lengths[code]):
                out[k] = table[code, t]
                k += 1
        out[k] = 10
        k += 1
    return k
