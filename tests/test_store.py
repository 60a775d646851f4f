"""The store's writer and reader on their own: round trips over codecs, chunkings and ploidies; Dask = numpy."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from conftest import run_hpcgen
from hpcgen.errors import InputError
from hpcgen.store import GenotypeStore, ShardWriter
from hpcgen.store import schema as S
from hpcgen.store.manifest import build_manifest, write_manifest

N_SAMPLES = 7


def _random_shard(rng, n, ploidy=2):
    g = rng.integers(-1, 2, size=(n, N_SAMPLES, ploidy)).astype(np.int8)
    haploid = rng.random((n, N_SAMPLES)) < 0.2
    g[..., 1][haploid] = S.ABSENT
    phased = (rng.random((n, N_SAMPLES)) < 0.5) & ~haploid
    dp = rng.integers(-1, 50, size=(n, N_SAMPLES)).astype(np.int32)
    return g, phased, dp


def _make_store(path, shards, codec="zstd", chunk_variants=4, chunk_samples=3):
    """Write shards [(chrom, start, end, positions, genotypes, phased, dp)] and a manifest."""
    samples = [f"P{i:016x}" for i in range(N_SAMPLES)]
    infos = []
    for chrom, start, end, pos, g, ph, dp in shards:
        w = ShardWriter(path / S.SHARDS_DIR / S.shard_name(chrom, start, end), samples, chrom, start, end,
                        fields=["dp"], chunk_variants=chunk_variants, chunk_samples=chunk_samples, codec=codec,
                        attrs={"build": "GRCh38"}, ploidy=1)
        for i, p in enumerate(pos):
            keep = g.shape[2] if i % 5 else 1  # some records written at lower ploidy: padding must read as -2
            gi = g[i, :, :keep] if keep == g.shape[2] or (g[i, :, keep:] == S.ABSENT).all() else g[i]
            w.add(int(p), f"rs{p}", "A", "C", float(i), "PASS", gi, ph[i], {"dp": dp[i]})
        infos.append(w.close())
    store_cfg = {"chunk_variants": chunk_variants, "chunk_samples": chunk_samples, "codec": codec, "clevel": 3}
    write_manifest(path, build_manifest(infos, samples, build="GRCh38", source={"file": "x.vcf.gz", "sha256": "0" * 64,
                                                                                 "format": "vcf"}, store_config=store_cfg))
    return GenotypeStore.open(path)


@pytest.fixture()
def two_shards():
    rng = np.random.default_rng(3)
    out = []
    for chrom, start, end, n in [("chr1", 1, 1000, 11), ("chr1", 1001, 2000, 0), ("chr2", 1, 5000, 9)]:
        pos = np.sort(rng.choice(np.arange(start, end + 1), size=n, replace=False))
        out.append((chrom, start, end, pos, *_random_shard(rng, n)))
    return out


@pytest.mark.parametrize("codec", S.CODECS)
@pytest.mark.parametrize("chunks", [(4, 3), (1, 1), (1000, 100)])
def test_round_trip(tmp_path, two_shards, codec, chunks):
    st = _make_store(tmp_path / "store", two_shards, codec=codec, chunk_variants=chunks[0], chunk_samples=chunks[1])
    g = np.concatenate([s[4] for s in two_shards])
    ph = np.concatenate([s[5] for s in two_shards])
    dp = np.concatenate([s[6] for s in two_shards])
    assert st.n_variants == len(g) == 20 and st.n_samples == N_SAMPLES and st.ploidy == 2
    np.testing.assert_array_equal(st.genotypes(), g)
    np.testing.assert_array_equal(st.phased(), ph)
    np.testing.assert_array_equal(st.field("dp"), dp)
    np.testing.assert_array_equal(st.genotypes_dask().compute(), g)
    np.testing.assert_array_equal(st.phased_dask().compute(), ph)
    np.testing.assert_array_equal(st.field_dask("dp").compute(), dp)
    assert st.genotypes_dask().chunks[1][0] == min(chunks[1], N_SAMPLES)
    v = st.variants()
    assert list(v.columns) == ["chrom", "pos", "id", "ref", "alt", "qual", "filter", "shard", "index_in_shard"]
    assert v["pos"].tolist() == [int(p) for s in two_shards for p in s[3]]
    assert st.verify() == []


def test_variant_index_equals_the_shards(tmp_path, two_shards):
    """variants.parquet (one read) gives exactly what reading every shard gives; verify() covers it."""
    st = _make_store(tmp_path / "store", two_shards)
    assert (st.path / S.VARIANT_INDEX).is_file() and st.manifest["variant_index"]["n_variants"] == 20
    from_index = st.variants()
    manifest = dict(st.manifest)
    del manifest["variant_index"]
    from_shards = GenotypeStore(st.path, manifest).variants()
    assert st._index is not None and GenotypeStore(st.path, manifest)._index is None
    import pandas as pd

    pd.testing.assert_frame_equal(from_index, from_shards)
    for region in ["chr1", "chr2:100-3000", "chr3"]:
        pd.testing.assert_frame_equal(st.variants(region), GenotypeStore(st.path, manifest).variants(region))
    (st.path / S.VARIANT_INDEX).write_bytes(b"not parquet")
    fresh = GenotypeStore.open(st.path)
    assert fresh.verify() == [S.VARIANT_INDEX]
    pd.testing.assert_frame_equal(fresh.variants(), from_shards)  # an unreadable index: the shards are read


def test_region_queries(tmp_path, two_shards):
    st = _make_store(tmp_path / "store", two_shards)
    v = st.variants()
    g = st.genotypes()
    for region, mask in [
        ("chr1", v.chrom == "chr1"),
        ("1:100-600", (v.chrom == "chr1") & v.pos.between(100, 600)),
        (("chr2", 1000, 4000), (v.chrom == "chr2") & v.pos.between(1000, 4000)),
        ("chr2:4001-", (v.chrom == "chr2") & (v.pos >= 4001)),
        ("chr3", v.chrom == "chr3"),
    ]:
        np.testing.assert_array_equal(st.genotypes(region), g[mask.to_numpy()])
        assert st.variants(region)["pos"].tolist() == v[mask]["pos"].tolist()
    qv, qg = st.query("chr1", 1, 10**9)
    assert len(qv) == (v.chrom == "chr1").sum() == len(qg)


def test_ploidy_grows_mid_shard(tmp_path):
    w = ShardWriter(tmp_path / "s.h5", ["a", "b"], "chrX", 1, 100, chunk_variants=2, ploidy=1)
    w.add(1, ".", "A", "C", np.nan, ".", np.array([[0], [1]], np.int8), np.zeros(2, bool))
    w.add(2, ".", "A", "C", np.nan, ".", np.array([[0], [1]], np.int8), np.zeros(2, bool))
    w.add(3, ".", "A", "C", np.nan, ".", np.array([[0, 1, 1], [1, -2, -2]], np.int8), np.array([True, False]))
    info = w.close()
    assert info.ploidy == 3 and info.n_variants == 3
    import h5py

    with h5py.File(tmp_path / "s.h5") as h5:
        g = h5[S.GENOTYPE][:]
    np.testing.assert_array_equal(g[:, :, 1:][:2], np.full((2, 2, 2), -2))
    np.testing.assert_array_equal(g[2], [[0, 1, 1], [1, -2, -2]])
    with h5py.File(tmp_path / "s.h5") as h5:  # bit-planes hold diploid calls only
        assert S.HARDCALL not in h5 and S.HARDCALL_EXACT not in h5 and S.HARDCALL_HAPLOID not in h5
    w = ShardWriter(tmp_path / "t.h5", ["a", "b"], "chr1", 1, 100, chunk_variants=1)
    w.add(1, ".", "A", "C", np.nan, ".", np.array([[0, 1], [1, 1]], np.int8), np.zeros(2, bool))
    w.add(2, ".", "A", "C", np.nan, ".", np.array([[0, 1, 1], [1, -2, -2]], np.int8), np.zeros(2, bool))
    w.close()
    with h5py.File(tmp_path / "t.h5") as h5:  # written for the first row, dropped when ploidy grew to 3
        assert S.HARDCALL not in h5 and h5[S.GENOTYPE].shape == (2, 2, 3)


@pytest.mark.parametrize("codec", ["lz4", "zstd"])
def test_hardcall_planes_hold_the_calls(tmp_path, two_shards, codec):
    from hpcgen.kernels.hardcalls import pack_hardcalls_reference

    st = _make_store(tmp_path / "store", two_shards, codec=codec, chunk_variants=4)
    for i, shard in enumerate(st.shards):
        if shard.n_variants == 0:  # created at ploidy 1 and never grown: no planes
            assert st.read_hardcall_rows(i, 0, 0) is None
            continue
        for a, b in [(0, shard.n_variants), (1, min(shard.n_variants, 6))]:
            bits, hap, exact = st.read_hardcall_rows(i, a, b)
            ref_bits, ref_hap, ref_exact = pack_hardcalls_reference(st.read_genotype_rows(i, a, b))
            np.testing.assert_array_equal(bits, ref_bits)
            np.testing.assert_array_equal(hap, ref_hap if (ref_exact == 2).any() else ref_hap[:0])
            np.testing.assert_array_equal(exact, ref_exact)
    # the shards hold haploid calls: the haploid plane is there
    assert (st.read_hardcall_rows(0, 0, st.shards[0].n_variants)[2] == 2).any()


def test_incomplete_or_foreign_store_refused(tmp_path, two_shards):
    st = _make_store(tmp_path / "store", two_shards)
    manifest = json.loads((st.path / "manifest.json").read_text())
    (st.path / "manifest.json").unlink()
    with pytest.raises(InputError, match="not a complete genotype store"):
        GenotypeStore.open(st.path)
    (st.path / "manifest.json").write_text(json.dumps({**manifest, "schema_version": 99}))
    with pytest.raises(InputError, match="re-ingest"):
        GenotypeStore.open(st.path)
    (st.path / "manifest.json").write_text(json.dumps(manifest))
    (st.path / manifest["shards"][0]["file"]).unlink()
    with pytest.raises(InputError, match="shard missing"):
        GenotypeStore.open(st.path)


def test_verify_detects_a_changed_shard(tmp_path, two_shards):
    st = _make_store(tmp_path / "store", two_shards)
    shard = st.path / st.shards[0].file
    data = bytearray(shard.read_bytes())
    data[-10] ^= 1
    shard.write_bytes(bytes(data))
    assert st.verify() == [st.shards[0].file]
    proc = run_hpcgen("store", "info", str(st.path), "--verify")
    assert proc.returncode == 2 and "checksum mismatch" in proc.stderr


def test_store_info_cli_and_attributes(tmp_path, two_shards):
    st = _make_store(tmp_path / "store", two_shards)
    proc = run_hpcgen("store", "info", str(st.path), "--json", "--verify")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["n_variants"] == 20 and info["n_samples"] == N_SAMPLES and info["verified"] is True
    assert info["hardcall_shards"] == 2 and info["variant_index"] == S.VARIANT_INDEX  # the empty shard has none
    assert info["chunk_index"] == "chunks.json" and info["schema_version"] == S.SCHEMA_VERSION
    import h5py

    with h5py.File(st.path / st.shards[0].file) as h5:
        assert h5.attrs["schema_version"] == S.SCHEMA_VERSION and h5.attrs["build"] == "GRCh38"
        assert h5[S.SAMPLES].asstr()[:].tolist() == st.samples.tolist()
    assert os.environ["HDF5_USE_FILE_LOCKING"] == "FALSE"
    assert not list((st.path / S.SHARDS_DIR).glob(".*"))


def test_shards_of_different_ploidy_are_padded(tmp_path):
    """A haploid-only shard (chrY) beside a diploid one: both readers pad it to the store's ploidy with -2."""
    samples = ["Pa", "Pb"]
    infos = []
    for chrom, calls in [("chr1", [[0, 1], [1, 1]]), ("chrY", [[1], [-1]])]:
        w = ShardWriter(tmp_path / "st" / S.SHARDS_DIR / S.shard_name(chrom, 1, 100), samples, chrom, 1, 100,
                        ploidy=1, chunk_variants=3)
        w.add(5, ".", "A", "G", 1.0, "PASS", np.array(calls, np.int8), np.array([False, True]))
        infos.append(w.close())
    write_manifest(tmp_path / "st", build_manifest(infos, samples, build="GRCh38", source={},
                                                  store_config={"chunk_variants": 3, "chunk_samples": 2}))
    st = GenotypeStore.open(tmp_path / "st")
    assert [s.ploidy for s in st.shards] == [2, 1] and st.ploidy == 2
    expected = np.array([[[0, 1], [1, 1]], [[1, -2], [-1, -2]]], np.int8)
    np.testing.assert_array_equal(st.genotypes(), expected)
    np.testing.assert_array_equal(st.genotypes_dask().compute(), expected)
    np.testing.assert_array_equal(st.genotypes("chrY"), expected[1:])


def test_store_reindex_restores_the_chunk_index_of_a_copy(tmp_path, two_shards, caplog):
    """A copy without the files' times reads through HDF5 (one warning); ``hpcgen store reindex`` checks the shards
    and rewrites the indexes, after which the chunk index serves the reads again; changed shards are refused."""
    import logging
    import os
    import shutil

    from hpcgen.store import GenotypeStore

    st = _make_store(tmp_path / "store", two_shards, codec="lz4")
    copy = tmp_path / "copy"
    shutil.copytree(st.path, copy, copy_function=shutil.copyfile)  # as cp -r: new times
    for shard in st.shards:
        os.utime(copy / shard.file, ns=(1, 1))
    i = next(k for k, s in enumerate(st.shards) if s.n_variants)
    expect = st.read_hardcall_rows(i, 0, st.shards[i].n_variants, listed=True)
    with caplog.at_level(logging.WARNING, logger="hpcgen.store"):
        stale = GenotypeStore.open(copy)
        assert stale._chunk_index[i].valid() is False
    assert any("chunk index" in r.message for r in caplog.records)
    proc = run_hpcgen("store", "reindex", str(copy))
    assert proc.returncode == 0, proc.stderr
    fresh = GenotypeStore.open(copy)
    assert fresh._chunk_index[i].valid() and fresh.verify() == []
    for got, want in zip(fresh.read_hardcall_rows(i, 0, st.shards[i].n_variants, listed=True), expect):
        np.testing.assert_array_equal(got, want)
    with open(copy / st.shards[i].file, "r+b") as f:  # a changed shard: refused, nothing rewritten
        f.seek(100)
        f.write(b"\xff")
    before = (copy / "manifest.json").read_bytes()
    proc = run_hpcgen("store", "reindex", str(copy))
    assert proc.returncode == 2 and "checksum mismatch" in proc.stderr
    assert (copy / "manifest.json").read_bytes() == before


def test_open_shared_is_one_instance_until_the_manifest_changes(tmp_path, two_shards):
    """Tasks of a pass share one opened store per process; a rewritten manifest (here by reindex) opens anew."""
    import os

    from hpcgen.store import GenotypeStore
    from hpcgen.store.manifest import write_manifest

    st = _make_store(tmp_path / "store", two_shards)
    first = GenotypeStore.open_shared(st.path)
    assert GenotypeStore.open_shared(str(st.path) + "/") is first and first is not GenotypeStore.open(st.path)
    write_manifest(st.path, dict(st.manifest, created="later"))
    m = st.path / "manifest.json"
    os.utime(m, ns=(1, os.stat(m).st_mtime_ns + 1_000_000))  # a new time, whatever the clock's resolution
    again = GenotypeStore.open_shared(st.path)
    assert again is not first and again.manifest["created"] == "later"
