"""The sbatch script of every site profile, compared with a golden file.

To accept a deliberate change, regenerate the files and review the diff:
    HPCGEN_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_dispatch_golden.py
"""
from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from hpcgen.dispatch import Resources, available_profiles, load_profile, render_sbatch

GOLDEN = Path(__file__).parent / "golden" / "sbatch"
SLURM_PROFILES = [p for p in available_profiles() if p != "local"]


def _request(profile: str) -> Resources:
    """A typical stage request on that node type: 2 tasks, 4 cores each, GPUs when the node has some, 3 h."""
    node = load_profile(profile).node
    return Resources(nodes=1, tasks_per_node=2, cpus_per_task=min(4, node.cores // 2),
                     mem_gb=min(8, node.mem_gb), gpus_per_node=min(2, node.gpus), time_min=180)


def test_every_profile_has_a_golden_file():
    assert set(SLURM_PROFILES) >= {"devcluster", "adastra-mi250", "adastra-mi300", "adastra-genoa",
                                   "jean-zay-h100", "jean-zay-a100"}


@pytest.mark.parametrize("profile", SLURM_PROFILES)
def test_sbatch_matches_golden(profile):
    text = render_sbatch(profile, _request(profile), "qc", account="proj", run_dir="/scratch/run 1", python="python3")
    path = GOLDEN / f"{profile}.sbatch"
    if os.environ.get("HPCGEN_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"no golden file {path}: run HPCGEN_UPDATE_GOLDEN=1 pytest {__file__}"
    expected = path.read_text()
    if text != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True), str(path), "rendered"))
        pytest.fail(f"sbatch script of profile {profile} changed:\n{diff}\n"
                    f"If the change is deliberate, accept it with: HPCGEN_UPDATE_GOLDEN=1 .venv/bin/python -m pytest "
                    f"tests/test_dispatch_golden.py (then review and commit tests/golden/sbatch/)")
