"""Fast, streaming VCF text for genotype blocks: table lookups in numpy, compressed by ``bgzip``.

A genotype cell (``\\t0/1:31:93``) is looked up in a table of every possible cell text; a numba kernel
(:mod:`hpcgen.demo.text_kernel`) copies the cells of a block of records into one byte buffer, so the VCF text is
never the bottleneck of a demo run (compression is).
"""
from __future__ import annotations

import functools
import subprocess
from pathlib import Path

import numpy as np

from hpcgen.demo.grch38 import CONTIG_LENGTHS

MAX_ALLELES = 8  # allele indexes 0..7 are written; simulated sites have at most 4 (one per base)
MAX_DP = 99
N_GQ_LEVELS = 4
# allele index -> slot in the GT code: 0 is missing, 1..8 are alleles 0..7
_SLOTS = MAX_ALLELES + 1
HAPLOID_BASE = 2 * _SLOTS * _SLOTS
N_GT_CODES = HAPLOID_BASE + _SLOTS


def gt_codes(haps: np.ndarray, phased: np.ndarray) -> np.ndarray:
    """Cell code of each call.

    Parameters
    ----------
    haps : ndarray, int8, shape (n_variants, n_samples, 2)
        Allele indexes; -1 missing; -2 in the second slot for a haploid call.
    phased : ndarray, bool, shape (n_samples,)
        Write this sample's diploid calls with ``|``.

    Returns
    -------
    ndarray, int32, shape (n_variants, n_samples)
    """
    a = haps[..., 0].astype(np.int32) + 1
    b = haps[..., 1].astype(np.int32) + 1
    haploid = b < 0
    code = a * _SLOTS + np.maximum(b, 0) + (_SLOTS * _SLOTS) * phased[None, :].astype(np.int32)
    return np.where(haploid, HAPLOID_BASE + a, code)


def _gt_text(code: int) -> str:
    if code >= HAPLOID_BASE:
        a = code - HAPLOID_BASE - 1
        return "." if a < 0 else str(a)
    sep = "|" if code >= _SLOTS * _SLOTS else "/"
    a, b = divmod(code % (_SLOTS * _SLOTS), _SLOTS)
    if sep == "/":  # unphased calls are written in allele order (missing first), as callers do
        a, b = min(a, b), max(a, b)
    return f"{'.' if a == 0 else a - 1}{sep}{'.' if b == 0 else b - 1}"


@functools.lru_cache(maxsize=2)
def cell_table(with_depth: bool) -> tuple[np.ndarray, int]:
    """Every cell text as NUL-padded bytes.

    Returns
    -------
    table : ndarray, uint8, shape (n_codes * (MAX_DP + 1) * N_GQ_LEVELS, width) or (n_codes, width)
        Row = gt_code (* depth levels * GQ levels + dp * GQ levels + gq level when ``with_depth``).
    width : int
    """
    texts = []
    for code in range(N_GT_CODES):
        gt = _gt_text(code)
        if not with_depth:
            texts.append("\t" + gt)
            continue
        missing = "." in gt
        het = len(set(gt.replace("|", "/").split("/"))) > 1
        for dp in range(MAX_DP + 1):
            for q in range(N_GQ_LEVELS):
                if missing:
                    texts.append("\t" + gt)
                    continue
                # GQ grows with depth and saturates at 99; heterozygous calls need more reads for confidence
                gq = min(99, int(dp * (2.0 if het else 3.0) * (0.55 + 0.25 * q)))
                texts.append(f"\t{gt}:{dp}:{gq}")
    width = max(len(t) for t in texts)
    table = np.zeros((len(texts), width), dtype=np.uint8)
    for i, t in enumerate(texts):
        table[i, : len(t)] = np.frombuffer(t.encode("ascii"), dtype=np.uint8)
    table.flags.writeable = False  # shared by every formatter of this process (cached)
    return table, width


def header(samples: list[str], with_depth: bool, meta: dict[str, str]) -> str:
    """VCF header text (GRCh38 contigs with lengths); ``meta`` adds ``##key=value`` lines."""
    lines = ["##fileformat=VCFv4.2", "##reference=GRCh38"]
    lines += [f"##contig=<ID={c},length={n},assembly=GRCh38>" for c, n in CONTIG_LENGTHS.items()]
    lines.append('##FILTER=<ID=PASS,Description="All filters passed">')
    lines.append('##INFO=<ID=PX,Number=.,Type=String,Description="Pharmacogene whose PharmCAT definition uses this position">')
    lines.append('##INFO=<ID=POI,Number=0,Type=Flag,Description="PharmCAT position of interest outside any allele definition">')
    lines.append('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">')
    if with_depth:
        lines.append('##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth (simulated)">')
        lines.append('##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality (simulated, phred)">')
    lines += [f"##{k}={v}" for k, v in meta.items()]
    lines.append("\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *samples]))
    return "\n".join(lines) + "\n"


class BlockFormatter:
    """Formats blocks of records into VCF lines.

    Parameters
    ----------
    n_samples : int
    with_depth : bool
        Write ``GT:DP:GQ`` (else ``GT``).
    depth_quantiles : ndarray, uint8, shape (n_samples, 256), optional
        Per sample, 256 equiprobable DP values (random bytes index it); required with ``with_depth``.
    """

    def __init__(self, n_samples: int, with_depth: bool, depth_quantiles: np.ndarray | None = None):
        self.n_samples = n_samples
        self.with_depth = with_depth
        self.table, self.width = cell_table(with_depth)
        self.lengths = (self.table != 0).sum(axis=1).astype(np.int64)
        self.fmt = "GT:DP:GQ" if with_depth else "GT"
        self.depth_quantiles = depth_quantiles

    def rows_per_chunk(self) -> int:
        """Records per formatting pass: bounds the byte matrix to ~64 MB."""
        return max(1, (64 << 20) // max(1, self.n_samples * self.width))

    def format(self, chrom: str, pos: np.ndarray, ids: list[str], alleles: list[tuple[str, ...]], info: list[str],
               haps: np.ndarray, phased: np.ndarray, rng: np.random.Generator, reference: bool = False) -> bytes | memoryview:
        """VCF lines for one chunk of records (``haps`` as in :func:`gt_codes`).

        ``reference=True`` runs the plain-numpy twin of the numba kernel (same bytes; for tests).
        """
        prefixes = [
            f"{chrom}\t{p}\t{i}\t{a[0]}\t{','.join(a[1:])}\t.\tPASS\t{inf}\t{self.fmt}".encode("ascii")
            for p, i, a, inf in zip(pos.tolist(), ids, alleles, info)
        ]
        rand = (rng.integers(0, 1 << 10, size=haps.shape[:2], dtype=np.uint16) if self.with_depth
                else np.zeros((1, 1), dtype=np.uint16))
        if reference:
            return self.format_reference(prefixes, haps, phased, rand)
        from hpcgen.demo.text_kernel import format_block

        offsets = np.zeros(len(prefixes) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(p) for p in prefixes])
        out = np.empty(int(offsets[-1]) + haps.shape[0] * (self.n_samples * self.width + 1), dtype=np.uint8)
        depth_q = self.depth_quantiles if self.with_depth else np.zeros((1, 256), dtype=np.uint8)
        k = format_block(np.frombuffer(b"".join(prefixes), dtype=np.uint8), offsets, np.ascontiguousarray(haps),
                         phased, rand, depth_q, self.table, self.lengths, _SLOTS, HAPLOID_BASE, MAX_DP + 1,
                         N_GQ_LEVELS, self.with_depth, out)
        return memoryview(out[:k])  # no copy: the pipe to bgzip takes any buffer

    def format_reference(self, prefixes: list[bytes], haps: np.ndarray, phased: np.ndarray, rand: np.ndarray) -> bytes:
        """The same lines with numpy table lookups (the kernel's reference twin)."""
        code = gt_codes(haps, phased)
        if self.with_depth:
            # low 8 bits pick one of the sample's 256 depth quantiles, the next 2 bits a GQ level
            dp = self.depth_quantiles[np.arange(self.n_samples)[None, :], rand & 0xFF].astype(np.int32)
            code = (code * (MAX_DP + 1) + dp) * N_GQ_LEVELS + (rand >> 8)
        cells = self.table[code]  # (n, n_samples, width)
        pw = max(len(p) for p in prefixes)
        n = len(prefixes)
        mat = np.zeros((n, pw + self.n_samples * self.width + 1), dtype=np.uint8)
        mat[:, :pw] = np.frombuffer(b"".join(p.ljust(pw, b"\0") for p in prefixes), dtype=np.uint8).reshape(n, pw)
        mat[:, pw:-1] = cells.reshape(n, -1)
        mat[:, -1] = ord("\n")
        flat = mat.ravel()
        return flat[flat != 0].tobytes()


class BgzipWriter:
    """Write bytes through ``bgzip`` (htslib, multithreaded) into ``path``; a context manager."""

    def __init__(self, path: Path, threads: int = 2, level: int = 1):
        self.path = Path(path)
        self._fh = open(self.path, "wb")
        self._proc = subprocess.Popen(
            ["bgzip", "-c", f"--threads={threads}", f"--compress-level={level}"], stdin=subprocess.PIPE, stdout=self._fh
        )

    def write(self, data: bytes) -> None:
        self._proc.stdin.write(data)

    def __enter__(self) -> "BgzipWriter":
        return self

    def __exit__(self, *exc) -> None:
        self._proc.stdin.close()
        rc = self._proc.wait()
        self._fh.close()
        if rc != 0 and exc[0] is None:
            raise RuntimeError(f"bgzip exited with status {rc} writing {self.path}")
