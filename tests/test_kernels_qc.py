"""QC kernels against their plain-Python twins, and the Dask pass against a naive whole-array count.

Property tests draw genotype arrays with missing calls, haploid calls (-2 padding) and odd shapes, and
chunk them unevenly: totals must not depend on the chunking. The twins are also run once with numba
switched off (NUMBA_DISABLE_JIT=1, in a subprocess) so the kernels' Python bodies execute and count in coverage.
"""
from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hpcgen.kernels import hardcalls, hwe, king, layout, pca_blocks, qc_counts
from tests.conftest import REPO

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def random_block(rng: np.random.Generator, n_var: int, n_smp: int, p_missing: float = 0.1, p_haploid: float = 0.1) -> np.ndarray:
    """int8 (n_var, n_smp, 2): random 0/1 alleles, missing alleles, haploid calls, half calls."""
    g = (rng.random((n_var, n_smp, 2)) < rng.random((n_var, 1, 1))).astype(np.int8)
    g[rng.random((n_var, n_smp)) < p_haploid, 1] = -2
    miss = rng.random((n_var, n_smp, 2)) < p_missing / 2
    g[miss & (g != -2)] = -1
    if n_var:
        g[0] = 0  # monomorphic
    if n_var > 1:
        g[1] = -1  # all missing
    return g


@st.composite
def blocks(draw):
    seed = draw(st.integers(0, 2**31))
    n_var = draw(st.integers(1, 60))
    n_smp = draw(st.integers(1, 40))
    return random_block(np.random.default_rng(seed), n_var, n_smp, draw(st.floats(0, 0.5)), draw(st.floats(0, 0.5))), seed


@given(blocks())
@SETTINGS
def test_block_counts_twin(data):
    g, seed = data
    rng = np.random.default_rng(seed)
    vclass = rng.integers(0, 4, g.shape[0]).astype(np.uint8)
    auto = rng.integers(0, 2, g.shape[0]).astype(np.uint8)
    vc, sc = qc_counts.block_counts(g, vclass, auto)
    rvc, rsc = qc_counts.block_counts_reference(g, vclass, auto)
    np.testing.assert_array_equal(vc, rvc)
    np.testing.assert_array_equal(sc, rsc)
    # every call is exactly one of the classes
    assert (vc[:, :6].sum(axis=1) == g.shape[1]).all()
    rows = np.flatnonzero(rng.random(g.shape[0]) < 0.5).astype(np.int64)
    w = rng.random((g.shape[0], 3))
    np.testing.assert_allclose(qc_counts.expected_hom_sums(g, w, rows), qc_counts.expected_hom_sums_reference(g, w, rows))
    # the generic (any ploidy) kernels agree with the diploid fast path
    g3 = np.concatenate([g, np.full(g.shape[:2] + (1,), -2, np.int8)], axis=2)  # ploidy 3, padded
    for got, ref in zip(qc_counts._block_counts_any_ploidy(g, vclass, auto), (vc, sc)):
        np.testing.assert_array_equal(got, ref)
    for got, ref in zip(qc_counts.block_counts(g3, vclass, auto), (vc, sc)):
        np.testing.assert_array_equal(got, ref)
    np.testing.assert_allclose(qc_counts.expected_hom_sums(g3, w, rows), qc_counts.expected_hom_sums_reference(g, w, rows))
    # singleton rows as the QC pass lists them (one heterozygote carries the allele seen once)
    het, hom_ref, hom_alt = rvc[:, qc_counts.V_HET], rvc[:, qc_counts.V_HOM_REF], rvc[:, qc_counts.V_HOM_ALT]
    alt_once, ref_once = (het == 1) & (hom_alt == 0), (het == 1) & (hom_ref == 0)
    singles = np.flatnonzero(alt_once | ref_once).astype(np.int64)
    which = alt_once[singles].astype(np.int8)
    np.testing.assert_array_equal(qc_counts.carrier_counts(g, singles, which),
                                  qc_counts.carrier_counts_reference(g, singles, which))
    # the generic kernel (any ploidy) on arbitrary rows
    alleles = rng.integers(0, 2, len(rows)).astype(np.int8)
    np.testing.assert_array_equal(qc_counts.carrier_counts(g3, rows, alleles), qc_counts.carrier_counts_reference(g, rows, alleles))


@st.composite
def wide_blocks(draw):
    """Blocks spanning several 64-sample words and more than 255 rows of one category (counter folds)."""
    seed = draw(st.integers(0, 2**31))
    n_var = draw(st.integers(1, 400))
    n_smp = draw(st.integers(1, 150))
    p_haploid = draw(st.sampled_from([0.0, 0.0, 0.002, 0.2, 0.5]))
    g = random_block(np.random.default_rng(seed), n_var, n_smp, draw(st.floats(0, 0.3)), p_haploid)
    odd = np.random.default_rng(seed + 1).random((n_var, n_smp)) < 0.0005
    g[odd, 0] = 3  # an allele code above 1 (or a -2 first allele): the row is not held by the planes
    g[odd & (np.arange(n_smp) % 2 == 0), 0] = -2
    return g, seed, draw(st.integers(1, 8))


@given(wide_blocks())
@SETTINGS
def test_hardcall_twin(data):
    """Bit-plane counts equal the int8 reference on every held row (haploid ones too); others are left at 0."""
    g, seed, n_categories = data
    rng = np.random.default_rng(seed)
    bits, hap, exact = hardcalls.pack_hardcalls(g)
    ref_bits, ref_hap, ref_exact = hardcalls.pack_hardcalls_reference(g)
    np.testing.assert_array_equal(bits, ref_bits)
    np.testing.assert_array_equal(hap, ref_hap)
    np.testing.assert_array_equal(exact, ref_exact)
    cat = rng.integers(0, n_categories, g.shape[0])
    vclass, auto = (cat // 2 % 4).astype(np.uint8), (cat % 2).astype(np.uint8)
    if not (exact == hardcalls.EXACT_HAPLOID).any() and seed % 2:
        hap = hap[:0]  # the reader's form when no row has a haploid call
    vc, sc, het, single = hardcalls.hardcall_counts(bits, hap, exact, g.shape[1], vclass, auto,
                                                    *layout.no_sparse_rows(len(exact)))
    # the same rows with the sparse ones listed by their carriers (what the store holds) give the same counts
    sp_bits, sp_exact = bits.copy(), exact.copy()
    ends, carriers = hardcalls.split_sparse_rows(sp_bits, sp_exact, seed % 7)
    offsets = np.concatenate([[0], ends])
    # every row's planes (a listed row's zero, store version 2) or the held rows' only (version 3)
    held = np.ascontiguousarray(sp_bits[sp_exact != layout.EXACT_SPARSE])
    for planes in (sp_bits, held):
        for got, want in zip(hardcalls.hardcall_counts(planes, hap, sp_exact, g.shape[1], vclass, auto, offsets,
                                                       carriers), (vc, sc, het, single)):
            np.testing.assert_array_equal(got, want)
    # and filling the listed rows back gives the planes, from either form
    for n_held in (len(sp_exact), len(held)):
        fb, fe = np.full_like(bits, 7), sp_exact.copy()
        fb[:n_held] = sp_bits if n_held == len(sp_exact) else held
        hardcalls.fill_sparse_rows(fb, n_held, fe, offsets, carriers)
        np.testing.assert_array_equal(fb, bits)
        np.testing.assert_array_equal(fe, exact)
    keep = exact != hardcalls.EXACT_NO
    sub = np.ascontiguousarray(g[keep])
    rvc, rsc = qc_counts.block_counts_reference(sub, vclass[keep], auto[keep])
    np.testing.assert_array_equal(vc[keep], rvc)
    assert not vc[~keep].any()
    np.testing.assert_array_equal(sc, rsc)
    from hpcgen.qc.counts import HET_E, HET_O, HET_OBS, _row_weights

    w, rows, totals, (singles, which) = _row_weights(rvc, auto[keep])
    missed = qc_counts.expected_hom_sums_reference(sub, w, rows)
    np.testing.assert_allclose(het[:, HET_OBS], totals[1] - missed[:, 1])
    np.testing.assert_allclose(het[:, HET_O], rsc[:, qc_counts.S_AUTO_HOM] - (totals[2] - missed[:, 2]))
    np.testing.assert_allclose(het[:, HET_E], totals[0] - missed[:, 0], rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(single, qc_counts.carrier_counts_reference(sub, singles, which))


@given(st.integers(0, 2**31), st.integers(1, 300), st.sampled_from([64, 700, 1500]))
@SETTINGS
def test_hardcall_sparse_rows_twin(seed, n_var, n_smp):
    """Cohort-like rows (most with a few carriers, some common): the per-carrier path and the vertical counters
    together equal the reference, across folds of the counters (> 255 rows of a category); the rare rows listed
    by their carriers as the store holds them (EXACT_SPARSE)."""
    rng = np.random.default_rng(seed)
    af = np.where(rng.random(n_var) < 0.85, rng.random(n_var) * 3 / n_smp, rng.random(n_var))
    g = (rng.random((n_var, n_smp, 2)) < af[:, None, None]).astype(np.int8)
    g[rng.random((n_var, n_smp)) < 0.01] = -1
    vclass = rng.integers(0, 4, n_var).astype(np.uint8)
    auto = rng.integers(0, 2, n_var).astype(np.uint8)
    bits, hap, exact = hardcalls.pack_hardcalls(g)
    rvc, rsc = qc_counts.block_counts_reference(g, vclass, auto)
    from hpcgen.qc.counts import _row_weights

    w, rows, totals, (singles, which) = _row_weights(rvc, auto)
    missed = qc_counts.expected_hom_sums_reference(g, w, rows)
    ends, carriers = hardcalls.split_sparse_rows(bits, exact, layout.sparse_max_carriers(bits.shape[2]))
    assert (exact == layout.EXACT_SPARSE).any() or n_var < 5
    held = np.ascontiguousarray(bits[exact != layout.EXACT_SPARSE])  # as the store holds them
    vc, sc, het, single = hardcalls.hardcall_counts(held, hap[:0], exact, n_smp, vclass, auto,
                                                    np.concatenate([[0], ends]), carriers)
    np.testing.assert_array_equal(vc, rvc)
    np.testing.assert_array_equal(sc, rsc)
    np.testing.assert_allclose(het[:, 2], totals[0] - missed[:, 0], rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(het[:, 0], totals[1] - missed[:, 1])
    np.testing.assert_array_equal(single, qc_counts.carrier_counts_reference(g, singles, which))


def test_hardcall_popcount_edges():
    for x in (0, 1, 2**63, 2**64 - 1, 0x5555555555555555):
        assert hardcalls.popcount64(np.uint64(x)) == bin(x).count("1")


@given(st.integers(0, 300), st.integers(0, 300), st.integers(0, 300), st.booleans())
@SETTINGS
def test_hwe_twin(n_het, n_hom1, n_hom2, midp):
    got = hwe.hwe_lnp(n_het, n_hom1, n_hom2, midp)
    ref = hwe.hwe_lnp_reference(n_het, n_hom1, n_hom2, midp)
    if math.isnan(ref):
        assert math.isnan(got)
    else:
        assert got == pytest.approx(ref, rel=1e-9, abs=1e-12)
        assert got <= 0.0


def test_hwe_edges_and_extremes():
    # monomorphic: p = 1 (mid-p 1/2, as plink2 prints); nothing called: NaN
    assert hwe.hwe_lnp(0, 50, 0, False) == 0.0
    assert hwe.hwe_lnp(0, 50, 0, True) == pytest.approx(math.log(0.5))
    assert math.isnan(hwe.hwe_lnp(0, 0, 0, False))
    # swapping the homozygote classes changes nothing
    assert hwe.hwe_lnp(10, 20, 30, False) == hwe.hwe_lnp(10, 30, 20, False)
    # p far below the smallest double stays finite in log space and matches the enumeration
    for counts in [(0, 3000, 3000), (6000, 0, 0), (5, 4000, 100)]:
        got = hwe.hwe_lnp(*counts, True)
        assert math.isfinite(got) and got < -300  # exp(-300) ~ 1e-130; the first two need the log-space branch
        assert got == pytest.approx(hwe.hwe_lnp_reference(*counts, True), rel=1e-9)
    arr = hwe.hwe_lnp_array(np.array([10, 0]), np.array([20, 5]), np.array([30, 5]), False)
    assert arr[0] == hwe.hwe_lnp(10, 20, 30, False) and arr[1] == hwe.hwe_lnp(0, 5, 5, False)


@given(st.integers(0, 2**31), st.integers(1, 200), st.integers(2, 40), st.integers(1, 39), st.integers(0, 7))
@SETTINGS
def test_king_twin(seed, n_var, n_smp, split, tile):
    """Bit-set KING counts equal a loop per pair: several words of variants, cache tiles of any size, and a
    block against itself (upper triangle only)."""
    rng = np.random.default_rng(seed)
    g = random_block(rng, n_var, n_smp, rng.uniform(0, 0.5), rng.uniform(0, 0.5))
    split = min(split, n_smp - 1)
    ga, gb = g[:, :split], g[:, split:]  # views, as the QC task passes them
    got = np.zeros((5, ga.shape[1], gb.shape[1]), dtype=np.int32)
    king.king_pair_counts(king.king_bitsets(ga), king.king_bitsets(gb), False, got, tile)
    np.testing.assert_array_equal(got, king.king_pair_counts_reference(ga, gb))
    # counts add up across blocks of variants
    half = n_var // 2
    twice = np.zeros_like(got)
    for part in (g[:half], g[half:]):
        king.king_pair_counts(king.king_bitsets(part[:, :split]), king.king_bitsets(part[:, split:]), False, twice, tile)
    np.testing.assert_array_equal(twice, got)
    same = np.zeros((5, n_smp, n_smp), dtype=np.int32)
    bits = king.king_bitsets(g)
    king.king_pair_counts(bits, bits, True, same, tile)
    upper = np.triu(np.ones((n_smp, n_smp), dtype=bool), k=1)
    ref = king.king_pair_counts_reference(g, g)
    np.testing.assert_array_equal(same[:, upper], ref[:, upper])
    assert not same[:, ~upper].any()


@given(blocks())
@SETTINGS
def test_standardize_twin(data):
    g, seed = data
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.01, 0.99, g.shape[0])
    inv_sd = 1 / np.sqrt(2 * p * (1 - p))
    inv_sd[rng.random(g.shape[0]) < 0.2] = 0.0
    np.testing.assert_allclose(pca_blocks.standardize_block(g, 2 * p, inv_sd),
                               pca_blocks.standardize_block_reference(g, 2 * p, inv_sd), rtol=1e-6, atol=1e-6)
    # products through the carriers of the bit-planes' rows equal products with the standardized calls
    bits, hap, exact = hardcalls.pack_hardcalls(g)
    held = exact != hardcalls.EXACT_NO
    x = pca_blocks.standardize_block(g[held], 2 * p[held], inv_sd[held]).astype(np.float64)
    right = rng.standard_normal((g.shape[1], 5))
    left = rng.standard_normal((int(held.sum()), 5))
    haps = [hap[held]] + ([np.zeros((0, hap.shape[1]), np.uint64)] if not hap[held].any() else [])  # as the store gives
    for h in haps:
        got = pca_blocks.planes_times(bits[held], h, 2 * p[held], inv_sd[held], right, right.sum(axis=0))
        np.testing.assert_allclose(got, x @ right, rtol=1e-5, atol=1e-5)
        acc = np.ones((g.shape[1], 5))  # added to
        pca_blocks.planes_transpose_times(bits[held], h, 2 * p[held], inv_sd[held], left, acc)
        np.testing.assert_allclose(acc, 1 + x.T @ left, rtol=1e-5, atol=1e-5)


def naive_counts(g: np.ndarray, auto: np.ndarray):
    """Whole-array totals written from the definitions (not from the kernels): het sums and singletons."""
    present = (g >= 0).sum(axis=2)
    missing = (g == -1).any(axis=2) | (present == 0)
    alt = (g > 0).sum(axis=2)
    dip = ~missing & (present == 2)
    an = np.where(~missing, present, 0).sum(axis=1)
    ac = np.where(~missing, alt, 0).sum(axis=1)
    p = np.divide(ac, an, out=np.full(len(an), np.nan), where=an > 0)
    inc = (auto != 0) & (ac > 0) & (ac < an)
    hom = dip & ((alt == 0) | (alt == present))
    obs = (dip & inc[:, None]).sum(axis=0)
    o_hom = (hom & inc[:, None]).sum(axis=0)
    e_hom = np.where(dip & inc[:, None], (1 - 2 * p * (1 - p))[:, None], 0).sum(axis=0)
    # bcftools stats: the heterozygote carrying an allele seen once (ALT, else REF) among the diploid calls
    het = dip & (alt == 1)
    n_het, n_hom_ref, n_hom_alt = het.sum(axis=1), (dip & (alt == 0)).sum(axis=1), (dip & (alt == 2)).sum(axis=1)
    once = (n_het == 1) & ((n_hom_alt == 0) | (n_hom_ref == 0))
    singles = (once[:, None] & het).sum(axis=0)
    return an, ac, obs, o_hom, e_hom, singles


@given(blocks(), st.lists(st.integers(1, 25), min_size=1, max_size=4), st.lists(st.integers(1, 17), min_size=1, max_size=4))
@SETTINGS
def test_dask_pass_matches_naive_any_chunking(data, v_chunks, s_chunks):
    import dask.array as da

    from hpcgen.qc.counts import HET_E, HET_O, HET_OBS, compute_counts

    g, seed = data
    rng = np.random.default_rng(seed)

    def cover(n: int, sizes: list[int]) -> tuple[int, ...]:
        out, k = [], 0
        while sum(out) < n:
            out.append(min(sizes[k % len(sizes)], n - sum(out)))
            k += 1
        return tuple(out)

    gt = da.from_array(g, chunks=(cover(g.shape[0], v_chunks), cover(g.shape[1], s_chunks), 2))
    vclass = rng.integers(0, 4, g.shape[0]).astype(np.uint8)
    auto = rng.integers(0, 2, g.shape[0]).astype(np.uint8)
    got = compute_counts(gt, vclass, auto, scheduler="sync")
    vc, sc = qc_counts.block_counts_reference(g, vclass, auto)
    np.testing.assert_array_equal(got.variant, vc)
    np.testing.assert_array_equal(got.sample, sc)
    an, ac, obs, o_hom, e_hom, singles = naive_counts(g, auto)
    np.testing.assert_array_equal(got.variant[:, qc_counts.V_AN], an)
    np.testing.assert_array_equal(got.variant[:, qc_counts.V_AC], ac)
    np.testing.assert_allclose(got.het[:, HET_OBS], obs)
    np.testing.assert_allclose(got.het[:, HET_O], o_hom)
    np.testing.assert_allclose(got.het[:, HET_E], e_hom, rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(got.singletons, singles)


def test_kernels_run_as_python_under_disabled_jit():
    """The twin tests again with numba off: kernels execute as Python (coverage) and still agree."""
    if os.environ.get("NUMBA_DISABLE_JIT") == "1":
        pytest.skip("already running with NUMBA_DISABLE_JIT=1")  # the inner run: nothing to recurse into
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1", "HYPOTHESIS_PROFILE": "default"}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(REPO / "tests" / "test_kernels_qc.py"),
         "-k", "twin or edges", "-x"],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout


@given(st.integers(0, 2**31), st.integers(1, 200), st.integers(1, 300), st.integers(0, 4), st.booleans())
@SETTINGS
def test_king_bitsets_from_planes(seed, n_var, n_smp, start_word, empty_hap):
    """The KING bit sets transposed from the bit-planes equal those built from the int8 calls, for any
    sample range starting on a word, partial groups of 64 variants, and haploid calls."""
    from hpcgen.kernels.hardcalls import EXACT_NO, pack_hardcalls

    rng = np.random.default_rng(seed)
    g = random_block(rng, n_var, n_smp, rng.uniform(0, 0.5), 0.0 if empty_hap else rng.uniform(0, 0.5))
    bits, hap, exact = pack_hardcalls(g)
    held = exact != EXACT_NO
    s0 = min(64 * start_word, 64 * ((n_smp - 1) // 64))
    s1 = int(rng.integers(s0 + 1, n_smp + 1))
    hap_rows = np.zeros((0, hap.shape[1]), np.uint64) if empty_hap else hap[held]  # as the store returns it
    got = king.king_bitsets_planes(bits[held], hap_rows, s0, s1)
    np.testing.assert_array_equal(got, king.king_bitsets(g[held][:, s0:s1]))


def test_transpose64():
    rng = np.random.default_rng(7)
    x = rng.integers(0, 2**64, 64, dtype=np.uint64, endpoint=False)
    as_bits = ((x[:, None] >> np.arange(64, dtype=np.uint64)) & np.uint64(1)).astype(bool)
    y = x.copy()
    king.transpose64(y)
    np.testing.assert_array_equal(((y[:, None] >> np.arange(64, dtype=np.uint64)) & np.uint64(1)).astype(bool), as_bits.T)


@given(st.integers(0, 2**31), st.integers(1, 150), st.integers(2, 200), st.integers(0, 400), st.booleans(),
       st.floats(0, 0.3))
@SETTINGS
def test_king_sparse_rows(seed, n_var, n_smp, max_carriers, same, alt_freq):
    """Rows counted through their carriers plus the rest through the pair kernel equal a loop per pair, for
    any split between the two paths (max_carriers 0: all dense; large: all through carriers)."""
    from hpcgen.kernels.hardcalls import EXACT_NO, pack_hardcalls

    rng = np.random.default_rng(seed)
    g = (rng.random((n_var, n_smp, 2)) < alt_freq * rng.random((n_var, 1, 1))).astype(np.int8)  # mostly rare
    g[rng.random((n_var, n_smp)) < 0.05, 1] = -2  # haploid calls
    g[rng.random((n_var, n_smp, 2)) < 0.03] = -1  # missing alleles
    bits, hap, exact = pack_hardcalls(g)
    held = exact != EXACT_NO
    g, bits, hap = g[held], bits[held], hap[held]
    if same:
        a = b = (0, n_smp)
    else:
        cut = 64 * int(rng.integers(0, (n_smp - 1) // 64 + 1))
        a, b = (0, cut), (cut, n_smp)
        if cut == 0:
            a, b = (0, n_smp), (0, n_smp)  # one block against a copy of itself, both triangles
    out = np.zeros((5, a[1] - a[0], b[1] - b[0]), dtype=np.int32)
    row_add = np.zeros((5, a[1] - a[0]), dtype=np.int32)
    col_add = np.zeros((5, b[1] - b[0]), dtype=np.int32)
    dense, n_sparse = king.king_sparse_rows(bits, hap, a[0], a[1], b[0], b[1], same, max_carriers, out, row_add, col_add)
    assert n_sparse == (~dense).sum()
    ba = king.king_bitsets_planes(bits[dense], hap[dense], *a)
    king.king_pair_counts(ba, ba if same else king.king_bitsets_planes(bits[dense], hap[dense], *b), same, out)
    out += row_add[:, :, None] + col_add[:, None, :]
    out[0] += n_sparse
    ref = king.king_pair_counts_reference(g[:, a[0]:a[1]], g[:, b[0]:b[1]])
    if same:
        upper = np.triu(np.ones(ref.shape[1:], dtype=bool), k=1)
        np.testing.assert_array_equal(out[:, upper], ref[:, upper])
    else:
        np.testing.assert_array_equal(out, ref)
