"""Bad input: one line naming the file and the record, exit code 2, and no store that reads as complete."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import run_hpcgen
from ingest_helpers import GRCH37_CHR1, header, random_vcf_text, write_vcf

SAMPLES = ["A", "B", "C"]


def _rec(chrom: str, pos: int, gts: str = "0/1\t1|1\t./.") -> str:
    return f"{chrom}\t{pos}\t.\tA\tC\t50\tPASS\t.\tGT\t{gts}\n"


def _refused(vcf: Path, out: Path, key_file: Path, *extra: str, record: str | None = None, words: str = "") -> str:
    proc = run_hpcgen("ingest", str(vcf), "--out", str(out), "--key-file", str(key_file), "--threads", "1", *extra)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1, proc.stderr
    line = lines[0]
    assert line.startswith("hpcgen: error: ") and str(vcf) in line, line
    if record is not None:
        assert f"record {record}" in line, line
    assert words.lower() in line.lower(), line
    assert not (out / "manifest.json").exists()
    from hpcgen.errors import InputError
    from hpcgen.store import GenotypeStore

    with pytest.raises(InputError):
        GenotypeStore.open(out)
    return line


def _big_vcf(tmp_path: Path, name: str = "big.vcf") -> Path:
    return write_vcf(tmp_path / name, random_vcf_text(n_samples=30, n_records=3000, seed=11))


def test_truncated_gzip(tmp_path, key_file):
    good = _big_vcf(tmp_path)
    bad = tmp_path / "truncated.vcf.gz"
    data = good.read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    _refused(bad, tmp_path / "store", key_file, record="end of file", words="truncated")


def _garble(good: Path, bad: Path) -> None:
    data = bytearray(good.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 64] = bytes(b ^ 0x5A for b in data[mid : mid + 64])  # EOF block intact: only the CRC tells
    bad.write_bytes(bytes(data))


def test_garbled_gzip_without_index(tmp_path, key_file):
    bad = tmp_path / "garbled.vcf.gz"
    _garble(_big_vcf(tmp_path), bad)
    _refused(bad, tmp_path / "store", key_file, record="after chr", words="unreadable")
    assert not list(tmp_path.glob("garbled.vcf.gz.*")), "a partial index was left behind"


def test_garbled_gzip_with_stale_good_index(tmp_path, key_file):
    good = _big_vcf(tmp_path)
    subprocess.run(["tabix", "-p", "vcf", str(good)], check=True)
    bad = tmp_path / "garbled.vcf.gz"
    _garble(good, bad)
    shutil.copy(str(good) + ".tbi", str(bad) + ".tbi")  # an index that looks valid: decoding must still catch it
    _refused(bad, tmp_path / "store", key_file, record="after chr", words="unreadable")


def test_no_header(tmp_path, key_file):
    vcf = write_vcf(tmp_path / "nohdr.vcf", _rec("chr1", 100))
    _refused(vcf, tmp_path / "store", key_file, record="line 1", words="no VCF header")


def test_no_samples(tmp_path, key_file):
    text = header([]).replace("\tFORMAT\t\n", "\n") + "chr1\t100\t.\tA\tC\t50\tPASS\t.\n"
    vcf = write_vcf(tmp_path / "nosamples.vcf", text)
    _refused(vcf, tmp_path / "store", key_file, record="line", words="no samples")


@pytest.mark.parametrize("gt,words", [("0/x", "unreadable record"), ("0/5", "malformed GT"), ("0/1/", "unreadable record")])
def test_malformed_gt(tmp_path, key_file, gt, words):
    text = header(SAMPLES) + _rec("chr1", 100) + _rec("chr1", 200, f"0/1\t{gt}\t0/0") + _rec("chr1", 300)
    vcf = write_vcf(tmp_path / "badgt.vcf", text)
    line = _refused(vcf, tmp_path / "store", key_file, words=words)
    assert "chr1:100" in line or "chr1:200" in line, line  # the bad record, or the last good one before it


def test_duplicate_sample_ids(tmp_path, key_file):
    vcf = write_vcf(tmp_path / "dup.vcf", header(["A", "B", "A"]) + _rec("chr1", 100))
    _refused(vcf, tmp_path / "store", key_file, record="line", words="duplicate sample ID 'A'")


def test_unsorted_records(tmp_path, key_file):
    vcf = write_vcf(tmp_path / "unsorted.vcf", header(SAMPLES) + _rec("chr1", 500) + _rec("chr1", 100) + _rec("chr1", 900))
    _refused(vcf, tmp_path / "store", key_file, record="chr1:100", words="not sorted")


def test_unsorted_contigs(tmp_path, key_file):
    text = header(SAMPLES) + _rec("chr1", 500) + _rec("chr2", 100) + _rec("chr1", 900)
    vcf = write_vcf(tmp_path / "unsorted2.vcf", text)
    _refused(vcf, tmp_path / "store", key_file, record="chr1:900", words="not sorted")


def test_unknown_contig(tmp_path, key_file):
    vcf = write_vcf(tmp_path / "unknown.vcf", header(SAMPLES) + _rec("chr1", 100) + _rec("chr7", 100))
    _refused(vcf, tmp_path / "store", key_file, record="chr7:100", words="not declared")


def test_grch37_refused_unless_asked(tmp_path, key_file):
    text = header(SAMPLES, {"1": GRCH37_CHR1}) + _rec("1", 100) + _rec("1", 249_000_000)
    vcf = write_vcf(tmp_path / "b37.vcf", text)
    _refused(vcf, tmp_path / "store", key_file, record="header", words="--build GRCh37")
    proc = run_hpcgen("ingest", str(vcf), "--out", str(tmp_path / "store"), "--key-file", str(key_file), "--build", "GRCh37")
    assert proc.returncode == 0, proc.stderr
    from hpcgen.store import GenotypeStore

    assert GenotypeStore.open(tmp_path / "store").build == "GRCh37"


def test_grch37_detected_from_positions(tmp_path, key_file):
    # no contig lengths: a position past GRCh38's chr1 (248,956,422) but inside GRCh37's can only be GRCh37
    text = header(SAMPLES, {"chr1": None}) + _rec("chr1", 100) + _rec("chr1", 249_000_000)
    vcf = write_vcf(tmp_path / "b37pos.vcf", text)
    _refused(vcf, tmp_path / "store", key_file, record="chr1:249000000", words="GRCh37")


def test_grch38_refused_under_build_grch37(tmp_path, key_file):
    vcf = write_vcf(tmp_path / "b38.vcf", header(SAMPLES) + _rec("chr1", 100))
    _refused(vcf, tmp_path / "store", key_file, "--build", "GRCh37", record="header", words="--build GRCh38")


def test_missing_index_in_read_only_folder(tmp_path, key_file):
    ro = tmp_path / "ro"
    ro.mkdir()
    vcf = write_vcf(ro / "noindex.vcf", header(SAMPLES) + _rec("chr1", 100))
    locked = _make_unwritable(ro)
    try:
        probe = ro / "probe"
        with pytest.raises(OSError):  # the folder really is unwritable, even for root
            probe.write_text("x")
        _refused(vcf, tmp_path / "store", key_file, words="read-only")
    finally:
        locked()
    assert not list(ro.glob("*.tbi")) and not list(ro.glob("*.csi"))


def _make_unwritable(folder: Path):
    """Make ``folder`` unwritable for everyone, root included; return the function that undoes it."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return lambda: folder.chmod(0o755)
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0:
        return lambda: subprocess.run(["chattr", "-i", str(folder)], check=True)
    # a read-only bind mount: works where chattr does not (tmpfs, overlay)
    subprocess.run(["mount", "--bind", str(folder), str(folder)], check=True)
    subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], check=True)
    return lambda: subprocess.run(["umount", str(folder)], check=True)


def test_rerun_after_bad_input_leaves_no_old_manifest(tmp_path, key_file):
    """A store that existed is not left looking complete when a later ingest into it fails."""
    good = write_vcf(tmp_path / "good.vcf", header(SAMPLES) + _rec("chr1", 100))
    out = tmp_path / "store"
    assert run_hpcgen("ingest", str(good), "--out", str(out), "--key-file", str(key_file)).returncode == 0
    bad = write_vcf(tmp_path / "bad.vcf", header(SAMPLES) + _rec("chr1", 100) + _rec("chr1", 200, "0/1\t0/9\t0/0"))
    _refused(bad, out, key_file, words="malformed GT")


def test_read_only_folder_with_index_is_fine(tmp_path, key_file):
    """The counterpart: an indexed file in a read-only folder ingests, and nothing is written beside it."""
    ro = tmp_path / "ro"
    ro.mkdir()
    vcf = write_vcf(ro / "indexed.vcf", header(SAMPLES) + _rec("chr1", 100) + _rec("chr1", 200), index=True)
    before = sorted(p.name for p in ro.iterdir())
    locked = _make_unwritable(ro)
    try:
        proc = run_hpcgen("ingest", str(vcf), "--out", str(tmp_path / "store"), "--key-file", str(key_file))
    finally:
        locked()
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in ro.iterdir()) == before
