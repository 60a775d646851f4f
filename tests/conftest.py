"""Shared fixtures: paths to the shared reference data, a pseudonymization key, the demo cohort and its store.

With ``CI=true`` a skipped test is a failure: nothing that can run on the CI machine may skip.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HPCGEN_SHARED", REPO.parent / "shared"))
PGX_SHARED = SHARED / "data" / "pgx" / "pharmcat"
HTSLIB_TEST = Path("/usr/share/htslib-test/test")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# the demo cohort used across tests: small enough to build in seconds, big enough for statistics
TEST_COHORT = {"samples": 120, "variants": 3000, "seed": 7}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true (nothing that can run here may skip): {report.longrepr}"


def run_hpcgen(*args: str, check: bool = False, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the real ``hpcgen`` command line in a subprocess; return the completed process (text)."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "hpcgen", *args], capture_output=True, text=True, env=full_env, cwd=cwd
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"hpcgen {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def need_tool(name: str) -> str:
    """Path of an external tool; skip (a failure under CI) when it is absent."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed (make setup installs it)")
    return path


def devcluster_up() -> bool:
    """True when the dev Slurm cluster answers and its node can take jobs."""
    if shutil.which("sbatch") is None:
        return False
    ping = subprocess.run(["scontrol", "ping"], capture_output=True, text=True)
    state = subprocess.run(["sinfo", "-h", "-n", "localhost", "-o", "%T"], capture_output=True, text=True)
    return "UP" in ping.stdout and state.stdout.strip() in {"idle", "mixed", "allocated"}


@pytest.fixture(scope="session")
def cluster() -> str:
    """The dev Slurm cluster's profile name; started here when we are root and it is down (start.sh is idempotent)."""
    if not devcluster_up() and os.geteuid() == 0 and shutil.which("slurmctld"):
        subprocess.run(["bash", str(REPO / "slurm/devcluster/start.sh")], check=False, timeout=180)
    if not devcluster_up():
        pytest.skip("dev Slurm cluster not running: sudo bash slurm/devcluster/start.sh (make cluster-up)")
    return "devcluster"


@pytest.fixture(scope="session")
def shared_pgx() -> Path:
    """../shared/data/pgx/pharmcat (PharmCAT test VCFs and examples)."""
    if not PGX_SHARED.is_dir():
        pytest.skip(f"shared data not found at {PGX_SHARED}")
    return PGX_SHARED


@pytest.fixture(scope="session")
def key_file(tmp_path_factory) -> Path:
    """A pseudonymization key file (mode 0600), also exported as $HPCGEN_PSEUDONYM_KEY_FILE."""
    from hpcgen.pseudonym import KEY_FILE_ENV, generate_key_file

    path = tmp_path_factory.mktemp("secrets") / "pseudonym.key"
    generate_key_file(path)
    os.environ[KEY_FILE_ENV] = str(path)
    return path


@pytest.fixture(scope="session")
def demo_cohort(tmp_path_factory) -> dict[str, Path]:
    """The synthetic demo cohort (VCF, clinical table, sample sheet, PGx truth) of TEST_COHORT's size."""
    from hpcgen.demo import make_demo_cohort

    out = tmp_path_factory.mktemp("demo-cohort")
    return make_demo_cohort(out, **TEST_COHORT)


@pytest.fixture(scope="session")
def demo_store(demo_cohort, key_file, tmp_path_factory) -> Path:
    """The demo cohort ingested into a genotype store (pseudonymized with ``key_file``)."""
    from hpcgen.ingest import ingest
    from hpcgen.pseudonym import load_key

    out = tmp_path_factory.mktemp("demo-store") / "store"
    ingest(demo_cohort["vcf"], out, key=load_key(key_file), mapping_path=out.parent / "ids.tsv")
    return out
