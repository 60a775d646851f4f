"""Open and check an input VCF/BCF before anything is written: format, header, samples, contigs, index.

The header is read here without htslib so that bad files get precise one-line errors (htslib's own
messages go to stderr and its bindings raise generic exceptions).
"""
from __future__ import annotations

import gzip
import logging
import os
import re
import struct
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from hpcgen.errors import InputError
from hpcgen.ingest.htslog import captured_stderr, htslib_reason

log = logging.getLogger(__name__)

BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
_CONTIG = re.compile(r"^##contig=<(.*)>\s*$")
_ID = re.compile(r"(?:^|,)ID=([^,>]+)")
_LENGTH = re.compile(r"(?:^|,)length=(\d+)")
_FORMAT_ID = re.compile(r"^##FORMAT=<.*?\bID=([^,>]+)")
_FORMAT_TYPE = re.compile(r"\bType=(\w+)")


@dataclass
class VcfInput:
    """What an input file declares (header only).

    Attributes
    ----------
    path
        The file as given.
    kind
        ``"bcf"``, ``"vcf.gz"`` (BGZF) or ``"vcf"`` (plain text).
    samples
        Sample IDs in column order.
    contigs
        ``##contig`` IDs in header order -> declared length (bp) or None.
    formats
        ``##FORMAT`` IDs -> Type (``Integer``, ``Float``, ``String``).
    header_text
        The ``##`` and ``#CHROM`` lines.
    """

    path: Path
    kind: str
    samples: list[str]
    contigs: dict[str, int | None]
    formats: dict[str, str]
    header_text: str
    header_lines: int = 0
    fields: list[str] = field(default_factory=list)


def _kind(path: Path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(18)
    if head[:2] != b"\x1f\x8b":
        if head[:3] == b"BCF":
            raise InputError("uncompressed BCF is not supported; write it with bcftools view -Ob", path)
        return "vcf"
    # BGZF: gzip with the "BC" extra subfield; plain gzip cannot be indexed
    if len(head) < 18 or not (head[3] & 4) or head[12:14] != b"BC":
        raise InputError("gzip but not BGZF-compressed (recompress with bgzip so it can be indexed)", path)
    with gzip.open(path, "rb") as fh:
        magic = fh.read(5)
    return "bcf" if magic[:3] == b"BCF" else "vcf.gz"


def _header_text(path: Path, kind: str) -> str:
    opener = open if kind == "vcf" else gzip.open
    try:
        with opener(path, "rb") as fh:
            if kind == "bcf":
                magic = fh.read(5)
                (l_text,) = struct.unpack("<I", fh.read(4))
                return fh.read(l_text).rstrip(b"\0").decode("utf-8", "replace")
            lines = []
            for i, raw in enumerate(fh, 1):
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if not line.startswith("#"):
                    break
                lines.append(line)
                if line.startswith("#CHROM"):
                    break
            return "\n".join(lines)
    except (EOFError, OSError, zlib.error, struct.error) as exc:
        raise InputError(f"unreadable compressed data in the header ({exc})", path, "header") from None


def read_input(path: str | os.PathLike) -> VcfInput:
    """Check an input file's format and header.

    Raises
    ------
    InputError
        Missing file, not BGZF, truncated (no BGZF end-of-file marker), no header, no samples,
        duplicate sample IDs, no FORMAT/GT, a contig declared twice.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("input file not found", path)
    kind = _kind(path)
    if kind != "vcf":
        with open(path, "rb") as fh:
            fh.seek(max(0, path.stat().st_size - len(BGZF_EOF)))
            if fh.read() != BGZF_EOF:
                raise InputError("truncated: no BGZF end-of-file block (incomplete copy or download?)", path, "end of file")
    text = _header_text(path, kind)
    lines = text.split("\n") if text else []
    if not lines or not lines[0].startswith("##fileformat=VCF"):
        raise InputError("no VCF header (first line must be ##fileformat=VCF...)", path, "line 1")
    chrom_line = next((ln for ln in lines if ln.startswith("#CHROM")), None)
    if chrom_line is None:
        raise InputError("no #CHROM header line", path, f"line {len(lines) + 1}")
    cols = chrom_line.split("\t")
    if cols[:8] != ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"]:
        raise InputError("malformed #CHROM line (columns must be tab-separated)", path, f"line {len(lines)}")
    samples = cols[9:]
    if not samples:
        raise InputError("no samples in the file (no genotype columns after FORMAT)", path, f"line {len(lines)}")
    seen: set[str] = set()
    for s in samples:
        if s in seen:
            raise InputError(f"duplicate sample ID {s!r}", path, f"line {len(lines)}")
        seen.add(s)
    contigs: dict[str, int | None] = {}
    formats: dict[str, str] = {}
    for i, line in enumerate(lines, 1):
        if m := _CONTIG.match(line):
            cid = _ID.search(m.group(1))
            if cid is None:
                raise InputError("##contig line without ID", path, f"line {i}")
            if cid.group(1) in contigs:
                raise InputError(f"contig {cid.group(1)!r} declared twice", path, f"line {i}")
            length = _LENGTH.search(m.group(1))
            contigs[cid.group(1)] = int(length.group(1)) if length else None
        elif m := _FORMAT_ID.match(line):
            t = _FORMAT_TYPE.search(line)
            formats[m.group(1)] = t.group(1) if t else "String"
    if "GT" not in formats:
        raise InputError("no FORMAT/GT declared in the header: nothing to ingest", path, "header")
    return VcfInput(path=path, kind=kind, samples=samples, contigs=contigs, formats=formats,
                    header_text=text, header_lines=len(lines),
                    fields=[f for f in ("DP", "GQ") if formats.get(f) in ("Integer", "Float")])


def index_path(path: Path) -> Path | None:
    """The existing index of ``path`` (``.csi`` or ``.tbi``) that is not older than the file, if any."""
    for suffix in (".csi", ".tbi"):
        idx = path.with_name(path.name + suffix)
        if idx.is_file():
            if idx.stat().st_mtime < path.stat().st_mtime:
                log.warning("index %s is older than %s; ignoring it", idx, path)
                continue
            return idx
    return None


def _writable(folder: Path) -> bool:
    # os.access says yes to root even on an immutable folder; only trying tells the truth
    try:
        fd, name = tempfile.mkstemp(prefix=".hpcgen-probe-", dir=folder)
    except OSError:
        return False
    os.close(fd)
    os.unlink(name)
    return True


def ensure_index(info: VcfInput) -> Path:
    """Return the input's index, building it beside the file (atomically) if missing.

    Raises
    ------
    InputError
        No index and the folder is read-only; or indexing fails (unsorted records, corrupt data).
    """
    import pysam
    import pysam.bcftools  # noqa: F401  (a submodule; not imported by "import pysam")

    path = info.path
    existing = index_path(path)
    if existing is not None:
        return existing
    if not _writable(path.parent):
        raise InputError(
            f"no index (.csi/.tbi) and its folder {path.parent} is read-only: index it elsewhere "
            "(bcftools index) or copy the file to a writable folder", path)
    suffix = ".csi" if info.kind == "bcf" else ".tbi"
    final = path.with_name(path.name + suffix)
    tmp = path.with_name(f".{path.name}.{os.getpid()}{suffix}.partial")
    failed = None
    with captured_stderr():  # htslib's own complaint would be a second line; we name the record instead
        try:
            if info.kind == "bcf":
                pysam.bcftools.index("--csi", "-f", "-o", str(tmp), str(path), catch_stdout=False, split_lines=False)
                if not tmp.is_file():
                    raise OSError("bcftools index failed")
            else:
                pysam.tabix_index(str(path), preset="vcf", keep_original=True, force=True, index=str(tmp))
            os.replace(tmp, final)
        except (OSError, pysam.utils.SamtoolsError) as exc:
            failed = exc
            tmp.unlink(missing_ok=True)
    if failed is not None:
        raise locate_failure(info) or InputError(f"cannot index the file ({failed})", path)
    return final


def locate_failure(info: VcfInput) -> InputError | None:
    """Read the file from the start (no index) and say which record is wrong: unreadable or out of order."""
    import cyvcf2

    order: dict[str, int] = {}
    last: tuple[str, int] | None = None
    with captured_stderr() as messages:
        try:
            for rec in cyvcf2.VCF(str(info.path), lazy=True):
                chrom, pos = rec.CHROM, rec.POS
                if last is not None and (chrom != last[0] and chrom in order or chrom == last[0] and pos < last[1]):
                    return InputError("records are not sorted by contig and position (sort with bcftools sort)",
                                      info.path, f"{chrom}:{pos}")
                order.setdefault(chrom, len(order))
                last = (chrom, pos)
        except Exception as exc:  # noqa: BLE001 - cyvcf2 raises bare Exception on htslib read errors
            error = exc
        else:
            return None
    where = f"after {last[0]}:{last[1]}" if last else "first record"
    return InputError(f"unreadable record: {htslib_reason(messages) or error}", info.path, where)


def bgzip_plain(info: VcfInput, work: Path) -> VcfInput:
    """Compress a plain-text VCF to BGZF in ``work`` (so it can be indexed); return the new input."""
    import pysam
    import pysam.bcftools  # noqa: F401  (a submodule; not imported by "import pysam")

    dest = work / (info.path.name + ".gz")
    if not dest.is_file():
        tmp = work / f".{dest.name}.{os.getpid()}.partial"
        pysam.tabix_compress(str(info.path), str(tmp), force=True)
        os.replace(tmp, dest)
    return VcfInput(path=dest, kind="vcf.gz", samples=info.samples, contigs=info.contigs, formats=info.formats,
                    header_text=info.header_text, header_lines=info.header_lines, fields=info.fields)
