"""The ahead-of-time build of the counting kernels (hpcgen.aot) against the jitted kernels it is built from."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hpcgen import aot
from hpcgen.kernels import hardcalls, hwe, qc_counts
from tests.conftest import REPO
from tests.test_kernels_qc import random_block

SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
JIT_OFF = os.environ.get("NUMBA_DISABLE_JIT") == "1"


def compiled():
    """The built module's functions (make setup builds them; under CI a missing build is a failure)."""
    if JIT_OFF:
        pytest.skip("NUMBA_DISABLE_JIT=1: the ahead-of-time module is not used (kernels run as Python)")
    if not aot.available():
        if os.environ.get("CI") == "true":
            pytest.fail("the ahead-of-time kernels are not built or out of date: make setup runs python -m hpcgen.aot build")
        pytest.skip("ahead-of-time kernels not built (python -m hpcgen.aot build)")
    return aot.kernel


def test_built_and_current():
    """make setup leaves a current build, and the CLI says so."""
    compiled()
    proc = subprocess.run([sys.executable, "-m", "hpcgen.aot", "check"], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0 and "current" in proc.stdout
    # the counting pass loads no numba when the build is current
    code = ("import sys; from hpcgen.qc.counts import start_warm_up; start_warm_up().join(); "
            "from hpcgen.aot import kernel; kernel('hardcall_counts'); kernel('block_counts'); kernel('hwe_lnp_array'); "
            "print('numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True).stdout
    assert out.strip() == "False"


@given(st.integers(0, 2**31), st.integers(1, 300), st.integers(1, 150), st.sampled_from([0.0, 0.01, 0.3]))
@SETTINGS
def test_counting_kernels_equal_jitted(seed, n_var, n_smp, p_haploid):
    """Every exported counting kernel returns exactly what the jitted one returns."""
    kernel = compiled()
    rng = np.random.default_rng(seed)
    g = random_block(rng, n_var, n_smp, 0.1, p_haploid)
    odd = rng.random((n_var, n_smp)) < 0.001
    g[odd, 0] = 3  # a row the bit-planes do not hold
    vclass = rng.integers(0, 4, n_var).astype(np.uint8)
    auto = rng.integers(0, 2, n_var).astype(np.uint8)
    bits, hap, exact = hardcalls.pack_hardcalls(g)
    if not (exact == hardcalls.EXACT_HAPLOID).any():
        hap = hap[:0]
    ends, carriers = hardcalls.split_sparse_rows(bits, exact, seed % 9)
    offsets = np.concatenate([[0], ends])
    held = np.ascontiguousarray(bits[exact != hardcalls.EXACT_SPARSE])  # the store's form
    for planes in (bits, held):
        for got, want in zip(kernel("hardcall_counts")(planes, hap, exact, n_smp, vclass, auto, offsets, carriers),
                             hardcalls.hardcall_counts(planes, hap, exact, n_smp, vclass, auto, offsets, carriers)):
            np.testing.assert_array_equal(got, want)
    filled = []
    for fill in (kernel("fill_sparse_rows"), hardcalls.fill_sparse_rows):
        b, e = np.zeros_like(bits), exact.copy()
        b[:len(held)] = held
        fill(b, len(held), e, offsets, carriers)
        filled.append((b, e))
    np.testing.assert_array_equal(filled[0][0], filled[1][0])
    np.testing.assert_array_equal(filled[0][1], filled[1][1])
    for block in (g, np.ascontiguousarray(g[:, :, :1]), g[:, ::2]):  # diploid fast path, haploid store, a view
        for got, want in zip(kernel("block_counts")(block, vclass, auto), qc_counts.block_counts(block, vclass, auto)):
            np.testing.assert_array_equal(got, want)
    rows = np.flatnonzero(rng.random(n_var) < 0.5).astype(np.int64)
    w = rng.random((n_var, 3))
    np.testing.assert_array_equal(kernel("expected_hom_sums")(g, w, rows), qc_counts.expected_hom_sums(g, w, rows))
    alleles = rng.integers(0, 2, rows.size).astype(np.int8)
    np.testing.assert_array_equal(kernel("carrier_counts")(g, rows, alleles), qc_counts.carrier_counts(g, rows, alleles))


@given(st.lists(st.tuples(st.integers(0, 3000), st.integers(0, 3000), st.integers(0, 3000)), min_size=1, max_size=40),
       st.booleans())
@SETTINGS
def test_hwe_equal_jitted(counts, midp):
    kernel = compiled()
    het, h1, h2 = (np.array(c, dtype=np.int64) for c in zip(*counts))
    np.testing.assert_array_equal(kernel("hwe_lnp_array")(het, h1, h2, midp), hwe.hwe_lnp_array(het, h1, h2, midp))


@given(st.lists(st.tuples(st.text("ACGTNacgt*<>é", max_size=3), st.text("ACGTNacgt*<>é", max_size=3)), max_size=40))
@SETTINGS
def test_variant_classes_equal_jitted(pairs):
    from hpcgen.arrowcols import string_buffers
    from hpcgen.kernels import variant_class

    kernel = compiled()
    bufs = (*string_buffers([r for r, _ in pairs]), *string_buffers([a for _, a in pairs]))
    np.testing.assert_array_equal(kernel("variant_classes")(*bufs), variant_class.variant_classes(*bufs))


def test_arguments_are_converted_or_refused():
    """The exported functions trust their argument types: the wrappers convert dtypes and refuse wrong shapes."""
    kernel = compiled()
    het, h1, h2 = np.array([3, 0, 10]), np.array([5, 0, 1]), np.array([2, 7, 0])
    want = hwe.hwe_lnp_array(het, h1, h2, False)
    np.testing.assert_array_equal(kernel("hwe_lnp_array")(het.astype(np.int32), h1.astype(np.uint16), h2[::1], 0), want)
    np.testing.assert_array_equal(kernel("hwe_lnp_array")(list(het), list(h1), list(h2), False), want)
    with pytest.raises(ValueError, match="1-d array"):
        kernel("hwe_lnp_array")(het.reshape(3, 1), h1, h2, False)
    with pytest.raises(TypeError):
        kernel("hwe_lnp_array")(het, h1, False)


def test_stale_build_is_not_used(tmp_path, monkeypatch):
    """A build whose fingerprint no longer matches (a kernel edited since) falls back to the jitted kernels."""
    if JIT_OFF:
        pytest.skip("NUMBA_DISABLE_JIT=1")
    kernels = tmp_path / "kernels"
    shutil.copytree(REPO / "kernels", kernels, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(aot, "KERNELS_DIR", kernels)
    before = aot.fingerprint()
    (kernels / "hwe.py").write_text((kernels / "hwe.py").read_text() + "\n# edited\n")
    assert aot.fingerprint() != before
    build = tmp_path / "build"
    build.mkdir()
    (build / f"{aot.MODULE}.json").write_text(json.dumps({"fingerprint": before, "file": "missing.so"}))
    monkeypatch.setattr(aot, "BUILD_DIR", build)
    monkeypatch.setattr(aot, "_loaded", {})
    assert not aot.available()
    assert aot.kernel("hwe_lnp_array") is hwe.hwe_lnp_array
    monkeypatch.setenv("HPCGEN_AOT", "0")
    monkeypatch.setattr(aot, "_loaded", {})
    monkeypatch.setattr(aot, "BUILD_DIR", REPO / "hpcgen" / "_aot")
    monkeypatch.setattr(aot, "KERNELS_DIR", REPO / "kernels")
    assert not aot.available()  # switched off by the environment
